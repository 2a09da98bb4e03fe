//! JSONata's number pictures: `$formatNumber` (XPath F&O 3.1's
//! `format-number`), `$formatInteger` and `$parseInteger` (`format-integer`
//! and its reverse), as JSONata 2.0 implements them.

use jsonata_rs::{FunctionContext, Value as Ata};

use crate::jsonata_library::{Outcome, argument_error, first, given, round_half_even};

/// The arguments with the context in front when the first was left out,
/// as JSONata's `-` signatures (`<n-s:s>`) substitute it.
fn with_context<'a>(
    ctx: &FunctionContext<'a, '_>,
    args: &[&'a Ata<'a>],
    left_out: bool,
) -> Vec<&'a Ata<'a>> {
    let mut all = Vec::with_capacity(args.len() + 1);
    if left_out {
        all.push(ctx.input);
    }
    all.extend_from_slice(args);
    all
}

fn string_arg<'a>(
    ctx: &FunctionContext<'a, '_>,
    args: &[&'a Ata<'a>],
    index: usize,
) -> jsonata_rs::Result<String> {
    match args.get(index) {
        Some(value) if value.is_string() => Ok(value.as_str().into_owned()),
        _ => Err(argument_error(ctx, index + 1)),
    }
}

fn finite(value: &Ata<'_>) -> bool {
    value.is_number() && value.as_f64().is_finite()
}

/// `$formatNumber(number, picture [, options])`: XPath's `format-number`
/// as JSONata implements it.
pub(crate) fn format_number<'a>(ctx: FunctionContext<'a, '_>, args: &[&'a Ata<'a>]) -> Outcome<'a> {
    let left_out = first(args).is_string() && args.get(1).is_none_or(|o| o.is_object());
    let args = with_context(&ctx, args, left_out);
    let Some(value) = given(&ctx, &args, finite)? else {
        return Ok(Ata::undefined());
    };
    let picture = string_arg(&ctx, &args, 1)?;
    let format = match args.get(2).filter(|o| !o.is_undefined()) {
        Some(options) => {
            DecimalFormat::with_options(options).ok_or_else(|| argument_error(&ctx, 3))?
        }
        None => DecimalFormat::default(),
    };
    // jsonata-rs has no D3080–D3093 (bad picture) errors: the argument
    // error stands for them.
    let pictures = format
        .sub_pictures(&picture)
        .ok_or_else(|| argument_error(&ctx, 2))?;
    let number = value.as_f64();
    // A second sub-picture is for negative numbers; without one, the
    // first is, behind a minus sign.
    let text = match (pictures.get(1), number < 0.0) {
        (Some(negative), true) => format.render(negative, number),
        (None, true) => format!("{}{}", format.minus, format.render(&pictures[0], number)),
        (_, false) => format.render(&pictures[0], number),
    };
    Ok(Ata::string(ctx.arena, &text))
}

/// The decimal-format properties `$formatNumber`'s options override.
/// Those that are single characters in a picture are held as characters.
struct DecimalFormat {
    decimal: char,
    grouping: char,
    exponent: char,
    zero: char,
    digit: char,
    pattern: char,
    minus: String,
    percent: String,
    per_mille: String,
}

impl Default for DecimalFormat {
    fn default() -> Self {
        DecimalFormat {
            decimal: '.',
            grouping: ',',
            exponent: 'e',
            zero: '0',
            digit: '#',
            pattern: ';',
            minus: "-".into(),
            percent: "%".into(),
            per_mille: "\u{2030}".into(),
        }
    }
}

/// One sub-picture, analysed (F&O 4.7.4).
struct SubPicture {
    prefix: String,
    suffix: String,
    has_decimal: bool,
    scale: Scale,
    integer_groups: Vec<usize>,
    regular_group: Option<usize>,
    fraction_groups: Vec<usize>,
    min_integer: usize,
    scaling: i32,
    min_fraction: usize,
    max_fraction: usize,
    /// The exponent's minimum digits, when there is an exponent.
    min_exponent: Option<usize>,
}

