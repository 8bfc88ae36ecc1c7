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

use crate::error::Error;
use crate::error::Result;
use crate::sweep::grid::{Axis, Radix};
use crate::sweep::{column_clash, csv_field};
use rayon::prelude::*;
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

impl Input {
    /// A model's kernel (read from `file`, if given) with every parameter
    /// and derived value.
    fn of_kernel(kernel: &model::Kernel, file: Option<String>) -> Input {
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
        Input { kind: InputKind::Model, name: kernel.model.clone(), file, params }
    }
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
    /// Why the device cannot launch that block: CuBIE's rule halves for
    /// shared memory alone, so with `--registers` its block may need more
    /// registers than a multiprocessor holds (no estimate at it then).
    pub launch_error: Option<String>,
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
                launch_error: None,
            }
            .checked(case),
            Err(e) => Launch {
                block_size: None,
                dynamic_shared_bytes: None,
                block_warning: None,
                block_error: Some(e.to_string()),
                launch_error: None,
            },
        }
    }

    /// This launch with `launch_error` set from `case`'s device and
    /// registers, for the block size and bytes it holds.
    fn checked(mut self, case: &LaunchCase) -> Launch {
        self.launch_error = match (self.block_size, self.dynamic_shared_bytes) {
            (Some(b), Some(bytes)) => {
                case.device.check_launch(b, bytes, case.workload.registers_per_thread).err().map(|e| e.to_string())
            }
            _ => None,
        };
        self
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
#[derive(Debug, Clone, PartialEq, Serialize)]
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
    /// This layout's residency and estimated throughput at that block
    /// size, if it launches.
    pub at_block_size: Option<AtBlock>,
    /// Every leaf buffer, in CuBIE's kernel order.
    pub buffers: Vec<CubieBuffer>,
}

/// A layout's residency and estimated throughput at one block size.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AtBlock {
    /// Active blocks per multiprocessor.
    pub blocks_per_sm: u64,
    /// Active threads per multiprocessor.
    pub resident_threads: u64,
    /// Active warps over the most a multiprocessor holds.
    pub occupancy: f64,
    /// Estimated runs per second.
    pub estimated_runs_per_second: f64,
}

impl AtBlock {
    fn new(e: &Estimate) -> AtBlock {
        AtBlock {
            blocks_per_sm: e.occupancy.active_blocks_per_sm,
            resident_threads: e.occupancy.active_threads_per_sm,
            occupancy: e.occupancy.occupancy,
            estimated_runs_per_second: e.runs_per_second,
        }
    }
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
    /// Active warps over the most a multiprocessor holds.
    pub occupancy: f64,
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
        Comparison::new(Input::of_kernel(kernel, file), cubie, report, &kernel.accesses, options)
    }

    fn new(
        input: Input,
        cubie: CubieLayout,
        report: PlanReport,
        accesses: &Weights,
        options: &CompareOptions,
    ) -> Result<Comparison> {
        let device = &options.device;
        device.check_registers(options.registers_per_thread)?;
        device.check_block_size(options.requested_block_size)?;
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
                occupancy: o.occupancy,
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
        // The block size is CuBIE's rule; its bytes are the header's for the
        // threads that hold runs: min(runs, block), as on CuBIE's side.
        launch.dynamic_shared_bytes =
            launch.block_size.map(|b| allocation.shared_bytes_per_block(b.min(runs))).transpose()?;
        let launch = launch.checked(&case);
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
    let case = LaunchCase::new(&options.device, workload, options.requested_block_size);
    let launch = Launch::new(&case);
    let at_block_size = match launch.block_size {
        Some(b) => case.at(b)?.as_ref().map(AtBlock::new),
        None => None,
    };
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
        at_block_size,
        buffers,
    })
}

