//! `smemplan bench`: run strategies over many instances and tabulate.
//!
//! Instances run one at a time and strategies one after the other, each with
//! its own fresh deadline, so the seconds reported are honest wall-clock
//! times on an otherwise idle process. Every layout passes the independent
//! checker before it is counted. A strategy that declines an instance (e.g.
//! `brute` on a large one) gets an empty cell, not an aborted run.

use super::output::table;
use super::{load_problem, strategy_parser, verify, Limits, Verdict};
use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use smemplan::{core::analysis::Analysis, solve as solver, solve::Error};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

/// Arguments of `smemplan bench`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Instance files, or directories whose `*.csv` files are all run (in
    /// name order).
    #[arg(value_name = "PATH", required = true)]
    pub paths: Vec<PathBuf>,
    /// Comma-separated strategies to compare, in column order.
    #[arg(long, value_name = "A,B,C", value_delimiter = ',', value_parser = strategy_parser(), default_value = smemplan::solve::strategies::DEFAULT_STRATEGY)]
    pub strategies: Vec<String>,
    #[command(flatten)]
    pub limits: Limits,
    /// Print one JSON document with every row instead of the table (also
    /// hides the progress bar).
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
struct Document<'a> {
    strategies: &'a [String],
    capacity: Option<u64>,
    time_limit: f64,
    rows: Vec<BenchRow>,
    totals: Vec<Total<'a>>,
}

#[derive(Serialize)]
struct BenchRow {
    instance: String,
    buffers: usize,
    lower_bound: u64,
    results: Vec<Cell>,
}

/// One strategy on one instance. `peak` and `ratio` are absent when the
/// strategy declined the instance (`error` says why).
#[derive(Serialize)]
struct Cell {
    strategy: String,
    peak: Option<u64>,
    ratio: Option<f64>,
    /// [`solver::Status::name`]; absent when the strategy declined.
    status: Option<&'static str>,
    optimal: bool,
    feasible: bool,
    infeasible: Option<String>,
    seconds: f64,
    error: Option<String>,
}

#[derive(Serialize)]
struct Total<'a> {
    strategy: &'a str,
    seconds: f64,
    solved: usize,
    feasible: usize,
    optimal: usize,
}

/// Runs `smemplan bench`.
pub fn run(args: &Args, out: &mut dyn Write) -> Result<Verdict> {
    let files = instance_files(&args.paths)?;
    let mut strategies: Vec<String> = Vec::new();
    for s in &args.strategies {
        if !strategies.contains(s) {
            strategies.push(s.clone());
        }
    }
    let capacity = args.limits.capacity;
    let progress = progress_bar((files.len() * strategies.len()) as u64, args.json)?;
    let mut rows = Vec::with_capacity(files.len());
    for path in &files {
        let problem = load_problem(path)?;
        // One analysis for every strategy: none pays for the bound again.
        let analysis = Analysis::new(&problem);
        let lb = analysis.lower_bound().bytes;
        let mut results = Vec::with_capacity(strategies.len());
        for name in &strategies {
            progress.set_message(format!("{}: {name}", short_name(path)));
            let solver = smemplan::solve::strategies::strategy(name)?;
            let cell = match solver::run_with(&*solver, &analysis, &args.limits.options()) {
                Ok(solution) => {
                    verify(&problem, &solution, name).with_context(|| format!("on `{}`", path.display()))?;
                    Cell {
                        strategy: name.clone(),
                        peak: Some(solution.peak),
                        ratio: (lb > 0).then(|| solution.peak as f64 / lb as f64),
                        status: Some(solution.status.name()),
                        optimal: solution.is_optimal(),
                        feasible: solution.fits(capacity),
                        infeasible: capacity.zip(solution.infeasibility()).map(|(c, w)| w.describe(&problem, c)),
                        seconds: solution.seconds,
                        error: None,
                    }
                }
                Err(e @ Error::Unsupported { .. }) => Cell {
                    strategy: name.clone(),
                    peak: None,
                    ratio: None,
                    status: None,
                    optimal: false,
                    feasible: false,
                    infeasible: None,
                    seconds: 0.0,
                    error: Some(e.to_string()),
                },
                Err(e) => return Err(e).with_context(|| format!("strategy `{name}` on `{}`", path.display())),
            };
            results.push(cell);
            progress.inc(1);
        }
        rows.push(BenchRow { instance: path.display().to_string(), buffers: problem.len(), lower_bound: lb, results });
    }
    progress.finish_and_clear();

    let totals: Vec<Total> = strategies
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let cells = || rows.iter().map(move |r| &r.results[i]);
            Total {
                strategy: name,
                seconds: cells().map(|c| c.seconds).sum(),
                solved: cells().filter(|c| c.peak.is_some()).count(),
                feasible: cells().filter(|c| c.feasible).count(),
                optimal: cells().filter(|c| c.optimal).count(),
            }
        })
        .collect();
    if args.json {
        let doc = Document {
            strategies: &strategies,
            capacity,
            time_limit: args.limits.time_limit.as_secs_f64(),
            rows,
            totals,
        };
        serde_json::to_writer_pretty(&mut *out, &doc)?;
        writeln!(out)?;
    } else {
        write_table(out, &strategies, capacity, &rows, &totals)?;
    }
    Ok(Verdict::Done)
}