/// A sub-picture's parts (F&O 4.7.3): `prefix`, `active` (the
/// `mantissa`, made of `integer` and `fraction`, then any `exponent`) and
/// `suffix`.
struct Parts<'c> {
    prefix: &'c [char],
    suffix: &'c [char],
    active: &'c [char],
    mantissa: &'c [char],
    integer: &'c [char],
    fraction: &'c [char],
    exponent: Option<&'c [char]>,
}

#[derive(Clone, Copy)]
enum Scale {
    One,
    Percent,
    PerMille,
}

impl DecimalFormat {
    fn with_options<'a>(options: &'a Ata<'a>) -> Option<Self> {
        if !options.is_object() {
            return None;
        }
        let mut format = DecimalFormat::default();
        for (key, value) in options.entries() {
            if !value.is_string() {
                return None;
            }
            let text = value.as_str().into_owned();
            let first = text.chars().next();
            match &**key {
                "decimal-separator" => format.decimal = first?,
                "grouping-separator" => format.grouping = first?,
                "exponent-separator" => format.exponent = first?,
                "zero-digit" => format.zero = first?,
                "digit" => format.digit = first?,
                "pattern-separator" => format.pattern = first?,
                "minus-sign" => format.minus = text,
                "percent" => format.percent = text,
                "per-mille" => format.per_mille = text,
                // infinity and NaN: JSON has no such numbers to format.
                _ => {}
            }
        }
        Some(format)
    }

    fn digit_value(&self, c: char) -> Option<u32> {
        (c as u32).checked_sub(self.zero as u32).filter(|d| *d < 10)
    }

    fn to_digit(&self, d: u32) -> char {
        char::from_u32(self.zero as u32 + d).unwrap_or(self.zero)
    }

    fn is_digit_sign(&self, c: char) -> bool {
        c == self.digit || self.digit_value(c).is_some()
    }

    fn is_active(&self, c: char) -> bool {
        self.is_digit_sign(c)
            || [self.decimal, self.exponent, self.grouping, self.pattern].contains(&c)
    }

    /// The one or two sub-pictures, or `None` for a picture F&O 4.7.3
    /// forbids.
    fn sub_pictures(&self, picture: &str) -> Option<Vec<SubPicture>> {
        let parts: Vec<&str> = picture.split(self.pattern).collect();
        if parts.len() > 2 {
            return None;
        }
        parts.into_iter().map(|part| self.analyse(part)).collect()
    }

    fn analyse(&self, text: &str) -> Option<SubPicture> {
        let chars: Vec<char> = text.chars().collect();
        let parts = self.split(&chars)?;
        if !self.is_valid(&chars, &parts) {
            return None;
        }
        let Parts {
            integer,
            fraction,
            exponent,
            ..
        } = parts;
        let groups = |part: &[char], to_the_right: bool| -> Vec<usize> {
            let at = (0..part.len()).filter(|i| part[*i] == self.grouping);
            let signs = |i: usize| {
                if to_the_right {
                    &part[i + 1..]
                } else {
                    &part[..i]
                }
            };
            at.map(|i| self.digit_signs(signs(i))).collect()
        };
        let integer_groups = groups(integer, true);
        let mut min_integer = self.mandatory(integer);
        let scaling = min_integer as i32;
        let (mut min_fraction, mut max_fraction) =
            (self.mandatory(fraction), self.digit_signs(fraction));
        // F&O 4.7.4's defaults, so that there is at least one digit.
        if min_integer == 0 && max_fraction == 0 {
            if exponent.is_some() {
                (min_fraction, max_fraction) = (1, 1);
            } else {
                min_integer = 1;
            }
        }
        if exponent.is_some() && min_integer == 0 && integer.contains(&self.digit) {
            min_integer = 1;
        }
        if min_integer == 0 && min_fraction == 0 {
            min_fraction = 1;
        }
        let scale = if self.count(&chars, &self.percent) > 0 {
            Scale::Percent
        } else if self.count(&chars, &self.per_mille) > 0 {
            Scale::PerMille
        } else {
            Scale::One
        };
        Some(SubPicture {
            prefix: parts.prefix.iter().collect(),
            suffix: parts.suffix.iter().collect(),
            has_decimal: chars.contains(&self.decimal),
            scale,
            regular_group: regular_grouping(&integer_groups),
            integer_groups,
            fraction_groups: groups(fraction, false),
            min_integer,
            scaling,
            min_fraction,
            max_fraction,
            min_exponent: exponent.map(<[char]>::len),
        })
    }

    /// The sub-picture cut into its parts, `None` when it has no active
    /// character.
    fn split<'c>(&self, chars: &'c [char]) -> Option<Parts<'c>> {
        // The exponent separator alone neither starts nor ends the active
        // part: `e` may be a letter of a prefix.
        let anchors = |c: &char| self.is_active(*c) && *c != self.exponent;
        let start = chars.iter().position(anchors)?;
        let end = chars.iter().rposition(anchors)? + 1;
        let active = &chars[start..end];
        let (mantissa, mut exponent) = match active.iter().position(|c| *c == self.exponent) {
            Some(at) => (&active[..at], Some(&active[at + 1..])),
            None => (active, None),
        };
        // JSONata takes an exponent separator just after the active part as
        // an exponent with no digits (which is then an error).
        if chars.get(end) == Some(&self.exponent) && exponent.is_none() {
            exponent = Some(&active[active.len()..]);
        }
        let (integer, fraction) = match mantissa.iter().position(|c| *c == self.decimal) {
            Some(at) => (&mantissa[..at], &mantissa[at + 1..]),
            None => (mantissa, &mantissa[mantissa.len()..]),
        };
        Some(Parts {
            prefix: &chars[..start],
            suffix: &chars[end..],
            active,
            mantissa,
            integer,
            fraction,
            exponent,
        })
    }

    /// F&O 4.7.3's rules for a sub-picture.
    fn is_valid(&self, chars: &[char], parts: &Parts<'_>) -> bool {
        let (percents, per_milles) = (
            self.count(chars, &self.percent),
            self.count(chars, &self.per_mille),
        );
        let decimals = chars.iter().filter(|c| **c == self.decimal).count();
        let adjacent = |a: char, b: char| chars.windows(2).any(|w| w == [a, b]);
        let (integer, fraction) = (parts.integer, parts.fraction);
        let grouping_misplaced = adjacent(self.grouping, self.decimal)
            || adjacent(self.decimal, self.grouping)
            || adjacent(self.grouping, self.grouping)
            || (decimals == 0 && integer.last() == Some(&self.grouping));
        // Optional digits come first in the integer part, last in the
        // fraction.
        let optional_misplaced = integer
            .iter()
            .position(|c| *c == self.digit)
            .is_some_and(|at| self.mandatory(&integer[..at]) > 0)
            || fraction
                .iter()
                .rposition(|c| *c == self.digit)
                .is_some_and(|at| self.mandatory(&fraction[at..]) > 0);
        let exponent_bad = parts.exponent.is_some_and(|e| {
            e.is_empty() || percents + per_milles > 0 || self.mandatory(e) != e.len()
        });
        decimals <= 1
            && percents + per_milles <= 1
            && parts.mantissa.iter().any(|c| self.is_digit_sign(*c))
            && parts.active.iter().all(|c| self.is_active(*c))
            && !grouping_misplaced
            && !optional_misplaced
            && !exponent_bad
    }

    fn count(&self, chars: &[char], needle: &str) -> usize {
        let text: String = chars.iter().collect();
        if needle.is_empty() {
            0
        } else {
            text.matches(needle).count()
        }
    }

    fn mandatory(&self, part: &[char]) -> usize {
        part.iter()
            .filter(|c| self.digit_value(**c).is_some())
            .count()
    }

    fn digit_signs(&self, part: &[char]) -> usize {
        part.iter().filter(|c| self.is_digit_sign(**c)).count()
    }

    /// The number's magnitude in the sub-picture (its sign is the
    /// sub-picture's or the minus sign's business).
    fn render(&self, picture: &SubPicture, number: f64) -> String {
        let mut value = number.abs();
        match picture.scale {
            Scale::Percent => value *= 100.0,
            Scale::PerMille => value *= 1000.0,
            Scale::One => {}
        }
        let (value, exponent) = match picture.min_exponent {
            Some(_) => scale_to_mantissa(value, picture.scaling),
            None => (value, 0),
        };
        let rounded = round_to_places(value, picture.max_fraction);
        let fixed = format!("{rounded:.*}", picture.max_fraction);
        let (whole, fraction) = fixed.split_once('.').unwrap_or((&fixed, ""));
        let whole = format!(
            "{:0>width$}",
            whole.trim_start_matches('0'),
            width = picture.min_integer
        );
        let fraction = format!(
            "{:0<width$}",
            fraction.trim_end_matches('0'),
            width = picture.min_fraction
        );
        let mut text = self.group_integer(picture, &self.localise(&whole));
        text.push(self.decimal);
        text.push_str(&self.group_fraction(picture, &self.localise(&fraction)));
        // JSONata drops the separator when nothing follows it, and the
        // last character whenever the picture has no separator.
        if !picture.has_decimal || text.ends_with(self.decimal) {
            text.pop();
        }
        if let Some(min_exponent) = picture.min_exponent {
            let digits = format!("{:0>min_exponent$}", exponent.unsigned_abs());
            text.push(self.exponent);
            if exponent < 0 {
                text.push_str(&self.minus);
            }
            text.push_str(&self.localise(&digits));
        }
        format!("{}{text}{}", picture.prefix, picture.suffix)
    }

    fn localise(&self, ascii_digits: &str) -> String {
        ascii_digits
            .chars()
            .map(|c| c.to_digit(10).map_or(c, |d| self.to_digit(d)))
            .collect()
    }

    fn group_integer(&self, picture: &SubPicture, digits: &str) -> String {
        let digits: Vec<char> = digits.chars().collect();
        let mut out = String::with_capacity(digits.len() * 2);
        for (i, c) in digits.iter().enumerate() {
            let right = digits.len() - i;
            let separated = match picture.regular_group {
                Some(size) => right.is_multiple_of(size),
                None => picture.integer_groups.contains(&right),
            };
            if separated && i > 0 {
                out.push(self.grouping);
            }
            out.push(*c);
        }
        out
    }

    fn group_fraction(&self, picture: &SubPicture, digits: &str) -> String {
        let mut out = String::with_capacity(digits.len() * 2);
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && picture.fraction_groups.contains(&i) {
                out.push(self.grouping);
            }
            out.push(c);
        }
        out
    }
}