/// One configuration of a compared grid: CuBIE's and the optimised shared
/// bytes per run, the saving, and each side's block size and residency
/// (the rows of `smemplan plan` given several models, values, precisions
/// or devices).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SummaryRow {
    /// Position in the grid (0-based).
    pub index: usize,
    /// The model's name, or the dump's configuration id.
    pub model: String,
    /// The grid's parameters at this configuration (only those given).
    pub params: BTreeMap<String, String>,
    /// The device profile.
    pub device: String,
    /// The optimised side's strategy.
    pub strategy: String,
    /// CuBIE's shared bytes per run.
    pub cubie_layout_shared_bytes: u64,
    /// The optimised shared bytes per run.
    pub shared_bytes: u64,
    /// CuBIE's bytes minus the optimised ones (negative: the plan is larger).
    pub shared_bytes_saved: i64,
    /// The saving as a percentage of CuBIE's bytes (`None` when CuBIE's
    /// are 0).
    pub shared_percent_saved: Option<f64>,
    /// Whether every pool of the optimised side is proven minimal.
    pub optimal: bool,
    /// CuBIE's block size (its halving rule on its own layout).
    pub cubie_layout_block_size: Option<u64>,
    /// CuBIE's layout at that block size, if it launches.
    pub cubie: Option<AtBlock>,
    /// The optimised layout's block size of highest estimated throughput.
    pub best_block_size: Option<u64>,
    /// The optimised layout at that block size.
    pub best: Option<AtBlock>,
    /// Estimated runs per second of the optimised layout at its best block
    /// over CuBIE's layout at CuBIE's block (`None` when either cannot
    /// launch).
    pub speedup_vs_cubie: Option<f64>,
}

impl SummaryRow {
    /// The summary of `comparison`, the grid's `index`-th configuration
    /// with these `params`.
    pub fn new(index: usize, params: BTreeMap<String, String>, c: &Comparison) -> SummaryRow {
        let (cubie, optimized) = (c.cubie.shared_bytes, c.optimized.report.shared_bytes);
        let shared_bytes_saved = i64::try_from(i128::from(cubie) - i128::from(optimized)).unwrap_or(i64::MIN);
        let best = c.optimized.best_block_size.as_ref().map(|b| AtBlock {
            blocks_per_sm: b.blocks_per_sm,
            resident_threads: b.resident_threads,
            occupancy: b.occupancy,
            estimated_runs_per_second: b.estimated_runs_per_second,
        });
        let speedup = match (&c.cubie.at_block_size, &best) {
            (Some(c), Some(b)) if c.estimated_runs_per_second > 0.0 => {
                Some(b.estimated_runs_per_second / c.estimated_runs_per_second)
            }
            _ => None,
        };
        SummaryRow {
            index,
            model: c.input.name.clone(),
            params,
            device: c.device.clone(),
            strategy: c.strategy.clone(),
            cubie_layout_shared_bytes: cubie,
            shared_bytes: optimized,
            shared_bytes_saved,
            shared_percent_saved: (cubie > 0).then(|| 100.0 * (cubie as f64 - optimized as f64) / cubie as f64),
            optimal: c.optimal,
            cubie_layout_block_size: c.cubie.launch.block_size,
            cubie: c.cubie.at_block_size.clone(),
            best_block_size: c.optimized.best_block_size.as_ref().map(|b| b.block_size),
            best,
            speedup_vs_cubie: speedup,
        }
    }
}

/// A comparison over a grid: one [`SummaryRow`] per configuration, in the
/// grid's order ([`crate::sweep::grid`]: models, then the parameter axes,
/// then devices).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// The grid's parameters, in the order given (the rows' `params` keys).
    pub axes: Vec<String>,
    /// One row per configuration.
    pub rows: Vec<SummaryRow>,
}

/// The grid summary's CSV columns after the grid's parameters (`index` and
/// `model` come before them).
const SUMMARY_COLUMNS: &[&str] = &[
    "device",
    "strategy",
    "cubie_layout_shared_bytes",
    "shared_bytes",
    "shared_bytes_saved",
    "shared_percent_saved",
    "optimal",
    "cubie_layout_block_size",
    "cubie_layout_blocks_per_sm",
    "cubie_layout_occupancy",
    "cubie_layout_runs_per_second",
    "best_block_size",
    "best_blocks_per_sm",
    "best_occupancy",
    "best_runs_per_second",
    "speedup_vs_cubie",
];

