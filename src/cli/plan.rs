//! `smemplan plan`: a solver kernel's memory, CuBIE's layout next to the
//! optimised one.
//!
//! ```text
//!  MODEL.toml ─┐                       ┌─▶ cubie:     Registry (CuBIE 0.17.0, exact)
//!  --model ────┼─▶ declarations ───────┤               → bytes, slices, limit_blocksize
//!  (default) ──┘   + lifetimes         └─▶ optimized: plan (one problem per pool)
//!  --cubie DUMP.json ─▶ recorded registrations ─┘      → bytes, offsets, block sizes
//! ```
//!
//! Both sides are computed here: for a dump, CuBIE's side is replayed from
//! the recorded registrations (never read from the recorded answers), for a
//! model it is the model's registry ([`smemplan::model::Kernel::registry`]).
//! The block size is CuBIE's `limit_blocksize` rule for the requested size on
//! the chosen device, applied to each side's per-run shared stride (CuBIE:
//! bytes plus its float32 skew; optimised: the allocator's odd-word stride).
//! `--svg` and `--cuda` are written atomically, both or neither, before
//! anything is printed.

use super::output::{table, Staged};
use super::{parse_seconds, read_text, strategy_parser, Outcome};
use anyhow::{bail, Context, Result};
use serde::Serialize;
use smemplan::accesses;
use smemplan::allocator::{cuda_header, Allocation, HeaderOptions, SharedLayout};
use smemplan::kernel::{Pool, Precision};
use smemplan::lifetimes::buffer_on;
use smemplan::model::{self, expr::Value, Model};
use smemplan::occupancy::DeviceProfile;
use smemplan::plan::{plan_dump, PlacedBuffer, PlanOptions, PlanReport};
use smemplan::plot::{self, PlotOptions};
use smemplan::problem::{Interval, Layout, Problem};
use smemplan::registry::dump::Dump;
use smemplan::registry::{FlatBuffer, Footprint, Region, Registry};
use smemplan::solve as solver;
use smemplan::throughput::{self, BlockSearch, Workload};
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
    #[arg(long = "set", value_name = "NAME=VALUE", value_parser = parse_set)]
    pub sets: Vec<(String, String)>,
    /// Run precision (shorthand for `--set precision=...`, applied last).
    #[arg(long, value_parser = ["f32", "f64"])]
    pub precision: Option<String>,
    /// Layout algorithm of the optimised side.
    #[arg(long, value_name = "NAME", value_parser = strategy_parser(), default_value = solver::DEFAULT_STRATEGY)]
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
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = parse_seconds, allow_negative_numbers = true)]
    pub time_limit: Duration,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
    /// Draw the optimised shared-memory layout as SVG (time on x, byte
    /// offset within a run on y).
    #[arg(long, value_name = "OUT.svg")]
    pub svg: Option<PathBuf>,
    /// Write the generated CUDA C++ header of the optimised layout
    /// (thread-major shared stride padded to an odd number of words).
    #[arg(long, value_name = "OUT.cuh")]
    pub cuda: Option<PathBuf>,
}

/// Parses `NAME=VALUE`.
fn parse_set(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.trim().to_string())),
        _ => Err(format!("`{text}` is not NAME=VALUE")),
    }
}

/// Where the kernel came from (JSON `input`).
#[derive(Serialize)]
struct Input {
    /// `model` or `cubie`.
    kind: &'static str,
    /// The model's name or the dump's configuration id.
    name: String,
    /// The file read, `null` for a built-in model.
    file: Option<String>,
    /// Every parameter and derived value of a model instance.
    params: BTreeMap<String, serde_json::Value>,
}

/// A kernel: its CuBIE registry and its optimised plan.
struct Kernel {
    input: Input,
    registry: Registry,
    root: String,
    optimized: PlanReport,
}

/// CuBIE's `limit_blocksize` outcome for one side.
#[derive(Serialize)]
struct Launch {
    /// Threads per block, `null` when one run alone exceeds the limit.
    block_size: Option<u64>,
    /// Dynamic shared bytes of that block.
    dynamic_shared_bytes: Option<u64>,
    /// CuBIE's warning when the block fell below a warp.
    block_warning: Option<&'static str>,
    /// Why there is no block size.
    block_error: Option<String>,
}

