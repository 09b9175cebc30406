//! Go's formatting and parsing that Kubernetes' messages and flags are made of, ported so
//! that what we print matches what a cluster prints byte for byte: `strconv.Quote` and
//! `Atoi`, `time.ParseDuration` and `Duration.String`, apimachinery's `HumanDuration`.

use jiff::SignedDuration;

/// Quotes a string like Go's `strconv.Quote` (`%q`).
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if c.is_control() || c == '\u{2028}' || c == '\u{2029}' || c == '\u{feff}' => {
                let n = c as u32;
                if n > 0xffff {
                    out.push_str(&format!("\\U{n:08x}"));
                } else {
                    out.push_str(&format!("\\u{n:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Go's `%q` of a `[]string`: `["A" "B"]`.
pub fn quote_list(items: &[&str]) -> String {
    let q: Vec<String> = items.iter().map(|s| quote(s)).collect();
    format!("[{}]", q.join(" "))
}

/// Why `strconv.Atoi` rejected a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IntError {
    /// Not a decimal integer.
    #[error("invalid syntax")]
    InvalidSyntax,
    /// Does not fit in an `int64`.
    #[error("value out of range")]
    OutOfRange,
}

/// Go's `strconv.Atoi`: optional sign, decimal digits, `int64` range. Overflow is reported
/// as soon as it happens, before any later bad character, as `ParseUint` does.
pub fn atoi(s: &str) -> Result<i64, IntError> {
    let (negative, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() {
        return Err(IntError::InvalidSyntax);
    }
    let mut n: u64 = 0;
    for c in digits.bytes() {
        if !c.is_ascii_digit() {
            return Err(IntError::InvalidSyntax);
        }
        n = n
            .checked_mul(10)
            .and_then(|n| n.checked_add(u64::from(c - b'0')))
            .ok_or(IntError::OutOfRange)?;
    }
    if negative {
        0i64.checked_sub_unsigned(n).ok_or(IntError::OutOfRange)
    } else {
        i64::try_from(n).map_err(|_| IntError::OutOfRange)
    }
}

/// The `time` package's private `quote`: bytes outside printable ASCII become `\xNN`.
pub fn time_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        if (c as u32) < 0x20 || (c as u32) >= 0x80 {
            let mut buf = [0; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("\\x{b:02x}"));
            }
        } else {
            if c == '"' || c == '\\' {
                out.push('\\');
            }
            out.push(c);
        }
    }
    out.push('"');
    out
}

/// Go's `time.ParseDuration`, in nanoseconds, with its error messages.
pub fn parse_duration(orig: &str) -> Result<i64, String> {
    const LIMIT: u64 = 1 << 63;
    let invalid = || format!("time: invalid duration {}", time_quote(orig));
    let mut s = orig;
    let mut negative = false;
    if let Some(c @ (b'-' | b'+')) = s.as_bytes().first().copied() {
        negative = c == b'-';
        s = &s[1..];
    }
    if s == "0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(invalid());
    }
    let mut d: u64 = 0;
    while !s.is_empty() {
        let first = s.as_bytes()[0];
        if !(first == b'.' || first.is_ascii_digit()) {
            return Err(invalid());
        }
        let before = s.len();
        let (mut v, rest) = leading_int(s).ok_or_else(invalid)?;
        s = rest;
        let pre = before != s.len();
        let (mut f, mut scale, mut post) = (0u64, 1f64, false);
        if let Some(after_dot) = s.strip_prefix('.') {
            let rest;
            (f, scale, rest) = leading_fraction(after_dot);
            post = rest.len() != after_dot.len();
            s = rest;
        }
        if !pre && !post {
            return Err(invalid());
        }
        let unit_len = s
            .bytes()
            .position(|c| c == b'.' || c.is_ascii_digit())
            .unwrap_or(s.len());
        if unit_len == 0 {
            return Err(format!(
                "time: missing unit in duration {}",
                time_quote(orig)
            ));
        }
        let (unit, rest) = s.split_at(unit_len);
        s = rest;
        let unit: u64 = match unit {
            "ns" => 1,
            "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => {
                return Err(format!(
                    "time: unknown unit {} in duration {}",
                    time_quote(unit),
                    time_quote(orig)
                ));
            }
        };
        if v > LIMIT / unit {
            return Err(invalid());
        }
        v *= unit;
        if f > 0 {
            // Go's own float arithmetic, kept so fractions round as they do on a cluster.
            v = v.wrapping_add((f as f64 * (unit as f64 / scale)) as u64);
            if v > LIMIT {
                return Err(invalid());
            }
        }
        d = d.wrapping_add(v);
        if d > LIMIT {
            return Err(invalid());
        }
    }
    if negative {
        return Ok((d as i64).wrapping_neg());
    }
    i64::try_from(d).map_err(|_| invalid())
}

