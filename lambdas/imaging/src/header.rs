//! Format sniffing and header parsing, without decoding any pixels.

use std::borrow::Cow;
use std::ops::Range;

use photopipe_shared::{ImageFormat, ImageMetadata};

use crate::{Error, exif};

/// What [`probe`] made of a prefix of an object.
#[derive(Debug, Clone, PartialEq)]
pub enum Probe {
    Metadata(ImageMetadata),
    /// The header goes on past the prefix: call again with at least this
    /// many bytes from the start of the object.
    NeedBytes(u64),
}

/// Headers of formats we only report are read this far and no further: their
/// dimensions are a courtesy, not worth fetching a whole TIFF for.
const UNSUPPORTED_HEADER_LIMIT: usize = 1 << 20;

/// Reads what `extract-metadata` returns from the first bytes of an object of
/// `object_size` bytes.
pub fn probe(prefix: &[u8], object_size: u64) -> Result<Probe, Error> {
    if object_size == 0 {
        return Err(Error::EmptyObject);
    }
    let whole = prefix.len() as u64 >= object_size;
    let header = match parse(prefix, whole) {
        Ok(header) => header,
        Err(Stop::Fail(e)) => return Err(e),
        Err(Stop::NeedBytes(format, n)) => {
            let unsupported_past_limit = format.is_some_and(|f| {
                !ImageFormat::SUPPORTED.contains(&f) && n > UNSUPPORTED_HEADER_LIMIT
            });
            match format {
                Some(format) if whole || unsupported_past_limit => {
                    if ImageFormat::SUPPORTED.contains(&format) {
                        return Err(Error::corrupt(format, "the file ends inside its header"));
                    }
                    Header::bare(format)
                }
                None if whole => return Err(Error::UnknownImageFormat),
                _ => return Ok(Probe::NeedBytes((n as u64).min(object_size))),
            }
        }
    };
    Ok(Probe::Metadata(ImageMetadata {
        format: header.format,
        width: header.width,
        height: header.height,
        size: object_size,
        content_type: header.format.content_type().to_owned(),
        exif: header.exif.as_deref().map(exif::read).unwrap_or_default(),
    }))
}

/// [`probe`] for an object held whole in memory.
pub fn metadata(bytes: &[u8]) -> Result<ImageMetadata, Error> {
    match probe(bytes, bytes.len() as u64)? {
        Probe::Metadata(metadata) => Ok(metadata),
        // `probe` only asks for more when the prefix is shorter than the object.
        Probe::NeedBytes(_) => Err(Error::UnknownImageFormat),
    }
}

/// A parsed header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Header {
    pub format: ImageFormat,
    /// Zero when a reported-only format does not say, or says too far in.
    pub width: u32,
    pub height: u32,
    /// The EXIF TIFF structure.
    pub exif: Option<Vec<u8>>,
    /// A JPEG with an Adobe APP14 segment: its CMYK is stored inverted.
    pub adobe: bool,
    /// A valid JPEG coding that libjpeg cannot decode, as the frame header
    /// names it: 12-bit samples, lossless or hierarchical coding.
    pub undecodable: Option<String>,
}

impl Header {
    fn bare(format: ImageFormat) -> Self {
        Header {
            format,
            width: 0,
            height: 0,
            exif: None,
            adobe: false,
            undecodable: None,
        }
    }
}

/// Why parsing stopped before it had a header.
#[derive(Debug)]
pub(crate) enum Stop {
    /// The bytes end too early; the format, when the magic number was there.
    NeedBytes(Option<ImageFormat>, usize),
    Fail(Error),
}

/// Parses the header at the start of `b`; `whole` says whether `b` holds the
/// whole object.
pub(crate) fn parse(b: &[u8], whole: bool) -> Result<Header, Stop> {
    let format = sniff(b)?;
    let mut r = Bytes { b, format, whole };
    match format {
        ImageFormat::Jpeg => jpeg(&mut r),
        ImageFormat::Png => png(&mut r),
        ImageFormat::Gif => {
            let s = r.get(6..10)?;
            Ok(sized(format, le16(s, 0).into(), le16(s, 2).into()))
        }
        ImageFormat::Webp => webp(&mut r),
        ImageFormat::Tiff => tiff(&mut r),
        ImageFormat::Bmp => bmp(&mut r),
        ImageFormat::Heic | ImageFormat::Avif => bmff(&mut r, format),
    }
}

