//! The ODE systems: each written twice, as Rust (the reference) and as the
//! C++ the kernels call, with the same operations in the same order.
//!
//! Both are autonomous, with per-system parameters so that neighbouring
//! threads integrate different trajectories (a clobbered neighbour's data
//! cannot pass for one's own).

use super::real::Real;
use crate::error::{Error, Result};

/// An ODE system `y' = f(y)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum System {
    /// The Lorenz system (n = 3), σ = 10, β = 8/3, ρ from 28 to 35.875
    /// across the batch; chaotic, so any disturbed bit shows.
    Lorenz,
    /// Allen–Cahn on (0, 1), `u_t = D·u_xx + k·(u − u³)`, zero Dirichlet
    /// boundaries, `n` interior points (second-order differences): stiff
    /// (the diffusion eigenvalues reach 4·D·(n+1)²), with a tridiagonal,
    /// diagonally dominant Newton matrix `I − hJ` for `h·k < 1`.
    AllenCahn {
        /// Interior grid points (the state dimension).
        n: u32,
    },
    /// Robertson's chemical kinetics (n = 3): `y1' = −k1·y1 + k3·y2·y3`,
    /// `y2' = k1·y1 − k3·y2·y3 − k2·y2²`, `y3' = k2·y2²` from (1, 0, 0), with
    /// k1 ≈ 0.04, k2 = 3·10⁷, k3 ≈ 10⁴ varied across the batch. Very stiff
    /// (rates from 10⁻² to 10⁴ after the initial transient); the total
    /// `y1 + y2 + y3` is conserved.
    Robertson,
}

impl System {
    /// State dimension.
    pub fn n(&self) -> usize {
        match self {
            System::Lorenz | System::Robertson => 3,
            System::AllenCahn { n } => *n as usize,
        }
    }

    /// Parameters per system.
    pub fn n_params(&self) -> usize {
        match self {
            System::Lorenz | System::Robertson => 3,
            System::AllenCahn { .. } => 2,
        }
    }

    /// A short name (`lorenz`, `allen-cahn-32`, `robertson`).
    pub fn name(&self) -> String {
        match self {
            System::Lorenz => "lorenz".into(),
            System::AllenCahn { n } => format!("allen-cahn-{n}"),
            System::Robertson => "robertson".into(),
        }
    }

    /// The system a command line names: `lorenz`, `robertson` (n = 3, so
    /// `n` must be absent or 3) or `allen-cahn` (any `n`, 32 when absent).
    pub fn named(name: &str, n: Option<u32>) -> Result<System> {
        let bad = |m: String| Err(Error::Integrator(m));
        let fixed = |system: System| match n {
            Some(n) if n != 3 => bad(format!("{name} has n = 3, not {n}")),
            _ => Ok(system),
        };
        match name {
            "lorenz" => fixed(System::Lorenz),
            "robertson" => fixed(System::Robertson),
            "allen-cahn" => match n.unwrap_or(32) {
                n @ 1..=1024 => Ok(System::AllenCahn { n }),
                n => bad(format!("allen-cahn: n must be 1 to 1024, not {n}")),
            },
            _ => bad(format!("no system `{name}` (there are lorenz, allen-cahn, robertson)")),
        }
    }

    /// System `index`'s parameters: Lorenz `[σ, ρ, β]`; Allen–Cahn
    /// `[D·(n+1)², k]`; Robertson `[k1, k2, k3]`.
    pub fn params<T: Real>(&self, index: u64) -> Vec<T> {
        match self {
            System::Lorenz => vec![T::lit(10.0), T::lit(28.0 + (index % 64) as f64 * 0.125), T::lit(8.0 / 3.0)],
            System::AllenCahn { n } => {
                let diffusion = 0.05 * (1.0 + (index % 32) as f64 / 32.0);
                let inv_dx = f64::from(*n) + 1.0;
                vec![T::lit(diffusion * inv_dx * inv_dx), T::lit(1.0 + (index % 7) as f64 * 0.25)]
            }
            System::Robertson => vec![
                T::lit(0.04 * (1.0 + (index % 16) as f64 / 32.0)),
                T::lit(3e7),
                T::lit(1e4 * (1.0 + (index % 8) as f64 / 16.0)),
            ],
        }
    }

