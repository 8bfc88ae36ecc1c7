//! Every use of the `smemplan` library by the Python bindings, in one place.
//!
//! Each function does what the matching command-line subcommand does
//! (`src/cli/*.rs`), with the same defaults and semantics, and answers with
//! plain Rust values or JSON text; `lib.rs` turns those into Python values.

use crate::{Answer, Failure};
use serde::Serialize;
use smemplan::core::analysis::Analysis;
use smemplan::core::check as checker;
use smemplan::core::error::Error;
use smemplan::core::format::{minimalloc, text};
use smemplan::core::plot::{self, PlotOptions};
use smemplan::kernel::model;
use smemplan::kernel::registry::dump::Dump;
use smemplan::kernel::registry::{Region, RegistryError};
use smemplan::kernel::{Location, Precision};
use smemplan::perf::occupancy::DeviceProfile;
use smemplan::perf::tiers::TierChoice;
use smemplan::plan::PlanOptions;
use smemplan::solve::{self, strategies, SolveReport};
use smemplan::study::compare::{CompareOptions, Comparison};
use smemplan::study::planned::{dump_tiers, kernel_tiers, Planned};
use smemplan::study::sweep::{self, chart, Axis, Side, SweepSpec, Tiers};
use smemplan::{core::bound, Buffer, Interval, Layout, Problem};
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use smemplan::kernel::registry::Registry;

/// One instance as columns.
pub struct Rows {
    pub ids: Vec<String>,
    pub lower: Vec<u64>,
    pub upper: Vec<u64>,
    pub size: Vec<u64>,
    pub alignment: Vec<u64>,
    pub offset: Vec<Option<u64>>,
    pub gaps: Vec<Vec<(u64, u64)>>,
}

/// The library's problem for `rows` (validated: every error names its
/// buffer).
pub fn problem(rows: &Rows, capacity: Option<u64>) -> Answer<Problem> {
    let buffers = (0..rows.ids.len())
        .map(|i| Buffer {
            name: rows.ids[i].clone(),
            size: rows.size[i],
            alignment: rows.alignment[i],
            lifetime: Interval::new(rows.lower[i], rows.upper[i]),
            gaps: rows.gaps[i].iter().map(|&(a, b)| Interval::new(a, b)).collect(),
            offset: rows.offset[i],
        })
        .collect();
    Ok(Problem::new(buffers, capacity)?)
}

fn rows_of(problem: &Problem) -> Rows {
    let b = problem.buffers();
    Rows {
        ids: b.iter().map(|b| b.name.clone()).collect(),
        lower: b.iter().map(|b| b.lifetime.start).collect(),
        upper: b.iter().map(|b| b.lifetime.end).collect(),
        size: b.iter().map(|b| b.size).collect(),
        alignment: b.iter().map(|b| b.alignment).collect(),
        offset: b.iter().map(|b| b.offset).collect(),
        gaps: b.iter().map(|b| b.gaps.iter().map(|g| (g.start, g.end)).collect()).collect(),
    }
}

/// `text::read_text`, the reader of every input file of the command line:
/// a file that cannot be read is [`Failure::Os`] with the cause's kind, one
/// that is not UTF-8 text a [`Failure::Value`] naming its line and column.
pub fn read_text(what: &str, path: &str) -> Answer<String> {
    let prefix = if what.is_empty() { String::new() } else { format!("{what}: ") };
    text::read_text(Path::new(path)).map_err(|e| match e {
        Error::Read { kind, .. } => Failure::Os(kind, format!("{prefix}{e}")),
        other => Failure::Value(format!("{prefix}{other}")),
    })
}

/// `minimalloc::read_problem` (every dialect), as columns.
pub fn read_csv(source: &str, text: &str) -> Answer<Rows> {
    Ok(rows_of(&minimalloc::read_problem(source, text)?))
}