/// Go's `time.leadingInt`: `None` on overflow past 2^63.
fn leading_int(s: &str) -> Option<(u64, &str)> {
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    let mut x: u64 = 0;
    for c in s[..digits].bytes() {
        if x > (1 << 63) / 10 {
            return None;
        }
        x = x * 10 + u64::from(c - b'0');
        if x > 1 << 63 {
            return None;
        }
    }
    Some((x, &s[digits..]))
}

/// Go's `time.leadingFraction`: stops gaining precision on overflow instead of failing.
fn leading_fraction(s: &str) -> (u64, f64, &str) {
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    let (mut x, mut scale, mut overflow) = (0u64, 1f64, false);
    for c in s[..digits].bytes() {
        if overflow {
            continue;
        }
        if x > ((1 << 63) - 1) / 10 {
            overflow = true;
            continue;
        }
        let y = x * 10 + u64::from(c - b'0');
        if y > 1 << 63 {
            overflow = true;
            continue;
        }
        x = y;
        scale *= 10.0;
    }
    (x, scale, &s[digits..])
}

/// Go's `time.Duration.String` of a span in nanoseconds: `1h0m0s`, `1m30s`, `1.5s`,
/// `100ms`, `2µs`, `0s`.
pub fn duration_string(nanos: i64) -> String {
    let mut u = nanos.unsigned_abs();
    let mut out: Vec<u8> = Vec::with_capacity(32);
    // Built backwards, as Go fills its buffer from the end.
    let second = 1_000_000_000u64;
    if u < second {
        out.push(b's');
        let prec = match u {
            0 => return "0s".to_string(),
            u if u < 1_000 => {
                out.push(b'n');
                0
            }
            u if u < 1_000_000 => {
                // 'µ' (U+00B5), bytes reversed.
                out.extend_from_slice(&[0xb5, 0xc2]);
                3
            }
            _ => {
                out.push(b'm');
                6
            }
        };
        u = fraction(&mut out, u, prec);
        integer(&mut out, u);
    } else {
        out.push(b's');
        u = fraction(&mut out, u, 9);
        integer(&mut out, u % 60);
        u /= 60;
        if u > 0 {
            out.push(b'm');
            integer(&mut out, u % 60);
            u /= 60;
            if u > 0 {
                out.push(b'h');
                integer(&mut out, u);
            }
        }
    }
    if nanos < 0 {
        out.push(b'-');
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

/// [`duration_string`] of a `std::time::Duration` (saturating past 292 years).
pub fn std_duration_string(d: std::time::Duration) -> String {
    duration_string(i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

/// Go's `fmtFrac`, reversed: the fraction `v / 10^prec` without trailing zeros (and no
/// point when it is zero); returns the integer part.
fn fraction(out: &mut Vec<u8>, mut v: u64, prec: u32) -> u64 {
    let mut print = false;
    for _ in 0..prec {
        let digit = (v % 10) as u8;
        print = print || digit != 0;
        if print {
            out.push(b'0' + digit);
        }
        v /= 10;
    }
    if print {
        out.push(b'.');
    }
    v
}

/// Go's `fmtInt`, reversed.
fn integer(out: &mut Vec<u8>, mut v: u64) {
    if v == 0 {
        out.push(b'0');
        return;
    }
    while v > 0 {
        out.push(b'0' + (v % 10) as u8);
        v /= 10;
    }
}

/// apimachinery `duration.HumanDuration`.
pub fn human_duration(d: std::time::Duration) -> String {
    let secs = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
    human_signed_duration(SignedDuration::from_secs(secs))
}

/// `HumanDuration` of a possibly negative span, as `time.Since` gives for clock skew.
pub fn human_signed_duration(d: SignedDuration) -> String {
    // Go's `int(d.Seconds())` truncates toward zero, as `as_secs` does.
    let seconds = d.as_secs();
    // Upstream tolerates up to 2 s (excluded) of skew between machines as "now".
    if seconds < -1 {
        return "<invalid>".to_string();
    }
    if seconds < 0 {
        return "0s".to_string();
    }
    if seconds < 60 * 2 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    if minutes < 10 {
        let s = seconds % 60;
        if s == 0 {
            return format!("{minutes}m");
        }
        return format!("{minutes}m{s}s");
    }
    if minutes < 60 * 3 {
        return format!("{minutes}m");
    }
    let hours = seconds / 3600;
    if hours < 8 {
        let m = minutes % 60;
        if m == 0 {
            return format!("{hours}h");
        }
        return format!("{hours}h{m}m");
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        let h = hours % 24;
        if h == 0 {
            return format!("{}d", hours / 24);
        }
        return format!("{}d{h}h", hours / 24);
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        let dy = (hours / 24) % 365;
        if dy == 0 {
            return format!("{}y", hours / 24 / 365);
        }
        return format!("{}y{dy}d", hours / 24 / 365);
    }
    format!("{}y", hours / 24 / 365)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_print_like_go() {
        // Go: fmt.Println(time.Duration(n)) for each.
        for (nanos, go) in [
            (0, "0s"),
            (1, "1ns"),
            (1_100, "1.1µs"),
            (2_200_000, "2.2ms"),
            (100_000_000, "100ms"),
            (1_500_000_000, "1.5s"),
            (10_000_000_000, "10s"),
            (90_000_000_000, "1m30s"),
            (300_000_000_000, "5m0s"),
            (3_600_000_000_000, "1h0m0s"),
            (4_000_000_000_000, "1h6m40s"),
            (-1_500_000_000, "-1.5s"),
            (i64::MAX, "2562047h47m16.854775807s"),
            (i64::MIN, "-2562047h47m16.854775808s"),
        ] {
            assert_eq!(duration_string(nanos), go, "{nanos}");
        }
        assert_eq!(
            std_duration_string(std::time::Duration::from_secs(3600)),
            "1h0m0s"
        );
    }

    proptest::proptest! {
        /// `Duration.String` prints every nanosecond, so `ParseDuration` reads it back.
        #[test]
        fn a_printed_duration_parses_back(nanos: i64) {
            proptest::prop_assert_eq!(parse_duration(&duration_string(nanos)), Ok(nanos));
        }
    }

    #[test]
    fn durations_parse_like_go() {
        assert_eq!(parse_duration("1h30m"), Ok(5_400_000_000_000));
        assert_eq!(parse_duration("1.5s"), Ok(1_500_000_000));
        assert_eq!(parse_duration("-2ms"), Ok(-2_000_000));
        assert_eq!(parse_duration("0"), Ok(0));
        assert_eq!(
            parse_duration("10"),
            Err("time: missing unit in duration \"10\"".to_string())
        );
        assert_eq!(
            parse_duration("1d"),
            Err("time: unknown unit \"d\" in duration \"1d\"".to_string())
        );
        assert_eq!(
            parse_duration(""),
            Err("time: invalid duration \"\"".to_string())
        );
    }

    #[test]
    fn quote_and_atoi_follow_strconv() {
        assert_eq!(quote("a\"b\n\u{7f}"), "\"a\\\"b\\n\\x7f\"");
        assert_eq!(quote_list(&["A", "B"]), "[\"A\" \"B\"]");
        assert_eq!(atoi("+12"), Ok(12));
        assert_eq!(atoi("-9223372036854775808"), Ok(i64::MIN));
        assert_eq!(atoi("9223372036854775808"), Err(IntError::OutOfRange));
        assert_eq!(atoi("1_0"), Err(IntError::InvalidSyntax));
        assert_eq!(atoi(""), Err(IntError::InvalidSyntax));
    }
}