impl Launch {
    fn new(device: &DeviceProfile, requested: u64, padded: u64, runs: u64) -> Launch {
        match device.limit_blocksize(requested, padded, runs) {
            Ok(b) => Launch {
                block_size: Some(b.block_size),
                dynamic_shared_bytes: Some(b.dynamic_shared_bytes),
                block_warning: b.warning,
                block_error: None,
            },
            Err(e) => Launch {
                block_size: None,
                dynamic_shared_bytes: None,
                block_warning: None,
                block_error: Some(e.to_string()),
            },
        }
    }
}

/// One buffer of CuBIE's layout.
#[derive(Serialize)]
struct CubieBuffer {
    component: String,
    name: String,
    pool: Pool,
    dtype: Precision,
    elements: u64,
    /// Bytes it occupies (a local array holds at least one element).
    bytes: u64,
    /// Byte offset in the top-level shared or persistent-local array;
    /// `null` for a local array of its own.
    offset: Option<u64>,
    alias_applied: Option<bool>,
    /// Live segments on the optimised side's timeline.
    lifetime: Vec<[u64; 2]>,
}

/// CuBIE's side (JSON `cubie`).
#[derive(Serialize)]
struct CubieSide {
    shared_elements: u64,
    shared_bytes: u64,
    skew_bytes: u64,
    padded_shared_bytes: u64,
    local_elements: u64,
    local_bytes: u64,
    persistent_local_elements: u64,
    persistent_local_bytes: u64,
    #[serde(flatten)]
    launch: Launch,
    buffers: Vec<CubieBuffer>,
}

/// The block size of highest estimated throughput (extra information).
#[derive(Serialize)]
struct Best {
    block_size: u64,
    dynamic_shared_bytes: u64,
    blocks_per_sm: u64,
    resident_threads: u64,
    /// What bounds the resident blocks.
    limiter: &'static str,
    /// Estimated runs per second at this block size.
    estimated_runs_per_second: f64,
    /// Why it won.
    reason: String,
}

/// The block-size search (JSON `block_search`): the pick, CuBIE's halving
/// pick in the same ranking, and the best candidates.
#[derive(Serialize)]
struct Search<'a> {
    workload: Workload,
    reason: &'a str,
    cubie: Option<&'a throughput::CubiePick>,
    /// The ten fastest candidates.
    top: &'a [throughput::Estimate],
}

/// The optimised side (JSON `optimized`): the plan report plus launch
/// numbers.
#[derive(Serialize)]
struct OptimizedSide<'a> {
    #[serde(flatten)]
    report: &'a PlanReport,
    /// Bytes between two threads' shared slices (odd number of words).
    padded_shared_bytes: u64,
    #[serde(flatten)]
    launch: Launch,
    /// Highest estimated throughput (see `block_search`).
    best_block_size: Option<Best>,
    /// Every block size ranked by the throughput estimate.
    block_search: Option<Search<'a>>,
}

/// The JSON report (field meanings are documented in the README).
#[derive(Serialize)]
struct Report<'a> {
    input: &'a Input,
    strategy: &'a str,
    optimal: bool,
    device: &'a str,
    requested_block_size: u64,
    runs: u64,
    cubie: CubieSide,
    optimized: OptimizedSide<'a>,
    svg: Option<String>,
    cuda: Option<String>,
}

