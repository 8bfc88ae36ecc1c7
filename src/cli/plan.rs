//! `smemplan plan`: a solver kernel's memory, CuBIE's layout next to the
//! optimised one ([`smemplan::study::compare`] computes both; this prints them).
//!
//! ```text
//!  MODEL.toml ─┐
//!  --model ────┼─▶ model::Kernel ─┐
//!  (default) ──┘                  ├─▶ Comparison ─▶ text or --json, --svg, --cuda
//!  --cubie DUMP.json ─▶ Dump ─────┘
//! ```
//!
//! `--svg` and `--cuda` are written atomically, both or neither, before
//! anything is printed.

use super::output::{table, Inputs, Staged};
use super::sweep::GridColumns;
use super::tiers;
use super::{read_text, strategy_parser, Verdict};
use anyhow::{bail, Context, Result};
use serde::Serialize;
use smemplan::kernel::model;
use smemplan::kernel::registry::dump::Dump;
use smemplan::perf::occupancy::DeviceProfile;
use smemplan::perf::tiers::TierChoice;
use smemplan::plan::{PlacedBuffer, PlanOptions};
use smemplan::study::compare::{CompareOptions, Comparison, CubieBuffer, InputKind, Summary, SummaryRow};
use smemplan::study::planned::{dump_tiers, kernel_tiers, Planned};
use smemplan::study::sweep::Axis;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Arguments of `smemplan plan`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Kernel model (TOML, see docs/models.md); includes resolve next to it,
    /// then among the built-in fragments. Without it, `--cubie` or
    /// `--model`: the built-in default model.
    #[arg(value_name = "MODEL.toml", conflicts_with_all = ["cubie", "model"])]
    pub input: Option<PathBuf>,
    /// A CuBIE registry dump (JSON, as in tests/data/cubie-reference/) instead of a
    /// model: CuBIE's side is replayed from its registrations.
    #[arg(long, value_name = "DUMP.json", conflicts_with_all = ["model", "sets", "precision"])]
    pub cubie: Option<PathBuf>,
    /// A built-in model by name (see --list-models); several
    /// (comma-separated) compare each, one summary row per configuration.
    #[arg(long, value_name = "NAME,...", value_delimiter = ',')]
    pub model: Vec<String>,
    /// List the built-in models with their parameters, derived sizes and
    /// algorithms (with --json: as a JSON array), and exit.
    #[arg(long, conflicts_with_all = ["input", "cubie", "model", "sets", "precision", "svg", "cuda", "csv"])]
    pub list_models: bool,
    /// Set a model parameter (repeatable; a later one wins): an integer,
    /// true/false or a string, e.g. `--set n=20 --set algorithm=kvaerno5
    /// --set loc=local`. Several values (`n=3,10,30`, `n=3..=200`) compare
    /// each, as `sweep --set` takes them, one summary row per
    /// configuration.
    #[arg(long = "set", value_name = "NAME=VALUE[,...]")]
    pub sets: Vec<String>,
    /// Run precision (shorthand for `--set precision=...`, applied last);
    /// `f32,f64` compares both.
    #[arg(long, value_name = "f32,f64", value_delimiter = ',', value_parser = ["f32", "f64"])]
    pub precision: Vec<String>,
    /// Layout algorithm of the optimised side.
    #[arg(long, value_name = "NAME", value_parser = strategy_parser(), default_value = smemplan::solve::strategies::DEFAULT_STRATEGY)]
    pub strategy: String,
    /// Device profile for the block size (a table of models/devices.toml:
    /// h100, a100, simulator, ...); several (comma-separated) compare on
    /// each.
    #[arg(long, value_name = "NAME,...", value_delimiter = ',', default_value = "h100")]
    pub device: Vec<String>,
    /// Requested threads per block; CuBIE's rule halves it until the
    /// block's dynamic shared memory fits the device's opt-in limit.
    #[arg(long, value_name = "REQUESTED", default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..))]
    pub block_size: u64,
    /// Runs in the batch: a block holds min(runs, block size) runs.
    #[arg(long, value_name = "N", default_value_t = 4096, value_parser = clap::value_parser!(u64).range(1..))]
    pub runs: u64,
    /// Registers per thread of the kernel, for the block-size search's
    /// occupancy (0: not counted).
    #[arg(long, value_name = "R", default_value_t = 0)]
    pub registers: u64,
    /// Stop the optimiser after this many seconds (all pools together) and
    /// keep the best layouts found.
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = smemplan::core::format::minimalloc::parse_duration, allow_negative_numbers = true)]
    pub time_limit: Duration,
    /// Buffer locations: `fixed` as the model (or dump) gives them, or
    /// `auto`: choose per buffer group between shared and local memory for
    /// the highest estimated throughput (shown beside the model's
    /// locations, all shared and all local; the plans share the time limit).
    /// `--svg` and `--cuda` then draw and generate the chosen split at its
    /// block size.
    #[arg(long, value_name = "MODE", default_value = "fixed", value_parser = ["fixed", "auto"])]
    pub tiers: String,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
    /// Draw CuBIE's and the optimised shared-memory layouts side by side as
    /// SVG (the phases on x, byte offset within a run on y, one scale):
    /// the optimised side is the problem the solver was given, one
    /// rectangle per placement unit (a nested alias is part of its target's).
    #[arg(long, value_name = "OUT.svg")]
    pub svg: Option<PathBuf>,
    /// Write the generated CUDA C++ header of the optimised layout
    /// (thread-major shared stride padded to an odd number of words).
    #[arg(long, value_name = "OUT.cuh")]
    pub cuda: Option<PathBuf>,
    /// Write the summary (one row per configuration: CuBIE's and the
    /// optimised shared bytes, the saving, block sizes, occupancy and the
    /// estimated speed-up) as CSV to this file; stdout then shows only
    /// what the rows were computed for.
    #[arg(long, value_name = "OUT.csv")]
    pub csv: Option<PathBuf>,
}

