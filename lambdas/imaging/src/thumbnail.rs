//! Decode, shrink, turn upright, re-encode.

use std::io::{self, BufRead, Cursor, Read};
use std::panic::{AssertUnwindSafe, catch_unwind};

use fast_image_resize::images::Image;
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use photopipe_shared::ImageFormat;

use crate::header::{self, Header, Stop};
use crate::{DEFAULT_MAX_PIXELS, DEFAULT_THUMBNAIL_SIZE, Error, dc, exif, orientation};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThumbnailOptions {
    /// Thumbnails fit in a `size`×`size` box.
    pub size: u32,
    /// Images with more pixels than this are refused before any decoding.
    pub max_pixels: u64,
}

impl Default for ThumbnailOptions {
    fn default() -> Self {
        ThumbnailOptions {
            size: DEFAULT_THUMBNAIL_SIZE,
            max_pixels: DEFAULT_MAX_PIXELS,
        }
    }
}

/// A thumbnail in the format of its source: JPEG for JPEG, PNG for PNG.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedThumbnail {
    pub format: ImageFormat,
    pub width: u32,
    pub height: u32,
    pub bytes: Vec<u8>,
}

impl EncodedThumbnail {
    pub fn content_type(&self) -> &'static str {
        self.format.content_type()
    }
}

/// Makes the thumbnail of a JPEG or PNG held whole in `bytes`.
pub fn make_thumbnail(bytes: &[u8], options: &ThumbnailOptions) -> Result<EncodedThumbnail, Error> {
    if bytes.is_empty() {
        return Err(Error::EmptyObject);
    }
    let header = match header::parse(bytes, true) {
        Ok(header) => header,
        Err(Stop::Fail(e)) => return Err(e),
        Err(Stop::NeedBytes(None, _)) => return Err(Error::UnknownImageFormat),
        Err(Stop::NeedBytes(Some(format), _)) if ImageFormat::SUPPORTED.contains(&format) => {
            return Err(Error::corrupt(format, "the file ends inside its header"));
        }
        Err(Stop::NeedBytes(Some(format), _)) => return Err(Error::NotSupported(format)),
    };
    if !ImageFormat::SUPPORTED.contains(&header.format) {
        return Err(Error::NotSupported(header.format));
    }
    if let Some(coding) = header.undecodable {
        return Err(Error::UndecodableJpeg(coding));
    }
    let pixels = u64::from(header.width) * u64::from(header.height);
    if pixels > options.max_pixels {
        return Err(Error::ImageTooLarge {
            width: header.width,
            height: header.height,
            pixels,
            max_pixels: options.max_pixels,
        });
    }
    let orientation = header
        .exif
        .as_deref()
        .and_then(|tiff| exif::read(tiff).orientation)
        .unwrap_or(1);
    let (upright_w, upright_h) = orientation::upright(header.width, header.height, orientation);
    let (fit_w, fit_h) = fit(upright_w, upright_h, options.size.max(1));
    // Decode and resize in stored orientation; rotating the small result is cheaper.
    let (target_w, target_h) = orientation::upright(fit_w, fit_h, orientation);

    let decoded = match header.format {
        ImageFormat::Jpeg => decode_jpeg(bytes, &header, target_w, target_h)?,
        _ => decode_png(bytes, options.max_pixels, target_w, target_h)?,
    };
    let layout = decoded.layout;
    let resized = resize(decoded, target_w, target_h)?;
    let (pixels, width, height) = orientation::apply(
        resized,
        target_w as usize,
        target_h as usize,
        layout.channels(),
        orientation,
    );
    let encoded = match header.format {
        ImageFormat::Jpeg => encode_jpeg(&pixels, width, height, layout)?,
        _ => encode_png(&pixels, width, height, layout)?,
    };
    Ok(EncodedThumbnail {
        format: header.format,
        width: fit_w,
        height: fit_h,
        bytes: encoded,
    })
}

