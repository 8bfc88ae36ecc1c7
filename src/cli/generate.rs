//! `smemplan generate`: draw a problem of one of the library's families
//! (`smemplan::core::generate`) and write it as MiniMalloc CSV, so that the
//! claims about them can be checked and benchmarked on data anyone can
//! regenerate.
//!
//! Each family is a subcommand with its own flags; a flag of another family
//! is a usage error. The same family, flags and seed give a byte-identical
//! file. `--out FILE` is written atomically (temporary file and rename, as
//! every command writes); without it, or with `--out -`, the CSV goes to
//! stdout and the report to stderr, so that stdout stays a clean instance.

use super::output::{Inputs, Staged};
use super::Verdict;
use anyhow::{bail, Context, Result};
use clap::Subcommand;
use serde::Serialize;
use smemplan::core::bound;
use smemplan::core::format::minimalloc;
use smemplan::core::generate::{self, GenOptions, Spread, TilingOptions, TraceOptions};
use smemplan::{Layout, Problem};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Most buffers one run draws: beyond this the problem and its CSV (about
/// 30 bytes a buffer) stop fitting an ordinary machine's memory, and a
/// clear refusal beats an allocation failure.
const MAX_BUFFERS: usize = 10_000_000;

/// Arguments of `smemplan generate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The family to draw from.
    #[command(subcommand)]
    pub family: Family,
}

/// The families, each with its own options.
#[derive(Debug, Subcommand)]
pub enum Family {
    /// Random problems shaped like a kernel's buffers: log-uniform lifetimes
    /// and sizes, a few aligned, gapped or fixed buffers.
    Random(RandomArgs),
    /// ML-trace-like problems: short-lived activations, some saved for the
    /// backward pass, weights live throughout, heavy-tailed sizes.
    Trace(TraceArgs),
    /// Buffers that tile a time × address rectangle exactly, so the optimum
    /// peak (the rectangle's height) is known: straight cuts, optionally
    /// with five-piece pinwheels no straight cut produces.
    Tiling(TilingArgs),
    /// The dense family of the large-scale greedy's benchmark: lifetimes up
    /// to 5,000 instants from starts in [0, 10^6), sizes 4 B to 32 KiB.
    Dense(DenseArgs),
    /// Not a family: issue 20's acceptance set (four traces, five
    /// guillotine and five pinwheel tilings, seed = buffers), one file per
    /// instance, with each tiling's optimum.
    Acceptance(AcceptanceArgs),
}

/// Flags every family takes.
#[derive(Debug, clap::Args)]
pub struct Common {
    /// Seed of the random draw: the same seed and flags give the same file.
    #[arg(long, value_name = "S", default_value_t = 1, allow_negative_numbers = true)]
    pub seed: u64,
    /// Write the instance as MiniMalloc CSV to this file, replacing it
    /// atomically; `-` or no `--out`: to stdout, the report then going to
    /// stderr.
    #[arg(long, value_name = "FILE.csv")]
    pub out: Option<PathBuf>,
    /// Print the report as one JSON object (needs `--out FILE`, since
    /// stdout would otherwise hold the CSV).
    #[arg(long)]
    pub json: bool,
}

