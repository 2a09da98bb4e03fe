//! Object keys as S3 events spell them, and execution names derived from them.
//!
//! The execution name is what makes a re-delivered event harmless: Step
//! Functions refuses a second execution with the same name, so the name must
//! be a pure function of the object revision the event is about.

use std::borrow::Cow;
use std::str::Utf8Error;

use percent_encoding::percent_decode_str;
use sha2::{Digest, Sha256};

/// Step Functions' limit on execution names.
pub const MAX_NAME_LEN: usize = 80;

/// 128 bits of SHA-256: collisions between distinct uploads stay out of reach,
/// and the rest of the 80 characters is left for a readable fragment.
const HASH_HEX_LEN: usize = 32;

/// Decodes an object key as S3 writes it into event notifications: the form
/// encoding, where `+` stands for a space and a literal `+` arrives as `%2B`.
pub fn decode_event_key(encoded: &str) -> Result<String, Utf8Error> {
    // Spaces first: a `+` produced by decoding `%2B` must stay a plus.
    let spaces_decoded = encoded.replace('+', " ");
    percent_decode_str(&spaces_decoded)
        .decode_utf8()
        .map(Cow::into_owned)
}

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
    // arn:partition:states:region:account:stateMachine:Name[:version-or-alias]
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
    fn decodes_spaces_unicode_and_plus_signs() {
        assert_eq!(
            decode_event_key("incoming/my+holiday/IMG+0001.jpg").as_deref(),
            Ok("incoming/my holiday/IMG 0001.jpg")
        );
        assert_eq!(
            decode_event_key("incoming/%C3%BCber+caf%C3%A9+%F0%9F%93%B7.png").as_deref(),
            Ok("incoming/über café 📷.png")
        );
        assert_eq!(
            decode_event_key("incoming/1%2B1+%3D+2.jpg").as_deref(),
            Ok("incoming/1+1 = 2.jpg")
        );
        assert_eq!(
            decode_event_key("incoming/100%25.jpg").as_deref(),
            Ok("incoming/100%.jpg")
        );
    }

    #[test]
    fn rejects_keys_that_decode_to_invalid_utf8() {
        assert!(decode_event_key("incoming/%FF.jpg").is_err());
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
        assert_eq!(execution_arn("not-an-arn", "n"), None);
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