/// The size that fits `width`×`height` in a `size` box with its aspect ratio;
/// never larger than the image.
fn fit(width: u32, height: u32, size: u32) -> (u32, u32) {
    if width <= size && height <= size {
        return (width, height);
    }
    let scaled = |short: u32, long: u32| {
        let exact = u64::from(short) * u64::from(size);
        let rounded = (exact + u64::from(long) / 2) / u64::from(long);
        u32::try_from(rounded).unwrap_or(size).max(1)
    };
    if width >= height {
        (size, scaled(height, width))
    } else {
        (scaled(width, height), size)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    Gray,
    GrayAlpha,
    Rgb,
    Rgba,
}

impl Layout {
    fn channels(self) -> usize {
        match self {
            Layout::Gray => 1,
            Layout::GrayAlpha => 2,
            Layout::Rgb => 3,
            Layout::Rgba => 4,
        }
    }

    fn pixel_type(self) -> PixelType {
        match self {
            Layout::Gray => PixelType::U8,
            Layout::GrayAlpha => PixelType::U8x2,
            Layout::Rgb => PixelType::U8x3,
            Layout::Rgba => PixelType::U8x4,
        }
    }
}

#[derive(Debug)]
struct Decoded {
    pixels: Vec<u8>,
    width: u32,
    height: u32,
    layout: Layout,
}

/// A reader over the parts of a JPEG that libjpeg gets to see, which
/// remembers whether libjpeg asked for bytes past the end: it then made up an
/// end-of-image marker and filled the rest of the image with grey instead of
/// failing.
#[derive(Debug)]
struct EofTracking<'a> {
    rest: &'a [u8],
    parts: std::vec::IntoIter<&'a [u8]>,
    ran_out: bool,
}

impl<'a> EofTracking<'a> {
    fn new(parts: Vec<&'a [u8]>) -> Self {
        EofTracking {
            rest: &[],
            parts: parts.into_iter(),
            ran_out: false,
        }
    }
}

impl Read for EofTracking<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.fill_buf()?.read(buf)?;
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for EofTracking<'_> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        while self.rest.is_empty() {
            match self.parts.next() {
                Some(part) => self.rest = part,
                None => {
                    self.ran_out = true;
                    break;
                }
            }
        }
        Ok(self.rest)
    }

    fn consume(&mut self, amount: usize) {
        self.rest = &self.rest[amount.min(self.rest.len())..];
    }
}

/// The parts of a progressive JPEG that a decode at `numerator`/8 needs; a
/// baseline JPEG is needed whole.
///
/// libjpeg decodes every scan of a progressive JPEG before it outputs
/// anything. A component it decodes at 1/8 uses only its DC coefficients, so
/// its AC scans can go unread with no change to the result. At 2/8 its AC
/// refinement scans go: they only add the lowest bits of coefficients.
/// Leaving them out nearly halves the decode; on the benchmark's 2 MP photo
/// the thumbnail then stays within 40 dB PSNR of the exact one, where its own
/// quality-85 encoding costs 31 dB.
/// Anything unexpected stops the dropping: the rest goes to libjpeg as it is,
/// so broken files get libjpeg's errors.
fn needed_parts(bytes: &[u8], numerator: u8) -> Vec<&[u8]> {
    let mut parts = Vec::new();
    let mut kept_from = 0;
    let mut pos = 2;
    // (component id, the n of the n/8 it is decoded at)
    let mut scaled: Vec<(u8, u8)> = Vec::new();
    while let Some(&[0xFF, marker]) = bytes.get(pos..pos + 2) {
        match marker {
            0xFF => {
                pos += 1;
                continue;
            }
            // End of image, or a marker without a length where none belongs.
            0x01 | 0xD0..=0xD9 => break,
            _ => {}
        }
        let Some(len) = bytes.get(pos + 2..pos + 4) else {
            break;
        };
        let end = pos + 2 + usize::from(u16::from_be_bytes([len[0], len[1]]));
        match marker {
            0xC2 => match bytes
                .get(pos + 4..end)
                .and_then(|sof| scaled_sizes(sof, numerator))
            {
                Some(sizes) => scaled = sizes,
                None => break,
            },
            0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) => return vec![bytes],
            0xDA => {
                let (Some((component, spectral_start, refines)), Some(data_end)) =
                    (scan(bytes, pos + 4, end), dc::skip_entropy_data(bytes, end))
                else {
                    break;
                };
                let size = scaled.iter().find(|(id, _)| *id == component).map(|c| c.1);
                if spectral_start > 0 && (size == Some(1) || (size == Some(2) && refines)) {
                    parts.push(&bytes[kept_from..pos]);
                    kept_from = data_end;
                }
                pos = data_end;
                continue;
            }
            _ => {}
        }
        pos = end;
    }
    parts.push(&bytes[kept_from..]);
    parts
}

