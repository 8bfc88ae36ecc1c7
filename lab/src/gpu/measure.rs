//! What the throughput tables measure: the integrator cases, the layouts of
//! each, the block sizes of each layout, smemplan's pick of block size and
//! shared/local split, and the analysis of the timings (ranking, the best
//! measured, the cost model's fit).
//!
//! ```text
//!  case (method, system, batch) ─▶ layouts: planner {cubie, smemplan} × placement {all shared,
//!                                  smemplan's split, all local} × shared layout {odd stride, interleaved}
//!                               ─▶ block sizes that fit (powers of two below a warp, every warp
//!                                  multiple, the packing edges, both picks)
//!                               ─▶ timed on the card (device.rs), each run checked bit for bit
//! ```
//!
//! smemplan's pick for a case is the (split, block size) pair that
//! [`smemplan::perf::tiers::choose`] finds on the case's kernel model, as `plan
//! --tiers auto` would; CuBIE's pick is its halving rule on its all-shared
//! layout at the requested block size.

use crate::error::{Error, Result};
use crate::integrate::{self, Kernel, Method, Placement, Planner, Settings, Setup, System};
use serde::{Deserialize, Serialize};
use smemplan::kernel::Precision;
use smemplan::perf::accesses::Counts;
use smemplan::perf::launch::LaunchCase;
use smemplan::perf::occupancy::DeviceProfile;
use smemplan::perf::throughput::Workload;
use smemplan::perf::tiers::{self, TierOptions};
use smemplan::plan::allocator::{Padding, SharedLayout};
use smemplan::plan::Pool;

/// CuBIE's requested block size.
pub const CUBIE_REQUESTED: u64 = 64;

/// One integrator case.
#[derive(Debug, Clone)]
pub struct Case {
    /// Short name, e.g. `backward-euler/allen-cahn-32`.
    pub name: String,
    /// What is integrated.
    pub setup: Setup,
    /// Systems in the batch.
    pub batch: u64,
    /// Steps per system for a fixed-step method (0: read from the run).
    pub fixed_steps: u64,
}

/// The cases of the tables: each method on Lorenz (n = 3) and on a 32-point
/// Allen–Cahn chain, and backward Euler on a 48-point one, f32, with
/// horizons short enough to time many layouts.
pub fn cases() -> Result<Vec<Case>> {
    let make = |method: Method, system: System, batch: u64, tune: &dyn Fn(&mut Settings)| -> Result<Case> {
        let mut settings = Settings::default_for(method, &system, Precision::F32);
        tune(&mut settings);
        let setup = Setup::with_settings(method, system, Precision::F32, settings)?;
        let fixed_steps = if method.fixed_step() { setup.settings.steps as u64 } else { 0 };
        Ok(Case { name: format!("{}/{}", method.name(), system.name()), setup, batch, fixed_steps })
    };
    Ok(vec![
        make(Method::DormandPrince54, System::Lorenz, 1 << 17, &|_| {})?,
        make(Method::DormandPrince54, System::AllenCahn { n: 32 }, 1 << 15, &|_| {})?,
        make(Method::BackwardEuler, System::Lorenz, 1 << 16, &|s| s.steps = 200)?,
        make(Method::BackwardEuler, System::AllenCahn { n: 32 }, 1 << 14, &|s| s.steps = 20)?,
        // Not used to fit the H200's parameters (measured after them): the
        // held-out check of the calibrated pick.
        make(Method::BackwardEuler, System::AllenCahn { n: 48 }, 1 << 13, &|s| s.steps = 10)?,
    ])
}

/// Systems in a case chosen by flags when the batch is not given.
pub const DEFAULT_BATCH: u64 = 1 << 14;

/// A case chosen on the command line (`measure --method … --system …`):
/// its name says everything about it, so results name their case and
/// [`case_named`] rebuilds it.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseSpec {
    /// The method (and with it the kernel model, `models/integrators/*.toml`).
    pub method: Method,
    /// The system (its `n`).
    pub system: System,
    /// `F32` or `F64`.
    pub precision: Precision,
    /// Systems in the batch.
    pub batch: u64,
    /// The horizon, when not the method's default on the system.
    pub t_end: Option<f64>,
    /// Fixed steps (backward Euler only), when not the default.
    pub steps: Option<u32>,
}

impl CaseSpec {
    /// The case's name: `METHOD/SYSTEM/PRECISION/batch-B`, then
    /// `/t-end-T` and `/steps-S` when given, e.g.
    /// `dirk/allen-cahn-32/f64/batch-16384/t-end-0.5`.
    pub fn name(&self) -> String {
        let precision = if self.precision == Precision::F64 { "f64" } else { "f32" };
        let mut name = format!("{}/{}/{precision}/batch-{}", self.method.name(), self.system.name(), self.batch);
        if let Some(t) = self.t_end {
            name += &format!("/t-end-{t}");
        }
        if let Some(s) = self.steps {
            name += &format!("/steps-{s}");
        }
        name
    }

