//! Standard JSONata functions jsonata-rs does not have, registered with
//! every expression, written after the JSONata 2.0 function library (and,
//! for the URL functions, JavaScript's `encodeURIComponent` family, which
//! JSONata calls).

use std::cell::Cell;

use jsonata_rs::{ArrayFlags, FunctionContext, JsonAta, Value as Ata};

use crate::jsonata_format;

pub(crate) type Outcome<'a> = jsonata_rs::Result<&'a Ata<'a>>;

thread_local! {
    /// `$shuffle`'s randomness, seeded from the execution's seed before
    /// each expression so that a run is the same every time.
    static SHUFFLE: Cell<u64> = const { Cell::new(0) };
}

pub(crate) fn register(ata: &JsonAta<'_>, seed: u64) {
    SHUFFLE.set(seed);
    ata.register_function("average", 1, average);
    ata.register_function("type", 1, type_of);
    ata.register_function("formatBase", 2, format_base);
    ata.register_function("encodeUrlComponent", 1, encode_url_component);
    ata.register_function("encodeUrl", 1, encode_url);
    ata.register_function("decodeUrlComponent", 1, decode_url_component);
    ata.register_function("decodeUrl", 1, decode_url);
    ata.register_function("spread", 1, spread);
    ata.register_function("sift", 2, sift);
    ata.register_function("shuffle", 1, shuffle);
    ata.register_function("formatNumber", 3, jsonata_format::format_number);
    ata.register_function("formatInteger", 2, jsonata_format::format_integer);
    ata.register_function("parseInteger", 2, jsonata_format::parse_integer);
}

pub(crate) fn argument_error(ctx: &FunctionContext<'_, '_>, index: usize) -> jsonata_rs::Error {
    jsonata_rs::Error::T0410ArgumentNotValid(ctx.char_index, index, ctx.name.to_owned())
}

pub(crate) fn first<'a>(args: &[&'a Ata<'a>]) -> &'a Ata<'a> {
    args.first().copied().unwrap_or_else(Ata::undefined)
}

/// The first argument when it is `valid`; `None` when it is undefined (and
/// so is the function's result), the argument error when it is not valid.
pub(crate) fn given<'a>(
    ctx: &FunctionContext<'a, '_>,
    args: &[&'a Ata<'a>],
    valid: impl Fn(&Ata<'a>) -> bool,
) -> jsonata_rs::Result<Option<&'a Ata<'a>>> {
    match first(args) {
        value if value.is_undefined() => Ok(None),
        value if valid(value) => Ok(Some(value)),
        _ => Err(argument_error(ctx, 1)),
    }
}

/// `$average(array)`: the mean of the numbers, undefined for none.
fn average<'a>(ctx: FunctionContext<'a, '_>, args: &[&'a Ata<'a>]) -> Outcome<'a> {
    // Its signature takes one argument: JSONata rejects more.
    if args.len() > 1 {
        return Err(argument_error(&ctx, 2));
    }
    let value = first(args);
    if value.is_undefined() {
        return Ok(Ata::undefined());
    }
    let members: Vec<&Ata<'a>> = if value.is_array() {
        value.members().collect()
    } else {
        vec![value]
    };
    if !members.iter().all(|m| m.is_number()) {
        return Err(jsonata_rs::Error::T0412ArgumentMustBeArrayOfType(
            ctx.char_index,
            1,
            ctx.name.to_owned(),
            "number".to_owned(),
        ));
    }
    if members.is_empty() {
        return Ok(Ata::undefined());
    }
    let mean = members.iter().map(|m| m.as_f64()).sum::<f64>() / members.len() as f64;
    Ok(Ata::number(ctx.arena, mean))
}

/// `$type(value)`: its JSON type's name, undefined for undefined.
fn type_of<'a>(ctx: FunctionContext<'a, '_>, args: &[&'a Ata<'a>]) -> Outcome<'a> {
    let value = first(args);
    let name = if value.is_undefined() {
        return Ok(Ata::undefined());
    } else if value.is_null() {
        "null"
    } else if value.is_number() {
        "number"
    } else if value.is_string() {
        "string"
    } else if value.is_bool() {
        "boolean"
    } else if value.is_array() {
        "array"
    } else if value.is_function() {
        "function"
    } else {
        "object"
    };
    Ok(Ata::string(ctx.arena, name))
}

