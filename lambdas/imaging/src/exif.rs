//! The EXIF fields the pipeline keeps, read from a TIFF structure.

use exif::{Context, Field, In, Reader, Tag, Value};
use photopipe_shared::{ErrorInfo, Exif, GpsPosition};

use crate::header::{be16, be32, le16, le32};

/// `exif.error.Error` when an image's EXIF cannot be read at all. Not an
/// [`photopipe_shared::ErrorName`]: no function fails with it.
pub const INVALID_EXIF: &str = "InvalidExif";

/// `exif.error.Error` when part of an image's EXIF is broken (an IFD link
/// or a value out of bounds, say): the fields that could be read are kept,
/// and the cause names what was skipped.
pub const PARTIAL_EXIF: &str = "PartialExif";

/// Reads EXIF from the TIFF structure of a JPEG APP1 segment or PNG eXIf
/// chunk. A broken part loses that part; a structure that does not parse at
/// all loses the EXIF, never the image.
pub(crate) fn read(tiff: &[u8]) -> Exif {
    // Tolerant, as exiftool is: a broken IFD link or value is skipped and
    // reported, and everything already read is kept.
    let mut tiff = tiff.to_vec();
    retype_pointers(&mut tiff);
    let (parsed, skipped) = match Reader::new().continue_on_error(true).read_raw(tiff) {
        Ok(parsed) => (parsed, Vec::new()),
        Err(exif::Error::PartialResult(partial)) => {
            let (parsed, errors) = partial.into_inner();
            (parsed, errors.iter().map(ToString::to_string).collect())
        }
        Err(e) => return unreadable(format!("unreadable EXIF: {e}")),
    };
    if parsed.fields().next().is_none() {
        return unreadable(format!("unreadable EXIF: {}", skipped.join("; ")));
    }
    let field = |tag| parsed.get_field(tag, In::PRIMARY);
    // Some writers put a tag in the other IFD than the standard's (the
    // capture time in IFD0, camera names in the Exif IFD); exiftool reads
    // them there, so do we.
    let moved = |tag: Tag, to: Context| field(tag).or_else(|| field(Tag(to, tag.number())));
    Exif {
        date_time_original: moved(Tag::DateTimeOriginal, Context::Tiff)
            .and_then(|f| date_time(f, field(Tag::OffsetTimeOriginal))),
        make: moved(Tag::Make, Context::Exif).and_then(text),
        model: moved(Tag::Model, Context::Exif).and_then(text),
        orientation: field(Tag::Orientation).and_then(orientation),
        gps: gps(
            field(Tag::GPSLatitude),
            field(Tag::GPSLatitudeRef),
            field(Tag::GPSLongitude),
            field(Tag::GPSLongitudeRef),
        ),
        error: (!skipped.is_empty()).then(|| ErrorInfo {
            error: PARTIAL_EXIF.to_owned(),
            cause: format!(
                "kept the readable EXIF fields; skipped: {}",
                skipped.join("; ")
            ),
        }),
    }
}

/// Some writers type IFD0's Exif and GPS pointers SLONG or IFD (13)
/// instead of LONG; kamadak-exif then skips those IFDs whole, where
/// exiftool follows them. Retyping the entries in place lets it follow them
/// too.
fn retype_pointers(tiff: &mut [u8]) {
    let little = tiff.starts_with(b"II");
    let u16_at = |b: &[u8], at: usize| {
        let b = b.get(at..at.checked_add(2)?)?;
        Some(if little { le16(b, 0) } else { be16(b, 0) })
    };
    let u32_at = |b: &[u8], at: usize| {
        let b = b.get(at..at.checked_add(4)?)?;
        Some(if little { le32(b, 0) } else { be32(b, 0) })
    };
    let Some(ifd) = u32_at(tiff, 4).map(|o| o as usize) else {
        return;
    };
    let Some(count) = u16_at(tiff, ifd) else {
        return;
    };
    for at in (0..usize::from(count)).map(|i| ifd + 2 + 12 * i) {
        let (Some(tag), Some(typ), Some(n)) =
            (u16_at(tiff, at), u16_at(tiff, at + 2), u32_at(tiff, at + 4))
        else {
            return;
        };
        let pointer = [Tag::ExifIFDPointer, Tag::GPSInfoIFDPointer]
            .iter()
            .any(|t| t.number() == tag);
        if pointer && matches!(typ, 9 | 13) && n == 1 {
            tiff[at + 2..at + 4].copy_from_slice(if little { &[4, 0] } else { &[0, 4] });
        }
    }
}

fn unreadable(cause: String) -> Exif {
    Exif {
        error: Some(ErrorInfo {
            error: INVALID_EXIF.to_owned(),
            cause,
        }),
        ..Exif::default()
    }
}

/// 1–8 in whatever integer type the camera stored it: the standard says
/// SHORT, some Panasonic and Fujifilm models write SLONG, others LONG.
fn orientation(field: &Field) -> Option<u16> {
    let value: i64 = match &field.value {
        Value::SShort(v) => (*v.first()?).into(),
        Value::SLong(v) => (*v.first()?).into(),
        v => v.get_uint(0)?.into(),
    };
    u16::try_from(value).ok().filter(|o| (1..=8).contains(o))
}

