//! DC-only JPEG decoding: the image at 1/8 scale straight from the
//! entropy-coded data, for thumbnails of big JPEGs.
//!
//! At scale 1/8 libjpeg uses only the DC coefficient of each block but still
//! decodes every AC code, bit by bit when a code is longer than its 8-bit
//! lookahead, as most are at quality 100. Here a 12-bit lookahead gives the
//! bits of whole groups of AC codes and values to drop at once, and nothing
//! but one DC value per block is kept.
//!
//! The pixels equal libjpeg's 1/8 decode without fancy upsampling for
//! grayscale and for chroma not halved both ways (4:4:4, 4:2:2). Where it is
//! (4:2:0) libjpeg decodes chroma with a 2×2 IDCT and the results are only
//! close. Anything unusual gives `None`, and the caller decodes with libjpeg,
//! which reports errors its own way: being stricter than libjpeg is safe.

use memchr::memchr;

/// Lookahead of the AC tables; 4096 entries stay in the L1 cache.
const LUT_BITS: u32 = 12;
const LUT_SIZE: usize = 1 << LUT_BITS;
/// Lookahead of the DC tables, whose codes are short.
const DC_BITS: u32 = 9;

/// The image at 1/8 scale: one pixel per 8×8 block of the full image.
#[derive(Debug)]
pub(crate) struct DcImage {
    pub width: u32,
    pub height: u32,
    /// 1 for gray, 3 for RGB.
    pub channels: u8,
    pub pixels: Vec<u8>,
}

/// The image at 1/8 scale, or `None` whenever the file is outside the fast
/// path or anything at all is unexpected.
pub(crate) fn decode(bytes: &[u8]) -> Option<DcImage> {
    if !bytes.starts_with(&[0xFF, 0xD8]) {
        return None;
    }
    let mut decoder = Decoder::default();
    let mut pos = 2;
    loop {
        let (marker, at) = marker_at(bytes, pos)?;
        if marker == 0xD9 {
            return decoder.finish();
        }
        let len = usize::from(u16::from_be_bytes([*bytes.get(at)?, *bytes.get(at + 1)?]));
        let segment = bytes.get(at + 2..at + len)?;
        pos = at + len;
        match marker {
            0xC0..=0xC2 if decoder.frame.is_none() => {
                decoder.frame = Some(Frame::parse(segment, marker == 0xC2, bytes.len())?);
            }
            0xC4 => decoder.huffman_tables(segment)?,
            0xDB => decoder.quant_tables(segment)?,
            0xDD => decoder.restart = u16::from_be_bytes(segment.try_into().ok()?).into(),
            0xDA => pos = decoder.scan(segment, bytes, pos)?,
            // Adobe's transform 0 means RGB, not YCbCr.
            0xEE if segment.starts_with(b"Adobe") && segment.get(11) == Some(&0) => return None,
            0xE0..=0xEF | 0xFE => {}
            _ => return None,
        }
    }
}

/// The marker at `pos` (after any 0xFF fill bytes) and the position after it.
fn marker_at(data: &[u8], mut pos: usize) -> Option<(u8, usize)> {
    if data.get(pos) != Some(&0xFF) {
        return None;
    }
    while data.get(pos) == Some(&0xFF) {
        pos += 1;
    }
    Some((*data.get(pos)?, pos + 1))
}

/// Where entropy-coded data we do not decode ends: the first marker that is
/// neither a stuffed 0xFF00 nor a restart marker.
pub(crate) fn skip_entropy_data(data: &[u8], mut pos: usize) -> Option<usize> {
    loop {
        let at = pos + memchr(0xFF, data.get(pos..)?)?;
        match *data.get(at + 1)? {
            0 | 0xD0..=0xD7 => pos = at + 2,
            _ => return Some(at),
        }
    }
}

#[derive(Default)]
struct Decoder {
    /// Entry 0 (the DC step) of each quantization table.
    quant: [Option<u16>; 4],
    /// DC tables, then AC tables.
    tables: [[Option<Huffman>; 4]; 2],
    restart: usize,
    frame: Option<Frame>,
}

struct Frame {
    progressive: bool,
    width: usize,
    height: usize,
    h_max: usize,
    v_max: usize,
    mcus: (usize, usize),
    components: Vec<Component>,
}