/// Expands directories to their `*.csv` files, sorted by name.
fn instance_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for path in paths {
        let meta = std::fs::metadata(path).with_context(|| format!("cannot read `{}`", path.display()))?;
        if !meta.is_dir() {
            files.push(path.clone());
            continue;
        }
        let mut found = Vec::new();
        for entry in std::fs::read_dir(path).with_context(|| format!("cannot list `{}`", path.display()))? {
            let p = entry.with_context(|| format!("cannot list `{}`", path.display()))?.path();
            if p.extension().is_some_and(|e| e == "csv") && p.is_file() {
                found.push(p);
            }
        }
        if found.is_empty() {
            bail!("no *.csv files in `{}`", path.display());
        }
        found.sort();
        files.extend(found);
    }
    Ok(files)
}

/// A bar on stderr, drawn only when stderr is a terminal and the output is
/// not JSON (so logs and pipes stay clean).
pub(super) fn progress_bar(len: u64, json: bool) -> Result<ProgressBar> {
    let target = if json || !std::io::stderr().is_terminal() {
        ProgressDrawTarget::hidden()
    } else {
        ProgressDrawTarget::stderr()
    };
    let bar = ProgressBar::with_draw_target(Some(len), target);
    bar.set_style(ProgressStyle::with_template("[{elapsed_precise}] {bar:30} {pos}/{len} {msg}")?);
    Ok(bar)
}

fn short_name(path: &Path) -> String {
    path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned())
}

fn write_table(
    out: &mut dyn Write,
    strategies: &[String],
    capacity: Option<u64>,
    rows: &[BenchRow],
    totals: &[Total],
) -> Result<()> {
    let mut header = vec!["instance".to_string(), "buffers".into(), "lower bound".into()];
    for s in strategies {
        header.push(format!("{s} peak/LB"));
        header.push("s".into());
    }
    let mut lines = vec![header];
    for row in rows {
        let mut line = vec![short_name(Path::new(&row.instance)), row.buffers.to_string(), row.lower_bound.to_string()];
        for cell in &row.results {
            line.push(ratio_cell(cell, capacity));
            line.push(if cell.peak.is_some() { format!("{:.3}", cell.seconds) } else { String::new() });
        }
        lines.push(line);
    }
    let mut total = vec![format!("total ({})", rows.len()), rows.iter().map(|r| r.buffers).sum::<usize>().to_string()];
    total.push(String::new());
    for t in totals {
        total.push(match capacity {
            Some(_) => format!("fits {}/{}", t.feasible, rows.len()),
            None => format!("proven {}/{}", t.optimal, rows.len()),
        });
        total.push(format!("{:.3}", t.seconds));
    }
    lines.push(total);
    let numeric: Vec<bool> = (0..lines[0].len()).map(|c| c > 0).collect();
    out.write_all(table(&lines, &numeric).as_bytes())?;
    let fits = match capacity {
        Some(c) => format!("; fits/over: peak within/over capacity {c}"),
        None => String::new(),
    };
    writeln!(out, "peak/LB: peak ÷ lower bound; * proven optimal; n/a: strategy declined{fits}")?;
    Ok(())
}

fn ratio_cell(cell: &Cell, capacity: Option<u64>) -> String {
    let Some(peak) = cell.peak else { return "n/a".into() };
    let mut s = match cell.ratio {
        Some(r) => format!("{r:.4}"),
        None => peak.to_string(),
    };
    if cell.optimal {
        s.push('*');
    }
    if capacity.is_some() {
        s.push_str(if cell.feasible { " fits" } else { " over" });
    }
    s
}