/// The JSON of a compared grid: the summary and what it was computed for.
#[derive(Serialize)]
struct SummaryJson<'a> {
    strategy: &'a str,
    requested_block_size: u64,
    runs: u64,
    #[serde(flatten)]
    summary: &'a Summary,
    csv: Option<String>,
}

/// What the arguments compare: models (each with the file it was read
/// from, if any) or one dump, over the grid's axes and devices.
struct Grid {
    models: Vec<(model::Model, Option<String>)>,
    axes: Vec<Axis>,
    devices: Vec<DeviceProfile>,
}

impl Grid {
    fn new(args: &Args) -> Result<Grid> {
        let devices: Vec<DeviceProfile> =
            args.device.iter().map(|d| DeviceProfile::named(d)).collect::<smemplan::perf::Result<_>>()?;
        let mut seen = BTreeSet::new();
        if let Some(dup) = args.device.iter().find(|d| !seen.insert(d.as_str())) {
            bail!("device `{dup}` is listed twice in --device");
        }
        for device in &devices {
            check_launch_flags(args.registers, args.block_size, device)?;
        }
        let mut models = Vec::new();
        if args.cubie.is_none() {
            match &args.input {
                Some(path) => models.push((model::load(path)?, Some(path.display().to_string()))),
                None if args.model.is_empty() => models.push((model::default_model()?, None)),
                None => {
                    let mut seen = BTreeSet::new();
                    for name in &args.model {
                        if !seen.insert(name.as_str()) {
                            bail!("model `{name}` is listed twice in --model");
                        }
                        models.push((model::builtin(name)?, None));
                    }
                }
            }
        }
        // The sweep's grammar of values; a later `--set` of a name replaces
        // an earlier one, and `--precision` comes last.
        let mut axes: Vec<Axis> = Vec::new();
        let given = args.sets.iter().map(|s| axis(Axis::parse(s)));
        let precision = (!args.precision.is_empty()).then(|| axis(Axis::new("precision", args.precision.clone())));
        for a in given.chain(precision) {
            let a = a?;
            match axes.iter_mut().find(|b| b.name == a.name) {
                Some(b) => *b = a,
                None => axes.push(a),
            }
        }
        Ok(Grid { models, axes, devices })
    }

