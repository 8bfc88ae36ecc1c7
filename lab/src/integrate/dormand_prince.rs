//! Dormand–Prince 5(4) with the standard step-size controller, as the Rust
//! reference and as the kernel's C++: both walk the same tableau rows in the
//! same order.
//!
//! One step attempt: stages 2–6 each write `stage_state = y + h·Σ a_sj·k_j`
//! (the sum folded left with `fma`, then `fma(h, sum, y)`) and evaluate
//! `k_s = f(stage_state)`; stage 7 writes the fifth-order `proposed` and
//! `k7 = f(proposed)`; the error `h·Σ e_j·k_j` is measured in the RMS norm
//! weighted by `atol + rtol·max(|y|, |proposed|)`. A step is accepted when
//! the norm is at most 1; the next step is `h·clamp(0.9·err^(−1/5), 0.2,
//! 10)`, clipped to land on each output time. `err^(1/5)` is computed by
//! [`root5`] from `+ − × ÷` alone, so it is bitwise reproducible (a libm
//! `pow` is not the same function on a GPU).

use super::control;
use super::real::{max, Real};
use super::source::Bind;
use super::{Settings, System};
use std::fmt::Write as _;

/// Stage rows: stage `s` (2..=7) at index `s − 2`, `(j, a_sj)` with `j` the
/// 0-based index of `k_(j+1)`; zero coefficients left out.
const A: [&[(usize, f64)]; 6] = [
    &[(0, 1.0 / 5.0)],
    &[(0, 3.0 / 40.0), (1, 9.0 / 40.0)],
    &[(0, 44.0 / 45.0), (1, -56.0 / 15.0), (2, 32.0 / 9.0)],
    &[(0, 19372.0 / 6561.0), (1, -25360.0 / 2187.0), (2, 64448.0 / 6561.0), (3, -212.0 / 729.0)],
    &[(0, 9017.0 / 3168.0), (1, -355.0 / 33.0), (2, 46732.0 / 5247.0), (3, 49.0 / 176.0), (4, -5103.0 / 18656.0)],
    &[(0, 35.0 / 384.0), (2, 500.0 / 1113.0), (3, 125.0 / 192.0), (4, -2187.0 / 6784.0), (5, 11.0 / 84.0)],
];

/// Error weights `b − b̂` (Hairer's `e1..e7`; `e2 = 0`).
const E: &[(usize, f64)] = &[
    (0, 71.0 / 57600.0),
    (2, -71.0 / 16695.0),
    (3, 71.0 / 1920.0),
    (4, -17253.0 / 339200.0),
    (5, 22.0 / 525.0),
    (6, -1.0 / 40.0),
];

/// The most a step grows by ([`control::step_factor`]).
const FAC_MAX: f64 = 10.0;

/// Statistics per system: accepted steps, rejected steps, status (0: every
/// output reached; 1: `max_steps` attempts were not enough).
pub const STATS: [&str; 3] = ["accepted", "rejected", "status"];

/// The buffers of the kernel model `models/integrators/dormand_prince.toml`.
pub const BUFFERS: [&str; 11] = ["state", "k1", "k2", "k3", "k4", "k5", "k6", "k7", "stage_state", "proposed", "error"];

/// `x^(1/5)` for `x` in `[TINY, HUGE]`: exact scaling by 32 into `[1, 32)`,
/// a chord as the first guess, 8 Newton steps (ample for `f64`).
pub fn root5<T: Real>(x: T) -> T {
    let (one, two, four, five) = (T::lit(1.0), T::lit(2.0), T::lit(4.0), T::lit(5.0));
    let (big, inv_big, half) = (T::lit(32.0), T::lit(1.0 / 32.0), T::lit(0.5));
    let (mut x, mut scale) = (x, one);
    while x >= big {
        x = x * inv_big;
        scale = scale * two;
    }
    while x < one {
        x = x * big;
        scale = scale * half;
    }
    let mut r = one + (x - one) / T::lit(31.0);
    for _ in 0..8 {
        let r2 = r * r;
        r = (four * r + x / (r2 * r2)) / five;
    }
    r * scale
}

