//! `smemplan verify`: layouts and the occupancy model, judged by a card.
//!
//! ```text
//!  MODEL.toml / --model / --all-models ─▶ plan per strategy (+ CuBIE's layout) ─┐
//!  INSTANCE.csv ─▶ solve per strategy (one shared pool of 4-byte words) ───────┤
//!                                                                               ▼
//!   per layout: integrity walk at the plan's and CuBIE's block sizes, then the walk of a
//!   copy with one buffer moved onto a live neighbour (it must be caught)
//!  --occupancy: the device profile's occupancy rule vs the driver over a grid
//! ```
//!
//! Exit 0 when every walk is clean, every planted overlap is caught and (with
//! `--occupancy`) at least 99 % of the grid agrees; 1 otherwise; 2 when the
//! card cannot be used (no driver, no card, built without the `gpu`
//! feature), one line on stderr.

use super::{load_problem, Verdict};
use anyhow::{bail, Context, Result};
use smemplan::kernel::accesses::Weights;
use smemplan::kernel::model::{self, Kernel};
use smemplan::kernel::Precision;
use smemplan::perf::accesses::Counts;
use smemplan::perf::launch::LaunchCase;
use smemplan::perf::occupancy::DeviceProfile;
use smemplan::plan::allocator::{Allocation, Padding, SharedLayout};
use smemplan::plan::{PlacedBuffer, PlanOptions, PlanReport, Pool};
use smemplan::solve as solver;
use smemplan::SolveOptions;
use smemplan_lab::gpu::integrity::Walk;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

/// Arguments of `smemplan verify`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A kernel model (TOML) or a MiniMalloc instance (CSV, walked as one
    /// shared pool of 4-byte words). Without it, `--model` or
    /// `--all-models`: the built-in default model.
    #[arg(value_name = "MODEL.toml | INSTANCE.csv", conflicts_with_all = ["model", "all_models"])]
    pub input: Option<PathBuf>,
    /// A built-in model by name.
    #[arg(long, value_name = "NAME", conflicts_with = "all_models")]
    pub model: Option<String>,
    /// Every built-in model at its default parameters.
    #[arg(long)]
    pub all_models: bool,
    /// Set a model parameter (repeatable), as for `plan`.
    #[arg(long = "set", value_name = "NAME=VALUE", value_parser = model::parse_set)]
    pub sets: Vec<(String, String)>,
    /// Layouts to walk: `cubie` (CuBIE's own offsets) and any strategy.
    #[arg(long, value_name = "LIST", value_delimiter = ',', default_value = "cubie,auto")]
    pub strategies: Vec<String>,
    /// Device profile for the block sizes and the occupancy model.
    /// On a card that another built-in profile describes (an H100 under
    /// `h200`), the run warns and names that profile.
    #[arg(long, value_name = "NAME", default_value = "h200")]
    pub device: String,
    /// Requested threads per block for CuBIE's halving rule.
    #[arg(long, value_name = "REQUESTED", default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..))]
    pub block_size: u64,
    /// Runs in the batch (CuBIE's rule sizes a block for min(runs, block)).
    #[arg(long, value_name = "N", default_value_t = 4096, value_parser = clap::value_parser!(u64).range(1..))]
    pub runs: u64,
    /// Stop each plan's optimiser after this many seconds.
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = smemplan::core::format::minimalloc::parse_duration, allow_negative_numbers = true)]
    pub time_limit: Duration,
    /// Also compare the occupancy model with the driver over a grid of
    /// block sizes, shared sizes and register counts.
    #[arg(long)]
    pub occupancy: bool,
    /// Skip the integrity walks (with `--occupancy`: the grid alone).
    #[arg(long, requires = "occupancy")]
    pub no_integrity: bool,
    /// Generate and compile every kernel with NVRTC for this architecture
    /// (e.g. `sm_90`) and stop: needs NVRTC, not a card.
    #[arg(long, value_name = "ARCH")]
    pub compile_only: Option<String>,
    /// CUDA device ordinal.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub gpu: usize,
    /// Write the full results as JSON to this file.
    #[arg(long, value_name = "OUT.json")]
    pub json: Option<PathBuf>,
    /// A sweep's rows (`smemplan sweep --csv`): each row's layout at its
    /// pick is walked with a planted overlap, its residency checked against
    /// the driver and the read-modify-write stand-in timed over `--runs`
    /// runs; the rows are written to `--out` with the measured columns.
    #[arg(long, value_name = "ROWS.csv", requires = "out", conflicts_with_all = ["input", "model", "all_models", "occupancy", "compile_only"])]
    pub sweep: Option<PathBuf>,
    /// Where `--sweep` writes its rows with the measured columns.
    #[arg(long, value_name = "MEASURED.csv", requires = "sweep")]
    pub out: Option<PathBuf>,
}