/// Options of `smemplan generate random`.
#[derive(Debug, clap::Args)]
pub struct RandomArgs {
    /// Number of buffers.
    #[arg(long, value_name = "N", default_value_t = GenOptions::default().buffers, allow_negative_numbers = true)]
    pub buffers: usize,
    /// Length of the timeline [0, T) (default: as many instants as
    /// buffers, so that about 25 buffers are live at once).
    #[arg(long, value_name = "T", value_parser = clap::value_parser!(u64).range(1..), allow_negative_numbers = true)]
    pub timeline: Option<u64>,
    /// Lifetime lengths are log-uniform on 1..=L (cut to the timeline).
    #[arg(long, value_name = "L", default_value_t = upper(GenOptions::default().lifetimes), value_parser = clap::value_parser!(u64).range(1..), allow_negative_numbers = true)]
    pub max_lifetime: u64,
    /// Sizes in bytes are log-uniform on 1..=BYTES.
    #[arg(long, value_name = "BYTES", default_value_t = upper(GenOptions::default().sizes), value_parser = clap::value_parser!(u64).range(1..), allow_negative_numbers = true)]
    pub max_size: u64,
    /// Probability that a buffer has an alignment above 1.
    #[arg(long, value_name = "P", default_value_t = GenOptions::default().alignment_probability, value_parser = fraction, allow_negative_numbers = true)]
    pub aligned: f64,
    /// Largest alignment drawn (a power of two; alignments are 2, 4, …, A,
    /// equally likely).
    #[arg(long, value_name = "A", default_value_t = GenOptions::default().max_alignment, value_parser = power_of_two, allow_negative_numbers = true)]
    pub max_alignment: u64,
    /// Probability that a buffer of lifetime at least 3 has a gap (a hole
    /// in its lifetime); after each, another with the same probability.
    #[arg(long, value_name = "P", default_value_t = GenOptions::default().gap_probability, value_parser = fraction, allow_negative_numbers = true)]
    pub gaps: f64,
    /// Probability that a buffer has a fixed offset (an `offset` column;
    /// fixed buffers never collide).
    #[arg(long, value_name = "P", default_value_t = GenOptions::default().fixed_probability, value_parser = fraction, allow_negative_numbers = true)]
    pub fixed: f64,
    #[command(flatten)]
    pub common: Common,
}

/// Options of `smemplan generate trace`.
#[derive(Debug, clap::Args)]
pub struct TraceArgs {
    /// Number of buffers.
    #[arg(long, value_name = "N", default_value_t = TraceOptions::default().buffers, allow_negative_numbers = true)]
    pub buffers: usize,
    /// Fraction of the buffers live throughout (the weights).
    #[arg(long, value_name = "F", default_value_t = TraceOptions::default().weights, value_parser = fraction, allow_negative_numbers = true)]
    pub weights: f64,
    /// Fraction of the other buffers saved for the backward pass (live
    /// from their forward instant to its mirror).
    #[arg(long, value_name = "F", default_value_t = TraceOptions::default().saved, value_parser = fraction, allow_negative_numbers = true)]
    pub saved: f64,
    /// Smallest size in bytes, the bottom of the first octave of sizes.
    #[arg(long, value_name = "BYTES", default_value_t = TraceOptions::default().min_size, value_parser = clap::value_parser!(u64).range(1..), allow_negative_numbers = true)]
    pub min_size: u64,
    /// Probability of each further octave of size: the tail's weight (at
    /// most 0.95).
    #[arg(long, value_name = "P", default_value_t = TraceOptions::default().tail, value_parser = tail_fraction, allow_negative_numbers = true)]
    pub tail: f64,
    /// Probability that a short lifetime survives each further instant (at
    /// most 0.95; lifetimes are capped at 64 instants).
    #[arg(long, value_name = "P", default_value_t = TraceOptions::default().survival, value_parser = tail_fraction, allow_negative_numbers = true)]
    pub survival: f64,
    /// Sizes are rounded up to a multiple of this many bytes.
    #[arg(long, value_name = "BYTES", default_value_t = TraceOptions::default().alignment, value_parser = clap::value_parser!(u64).range(1..), allow_negative_numbers = true)]
    pub alignment: u64,
    #[command(flatten)]
    pub common: Common,
}

/// Options of `smemplan generate tiling`.
#[derive(Debug, clap::Args)]
pub struct TilingArgs {
    /// Number of buffers.
    #[arg(long, value_name = "N", default_value_t = TilingOptions::default().buffers, allow_negative_numbers = true)]
    pub buffers: usize,
    /// Fraction of the buffers in five-piece pinwheels (rounded down to a
    /// multiple of 5; fewer when too few pieces are at least 3 × 3).
    #[arg(long, value_name = "F", default_value_t = TilingOptions::default().pinwheels, value_parser = fraction, allow_negative_numbers = true)]
    pub pinwheels: f64,
    /// The rectangle's height in bytes: the optimum peak (at least the
    /// number of buffers).
    #[arg(long, value_name = "BYTES", default_value_t = TilingOptions::default().height, allow_negative_numbers = true)]
    pub height: u64,
    /// The rectangle's width: the timeline's length (default: the height;
    /// at least as many instants as buffers).
    #[arg(long, value_name = "T", allow_negative_numbers = true)]
    pub timeline: Option<u64>,
    /// Also write the tiling's own layout (peak = the height), as `solve
    /// --out` writes a layout, replacing the file atomically: `smemplan
    /// check` accepts it.
    #[arg(long, value_name = "SOLUTION.csv")]
    pub solution: Option<PathBuf>,
    #[command(flatten)]
    pub common: Common,
}