impl Summary {
    /// Every model at every combination of the axes' values on every
    /// device, compared as [`Comparison::of_kernel`] compares one (the
    /// device in `options` is replaced by each of `devices`). Each kernel
    /// instance is planned once for all devices; instances run in
    /// parallel, each plan on one thread.
    pub fn of_models(
        models: &[model::Model],
        axes: &[Axis],
        devices: &[DeviceProfile],
        options: &CompareOptions,
    ) -> Result<Summary> {
        // Only the names a model has: any other is refused as unknown by
        // its configuration (`--set device=…` meant `--device`).
        let settable = axes.iter().filter(|a| models.iter().any(|m| m.settable(&a.name)));
        if let Some(message) = column_clash(settable.map(|a| a.name.as_str()), SUMMARY_COLUMNS) {
            return Err(Error::Grid(message));
        }
        let mut radices = vec![models.len()];
        radices.extend(axes.iter().map(|a| a.values.len()));
        // The whole grid within the sweep's bound; an instance is a digit
        // string without the device.
        Radix::new([radices.as_slice(), &[devices.len()]].concat())?;
        let instances = Radix::new(radices)?;
        let per_instance = devices.len();
        let plan = PlanOptions { threads: 1, ..options.plan.clone() };
        let rows: Vec<Vec<SummaryRow>> = (0..instances.len())
            .into_par_iter()
            .map(|k| {
                let d = instances.digits(k);
                let model = &models[d[0]];
                let sets: Vec<(String, String)> =
                    axes.iter().zip(&d[1..]).map(|(a, &i)| (a.name.clone(), a.values[i].clone())).collect();
                let failed = |e: Error| {
                    let mut at = format!("model={}", model.name);
                    for (k, v) in &sets {
                        at.push_str(&format!(" {k}={v}"));
                    }
                    Error::Compare { configuration: at, message: e.to_string() }
                };
                let kernel = model.instantiate(&sets).map_err(|e| failed(e.into()))?;
                let cubie = cubie_kernel(&kernel).map_err(|e| failed(e.into()))?;
                let report = smemplan_plan::plan_kernel(&kernel, &plan).map_err(|e| failed(e.into()))?;
                let params: BTreeMap<String, String> = sets.iter().cloned().collect();
                devices
                    .iter()
                    .enumerate()
                    .map(|(j, device)| {
                        let options = CompareOptions { device: device.clone(), ..options.clone() };
                        let c = Comparison::new(
                            Input::of_kernel(&kernel, None),
                            cubie.clone(),
                            report.clone(),
                            &kernel.accesses,
                            &options,
                        )
                        .map_err(failed)?;
                        Ok(SummaryRow::new(k * per_instance + j, params.clone(), &c))
                    })
                    .collect()
            })
            .collect::<Result<_>>()?;
        Ok(Summary { axes: axes.iter().map(|a| a.name.clone()).collect(), rows: rows.into_iter().flatten().collect() })
    }

