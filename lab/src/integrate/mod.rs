//! Batched ODE integrators whose scratch a smemplan plan places: CUDA C++
//! kernels (one system per thread) generated here and compiled at run time
//! with NVRTC, and a Rust reference that performs the same floating-point
//! operations in the same order, so that every layout and block size must
//! reproduce the reference bit for bit. A layout that let two live buffers
//! share a byte would change the trajectories: aliasing is proven safe by
//! results.
//!
//! Methods ([`Method`]): adaptive Dormand–Prince 5(4) with the standard
//! step-size controller, backward Euler with a simplified Newton iteration
//! and a dense LU solve, and Kvaerno's adaptive ESDIRK 3(2) (a DIRK method:
//! simplified Newton per implicit stage, one LU per step). Systems
//! ([`System`]): Lorenz (n = 3), a stiff Allen–Cahn reaction–diffusion chain
//! (any n) and Robertson's stiff chemical kinetics (n = 3). Each method's
//! buffers and their lifetimes are a kernel model
//! (`models/integrators/*.toml`) whose phases follow the kernel's code; the
//! plan comes from that model, placed by smemplan or by CuBIE's rules
//! ([`Planner`]), each buffer shared or local ([`Placement`]), thread-major
//! or interleaved ([`SharedLayout`]). `docs/integrators.md` describes the
//! methods and systems.
//!
//! ```
//! use smemplan::plan::allocator::SharedLayout;
//! use smemplan_lab::integrate::{self, Kernel, Method, Placement, Planner, Setup, System};
//! use smemplan::kernel::Precision;
//!
//! let setup = Setup::new(Method::DormandPrince54, System::Lorenz, Precision::F32).unwrap();
//! let placement = Placement::all_shared(Planner::smemplan(), SharedLayout::default());
//! let kernel = Kernel::new(&setup, &placement).unwrap();
//! assert!(kernel.source.contains("extern \"C\" __global__ void smemplan_integrate("));
//! // Launch: grid ⌈batch / block⌉, `kernel.dynamic_shared_bytes(block)` of dynamic shared
//! // memory, arguments (y0, params, out, stats, batch) from `setup.inputs(batch)`.
//! let batch = 4;
//! let inputs = setup.inputs(batch);
//! let expected = integrate::reference(&setup, batch, 0..batch).unwrap();
//! // What the device returns is checked bit for bit (here: the reference itself).
//! assert!(expected.compare(&expected.out, &expected.stats).is_ok());
//! assert_eq!(inputs.out_bytes, expected.out.len());
//! ```

pub mod backward_euler;
mod control;
pub mod dirk;
pub mod dormand_prince;
pub mod real;
mod source;
mod system;

pub use system::System;

use crate::error::{Error, Result};
use rayon::prelude::*;
use real::Real;
use smemplan::kernel::accesses::Weights;
use smemplan::kernel::model::Model;
use smemplan::kernel::{Location, Precision};
use smemplan::plan::allocator::{Allocation, SharedLayout};
use smemplan::plan::{PlanOptions, PlanReport};
use std::fmt;
use std::ops::Range;

/// The kernel's entry point (`extern "C"`).
pub const ENTRY: &str = "smemplan_integrate";

/// NVRTC options the kernels must be compiled with (add the architecture,
/// e.g. `--gpu-architecture=sm_90`): no multiply-add contraction, IEEE
/// division and square root, no flush to zero. With them every operation
/// is correctly rounded, as in the Rust reference.
pub const NVRTC_OPTIONS: &[&str] =
    &["--std=c++17", "--fmad=false", "--prec-div=true", "--prec-sqrt=true", "--ftz=false"];

/// Flags for compiling a kernel source as host C++ (see `tests/integrate_host.rs`).
pub const HOST_CXX_FLAGS: &[&str] = &["-std=c++17", "-O1", "-ffp-contract=off", "-fno-fast-math"];

/// Values in `stats`, per system.
pub const STATS_PER_SYSTEM: usize = 3;

/// An integration method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Adaptive Dormand–Prince 5(4), standard controller
    /// ([`dormand_prince`]).
    DormandPrince54,
    /// Fixed-step backward Euler, simplified Newton, dense LU
    /// ([`backward_euler`]).
    BackwardEuler,
    /// Adaptive ESDIRK 3(2) (Kvaerno), simplified Newton, dense LU
    /// ([`dirk`]).
    Dirk,
}