/// Integrates one system; `save(sample, y)` receives the state at each
/// output time (sample 0 is the initial state). Returns [`STATS`].
pub fn reference<T: Real>(
    system: &System,
    s: &Settings,
    p: &[T],
    y0: &[T],
    save: &mut dyn FnMut(u32, &[T]),
) -> [u32; 3] {
    let n = system.n();
    let zero = T::lit(0.0);
    let (rtol, atol) = (T::lit(s.rtol), T::lit(s.atol));
    let dt = T::lit(s.t_end / f64::from(s.samples));
    let mut y = y0.to_vec();
    let mut k = vec![vec![zero; n]; 7];
    let (mut stage, mut proposed, mut error) = (vec![zero; n], vec![zero; n], vec![zero; n]);
    system.rhs(p, &y, &mut k[0]);
    let (mut t, mut h) = (zero, T::lit(s.h0));
    let mut sample = 1u32;
    let mut target = T::from_u32(sample) * dt;
    let (mut accepted, mut rejected, mut status) = (0u32, 0u32, 0u32);
    save(0, &y);
    while sample <= s.samples {
        let rem = target - t;
        let last = h >= rem;
        let hs = if last { rem } else { h };
        for (row, coefficients) in A.iter().enumerate() {
            let out = if row == 5 { &mut proposed } else { &mut stage };
            for i in 0..n {
                let (j0, a0) = coefficients[0];
                let mut acc = T::lit(a0) * k[j0][i];
                for &(j, a) in &coefficients[1..] {
                    acc = T::lit(a).fma(k[j][i], acc);
                }
                out[i] = hs.fma(acc, y[i]);
            }
            system.rhs(p, out, &mut k[row + 1]);
        }
        for i in 0..n {
            let (j0, e0) = E[0];
            let mut acc = T::lit(e0) * k[j0][i];
            for &(j, e) in &E[1..] {
                acc = T::lit(e).fma(k[j][i], acc);
            }
            error[i] = hs * acc;
        }
        let mut sum = zero;
        for i in 0..n {
            let scale = rtol.fma(max(y[i].abs(), proposed[i].abs()), atol);
            let q = error[i] / scale;
            sum = q.fma(q, sum);
        }
        let norm = (sum / T::from_u32(n as u32)).sqrt();
        let accept = norm <= T::lit(1.0);
        if accept {
            y.copy_from_slice(&proposed);
            let (first, rest) = k.split_at_mut(6);
            first[0].copy_from_slice(&rest[0]);
            t = if last { target } else { t + hs };
            accepted += 1;
        } else {
            rejected += 1;
        }
        h = hs * control::step_factor(norm, FAC_MAX, root5);
        if accept && last {
            save(sample, &y);
            sample += 1;
            target = T::from_u32(sample) * dt;
        }
        if sample <= s.samples && accepted + rejected >= s.max_steps {
            status = 1;
            break;
        }
    }
    [accepted, rejected, status]
}

/// The method's constants and `root5`, shared by every layout of a source.
pub(super) fn cxx_constants<T: Real>(s: &Settings) -> String {
    let c = |x: f64| T::lit(x).cxx();
    format!(
        r#"// Dormand-Prince 5(4), standard controller.
constexpr unsigned SAMPLES = {samples};
constexpr unsigned MAX_STEPS = {max_steps};
__device__ __forceinline__ real_t root5(real_t x) {{
    real_t scale = {one};
    while (x >= {big}) {{ x = x * {inv_big}; scale = scale * {two}; }}
    while (x < {one}) {{ x = x * {big}; scale = scale * {half}; }}
    real_t r = {one} + (x - {one}) / {thirty_one};
    for (int i = 0; i < 8; ++i) {{ const real_t r2 = r * r; r = ({four} * r + x / (r2 * r2)) / {five}; }}
    return r * scale;
}}
{step_factor}"#,
        samples = s.samples,
        max_steps = s.max_steps,
        one = c(1.0),
        two = c(2.0),
        four = c(4.0),
        five = c(5.0),
        half = c(0.5),
        big = c(32.0),
        inv_big = c(1.0 / 32.0),
        thirty_one = c(31.0),
        step_factor = control::step_factor_cuda(c, FAC_MAX, "root5"),
    )
}

