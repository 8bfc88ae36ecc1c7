//! `smemplan sweep`: a kernel model over the Cartesian product of parameter
//! values, devices and strategies ([`smemplan::study::sweep`] does the work; this
//! file reads the arguments and writes the outputs).
//!
//! The table (or the Pareto front, when the table goes to `--csv`) is
//! printed on stdout; the summary (configurations per second, cache hit
//! rate) goes to stderr, so that stdout stays a clean table or JSON
//! document. `--csv` and `--svg` are checked before the sweep starts and
//! written atomically, both or neither, before anything is printed.

use super::bench::progress_bar;
use super::output::{table, Inputs, Staged};
use super::tiers::NO_MEMORY_TIME;
use super::Verdict;
use anyhow::{bail, Result};
use smemplan::kernel::model;
use smemplan::perf::occupancy::DeviceProfile;
use smemplan::perf::throughput::rate_ratio;
use smemplan::study::sweep::grid::Held;
use smemplan::study::sweep::{self, chart, Axis, Row, Side, Sweep, SweepSpec, Tiers};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Arguments of `smemplan sweep`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Kernel model files (TOML, see docs/models.md), swept one after the
    /// other. Without them or `--model`: the built-in default model.
    #[arg(value_name = "MODEL.toml")]
    pub inputs: Vec<PathBuf>,
    /// Built-in models by name (comma-separated), or `all` for every one
    /// (see `smemplan plan --list-models`).
    #[arg(long, value_name = "NAME,...", value_delimiter = ',')]
    pub model: Vec<String>,
    /// A swept parameter (repeatable; the first varies slowest): its values
    /// comma-separated, an integer range as A..=B, e.g. `--set n=3,10,30`
    /// or `--set n=1..=200`.
    #[arg(long = "set", value_name = "NAME=V1,V2,...")]
    pub sets: Vec<String>,
    /// Run precisions to sweep (shorthand for `--set precision=...`, swept
    /// innermost among the parameters).
    #[arg(long, value_name = "f32,f64", value_delimiter = ',', value_parser = ["f32", "f64"])]
    pub precision: Vec<String>,
    /// Device profiles to sweep (tables of models/devices.toml).
    #[arg(long, value_name = "NAME,...", value_delimiter = ',', default_value = "h100")]
    pub device: Vec<String>,
    /// Layouts to compare: `cubie` (CuBIE's own) and solver strategies
    /// (`auto`, `greedy-size`, ...).
    #[arg(long, value_name = "A,B,...", value_delimiter = ',', default_value = "cubie,auto")]
    pub strategies: Vec<String>,
    /// Buffer locations: `fixed` as the kernel model gives them, or `auto`:
    /// per optimised strategy and device, the split of buffer groups between
    /// shared and local memory with the highest estimated throughput (as
    /// `plan --tiers auto`, never below the model's own locations). The row
    /// reports that split's figures, the groups it keeps in local memory and
    /// the model's own locations' runs per second (docs/sweep.md). `cubie`
    /// rows keep CuBIE's own locations either way.
    #[arg(long, value_name = "MODE", default_value = "fixed", value_parser = ["fixed", "auto"])]
    pub tiers: String,
    /// Requested threads per block for CuBIE's halving rule.
    #[arg(long, value_name = "REQUESTED", default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..))]
    pub block_size: u64,
    /// Runs in the batch: a block holds min(runs, block size) runs, and
    /// the throughput estimate charges a partly filled last wave.
    #[arg(long, value_name = "N", default_value_t = 4096, value_parser = clap::value_parser!(u64).range(1..))]
    pub runs: u64,
    /// Registers per thread of the kernel, for the occupancy (0: not
    /// counted).
    #[arg(long, value_name = "R", default_value_t = 0)]
    pub registers: u64,
    /// Time each optimised plan may take (all its pools together); a plan
    /// not proven optimal by then keeps its best layout.
    #[arg(long, value_name = "SECS", default_value = "1", value_parser = smemplan::core::format::minimalloc::parse_duration, allow_negative_numbers = true)]
    pub time_limit: Duration,
    /// Print one JSON document (rows, Pareto front, statistics) instead of
    /// the table.
    #[arg(long, conflicts_with = "csv")]
    pub json: bool,
    /// Write the rows as CSV to this file; stdout then shows the Pareto
    /// front only.
    #[arg(long, value_name = "OUT.csv")]
    pub csv: Option<PathBuf>,
    /// Draw shared bytes per thread and resident threads per SM against a
    /// swept parameter as SVG.
    #[arg(long, value_name = "OUT.svg")]
    pub svg: Option<PathBuf>,
    /// The swept parameter on the picture's x axis (default: the first one
    /// with more than one value).
    #[arg(long, value_name = "NAME", requires = "svg")]
    pub x: Option<String>,
    /// Run each row's pick on a CUDA card through the GPU lab (the sibling
    /// `smemplan-lab verify --sweep`): the integrity walk with a planted
    /// overlap, the residency against the driver, a timed run; the `--csv`
    /// rows with the measured columns go to this file.
    #[arg(long, value_name = "MEASURED.csv", requires = "csv")]
    pub verify: Option<PathBuf>,
}