impl Method {
    /// Every method.
    pub const ALL: [Method; 3] = [Method::DormandPrince54, Method::BackwardEuler, Method::Dirk];

    /// `dormand-prince-54`, `backward-euler` or `dirk`.
    pub fn name(self) -> &'static str {
        match self {
            Method::DormandPrince54 => "dormand-prince-54",
            Method::BackwardEuler => "backward-euler",
            Method::Dirk => "dirk",
        }
    }

    /// The method called `name` (as [`Method::name`] spells it).
    pub fn named(name: &str) -> Result<Method> {
        Method::ALL.into_iter().find(|m| m.name() == name).ok_or_else(|| {
            let names: Vec<&str> = Method::ALL.iter().map(|m| m.name()).collect();
            Error::Integrator(format!("no method `{name}` (there are {})", names.join(", ")))
        })
    }

    /// Whether it takes fixed steps (`Settings::steps`) rather than
    /// adaptive ones.
    pub fn fixed_step(self) -> bool {
        self == Method::BackwardEuler
    }

    /// The kernel model (TOML) declaring the method's buffers and lifetimes.
    pub fn model_text(self) -> &'static str {
        match self {
            Method::DormandPrince54 => include_str!("../../../models/integrators/dormand_prince.toml"),
            Method::BackwardEuler => include_str!("../../../models/integrators/backward_euler.toml"),
            Method::Dirk => include_str!("../../../models/integrators/dirk.toml"),
        }
    }

    /// The buffers, as the model names them.
    pub fn buffers(self) -> &'static [&'static str] {
        match self {
            Method::DormandPrince54 => &dormand_prince::BUFFERS,
            Method::BackwardEuler => &backward_euler::BUFFERS,
            Method::Dirk => &dirk::BUFFERS,
        }
    }

    /// What the three `stats` values per system are.
    pub fn stats(self) -> [&'static str; STATS_PER_SYSTEM] {
        match self {
            Method::DormandPrince54 => dormand_prince::STATS,
            Method::BackwardEuler => backward_euler::STATS,
            Method::Dirk => dirk::STATS,
        }
    }
}

/// Integration settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Integrate over `[0, t_end]`.
    pub t_end: f64,
    /// Output times: `t_end · s / samples` for `s = 1..=samples` (plus the
    /// initial state).
    pub samples: u32,
    /// Relative tolerance (step control; Newton's convergence test).
    pub rtol: f64,
    /// Absolute tolerance.
    pub atol: f64,
    /// Adaptive methods (Dormand–Prince, DIRK): the first step.
    pub h0: f64,
    /// Adaptive methods: step attempts allowed per system.
    pub max_steps: u32,
    /// Backward Euler: fixed steps (a multiple of `samples`).
    pub steps: u32,
    /// Implicit methods: Newton iterations allowed per step (backward
    /// Euler) or per stage (DIRK).
    pub newton_iterations: u32,
}

impl Settings {
    /// Defaults for `method` on `system` in `precision`: tolerances near the
    /// precision's reach, a horizon of a few hundred steps.
    pub fn default_for(method: Method, system: &System, precision: Precision) -> Settings {
        let (rtol, atol) = if precision == Precision::F64 { (1e-9, 1e-9) } else { (1e-5, 1e-5) };
        let (t_end, steps) = match (method, system) {
            (Method::DormandPrince54, System::Lorenz) => (2.0, 0),
            (Method::DormandPrince54, System::AllenCahn { .. }) => (0.2, 0),
            // Robertson's stiffness bounds explicit steps, and in f32 the
            // controller stalls on rounding beyond the first transient.
            (Method::DormandPrince54, System::Robertson) => (0.01, 0),
            (Method::BackwardEuler, System::Lorenz) => (2.0, 2000),
            (Method::BackwardEuler, System::AllenCahn { .. }) => (2.0, 200),
            // Newton's frozen Jacobian diverges on the initial transient
            // above h ≈ 10⁻⁴.
            (Method::BackwardEuler, System::Robertson) => (0.1, 1000),
            (Method::Dirk, System::Lorenz) => (2.0, 0),
            (Method::Dirk, System::AllenCahn { .. }) => (2.0, 0),
            (Method::Dirk, System::Robertson) => (40.0, 0),
        };
        Settings { t_end, samples: 10, rtol, atol, h0: 1e-4, max_steps: 100_000, steps, newton_iterations: 8 }
    }
}

