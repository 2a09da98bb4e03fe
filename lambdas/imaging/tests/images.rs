//! The image code on real photographs and broken files; see
//! `fixtures/SOURCES.md` for where each file comes from.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use imaging::{EncodedThumbnail, Probe, ThumbnailOptions, make_thumbnail, metadata, probe};
use photopipe_shared::{ErrorName, ImageFormat};

fn fixture_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(fixture_path(name)).unwrap_or_else(|e| panic!("reading fixture {name}: {e}"))
}

/// Every fixture, the hostile ones as `hostile/NAME`.
fn fixture_names() -> Vec<String> {
    let mut names = Vec::new();
    for dir in ["", "hostile"] {
        for entry in std::fs::read_dir(fixture_path(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.is_file() && path.extension().is_some_and(|e| e != "md") {
                let name = path.file_name().unwrap().to_str().unwrap();
                names.push(Path::new(dir).join(name).to_str().unwrap().to_owned());
            }
        }
    }
    names.sort();
    names
}

fn thumbnail(name: &str) -> EncodedThumbnail {
    make_thumbnail(&fixture(name), &ThumbnailOptions::default())
        .unwrap_or_else(|e| panic!("thumbnail of {name}: {e}"))
}

fn thumbnail_error(name: &str) -> ErrorName {
    match make_thumbnail(&fixture(name), &ThumbnailOptions::default()) {
        Ok(t) => panic!("{name} made a {}x{} thumbnail", t.width, t.height),
        Err(e) => e.name(),
    }
}

/// Decoded pixels of a thumbnail, as RGB (JPEG) or RGBA (PNG).
fn pixels(t: &EncodedThumbnail) -> (usize, usize, usize, Vec<u8>) {
    match t.format {
        ImageFormat::Jpeg => {
            let d = mozjpeg::Decompress::new_mem(&t.bytes).unwrap();
            let mut rgb = d.rgb().unwrap();
            let (w, h) = (rgb.width(), rgb.height());
            let px: Vec<u8> = rgb.read_scanlines().unwrap();
            (w, h, 3, px)
        }
        _ => {
            let mut decoder = png::Decoder::new(std::io::Cursor::new(&t.bytes));
            decoder.set_transformations(png::Transformations::ALPHA);
            let mut reader = decoder.read_info().unwrap();
            let mut buf = vec![0; reader.output_buffer_size().unwrap()];
            let info = reader.next_frame(&mut buf).unwrap();
            buf.truncate(info.buffer_size());
            let channels = info.color_type.samples();
            (info.width as usize, info.height as usize, channels, buf)
        }
    }
}

fn mean_abs_diff(a: &[u8], b: &[u8]) -> f64 {
    assert_eq!(a.len(), b.len());
    let total: u64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| u64::from(x.abs_diff(*y)))
        .sum();
    total as f64 / a.len() as f64
}

/// Every fixture, as `cargo xtask inspect` would show it.
#[test]
fn metadata_of_every_fixture() {
    let names = fixture_names();
    let report: Vec<serde_json::Value> = names
        .iter()
        .map(|name| match metadata(&fixture(name)) {
            Ok(m) => serde_json::json!({ "file": name, "metadata": m }),
            Err(e) => serde_json::json!({ "file": name, "error": e.name().as_str(), "message": e.to_string() }),
        })
        .collect();
    insta::assert_yaml_snapshot!(report);
}

/// What the thumbnail function makes of each hostile fixture: a thumbnail
/// or a named error, the same the deployed function gives (the integration
/// test checks that).
#[test]
fn thumbnail_of_every_hostile_fixture() {
    let report: Vec<String> = fixture_names()
        .into_iter()
        .filter(|name| name.starts_with("hostile/"))
        .map(
            |name| match make_thumbnail(&fixture(&name), &ThumbnailOptions::default()) {
                Ok(t) => format!("{name}: {}x{} {}", t.width, t.height, t.format.as_str()),
                Err(e) => format!("{name}: {} ({e})", e.name().as_str()),
            },
        )
        .collect();
    insta::assert_yaml_snapshot!(report);
}

