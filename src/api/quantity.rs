//! Kubernetes resource quantities (`64Mi`, `1G`, `500m`, `1.5`) as the API server reads them.

/// Parses a quantity into its value scaled by `10^-scale_exp`... in practice callers want
/// bytes or millicores, so two entry points are offered: [`to_bytes`] and [`to_millis`].
///
/// ```
/// use wasmjob::api::quantity::{to_bytes, to_millis};
/// assert_eq!(to_bytes("64Mi"), Ok(64 << 20));
/// assert_eq!(to_bytes("1G"), Ok(1_000_000_000));
/// assert_eq!(to_millis("500m"), Ok(500));
/// assert_eq!(to_millis("2"), Ok(2000));
/// ```
fn parse(q: &str) -> Result<f64, QuantityError> {
    let q = q.trim();
    let split = q
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-'))
        .unwrap_or(q.len());
    let (number, suffix) = q.split_at(split);
    // `1e3` style exponents are part of the suffix grammar upstream.
    let (number, suffix) = if let Some(exp) = suffix.strip_prefix(['e', 'E']) {
        if !exp.is_empty()
            && exp
                .trim_start_matches(['+', '-'])
                .chars()
                .all(|c| c.is_ascii_digit())
        {
            (format!("{number}e{exp}"), "")
        } else {
            (number.to_string(), suffix)
        }
    } else {
        (number.to_string(), suffix)
    };
    let value: f64 = number.parse().map_err(|_| QuantityError)?;
    let multiplier = match suffix {
        "" => 1.0,
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024.0,
        "Mi" => 1024.0 * 1024.0,
        "Gi" => 1024.0 * 1024.0 * 1024.0,
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        _ => return Err(QuantityError),
    };
    if !value.is_finite() {
        return Err(QuantityError);
    }
    Ok(value * multiplier)
}

/// The quantity does not match the Kubernetes grammar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
)]
pub struct QuantityError;

/// A memory quantity in bytes, rounded up as Kubernetes does for fractional bytes.
pub fn to_bytes(q: &str) -> Result<u64, QuantityError> {
    let v = parse(q)?;
    if v < 0.0 {
        return Err(QuantityError);
    }
    Ok(v.ceil() as u64)
}

/// A CPU quantity in millicores, rounded up.
pub fn to_millis(q: &str) -> Result<u64, QuantityError> {
    let v = parse(q)?;
    if v < 0.0 {
        return Err(QuantityError);
    }
    Ok((v * 1000.0).ceil() as u64)
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
    }

    #[test]
    fn cpu_is_read_in_millicores() {
        assert_eq!(to_millis("100m"), Ok(100));
        assert_eq!(to_millis("0.5"), Ok(500));
        assert_eq!(to_millis("1"), Ok(1000));
    }

    #[test]
    fn garbage_is_refused() {
        assert!(to_bytes("lots").is_err());
        assert!(to_bytes("12Qi").is_err());
        assert!(to_bytes("-1Mi").is_err());
        assert!(to_bytes("").is_err());
    }
}