/// What libjpeg decodes each component at, from a frame header: a
/// subsampled component is decoded at a larger scale rather than upsampled
/// (`jdmaster.c`), so at 1/8 the chroma of a 4:2:0 JPEG is decoded at 2/8.
fn scaled_sizes(sof: &[u8], numerator: u8) -> Option<Vec<(u8, u8)>> {
    let count = usize::from(*sof.get(5)?);
    let components: Vec<(u8, u32, u32)> = (0..count)
        .map(|i| {
            let c = sof.get(6 + 3 * i..8 + 3 * i)?;
            Some((c[0], u32::from(c[1] >> 4), u32::from(c[1] & 15)))
        })
        .collect::<Option<_>>()?;
    let max_h = components.iter().map(|c| c.1).max()?;
    let max_v = components.iter().map(|c| c.2).max()?;
    let n = u32::from(numerator);
    components
        .iter()
        .map(|&(id, h, v)| {
            if h == 0 || v == 0 {
                return None;
            }
            let mut size = n;
            while size < 8 && (max_h * n) % (h * size * 2) == 0 && (max_v * n) % (v * size * 2) == 0
            {
                size *= 2;
            }
            Some((id, u8::try_from(size).ok()?))
        })
        .collect()
}

/// The first component, spectral start and whether the scan refines earlier
/// ones, from a scan header. Progressive AC scans hold one component.
fn scan(bytes: &[u8], body: usize, end: usize) -> Option<(u8, u8, bool)> {
    let header = bytes.get(body..end)?;
    let components = usize::from(*header.first()?);
    let spectral_start = *header.get(1 + 2 * components)?;
    let approximation = *header.get(3 + 2 * components)?;
    Some((*header.get(1)?, spectral_start, approximation >> 4 != 0))
}

/// Decodes at the smallest of libjpeg-turbo's DCT scales that still leaves
/// the target size. At 1/8 only the DC coefficient of each block is used,
/// and `dc` gets those faster than libjpeg, which spends nearly all its time
/// decoding the AC coefficients it then ignores; whatever `dc` does not take
/// on goes to libjpeg.
fn decode_jpeg(
    bytes: &[u8],
    header: &Header,
    target_w: u32,
    target_h: u32,
) -> Result<Decoded, Error> {
    // The smallest scale n/8 that still leaves at least the target size, so
    // the resize after it always shrinks.
    let scaled = |full: u32, n: u32| (u64::from(full) * u64::from(n)).div_ceil(8);
    let numerator = (1..=8u8)
        .find(|&n| {
            scaled(header.width, n.into()) >= target_w.into()
                && scaled(header.height, n.into()) >= target_h.into()
        })
        .unwrap_or(8);
    if numerator == 1
        && let Some(image) = dc::decode(bytes)
    {
        return Ok(Decoded {
            width: image.width,
            height: image.height,
            layout: if image.channels == 1 {
                Layout::Gray
            } else {
                Layout::Rgb
            },
            pixels: image.pixels,
        });
    }
    let adobe = header.adobe;
    // libjpeg reports fatal errors by unwinding (see the mozjpeg crate docs).
    let decoded = catch_unwind(AssertUnwindSafe(|| -> io::Result<Decoded> {
        let reader = EofTracking::new(needed_parts(bytes, numerator));
        let mut decompress = mozjpeg::Decompress::builder().from_reader(reader)?;
        decompress.scale(numerator);
        if numerator < 8 {
            // The result is shrunk again by the resize, which hides the
            // small loss of the fast integer IDCT and of plain chroma
            // upsampling; together they save about a tenth of the decode.
            decompress.dct_method(mozjpeg::DctMethod::IntegerFast);
            decompress.do_fancy_upsampling(false);
            // Smoothing guesses the bits of the scans `needed_parts` leaves
            // out; at 1/8 they are unused, at 2/8 the guess costs 40% more
            // time and brings the thumbnail no closer to the exact one.
            decompress.do_block_smoothing(false);
        }
        let (pixels, width, height, layout, reader) = match decompress.image()? {
            mozjpeg::Format::RGB(mut started) => {
                let pixels = started.read_scanlines::<u8>()?;
                let (w, h) = (started.width(), started.height());
                (pixels, w, h, Layout::Rgb, started.finish_into_inner()?)
            }
            mozjpeg::Format::Gray(mut started) => {
                let pixels = started.read_scanlines::<u8>()?;
                let (w, h) = (started.width(), started.height());
                (pixels, w, h, Layout::Gray, started.finish_into_inner()?)
            }
            mozjpeg::Format::CMYK(mut started) => {
                let cmyk = started.read_scanlines::<u8>()?;
                let (w, h) = (started.width(), started.height());
                let reader = started.finish_into_inner()?;
                (cmyk_to_rgb(&cmyk, adobe), w, h, Layout::Rgb, reader)
            }
        };
        if reader.ran_out {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "premature end of JPEG data (no end-of-image marker)",
            ));
        }
        Ok(Decoded {
            pixels,
            width: dimension(width)?,
            height: dimension(height)?,
            layout,
        })
    }));
    match decoded {
        Ok(Ok(decoded)) => Ok(decoded),
        Ok(Err(e)) => Err(Error::corrupt(ImageFormat::Jpeg, e.to_string())),
        Err(panic) => Err(Error::corrupt(ImageFormat::Jpeg, panic_message(panic))),
    }
}