#[derive(Default)]
struct Component {
    id: u8,
    h: usize,
    v: usize,
    quant_table: usize,
    q0: Option<u16>,
    /// Blocks per row of the MCU grid, and blocks across and down in a scan
    /// of this component alone, which leaves out the MCU padding.
    stride: usize,
    alone: (usize, usize),
    dc: Vec<i16>,
    /// Bit position (Al) the DC values are known to, `None` before any.
    dc_bits: Option<u8>,
    /// The same for AC coefficients 1..=9: while any of them is incomplete,
    /// libjpeg's block smoothing of progressive images changes DC values.
    ac_bits: [Option<u8>; 9],
}

impl Frame {
    fn parse(segment: &[u8], progressive: bool, file_len: usize) -> Option<Frame> {
        let [8, h1, h0, w1, w0, n, specs @ ..] = segment else {
            return None;
        };
        let width = usize::from(u16::from_be_bytes([*w1, *w0]));
        let height = usize::from(u16::from_be_bytes([*h1, *h0]));
        if width == 0 || height == 0 || !matches!(n, 1 | 3) || specs.len() != 3 * usize::from(*n) {
            return None;
        }
        let mut components: Vec<Component> = (specs.chunks_exact(3))
            .map(|spec| Component {
                id: spec[0],
                h: (spec[1] >> 4).into(),
                v: (spec[1] & 15).into(),
                quant_table: spec[2].into(),
                ..Component::default()
            })
            .collect();
        let ids: Vec<u8> = components.iter().map(|c| c.id).collect();
        // Duplicate ids are ambiguous; 'R', 'G', 'B' means RGB, not YCbCr.
        if (1..ids.len()).any(|i| ids[..i].contains(&ids[i])) || ids == b"RGB" {
            return None;
        }
        let valid = |c: &Component| (1..=4).contains(&c.h) && (1..=4).contains(&c.v);
        if !components.iter().all(|c| valid(c) && c.quant_table < 4) {
            return None;
        }
        let h_max = components.iter().map(|c| c.h).max()?;
        let v_max = components.iter().map(|c| c.v).max()?;
        let mcus = (width.div_ceil(8 * h_max), height.div_ceil(8 * v_max));
        // Every block costs at least a bit and the MCU grid pads at most 4×
        // per direction: refuse decompression bombs before allocating.
        let blocks: usize = components.iter().map(|c| mcus.0 * c.h * mcus.1 * c.v).sum();
        if blocks > file_len.saturating_mul(8 * 16) {
            return None;
        }
        for c in &mut components {
            // libjpeg cannot upsample by fractions.
            if h_max % c.h != 0 || v_max % c.v != 0 {
                return None;
            }
            c.stride = mcus.0 * c.h;
            let alone_across = (width * c.h).div_ceil(h_max).div_ceil(8);
            c.alone = (alone_across, (height * c.v).div_ceil(v_max).div_ceil(8));
            c.dc = vec![0; c.stride * mcus.1 * c.v];
        }
        Some(Frame {
            progressive,
            width,
            height,
            h_max,
            v_max,
            mcus,
            components,
        })
    }
}

impl Component {
    /// libjpeg latches the table at the component's first scan; it
    /// multiplies as 16-bit signed, so larger steps are refused.
    fn latch_quant_table(&mut self, quant: &[Option<u16>; 4]) -> Option<()> {
        let q0 = self.q0.or(*quant.get(self.quant_table)?);
        self.q0 = Some(q0.filter(|&q| q <= 32767)?);
        Some(())
    }

    /// The samples at 1/8 scale, each repeated `h_ratio` × `v_ratio` times.
    fn plane(
        &self,
        (width, height): (usize, usize),
        h_ratio: usize,
        v_ratio: usize,
    ) -> Option<Vec<u8>> {
        let q0 = i32::from(self.q0?);
        // libjpeg's jpeg_idct_1x1, including the range-limit table that
        // wraps out-of-range values modulo 1024 before clamping.
        let sample = |dc: &i16| {
            let v = (i32::from(*dc) * q0 + 4) >> 3;
            (((v + 512) & 1023) - 512 + 128).clamp(0, 255) as u8
        };
        let mut plane = Vec::with_capacity(width * height);
        for y in 0..height {
            let row = self.dc.get(y / v_ratio * self.stride..)?;
            let row = row.get(..width.div_ceil(h_ratio))?.iter();
            plane.extend(
                row.flat_map(|dc| std::iter::repeat_n(sample(dc), h_ratio))
                    .take(width),
            );
        }
        Some(plane)
    }
}