/// Feeding `probe` growing prefixes, as `extract-metadata` does with ranged
/// GETs, ends with what reading the whole file gives.
#[test]
fn probing_prefixes_agrees_with_reading_the_whole_file() {
    for name in fixture_names() {
        let bytes = fixture(&name);
        let whole = metadata(&bytes).map_err(|e| e.name());
        let mut have = bytes.len().min(16);
        let probed = loop {
            match probe(&bytes[..have], bytes.len() as u64) {
                Ok(Probe::NeedBytes(n)) => {
                    assert!(n as usize > have, "{name}: asked for {n} bytes with {have}");
                    have = n as usize;
                }
                Ok(Probe::Metadata(m)) => break Ok(m),
                Err(e) => break Err(e.name()),
            }
        };
        assert_eq!(probed, whole, "{name}");
    }
}

#[test]
fn a_header_longer_than_the_first_fetch_asks_for_more() {
    let bytes = fixture("long-header.jpg");
    let mut have = 64 * 1024;
    let mut fetches = 1;
    let m = loop {
        match probe(&bytes[..have], bytes.len() as u64).unwrap() {
            Probe::Metadata(m) => break m,
            Probe::NeedBytes(n) => {
                assert!(n as usize > have);
                have = n as usize;
                fetches += 1;
            }
        }
    };
    assert!(fetches > 1, "this header is longer than 64 KiB");
    assert_eq!((m.width, m.height, m.size), (425, 250, bytes.len() as u64));
}

#[test]
fn exif_with_gps_and_camera() {
    let m = metadata(&fixture("ultrahdr-gps-truncated.jpg")).unwrap();
    assert_eq!(m.exif.make.as_deref(), Some("Google"));
    assert_eq!(m.exif.model.as_deref(), Some("Pixel 6"));
    // The phone records its zone (China Standard Time) in OffsetTimeOriginal.
    assert_eq!(
        m.exif.date_time_original.as_deref(),
        Some("2024-05-07T09:33:04+08:00")
    );
    let gps = m.exif.gps.unwrap();
    // 30° 37' 39.54" N, 119° 44' 19.56" E
    assert!((gps.latitude - 30.627_65).abs() < 1e-5, "{gps:?}");
    assert!((gps.longitude - 119.738_766_7).abs() < 1e-5, "{gps:?}");
    // Its header is whole, its image data is not.
    assert_eq!(
        thumbnail_error("ultrahdr-gps-truncated.jpg"),
        ErrorName::CorruptImage
    );
}

#[test]
fn south_and_west_are_negative() {
    let m = metadata(&fixture("jpeg-exif-gps.jpg")).unwrap();
    assert_eq!(m.exif.model.as_deref(), Some("Canon EOS 400D DIGITAL"));
    assert_eq!(
        m.exif.date_time_original.as_deref(),
        Some("2008-04-20T19:12:06")
    );
    let gps = m.exif.gps.unwrap();
    // 22° 57' 6.90" S, 43° 12' 37.75" W
    assert!((gps.latitude + 22.951_916).abs() < 1e-5, "{gps:?}");
    assert!((gps.longitude + 43.210_487).abs() < 1e-5, "{gps:?}");
    let t = thumbnail("jpeg-exif-gps.jpg");
    assert_eq!((t.width, t.height), (250, 167));
}

#[test]
fn unreadable_exif_is_reported_and_the_image_still_processed() {
    let m = metadata(&fixture("invalid-exif.jpg")).unwrap();
    let error = m.exif.error.clone().unwrap();
    assert_eq!(error.error, imaging::INVALID_EXIF);
    assert_eq!(m.exif.make, None);
    assert_eq!((m.width, m.height), (480, 360));
    let t = thumbnail("invalid-exif.jpg");
    assert_eq!((t.width, t.height), (250, 188));
}

#[test]
fn jpeg_thumbnail_fits_the_box_keeps_the_ratio_and_is_a_jpeg() {
    let t = thumbnail("flower.jpg");
    assert_eq!((t.format, t.width, t.height), (ImageFormat::Jpeg, 250, 188));
    assert_eq!(t.content_type(), "image/jpeg");
    let m = metadata(&t.bytes).unwrap();
    assert_eq!((m.format, m.width, m.height), (ImageFormat::Jpeg, 250, 188));
}

