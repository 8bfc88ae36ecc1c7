//! The evaluation behind `tierpick` (see `main.rs`), shared with
//! `lab/tests/tierpick.rs`.

use anyhow::{bail, Context, Result};
use serde::Deserialize;
use smemplan::kernel::model;
use smemplan::perf::occupancy::DeviceProfile;
use smemplan::perf::throughput;
use smemplan::perf::tiers::{self, TierOptions};
use smemplan::plan::{PlanInput, PlanOptions};
use smemplan::study::compare::CompareOptions;
use smemplan_lab::calibrate::{self, Observation};
use smemplan_lab::gpu::standin::StandIn;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The committed runs, relative to the workspace root, batch 1 first.
/// Batches 1–3 were measured before the block-size ranking's scheduler
/// tie-break was chosen on them; batch 4 after, held out of it too.
pub const FILES: [&str; 4] = [
    "docs/results/gpu-h100-tune-dirk-2026-12-07.json",
    "docs/results/gpu-h100-tune-cases-2026-12-07.json",
    "docs/results/gpu-h100-tierpick-batch3-2026-12-07.json",
    "docs/results/gpu-h100-tierpick-batch4-2026-12-07.json",
];

/// Cases a fitted number used: the calibration cases of the batch
/// (`scripts/gpu-levels.sh` step `fit`). The profile's HBM rate came from
/// dirk n = 100 f32 (gpu-notes §6) and its L1-hit cost from both.
pub const IN_SAMPLE: [&str; 2] = ["dirk n=100 precision=f32", "dirk n=100 precision=f64"];

/// A results file: the committed ones gather cases, one `tune --json`
/// holds one.
#[derive(Deserialize)]
#[serde(untagged)]
pub enum File {
    Cases {
        /// One per `tune` run.
        cases: Vec<Case>,
    },
    /// One `tune --json`.
    One(Box<Case>),
}

/// One `tune --exhaustive` run (the fields read of its JSON).
#[derive(Deserialize)]
pub struct Case {
    /// The kernel model.
    pub model: String,
    /// Its `--set NAME=VALUE`s.
    pub sets: Vec<String>,
    /// Runs in the batch.
    pub runs: u64,
    /// The stand-in's passes over every word.
    pub iterations: u64,
    /// The layouts timed (the same footprint twice is one).
    pub layouts: Vec<LayoutRow>,
    /// Every candidate: a layout at a block size.
    pub all: Vec<Row>,
}

/// A layout of a [`Case`].
#[derive(Deserialize)]
pub struct LayoutRow {
    /// `smemplan split`, `model's locations`, `all shared`, `all local`, `cubie`.
    pub layout: String,
    /// Padded shared bytes per run.
    pub stride: u64,
    /// Local bytes per run.
    pub local_bytes: u64,
    /// The compiled stand-in's registers per thread.
    pub registers: u64,
    /// The compiled stand-in's stack (what it keeps in local memory).
    pub stack_bytes: u64,
    /// `None`: no block of it was timed.
    pub best_ms: Option<f64>,
}

/// A candidate of a [`Case`].
#[derive(Deserialize)]
pub struct Row {
    /// Index into the case's layouts.
    pub layout: usize,
    /// Threads per block.
    pub block: u64,
    /// Measured time (`None`: not timed).
    pub measured_ms: Option<f64>,
}

impl Case {
    /// `model set set...`, as the tables name the case.
    pub fn key(&self) -> String {
        format!("{} {}", self.model, self.sets.join(" ")).trim().to_string()
    }

    /// Whether a fitted number used this case ([`IN_SAMPLE`]).
    pub fn in_sample(&self) -> bool {
        IN_SAMPLE.contains(&self.key().as_str())
    }