impl Decoder {
    fn quant_tables(&mut self, mut segment: &[u8]) -> Option<()> {
        while let [precision_id, rest @ ..] = segment {
            let (q0, size) = match precision_id >> 4 {
                0 => (u16::from(*rest.first()?), 64),
                1 => (u16::from_be_bytes([*rest.first()?, *rest.get(1)?]), 128),
                _ => return None,
            };
            *self.quant.get_mut(usize::from(precision_id & 15))? = Some(q0);
            segment = rest.get(size..)?;
        }
        Some(())
    }

    fn huffman_tables(&mut self, mut segment: &[u8]) -> Option<()> {
        while let [class_id, rest @ ..] = segment {
            let (counts, rest) = rest.split_at_checked(16)?;
            let (symbols, rest) =
                rest.split_at_checked(counts.iter().map(|&n| usize::from(n)).sum())?;
            let class = self.tables.get_mut(usize::from(class_id >> 4))?;
            *class.get_mut(usize::from(class_id & 15))? =
                Some(Huffman::new(counts, symbols, class_id >> 4 == 1)?);
            segment = rest;
        }
        Some(())
    }

    /// Decodes (or skips) the scan whose data starts at `pos`; returns the
    /// position of the marker after it.
    fn scan(&mut self, header: &[u8], data: &[u8], pos: usize) -> Option<usize> {
        let frame = self.frame.as_mut()?;
        let (&n, rest) = header.split_first()?;
        let (specs, &[ss, se, approx]) = rest.split_at_checked(2 * usize::from(n))? else {
            return None;
        };
        let (ah, al) = (approx >> 4, approx & 15);
        // libjpeg's rules for scan parameters, plus a sequential scan per component.
        let mode = match (frame.progressive, ss) {
            _ if !(1..=4).contains(&n) => return None,
            (false, _) if (ss, se, approx) == (0, 63, 0) => Mode::Sequential,
            (true, 0) if se == 0 && al <= 13 && ah == 0 => Mode::DcFirst(al),
            (true, 0) if se == 0 && al <= 13 && ah == al + 1 => Mode::DcRefine(al),
            (true, 1..=63)
                if n == 1 && (ss..=63).contains(&se) && al <= 13 && (ah == 0 || ah == al + 1) =>
            {
                let c = frame.components.iter_mut().find(|c| c.id == specs[0])?;
                c.latch_quant_table(&self.quant)?;
                self.tables[1].get(usize::from(specs[1] & 15))?.as_ref()?;
                for k in ss.max(1)..=se.min(9) {
                    *c.ac_bits.get_mut(usize::from(k - 1))? = Some(al);
                }
                return skip_entropy_data(data, pos);
            }
            _ => return None,
        };
        let mut scan = Scan {
            components: Vec::new(),
            mode,
            mcus: frame.mcus,
            restart: self.restart,
        };
        for spec in specs.chunks_exact(2) {
            let index = frame.components.iter().position(|c| c.id == spec[0])?;
            let c = frame.components.get_mut(index)?;
            let expected = if let Mode::DcRefine(al) = mode {
                Some(al + 1)
            } else {
                None
            };
            if c.dc_bits != expected || scan.components.iter().any(|s| s.index == index) {
                return None;
            }
            c.dc_bits = Some(al);
            c.latch_quant_table(&self.quant)?;
            let dc = self.tables[0].get(usize::from(spec[1] >> 4))?.as_ref();
            let ac = self.tables[1].get(usize::from(spec[1] & 15))?.as_ref();
            // libjpeg refuses DC tables with values of more than 15 bits.
            let dc_ok = dc.is_some_and(|t| t.symbols.iter().all(|&s| s <= 15));
            if !matches!(mode, Mode::DcRefine(_)) && !dc_ok
                || mode == Mode::Sequential && ac.is_none()
            {
                return None;
            }
            let (h, v) = if n == 1 { (1, 1) } else { (c.h, c.v) };
            if n == 1 {
                scan.mcus = c.alone;
            }
            scan.components.push(ScanComponent {
                index,
                h,
                v,
                dc,
                ac,
                predictor: 0,
            });
        }
        if scan.components.iter().map(|s| s.h * s.v).sum::<usize>() > 10 {
            return None;
        }
        scan.decode(data, pos, &mut frame.components)
    }

