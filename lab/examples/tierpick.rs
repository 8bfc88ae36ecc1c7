//! What `plan --tiers auto` picks now, looked up in the committed H100 runs
//! (issue 18, acceptance 1): no card needed.
//!
//! ```text
//! cargo run --release -p smemplan-lab --example tierpick [-- --fit] [--margin M] [--bias] [TUNE.json...]
//! ```
//!
//! The runs (`docs/results/gpu-h100-tune-*-2026-12-07.json`, `tune
//! --exhaustive`) hold every candidate `tune` built (each layout × every
//! block size that fits) with its measured time, the kernel timed being the
//! read-modify-write stand-in (`smemplan_lab::gpu::standin`). For each case
//! this recomputes `tiers::choose` (the planner's estimate: the model's access
//! weights, the `h100` profile, the case's runs) and looks its pick up: a
//! layout was measured when its footprint (padded stride, local bytes)
//! equals one of the case's layouts (all shared, all local, the model's
//! locations, CuBIE's, or the split of the day), else it is "not measured".
//! The figure is the pick's measured time against the faster of the best
//! all shared and the best all local (each at its best measured block).
//!
//! Beside it, the estimate for the stand-in's exact accesses against every
//! measured candidate of the case (log-RMS): the model's own error on a
//! kernel whose accesses are known, which `tiers::SPLIT_MARGIN` rests on.
//! `--fit` refits the profile's local (L1-hit) access cost on the
//! calibration cases alone ([`IN_SAMPLE`]) and evaluates with it; every
//! other case is held out. `--margin M` overrides the split margin (1 turns
//! it off); `--bias` prints each layout's mean estimate ÷ measured; further
//! `tune --exhaustive --json` files (`scripts/gpu-tierpick.sh`) join the
//! table as batch 3, held out.

use anyhow::{bail, Context, Result};
use serde::Deserialize;
use smemplan::kernel::model;
use smemplan::perf::occupancy::DeviceProfile;
use smemplan::perf::throughput;
use smemplan::perf::tiers::{self, TierOptions};
use smemplan::plan::{PlanInput, PlanOptions};
use smemplan_lab::calibrate::{self, Observation};
use smemplan_lab::gpu::standin::StandIn;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The committed runs, relative to the workspace root.
const FILES: [&str; 2] =
    ["docs/results/gpu-h100-tune-dirk-2026-12-07.json", "docs/results/gpu-h100-tune-cases-2026-12-07.json"];

/// Cases a fitted number used: the calibration cases of the batch
/// (`scripts/gpu-levels.sh` step `fit`). The profile's HBM rate came from
/// dirk n = 100 f32 (gpu-notes §6) and its L1-hit cost from both.
const IN_SAMPLE: [&str; 2] = ["dirk n=100 precision=f32", "dirk n=100 precision=f64"];

/// A results file: the committed ones gather cases, one `tune --json`
/// holds one.
#[derive(Deserialize)]
#[serde(untagged)]
enum File {
    Cases { cases: Vec<Case> },
    One(Box<Case>),
}

#[derive(Deserialize)]
struct Case {
    model: String,
    sets: Vec<String>,
    runs: u64,
    iterations: u64,
    layouts: Vec<LayoutRow>,
    all: Vec<Row>,
}

#[derive(Deserialize)]
struct LayoutRow {
    layout: String,
    stride: u64,
    local_bytes: u64,
    registers: u64,
    stack_bytes: u64,
    /// `None`: no block of it was timed.
    best_ms: Option<f64>,
}

#[derive(Deserialize)]
struct Row {
    layout: usize,
    block: u64,
    measured_ms: Option<f64>,
}

impl Case {
    fn key(&self) -> String {
        format!("{} {}", self.model, self.sets.join(" ")).trim().to_string()
    }

    fn in_sample(&self) -> bool {
        IN_SAMPLE.contains(&self.key().as_str())
    }