/// One kernel's layouts and the block sizes to launch them at.
#[cfg_attr(not(feature = "gpu"), allow(dead_code))]
pub(crate) struct Subject {
    /// Model name and parameters, or the instance file.
    pub name: String,
    /// `(strategy, walk)`.
    pub walks: Vec<(String, Walk)>,
    /// `(whose pick, threads per block)`: smemplan's, CuBIE's.
    pub blocks: Vec<(&'static str, u64)>,
}

/// The kernels and layouts the arguments name.
pub(crate) fn subjects(args: &Args, device: &DeviceProfile) -> Result<Vec<Subject>> {
    let options = |strategy: &str| PlanOptions {
        strategy: strategy.to_string(),
        time_limit: Some(args.time_limit),
        ..PlanOptions::default()
    };
    for s in &args.strategies {
        if s != "cubie" {
            smemplan::solve::strategies::strategy(s)?;
        }
    }
    if let Some(path) = args.input.as_ref().filter(|p| p.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv"))) {
        return Ok(vec![instance_subject(args, device, path)?]);
    }
    let models: Vec<(String, model::Model)> = match (&args.input, &args.model, args.all_models) {
        (Some(path), _, _) => vec![(path.display().to_string(), model::load(path)?)],
        (None, Some(name), _) => vec![(name.clone(), model::builtin(name)?)],
        (None, None, true) => model::builtin_names()
            .into_iter()
            .map(|n| Ok((n.to_string(), model::builtin(n)?)))
            .collect::<Result<_>>()?,
        (None, None, false) => vec![(model::DEFAULT_MODEL.to_string(), model::default_model()?)],
    };
    let mut out = Vec::new();
    for (name, m) in models {
        let instance = m.instantiate(&args.sets).with_context(|| format!("model `{name}`"))?;
        out.push(model_subject(args, device, &name, &instance, &options)?);
    }
    Ok(out)
}

fn model_subject(
    args: &Args,
    device: &DeviceProfile,
    name: &str,
    instance: &Kernel,
    options: &dyn Fn(&str) -> PlanOptions,
) -> Result<Subject> {
    let auto = smemplan::plan::plan_kernel(instance, &options(smemplan::solve::strategies::DEFAULT_STRATEGY))
        .with_context(|| format!("planning `{name}`"))?;
    let cubie = smemplan::plan::cubie_kernel(instance)?;
    let mut walks = Vec::new();
    for s in &args.strategies {
        let walk = if s == "cubie" {
            // At CuBIE's stride: its bytes plus its skew.
            let layout = SharedLayout::ThreadMajor(Padding::Skew(cubie.footprint.skew_bytes));
            Walk::new("cubie", &cubie.report, Allocation::new(&cubie.report, layout)?)?
        } else {
            let report = smemplan::plan::plan_kernel(instance, &options(s))
                .with_context(|| format!("planning `{name}` with `{s}`"))?;
            let alloc = Allocation::new(&report, SharedLayout::default())?;
            Walk::new(s.as_str(), &report, alloc)?
        };
        walks.push((s.clone(), walk));
    }
    let planned = Allocation::new(&auto, SharedLayout::default())?;
    let ours = best_block(&launch(device, &instance.accesses, &auto, planned.stride, args))?;
    let padded = cubie.footprint.padded_shared_bytes;
    let cubies = launch(device, &instance.accesses, &cubie.report, padded, args).cubie()?.block_size;
    let params: Vec<String> = instance.params.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let label = if args.sets.is_empty() { name.to_string() } else { format!("{name} ({})", params.join(" ")) };
    Ok(Subject { name: label, walks, blocks: vec![("smemplan", ours), ("cubie", cubies)] })
}

/// The launch of `report` at per-run stride `stride` with the access
/// weights `weights` (registers not counted, as in `plan` by default).
fn launch<'a>(
    device: &'a DeviceProfile,
    weights: &Weights,
    report: &PlanReport,
    stride: u64,
    args: &Args,
) -> LaunchCase<'a> {
    LaunchCase::new(device, weights.workload(report, stride, 0, args.runs), args.block_size)
}

