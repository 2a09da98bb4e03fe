//! A bounded, deterministic fuzz run of the JPEG and PNG paths, part of
//! every `cargo test`: every fixture image, mutated (bytes overwritten, bits
//! flipped, cut short, a stretch repeated), goes through `probe`, `metadata`
//! and `make_thumbnail`. Each must answer, with metadata or a named error;
//! a panic that escapes is a failure, and the input is written to
//! `target/fuzz-failures/` to be turned into a fixture.
//!
//! `PHOTOPIPE_FUZZ_ROUNDS` (default 24 per fixture) runs longer;
//! `PHOTOPIPE_FUZZ_SEED` picks another sequence of mutations.
#![allow(clippy::unwrap_used)]

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use imaging::mutate::{Rng, mutate};
use imaging::{ThumbnailOptions, make_thumbnail, metadata, probe};

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
fn mutated_images_never_panic() {
    let rounds = env_number("PHOTOPIPE_FUZZ_ROUNDS", 24);
    let mut rng = Rng::new(env_number("PHOTOPIPE_FUZZ_SEED", 0x5EED_1234_ABCD_0001));
    // Bombs are refused from the header; a smaller bound keeps mutated
    // dimensions from making the run slow.
    let options = ThumbnailOptions {
        max_pixels: 4_000_000,
        ..ThumbnailOptions::default()
    };
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut seeds: Vec<_> = [dir.clone(), dir.join("hostile")]
        .iter()
        .flat_map(|d| std::fs::read_dir(d).unwrap())
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "jpg" || e == "png"))
        .collect();
    seeds.sort();
    let mut runs = 0;
    for seed in &seeds {
        let bytes = std::fs::read(seed).unwrap();
        if bytes.is_empty() {
            continue;
        }
        for round in 0..rounds {
            let input = mutate(&bytes, &mut rng);
            let outcome = catch_unwind(AssertUnwindSafe(|| {
                let _ = probe(&input, input.len() as u64);
                let _ = metadata(&input);
                let _ = make_thumbnail(&input, &options);
            }));
            if outcome.is_err() {
                let failures =
                    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/fuzz-failures");
                std::fs::create_dir_all(&failures).unwrap();
                let name = seed.file_name().unwrap().to_string_lossy();
                let saved = failures.join(format!("{name}-round-{round}"));
                std::fs::write(&saved, &input).unwrap();
                panic!(
                    "a mutation of {name} panicked; the input is {}",
                    saved.display()
                );
            }
            runs += 1;
        }
    }
    assert!(runs >= seeds.len(), "only {runs} inputs ran");
}