/// What to integrate, and how.
#[derive(Debug, Clone, PartialEq)]
pub struct Setup {
    /// The method.
    pub method: Method,
    /// The system.
    pub system: System,
    /// `F32` or `F64`.
    pub precision: Precision,
    /// Horizon, tolerances, steps.
    pub settings: Settings,
}

impl Setup {
    /// `method` on `system` in `precision` with [`Settings::default_for`].
    pub fn new(method: Method, system: System, precision: Precision) -> Result<Setup> {
        let settings = Settings::default_for(method, &system, precision);
        Setup::with_settings(method, system, precision, settings)
    }

    /// The same with explicit settings, checked.
    pub fn with_settings(method: Method, system: System, precision: Precision, settings: Settings) -> Result<Setup> {
        let bad = |m: String| Err(Error::Integrator(format!("setup: {m}")));
        if precision == Precision::I32 {
            return bad("the precision must be f32 or f64".into());
        }
        if system.n() == 0 || system.n() > 1024 {
            return bad(format!("{}: n must be 1 to 1024", system.name()));
        }
        let s = &settings;
        if !(s.t_end > 0.0 && s.t_end.is_finite()) || s.samples == 0 {
            return bad("t_end must be positive and samples at least 1".into());
        }
        if !(s.rtol > 0.0 && s.atol > 0.0 && s.h0 > 0.0) {
            return bad("rtol, atol and h0 must be positive".into());
        }
        match method {
            Method::DormandPrince54 if s.max_steps == 0 => return bad("max_steps must be at least 1".into()),
            Method::Dirk if s.max_steps == 0 || s.newton_iterations == 0 => {
                return bad("max_steps and newton_iterations must be at least 1".into())
            }
            Method::BackwardEuler if s.steps == 0 || !s.steps.is_multiple_of(s.samples) || s.newton_iterations == 0 => {
                return bad(format!(
                    "steps ({}) must be a positive multiple of samples ({}) and newton_iterations at least 1",
                    s.steps, s.samples
                ))
            }
            _ => {}
        }
        Ok(Setup { method, system, precision, settings })
    }

    fn itemsize(&self) -> usize {
        self.precision.itemsize() as usize
    }

    /// The arrays a launch for `batch` systems needs.
    pub fn inputs(&self, batch: u64) -> Inputs {
        match self.precision {
            Precision::F64 => self.inputs_in::<f64>(batch),
            _ => self.inputs_in::<f32>(batch),
        }
    }

    fn inputs_in<T: Real>(&self, batch: u64) -> Inputs {
        let (n, np) = (self.system.n(), self.system.n_params());
        let states: Vec<Vec<T>> = (0..batch).map(|i| self.system.initial::<T>(i)).collect();
        let params: Vec<Vec<T>> = (0..batch).map(|i| self.system.params::<T>(i)).collect();
        let (mut y0, mut p) = (Vec::new(), Vec::new());
        for i in 0..n {
            states.iter().for_each(|s| s[i].put(&mut y0));
        }
        for j in 0..np {
            params.iter().for_each(|s| s[j].put(&mut p));
        }
        Inputs {
            y0,
            params: p,
            out_bytes: (self.settings.samples as usize + 1) * n * batch as usize * self.itemsize(),
            stats_words: STATS_PER_SYSTEM * batch as usize,
        }
    }
}

/// The arrays of one launch, in the order of the kernel's arguments
/// `(y0, params, out, stats, batch)`, element-major (`[i][system]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inputs {
    /// Initial states, `[n][batch]` little-endian reals.
    pub y0: Vec<u8>,
    /// Parameters, `[n_params][batch]` little-endian reals.
    pub params: Vec<u8>,
    /// Bytes of the `out` array (`[samples + 1][n][batch]` reals).
    pub out_bytes: usize,
    /// `u32`s of the `stats` array (`[3][batch]`).
    pub stats_words: usize,
}

/// Who places the buffers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Planner {
    /// CuBIE 0.17.0's registry: every buffer its own slice, in registration
    /// order (the models declare no alias hints).
    Cubie,
    /// smemplan's plan with this strategy (see [`smemplan::solve::strategies::STRATEGIES`]).
    Smemplan(String),
}

impl Planner {
    /// smemplan with the default strategy.
    pub fn smemplan() -> Planner {
        Planner::Smemplan(smemplan::solve::strategies::DEFAULT_STRATEGY.to_string())
    }
}