/// Options of `smemplan generate dense`.
#[derive(Debug, clap::Args)]
pub struct DenseArgs {
    /// Number of buffers (the benchmark's default puts about 250 live at
    /// once; the density grows with the number).
    #[arg(long, value_name = "N", default_value_t = generate::DENSE_BUFFERS, allow_negative_numbers = true)]
    pub buffers: usize,
    #[command(flatten)]
    pub common: Common,
}

/// Options of `smemplan generate acceptance`.
#[derive(Debug, clap::Args)]
pub struct AcceptanceArgs {
    /// Folder to write the set into, as `DIR/NAME.csv` (`trace-10000.csv`,
    /// …, `pinwheel-8000.csv`); it must exist. Files of those names are
    /// replaced atomically, all together; nothing else there is touched.
    #[arg(long, value_name = "DIR")]
    pub out_dir: PathBuf,
    /// Print the report as one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// The largest value of a spread: the default shown for `--max-lifetime`
/// and `--max-size`, read from the library's defaults.
fn upper(spread: Spread) -> u64 {
    let (Spread::Uniform { max, .. } | Spread::LogUniform { max, .. }) = spread;
    max
}

/// A probability or fraction: a number in [0, 1].
fn fraction(text: &str) -> Result<f64, String> {
    bounded(text, 1.0)
}

/// A probability the trace generator takes up to 0.95 (at 1 the draw would
/// never end its octaves or lifetimes).
fn tail_fraction(text: &str) -> Result<f64, String> {
    bounded(text, 0.95)
}

fn bounded(text: &str, max: f64) -> Result<f64, String> {
    let x: f64 = text.parse().map_err(|_| format!("`{text}` is not a number"))?;
    if !(0.0..=max).contains(&x) {
        return Err(format!("{text} is not between 0 and {max}"));
    }
    Ok(x)
}

/// A power of two (1 means no alignment).
fn power_of_two(text: &str) -> Result<u64, String> {
    match text.parse::<u64>() {
        Ok(x) if x.is_power_of_two() => Ok(x),
        _ => Err(format!("`{text}` is not a power of two (1, 2, 4, …)")),
    }
}

/// What a family drew.
struct Drawn {
    problem: Problem,
    /// For a tiling: its height (the optimum peak), its layout at that
    /// height and the buffers in pinwheels.
    tiling: Option<(u64, Layout, usize)>,
}

/// The JSON report of `generate acceptance`.
#[derive(Serialize)]
struct SetJson {
    set: &'static str,
    instances: Vec<SetEntryJson>,
}

#[derive(Serialize)]
struct SetEntryJson {
    name: String,
    buffers: usize,
    lower_bound: u64,
    /// The capacity it is run under: a tiling's optimum; null for a trace.
    capacity: Option<u64>,
    out: String,
}

/// The JSON report.
#[derive(Serialize)]
struct GenerateJson<'a> {
    family: &'a str,
    seed: u64,
    buffers: usize,
    lower_bound: u64,
    /// The known optimum peak (tilings only).
    optimum: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    in_pinwheels: Option<usize>,
    out: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    solution: Option<String>,
}

