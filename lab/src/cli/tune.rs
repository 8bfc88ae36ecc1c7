//! `smemplan-lab tune`: the model ranks, the card decides.
//!
//! ```text
//!  kernel model + --set ─▶ layouts: smemplan's split (tiers::choose), the model's own
//!  (--model-file)          locations, all shared, all local, CuBIE's layout
//!                       ─▶ × every block size that fits (1 to the device's largest)
//!  --method (a case) ───▶ layouts: measure's (both planners × all shared, smemplan's
//!                          split, all local × odd stride, interleaved)
//!                       ─▶ × measure's block sizes (see below)
//!               ─▶ estimated (the planner's model) ─▶ ranked (an integrator's again on the
//!                  card, with its compiled kernels' registers and stack); --share of them
//!                  (default a tenth) timed on the card, each placement's then each
//!                  layout's best-ranked block first, then the fastest layout's
//!                  ([`timed_share`]): the stand-in
//!                  (gpu::standin), the integrator itself or the user's kernel
//!                  (--kernel), each run checked bit for bit
//!               ─▶ the measured best with its estimate, the model's own pick measured
//! ```
//!
//! Without `--method` the kernel timed is the read-modify-write stand-in:
//! it reads and writes every word of the layout's shared slice and local
//! arrays `--iterations` times, the kernel gpu-notes §5 and §6 measured the
//! default model with (it has no real kernel). With `--method` (and
//! `measure`'s other case flags) it is the built-in integrator, generated
//! for every layout `measure` builds, and every timed run is compared bit
//! for bit with the CPU reference: a mismatch stops `tune` (exit 1, a
//! failed check, the first difference named), it is never a data point.
//!
//! With `--kernel FILE.cu` it is the user's own kernel, on the stand-in's
//! layouts and candidates, ranked as the stand-in's until compiled; each
//! layout's header ([`user_kernel::header`]) is spliced into the source,
//! and the compiled kernels re-rank as an integrator's do. There is no
//! reference to compare with: every timed candidate must leave the `io`
//! array bitwise as the first timed one left it (a layout must not change
//! results), or `tune` stops (exit 1) naming the first differing run and
//! byte. `docs/tune-kernel.md` gives the launch contract.
//!
//! The candidate set of an integrator is smaller than the stand-in's: its
//! launches take milliseconds to seconds, not microseconds, so timing
//! every block from 1 to 1,024 of ten layouts (some ten thousand launches)
//! is out of reach. Its blocks are `measure`'s
//! ([`smemplan_lab::gpu::measure::block_sizes`]): the powers of two below a
//! warp, every warp multiple, the largest block that fits and the largest
//! that fits k blocks per multiprocessor (k ≤ 8, the points where the
//! residency changes), and both picks (smemplan's and CuBIE's). `--share`
//! and `--exhaustive` take the same set.
//!
//! The stand-in's ranking is the planner's own estimate (the model's
//! access weights), so what `tune` reports there is how well `plan --tiers
//! auto` and its block size do against the card. An integrator's is the
//! planner's estimate until its kernels are compiled (`--rank-only` shows
//! that one), then the same estimate with each compiled kernel's registers
//! and stack ([`Ranking::compiled`]): the compiler keeps some local arrays
//! in registers, which the planner cannot see, and candidates a compiled
//! kernel cannot launch (too many registers for the block) leave the set
//! before the share is taken. `--exhaustive` times every candidate, which
//! measures the acceptance of tuning (the best of the timed share against
//! the best of all) in one run; `--rank-only` needs no card.
//!
//! CUDA's occupancy API (`cudaOccupancyMaxPotentialBlockSize`) is beside
//! them as the driver computes it on smemplan's layout: over warp
//! multiples from the largest that fits down, the first block of most
//! resident threads.

use super::measure::CaseArgs;
use super::Verdict;
use anyhow::{bail, Context, Result};
use serde::Serialize;
use smemplan::kernel::model::{self, Kernel};
use smemplan::perf::accesses::Counts;
use smemplan::perf::occupancy::DeviceProfile;
use smemplan::perf::throughput::{self, Workload};
use smemplan::perf::tiers::TierOptions;
use smemplan::plan::allocator::{Allocation, Padding, SharedLayout};
use smemplan::plan::{PlanOptions, PlanReport};
use smemplan::study::compare::CompareOptions;
use smemplan::study::planned::kernel_tiers;
use smemplan_lab::calibrate;
use smemplan_lab::gpu::measure::{self as cases, Case};
use smemplan_lab::gpu::standin;
use smemplan_lab::gpu::user_kernel::{self, UserSource};
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

/// Arguments of `smemplan-lab tune`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A built-in integrator to time instead of the stand-in, and its case
    /// (the flags of `measure`).
    #[command(flatten)]
    pub case: CaseArgs,
    /// A built-in kernel model (default: the default model), timed with the
    /// stand-in or `--kernel`.
    #[arg(long, value_name = "NAME", default_value = model::DEFAULT_MODEL, conflicts_with = "method")]
    pub model: String,
    /// A kernel model from a file instead of a built-in one (see
    /// docs/models.md).
    #[arg(long, value_name = "PATH", conflicts_with_all = ["method", "model"])]
    pub model_file: Option<PathBuf>,
    /// Time your own CUDA kernel instead of the stand-in, on the model's
    /// layouts (docs/tune-kernel.md).
    ///
    /// Launch contract: the entry is `extern "C" __global__ void
    /// smemplan_kernel(unsigned char* io, unsigned long long runs)`; one run
    /// per thread, run `blockIdx.x * blockDim.x + threadIdx.x`; threads at
    /// or past `runs` return at once. The source includes
    /// "smemplan_layout.cuh", which tune supplies for each layout: the
    /// library's header (namespace smemplan_layout, as `smemplan plan
    /// --cuda` writes it) and smemplan_buffers, one accessor per buffer,
    /// `T* name(const smemplan_buffers::memory&)` whatever its pool, and
    /// `smemplan_buffers::elements::name`. The block's dynamic shared
    /// memory is `smemplan_layout::shared_bytes_per_block(blockDim.x)` bytes
    /// (declare `extern __shared__ __align__(16) unsigned char shared[];`);
    /// the local arrays are the kernel's own (`alignas(8) unsigned char
    /// local[smemplan_layout::local_bytes + 1];`, and
    /// `persistent_local_bytes` likewise). `io` holds `--io-bytes` bytes per
    /// run (run r's at r × io-bytes), filled with a fixed pattern before
    /// every launch; a run reads and writes its own slice only, and uses a
    /// buffer only within its lifetime. Every layout must leave `io` bitwise
    /// alike: a difference stops tune (exit 1).
    #[arg(long, value_name = "FILE.cu", conflicts_with = "method")]
    pub kernel: Option<PathBuf>,
    /// Write each layout's header, as `--kernel`'s source includes it, to
    /// DIR/layout-K.cuh (K = 1, 2, ... in the order listed), to read it or
    /// compile the kernel yourself; DIR must exist.
    #[arg(long, value_name = "DIR", requires = "kernel")]
    pub headers: Option<PathBuf>,
    /// Bytes of `io` per run given to `--kernel`.
    #[arg(long, value_name = "N", default_value_t = user_kernel::IO_BYTES,
          value_parser = clap::value_parser!(u64).range(1..), requires = "kernel")]
    pub io_bytes: u64,
    /// Set a model parameter (repeatable), as for `plan`.
    #[arg(long = "set", value_name = "NAME=VALUE", value_parser = model::parse_set, conflicts_with = "method")]
    pub sets: Vec<(String, String)>,
    /// Device profile of the estimate.
    /// On a card that another built-in profile describes (an H100 under
    /// `h200`), the run warns and names that profile.
    #[arg(long, value_name = "NAME", default_value = "h200")]
    pub device: String,
    /// Runs in the batch of the stand-in or `--kernel` (one per thread; an
    /// integrator's is `--batch`).
    #[arg(long, value_name = "N", default_value_t = 1 << 17, value_parser = clap::value_parser!(u64).range(1..),
          conflicts_with = "method")]
    pub runs: u64,
    /// Time limit, as `plan`'s: the split search and each plan it solves
    /// take a quarter of it.
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = smemplan::core::format::minimalloc::parse_duration, allow_negative_numbers = true)]
    pub time_limit: Duration,
    /// Share of the ranked candidates timed (at least one): the best-ranked
    /// block of each placement (all shared, all local, a split), then of
    /// each layout, first (up to half of it), then the layout that measured
    /// fastest, then the rest in rank order. The stand-in's
    /// candidates: its layouts at every block from 1 to the device's
    /// largest. An integrator's: measure's layouts at measure's block sizes
    /// (powers of two below a warp, every warp multiple, the largest block
    /// that fits and the largest that fits k blocks per multiprocessor,
    /// k ≤ 8, and both picks), those its compiled kernels can launch, ranked
    /// with their registers and stack.
    #[arg(long, value_name = "FRACTION", default_value_t = 0.1, allow_negative_numbers = true)]
    pub share: f64,
    /// Time every candidate, the same set as `--share`'s (the acceptance of
    /// `--share` is then measured too).
    #[arg(long, conflicts_with = "rank_only")]
    pub exhaustive: bool,
    /// Print the ranking and what would be timed; no card needed.
    #[arg(long)]
    pub rank_only: bool,
    /// Read-modify-write passes of the stand-in over every word.
    #[arg(long, value_name = "N", default_value_t = standin::ITERATIONS, value_parser = clap::value_parser!(u64).range(1..),
          conflicts_with_all = ["method", "kernel"])]
    pub iterations: u64,
    /// Timed launches per candidate after one warm-up (the best counts).
    #[arg(long, value_name = "N", default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..))]
    pub repeats: u64,
    /// CUDA device ordinal.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub gpu: usize,
    /// Write the full results as JSON (the card's timings: not with
    /// --rank-only).
    #[arg(long, value_name = "OUT.json", conflicts_with = "rank_only")]
    pub json: Option<PathBuf>,
}

