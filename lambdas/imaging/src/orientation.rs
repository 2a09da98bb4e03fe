//! Turning decoded pixels upright by their EXIF orientation.

/// Rearranges `pixels` (`width`×`height`, `channels` bytes each, rows packed)
/// so that an image stored with EXIF `orientation` displays upright without
/// it. Returns the pixels and their new width and height; orientations 5–8
/// swap the two.
pub(crate) fn apply(
    pixels: Vec<u8>,
    width: usize,
    height: usize,
    channels: usize,
    orientation: u16,
) -> (Vec<u8>, usize, usize) {
    let transposed = matches!(orientation, 5..=8);
    if !(2..=8).contains(&orientation) {
        return (pixels, width, height);
    }
    let (out_w, out_h) = if transposed {
        (height, width)
    } else {
        (width, height)
    };
    let mut out = vec![0; pixels.len()];
    // For each upright pixel (x, y), where it is in the stored image; these
    // are the EXIF definitions read backwards (see the orientation tests).
    let source = |x: usize, y: usize| -> (usize, usize) {
        match orientation {
            2 => (width - 1 - x, y),
            3 => (width - 1 - x, height - 1 - y),
            4 => (x, height - 1 - y),
            5 => (y, x),
            6 => (y, height - 1 - x),
            7 => (width - 1 - y, height - 1 - x),
            _ => (width - 1 - y, x),
        }
    };
    for y in 0..out_h {
        let row = &mut out[y * out_w * channels..(y + 1) * out_w * channels];
        for (x, px) in row.chunks_exact_mut(channels).enumerate() {
            let (sx, sy) = source(x, y);
            let at = (sy * width + sx) * channels;
            px.copy_from_slice(&pixels[at..at + channels]);
        }
    }
    (out, out_w, out_h)
}

/// Width and height once upright.
pub(crate) fn upright(width: u32, height: u32, orientation: u16) -> (u32, u32) {
    if matches!(orientation, 5..=8) {
        (height, width)
    } else {
        (width, height)
    }
}