#[test]
fn thumbnail_size_is_configurable() {
    let options = ThumbnailOptions {
        size: 100,
        ..ThumbnailOptions::default()
    };
    let t = make_thumbnail(&fixture("flower.jpg"), &options).unwrap();
    assert_eq!((t.width, t.height), (100, 75));
}

#[test]
fn small_images_are_not_upscaled() {
    let t = thumbnail("cmyk-reference.jpg");
    assert_eq!((t.width, t.height), (100, 100));
    let t = thumbnail("png-16bit.png");
    assert_eq!((t.width, t.height), (240, 180));
}

/// Each `orientation-N.jpg` stores the same photo transformed so that it is
/// upright once its orientation tag is applied.
#[test]
fn every_orientation_comes_out_upright() {
    let (w, h, _, upright) = pixels(&thumbnail("orientation-1.jpg"));
    assert_eq!((w, h), (250, 188));
    for o in 2..=8 {
        let name = format!("orientation-{o}.jpg");
        let (ow, oh, _, px) = pixels(&thumbnail(&name));
        assert_eq!((ow, oh), (w, h), "{name}");
        let diff = mean_abs_diff(&px, &upright);
        assert!(
            diff < 4.0,
            "{name} differs from upright by {diff:.1} a sample"
        );
    }
}

/// Where IFD0 of a little-endian JPEG's EXIF starts, and its entry count.
fn ifd0(bytes: &[u8]) -> (usize, usize) {
    let tiff = bytes.windows(6).position(|w| w == b"Exif\0\0").unwrap() + 6;
    assert_eq!(
        &bytes[tiff..tiff + 2],
        b"II",
        "the fixtures are little-endian"
    );
    let offset = u32::from_le_bytes(bytes[tiff + 4..tiff + 8].try_into().unwrap());
    let ifd = tiff + offset as usize;
    (ifd, u16::from_le_bytes([bytes[ifd], bytes[ifd + 1]]).into())
}

/// Where the IFD0 entry of `tag` starts.
fn ifd0_entry(bytes: &[u8], tag: u16) -> usize {
    let (ifd, count) = ifd0(bytes);
    (0..count)
        .map(|i| ifd + 2 + 12 * i)
        .find(|&e| u16::from_le_bytes([bytes[e], bytes[e + 1]]) == tag)
        .unwrap()
}

/// Cameras store Orientation as SHORT (the standard), LONG, SLONG or
/// SSHORT; every value is honoured in every type. Little-endian keeps the
/// value's bytes where each type reads them.
#[test]
fn every_orientation_in_every_integer_type() {
    const LONG: u16 = 4;
    const SSHORT: u16 = 8;
    const SLONG: u16 = 9;
    for o in 1..=8 {
        let name = format!("orientation-{o}.jpg");
        let short = fixture(&name);
        let (_, _, _, expected) = pixels(&thumbnail(&name));
        for kind in [LONG, SSHORT, SLONG] {
            let mut bytes = short.clone();
            let entry = ifd0_entry(&bytes, 0x0112);
            bytes[entry + 2..entry + 4].copy_from_slice(&kind.to_le_bytes());
            let m = metadata(&bytes).unwrap();
            assert_eq!(m.exif.orientation, Some(o), "{name} as type {kind}");
            let t = make_thumbnail(&bytes, &ThumbnailOptions::default()).unwrap();
            assert_eq!(pixels(&t).3, expected, "{name} as type {kind}");
        }
    }
}

/// One broken part of the EXIF (here the link to IFD1 points past its end,
/// as in exiv2's bug 479 file) loses that part only, and says so.
#[test]
fn a_broken_ifd_link_keeps_the_rest_of_the_exif() {
    let mut bytes = fixture("jpeg-exif-gps.jpg");
    let (ifd, count) = ifd0(&bytes);
    let next = ifd + 2 + 12 * count;
    bytes[next..next + 4].copy_from_slice(&0x00FF_FF00_u32.to_le_bytes());
    let exif = metadata(&bytes).unwrap().exif;
    assert_eq!(exif.model.as_deref(), Some("Canon EOS 400D DIGITAL"));
    assert_eq!(
        exif.date_time_original.as_deref(),
        Some("2008-04-20T19:12:06")
    );
    assert!(exif.gps.is_some());
    let error = exif.error.unwrap();
    assert_eq!(error.error, imaging::PARTIAL_EXIF);
    assert!(error.cause.contains("skipped"), "{}", error.cause);
}