    /// The stand-in's exact workload for each candidate, with its measured
    /// seconds.
    fn standin_rows(&self) -> impl Iterator<Item = (&str, throughput::Workload, u64, f64)> + '_ {
        self.all.iter().filter_map(|r| {
            let l = &self.layouts[r.layout];
            let k = StandIn::new(l.stride, l.local_bytes, self.iterations);
            let ms = r.measured_ms?;
            Some((l.layout.as_str(), k.workload(self.runs, l.registers, Some(l.stack_bytes)), r.block, ms * 1e-3))
        })
    }

    /// Per layout, the stand-in estimate's mean log error (estimated ÷
    /// measured) over its measured candidates.
    fn standin_bias(&self, device: &DeviceProfile) -> Result<Vec<(String, f64)>> {
        let mut out = Vec::new();
        for (i, l) in self.layouts.iter().enumerate() {
            let k = StandIn::new(l.stride, l.local_bytes, self.iterations);
            let w = k.workload(self.runs, l.registers, Some(l.stack_bytes));
            let (mut sum, mut n) = (0.0, 0usize);
            for r in self.all.iter().filter(|r| r.layout == i) {
                if let (Some(ms), Some(e)) = (r.measured_ms, throughput::estimate(device, &w, r.block)?) {
                    sum += (e.seconds / (ms * 1e-3)).ln();
                    n += 1;
                }
            }
            out.push((l.layout.clone(), sum / n.max(1) as f64));
        }
        Ok(out)
    }

    /// The stand-in estimate's log errors over the measured candidates
    /// (estimated ÷ measured), and its favourite (the candidate it
    /// estimates fastest: layout name, block, measured ms).
    fn standin_errors(&self, device: &DeviceProfile) -> Result<(Vec<f64>, (String, u64, f64))> {
        let mut errors = Vec::new();
        let mut favourite = (f64::INFINITY, String::new(), 0, 0.0);
        for (layout, w, block, seconds) in self.standin_rows() {
            if let Some(e) = throughput::estimate(device, &w, block)? {
                errors.push((e.seconds / seconds).ln());
                if e.seconds < favourite.0 {
                    favourite = (e.seconds, layout.to_string(), block, seconds * 1e3);
                }
            }
        }
        Ok((errors, (favourite.1, favourite.2, favourite.3)))
    }

    /// The stand-in estimate's log-RMS error over the measured candidates.
    fn standin_log_rms(&self, device: &DeviceProfile) -> Result<f64> {
        let mut sum = 0.0;
        let mut n = 0usize;
        for (_, w, block, seconds) in self.standin_rows() {
            if let Some(e) = throughput::estimate(device, &w, block)? {
                sum += (e.seconds / seconds).ln().powi(2);
                n += 1;
            }
        }
        Ok((sum / n.max(1) as f64).sqrt())
    }
}

/// One case's pick, looked up.
struct Pick {
    what: String,
    block: u64,
    measured_ms: Option<f64>,
    best_shared_ms: f64,
    best_local_ms: f64,
    /// The best split's estimated gain over the best plain layout (the
    /// search without a margin).
    split_gain: f64,
}

