//! `cargo xtask inspect --compare-exiftool DIR`: extract-metadata's EXIF
//! fields beside exiftool's for every file under DIR, with the agreement per
//! field and every difference.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use photopipe_shared::{Exif, ImageFormat};
use serde::Serialize;
use serde_json::{Value, json};

use xtask::tools;

/// The fields compared, as extract-metadata names them.
const FIELDS: [&str; 5] = ["dateTimeOriginal", "make", "model", "orientation", "gps"];

/// How far apart two positions may be, in degrees, and still agree
/// (about 1 cm): exiftool prints rationals to more digits than cameras store.
const GPS_TOLERANCE: f64 = 1e-7;

#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Comparison {
    pub files: usize,
    /// Files extract-metadata refuses (broken) or the pipeline does not
    /// process (neither JPEG nor PNG), with why: nothing of theirs is compared.
    pub refused: Vec<Refused>,
    /// Per field: files where either tool reads it, and those where both agree.
    pub fields: BTreeMap<&'static str, Tally>,
    /// Values exiftool reads that extract-metadata misses or reads otherwise.
    pub differences: Vec<Difference>,
    /// Values extract-metadata reads where exiftool reads none: a part of
    /// the EXIF exiftool gives up on whole (a short IFD, say) and
    /// kamadak-exif reads up to the break. Listed, not counted as
    /// disagreement.
    pub only_ours: Vec<Difference>,
}

#[derive(Debug, Serialize)]
pub struct Refused {
    pub file: String,
    pub error: String,
}