    fn finish(self) -> Option<DcImage> {
        let frame = self.frame?;
        let complete = |c: &Component| !frame.progressive || c.ac_bits == [Some(0); 9];
        if !frame
            .components
            .iter()
            .all(|c| c.dc_bits.is_some() && complete(c))
        {
            return None;
        }
        let size = (frame.width.div_ceil(8), frame.height.div_ceil(8));
        let planes: Vec<Vec<u8>> = (frame.components.iter())
            .map(|c| c.plane(size, frame.h_max / c.h, frame.v_max / c.v))
            .collect::<Option<_>>()?;
        let pixels = match planes.as_slice() {
            [gray] => gray.clone(),
            [y, cb, cr] => (y.iter().zip(cb).zip(cr))
                .flat_map(|((&y, &cb), &cr)| ycc_to_rgb(y.into(), cb.into(), cr.into()))
                .collect(),
            _ => return None,
        };
        Some(DcImage {
            width: size.0.try_into().ok()?,
            height: size.1.try_into().ok()?,
            channels: planes.len().try_into().ok()?,
            pixels,
        })
    }
}

/// libjpeg's jdcolor.c in 16-bit fixed point, so the results are identical.
fn ycc_to_rgb(y: i32, cb: i32, cr: i32) -> [u8; 3] {
    let (cb, cr) = (cb - 128, cr - 128);
    let r = y + ((91_881 * cr + 32_768) >> 16);
    let g = y + ((-22_554 * cb + 32_768 - 46_802 * cr) >> 16);
    let b = y + ((116_130 * cb + 32_768) >> 16);
    [r, g, b].map(|v| v.clamp(0, 255) as u8)
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Sequential,
    DcFirst(u8),
    DcRefine(u8),
}

struct Scan<'t> {
    components: Vec<ScanComponent<'t>>,
    mode: Mode,
    /// MCUs across and down.
    mcus: (usize, usize),
    /// MCUs per restart interval, 0 for none.
    restart: usize,
}

struct ScanComponent<'t> {
    index: usize,
    /// Blocks per MCU across and down.
    h: usize,
    v: usize,
    dc: Option<&'t Huffman>,
    ac: Option<&'t Huffman>,
    predictor: i32,
}

impl Scan<'_> {
    /// Decodes the data from `pos` into `components`; returns the position
    /// of the marker after it.
    fn decode(&mut self, data: &[u8], pos: usize, components: &mut [Component]) -> Option<usize> {
        // A local, so that the reader's state stays in registers.
        let mut reader = Reader::new(data, pos);
        let (mut left, mut next_rst) = (self.restart, 0);
        for my in 0..self.mcus.1 {
            for mx in 0..self.mcus.0 {
                if self.restart > 0 {
                    if left == 0 {
                        reader = reader.restart(next_rst)?;
                        (left, next_rst) = (self.restart, (next_rst + 1) & 7);
                        self.components.iter_mut().for_each(|s| s.predictor = 0);
                    }
                    left -= 1;
                }
                for s in &mut self.components {
                    let c = components.get_mut(s.index)?;
                    for by in 0..s.v {
                        for bx in 0..s.h {
                            let dc = c.dc.get_mut((my * s.v + by) * c.stride + mx * s.h + bx)?;
                            reader.refill();
                            *dc = match self.mode {
                                Mode::Sequential => {
                                    s.predictor =
                                        s.predictor.checked_add(reader.dc_diff(s.dc?)?)?;
                                    reader.skip_ac(s.ac?)?;
                                    s.predictor as i16
                                }
                                Mode::DcFirst(al) => {
                                    s.predictor =
                                        s.predictor.checked_add(reader.dc_diff(s.dc?)?)?;
                                    (s.predictor << al) as i16
                                }
                                Mode::DcRefine(al) => *dc | (reader.bits(1) << al) as i16,
                            };
                        }
                    }
                }
            }
            // Stop early on data that ran out instead of decoding zeros.
            if reader.overrun() {
                return None;
            }
        }
        reader.end()
    }
}

