//! `smemplan-lab tune`: the model ranks, the card decides.
//!
//! ```text
//!  model + --set ─▶ layouts: smemplan's split (tiers::choose), the model's own
//!                  locations, all shared, all local, CuBIE's layout
//!               ─▶ × every block size that fits ─▶ estimated (the planner's model)
//!               ─▶ ranked; the best --share of them (default a tenth) timed on the card
//!                  with the read-modify-write stand-in (gpu::standin)
//!               ─▶ the measured best with its estimate, the model's own pick measured
//! ```
//!
//! The kernel timed is the stand-in, not an integrator: it reads and writes
//! every word of the layout's shared slice and local arrays
//! `--iterations` times, the kernel gpu-notes §5 and §6 measured the
//! default model with (it has no real kernel). The ranking is the planner's
//! own estimate (the model's access weights), so what `tune` reports is how
//! well `plan --tiers auto` and its block size do against the card.
//! `--exhaustive` times every candidate, which measures the acceptance of
//! tuning (the best of the timed share against the best of all) in one run;
//! `--rank-only` prints the ranking and needs no card.
//!
//! CUDA's occupancy API (`cudaOccupancyMaxPotentialBlockSize`) is beside
//! them as the driver computes it: over warp multiples from the largest
//! that fits down, the first block of most resident threads.

use super::Verdict;
use anyhow::{bail, Context, Result};
use serde::Serialize;
use smemplan::kernel::model::{self, Kernel};
use smemplan::perf::accesses::Counts;
use smemplan::perf::occupancy::DeviceProfile;
use smemplan::perf::throughput::{self, Workload};
use smemplan::perf::tiers::{self, TierOptions};
use smemplan::plan::{PlanInput, PlanOptions, PlanReport};
use smemplan_lab::gpu::standin;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

/// Arguments of `smemplan-lab tune`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A built-in kernel model (default: the default model).
    #[arg(long, value_name = "NAME", default_value = model::DEFAULT_MODEL)]
    pub model: String,
    /// Set a model parameter (repeatable), as for `plan`.
    #[arg(long = "set", value_name = "NAME=VALUE", value_parser = model::parse_set)]
    pub sets: Vec<(String, String)>,
    /// Device profile of the estimate.
    #[arg(long, value_name = "NAME", default_value = "h200")]
    pub device: String,
    /// Runs in the batch (one per thread).
    #[arg(long, value_name = "N", default_value_t = 1 << 17, value_parser = clap::value_parser!(u64).range(1..))]
    pub runs: u64,
    /// Time each plan (and the split search) may take.
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = smemplan::core::format::minimalloc::parse_duration, allow_negative_numbers = true)]
    pub time_limit: Duration,
    /// Share of the ranked candidates timed (at least one).
    #[arg(long, value_name = "FRACTION", default_value_t = 0.1)]
    pub share: f64,
    /// Time every candidate (the acceptance of `--share` is then measured too).
    #[arg(long, conflicts_with = "rank_only")]
    pub exhaustive: bool,
    /// Print the ranking and what would be timed; no card needed.
    #[arg(long)]
    pub rank_only: bool,
    /// Read-modify-write passes of the stand-in over every word.
    #[arg(long, value_name = "N", default_value_t = standin::ITERATIONS, value_parser = clap::value_parser!(u64).range(1..))]
    pub iterations: u64,
    /// Timed launches per candidate after one warm-up (the best counts).
    #[arg(long, value_name = "N", default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..))]
    pub repeats: u64,
    /// CUDA device ordinal.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub gpu: usize,
    /// Write the full results as JSON.
    #[arg(long, value_name = "OUT.json")]
    pub json: Option<PathBuf>,
}

/// One layout of the kernel.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Layout {
    /// `smemplan split`, `model's locations`, `all shared`, `all local`, `cubie`.
    pub name: String,
    /// Padded shared bytes per run.
    pub stride: u64,
    /// Local bytes per thread (both local pools).
    pub local_bytes: u64,
    /// The planner's workload (the model's access weights).
    #[serde(skip)]
    pub workload: Workload,
}

/// One candidate: a layout at a block size, estimated (and maybe timed).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Candidate {
    /// Index into the layouts.
    pub layout: usize,
    /// Threads per block.
    pub block: u64,
    /// 1-based rank by estimate.
    pub rank: usize,
    /// Estimated batch time, seconds.
    pub estimated_seconds: f64,
    /// Best measured time, milliseconds (`None`: not timed).
    pub measured_ms: Option<f64>,
}