/// The sweep the arguments describe.
fn spec(args: &Args) -> Result<SweepSpec> {
    // The cheap checks first: a typo in a device or a strategy is reported
    // before any model is loaded or any grid is built.
    let devices: Vec<DeviceProfile> =
        args.device.iter().map(|d| DeviceProfile::named(d)).collect::<smemplan::perf::Result<_>>()?;
    for device in &devices {
        super::plan::check_launch_flags(args.registers, args.block_size, device)?;
    }
    let strategies = args.strategies.iter().map(|s| Side::parse(s)).collect::<smemplan::study::Result<Vec<_>>>()?;
    let mut seen = std::collections::HashSet::new();
    if let Some(dup) = args.model.iter().find(|m| !seen.insert(m.as_str())) {
        bail!("model `{dup}` is listed twice in --model");
    }
    // Each model with where it came from (and whether from `--model all`),
    // for the duplicate check below.
    let mut models = Vec::new();
    let mut origins = Vec::new();
    for path in &args.inputs {
        models.push(smemplan::kernel::model::load(path)?);
        origins.push((format!("`{}`", path.display()), false));
    }
    for name in &args.model {
        if name == "all" {
            for n in model::builtin_names() {
                models.push(model::builtin(n)?);
                origins.push(("`--model all`".to_string(), true));
            }
        } else {
            models.push(model::builtin(name)?);
            origins.push((format!("`--model {name}`"), false));
        }
    }
    if models.is_empty() {
        models.push(model::default_model()?);
        origins.push(("the default model".to_string(), false));
    }
    // `all` with a built-in, or two files of one model: rows that could
    // not be told apart. The message names both sources, and explains
    // `--model all` only where it was given.
    let mut seen = std::collections::HashMap::new();
    for (i, m) in models.iter().enumerate() {
        if let Some(&first) = seen.get(m.name.as_str()) {
            let ((a, a_all), (b, b_all)) = (&origins[first], &origins[i]);
            let all = if *a_all || *b_all { "; --model all names every built-in model" } else { "" };
            bail!("model `{}` is swept twice (from {a} and {b}{all})", m.name);
        }
        seen.insert(m.name.as_str(), i);
    }
    let mut axes = args.sets.iter().map(|s| Axis::parse(s)).collect::<smemplan::study::Result<Vec<_>>>()?;
    if !args.precision.is_empty() {
        if axes.iter().any(|a| a.name == "precision") {
            bail!("precision is swept twice: give it with --precision or --set precision=..., not both");
        }
        axes.push(Axis::new("precision", args.precision.clone())?);
    }
    let mut spec = SweepSpec::new(models, axes)?;
    spec.devices = devices;
    spec.strategies = strategies;
    spec.requested_block_size = args.block_size;
    spec.runs = args.runs;
    spec.registers_per_thread = args.registers;
    spec.time_limit = args.time_limit;
    spec.tiers = Tiers::parse(&args.tiers)?;
    spec.validate()?;
    Ok(spec)
}