/// The mantissa and exponent, the mantissa with `scaling` integer digits.
/// As JSONata scales, a mantissa of exactly 10^scaling stays so.
fn scale_to_mantissa(mut value: f64, scaling: i32) -> (f64, i32) {
    let mut exponent = 0;
    if value == 0.0 {
        return (value, exponent);
    }
    let (min, max) = (10f64.powi(scaling - 1), 10f64.powi(scaling));
    while value < min {
        value *= 10.0;
        exponent -= 1;
    }
    while value > max {
        value /= 10.0;
        exponent += 1;
    }
    (value, exponent)
}

/// The interval of separators at regular intervals (3 for `#,###,##0`),
/// which then repeat through the whole number.
fn regular_grouping(positions: &[usize]) -> Option<usize> {
    fn gcd(a: usize, b: usize) -> usize {
        if b == 0 { a } else { gcd(b, a % b) }
    }
    let size = positions.iter().copied().reduce(gcd).filter(|g| *g > 0)?;
    (1..=positions.len())
        .all(|k| positions.contains(&(k * size)))
        .then_some(size)
}

/// Half to even at `places` decimals. As JSONata does, the decimal point is
/// moved in the number's shortest text rather than by multiplying, so that
/// the digits as written decide (2.675 to 2 places is a tie, not below).
fn round_to_places(value: f64, places: usize) -> f64 {
    let shift = |x: f64, by: i64| -> f64 {
        let text = format!("{x:e}");
        let (digits, exponent) = text.split_once('e').unwrap_or((&text, "0"));
        let exponent: i64 = exponent.parse().unwrap_or(0);
        format!("{digits}e{}", exponent + by).parse().unwrap_or(x)
    };
    let places = places as i64;
    shift(round_half_even(shift(value, places)), -places)
}