#[test]
fn arithmetic_coded_jpegs_are_decoded_and_a_corrupt_one_is_named() {
    let (w, h, _, arithmetic) = pixels(&thumbnail("arithmetic.jpg"));
    let (fw, fh, _, huffman) = pixels(&thumbnail("flower.jpg"));
    assert_eq!((w, h), (fw, fh));
    let diff = mean_abs_diff(&arithmetic, &huffman);
    assert!(
        diff < 4.0,
        "differs from the Huffman-coded original by {diff:.1}"
    );
    assert_eq!(
        thumbnail_error("arith-progressive-cve-2017-2862.jpg"),
        ErrorName::CorruptImage
    );
}

#[test]
fn capture_time_keeps_its_zone_offset() {
    let m = metadata(&fixture("offset-time.jpg")).unwrap();
    assert_eq!(
        m.exif.date_time_original.as_deref(),
        Some("2024-07-01T18:45:00-03:30")
    );
}

#[test]
fn landscape_pixels_tagged_6_make_a_portrait_thumbnail() {
    let t = thumbnail("portrait-orientation-6.jpg");
    assert_eq!((t.width, t.height), (188, 250));
    let m = metadata(&fixture("portrait-orientation-6.jpg")).unwrap();
    assert_eq!((m.width, m.height, m.exif.orientation), (400, 300, Some(6)));
}

#[test]
fn png_orientation_from_its_exif_chunk() {
    let bytes = fixture("png-orientation-6.png");
    let m = metadata(&bytes).unwrap();
    assert_eq!((m.width, m.height, m.exif.orientation), (200, 150, Some(6)));
    let turned = thumbnail("png-orientation-6.png");
    assert_eq!((turned.width, turned.height), (150, 200));
    // The same PNG with its eXIf chunk renamed to an unknown ancillary chunk.
    let at = bytes.windows(4).position(|w| w == b"eXIf").unwrap();
    let mut plain_bytes = bytes.clone();
    plain_bytes[at..at + 4].copy_from_slice(b"eXIx");
    let plain = make_thumbnail(&plain_bytes, &ThumbnailOptions::default()).unwrap();
    assert_eq!((plain.width, plain.height), (200, 150));
    let (w, h, c, px) = pixels(&turned);
    let (pw, _, _, plain_px) = pixels(&plain);
    // Orientation 6: the upright pixel (x, y) is stored at (y, h - 1 - x).
    for (x, y) in [(0, 0), (w - 1, 0), (3, h - 5), (w / 2, h / 2)] {
        let (sx, sy) = (y, w - 1 - x);
        let upright = &px[(y * w + x) * c..][..c];
        let stored = &plain_px[(sy * pw + sx) * c..][..c];
        assert_eq!(upright, stored, "pixel ({x}, {y})");
    }
}

/// Pillow writes eXIf after the image data; ImageMagick, before eXIf
/// existed, wrote the EXIF as hex in a "Raw profile type exif" text chunk.
/// exiftool reads both, and so do we, wherever the chunk is.
#[test]
fn png_exif_after_the_image_data_and_in_a_raw_profile() {
    for name in ["png-exif-after-idat.png", "png-raw-profile-exif.png"] {
        let bytes = fixture(name);
        let find = |what: &[u8]| bytes.windows(what.len()).position(|w| w == what);
        let exif_at = find(b"eXIf").or_else(|| find(b"Raw profile type exif"));
        assert!(exif_at > find(b"IDAT"), "{name}: the EXIF comes after IDAT");
        let m = metadata(&bytes).unwrap();
        assert_eq!(m.exif.orientation, Some(6), "{name}");
        assert_eq!(
            m.exif.make.as_deref(),
            Some("CASIO COMPUTER CO.,LTD"),
            "{name}"
        );
        let t = thumbnail(name);
        assert_eq!((t.width, t.height), (150, 200), "{name}: upright");
    }
}