/// Runs `smemplan sweep`.
pub fn run(args: &Args, out: &mut dyn Write) -> Result<Verdict> {
    // The lab is found before the sweep runs: a missing one costs nothing.
    let lab = match &args.verify {
        Some(measured) => {
            if Some(measured) == args.csv.as_ref() {
                bail!("--verify and --csv both name `{}`: give two different files", measured.display());
            }
            Some(find_lab()?)
        }
        None => None,
    };
    let destinations: Vec<(&str, &Path)> = [("--csv", args.csv.as_deref()), ("--svg", args.svg.as_deref())]
        .into_iter()
        .filter_map(|(f, p)| Some((f, p?)))
        .collect();
    let inputs = Inputs::new(args.inputs.iter().chain(&args.verify).map(PathBuf::as_path));
    let mut staged = Staged::reserve(&destinations, &inputs)?;
    let spec = spec(args)?;
    let bar = progress_bar(spec_len(&spec), false)?;
    let result = sweep::run(&spec, &|k| bar.inc(k));
    bar.finish_and_clear();
    let result = result?;

    if let Some(path) = &args.csv {
        staged.write(path, &result.csv())?;
    }
    if let Some(path) = &args.svg {
        let x = match &args.x {
            Some(x) => x.as_str(),
            None => match chart::default_x(&result) {
                Some(x) => x,
                None => bail!("--svg draws against a swept parameter; give one with --set or --precision"),
            },
        };
        staged.write(path, &chart::svg(&result, x)?)?;
    }
    staged.commit()?;

    if args.json {
        serde_json::to_writer_pretty(&mut *out, &result)?;
        writeln!(out)?;
    } else {
        let front: Vec<&Row> = result.pareto_front.iter().map(|&i| &result.rows[i]).collect();
        if args.csv.is_none() {
            write_rows(out, &result, &result.rows.iter().collect::<Vec<_>>())?;
            writeln!(out)?;
        }
        writeln!(out, "Pareto front (highest estimated throughput for the fewest shared bytes per thread):")?;
        write_rows(out, &result, &front)?;
        for (what, path) in [("rows", &args.csv), ("picture", &args.svg)] {
            if let Some(p) = path {
                writeln!(out, "{what} written to {}", p.display())?;
            }
        }
    }
    eprintln!("{}", summary(&result));
    if !spec.axes.is_empty() {
        for m in &spec.models {
            for line in held_note(m, &spec.axes)? {
                eprintln!("{line}");
            }
        }
    }
    match (&lab, &args.verify, &args.csv) {
        (Some(lab), Some(measured), Some(csv)) => verify_on_card(lab, csv, measured, args, out),
        _ => Ok(Verdict::Done),
    }
}

/// The GPU lab's binary: `smemplan-lab` beside this executable, else on
/// `PATH`. The planner never links the lab (the lab depends on it).
fn find_lab() -> Result<PathBuf> {
    let name = format!("smemplan-lab{}", std::env::consts::EXE_SUFFIX);
    let beside = std::env::current_exe().ok().and_then(|e| Some(e.parent()?.join(&name)));
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join(&name));
    match beside.into_iter().chain(on_path).find(|p| p.is_file()) {
        Some(p) => Ok(p),
        None => bail!(
            "--verify runs the GPU lab `{name}`, found neither beside this smemplan nor on PATH; \
             build it with `cargo build --release -p smemplan-lab --features gpu`"
        ),
    }
}