    /// Configurations in the grid.
    fn len(&self) -> usize {
        let kernels = if self.models.is_empty() { 1 } else { self.models.len() };
        self.axes.iter().fold(kernels * self.devices.len(), |n, a| n.saturating_mul(a.values.len()))
    }

    /// The one configuration's parameter settings.
    fn sets(&self) -> Vec<(String, String)> {
        self.axes.iter().filter_map(|a| Some((a.name.clone(), a.values.first()?.clone()))).collect()
    }
}

/// An axis error as `plan` words it: the grid's own, without the sweep's
/// prefix (the user ran `plan`).
fn axis(a: smemplan::study::Result<Axis>) -> Result<Axis> {
    a.map_err(|e| match e {
        smemplan::study::Error::Sweep { configuration: None, message } => anyhow::anyhow!(message),
        other => other.into(),
    })
}

/// The JSON report: the comparison plus the files written.
#[derive(Serialize)]
struct PlanJson<'a> {
    #[serde(flatten)]
    comparison: &'a Comparison,
    svg: Option<String>,
    cuda: Option<String>,
    /// `--tiers auto` only.
    #[serde(skip_serializing_if = "Option::is_none")]
    tiers: Option<&'a TierChoice>,
}

/// Runs `smemplan plan`.
pub fn run(args: &Args, out: &mut dyn Write) -> Result<Verdict> {
    if args.list_models {
        list_models(out, args.json)?;
        return Ok(Verdict::Done);
    }
    let destinations: Vec<(&str, &Path)> =
        [("--svg", args.svg.as_deref()), ("--cuda", args.cuda.as_deref()), ("--csv", args.csv.as_deref())]
            .into_iter()
            .filter_map(|(f, p)| Some((f, p?)))
            .collect();
    let grid = Grid::new(args)?;
    let several = grid.len() > 1;
    if several {
        for (flag, given) in [("--svg", args.svg.is_some()), ("--cuda", args.cuda.is_some())] {
            if given {
                bail!("{flag} draws one configuration, and {} are given: name one value of each", grid.len());
            }
        }
        if args.tiers == "auto" {
            bail!("--tiers auto compares one configuration; `smemplan sweep --tiers auto` covers a grid");
        }
    }
    let inputs = Inputs::new(args.input.iter().chain(&args.cubie).map(PathBuf::as_path));
    let mut staged = Staged::reserve(&destinations, &inputs)?;
    let options = CompareOptions {
        plan: PlanOptions {
            strategy: args.strategy.clone(),
            time_limit: Some(args.time_limit),
            ..PlanOptions::default()
        },
        device: grid.devices[0].clone(),
        requested_block_size: args.block_size,
        runs: args.runs,
        registers_per_thread: args.registers,
    };
    if several || args.csv.is_some() {
        return summarise(args, &grid, &options, staged, out);
    }
    let planned = compare(args, &grid, &options)?;
    // The files show what the user would launch: with `--tiers auto`, the
    // chosen split at its block size.
    if let Some(path) = &args.svg {
        staged.write(path, &planned.svg()?)?;
    }
    if let Some(path) = &args.cuda {
        staged.write(path, &planned.cuda_header()?)?;
    }
    staged.commit()?;

    let report = PlanJson {
        comparison: &planned.comparison,
        svg: args.svg.as_ref().map(|p| p.display().to_string()),
        cuda: args.cuda.as_ref().map(|p| p.display().to_string()),
        tiers: planned.choice.as_ref(),
    };
    if args.json {
        serde_json::to_writer_pretty(&mut *out, &report)?;
        writeln!(out)?;
    } else {
        write_text(out, &report, &options.device)?;
        if let Some(section) = &report.tiers {
            tiers::write_text(out, section)?;
        }
    }
    Ok(Verdict::Done)
}

