//! `cargo xtask inspect IMAGE...` and `cargo xtask thumbnail IMAGE OUT`: the
//! Lambdas' image code (the `imaging` crate) run on local files, with the same
//! results and the same error names (`inspect --compare-exiftool` is in
//! `conformance.rs`).

use anyhow::{Context, Result, bail};
use imaging::ThumbnailOptions;
use photopipe_shared::ErrorName;
use serde_json::{Value, json};
use xtask::cli::{InspectArgs, ThumbnailArgs};

/// Prints what `extract-metadata` returns for each file: one JSON object for
/// one file, an array for several. Fails when any file did.
pub fn inspect(args: InspectArgs) -> Result<()> {
    if let Some(dir) = &args.compare_exiftool {
        return crate::conformance::run(dir, args.json);
    }
    let mut failed = 0;
    let mut report = Vec::new();
    for path in &args.images {
        let file = path.display().to_string();
        let entry = match read(path)? {
            Err(missing) => failure(&file, ErrorName::ObjectNotFound, &missing),
            Ok(bytes) => match imaging::metadata(&bytes) {
                Ok(metadata) => json!({ "file": file, "metadata": metadata }),
                Err(e) => failure(&file, e.name(), &e.to_string()),
            },
        };
        failed += usize::from(entry.get("errorType").is_some());
        report.push(entry);
    }
    let output = match <[Value; 1]>::try_from(report) {
        Ok([one]) => one,
        Err(many) => Value::Array(many),
    };
    println!("{}", serde_json::to_string_pretty(&output)?);
    if failed > 0 {
        bail!(
            "{failed} of {} files failed; see errorType above",
            args.images.len()
        );
    }
    Ok(())
}

/// Writes the thumbnail the `thumbnail` function would write.
pub fn thumbnail(args: ThumbnailArgs) -> Result<()> {
    let file = args.image.display();
    let bytes = match read(&args.image)? {
        Ok(bytes) => bytes,
        Err(missing) => bail!("{}: {missing}", ErrorName::ObjectNotFound),
    };
    let options = ThumbnailOptions {
        size: args.size,
        max_pixels: args.max_pixels,
    };
    let thumbnail = imaging::make_thumbnail(&bytes, &options)
        .map_err(|e| anyhow::anyhow!("{}: {file}: {e}", e.name()))?;
    std::fs::write(&args.out, &thumbnail.bytes)
        .with_context(|| format!("failed to write the thumbnail to {}", args.out.display()))?;
    println!(
        "wrote {}: {}x{} {} ({} bytes)",
        args.out.display(),
        thumbnail.width,
        thumbnail.height,
        thumbnail.format.as_str(),
        thumbnail.bytes.len()
    );
    Ok(())
}

/// The file's bytes, or why it is missing (the Lambdas' `ObjectNotFound`);
/// other read errors end the command.
fn read(path: &std::path::Path) -> Result<Result<Vec<u8>, String>> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Ok(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Ok(Err(format!("no file at {}", path.display())))
        }
        Err(e) => Err(e).with_context(|| format!("failed to read {}", path.display())),
    }
}

fn failure(file: &str, name: ErrorName, message: &str) -> Value {
    json!({ "file": file, "errorType": name.as_str(), "errorMessage": message })
}
