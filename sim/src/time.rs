//! The virtual clock's instants: milliseconds since the Unix epoch, written
//! as the service writes them (`2026-12-02T17:29:03.000Z`).

/// `millis` as an ISO 8601 timestamp with milliseconds, in UTC. Written
/// digit by digit: every state's context object holds one.
pub fn format(millis: i64) -> String {
    let (days, ms) = (millis.div_euclid(86_400_000), millis.rem_euclid(86_400_000));
    let (y, m, d) = civil(days);
    let s = ms / 1000;
    let mut out = String::with_capacity(24);
    let mut digits = |value: i64, width: u32, after: char| {
        for place in (0..width).rev() {
            let digit = value.div_euclid(10_i64.pow(place)).rem_euclid(10);
            out.push(char::from(b'0' + u8::try_from(digit).unwrap_or(0)));
        }
        out.push(after);
    };
    digits(y, 4, '-');
    digits(m, 2, '-');
    digits(d, 2, 'T');
    digits(s / 3600, 2, ':');
    digits(s / 60 % 60, 2, ':');
    digits(s % 60, 2, '.');
    digits(ms % 1000, 3, 'Z');
    out
}

/// An RFC 3339 timestamp (`T` between date and time, a zone) as
/// milliseconds; fractions beyond milliseconds are dropped.
pub fn parse(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    let digits = |from: usize, len: usize| -> Option<i64> {
        let part = text.get(from..from + len)?;
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let (y, mo, d) = (digits(0, 4)?, digits(5, 2)?, digits(8, 2)?);
    let (h, mi, s) = (digits(11, 2)?, digits(14, 2)?, digits(17, 2)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let mut at = 19;
    let mut ms = 0;
    if b.get(at) == Some(&b'.') {
        let end = at
            + 1
            + text[at + 1..]
                .bytes()
                .take_while(u8::is_ascii_digit)
                .count();
        let fraction = format!("{:0<3}", &text[at + 1..end]);
        ms = fraction.get(..3)?.parse::<i64>().ok()?;
        at = end;
    }
    let offset = match &text[at..] {
        "Z" | "z" => 0,
        zone if zone.len() == 6
            && (zone.starts_with('+') || zone.starts_with('-'))
            && &zone[3..4] == ":" =>
        {
            let minutes = digits(at + 1, 2)? * 60 + digits(at + 4, 2)?;
            if zone.starts_with('-') {
                -minutes
            } else {
                minutes
            }
        }
        _ => return None,
    };
    let days = days_from_civil(y, mo, d);
    Some(((days * 24 + h) * 60 + mi - offset) * 60_000 + s * 1000 + ms)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
/// algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::{format, parse};

    #[test]
    fn instants_round_trip_with_milliseconds() {
        assert_eq!(parse("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse("2026-01-01T00:00:00Z"), Some(1_767_225_600_000));
        let at = parse("2024-02-29T17:29:03.250Z").expect("a timestamp");
        assert_eq!(format(at), "2024-02-29T17:29:03.250Z");
        assert_eq!(
            parse("2026-12-02T18:29:03+01:00"),
            parse("2026-12-02T17:29:03Z")
        );
        assert_eq!(
            parse("2026-12-02T17:29:03.123456Z"),
            parse("2026-12-02T17:29:03.123Z")
        );
        assert_eq!(parse("2026-12-02 17:29:03Z"), None);
        assert_eq!(parse("2026-12-02T17:29:03"), None);
        assert_eq!(parse("yesterday"), None);
    }
}