/// `$formatBase(number, radix)`: the number rounded to an integer, in base
/// 2 to 36 (10 when no radix is given), lowercase digits.
fn format_base<'a>(ctx: FunctionContext<'a, '_>, args: &[&'a Ata<'a>]) -> Outcome<'a> {
    let Some(value) = given(&ctx, args, Ata::is_number)? else {
        return Ok(Ata::undefined());
    };
    let radix = match args.get(1).filter(|r| !r.is_undefined()) {
        // JSONata rounds the radix too: 2.5 is 2, 36.4 is 36.
        Some(r) if r.is_number() => round_half_even(r.as_f64()),
        Some(_) => return Err(argument_error(&ctx, 2)),
        None => 10.0,
    };
    if !(2.0..=36.0).contains(&radix) {
        // jsonata-rs has no D3100 to raise: the argument error instead.
        return Err(argument_error(&ctx, 2));
    }
    // JSONata rounds half to even before it converts.
    let number = round_half_even(value.as_f64());
    let (negative, mut n) = (number < 0.0, number.abs() as u128);
    let radix = radix as u128;
    let mut digits = Vec::new();
    loop {
        digits.push(char::from_digit((n % radix) as u32, radix as u32).unwrap_or('0'));
        n /= radix;
        if n == 0 {
            break;
        }
    }
    if negative {
        digits.push('-');
    }
    let text: String = digits.into_iter().rev().collect();
    Ok(Ata::string(ctx.arena, &text))
}

pub(crate) fn round_half_even(x: f64) -> f64 {
    let floor = x.floor();
    match x - floor {
        d if d > 0.5 => floor + 1.0,
        d if d < 0.5 => floor,
        _ if floor % 2.0 == 0.0 => floor,
        _ => floor + 1.0,
    }
}

/// What `encodeURIComponent` leaves as it is.
const COMPONENT_SAFE: &str = "-_.!~*'()";
/// What `encodeURI` leaves as it is besides: the URL's own delimiters.
const URL_SAFE: &str = "-_.!~*'();/?:@&=+$,#";

fn encode<'a>(ctx: &FunctionContext<'a, '_>, args: &[&'a Ata<'a>], safe: &str) -> Outcome<'a> {
    let Some(value) = given(ctx, args, Ata::is_string)? else {
        return Ok(Ata::undefined());
    };
    let text = value.as_str();
    // A lone surrogate cannot be in a Rust string, so every string encodes
    // (JavaScript's URIError has no counterpart here).
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii_alphanumeric() || safe.contains(c) {
            out.push(c);
        } else {
            let mut bytes = [0u8; 4];
            for b in c.encode_utf8(&mut bytes).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    Ok(Ata::string(ctx.arena, &out))
}

fn encode_url_component<'a>(ctx: FunctionContext<'a, '_>, args: &[&'a Ata<'a>]) -> Outcome<'a> {
    encode(&ctx, args, COMPONENT_SAFE)
}

fn encode_url<'a>(ctx: FunctionContext<'a, '_>, args: &[&'a Ata<'a>]) -> Outcome<'a> {
    encode(&ctx, args, URL_SAFE)
}

/// Percent-escapes decoded, except (for `decodeURI`) those of the URL's
/// delimiters. A malformed escape or bytes that are not UTF-8 fail as an
/// argument error (JSONata's D3140, which jsonata-rs cannot raise).
fn decode<'a>(ctx: &FunctionContext<'a, '_>, args: &[&'a Ata<'a>], keep: &str) -> Outcome<'a> {
    let Some(value) = given(ctx, args, Ata::is_string)? else {
        return Ok(Ata::undefined());
    };
    let text = value.as_str();
    let malformed = || argument_error(ctx, 1);
    let (bytes, mut out, mut at) = (text.as_bytes(), Vec::with_capacity(text.len()), 0);
    while at < bytes.len() {
        if bytes[at] != b'%' {
            out.push(bytes[at]);
            at += 1;
            continue;
        }
        let byte = text
            .get(at + 1..at + 3)
            .and_then(|hex| u8::from_str_radix(hex, 16).ok())
            .ok_or_else(malformed)?;
        if byte.is_ascii() && keep.contains(char::from(byte)) {
            out.extend_from_slice(&bytes[at..at + 3]);
        } else {
            out.push(byte);
        }
        at += 3;
    }
    let decoded = String::from_utf8(out).map_err(|_| malformed())?;
    Ok(Ata::string(ctx.arena, &decoded))
}

fn decode_url_component<'a>(ctx: FunctionContext<'a, '_>, args: &[&'a Ata<'a>]) -> Outcome<'a> {
    decode(&ctx, args, "")
}

fn decode_url<'a>(ctx: FunctionContext<'a, '_>, args: &[&'a Ata<'a>]) -> Outcome<'a> {
    decode(&ctx, args, ";/?:@&=+$,#")
}

/// `$spread(object)`: an array of one-entry objects, one per entry (of
/// each object, for an array of them); anything else as it is.
fn spread<'a>(ctx: FunctionContext<'a, '_>, args: &[&'a Ata<'a>]) -> Outcome<'a> {
    let value = first(args);
    if !value.is_array() && !value.is_object() {
        return Ok(value);
    }
    // JSONata's result is a sequence for an object (so one entry is that
    // entry) but a plain array for an array of them.
    let flags = if value.is_array() && !value.is_empty() {
        ArrayFlags::empty()
    } else {
        ArrayFlags::SEQUENCE
    };
    let out = Ata::array(ctx.arena, flags);
    spread_into(ctx.arena, value, out);
    Ok(out)
}

fn spread_into<'a>(arena: &'a bumpalo::Bump, value: &'a Ata<'a>, out: &mut Ata<'a>) {
    if value.is_array() {
        value.members().for_each(|m| spread_into(arena, m, out));
    } else if value.is_object() {
        // By key: jsonata-rs's objects have no order to keep.
        let mut entries: Vec<_> = value.entries().collect();
        entries.sort_by_key(|(key, _)| *key);
        for (key, field) in entries {
            let one = Ata::object_with_capacity(arena, 1);
            one.insert(key, field);
            out.push(one);
        }
    } else if !value.is_undefined() {
        out.push(value);
    }
}

