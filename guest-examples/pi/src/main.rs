//! Prints pi to N significant digits (argv[1], default 2000), byte for byte what the
//! classic Kubernetes Job example `perl -Mbignum=bpi -wle 'print bpi(2000)'` prints.
//!
//! Uses Machin's formula, pi = 16·atan(1/5) − 4·atan(1/239), on a small fixed-point
//! bignum of base-10⁹ limbs: every step is a division by a small integer, which needs
//! no multiplication algorithm and converts to decimal for free. The cost is O(N²),
//! about a millisecond for 2000 digits.

use std::io::Write;
use std::process::ExitCode;

const DEFAULT_DIGITS: usize = 2000;
const LIMB_BASE: u32 = 1_000_000_000;
const BASE: u64 = LIMB_BASE as u64;
const LIMB_DIGITS: usize = 9;
/// Digits computed beyond the ones printed. Each series term truncates by at most one unit
/// in the last limb, so the accumulated error is a few million units at most for any
/// practical N; 20 digits leave the rounding digit unaffected unless pi had a run of a
/// dozen 9s or 0s right there, which it does not for any N anyone will ask for.
const GUARD_DIGITS: usize = 20;

/// A non-negative fixed-point number: `limbs[0]` is the integer part and `limbs[i]` is
/// the i-th group of 9 decimals, so the decimal expansion is just the limbs printed
/// zero-padded.
struct Fixed {
    limbs: Vec<u32>,
}

impl Fixed {
    fn zero(fraction_limbs: usize) -> Self {
        Fixed {
            limbs: vec![0; fraction_limbs + 1],
        }
    }

    /// Divides in place and returns the index of the first non-zero limb (or `len` if the
    /// number became zero), so callers can skip the leading zeros of ever-smaller terms.
    fn div_small(&mut self, divisor: u32, start: usize) -> usize {
        let d = u64::from(divisor);
        let len = self.limbs.len();
        let mut rem = 0u64;
        let mut first_nonzero = len;
        for (i, limb) in self.limbs.iter_mut().enumerate().skip(start) {
            let cur = rem * BASE + u64::from(*limb);
            // cur < divisor·BASE, so the quotient fits in a limb.
            *limb = (cur / d) as u32;
            rem = cur % d;
            if *limb != 0 && first_nonzero == len {
                first_nonzero = i;
            }
        }
        first_nonzero
    }

    /// `out = self / divisor`, reusing `out`'s allocation; limbs before `start` are zero.
    fn div_small_into(&self, divisor: u32, start: usize, out: &mut Fixed) {
        out.limbs[..start].fill(0);
        let d = u64::from(divisor);
        let mut rem = 0u64;
        for (o, &limb) in out.limbs[start..].iter_mut().zip(&self.limbs[start..]) {
            let cur = rem * BASE + u64::from(limb);
            *o = (cur / d) as u32;
            rem = cur % d;
        }
    }

    /// Adds `other`, whose limbs before `start` are zero.
    fn add(&mut self, other: &Fixed, start: usize) {
        let mut carry = 0u32;
        for (a, &b) in self.limbs.iter_mut().zip(&other.limbs).skip(start).rev() {
            let s = *a + b + carry;
            (*a, carry) = if s >= LIMB_BASE {
                (s - LIMB_BASE, 1)
            } else {
                (s, 0)
            };
        }
        for a in self.limbs[..start].iter_mut().rev() {
            if carry == 0 {
                break;
            }
            let s = *a + carry;
            (*a, carry) = if s >= LIMB_BASE {
                (s - LIMB_BASE, 1)
            } else {
                (s, 0)
            };
        }
    }

    /// Subtracts `other` (limbs before `start` zero); the caller guarantees `self >= other`.
    fn sub(&mut self, other: &Fixed, start: usize) {
        let mut borrow = 0u32;
        for (a, &b) in self.limbs.iter_mut().zip(&other.limbs).skip(start).rev() {
            let t = b + borrow;
            (*a, borrow) = if *a >= t {
                (*a - t, 0)
            } else {
                (*a + LIMB_BASE - t, 1)
            };
        }
        for a in self.limbs[..start].iter_mut().rev() {
            if borrow == 0 {
                break;
            }
            (*a, borrow) = if *a >= 1 {
                (*a - 1, 0)
            } else {
                (LIMB_BASE - 1, 1)
            };
        }
    }