/// Runs `smemplan generate`.
pub fn run(args: &Args, out: &mut dyn Write) -> Result<Verdict> {
    let (name, family, common, buffers, solution): (_, &dyn Draw, _, _, _) = match &args.family {
        Family::Random(a) => ("random", a, &a.common, a.buffers, None),
        Family::Trace(a) => ("trace", a, &a.common, a.buffers, None),
        Family::Tiling(a) => ("tiling", a, &a.common, a.buffers, a.solution.as_deref()),
        Family::Dense(a) => ("dense", a, &a.common, a.buffers, None),
        Family::Acceptance(a) => return run_acceptance(a, out),
    };
    if !(1..=MAX_BUFFERS).contains(&buffers) {
        bail!("--buffers {buffers}: give 1 to {MAX_BUFFERS}");
    }
    if let Family::Tiling(a) = &args.family {
        // The library would raise them silently; a user asking for less
        // would not get the file they asked for.
        let n = a.buffers as u64;
        if a.height < n {
            bail!("--height {}: a tiling of {n} buffers needs at least {n} bytes (one a buffer)", a.height);
        }
        if let Some(t) = a.timeline.filter(|&t| t < n) {
            bail!("--timeline {t}: a tiling of {n} buffers needs at least {n} instants (one a buffer)");
        }
    }
    let file = common.out.as_deref().filter(|p| *p != Path::new("-"));
    if common.json && file.is_none() {
        bail!("--json prints the report on stdout, where the CSV goes without --out FILE; give --out FILE");
    }
    if solution == Some(Path::new("-")) {
        bail!("--solution needs a file (`-`, stdout, is only for --out)");
    }
    let destinations: Vec<(&str, &Path)> =
        [("--out", file), ("--solution", solution)].into_iter().filter_map(|(f, p)| Some((f, p?))).collect();
    // Checked before the draw, which may take seconds: nothing is drawn
    // for a destination that cannot be written.
    let mut staged = Staged::reserve(&destinations, &Inputs::default())?;
    let drawn = family.draw()?;
    let csv = minimalloc::write(&drawn.problem, None);
    if let Some(path) = file {
        staged.write(path, &csv)?;
    }
    if let (Some(path), Some((_, layout, _))) = (solution, &drawn.tiling) {
        staged.write(path, &minimalloc::write(&drawn.problem, Some(layout)))?;
    }
    staged.commit()?;

    let lower_bound = bound::lower_bound(&drawn.problem).bytes;
    let mut stderr = io::stderr().lock();
    let report: &mut dyn Write = match file {
        Some(_) => out,
        None => {
            // Buffered: stdout flushes at every newline, and the CSV has a
            // line per buffer.
            let mut buffered = io::BufWriter::new(&mut *out);
            buffered.write_all(csv.as_bytes())?;
            buffered.flush()?;
            &mut stderr
        }
    };
    if common.json {
        let report_json = GenerateJson {
            family: name,
            seed: common.seed,
            buffers: drawn.problem.len(),
            lower_bound,
            optimum: drawn.tiling.as_ref().map(|t| t.0),
            in_pinwheels: drawn.tiling.as_ref().map(|t| t.2),
            out: file.map_or_else(|| "-".to_string(), |p| p.display().to_string()),
            solution: solution.map(|p| p.display().to_string()),
        };
        serde_json::to_writer_pretty(&mut *report, &report_json)?;
        writeln!(report)?;
        return Ok(Verdict::Done);
    }
    let mut rows = vec![("family", name.to_string()), ("seed", common.seed.to_string())];
    match &drawn.tiling {
        Some((height, _, pinwheels)) => {
            rows.push(("buffers", format!("{} ({pinwheels} in pinwheels)", drawn.problem.len())));
            rows.push(("optimum", format!("{height} bytes, the tiling's height (solve with --capacity {height})")));
        }
        None => {
            rows.push(("buffers", drawn.problem.len().to_string()));
            rows.push(("lower bound", format!("{lower_bound} bytes")));
        }
    }
    rows.push((
        "instance",
        file.map_or_else(|| "written to stdout".to_string(), |p| format!("written to {}", p.display())),
    ));
    if let Some(p) = solution {
        rows.push(("solution", format!("written to {}", p.display())));
    }
    for (key, value) in rows {
        writeln!(report, "{key:<12} {value}")?;
    }
    Ok(Verdict::Done)
}