/// Runs `smemplan plan`.
pub fn run(args: &Args, out: &mut dyn Write) -> Result<Outcome> {
    if args.list_models {
        list_models(out)?;
        return Ok(Outcome::Done);
    }
    let destinations: Vec<(&str, &Path)> = [("--svg", args.svg.as_deref()), ("--cuda", args.cuda.as_deref())]
        .into_iter()
        .filter_map(|(f, p)| Some((f, p?)))
        .collect();
    let mut staged = Staged::reserve(&destinations)?;
    let device = DeviceProfile::named(&args.device)?;
    let options =
        PlanOptions { strategy: args.strategy.clone(), time_limit: Some(args.time_limit), ..PlanOptions::default() };
    let kernel = load(args, &options)?;
    let footprint = kernel.registry.footprint(&kernel.root)?;
    let flat = kernel.registry.flatten(&kernel.root)?;
    let cubie = cubie_side(&kernel.optimized, &footprint, &flat, &device, args)?;

    let report = &kernel.optimized;
    let alloc = Allocation::new(report, SharedLayout::default())?;
    let launch = Launch::new(&device, args.block_size, alloc.stride, args.runs);
    let (shared_accesses, local_accesses) = accesses::by_memory(report);
    let workload = Workload {
        shared_bytes_per_run: alloc.stride,
        shared_accesses,
        local_accesses,
        registers_per_thread: args.registers,
        runs: args.runs,
    };
    let search = throughput::search(&device, &workload, args.block_size).ok();
    let best = search.as_ref().map(|s| {
        let o = &s.best().occupancy;
        Best {
            block_size: o.block_size,
            dynamic_shared_bytes: o.dynamic_shared_bytes,
            blocks_per_sm: o.active_blocks_per_sm,
            resident_threads: o.active_threads_per_sm,
            limiter: o.limiter.as_str(),
            estimated_runs_per_second: s.best().runs_per_second,
            reason: s.reason.clone(),
        }
    });

    if let Some(path) = &args.svg {
        staged.write(path, &shared_picture(report)?)?;
    }
    if let Some(path) = &args.cuda {
        let block_size = launch.block_size.unwrap_or(args.block_size);
        let header = cuda_header(&alloc, &HeaderOptions { block_size, ..HeaderOptions::default() })?;
        staged.write(path, &header)?;
    }
    staged.commit()?;

    let block_search = search.as_ref().map(|s: &BlockSearch| Search {
        workload,
        reason: &s.reason,
        cubie: s.cubie.as_ref(),
        top: &s.ranked[..s.ranked.len().min(10)],
    });
    let optimized =
        OptimizedSide { report, padded_shared_bytes: alloc.stride, launch, best_block_size: best, block_search };
    let full = Report {
        input: &kernel.input,
        strategy: &args.strategy,
        optimal: report.optimal,
        device: &device.name,
        requested_block_size: args.block_size,
        runs: args.runs,
        cubie,
        optimized,
        svg: args.svg.as_ref().map(|p| p.display().to_string()),
        cuda: args.cuda.as_ref().map(|p| p.display().to_string()),
    };
    if args.json {
        serde_json::to_writer_pretty(&mut *out, &full)?;
        writeln!(out)?;
    } else {
        write_text(out, &full, &device)?;
    }
    Ok(Outcome::Done)
}

/// The kernel named by the arguments.
fn load(args: &Args, options: &PlanOptions) -> Result<Kernel> {
    if let Some(path) = &args.cubie {
        let name = path.display().to_string();
        let dump = Dump::parse(&name, &read_text(path)?)?;
        let root = match dump.components.first() {
            Some(c) => c.path.clone(),
            None => bail!("{name}: the dump lists no components"),
        };
        let registry =
            Registry::from_dump(&dump).with_context(|| format!("{name}: replaying CuBIE's registrations"))?;
        let optimized = plan_dump(&dump, options).with_context(|| format!("{name}: planning"))?;
        let input = Input { kind: "cubie", name: dump.config.id.clone(), file: Some(name), params: BTreeMap::new() };
        return Ok(Kernel { input, registry, root, optimized });
    }
    let (model, file) = match (&args.input, &args.model) {
        (Some(path), _) => (load_model(path)?, Some(path.display().to_string())),
        (None, Some(name)) => (model::builtin(name)?, None),
        (None, None) => (model::default_model()?, None),
    };
    let mut sets = args.sets.clone();
    sets.extend(args.precision.iter().map(|p| ("precision".to_string(), p.clone())));
    let instance = model.instantiate(&sets)?;
    let (registry, root) = instance.registry()?;
    let optimized = instance.plan(options)?;
    let params = instance
        .params
        .iter()
        .map(|(k, v)| {
            let json = match v {
                Value::Int(i) => serde_json::Value::from(*i),
                Value::Str(s) => serde_json::Value::from(s.as_str()),
            };
            (k.clone(), json)
        })
        .collect();
    Ok(Kernel { input: Input { kind: "model", name: model.name.clone(), file, params }, registry, root, optimized })
}

