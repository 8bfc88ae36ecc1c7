//! `smemplan calibrate`: how well a device profile's throughput estimate
//! follows timed launches (`measure --json` results, block-size tables),
//! and with `--fit` the parameters that follow them best, as a table to
//! paste into `models/devices.toml`.

use super::{read_results, read_text, Verdict};
use anyhow::{bail, Result};
use serde::Serialize;
use smemplan::core::format::table::table;
use smemplan::perf::occupancy::DeviceProfile;
use smemplan_lab::calibrate::{self, Fitted, GroupFit, Observation};
use std::io::Write;
use std::path::PathBuf;

/// Arguments of `smemplan calibrate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Device profile whose parameters are evaluated (and the fit's start).
    #[arg(long, value_name = "NAME", default_value = "h200")]
    pub device: String,
    /// Results of `smemplan-lab measure --json` (repeatable).
    #[arg(long, value_name = "RESULTS.json")]
    pub measured: Vec<PathBuf>,
    /// A block-size table: CSV with `plan,stride,registers,runs,block,ms,shared_accesses`
    /// (repeatable; see tests/data/h200-block-size.csv).
    #[arg(long, value_name = "TABLE.csv")]
    pub table: Vec<PathBuf>,
    /// Fit the parameters and print them as a `[NAME.throughput]` table.
    #[arg(long)]
    pub fit: bool,
    /// With `--fit`: rates left as the profile has them (comma-separated
    /// keys, e.g. `hbm_miss_ns,hbm_miss_busy_ns`).
    #[arg(long, value_name = "KEYS", value_delimiter = ',', requires = "fit")]
    pub hold: Vec<String>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
struct CalibrateJson {
    device: String,
    observations: usize,
    objective: f64,
    groups: Vec<GroupFit>,
    fit: Option<FitReport>,
}

#[derive(Serialize)]
struct FitReport {
    #[serde(flatten)]
    fitted: Fitted,
    groups: Vec<GroupFit>,
    toml: String,
}

/// Runs `smemplan calibrate`.
pub fn run(args: &Args, out: &mut dyn Write) -> Result<Verdict> {
    let device = DeviceProfile::named(&args.device)?;
    if args.measured.is_empty() && args.table.is_empty() {
        bail!("nothing to calibrate against: give --measured RESULTS.json or --table TABLE.csv");
    }
    let mut observations: Vec<Observation> = Vec::new();
    for path in &args.measured {
        let results = read_results(path)?;
        calibrate::check_results(&path.display().to_string(), &results, &device)?;
        observations.extend(calibrate::from_measurements(&results)?);
    }
    for path in &args.table {
        let text = read_text(path)?;
        observations.extend(calibrate::block_table(&device, &path.display().to_string(), &text)?);
    }
    let report = CalibrateJson {
        device: device.name.clone(),
        observations: observations.len(),
        objective: calibrate::objective(&device, &observations)?,
        groups: calibrate::evaluate(&device, &observations)?,
        fit: if args.fit {
            let held: Vec<&str> = args.hold.iter().map(String::as_str).collect();
            let fitted = calibrate::fit(&device, &observations, &held)?;
            let mut after = device.clone();
            after.throughput = fitted.params;
            Some(FitReport {
                groups: calibrate::evaluate(&after, &observations)?,
                toml: calibrate::toml_table(&device.name, &fitted.params),
                fitted,
            })
        } else {
            None
        },
    };
    if args.json {
        serde_json::to_writer_pretty(&mut *out, &report)?;
        writeln!(out)?;
        return Ok(Verdict::Done);
    }
    writeln!(
        out,
        "{} observations against profile `{}` (objective {:.4}: mean squared log error per group, absolute and relative groups weighed equally)",
        report.observations, report.device, report.objective
    )?;
    write_groups(out, &report.groups)?;
    if let Some(f) = &report.fit {
        writeln!(
            out,
            "\nfitted in {} rounds: objective {:.4} → {:.4}",
            f.fitted.rounds, f.fitted.before, f.fitted.after
        )?;
        write_groups(out, &f.groups)?;
        writeln!(out, "\n{}", f.toml)?;
    }
    Ok(Verdict::Done)
}

fn write_groups(out: &mut dyn Write, groups: &[GroupFit]) -> Result<()> {
    let mut rows = vec![["group", "runs", "log-RMS", "Spearman", "favourite", "block", "measured share"]
        .map(String::from)
        .to_vec()];
    for g in groups {
        rows.push(vec![
            calibrate::printable(&g.group),
            g.count.to_string(),
            format!("{:.3}", g.log_rms),
            format!("{:.2}", g.spearman),
            calibrate::printable(&g.favourite.0),
            g.favourite.1.to_string(),
            format!("{:.0} %", 100.0 * g.favourite_share),
        ]);
    }
    write!(out, "{}", table(&rows, &[false, true, true, true, false, true, true]))?;
    Ok(())
}