/// The zeros of Unicode's decimal digit families (general category Nd):
/// a format-integer picture may be written in any of them.
const DIGIT_ZEROS: [u32; 46] = [
    0x30, 0x660, 0x6F0, 0x7C0, 0x966, 0x9E6, 0xA66, 0xAE6, 0xB66, 0xBE6, 0xC66, 0xCE6, 0xD66,
    0xDE6, 0xE50, 0xED0, 0xF20, 0x1040, 0x1090, 0x17E0, 0x1810, 0x1946, 0x19D0, 0x1A80, 0x1A90,
    0x1B50, 0x1BB0, 0x1C40, 0x1C50, 0xA620, 0xA8D0, 0xA900, 0xA9D0, 0xA9F0, 0xAA50, 0xABF0, 0xFF10,
    0x104A0, 0x11066, 0x1D7CE, 0x1D7D8, 0x1D7E2, 0x1D7EC, 0x1D7F6, 0x1E950, 0x1FBF0,
];

fn digit_zero(c: char) -> Option<u32> {
    DIGIT_ZEROS
        .iter()
        .copied()
        .find(|zero| (*zero..zero + 10).contains(&(c as u32)))
}

#[derive(Clone, Copy)]
enum Case {
    Lower,
    Upper,
    Title,
}

/// A format-integer picture (F&O 4.6.1), as far as JSONata supports one.
enum IntegerPicture {
    Decimal(DigitPattern),
    Letters(Case),
    Roman(Case),
    Words(Case),
}

