//! The two floating-point types the kernels run in, with exactly the
//! operations the generated C++ uses: `+ - * /`, `fma`, `sqrt` and `fabs`,
//! all correctly rounded in IEEE 754 on both sides (NVRTC with
//! [`super::NVRTC_OPTIONS`], host C++ with `-ffp-contract=off`, Rust, which
//! never contracts). Constants are Rust values printed as C++ literals that
//! parse back to the same bits, so no constant is ever computed twice.

use smemplan::kernel::Precision;
use std::fmt::Debug;
use std::ops::{Add, Div, Mul, Neg, Sub};

/// `f32` or `f64`, as the reference integrators need it.
pub trait Real:
    Copy
    + PartialOrd
    + Debug
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + Send
    + Sync
{
    /// The element type of the kernel's buffers.
    const PRECISION: Precision;
    /// The C++ type.
    const CXX: &'static str;
    /// `x` rounded to this type (constants are defined by this value).
    fn lit(x: f64) -> Self;
    /// An exactly representable small integer.
    fn from_u32(x: u32) -> Self;
    /// `self · b + c`, rounded once.
    fn fma(self, b: Self, c: Self) -> Self;
    /// Square root, correctly rounded.
    fn sqrt(self) -> Self;
    /// Absolute value.
    fn abs(self) -> Self;
    /// A C++ literal with exactly this value.
    fn cxx(self) -> String;
    /// Little-endian bytes, appended to `out`.
    fn put(self, out: &mut Vec<u8>);
}

impl Real for f32 {
    const PRECISION: Precision = Precision::F32;
    const CXX: &'static str = "float";
    fn lit(x: f64) -> Self {
        x as f32
    }
    fn from_u32(x: u32) -> Self {
        x as f32
    }
    fn fma(self, b: Self, c: Self) -> Self {
        self.mul_add(b, c)
    }
    fn sqrt(self) -> Self {
        f32::sqrt(self)
    }
    fn abs(self) -> Self {
        f32::abs(self)
    }
    fn cxx(self) -> String {
        // Debug prints the shortest decimal that reads back as these bits;
        // C++ rounds a decimal literal correctly, so the `f` literal is exact.
        format!("({:?}f)", self)
    }
    fn put(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
}

impl Real for f64 {
    const PRECISION: Precision = Precision::F64;
    const CXX: &'static str = "double";
    fn lit(x: f64) -> Self {
        x
    }
    fn from_u32(x: u32) -> Self {
        f64::from(x)
    }
    fn fma(self, b: Self, c: Self) -> Self {
        self.mul_add(b, c)
    }
    fn sqrt(self) -> Self {
        f64::sqrt(self)
    }
    fn abs(self) -> Self {
        f64::abs(self)
    }
    fn cxx(self) -> String {
        format!("({:?})", self)
    }
    fn put(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
}

/// The larger of two numbers, written as the C++ `a > b ? a : b`.
pub fn max<T: Real>(a: T, b: T) -> T {
    if a > b {
        a
    } else {
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_read_back_exactly() {
        for x in [35.0 / 384.0, -2187.0 / 6784.0, 1e-5, 0.1, 5.0, 1.0 / 3.0] {
            let f = f32::lit(x);
            let text = f.cxx();
            let parsed: f32 = text.trim_matches(|c| c == '(' || c == ')' || c == 'f').parse().unwrap();
            assert_eq!(parsed.to_bits(), f.to_bits(), "{text}");
            let d = f64::lit(x).cxx();
            let parsed: f64 = d.trim_matches(|c| c == '(' || c == ')').parse().unwrap();
            assert_eq!(parsed.to_bits(), x.to_bits(), "{d}");
        }
    }
}