/// The layouts and the ranked candidates of the arguments' kernel.
pub(crate) fn rank(args: &Args, device: &DeviceProfile) -> Result<(Vec<Layout>, Vec<Candidate>, usize)> {
    let kernel: Kernel =
        model::builtin(&args.model)?.instantiate(&args.sets).with_context(|| format!("model `{}`", args.model))?;
    let options = TierOptions {
        plan: PlanOptions { time_limit: Some(args.time_limit), ..PlanOptions::default() },
        runs: args.runs,
        accesses: kernel.accesses.clone(),
        ..TierOptions::default()
    };
    let choice = tiers::choose(&PlanInput::try_from(&kernel)?, &kernel.table, device, &options)?;
    let layout = |name: &str, report: &PlanReport, stride: u64| Layout {
        name: name.into(),
        stride,
        local_bytes: report.local_bytes + report.persistent_local_bytes,
        workload: kernel.accesses.workload(report, stride, 0, args.runs),
    };
    let mut layouts: Vec<Layout> = Vec::new();
    for (name, plan) in [
        ("smemplan split", &choice.chosen),
        ("model's locations", &choice.own_locations),
        ("all shared", &choice.all_shared),
        ("all local", &choice.all_local),
    ] {
        // The same footprint twice is one layout (the first name wins).
        if !layouts.iter().any(|l| (l.stride, l.local_bytes) == (plan.padded_shared_bytes, plan.local_bytes)) {
            layouts.push(layout(name, &plan.report, plan.padded_shared_bytes));
        }
    }
    let cubie = smemplan::plan::cubie_kernel(&kernel)?;
    layouts.push(layout("cubie", &cubie.report, cubie.footprint.padded_shared_bytes));
    let mut candidates = Vec::new();
    for (i, l) in layouts.iter().enumerate() {
        for block in 1..=device.max_threads_per_block {
            if let Some(e) = throughput::estimate(device, &l.workload, block)? {
                candidates.push(Candidate {
                    layout: i,
                    block,
                    rank: 0,
                    estimated_seconds: e.seconds,
                    measured_ms: None,
                });
            }
        }
    }
    if candidates.is_empty() {
        bail!("no layout of `{}` can launch on `{}`", args.model, device.name);
    }
    // Ties: the layout listed first (smemplan's split), then the smaller block.
    candidates.sort_by(|a, b| {
        a.estimated_seconds.total_cmp(&b.estimated_seconds).then(a.layout.cmp(&b.layout)).then(a.block.cmp(&b.block))
    });
    for (k, c) in candidates.iter_mut().enumerate() {
        c.rank = k + 1;
    }
    let timed = ((candidates.len() as f64 * args.share).floor() as usize).clamp(1, candidates.len());
    Ok((layouts, candidates, timed))
}

/// Runs `smemplan-lab tune`.
pub fn run(args: &Args, out: &mut dyn Write) -> Result<Verdict> {
    if !(args.share > 0.0 && args.share <= 1.0) {
        bail!("--share must be in (0, 1], not {}", args.share);
    }
    let device = DeviceProfile::named(&args.device)?;
    let (layouts, candidates, share) = rank(args, &device)?;
    writeln!(
        out,
        "{} ({}): {} layouts × block sizes = {} candidates on `{}`; the best {share} by estimate are timed{}",
        args.model,
        args.sets.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(" "),
        layouts.len(),
        candidates.len(),
        device.name,
        if args.exhaustive { " (and, --exhaustive, every other)" } else { "" }
    )?;
    for l in &layouts {
        writeln!(out, "  layout {:<18} stride {:>6} B, local {:>6} B", l.name, l.stride, l.local_bytes)?;
    }
    if args.rank_only {
        for c in candidates.iter().take(share) {
            writeln!(
                out,
                "  rank {:>4}: {} block {} (estimated {:.3} ms)",
                c.rank,
                layouts[c.layout].name,
                c.block,
                c.estimated_seconds * 1e3
            )?;
        }
        return Ok(Verdict::Done);
    }
    smemplan_lab::gpu::guarded(|| card::run(args, &device, &layouts, candidates, share, out))
}

#[cfg(not(feature = "gpu"))]
mod card {
    use super::*;

    pub fn run(
        _: &Args,
        _: &DeviceProfile,
        _: &[Layout],
        _: Vec<Candidate>,
        _: usize,
        _: &mut dyn Write,
    ) -> Result<Verdict> {
        bail!("this smemplan-lab was built without GPU support; rebuild with `cargo build --release -p smemplan-lab --features gpu` (or use --rank-only)")
    }
}