/// A canonical Huffman table.
struct Huffman {
    /// `length << 8 | symbol` of the code in the next `DC_BITS` bits, 0 for
    /// a longer one.
    dc_fast: [u16; 1 << DC_BITS],
    /// For AC tables, see `ac_entry`.
    ac_fast: Box<[u32; LUT_SIZE]>,
    /// Largest code of each length (-1 for none), and what to add to a code
    /// of that length to get its index in `symbols`.
    max_code: [i32; 17],
    offset: [i32; 17],
    symbols: Vec<u8>,
}

/// How far an AC symbol moves in the block; 0 when it ends the block, as
/// libjpeg ends a block on any run without a value except ZRL (0xF0).
fn advance(symbol: u8) -> u32 {
    match symbol {
        0xF0 => 16,
        _ if symbol & 15 == 0 => 0,
        _ => u32::from(symbol >> 4) + 1,
    }
}

// An AC entry describes a group of as many whole codes and values as fit in
// the lookahead (at least one), which saves lookups on the short codes that
// dominate AC data, and the first code and value alone, for when the block
// may end inside the group. The group's bits come first so that the entry
// is the shift amount as it is.
const GROUP_ADVANCE: u32 = 6; // 7 bits, all set for a code longer than the lookahead
const GROUP_ENDS_BLOCK: u32 = 1 << 13;
const FIRST_BITS: u32 = 16; // 5 bits
const FIRST_ADVANCE: u32 = 21; // 5 bits

impl Huffman {
    fn new(counts: &[u8], symbols: &[u8], ac: bool) -> Option<Huffman> {
        let mut table = Huffman {
            dc_fast: [0; 1 << DC_BITS],
            ac_fast: Box::new([0; LUT_SIZE]),
            max_code: [-1; 17],
            offset: [0; 17],
            symbols: symbols.to_vec(),
        };
        // `length << 8 | symbol` of the code in the next `LUT_BITS` bits.
        let mut codes = Box::new([0u32; LUT_SIZE]);
        let (mut code, mut index) = (0i32, 0);
        for (len, &count) in (1..=16u32).zip(counts) {
            table.offset[len as usize] = index - code;
            for &symbol in symbols.get(index as usize..)?.iter().take(count.into()) {
                if len <= LUT_BITS {
                    let span = 1 << (LUT_BITS - len);
                    let first = usize::try_from(code).ok()? * span;
                    codes
                        .get_mut(first..first + span)?
                        .fill(len << 8 | u32::from(symbol));
                }
                code += 1;
            }
            index += i32::from(count);
            if count > 0 {
                table.max_code[len as usize] = code - 1;
            }
            // Like libjpeg, refuse codes that overflow their length or are all ones.
            if code >= 1 << len {
                return None;
            }
            code <<= 1;
        }
        for (bits, entry) in table.dc_fast.iter_mut().enumerate() {
            let code = codes[bits << (LUT_BITS - DC_BITS)];
            *entry = if code >> 8 <= DC_BITS { code as u16 } else { 0 };
        }
        if ac {
            for (bits, entry) in table.ac_fast.iter_mut().enumerate() {
                *entry = ac_entry(&codes, bits);
            }
        }
        Some(table)
    }

    /// (length, symbol) of a code of at least `min_len` bits, from the 16
    /// bits at the top of `bits`.
    fn decode_long(&self, bits: u64, min_len: u32) -> Option<(u32, u8)> {
        let bits = (bits >> 48) as i32;
        for len in min_len..=16 {
            let code = bits >> (16 - len);
            if code <= *self.max_code.get(len as usize)? {
                let index = usize::try_from(code + self.offset[len as usize]).ok()?;
                return Some((len, *self.symbols.get(index)?));
            }
        }
        None
    }
}

