//! `smemplan solve`: plan one instance and report the result.
//!
//! The layout is checked by the independent checker before anything is
//! reported or written; `--out`, `--svg` and `--dot` are written
//! atomically, all or none. The exit status is 0 whenever a valid layout was produced, even
//! one over the capacity: the report says whether it fits and, when the
//! capacity is proven too small, why.

use super::output::{Inputs, Staged};
use super::{builtin, read_text, strategy_parser, verify, Limits, Verdict};
use anyhow::Result;
use serde::Serialize;
use smemplan::core::analysis::Analysis;
use smemplan::core::format::minimalloc::{self, Dialect};
use smemplan::core::plot::{self, PlotOptions};
use smemplan::solve::{SolveReport, Status};
use smemplan::{solve as solver, Problem, Solution};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Arguments of `smemplan solve`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Instance in MiniMalloc CSV (`id,lower,upper,size`, optional
    /// `alignment`, `offset`, `hint`, `gaps`), `-` for standard input;
    /// without it, a built-in
    /// example (one step of an implicit Runge–Kutta solver kernel). A note
    /// on stderr says when an `offset` column fixes buffers or an `end`
    /// column makes ends inclusive.
    #[arg(value_name = "INSTANCE.csv")]
    pub instance: Option<PathBuf>,
    /// Layout algorithm.
    #[arg(long, value_name = "NAME", value_parser = strategy_parser(), default_value = smemplan::solve::strategies::DEFAULT_STRATEGY)]
    pub strategy: String,
    #[command(flatten)]
    pub limits: Limits,
    /// Write the layout as MiniMalloc CSV (the instance's rows, its hints
    /// if it has any, plus an `offset` column), replacing the file
    /// atomically.
    #[arg(long, value_name = "SOLUTION.csv")]
    pub out: Option<PathBuf>,
    /// Draw the layout as SVG (time on x, address on y), replacing the file
    /// atomically.
    #[arg(long, value_name = "OUT.svg")]
    pub svg: Option<PathBuf>,
    /// Write the interference graph in Graphviz's DOT language (one node per
    /// buffer, labelled with its id and size; one edge per pair of buffers
    /// live at a common instant), replacing the file atomically.
    #[arg(long, value_name = "OUT.dot")]
    pub dot: Option<PathBuf>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// The JSON report (field meanings are documented in the README).
#[derive(Serialize)]
struct SolveJson<'a> {
    instance: &'a str,
    #[serde(flatten)]
    report: SolveReport,
    out: Option<String>,
    svg: Option<String>,
    dot: Option<String>,
    /// How the input was read, when it may surprise (see [`Dialect::notes`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    notes: Vec<String>,
    /// Buffers the instance's `offset` column fixes, when there are any.
    #[serde(skip_serializing_if = "Option::is_none")]
    fixed: Option<usize>,
    layout: Vec<OffsetJson<'a>>,
}

#[derive(Serialize)]
struct OffsetJson<'a> {
    id: &'a str,
    offset: u64,
    size: u64,
}

/// Runs `smemplan solve`.
pub fn run(args: &Args, out: &mut dyn Write) -> Result<Verdict> {
    let destinations: Vec<(&str, &Path)> =
        [("--out", args.out.as_deref()), ("--svg", args.svg.as_deref()), ("--dot", args.dot.as_deref())]
            .into_iter()
            .filter_map(|(f, p)| Some((f, p?)))
            .collect();
    let mut staged = Staged::reserve(&destinations, &Inputs::new(args.instance.as_deref()))?;
    let (name, (problem, dialect, notes)) = match &args.instance {
        Some(path) => (path.display().to_string(), load_instance(path)?),
        None => (builtin::NAME.to_string(), read_instance(builtin::NAME, builtin::CSV)?),
    };
    let solver = smemplan::solve::strategies::strategy(&args.strategy)?;
    let analysis = Analysis::new(&problem);
    let solution = solver::run_with(&*solver, &analysis, &args.limits.options())?;
    verify(&problem, &solution, &args.strategy)?;

    let capacity = args.limits.capacity;
    if let Some(path) = &args.out {
        staged
            .write(path, &minimalloc::write_with_hints(&problem, Some(&solution.layout), dialect.hints.as_deref()))?;
    }
    if let Some(path) = &args.svg {
        let options = PlotOptions {
            title: format!("{name} — {}", args.strategy),
            lower_bound: Some(solution.lower_bound),
            capacity,
            ..PlotOptions::default()
        };
        staged.write(path, &plot::svg(&problem, &solution.layout, &options)?)?;
    }
    if let Some(path) = &args.dot {
        staged.write(path, &analysis.graph().dot(&problem))?;
    }
    staged.commit()?;

    let report = SolveReport::new(&problem, &solution, &args.strategy, capacity);
    if args.json {
        let report = SolveJson {
            instance: &name,
            report,
            out: args.out.as_ref().map(|p| p.display().to_string()),
            svg: args.svg.as_ref().map(|p| p.display().to_string()),
            dot: args.dot.as_ref().map(|p| p.display().to_string()),
            notes,
            fixed: (dialect.fixed > 0).then_some(dialect.fixed),
            layout: placements(&problem, &solution),
        };
        // Buffered: stdout flushes at every newline, and a million
        // placements are five million lines (4 s of system calls unbuffered).
        let mut buffered = std::io::BufWriter::new(&mut *out);
        serde_json::to_writer_pretty(&mut buffered, &report)?;
        writeln!(buffered)?;
        buffered.flush()?;
    } else {
        write_text(out, args, &name, &problem, &solution, report.infeasible.as_deref())?;
    }
    Ok(Verdict::Done)
}

