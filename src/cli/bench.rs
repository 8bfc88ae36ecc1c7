//! `smemplan bench`: run strategies over many instances and tabulate.
//!
//! Instances run one at a time and strategies one after the other, each with
//! its own fresh deadline, so the seconds reported are honest wall-clock
//! times on an otherwise idle process; `--repeat N` runs each N times and
//! reports the median. Every layout passes the independent checker before
//! it is counted. A strategy that declines an instance (e.g. `brute` on a
//! large one) gets an empty cell, not an aborted run; a file in a directory
//! that is not an instance is skipped with a line on stderr.

use super::output::{table, Inputs, Staged};
use super::{read_text, strategy_parser, verify, Limits, Verdict};
use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use smemplan::core::format::minimalloc;
use smemplan::{core::analysis::Analysis, solve as solver, solve::Error, SolveOptions};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

/// Arguments of `smemplan bench`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Threads: instances and strategies run one at a time; the strategies that search in \
parallel (exact's raced searches, auto's portfolio, the greedy portfolio on large instances) use rayon's \
pool, one worker per logical core (or RAYON_NUM_THREADS) unless --threads says how many; --threads 1 runs \
everything on one core. The JSON document says which count was used.")]
pub struct Args {
    /// Instance files, or directories whose `*.csv` files are all run (in
    /// name order). A file in a directory that is not an instance (it does
    /// not parse, or every buffer has a fixed offset: a solution) is skipped
    /// with a line on stderr; a file named itself must be an instance.
    #[arg(value_name = "PATH", required = true)]
    pub paths: Vec<PathBuf>,
    /// Comma-separated strategies to compare, in column order.
    #[arg(long, value_name = "A,B,C", value_delimiter = ',', value_parser = strategy_parser(), default_value = smemplan::solve::strategies::DEFAULT_STRATEGY)]
    pub strategies: Vec<String>,
    #[command(flatten)]
    pub limits: Limits,
    /// Save each strategy's layout of each instance as
    /// `DIR/INSTANCE.STRATEGY.csv` (INSTANCE: the file name without
    /// `.csv`), each written by temporary file and rename once the
    /// instance's strategies are done. DIR must exist.
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
    /// Run each strategy on each instance N times and report the median
    /// seconds (the peak and status are the first run's).
    #[arg(long, value_name = "N", default_value = "1", value_parser = parse_repeat, allow_negative_numbers = true)]
    pub repeat: usize,
    /// Worker threads for the strategies that search in parallel (0:
    /// rayon's default, one per logical core or RAYON_NUM_THREADS).
    #[arg(long, value_name = "N", default_value = "0", value_parser = parse_threads, allow_negative_numbers = true)]
    pub threads: usize,
    /// Print one JSON document with every row instead of the table (also
    /// hides the progress bar).
    #[arg(long)]
    pub json: bool,
}

/// The most runs `--repeat` takes: every run's seconds are kept for the
/// median, and a million runs of even the smallest instance is a long wait.
const MAX_REPEAT: usize = 1_000_000;

/// The most worker threads `--threads` takes: each is an operating-system
/// thread, started before any work, and far more than any machine's cores
/// only slows the search down.
const MAX_THREADS: usize = 1024;

/// `--repeat`: a whole number of runs, from 1 to [`MAX_REPEAT`].
fn parse_repeat(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(n) if (1..=MAX_REPEAT).contains(&n) => Ok(n),
        _ => Err(format!("`{text}` is not a number of runs (a whole number from 1 to {MAX_REPEAT})")),
    }
}

/// `--threads`: a whole number from 0 (rayon's default) to [`MAX_THREADS`].
fn parse_threads(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(n) if n <= MAX_THREADS => Ok(n),
        _ => Err(format!("`{text}` is not a number of threads (a whole number from 0 to {MAX_THREADS})")),
    }
}