    /// The stand-in's exact workload for each measured candidate, with
    /// its layout's name, block and measured seconds.
    pub fn standin_rows(&self) -> impl Iterator<Item = (&str, throughput::Workload, u64, f64)> + '_ {
        self.all.iter().filter_map(|r| {
            let l = &self.layouts[r.layout];
            let k = StandIn::new(l.stride, l.local_bytes, self.iterations);
            let ms = r.measured_ms?;
            Some((l.layout.as_str(), k.workload(self.runs, l.registers, Some(l.stack_bytes)), r.block, ms * 1e-3))
        })
    }

    /// Per layout, the stand-in estimate's mean log error (estimated ÷
    /// measured) over its measured candidates.
    pub fn standin_bias(&self, device: &DeviceProfile) -> Result<Vec<(String, f64)>> {
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
    pub fn standin_errors(&self, device: &DeviceProfile) -> Result<(Vec<f64>, (String, u64, f64))> {
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

    /// Per layout whose best stand-in estimate is a tie between block
    /// sizes: the measured ms of the tied block with the fullest warps (the
    /// block-size search's tie-break) and of the one with the most resident
    /// warps per SM.
    pub fn ties(&self, device: &DeviceProfile) -> Result<Vec<(String, f64, f64)>> {
        let mut out = Vec::new();
        for (i, l) in self.layouts.iter().enumerate() {
            let k = StandIn::new(l.stride, l.local_bytes, self.iterations);
            let w = k.workload(self.runs, l.registers, Some(l.stack_bytes));
            let mut rows = Vec::new();
            for r in self.all.iter().filter(|r| r.layout == i) {
                if let (Some(ms), Some(e)) = (r.measured_ms, throughput::estimate(device, &w, r.block)?) {
                    rows.push((e, ms));
                }
            }
            let best = rows.iter().map(|(e, _)| e.seconds).fold(f64::INFINITY, f64::min);
            let tied: Vec<_> = rows.iter().filter(|(e, _)| e.seconds <= best * (1.0 + 1e-9)).collect();
            let fuller = tied.iter().max_by(|a, b| {
                a.0.lanes_per_warp
                    .total_cmp(&b.0.lanes_per_warp)
                    .then(b.0.occupancy.block_size.cmp(&a.0.occupancy.block_size))
            });
            let more = tied.iter().max_by(|a, b| {
                (a.0.occupancy.active_warps_per_sm, a.0.lanes_per_warp.to_bits())
                    .cmp(&(b.0.occupancy.active_warps_per_sm, b.0.lanes_per_warp.to_bits()))
            });
            if let (Some(f), Some(m)) = (fuller, more) {
                if f.0.occupancy.active_warps_per_sm != m.0.occupancy.active_warps_per_sm {
                    let what =
                        format!("{}: block {} vs {}", l.layout, f.0.occupancy.block_size, m.0.occupancy.block_size);
                    out.push((what, f.1, m.1));
                }
            }
        }
        Ok(out)
    }

    /// The stand-in estimate's log-RMS error over the measured candidates.
    pub fn standin_log_rms(&self, device: &DeviceProfile) -> Result<f64> {
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
pub struct Pick {
    /// `all shared`, `all local` or `split, N B local`.
    pub what: String,
    /// Its block size.
    pub block: u64,
    /// Its measured time (`None`: that layout and block were not measured).
    pub measured_ms: Option<f64>,
    /// The best measured all shared, at any block.
    pub best_shared_ms: f64,
    /// The best measured all local, at any block.
    pub best_local_ms: f64,
    /// The best split's estimated gain over the best plain layout (the
    /// search without a margin), when asked for.
    pub split_gain: Option<f64>,
}

impl Pick {
    /// The faster of the best all shared and the best all local, the
    /// baseline a pick is held against.
    pub fn faster_ms(&self) -> f64 {
        self.best_shared_ms.min(self.best_local_ms)
    }

    /// The pick's measured time as a share of [`Pick::faster_ms`] (1: as
    /// fast); `None` where it was not measured.
    pub fn share_of_faster(&self) -> Option<f64> {
        self.measured_ms.map(|ms| self.faster_ms() / ms)
    }
}

/// `plan --tiers auto`'s pick for `case` on `device` (with `margin` in
/// place of [`tiers::SPLIT_MARGIN`] if given), looked up among the measured
/// candidates; with `gain`, also the best split's estimated gain (a second
/// search, without the margin).
pub fn pick(case: &Case, device: &DeviceProfile, margin: Option<f64>, gain: bool) -> Result<Pick> {
    let sets: Vec<(String, String)> =
        case.sets.iter().map(|s| model::parse_set(s).map_err(anyhow::Error::msg)).collect::<Result<_>>()?;
    let kernel = model::builtin(&case.model)?.instantiate(&sets)?;
    // As `plan --tiers auto --runs N` does (and `tune` with it), under
    // their default time limit.
    let plan = CompareOptions {
        plan: PlanOptions { time_limit: Some(Duration::from_secs(10)), ..PlanOptions::default() },
        device: device.clone(),
        requested_block_size: TierOptions::default().cubie_requested,
        runs: case.runs,
        registers_per_thread: 0,
    };
    let mut options = plan.tier_options(&kernel.accesses);
    if let Some(m) = margin {
        options.split_margin = m;
    }
    let input = PlanInput::try_from(&kernel)?;
    let choice = tiers::choose(&input, &kernel.table, device, &options)?;
    let split_gain = if gain {
        let free = tiers::choose(&input, &kernel.table, device, &TierOptions { split_margin: 1.0, ..options.clone() })?;
        let plain = [&free.own_locations, &free.all_shared, &free.all_local]
            .iter()
            .map(|p| p.runs_per_second)
            .fold(0.0, f64::max);
        Some(free.chosen.runs_per_second / plain)
    } else {
        None
    };
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
        // By footprint, as all shared is: `tune` lists a layout once, so an
        // all-local split stands for all local under its own name.
        best_local_ms: best_of(&|l| l.stride == 0 && l.local_bytes > 0),
        split_gain,
    })
}

/// The committed batches ([`FILES`]), then `extra` `tune --json` files (the
/// next batch: new, held out), each case with its batch.
pub fn load(extra: &[PathBuf]) -> Result<Vec<(usize, Case)>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files: Vec<(usize, PathBuf)> = FILES.iter().enumerate().map(|(i, f)| (i + 1, root.join(f))).collect();
    files.extend(extra.iter().map(|f| (FILES.len() + 1, f.clone())));
    let mut cases: Vec<(usize, Case)> = Vec::new();
    for (batch, file) in &files {
        let name = file.display();
        let text = std::fs::read_to_string(file).with_context(|| format!("reading {name}"))?;
        match serde_json::from_str(&text).with_context(|| format!("parsing {name}"))? {
            File::Cases { cases: c } => cases.extend(c.into_iter().map(|c| (*batch, c))),
            File::One(c) => cases.push((*batch, *c)),
        }
    }
    Ok(cases)
}

