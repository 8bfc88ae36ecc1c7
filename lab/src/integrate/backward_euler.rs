//! Backward Euler with a simplified Newton iteration, as the Rust reference
//! and as the kernel's C++ (same operations, same order).
//!
//! One fixed step of size `h`: the iterate `proposed` starts at the state;
//! `matrix = I − h·J(state)` is formed and LU-factorised in place once
//! (Doolittle, no pivoting: the systems' matrices are diagonally dominant
//! for the steps used); each iteration evaluates `rhs = f(proposed)`, the
//! residual `proposed − state − h·rhs`, solves `matrix·delta = residual`
//! by forward and back substitution and updates `proposed −= delta`. It
//! stops when the RMS norm of `delta` weighted by `atol + rtol·|proposed|`
//! is at most 1, or after `newton_iterations` (a failure, counted; the step
//! is taken anyway).

use super::real::Real;
use super::source::Bind;
use super::{Settings, System};

/// Statistics per system: steps, Newton iterations, steps whose Newton
/// iteration did not converge.
pub const STATS: [&str; 3] = ["steps", "newton_iterations", "newton_failures"];

/// The buffers of the kernel model `models/integrators/backward_euler.toml`.
pub const BUFFERS: [&str; 6] = ["state", "proposed", "matrix", "rhs", "residual", "delta"];

/// In-place LU without pivoting of the row-major `n × n` matrix `a` (the
/// kernel's `factor` phase; [`super::dirk`] factorises the same way).
pub(super) fn factor<T: Real>(a: &mut [T], n: usize) {
    for k in 0..n {
        let pivot = a[k * n + k];
        for i in k + 1..n {
            let l = a[i * n + k] / pivot;
            a[i * n + k] = l;
            for j in k + 1..n {
                a[i * n + j] = (-l).fma(a[k * n + j], a[i * n + j]);
            }
        }
    }
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
    let newton = Newton::new(system, p, s, T::lit(1.0));
    let h = T::lit(s.t_end / f64::from(s.steps));
    let per_sample = s.steps / s.samples;
    let mut y = y0.to_vec();
    let mut z = vec![zero; n];
    let mut a = vec![zero; n * n];
    let mut scratch = NewtonScratch::new(n);
    let (mut iterations, mut failures) = (0u32, 0u32);
    save(0, &y);
    for step in 1..=s.steps {
        z.copy_from_slice(&y);
        system.newton_matrix(p, &y, h, &mut a);
        factor(&mut a, n);
        if !newton.solve(&a, h, &y, &mut z, &mut scratch, &mut iterations) {
            failures += 1;
        }
        y.copy_from_slice(&z);
        if step % per_sample == 0 {
            save(step / per_sample, &y);
        }
    }
    [s.steps, iterations, failures]
}

/// A simplified Newton iteration on `z − h·f(z) = base` with a fixed,
/// factored iteration matrix (from [`factor`]), as backward Euler's step and
/// each implicit DIRK stage solve it; the kernels' CUDA does the same
/// operations in the same order.
pub(super) struct Newton<'a, T> {
    system: &'a System,
    p: &'a [T],
    rtol: T,
    atol: T,
    /// Converged once the weighted RMS norm of a correction is at most this.
    tol: T,
    iterations: u32,
}

/// The right-hand side, residual and correction a [`Newton`] solve works in.
pub(super) struct NewtonScratch<T> {
    f: Vec<T>,
    r: Vec<T>,
    d: Vec<T>,
}

impl<T: Real> NewtonScratch<T> {
    pub(super) fn new(n: usize) -> Self {
        let zero = T::lit(0.0);
        NewtonScratch { f: vec![zero; n], r: vec![zero; n], d: vec![zero; n] }
    }
}

impl<'a, T: Real> Newton<'a, T> {
    /// The iteration of `system` with parameters `p`, the settings'
    /// tolerances and iteration limit, converging at `tol`.
    pub(super) fn new(system: &'a System, p: &'a [T], s: &Settings, tol: T) -> Self {
        Newton { system, p, rtol: T::lit(s.rtol), atol: T::lit(s.atol), tol, iterations: s.newton_iterations }
    }