/// A GPS IFD pointer typed SLONG instead of LONG: exiftool follows it.
#[test]
fn a_gps_pointer_of_another_integer_type_is_followed() {
    let gps = metadata(&fixture("gps-pointer-slong.jpg"))
        .unwrap()
        .exif
        .gps
        .unwrap();
    assert!((gps.latitude + 22.951_916).abs() < 1e-6, "{gps:?}");
    assert!((gps.longitude + 43.210_487).abs() < 1e-6, "{gps:?}");
}

#[test]
fn cmyk_jpeg_matches_its_rgb_original() {
    let (w, h, _, cmyk) = pixels(&thumbnail("cmyk.jpg"));
    let (rw, rh, _, rgb) = pixels(&thumbnail("cmyk-reference.jpg"));
    assert_eq!((w, h), (rw, rh));
    let diff = mean_abs_diff(&cmyk, &rgb);
    assert!(diff < 8.0, "CMYK thumbnail differs by {diff:.1} a sample");
}

#[test]
fn grayscale_and_progressive_jpegs() {
    let t = thumbnail("grayscale.jpg");
    assert_eq!((t.width, t.height), (250, 131));
    let d = mozjpeg::Decompress::new_mem(&t.bytes).unwrap();
    assert_eq!(d.color_space(), mozjpeg::ColorSpace::JCS_GRAYSCALE);
    let t = thumbnail("progressive.jpg");
    assert_eq!((t.width, t.height), (250, 156));
    let t = thumbnail("long-header.jpg");
    assert_eq!((t.width, t.height), (250, 147));
}

#[test]
fn png_keeps_its_alpha() {
    let t = thumbnail("png-alpha.png");
    assert_eq!((t.format, t.width, t.height), (ImageFormat::Png, 250, 140));
    assert_eq!(t.content_type(), "image/png");
    let (_, _, channels, px) = pixels(&t);
    assert_eq!(channels, 4);
    let alphas: Vec<u8> = px.chunks_exact(4).map(|p| p[3]).collect();
    // Its alpha ranges from fully transparent to about half opaque.
    assert!(alphas.contains(&0));
    assert!(alphas.iter().any(|&a| a > 100));
}

#[test]
fn sixteen_bit_pngs() {
    let t = thumbnail("png-16bit.png");
    assert_eq!(t.format, ImageFormat::Png);
    let t = thumbnail("png-16bit-gray.png");
    assert_eq!((t.width, t.height), (64, 64));
}

#[test]
fn broken_files_have_names() {
    assert_eq!(thumbnail_error("empty.jpg"), ErrorName::EmptyObject);
    assert_eq!(metadata(&[]).unwrap_err().name(), ErrorName::EmptyObject);
    assert_eq!(
        thumbnail_error("not-an-image.txt"),
        ErrorName::UnknownImageFormat
    );
    assert_eq!(thumbnail_error("truncated.jpg"), ErrorName::CorruptImage);
    assert_eq!(
        thumbnail_error("truncated-progressive.jpg"),
        ErrorName::CorruptImage
    );
    assert_eq!(thumbnail_error("truncated.png"), ErrorName::CorruptImage);
    assert_eq!(thumbnail_error("bomb.jpg"), ErrorName::ImageTooLarge);
    assert_eq!(thumbnail_error("bomb.png"), ErrorName::ImageTooLarge);
    for name in [
        "animated.gif",
        "image.webp",
        "image.tiff",
        "image.bmp",
        "image.heic",
        "image.avif",
    ] {
        assert_eq!(
            thumbnail_error(name),
            ErrorName::NotSupportedImageType,
            "{name}"
        );
    }
}

#[test]
fn a_jpeg_cut_anywhere_is_corrupt_never_grey() {
    let bytes = fixture("flower.jpg");
    for cut in [100, 700, bytes.len() / 3, bytes.len() - 2] {
        let e = make_thumbnail(&bytes[..cut], &ThumbnailOptions::default()).unwrap_err();
        assert_eq!(e.name(), ErrorName::CorruptImage, "cut at {cut}: {e}");
    }
}

