//! `smemplan-lab measure`: the batched integrators timed on a card across
//! layouts and block sizes, every run checked against the CPU reference bit
//! for bit; JSON for the record, a markdown table for the reader.
//!
//! With `--from RESULTS.json` it only re-reads earlier results and writes
//! the tables (no card needed): the analysis (best measured, the picks, the
//! cost model's ranking) is here, the timing in `smemplan_lab::gpu::device`.
//!
//! The cases are the default list (`--case` picks some by name) or one
//! case chosen by flags: `--method` (and with it the kernel model), then
//! optionally `--system`, `--n`, `--precision`, `--batch`, `--t-end` and
//! `--steps`. Flags are checked before any card is looked for.

use super::{read_results, Verdict};
use anyhow::{Context, Result};
use smemplan::kernel::Precision;
use smemplan::perf::occupancy::DeviceProfile;
use smemplan_lab::calibrate;
use smemplan_lab::gpu::measure::{self, Case, CaseResult, CaseSpec, Results, Run};
use smemplan_lab::integrate::{Method, System};
use std::fmt::Write as _;
use std::io::Write;
use std::path::PathBuf;

/// Arguments of `smemplan-lab measure`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Device profile for the picks and the cost model.
    /// On a card that another built-in profile describes (an H100 under
    /// `h200`), the run warns and names that profile.
    #[arg(long, value_name = "NAME", default_value = "h200")]
    pub device: String,
    /// Timed launches per configuration (after one warm-up); the best
    /// counts.
    #[arg(long, value_name = "N", default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..))]
    pub repeats: u64,
    /// Stop timing new configurations after this many seconds (the rest are
    /// counted as skipped).
    #[arg(long, value_name = "SECS", default_value_t = 420)]
    pub budget: u64,
    /// Only these cases of the default list (names contain the text;
    /// repeatable).
    #[arg(long, value_name = "TEXT", conflicts_with_all = ["method", "from"])]
    pub case: Vec<String>,
    /// One case chosen by flags instead of the default list.
    #[command(flatten)]
    pub chosen: CaseArgs,
    /// Re-read results written earlier by `--json` instead of measuring.
    #[arg(long, value_name = "RESULTS.json", conflicts_with = "method")]
    pub from: Option<PathBuf>,
    /// Generate every layout's kernel, compile it with NVRTC for this
    /// architecture (e.g. `sm_90`) and stop: needs NVRTC, not a card.
    #[arg(long, value_name = "ARCH", conflicts_with = "from")]
    pub compile_only: Option<String>,
    /// CUDA device ordinal.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub gpu: usize,
    /// Write the results as JSON.
    #[arg(long, value_name = "OUT.json")]
    pub json: Option<PathBuf>,
    /// Write the tables as markdown.
    #[arg(long, value_name = "OUT.md")]
    pub markdown: Option<PathBuf>,
}

/// The flags that choose one integrator case, `measure`'s and `tune`'s
/// alike: the method (and with it the kernel model), then optionally the
/// system, its size, the precision, the batch, the horizon and the steps.
#[derive(Debug, clap::Args)]
pub struct CaseArgs {
    /// A built-in integrator's case chosen by flags (measure: instead of the
    /// default list; tune: timed instead of the stand-in): the method
    /// (dormand-prince-54, backward-euler or dirk), which also chooses the
    /// kernel model (models/integrators/*.toml).
    #[arg(long, value_name = "NAME")]
    pub method: Option<String>,
    /// The case's system: lorenz or robertson (n = 3), allen-cahn (any n).
    #[arg(long, value_name = "NAME", requires = "method", default_value = "allen-cahn")]
    pub system: String,
    /// The state size (allen-cahn: 1 to 1024, 32 when not given).
    #[arg(long, value_name = "N", requires = "method")]
    pub n: Option<u32>,
    /// The case's precision.
    #[arg(long, value_name = "f32|f64", requires = "method", default_value = "f32", value_parser = ["f32", "f64"])]
    pub precision: String,
    /// Systems in the case's batch.
    #[arg(long, value_name = "N", requires = "method", default_value_t = measure::DEFAULT_BATCH,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub batch: u64,
    /// The case's horizon (default: the method's on the system).
    #[arg(long, value_name = "T", requires = "method")]
    pub t_end: Option<f64>,
    /// Fixed steps over the horizon (backward-euler only; a multiple of 10,
    /// the output samples).
    #[arg(long, value_name = "N", requires = "method")]
    pub steps: Option<u32>,
}

