//! The EXIF fields the pipeline keeps, read from a TIFF structure.

use exif::{Field, In, Reader, Tag, Value};
use photopipe_shared::{ErrorInfo, Exif, GpsPosition};

/// `exif.error.Error` when an image's EXIF cannot be read. Not an
/// [`photopipe_shared::ErrorName`]: no function fails with it.
pub const INVALID_EXIF: &str = "InvalidExif";

/// Reads EXIF from the TIFF structure of a JPEG APP1 segment or PNG eXIf
/// chunk. A structure that does not parse loses its EXIF, not the image.
pub(crate) fn read(tiff: &[u8]) -> Exif {
    let parsed = match Reader::new().read_raw(tiff.to_vec()) {
        Ok(parsed) => parsed,
        Err(e) => {
            return Exif {
                error: Some(ErrorInfo {
                    error: INVALID_EXIF.to_owned(),
                    cause: format!("unreadable EXIF: {e}"),
                }),
                ..Exif::default()
            };
        }
    };
    let field = |tag| parsed.get_field(tag, In::PRIMARY);
    Exif {
        date_time_original: field(Tag::DateTimeOriginal).and_then(date_time),
        make: field(Tag::Make).and_then(text),
        model: field(Tag::Model).and_then(text),
        orientation: field(Tag::Orientation)
            .and_then(|f| f.value.get_uint(0))
            .and_then(|o| u16::try_from(o).ok())
            .filter(|o| (1..=8).contains(o)),
        gps: gps(
            field(Tag::GPSLatitude),
            field(Tag::GPSLatitudeRef),
            field(Tag::GPSLongitude),
            field(Tag::GPSLongitudeRef),
        ),
        error: None,
    }
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

/// `2019:05:04 13:02:11` becomes `2019-05-04T13:02:11`. Cameras without a
/// clock write blanks or zeros; those are no date.
fn date_time(field: &Field) -> Option<String> {
    let dt = exif::DateTime::from_ascii(ascii(field)?).ok()?;
    let valid = (1..=12).contains(&dt.month)
        && (1..=31).contains(&dt.day)
        && dt.hour < 24
        && dt.minute < 60
        && dt.second <= 60;
    valid.then(|| {
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            dt.year, dt.month, dt.day, dt.hour, dt.minute, dt.second
        )
    })
}

fn gps(
    lat: Option<&Field>,
    lat_ref: Option<&Field>,
    lon: Option<&Field>,
    lon_ref: Option<&Field>,
) -> Option<GpsPosition> {
    let latitude = degrees(lat?)? * sign(lat_ref?, b'N', b'S')?;
    let longitude = degrees(lon?)? * sign(lon_ref?, b'E', b'W')?;
    let in_range = latitude.abs() <= 90.0 && longitude.abs() <= 180.0;
    in_range.then_some(GpsPosition {
        latitude,
        longitude,
    })
}

/// Degrees, minutes and seconds as three rationals.
fn degrees(field: &Field) -> Option<f64> {
    let Value::Rational(dms) = &field.value else {
        return None;
    };
    let mut total = 0.0;
    for (part, scale) in dms.iter().zip([1.0, 60.0, 3600.0]) {
        if part.denom == 0 {
            return None;
        }
        total += part.to_f64() / scale;
    }
    (dms.len() == 3).then_some(total)
}

fn sign(reference: &Field, positive: u8, negative: u8) -> Option<f64> {
    match ascii(reference)?.first()?.to_ascii_uppercase() {
        c if c == positive => Some(1.0),
        c if c == negative => Some(-1.0),
        _ => None,
    }
}