/// Fits `device`'s local (L1-hit) access cost alone on the in-sample
/// cases' stand-in runs, every other rate held.
pub fn fit_l1_hit(device: &DeviceProfile, cases: &[(usize, Case)]) -> Result<calibrate::Fitted> {
    let observations: Vec<Observation> = cases
        .iter()
        .filter(|(_, c)| c.in_sample())
        .flat_map(|(batch, c)| {
            // Each case up to one factor: only how a local access costs
            // against a shared one in the same kernel moves the fit. All
            // local at n = 100 (5.4-10.8 kB per run) is served by L2 and
            // HBM, whose rates are held: it says nothing of the L1 hit,
            // and its misses would set the fitted figure.
            c.standin_rows()
                .filter(|(layout, ..)| *layout != "all local")
                .map(|(layout, w, block, s)| {
                    Observation::relative(&format!("{} (batch {batch})", c.key()), w, block, s, layout)
                })
                .collect::<Vec<_>>()
        })
        .collect();
    // The other rates come from other data (the H200's integrators,
    // gpu-notes §6's HBM rate).
    let held: Vec<&str> = calibrate::RATE_NAMES.iter().copied().filter(|k| *k != "local_access_ns").collect();
    Ok(calibrate::fit(device, &observations, &held)?)
}

/// The root mean square of `errors` about their mean: the error of the
/// estimate's ratios between one case's candidates, which is all a choice
/// among them uses.
pub fn centred_rms(errors: &[f64]) -> f64 {
    let n = errors.len().max(1) as f64;
    let mean = errors.iter().sum::<f64>() / n;
    (errors.iter().map(|e| (e - mean).powi(2)).sum::<f64>() / n).sqrt()
}
