//! Kvaerno's ESDIRK 3(2) (4 stages, L-stable, stiffly accurate, embedded
//! second-order error estimate) with adaptive steps, a simplified Newton
//! iteration per implicit stage and a dense LU solve, as the Rust reference
//! and as the kernel's C++ (same operations, same order).
//!
//! One step attempt of size `h`: `k1 = f(state)` (the explicit first stage);
//! `M = I − hγ·J(state)` is formed and LU-factorised in place once (Doolittle,
//! no pivoting, as in [`super::backward_euler`]): all three implicit stages
//! share the diagonal γ, so one factorisation serves them all (CuBIE's
//! "cached" solve). Stage `s` = 2, 3, 4 writes its base `y + h·Σ a_sj·k_j`
//! (the sum folded left with `fma`, then `fma(h, sum, y)`) and solves
//! `z = base + hγ·f(z)` by simplified Newton from the previous stage's
//! value (`state` for stage 2): `rhs = f(z)`, residual `z − base − hγ·rhs`,
//! forward and back substitution into `delta`, `z −= delta`, until the RMS
//! norm of `delta` weighted by `atol + rtol·|z|` is at most
//! [`NEWTON_TOL`]. Its derivative is then `k_s = (z − base) / (hγ)` (not
//! `f(z)`, which would multiply the Newton error by the stiffness). The
//! method is stiffly accurate: stage 4's `z` is the new state, and stage
//! 3's is the embedded solution, so the error is `h·Σ e_j·k_j` with
//! `e = b − b̂`. Accepted when its weighted RMS norm (`atol + rtol·max(|y|,
//! |z|)`) is at most 1; next step `h·clamp(0.9·err^(−1/3), 0.2, 5)`, clipped
//! to land on each output time. A stage whose Newton iteration does not
//! converge within `newton_iterations` rejects the step and shrinks `h` by
//! 0.2. `err^(1/3)` comes from [`root3`] (`+ − × ÷` only).

use super::backward_euler::{cxx_factor, cxx_newton, factor, CxxNewton, Newton, NewtonScratch};
use super::control;
use super::real::{max, Real};
use super::source::Bind;
use super::{Settings, System};
use std::fmt::Write as _;

/// γ, the diagonal: the root of `6γ³ − 18γ² + 9γ − 1` in (0, 1) that makes
/// the method L-stable and of order 3.
pub const GAMMA: f64 = 0.435_866_521_508_459;

/// Rows of the implicit stages 2, 3, 4 (below the diagonal): the weights of
/// `k1`, `k2`, `k3` in the stage's base.
pub fn tableau() -> [Vec<f64>; 3] {
    let g = GAMMA;
    let a31 = (-4.0 * g * g + 6.0 * g - 1.0) / (4.0 * g);
    let a32 = (-2.0 * g + 1.0) / (4.0 * g);
    let a41 = (6.0 * g - 1.0) / (12.0 * g);
    let a42 = -1.0 / ((24.0 * g - 12.0) * g);
    let a43 = (-6.0 * g * g + 6.0 * g - 1.0) / (6.0 * g - 3.0);
    [vec![g], vec![a31, a32], vec![a41, a42, a43]]
}

/// Error weights `b − b̂` of `k1..k4` (`b` is stage 4's row with γ, `b̂`
/// stage 3's with γ and 0).
pub fn error_weights() -> [f64; 4] {
    let [_, r3, r4] = tableau();
    [r4[0] - r3[0], r4[1] - r3[1], r4[2] - GAMMA, GAMMA]
}

/// Newton stops when the weighted RMS norm of its correction is at most
/// this: a tenth of what the step's error test allows.
pub const NEWTON_TOL: f64 = 0.1;
/// The most a step grows by ([`control::step_factor`]).
const FAC_MAX: f64 = 5.0;

/// Statistics per system: accepted steps, rejected steps (error test or
/// Newton failure), Newton iterations. A run that used up `max_steps`
/// attempts before the end shows `accepted + rejected = max_steps` and
/// leaves its later samples zero.
pub const STATS: [&str; 3] = ["accepted", "rejected", "newton_iterations"];

/// The buffers of the kernel model `models/integrators/dirk.toml`.
pub const BUFFERS: [&str; 8] =
    ["state", "accumulator", "cached_auxiliaries", "stage_base", "stage_state", "stage_rhs", "residual", "delta"];