/// One layout of the kernel.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Layout {
    /// The stand-in's and a user kernel's: `smemplan split`, `model's
    /// locations`, `all shared`, `all local`, `cubie`; an integrator's: `measure`'s label (planner,
    /// placement, shared layout).
    pub name: String,
    /// Padded shared bytes per run.
    pub stride: u64,
    /// Local bytes per thread (both local pools).
    pub local_bytes: u64,
    /// The planner's workload (the model's access weights).
    #[serde(skip)]
    pub workload: Workload,
    /// The block sizes of its candidates.
    #[serde(skip)]
    pub blocks: Vec<u64>,
}

/// One candidate: a layout at a block size, estimated (and maybe timed).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Candidate {
    /// Index into the layouts.
    pub layout: usize,
    /// Threads per block.
    pub block: u64,
    /// 1-based rank by estimate (an integrator's on the card: with the
    /// compiled kernel's registers and stack).
    pub rank: usize,
    /// 1-based rank by the planner's estimate (before compiling).
    pub planner_rank: usize,
    /// Estimated batch time, seconds (of the estimate `rank` orders by).
    pub estimated_seconds: f64,
    /// The whole estimate (ties of `estimated_seconds` break as the
    /// planner's block search breaks them, [`throughput::ranking`]).
    #[serde(skip)]
    pub estimate: throughput::Estimate,
    /// Best measured time, milliseconds (`None`: not timed).
    pub measured_ms: Option<f64>,
}

/// What `tune` times.
// Read by the card's half only (the `gpu` feature).
#[cfg_attr(not(feature = "gpu"), allow(dead_code))]
pub(crate) enum Timed {
    /// The read-modify-write stand-in of a kernel model's layouts.
    StandIn,
    /// A built-in integrator on a case, with its layouts as `measure`
    /// builds them (in the order of [`Ranking::layouts`]).
    Integrator { case: Box<Case>, layouts: Vec<cases::Layout> },
    /// The user's kernel on the stand-in's layouts, each layout's
    /// allocation (its header) in the order of [`Ranking::layouts`].
    UserKernel { source: Box<UserSource>, allocations: Vec<Allocation> },
}

/// The layouts and the ranked candidates of the arguments' kernel.
// The subject and the picks are read by the card's half only.
#[cfg_attr(not(feature = "gpu"), allow(dead_code))]
pub(crate) struct Ranking {
    /// What is timed.
    pub subject: Timed,
    /// What is tuned, for the reader (model and settings, or the case).
    pub title: String,
    /// The layouts.
    pub layouts: Vec<Layout>,
    /// Every candidate, best estimate first.
    pub candidates: Vec<Candidate>,
    /// How many of them `--share` times.
    pub share: usize,
    /// smemplan's layout (CUDA's occupancy API is asked on it).
    pub ours: usize,
    /// The block `plan --tiers auto` picks for it (`None`: none launches).
    pub ours_block: Option<u64>,
    /// CuBIE's pick: its layout and its halving rule's block.
    pub cubie: Option<(usize, u64)>,
}

/// How many of `candidates` a share of `share` times: its floor, at least
/// one (and never more than there are).
pub(crate) fn share_count(candidates: usize, share: f64) -> usize {
    ((candidates as f64 * share).floor() as usize).clamp(1.min(candidates), candidates)
}

/// Where a layout keeps its bytes: in shared memory, in local memory (the
/// pair of [`timed_share`]'s placements: all shared, all local, a split).
// Called by the card's half (the `gpu` feature) and the tests.
#[cfg_attr(not(any(feature = "gpu", test)), allow(dead_code))]
pub(crate) fn placement(l: &Layout) -> (bool, bool) {
    (l.stride > 0, l.local_bytes > 0)
}

/// Which `share` of the ranked candidates `tune` times, in the order it
/// times them (indices into the ranking; `candidates[i]` is candidate `i`'s
/// layout and that layout's [`placement`]). First, for up to half the
/// share, the best-ranked candidate of each placement, in rank order, then
/// of each layout not yet timed; then the layout that measured fastest
/// among them gets the rest, its blocks in rank order; what is left of the
/// share goes to the other candidates in rank order. The estimate orders
/// the blocks of one layout better than it orders layouts (the compiled
/// kernel's registers and caches decide between those), and blocks it ties
/// can fill a whole tenth with one layout: on Dormand–Prince n = 64 f32 the
/// rank-order tenth timed seven tied blocks of CuBIE's all local and
/// reached 0.969 of the best, smemplan's all local at block 64. Placements
/// come before layouts because the planners' layouts of one placement
/// rank together: on backward Euler n = 16 f32 the first four layouts
/// explored were all shared and the tenth reached 0.894, all local being
/// fastest. `measure(i)` times candidate `i` (`None`: it cannot launch;
/// the slot is spent all the same).
// Called by the card's half (the `gpu` feature) and the tests.
#[cfg_attr(not(any(feature = "gpu", test)), allow(dead_code))]
pub(crate) fn timed_share(
    candidates: &[(usize, (bool, bool))],
    share: usize,
    measure: &mut dyn FnMut(usize) -> Result<Option<f64>>,
) -> Result<Vec<usize>> {
    let share = share.min(candidates.len());
    let explore = (share / 2).max(1);
    let mut tried = vec![false; candidates.len()];
    let mut order: Vec<usize> = Vec::with_capacity(share);
    let mut fastest: Option<(f64, usize)> = None;
    // A placement's best-ranked candidate, then a layout's.
    for new in [
        &|i: usize, order: &[usize]| order.iter().all(|&o| candidates[o].1 != candidates[i].1),
        &|i: usize, order: &[usize]| order.iter().all(|&o| candidates[o].0 != candidates[i].0),
    ] as [&dyn Fn(usize, &[usize]) -> bool; 2]
    {
        for i in 0..candidates.len() {
            if order.len() >= explore {
                break;
            }
            if tried[i] || !new(i, &order) {
                continue;
            }
            tried[i] = true;
            order.push(i);
            if let Some(ms) = measure(i)? {
                if fastest.is_none_or(|(best, _)| ms < best) {
                    fastest = Some((ms, candidates[i].0));
                }
            }
        }
    }
    for only in [fastest.map(|(_, layout)| layout), None] {
        for (i, &(layout, _)) in candidates.iter().enumerate() {
            if order.len() >= share {
                return Ok(order);
            }
            if tried[i] || only.is_some_and(|l| l != layout) {
                continue;
            }
            tried[i] = true;
            order.push(i);
            measure(i)?;
        }
    }
    Ok(order)
}