fn dimension(n: usize) -> io::Result<u32> {
    u32::try_from(n).map_err(|_| io::Error::other("dimension out of range"))
}

fn panic_message(panic: Box<dyn std::any::Any + Send>) -> String {
    match panic.downcast::<String>() {
        Ok(message) => *message,
        Err(panic) => match panic.downcast::<&str>() {
            Ok(message) => (*message).to_owned(),
            Err(_) => "libjpeg failed".to_owned(),
        },
    }
}

/// libjpeg hands CMYK (and YCCK, converted) through as it is stored. Adobe's
/// files, nearly all CMYK JPEGs, store it inverted.
fn cmyk_to_rgb(cmyk: &[u8], adobe: bool) -> Vec<u8> {
    let mut rgb = Vec::with_capacity(cmyk.len() / 4 * 3);
    for px in cmyk.chunks_exact(4) {
        let ink = |v: u8| {
            if adobe {
                u16::from(v)
            } else {
                255 - u16::from(v)
            }
        };
        let k = ink(px[3]);
        for &c in &px[..3] {
            // Both factors are at most 255, so the product over 255 fits a byte.
            rgb.push(((ink(c) * k + 127) / 255) as u8);
        }
    }
    rgb
}

fn decode_png(
    bytes: &[u8],
    max_pixels: u64,
    target_w: u32,
    target_h: u32,
) -> Result<Decoded, Error> {
    let corrupt = |e: png::DecodingError| Error::corrupt(ImageFormat::Png, e.to_string());
    let too_large = || Error::corrupt(ImageFormat::Png, "image too large for memory");
    // Bounds the decoder's own allocations too, not only the output: 8 bytes
    // a pixel covers 16-bit RGBA rows before they are stripped to 8 bits.
    let limits = png::Limits {
        bytes: usize::try_from(max_pixels.saturating_mul(8)).unwrap_or(usize::MAX),
    };
    let mut decoder = png::Decoder::new_with_limits(Cursor::new(bytes), limits);
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().map_err(corrupt)?;
    let layout = match reader.output_color_type().0 {
        png::ColorType::Grayscale => Layout::Gray,
        png::ColorType::GrayscaleAlpha => Layout::GrayAlpha,
        png::ColorType::Rgb => Layout::Rgb,
        png::ColorType::Rgba => Layout::Rgba,
        png::ColorType::Indexed => {
            return Err(Error::corrupt(ImageFormat::Png, "palette not expanded"));
        }
    };
    let (width, height) = (reader.info().width, reader.info().height);
    // Box averages down to no less than twice the target leave Lanczos the
    // last step, as libvips does, and as rows are shrunk while they are
    // decoded the full-size image is never held.
    let factor = (width / target_w.max(1)).min(height / target_h.max(1)) / 2;
    let mut shrink = BoxShrink::new(width, height, factor.clamp(1, 16), layout);
    if reader.info().interlaced {
        // Adam7 rows arrive pass by pass; those images are decoded whole.
        let size = reader.output_buffer_size().ok_or_else(too_large)?;
        let mut pixels = Vec::new();
        pixels.try_reserve_exact(size).map_err(|_| too_large())?;
        pixels.resize(size, 0);
        let frame = reader.next_frame(&mut pixels).map_err(corrupt)?;
        for row in pixels[..frame.buffer_size()].chunks_exact(frame.line_size) {
            shrink.push(row);
        }
    } else {
        while let Some(row) = reader.next_row().map_err(corrupt)? {
            shrink.push(row.data());
        }
    }
    // Reads on to IEND: a file cut after its image data is still cut.
    reader.finish().map_err(corrupt)?;
    shrink
        .finish()
        .ok_or_else(|| Error::corrupt(ImageFormat::Png, "the image data ends early"))
}

