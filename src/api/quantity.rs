//! Kubernetes resource quantities (`64Mi`, `1G`, `500m`, `1.5`) as the API server reads them.

/// Exponents are clamped to ±this (`1e100000` is as infinite as `1e2147483647`).
const MAX_EXPONENT: i32 = 100_000;

/// Why a quantity does not parse (`resource.ErrFormatWrong`, `ErrSuffix`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum QuantityError {
    /// Not of the grammar (a negative amount where a size is wanted reads the same).
    #[error(
        "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
    )]
    Format,
    /// Of the grammar but with no such suffix (`1kk`).
    #[error("unable to parse quantity's suffix")]
    Suffix,
}

/// A parsed resource quantity: `mantissa * 10^exp10` (binary suffixes folded into the mantissa),
/// or `None` in the mantissa when it did not fit and only the float approximation is known.
#[derive(Clone, Copy, Debug)]
pub struct Quantity {
    /// The digits with binary suffixes applied; `None` past 128 bits.
    mantissa: Option<i128>,
    /// The decimal exponent.
    exp10: i32,
    /// The value as a float, for what does not fit.
    approx: f64,
}

impl Quantity {
    /// Below zero.
    pub fn is_negative(&self) -> bool {
        match self.mantissa {
            Some(m) => m < 0,
            None => self.approx < 0.0,
        }
    }

    /// `Quantity.Cmp`: exact while both fit, else by the approximations.
    pub fn compare(&self, other: &Quantity) -> std::cmp::Ordering {
        if let (Some(a), Some(b)) = (self.mantissa, other.mantissa) {
            let (mut a, mut b) = (a, b);
            let (ea, eb) = (self.exp10, other.exp10);
            let scaled = if ea > eb {
                10i128
                    .checked_pow(ea.abs_diff(eb))
                    .and_then(|f| a.checked_mul(f))
                    .map(|x| a = x)
            } else {
                10i128
                    .checked_pow(ea.abs_diff(eb))
                    .and_then(|f| b.checked_mul(f))
                    .map(|x| b = x)
            };
            if scaled.is_some() {
                return a.cmp(&b);
            }
        }
        self.approx
            .partial_cmp(&other.approx)
            .unwrap_or(std::cmp::Ordering::Equal)
    }
}

impl Quantity {
    /// `resource.ParseQuantity`, with upstream's error messages.
    pub fn parse(s: &str) -> Result<Quantity, QuantityError> {
        let (neg, rest) = match s.as_bytes().first() {
            Some(b'-') => (true, &s[1..]),
            Some(b'+') => (false, &s[1..]),
            _ => (false, s),
        };
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (num, suffix) = rest.split_at(num_end);
        let (int_part, frac_part) = match num.split_once('.') {
            Some((i, f)) => (i, f),
            None => (num, ""),
        };
        if int_part.is_empty() && frac_part.is_empty() || frac_part.contains('.') {
            return Err(QuantityError::Format);
        }
        // The suffix must match `[eEinumkKMGTP]*[-+]?[0-9]*` to get past the format check.
        let letters_end = suffix
            .find(|c: char| !"eEinumkKMGTP".contains(c))
            .unwrap_or(suffix.len());
        let tail = &suffix[letters_end..];
        let tail_digits = tail.strip_prefix(['+', '-']).unwrap_or(tail);
        if !tail_digits.bytes().all(|c| c.is_ascii_digit()) {
            return Err(QuantityError::Format);
        }
        let (exp10, pow2): (i32, u32) = match suffix {
            "" => (0, 0),
            "n" => (-9, 0),
            "u" => (-6, 0),
            "m" => (-3, 0),
            "k" => (3, 0),
            "M" => (6, 0),
            "G" => (9, 0),
            "T" => (12, 0),
            "P" => (15, 0),
            "E" => (18, 0),
            "Ki" => (0, 10),
            "Mi" => (0, 20),
            "Gi" => (0, 30),
            "Ti" => (0, 40),
            "Pi" => (0, 50),
            "Ei" => (0, 60),
            _ => {
                let exp = suffix
                    .strip_prefix(['e', 'E'])
                    .and_then(|s| crate::go::atoi(s).ok())
                    .and_then(|e| i32::try_from(e).ok())
                    // Far beyond any real quantity, and keeps the exponent arithmetic below
                    // from overflowing on hostile input.
                    .map(|e| e.clamp(-MAX_EXPONENT, MAX_EXPONENT));
                match exp {
                    Some(e) => (e, 0),
                    None => return Err(QuantityError::Suffix),
                }
            }
        };
        let digits = format!("{int_part}{frac_part}");
        let exp10 = exp10.saturating_sub(i32::try_from(frac_part.len()).unwrap_or(i32::MAX));
        let mantissa = digits
            .parse::<i128>()
            .ok()
            .and_then(|m| m.checked_mul(1i128 << pow2))
            .map(|m| if neg { -m } else { m });
        let approx_digits: f64 = digits.parse().unwrap_or(0.0);
        let mut approx = approx_digits * 10f64.powi(exp10) * 2f64.powi(pow2 as i32);
        if neg {
            approx = -approx;
        }
        Ok(Quantity {
            mantissa,
            exp10,
            approx,
        })
    }
}

