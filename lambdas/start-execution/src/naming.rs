//! Object keys as S3 events spell them. Execution names come from
//! `photopipe_shared::naming`, so that whoever looks for an execution can
//! compute its name.

use std::borrow::Cow;
use std::str::Utf8Error;

use percent_encoding::percent_decode_str;

/// Decodes an object key as S3 writes it into event notifications: the form
/// encoding, where `+` stands for a space and a literal `+` arrives as `%2B`.
pub fn decode_event_key(encoded: &str) -> Result<String, Utf8Error> {
    // Spaces first: a `+` produced by decoding `%2B` must stay a plus.
    let spaces_decoded = encoded.replace('+', " ");
    percent_decode_str(&spaces_decoded)
        .decode_utf8()
        .map(Cow::into_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