/// The block size `plan` picks: the throughput estimate's best.
fn best_block(case: &LaunchCase) -> Result<u64> {
    Ok(case.search()?.best().occupancy.block_size)
}

/// A MiniMalloc instance as one shared pool of 4-byte words.
fn instance_subject(args: &Args, device: &DeviceProfile, path: &std::path::Path) -> Result<Subject> {
    let problem = load_problem(path)?;
    let timeline = problem.buffers().iter().map(|b| b.lifetime.end).max().unwrap_or(0);
    let mut walks = Vec::new();
    let mut reports = Vec::new();
    let mut stride = 0;
    for s in &args.strategies {
        if s == "cubie" {
            bail!("{}: an instance has no CuBIE layout; use `--strategies` without `cubie`", path.display());
        }
        let solution = solver::run(&*smemplan::solve::strategies::strategy(s)?, &problem, &SolveOptions::default())?;
        let buffers = problem
            .buffers()
            .iter()
            .enumerate()
            .map(|(i, b)| {
                let offset = solution.layout.offsets[i];
                if b.size % 4 != 0 || offset % 4 != 0 {
                    bail!("{}: buffer `{}`: size and offset must be whole 4-byte words", path.display(), b.name);
                }
                let mut segments = Vec::new();
                let mut start = b.lifetime.start;
                for g in &b.gaps {
                    segments.push([start, g.start]);
                    start = g.end;
                }
                segments.push([start, b.lifetime.end]);
                segments.retain(|s| s[0] < s[1]);
                Ok(PlacedBuffer {
                    component: "instance".into(),
                    name: b.name.clone(),
                    pool: Pool::Shared,
                    dtype: Precision::I32,
                    elements: b.size / 4,
                    bytes: b.size,
                    offset: Some(offset),
                    lifetime: segments,
                    inside: None,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let report = PlanReport {
            source: path.display().to_string(),
            strategy: s.clone(),
            optimal: solution.is_optimal(),
            shared_bytes: solution.peak.div_ceil(4) * 4,
            local_bytes: 0,
            persistent_local_bytes: 0,
            pools: Vec::new(),
            buffers,
            timeline: (0..timeline).map(|t| t.to_string()).collect(),
            unmapped: Vec::new(),
            unmapped_components: Vec::new(),
            aliases: Vec::new(),
            refused_aliases: Vec::new(),
        };
        let alloc = Allocation::new(&report, SharedLayout::default())?;
        stride = stride.max(alloc.stride);
        walks.push((s.clone(), Walk::new(s.as_str(), &report, alloc)?));
        reports.push(report);
    }
    // An instance has no model, hence no access weights of its own.
    let weights = Weights::default();
    let ours = match walks.first() {
        Some((_, w)) => best_block(&launch(device, &weights, &reports[0], w.alloc.stride, args))?,
        None => bail!("no strategy to walk"),
    };
    let cubies = launch(device, &weights, &reports[0], stride, args).cubie()?.block_size;
    Ok(Subject { name: path.display().to_string(), walks, blocks: vec![("smemplan", ours), ("cubie", cubies)] })
}

/// One sweep row's layout, ready for the card.
#[cfg_attr(not(feature = "gpu"), allow(dead_code))]
pub(crate) struct SweepSubject {
    /// The row.
    pub row: smemplan_lab::gpu::sweep::Row,
    /// Its profile.
    pub device: DeviceProfile,
    /// Its layout (`None`: the row does not fit; carried through).
    pub walk: Option<Walk>,
}

/// The layouts of a sweep's rows, planned as the sweep planned them.
fn sweep_subjects(args: &Args, path: &std::path::Path) -> Result<(Vec<String>, Vec<SweepSubject>)> {
    let text = super::read_text(path)?;
    let (header, rows) = smemplan_lab::gpu::sweep::read(&path.display().to_string(), &text)?;
    let mut out = Vec::new();
    for row in rows {
        let at = || format!("{}:{}", path.display(), row.line);
        let device = DeviceProfile::named(&row.device).with_context(at)?;
        if !row.fits {
            out.push(SweepSubject { row, device, walk: None });
            continue;
        }
        let instance = model::builtin(&row.model).with_context(at)?.instantiate(&row.sets).with_context(at)?;
        let options =
            PlanOptions { strategy: row.strategy.clone(), time_limit: Some(args.time_limit), ..PlanOptions::default() };
        let walk = if row.strategy == "cubie" {
            let cubie = smemplan::plan::cubie_kernel(&instance).with_context(at)?;
            let layout = SharedLayout::ThreadMajor(Padding::Skew(cubie.footprint.skew_bytes));
            Walk::new("cubie", &cubie.report, Allocation::new(&cubie.report, layout)?)?
        } else {
            let report = if row.tiers_auto {
                let tier_options = smemplan::perf::tiers::TierOptions {
                    plan: options,
                    runs: args.runs,
                    cubie_requested: args.block_size,
                    accesses: instance.accesses.clone(),
                    ..Default::default()
                };
                let input = smemplan::plan::PlanInput::try_from(&instance).with_context(at)?;
                smemplan::perf::tiers::choose(&input, &instance.table, &device, &tier_options)
                    .with_context(at)?
                    .chosen
                    .report
            } else {
                smemplan::plan::plan_kernel(&instance, &options).with_context(at)?
            };
            Walk::new(row.strategy.as_str(), &report, Allocation::new(&report, SharedLayout::default())?)?
        };
        out.push(SweepSubject { row, device, walk: Some(walk) });
    }
    Ok((header, out))
}

/// Runs `smemplan verify`.
pub fn run(args: &Args, out: &mut dyn Write) -> Result<Verdict> {
    if let Some(path) = &args.sweep {
        let (header, subjects) = sweep_subjects(args, path)?;
        return smemplan_lab::gpu::guarded(|| card::sweep(args, &header, &subjects, out));
    }
    let device = DeviceProfile::named(&args.device)?;
    let subjects = if args.no_integrity { Vec::new() } else { subjects(args, &device)? };
    smemplan_lab::gpu::guarded(|| card::run(args, &device, &subjects, out))
}

#[cfg(not(feature = "gpu"))]
mod card {
    use super::*;

    pub fn run(_: &Args, _: &DeviceProfile, _: &[Subject], _: &mut dyn Write) -> Result<Verdict> {
        bail!("{NO_GPU}")
    }

    pub fn sweep(_: &Args, _: &[String], _: &[SweepSubject], _: &mut dyn Write) -> Result<Verdict> {
        bail!("{NO_GPU}")
    }

    const NO_GPU: &str =
        "this smemplan-lab was built without GPU support; rebuild with `cargo build --release -p smemplan-lab --features gpu`";
}

#[cfg(feature = "gpu")]
mod card {
    use super::*;
    use serde::Serialize;
    use smemplan_lab::gpu::device::{self, DeviceInfo, Gpu};
    use smemplan_lab::gpu::integrity::{self, KERNEL};
    use smemplan_lab::gpu::occupancy_grid::{self, Agreement};

    /// One integrity launch (JSON `integrity[]`).
    #[derive(Serialize)]
    struct WalkResult {
        kernel: String,
        layout: String,
        /// Whose block size: `smemplan` or `cubie`.
        block_pick: &'static str,
        block_size: u64,
        dynamic_shared_bytes: u64,
        registers: u64,
        /// `null` when the block does not fit the card.
        clobbers: Option<u64>,
        /// The first clobbers found.
        first: Vec<smemplan_lab::gpu::integrity::Clobber>,
        /// The planted overlap's buffers and whether the walk caught it.
        planted: Option<Planting>,
        /// Why it did not run.
        skipped: Option<String>,
    }

    #[derive(Serialize)]
    struct Planting {
        moved: String,
        onto: String,
        caught: bool,
        clobbers: u64,
    }

    /// Clobber records kept per launch.
    const CAP: u32 = 64;

    /// The JSON report.
    #[derive(Serialize)]
    struct VerifyJson<'a> {
        device: &'a DeviceInfo,
        profile: &'a str,
        /// Profile values that differ from the card's.
        profile_differs: Vec<String>,
        integrity: Vec<WalkResult>,
        occupancy: Option<Agreement>,
        /// Registers of the kernels the grid used.
        occupancy_registers: Vec<u64>,
        passed: bool,
    }

    pub fn run(args: &Args, profile: &DeviceProfile, subjects: &[Subject], out: &mut dyn Write) -> Result<Verdict> {
        if let Some(arch) = &args.compile_only {
            let mut sources: Vec<(&str, String)> = occupancy_grid::REGISTER_CAPS
                .iter()
                .map(|&cap| (occupancy_grid::PRESSURE_KERNEL, occupancy_grid::pressure_source(cap)))
                .collect();
            for s in subjects {
                for (_, walk) in &s.walks {
                    sources.push((KERNEL, integrity::source(walk, s.blocks[0].1)?));
                    if let Some((planted, _)) = walk.plant_overlap() {
                        sources.push((KERNEL, integrity::source(&planted, s.blocks[0].1)?));
                    }
                }
            }
            for (name, source) in &sources {
                device::compile_only(source, name, arch, &[])?;
            }
            writeln!(out, "compiled {} kernels for {arch} with NVRTC", sources.len())?;
            return Ok(Verdict::Done);
        }
        let gpu = Gpu::open(args.gpu)?;
        let i = &gpu.info;
        writeln!(
            out,
            "device    {} (compute {}, {} SMs, {} kHz; driver CUDA {}, NVRTC {}); profile `{}`",
            i.name,
            i.compute_capability,
            i.limits.multiprocessors,
            i.clock_khz,
            i.driver_cuda_version,
            i.nvrtc_version,
            profile.name
        )?;
        if let Some(w) = smemplan_lab::gpu::profile_mismatch(&i.name, &profile.name) {
            writeln!(out, "{w}")?;
        }
        let differs = compare_profile(i, profile);
        for d in &differs {
            writeln!(out, "  profile differs: {d}")?;
        }
        let mut passed = true;
        let mut results = Vec::new();
        let blocks = i.limits.multiprocessors * 2;
        // Every walk and its planted copy, compiled up front on all cores.
        let mut jobs = Vec::new();
        for s in subjects {
            for (strategy, walk) in &s.walks {
                let planted = walk.plant_overlap();
                jobs.push((s, strategy, walk, planted));
            }
        }
        let mut sources = Vec::new();
        for (s, _, walk, planted) in &jobs {
            sources.push((integrity::source(walk, s.blocks[0].1)?, KERNEL));
            if let Some((w, _)) = planted {
                sources.push((integrity::source(w, s.blocks[0].1)?, KERNEL));
            }
        }
        let mut kernels = gpu.compile_all(&sources, &[])?.into_iter();
        for (s, strategy, walk, planted) in jobs {
            let Some(kernel) = kernels.next() else { bail!("internal error: a kernel is missing") };
            let planted_kernel = if planted.is_some() { kernels.next() } else { None };
            {
                let mut seen = Vec::new();
                for &(pick, block) in &s.blocks {
                    if seen.contains(&block) {
                        continue;
                    }
                    seen.push(block);
                    let shared = walk.shared_bytes(block)?;
                    let mut r = WalkResult {
                        kernel: s.name.clone(),
                        layout: strategy.clone(),
                        block_pick: pick,
                        block_size: block,
                        dynamic_shared_bytes: shared,
                        registers: kernel.registers,
                        clobbers: None,
                        first: Vec::new(),
                        planted: None,
                        skipped: None,
                    };
                    if shared > i.limits.max_shared_per_block_optin || block > kernel.max_threads_per_block {
                        r.skipped = Some(format!(
                            "{shared} B of shared memory (limit {}) or {block} threads (limit {})",
                            i.limits.max_shared_per_block_optin, kernel.max_threads_per_block
                        ));
                    } else {
                        let (first, count) = gpu.integrity(&kernel, walk, block, blocks, CAP)?;
                        passed &= count == 0;
                        r.clobbers = Some(count);
                        r.first = first.into_iter().take(8).collect();
                        if let (Some((w, p)), Some(k)) = (&planted, &planted_kernel) {
                            let (_, caught) = gpu.integrity(k, w, block, blocks, CAP)?;
                            passed &= caught > 0;
                            r.planted = Some(Planting {
                                moved: p.moved.clone(),
                                onto: p.onto.clone(),
                                caught: caught > 0,
                                clobbers: caught,
                            });
                        }
                    }
                    print_walk(out, &r)?;
                    results.push(r);
                }
            }
        }
        let (occupancy, registers) = if args.occupancy {
            let (a, regs) = grid(&gpu, profile)?;
            writeln!(
                out,
                "occupancy {} configurations (kernels of {:?} registers): {} agree ({:.2} %), {} mismatches",
                a.checked,
                regs,
                a.agreed,
                100.0 * a.fraction(),
                a.mismatches.len()
            )?;
            for m in a.mismatches.iter().take(40) {
                writeln!(
                    out,
                    "  mismatch: {} regs, block {}, {} B dynamic: model {} ({}), driver {}",
                    m.registers, m.block_size, m.dynamic_shared_bytes, m.model, m.model_limiter, m.driver
                )?;
            }
            passed &= a.fraction() >= 0.99;
            (Some(a), regs)
        } else {
            (None, Vec::new())
        };
        writeln!(out, "{}", if passed { "PASSED" } else { "FAILED" })?;
        if let Some(path) = &args.json {
            let report = VerifyJson {
                device: i,
                profile: &profile.name,
                profile_differs: differs,
                integrity: results,
                occupancy,
                occupancy_registers: registers,
                passed,
            };
            let text = serde_json::to_string_pretty(&report)?;
            std::fs::write(path, text + "\n").with_context(|| format!("cannot write `{}`", path.display()))?;
        }
        Ok(if passed { Verdict::Done } else { Verdict::Rejected })
    }

    /// `verify --sweep`: per row, the walk and its planted copy at the
    /// row's pick, the residency against the driver, the stand-in timed.
    pub fn sweep(args: &Args, header: &[String], subjects: &[SweepSubject], out: &mut dyn Write) -> Result<Verdict> {
        use smemplan_lab::gpu::standin::{self, StandIn};
        use smemplan_lab::gpu::sweep;
        let gpu = Gpu::open(args.gpu)?;
        let i = &gpu.info;
        writeln!(out, "device    {} (driver CUDA {}); {} rows", i.name, i.driver_cuda_version, subjects.len())?;
        let blocks = i.limits.multiprocessors * 2;
        // Every kernel compiled up front on all cores: walk, planted walk, stand-in.
        let mut sources = Vec::new();
        let mut planted = Vec::new();
        let mut standins = Vec::new();
        for s in subjects {
            let Some(walk) = &s.walk else {
                planted.push(None);
                standins.push(None);
                continue;
            };
            sources.push((integrity::source(walk, s.row.block_size)?, KERNEL));
            let p = walk.plant_overlap();
            if let Some((w, _)) = &p {
                sources.push((integrity::source(w, s.row.block_size)?, KERNEL));
            }
            planted.push(p);
            let local = walk.alloc.local_bytes + walk.alloc.persistent_local_bytes;
            let k = StandIn::new(walk.alloc.stride, local, standin::ITERATIONS);
            sources.push((k.source(), standin::KERNEL));
            standins.push(Some(k));
        }
        let mut kernels = gpu.compile_all(&sources, &[])?.into_iter();
        let mut next = || kernels.next().context("internal error: a kernel is missing");
        let mut passed = true;
        let mut measured = Vec::new();
        for ((s, p), k) in subjects.iter().zip(&planted).zip(&standins) {
            let mut m = vec![String::new(); sweep::MEASURED_COLUMNS.len()];
            let (Some(walk), Some(k)) = (&s.walk, k) else {
                m[10] = "does not fit: not run".into();
                measured.push(m);
                continue;
            };
            let block = s.row.block_size;
            let walk_kernel = next()?;
            let planted_kernel = if p.is_some() { Some(next()?) } else { None };
            let standin_kernel = next()?;
            let shared = walk.shared_bytes(block)?;
            if shared > i.limits.max_shared_per_block_optin || block > walk_kernel.max_threads_per_block {
                m[10] = format!("{shared} B of shared memory or {block} threads: cannot launch on this card");
                passed = false;
                measured.push(m);
                continue;
            }
            let (_, clobbers) = gpu.integrity(&walk_kernel, walk, block, blocks, CAP)?;
            m[0] = (clobbers == 0).to_string();
            passed &= clobbers == 0;
            m[1] = match (p, &planted_kernel) {
                (Some((w, _)), Some(pk)) => {
                    let (_, caught) = gpu.integrity(pk, w, block, blocks, CAP)?;
                    passed &= caught > 0;
                    (caught > 0).to_string()
                }
                _ => "none to plant".into(),
            };
            let model = s.device.occupancy(block, shared, walk_kernel.registers)?.active_blocks_per_sm;
            let driver = gpu.active_blocks(&walk_kernel, block, shared)?;
            passed &= model == driver;
            m[2] = model.to_string();
            m[3] = driver.to_string();
            let standin_shared = k.shared_bytes(block);
            let times = gpu.time_standin(&standin_kernel, args.runs, block, standin_shared, 2)?;
            let best = times.into_iter().fold(f64::INFINITY, f64::min);
            m[4] = standin_kernel.registers.to_string();
            m[5] = standin_kernel.local_bytes.to_string();
            m[6] = block.to_string();
            m[7] = format!("{best:.4}");
            m[8] = format!("{:.6e}", args.runs as f64 / (best * 1e-3));
            let workload = k.workload(args.runs, standin_kernel.registers, Some(standin_kernel.local_bytes));
            m[9] = smemplan::perf::throughput::estimate(&s.device, &workload, block)?
                .map_or("cannot launch".into(), |e| format!("{:.4}", e.seconds * 1e3));
            m[10] = format!("{} runs, stand-in of {} passes", args.runs, standin::ITERATIONS);
            writeln!(
                out,
                "row {} ({} {} {:?} {}): walk {}, planted {}, occupancy {} (driver {}), {} ms",
                s.row.line, s.row.model, s.row.strategy, s.row.sets, block, m[0], m[1], m[2], m[3], m[7]
            )?;
            measured.push(m);
        }
        let rows: Vec<sweep::Row> = subjects.iter().map(|s| s.row.clone()).collect();
        let path = args.out.as_ref().context("--sweep needs --out")?;
        super::super::write_atomic(path, sweep::write(header, &rows, &measured).as_bytes())?;
        writeln!(out, "{}", if passed { "PASSED" } else { "FAILED" })?;
        Ok(if passed { Verdict::Done } else { Verdict::Rejected })
    }

    fn print_walk(out: &mut dyn Write, r: &WalkResult) -> Result<()> {
        let head = format!(
            "{} [{}] block {} ({}): {} B shared, {} regs",
            r.kernel, r.layout, r.block_size, r.block_pick, r.dynamic_shared_bytes, r.registers
        );
        let body = match (&r.skipped, r.clobbers) {
            (Some(why), _) => format!("skipped: {why}"),
            (None, Some(0)) => "clean".to_string(),
            (None, Some(n)) => format!("{n} CLOBBERED words"),
            (None, None) => "not run".to_string(),
        };
        let planted = match &r.planted {
            Some(p) if p.caught => format!("; planted `{}` onto `{}`: caught ({} words)", p.moved, p.onto, p.clobbers),
            Some(p) => format!("; planted `{}` onto `{}`: NOT CAUGHT", p.moved, p.onto),
            None if r.clobbers.is_some() => "; no two buffers live together to plant".to_string(),
            None => String::new(),
        };
        writeln!(out, "{head}: {body}{planted}")?;
        for c in &r.first {
            let by = match (&c.written_by, c.written_by_thread) {
                (Some(b), Some(t)) => format!("`{b}` of thread {t}"),
                _ => format!("unknown ({:#x})", c.found),
            };
            writeln!(
                out,
                "  `{}` element {} of block {} thread {} at instant {}: overwritten by {by}",
                c.buffer, c.element, c.block, c.thread, c.instant
            )?;
        }
        Ok(())
    }

    /// The limits where the profile and the card disagree.
    fn compare_profile(i: &DeviceInfo, p: &DeviceProfile) -> Vec<String> {
        i.limits
            .named()
            .into_iter()
            .zip(p.limits.named())
            .filter(|((_, card), (_, profile))| card != profile)
            .map(|((k, card), (_, profile))| format!("{k}: card {card}, profile {profile}"))
            .collect()
    }

    /// Every block size from 1 to the limit × the shared sizes × kernels of
    /// several register counts.
    fn grid(gpu: &Gpu, profile: &DeviceProfile) -> Result<(Agreement, Vec<u64>)> {
        let sources: Vec<(String, &str)> = occupancy_grid::REGISTER_CAPS
            .iter()
            .map(|&cap| (occupancy_grid::pressure_source(cap), occupancy_grid::PRESSURE_KERNEL))
            .collect();
        let mut agreement = Agreement::default();
        let mut registers = Vec::new();
        for kernel in gpu.compile_all(&sources, &[])? {
            if registers.contains(&kernel.registers) {
                continue;
            }
            registers.push(kernel.registers);
            for block in 1..=gpu.info.limits.max_threads_per_block {
                for shared in occupancy_grid::shared_sizes(gpu.info.limits.max_shared_per_block_optin) {
                    let driver = gpu.active_blocks(&kernel, block, shared)?;
                    agreement.add(profile, kernel.registers, block, shared, driver)?;
                }
            }
        }
        Ok((agreement, registers))
    }
}