/// `minimalloc::write` of the instance with `offsets`, if given. The
/// format has no quoting and its reader trims every field, so an id holding
/// a comma or starting or ending with white space is refused: it would read
/// back as something else.
pub fn write_csv(rows: &Rows, offsets: Option<&[u64]>) -> Answer<String> {
    for (i, id) in rows.ids.iter().enumerate() {
        let why = if id.contains(',') {
            "holds a comma, and MiniMalloc's CSV has no quoting: it would read back as two fields"
        } else if id.trim() != id {
            "starts or ends with white space, which MiniMalloc's CSV reader trims"
        } else {
            continue;
        };
        return Err(Failure::Value(format!("ids: row {i} (`{id}`) {why}; rename the buffer to write it as CSV")));
    }
    let problem = problem(rows, None)?;
    let layout = offsets.map(|o| Layout::new(o.to_vec()));
    Ok(minimalloc::write(&problem, layout.as_ref()))
}

/// `smemplan solve`: the strategy under the time limit, the answer
/// checked by the independent checker before it is returned.
pub fn solve(
    rows: &Rows,
    strategy: &str,
    time_limit: Duration,
    capacity: Option<u64>,
    cancel: Arc<AtomicBool>,
) -> Answer<(Vec<u64>, SolveReport)> {
    let solver = strategies::strategy(strategy)?;
    let problem = problem(rows, None)?;
    let analysis = Analysis::new(&problem);
    let options = solve::SolveOptions {
        capacity,
        deadline: Instant::now().checked_add(time_limit),
        time_limit: None,
        cancel: Some(cancel),
        ..solve::SolveOptions::default()
    };
    let solution = solve::run_with(&*solver, &analysis, &options)?;
    solve::verify(&problem, &solution)
        .map_err(|e| Failure::Value(format!("strategy `{strategy}` produced an invalid layout: {e}")))?;
    let report = SolveReport::new(&problem, &solution, strategy, capacity);
    Ok((solution.layout.offsets, report))
}

/// `smemplan check`: `(peak, lower bound, violations)`.
pub fn check(rows: &Rows, offsets: &[u64], capacity: Option<u64>) -> Answer<(u64, u64, Vec<String>)> {
    let problem = problem(rows, None)?;
    let pairs: Vec<(&str, u64)> = rows.ids.iter().map(String::as_str).zip(offsets.iter().copied()).collect();
    let report = checker::check(&problem, &pairs, capacity);
    let lb = bound::lower_bound(&problem).bytes;
    Ok((report.peak, lb, report.violations.iter().map(ToString::to_string).collect()))
}

/// `smemplan plot`.
pub fn layout_svg(
    rows: &Rows,
    offsets: &[u64],
    title: String,
    lower_bound: Option<u64>,
    capacity: Option<u64>,
) -> Answer<String> {
    let problem = problem(rows, None)?;
    let options = PlotOptions { title, lower_bound, capacity, ..PlotOptions::default() };
    Ok(plot::svg(&problem, &Layout::new(offsets.to_vec()), &options)?)
}

pub fn strategies() -> Vec<(String, String)> {
    strategies::STRATEGIES.iter().map(|s| (s.name.to_string(), s.summary.to_string())).collect()
}

pub fn default_strategy() -> String {
    strategies::DEFAULT_STRATEGY.to_string()
}

/// `smemplan plan --list-models --json`: the built-in models.
pub fn models() -> Answer<String> {
    Ok(serde_json::to_string(&model::listing()?)?)
}

pub fn default_model_name() -> String {
    model::DEFAULT_MODEL.to_string()
}

/// What `plan` lays out.
pub enum Source {
    /// The built-in default model.
    Default,
    /// A built-in model by name.
    Builtin(String),
    /// A model file: its path and text (includes resolve next to it).
    File(String, String),
    /// A CuBIE dump: its name and JSON text.
    Cubie(String, String),
}