/// Reads an instance file, printing on stderr one `smemplan: note: ` line
/// per convention a user may not expect ([`Dialect::notes`]: fixed offsets,
/// inclusive ends), and returning those notes too. Parse errors name the
/// file, the line and the buffer.
pub(super) fn load_instance(path: &Path) -> Result<(Problem, Dialect, Vec<String>)> {
    let text = read_text(path)?;
    read_instance(&path.display().to_string(), &text)
}

/// [`load_instance`] on text already read.
fn read_instance(source: &str, text: &str) -> Result<(Problem, Dialect, Vec<String>)> {
    let (problem, dialect) = minimalloc::read_instance(source, text)?;
    let notes = dialect.notes(source);
    for note in &notes {
        eprintln!("smemplan: note: {note}");
    }
    Ok((problem, dialect, notes))
}

fn placements<'a>(problem: &'a Problem, solution: &Solution) -> Vec<OffsetJson<'a>> {
    problem
        .buffers()
        .iter()
        .zip(&solution.layout.offsets)
        .map(|(b, &offset)| OffsetJson { id: &b.name, offset, size: b.size })
        .collect()
}

fn write_text(
    out: &mut dyn Write,
    args: &Args,
    name: &str,
    problem: &Problem,
    solution: &Solution,
    infeasible: Option<&str>,
) -> Result<()> {
    let strategy = if solution.stats.winner.is_empty() || solution.stats.winner == args.strategy {
        args.strategy.clone()
    } else {
        format!("{} (layout by {})", args.strategy, solution.stats.winner)
    };
    let fits = args.limits.capacity.is_some() && solution.fits(args.limits.capacity);
    let optimal = match (&solution.status, solution.is_optimal()) {
        (_, true) => "yes (proven)",
        (Status::DeadlineReached, false) => "not proven: the time limit cut the search",
        (Status::Infeasible(_), false) => "not proven (the capacity is proven too small)",
        _ if fits => "not proven (it fits the capacity: no proof needed)",
        _ => "not proven (no proof within this strategy's reach)",
    };
    let mut rows = vec![
        ("instance", name.to_string()),
        ("buffers", problem.len().to_string()),
        ("strategy", strategy),
        ("peak", format!("{} bytes", solution.peak)),
        ("lower bound", format!("{} bytes", solution.lower_bound)),
        ("gap", format!("{:.2} %", solution.gap() * 100.0)),
        ("optimal", optimal.to_string()),
        ("status", solution.status.name().to_string()),
    ];
    if let Some(c) = args.limits.capacity {
        let verdict = match solution.peak.checked_sub(c) {
            Some(over) if over > 0 => format!("{c} bytes: exceeded by {over} bytes"),
            _ => format!("{c} bytes: fits"),
        };
        rows.push(("capacity", verdict));
    }
    if let Some(why) = infeasible {
        rows.push(("infeasible", why.to_string()));
    }
    rows.push(("seconds", format!("{:.3}", solution.seconds)));
    if let Some(p) = &args.out {
        rows.push(("layout", format!("written to {}", p.display())));
    }
    if let Some(p) = &args.svg {
        rows.push(("picture", format!("written to {}", p.display())));
    }
    if let Some(p) = &args.dot {
        rows.push(("graph", format!("written to {}", p.display())));
    }
    for (key, value) in rows {
        writeln!(out, "{key:<12} {value}")?;
    }
    Ok(())
}