impl CaseArgs {
    /// The case the flags choose (`None`: no `--method`), checked before
    /// any card is looked for.
    pub fn case(&self) -> Result<Option<Case>> {
        let Some(method) = &self.method else { return Ok(None) };
        let method = Method::named(method).context("--method")?;
        let system = System::named(&self.system, self.n).context("--system/--n")?;
        let precision = if self.precision == "f64" { Precision::F64 } else { Precision::F32 };
        if let Some(t) = self.t_end {
            if !(t > 0.0 && t.is_finite()) {
                anyhow::bail!("--t-end: the horizon must be a positive number, not {t}");
            }
        }
        let spec = CaseSpec { method, system, precision, batch: self.batch, t_end: self.t_end, steps: self.steps };
        Ok(Some(spec.case().with_context(|| format!("the case {}", spec.name()))?))
    }
}

/// Runs `smemplan-lab measure`.
pub fn run(args: &Args, out: &mut dyn Write) -> Result<Verdict> {
    let profile = DeviceProfile::named(&args.device)?;
    if let (Some(json), Some(md)) = (&args.json, &args.markdown) {
        if super::same_file(json, md) {
            anyhow::bail!("--json and --markdown both name `{}`: give two different files", json.display());
        }
    }
    let results = match &args.from {
        Some(path) => {
            let results = read_results(path)?;
            calibrate::check_results(&path.display().to_string(), &results, &profile)?;
            results
        }
        None => {
            let cases = chosen_cases(args)?;
            smemplan_lab::gpu::guarded(|| card::measure(args, &cases, &profile, out))?
        }
    };
    let tables = markdown(&results, &profile);
    out.write_all(tables.as_bytes())?;
    if let Some(path) = &args.json {
        let text = serde_json::to_string_pretty(&results)? + "\n";
        super::write_atomic(path, text.as_bytes())?;
    }
    if let Some(path) = &args.markdown {
        super::write_atomic(path, tables.as_bytes())?;
    }
    let bitwise = results.cases.iter().flat_map(|c| &c.runs).all(|r| r.bitwise);
    Ok(if bitwise { Verdict::Done } else { Verdict::Rejected })
}

/// The cases `args` ask for: the one the flags choose, or the default list
/// filtered by `--case`.
pub fn chosen_cases(args: &Args) -> Result<Vec<Case>> {
    if let Some(case) = args.chosen.case()? {
        return Ok(vec![case]);
    }
    let cases: Vec<Case> = measure::cases()?
        .into_iter()
        .filter(|c| args.case.is_empty() || args.case.iter().any(|t| c.name.contains(t.as_str())))
        .collect();
    if cases.is_empty() {
        let names: Vec<String> = measure::cases()?.into_iter().map(|c| c.name).collect();
        anyhow::bail!("--case {:?} matches none of the cases ({})", args.case, names.join(", "));
    }
    Ok(cases)
}

fn layout_label(r: &Run) -> String {
    calibrate::label(&r.layout)
}

fn rate(r: &Run) -> f64 {
    r.system_steps_per_second
}