impl Source {
    /// From `(kind, name, text)`, kind one of `default`, `builtin`,
    /// `file`, `cubie`.
    pub fn from_tuple((kind, name, text): (String, String, String)) -> Answer<Source> {
        Ok(match kind.as_str() {
            "default" => Source::Default,
            "builtin" => Source::Builtin(name),
            "file" => Source::File(name, text),
            "cubie" => Source::Cubie(name, text),
            other => return Err(Failure::Value(format!("model: unknown source kind `{other}`"))),
        })
    }
}

/// The launch a plan is for.
pub struct LaunchArgs {
    pub strategy: String,
    pub device: String,
    pub block_size: u64,
    pub runs: u64,
    pub registers: u64,
    pub time_limit: Duration,
}

#[derive(Serialize)]
struct PlanJson<'a> {
    #[serde(flatten)]
    comparison: &'a Comparison,
    #[serde(skip_serializing_if = "Option::is_none")]
    tiers: Option<&'a TierChoice>,
}

/// `smemplan plan [--tiers auto] --json --svg --cuda`: `(json, svg, cuda)`.
pub fn plan(
    source: &Source,
    sets: &[(String, String)],
    launch: &LaunchArgs,
    tiers: bool,
) -> Answer<(String, Option<String>, Option<String>)> {
    strategies::strategy(&launch.strategy)?;
    let options = CompareOptions {
        plan: PlanOptions {
            strategy: launch.strategy.clone(),
            time_limit: Some(launch.time_limit),
            ..PlanOptions::default()
        },
        device: block_fits(launch.block_size, &DeviceProfile::named(&launch.device)?)?.clone(),
        requested_block_size: launch.block_size,
        runs: launch.runs,
        registers_per_thread: launch.registers,
    };
    let planned = match source {
        Source::Cubie(name, text) => {
            if !sets.is_empty() {
                return Err(Failure::Value("set: a CuBIE dump takes no model parameters".into()));
            }
            let dump = Dump::parse(name, text)?;
            let comparison = Comparison::of_dump(&dump, Some(name.clone()), &options).map_err(|e| {
                Failure::Value(format!("{name}: comparing CuBIE's layout with the optimised plan: {e}"))
            })?;
            let choice = tiers.then(|| dump_tiers(&dump, &options)).transpose()?;
            Planned { comparison, choice }
        }
        _ => {
            let (model, file) = match source {
                Source::File(path, text) => (model::parse_file(std::path::Path::new(path), text)?, Some(path.clone())),
                Source::Builtin(name) => (model::builtin(name)?, None),
                _ => (model::default_model()?, None),
            };
            let kernel = model.instantiate(sets)?;
            let comparison = Comparison::of_kernel(&kernel, file, &options)
                .map_err(|e| Failure::Value(format!("model `{}`: {e}", model.name)))?;
            let choice = tiers.then(|| kernel_tiers(&kernel, &options)).transpose()?;
            Planned { comparison, choice }
        }
    };
    let svg = planned.svg().ok();
    let cuda = planned.cuda_header().ok();
    let json = serde_json::to_string(&PlanJson { comparison: &planned.comparison, tiers: planned.choice.as_ref() })?;
    Ok((json, svg, cuda))
}

/// One swept parameter: its name, and either `--set`'s text of its values
/// (`3,10`, `1..=200`) or the values themselves, each taken as one value.
pub type AxisArg = (String, Option<String>, Vec<String>);

/// Refuses a requested block size beyond `device`'s threads per block, as
/// `occupancy` does (CuBIE's halving rule would start from it and land on
/// a block size no one asked for).
fn block_fits(block_size: u64, device: &DeviceProfile) -> Answer<&DeviceProfile> {
    if block_size > device.max_threads_per_block {
        return Err(Failure::Value(format!(
            "block_size: {block_size} threads per block exceed device `{}`'s limit of {}",
            device.name, device.max_threads_per_block
        )));
    }
    Ok(device)
}

