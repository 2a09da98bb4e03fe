//! `cargo bench -p imaging`: thumbnail and metadata time per image, in
//! process, beside libvips (`vipsthumbnail`) and ImageMagick (`convert
//! -resize 250x250`) on the same files, and peak memory for the 13 MP JPEG.
//!
//! A benchmark, not a test: it prints numbers and fails only when its inputs
//! are missing. The photos come from Debian's `mate-backgrounds`; the small
//! and large JPEGs are cropped from them losslessly with `jpegtran`
//! (`libjpeg-turbo-progs`), so every input is a real camera photo. The large
//! one (quality 100) comes baseline and progressive, the medium one as it
//! ships, progressive.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use imaging::{Probe, ThumbnailOptions, make_thumbnail, probe};

const MATE: &str = "/usr/share/backgrounds/mate";
const INSTALL: &str =
    "apt-get install mate-backgrounds libjpeg-turbo-progs libvips-tools imagemagick";

#[derive(Debug)]
struct Input {
    label: &'static str,
    path: PathBuf,
}

fn main() -> ExitCode {
    // `cargo bench` passes `--bench`; `cargo test --benches` does not, and
    // then there is nothing to measure.
    let args: Vec<String> = std::env::args().collect();
    if let [_, flag, path] = args.as_slice()
        && flag == "--peak-memory"
    {
        peak_memory(Path::new(path));
        return ExitCode::SUCCESS;
    }
    if !args.iter().any(|a| a == "--bench") {
        return ExitCode::SUCCESS;
    }
    let inputs = match prepare() {
        Ok(inputs) => inputs,
        Err(missing) => {
            eprintln!(
                "cannot prepare the benchmark images: {missing}\ninstall them with: {INSTALL}"
            );
            return ExitCode::FAILURE;
        }
    };
    let vips = tool("vipsthumbnail", &["--vips-version"]);
    let convert = ["/usr/bin/convert", "convert"]
        .into_iter()
        .find(|c| tool(c, &["-version"]));
    if !vips {
        eprintln!("vipsthumbnail not found; for the libvips column: apt-get install libvips-tools");
    }
    if convert.is_none() {
        eprintln!("ImageMagick not found; for its column: apt-get install imagemagick");
    }

    println!(
        "{:<34} {:>8} {:>10} {:>11} {:>10} {:>8} {:>10} {:>8}",
        "image", "MP", "ours ms", "header µs", "vips ms", "vips/us", "magick ms", "magick/us"
    );
    for input in &inputs {
        let bytes = std::fs::read(&input.path).unwrap();
        let options = ThumbnailOptions::default();
        let first = make_thumbnail(&bytes, &options).unwrap();
        let meta = imaging::metadata(&bytes).unwrap();
        let mp = f64::from(meta.width) * f64::from(meta.height) / 1e6;
        let ours = median(time_repeatedly(Duration::from_secs(2), 10, || {
            make_thumbnail(&bytes, &options).unwrap();
        }));
        // What extract-metadata does with the first ranged GET. A PNG's eXIf
        // may follow its image data, so its probe asks for more bytes.
        let prefix = &bytes[..bytes.len().min(64 * 1024)];
        let header = median(time_repeatedly(Duration::from_millis(300), 100, || {
            assert!(matches!(
                probe(prefix, bytes.len() as u64),
                Ok(Probe::Metadata(_) | Probe::NeedBytes(_))
            ));
        }));
        let ext = if first.format == photopipe_shared::ImageFormat::Png {
            "png"
        } else {
            "jpg"
        };
        let vips_ms = vips.then(|| vips_per_image(&input.path, ext));
        let magick_ms = convert.map(|c| magick_per_image(c, &input.path, ext));
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        let cell = |t: Option<f64>| t.map_or("n/a".to_owned(), |t| format!("{t:.1}"));
        let ratio =
            |t: Option<f64>| t.map_or("n/a".to_owned(), |t| format!("{:.1}x", t / ms(ours)));
        println!(
            "{:<34} {:>8.2} {:>10.2} {:>11.1} {:>10} {:>8} {:>10} {:>8}",
            format!("{} {}x{}", input.label, meta.width, meta.height),
            mp,
            ms(ours),
            header.as_secs_f64() * 1e6,
            cell(vips_ms),
            ratio(vips_ms),
            cell(magick_ms),
            ratio(magick_ms),
        );
    }
    println!(
        "(ours: in process, one thread, bytes in memory → encoded thumbnail; vips: one vipsthumbnail \
         run over 10 copies, per image; magick: one convert run per image, median of 5)"
    );

    let large = &inputs.iter().find(|i| i.label == "large").unwrap().path;
    // A fresh process, so the heap holds nothing from the timing runs.
    let child = Command::new(std::env::current_exe().unwrap())
        .arg("--peak-memory")
        .arg(large)
        .output()
        .unwrap();
    print!("{}", String::from_utf8_lossy(&child.stdout));
    ExitCode::SUCCESS
}