fn sized(format: ImageFormat, width: u32, height: u32) -> Header {
    Header {
        width,
        height,
        ..Header::bare(format)
    }
}

/// Recognises a format by its magic number.
fn sniff(b: &[u8]) -> Result<ImageFormat, Stop> {
    const MAGIC_LEN: usize = 12;
    let starts = |magic: &[u8]| b.starts_with(magic);
    let format = if starts(&[0xFF, 0xD8, 0xFF]) {
        ImageFormat::Jpeg
    } else if starts(b"\x89PNG\r\n\x1a\n") {
        ImageFormat::Png
    } else if starts(b"GIF87a") || starts(b"GIF89a") {
        ImageFormat::Gif
    } else if starts(b"II*\0") || starts(b"MM\0*") {
        ImageFormat::Tiff
    } else if b.len() < MAGIC_LEN {
        return Err(Stop::NeedBytes(None, MAGIC_LEN));
    } else if starts(b"RIFF") && &b[8..12] == b"WEBP" {
        ImageFormat::Webp
    } else if starts(b"BM") && bmp_header_size_is_known(b) {
        ImageFormat::Bmp
    } else if &b[4..8] == b"ftyp" {
        return bmff_brand(b);
    } else {
        return Err(Stop::Fail(Error::UnknownImageFormat));
    };
    Ok(format)
}

/// "BM" alone starts too many text files; the DIB header size pins it down.
fn bmp_header_size_is_known(b: &[u8]) -> bool {
    b.len() < 18 || matches!(le32(b, 14), 12 | 40 | 52 | 56 | 64 | 108 | 124)
}

/// Bounds-checked reads that turn "past the end" into [`Stop::NeedBytes`].
struct Bytes<'a> {
    b: &'a [u8],
    format: ImageFormat,
    whole: bool,
}

impl<'a> Bytes<'a> {
    fn get(&self, range: Range<usize>) -> Result<&'a [u8], Stop> {
        self.b
            .get(range.clone())
            .ok_or(Stop::NeedBytes(Some(self.format), range.end))
    }

    fn corrupt(&self, reason: impl Into<String>) -> Stop {
        Stop::Fail(Error::corrupt(self.format, reason))
    }
}