#[cfg(feature = "gpu")]
mod card {
    use super::*;
    use smemplan_lab::gpu::device::{DeviceInfo, Gpu};
    use smemplan_lab::gpu::standin::StandIn;

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
        model: &'a str,
        sets: Vec<String>,
        runs: u64,
        iterations: u64,
        candidates: usize,
        share_timed: usize,
        timed: usize,
        exhaustive: bool,
        /// The measured best among the share timed (what `tune` returns).
        tuned: Pick,
        /// The model's own pick (rank 1).
        model_pick: Pick,
        /// The measured best over every timed candidate (all, with --exhaustive).
        best_timed: Pick,
        /// tuned ÷ best over all, as throughput (with --exhaustive).
        tuned_share_of_best: Option<f64>,
        /// CuBIE's halving pick on its own layout.
        cubie_pick: Option<Pick>,
        /// CUDA's occupancy API on smemplan's split.
        occupancy_api_pick: Option<Pick>,
        layouts: Vec<LayoutBest>,
        all: &'a [Candidate],
    }

    pub fn run(
        args: &Args,
        profile: &DeviceProfile,
        layouts: &[Layout],
        mut candidates: Vec<Candidate>,
        share: usize,
        out: &mut dyn Write,
    ) -> Result<Verdict> {
        let gpu = Gpu::open(args.gpu)?;
        let kernels: Vec<StandIn> =
            layouts.iter().map(|l| StandIn::new(l.stride, l.local_bytes, args.iterations)).collect();
        let sources: Vec<(String, &str)> = kernels.iter().map(|k| (k.source(), standin::KERNEL)).collect();
        let compiled = gpu.compile_all(&sources, &[])?;
        let fits = |c: &Candidate| {
            let k = &compiled[c.layout];
            c.block <= k.max_threads_per_block
                && kernels[c.layout].shared_bytes(c.block) <= gpu.info.limits.max_shared_per_block_optin
        };
        let count = if args.exhaustive { candidates.len() } else { share };
        let mut timed = 0;
        for c in candidates.iter_mut().take(count) {
            if !fits(c) {
                continue;
            }
            let k = &kernels[c.layout];
            let times = gpu.time_standin(
                &compiled[c.layout],
                args.runs,
                c.block,
                k.shared_bytes(c.block),
                args.repeats as usize,
            )?;
            c.measured_ms = times.into_iter().reduce(f64::min);
            timed += 1;
        }
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
        let tuned = best_of(&candidates[..share]).unwrap_or(&candidates[0]);
        let find = |layout: usize, block: u64| candidates.iter().find(|c| c.layout == layout && c.block == block);
        let cubie_layout = layouts.len() - 1;
        let cubie_block = profile
            .limit_blocksize(TierOptions::default().cubie_requested, layouts[cubie_layout].stride, args.runs)
            .ok()
            .map(|l| l.block_size);
        let cubie = cubie_block.and_then(|b| find(cubie_layout, b)).map(|c| pick(c, best_ms));
        let api = occupancy_api(&gpu, &compiled[0], &kernels[0])?.and_then(|b| find(0, b)).map(|c| pick(c, best_ms));
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
        let report = TuneJson {
            device: &gpu.info,
            profile: &profile.name,
            model: &args.model,
            sets: args.sets.iter().map(|(k, v)| format!("{k}={v}")).collect(),
            runs: args.runs,
            iterations: args.iterations,
            candidates: candidates.len(),
            share_timed: share,
            timed,
            exhaustive: args.exhaustive,
            tuned: pick(tuned, best_ms),
            model_pick: pick(&candidates[0], best_ms),
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
        writeln!(out, "timed   {timed} of {} candidates (share {share})", candidates.len())?;
        writeln!(out, "tuned   {}", show(&report.tuned))?;
        writeln!(out, "model   {}", show(&report.model_pick))?;
        writeln!(out, "best    {}", show(&report.best_timed))?;
        if let Some(s) = report.tuned_share_of_best {
            writeln!(out, "tuned reaches {s:.3} of the best over all {} candidates", candidates.len())?;
        }
        if let Some(c) = &report.cubie_pick {
            writeln!(out, "cubie   {}", show(c))?;
        }
        match &report.occupancy_api_pick {
            Some(c) => writeln!(out, "cuda    {}", show(c))?,
            None => writeln!(out, "cuda    occupancy API: no block (no warp multiple fits)")?,
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

    /// `cudaOccupancyMaxPotentialBlockSizeVariableSMem`'s answer for the
    /// stand-in of `kernel`: warp multiples from the largest allowed down,
    /// the first of most resident threads (strictly more replaces it).
    fn occupancy_api(
        gpu: &Gpu,
        compiled: &smemplan_lab::gpu::device::CompiledKernel,
        kernel: &StandIn,
    ) -> Result<Option<u64>> {
        let warp = gpu.info.limits.warp_size.max(1);
        let top = compiled.max_threads_per_block.min(gpu.info.limits.max_threads_per_block) / warp * warp;
        let mut best: Option<(u64, u64)> = None;
        let mut block = top;
        while block >= warp {
            let shared = kernel.shared_bytes(block);
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
