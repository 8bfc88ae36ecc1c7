//! The lab's command line: clap definitions and dispatch, one file per
//! subcommand, like the planner's own (`smemplan`).
//!
//! Exit codes (mapped in `main.rs`): 0 when every check passed, 1 when a
//! check on the card failed, 2 for bad input, bad usage, no usable card or
//! an internal error.

mod calibrate;
mod measure;
mod tune;
mod verify;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use smemplan::core::format::minimalloc;
use smemplan::Problem;
use std::io::{self, Write};
use std::path::Path;

/// smemplan's GPU lab: layouts verified and timed on a CUDA card, and the
/// throughput estimate calibrated against the timings.
#[derive(Debug, Parser)]
#[command(name = "smemplan-lab", version, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Time the batched integrators on a CUDA GPU across layouts and block
    /// sizes, each run checked bit for bit against the CPU reference (needs
    /// the `gpu` feature and a card; `--from` re-reads results).
    Measure(measure::Args),
    /// How well a device profile's throughput estimate follows timed
    /// launches (`measure --json` results, block-size tables); `--fit`
    /// fits its parameters to them.
    Calibrate(calibrate::Args),
    /// Run layouts on a CUDA GPU: walk every buffer's lifetime to catch
    /// clobbers, and check the occupancy model against the driver (needs
    /// the `gpu` feature and a card).
    Verify(verify::Args),
    /// Rank a kernel's layouts × block sizes by the estimate, time the best
    /// few on a CUDA GPU (a read-modify-write stand-in of a kernel model, or
    /// with `--method` the built-in integrator, checked bit for bit) and
    /// report the measured best beside its estimate (needs the `gpu` feature
    /// and a card; `--rank-only` does not).
    Tune(tune::Args),
}

/// How a command that ran to its end went (its exit code).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Every check passed (exit 0).
    Done,
    /// A check on the card failed (exit 1).
    Rejected,
}

/// Runs the parsed command, writing its report to stdout.
pub fn run(cli: Cli) -> Result<Verdict> {
    let stdout = io::stdout();
    let mut out = stdout.lock();
    let outcome = match cli.command {
        Command::Measure(args) => measure::run(&args, &mut out)?,
        Command::Calibrate(args) => calibrate::run(&args, &mut out)?,
        Command::Verify(args) => verify::run(&args, &mut out)?,
        Command::Tune(args) => tune::run(&args, &mut out)?,
    };
    out.flush()?;
    Ok(outcome)
}

/// Reads a whole file as text, naming it in the error.
fn read_text(path: &Path) -> Result<String> {
    Ok(smemplan::core::format::text::read_text(path)?)
}

/// Reads one `smemplan-lab measure --json` results file, saying so when
/// `path` is a bundle of them (as `docs/results/` keeps several cases:
/// `{"note", "cases": {NAME: results}}`) rather than one.
fn read_results(path: &Path) -> Result<smemplan_lab::gpu::measure::Results> {
    let text = read_text(path)?;
    serde_json::from_str(&text).with_context(|| {
        let bundle = serde_json::from_str::<serde_json::Value>(&text)
            .is_ok_and(|v| v.get("note").is_some() && v.get("cases").is_some_and(serde_json::Value::is_object));
        if bundle {
            format!(
                "`{}` is a bundle of results by case (`note`, `cases`), not one `smemplan-lab measure --json` file: \
                 give one case's results (e.g. `jq '.cases[\"NAME\"]'`)",
                path.display()
            )
        } else {
            format!("`{}` is not a `smemplan-lab measure --json` results file", path.display())
        }
    })
}

/// Writes `bytes` to `path` through a temporary file beside it, renamed
/// over `path` once written; the temporary (this process's own) is removed
/// when anything fails.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let name = path.file_name().with_context(|| format!("cannot write `{}`: not a file name", path.display()))?;
    let mut temporary_name = std::ffi::OsString::from(".");
    temporary_name.push(name);
    temporary_name.push(format!(".{}.tmp", std::process::id()));
    let temporary = path.with_file_name(temporary_name);
    let context = || format!("cannot write `{}`", path.display());
    // Only a file this call created is ever removed.
    let mut file = std::fs::File::create_new(&temporary).with_context(context)?;
    let outcome = file.write_all(bytes).and_then(|()| file.sync_all()).and_then(|()| {
        drop(file);
        std::fs::rename(&temporary, path)
    });
    if outcome.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    outcome.with_context(context)
}

/// Whether two output paths name the same file (as given, or once their
/// folders are resolved).
fn same_file(a: &Path, b: &Path) -> bool {
    let resolved = |p: &Path| {
        let folder = match p.parent() {
            Some(f) if !f.as_os_str().is_empty() => f,
            _ => Path::new("."),
        };
        Some(std::fs::canonicalize(folder).ok()?.join(p.file_name()?))
    };
    a == b || matches!((resolved(a), resolved(b)), (Some(x), Some(y)) if x == y)
}

/// Reads an instance file. Parse errors already name the file, the line and
/// the buffer.
fn load_problem(path: &Path) -> Result<Problem> {
    let text = read_text(path)?;
    Ok(minimalloc::read_problem(&path.display().to_string(), &text)?)
}