/// A decimal-digit pattern: `#,##0`, `0000`, `###١`.
struct DigitPattern {
    zero: u32,
    mandatory: usize,
    /// Separators by how many digit signs are to their right.
    separators: Vec<(usize, char)>,
    /// The interval, when one separator repeats regularly.
    regular: Option<usize>,
}

/// The picture and whether its modifier asks for an ordinal (`;o`), or
/// `None` for a picture JSONata cannot format (its D3130, and D3131 for
/// digits of two families).
fn integer_picture(picture: &str) -> Option<(IntegerPicture, bool)> {
    let (primary, ordinal) = match picture.rsplit_once(';') {
        Some((primary, modifier)) => (primary, modifier.starts_with('o')),
        None => (picture, false),
    };
    let format = match primary {
        "A" => IntegerPicture::Letters(Case::Upper),
        "a" => IntegerPicture::Letters(Case::Lower),
        "I" => IntegerPicture::Roman(Case::Upper),
        "i" => IntegerPicture::Roman(Case::Lower),
        "W" => IntegerPicture::Words(Case::Upper),
        "w" => IntegerPicture::Words(Case::Lower),
        "Ww" => IntegerPicture::Words(Case::Title),
        _ => IntegerPicture::Decimal(digit_pattern(primary)?),
    };
    Some((format, ordinal))
}

fn digit_pattern(primary: &str) -> Option<DigitPattern> {
    let (mut zero, mut mandatory, mut signs, mut separators) = (None, 0, 0, Vec::new());
    for c in primary.chars().rev() {
        if let Some(family) = digit_zero(c) {
            if zero.is_some_and(|z| z != family) {
                return None;
            }
            zero = Some(family);
            mandatory += 1;
            signs += 1;
        } else if c == '#' {
            signs += 1;
        } else {
            separators.push((signs, c));
        }
    }
    let same_char = separators.windows(2).all(|w| w[0].1 == w[1].1);
    let positions: Vec<usize> = separators.iter().map(|(at, _)| *at).collect();
    Some(DigitPattern {
        zero: zero?,
        mandatory,
        regular: regular_grouping(&positions).filter(|_| same_char),
        separators,
    })
}