/// Where a kernel's buffers go and how the shared pool is laid out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    /// Who places them.
    pub planner: Planner,
    /// Location of every buffer not in `overrides`.
    pub default: Location,
    /// Per-buffer locations (names as in [`Method::buffers`]).
    pub overrides: Vec<(String, Location)>,
    /// Thread-major (odd or plain stride) or interleaved.
    pub layout: SharedLayout,
}

impl Placement {
    /// Every buffer in shared memory.
    pub fn all_shared(planner: Planner, layout: SharedLayout) -> Placement {
        Placement { planner, default: Location::Shared, overrides: vec![], layout }
    }

    /// Every buffer in local memory.
    pub fn all_local(planner: Planner, layout: SharedLayout) -> Placement {
        Placement { planner, default: Location::Local, overrides: vec![], layout }
    }

    /// `local` buffers in local memory, the rest shared.
    pub fn split(planner: Planner, layout: SharedLayout, local: &[&str]) -> Placement {
        let overrides = local.iter().map(|b| (b.to_string(), Location::Local)).collect();
        Placement { planner, default: Location::Shared, overrides, layout }
    }

    /// The model's `--set` pairs for this placement (as `smemplan plan
    /// models/integrators/... --set` takes them).
    pub fn sets(&self) -> Vec<(String, String)> {
        std::iter::once(("loc".to_string(), self.default.to_string()))
            .chain(self.overrides.iter().map(|(b, l)| (format!("loc_{b}"), l.to_string())))
            .collect()
    }
}

/// A generated kernel and the plan behind it.
#[derive(Debug, Clone)]
pub struct Kernel {
    /// What it integrates.
    pub setup: Setup,
    /// How its buffers are placed.
    pub placement: Placement,
    /// The plan (smemplan's, or CuBIE's offsets on the same lifetimes).
    pub report: PlanReport,
    /// The plan's addresses under `placement.layout`.
    pub allocation: Allocation,
    /// The kernel model's access weights per buffer and phase.
    pub accesses: Weights,
    /// Types, math, the system and the method's constants (one per source).
    pub prelude: String,
    /// The accessor header and the thread functions, in namespaces
    /// `{namespace}_layout` and `{namespace}`.
    pub body: String,
    /// The complete CUDA C++ source: prelude, body and the entry [`ENTRY`].
    pub source: String,
    /// The entry point's name.
    pub entry: &'static str,
    /// Options for NVRTC (plus the architecture).
    pub nvrtc_options: &'static [&'static str],
}

impl Kernel {
    /// The kernel for `setup` under `placement` (namespace `integrate`).
    pub fn new(setup: &Setup, placement: &Placement) -> Result<Kernel> {
        Kernel::with_namespace(setup, placement, "integrate")
    }

    /// The same with the thread functions in namespace `ns` (several
    /// layouts can then share one source, as the host test does).
    pub fn with_namespace(setup: &Setup, placement: &Placement, ns: &str) -> Result<Kernel> {
        let model = instance(setup, placement)?;
        let report = plan_of(&model, placement)?;
        Kernel::assemble(setup, placement, report, model.accesses, ns)
    }

    /// The kernel for a given plan of `setup`'s model (e.g. one from
    /// another strategy, or a deliberately broken one in a test); its
    /// buffers' pools must be those `placement` asks for.
    pub fn from_report(setup: &Setup, placement: &Placement, report: PlanReport, ns: &str) -> Result<Kernel> {
        Kernel::assemble(setup, placement, report, instance(setup, placement)?.accesses, ns)
    }

    /// The kernel for `report`, with the model's access weights.
    fn assemble(
        setup: &Setup,
        placement: &Placement,
        report: PlanReport,
        accesses: Weights,
        ns: &str,
    ) -> Result<Kernel> {
        for name in setup.method.buffers() {
            if !report.buffers.iter().any(|b| b.component == "kernel" && b.name == *name && b.offset.is_some()) {
                return Err(Error::buffer(format!("kernel/{name}"), "not placed by the plan"));
            }
        }
        let allocation = Allocation::new(&report, placement.layout)?;
        let (prelude, body) = match setup.precision {
            Precision::F64 => (source::prelude::<f64>(setup), source::body::<f64>(setup, &allocation, ns)?),
            _ => (source::prelude::<f32>(setup), source::body::<f32>(setup, &allocation, ns)?),
        };
        let source = format!("{prelude}\n{body}{}", source::entry(ns, ENTRY));
        Ok(Kernel {
            setup: setup.clone(),
            placement: placement.clone(),
            report,
            allocation,
            accesses,
            prelude,
            body,
            source,
            entry: ENTRY,
            nvrtc_options: NVRTC_OPTIONS,
        })
    }