fn ascii(field: &Field) -> Option<&[u8]> {
    match &field.value {
        Value::Ascii(parts) => parts.first().map(Vec::as_slice),
        _ => None,
    }
}

/// Cameras pad Make and Model with NULs and spaces.
fn text(field: &Field) -> Option<String> {
    let text = String::from_utf8_lossy(ascii(field)?);
    let text = text.trim_matches(|c: char| c == '\0' || c.is_whitespace());
    (!text.is_empty()).then(|| text.to_owned())
}

/// `2019:05:04 13:02:11` becomes `2019-05-04T13:02:11`, and with an
/// `OffsetTimeOriginal` of `+02:00` `2019-05-04T13:02:11+02:00`. Cameras
/// without a clock write blanks or zeros; those are no date.
fn date_time(field: &Field, offset: Option<&Field>) -> Option<String> {
    let mut dt = exif::DateTime::from_ascii(ascii(field)?).ok()?;
    let valid = (1..=12).contains(&dt.month)
        && (1..=31).contains(&dt.day)
        && dt.hour < 24
        && dt.minute < 60
        && dt.second <= 60;
    if !valid {
        return None;
    }
    let zone = match offset.and_then(ascii).map(|o| dt.parse_offset(o)) {
        Some(Ok(())) => dt.offset.map(|minutes| {
            let sign = if minutes < 0 { '-' } else { '+' };
            let minutes = minutes.unsigned_abs();
            format!("{sign}{:02}:{:02}", minutes / 60, minutes % 60)
        }),
        _ => None,
    };
    Some(format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{}",
        dt.year,
        dt.month,
        dt.day,
        dt.hour,
        dt.minute,
        dt.second,
        zone.unwrap_or_default()
    ))
}

fn gps(
    lat: Option<&Field>,
    lat_ref: Option<&Field>,
    lon: Option<&Field>,
    lon_ref: Option<&Field>,
) -> Option<GpsPosition> {
    let latitude = degrees(lat?)? * sign(lat_ref?, b'S');
    let longitude = degrees(lon?)? * sign(lon_ref?, b'W');
    let in_range = latitude.abs() <= 90.0 && longitude.abs() <= 180.0;
    in_range.then_some(GpsPosition {
        latitude,
        longitude,
    })
}

/// Degrees, minutes and seconds: rationals as the standard says, signed
/// rationals as some phones write them, or text (`52,00000,50,00000`) read
/// as exiftool reads it, the first three numbers in it. Fewer parts are
/// degrees alone, or degrees and minutes.
fn degrees(field: &Field) -> Option<f64> {
    let ratio = |num: f64, denom: f64| (denom != 0.0).then(|| num / denom);
    let parts: Vec<f64> = match &field.value {
        Value::Rational(v) => v
            .iter()
            .map(|r| ratio(r.num.into(), r.denom.into()))
            .collect::<Option<_>>()?,
        Value::SRational(v) => v
            .iter()
            .map(|r| ratio(r.num.into(), r.denom.into()))
            .collect::<Option<_>>()?,
        Value::Ascii(text) => String::from_utf8_lossy(text.first()?)
            .split(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | '+' | '-')))
            .filter_map(|n| n.parse().ok())
            .collect(),
        _ => return None,
    };
    if parts.is_empty() {
        return None;
    }
    Some(
        parts
            .iter()
            .take(3)
            .zip([1.0, 60.0, 3600.0])
            .map(|(part, scale)| part / scale)
            .sum(),
    )
}

/// South and west are negative; any other reference is positive, as
/// exiftool takes it.
fn sign(reference: &Field, negative: u8) -> f64 {
    match ascii(reference).and_then(|r| r.first()) {
        Some(c) if c.to_ascii_uppercase() == negative => -1.0,
        _ => 1.0,
    }
}

#[cfg(test)]
mod tests {
    use exif::{Rational, SRational};

    use super::*;

    fn field(value: Value) -> Field {
        Field {
            tag: Tag::GPSLatitude,
            ifd_num: In::PRIMARY,
            value,
        }
    }

    #[test]
    fn degrees_in_every_type_writers_use() {
        let dms: [(u16, u16); 3] = [(60, 1), (8, 1), (4814, 100)];
        let expected = 60.0 + 8.0 / 60.0 + 48.14 / 3600.0;
        let rational = dms.map(|(num, denom)| Rational {
            num: num.into(),
            denom: denom.into(),
        });
        let signed = dms.map(|(num, denom)| SRational {
            num: num.into(),
            denom: denom.into(),
        });
        assert_eq!(
            degrees(&field(Value::Rational(rational.to_vec()))),
            Some(expected)
        );
        assert_eq!(
            degrees(&field(Value::SRational(signed.to_vec()))),
            Some(expected)
        );
        // goexif's sample: exiftool reads the first three numbers.
        let text = Value::Ascii(vec![b"52,00000,50,00000,34,01180".to_vec()]);
        assert_eq!(degrees(&field(text)), Some(52.0 + 50.0 / 3600.0));
        let decimal = Value::Rational(vec![Rational {
            num: 525,
            denom: 10,
        }]);
        assert_eq!(degrees(&field(decimal)), Some(52.5));
        let no_fix = Value::Rational(vec![Rational { num: 0, denom: 0 }; 3]);
        assert_eq!(degrees(&field(no_fix)), None);
    }
}