/// Reads a CuBIE dump, with a note on stderr when another CuBIE version
/// made it.
fn load_dump(name: &str, path: &Path) -> Result<Dump> {
    let dump = Dump::parse(name, &read_text(path)?)?;
    if let Some(note) = dump.version_note() {
        eprintln!("smemplan: note: {name}: {note}");
    }
    Ok(dump)
}

/// Refuses `--registers` above what one thread of `device` may use (255 on
/// every current profile): the occupancy beyond it means nothing; and a
/// `--block-size` the device cannot launch, where CuBIE's halving rule
/// would start. The library refuses both too; these name the flags.
pub(crate) fn check_launch_flags(registers: u64, block_size: u64, device: &DeviceProfile) -> Result<()> {
    if registers > device.max_registers_per_thread {
        bail!(
            "--registers {registers}: device {} allows at most {} registers per thread",
            device.name,
            device.max_registers_per_thread
        );
    }
    if block_size == 0 || block_size > device.max_threads_per_block {
        bail!(
            "--block-size {block_size}: device {} launches blocks of 1 to {} threads",
            device.name,
            device.max_threads_per_block
        );
    }
    Ok(())
}

/// The grid compared, one summary row per configuration: printed as a
/// table or `--json`, and written to `--csv`.
fn summarise(
    args: &Args,
    grid: &Grid,
    options: &CompareOptions,
    mut staged: Staged,
    out: &mut dyn Write,
) -> Result<Verdict> {
    let summary = match &args.cubie {
        Some(path) => {
            let name = path.display().to_string();
            let dump = load_dump(&name, path)?;
            let rows = grid
                .devices
                .iter()
                .enumerate()
                .map(|(i, device)| {
                    let options = CompareOptions { device: device.clone(), ..options.clone() };
                    let c = Comparison::of_dump(&dump, Some(name.clone()), &options)
                        .with_context(|| format!("{name}: comparing CuBIE's layout with the optimised plan"))?;
                    Ok(SummaryRow::new(i, BTreeMap::new(), &c))
                })
                .collect::<Result<_>>()?;
            Summary { axes: Vec::new(), rows }
        }
        None => {
            let models: Vec<model::Model> = grid.models.iter().map(|(m, _)| m.clone()).collect();
            Summary::of_models(&models, &grid.axes, &grid.devices, options)?
        }
    };
    if let Some(path) = &args.csv {
        staged.write(path, &summary.csv())?;
    }
    staged.commit()?;
    let csv = args.csv.as_ref().map(|p| p.display().to_string());
    if args.json {
        let json = SummaryJson {
            strategy: &options.plan.strategy,
            requested_block_size: args.block_size,
            runs: args.runs,
            summary: &summary,
            csv,
        };
        serde_json::to_writer_pretty(&mut *out, &json)?;
        writeln!(out)?;
        return Ok(Verdict::Done);
    }
    write_summary(out, &summary, args)?;
    if let Some(p) = csv {
        writeln!(out, "rows written to {p}")?;
    }
    Ok(Verdict::Done)
}