/// Runs `smemplan generate acceptance`: the whole set, all files or none.
fn run_acceptance(args: &AcceptanceArgs, out: &mut dyn Write) -> Result<Verdict> {
    // Drawn first (a fraction of a second), since the draw names the
    // files; nothing is written before every destination is checked.
    // The folder is the flag's value: named as such, not as its first file.
    let dir = &args.out_dir;
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => bail!("--out-dir `{}` is not a directory", dir.display()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            bail!("--out-dir `{}`: no such directory (create it first)", dir.display())
        }
        Err(e) => bail!("--out-dir `{}`: {e}", dir.display()),
    }
    let set = generate::acceptance()?;
    let paths: Vec<PathBuf> = set.iter().map(|i| args.out_dir.join(format!("{}.csv", i.name))).collect();
    let destinations: Vec<(&str, &Path)> = paths.iter().map(|p| ("--out-dir", p.as_path())).collect();
    let mut staged = Staged::reserve(&destinations, &Inputs::default())?;
    let mut entries = Vec::with_capacity(set.len());
    for (instance, path) in set.iter().zip(&paths) {
        staged.write(path, &minimalloc::write(&instance.problem, None))?;
        entries.push(SetEntryJson {
            name: instance.name.clone(),
            buffers: instance.problem.len(),
            lower_bound: bound::lower_bound(&instance.problem).bytes,
            capacity: instance.capacity,
            out: path.display().to_string(),
        });
    }
    staged.commit()?;
    if args.json {
        serde_json::to_writer_pretty(&mut *out, &SetJson { set: "acceptance", instances: entries })?;
        writeln!(out)?;
        return Ok(Verdict::Done);
    }
    let mut rows = vec![["instance", "buffers", "lower bound", "capacity", "written to"].map(String::from).to_vec()];
    for e in entries {
        let capacity = e.capacity.map_or("- (minimise)".to_string(), |c| format!("{c} (optimum)"));
        rows.push(vec![e.name, e.buffers.to_string(), e.lower_bound.to_string(), capacity, e.out]);
    }
    write!(out, "{}", super::output::table(&rows, &[false, true, true, true, false]))?;
    Ok(Verdict::Done)
}

/// A family's flags, ready to draw.
trait Draw {
    /// Draws the problem. The only error left after the flags' checks:
    /// sizes whose total overflows 64 bits, reported with the flags that
    /// set the sizes.
    fn draw(&self) -> Result<Drawn>;
}

impl Draw for RandomArgs {
    fn draw(&self) -> Result<Drawn> {
        let options = GenOptions {
            buffers: self.buffers,
            timeline: self.timeline,
            lifetimes: Spread::LogUniform { min: 1, max: self.max_lifetime },
            sizes: Spread::LogUniform { min: 1, max: self.max_size },
            alignment_probability: self.aligned,
            max_alignment: self.max_alignment,
            gap_probability: self.gaps,
            fixed_probability: self.fixed,
            capacity: None,
        };
        let problem = generate::generate(&options, self.common.seed)
            .with_context(|| format!("cannot draw with --max-size {}", self.max_size))?;
        Ok(Drawn { problem, tiling: None })
    }
}

impl Draw for TraceArgs {
    fn draw(&self) -> Result<Drawn> {
        let options = TraceOptions {
            buffers: self.buffers,
            weights: self.weights,
            saved: self.saved,
            min_size: self.min_size,
            tail: self.tail,
            alignment: self.alignment,
            survival: self.survival,
            ..TraceOptions::default()
        };
        let problem = generate::trace(&options, self.common.seed).with_context(|| {
            format!("cannot draw with --min-size {} and --alignment {}", self.min_size, self.alignment)
        })?;
        Ok(Drawn { problem, tiling: None })
    }
}

impl Draw for TilingArgs {
    fn draw(&self) -> Result<Drawn> {
        let options = TilingOptions {
            buffers: self.buffers,
            pinwheels: self.pinwheels,
            timeline: self.timeline,
            height: self.height,
        };
        let t = generate::tiling(&options, self.common.seed)
            .with_context(|| format!("cannot draw with --height {}", self.height))?;
        Ok(Drawn { problem: t.problem, tiling: Some((t.height, Layout::new(t.offsets), t.in_pinwheels)) })
    }
}

impl Draw for DenseArgs {
    fn draw(&self) -> Result<Drawn> {
        let problem = generate::dense(self.buffers, self.common.seed)
            .with_context(|| format!("cannot draw with --buffers {}", self.buffers))?;
        Ok(Drawn { problem, tiling: None })
    }
}