/// `smemplan-lab verify --sweep CSV --out MEASURED` on the rows just
/// written; the lab's report is passed on, its failure is this command's.
fn verify_on_card(lab: &Path, csv: &Path, measured: &Path, args: &Args, out: &mut dyn Write) -> Result<Verdict> {
    let time_limit = format!("{}ms", args.time_limit.as_millis());
    let runs = args.runs.to_string();
    let block = args.block_size.to_string();
    let mut command = std::process::Command::new(lab);
    command.arg("verify").arg("--sweep").arg(csv).arg("--out").arg(measured);
    command.args(["--runs", &runs, "--block-size", &block, "--time-limit", &time_limit]);
    let output = command.output().map_err(|e| anyhow::anyhow!("cannot run `{}`: {e}", lab.display()))?;
    out.write_all(&output.stdout)?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    match output.status.code() {
        Some(0) => Ok(Verdict::Done),
        // The lab's exit 1: a check on the card failed (the rows say which).
        Some(1) => {
            eprint!("{stderr}");
            Ok(Verdict::Rejected)
        }
        _ => bail!("verifying on the card failed: {}", stderr.trim()),
    }
}

/// What a sweep did not vary in `model`: the parameters held at one value,
/// and those that follow a swept one (a size derived from `n` marked so),
/// so that a reader knows what every row held fixed.
fn held_note(model: &model::Model, axes: &[Axis]) -> Result<Vec<String>> {
    let held = Held::of(model, axes)?;
    let shown = |h: &Held| match &h.derived_from {
        Some(from) if !from.is_empty() => format!("{} = {} (derived from {})", h.name, h.value, from.join(", ")),
        Some(_) => format!("{} = {} (derived)", h.name, h.value),
        None => format!("{} = {}", h.name, h.value),
    };
    let fixed: Vec<String> = held.iter().filter(|h| h.varies_with.is_empty()).map(shown).collect();
    let follow: Vec<String> = held
        .iter()
        .filter(|h| !h.varies_with.is_empty())
        .map(|h| match &h.derived_from {
            Some(from) => format!("{} (derived from {})", h.name, from.join(", ")),
            None => format!("{} (set by {})", h.name, h.varies_with.join(", ")),
        })
        .collect();
    let mut lines = vec![format!("{}: held fixed: {}", model.name, fixed.join(", "))];
    if !follow.is_empty() {
        lines.push(format!("{}: follow the swept parameters: {}", model.name, follow.join(", ")));
    }
    Ok(lines)
}

/// Configurations in the grid, for the progress bar.
fn spec_len(spec: &SweepSpec) -> u64 {
    let mut n = (spec.models.len() * spec.devices.len() * spec.strategies.len()) as u64;
    for a in &spec.axes {
        n = n.saturating_mul(a.values.len() as u64);
    }
    n
}

/// One line: configurations, speed, cache, and under `--tiers auto` the
/// searches' effort.
fn summary(s: &Sweep) -> String {
    let st = &s.stats;
    let tiers = match s.tiers {
        Tiers::Fixed => String::new(),
        Tiers::Auto => format!(
            "; tier search: {} splits chosen ({} more taken from a card with the same figures), {} bounded, \
             {} shared pools solved",
            st.tier_search.choices, st.tier_search.reused, st.tier_search.splits_bounded, st.tier_search.splits_solved
        ),
    };
    format!(
        "sweep: {} configurations ({} kernel instances) in {:.2} s on {} threads: {:.0} configurations/s; \
         pool cache: {} pools used, {} solved, hit rate {:.1} %{tiers}",
        st.configurations,
        st.instances,
        st.seconds,
        st.threads,
        st.configurations_per_second,
        st.pool_cache.requests,
        st.pool_cache.distinct,
        100.0 * st.pool_cache_hit_rate
    )
}