/// The summary as a table, with what it was computed for.
fn write_summary(out: &mut dyn Write, s: &Summary, args: &Args) -> Result<()> {
    let lead = GridColumns::new(s.rows.iter().map(|r| r.model.as_str()), &s.axes);
    let mut header = lead.header();
    header.extend(
        [
            "device",
            "cubie B",
            "optimised B",
            "saved B",
            "saved",
            "cubie block",
            "blocks/SM",
            "occupancy",
            "best block",
            "blocks/SM",
            "occupancy",
            "speed-up",
        ]
        .map(String::from),
    );
    let opt = |v: Option<u64>| v.map_or("-".to_string(), |x| x.to_string());
    let pct = |v: Option<f64>| v.map_or("-".to_string(), |x| format!("{x:.1} %"));
    let mut rows = vec![header];
    for r in &s.rows {
        let mut cells = lead.cells(r.index, &r.model, &r.params);
        cells.extend([
            r.device.clone(),
            r.cubie_layout_shared_bytes.to_string(),
            r.shared_bytes.to_string(),
            r.shared_bytes_saved.to_string(),
            pct(r.shared_percent_saved),
            opt(r.cubie_layout_block_size),
            opt(r.cubie.as_ref().map(|c| c.blocks_per_sm)),
            pct(r.cubie.as_ref().map(|c| 100.0 * c.occupancy)),
            opt(r.best_block_size),
            opt(r.best.as_ref().map(|b| b.blocks_per_sm)),
            pct(r.best.as_ref().map(|b| 100.0 * b.occupancy)),
            r.speedup_vs_cubie.map_or("-".to_string(), |x| format!("{x:.2}x")),
        ]);
        rows.push(cells);
    }
    let mut numeric = vec![true];
    numeric.extend(std::iter::repeat_n(false, lead.len()));
    numeric.extend([true; 11]);
    // As `sweep --csv`: the rows went to the file, stdout keeps the gist.
    if args.csv.is_none() {
        out.write_all(table(&rows, &numeric).as_bytes())?;
        writeln!(out)?;
    }
    let unproven = s.rows.iter().filter(|r| !r.optimal).count();
    let proven = if unproven == 0 {
        "every plan proven optimal".to_string()
    } else {
        format!("{unproven} of {} plans not proven optimal", s.rows.len())
    };
    writeln!(
        out,
        "{} configuration{}; strategy {} ({proven}); requested block size {}, {} runs",
        s.rows.len(),
        if s.rows.len() == 1 { "" } else { "s" },
        args.strategy,
        args.block_size,
        args.runs
    )?;
    writeln!(
        out,
        "bytes: shared per run; cubie block: CuBIE's halving rule on its layout; best block: the optimised layout's \
         highest estimated throughput; speed-up: its estimated runs/s over CuBIE's at CuBIE's block"
    )?;
    Ok(())
}

/// The kernel named by the arguments, compared, and with `--tiers auto`
/// its split chosen.
fn compare(args: &Args, grid: &Grid, options: &CompareOptions) -> Result<Planned> {
    let tiers = args.tiers == "auto";
    if let Some(path) = &args.cubie {
        let name = path.display().to_string();
        let dump = load_dump(&name, path)?;
        let comparison = Comparison::of_dump(&dump, Some(name.clone()), options)
            .with_context(|| format!("{name}: comparing CuBIE's layout with the optimised plan"))?;
        let choice = tiers.then(|| dump_tiers(&dump, options)).transpose()?;
        return Ok(Planned { comparison, choice });
    }
    let (model, file) = grid.models.first().context("no model to compare")?;
    let kernel = model.instantiate(&grid.sets())?;
    let comparison =
        Comparison::of_kernel(&kernel, file.clone(), options).with_context(|| format!("model `{}`", model.name))?;
    let choice = tiers.then(|| kernel_tiers(&kernel, options)).transpose()?;
    Ok(Planned { comparison, choice })
}

fn list_models(out: &mut dyn Write, json: bool) -> Result<()> {
    let models = model::listing()?;
    if json {
        serde_json::to_writer_pretty(&mut *out, &models)?;
        writeln!(out)?;
        return Ok(());
    }
    for m in models {
        let default = if m.default { " (default)" } else { "" };
        writeln!(out, "{}{default}: {}", m.name, m.description)?;
        let params: Vec<String> = m.parameters.iter().map(|(k, v)| format!("{k}={v}")).collect();
        writeln!(out, "  parameters: {}", params.join(" "))?;
        let derived: Vec<String> = m
            .derived
            .iter()
            .map(|d| match d.inputs.as_slice() {
                [] => format!("{} = {}", d.name, d.rule),
                inputs => format!("{} = {} (from {})", d.name, d.rule, inputs.join(", ")),
            })
            .collect();
        if !derived.is_empty() {
            writeln!(out, "  derived (each settable like a parameter): {}", derived.join("; "))?;
        }
        if !m.algorithms.is_empty() {
            writeln!(out, "  algorithms: {}", m.algorithms.join(", "))?;
        }
    }
    Ok(())
}

