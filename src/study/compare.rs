//! One kernel two ways: CuBIE 0.17.0's layout next to the optimised plan,
//! each with the block size CuBIE's rule gives it on one device. This is
//! what `smemplan plan` prints and `examples/registry_results.rs` tabulates.
//!
//! ```text
//!  kernel model ─▶ model::Kernel ─┬─▶ Registry::from_declarations ─┐
//!  CuBIE dump ────────────────────┼─▶ Registry::from_dump ──────────┴─▶ cubie:     bytes, slices, block size
//!                                 └─▶ plan (one problem per pool) ────▶ optimized: bytes, offsets, block size
//! ```
//!
//! CuBIE's side is always computed: for a dump it is replayed from the
//! recorded registrations (never read from the recorded answers), for a
//! model it is the model's registry. The block size is CuBIE's
//! `limit_blocksize` for the requested size on the chosen device, applied to
//! each side's per-run shared stride (CuBIE: bytes plus its float32 skew;
//! optimised: the allocator's odd-word stride); the optimised side also gets
//! the block size of highest estimated throughput ([`smemplan_perf::throughput`]).

pub mod recorded;

use crate::error::Result;
use serde::Serialize;
use smemplan_kernel::accesses::Weights;
use smemplan_kernel::lifetimes::LifetimeTable;
use smemplan_kernel::model::{self, expr::Value};
use smemplan_kernel::registry::dump::Dump;
use smemplan_kernel::registry::{Region, Registry};
use smemplan_kernel::{Pool, Precision};
use smemplan_perf::accesses::Counts;
use smemplan_perf::launch::LaunchCase;
use smemplan_perf::occupancy::DeviceProfile;
use smemplan_perf::throughput::{CubiePick, Estimate, Workload};
use smemplan_plan::allocator::{Allocation, SharedLayout};
use smemplan_plan::{cubie_kernel, cubie_layout, plan_dump, CubieLayout, PlanInput, PlanOptions, PlanReport};
use std::collections::BTreeMap;

/// What a comparison is computed for.
#[derive(Debug, Clone)]
pub struct CompareOptions {
    /// How the optimised side is planned.
    pub plan: PlanOptions,
    /// The device whose limits decide the block sizes.
    pub device: DeviceProfile,
    /// Threads per block asked for; CuBIE's rule halves it until the
    /// block's dynamic shared memory fits.
    pub requested_block_size: u64,
    /// Runs in the batch: a block holds `min(runs, block size)` runs.
    pub runs: u64,
    /// Registers per thread of the kernel, for the block-size search's
    /// occupancy (0: not counted).
    pub registers_per_thread: u64,
}

/// Where the kernel came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum InputKind {
    /// A kernel model (TOML).
    Model,
    /// A CuBIE registry dump (JSON).
    Cubie,
}

/// The kernel compared (JSON `input`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Input {
    /// A model or a dump.
    pub kind: InputKind,
    /// The model's name or the dump's configuration id.
    pub name: String,
    /// The file read; `None` for a built-in model.
    pub file: Option<String>,
    /// Every parameter and derived value of a model's kernel (empty for a
    /// dump).
    pub params: BTreeMap<String, serde_json::Value>,
}

/// CuBIE's `limit_blocksize` outcome for one side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Launch {
    /// Threads per block; `None` when one run alone exceeds the limit.
    pub block_size: Option<u64>,
    /// Dynamic shared bytes of that block.
    pub dynamic_shared_bytes: Option<u64>,
    /// CuBIE's warning when the block fell below a warp.
    pub block_warning: Option<&'static str>,
    /// Why there is no block size.
    pub block_error: Option<String>,
}

impl Launch {
    /// The outcome of CuBIE's rule in `case` (see [`LaunchCase::cubie`]).
    pub fn new(case: &LaunchCase) -> Launch {
        match case.cubie() {
            Ok(b) => Launch {
                block_size: Some(b.block_size),
                dynamic_shared_bytes: Some(b.dynamic_shared_bytes),
                block_warning: b.warning,
                block_error: None,
            },
            Err(e) => Launch {
                block_size: None,
                dynamic_shared_bytes: None,
                block_warning: None,
                block_error: Some(e.to_string()),
            },
        }
    }
}

/// One buffer of CuBIE's layout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CubieBuffer {
    /// Owning component's path.
    pub component: String,
    /// Buffer name.
    pub name: String,
    /// The pool CuBIE put it in.
    pub pool: Pool,
    /// Element type.
    pub dtype: Precision,
    /// Elements asked for.
    pub elements: u64,
    /// Bytes it occupies (a local array holds at least one element).
    pub bytes: u64,
    /// Byte offset in the top-level shared or persistent-local array;
    /// `None` for a local array of its own.
    pub offset: Option<u64>,
    /// For an aliasing buffer: whether CuBIE placed it inside its target.
    pub alias_applied: Option<bool>,
    /// Live segments on the optimised side's timeline.
    pub lifetime: Vec<[u64; 2]>,
}