    /// Iterates `z` (the starting guess) with the factored `lu`; adds one to
    /// `count` per correction. Returns whether it converged.
    pub(super) fn solve(
        &self,
        lu: &[T],
        h: T,
        base: &[T],
        z: &mut [T],
        scratch: &mut NewtonScratch<T>,
        count: &mut u32,
    ) -> bool {
        let n = z.len();
        let NewtonScratch { f, r, d } = scratch;
        for _ in 0..self.iterations {
            self.system.rhs(self.p, z, f);
            for i in 0..n {
                r[i] = (-h).fma(f[i], z[i] - base[i]);
            }
            for i in 0..n {
                let mut acc = r[i];
                for j in 0..i {
                    acc = (-lu[i * n + j]).fma(d[j], acc);
                }
                d[i] = acc;
            }
            for i in (0..n).rev() {
                let mut acc = d[i];
                for j in i + 1..n {
                    acc = (-lu[i * n + j]).fma(d[j], acc);
                }
                d[i] = acc / lu[i * n + i];
            }
            let mut sum = T::lit(0.0);
            for i in 0..n {
                z[i] = z[i] - d[i];
                let q = d[i] / self.rtol.fma(z[i].abs(), self.atol);
                sum = q.fma(q, sum);
            }
            *count += 1;
            if (sum / T::from_u32(n as u32)).sqrt() <= self.tol {
                return true;
            }
        }
        false
    }
}

/// The method's constants, shared by every layout of a source.
pub(super) fn cxx_constants(s: &Settings) -> String {
    format!(
        "// Backward Euler, simplified Newton, dense LU without pivoting.\nconstexpr unsigned STEPS = {};\nconstexpr unsigned PER_SAMPLE = {};\nconstexpr unsigned NEWTON_ITERATIONS = {};\n",
        s.steps,
        s.steps / s.samples,
        s.newton_iterations
    )
}

/// The per-thread functions `init`, `advance` (one step; false when the
/// thread is done) and `finish`, with buffers bound by `bind`.
pub(super) fn cxx_thread<T: Real>(s: &Settings, bind: &Bind) -> String {
    let h = T::lit(s.t_end / f64::from(s.steps));
    format!(
        r#"struct Thread {{
    unsigned long long sys;
    real_t p[NP];
    unsigned step, iterations, failures;
}};
__device__ __forceinline__ void init(Thread& th, const Io& io, unsigned long long sys, THREAD_MEMORY) {{
{bind_init}    th.sys = sys;
    for (unsigned j = 0; j < NP; ++j) th.p[j] = io.params[(unsigned long long)j * io.batch + sys];
    for (unsigned i = 0; i < N; ++i) state[i] = io.y0[(unsigned long long)i * io.batch + sys];
    th.step = th.iterations = th.failures = 0;
    save(io, sys, 0, state);
}}
__device__ __forceinline__ bool advance(Thread& th, const Io& io, THREAD_MEMORY) {{
{bind_all}    if (th.step >= STEPS) return false;
    // predict
    for (unsigned i = 0; i < N; ++i) proposed[i] = state[i];
    // jacobian
    system_matrix(th.p, state, {h}, matrix);
    // factor
{factor}    bool converged = false;
{newton}    if (!converged) ++th.failures;
    // accept
    for (unsigned i = 0; i < N; ++i) state[i] = proposed[i];
    ++th.step;
    // output
    if (th.step % PER_SAMPLE == 0) save(io, th.sys, th.step / PER_SAMPLE, state);
    return th.step < STEPS;
}}
__device__ __forceinline__ void finish(const Thread& th, const Io& io) {{
    io.stats[th.sys] = th.step;
    io.stats[io.batch + th.sys] = th.iterations;
    io.stats[2 * io.batch + th.sys] = th.failures;
}}
"#,
        bind_init = bind.lines(&["state"]),
        bind_all = bind.lines(&BUFFERS),
        h = h.cxx(),
        factor = cxx_factor("matrix", "    "),
        newton = cxx_newton::<T>(
            s,
            &CxxNewton { z: "proposed", base: "state", rhs: "rhs", lu: "matrix", neg_h: &(-h).cxx(), tol: 1.0 },
            "newton",
            "    "
        ),
    )
}