/// One swept parameter, as `smemplan sweep` takes them.
pub struct SweepArgs {
    pub models: Vec<String>,
    pub files: Vec<(String, String)>,
    pub sets: Vec<AxisArg>,
    pub devices: Vec<String>,
    pub strategies: Vec<String>,
    pub block_size: u64,
    pub runs: u64,
    pub registers: u64,
    pub time_limit: Duration,
    pub tiers: String,
}

/// `smemplan sweep --json --csv --svg`: `(json, csv, svg)`.
pub fn sweep(args: &SweepArgs, x: Option<&str>) -> Answer<(String, String, Option<String>)> {
    let mut models = Vec::new();
    for (path, text) in &args.files {
        models.push(model::parse_file(std::path::Path::new(path), text)?);
    }
    for name in &args.models {
        if name == "all" {
            for n in model::builtin_names() {
                models.push(model::builtin(n)?);
            }
        } else {
            models.push(model::builtin(name)?);
        }
    }
    if models.is_empty() {
        models.push(model::default_model()?);
    }
    let axes = args
        .sets
        .iter()
        .map(|(name, text, values)| match text {
            Some(text) => Axis::parse(&format!("{name}={text}")),
            None => Axis::new(name, values.clone()),
        })
        .collect::<smemplan::study::Result<Vec<_>>>()?;
    let mut spec = SweepSpec::new(models, axes)?;
    spec.devices = args.devices.iter().map(|d| DeviceProfile::named(d)).collect::<smemplan::perf::Result<_>>()?;
    for device in &spec.devices {
        block_fits(args.block_size, device)?;
    }
    spec.strategies = args.strategies.iter().map(|s| Side::parse(s)).collect::<smemplan::study::Result<_>>()?;
    spec.requested_block_size = args.block_size;
    spec.runs = args.runs;
    spec.registers_per_thread = args.registers;
    spec.time_limit = args.time_limit;
    spec.tiers = Tiers::parse(&args.tiers)?;
    spec.validate()?;
    let result = sweep::run(&spec, &|_| {})?;
    let svg = match x {
        Some(x) => Some(chart::svg(&result, x)?),
        None => chart::default_x(&result).map(|x| chart::svg(&result, x)).transpose()?,
    };
    Ok((serde_json::to_string(&result)?, result.csv(), svg))
}

/// `smemplan occupancy --json`.
pub fn occupancy(device: &str, block_size: u64, smem_per_block: u64, registers: u64) -> Answer<String> {
    let report = DeviceProfile::named(device)?.occupancy_report(block_size, smem_per_block, registers)?;
    Ok(serde_json::to_string(&report)?)
}

/// The device profiles' names.
pub fn devices() -> Answer<Vec<String>> {
    Ok(DeviceProfile::builtin()?.into_iter().map(|d| d.name).collect())
}

// ---------------------------------------------------------------- registry

fn registry_error(e: RegistryError) -> Failure {
    match e {
        RegistryError::UnknownParent { .. } | RegistryError::UnknownBuffer { .. } => Failure::Key(e.to_string()),
        other => Failure::Value(other.to_string()),
    }
}

fn precision(what: &str, text: &str) -> Answer<Precision> {
    text.parse().map_err(|e: String| Failure::Value(format!("{what}: {e}")))
}

pub fn registry_add_component(r: &mut Registry, id: &str, class: &str, p: &str) -> Answer<()> {
    r.add_component(id, class, precision("precision", p)?).map_err(registry_error)
}

#[allow(clippy::too_many_arguments)]
pub fn registry_register(
    r: &mut Registry,
    name: &str,
    parent: &str,
    size: u64,
    location: &str,
    persistent: bool,
    aliases: Option<&str>,
    p: &str,
) -> Answer<()> {
    let location: Location = location.parse().map_err(|e: String| Failure::Value(format!("location: {e}")))?;
    r.register(name, parent, size, location, persistent, aliases, precision("precision", p)?).map_err(registry_error)
}