/// `x^(1/3)` for `x` in `[TINY, HUGE]`: exact scaling by 8 into `[1, 8)`, a
/// chord as the first guess, 8 Newton steps (ample for `f64`).
pub fn root3<T: Real>(x: T) -> T {
    let (one, two, three) = (T::lit(1.0), T::lit(2.0), T::lit(3.0));
    let (big, inv_big, half) = (T::lit(8.0), T::lit(1.0 / 8.0), T::lit(0.5));
    let (mut x, mut scale) = (x, one);
    while x >= big {
        x = x * inv_big;
        scale = scale * two;
    }
    while x < one {
        x = x * big;
        scale = scale * half;
    }
    let mut r = one + (x - one) / T::lit(7.0);
    for _ in 0..8 {
        r = (two * r + x / (r * r)) / three;
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
    let newton = Newton::new(system, p, s, T::lit(NEWTON_TOL));
    let (gamma, dt) = (T::lit(GAMMA), T::lit(s.t_end / f64::from(s.samples)));
    let rows = tableau();
    let e = error_weights().map(T::lit);
    let mut y = y0.to_vec();
    // The accumulator: k1, k2, k3.
    let mut k = vec![vec![zero; n]; 3];
    let mut lu = vec![zero; n * n];
    let (mut base, mut z) = (vec![zero; n], vec![zero; n]);
    let mut scratch = NewtonScratch::new(n);
    let (mut t, mut h) = (zero, T::lit(s.h0));
    let mut sample = 1u32;
    let mut target = T::from_u32(sample) * dt;
    let (mut accepted, mut rejected, mut iterations) = (0u32, 0u32, 0u32);
    save(0, &y);
    while sample <= s.samples {
        let rem = target - t;
        let last = h >= rem;
        let hs = if last { rem } else { h };
        let hg = hs * gamma;
        system.rhs(p, &y, &mut k[0]);
        system.newton_matrix(p, &y, hg, &mut lu);
        factor(&mut lu, n);
        let mut converged = true;
        for (stage, row) in rows.iter().enumerate() {
            for i in 0..n {
                let mut acc = T::lit(row[0]) * k[0][i];
                for j in 1..=stage {
                    acc = T::lit(row[j]).fma(k[j][i], acc);
                }
                base[i] = hs.fma(acc, y[i]);
                if stage == 0 {
                    z[i] = y[i];
                }
            }
            converged = newton.solve(&lu, hg, &base, &mut z, &mut scratch, &mut iterations);
            if !converged {
                break;
            }
            if stage < 2 {
                for i in 0..n {
                    k[stage + 1][i] = (z[i] - base[i]) / hg;
                }
            }
        }
        let (accept, fac) = if converged {
            let mut sum = zero;
            for i in 0..n {
                let k4 = (z[i] - base[i]) / hg;
                let mut acc = e[0] * k[0][i];
                acc = e[1].fma(k[1][i], acc);
                acc = e[2].fma(k[2][i], acc);
                acc = e[3].fma(k4, acc);
                let error = hs * acc;
                let q = error / rtol.fma(max(y[i].abs(), z[i].abs()), atol);
                sum = q.fma(q, sum);
            }
            let norm = (sum / T::from_u32(n as u32)).sqrt();
            (norm <= T::lit(1.0), control::step_factor(norm, FAC_MAX, root3))
        } else {
            (false, T::lit(control::FAC_MIN))
        };
        if accept {
            y.copy_from_slice(&z);
            t = if last { target } else { t + hs };
            accepted += 1;
        } else {
            rejected += 1;
        }
        h = hs * fac;
        if accept && last {
            save(sample, &y);
            sample += 1;
            target = T::from_u32(sample) * dt;
        }
        if sample <= s.samples && accepted + rejected >= s.max_steps {
            break;
        }
    }
    [accepted, rejected, iterations]
}

/// The method's constants, `root3`, `step_factor` and the tableau, shared
/// by every layout of a source.
pub(super) fn cxx_constants<T: Real>(s: &Settings) -> String {
    let c = |x: f64| T::lit(x).cxx();
    // The tableau as a switch on (stage, column): the same literals as the
    // reference's, indexable at run time without a device array.
    let mut cases = String::new();
    for (stage, row) in tableau().iter().enumerate() {
        for (j, a) in row.iter().enumerate() {
            let _ = writeln!(cases, "        case {}: return {};", stage * 3 + j, c(*a));
        }
    }
    format!(
        r#"// Kvaerno's ESDIRK 3(2), simplified Newton, dense LU without pivoting.
constexpr unsigned SAMPLES = {samples};
constexpr unsigned MAX_STEPS = {max_steps};
constexpr unsigned NEWTON_ITERATIONS = {newton_iterations};
__device__ __forceinline__ real_t dirk_a(unsigned stage, unsigned j) {{
    switch (stage * 3 + j) {{
{cases}        default: return {zero};
    }}
}}
__device__ __forceinline__ real_t root3(real_t x) {{
    real_t scale = {one};
    while (x >= {big}) {{ x = x * {inv_big}; scale = scale * {two}; }}
    while (x < {one}) {{ x = x * {big}; scale = scale * {half}; }}
    real_t r = {one} + (x - {one}) / {seven};
    for (int i = 0; i < 8; ++i) r = ({two} * r + x / (r * r)) / {three};
    return r * scale;
}}
{step_factor}"#,
        samples = s.samples,
        max_steps = s.max_steps,
        newton_iterations = s.newton_iterations,
        zero = c(0.0),
        one = c(1.0),
        two = c(2.0),
        three = c(3.0),
        seven = c(7.0),
        half = c(0.5),
        big = c(8.0),
        inv_big = c(1.0 / 8.0),
        step_factor = control::step_factor_cuda(c, FAC_MAX, "root3"),
    )
}

/// The per-thread functions `init`, `advance` (one step attempt; false
/// when the thread is done) and `finish`, with buffers bound by `bind`.
pub(super) fn cxx_thread<T: Real>(s: &Settings, bind: &Bind) -> String {
    let c = |x: f64| T::lit(x).cxx();
    let e = error_weights().map(c);
    format!(
        r#"struct Thread {{
    unsigned long long sys;
    real_t p[NP];
    real_t t, h, target;
    unsigned sample, accepted, rejected, iterations;
}};
__device__ __forceinline__ void init(Thread& th, const Io& io, unsigned long long sys, THREAD_MEMORY) {{
{bind_init}    th.sys = sys;
    for (unsigned j = 0; j < NP; ++j) th.p[j] = io.params[(unsigned long long)j * io.batch + sys];
    for (unsigned i = 0; i < N; ++i) state[i] = io.y0[(unsigned long long)i * io.batch + sys];
    th.t = {zero};
    th.h = {h0};
    th.sample = 1;
    th.target = (real_t)th.sample * {dt};
    th.accepted = th.rejected = th.iterations = 0;
    save(io, sys, 0, state);
}}
__device__ __forceinline__ bool advance(Thread& th, const Io& io, THREAD_MEMORY) {{
{bind_all}    if (th.sample > SAMPLES) return false;
    const real_t rem = th.target - th.t;
    const bool last = th.h >= rem;
    const real_t h = last ? rem : th.h;
    const real_t hg = h * {gamma};
    // explicit: k1 = f(state), the accumulator's first n
    system_rhs(th.p, state, accumulator);
    // jacobian
    system_matrix(th.p, state, hg, cached_auxiliaries);
    // factor
{factor}    bool converged = true;
    for (unsigned s = 0; s < 3; ++s) {{
        // stage.base
        for (unsigned i = 0; i < N; ++i) {{
            real_t acc = dirk_a(s, 0) * accumulator[i];
            for (unsigned j = 1; j <= s; ++j) acc = r_fma(dirk_a(s, j), accumulator[j * N + i], acc);
            stage_base[i] = r_fma(h, acc, state[i]);
            if (s == 0) stage_state[i] = state[i];
        }}
        converged = false;
{newton}        if (!converged) break;
        // stage.derivative
        if (s < 2)
            for (unsigned i = 0; i < N; ++i) accumulator[(s + 1) * N + i] = (stage_state[i] - stage_base[i]) / hg;
    }}
    // error
    bool accept = false;
    real_t fac = {fac_min};
    if (converged) {{
        real_t sum = {zero};
        for (unsigned i = 0; i < N; ++i) {{
            const real_t k4 = (stage_state[i] - stage_base[i]) / hg;
            real_t acc = {e0} * accumulator[i];
            acc = r_fma({e1}, accumulator[N + i], acc);
            acc = r_fma({e2}, accumulator[2 * N + i], acc);
            acc = r_fma({e3}, k4, acc);
            const real_t error = h * acc;
            const real_t a = r_abs(state[i]), b = r_abs(stage_state[i]);
            const real_t q = error / r_fma({rtol}, a > b ? a : b, {atol});
            sum = r_fma(q, q, sum);
        }}
        const real_t norm = r_sqrt(sum / (real_t)N);
        accept = norm <= {one};
        fac = step_factor(norm);
    }}
    // accept
    if (accept) {{
        for (unsigned i = 0; i < N; ++i) state[i] = stage_state[i];
        th.t = last ? th.target : th.t + h;
        ++th.accepted;
    }} else {{
        ++th.rejected;
    }}
    th.h = h * fac;
    // output
    if (accept && last) {{
        save(io, th.sys, th.sample, state);
        ++th.sample;
        th.target = (real_t)th.sample * {dt};
    }}
    if (th.sample <= SAMPLES && th.accepted + th.rejected >= MAX_STEPS) return false;
    return th.sample <= SAMPLES;
}}
__device__ __forceinline__ void finish(const Thread& th, const Io& io) {{
    io.stats[th.sys] = th.accepted;
    io.stats[io.batch + th.sys] = th.rejected;
    io.stats[2 * io.batch + th.sys] = th.iterations;
}}
"#,
        bind_init = bind.lines(&["state"]),
        bind_all = bind.lines(&BUFFERS),
        zero = c(0.0),
        one = c(1.0),
        gamma = c(GAMMA),
        h0 = c(s.h0),
        dt = c(s.t_end / f64::from(s.samples)),
        rtol = c(s.rtol),
        atol = c(s.atol),
        fac_min = c(control::FAC_MIN),
        factor = cxx_factor("cached_auxiliaries", "    "),
        newton = cxx_newton::<T>(
            s,
            &CxxNewton {
                z: "stage_state",
                base: "stage_base",
                rhs: "stage_rhs",
                lu: "cached_auxiliaries",
                neg_h: "-hg",
                tol: NEWTON_TOL,
            },
            "stage.newton",
            "        "
        ),
        e0 = e[0],
        e1 = e[1],
        e2 = e[2],
        e3 = e[3],
    )
}
