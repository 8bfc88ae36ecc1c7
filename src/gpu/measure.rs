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
//! smemplan's pick for a case is the (split, block size) pair with the best
//! estimated throughput ([`crate::throughput`]) among the splits that move
//! the largest buffers to local memory first; CuBIE's pick is its halving
//! rule on its all-shared layout at the requested block size.

use crate::accesses;
use crate::allocator::{Padding, SharedLayout};
use crate::error::Result;
use crate::integrate::{Kernel, Method, Placement, Planner, Settings, Setup, System};
use crate::kernel::Precision;
use crate::occupancy::DeviceProfile;
use crate::plan::Pool;
use crate::throughput::{self, Workload};
use serde::{Deserialize, Serialize};

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
/// Allen–Cahn chain, f32, with horizons short enough to time many layouts.
pub fn cases() -> Result<Vec<Case>> {
    let make = |method: Method, system: System, batch: u64, tune: &dyn Fn(&mut Settings)| -> Result<Case> {
        let mut settings = Settings::default_for(method, &system, Precision::F32);
        tune(&mut settings);
        let setup = Setup::with_settings(method, system.clone(), Precision::F32, settings)?;
        let fixed_steps = if method == Method::BackwardEuler { setup.settings.steps as u64 } else { 0 };
        Ok(Case { name: format!("{}/{}", method.name(), system.name()), setup, batch, fixed_steps })
    };
    Ok(vec![
        make(Method::DormandPrince54, System::Lorenz, 1 << 17, &|_| {})?,
        make(Method::DormandPrince54, System::AllenCahn { n: 32 }, 1 << 15, &|_| {})?,
        make(Method::BackwardEuler, System::Lorenz, 1 << 16, &|s| s.steps = 200)?,
        make(Method::BackwardEuler, System::AllenCahn { n: 32 }, 1 << 14, &|s| s.steps = 20)?,
    ])
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

fn workload(kernel: &Kernel, runs: u64) -> Workload {
    let (shared_accesses, local_accesses) = accesses::Weights::default().by_memory(&kernel.report);
    Workload {
        shared_bytes_per_run: kernel.allocation.stride,
        shared_accesses,
        local_accesses,
        registers_per_thread: 0,
        runs,
    }
}

/// smemplan's pick: the split (largest buffers local first) and block size
/// with the best estimated throughput.
pub fn smemplan_pick(device: &DeviceProfile, case: &Case) -> Result<(Vec<String>, u64, f64)> {
    let method = case.setup.method;
    let all = Kernel::new(&case.setup, &Placement::all_shared(Planner::smemplan(), SharedLayout::default()))?;
    let mut by_size: Vec<(u64, &str)> = method
        .buffers()
        .iter()
        .map(|name| {
            let bytes = all.report.buffers.iter().find(|b| b.name == *name).map_or(0, |b| b.bytes);
            (bytes, *name)
        })
        .collect();
    by_size.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
    let mut best: Option<(Vec<String>, u64, f64)> = None;
    for k in 0..=by_size.len() {
        let local: Vec<&str> = by_size[..k].iter().map(|(_, n)| *n).collect();
        let placement = Placement::split(Planner::smemplan(), SharedLayout::default(), &local);
        let kernel = Kernel::new(&case.setup, &placement)?;
        let Ok(search) = throughput::search(device, &workload(&kernel, case.batch), CUBIE_REQUESTED) else { continue };
        let e = search.best();
        if best.as_ref().map_or(true, |b| e.runs_per_second > b.2) {
            best = Some((local.iter().map(|s| s.to_string()).collect(), e.occupancy.block_size, e.runs_per_second));
        }
    }
    best.ok_or_else(|| crate::Error::Gpu(format!("{}: no split can launch", case.name)))
}

/// CuBIE's pick: its halving rule on its own all-shared stride.
pub fn cubie_pick(device: &DeviceProfile, case: &Case) -> Result<u64> {
    let kernel = Kernel::new(&case.setup, &Placement::all_shared(Planner::Cubie, SharedLayout::default()))?;
    Ok(device.limit_blocksize(CUBIE_REQUESTED, kernel.allocation.stride, case.batch)?.block_size)
}

/// Block sizes worth timing for a layout with `stride` shared bytes per
/// run: powers of two below a warp, every warp multiple, the largest block
/// that fits and the largest that fits k blocks per multiprocessor (k ≤ 8),
/// plus `extra` (the picks); only those whose shared memory fits.
pub fn block_sizes(device: &DeviceProfile, stride: u64, extra: &[u64]) -> Vec<u64> {
    let limit = device.max_threads_per_block;
    let fits = |b: u64| b >= 1 && b <= limit && b.saturating_mul(stride) <= device.max_shared_per_block_optin;
    let mut sizes: Vec<u64> = [1, 2, 4, 8, 16].into_iter().chain((1..=limit / 32).map(|w| 32 * w)).collect();
    if stride > 0 {
        sizes.push(device.max_shared_per_block_optin / stride);
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

/// The cost model's estimate for `kernel` at `block` (runs per second), if
/// it can launch.
pub fn estimate(device: &DeviceProfile, kernel: &Kernel, runs: u64, block: u64) -> Result<Option<f64>> {
    Ok(throughput::estimate(device, &workload(kernel, runs), block)?.map(|e| e.runs_per_second))
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