/// The inputs, made in cargo's scratch directory for benchmarks.
fn prepare() -> Result<Vec<Input>, String> {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("imaging-bench");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let source = |rel: &str| {
        let p = Path::new(MATE).join(rel);
        p.exists()
            .then_some(p)
            .ok_or(format!("{MATE}/{rel} is missing"))
    };
    let medium = source("abstract/Elephants.jpg")?;
    let full = source("abstract/Elephants_5640x3172.jpg")?;
    let png = source("abstract/Arc-Colors-Transparent-Wallpaper.png")?;
    let small = dir.join("elephants-672x448.jpg");
    let large = dir.join("elephants-4160x3120.jpg");
    let large_progressive = dir.join("elephants-4160x3120-progressive.jpg");
    jpegtran(&["-crop", "672x448+624+316"], &medium, &small)?;
    jpegtran(&["-crop", "4160x3120+740+26"], &full, &large)?;
    jpegtran(
        &["-progressive", "-crop", "4160x3120+740+26"],
        &full,
        &large_progressive,
    )?;
    Ok(vec![
        Input {
            label: "small",
            path: small,
        },
        Input {
            label: "medium progressive",
            path: medium,
        },
        Input {
            label: "large",
            path: large,
        },
        Input {
            label: "large progressive",
            path: large_progressive,
        },
        Input {
            label: "png-alpha",
            path: png,
        },
    ])
}

fn jpegtran(args: &[&str], input: &Path, output: &Path) -> Result<(), String> {
    if output.exists() {
        return Ok(());
    }
    let status = Command::new("jpegtran")
        .args(args)
        .args(["-copy", "all", "-outfile"])
        .arg(output)
        .arg(input)
        .status()
        .map_err(|e| format!("running jpegtran: {e}"))?;
    status
        .success()
        .then_some(())
        .ok_or(format!("jpegtran {args:?} {} failed", input.display()))
}

fn tool(name: &str, version_args: &[&str]) -> bool {
    Command::new(name)
        .args(version_args)
        .output()
        .is_ok_and(|o| o.status.success())
}

fn time_repeatedly(budget: Duration, at_least: usize, mut f: impl FnMut()) -> Vec<Duration> {
    f();
    let start = Instant::now();
    let mut times = Vec::new();
    while times.len() < at_least || start.elapsed() < budget {
        let t = Instant::now();
        f();
        times.push(t.elapsed());
    }
    times
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn out_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("imaging-bench-out");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// vipsthumbnail run over ten copies in one process, as a batch job would.
fn vips_per_image(input: &Path, ext: &str) -> f64 {
    const BATCH: usize = 10;
    let dir = out_dir();
    let copies: Vec<PathBuf> = (0..BATCH)
        .map(|i| {
            let copy = dir.join(format!("vips-in-{i}.{ext}"));
            std::fs::copy(input, &copy).unwrap();
            copy
        })
        .collect();
    let run = || {
        let status = Command::new("vipsthumbnail")
            .args(["-s", "250x250", "-o"])
            .arg(dir.join(format!("%s-vips.{ext}")))
            .args(&copies)
            .status()
            .unwrap();
        assert!(status.success());
    };
    run();
    let times = time_repeatedly(Duration::ZERO, 3, run);
    median(times).as_secs_f64() * 1e3 / BATCH as f64
}

fn magick_per_image(convert: &str, input: &Path, ext: &str) -> f64 {
    let out = out_dir().join(format!("magick.{ext}"));
    let times = time_repeatedly(Duration::ZERO, 5, || {
        let status = Command::new(convert)
            .arg(input)
            .args(["-resize", "250x250"])
            .arg(&out)
            .status()
            .unwrap();
        assert!(status.success());
    });
    median(times).as_secs_f64() * 1e3
}

/// Memory of a process that reads the 13 MP JPEG and makes its thumbnail:
/// the high-water mark of resident memory (VmHWM) over the run, above what
/// was resident with the file read.
fn peak_memory(path: &Path) {
    let status_kb = |field: &str| -> Option<u64> {
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        let line = status.lines().find(|l| l.starts_with(field))?;
        line.split_whitespace().nth(1)?.parse().ok()
    };
    let bytes = std::fs::read(path).unwrap();
    let Some(before) = status_kb("VmRSS:") else {
        println!("peak memory: no /proc/self/status here; not measured");
        return;
    };
    let thumbnail = make_thumbnail(&bytes, &ThumbnailOptions::default()).unwrap();
    let peak = status_kb("VmHWM:").unwrap_or(before);
    let mb = |kb: u64| kb as f64 / 1024.0;
    println!(
        "peak memory, 13 MP JPEG ({:.1} MB file) → {}x{}: process peak {:.1} MB, {:.1} MB of it with the file read, +{:.1} MB for the thumbnail",
        bytes.len() as f64 / 1048576.0,
        thumbnail.width,
        thumbnail.height,
        mb(peak),
        mb(before),
        mb(peak.saturating_sub(before)),
    );
}