#[derive(Debug, Default, Serialize)]
pub struct Tally {
    pub compared: usize,
    pub agree: usize,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Difference {
    pub file: String,
    pub field: &'static str,
    pub ours: Value,
    pub exiftool: Value,
}

pub fn run(dir: &Path, as_json: bool) -> Result<()> {
    let comparison = compare(dir)?;
    if as_json {
        println!("{}", serde_json::to_string_pretty(&comparison)?);
    } else {
        print(&comparison);
    }
    if !comparison.differences.is_empty() {
        bail!(
            "extract-metadata and exiftool disagree {} times",
            comparison.differences.len()
        );
    }
    Ok(())
}

pub fn compare(dir: &Path) -> Result<Comparison> {
    tools::ensure_debian(
        "exiftool",
        "libimage-exiftool-perl",
        "the reference `inspect --compare-exiftool` compares with",
    )?;
    let mut comparison = Comparison::default();
    for (file, theirs) in exiftool(dir)? {
        comparison.files += 1;
        let bytes =
            std::fs::read(&file).with_context(|| format!("failed to read {}", file.display()))?;
        let name = file.display().to_string();
        let ours = match imaging::metadata(&bytes) {
            Ok(metadata) if ImageFormat::SUPPORTED.contains(&metadata.format) => metadata.exif,
            // The pipeline reads EXIF from the images it processes only.
            Ok(metadata) => {
                comparison.refused.push(Refused {
                    file: name,
                    error: format!("{} is not processed", metadata.format.as_str()),
                });
                continue;
            }
            Err(e) => {
                comparison.refused.push(Refused {
                    file: name,
                    error: format!("{}: {e}", e.name()),
                });
                continue;
            }
        };
        for field in FIELDS {
            let (ours, exiftool) = (our_value(&ours, field), their_value(&theirs, field));
            if ours.is_null() && exiftool.is_null() {
                continue;
            }
            let tally = comparison.fields.entry(field).or_default();
            tally.compared += 1;
            let only_ours = exiftool.is_null();
            if agree(&ours, &exiftool) {
                tally.agree += 1;
                continue;
            }
            let difference = Difference {
                file: name.clone(),
                field,
                ours,
                exiftool,
            };
            if only_ours {
                comparison.only_ours.push(difference);
            } else {
                comparison.differences.push(difference);
            }
        }
    }
    Ok(comparison)
}

/// exiftool's EXIF values for every file under `dir`: numbers as numbers
/// (`-n`), EXIF groups only (XMP or maker notes would be another source),
/// signed GPS from its composite tags.
fn exiftool(dir: &Path) -> Result<Vec<(PathBuf, Value)>> {
    let output = Command::new("exiftool")
        .args(["-json", "-n", "-r", "-q", "-q", "-ext", "*"])
        .args([
            "-EXIF:DateTimeOriginal",
            "-EXIF:OffsetTimeOriginal",
            "-EXIF:Make",
            "-EXIF:Model",
            "-EXIF:Orientation",
            "-Composite:GPSLatitude",
            "-Composite:GPSLongitude",
        ])
        .arg(dir)
        .output()
        .context("failed to run exiftool")?;
    // exiftool exits 1 when some file had none of the tags; its JSON is whole.
    let files: Vec<Value> = serde_json::from_slice(&output.stdout).with_context(|| {
        format!(
            "exiftool printed no JSON for {}: {}",
            dir.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        )
    })?;
    let mut files: Vec<(PathBuf, Value)> = files
        .into_iter()
        .filter_map(|f| Some((PathBuf::from(f["SourceFile"].as_str()?), f)))
        .collect();
    files.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(files)
}

fn our_value(exif: &Exif, field: &str) -> Value {
    match field {
        "dateTimeOriginal" => json!(exif.date_time_original),
        "make" => json!(exif.make),
        "model" => json!(exif.model),
        "orientation" => json!(exif.orientation),
        _ => exif
            .gps
            .map_or(Value::Null, |g| json!([g.latitude, g.longitude])),
    }
}

/// exiftool's value in extract-metadata's form.
fn their_value(exiftool: &Value, field: &str) -> Value {
    // exiftool's JSON turns a Make of "456" into a number.
    let text = |tag: &str| {
        let text = match &exiftool[tag] {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            _ => return None,
        };
        let text = text.trim_matches(|c: char| c == '\0' || c.is_whitespace());
        (!text.is_empty()).then(|| text.to_owned())
    };
    match field {
        "dateTimeOriginal" => json!(
            text("DateTimeOriginal")
                .and_then(|dt| iso_date(&dt, text("OffsetTimeOriginal").as_deref()))
        ),
        "make" => json!(text("Make")),
        "model" => json!(text("Model")),
        // A value outside 1–8 says nothing about how to turn the image.
        "orientation" => match exiftool["Orientation"].as_u64() {
            Some(o @ 1..=8) => json!(o),
            _ => Value::Null,
        },
        // A position off the globe says nothing either.
        _ => match (
            exiftool["GPSLatitude"].as_f64(),
            exiftool["GPSLongitude"].as_f64(),
        ) {
            (Some(lat), Some(lon)) if lat.abs() <= 90.0 && lon.abs() <= 180.0 => {
                json!([lat, lon])
            }
            _ => Value::Null,
        },
    }
}

/// `2019:05:04 13:02:11` and `+02:00` as `2019-05-04T13:02:11+02:00`; a
/// date of zeros (a camera without a clock) or text that is no date as
/// none, as extract-metadata does.
fn iso_date(date: &str, offset: Option<&str>) -> Option<String> {
    let (day, time) = date.split_once(' ')?;
    let shaped =
        |part: &str| part.len() >= 8 && part.chars().all(|c| c.is_ascii_digit() || c == ':');
    if day.starts_with("0000") || !shaped(day) || !shaped(time) {
        return None;
    }
    Some(format!(
        "{}T{}{}",
        day.replace(':', "-"),
        time,
        offset.unwrap_or_default()
    ))
}

fn agree(ours: &Value, theirs: &Value) -> bool {
    match (ours.as_array(), theirs.as_array()) {
        (Some(a), Some(b)) => a.iter().zip(b).all(|(x, y)| {
            x.as_f64()
                .zip(y.as_f64())
                .is_some_and(|(x, y)| (x - y).abs() < GPS_TOLERANCE)
        }),
        _ => ours == theirs,
    }
}

fn print(comparison: &Comparison) {
    println!(
        "{} files; {} not compared (neither JPEG nor PNG, or refused by extract-metadata)",
        comparison.files,
        comparison.refused.len()
    );
    println!(
        "{:<18} {:>8} {:>8} {:>8}",
        "FIELD", "COMPARED", "AGREE", "%"
    );
    for (field, tally) in &comparison.fields {
        let percent = 100.0 * tally.agree as f64 / tally.compared.max(1) as f64;
        println!(
            "{field:<18} {:>8} {:>8} {percent:>7.1}%",
            tally.compared, tally.agree
        );
    }
    for d in &comparison.differences {
        println!(
            "! {} {}: ours {}, exiftool {}",
            d.file, d.field, d.ours, d.exiftool
        );
    }
    for d in &comparison.only_ours {
        println!(
            "+ {} {}: ours {}, exiftool reads none",
            d.file, d.field, d.ours
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exiftool_values_take_extract_metadatas_form() {
        let exiftool = json!({
            "DateTimeOriginal": "2019:05:04 13:02:11",
            "OffsetTimeOriginal": "+02:00",
            "Make": "Canon\u{0} ",
            "Orientation": 6,
            "GPSLatitude": -22.95,
            "GPSLongitude": -43.21,
        });
        assert_eq!(
            their_value(&exiftool, "dateTimeOriginal"),
            "2019-05-04T13:02:11+02:00"
        );
        assert_eq!(their_value(&exiftool, "make"), "Canon");
        assert_eq!(their_value(&exiftool, "model"), Value::Null);
        assert_eq!(their_value(&exiftool, "orientation"), 6);
        assert!(agree(
            &json!([-22.95000000001, -43.21]),
            &their_value(&exiftool, "gps")
        ));
        assert!(!agree(
            &json!([22.95, -43.21]),
            &their_value(&exiftool, "gps")
        ));
        let zero = json!({ "DateTimeOriginal": "0000:00:00 00:00:00", "Orientation": 393216 });
        assert_eq!(their_value(&zero, "dateTimeOriginal"), Value::Null);
        assert_eq!(their_value(&zero, "orientation"), Value::Null);
        let garbage = json!({
            "DateTimeOriginal": "-T :     :  :",
            "GPSLatitude": 213.64,
            "GPSLongitude": 103.48,
        });
        assert_eq!(their_value(&garbage, "dateTimeOriginal"), Value::Null);
        assert_eq!(their_value(&garbage, "gps"), Value::Null);
        assert_eq!(their_value(&json!({ "Make": 456 }), "make"), "456");
    }
}