/// Averages `factor`×`factor` boxes of rows as they come. With alpha, colours
/// are weighted by it, so transparent pixels add none of their colour.
#[derive(Debug)]
struct BoxShrink {
    width: u32,
    height: u32,
    factor: u32,
    layout: Layout,
    sums: Vec<u32>,
    band_rows: u32,
    rows: u32,
    pixels: Vec<u8>,
}

impl BoxShrink {
    fn new(width: u32, height: u32, factor: u32, layout: Layout) -> Self {
        let out_w = width.div_ceil(factor) as usize;
        let out_h = height.div_ceil(factor) as usize;
        BoxShrink {
            width,
            height,
            factor,
            layout,
            sums: vec![0; out_w * layout.channels()],
            band_rows: 0,
            rows: 0,
            pixels: Vec::with_capacity(out_w * out_h * layout.channels()),
        }
    }

    fn push(&mut self, row: &[u8]) {
        match self.layout {
            Layout::Gray => self.add::<1>(row),
            Layout::GrayAlpha => self.add::<2>(row),
            Layout::Rgb => self.add::<3>(row),
            Layout::Rgba => self.add::<4>(row),
        }
        self.rows += 1;
        self.band_rows += 1;
        if self.band_rows == self.factor || self.rows == self.height {
            self.emit_band();
        }
    }

    /// Adds a row of `C`-channel pixels, alpha last when `C` is even; a
    /// constant `C` lets each box's sums live in registers.
    fn add<const C: usize>(&mut self, row: &[u8]) {
        let alpha = C.is_multiple_of(2);
        let boxes = row.chunks(C * self.factor as usize);
        for (sums, pixels) in self.sums.chunks_exact_mut(C).zip(boxes) {
            let mut acc = [0u32; C];
            for px in pixels.chunks_exact(C) {
                // Colours weighted by alpha, alpha by one: the same
                // multiply-add for every channel.
                let a = if alpha { u32::from(px[C - 1]) } else { 1 };
                for c in 0..C {
                    let weight = if alpha && c == C - 1 { 1 } else { a };
                    acc[c] += u32::from(px[c]) * weight;
                }
            }
            for (sum, a) in sums.iter_mut().zip(acc) {
                *sum += a;
            }
        }
    }