fn le24(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], 0])
}
pub(crate) fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}
pub(crate) fn le16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}
pub(crate) fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}
pub(crate) fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Walks the marker segments up to the frame header (SOFn). EXIF (APP1) and
/// Adobe (APP14) segments come before it in every file we know of.
fn jpeg(r: &mut Bytes<'_>) -> Result<Header, Stop> {
    // Ask for a little past a segment we skip so the next marker and, often,
    // the frame header come in the same fetch.
    const SLACK: usize = 4096;
    let mut header = Header::bare(ImageFormat::Jpeg);
    let mut pos = 2;
    loop {
        if r.get(pos..pos + 1)?[0] != 0xFF {
            // libjpeg skips extraneous bytes before a marker with a warning,
            // and exiftool reads on; so do we.
            match memchr::memchr(0xFF, &r.b[pos..]) {
                Some(skip) => pos += skip,
                None => return Err(Stop::NeedBytes(Some(r.format), r.b.len() + SLACK)),
            }
        }
        // Any number of 0xFF fill bytes may precede a marker code.
        while r.get(pos..pos + 1)?[0] == 0xFF {
            pos += 1;
        }
        let marker = r.get(pos..pos + 1)?[0];
        pos += 1;
        match marker {
            0x01 | 0xD0..=0xD8 => continue,
            0xD9 => return Err(r.corrupt("the image ends before its frame header")),
            0xDA => return Err(r.corrupt("scan data before the frame header")),
            _ => {}
        }
        let len = usize::from(be16(r.get(pos..pos + 2)?, 0));
        if len < 2 {
            return Err(r.corrupt(format!("segment length {len} at offset {pos}")));
        }
        let body = pos + 2..pos + len;
        let is_frame = matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC);
        if is_frame {
            let sof = r.get(body.start..body.start + 6)?;
            let (height, width) = (be16(sof, 1), be16(sof, 3));
            if width == 0 || height == 0 {
                return Err(r.corrupt(format!("frame header says {width}x{height}")));
            }
            header.width = width.into();
            header.height = height.into();
            header.undecodable = match (marker, sof[0]) {
                (0xC3 | 0xCB, _) => Some("lossless coding".to_owned()),
                (0xC5..=0xC7 | 0xCD..=0xCF, _) => Some("hierarchical coding".to_owned()),
                (_, 8) => None,
                (_, bits) => Some(format!("{bits}-bit samples")),
            };
            return Ok(header);
        }
        if marker == 0xE1 && header.exif.is_none() {
            let segment = r
                .get(body.clone())
                .map_err(|_| Stop::NeedBytes(Some(r.format), body.end + SLACK))?;
            if let Some(tiff) = segment.strip_prefix(b"Exif\0\0") {
                header.exif = Some(tiff.to_vec());
            }
        }
        if marker == 0xEE {
            header.adobe = r.get(body.start..body.start + 5)? == b"Adobe";
        }
        pos = body.end;
        r.get(pos..pos + 1)
            .map_err(|_| Stop::NeedBytes(Some(r.format), pos + SLACK))?;
    }
}

/// IHDR, then the chunks up to IEND for the EXIF: an eXIf chunk or, as
/// ImageMagick wrote it before eXIf existed, a "Raw profile" text chunk.
/// Writers put either before the image data or after it (Pillow after), so
/// a PNG without EXIF before its first IDAT is read to the end, the rest in
/// one fetch. One cut short in or after its image data keeps its header:
/// the pixels are for the decoder to judge.
fn png(r: &mut Bytes<'_>) -> Result<Header, Stop> {
    let ihdr = r.get(8..33)?;
    if &ihdr[4..8] != b"IHDR" {
        return Err(r.corrupt("the first chunk is not IHDR"));
    }
    let (width, height) = (be32(ihdr, 8), be32(ihdr, 12));
    if width == 0 || height == 0 || width > i32::MAX as u32 || height > i32::MAX as u32 {
        return Err(r.corrupt(format!("IHDR says {width}x{height}")));
    }
    let mut header = sized(ImageFormat::Png, width, height);
    let mut pos = 33;
    let mut past_idat = false;
    loop {
        let (bytes, past) = (&*r, past_idat);
        let get = move |range: Range<usize>| match bytes.get(range) {
            Err(Stop::NeedBytes(..)) if past && bytes.whole => Ok(None),
            Err(Stop::NeedBytes(..)) if past => {
                Err(Stop::NeedBytes(Some(bytes.format), usize::MAX))
            }
            got => got.map(Some),
        };
        let Some(chunk) = get(pos..pos + 8)? else {
            return Ok(header);
        };
        let kind: [u8; 4] = [chunk[4], chunk[5], chunk[6], chunk[7]];
        let data = pos + 8..(pos + 8).saturating_add(be32(chunk, 0) as usize);
        match &kind {
            b"IEND" => return Ok(header),
            b"IDAT" => past_idat = true,
            b"eXIf" | b"tEXt" | b"zTXt" | b"iTXt" => {
                let Some(data) = get(data.clone())? else {
                    return Ok(header);
                };
                if &kind == b"eXIf" {
                    // Some writers copy the JPEG APP1 prefix along.
                    let tiff = data.strip_prefix(b"Exif\0\0").unwrap_or(data);
                    header.exif = Some(tiff.to_vec());
                    return Ok(header);
                }
                if header.exif.is_none() {
                    header.exif = raw_profile(&kind, data);
                }
            }
            _ => {}
        }
        pos = data.end.saturating_add(4);
    }
}