    /// The case, its settings checked ([`Setup::with_settings`]).
    pub fn case(&self) -> Result<Case> {
        let mut settings = Settings::default_for(self.method, &self.system, self.precision);
        if let Some(t) = self.t_end {
            settings.t_end = t;
        }
        match self.steps {
            Some(_) if !self.method.fixed_step() => {
                return Err(Error::Integrator(format!(
                    "{} takes adaptive steps: --steps applies to fixed-step methods (backward-euler)",
                    self.method.name()
                )))
            }
            Some(steps) => settings.steps = steps,
            None => {}
        }
        if self.batch == 0 {
            return Err(Error::Integrator("the batch must hold at least 1 system".into()));
        }
        let setup = Setup::with_settings(self.method, self.system, self.precision, settings)?;
        let fixed_steps = if self.method.fixed_step() { u64::from(setup.settings.steps) } else { 0 };
        Ok(Case { name: self.name(), setup, batch: self.batch, fixed_steps })
    }

    /// The spec a [`CaseSpec::name`] spells, if `name` is one.
    pub fn parse(name: &str) -> Option<CaseSpec> {
        let mut parts = name.split('/');
        let method = Method::named(parts.next()?).ok()?;
        let system = match parts.next()? {
            "lorenz" => System::Lorenz,
            "robertson" => System::Robertson,
            other => System::named("allen-cahn", Some(other.strip_prefix("allen-cahn-")?.parse().ok()?)).ok()?,
        };
        let precision = match parts.next()? {
            "f32" => Precision::F32,
            "f64" => Precision::F64,
            _ => return None,
        };
        let batch = parts.next()?.strip_prefix("batch-")?.parse().ok()?;
        let mut spec = CaseSpec { method, system, precision, batch, t_end: None, steps: None };
        for part in parts {
            if let Some(t) = part.strip_prefix("t-end-") {
                spec.t_end = Some(t.parse().ok()?);
            } else {
                spec.steps = Some(part.strip_prefix("steps-")?.parse().ok()?);
            }
        }
        (spec.name() == name).then_some(spec)
    }
}

/// The case called `name`: one of [`cases`], or one chosen by flags
/// ([`CaseSpec::name`]).
pub fn case_named(name: &str) -> Result<Case> {
    if let Some(case) = cases()?.into_iter().find(|c| c.name == name) {
        return Ok(case);
    }
    match CaseSpec::parse(name) {
        Some(spec) => spec.case(),
        None => Err(Error::Gpu(format!("measured case `{name}` is not one of this smemplan's integrator cases"))),
    }
}

/// How a layout is named in the tables.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayoutName {
    /// `cubie` or `smemplan`.
    pub planner: String,
    /// `all-shared`, `split`, `all-local`.
    pub placement: String,
    /// Buffers in local memory.
    pub local: Vec<String>,
    /// `odd-stride` or `interleaved`.
    pub shared_layout: String,
}

/// A layout of a case: the generated kernel and the block sizes to try.
pub struct Layout {
    /// Its name.
    pub name: LayoutName,
    /// The kernel.
    pub kernel: Kernel,
    /// Block sizes to time.
    pub blocks: Vec<u64>,
}

/// `kernel`'s launch for `runs` runs at its own stride, CuBIE asked for
/// [`CUBIE_REQUESTED`] threads.
fn launch<'a>(device: &'a DeviceProfile, kernel: &Kernel, runs: u64, registers: u64) -> LaunchCase<'a> {
    LaunchCase::new(device, workload(kernel, runs, registers), CUBIE_REQUESTED)
}

/// What `runs` runs of `kernel` ask of the card as the estimate counts it
/// (the kernel model's access weights at the layout's own stride), with the
/// compiled kernel's `registers` per thread (0: not counted).
pub fn workload(kernel: &Kernel, runs: u64, registers: u64) -> Workload {
    kernel.accesses.workload(&kernel.report, kernel.allocation.stride, registers, runs)
}

