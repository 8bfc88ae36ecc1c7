//! Address arithmetic shared by the problem's users: rounding to an
//! alignment and the greatest common divisor. It sits below
//! [`crate::problem`] and imports nothing, so every layer may use it.

/// Rounds `x` up to a multiple of `align` (a power of two, as every
/// alignment of a valid [`crate::problem::Buffer`] is); `None` on overflow.
#[inline]
pub fn align_up(x: u64, align: u64) -> Option<u64> {
    debug_assert!(align.is_power_of_two());
    x.checked_add(align - 1).map(|v| v & !(align - 1))
}

/// Rounds `x` down to a multiple of `align` (a power of two).
#[inline]
pub fn align_down(x: u64, align: u64) -> u64 {
    debug_assert!(align.is_power_of_two());
    x & !(align - 1)
}

/// The greatest common divisor; `gcd(0, b) = b`, so it folds from 0.
pub fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_to_powers_of_two() {
        assert_eq!(align_up(0, 8), Some(0));
        assert_eq!(align_up(9, 8), Some(16));
        assert_eq!(align_up(16, 8), Some(16));
        assert_eq!(align_up(u64::MAX, 1), Some(u64::MAX));
        assert_eq!(align_up(u64::MAX - 2, 4), None);
        assert_eq!(align_down(15, 8), 8);
        assert_eq!(align_down(16, 1), 16);
    }

    #[test]
    fn gcd_folds_from_zero() {
        assert_eq!([12, 18, 30].into_iter().fold(0, gcd), 6);
        assert_eq!(gcd(0, 0), 0);
        assert_eq!(gcd(7, 0), 7);
    }
}