// Called by the card's half (the `gpu` feature) and the tests.
#[cfg_attr(not(any(feature = "gpu", test)), allow(dead_code))]
impl Ranking {
    /// An integrator's or a user kernel's candidates re-ranked by the
    /// estimate as its compiled kernels have it, each layout's `(registers,
    /// stack bytes)` in `kept` ([`cases::compiled`]): the compiler holds
    /// some local arrays in registers, which the planner cannot know.
    /// Candidates a compiled kernel cannot launch (too many registers for
    /// the block) leave the set, and `share` of what stays is timed; returns
    /// how many left. Called once, on the planner's workloads. The stand-in
    /// keeps its ranking (its estimate is its exact accesses).
    pub(crate) fn compiled(&mut self, device: &DeviceProfile, share: f64, kept: &[(u64, u64)]) -> Result<usize> {
        match &self.subject {
            Timed::StandIn => return Ok(0),
            Timed::Integrator { case, layouts: built } => {
                for ((l, b), &(registers, stack)) in self.layouts.iter_mut().zip(built).zip(kept) {
                    l.workload = cases::compiled_workload(&b.kernel, case.batch, registers, stack);
                }
            }
            Timed::UserKernel { .. } => {
                for (l, &(registers, stack)) in self.layouts.iter_mut().zip(kept) {
                    l.workload = cases::compiled(l.workload, registers, stack);
                }
            }
        }
        let planned = std::mem::take(&mut self.candidates);
        self.candidates = ranked(&self.layouts, device)?;
        for c in &mut self.candidates {
            c.planner_rank =
                planned.iter().find(|p| (p.layout, p.block) == (c.layout, c.block)).map_or(0, |p| p.planner_rank);
        }
        if self.candidates.is_empty() {
            bail!("{}: no compiled layout can launch at any of its blocks", self.title);
        }
        self.share = share_count(self.candidates.len(), share);
        Ok(planned.len().saturating_sub(self.candidates.len()))
    }
}

/// The layouts and the ranked candidates of the arguments' kernel.
pub(crate) fn rank(args: &Args, device: &DeviceProfile) -> Result<Ranking> {
    // The user's file first: a missing one fails before any planning.
    let source = args.kernel.as_deref().map(UserSource::read).transpose()?;
    let mut ranking = match args.case.case()? {
        Some(case) => integrator_layouts(case, device)?,
        None => model_layouts(args, device, source)?,
    };
    let mut candidates = ranked(&ranking.layouts, device)?;
    if candidates.is_empty() {
        bail!("no layout of {} can launch on `{}`", ranking.title, device.name);
    }
    for c in &mut candidates {
        c.planner_rank = c.rank;
    }
    ranking.share = share_count(candidates.len(), args.share);
    ranking.candidates = candidates;
    Ok(ranking)
}

/// The candidates of `layouts` (each at its blocks) that can launch, ranked
/// by the estimate of each layout's workload, fastest first. Ties break as
/// the planner's block search breaks them ([`throughput::ranking`]: fewer
/// warp times, which still order the blocks of a workload with no accesses
/// left to time, then resident warps closest to one per scheduler, fuller
/// warps, the smaller block), then to the smaller footprint (stride and
/// local bytes), then to the layout listed first.
pub(crate) fn ranked(layouts: &[Layout], device: &DeviceProfile) -> Result<Vec<Candidate>> {
    let mut candidates = Vec::new();
    for (i, l) in layouts.iter().enumerate() {
        for &block in &l.blocks {
            if let Some(e) = throughput::estimate(device, &l.workload, block)? {
                candidates.push(Candidate {
                    layout: i,
                    block,
                    rank: 0,
                    planner_rank: 0,
                    estimated_seconds: e.seconds,
                    estimate: e,
                    measured_ms: None,
                });
            }
        }
    }
    // Layouts the estimate ties (all local ones that fit the cache, say)
    // go smaller footprint first, as the planner prefers its own: CuBIE's
    // all local, listed first, took 1.42× smemplan's at the same block on
    // DIRK n = 10 f64 (a larger stack), yet tied it.
    let footprint = |c: &Candidate| layouts[c.layout].stride + layouts[c.layout].local_bytes;
    candidates.sort_by(|a, b| {
        throughput::ranking(&a.estimate, &b.estimate)
            .then(footprint(a).cmp(&footprint(b)))
            .then(a.layout.cmp(&b.layout))
    });
    for (k, c) in candidates.iter_mut().enumerate() {
        c.rank = k + 1;
    }
    Ok(candidates)
}

/// The model `--model` or `--model-file` names, for the reader.
fn model_name(args: &Args) -> String {
    args.model_file.as_ref().map_or_else(|| args.model.clone(), |p| p.display().to_string())
}

/// The stand-in's layouts of a kernel model (a user kernel's too, with its
/// `source`): smemplan's split, the model's own locations, all shared, all
/// local (one of each footprint) and CuBIE's, each at every block size up
/// to the device's largest. Each layout's stride is its allocation's (the
/// header's `shared_stride_bytes`): smemplan's odd-word stride, CuBIE's
/// skewed one.
fn model_layouts(args: &Args, device: &DeviceProfile, source: Option<UserSource>) -> Result<Ranking> {
    let name = model_name(args);
    let model = match &args.model_file {
        Some(path) => model::load(path)?,
        None => model::builtin(&args.model)?,
    };
    let kernel: Kernel = model.instantiate(&args.sets).with_context(|| format!("model `{name}`"))?;
    // `plan --tiers auto`'s own split: its options under the same time
    // limit, batch and (pre-compile: none counted) registers.
    let plan = CompareOptions {
        plan: PlanOptions { time_limit: Some(args.time_limit), ..PlanOptions::default() },
        device: device.clone(),
        requested_block_size: TierOptions::default().cubie_requested,
        runs: args.runs,
        registers_per_thread: 0,
    };
    let choice = kernel_tiers(&kernel, &plan)?;
    let mut layouts: Vec<Layout> = Vec::new();
    let mut allocations: Vec<Allocation> = Vec::new();
    let mut add = |name: &str, report: &PlanReport, shared: SharedLayout| -> Result<()> {
        let allocation = Allocation::new(report, shared)?;
        let stride = allocation.stride;
        layouts.push(Layout {
            name: name.into(),
            stride,
            local_bytes: report.local_bytes + report.persistent_local_bytes,
            workload: kernel.accesses.workload(report, stride, 0, args.runs),
            blocks: (1..=device.max_threads_per_block).collect(),
        });
        allocations.push(allocation);
        Ok(())
    };
    let mut footprints: Vec<(u64, u64)> = Vec::new();
    for (name, plan) in [
        ("smemplan split", &choice.chosen),
        ("model's locations", &choice.own_locations),
        ("all shared", &choice.all_shared),
        ("all local", &choice.all_local),
    ] {
        // The same footprint twice is one layout (the first name wins).
        if !footprints.contains(&(plan.padded_shared_bytes, plan.local_bytes)) {
            footprints.push((plan.padded_shared_bytes, plan.local_bytes));
            add(name, &plan.report, SharedLayout::default())?;
        }
    }
    let cubie = smemplan::plan::cubie_kernel(&kernel)?;
    add("cubie", &cubie.report, SharedLayout::ThreadMajor(Padding::Skew(cubie.footprint.skew_bytes)))?;
    let cubie_layout = layouts.len() - 1;
    let cubie_block = device
        .limit_blocksize(TierOptions::default().cubie_requested, layouts[cubie_layout].stride, args.runs)
        .ok()
        .map(|l| (cubie_layout, l.block_size));
    Ok(Ranking {
        subject: match source {
            Some(source) => Timed::UserKernel { source: Box::new(source), allocations },
            None => Timed::StandIn,
        },
        title: match args.sets.as_slice() {
            [] => format!("{name} (defaults)"),
            sets => format!("{name} ({})", sets.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(" ")),
        },
        layouts,
        candidates: Vec::new(),
        share: 0,
        ours: 0,
        ours_block: choice.chosen.block_size,
        cubie: cubie_block,
    })
}