/// `$formatInteger(number, picture)`: XPath's `format-integer` as JSONata
/// implements it (English words and ordinals).
pub(crate) fn format_integer<'a>(
    ctx: FunctionContext<'a, '_>,
    args: &[&'a Ata<'a>],
) -> Outcome<'a> {
    let args = with_context(&ctx, args, args.len() == 1);
    let Some(value) = given(&ctx, &args, finite)? else {
        return Ok(Ata::undefined());
    };
    let picture = string_arg(&ctx, &args, 1)?;
    // jsonata-rs has no D3130/D3131: the argument error stands for them.
    let (format, ordinal) = integer_picture(&picture).ok_or_else(|| argument_error(&ctx, 2))?;
    let number = value.as_f64().floor();
    let magnitude = number.abs();
    let body = match format {
        IntegerPicture::Decimal(pattern) => {
            let digits = format!("{magnitude:.0}");
            let mut text = pattern.render(&digits);
            if ordinal {
                text.push_str(ordinal_suffix(&digits));
            }
            text
        }
        IntegerPicture::Letters(case) => in_case(&to_letters(magnitude), case),
        // A numeral of more than ten thousand `M`s is past what JSONata's
        // recursion reaches, and a runaway number would exhaust memory.
        IntegerPicture::Roman(_) if magnitude >= 1e7 => return Err(argument_error(&ctx, 1)),
        IntegerPicture::Roman(case) => in_case(&to_roman(magnitude), case),
        IntegerPicture::Words(case) => in_case(&to_words(magnitude, ordinal), case),
    };
    let sign = if number < 0.0 { "-" } else { "" };
    Ok(Ata::string(ctx.arena, &format!("{sign}{body}")))
}

impl DigitPattern {
    fn render(&self, ascii_digits: &str) -> String {
        let padded = format!("{ascii_digits:0>width$}", width = self.mandatory);
        let digits: Vec<char> = padded
            .chars()
            .map(|c| char::from_u32(self.zero + c.to_digit(10).unwrap_or(0)).unwrap_or(c))
            .collect();
        let mut out = String::with_capacity(digits.len() * 2);
        for (i, c) in digits.iter().enumerate() {
            let right = digits.len() - i;
            let separator = match self.regular {
                Some(size) if right.is_multiple_of(size) => {
                    self.separators.first().map(|(_, s)| *s)
                }
                Some(_) => None,
                None => self
                    .separators
                    .iter()
                    .find(|(at, _)| *at == right)
                    .map(|(_, s)| *s),
            };
            if let Some(separator) = separator.filter(|_| i > 0) {
                out.push(separator);
            }
            out.push(*c);
        }
        out
    }
}

fn ordinal_suffix(digits: &str) -> &'static str {
    let mut last_two = digits.bytes().rev();
    let (units, tens) = (last_two.next(), last_two.next());
    match (tens, units) {
        (Some(b'1'), _) => "th",
        (_, Some(b'1')) => "st",
        (_, Some(b'2')) => "nd",
        (_, Some(b'3')) => "rd",
        _ => "th",
    }
}

fn in_case(lower: &str, case: Case) -> String {
    match case {
        Case::Lower => lower.to_owned(),
        Case::Upper => lower.to_uppercase(),
        // Every word capitalised but `and`: "Five Hundred and Fifty-Five".
        Case::Title => {
            let mut out = String::with_capacity(lower.len());
            let mut at_start = true;
            for (i, c) in lower.char_indices() {
                let is_and = lower[i..].starts_with("and ") && at_start;
                out.push(if at_start && !is_and {
                    c.to_ascii_uppercase()
                } else {
                    c
                });
                at_start = c == ' ' || c == '-';
            }
            out
        }
    }
}

