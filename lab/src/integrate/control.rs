//! The adaptive methods' step-size control, one rule for both the Rust
//! reference and the CUDA kernel: the factor `SAFETY / root(norm)` clamped
//! to `[FAC_MIN, fac_max]`, with the same comparisons in the same order so
//! that the two agree bit for bit. `root` is the method's own k-th root
//! (k = the error estimate's order + 1), itself written the same way on
//! both sides.

use super::real::Real;

const SAFETY: f64 = 0.9;
/// The most a step shrinks by (also on a failed Newton iteration).
pub const FAC_MIN: f64 = 0.2;
/// Below this error norm the step grows by the method's `fac_max` (and its
/// root is never asked for a root outside `[TINY, HUGE]`).
const TINY: f64 = 1e-10;
/// Above this (or NaN) the step shrinks by [`FAC_MIN`] without a root.
const HUGE: f64 = 1e10;

/// The next step over this one for an error `norm`.
pub fn step_factor<T: Real>(norm: T, fac_max: f64, root: fn(T) -> T) -> T {
    let (fac_min, fac_max) = (T::lit(FAC_MIN), T::lit(fac_max));
    // As the C++ `!(norm <= HUGE)`: NaN shrinks the step too.
    let finite = matches!(norm.partial_cmp(&T::lit(HUGE)), Some(std::cmp::Ordering::Less | std::cmp::Ordering::Equal));
    if !finite {
        fac_min
    } else if norm < T::lit(TINY) {
        fac_max
    } else {
        let mut fac = T::lit(SAFETY) / root(norm);
        if fac < fac_min {
            fac = fac_min;
        }
        if fac > fac_max {
            fac = fac_max;
        }
        fac
    }
}

/// [`step_factor`] as a CUDA device function calling the device function
/// `root`; `c` writes a constant in the kernel's precision.
pub fn step_factor_cuda(c: impl Fn(f64) -> String, fac_max: f64, root: &str) -> String {
    format!(
        r#"__device__ __forceinline__ real_t step_factor(real_t norm) {{
    if (!(norm <= {huge})) return {fac_min};
    if (norm < {tiny}) return {fac_max};
    real_t fac = {safety} / {root}(norm);
    if (fac < {fac_min}) fac = {fac_min};
    if (fac > {fac_max}) fac = {fac_max};
    return fac;
}}
"#,
        huge = c(HUGE),
        tiny = c(TINY),
        safety = c(SAFETY),
        fac_min = c(FAC_MIN),
        fac_max = c(fac_max),
    )
}