    /// Dynamic shared bytes for a block of `block_size` threads (set the
    /// opt-in attribute above 48 KiB).
    pub fn dynamic_shared_bytes(&self, block_size: u64) -> Result<u64> {
        Ok(self.allocation.shared_bytes_per_block(block_size)?)
    }

    /// Blocks for `batch` systems at `block_size` threads per block.
    pub fn grid_size(batch: u64, block_size: u64) -> u64 {
        batch.div_ceil(block_size.max(1))
    }
}

/// The kernel model of `setup`'s method, instantiated for its system size
/// and precision under `placement`'s locations.
pub fn instance(setup: &Setup, placement: &Placement) -> Result<smemplan::kernel::model::Kernel> {
    let method = setup.method;
    for (name, _) in &placement.overrides {
        if !method.buffers().contains(&name.as_str()) {
            return Err(Error::buffer(
                name.clone(),
                format!("{} has no such buffer (it has {})", method.name(), method.buffers().join(", ")),
            ));
        }
    }
    let source = format!("models/integrators/{}", method.name());
    let model = Model::parse(&source, method.model_text(), &|_| Ok(None))?;
    let precision = if setup.precision == Precision::F64 { "f64" } else { "f32" };
    let mut sets = vec![("n".to_string(), setup.system.n().to_string()), ("precision".into(), precision.into())];
    sets.extend(placement.sets());
    Ok(model.instantiate(&sets)?)
}

/// The plan of `setup` under `placement`: smemplan's, or CuBIE's layout
/// ([`smemplan::plan::cubie`]: its registry's offsets, every local buffer
/// an array of its own) on the same lifetimes.
pub fn plan(setup: &Setup, placement: &Placement) -> Result<PlanReport> {
    plan_of(&instance(setup, placement)?, placement)
}

/// The plan of a model `instance` under `placement`'s planner.
fn plan_of(instance: &smemplan::kernel::model::Kernel, placement: &Placement) -> Result<PlanReport> {
    Ok(match &placement.planner {
        Planner::Smemplan(strategy) => smemplan::plan::plan_kernel(
            instance,
            &PlanOptions { strategy: strategy.clone(), ..PlanOptions::default() },
        )?,
        Planner::Cubie => smemplan::plan::cubie_kernel(instance)?.report,
    })
}

/// The reference trajectories of systems `systems` of a batch of `batch`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trajectories {
    /// The `out` array as the kernel writes it (`[samples + 1][n][batch]`
    /// little-endian reals); systems outside `systems` are zero.
    pub out: Vec<u8>,
    /// The `stats` array (`[3][batch]`); zero outside `systems`.
    pub stats: Vec<u32>,
    /// The systems computed (and compared).
    pub systems: Range<u64>,
    batch: u64,
    n: usize,
    samples: usize,
    itemsize: usize,
    stat_names: [&'static str; STATS_PER_SYSTEM],
}

/// The first difference between a device's results and the reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrajectoryMismatch {
    /// What differs, where, by how much.
    pub message: String,
}

impl fmt::Display for TrajectoryMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for TrajectoryMismatch {}

impl Trajectories {
    /// Checks a launch's `out` bytes and `stats` against the reference, bit
    /// for bit, over the reference's systems; the first difference names
    /// the system, the sample, the element and the distance in ulps.
    pub fn compare(&self, out: &[u8], stats: &[u32]) -> std::result::Result<(), TrajectoryMismatch> {
        let miss = |message: String| Err(TrajectoryMismatch { message });
        if out.len() != self.out.len() || stats.len() != self.stats.len() {
            return miss(format!(
                "sizes differ: out {} bytes (expected {}), stats {} values (expected {})",
                out.len(),
                self.out.len(),
                stats.len(),
                self.stats.len()
            ));
        }
        let b = self.batch as usize;
        for sys in self.systems.clone().map(|s| s as usize) {
            for s in 0..self.samples {
                for i in 0..self.n {
                    let at = ((s * self.n + i) * b + sys) * self.itemsize;
                    let (got, want) = (&out[at..at + self.itemsize], &self.out[at..at + self.itemsize]);
                    if got != want {
                        let (g, w, ulps) = self.decode(got, want);
                        return miss(format!(
                            "system {sys}, sample {s}, element {i}: {g:e} instead of {w:e} ({ulps} ulps apart)"
                        ));
                    }
                }
            }
            for (k, name) in self.stat_names.iter().enumerate() {
                let (got, want) = (stats[k * b + sys], self.stats[k * b + sys]);
                if got != want {
                    return miss(format!("system {sys}: {name} {got} instead of {want}"));
                }
            }
        }
        Ok(())
    }