    fn mul_small(&mut self, factor: u32) {
        let mut carry = 0u64;
        for limb in self.limbs.iter_mut().rev() {
            let cur = u64::from(*limb) * u64::from(factor) + carry;
            *limb = (cur % BASE) as u32;
            carry = cur / BASE;
        }
        debug_assert_eq!(carry, 0, "fixed-point overflow");
    }

    fn to_digits(&self) -> Vec<u8> {
        let mut s = self.limbs[0].to_string().into_bytes();
        for limb in &self.limbs[1..] {
            s.extend_from_slice(format!("{limb:09}").as_bytes());
        }
        s
    }
}

/// atan(1/x) by its Taylor series 1/x − 1/(3x³) + 1/(5x⁵) − …
fn atan_inv(x: u32, fraction_limbs: usize) -> Fixed {
    let x2 = x.checked_mul(x).expect("x² fits in u32");
    let mut power = Fixed::zero(fraction_limbs);
    power.limbs[0] = 1;
    let mut start = power.div_small(x, 0);
    let mut sum = Fixed::zero(fraction_limbs);
    sum.add(&power, start);
    let mut term = Fixed::zero(fraction_limbs);
    let mut k: u32 = 1;
    loop {
        start = power.div_small(x2, start);
        if start == power.limbs.len() {
            return sum;
        }
        let odd = 2 * k + 1;
        power.div_small_into(odd, start, &mut term);
        if k % 2 == 1 {
            sum.sub(&term, start);
        } else {
            sum.add(&term, start);
        }
        k += 1;
    }
}

/// Pi rounded to `n` significant digits, formatted like Math::BigFloat: "3" for n = 1,
/// otherwise "3." and n − 1 decimals, keeping trailing zeros (bpi(33) ends in "0").
fn pi(n: usize) -> String {
    let fraction_limbs = (n - 1 + GUARD_DIGITS).div_ceil(LIMB_DIGITS);
    let mut pi = atan_inv(5, fraction_limbs);
    pi.mul_small(4);
    pi.sub(&atan_inv(239, fraction_limbs), 0);
    pi.mul_small(4);

    let digits = pi.to_digits();
    debug_assert!(digits.len() >= n + GUARD_DIGITS);
    let mut kept = digits[..n].to_vec();
    // Half-even and half-up agree here: an exact tie would need all guard digits to be
    // 5000…, which the irrational pi never gives.
    if digits[n] >= b'5' {
        for d in kept.iter_mut().rev() {
            if *d == b'9' {
                *d = b'0';
            } else {
                *d += 1;
                break;
            }
        }
    }

    let mut out = String::with_capacity(n + 2);
    out.push(char::from(kept[0]));
    if n > 1 {
        out.push('.');
        out.extend(kept[1..].iter().map(|&d| char::from(d)));
    }
    out.push('\n');
    out
}

fn parse_args() -> Result<usize, String> {
    let mut args = std::env::args_os().skip(1);
    let n = match args.next() {
        None => return Ok(DEFAULT_DIGITS),
        Some(arg) => {
            let text = arg.to_string_lossy();
            match text.parse::<usize>() {
                Ok(0) => return Err("the number of digits must be at least 1".into()),
                Ok(n) => n,
                Err(_) => return Err(format!("not a number of digits: {text:?}")),
            }
        }
    };
    if args.next().is_some() {
        return Err("expected at most one argument".into());
    }
    Ok(n)
}

fn main() -> ExitCode {
    let n = match parse_args() {
        Ok(n) => n,
        Err(msg) => {
            eprintln!("pi: {msg}\nusage: pi [DIGITS]   (default {DEFAULT_DIGITS})");
            return ExitCode::from(2);
        }
    };
    let text = pi(n);
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        eprintln!("pi: writing output: {e}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