/// CuBIE's side (JSON `cubie`): its footprint, launch and layout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CubieSide {
    /// Shared elements per run.
    pub shared_elements: u64,
    /// Shared bytes per run.
    pub shared_bytes: u64,
    /// 4 when the kernel skews each run's slice by a float32, else 0.
    pub skew_bytes: u64,
    /// Shared bytes per run plus the skew: the stride between runs.
    pub padded_shared_bytes: u64,
    /// Elements of every component's own local arrays.
    pub local_elements: u64,
    /// Bytes of every component's own local arrays.
    pub local_bytes: u64,
    /// Persistent local elements per thread.
    pub persistent_local_elements: u64,
    /// Persistent local bytes per thread.
    pub persistent_local_bytes: u64,
    /// The block size CuBIE's rule gives this layout.
    #[serde(flatten)]
    pub launch: Launch,
    /// Every leaf buffer, in CuBIE's kernel order.
    pub buffers: Vec<CubieBuffer>,
}

/// The block size of highest estimated throughput.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BestBlock {
    /// Threads per block.
    pub block_size: u64,
    /// Dynamic shared bytes per block.
    pub dynamic_shared_bytes: u64,
    /// Active blocks per multiprocessor.
    pub blocks_per_sm: u64,
    /// Active threads per multiprocessor.
    pub resident_threads: u64,
    /// What bounds the resident blocks (the occupancy rule's name for it).
    pub limiter: &'static str,
    /// Estimated runs per second at this block size.
    pub estimated_runs_per_second: f64,
    /// Why it won.
    pub reason: String,
}

/// The block-size search (JSON `block_search`): the pick's workload, why it
/// won, CuBIE's halving pick in the same ranking, and the best candidates.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BlockRanking {
    /// What the estimate was computed for.
    pub workload: Workload,
    /// Why the pick won.
    pub reason: String,
    /// CuBIE's pick for the requested block size, ranked like the others.
    pub cubie: Option<CubiePick>,
    /// The [`BlockRanking::TOP`] fastest candidates, fastest first.
    pub top: Vec<Estimate>,
}

impl BlockRanking {
    /// How many candidates a comparison keeps.
    pub const TOP: usize = 10;
}

/// The optimised side (JSON `optimized`): the plan and its launch figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OptimizedSide {
    /// The plan.
    #[serde(flatten)]
    pub report: PlanReport,
    /// Bytes between two threads' shared slices (odd number of words).
    pub padded_shared_bytes: u64,
    /// The block size CuBIE's rule gives this layout.
    #[serde(flatten)]
    pub launch: Launch,
    /// The block size of highest estimated throughput, if any block fits.
    pub best_block_size: Option<BestBlock>,
    /// Every block size ranked by the throughput estimate, if any fits.
    pub block_search: Option<BlockRanking>,
    /// The plan turned into addresses (thread-major, odd-word stride): what
    /// the CUDA header is generated from.
    #[serde(skip)]
    pub allocation: Allocation,
}

/// CuBIE's layout and the optimised plan of one kernel, with launch
/// figures (the JSON of `smemplan plan`; field meanings are in the README).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    /// The kernel compared.
    pub input: Input,
    /// The optimised side's strategy.
    pub strategy: String,
    /// Whether every pool of the optimised side is proven minimal.
    pub optimal: bool,
    /// The device profile's name.
    pub device: String,
    /// Threads per block asked for.
    pub requested_block_size: u64,
    /// Runs in the batch.
    pub runs: u64,
    /// CuBIE's side.
    pub cubie: CubieSide,
    /// The optimised side.
    pub optimized: OptimizedSide,
}

impl Comparison {
    /// A CuBIE dump (read from `file`, if given) compared: CuBIE's side
    /// replayed from its registrations, the optimised side planned with the
    /// built-in lifetime table. The top-level component is the dump's first.
    pub fn of_dump(dump: &Dump, file: Option<String>, options: &CompareOptions) -> Result<Comparison> {
        let root = match dump.components.first() {
            Some(c) => c.path.clone(),
            None => {
                return Err(smemplan_core::Error::Parse {
                    source_name: file.unwrap_or_else(|| dump.config.id.clone()),
                    line: 0,
                    message: "the dump lists no components".into(),
                }
                .into())
            }
        };
        let registry = Registry::from_dump(dump)?;
        let mismatches = recorded::mismatches(dump, &registry, &root)?;
        if !mismatches.is_empty() {
            let list: Vec<String> = mismatches.iter().map(|m| format!("  {m}")).collect();
            return Err(smemplan_core::Error::Parse {
                source_name: file.unwrap_or_else(|| dump.config.id.clone()),
                line: 0,
                message: format!(
                    "{} recorded figure(s) disagree with the dump's own registrations:\n{}",
                    mismatches.len(),
                    list.join("\n")
                ),
            }
            .into());
        }
        let report = plan_dump(dump, &options.plan)?;
        let cubie = cubie_layout(&registry, &root, &PlanInput::from_dump(dump)?, &LifetimeTable::cubie()?)?;
        let input = Input { kind: InputKind::Cubie, name: dump.config.id.clone(), file, params: BTreeMap::new() };
        Comparison::new(input, cubie, report, &Weights::default(), options)
    }