/// smemplan's pick: the shared/local split and block size that
/// [`tiers::choose`] finds for the case's kernel model (registers not
/// counted: they are known only once a layout is compiled).
pub fn smemplan_pick(device: &DeviceProfile, case: &Case) -> Result<(Vec<String>, u64, f64)> {
    let placement = Placement::all_shared(Planner::smemplan(), SharedLayout::default());
    let model = integrate::instance(&case.setup, &placement)?;
    let options = TierOptions {
        runs: case.batch,
        cubie_requested: CUBIE_REQUESTED,
        accesses: model.accesses.clone(),
        ..TierOptions::default()
    };
    let choice = tiers::choose(&smemplan::plan::PlanInput::try_from(&model)?, &model.table, device, &options)?;
    let chosen = &choice.chosen;
    let best = chosen.best.ok_or_else(|| crate::Error::Gpu(format!("{}: no split can launch", case.name)))?;
    let shared: Vec<&str> = choice
        .groups
        .iter()
        .filter(|g| chosen.shared_groups.contains(&g.name))
        .flat_map(|g| g.buffers.iter().map(String::as_str))
        .collect();
    let local = case.setup.method.buffers().iter().filter(|b| !shared.contains(&format!("kernel/{b}").as_str()));
    Ok((local.map(|b| b.to_string()).collect(), best.occupancy.block_size, best.runs_per_second))
}

/// CuBIE's pick: its halving rule on its own all-shared stride.
pub fn cubie_pick(device: &DeviceProfile, case: &Case) -> Result<u64> {
    let kernel = Kernel::new(&case.setup, &Placement::all_shared(Planner::Cubie, SharedLayout::default()))?;
    Ok(launch(device, &kernel, case.batch, 0).cubie()?.block_size)
}

/// Block sizes worth timing for a layout with `stride` shared bytes per
/// run: powers of two below a warp, every warp multiple, the largest block
/// that fits and the largest that fits k blocks per multiprocessor (k ≤ 8),
/// plus `extra` (the picks); only those whose shared memory fits.
pub fn block_sizes(device: &DeviceProfile, stride: u64, extra: &[u64]) -> Vec<u64> {
    let limit = device.max_threads_per_block;
    let fits = |b: u64| b >= 1 && b <= limit && b.saturating_mul(stride) <= device.max_shared_per_block_optin;
    let mut sizes: Vec<u64> = [1, 2, 4, 8, 16].into_iter().chain((1..=limit / 32).map(|w| 32 * w)).collect();
    if let Some(most) = device.max_shared_per_block_optin.checked_div(stride) {
        sizes.push(most);
        for k in 1..=8u64 {
            let per_block = (device.shared_per_sm / k).saturating_sub(device.reserved_shared_per_block);
            sizes.push(per_block / stride);
        }
    }
    sizes.extend_from_slice(extra);
    sizes.retain(|&b| fits(b));
    sizes.sort_unstable();
    sizes.dedup();
    sizes
}

/// Every layout of `case`: both planners × all shared, smemplan's split and
/// all local × odd stride and interleaved (all local: one shared layout).
pub fn layouts(device: &DeviceProfile, case: &Case, split: &[String], picks: &[u64]) -> Result<Vec<Layout>> {
    let split: Vec<&str> = split.iter().map(String::as_str).collect();
    let all: Vec<&str> = case.setup.method.buffers().to_vec();
    let mut placements: Vec<(&str, Vec<&str>)> = vec![("all-shared", vec![])];
    if !split.is_empty() && split.len() < all.len() {
        placements.push(("split", split.clone()));
    }
    placements.push(("all-local", all.clone()));
    let mut out = Vec::new();
    for planner in [Planner::Cubie, Planner::smemplan()] {
        for (placement, local) in &placements {
            let shared_layouts: &[(SharedLayout, &str)] = if *placement == "all-local" {
                &[(SharedLayout::ThreadMajor(Padding::OddWords), "odd-stride")]
            } else {
                &[
                    (SharedLayout::ThreadMajor(Padding::OddWords), "odd-stride"),
                    (SharedLayout::Interleaved, "interleaved"),
                ]
            };
            for &(shared_layout, layout_name) in shared_layouts {
                let p = Placement::split(planner.clone(), shared_layout, local);
                let kernel = Kernel::new(&case.setup, &p)?;
                let stride = kernel.allocation.shared_bytes_per_block(1)?;
                let blocks = block_sizes(device, stride, picks);
                let name = LayoutName {
                    planner: match planner {
                        Planner::Cubie => "cubie".into(),
                        Planner::Smemplan(_) => "smemplan".into(),
                    },
                    placement: placement.to_string(),
                    local: local.iter().map(|s| s.to_string()).collect(),
                    shared_layout: layout_name.into(),
                };
                out.push(Layout { name, kernel, blocks });
            }
        }
    }
    Ok(out)
}

/// [`workload`] as the compiled kernel has it: `registers` per thread, and
/// of the local bytes the plan keeps per run only the compiled kernel's
/// `stack_bytes` (what it left in local memory) take local accesses, in
/// proportion; the compiler holds the rest in registers, which the estimate
/// does not charge. A plan without local bytes keeps its workload (a stack
/// there is the compiler's own spills, whose accesses no model counts).
pub fn compiled_workload(kernel: &Kernel, runs: u64, registers: u64, stack_bytes: u64) -> Workload {
    compiled(workload(kernel, runs, 0), registers, stack_bytes)
}

