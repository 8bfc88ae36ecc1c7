//! `smemplan check`: validate a solution with the independent checker.
//!
//! Prints the peak and exits 0 when the layout is valid; otherwise prints
//! every violation, each located at the solution file's line for the buffer
//! it names where there is one, and exits 1.

use super::solve::load_instance;
use super::{load_offsets, Verdict};
use anyhow::{bail, Result};
use smemplan::core::check::{self as checker, Report, Violation};
use smemplan::{core::bound, Problem};
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Arguments of `smemplan check`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The instance, in MiniMalloc CSV (`-`: standard input). A note on
    /// stderr says when its `offset` column fixes buffers (a solution given
    /// as the instance: every offset is then checked against itself) or an
    /// `end` column makes ends inclusive.
    #[arg(value_name = "INSTANCE.csv")]
    pub instance: PathBuf,
    /// The solution: CSV with `id` and `offset` columns, as `solve --out`
    /// writes it; the instance format's other columns may be there, and
    /// its `lower`, `upper` (or `end`) and `size` must then state the
    /// instance's (a solution of another instance is refused); any other
    /// column is an error.
    #[arg(value_name = "SOLUTION.csv")]
    pub solution: PathBuf,
    /// Also require every buffer to end at or below this many bytes.
    #[arg(long, value_name = "BYTES", allow_negative_numbers = true)]
    pub capacity: Option<u64>,
}

/// Runs `smemplan check`.
pub fn run(args: &Args, out: &mut dyn Write) -> Result<Verdict> {
    let Checked { problem, report, .. } = load_and_check(&args.instance, &args.solution, args.capacity, out)?;
    if !report.is_valid() {
        return Ok(Verdict::Rejected);
    }
    let lb = bound::lower_bound(&problem).bytes;
    let gap = if lb == 0 { 0.0 } else { (report.peak as f64 - lb as f64) / lb as f64 * 100.0 };
    write!(out, "valid: peak {} bytes, lower bound {lb} bytes (gap {gap:.2} %)", report.peak)?;
    match args.capacity {
        Some(c) => writeln!(out, ", within capacity {c}")?,
        None => writeln!(out)?,
    }
    Ok(Verdict::Done)
}

/// An instance, a solution's `(id, offset, line)` rows, and the checker's
/// verdict on them.
pub struct Checked {
    /// The instance.
    pub problem: Problem,
    /// The solution's rows, with the line each came from.
    pub offsets: Vec<(String, u64, usize)>,
    /// The checker's verdict.
    pub report: Report,
}

/// Reads both files and checks the solution (against `capacity` too, if
/// given); when it is invalid, its violations are already written to `out`.
pub fn load_and_check(instance: &Path, solution: &Path, capacity: Option<u64>, out: &mut dyn Write) -> Result<Checked> {
    if instance == Path::new("-") && solution == Path::new("-") {
        // Read once, standard input would hold the instance alone and the
        // solution would read as empty.
        bail!("the instance and the solution cannot both be `-`: standard input holds one file");
    }
    let (problem, ..) = load_instance(instance)?;
    let offsets = load_offsets(solution, &problem)?;
    let report = check_offsets(&problem, &offsets, capacity);
    if !report.is_valid() {
        write_violations(out, solution, &offsets, &report)?;
    }
    Ok(Checked { problem, offsets, report })
}

/// Runs the independent checker on `(id, offset, line)` rows.
fn check_offsets(problem: &Problem, offsets: &[(String, u64, usize)], capacity: Option<u64>) -> Report {
    let pairs: Vec<(&str, u64)> = offsets.iter().map(|(id, off, _)| (id.as_str(), *off)).collect();
    checker::check(problem, &pairs, capacity)
}

/// Prints each violation as `SOLUTION:LINE: message` (the line of the buffer
/// it names, when the solution has one), then a count.
fn write_violations(
    out: &mut dyn Write,
    solution: &Path,
    offsets: &[(String, u64, usize)],
    report: &Report,
) -> Result<()> {
    let mut lines_of: HashMap<&str, Vec<usize>> = HashMap::with_capacity(offsets.len());
    for (id, _, line) in offsets {
        lines_of.entry(id.as_str()).or_default().push(*line);
    }
    // The k-th `Duplicated` of an id is about its (k+1)-th row; any other
    // violation is about its first row.
    let mut repeats: HashMap<&str, usize> = HashMap::new();
    for v in &report.violations {
        let (named, row) = match v {
            Violation::Overlap { b, .. } => (Some(b), 0),
            Violation::Duplicated { buffer } => {
                let k = repeats.entry(buffer.as_str()).or_insert(0);
                *k += 1;
                (Some(buffer), *k)
            }
            Violation::Misaligned { buffer, .. }
            | Violation::FixedOffsetMoved { buffer, .. }
            | Violation::Unknown { buffer }
            | Violation::CapacityExceeded { buffer, .. }
            | Violation::EndOverflows { buffer, .. } => (Some(buffer), 0),
            Violation::Missing { .. } => (None, 0),
        };
        match named.and_then(|b| lines_of.get(b.as_str())).and_then(|lines| lines.get(row)) {
            Some(line) => writeln!(out, "{}:{line}: {v}", solution.display())?,
            None => writeln!(out, "{}: {v}", solution.display())?,
        }
    }
    let n = report.violations.len();
    writeln!(out, "invalid: {n} violation{}", if n == 1 { "" } else { "s" })?;
    Ok(())
}
