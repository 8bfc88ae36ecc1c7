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

use super::output::{table, Staged};
use super::tiers;
use super::{read_text, strategy_parser, Verdict};
use anyhow::{bail, Context, Result};
use serde::Serialize;
use smemplan::kernel::accesses::Weights;
use smemplan::kernel::lifetimes::LifetimeTable;
use smemplan::kernel::model;
use smemplan::kernel::registry::dump::Dump;
use smemplan::perf::occupancy::DeviceProfile;
use smemplan::perf::tiers::{TierChoice, TierOptions};
use smemplan::plan::allocator::{cuda_header, Allocation, HeaderOptions, SharedLayout};
use smemplan::plan::{PlacedBuffer, PlanInput, PlanOptions};
use smemplan::study::compare::{CompareOptions, Comparison, CubieBuffer, InputKind};
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
    /// A built-in model by name (see --list-models).
    #[arg(long, value_name = "NAME")]
    pub model: Option<String>,
    /// List the built-in models with their parameters and algorithms, and
    /// exit.
    #[arg(long, conflicts_with_all = ["input", "cubie", "model"])]
    pub list_models: bool,
    /// Set a model parameter (repeatable): an integer, true/false or a
    /// string, e.g. `--set n=20 --set algorithm=kvaerno5 --set loc=local`.
    #[arg(long = "set", value_name = "NAME=VALUE", value_parser = model::parse_set)]
    pub sets: Vec<(String, String)>,
    /// Run precision (shorthand for `--set precision=...`, applied last).
    #[arg(long, value_parser = ["f32", "f64"])]
    pub precision: Option<String>,
    /// Layout algorithm of the optimised side.
    #[arg(long, value_name = "NAME", value_parser = strategy_parser(), default_value = smemplan::solve::strategies::DEFAULT_STRATEGY)]
    pub strategy: String,
    /// Device profile for the block size (a table of models/devices.toml:
    /// h100, a100, simulator, ...).
    #[arg(long, value_name = "NAME", default_value = "h100")]
    pub device: String,
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
    tiers: Option<tiers::Section<'a>>,
}

/// Runs `smemplan plan`.
pub fn run(args: &Args, out: &mut dyn Write) -> Result<Verdict> {
    if args.list_models {
        list_models(out)?;
        return Ok(Verdict::Done);
    }
    let destinations: Vec<(&str, &Path)> = [("--svg", args.svg.as_deref()), ("--cuda", args.cuda.as_deref())]
        .into_iter()
        .filter_map(|(f, p)| Some((f, p?)))
        .collect();
    let device = DeviceProfile::named(&args.device)?;
    check_registers(args.registers, &device)?;
    let mut staged = Staged::reserve(&destinations)?;
    let options = CompareOptions {
        plan: PlanOptions {
            strategy: args.strategy.clone(),
            time_limit: Some(args.time_limit),
            ..PlanOptions::default()
        },
        device,
        requested_block_size: args.block_size,
        runs: args.runs,
        registers_per_thread: args.registers,
    };
    let (comparison, choice) = compare(args, &options)?;
    let optimized = &comparison.optimized;
    // The files show what the user would launch: with `--tiers auto`, the
    // chosen split at its block size.
    let (report, allocation, block_size) = match &choice {
        Some(c) => (
            &c.chosen.report,
            Allocation::new(&c.chosen.report, SharedLayout::default())?,
            c.chosen.best.map(|e| e.occupancy.block_size),
        ),
        None => (&optimized.report, optimized.allocation.clone(), optimized.launch.block_size),
    };
    if let Some(path) = &args.svg {
        staged.write(path, &smemplan::study::picture::plan_svg(&comparison.cubie, report)?)?;
    }
    if let Some(path) = &args.cuda {
        let block_size = block_size.unwrap_or(args.block_size);
        let header = cuda_header(&allocation, &HeaderOptions { block_size, ..HeaderOptions::default() })?;
        staged.write(path, &header)?;
    }
    staged.commit()?;

    let report = PlanJson {
        comparison: &comparison,
        svg: args.svg.as_ref().map(|p| p.display().to_string()),
        cuda: args.cuda.as_ref().map(|p| p.display().to_string()),
        tiers: choice.as_ref().map(tiers::section),
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

/// Refuses `--registers` above what one thread of `device` may use (255 on
/// every current profile): the occupancy beyond it means nothing.
pub(crate) fn check_registers(registers: u64, device: &DeviceProfile) -> Result<()> {
    if registers > device.max_registers_per_thread {
        bail!(
            "--registers {registers}: device {} allows at most {} registers per thread",
            device.name,
            device.max_registers_per_thread
        );
    }
    Ok(())
}

/// The kernel named by the arguments, compared, and with `--tiers auto`
/// its shared-or-local choice.
fn compare(args: &Args, options: &CompareOptions) -> Result<(Comparison, Option<TierChoice>)> {
    let choose = |input: &PlanInput, table: &LifetimeTable, accesses: &Weights| -> Result<Option<TierChoice>> {
        if args.tiers != "auto" {
            return Ok(None);
        }
        let tier_options = TierOptions {
            plan: PlanOptions { time_limit: Some(args.time_limit / 4), ..options.plan.clone() },
            // The split search shares the plans' budget: it stops at a
            // quarter of the limit with the best split found so far.
            search_time_limit: Some(args.time_limit / 4),
            registers_per_thread: args.registers,
            runs: args.runs,
            cubie_requested: args.block_size,
            accesses: accesses.clone(),
            ..TierOptions::default()
        };
        Ok(Some(smemplan::perf::tiers::choose(input, table, &options.device, &tier_options)?))
    };
    if let Some(path) = &args.cubie {
        let name = path.display().to_string();
        let dump = Dump::parse(&name, &read_text(path)?)?;
        let comparison = Comparison::of_dump(&dump, Some(name.clone()), options)
            .with_context(|| format!("{name}: comparing CuBIE's layout with the optimised plan"))?;
        let choice = choose(&PlanInput::from_dump(&dump)?, &LifetimeTable::cubie()?, &Weights::default())?;
        return Ok((comparison, choice));
    }
    let (model, file) = match (&args.input, &args.model) {
        (Some(path), _) => (model::load(path)?, Some(path.display().to_string())),
        (None, Some(name)) => (model::builtin(name)?, None),
        (None, None) => (model::default_model()?, None),
    };
    let mut sets = args.sets.clone();
    sets.extend(args.precision.iter().map(|p| ("precision".to_string(), p.clone())));
    let kernel = model.instantiate(&sets)?;
    let comparison =
        Comparison::of_kernel(&kernel, file, options).with_context(|| format!("model `{}`", model.name))?;
    let choice = choose(&smemplan::plan::PlanInput::try_from(&kernel)?, &kernel.table, &kernel.accesses)?;
    Ok((comparison, choice))
}

fn list_models(out: &mut dyn Write) -> Result<()> {
    for name in model::builtin_names() {
        let m = model::builtin(name)?;
        let default = if name == model::DEFAULT_MODEL { " (default)" } else { "" };
        writeln!(out, "{name}{default}: {}", m.description)?;
        let params: Vec<String> = m.params().iter().map(|(k, v)| format!("{k}={v}")).collect();
        writeln!(out, "  parameters: {}", params.join(" "))?;
        if !m.algorithms().is_empty() {
            writeln!(out, "  algorithms: {}", m.algorithms().join(", "))?;
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