/// A planned workload `w` as a compiled kernel of `registers` per thread
/// and `stack_bytes` of stack has it (the rule of [`compiled_workload`],
/// for any kernel: `tune --kernel` takes it for the user's). The compiled
/// kernel says what its registers hold: the model's guess
/// ([`Workload::register_bytes_per_run`]) gives way.
pub fn compiled(mut w: Workload, registers: u64, stack_bytes: u64) -> Workload {
    w.registers_per_thread = registers;
    w.register_bytes_per_run = 0;
    let planned = w.local_bytes_per_run;
    if planned > 0 {
        let kept = stack_bytes.min(planned);
        w.local_accesses *= kept as f64 / planned as f64;
        w.local_bytes_per_run = kept;
    }
    w
}

/// Where smemplan's pick lies among `layouts` (from [`layouts`]): its
/// `split` at the odd stride, all shared when the split keeps nothing
/// local, all local when it keeps every buffer there.
pub fn smemplan_layout(layouts: &[Layout], split: &[String]) -> Option<usize> {
    let find = |placement: &str| {
        layouts.iter().position(|l| {
            l.name.planner == "smemplan" && l.name.placement == placement && l.name.shared_layout == "odd-stride"
        })
    };
    if split.is_empty() {
        find("all-shared")
    } else {
        find("split").or_else(|| find("all-local"))
    }
}

/// Where CuBIE's own layout (all shared, odd stride) lies among `layouts`.
pub fn cubie_layout(layouts: &[Layout]) -> Option<usize> {
    layouts.iter().position(|l| {
        l.name.planner == "cubie" && l.name.placement == "all-shared" && l.name.shared_layout == "odd-stride"
    })
}

/// The cost model's estimate for `kernel` at `block` (runs per second), if
/// it can launch, with the compiled kernel's `registers` per thread (0: not
/// counted).
pub fn estimate(device: &DeviceProfile, kernel: &Kernel, runs: u64, block: u64, registers: u64) -> Result<Option<f64>> {
    Ok(launch(device, kernel, runs, registers).at(block)?.map(|e| e.runs_per_second))
}

/// Whether a layout keeps anything in shared memory.
pub fn uses_shared(kernel: &Kernel) -> bool {
    kernel.report.buffers.iter().any(|b| b.pool == Pool::Shared && b.bytes > 0)
}

/// One timed configuration (JSON `cases[].runs[]`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Run {
    /// The layout.
    pub layout: LayoutName,
    /// Threads per block.
    pub block_size: u64,
    /// Dynamic shared bytes per block.
    pub dynamic_shared_bytes: u64,
    /// Registers per thread of the compiled kernel.
    pub registers: u64,
    /// Local (stack) bytes per thread of the compiled kernel.
    pub stack_bytes: u64,
    /// The driver's resident blocks per multiprocessor.
    pub blocks_per_sm: u64,
    /// Best time of the timed launches, milliseconds (CUDA events).
    pub best_ms: f64,
    /// Every timed launch, milliseconds.
    pub times_ms: Vec<f64>,
    /// Systems × steps per second.
    pub system_steps_per_second: f64,
    /// Whether the output equals the CPU reference bit for bit.
    pub bitwise: bool,
    /// The first difference, when not.
    pub mismatch: Option<String>,
    /// The cost model's estimate (runs per second) with the profile's
    /// parameters at the time of the run.
    pub estimated_runs_per_second: Option<f64>,
}

/// One case's results.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CaseResult {
    /// Case name.
    pub name: String,
    /// Systems.
    pub batch: u64,
    /// State size.
    pub n: u64,
    /// Systems × steps of the whole batch (from the reference's statistics).
    pub system_steps: u64,
    /// smemplan's pick: buffers in local memory and the block size.
    pub smemplan_split: Vec<String>,
    /// smemplan's block size.
    pub smemplan_block: u64,
    /// CuBIE's halving pick on its all-shared layout.
    pub cubie_block: u64,
    /// Every configuration timed.
    pub runs: Vec<Run>,
    /// Configurations left out when the time budget ran out.
    pub skipped: u64,
}

/// A `measure --json` results file.
#[derive(Debug, Serialize, Deserialize)]
pub struct Results {
    /// The card, driver and CUDA version as `nvidia-smi` and the driver
    /// report them.
    pub device: serde_json::Value,
    /// Profile used for the picks.
    pub profile: String,
    /// UTC date of the run.
    pub date: String,
    /// Per case.
    pub cases: Vec<CaseResult>,
}