impl Quantity {
    /// The value times `10^shift`, rounded up (as the API server rounds fractional bytes
    /// and millicores) and saturating at `u64::MAX`; `None` below zero.
    fn ceil_scaled(&self, shift: i32) -> Option<u64> {
        if self.is_negative() {
            return None;
        }
        let exact = self.mantissa.and_then(|m| {
            let e = self.exp10.saturating_add(shift);
            if e < 0 {
                // Ceiling division of a non-negative mantissa; past 10^38 it is zero.
                return Some(match 10i128.checked_pow(e.unsigned_abs()) {
                    Some(pow) => m / pow + i128::from(m % pow != 0),
                    None => i128::from(m != 0),
                });
            }
            10i128
                .checked_pow(e.unsigned_abs())
                .and_then(|pow| m.checked_mul(pow))
        });
        Some(match exact {
            Some(v) => u64::try_from(v).unwrap_or(u64::MAX),
            // Too big for 128 bits: saturates, as a float conversion does.
            None => (self.approx * 10f64.powi(shift)).ceil() as u64,
        })
    }
}

/// A memory quantity in bytes, rounded up as Kubernetes does for fractional bytes.
///
/// ```
/// use wasmjob::api::quantity::{to_bytes, to_millis};
/// assert_eq!(to_bytes("64Mi"), Ok(64 << 20));
/// assert_eq!(to_bytes("1G"), Ok(1_000_000_000));
/// assert_eq!(to_millis("500m"), Ok(500));
/// assert_eq!(to_millis("2"), Ok(2000));
/// ```
pub fn to_bytes(q: &str) -> Result<u64, QuantityError> {
    Quantity::parse(q)?
        .ceil_scaled(0)
        .ok_or(QuantityError::Format)
}

/// A CPU quantity in millicores, rounded up.
pub fn to_millis(q: &str) -> Result<u64, QuantityError> {
    Quantity::parse(q)?
        .ceil_scaled(3)
        .ok_or(QuantityError::Format)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_and_decimal_suffixes_are_read() {
        assert_eq!(to_bytes("32Mi"), Ok(32 << 20));
        assert_eq!(to_bytes("1Gi"), Ok(1 << 30));
        assert_eq!(to_bytes("128974848"), Ok(128_974_848));
        assert_eq!(to_bytes("129e6"), Ok(129_000_000));
        assert_eq!(to_bytes("129M"), Ok(129_000_000));
        assert_eq!(to_bytes("1k"), Ok(1000));
        assert_eq!(to_bytes("1.5"), Ok(2), "fractional bytes round up");
        assert_eq!(to_bytes("8Ei"), Ok(8 << 60));
        assert_eq!(to_bytes("1e-40"), Ok(1), "a sliver of a byte is a byte");
        assert_eq!(to_millis("1e30"), Ok(u64::MAX), "saturates");
        assert_eq!(to_millis("1e2147483647"), Ok(u64::MAX), "no overflow");
        assert_eq!(to_bytes("1.5e-2147483648"), Ok(1));
    }

    #[test]
    fn cpu_is_read_in_millicores() {
        assert_eq!(to_millis("100m"), Ok(100));
        assert_eq!(to_millis("0.5"), Ok(500));
        assert_eq!(to_millis("1"), Ok(1000));
    }

    #[test]
    fn quantity_parsing() {
        use std::cmp::Ordering::*;
        let p = |s: &str| Quantity::parse(s).unwrap();
        assert_eq!(p("1Gi").compare(&p("1073741824")), Equal);
        assert_eq!(p("100m").compare(&p("0.1")), Equal);
        assert_eq!(p("2").compare(&p("1500m")), Greater);
        assert_eq!(p("1e-3").compare(&p("1m")), Equal);
        assert!(p("-1").is_negative());
        assert_eq!(Quantity::parse("1.2.3").unwrap_err(), QuantityError::Format);
        assert_eq!(Quantity::parse("").unwrap_err(), QuantityError::Format);
        assert_eq!(Quantity::parse("1kk").unwrap_err(), QuantityError::Suffix);
        assert_eq!(Quantity::parse("1x").unwrap_err(), QuantityError::Format);
    }

    #[test]
    fn garbage_is_refused() {
        assert!(to_bytes("lots").is_err());
        assert!(to_bytes("12Qi").is_err());
        assert!(to_bytes("-1Mi").is_err());
        assert!(to_bytes("").is_err());
        assert!(to_bytes(" 1Mi").is_err(), "no whitespace, as upstream");
    }
}