#[test]
fn max_pixels_is_a_limit_not_a_constant() {
    let options = ThumbnailOptions {
        max_pixels: 480 * 360 - 1,
        ..ThumbnailOptions::default()
    };
    let e = make_thumbnail(&fixture("flower.jpg"), &options).unwrap_err();
    assert_eq!(e.name(), ErrorName::ImageTooLarge);
}

/// A 13 MP JPEG made from a real photo: its header comes from a 64 KiB
/// prefix and its thumbnail from DCT-scaled decoding.
#[test]
fn thirteen_megapixels() {
    let big = support::upscaled_jpeg(&fixture("flower.jpg"), 4160, 3120, true);
    let Probe::Metadata(m) = probe(&big[..64 * 1024], big.len() as u64).unwrap() else {
        panic!("the header of a 13 MP JPEG fits in 64 KiB");
    };
    assert_eq!((m.width, m.height), (4160, 3120));
    let t = make_thumbnail(&big, &ThumbnailOptions::default()).unwrap();
    assert_eq!((t.width, t.height), (250, 188));
}

/// A progressive JPEG holds the same coefficients as its baseline twin, in
/// scans. Shrunk 8 times only its DC scans are read, and the thumbnail is the
/// twin's to the byte; shrunk 4 times its AC refinement scans are left out,
/// which moves the samples of the (re-encoded) thumbnail by less than two
/// levels on average; shrunk less, every scan is read.
#[test]
fn progressive_jpegs_read_only_the_scans_their_scale_needs() {
    let options = ThumbnailOptions::default();
    let flower = fixture("flower.jpg");
    for (width, height) in [(2400, 1800), (1200, 900), (800, 600)] {
        let baseline = support::upscaled_jpeg(&flower, width, height, false);
        let progressive = support::upscaled_jpeg(&flower, width, height, true);
        let exact = make_thumbnail(&baseline, &options).unwrap();
        let from_scans = make_thumbnail(&progressive, &options).unwrap();
        if width == 1200 {
            let diff = mean_abs_diff(&pixels(&exact).3, &pixels(&from_scans).3);
            assert!(
                diff < 2.0,
                "{width}x{height}: differs by {diff:.2} a sample"
            );
        } else {
            assert_eq!(exact, from_scans, "{width}x{height}");
        }
        // Cut inside its last AC scans, after the DC ones: still corrupt.
        let cut = &progressive[..progressive.len() * 9 / 10];
        let e = make_thumbnail(cut, &options).unwrap_err();
        assert_eq!(e.name(), ErrorName::CorruptImage, "{width}x{height}: {e}");
    }
}

mod support {
    use fast_image_resize::images::Image;
    use fast_image_resize::{PixelType, Resizer};

    /// Decodes `jpeg`, scales it to `width`×`height` and encodes it again,
    /// baseline or with libjpeg's standard progressive scans.
    pub fn upscaled_jpeg(jpeg: &[u8], width: u32, height: u32, progressive: bool) -> Vec<u8> {
        let d = mozjpeg::Decompress::new_mem(jpeg).unwrap();
        let mut rgb = d.rgb().unwrap();
        let (w, h) = (rgb.width() as u32, rgb.height() as u32);
        let px: Vec<u8> = rgb.read_scanlines().unwrap();
        let src = Image::from_vec_u8(w, h, px, PixelType::U8x3).unwrap();
        let mut dst = Image::new(width, height, PixelType::U8x3);
        Resizer::new().resize(&src, &mut dst, None).unwrap();
        let mut c = mozjpeg::Compress::new(mozjpeg::ColorSpace::JCS_RGB);
        c.set_fastest_defaults();
        // 4:2:2, as cameras write: at 1/8 libjpeg decodes this chroma from
        // its DC alone (4:2:0 chroma it decodes at 2/8).
        c.set_chroma_sampling_pixel_sizes((2, 1), (2, 1));
        if progressive {
            c.set_progressive_mode();
        }
        c.set_size(width as usize, height as usize);
        c.set_quality(90.0);
        let mut c = c.start_compress(Vec::new()).unwrap();
        c.write_scanlines(dst.buffer()).unwrap();
        c.finish().unwrap()
    }
}