    fn emit_band(&mut self) {
        let channels = self.layout.channels();
        let alpha = channels.is_multiple_of(2);
        // A multiply by the reciprocal: an integer divide per sample would
        // cost a third of the shrink. The sums stay below 2^24, exact in f32.
        let average = |sum: u32, reciprocal: f32| (sum as f32 * reciprocal + 0.5) as u8;
        let full_box = 1.0 / (self.factor * self.band_rows) as f32;
        for (x, sums) in (0u32..).zip(self.sums.chunks_exact_mut(channels)) {
            let box_w = self.factor.min(self.width - x * self.factor);
            let per_pixel = if box_w == self.factor {
                full_box
            } else {
                1.0 / (box_w * self.band_rows) as f32
            };
            if alpha {
                let a = sums[channels - 1];
                let per_alpha = if a == 0 { 0.0 } else { 1.0 / a as f32 };
                for &sum in &sums[..channels - 1] {
                    self.pixels.push(average(sum, per_alpha));
                }
                self.pixels.push(average(a, per_pixel));
            } else {
                self.pixels
                    .extend(sums.iter().map(|&sum| average(sum, per_pixel)));
            }
            sums.fill(0);
        }
        self.band_rows = 0;
    }

    /// The shrunk image, or None when fewer rows came than the header said.
    fn finish(self) -> Option<Decoded> {
        (self.rows == self.height).then(|| Decoded {
            width: self.width.div_ceil(self.factor),
            height: self.height.div_ceil(self.factor),
            layout: self.layout,
            pixels: self.pixels,
        })
    }
}

/// Lanczos3 with the alpha premultiplied, so transparent pixels do not bleed
/// their colour into the edges.
fn resize(decoded: Decoded, width: u32, height: u32) -> Result<Vec<u8>, Error> {
    if (decoded.width, decoded.height) == (width, height) {
        return Ok(decoded.pixels);
    }
    let pixel_type = decoded.layout.pixel_type();
    let src = Image::from_vec_u8(decoded.width, decoded.height, decoded.pixels, pixel_type)
        .map_err(|e| Error::Encode(format!("decoded pixels do not fit their size: {e}")))?;
    let mut dst = Image::new(width, height, pixel_type);
    Resizer::new()
        .resize(
            &src,
            &mut dst,
            &ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3)),
        )
        .map_err(|e| Error::Encode(format!("resize failed: {e}")))?;
    Ok(dst.into_vec())
}

fn encode_jpeg(
    pixels: &[u8],
    width: usize,
    height: usize,
    layout: Layout,
) -> Result<Vec<u8>, Error> {
    let color_space = match layout {
        Layout::Gray => mozjpeg::ColorSpace::JCS_GRAYSCALE,
        _ => mozjpeg::ColorSpace::JCS_RGB,
    };
    let encoded = catch_unwind(AssertUnwindSafe(|| -> io::Result<Vec<u8>> {
        let mut compress = mozjpeg::Compress::new(color_space);
        // Baseline libjpeg-turbo settings: mozjpeg's trellis search costs
        // more than the whole decode and buys little at this size.
        compress.set_fastest_defaults();
        compress.set_size(width, height);
        compress.set_quality(85.0);
        compress.set_optimize_coding(true);
        let mut started = compress.start_compress(Vec::new())?;
        started.write_scanlines(pixels)?;
        started.finish()
    }));
    match encoded {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(e)) => Err(Error::Encode(e.to_string())),
        Err(panic) => Err(Error::Encode(panic_message(panic))),
    }
}