/// The TIFF structure in an ImageMagick "Raw profile type exif" (or "APP1")
/// text chunk: after the keyword, `\nexif\n<length>\n` and the bytes as
/// hex digits in lines.
fn raw_profile(kind: &[u8; 4], chunk: &[u8]) -> Option<Vec<u8>> {
    let nul = memchr::memchr(0, chunk)?;
    let keyword = &chunk[..nul];
    if keyword != b"Raw profile type exif" && keyword != b"Raw profile type APP1" {
        return None;
    }
    let rest = &chunk[nul + 1..];
    let text: Cow<'_, [u8]> = match kind {
        b"tEXt" => rest.into(),
        // The compression method byte, then a zlib stream.
        b"zTXt" => inflate(rest.get(1..)?)?.into(),
        _ => {
            // iTXt: compression flag and method, language tag, translated keyword.
            let (compressed, rest) = (*rest.first()? == 1, rest.get(2..)?);
            let rest = &rest[memchr::memchr(0, rest)? + 1..];
            let text = &rest[memchr::memchr(0, rest)? + 1..];
            if compressed {
                inflate(text)?.into()
            } else {
                text.into()
            }
        }
    };
    let mut lines = text.split(|&b| b == b'\n').filter(|l| !l.is_empty());
    let _profile_name = lines.next()?;
    let len: usize = std::str::from_utf8(lines.next()?)
        .ok()?
        .trim()
        .parse()
        .ok()?;
    let digits: Vec<u8> = lines
        .flatten()
        .copied()
        .filter(u8::is_ascii_hexdigit)
        .collect();
    let bytes: Vec<u8> = digits
        .chunks_exact(2)
        .take(len)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok())
        .collect::<Option<_>>()?;
    match bytes.strip_prefix(b"Exif\0\0") {
        Some(tiff) => Some(tiff.to_vec()),
        // An APP1 profile may hold XMP instead; an exif one may omit the prefix.
        None => keyword.ends_with(b"exif").then_some(bytes),
    }
}

/// Text chunks hold at most a few hundred KiB of metadata; more is a bomb.
const MAX_TEXT_CHUNK: usize = 4 << 20;

fn inflate(zlib: &[u8]) -> Option<Vec<u8>> {
    fdeflate::decompress_to_vec_bounded(zlib, MAX_TEXT_CHUNK).ok()
}

fn webp(r: &mut Bytes<'_>) -> Result<Header, Stop> {
    let chunk = r.get(12..30)?;
    let (width, height) = match &chunk[..4] {
        b"VP8X" => (1 + le24(chunk, 12), 1 + le24(chunk, 15)),
        b"VP8L" if chunk[8] == 0x2F => {
            let bits = le32(chunk, 9);
            (1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF))
        }
        b"VP8 " if chunk[11..14] == [0x9D, 0x01, 0x2A] => (
            u32::from(le16(chunk, 14) & 0x3FFF),
            u32::from(le16(chunk, 16) & 0x3FFF),
        ),
        _ => (0, 0),
    };
    Ok(sized(ImageFormat::Webp, width, height))
}

/// ImageWidth and ImageLength from the first IFD.
fn tiff(r: &mut Bytes<'_>) -> Result<Header, Stop> {
    let little = r.get(0..2)? == b"II";
    let u16_at = |b: &[u8], at| if little { le16(b, at) } else { be16(b, at) };
    let u32_at = |b: &[u8], at| if little { le32(b, at) } else { be32(b, at) };
    let ifd = u32_at(r.get(4..8)?, 0) as usize;
    let count = usize::from(u16_at(r.get(ifd..ifd + 2)?, 0));
    let entries = r.get(ifd + 2..ifd + 2 + 12 * count)?;
    let (mut width, mut height) = (0, 0);
    for entry in entries.chunks_exact(12) {
        let value = match u16_at(entry, 2) {
            3 => u32::from(u16_at(entry, 8)),
            4 => u32_at(entry, 8),
            _ => continue,
        };
        match u16_at(entry, 0) {
            256 => width = value,
            257 => height = value,
            _ => {}
        }
    }
    Ok(sized(ImageFormat::Tiff, width, height))
}