    fn decode(&self, got: &[u8], want: &[u8]) -> (f64, f64, u64) {
        // Ordered integer images of the bit patterns: their distance is the
        // number of representable values in between.
        fn ordered(bits: i64, sign: i64) -> i64 {
            if bits < 0 {
                sign - (bits & !sign) - 1
            } else {
                bits
            }
        }
        if self.itemsize == 8 {
            let g = i64::from_le_bytes(got.try_into().unwrap_or([0; 8]));
            let w = i64::from_le_bytes(want.try_into().unwrap_or([0; 8]));
            let d = ordered(g, i64::MIN).abs_diff(ordered(w, i64::MIN));
            (f64::from_bits(g as u64), f64::from_bits(w as u64), d)
        } else {
            let g = i32::from_le_bytes(got.try_into().unwrap_or([0; 4]));
            let w = i32::from_le_bytes(want.try_into().unwrap_or([0; 4]));
            let d = ordered(i64::from(g), i64::from(i32::MIN)).abs_diff(ordered(i64::from(w), i64::from(i32::MIN)));
            (f64::from(f32::from_bits(g as u32)), f64::from(f32::from_bits(w as u32)), d)
        }
    }
}

/// The reference trajectories of systems `systems` (a sub-range, to keep
/// large batches cheap) of a batch of `batch`, computed in parallel.
pub fn reference(setup: &Setup, batch: u64, systems: Range<u64>) -> Result<Trajectories> {
    if systems.start > systems.end || systems.end > batch {
        return Err(Error::Integrator(format!("systems {systems:?} are not within a batch of {batch}")));
    }
    Ok(match setup.precision {
        Precision::F64 => reference_in::<f64>(setup, batch, systems),
        _ => reference_in::<f32>(setup, batch, systems),
    })
}