/// A user kernel's header for each layout (`None` for other subjects):
/// the nominal block of each is the layout's best-ranked one.
fn user_headers(args: &Args, ranking: &Ranking) -> Result<Option<Vec<String>>> {
    let Timed::UserKernel { allocations, .. } = &ranking.subject else { return Ok(None) };
    let mut headers = Vec::with_capacity(allocations.len());
    for (i, allocation) in allocations.iter().enumerate() {
        let block = ranking.candidates.iter().find(|c| c.layout == i).map_or(64, |c| c.block);
        headers.push(user_kernel::header(allocation, block, args.io_bytes)?);
    }
    Ok(Some(headers))
}

/// An integrator's layouts: `measure`'s, each at `measure`'s block sizes
/// (the picks among them).
fn integrator_layouts(case: Case, device: &DeviceProfile) -> Result<Ranking> {
    let (split, ours, _) = cases::smemplan_pick(device, &case)?;
    let cubie = cases::cubie_pick(device, &case)?;
    let built = cases::layouts(device, &case, &split, &[ours, cubie])?;
    let mut layouts = Vec::with_capacity(built.len());
    for l in &built {
        layouts.push(Layout {
            name: calibrate::label(&l.name),
            stride: l.kernel.allocation.shared_bytes_per_block(1)?,
            local_bytes: l.kernel.report.local_bytes + l.kernel.report.persistent_local_bytes,
            workload: cases::workload(&l.kernel, case.batch, 0),
            blocks: l.blocks.clone(),
        });
    }
    let ours_layout = cases::smemplan_layout(&built, &split)
        .with_context(|| format!("{}: smemplan's split {split:?} is none of measure's layouts", case.name))?;
    Ok(Ranking {
        title: case.name.clone(),
        cubie: cases::cubie_layout(&built).map(|i| (i, cubie)),
        subject: Timed::Integrator { case: Box::new(case), layouts: built },
        layouts,
        candidates: Vec::new(),
        share: 0,
        ours: ours_layout,
        ours_block: Some(ours),
    })
}

/// Runs `smemplan-lab tune`.
pub fn run(args: &Args, out: &mut dyn Write) -> Result<Verdict> {
    if !(args.share > 0.0 && args.share <= 1.0) {
        bail!("--share must be in (0, 1], not {}", args.share);
    }
    let device = DeviceProfile::named(&args.device)?;
    let ranking = rank(args, &device)?;
    let (layouts, candidates, share) = (&ranking.layouts, &ranking.candidates, ranking.share);
    writeln!(
        out,
        "{}: {} layouts × block sizes = {} candidates on `{}`; {share} are timed (each placement's and layout's best by estimate, then the fastest layout's){}",
        ranking.title,
        layouts.len(),
        candidates.len(),
        device.name,
        if args.exhaustive { " (and, --exhaustive, every other)" } else { "" }
    )?;
    for l in layouts {
        writeln!(out, "  layout {:<18} stride {:>6} B, local {:>6} B", l.name, l.stride, l.local_bytes)?;
    }
    let headers = user_headers(args, &ranking)?;
    if let (Some(dir), Some(headers)) = (&args.headers, &headers) {
        if !dir.is_dir() {
            bail!("--headers `{}`: no such directory", dir.display());
        }
        for (k, (header, l)) in headers.iter().zip(layouts).enumerate() {
            let path = dir.join(format!("layout-{}.cuh", k + 1));
            std::fs::write(&path, header).with_context(|| format!("cannot write `{}`", path.display()))?;
            writeln!(out, "  header of {} written to {}", l.name, path.display())?;
        }
    }
    if args.rank_only {
        if let Some(block) = ranking.ours_block {
            let rank = candidates.iter().find(|c| (c.layout, c.block) == (ranking.ours, block)).map(|c| c.rank);
            writeln!(
                out,
                "  plan --tiers auto picks {} block {block} (rank {})",
                layouts[ranking.ours].name,
                rank.map_or("-".into(), |r| r.to_string())
            )?;
        }
        for c in candidates.iter().take(share) {
            writeln!(
                out,
                "  rank {:>4}: {} block {} (estimated {:.6} ms)",
                c.rank,
                layouts[c.layout].name,
                c.block,
                c.estimated_seconds * 1e3
            )?;
        }
        if !matches!(ranking.subject, Timed::StandIn) {
            writeln!(
                out,
                "on the card the compiled kernels' registers and stack re-rank these (the compiler holds some local \
                 arrays in registers), and candidates a kernel cannot launch leave the set"
            )?;
        }
        return Ok(Verdict::Done);
    }
    smemplan_lab::gpu::guarded(|| card::run(args, &device, ranking, headers, out))
}

#[cfg(not(feature = "gpu"))]
mod card {
    use super::*;

    pub fn run(_: &Args, _: &DeviceProfile, _: Ranking, _: Option<Vec<String>>, _: &mut dyn Write) -> Result<Verdict> {
        bail!("this smemplan-lab was built without GPU support; rebuild with `cargo build --release -p smemplan-lab --features gpu` (or use --rank-only)")
    }
}

#[cfg(feature = "gpu")]
mod card {
    use super::*;
    use smemplan_lab::gpu::device::{CompiledKernel, DeviceInfo, Gpu, UserArrays};
    use smemplan_lab::gpu::standin::StandIn;
    use smemplan_lab::integrate::{self, ENTRY, NVRTC_OPTIONS};
    use std::time::Instant;

    /// The candidate of least measured time (`None`: none timed).
    fn best_of(cs: &[Candidate]) -> Option<&Candidate> {
        let ms = |c: &Candidate| c.measured_ms.unwrap_or(f64::INFINITY);
        cs.iter().filter(|c| c.measured_ms.is_some()).min_by(|a, b| ms(a).total_cmp(&ms(b)))
    }

    #[derive(Serialize)]
    struct Pick {
        layout: String,
        block: u64,
        rank: usize,
        estimated_ms: f64,
        measured_ms: Option<f64>,
        /// The best measured time over this pick's (≥ 1).
        slowdown: Option<f64>,
    }

    #[derive(Serialize)]
    struct LayoutBest {
        layout: String,
        stride: u64,
        local_bytes: u64,
        registers: u64,
        stack_bytes: u64,
        /// Best measured block and time over the blocks timed.
        best_block: Option<u64>,
        best_ms: Option<f64>,
        blocks_timed: usize,
    }