pub fn registry_update(r: &mut Registry, parent: &str, name: &str, location: &str) -> Answer<bool> {
    r.update(parent, name, location).map_err(registry_error)
}

pub fn registry_clear_parent(r: &mut Registry, parent: &str) -> Answer<Vec<String>> {
    r.clear_parent(parent).map_err(registry_error)
}

pub fn registry_register_child(
    r: &mut Registry,
    parent: &str,
    child_name: &str,
    child: &str,
    shared_alias: Option<&str>,
) -> Answer<()> {
    r.register_child(parent, child_name, child, shared_alias).map_err(registry_error)
}

pub fn registry_sizes(r: &Registry, parent: &str) -> Answer<(u64, u64, u64)> {
    let l = r.layout(parent).map_err(registry_error)?;
    Ok((l.shared_elements, l.local_elements, l.persistent_local_elements))
}

/// `(pool, start, stop, local size, precision, unit)`.
pub type View = (String, Option<u64>, Option<u64>, Option<u64>, String, String);

fn region(region: &Region) -> (String, Option<u64>, Option<u64>, Option<u64>) {
    let pool = region.pool().to_string();
    match region {
        Region::Shared(r) | Region::PersistentLocal(r) => (pool, Some(r.start), Some(r.end), None),
        Region::Local(n) => (pool, None, None, Some(*n)),
    }
}

pub fn registry_allocator(r: &Registry, name: &str, parent: &str) -> Answer<View> {
    let v = r.get_allocator(name, parent).map_err(registry_error)?;
    let (pool, start, stop, local) = region(&v.region);
    Ok((pool, start, stop, local, v.precision.to_string(), v.unit.to_string()))
}

/// A top-level array: pool, elements, precision.
pub type ArrayRow = (String, u64, String);

pub fn registry_toplevel(r: &Registry, kernel: &str) -> Answer<(ArrayRow, ArrayRow)> {
    let (s, p) = r.get_toplevel_allocators(kernel).map_err(registry_error)?;
    Ok((
        (s.pool.to_string(), s.elements, s.precision.to_string()),
        (p.pool.to_string(), p.elements, p.precision.to_string()),
    ))
}

/// One entry of a group's layout: name, pool, start, stop (or local size),
/// alias applied.
pub type LayoutRow = (String, String, Option<u64>, Option<u64>, Option<bool>);

pub fn registry_layout(r: &Registry, parent: &str) -> Answer<Vec<LayoutRow>> {
    let group = r.group(parent).ok_or_else(|| Failure::Key(format!("unknown component `{parent}`")))?;
    let layout = r.layout(parent).map_err(registry_error)?;
    Ok(group
        .entries()
        .iter()
        .zip(&layout.placements)
        .map(|(e, p)| {
            let (pool, start, stop, local) = region(&p.region);
            let (start, stop) = match local {
                Some(n) => (None, Some(n)),
                None => (start, stop),
            };
            (e.name.clone(), pool, start, stop, p.alias_applied)
        })
        .collect())
}

pub fn registry_footprint(r: &Registry, root: &str) -> Answer<String> {
    let f = r.footprint(root).map_err(registry_error)?;
    Ok(serde_json::json!({
        "precision": f.precision.to_string(),
        "shared_elements": f.shared_elements,
        "shared_bytes": f.shared_bytes,
        "skew_bytes": f.skew_bytes,
        "padded_shared_bytes": f.padded_shared_bytes,
        "persistent_local_elements": f.persistent_local_elements,
        "persistent_local_bytes": f.persistent_local_bytes,
        "local_elements": f.local_elements,
        "local_bytes": f.local_bytes,
    })
    .to_string())
}

pub fn registry_components(r: &Registry) -> Vec<String> {
    r.groups().iter().map(|g| g.id.clone()).collect()
}