    /// The rows as CSV: one column per figure, the grid's parameters after
    /// the model (empty cells for figures that do not exist).
    pub fn csv(&self) -> String {
        let mut header: Vec<&str> = vec!["index", "model"];
        header.extend(self.axes.iter().map(String::as_str));
        header.extend(SUMMARY_COLUMNS);
        let mut out = header.iter().map(|h| csv_field(h)).collect::<Vec<_>>().join(",");
        out.push('\n');
        let int = |v: Option<u64>| v.map_or(String::new(), |x| x.to_string());
        let real = |v: Option<f64>| v.map_or(String::new(), |x| x.to_string());
        for r in &self.rows {
            let mut cells = vec![r.index.to_string(), r.model.clone()];
            cells.extend(self.axes.iter().map(|a| r.params.get(a).cloned().unwrap_or_default()));
            cells.extend([
                r.device.clone(),
                r.strategy.clone(),
                r.cubie_layout_shared_bytes.to_string(),
                r.shared_bytes.to_string(),
                r.shared_bytes_saved.to_string(),
                real(r.shared_percent_saved),
                r.optimal.to_string(),
                int(r.cubie_layout_block_size),
                int(r.cubie.as_ref().map(|c| c.blocks_per_sm)),
                real(r.cubie.as_ref().map(|c| c.occupancy)),
                real(r.cubie.as_ref().map(|c| c.estimated_runs_per_second)),
                int(r.best_block_size),
                int(r.best.as_ref().map(|b| b.blocks_per_sm)),
                real(r.best.as_ref().map(|b| b.occupancy)),
                real(r.best.as_ref().map(|b| b.estimated_runs_per_second)),
                real(r.speedup_vs_cubie),
            ]);
            out.push_str(&cells.iter().map(|c| csv_field(c)).collect::<Vec<_>>().join(","));
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options() -> CompareOptions {
        CompareOptions {
            plan: PlanOptions { strategy: "greedy-size".into(), ..PlanOptions::default() },
            device: DeviceProfile::named("h100").unwrap(),
            requested_block_size: 64,
            runs: 4096,
            registers_per_thread: 0,
        }
    }

    #[test]
    fn a_grid_parameter_named_as_a_column_is_refused() {
        let devices = [DeviceProfile::named("h100").unwrap()];
        for name in ["device", "best_occupancy", "model"] {
            let axes = [Axis::parse(&format!("{name}=1,2")).unwrap()];
            let e = Summary::of_models(&[crate::sweep::tests::clashing()], &axes, &devices, &options())
                .unwrap_err()
                .to_string();
            assert!(e.starts_with(&format!("grid: parameter `{name}` has the name of one of the CSV's")), "{e}");
            // A name the model lacks is unknown, not a clash.
            let dirk = [model::builtin("dirk").unwrap()];
            let e = Summary::of_models(&dirk, &axes, &devices, &options()).unwrap_err().to_string();
            assert!(e.contains("unknown parameter"), "{e}");
        }
    }

    /// Each row is the single comparison of its configuration, in the
    /// grid's order, with the saving and speed-up computed from its sides.
    #[test]
    fn a_grid_summary_is_its_comparisons() {
        let models = [model::builtin("dirk").unwrap(), model::builtin("erk").unwrap()];
        let axes = [Axis::parse("n=3,20").unwrap(), Axis::parse("precision=f32,f64").unwrap()];
        let devices = [DeviceProfile::named("h100").unwrap(), DeviceProfile::named("a100").unwrap()];
        let summary = Summary::of_models(&models, &axes, &devices, &options()).unwrap();
        assert_eq!(summary.rows.len(), 16);
        assert_eq!(summary.axes, ["n", "precision"]);
        for (i, r) in summary.rows.iter().enumerate() {
            assert_eq!(r.index, i);
            let (m, n, p, d) = (i / 8, i / 4 % 2, i / 2 % 2, i % 2);
            assert_eq!(r.model, models[m].name);
            assert_eq!(r.params["n"], axes[0].values[n]);
            assert_eq!(r.params["precision"], axes[1].values[p]);
            assert_eq!(r.device, devices[d].name);
            let sets: Vec<(String, String)> = r.params.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
            let kernel = models[m].instantiate(&sets).unwrap();
            let one = Comparison::of_kernel(&kernel, None, &CompareOptions { device: devices[d].clone(), ..options() })
                .unwrap();
            assert_eq!(*r, SummaryRow::new(i, r.params.clone(), &one));
            assert_eq!(r.shared_bytes_saved, r.cubie_layout_shared_bytes as i64 - r.shared_bytes as i64);
            let (c, b) = (r.cubie.as_ref().unwrap(), r.best.as_ref().unwrap());
            assert!(r.speedup_vs_cubie.unwrap() >= 1.0 - 1e-9, "the best block is at least CuBIE's pick: {r:?}");
            assert_eq!(r.speedup_vs_cubie, Some(b.estimated_runs_per_second / c.estimated_runs_per_second));
        }
        let csv = summary.csv();
        assert_eq!(csv.lines().count(), 17);
        assert!(csv.starts_with("index,model,n,precision,device,strategy,cubie_layout_shared_bytes,"), "{csv}");
    }

    #[test]
    fn a_failing_configuration_is_named() {
        let models = [model::builtin("dirk").unwrap()];
        let axes = [Axis::parse("n=3,-1").unwrap()];
        let e = Summary::of_models(&models, &axes, &[options().device], &options()).unwrap_err().to_string();
        assert!(e.contains("configuration model=dirk n=-1") && e.contains("-1 is not allowed for `n`"), "{e}");
    }

    /// A launch the device refuses is refused before any plan: every front
    /// end (the CLI, Python) goes through here.
    #[test]
    fn a_launch_beyond_the_device_is_refused() {
        let kernel = model::builtin("dirk").unwrap().instantiate(&[]).unwrap();
        for (options, want) in [
            (CompareOptions { registers_per_thread: 256, ..options() }, "256 registers per thread exceed"),
            (CompareOptions { requested_block_size: 2048, ..options() }, "a block has 1 to 1024 threads, not 2048"),
        ] {
            let e = Comparison::of_kernel(&kernel, None, &options).unwrap_err().to_string();
            assert!(e.contains(want), "{e}");
        }
    }
}