/// The per-thread functions `init`, `advance` (one step attempt; false
/// when the thread is done) and `finish`, with buffers bound by `bind`.
pub(super) fn cxx_thread<T: Real>(s: &Settings, bind: &Bind) -> String {
    let c = |x: f64| T::lit(x).cxx();
    let k = |j: usize| format!("k{}", j + 1);
    let mut stages = String::new();
    for (row, coefficients) in A.iter().enumerate() {
        let out = if row == 5 { "proposed" } else { "stage_state" };
        let (j0, a0) = coefficients[0];
        let mut sum = format!("{} * {}[i]", c(a0), k(j0));
        for &(j, a) in &coefficients[1..] {
            sum = format!("r_fma({}, {}[i], {sum})", c(a), k(j));
        }
        // Nested fma calls evaluate innermost first: the same left fold.
        let _ = writeln!(stages, "    // stage {}", row + 2);
        let _ = writeln!(stages, "    for (unsigned i = 0; i < N; ++i) {out}[i] = r_fma(h, {sum}, state[i]);");
        let _ = writeln!(stages, "    system_rhs(th.p, {out}, {});", k(row + 1));
    }
    let (j0, e0) = E[0];
    let mut err = format!("{} * {}[i]", c(e0), k(j0));
    for &(j, e) in E[1..].iter() {
        err = format!("r_fma({}, {}[i], {err})", c(e), k(j));
    }
    format!(
        r#"struct Thread {{
    unsigned long long sys;
    real_t p[NP];
    real_t t, h, target;
    unsigned sample, accepted, rejected, status;
}};
__device__ __forceinline__ void init(Thread& th, const Io& io, unsigned long long sys, THREAD_MEMORY) {{
{bind_init}    th.sys = sys;
    for (unsigned j = 0; j < NP; ++j) th.p[j] = io.params[(unsigned long long)j * io.batch + sys];
    for (unsigned i = 0; i < N; ++i) state[i] = io.y0[(unsigned long long)i * io.batch + sys];
    system_rhs(th.p, state, k1);
    th.t = {zero};
    th.h = {h0};
    th.sample = 1;
    th.target = (real_t)th.sample * {dt};
    th.accepted = th.rejected = th.status = 0;
    save(io, sys, 0, state);
}}
__device__ __forceinline__ bool advance(Thread& th, const Io& io, THREAD_MEMORY) {{
{bind_all}    if (th.sample > SAMPLES) return false;
    const real_t rem = th.target - th.t;
    const bool last = th.h >= rem;
    const real_t h = last ? rem : th.h;
{stages}    // error
    for (unsigned i = 0; i < N; ++i) error[i] = h * {err};
    real_t sum = {zero};
    for (unsigned i = 0; i < N; ++i) {{
        const real_t a = r_abs(state[i]), b = r_abs(proposed[i]);
        const real_t q = error[i] / r_fma({rtol}, a > b ? a : b, {atol});
        sum = r_fma(q, q, sum);
    }}
    const real_t norm = r_sqrt(sum / (real_t)N);
    // accept
    const bool accept = norm <= {one};
    if (accept) {{
        for (unsigned i = 0; i < N; ++i) {{ state[i] = proposed[i]; k1[i] = k7[i]; }}
        th.t = last ? th.target : th.t + h;
        ++th.accepted;
    }} else {{
        ++th.rejected;
    }}
    th.h = h * step_factor(norm);
    // output
    if (accept && last) {{
        save(io, th.sys, th.sample, state);
        ++th.sample;
        th.target = (real_t)th.sample * {dt};
    }}
    if (th.sample <= SAMPLES && th.accepted + th.rejected >= MAX_STEPS) {{ th.status = 1; return false; }}
    return th.sample <= SAMPLES;
}}
__device__ __forceinline__ void finish(const Thread& th, const Io& io) {{
    io.stats[th.sys] = th.accepted;
    io.stats[io.batch + th.sys] = th.rejected;
    io.stats[2 * io.batch + th.sys] = th.status;
}}
"#,
        bind_init = bind.lines(&["state", "k1"]),
        bind_all = bind.lines(&BUFFERS),
        zero = c(0.0),
        one = c(1.0),
        h0 = c(s.h0),
        dt = c(s.t_end / f64::from(s.samples)),
        rtol = c(s.rtol),
        atol = c(s.atol),
    )
}