fn encode_png(
    pixels: &[u8],
    width: usize,
    height: usize,
    layout: Layout,
) -> Result<Vec<u8>, Error> {
    let color = match layout {
        Layout::Gray => png::ColorType::Grayscale,
        Layout::GrayAlpha => png::ColorType::GrayscaleAlpha,
        Layout::Rgb => png::ColorType::Rgb,
        Layout::Rgba => png::ColorType::Rgba,
    };
    let encode = || -> Result<Vec<u8>, png::EncodingError> {
        let mut out = Vec::new();
        let size = |n: usize| u32::try_from(n).map_err(|_| png::EncodingError::LimitsExceeded);
        let mut encoder = png::Encoder::new(&mut out, size(width)?, size(height)?);
        encoder.set_color(color);
        encoder.set_depth(png::BitDepth::Eight);
        // zlib's default level takes 8 ms on a 250 px thumbnail, a third of
        // the whole job; level 2 takes 1 ms for files about a fifth larger.
        encoder.set_deflate_compression(png::DeflateCompression::Level(2));
        let mut writer = encoder.write_header()?;
        writer.write_image_data(pixels)?;
        writer.finish()?;
        Ok(out)
    };
    encode().map_err(|e| Error::Encode(e.to_string()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::{BoxShrink, Layout, fit, needed_parts, scan};
    use crate::dc::skip_entropy_data;

    /// A progressive JPEG of a gradient, with libjpeg's standard scans.
    fn progressive(chroma: (u8, u8)) -> Vec<u8> {
        let (w, h) = (64, 48);
        let px: Vec<u8> = (0..w * h * 3).map(|i| (i * 7 % 251) as u8).collect();
        let mut c = mozjpeg::Compress::new(mozjpeg::ColorSpace::JCS_RGB);
        c.set_fastest_defaults();
        c.set_chroma_sampling_pixel_sizes(chroma, chroma);
        c.set_progressive_mode();
        c.set_size(w, h);
        let mut c = c.start_compress(Vec::new()).unwrap();
        c.write_scanlines(&px).unwrap();
        c.finish().unwrap()
    }

    /// (component, spectral start, refines) of every scan in `parts`.
    fn scans(parts: &[&[u8]]) -> Vec<(u8, u8, bool)> {
        let bytes = parts.concat();
        let mut found = Vec::new();
        let mut pos = 2;
        while let Some(&[0xFF, marker, hi, lo]) = bytes.get(pos..pos + 4) {
            let end = pos + 2 + usize::from(u16::from_be_bytes([hi, lo]));
            pos = match marker {
                0xDA => {
                    found.push(scan(&bytes, pos + 4, end).unwrap());
                    skip_entropy_data(&bytes, end).unwrap()
                }
                _ => end,
            };
        }
        found
    }

    #[test]
    fn box_shrink_weights_colours_by_alpha() {
        let (red_clear, blue) = ([255, 0, 0, 0], [0, 0, 255, 255]);
        // 3×2 in boxes of 2: a full box and a half one.
        let mut shrink = BoxShrink::new(3, 2, 2, Layout::Rgba);
        shrink.push(&[red_clear, blue, [0, 255, 0, 255]].concat());
        shrink.push(&[blue, blue, [0, 255, 0, 51]].concat());
        let shrunk = shrink.finish().unwrap();
        assert_eq!((shrunk.width, shrunk.height), (2, 1));
        assert_eq!(shrunk.pixels, [0, 0, 255, 191, 0, 255, 0, 153]);
        let mut cut = BoxShrink::new(3, 2, 2, Layout::Rgb);
        cut.push(&[0; 9]);
        assert!(cut.finish().is_none());
    }

    #[test]
    fn only_the_scans_a_scale_needs_are_read() {
        let jpeg = progressive((2, 1));
        let all = scans(&[&jpeg]);
        assert!(all.iter().any(|s| s.1 > 0 && s.2), "{all:?}");
        // 1/8: DC scans only, DC refinement included.
        let at_1 = scans(&needed_parts(&jpeg, 1));
        assert_eq!(
            at_1,
            all.iter().copied().filter(|s| s.1 == 0).collect::<Vec<_>>()
        );
        // 2/8: no AC refinement.
        let at_2 = scans(&needed_parts(&jpeg, 2));
        assert_eq!(
            at_2,
            all.iter()
                .copied()
                .filter(|s| s.1 == 0 || !s.2)
                .collect::<Vec<_>>()
        );
        assert_eq!(needed_parts(&jpeg, 3), [&jpeg[..]]);
        // 4:2:0 chroma is decoded at 2/8 when the image is at 1/8.
        let jpeg = progressive((2, 2));
        let chroma_ac = |s: &(u8, u8, bool)| s.0 != 1 && s.1 > 0 && !s.2;
        assert!(scans(&needed_parts(&jpeg, 1)).iter().any(chroma_ac));
    }

    #[test]
    fn fit_keeps_the_aspect_ratio_and_never_upscales() {
        assert_eq!(fit(4000, 3000, 250), (250, 188));
        assert_eq!(fit(3000, 4000, 250), (188, 250));
        assert_eq!(fit(100, 80, 250), (100, 80));
        assert_eq!(fit(250, 250, 250), (250, 250));
        assert_eq!(fit(10_000, 1, 250), (250, 1));
    }
}