/// Spreadsheet column letters: 1 is `a`, 27 is `aa`; 0 is nothing.
fn to_letters(mut n: f64) -> String {
    let mut letters = Vec::new();
    while n >= 1.0 {
        let index = (n - 1.0) % 26.0;
        letters.push(char::from(b'a' + index as u8));
        n = ((n - 1.0) / 26.0).floor();
    }
    letters.iter().rev().collect()
}

const ROMAN: [(u64, &str); 13] = [
    (1000, "m"),
    (900, "cm"),
    (500, "d"),
    (400, "cd"),
    (100, "c"),
    (90, "xc"),
    (50, "l"),
    (40, "xl"),
    (10, "x"),
    (9, "ix"),
    (5, "v"),
    (4, "iv"),
    (1, "i"),
];

fn to_roman(n: f64) -> String {
    let mut rest = n as u64;
    let mut out = String::new();
    for (value, numeral) in ROMAN {
        while rest >= value {
            out.push_str(numeral);
            rest -= value;
        }
    }
    out
}

const UNITS: [&str; 20] = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
];
const UNIT_ORDINALS: [&str; 20] = [
    "zeroth",
    "first",
    "second",
    "third",
    "fourth",
    "fifth",
    "sixth",
    "seventh",
    "eighth",
    "ninth",
    "tenth",
    "eleventh",
    "twelfth",
    "thirteenth",
    "fourteenth",
    "fifteenth",
    "sixteenth",
    "seventeenth",
    "eighteenth",
    "nineteenth",
];
const TENS: [&str; 8] = [
    "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
];
/// Past a trillion JSONata repeats the names: 10^46 is "ten billion
/// trillion trillion trillion".
const MAGNITUDES: [&str; 4] = ["thousand", "million", "billion", "trillion"];

/// British English words, as JSONata writes them: "three thousand, seven
/// hundred and thirty-first". Worked in floating point, as JSONata does,
/// since numbers past 2^64 have words too.
fn to_words(n: f64, ordinal: bool) -> String {
    if n < 20.0 {
        let table = if ordinal { UNIT_ORDINALS } else { UNITS };
        return table[n as usize].to_owned();
    }
    if n < 100.0 {
        let (tens, units) = (TENS[(n / 10.0) as usize - 2], n % 10.0);
        return match (units > 0.0, ordinal) {
            (true, _) => format!("{tens}-{}", to_words(units, ordinal)),
            (false, true) => format!("{}ieth", &tens[..tens.len() - 1]),
            (false, false) => tens.to_owned(),
        };
    }
    let (head, factor) = if n < 1000.0 {
        (format!("{} hundred", UNITS[(n / 100.0) as usize]), 100.0)
    } else {
        let mut magnitude = 1;
        while magnitude < MAGNITUDES.len() && n >= 10f64.powi(3 * (magnitude as i32 + 1)) {
            magnitude += 1;
        }
        let factor = 10f64.powi(3 * magnitude as i32);
        let count = to_words((n / factor).floor(), false);
        (format!("{count} {}", MAGNITUDES[magnitude - 1]), factor)
    };
    let rest = n - (n / factor).floor() * factor;
    match (rest > 0.0, ordinal) {
        (true, _) => {
            let joint = if rest < 100.0 { " and " } else { ", " };
            format!("{head}{joint}{}", to_words(rest, ordinal))
        }
        (false, true) => format!("{head}th"),
        (false, false) => head,
    }
}