fn bmp(r: &mut Bytes<'_>) -> Result<Header, Stop> {
    let dib = r.get(14..26)?;
    let (width, height) = if le32(dib, 0) == 12 {
        (u32::from(le16(dib, 4)), u32::from(le16(dib, 6)))
    } else {
        // Negative heights mean top-down rows.
        let signed = |at| i32::from_le_bytes([dib[at], dib[at + 1], dib[at + 2], dib[at + 3]]);
        (signed(4).unsigned_abs(), signed(8).unsigned_abs())
    };
    Ok(sized(ImageFormat::Bmp, width, height))
}

/// HEIF and AVIF share the ISO base media file format; the brands in `ftyp`
/// tell them apart.
fn bmff_brand(b: &[u8]) -> Result<ImageFormat, Stop> {
    let size = be32(b, 0) as usize;
    let end = size.clamp(12, 64);
    let Some(ftyp) = b.get(8..end) else {
        return Err(Stop::NeedBytes(None, end));
    };
    let brands: Vec<&[u8]> = ftyp
        .chunks_exact(4)
        .enumerate()
        // The minor version sits between the major and compatible brands.
        .filter_map(|(i, brand)| (i != 1).then_some(brand))
        .collect();
    if brands.iter().any(|b| matches!(*b, b"avif" | b"avis")) {
        Ok(ImageFormat::Avif)
    } else if brands.iter().any(|b| {
        matches!(
            *b,
            b"heic" | b"heix" | b"heim" | b"heis" | b"hevc" | b"hevx" | b"mif1" | b"msf1"
        )
    }) {
        Ok(ImageFormat::Heic)
    } else {
        Err(Stop::Fail(Error::UnknownImageFormat))
    }
}

/// The largest `ispe` (image spatial extents) property in `meta/iprp/ipco`:
/// grid images list their tiles' extents too, and the full image is the
/// largest.
fn bmff(r: &mut Bytes<'_>, format: ImageFormat) -> Result<Header, Stop> {
    let meta = find_box(r, 0..usize::MAX, b"meta")?;
    let Some(meta) = meta else {
        return Ok(Header::bare(format));
    };
    // `meta` is a full box: version and flags precede its children.
    let iprp = find_box(r, meta.start + 4..meta.end, b"iprp")?;
    let ipco = match iprp {
        Some(iprp) => find_box(r, iprp, b"ipco")?,
        None => None,
    };
    let Some(ipco) = ipco else {
        return Ok(Header::bare(format));
    };
    let (mut width, mut height) = (0, 0);
    let mut pos = ipco.start;
    while pos + 8 <= ipco.end {
        let head = r.get(pos..pos + 8)?;
        let size = be32(head, 0) as usize;
        if size < 8 {
            break;
        }
        if &head[4..8] == b"ispe" {
            let ispe = r.get(pos + 12..pos + 20)?;
            let (w, h) = (be32(ispe, 0), be32(ispe, 4));
            if u64::from(w) * u64::from(h) > u64::from(width) * u64::from(height) {
                (width, height) = (w, h);
            }
        }
        pos += size;
    }
    Ok(sized(format, width, height))
}

/// The body of the first box of `kind` among the boxes in `within`.
fn find_box(
    r: &Bytes<'_>,
    within: Range<usize>,
    kind: &[u8; 4],
) -> Result<Option<Range<usize>>, Stop> {
    let mut pos = within.start;
    while pos < within.end {
        let head = r.get(pos..pos + 8)?;
        let (size, header_len) = match be32(head, 0) {
            0 => (within.end.saturating_sub(pos), 8),
            1 => (be64(r.get(pos + 8..pos + 16)?) as usize, 16),
            size => (size as usize, 8),
        };
        if size < header_len {
            return Ok(None);
        }
        if &head[4..8] == kind {
            return Ok(Some(
                pos + header_len..pos.saturating_add(size).min(within.end),
            ));
        }
        pos = pos.saturating_add(size);
    }
    Ok(None)
}

fn be64(b: &[u8]) -> u64 {
    u64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
}