/// Prefixes every line of `code` with `pad`.
fn indent(code: &str, pad: &str) -> String {
    code.lines().map(|line| format!("{pad}{line}\n")).collect()
}

/// The CUDA twin of [`factor`] on the kernel's `N × N` buffer `lu`, each
/// line indented by `pad`.
pub(super) fn cxx_factor(lu: &str, pad: &str) -> String {
    indent(
        &format!(
            r#"for (unsigned k = 0; k < N; ++k) {{
    const real_t pivot = {lu}[k * N + k];
    for (unsigned i = k + 1; i < N; ++i) {{
        const real_t l = {lu}[i * N + k] / pivot;
        {lu}[i * N + k] = l;
        for (unsigned j = k + 1; j < N; ++j) {lu}[i * N + j] = r_fma(-l, {lu}[k * N + j], {lu}[i * N + j]);
    }}
}}"#
        ),
        pad,
    )
}

/// What the kernel calls the operands of a [`Newton::solve`]: the iterate
/// `z`, the `base` it corrects, the `rhs` buffer, the factored `lu`, the
/// shift `-h` as a C++ expression and the convergence tolerance. The
/// residual and correction are the kernel's `residual` and `delta`.
pub(super) struct CxxNewton<'a> {
    pub z: &'a str,
    pub base: &'a str,
    pub rhs: &'a str,
    pub lu: &'a str,
    pub neg_h: &'a str,
    pub tol: f64,
}

/// The CUDA twin of [`Newton::solve`]: the loop that sets `converged` and
/// counts `th.iterations`, its phases commented `PHASE.residual`,
/// `PHASE.solve` and `PHASE.update`, each line indented by `pad`. The same
/// operations in the same order, so that the kernel reproduces the Rust
/// reference bit for bit.
pub(super) fn cxx_newton<T: Real>(s: &Settings, k: &CxxNewton, phase: &str, pad: &str) -> String {
    let c = |x: f64| T::lit(x).cxx();
    let CxxNewton { z, base, rhs, lu, neg_h, tol } = *k;
    indent(
        &format!(
            r#"for (unsigned it = 0; it < NEWTON_ITERATIONS; ++it) {{
    // {phase}.residual
    system_rhs(th.p, {z}, {rhs});
    for (unsigned i = 0; i < N; ++i) residual[i] = r_fma({neg_h}, {rhs}[i], {z}[i] - {base}[i]);
    // {phase}.solve
    for (unsigned i = 0; i < N; ++i) {{
        real_t acc = residual[i];
        for (unsigned j = 0; j < i; ++j) acc = r_fma(-{lu}[i * N + j], delta[j], acc);
        delta[i] = acc;
    }}
    for (unsigned i = N; i-- > 0;) {{
        real_t acc = delta[i];
        for (unsigned j = i + 1; j < N; ++j) acc = r_fma(-{lu}[i * N + j], delta[j], acc);
        delta[i] = acc / {lu}[i * N + i];
    }}
    // {phase}.update
    real_t sum = {zero};
    for (unsigned i = 0; i < N; ++i) {{
        {z}[i] = {z}[i] - delta[i];
        const real_t q = delta[i] / r_fma({rtol}, r_abs({z}[i]), {atol});
        sum = r_fma(q, q, sum);
    }}
    ++th.iterations;
    if (r_sqrt(sum / (real_t)N) <= {tol}) {{ converged = true; break; }}
}}"#,
            zero = c(0.0),
            rtol = c(s.rtol),
            atol = c(s.atol),
            tol = c(tol),
        ),
        pad,
    )
}