/// `$parseInteger(string, picture)`: the inverse of `$formatInteger`.
pub(crate) fn parse_integer<'a>(ctx: FunctionContext<'a, '_>, args: &[&'a Ata<'a>]) -> Outcome<'a> {
    let args = with_context(&ctx, args, args.len() == 1);
    let value = first(&args);
    if value.is_undefined() {
        return Ok(Ata::undefined());
    }
    let text = string_arg(&ctx, &args, 0)?;
    let picture = string_arg(&ctx, &args, 1)?;
    // As in $formatInteger, the argument error stands for D3130/D3131.
    let (format, ordinal) = integer_picture(&picture).ok_or_else(|| argument_error(&ctx, 2))?;
    let parsed = match format {
        IntegerPicture::Decimal(pattern) => pattern.parse(&text, ordinal),
        IntegerPicture::Letters(_) => from_letters(&text.to_lowercase()),
        IntegerPicture::Roman(_) => from_roman(&text.to_lowercase()),
        IntegerPicture::Words(_) => from_words(&text.to_lowercase()),
    };
    // Text the picture does not describe: JSONata would give NaN, which
    // JSON cannot hold.
    let number = parsed.ok_or_else(|| argument_error(&ctx, 1))?;
    Ok(Ata::number(ctx.arena, number))
}

impl DigitPattern {
    fn parse(&self, text: &str, ordinal: bool) -> Option<f64> {
        let digits = if ordinal {
            ["st", "nd", "rd", "th"]
                .iter()
                .find_map(|s| text.strip_suffix(s))?
        } else {
            text
        };
        let mut number: Option<f64> = None;
        for c in digits.chars() {
            if self.separators.iter().any(|(_, s)| *s == c) {
                continue;
            }
            let digit = (c as u32).checked_sub(self.zero).filter(|d| *d < 10)?;
            number = Some(number.unwrap_or(0.0) * 10.0 + f64::from(digit));
        }
        number
    }
}

fn from_letters(text: &str) -> Option<f64> {
    text.bytes().try_fold(0.0, |number, b| {
        b.is_ascii_lowercase()
            .then(|| number * 26.0 + f64::from(b - b'a' + 1))
    })
}

/// Roman numerals, a smaller numeral before a larger one subtracting.
fn from_roman(text: &str) -> Option<f64> {
    let value = |c: char| match c {
        'i' => Some(1.0),
        'v' => Some(5.0),
        'x' => Some(10.0),
        'l' => Some(50.0),
        'c' => Some(100.0),
        'd' => Some(500.0),
        'm' => Some(1000.0),
        _ => None,
    };
    let values: Vec<f64> = text.chars().map(value).collect::<Option<_>>()?;
    let mut total = 0.0;
    for (i, v) in values.iter().enumerate() {
        let larger_follows = values[i + 1..].iter().any(|next| next > v);
        total += if larger_follows { -v } else { *v };
    }
    Some(total)
}

fn word_value(word: &str) -> Option<f64> {
    let find = |table: &[&str]| table.iter().position(|w| *w == word);
    if let Some(n) = find(&UNITS).or_else(|| find(&UNIT_ORDINALS)) {
        return Some(n as f64);
    }
    if let Some(n) = TENS
        .iter()
        .position(|t| *t == word || format!("{}ieth", &t[..t.len() - 1]) == word)
    {
        return Some((n as f64 + 2.0) * 10.0);
    }
    if matches!(word, "hundred" | "hundredth") {
        return Some(100.0);
    }
    let magnitude = MAGNITUDES
        .iter()
        .position(|m| *m == word.strip_suffix("th").unwrap_or(word))?;
    Some(10f64.powi(3 * (magnitude as i32 + 1)))
}

/// Words back to a number: units and tens add up within a group, which
/// "hundred" or a magnitude multiplies; a magnitude's group is closed, so
/// what follows starts the next.
fn from_words(text: &str) -> Option<f64> {
    let spaced = text
        .replace(", ", " ")
        .replace(" and ", " ")
        .replace('-', " ");
    let mut groups = vec![0.0];
    for word in spaced.split_whitespace() {
        let value = word_value(word)?;
        let top = groups.pop().unwrap_or(0.0);
        if value >= 100.0 {
            groups.push(top * value);
        } else if top >= 1000.0 {
            groups.extend([top, value]);
        } else {
            groups.push(top + value);
        }
    }
    Some(groups.iter().sum())
}