/// The markdown tables of `results`.
pub fn markdown(results: &Results, profile: &DeviceProfile) -> String {
    let mut s = String::new();
    for c in &results.cases {
        let _ = writeln!(s, "### {} (n = {}, {} systems)\n", calibrate::printable(&c.name), c.n, c.batch);
        let all_bitwise = c.runs.iter().all(|r| r.bitwise);
        let best = c.runs.iter().max_by(|a, b| rate(a).total_cmp(&rate(b)));
        let Some(best) = best else {
            let _ = writeln!(s, "(no runs)\n");
            continue;
        };
        let _ = writeln!(
            s,
            "{} configurations timed{}; every run {} the CPU reference bit for bit.\n",
            c.runs.len(),
            if c.skipped > 0 { format!(", {} skipped (time budget)", c.skipped) } else { String::new() },
            if all_bitwise { "reproduces" } else { "does NOT all reproduce" }
        );
        let _ =
            writeln!(s, "| layout | best block | blocks/SM | regs | stack B | best ms | Msystem-steps/s | vs best |");
        let _ = writeln!(s, "|---|---|---|---|---|---|---|---|");
        let mut layouts: Vec<String> = c.runs.iter().map(layout_label).collect();
        layouts.dedup();
        let mut seen = std::collections::BTreeSet::new();
        for label in layouts.into_iter().filter(|l| seen.insert(l.clone())) {
            let Some(r) = c.runs.iter().filter(|r| layout_label(r) == label).max_by(|a, b| rate(a).total_cmp(&rate(b)))
            else {
                continue;
            };
            let _ = writeln!(
                s,
                "| {label} | {} | {} | {} | {} | {:.3} | {:.1} | {:.2} |",
                r.block_size,
                r.blocks_per_sm,
                r.registers,
                r.stack_bytes,
                r.best_ms,
                rate(r) / 1e6,
                rate(r) / rate(best)
            );
        }
        let find = |planner: &str, placement: &str, block: u64| {
            c.runs.iter().find(|r| {
                r.layout.planner == planner
                    && r.layout.placement == placement
                    && r.layout.shared_layout == "odd-stride"
                    && r.block_size == block
            })
        };
        let ours = if c.smemplan_split.is_empty() {
            find("smemplan", "all-shared", c.smemplan_block)
        } else {
            find("smemplan", "split", c.smemplan_block).or_else(|| find("smemplan", "all-local", c.smemplan_block))
        };
        let cubie = find("cubie", "all-shared", c.cubie_block);
        let cubie_opt = find("smemplan", "all-shared", c.cubie_block);
        let _ = writeln!(s);
        let line = |what: &str, r: Option<&Run>| match r {
            Some(r) => format!(
                "| {what} | {} | {} | {:.1} | {:.2} |",
                layout_label(r),
                r.block_size,
                rate(r) / 1e6,
                rate(r) / rate(best)
            ),
            None => format!("| {what} | - | - | - | - |"),
        };
        let _ = writeln!(s, "| pick | layout | block | Msystem-steps/s | vs best measured |");
        let _ = writeln!(s, "|---|---|---|---|---|");
        let _ = writeln!(s, "{}", line("best measured", Some(best)));
        let _ = writeln!(s, "{}", line("smemplan (block + split)", ours));
        let _ = writeln!(s, "{}", line("CuBIE (halving, its layout)", cubie));
        let _ = writeln!(s, "{}", line("smemplan layout at CuBIE's block", cubie_opt));
        let _ = writeln!(s, "\n{}\n", ranking(c, profile));
    }
    s
}

/// How well the cost model (the profile as it is now, not as it was at
/// run time) ranks the measured configurations.
fn ranking(c: &CaseResult, profile: &DeviceProfile) -> String {
    let fit = calibrate::from_case(c).and_then(|o| calibrate::evaluate(profile, &o));
    match fit.as_ref().map(|groups| groups.first()) {
        Ok(Some(g)) if g.count >= 3 => format!(
            "Cost model (profile `{}`) over {} configurations: Spearman ρ = {:.2}, log-RMS error {:.2} (up to one factor per case); its favourite ({}, block {}) measured {:.0} % of the best.",
            profile.name,
            g.count,
            g.spearman,
            g.log_rms,
            g.favourite.0,
            g.favourite.1,
            100.0 * g.favourite_share
        ),
        Ok(_) => "Cost model: too few estimates to rank.".into(),
        Err(e) => format!("Cost model: cannot rebuild this case's layouts ({e})."),
    }
}

#[cfg(not(feature = "gpu"))]
mod card {
    use super::*;
    use anyhow::bail;

    pub fn measure(_: &Args, _: &[Case], _: &DeviceProfile, _: &mut dyn Write) -> Result<Results> {
        bail!("this smemplan-lab was built without GPU support; rebuild with `cargo build --release -p smemplan-lab --features gpu`")
    }
}

#[cfg(feature = "gpu")]
mod card {
    use super::*;
    use smemplan_lab::gpu::device::Gpu;
    use smemplan_lab::integrate::{self, ENTRY, NVRTC_OPTIONS};
    use std::time::Instant;