/// `[a,b)` segments, or `run` for the whole timeline.
fn segments(lifetime: &[[u64; 2]], instants: usize) -> String {
    match lifetime {
        [] => "-".to_string(),
        [[0, end]] if *end == instants as u64 => "run".to_string(),
        _ => lifetime.iter().map(|s| format!("[{},{})", s[0], s[1])).collect::<Vec<_>>().join(" "),
    }
}

/// The optimised side's saving as a percentage of CuBIE's bytes.
fn saved(cubie: u64, optimized: u64) -> String {
    if cubie == 0 {
        return "-".to_string();
    }
    format!("{:.1} %", 100.0 * (cubie as f64 - optimized as f64) / cubie as f64)
}

fn write_text(out: &mut dyn Write, r: &PlanJson, device: &DeviceProfile) -> Result<()> {
    let cmp = r.comparison;
    let (c, o) = (&cmp.cubie, &cmp.optimized);
    let input = match (&cmp.input.file, cmp.input.kind) {
        (Some(f), InputKind::Cubie) => format!("CuBIE dump {f} ({})", cmp.input.name),
        (Some(f), InputKind::Model) => format!("model {} ({f})", cmp.input.name),
        (None, _) => format!("built-in model {}", cmp.input.name),
    };
    writeln!(out, "input     {input}")?;
    if !cmp.input.params.is_empty() {
        let params: Vec<String> = cmp
            .input
            .params
            .iter()
            .map(|(k, v)| match v {
                serde_json::Value::String(s) => format!("{k}={s}"),
                other => format!("{k}={other}"),
            })
            .collect();
        writeln!(out, "params    {}", params.join(" "))?;
    }
    let optimal = if cmp.optimal { "proven optimal" } else { "not proven optimal" };
    writeln!(out, "strategy  {} ({optimal})", cmp.strategy)?;
    writeln!(
        out,
        "device    {} ({} B opt-in shared per block); requested block size {}, {} runs",
        cmp.device, device.max_shared_per_block_optin, cmp.requested_block_size, cmp.runs
    )?;
    writeln!(out)?;

    let opt = |v: Option<u64>| v.map_or("-".to_string(), |x| x.to_string());
    let header = vec![String::new(), "cubie".into(), "optimised".into(), "saved".into()];
    let mut rows = vec![
        header,
        vec![
            "shared bytes per run".into(),
            c.shared_bytes.to_string(),
            o.report.shared_bytes.to_string(),
            saved(c.shared_bytes, o.report.shared_bytes),
        ],
        vec![
            "  padded stride".into(),
            c.padded_shared_bytes.to_string(),
            o.padded_shared_bytes.to_string(),
            String::new(),
        ],
        vec![
            "local bytes per thread".into(),
            c.local_bytes.to_string(),
            o.report.local_bytes.to_string(),
            saved(c.local_bytes, o.report.local_bytes),
        ],
        vec![
            "persistent local bytes".into(),
            c.persistent_local_bytes.to_string(),
            o.report.persistent_local_bytes.to_string(),
            saved(c.persistent_local_bytes, o.report.persistent_local_bytes),
        ],
        vec!["block size (CuBIE's rule)".into(), opt(c.launch.block_size), opt(o.launch.block_size), String::new()],
        vec![
            "  dynamic shared per block".into(),
            opt(c.launch.dynamic_shared_bytes),
            opt(o.launch.dynamic_shared_bytes),
            String::new(),
        ],
    ];
    if let Some(b) = &o.best_block_size {
        rows.push(vec![
            "best block size (throughput)".into(),
            String::new(),
            b.block_size.to_string(),
            format!("{} threads/SM", b.resident_threads),
        ]);
    }
    out.write_all(table(&rows, &[false, true, true, true]).as_bytes())?;

    let instants = o.report.timeline.len();
    writeln!(out)?;
    writeln!(out, "layout: byte offsets per run (shared) or per thread (local pools); lifetimes in instants of a {instants}-instant timeline")?;
    let mut rows =
        vec![["buffer", "dtype", "bytes", "lifetime", "cubie", "at", "optimised", "at"].map(String::from).to_vec()];
    let placed: BTreeMap<(&str, &str), &PlacedBuffer> =
        o.report.buffers.iter().map(|b| ((b.component.as_str(), b.name.as_str()), b)).collect();
    let cubie_keys: BTreeSet<(&str, &str)> =
        c.buffers.iter().map(|b| (b.component.as_str(), b.name.as_str())).collect();
    // CuBIE's kernel order, then anything only the optimised side has.
    let keys = c.buffers.iter().map(|b| (b.component.as_str(), b.name.as_str())).chain(
        o.report.buffers.iter().map(|b| (b.component.as_str(), b.name.as_str())).filter(|k| !cubie_keys.contains(k)),
    );
    let cubie_of: BTreeMap<(&str, &str), &CubieBuffer> =
        c.buffers.iter().map(|b| ((b.component.as_str(), b.name.as_str()), b)).collect();
    let mut empty = 0;
    for key in keys {
        let (cb, ob) = (cubie_of.get(&key), placed.get(&key));
        let (dtype, bytes, lifetime) = match (ob, cb) {
            (Some(b), _) => (b.dtype, b.bytes, &b.lifetime),
            (None, Some(b)) => (b.dtype, b.elements.saturating_mul(b.dtype.itemsize()), &b.lifetime),
            (None, None) => continue,
        };
        if bytes == 0 {
            empty += 1;
            continue;
        }
        let (cpool, cat) = match cb {
            Some(b) => (b.pool.to_string(), b.offset.map_or("own array".to_string(), |x| x.to_string())),
            None => ("-".into(), "-".into()),
        };
        let (opool, oat) = match ob {
            Some(b) => {
                let inside = b.inside.as_deref().map(|t| format!(" in {}", t.rsplit('/').next().unwrap_or(t)));
                (b.pool.to_string(), format!("{}{}", opt(b.offset), inside.unwrap_or_default()))
            }
            None => ("-".into(), "-".into()),
        };
        rows.push(vec![
            format!("{}/{}", key.0, key.1),
            dtype.to_string(),
            bytes.to_string(),
            segments(lifetime, instants),
            cpool,
            cat,
            opool,
            oat,
        ]);
    }
    out.write_all(table(&rows, &[false, false, true, false, false, true, false, true]).as_bytes())?;
    if empty > 0 {
        writeln!(out, "({empty} empty buffers not shown)")?;
    }

    let mut notes = Vec::new();
    for (side, l) in [("cubie", &c.launch), ("optimised", &o.launch)] {
        if let Some(e) = &l.block_error {
            notes.push(format!("{side}: no block size: {e}"));
        }
        if let Some(w) = l.block_warning {
            notes.push(format!("{side}: {w}"));
        }
        if let (Some(b), Some(e)) = (l.block_size, &l.launch_error) {
            notes.push(format!("{side}: CuBIE's block of {b} cannot launch: {e}"));
        }
    }
    if let Some(s) = &o.block_search {
        notes.push(format!("block size: {}", s.reason));
    }
    for a in &o.report.refused_aliases {
        notes.push(format!("alias refused: `{}` → `{}`: {}", a.buffer, a.target, a.detail));
    }
    if !o.report.unmapped.is_empty() {
        notes.push(format!("not in the lifetime table (live for the whole run): {}", o.report.unmapped.join(", ")));
    }
    if !o.report.unmapped_components.is_empty() {
        notes
            .push(format!("components the lifetime table does not place: {}", o.report.unmapped_components.join(", ")));
    }
    for (what, path) in [("picture", &r.svg), ("CUDA header", &r.cuda)] {
        if let Some(p) = path {
            notes.push(format!("{what} written to {p}"));
        }
    }
    if !notes.is_empty() {
        writeln!(out)?;
        for n in notes {
            writeln!(out, "{n}")?;
        }
    }
    Ok(())
}