/// The AC entry for lookahead `bits`, given the `length << 8 | symbol` of
/// the code at each lookahead.
fn ac_entry(codes: &[u32; LUT_SIZE], bits: usize) -> u32 {
    let (mut used, mut advanced, mut entry) = (0, 0, 0x7F << GROUP_ADVANCE);
    while used < LUT_BITS {
        // The bits after `used`, padded with zeros: only a code no longer
        // than what is left of the lookahead is really there.
        let code = codes[(bits << used) & (LUT_SIZE - 1)];
        let (len, symbol) = (code >> 8, code as u8);
        let size = len + u32::from(symbol & 15);
        if code == 0 || len > LUT_BITS - used {
            break;
        }
        if used == 0 {
            entry = size << FIRST_BITS | advance(symbol) << FIRST_ADVANCE;
        } else if size > LUT_BITS - used || advanced + advance(symbol) >= 64 {
            break;
        }
        used += size;
        advanced += advance(symbol);
        entry = entry & !0xFFFF | used | advanced << GROUP_ADVANCE;
        if advance(symbol) == 0 {
            return entry | GROUP_ENDS_BLOCK;
        }
    }
    entry
}

/// Reads the bits of entropy-coded data, unstuffing 0xFF00.
#[derive(Clone, Copy)]
struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    /// Bits not yet consumed, most significant first. `count` of them are
    /// valid; the bits below are zero or already the next bytes' bits.
    bits: u64,
    count: u32,
    /// Zero bits fed in after reaching a marker or the end of the data.
    padding: u32,
}

impl<'a> Reader<'a> {
    fn new(data: &'a [u8], pos: usize) -> Self {
        Reader {
            data,
            pos,
            bits: 0,
            count: 0,
            padding: 0,
        }
    }

    /// Tops the bits up to at least 56. Called for every code without a
    /// branch on `count`, which would often be mispredicted.
    #[inline(always)]
    fn refill(&mut self) {
        let word = self.data.get(self.pos..).and_then(<[u8]>::first_chunk::<8>);
        match word.map(|w| u64::from_be_bytes(*w)) {
            // Without a 0xFF byte there is neither stuffing nor a marker.
            Some(word)
                if (!word).wrapping_sub(0x0101_0101_0101_0101) & word & 0x8080_8080_8080_8080
                    == 0 =>
            {
                self.bits |= word >> self.count;
                self.pos += ((63 - self.count) >> 3) as usize;
                self.count |= 56;
            }
            // On a copy, as passing `self` would keep it in memory.
            _ => {
                let mut slow = *self;
                slow.refill_slow();
                *self = slow;
            }
        }
    }

    #[cold]
    fn refill_slow(&mut self) {
        while self.count < 56 {
            let byte = match (self.data.get(self.pos), self.data.get(self.pos + 1)) {
                (Some(0xFF), Some(0)) => 0xFF,
                (Some(&byte), _) if byte != 0xFF => byte,
                _ => {
                    self.padding = self.padding.saturating_add(8);
                    self.count += 8;
                    continue;
                }
            };
            self.pos += if byte == 0xFF { 2 } else { 1 };
            self.bits |= u64::from(byte) << (56 - self.count);
            self.count += 8;
        }
    }

    #[inline(always)]
    fn consume(&mut self, n: u32) {
        self.bits <<= n;
        self.count -= n;
    }

    /// The next `n` (at most 16) bits as a number.
    #[inline(always)]
    fn bits(&mut self, n: u32) -> i32 {
        if n == 0 {
            return 0;
        }
        let value = (self.bits >> (64 - n)) as i32;
        self.consume(n);
        value
    }

    /// A DC difference; needs `refill` first.
    #[inline(always)]
    fn dc_diff(&mut self, table: &Huffman) -> Option<i32> {
        let (len, size) = match table.dc_fast[(self.bits >> (64 - DC_BITS)) as usize] {
            0 => table.decode_long(self.bits, DC_BITS + 1)?,
            entry => (u32::from(entry >> 8), entry as u8),
        };
        self.consume(len);
        let size = u32::from(size);
        let value = self.bits(size);
        Some(if size > 0 && value < 1 << (size - 1) {
            value - (1 << size) + 1
        } else {
            value
        })
    }

