//! Execution names: one per object revision, computed the same way by
//! `start-execution` (which starts the execution) and by anyone who needs to
//! find it again (xtask's observer, the console, the load test).
//!
//! The execution name is what makes a re-delivered event harmless: Step
//! Functions refuses a second execution with the same name, so the name must
//! be a pure function of the object revision the event is about.

use sha2::{Digest, Sha256};

/// Step Functions' limit on execution names.
pub const MAX_NAME_LEN: usize = 80;

/// 128 bits of SHA-256: collisions between distinct uploads stay out of reach,
/// and the rest of the 80 characters is left for a readable fragment.
const HASH_HEX_LEN: usize = 32;

/// What distinguishes one upload of a key from the next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revision<'a> {
    VersionId(&'a str),
    ETag(&'a str),
    /// S3's per-key ordering token; the same for every delivery of one event.
    Sequencer(&'a str),
    /// Last resort for events that carry none of the above: a re-delivered
    /// event repeats its time, a new upload does not.
    EventTime(&'a str),
}

impl<'a> Revision<'a> {
    /// The revision an S3 event (or a `PutObject` answer) identifies: the
    /// version id when the bucket versions its objects, else the ETag
    /// (unquoted, as events spell it). `None` when it has neither.
    pub fn of_object(version_id: Option<&'a str>, etag: Option<&'a str>) -> Option<Revision<'a>> {
        // "null" is the version of every object written while versioning was
        // off or suspended, so it does not tell two uploads apart.
        match (version_id.filter(|v| !v.is_empty() && *v != "null"), etag) {
            (Some(version_id), _) => Some(Revision::VersionId(version_id)),
            (None, Some(etag)) if !etag.is_empty() => Some(Revision::ETag(etag.trim_matches('"'))),
            _ => None,
        }
    }

    fn tag(self) -> (&'static str, &'a str) {
        match self {
            Revision::VersionId(v) => ("version", v),
            Revision::ETag(v) => ("etag", v),
            Revision::Sequencer(v) => ("sequencer", v),
            Revision::EventTime(v) => ("event-time", v),
        }
    }
}

/// A name of at most [`MAX_NAME_LEN`] characters from `[A-Za-z0-9_-]`: the
/// object's file name, sanitized and shortened so people can recognise it in
/// the console, then a hash of bucket, key and revision that makes it unique.
pub fn execution_name(bucket: &str, key: &str, revision: Revision<'_>) -> String {
    let (kind, value) = revision.tag();
    let mut hasher = Sha256::new();
    // Length prefixes keep ("ab", "c") and ("a", "bc") apart.
    for field in [bucket, key, kind, value] {
        hasher.update((field.len() as u64).to_be_bytes());
        hasher.update(field.as_bytes());
    }
    let hash: String = hasher.finalize()[..HASH_HEX_LEN / 2]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();

    let fragment = readable_fragment(key, MAX_NAME_LEN - HASH_HEX_LEN - 1);
    if fragment.is_empty() {
        hash
    } else {
        format!("{fragment}-{hash}")
    }
}

/// The ARN Step Functions gives an execution named `name` of a standard
/// state machine, for reporting a duplicate without another API call.
pub fn execution_arn(state_machine_arn: &str, name: &str) -> Option<String> {
    // arn:partition:states:region:account:stateMachine:Name[:version-or-alias],
    // with Step Functions Local's `#TestCase` suffix on emulators.
    let state_machine_arn = state_machine_arn
        .split_once('#')
        .map_or(state_machine_arn, |(arn, _test_case)| arn);
    let parts: Vec<&str> = state_machine_arn.split(':').collect();
    match parts.as_slice() {
        [
            "arn",
            partition,
            "states",
            region,
            account,
            "stateMachine",
            machine,
            ..,
        ] => Some(format!(
            "arn:{partition}:states:{region}:{account}:execution:{machine}:{name}"
        )),
        _ => None,
    }
}

/// The last path segment of `key`, with every run of characters outside
/// `[A-Za-z0-9_]` turned into one `-`, cut to `max_len`.
fn readable_fragment(key: &str, max_len: usize) -> String {
    let file_name = key.rsplit('/').next().unwrap_or(key);
    let mut fragment = String::with_capacity(max_len);
    for c in file_name.chars() {
        if fragment.len() == max_len {
            break;
        }
        if c.is_ascii_alphanumeric() || c == '_' {
            fragment.push(c);
        } else if !fragment.is_empty() && !fragment.ends_with('-') {
            fragment.push('-');
        }
    }
    fragment.trim_end_matches('-').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_valid_name(name: &str) -> bool {
        (1..=MAX_NAME_LEN).contains(&name.len())
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    }

    #[test]
    fn names_are_deterministic_and_readable() {
        let name = execution_name(
            "photos",
            "incoming/2024/Beach day.jpg",
            Revision::ETag("abc"),
        );
        assert_eq!(
            name,
            execution_name(
                "photos",
                "incoming/2024/Beach day.jpg",
                Revision::ETag("abc")
            )
        );
        assert!(name.starts_with("Beach-day-jpg-"), "{name}");
        assert_eq!(name.len(), "Beach-day-jpg-".len() + HASH_HEX_LEN);
        assert!(is_valid_name(&name), "{name}");
    }

    #[test]
    fn names_stay_within_the_limits_for_any_key() {
        let long = format!("incoming/{}.jpg", "x".repeat(500));
        let keys = [
            "incoming/über café 📷.png",
            "incoming/📷📷📷",
            "incoming/",
            "incoming/a/b/",
            "incoming/--__--.jpg",
            "incoming/1+1 = 2.jpg",
            long.as_str(),
        ];
        for key in keys {
            let name = execution_name("photos", key, Revision::Sequencer("0055AED6DCD90281E5"));
            assert!(is_valid_name(&name), "{key:?} gave {name:?}");
        }
        let name = execution_name("photos", &long, Revision::ETag("e"));
        assert_eq!(name.len(), MAX_NAME_LEN);
    }

    #[test]
    fn execution_arns_follow_the_state_machine_arn() {
        assert_eq!(
            execution_arn(
                "arn:aws:states:eu-west-1:123456789012:stateMachine:Images",
                "n"
            )
            .as_deref(),
            Some("arn:aws:states:eu-west-1:123456789012:execution:Images:n")
        );
        assert_eq!(
            execution_arn(
                "arn:aws-cn:states:cn-north-1:1:stateMachine:Images:prod",
                "n"
            )
            .as_deref(),
            Some("arn:aws-cn:states:cn-north-1:1:execution:Images:n")
        );
        assert_eq!(
            execution_arn(
                "arn:aws:states:us-east-1:000000000000:stateMachine:Images#MockedLabels",
                "n"
            )
            .as_deref(),
            Some("arn:aws:states:us-east-1:000000000000:execution:Images:n")
        );
        assert_eq!(execution_arn("not-an-arn", "n"), None);
    }

    #[test]
    fn the_revision_is_the_version_then_the_unquoted_etag() {
        assert_eq!(
            Revision::of_object(Some("v1"), Some("\"e\"")),
            Some(Revision::VersionId("v1"))
        );
        assert_eq!(
            Revision::of_object(Some("null"), Some("\"e\"")),
            Some(Revision::ETag("e"))
        );
        assert_eq!(
            Revision::of_object(None, Some("e")),
            Some(Revision::ETag("e"))
        );
        assert_eq!(Revision::of_object(Some(""), Some("")), None);
    }

    #[test]
    fn names_differ_by_bucket_key_and_revision() {
        let base = execution_name("photos", "incoming/a.jpg", Revision::ETag("1"));
        let others = [
            execution_name("photos2", "incoming/a.jpg", Revision::ETag("1")),
            execution_name("photos", "incoming/b/a.jpg", Revision::ETag("1")),
            execution_name("photos", "incoming/a.jpg", Revision::ETag("2")),
            execution_name("photos", "incoming/a.jpg", Revision::VersionId("1")),
            // Same readable fragment, different key: only the hash tells them apart.
            execution_name("photos", "incoming/a+jpg", Revision::ETag("1")),
        ];
        for other in others {
            assert_ne!(base, other);
        }
    }
}
