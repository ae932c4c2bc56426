//! Floats as `Display` writes them (`format!("{x}")`: the shortest digits that read back as `x`, in plain
//! decimal notation, `1` for 1.0), in about a third of the instructions: `ryu` finds the same shortest digits,
//! and its exponent notation is rewritten. A prediction file's probabilities are the main user (figures:
//! bench/NOTES.md).
//!
//! The two differ only where two shortest candidates are equally near `x` (`Display` rounds that tie up,
//! `ryu` to even). A tie needs `x`'s exact decimal expansion to be at most 18 digits long, so such values
//! ([`may_tie`]) and non-finite ones go through `Display` itself.

use std::fmt::Write;

/// Appends `x` exactly as `write!(out, "{x}")` would.
pub fn push_f64(out: &mut String, x: f64) {
    if !x.is_finite() || may_tie(x) {
        let _ = write!(out, "{x}");
        return;
    }
    let mut buffer = ryu::Buffer::new();
    let text = buffer.format_finite(x);
    let (sign, unsigned) = match text.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", text),
    };
    out.push_str(sign);
    match unsigned.split_once('e') {
        // `ryu` writes `d.ddde-7` below 1e-5 and `d.ddde16` from 1e16.
        Some((mantissa, exponent)) => push_plain(out, mantissa, exponent),
        // `Display` writes a whole number without `.0`.
        None => out.push_str(unsigned.strip_suffix(".0").unwrap_or(unsigned)),
    }
}

/// Appends `mantissa × 10^exponent` (`ryu`'s `d[.ddd]` and exponent) in plain decimal notation.
fn push_plain(out: &mut String, mantissa: &str, exponent: &str) {
    let (int, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    // A one-digit integer part: the exponent places the point after `int`. `ryu` writes exponents of
    // at most three digits.
    let exponent: isize = exponent.parse().unwrap_or(0);
    let point = 1 + exponent;
    let n_digits = (int.len() + fraction.len()).cast_signed();
    let digits = || int.chars().chain(fraction.chars());
    if point <= 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', point.unsigned_abs()));
        out.extend(digits());
    } else if point >= n_digits {
        out.extend(digits());
        out.extend(std::iter::repeat_n('0', (point - n_digits).unsigned_abs()));
    } else {
        out.extend(digits().take(point.unsigned_abs()));
        out.push('.');
        out.extend(digits().skip(point.unsigned_abs()));
    }
}

/// Whether the shortest digits of finite `x` might be a tie between two candidates. Writing `x` as `m × 2^e`
/// with `m` odd: a tie is an exact decimal expansion of at most 18 significant digits, ending in 5. For
/// `e < 0` that expansion is `m × 5^-e` over a power of ten, so `m × 5^-e ≥ 2^60 > 10^18` rules a tie out.
/// A whole number below 2^53 is its own shortest form; above, ties occur (`2^53 + 1` is not a float).
fn may_tie(x: f64) -> bool {
    let bits = x.to_bits();
    let biased = (bits >> 52) & 0x7ff;
    let fraction = bits & ((1 << 52) - 1);
    let (significand, exponent) =
        if biased == 0 { (fraction, -1074) } else { (fraction | 1 << 52, biased.cast_signed() - 1075) };
    if significand == 0 {
        return false;
    }
    let zeros = significand.trailing_zeros();
    let (odd, exponent) = (significand >> zeros, exponent + i64::from(zeros));
    if exponent >= 0 {
        return x.abs() >= 9_007_199_254_740_992.0;
    }
    // log2(m × 5^-e) ≥ (bits of m − 1) + ⌊−e × 2.32⌋, as log2(5) > 2.32.
    let log2_lower_bound = i64::from(63 - odd.leading_zeros()) + (-exponent * 232) / 100;
    log2_lower_bound < 60
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    /// 0.5 + 2^-17 = 0.50000762939453125: the 16-digit candidates ...312 and ...313 are equally near.
    const TIE_NEAR_HALF: f64 = 0.5 + 1.0 / 131_072.0;
    /// 233115890514796.125: likewise between ...796.12 and ...796.13.
    const TIE_LARGE: f64 = 233_115_890_514_796.0 + 0.125;

    fn via_push(x: f64) -> String {
        let mut out = String::new();
        push_f64(&mut out, x);
        out
    }

    #[test]
    fn writes_what_display_writes() {
        let mut rng = Rng::new(11);
        let edges = [
            0.0,
            -0.0,
            1.0,
            -1.0,
            0.5,
            0.1,
            1e-5,
            1.5e-5,
            1e-7,
            9.999e-6,
            1e15,
            1e16,
            1.5e16,
            1e21,
            123_456.0,
            9_007_199_254_740_991.0,
            9_007_199_254_740_993.0,
            5e-324,
            f64::MIN_POSITIVE,
            f64::MAX,
            f64::MIN,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            TIE_NEAR_HALF,
            TIE_LARGE,
        ];
        let mut values: Vec<f64> = edges.to_vec();
        for i in 0..200_000u64 {
            let r = rng.next_u64();
            values.push(match i % 5 {
                0 => f64::from_bits(r),
                1 => rng.next_f64(),
                2 => rng.next_f64() * 1e-6,
                // Short dyadic fractions: where ties are.
                3 => (r >> 40) as f64 / (1u64 << (r % 40)) as f64,
                _ => (r % 100_000) as f64 / 1000.0,
            });
        }
        let mut fast = 0;
        for x in values {
            assert_eq!(via_push(x), format!("{x}"), "{x:e}");
            fast += usize::from(x.is_finite() && !may_tie(x));
        }
        assert!(fast > 100_000, "most values take the fast path: {fast}");
    }

    #[test]
    fn ties_are_recognised() {
        assert!(may_tie(TIE_NEAR_HALF));
        assert!(may_tie(TIE_LARGE));
        assert_eq!(format!("{TIE_NEAR_HALF}"), "0.5000076293945313", "Display rounds the tie up");
        assert!(!may_tie(0.1) && !may_tie(1.0 / 3.0) && !may_tie(1.0));
    }
}