/// Parses a model file; includes resolve next to it, then among the
/// built-in fragments (so a copy of a built-in model works anywhere).
fn load_model(path: &Path) -> Result<Model> {
    let text = read_text(path)?;
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let resolve =
        |f: &str| std::fs::read_to_string(dir.join(f)).ok().or_else(|| model::builtin_file(f).map(String::from));
    Ok(Model::parse(&path.display().to_string(), &text, &resolve)?)
}

fn cubie_side(
    report: &PlanReport,
    footprint: &Footprint,
    flat: &[FlatBuffer],
    device: &DeviceProfile,
    args: &Args,
) -> Result<CubieSide> {
    let lifetimes: BTreeMap<(&str, &str), &Vec<[u64; 2]>> =
        report.buffers.iter().map(|b| ((b.component.as_str(), b.name.as_str()), &b.lifetime)).collect();
    let buffers = flat
        .iter()
        .map(|b| {
            let (pool, elements) = match b.region {
                Region::Shared(_) => (Pool::Shared, b.size),
                Region::PersistentLocal(_) => (Pool::PersistentLocal, b.size),
                Region::Local(len) => (Pool::Local, len),
            };
            let bytes = elements
                .checked_mul(b.precision.itemsize())
                .with_context(|| format!("bytes of `{}/{}` overflow", b.component, b.name))?;
            Ok(CubieBuffer {
                component: b.component.clone(),
                name: b.name.clone(),
                pool,
                dtype: b.precision,
                elements: b.size,
                bytes,
                offset: b.byte_range().map(|r| r.start),
                alias_applied: b.alias_applied,
                lifetime: lifetimes
                    .get(&(b.component.as_str(), b.name.as_str()))
                    .map(|l| l.to_vec())
                    .unwrap_or_default(),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(CubieSide {
        shared_elements: footprint.shared_elements,
        shared_bytes: footprint.shared_bytes,
        skew_bytes: footprint.skew_bytes,
        padded_shared_bytes: footprint.padded_shared_bytes,
        local_elements: footprint.local_elements,
        local_bytes: footprint.local_bytes,
        persistent_local_elements: footprint.persistent_local_elements,
        persistent_local_bytes: footprint.persistent_local_bytes,
        launch: Launch::new(device, args.block_size, footprint.padded_shared_bytes, args.runs),
        buffers,
    })
}

/// The optimised shared pool as a picture. A nested alias is drawn over
/// its target (the rectangles are translucent, so both show).
fn shared_picture(report: &PlanReport) -> Result<String> {
    let placed: Vec<_> = report
        .buffers
        .iter()
        .filter(|b| b.pool == Pool::Shared && b.bytes > 0)
        .filter_map(|b| b.offset.map(|o| (b, o)))
        .collect();
    let buffers = placed
        .iter()
        .map(|(b, _)| {
            let segments: Vec<Interval> = b.lifetime.iter().map(|s| Interval::new(s[0], s[1])).collect();
            buffer_on(format!("{}/{}", b.component, b.name), b.bytes, b.dtype.itemsize(), &segments)
        })
        .collect();
    let problem = Problem::new(buffers, None)?;
    let layout = Layout::new(placed.iter().map(|(_, o)| *o).collect());
    let options = PlotOptions {
        title: format!("{} — optimised shared memory per run ({})", report.source, report.strategy),
        lower_bound: report.pool(Pool::Shared).map(|p| p.lower_bound),
        ..PlotOptions::default()
    };
    Ok(plot::svg(&problem, &layout, &options)?)
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

fn write_text(out: &mut dyn Write, r: &Report, device: &DeviceProfile) -> Result<()> {
    let (c, o) = (&r.cubie, &r.optimized);
    let input = match (&r.input.file, r.input.kind) {
        (Some(f), "cubie") => format!("CuBIE dump {f} ({})", r.input.name),
        (Some(f), _) => format!("model {} ({f})", r.input.name),
        (None, _) => format!("built-in model {}", r.input.name),
    };
    writeln!(out, "input     {input}")?;
    if !r.input.params.is_empty() {
        let params: Vec<String> = r
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
    let optimal = if r.optimal { "proven optimal" } else { "not proven optimal" };
    writeln!(out, "strategy  {} ({optimal})", r.strategy)?;
    writeln!(
        out,
        "device    {} ({} B opt-in shared per block); requested block size {}, {} runs",
        r.device, device.max_shared_per_block_optin, r.requested_block_size, r.runs
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