fn reference_in<T: Real>(setup: &Setup, batch: u64, systems: Range<u64>) -> Trajectories {
    let (n, samples, itemsize) = (setup.system.n(), setup.settings.samples as usize + 1, setup.itemsize());
    let runs: Vec<(Vec<Vec<T>>, [u32; 3])> = systems
        .clone()
        .into_par_iter()
        .map(|sys| {
            let (p, y0) = (setup.system.params::<T>(sys), setup.system.initial::<T>(sys));
            let mut rows = vec![Vec::new(); samples];
            let mut save = |s: u32, y: &[T]| rows[s as usize] = y.to_vec();
            let stats = match setup.method {
                Method::DormandPrince54 => {
                    dormand_prince::reference(&setup.system, &setup.settings, &p, &y0, &mut save)
                }
                Method::BackwardEuler => backward_euler::reference(&setup.system, &setup.settings, &p, &y0, &mut save),
                Method::Dirk => dirk::reference(&setup.system, &setup.settings, &p, &y0, &mut save),
            };
            (rows, stats)
        })
        .collect();
    let b = batch as usize;
    let mut out = vec![0u8; samples * n * b * itemsize];
    let mut stats = vec![0u32; STATS_PER_SYSTEM * b];
    let mut bytes = Vec::with_capacity(itemsize);
    for (sys, (rows, st)) in systems.clone().zip(runs) {
        let sys = sys as usize;
        for (s, row) in rows.iter().enumerate() {
            // A sample never reached (max_steps ran out) stays zero, as the
            // kernel leaves it.
            for (i, v) in row.iter().enumerate() {
                bytes.clear();
                v.put(&mut bytes);
                let at = ((s * n + i) * b + sys) * itemsize;
                out[at..at + itemsize].copy_from_slice(&bytes);
            }
        }
        for (k, v) in st.iter().enumerate() {
            stats[k * b + sys] = *v;
        }
    }
    Trajectories { out, stats, systems, batch, n, samples, itemsize, stat_names: setup.method.stats() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lorenz_f64(method: Method) -> Trajectories {
        let setup = Setup::new(method, System::Lorenz, Precision::F64).unwrap();
        reference(&setup, 3, 0..3).unwrap()
    }

    #[test]
    fn dormand_prince_matches_a_tight_solution_of_lorenz() {
        // The adaptive run at rtol 1e-9 against the same run at 1e-12: the
        // state at t = 2 agrees to the tolerance's order.
        let loose = lorenz_f64(Method::DormandPrince54);
        let mut s = Settings::default_for(Method::DormandPrince54, &System::Lorenz, Precision::F64);
        (s.rtol, s.atol) = (1e-12, 1e-12);
        let tight = Setup::with_settings(Method::DormandPrince54, System::Lorenz, Precision::F64, s).unwrap();
        let tight = reference(&tight, 3, 0..3).unwrap();
        let last = |t: &Trajectories, i: usize| {
            let at = ((10 * 3 + i) * 3) * 8;
            f64::from_le_bytes(t.out[at..at + 8].try_into().unwrap())
        };
        for i in 0..3 {
            assert!((last(&loose, i) - last(&tight, i)).abs() < 1e-5, "{} vs {}", last(&loose, i), last(&tight, i));
        }
        assert_eq!(loose.stats[2 * 3], 0, "status");
        assert!(loose.stats[0] > 50 && loose.stats[0] < 5000, "accepted steps: {}", loose.stats[0]);
    }

    #[test]
    fn backward_euler_converges_at_first_order() {
        // Halving h halves the error of the Allen–Cahn state at t = 2.
        let run = |steps: u32| {
            let system = System::AllenCahn { n: 16 };
            let mut s = Settings::default_for(Method::BackwardEuler, &system, Precision::F64);
            s.steps = steps;
            let setup = Setup::with_settings(Method::BackwardEuler, system, Precision::F64, s).unwrap();
            let t = reference(&setup, 1, 0..1).unwrap();
            assert_eq!(t.stats[2], 0, "Newton failures");
            let at = (10 * 16 + 8) * 8;
            f64::from_le_bytes(t.out[at..at + 8].try_into().unwrap())
        };
        let (coarse, fine, finest) = (run(100), run(200), run(3200));
        let ratio = (coarse - finest).abs() / (fine - finest).abs();
        assert!((1.7..2.3).contains(&ratio), "error ratio {ratio}");
    }

    #[test]
    fn root5_is_the_fifth_root() {
        for x in [1e-10, 3e-4, 0.5, 1.0, 31.9, 32.0, 1e3, 1e10] {
            let r: f64 = dormand_prince::root5(x);
            assert!((r - x.powf(0.2)).abs() <= 4.0 * f64::EPSILON * r, "{x}: {r}");
        }
    }

    #[test]
    fn compare_names_the_first_difference() {
        let t = lorenz_f64(Method::BackwardEuler);
        let mut out = t.out.clone();
        let at = ((2 * 3 + 1) * 3 + 1) * 8;
        out[at] ^= 1;
        let e = t.compare(&out, &t.stats).unwrap_err();
        assert!(e.message.starts_with("system 1, sample 2, element 1:") && e.message.contains("(1 ulps apart)"), "{e}");
        let mut stats = t.stats.clone();
        stats[3 + 2] += 1;
        let message = format!("system 2: newton_iterations {} instead of {}", stats[5], t.stats[5]);
        assert_eq!(t.compare(&t.out, &stats).unwrap_err().message, message);
    }

    #[test]
    fn placements_are_checked_and_planned() {
        let setup = Setup::new(Method::BackwardEuler, System::AllenCahn { n: 8 }, Precision::F32).unwrap();
        let bad = Placement::split(Planner::smemplan(), SharedLayout::default(), &["jacobian"]);
        assert!(Kernel::new(&setup, &bad).unwrap_err().to_string().contains("jacobian"));
        let split = Placement::split(Planner::Cubie, SharedLayout::default(), &["rhs", "delta"]);
        let k = Kernel::new(&setup, &split).unwrap();
        // CuBIE: state, proposed, matrix, residual one after another.
        assert_eq!(k.report.shared_bytes, (8 + 8 + 64 + 8) * 4);
        assert_eq!(k.report.local_bytes, 16 * 4);
        let opt = Kernel::new(&setup, &Placement::all_shared(Planner::smemplan(), SharedLayout::default())).unwrap();
        // rhs and delta are never live together: one slot for both.
        assert_eq!(opt.report.shared_bytes, (8 + 8 + 64 + 8 + 8) * 4);
    }
}