    /// Steps over the AC coefficients of a block; needs `refill` first.
    #[inline(always)]
    fn skip_ac(&mut self, table: &Huffman) -> Option<()> {
        let mut k = 1;
        loop {
            // Looked up before the refill, which then runs alongside.
            let entry = table.ac_fast[(self.bits >> (64 - LUT_BITS)) as usize];
            self.refill();
            let group_advance = entry >> GROUP_ADVANCE & 0x7F;
            // The whole group only if the block cannot end inside it.
            if k + group_advance < 64 {
                self.consume(entry & 0x3F);
                k += group_advance;
                if entry & GROUP_ENDS_BLOCK != 0 {
                    return Some(());
                }
                continue;
            }
            let (bits, advance) = match entry >> FIRST_BITS & 0x1F {
                0 => {
                    let (len, symbol) = table.decode_long(self.bits, LUT_BITS + 1)?;
                    (len + u32::from(symbol & 15), advance(symbol))
                }
                bits => (bits, entry >> FIRST_ADVANCE & 0x1F),
            };
            self.consume(bits);
            k += advance;
            if advance == 0 || k >= 64 {
                return (k <= 64).then_some(());
            }
        }
    }

    fn overrun(&self) -> bool {
        self.count < self.padding
    }

    /// Where the data's marker is: only the padding of the last byte may be
    /// left, and no bits may have been taken from beyond the data.
    fn end(self) -> Option<usize> {
        let left = self.count.checked_sub(self.padding)?;
        (left < 8).then_some(self.pos)
    }

    /// Steps over restart marker `n` and starts afresh after it.
    fn restart(self, n: u8) -> Option<Reader<'a>> {
        let (marker, pos) = marker_at(self.data, self.end()?)?;
        (marker == 0xD0 + n).then(|| Reader::new(self.data, pos))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// libjpeg's 1/8 decode: (width, height, pixels, exact), where exact
    /// says no component is scaled with a larger IDCT (see the module docs).
    fn libjpeg(bytes: &[u8]) -> Option<(usize, usize, Vec<u8>, bool)> {
        let decoded = std::panic::catch_unwind(|| {
            let mut d = mozjpeg::Decompress::builder().from_mem(bytes).ok()?;
            d.scale(1);
            d.dct_method(mozjpeg::DctMethod::IntegerFast);
            d.do_fancy_upsampling(false);
            let mut factors = d
                .components()
                .iter()
                .map(|c| (c.h_samp_factor, c.v_samp_factor));
            let (h_max, v_max) = factors
                .clone()
                .fold((1, 1), |(h, v), f| (h.max(f.0), v.max(f.1)));
            let exact = factors.all(|(h, v)| h_max % (2 * h) != 0 || v_max % (2 * v) != 0);
            let (mozjpeg::Format::RGB(mut s) | mozjpeg::Format::Gray(mut s)) = d.image().ok()?
            else {
                return None;
            };
            let pixels = s.read_scanlines::<u8>().ok()?;
            Some((s.width(), s.height(), pixels, exact))
        });
        decoded.ok().flatten()
    }

    /// Asserts that `decode` gives libjpeg's pixels, or close ones where
    /// libjpeg upsamples chroma with a 2×2 IDCT.
    fn assert_matches_libjpeg(name: &str, bytes: &[u8]) {
        let ours = decode(bytes).unwrap_or_else(|| panic!("{name}: not decoded"));
        let (width, height, pixels, exact) =
            libjpeg(bytes).unwrap_or_else(|| panic!("{name}: libjpeg failed"));
        assert_eq!(
            (ours.width as usize, ours.height as usize),
            (width, height),
            "{name}"
        );
        assert_eq!(
            ours.pixels.len(),
            width * height * usize::from(ours.channels),
            "{name}"
        );
        assert_eq!(ours.pixels.len(), pixels.len(), "{name}");
        if exact {
            assert!(ours.pixels == pixels, "{name}: pixels differ from libjpeg");
            return;
        }
        // The mean over a chroma block's pixels is still its DC value, and
        // 4×4 squares hold whole chroma blocks for any subsampling.
        let mean = |p: &[u8], (x, y, c): (usize, usize, usize)| {
            let at = |i: usize| u32::from(p[((y + i / 4) * width + x + i % 4) * 3 + c]);
            f64::from((0..16).map(at).sum::<u32>()) / 16.0
        };
        let squares = (0..height / 4)
            .flat_map(|y| (0..width / 4).flat_map(move |x| (0..3).map(move |c| (4 * x, 4 * y, c))));
        let diffs: Vec<f64> = squares
            .map(|at| (mean(&ours.pixels, at) - mean(&pixels, at)).abs())
            .collect();
        let max = diffs.iter().copied().fold(0.0, f64::max);
        let average = diffs.iter().sum::<f64>() / diffs.len().max(1) as f64;
        assert!(
            average < 1.0 && max < 8.0,
            "{name}: 4×4 means differ by {average} on average, {max} at most"
        );
    }