/// `$sift(object, function(value, key, object))`: the entries the function
/// is truthy for, undefined when there are none.
fn sift<'a>(ctx: FunctionContext<'a, '_>, args: &[&'a Ata<'a>]) -> Outcome<'a> {
    // Called with the function alone, it sifts the context.
    let (object, function) = match args {
        [function] if function.is_function() => (ctx.input, *function),
        _ => (
            first(args),
            args.get(1).copied().unwrap_or_else(Ata::undefined),
        ),
    };
    if object.is_undefined() {
        return Ok(Ata::undefined());
    }
    if !function.is_function() {
        return Err(argument_error(&ctx, 2));
    }
    if !object.is_object() {
        return Err(argument_error(&ctx, 1));
    }
    let out = Ata::object(ctx.arena);
    let mut kept = 0;
    for (key, value) in object.entries() {
        let key_value = Ata::string(ctx.arena, key);
        let call: Vec<&Ata<'a>> = [value, &*key_value, object]
            .into_iter()
            .take(function.arity().max(1))
            .collect();
        // A lambda's last call comes back as a thunk, to be run out.
        let verdict = ctx.trampoline_evaluate_value(ctx.evaluate_function(function, &call)?)?;
        if verdict.is_truthy() {
            out.insert(key, value);
            kept += 1;
        }
    }
    if kept == 0 {
        return Ok(Ata::undefined());
    }
    Ok(out)
}

/// `$shuffle(array)`: its members in a random order (Fisher–Yates, on the
/// seeded randomness).
fn shuffle<'a>(ctx: FunctionContext<'a, '_>, args: &[&'a Ata<'a>]) -> Outcome<'a> {
    let value = first(args);
    if value.is_undefined() {
        return Ok(Ata::undefined());
    }
    let mut members: Vec<&Ata<'a>> = if value.is_array() {
        value.members().collect()
    } else {
        vec![value]
    };
    for i in (1..members.len()).rev() {
        let j = (next_random() % (i as u64 + 1)) as usize;
        members.swap(i, j);
    }
    let out = Ata::array_with_capacity(ctx.arena, members.len(), ArrayFlags::SEQUENCE);
    members.into_iter().for_each(|m| out.push(m));
    Ok(out)
}

fn next_random() -> u64 {
    let mut state = SHUFFLE.get();
    let next = crate::run::splitmix(&mut state);
    SHUFFLE.set(state);
    next
}