fn pick(case: &Case, device: &DeviceProfile, margin: Option<f64>) -> Result<Pick> {
    let sets: Vec<(String, String)> =
        case.sets.iter().map(|s| model::parse_set(s).map_err(anyhow::Error::msg)).collect::<Result<_>>()?;
    let kernel = model::builtin(&case.model)?.instantiate(&sets)?;
    // As `tune` ran it (its default time limit), and as `plan --tiers auto
    // --runs N` does.
    let mut options = TierOptions {
        plan: PlanOptions { time_limit: Some(Duration::from_secs(10)), ..PlanOptions::default() },
        runs: case.runs,
        accesses: kernel.accesses.clone(),
        ..TierOptions::default()
    };
    if let Some(m) = margin {
        options.split_margin = m;
    }
    let input = PlanInput::try_from(&kernel)?;
    let choice = tiers::choose(&input, &kernel.table, device, &options)?;
    let free = tiers::choose(&input, &kernel.table, device, &TierOptions { split_margin: 1.0, ..options.clone() })?;
    let plain =
        [&free.own_locations, &free.all_shared, &free.all_local].iter().map(|p| p.runs_per_second).fold(0.0, f64::max);
    let chosen = &choice.chosen;
    let Some(best) = chosen.best else { bail!("{}: the pick cannot launch", case.key()) };
    let block = best.occupancy.block_size;
    let footprint = (chosen.padded_shared_bytes, chosen.local_bytes);
    let layout = case.layouts.iter().position(|l| (l.stride, l.local_bytes) == footprint);
    let what = match (chosen.local_bytes, chosen.shared_bytes) {
        (0, _) => "all shared".to_string(),
        (_, 0) => "all local".to_string(),
        (local, _) => format!("split, {local} B local"),
    };
    let measured_ms =
        layout.and_then(|i| case.all.iter().find(|r| r.layout == i && r.block == block).and_then(|r| r.measured_ms));
    let best_of = |keep: &dyn Fn(&LayoutRow) -> bool| {
        case.layouts.iter().filter(|l| keep(l)).filter_map(|l| l.best_ms).fold(f64::INFINITY, f64::min)
    };
    Ok(Pick {
        what,
        block,
        measured_ms,
        best_shared_ms: best_of(&|l| l.local_bytes == 0),
        best_local_ms: best_of(&|l| l.layout == "all local"),
        split_gain: free.chosen.runs_per_second / plain,
    })
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let fit = args.iter().any(|a| a == "--fit");
    let margin = match args.iter().position(|a| a == "--margin") {
        Some(i) => Some(args.get(i + 1).context("--margin takes a number")?.parse::<f64>()?),
        None => None,
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    // The committed batches (1, 2), then any `tune --json` files named on
    // the command line (batch 3: new, held out).
    let mut files: Vec<(usize, PathBuf)> = FILES.iter().enumerate().map(|(i, f)| (i + 1, root.join(f))).collect();
    let mut skip = false;
    for a in &args {
        if std::mem::take(&mut skip) {
            continue;
        }
        match a.as_str() {
            "--margin" => skip = true,
            "--fit" | "--bias" => {}
            _ if a.starts_with("--") => bail!("unknown option {a}"),
            _ => files.push((FILES.len() + 1, PathBuf::from(a))),
        }
    }
    let mut cases: Vec<(usize, Case)> = Vec::new();
    for (batch, file) in &files {
        let name = file.display();
        let text = std::fs::read_to_string(file).with_context(|| format!("reading {name}"))?;
        match serde_json::from_str(&text).with_context(|| format!("parsing {name}"))? {
            File::Cases { cases: c } => cases.extend(c.into_iter().map(|c| (*batch, c))),
            File::One(c) => cases.push((*batch, *c)),
        }
    }
    let mut device = DeviceProfile::named("h100")?;
    if fit {
        let observations: Vec<Observation> = cases
            .iter()
            .filter(|(_, c)| c.in_sample())
            .flat_map(|(batch, c)| {
                // One group per layout: each weighs the same, however many
                // block sizes it fits at (all local fits at every size and
                // would otherwise outweigh the rest).
                // All local at n = 100 (5.4-10.8 kB per run) is served by
                // L2 and HBM, whose rates are held: it says nothing of the
                // L1 hit, and its misses would set the fitted figure.
                c.standin_rows()
                    .filter(|(layout, ..)| *layout != "all local")
                    .map(|(layout, w, block, s)| {
                        let group = format!("{} (batch {batch})", c.key());
                        Observation::relative(&group, w, block, s, layout)
                    })
                    .collect::<Vec<_>>()
            })
            .collect();
        // Only the L1-hit cost moves: the other rates come from other data
        // (the H200's integrators, gpu-notes §6's HBM rate).
        let held: Vec<&str> = calibrate::RATE_NAMES.iter().copied().filter(|k| *k != "local_access_ns").collect();
        let fitted = calibrate::fit(&device, &observations, &held)?;
        println!(
            "fit on {} in-sample candidates: objective {:.4} -> {:.4}\n{}",
            observations.len(),
            fitted.before,
            fitted.after,
            calibrate::toml_table("h100", &fitted.params)
        );
        device.throughput = fitted.params;
    }
    let p = &device.throughput;
    println!(
        "h100: shared_access_ns {}, local_access_ns {} ({:.2}x); split margin {}",
        p.shared_access_ns,
        p.local_access_ns,
        p.local_access_ns / p.shared_access_ns,
        margin.unwrap_or(tiers::SPLIT_MARGIN)
    );
    println!();
    println!("| case | batch | fit | best split's est. gain | plan's pick: layout, block | measured | best all shared | best all local | pick ÷ faster | stand-in estimate: log-RMS, centred | its favourite ÷ faster |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    if args.iter().any(|a| a == "--bias") {
        for (batch, case) in &cases {
            let bias: Vec<String> =
                case.standin_bias(&device)?.iter().map(|(l, b)| format!("{l} {:.2}", b.exp())).collect();
            println!("{} (batch {batch}): estimated ÷ measured, geometric mean: {}", case.key(), bias.join(", "));
        }
    }
    let (mut held_sq, mut held_n) = (0.0, 0usize);
    let (mut centred_sq, mut centred_n) = (0.0, 0usize);
    for (batch, case) in &cases {
        let p = pick(case, &device, margin)?;
        let rms = case.standin_log_rms(&device)?;
        // Centred: the error of the estimate's ratios between the case's
        // candidates, which is all a choice among them uses.
        let (errors, favourite) = case.standin_errors(&device)?;
        let mean = errors.iter().sum::<f64>() / errors.len().max(1) as f64;
        let centred = (errors.iter().map(|e| (e - mean).powi(2)).sum::<f64>() / errors.len().max(1) as f64).sqrt();
        if !case.in_sample() {
            held_sq += rms * rms;
            held_n += 1;
            centred_sq += centred * centred;
            centred_n += 1;
        }
        let faster = p.best_shared_ms.min(p.best_local_ms);
        let (measured, ratio) = match p.measured_ms {
            Some(ms) => (format!("{ms:.3} ms"), format!("{:.3}", faster / ms)),
            None => ("not measured".into(), "-".into()),
        };
        println!(
            "| {} | {batch} | {} | {:.3} | {}, {} | {measured} | {:.3} ms | {:.3} ms | {ratio} | {rms:.2}, {centred:.2} | {}, {}: {:.3} |",
            case.key(),
            if case.in_sample() { "in-sample" } else { "held out" },
            p.split_gain,
            p.what,
            p.block,
            p.best_shared_ms,
            p.best_local_ms,
            favourite.0,
            favourite.1,
            faster / favourite.2,
        );
    }
    println!();
    println!(
        "held-out stand-in estimate: log-RMS {:.3} over {held_n} cases (root mean square of the per-case figures)",
        (held_sq / held_n.max(1) as f64).sqrt()
    );
    println!(
        "held-out stand-in estimate, centred per case: log-RMS {:.3} (factor {:.3})",
        (centred_sq / centred_n.max(1) as f64).sqrt(),
        (centred_sq / centred_n.max(1) as f64).sqrt().exp()
    );
    Ok(())
}