    /// System `index`'s initial state.
    pub fn initial<T: Real>(&self, index: u64) -> Vec<T> {
        match self {
            System::Lorenz => vec![T::lit(1.0 + (index % 97) as f64 * 0.01), T::lit(1.0), T::lit(1.0)],
            System::AllenCahn { n } => {
                let amplitude = 0.5 + (index % 13) as f64 * 0.05;
                (0..*n)
                    .map(|i| {
                        let x = (f64::from(i) + 1.0) / (f64::from(*n) + 1.0);
                        let pi = std::f64::consts::PI;
                        T::lit(amplitude * (pi * x).sin() + 0.1 * (3.0 * pi * x).sin())
                    })
                    .collect()
            }
            System::Robertson => vec![T::lit(1.0), T::lit(0.0), T::lit(0.0)],
        }
    }

    /// `f = f(y)`; the C++ twin is `system_rhs`.
    pub fn rhs<T: Real>(&self, p: &[T], y: &[T], f: &mut [T]) {
        match self {
            System::Lorenz => {
                f[0] = p[0] * (y[1] - y[0]);
                f[1] = y[0] * (p[1] - y[2]) - y[1];
                f[2] = y[0] * y[1] - p[2] * y[2];
            }
            System::AllenCahn { .. } => {
                let n = y.len();
                let zero = T::lit(0.0);
                for i in 0..n {
                    let u = y[i];
                    let left = if i > 0 { y[i - 1] } else { zero };
                    let right = if i + 1 < n { y[i + 1] } else { zero };
                    let laplacian = (left + right) - (u + u);
                    f[i] = p[0].fma(laplacian, p[1] * (u - (u * u) * u));
                }
            }
            System::Robertson => {
                // Each rate once, so that the three derivatives sum to
                // (nearly) zero: the total is conserved.
                let slow = p[0] * y[0];
                let fast = p[2] * (y[1] * y[2]);
                let square = p[1] * (y[1] * y[1]);
                f[0] = fast - slow;
                f[1] = (slow - fast) - square;
                f[2] = square;
            }
        }
    }

    /// `a = I − h·J(y)`, row-major `n × n`; the C++ twin is `system_matrix`.
    pub fn newton_matrix<T: Real>(&self, p: &[T], y: &[T], h: T, a: &mut [T]) {
        let (zero, one) = (T::lit(0.0), T::lit(1.0));
        match self {
            System::Lorenz => {
                let j = [-p[0], p[0], zero, p[1] - y[2], -one, -y[0], y[1], y[0], -p[2]];
                for r in 0..3 {
                    for c in 0..3 {
                        a[r * 3 + c] = (if r == c { one } else { zero }) - h * j[r * 3 + c];
                    }
                }
            }
            System::AllenCahn { .. } => {
                let n = y.len();
                let three = T::lit(3.0);
                a.iter_mut().for_each(|x| *x = zero);
                for i in 0..n {
                    let u = y[i];
                    a[i * n + i] = one - h * (p[1] * (one - three * (u * u)) - (p[0] + p[0]));
                    if i > 0 {
                        a[i * n + i - 1] = zero - h * p[0];
                    }
                    if i + 1 < n {
                        a[i * n + i + 1] = zero - h * p[0];
                    }
                }
            }
            System::Robertson => {
                let (k3y2, k3y1, k2y1) = (p[2] * y[2], p[2] * y[1], (p[1] + p[1]) * y[1]);
                let j = [-p[0], k3y2, k3y1, p[0], (zero - k3y2) - k2y1, -k3y1, zero, k2y1, zero];
                for r in 0..3 {
                    for c in 0..3 {
                        a[r * 3 + c] = (if r == c { one } else { zero }) - h * j[r * 3 + c];
                    }
                }
            }
        }
    }