    #[derive(Serialize)]
    struct TuneJson<'a> {
        device: &'a DeviceInfo,
        profile: &'a str,
        /// `stand-in`, `integrator` or `user` (`--kernel`).
        kernel: &'static str,
        /// The user kernel's source file (`None` for the others).
        source: Option<String>,
        /// The user kernel's `io` bytes per run (`None` for the others).
        io_bytes: Option<u64>,
        /// The kernel model (an integrator's: its method).
        model: &'a str,
        sets: Vec<String>,
        /// The integrator's case (`measure`'s name), `None` for the stand-in.
        case: Option<&'a str>,
        /// Runs (an integrator's: systems) in the batch.
        runs: u64,
        /// The stand-in's passes (`None` for an integrator).
        iterations: Option<u64>,
        candidates: usize,
        share_timed: usize,
        timed: usize,
        /// Candidates the compiled kernels cannot launch: an integrator's
        /// leave the set before it is ranked, the stand-in's are skipped
        /// where the timing reaches them.
        unlaunchable: usize,
        exhaustive: bool,
        /// Seconds from opening the card to the last timing.
        wall_seconds: f64,
        /// The measured best among the share timed (what `tune` returns).
        tuned: Pick,
        /// The model's own pick (rank 1).
        model_pick: Pick,
        /// What `plan --tiers auto` picks (smemplan's split at its block,
        /// the `--rank-only` line), which is not always rank 1: the estimate
        /// may tie it with another layout (CuBIE's all local ties
        /// smemplan's where both fit the cache), and a compiled integrator
        /// re-ranks. `None` when the compiled kernel cannot launch it.
        planner_pick: Option<Pick>,
        /// The measured best over every timed candidate (all, with --exhaustive).
        best_timed: Pick,
        /// tuned ÷ best over all, as throughput (with --exhaustive).
        tuned_share_of_best: Option<f64>,
        /// CuBIE's halving pick on its own layout.
        cubie_pick: Option<Pick>,
        /// CUDA's occupancy API on smemplan's layout.
        occupancy_api_pick: Option<Pick>,
        layouts: Vec<LayoutBest>,
        all: &'a [Candidate],
    }

    /// The compiled kernels of a subject, and how to time one candidate.
    enum Bench<'a> {
        StandIn(Vec<StandIn>),
        Integrator {
            case: &'a Case,
            layouts: &'a [cases::Layout],
            // Boxed: the card's arrays outweigh the stand-in's list.
            reference: Box<integrate::Trajectories>,
            arrays: Box<smemplan_lab::gpu::device::IntegratorArrays>,
        },
        User {
            allocations: &'a [Allocation],
            arrays: Box<UserArrays>,
            io_bytes: u64,
            /// The first timed candidate (`layout at block B`) and the `io`
            /// it left, which every later one must leave too.
            first: Option<(String, Vec<u8>)>,
        },
    }

    impl Bench<'_> {
        /// Dynamic shared bytes of layout `layout` at `block` threads.
        fn shared_bytes(&self, layout: usize, block: u64) -> Result<u64> {
            Ok(match self {
                Bench::StandIn(kernels) => kernels[layout].shared_bytes(block),
                Bench::Integrator { layouts, .. } => layouts[layout].kernel.dynamic_shared_bytes(block)?,
                Bench::User { allocations, .. } => allocations[layout].shared_bytes_per_block(block)?,
            })
        }

        /// The best of `repeats` timed launches, milliseconds; `Err` with
        /// the first difference when an integrator's output is not the CPU
        /// reference's bit for bit, or a user kernel's `io` not the first
        /// timed candidate's.
        fn time(
            &mut self,
            gpu: &Gpu,
            kernel: &CompiledKernel,
            c: &Candidate,
            name: &str,
            runs: u64,
            repeats: usize,
        ) -> Result<std::result::Result<f64, String>> {
            let shared = self.shared_bytes(c.layout, c.block)?;
            let times = match self {
                Bench::StandIn(_) => gpu.time_standin(kernel, runs, c.block, shared, repeats)?,
                Bench::Integrator { case, reference, arrays, .. } => {
                    let timed = gpu.time_integrator(kernel, arrays, c.block, shared, repeats)?;
                    if let Err(m) = reference.compare(&timed.out, &timed.stats) {
                        return Ok(Err(format!(
                            "{}: {name} at block {} does not reproduce the CPU reference bit for bit: {}",
                            case.name, c.block, m.message
                        )));
                    }
                    timed.times_ms
                }
                Bench::User { arrays, io_bytes, first, .. } => {
                    let (times, io) = gpu.time_user_kernel(kernel, arrays, c.block, shared, repeats)?;
                    match first {
                        None => *first = Some((format!("{name} at block {}", c.block), io)),
                        Some((label, expected)) => {
                            if let Some(d) = user_kernel::first_difference(expected, &io, *io_bytes) {
                                return Ok(Err(format!(
                                    "{name} at block {} leaves io unlike {label} did: {d} (a layout must not change \
                                     the results: an aliasing bug or a race in the kernel)",
                                    c.block
                                )));
                            }
                        }
                    }
                    times
                }
            };
            Ok(Ok(times.into_iter().reduce(f64::min).context("no timed launch")?))
        }
    }

    pub fn run(
        args: &Args,
        profile: &DeviceProfile,
        ranking: Ranking,
        headers: Option<Vec<String>>,
        out: &mut dyn Write,
    ) -> Result<Verdict> {
        let mut ranking = ranking;
        let gpu = Gpu::open(args.gpu)?;
        let started = Instant::now();
        let (compiled, standins) = match &ranking.subject {
            Timed::StandIn => {
                let standins: Vec<StandIn> =
                    ranking.layouts.iter().map(|l| StandIn::new(l.stride, l.local_bytes, args.iterations)).collect();
                let sources: Vec<(String, &str)> = standins.iter().map(|k| (k.source(), standin::KERNEL)).collect();
                (gpu.compile_all(&sources, &[])?, standins)
            }
            Timed::Integrator { layouts: built, .. } => {
                let options: Vec<String> = NVRTC_OPTIONS.iter().map(|s| s.to_string()).collect();
                let sources: Vec<(String, &str)> = built.iter().map(|l| (l.kernel.source.clone(), ENTRY)).collect();
                (gpu.compile_all(&sources, &options)?, Vec::new())
            }
            Timed::UserKernel { source, .. } => {
                let headers = headers.as_deref().context("a user kernel's headers")?;
                (compile_user(&gpu, source, headers)?, Vec::new())
            }
        };
        let kept: Vec<(u64, u64)> = compiled.iter().map(|k| (k.registers, k.local_bytes)).collect();
        let dropped = ranking.compiled(profile, args.share, &kept)?;
        let Ranking { subject, title, layouts, mut candidates, share, ours, ours_block, cubie } = ranking;
        let (mut bench, runs) = match &subject {
            Timed::StandIn => (Bench::StandIn(standins), args.runs),
            Timed::UserKernel { allocations, .. } => {
                let io = user_kernel::fill(args.runs, args.io_bytes)?;
                let arrays = Box::new(gpu.user_arrays(&io, args.runs)?);
                (Bench::User { allocations, arrays, io_bytes: args.io_bytes, first: None }, args.runs)
            }
            Timed::Integrator { case, layouts: built } => {
                let reference = Box::new(integrate::reference(&case.setup, case.batch, 0..case.batch)?);
                let arrays = Box::new(gpu.integrator_arrays(&case.setup.inputs(case.batch), case.batch)?);
                (Bench::Integrator { case, layouts: built, reference, arrays }, case.batch)
            }
        };
        let (mut timed, mut unlaunchable) = (0, dropped);
        let mut mismatch = None;
        let by_layout: Vec<(usize, (bool, bool))> =
            candidates.iter().map(|c| (c.layout, placement(&layouts[c.layout]))).collect();
        let mut time = |i: usize| -> Result<Option<f64>> {
            let c = &mut candidates[i];
            let k = &compiled[c.layout];
            // A user kernel may declare static shared memory of its own.
            if c.block > k.max_threads_per_block
                || bench.shared_bytes(c.layout, c.block)?.saturating_add(k.static_shared_bytes)
                    > gpu.info.limits.max_shared_per_block_optin
            {
                unlaunchable += 1;
                return Ok(None);
            }
            match bench.time(&gpu, k, c, &layouts[c.layout].name, runs, args.repeats as usize)? {
                Ok(ms) => {
                    c.measured_ms = Some(ms);
                    timed += 1;
                    Ok(Some(ms))
                }
                Err(m) => {
                    mismatch = Some(m);
                    bail!("a timed run's results are not the expected ones")
                }
            }
        };
        // Exhaustive: every candidate in rank order, then (below) the share
        // as it would have gone on those times.
        let live = if args.exhaustive {
            (0..by_layout.len()).try_for_each(|i| time(i).map(drop)).map(|()| None)
        } else {
            timed_share(&by_layout, share, &mut time).map(Some)
        };
        if let Some(m) = mismatch {
            // A wrong result is no timing: the check failed (exit 1),
            // nothing is reported or written.
            writeln!(out, "MISMATCH {m}; tune stops")?;
            return Ok(Verdict::Rejected);
        }
        let chosen = match live? {
            Some(chosen) => chosen,
            None => timed_share(&by_layout, share, &mut |i| Ok(candidates[i].measured_ms))?,
        };
        let wall_seconds = started.elapsed().as_secs_f64();
        let pick = |c: &Candidate, best: Option<f64>| Pick {
            layout: layouts[c.layout].name.clone(),
            block: c.block,
            rank: c.rank,
            estimated_ms: c.estimated_seconds * 1e3,
            measured_ms: c.measured_ms,
            slowdown: c.measured_ms.zip(best).map(|(m, b)| m / b),
        };
        let Some(best_all) = best_of(&candidates) else { bail!("no candidate could be timed on this card") };
        let best_ms = best_all.measured_ms;
        let in_share: Vec<Candidate> = chosen.iter().map(|&i| candidates[i].clone()).collect();
        let tuned = best_of(&in_share).unwrap_or(&candidates[0]);
        let find = |layout: usize, block: u64| candidates.iter().find(|c| c.layout == layout && c.block == block);
        let cubie = cubie.and_then(|(l, b)| find(l, b)).map(|c| pick(c, best_ms));
        let api = occupancy_api(&gpu, &compiled[ours], &|b| bench.shared_bytes(ours, b))?
            .and_then(|b| find(ours, b))
            .map(|c| pick(c, best_ms));
        let per_layout: Vec<LayoutBest> = layouts
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let mine: Vec<Candidate> = candidates.iter().filter(|c| c.layout == i).cloned().collect();
                let best = best_of(&mine);
                LayoutBest {
                    layout: l.name.clone(),
                    stride: l.stride,
                    local_bytes: l.local_bytes,
                    registers: compiled[i].registers,
                    stack_bytes: compiled[i].local_bytes,
                    best_block: best.map(|c| c.block),
                    best_ms: best.and_then(|c| c.measured_ms),
                    blocks_timed: mine.iter().filter(|c| c.measured_ms.is_some()).count(),
                }
            })
            .collect();
        let model_name = model_name(args);
        let (kernel, model, case, source) = match &subject {
            Timed::StandIn => ("stand-in", model_name.as_str(), None, None),
            Timed::Integrator { case, .. } => ("integrator", case.setup.method.name(), Some(title.as_str()), None),
            Timed::UserKernel { source, .. } => {
                ("user", model_name.as_str(), None, Some(source.path.display().to_string()))
            }
        };
        let report = TuneJson {
            device: &gpu.info,
            profile: &profile.name,
            kernel,
            io_bytes: source.is_some().then_some(args.io_bytes),
            source,
            model,
            sets: args.sets.iter().map(|(k, v)| format!("{k}={v}")).collect(),
            case,
            runs,
            iterations: matches!(subject, Timed::StandIn).then_some(args.iterations),
            candidates: candidates.len(),
            share_timed: share,
            timed,
            unlaunchable,
            exhaustive: args.exhaustive,
            wall_seconds,
            tuned: pick(tuned, best_ms),
            model_pick: pick(&candidates[0], best_ms),
            planner_pick: ours_block.and_then(|b| find(ours, b)).map(|c| pick(c, best_ms)),
            best_timed: pick(best_all, best_ms),
            tuned_share_of_best: args.exhaustive.then(|| best_ms.zip(tuned.measured_ms).map(|(b, t)| b / t)).flatten(),
            cubie_pick: cubie,
            occupancy_api_pick: api,
            layouts: per_layout,
            all: &candidates,
        };
        let show = |p: &Pick| {
            format!(
                "{} block {} (rank {}): estimated {:.3} ms, measured {}",
                p.layout,
                p.block,
                p.rank,
                p.estimated_ms,
                p.measured_ms.map_or("not timed".into(), |m| format!(
                    "{m:.3} ms ({:.3} of the best)",
                    p.slowdown.map_or(f64::NAN, |s| 1.0 / s)
                ))
            )
        };
        writeln!(out, "device  {} (driver CUDA {})", gpu.info.name, gpu.info.driver_cuda_version)?;
        if let Some(w) = smemplan_lab::gpu::profile_mismatch(&gpu.info.name, &profile.name) {
            writeln!(out, "{w}")?;
        }
        writeln!(
            out,
            "timed   {timed} of {} candidates (share {share}{}) in {wall_seconds:.1} s{}",
            candidates.len(),
            match kernel {
                "integrator" => ", each bitwise equal to the CPU reference",
                "user" => ", each leaving io bitwise equal to the first's",
                _ => "",
            },
            if unlaunchable > 0 {
                format!("; {unlaunchable} the compiled kernel cannot launch")
            } else {
                String::new()
            }
        )?;
        writeln!(out, "tuned   {}", show(&report.tuned))?;
        writeln!(out, "model   {}", show(&report.model_pick))?;
        if let Some(p) = &report.planner_pick {
            writeln!(out, "planner {} (what plan --tiers auto picks)", show(p))?;
        }
        writeln!(out, "best    {}", show(&report.best_timed))?;
        if let Some(s) = report.tuned_share_of_best {
            writeln!(out, "tuned reaches {s:.3} of the best over all {} candidates", candidates.len())?;
        }
        if let Some(c) = &report.cubie_pick {
            writeln!(out, "cubie   {}", show(c))?;
        }
        match &report.occupancy_api_pick {
            Some(c) => writeln!(out, "cuda    {}", show(c))?,
            None => writeln!(out, "cuda    occupancy API: no block among the candidates (or no warp multiple fits)")?,
        }
        for l in &report.layouts {
            writeln!(
                out,
                "  {:<18} {} regs, {} B stack: best {} over {} blocks timed",
                l.layout,
                l.registers,
                l.stack_bytes,
                l.best_block.zip(l.best_ms).map_or("-".into(), |(b, m)| format!("block {b}, {m:.3} ms")),
                l.blocks_timed
            )?;
        }
        if let Some(path) = &args.json {
            let text = serde_json::to_string_pretty(&report)?;
            std::fs::write(path, text + "\n").with_context(|| format!("cannot write `{}`", path.display()))?;
        }
        Ok(Verdict::Done)
    }

    /// The user's kernel compiled against each layout's header
    /// ([`user_headers`]; NVRTC on all cores): NVRTC's log names the user's
    /// file; a module without the entry says what the contract asks.
    fn compile_user(gpu: &Gpu, source: &UserSource, headers: &[String]) -> Result<Vec<CompiledKernel>> {
        let sources: Vec<(String, &str)> =
            headers.iter().map(|h| (source.with_header(h), user_kernel::ENTRY)).collect();
        let path = source.path.display();
        gpu.compile_all(&sources, &[]).map_err(|e| {
            let message = e.to_string();
            if message.contains("NVRTC rejected") {
                anyhow::anyhow!("kernel source `{path}` does not compile (NVRTC's log follows):\n{message}")
            } else if message.contains(&format!("kernel `{}`", user_kernel::ENTRY)) {
                anyhow::anyhow!(
                    "kernel source `{path}` compiled, but its module has no `{}`: declare the entry as `{}` \
                     (without extern \"C\" the name is mangled); {message}",
                    user_kernel::ENTRY,
                    user_kernel::SIGNATURE
                )
            } else {
                e.into()
            }
        })
    }

    /// `cudaOccupancyMaxPotentialBlockSizeVariableSMem`'s answer for
    /// `compiled` with `shared(block)` dynamic bytes: warp multiples from
    /// the largest allowed down, the first of most resident threads
    /// (strictly more replaces it).
    fn occupancy_api(gpu: &Gpu, compiled: &CompiledKernel, shared: &dyn Fn(u64) -> Result<u64>) -> Result<Option<u64>> {
        let warp = gpu.info.limits.warp_size.max(1);
        let top = compiled.max_threads_per_block.min(gpu.info.limits.max_threads_per_block) / warp * warp;
        let mut best: Option<(u64, u64)> = None;
        let mut block = top;
        while block >= warp {
            let shared = shared(block)?;
            if shared <= gpu.info.limits.max_shared_per_block_optin {
                let threads = gpu.active_blocks(compiled, block, shared)? * block;
                if threads > 0 && best.is_none_or(|(_, t)| threads > t) {
                    best = Some((block, threads));
                }
            }
            block -= warp;
        }
        Ok(best.map(|(b, _)| b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use smemplan_lab::gpu::measure::{CaseSpec, Run};

    #[derive(Parser)]
    struct TuneCommand {
        #[command(flatten)]
        args: Args,
    }

    fn args(flags: &[&str]) -> Args {
        TuneCommand::try_parse_from(std::iter::once("tune").chain(flags.iter().copied())).unwrap().args
    }

    #[test]
    fn the_share_is_its_floor_and_at_least_one() {
        assert_eq!(share_count(168, 0.1), 16);
        assert_eq!(share_count(9, 0.1), 1);
        assert_eq!(share_count(9, 0.5), 4);
        assert_eq!(share_count(10, 1.0), 10);
        assert_eq!(share_count(1, 0.01), 1);
    }

    #[test]
    fn an_integrators_candidates_are_measures_layouts_at_measures_blocks() {
        let device = DeviceProfile::named("h100").unwrap();
        let a = args(&["--method", "dirk", "--system", "robertson", "--batch", "4096"]);
        let r = rank(&a, &device).unwrap();
        let Timed::Integrator { case, layouts: built } = &r.subject else { panic!("not the integrator") };
        assert_eq!(case.name, "dirk/robertson/f32/batch-4096");
        assert_eq!(r.layouts.len(), built.len());
        // Every block of every layout that can launch, once.
        let mut expected = 0;
        for (i, (l, b)) in r.layouts.iter().zip(built).enumerate() {
            assert_eq!(l.name, calibrate::label(&b.name));
            assert_eq!(l.blocks, b.blocks);
            for &block in &b.blocks {
                let launches = throughput::estimate(&device, &l.workload, block).unwrap().is_some();
                let n = r.candidates.iter().filter(|c| (c.layout, c.block) == (i, block)).count();
                assert_eq!(n, usize::from(launches), "{} block {block}", l.name);
                expected += n;
            }
        }
        assert_eq!(r.candidates.len(), expected);
        assert_eq!(r.share, expected / 10);
        for (k, w) in r.candidates.windows(2).enumerate() {
            assert_eq!((w[0].rank, w[0].planner_rank), (k + 1, k + 1));
            assert!(w[0].estimated_seconds <= w[1].estimated_seconds);
        }
        // The picks are candidates, on their own layouts. DIRK on Robertson
        // (n = 3) holds its arrays in registers (models/integrators/dirk.toml):
        // all local.
        let (split, ours, _) = cases::smemplan_pick(&device, case).unwrap();
        assert_eq!(split.len(), built[0].kernel.report.buffers.len(), "{split:?}");
        assert_eq!(r.layouts[r.ours].name, "smemplan all-local");
        assert_eq!(r.ours_block, Some(ours));
        assert!(r.candidates.iter().any(|c| (c.layout, c.block) == (r.ours, ours)));
        let (cubie_layout, cubie_block) = r.cubie.unwrap();
        assert_eq!(r.layouts[cubie_layout].name, "cubie all-shared, odd-stride");
        assert_eq!(cubie_block, cases::cubie_pick(&device, case).unwrap());
    }

    /// DIRK n = 10 f64 (the local hits' held-out batch): CuBIE's all local
    /// and smemplan's both fit the cache at block 32, so the estimate ties
    /// them. The tie goes to the smaller footprint, smemplan's, which is
    /// what `plan --tiers auto` picks; listed first, CuBIE's took rank 1,
    /// and `planner_pick` reported it (measured 1.42× slower on the H100).
    #[test]
    fn layouts_the_estimate_ties_rank_smaller_footprint_first() {
        let device = DeviceProfile::named("h100").unwrap();
        let r =
            rank(&args(&["--method", "dirk", "--n", "10", "--precision", "f64", "--t-end", "0.1"]), &device).unwrap();
        let [first, second] = [&r.candidates[0], &r.candidates[1]];
        assert_eq!(first.estimated_seconds, second.estimated_seconds, "the case no longer ties");
        let footprint = |c: &Candidate| r.layouts[c.layout].stride + r.layouts[c.layout].local_bytes;
        assert!(footprint(first) < footprint(second));
        assert!(first.layout > second.layout, "the tie is no longer against the listing order");
        assert_eq!((first.layout, Some(first.block)), (r.ours, r.ours_block));
    }

    #[test]
    fn compiled_registers_re_rank_and_drop_what_cannot_launch() {
        let device = DeviceProfile::named("h100").unwrap();
        let mut r = rank(&args(&["--method", "dirk", "--system", "robertson", "--batch", "4096"]), &device).unwrap();
        let before = r.candidates.len();
        // 255 registers a thread: at most 256 threads a block launch.
        let kept = vec![(255, 0); r.layouts.len()];
        let dropped = r.compiled(&device, 0.1, &kept).unwrap();
        assert!(dropped > 0 && r.candidates.len() + dropped == before);
        assert!(r.candidates.iter().all(|c| c.block <= 256 && c.planner_rank > 0));
        assert_eq!(r.share, r.candidates.len() / 10);
        // The stand-in keeps its ranking.
        let mut s = rank(&args(&["--set", "n=3", "--runs", "4096", "--time-limit", "2s"]), &device).unwrap();
        assert_eq!(s.compiled(&device, 0.1, &[]).unwrap(), 0);
    }

    /// A user kernel takes the stand-in's layouts and ranking, with one
    /// allocation (one header) per layout at the layout's stride; CuBIE's
    /// stride is its footprint's, as before allocations gave the strides.
    /// Its compiled registers re-rank and drop what cannot launch.
    #[test]
    fn a_user_kernel_has_the_stand_ins_candidates_and_one_header_per_layout() {
        let device = DeviceProfile::named("h100").unwrap();
        let example = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/kernels/loop_stages.cu");
        let common = ["--set", "n=10", "--set", "precision=f64", "--runs", "4096", "--time-limit", "2s"];
        let standin = rank(&args(&common), &device).unwrap();
        let mut flags = common.to_vec();
        flags.extend(["--kernel", example, "--io-bytes", "24"]);
        let a = args(&flags);
        let mut user = rank(&a, &device).unwrap();
        let key = |r: &Ranking| -> Vec<(usize, u64, usize)> {
            r.candidates.iter().map(|c| (c.layout, c.block, c.rank)).collect()
        };
        assert_eq!(key(&standin), key(&user));
        let Timed::UserKernel { allocations, source } = &user.subject else { panic!("not the user kernel") };
        assert_eq!(source.path, std::path::Path::new(example));
        assert_eq!(allocations.len(), user.layouts.len());
        for (l, alloc) in user.layouts.iter().zip(allocations) {
            assert_eq!(l.stride, alloc.stride, "{}", l.name);
            assert_eq!(l.local_bytes, alloc.local_bytes + alloc.persistent_local_bytes, "{}", l.name);
        }
        let kernel = model::builtin("dirk").unwrap().instantiate(&a.sets).unwrap();
        let cubie = smemplan::plan::cubie_kernel(&kernel).unwrap();
        let last = user.layouts.last().unwrap();
        assert_eq!((last.name.as_str(), last.stride), ("cubie", cubie.footprint.padded_shared_bytes));
        let headers = user_headers(&a, &user).unwrap().unwrap();
        assert_eq!(headers.len(), user.layouts.len());
        assert!(headers.iter().all(|h| h.contains("constexpr unsigned long long io_bytes = 24ULL;")));
        assert!(user_headers(&args(&common), &standin).unwrap().is_none());
        let before = user.candidates.len();
        let dropped = user.compiled(&device, 0.1, &vec![(255, 0); user.layouts.len()]).unwrap();
        assert!(dropped > 0 && user.candidates.len() + dropped == before);
        assert!(user.candidates.iter().all(|c| c.block <= 256 && c.planner_rank > 0));
    }

    /// The share goes first to each placement's and then each layout's
    /// best-ranked block, then to the layout that measured fastest, then in
    /// rank order; every slot is one candidate, tried once.
    #[test]
    fn the_share_explores_placements_and_layouts_then_the_fastest() {
        // Ranked: four blocks of layout 0 (tied by the estimate), then four
        // of layout 1, which the card runs faster.
        let (shared, local) = ((true, false), (false, true));
        let of = |l: usize| (l, if l == 1 { local } else { shared });
        let layouts: Vec<(usize, (bool, bool))> = [0, 0, 0, 0, 1, 1, 1, 1, 2, 2].into_iter().map(of).collect();
        let times = [5.0, 5.1, 5.2, 5.3, 3.0, 2.0, 2.5, 2.9, 9.0, 9.0];
        let mut asked = Vec::new();
        let order = timed_share(&layouts, 6, &mut |i| {
            asked.push(i);
            Ok(Some(times[i]))
        })
        .unwrap();
        // Half the share explores: layouts 0, 1 and 2's best-ranked blocks;
        // the rest goes to layout 1, which measured fastest.
        assert_eq!(order, [0, 4, 8, 5, 6, 7]);
        assert_eq!(asked, order);
        // A candidate that cannot launch spends its slot; the share never
        // exceeds the candidates; the rank order fills what is left.
        let order = timed_share(&layouts, 20, &mut |i| Ok((i != 4).then_some(times[i]))).unwrap();
        assert_eq!(order.len(), layouts.len());
        let order = timed_share(&layouts[..4], 3, &mut |i| Ok(Some(times[i]))).unwrap();
        assert_eq!(order, [0, 1, 2]);
        // A placement before a layout: two shared layouts ranked ahead of
        // a local one, which the card runs fastest. Exploring layouts alone
        // (two slots) would never time the local one.
        let ranked = [(0, shared), (0, shared), (1, shared), (1, shared), (2, local), (2, local)];
        let times = [5.0, 5.1, 4.0, 4.1, 2.0, 1.0];
        let order = timed_share(&ranked, 4, &mut |i| Ok(Some(times[i]))).unwrap();
        assert_eq!(order, [0, 4, 5, 1]);
    }

    /// Every committed `tune --exhaustive` run on the H100 (the stand-in's
    /// batches 1–4, 33 cases; the real integrators, 7 and the 9 of the
    /// register level's held-out batch), replayed: the share reaches 0.98
    /// of the best of all in each. Timed in rank order it did in all of the
    /// first 40 but Dormand–Prince n = 64 f32 (0.969); exploring layouts
    /// alone (no placements first), in all but backward Euler n = 16 f32 (0.894) and
    /// DIRK n = 16 (0.976). Both showed the need: in-sample for this order.
    #[test]
    fn the_share_reaches_the_best_of_every_committed_exhaustive_run() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/results");
        let files = [
            "gpu-h100-tune-dirk-2026-12-07.json",
            "gpu-h100-tune-cases-2026-12-07.json",
            "gpu-h100-tierpick-batch3-2026-12-07.json",
            "gpu-h100-tierpick-batch4-2026-12-07.json",
            "gpu-h100-tune-real-2026-12-07.json",
            "gpu-h100-registers-heldout-2026-12-07.json",
        ];
        let mut checked = 0;
        for file in files {
            let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.join(file)).unwrap()).unwrap();
            for case in v["cases"].as_array().unwrap() {
                let mut all: Vec<&serde_json::Value> = case["all"].as_array().unwrap().iter().collect();
                all.sort_by_key(|c| c["rank"].as_u64().unwrap());
                let layouts = case["layouts"].as_array().unwrap();
                let by_layout: Vec<(usize, (bool, bool))> = all
                    .iter()
                    .map(|c| {
                        let l = c["layout"].as_u64().unwrap() as usize;
                        let bytes = |key: &str| layouts[l][key].as_u64().unwrap() > 0;
                        (l, (bytes("stride"), bytes("local_bytes")))
                    })
                    .collect();
                let ms: Vec<Option<f64>> = all.iter().map(|c| c["measured_ms"].as_f64()).collect();
                let share = case["share_timed"].as_u64().unwrap() as usize;
                assert!(share * 10 <= case["candidates"].as_u64().unwrap() as usize);
                let chosen = timed_share(&by_layout, share, &mut |i| Ok(ms[i])).unwrap();
                let tuned = chosen.iter().filter_map(|&i| ms[i]).fold(f64::INFINITY, f64::min);
                let best = ms.iter().flatten().fold(f64::INFINITY, |a, &b| a.min(b));
                assert!(best / tuned >= 0.98, "{file}: {}: {:.3}", case["model"], best / tuned);
                checked += 1;
            }
        }
        assert_eq!(checked, 49);
    }

    /// The H100's recorded `measure` runs (every configuration timed) of
    /// the acceptance cases: the share `tune` would time, ranked with the
    /// runs' own registers and stack, holds a configuration within 2 % of
    /// the best measured. (The planner's ranking alone does not: 0.76 on
    /// Dormand-Prince n = 16 f32, 0.51 on n = 64 f32, where the compiler
    /// keeps the local arrays in registers.)
    #[test]
    fn the_share_timed_reaches_the_recorded_best() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/results");
        let read = |name: &str| -> serde_json::Value {
            serde_json::from_str(&std::fs::read_to_string(dir.join(name)).unwrap()).unwrap()
        };
        let mut recorded = Vec::new();
        for batch in read("gpu-h100-measure-2026-12-07.json")["cases"].as_object().unwrap().values() {
            recorded.extend(batch["cases"].as_array().unwrap().iter().cloned());
        }
        recorded.extend(read("gpu-h100-dirk-robertson-2026-12-07.json")["cases"].as_array().unwrap().iter().cloned());
        let device = DeviceProfile::named("h100").unwrap();
        let mut checked = Vec::new();
        for c in recorded.iter().filter(|c| c["skipped"] == 0) {
            let name = c["name"].as_str().unwrap();
            let runs: Vec<Run> = serde_json::from_value(c["runs"].clone()).unwrap();
            let spec = CaseSpec::parse(name).unwrap();
            let case = spec.case().unwrap();
            let mut r = integrator_layouts(case, &device).unwrap();
            r.candidates = ranked(&r.layouts, &device).unwrap();
            let kept: Vec<(u64, u64)> = r
                .layouts
                .iter()
                .map(|l| {
                    let run = runs.iter().find(|x| calibrate::label(&x.layout) == l.name).unwrap();
                    (run.registers, run.stack_bytes)
                })
                .collect();
            r.compiled(&device, 0.1, &kept).unwrap();
            let ms = |c: &Candidate| {
                runs.iter()
                    .find(|x| calibrate::label(&x.layout) == r.layouts[c.layout].name && x.block_size == c.block)
                    .map(|x| x.best_ms)
            };
            let best = runs.iter().map(|x| x.best_ms).fold(f64::INFINITY, f64::min);
            let by_layout: Vec<(usize, (bool, bool))> =
                r.candidates.iter().map(|c| (c.layout, placement(&r.layouts[c.layout]))).collect();
            let chosen = timed_share(&by_layout, r.share, &mut |i| Ok(ms(&r.candidates[i]))).unwrap();
            // A candidate the runs did not time (a block of today's picks)
            // counts as a slot spent on nothing: the check is a lower bound.
            let unrecorded = chosen.iter().filter(|&&i| ms(&r.candidates[i]).is_none()).count();
            assert!(unrecorded * 4 <= r.share, "{name}: {unrecorded} of {} not recorded", r.share);
            let tuned = chosen.iter().filter_map(|&i| ms(&r.candidates[i])).fold(f64::INFINITY, f64::min);
            assert!(r.share * 10 <= r.candidates.len());
            assert!(best / tuned >= 0.98, "{name}: tuned reaches {:.3} of the best", best / tuned);
            checked.push(name.to_string());
        }
        assert_eq!(checked.len(), 4, "{checked:?}");
    }
}