#[derive(Serialize)]
struct Document<'a> {
    strategies: &'a [String],
    capacity: Option<u64>,
    time_limit: f64,
    /// Runs per cell; `seconds` is their median.
    repeat: usize,
    /// Worker threads of the parallel searches.
    threads: usize,
    out_dir: Option<String>,
    /// Files of the directories given that were not instances.
    skipped: Vec<String>,
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
    /// The bound this strategy proved (the problem's, or more).
    lower_bound: Option<u64>,
    /// `peak` ÷ the row's `lower_bound`, the best any strategy proved.
    ratio: Option<f64>,
    /// [`solver::Status::name`]; absent when the strategy declined.
    status: Option<&'static str>,
    optimal: bool,
    feasible: bool,
    infeasible: Option<String>,
    seconds: f64,
    error: Option<String>,
    /// The layout saved under `--out-dir`.
    #[serde(skip_serializing_if = "Option::is_none")]
    out: Option<String>,
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
    // Refused as sweep refuses it: a second column of one strategy is a
    // typo, not a request.
    if let Some((i, s)) = args.strategies.iter().enumerate().find(|(i, s)| args.strategies[..*i].contains(s)) {
        bail!("--strategies: strategy `{s}` is listed twice (as value {})", i + 1);
    }
    let strategies = &args.strategies;
    if let Some(dir) = &args.out_dir {
        if !dir.is_dir() {
            bail!("--out-dir `{}` is not an existing directory", dir.display());
        }
        let mut stems: Vec<(String, &Path)> = files.iter().map(|(p, _)| (stem(p), p.as_path())).collect();
        stems.sort();
        if let Some(w) = stems.windows(2).find(|w| w[0].0 == w[1].0) {
            bail!(
                "--out-dir: `{}` and `{}` would both be saved as `{}.STRATEGY.csv`; bench them apart",
                w[0].1.display(),
                w[1].1.display(),
                w[0].0
            );
        }
    }
    let pool = match args.threads {
        0 => None,
        n => Some(rayon::ThreadPoolBuilder::new().num_threads(n).build().context("cannot start the threads")?),
    };
    let threads = pool.as_ref().map_or_else(rayon::current_num_threads, rayon::ThreadPool::current_num_threads);
    let (rows, skipped) = match &pool {
        Some(pool) => pool.install(|| run_all(args, &files, strategies)),
        None => run_all(args, &files, strategies),
    }?;
    if rows.is_empty() {
        bail!("none of the {} files given is an instance (each skipped above)", files.len());
    }

    let capacity = args.limits.capacity;
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
            strategies,
            capacity,
            time_limit: args.limits.time_limit.as_secs_f64(),
            repeat: args.repeat,
            threads,
            out_dir: args.out_dir.as_ref().map(|d| d.display().to_string()),
            skipped,
            rows,
            totals,
        };
        serde_json::to_writer_pretty(&mut *out, &doc)?;
        writeln!(out)?;
    } else {
        write_table(out, strategies, capacity, args.repeat, &rows, &totals)?;
    }
    Ok(Verdict::Done)
}

/// Every instance under every strategy: the rows, and the files skipped.
fn run_all(args: &Args, files: &[(PathBuf, bool)], strategies: &[String]) -> Result<(Vec<BenchRow>, Vec<String>)> {
    let capacity = args.limits.capacity;
    let progress = progress_bar((files.len() * strategies.len()) as u64, args.json)?;
    let mut rows = Vec::with_capacity(files.len());
    let mut skipped = Vec::new();
    // Resolved once: every instance's saved layouts are checked against all.
    let inputs = Inputs::new(files.iter().map(|(p, _)| p.as_path()));
    for (path, in_directory) in files {
        let name = path.display().to_string();
        let read = read_text(path).and_then(|text| Ok(minimalloc::read_instance(&name, &text)?));
        let skip = match &read {
            Err(e) if *in_directory => Some(format!("not an instance ({e:#})")),
            Ok((_, d)) if *in_directory && d.buffers > 0 && d.fixed == d.buffers => Some(
                "every buffer has a fixed offset: a solution, not an instance (name the file itself to bench it)"
                    .to_string(),
            ),
            _ => None,
        };
        if let Some(why) = skip {
            progress.suspend(|| eprintln!("smemplan: skipping `{name}`: {why}"));
            progress.inc(strategies.len() as u64);
            skipped.push(name);
            continue;
        }
        let (problem, dialect) = read?;
        progress.suspend(|| {
            for note in dialect.notes(&name) {
                eprintln!("smemplan: note: {note}");
            }
        });
        // One analysis for every strategy: none pays for the bound again.
        let analysis = Analysis::new(&problem);
        let lb = analysis.lower_bound().bytes;
        let mut results = Vec::with_capacity(strategies.len());
        let mut layouts: Vec<(PathBuf, String)> = Vec::new();
        for strategy in strategies {
            progress.set_message(format!("{}: {strategy}", short_name(path)));
            let solver = smemplan::solve::strategies::strategy(strategy)?;
            let mut seconds = Vec::with_capacity(args.repeat);
            let mut first = None;
            let mut declined = None;
            for _ in 0..args.repeat {
                let options = SolveOptions { threads: args.threads, ..args.limits.options() };
                match solver::run_with(&*solver, &analysis, &options) {
                    Ok(solution) => {
                        verify(&problem, &solution, strategy).with_context(|| format!("on `{name}`"))?;
                        seconds.push(solution.seconds);
                        first.get_or_insert(solution);
                    }
                    Err(e @ Error::Unsupported { .. }) => {
                        declined = Some(e.to_string());
                        break;
                    }
                    Err(e) => return Err(e).with_context(|| format!("strategy `{strategy}` on `{name}`")),
                }
            }
            let cell = match (first, declined) {
                (Some(solution), None) => {
                    let saved = args.out_dir.as_ref().map(|dir| dir.join(format!("{}.{strategy}.csv", stem(path))));
                    if let Some(file) = &saved {
                        let csv =
                            minimalloc::write_with_hints(&problem, Some(&solution.layout), dialect.hints.as_deref());
                        layouts.push((file.clone(), csv));
                    }
                    Cell {
                        strategy: strategy.clone(),
                        peak: Some(solution.peak),
                        lower_bound: Some(solution.lower_bound),
                        ratio: None,
                        status: Some(solution.status.name()),
                        optimal: solution.is_optimal(),
                        feasible: solution.fits(capacity),
                        infeasible: capacity.zip(solution.infeasibility()).map(|(c, w)| w.describe(&problem, c)),
                        seconds: median(&mut seconds),
                        error: None,
                        out: saved.map(|f| f.display().to_string()),
                    }
                }
                (_, error) => Cell {
                    strategy: strategy.clone(),
                    peak: None,
                    lower_bound: None,
                    ratio: None,
                    status: None,
                    optimal: false,
                    feasible: false,
                    infeasible: None,
                    seconds: 0.0,
                    error,
                    out: None,
                },
            };
            results.push(cell);
            progress.inc(1);
        }
        // One bound per instance, the best any strategy proved: `exact`
        // raises the problem's where it proves the optimum above it, and a
        // ratio against the weaker bound read 0.26 % above what was optimal.
        let lb = results.iter().filter_map(|c| c.lower_bound).fold(lb, u64::max);
        for c in &mut results {
            c.ratio = c.peak.filter(|_| lb > 0).map(|p| p as f64 / lb as f64);
            // A layout at a bound another strategy proved is proven too.
            c.optimal |= c.peak.is_some_and(|p| p <= lb);
        }
        if !layouts.is_empty() {
            let destinations: Vec<(&str, &Path)> = layouts.iter().map(|(p, _)| ("--out-dir", p.as_path())).collect();
            let mut staged = Staged::reserve(&destinations, &inputs)?;
            for (file, csv) in &layouts {
                staged.write(file, csv)?;
            }
            staged.commit()?;
        }
        rows.push(BenchRow { instance: name, buffers: problem.len(), lower_bound: lb, results });
    }
    progress.finish_and_clear();
    Ok((rows, skipped))
}