/// Runs per second with three significant digits (`1.23e6`); a layout the
/// estimate charges no memory time (every access in registers) has no
/// finite rate.
fn rate(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.2e}")
    } else {
        NO_MEMORY_TIME.into()
    }
}

/// The leading columns of a grid's table (`sweep`'s rows, `plan`'s summary
/// over a grid): the row's number, its model when the rows span several,
/// then each axis of the grid.
pub(super) struct GridColumns<'a> {
    several_models: bool,
    axes: &'a [String],
}

impl<'a> GridColumns<'a> {
    /// The columns for rows of these `models` over these `axes`.
    pub(super) fn new<'m>(mut models: impl Iterator<Item = &'m str>, axes: &'a [String]) -> Self {
        let first = models.next();
        GridColumns { several_models: models.any(|m| Some(m) != first), axes }
    }

    /// How many there are.
    pub(super) fn len(&self) -> usize {
        1 + usize::from(self.several_models) + self.axes.len()
    }

    /// Their titles.
    pub(super) fn header(&self) -> Vec<String> {
        let mut header = vec!["#".to_string()];
        if self.several_models {
            header.push("model".into());
        }
        header.extend(self.axes.iter().cloned());
        header
    }

    /// A row's cells: its number, model and value on each axis.
    pub(super) fn cells(&self, index: usize, model: &str, params: &BTreeMap<String, String>) -> Vec<String> {
        let mut cells = vec![index.to_string()];
        if self.several_models {
            cells.push(model.to_string());
        }
        cells.extend(self.axes.iter().map(|a| params.get(a).cloned().unwrap_or_default()));
        cells
    }
}

fn write_rows(out: &mut dyn Write, s: &Sweep, rows: &[&Row]) -> Result<()> {
    let lead = GridColumns::new(s.rows.iter().map(|r| r.model.as_str()), &s.axes);
    let mut header = lead.header();
    header.extend(
        [
            "device",
            "strategy",
            "shared B",
            "local B",
            "cubie block",
            "runs/s (cubie)",
            "best block",
            "threads/SM",
            "occupancy",
            "runs/s (best)",
            "front",
        ]
        .map(String::from),
    );
    let auto = s.tiers == Tiers::Auto;
    if auto {
        header.extend(["vs fixed", "local groups"].map(String::from));
    }
    let opt = |v: Option<u64>| v.map_or("-".to_string(), |x| x.to_string());
    let mut table_rows = vec![header];
    for r in rows {
        let mut cells = lead.cells(r.index, &r.model, &r.params);
        cells.extend([
            r.device.clone(),
            r.strategy.clone(),
            r.shared_bytes.to_string(),
            r.local_bytes.to_string(),
            opt(r.cubie_block_size),
            r.cubie_runs_per_second.map_or("-".into(), rate),
            if r.fits { opt(r.best_block_size) } else { "does not fit".into() },
            r.resident_threads.to_string(),
            format!("{:.1} %", 100.0 * r.occupancy),
            if r.fits { rate(r.estimated_runs_per_second) } else { "-".into() },
            if r.pareto { "*".into() } else { String::new() },
        ]);
        if auto {
            cells.push(match r.fixed_runs_per_second.and_then(|f| rate_ratio(r.estimated_runs_per_second, f)) {
                Some(ratio) if ratio.is_finite() => format!("{ratio:.3}"),
                Some(_) => NO_MEMORY_TIME.into(),
                None => "-".into(),
            });
            cells.push(match &r.local_groups {
                None => "-".into(),
                Some(g) if g.is_empty() => "none".into(),
                Some(g) => g.join(" "),
            });
        }
        table_rows.push(cells);
    }
    let mut numeric = vec![true];
    numeric.extend(std::iter::repeat_n(false, lead.len() + 1));
    numeric.extend([true; 8]);
    numeric.push(false);
    if auto {
        numeric.extend([true, false]);
    }
    out.write_all(table(&table_rows, &numeric).as_bytes())?;
    Ok(())
}
