//! Decode, shrink, turn upright, re-encode.

use std::io::{self, BufRead, Cursor, Read};
use std::panic::{AssertUnwindSafe, catch_unwind};

use fast_image_resize::images::Image;
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use photopipe_shared::ImageFormat;

use crate::header::{self, Header, Stop};
use crate::{DEFAULT_MAX_PIXELS, DEFAULT_THUMBNAIL_SIZE, Error, exif, orientation};

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
    let header = match header::parse(bytes) {
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
        .clone()
        .and_then(|range| exif::read(&bytes[range]).orientation)
        .unwrap_or(1);
    let (upright_w, upright_h) = orientation::upright(header.width, header.height, orientation);
    let (fit_w, fit_h) = fit(upright_w, upright_h, options.size.max(1));
    // Decode and resize in stored orientation; rotating the small result is cheaper.
    let (target_w, target_h) = orientation::upright(fit_w, fit_h, orientation);

    let decoded = match header.format {
        ImageFormat::Jpeg => decode_jpeg(bytes, &header, target_w, target_h)?,
        _ => decode_png(bytes, options.max_pixels)?,
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

/// A reader that remembers whether libjpeg asked for bytes past the end: it
/// then made up an end-of-image marker and filled the rest of the image with
/// grey instead of failing.
#[derive(Debug)]
struct EofTracking<'a> {
    rest: &'a [u8],
    ran_out: bool,
}

impl Read for EofTracking<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.rest.read(buf)?;
        self.ran_out |= n == 0 && !buf.is_empty();
        Ok(n)
    }
}

impl BufRead for EofTracking<'_> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.ran_out |= self.rest.is_empty();
        Ok(self.rest)
    }

    fn consume(&mut self, amount: usize) {
        self.rest = &self.rest[amount.min(self.rest.len())..];
    }
}

/// Decodes with libjpeg-turbo's DCT scaling: at 1/8 only the DC coefficient
/// of each block is used, which is most of why a 13 MP thumbnail is fast.
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
    let adobe = header.adobe;
    // libjpeg reports fatal errors by unwinding (see the mozjpeg crate docs).
    let decoded = catch_unwind(AssertUnwindSafe(|| -> io::Result<Decoded> {
        let reader = EofTracking {
            rest: bytes,
            ran_out: false,
        };
        let mut decompress = mozjpeg::Decompress::builder().from_reader(reader)?;
        decompress.scale(numerator);
        if numerator < 8 {
            // The result is shrunk again by the resize, which hides the
            // small loss of the fast integer IDCT and of plain chroma
            // upsampling; together they save about a tenth of the decode.
            decompress.dct_method(mozjpeg::DctMethod::IntegerFast);
            decompress.do_fancy_upsampling(false);
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

fn decode_png(bytes: &[u8], max_pixels: u64) -> Result<Decoded, Error> {
    let corrupt = |e: png::DecodingError| Error::corrupt(ImageFormat::Png, e.to_string());
    // Bounds the decoder's own allocations too, not only the output: 8 bytes
    // a pixel covers 16-bit RGBA rows before they are stripped to 8 bits.
    let limits = png::Limits {
        bytes: usize::try_from(max_pixels.saturating_mul(8)).unwrap_or(usize::MAX),
    };
    let mut decoder = png::Decoder::new_with_limits(Cursor::new(bytes), limits);
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().map_err(corrupt)?;
    let size = reader
        .output_buffer_size()
        .ok_or_else(|| Error::corrupt(ImageFormat::Png, "image too large for memory"))?;
    let mut pixels = Vec::new();
    pixels
        .try_reserve_exact(size)
        .map_err(|_| Error::corrupt(ImageFormat::Png, "image too large for memory"))?;
    pixels.resize(size, 0);
    let frame = reader.next_frame(&mut pixels).map_err(corrupt)?;
    // Reads on to IEND: a file cut after its image data is still cut.
    reader.finish().map_err(corrupt)?;
    pixels.truncate(frame.buffer_size());
    let layout = match frame.color_type {
        png::ColorType::Grayscale => Layout::Gray,
        png::ColorType::GrayscaleAlpha => Layout::GrayAlpha,
        png::ColorType::Rgb => Layout::Rgb,
        png::ColorType::Rgba => Layout::Rgba,
        png::ColorType::Indexed => {
            return Err(Error::corrupt(ImageFormat::Png, "palette not expanded"));
        }
    };
    Ok(Decoded {
        pixels,
        width: frame.width,
        height: frame.height,
        layout,
    })
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
        let mut writer = encoder.write_header()?;
        writer.write_image_data(pixels)?;
        writer.finish()?;
        Ok(out)
    };
    encode().map_err(|e| Error::Encode(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::fit;

    #[test]
    fn fit_keeps_the_aspect_ratio_and_never_upscales() {
        assert_eq!(fit(4000, 3000, 250), (250, 188));
        assert_eq!(fit(3000, 4000, 250), (188, 250));
        assert_eq!(fit(100, 80, 250), (100, 80));
        assert_eq!(fit(250, 250, 250), (250, 250));
        assert_eq!(fit(10_000, 1, 250), (250, 1));
    }
}