/// The median of the runs' seconds (the mean of the middle two for an even
/// count).
fn median(seconds: &mut [f64]) -> f64 {
    seconds.sort_by(f64::total_cmp);
    match seconds.len() {
        0 => 0.0,
        n if n % 2 == 1 => seconds[n / 2],
        n => (seconds[n / 2 - 1] + seconds[n / 2]) / 2.0,
    }
}

/// The file name without `.csv`: `A.1048576` for `A.1048576.csv`.
fn stem(path: &Path) -> String {
    let name = short_name(path);
    name.strip_suffix(".csv").map_or(name.clone(), str::to_string)
}

/// Expands directories to their `*.csv` files, sorted by name; the flag
/// says the file came from a directory (and may be skipped).
fn instance_files(paths: &[PathBuf]) -> Result<Vec<(PathBuf, bool)>> {
    let mut files = Vec::new();
    for path in paths {
        if path == Path::new("-") {
            bail!("`-`: bench reads instance files and directories, not standard input (name a file)");
        }
        let meta = std::fs::metadata(path).with_context(|| format!("cannot read `{}`", path.display()))?;
        if !meta.is_dir() {
            files.push((path.clone(), false));
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
        files.extend(found.into_iter().map(|p| (p, true)));
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
    repeat: usize,
    rows: &[BenchRow],
    totals: &[Total],
) -> Result<()> {
    let mut header = vec!["instance".to_string(), "buffers".into(), "lower bound".into()];
    for s in strategies {
        header.push(format!("{s} peak/LB"));
        header.push(if repeat == 1 { "s".into() } else { format!("s (median of {repeat})") });
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
    let refuted = rows.iter().flat_map(|r| &r.results).any(|c| !c.feasible && c.infeasible.is_some());
    let fits = match capacity {
        Some(c) if refuted => {
            format!("; fits/over: peak within/over capacity {c}; refuted: proven that no layout fits it")
        }
        Some(c) => format!("; fits/over: peak within/over capacity {c}"),
        None => String::new(),
    };
    writeln!(
        out,
        "peak/LB: peak ÷ lower bound (the best any strategy proved); * proven optimal; n/a: strategy declined{fits}"
    )?;
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
        s.push_str(match (cell.feasible, &cell.infeasible) {
            (true, _) => " fits",
            // Not merely over: the strategy proved nothing fits.
            (false, Some(_)) => " refuted",
            (false, None) => " over",
        });
    }
    s
}