    /// C++ `system_rhs(p, y, f)` and `system_matrix(p, y, h, a)`: `y`, `f`
    /// and `a` are buffer accessors (pointers or interleaved views).
    pub(super) fn cxx<T: Real>(&self) -> String {
        let (zero, one, three) = (T::lit(0.0).cxx(), T::lit(1.0).cxx(), T::lit(3.0).cxx());
        // Robertson's C++ mirrors `rhs` and `newton_matrix` line for line.
        let body = match self {
            System::Lorenz => format!(
                r#"template <class Y, class F>
__device__ __forceinline__ void system_rhs(const real_t* p, const Y& y, const F& f) {{
    f[0] = p[0] * (y[1] - y[0]);
    f[1] = y[0] * (p[1] - y[2]) - y[1];
    f[2] = y[0] * y[1] - p[2] * y[2];
}}
template <class Y, class A>
__device__ __forceinline__ void system_matrix(const real_t* p, const Y& y, real_t h, const A& a) {{
    const real_t j[9] = {{-p[0], p[0], {zero}, p[1] - y[2], -{one}, -y[0], y[1], y[0], -p[2]}};
    for (unsigned r = 0; r < 3; ++r)
        for (unsigned c = 0; c < 3; ++c) a[r * 3 + c] = (r == c ? {one} : {zero}) - h * j[r * 3 + c];
}}
"#
            ),
            System::AllenCahn { .. } => format!(
                r#"template <class Y, class F>
__device__ __forceinline__ void system_rhs(const real_t* p, const Y& y, const F& f) {{
    for (unsigned i = 0; i < N; ++i) {{
        const real_t u = y[i];
        const real_t left = i > 0 ? y[i - 1] : {zero};
        const real_t right = i + 1 < N ? y[i + 1] : {zero};
        const real_t laplacian = (left + right) - (u + u);
        f[i] = r_fma(p[0], laplacian, p[1] * (u - (u * u) * u));
    }}
}}
template <class Y, class A>
__device__ __forceinline__ void system_matrix(const real_t* p, const Y& y, real_t h, const A& a) {{
    for (unsigned i = 0; i < N * N; ++i) a[i] = {zero};
    for (unsigned i = 0; i < N; ++i) {{
        const real_t u = y[i];
        a[i * N + i] = {one} - h * (p[1] * ({one} - {three} * (u * u)) - (p[0] + p[0]));
        if (i > 0) a[i * N + i - 1] = {zero} - h * p[0];
        if (i + 1 < N) a[i * N + i + 1] = {zero} - h * p[0];
    }}
}}
"#
            ),
            System::Robertson => format!(
                r#"template <class Y, class F>
__device__ __forceinline__ void system_rhs(const real_t* p, const Y& y, const F& f) {{
    const real_t slow = p[0] * y[0];
    const real_t fast = p[2] * (y[1] * y[2]);
    const real_t square = p[1] * (y[1] * y[1]);
    f[0] = fast - slow;
    f[1] = (slow - fast) - square;
    f[2] = square;
}}
template <class Y, class A>
__device__ __forceinline__ void system_matrix(const real_t* p, const Y& y, real_t h, const A& a) {{
    const real_t k3y2 = p[2] * y[2], k3y1 = p[2] * y[1], k2y1 = (p[1] + p[1]) * y[1];
    const real_t j[9] = {{-p[0], k3y2, k3y1, p[0], ({zero} - k3y2) - k2y1, -k3y1, {zero}, k2y1, {zero}}};
    for (unsigned r = 0; r < 3; ++r)
        for (unsigned c = 0; c < 3; ++c) a[r * 3 + c] = (r == c ? {one} : {zero}) - h * j[r * 3 + c];
}}
"#
            ),
        };
        format!("// System: {}.\n{body}", self.name())
    }
}