    fn jpegs(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
        let mut paths: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        paths.retain(|p| p.extension().is_some_and(|e| e == "jpg"));
        paths.sort();
        let name = |p: &std::path::Path| p.file_name().unwrap().to_string_lossy().into_owned();
        paths
            .iter()
            .map(|p| (name(p), std::fs::read(p).unwrap()))
            .collect()
    }

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(format!(
            "{}/tests/fixtures/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    #[test]
    fn matches_libjpeg_on_every_fixture() {
        // Arithmetic-coded (libjpeg's), a bomb whose data cannot hold its
        // blocks, CMYK, not a JPEG, truncated.
        let refused = [
            "arith-progressive-cve-2017-2862.jpg",
            "arithmetic.jpg",
            "bomb.jpg",
            "cmyk.jpg",
            "empty.jpg",
            "truncated-progressive.jpg",
            "truncated.jpg",
            "ultrahdr-gps-truncated.jpg",
        ];
        let fixtures =
            jpegs(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures"));
        for (name, bytes) in fixtures {
            if refused.contains(&name.as_str()) {
                assert!(decode(&bytes).is_none(), "{name}: decoded");
            } else {
                assert_matches_libjpeg(&name, &bytes);
            }
        }
    }

    #[test]
    fn refuses_cut_files() {
        for name in [
            "grayscale.jpg",
            "long-header.jpg",
            "cmyk-reference.jpg",
            "jpeg-exif-gps.jpg",
        ] {
            let bytes = fixture(name);
            let len = bytes.len();
            for cut in (0..len).step_by(len / 50).chain([len - 2, len - 1]) {
                assert!(decode(&bytes[..cut]).is_none(), "{name} cut at {cut}");
            }
        }
    }

    /// From the first scan to EOI, where damage matters.
    fn scans(bytes: &[u8]) -> std::ops::Range<usize> {
        let (mut pos, mut first_scan) = (2, None);
        loop {
            let (marker, at) = marker_at(bytes, pos).unwrap();
            if marker == 0xD9 {
                return first_scan.unwrap()..at;
            }
            pos = at + usize::from(u16::from_be_bytes([bytes[at], bytes[at + 1]]));
            if marker == 0xDA {
                first_scan = first_scan.or(Some(at));
                pos = skip_entropy_data(bytes, pos).unwrap();
            }
        }
    }

    #[test]
    fn damaged_data_never_panics_and_what_decodes_matches_libjpeg() {
        // 4:4:4 with restarts, gray, 4:2:2, progressive 4:4:4 and 4:2:0.
        let names = [
            "cmyk-reference.jpg",
            "grayscale.jpg",
            "jpeg-exif-gps.jpg",
            "long-header.jpg",
            "progressive.jpg",
        ];
        for name in names {
            let bytes = fixture(name);
            let scans = scans(&bytes);
            let mut decoded = 0;
            for (i, at) in scans.clone().step_by(scans.len() / 300 + 1).enumerate() {
                let mut damaged = bytes.clone();
                damaged[at] ^= 1 << (i % 8);
                if decode(&damaged).is_some() {
                    assert_matches_libjpeg(&format!("{name} with byte {at} flipped"), &damaged);
                    decoded += 1;
                }
            }
            // Most flipped bits go unnoticed by both decoders (progressive
            // AC data is not decoded at all), some are refused.
            assert!(
                decoded >= 100,
                "{name}: only {decoded} damaged copies decoded"
            );
        }
    }

    #[test]
    fn checks_the_restart_marker_sequence() {
        let mut bytes = fixture("cmyk-reference.jpg");
        let scan = scans(&bytes).start;
        let rst1 = scan
            + bytes[scan..]
                .windows(2)
                .position(|w| w == [0xFF, 0xD1])
                .unwrap();
        bytes[rst1 + 1] = 0xD2;
        assert!(decode(&bytes).is_none());
    }
}