    /// A model's kernel (the model read from `file`, if given) compared:
    /// CuBIE's side is the kernel's registry, the optimised side its plan.
    pub fn of_kernel(kernel: &model::Kernel, file: Option<String>, options: &CompareOptions) -> Result<Comparison> {
        let cubie = cubie_kernel(kernel)?;
        let report = smemplan_plan::plan_kernel(kernel, &options.plan)?;
        let params = kernel
            .params
            .iter()
            .map(|(k, v)| {
                let json = match v {
                    Value::Int(i) => serde_json::Value::from(*i),
                    Value::Str(s) => serde_json::Value::from(s.as_str()),
                };
                (k.clone(), json)
            })
            .collect();
        let input = Input { kind: InputKind::Model, name: kernel.model.clone(), file, params };
        Comparison::new(input, cubie, report, &kernel.accesses, options)
    }

    fn new(
        input: Input,
        cubie: CubieLayout,
        report: PlanReport,
        accesses: &Weights,
        options: &CompareOptions,
    ) -> Result<Comparison> {
        let device = &options.device;
        let (requested, runs) = (options.requested_block_size, options.runs);
        let cubie = cubie_side(cubie, accesses, options)?;
        let allocation = Allocation::new(&report, SharedLayout::default())?;
        let workload = accesses.workload(&report, allocation.stride, options.registers_per_thread, runs);
        let case = LaunchCase::new(device, workload, requested);
        // No block size can launch: reported as the absence of a pick.
        let search = case.search().ok();
        let best_block_size = search.as_ref().map(|s| {
            let best = s.best();
            let o = &best.occupancy;
            BestBlock {
                block_size: o.block_size,
                dynamic_shared_bytes: o.dynamic_shared_bytes,
                blocks_per_sm: o.active_blocks_per_sm,
                resident_threads: o.active_threads_per_sm,
                limiter: o.limiter.as_str(),
                estimated_runs_per_second: best.runs_per_second,
                reason: s.reason.clone(),
            }
        });
        let block_search = search.map(|s| BlockRanking {
            workload,
            top: s.ranked.into_iter().take(BlockRanking::TOP).collect(),
            reason: s.reason,
            cubie: s.cubie,
        });
        let mut launch = Launch::new(&case);
        // The block size is CuBIE's rule; its bytes are the header's (one rule).
        launch.dynamic_shared_bytes = launch.block_size.map(|b| allocation.shared_bytes_per_block(b)).transpose()?;
        Ok(Comparison {
            input,
            strategy: options.plan.strategy.clone(),
            optimal: report.optimal,
            device: device.name.clone(),
            requested_block_size: requested,
            runs,
            cubie,
            optimized: OptimizedSide {
                padded_shared_bytes: allocation.stride,
                launch,
                best_block_size,
                block_search,
                allocation,
                report,
            },
        })
    }
}

/// CuBIE's footprint, launch and layout (`cubie`), each buffer with its
/// lifetime on the optimised side's timeline. Its launch is CuBIE's rule on
/// CuBIE's padded stride.
fn cubie_side(cubie: CubieLayout, accesses: &Weights, options: &CompareOptions) -> Result<CubieSide> {
    let CubieLayout { report, footprint, flat } = cubie;
    let workload =
        accesses.workload(&report, footprint.padded_shared_bytes, options.registers_per_thread, options.runs);
    let launch = Launch::new(&LaunchCase::new(&options.device, workload, options.requested_block_size));
    let buffers = flat
        .iter()
        .zip(report.buffers)
        .map(|(b, placed)| {
            // A local array holds at least one element (its region's length).
            let elements = match b.region {
                Region::Local(len) => len,
                _ => b.size,
            };
            let bytes = smemplan_core::error::mul(elements, b.precision.itemsize(), || {
                format!("bytes of `{}/{}`", b.component, b.name)
            })?;
            Ok(CubieBuffer {
                component: placed.component,
                name: placed.name,
                pool: placed.pool,
                dtype: placed.dtype,
                elements: placed.elements,
                bytes,
                offset: b.byte_range().map(|r| r.start),
                alias_applied: b.alias_applied,
                lifetime: placed.lifetime,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(CubieSide {
        shared_elements: footprint.shared_elements,
        shared_bytes: report.shared_bytes,
        skew_bytes: footprint.skew_bytes,
        padded_shared_bytes: footprint.padded_shared_bytes,
        local_elements: footprint.local_elements,
        local_bytes: report.local_bytes,
        persistent_local_elements: footprint.persistent_local_elements,
        persistent_local_bytes: report.persistent_local_bytes,
        launch,
        buffers,
    })
}