    pub fn measure(args: &Args, cases: &[Case], profile: &DeviceProfile, out: &mut dyn Write) -> Result<Results> {
        if let Some(arch) = &args.compile_only {
            let options: Vec<String> = NVRTC_OPTIONS.iter().map(|s| s.to_string()).collect();
            for case in cases {
                let (split, ours, _) = measure::smemplan_pick(profile, case)?;
                let cubie = measure::cubie_pick(profile, case)?;
                let layouts = measure::layouts(profile, case, &split, &[ours, cubie])?;
                let blocks: usize = layouts.iter().map(|l| l.blocks.len()).sum();
                for l in &layouts {
                    smemplan_lab::gpu::device::compile_only(&l.kernel.source, ENTRY, arch, &options)?;
                }
                writeln!(
                    out,
                    "{}: {} layouts compiled, {blocks} configurations; smemplan block {ours} local {split:?}, cubie block {cubie}",
                    case.name,
                    layouts.len()
                )?;
            }
            return Ok(Results {
                device: serde_json::Value::Null,
                profile: profile.name.clone(),
                date: String::new(),
                cases: Vec::new(),
            });
        }
        let gpu = Gpu::open(args.gpu)?;
        if let Some(w) = smemplan_lab::gpu::profile_mismatch(&gpu.info.name, &profile.name) {
            writeln!(out, "{w}")?;
        }
        let started = Instant::now();
        let options: Vec<String> = NVRTC_OPTIONS.iter().map(|s| s.to_string()).collect();
        let mut results = Vec::new();
        for case in cases {
            let (split, ours, _) = measure::smemplan_pick(profile, case)?;
            let cubie = measure::cubie_pick(profile, case)?;
            let layouts = measure::layouts(profile, case, &split, &[ours, cubie])?;
            let sources: Vec<(String, &str)> = layouts.iter().map(|l| (l.kernel.source.clone(), ENTRY)).collect();
            let kernels = gpu.compile_all(&sources, &options)?;
            let reference = integrate::reference(&case.setup, case.batch, 0..case.batch)?;
            let system_steps = if case.fixed_steps > 0 {
                case.fixed_steps * case.batch
            } else {
                // Adaptive methods: accepted + rejected step attempts.
                let b = case.batch as usize;
                reference.stats[..2 * b].iter().map(|&v| v as u64).sum()
            };
            let mut arrays = gpu.integrator_arrays(&case.setup.inputs(case.batch), case.batch)?;
            let mut result = CaseResult {
                name: case.name.clone(),
                batch: case.batch,
                n: case.setup.system.n() as u64,
                system_steps,
                smemplan_split: split.clone(),
                smemplan_block: ours,
                cubie_block: cubie,
                runs: Vec::new(),
                skipped: 0,
            };
            writeln!(
                out,
                "{}: {} layouts, smemplan block {ours} local {split:?}, cubie block {cubie}",
                case.name,
                layouts.len()
            )?;
            for (layout, kernel) in layouts.iter().zip(&kernels) {
                for &block in &layout.blocks {
                    if block > kernel.max_threads_per_block {
                        continue;
                    }
                    if started.elapsed().as_secs() > args.budget {
                        result.skipped += 1;
                        continue;
                    }
                    let shared = layout.kernel.dynamic_shared_bytes(block)?;
                    let timed = gpu.time_integrator(kernel, &mut arrays, block, shared, args.repeats as usize)?;
                    let best_ms = timed.times_ms.iter().copied().fold(f64::INFINITY, f64::min);
                    let check = reference.compare(&timed.out, &timed.stats);
                    result.runs.push(Run {
                        layout: layout.name.clone(),
                        block_size: block,
                        dynamic_shared_bytes: shared,
                        registers: kernel.registers,
                        stack_bytes: kernel.local_bytes,
                        blocks_per_sm: gpu.active_blocks(kernel, block, shared)?,
                        best_ms,
                        times_ms: timed.times_ms,
                        system_steps_per_second: system_steps as f64 / (best_ms * 1e-3),
                        bitwise: check.is_ok(),
                        mismatch: check.err().map(|m| m.message),
                        estimated_runs_per_second: measure::estimate(
                            profile,
                            &layout.kernel,
                            case.batch,
                            block,
                            kernel.registers,
                        )?,
                    });
                }
            }
            results.push(result);
        }
        let device = serde_json::json!({
            "name": gpu.info.name,
            "compute_capability": gpu.info.compute_capability,
            "multiprocessors": gpu.info.limits.multiprocessors,
            "driver_cuda_version": gpu.info.driver_cuda_version,
            "nvrtc_version": gpu.info.nvrtc_version,
            "driver_version": std::env::var("SMEMPLAN_DRIVER_VERSION").unwrap_or_default(),
        });
        let date = std::env::var("SMEMPLAN_DATE").unwrap_or_default();
        Ok(Results { device, profile: profile.name.clone(), date, cases: results })
    }
}
