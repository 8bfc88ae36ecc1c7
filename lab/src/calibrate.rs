//! The throughput estimate against measurements: how well a device
//! profile's parameters ([`ThroughputParams`]) reproduce timed launches, and
//! a fit of those parameters to them.
//!
//! ```text
//!  measure JSON (integrators: layouts × block sizes) ─┐
//!  block-size tables (a kernel of known accesses)  ───┴─▶ observations ─▶ evaluate / fit
//! ```
//!
//! Two kinds of evidence. A *block-size table* times a kernel whose
//! accesses are known exactly (every word of a run's shared slice read and
//! written a known number of times), so its times are compared as they are
//! (absolute). The integrators' access counts come from their kernel
//! models' weights, which count one step and not the run's many steps, so
//! their times are compared up to one factor per case (relative: the log
//! errors are centred per case). Each group (a case, a table) weighs the
//! same in the fit, whatever its size.
//!
//! The fit is a coordinate descent in log space over the seven rates of
//! [`ThroughputParams`] (the cache sizes, SM and L2, are the card's, not
//! fitted), from the profile's current values, keeping a local hit no
//! cheaper than a shared access (both go through the same data cache, local
//! adds per-thread addressing; a cheaper local access would only stand for
//! arrays the compiler kept in registers, which the planner cannot foresee),
//! a miss no cheaper than a hit and HBM no cheaper than L2. The HBM rates
//! move only where observations put local arrays past L2 (a block-size
//! table with `local_accesses` and `local_bytes`, or large all-local
//! integrator batches). It
//! minimises the mean over groups of the mean squared log error; ranking
//! quality (Spearman's ρ, the measured share of the estimate's favourite)
//! is reported beside it, not fitted.
//!
//! ```
//! use smemplan_lab::calibrate::{self, Observation};
//! use smemplan::perf::occupancy::DeviceProfile;
//! use smemplan::perf::throughput::Workload;
//!
//! let h200 = DeviceProfile::named("h200").unwrap();
//! // A table of one kernel at four block sizes (times in seconds).
//! let work = |stride: u64| Workload {
//!     shared_bytes_per_run: stride,
//!     shared_accesses: 400.0 * (stride / 4) as f64,
//!     local_accesses: 0.0,
//!     local_bytes_per_run: 0,
//!     register_bytes_per_run: 0,
//!     local_hit_per_shared: None,
//!     registers_per_thread: 0,
//!     runs: 1 << 17,
//! };
//! let observations: Vec<Observation> = [(1, 0.0820), (8, 0.0105), (32, 0.0042), (128, 0.0042)]
//!     .into_iter()
//!     .map(|(block, seconds)| Observation::absolute("n3", work(1580), block, seconds, "all shared"))
//!     .collect();
//! let fits = calibrate::evaluate(&h200, &observations).unwrap();
//! assert_eq!(fits[0].count, 4);
//! assert!(fits[0].log_rms < 0.2);
//! ```

use crate::error::{Error, Result};
use crate::gpu::measure::{self, CaseResult, LayoutName, Results};
use crate::integrate::{Kernel, Placement, Planner};
use serde::Serialize;
use smemplan::perf::accesses::Counts;
use smemplan::perf::occupancy::{DeviceProfile, ThroughputParams};
use smemplan::perf::throughput::{self, Workload};
use smemplan::plan::allocator::{Padding, SharedLayout};
use std::collections::{BTreeMap, HashMap};

/// One timed launch: what ran and how long it took.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Observation {
    /// The group it belongs to (a case, a table).
    pub group: String,
    /// Whether its time counts as it is (else up to the group's factor).
    pub absolute: bool,
    /// What each run asked of the card.
    pub workload: Workload,
    /// Threads per block.
    pub block_size: u64,
    /// Measured time of the launch, seconds.
    pub seconds: f64,
    /// What ran, for reports (a layout's name).
    pub label: String,
}

impl Observation {
    /// A launch whose time the estimate must reproduce as it is.
    pub fn absolute(group: &str, workload: Workload, block_size: u64, seconds: f64, label: &str) -> Observation {
        Observation { group: group.into(), absolute: true, workload, block_size, seconds, label: label.into() }
    }

    /// A launch whose time counts up to one factor per group.
    pub fn relative(group: &str, workload: Workload, block_size: u64, seconds: f64, label: &str) -> Observation {
        Observation { absolute: false, ..Observation::absolute(group, workload, block_size, seconds, label) }
    }
}

/// How well the estimate follows one group.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupFit {
    /// The group.
    pub group: String,
    /// Observations that can launch under the profile.
    pub count: usize,
    /// Root mean square of the log errors (centred per group when relative).
    pub log_rms: f64,
    /// Spearman's rank correlation of estimated and measured throughput.
    pub spearman: f64,
    /// The estimate's favourite: its label and block size.
    pub favourite: (String, u64),
    /// The favourite's measured throughput over the best measured.
    pub favourite_share: f64,
}

/// The observations of `measure` results: every timed integrator run, one
/// group per case, relative (the kernel models count one step's accesses),
/// with the compiled kernel's registers and local (stack) bytes.
/// Each layout is rebuilt from its name, so the results must come from a
/// smemplan whose cases and models match (an unknown case is an error).
pub fn from_measurements(results: &Results) -> Result<Vec<Observation>> {
    let mut out = Vec::new();
    for result in &results.cases {
        out.extend(from_case(result)?);
    }
    Ok(out)
}

/// The observations of one measured case (see [`from_measurements`]).
pub fn from_case(result: &CaseResult) -> Result<Vec<Observation>> {
    let case = measure::case_named(&result.name)?;
    let mut kernels: BTreeMap<String, Kernel> = BTreeMap::new();
    let mut out = Vec::new();
    for run in &result.runs {
        let label = label(&run.layout);
        if !kernels.contains_key(&label) {
            kernels.insert(label.clone(), Kernel::new(&case.setup, &placement(&run.layout)?)?);
        }
        let kernel = &kernels[&label];
        let stride = run.dynamic_shared_bytes.div_ceil(run.block_size.max(1));
        let mut workload = kernel.accesses.workload(&kernel.report, stride, run.registers, result.batch);
        // What the compiler really left in local memory: small local arrays
        // it keeps in registers (stack 0) occupy no cache. The run's own
        // figures replace the model's guess of what registers hold.
        workload.local_bytes_per_run = run.stack_bytes;
        workload.register_bytes_per_run = 0;
        out.push(Observation::relative(&result.name, workload, run.block_size, run.best_ms * 1e-3, &label));
    }
    Ok(out)
}

/// Refuses measured results that cannot be evaluated under `device`, naming
/// `source` (the file), the case, the run (1-based, with its layout and
/// block size) and the field: a time (`best_ms`, `times_ms`) or rate that
/// is not finite and positive, or whose reciprocal is infinite; a run that
/// cannot launch on the profile (block size 0 or above the device's
/// threads per block, registers or dynamic shared memory above its
/// limits); control characters in a name that reports print.
pub fn check_results(source: &str, results: &Results, device: &DeviceProfile) -> Result<()> {
    let bad = |message: String| Error::Measurements { file: source.into(), line: 0, message };
    for case in &results.cases {
        let case_name = printable(&case.name);
        if has_control(&case.name) {
            return Err(bad(format!("case `{case_name}`: the name holds control characters")));
        }
        for (k, run) in case.runs.iter().enumerate() {
            let at = |field: &str, what: String| {
                bad(format!(
                    "case `{case_name}`, run {} ({}, block {}): `{field}` {what}",
                    k + 1,
                    printable(&label(&run.layout)),
                    run.block_size
                ))
            };
            let names = [&run.layout.planner, &run.layout.placement, &run.layout.shared_layout];
            if names.into_iter().chain(&run.layout.local).any(|n| has_control(n)) {
                return Err(at("layout", "holds control characters".into()));
            }
            let times = std::iter::once(("best_ms".to_string(), run.best_ms))
                .chain(run.times_ms.iter().enumerate().map(|(i, &t)| (format!("times_ms[{i}]"), t)))
                .chain(std::iter::once(("system_steps_per_second".to_string(), run.system_steps_per_second)));
            for (field, t) in times {
                if !positive_time(t) {
                    return Err(at(&field, format!("is {t}, not a finite positive number with a finite reciprocal")));
                }
            }
            device
                .check_launch(run.block_size, run.dynamic_shared_bytes, run.registers)
                .map_err(|e| at("block_size", format!("cannot launch on the profile: {e}")))?;
        }
    }
    Ok(())
}

/// Finite, positive, and a reciprocal (a rate) that is finite too.
fn positive_time(t: f64) -> bool {
    t.is_finite() && t > 0.0 && (1.0 / t).is_finite()
}

fn has_control(name: &str) -> bool {
    name.chars().any(char::is_control)
}

/// `name` with control characters escaped (`\n`, `\u{1b}`), for messages.
pub fn printable(name: &str) -> String {
    name.chars().map(|c| if c.is_control() { c.escape_default().to_string() } else { c.to_string() }).collect()
}

/// The observations of a block-size table (CSV with a header naming at
/// least `plan`, `stride`, `registers`, `runs`, `block`, `ms` and
/// `shared_accesses`, each once, and optionally `local_accesses` and
/// `local_bytes` (per run; 0 without them); lines starting with `#` are comments; a
/// UTF-8 byte-order mark and CRLF or CR line ends are accepted): a kernel of
/// known shared accesses per run timed at several block sizes, one absolute
/// group per `plan`. `source` names the text in errors.
pub fn from_block_table(source: &str, text: &str) -> Result<Vec<Observation>> {
    read_block_table(None, source, text)
}

/// [`from_block_table`], refusing also rows that cannot launch on `device`
/// (block size, registers, or the block's shared bytes, `stride × block`,
/// over its limits), naming the line.
pub fn block_table(device: &DeviceProfile, source: &str, text: &str) -> Result<Vec<Observation>> {
    read_block_table(Some(device), source, text)
}

fn read_block_table(device: Option<&DeviceProfile>, source: &str, text: &str) -> Result<Vec<Observation>> {
    let bad = |line: usize, message: String| Error::Measurements { file: source.into(), line, message };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    // Line ends: `\r\n`, `\n` or a lone `\r` each end one line.
    let normalised = text.replace("\r\n", "\n").replace('\r', "\n");
    let mut lines = normalised.split('\n').enumerate().filter(|(_, l)| !l.starts_with('#') && !l.trim().is_empty());
    let Some((header_line, header)) = lines.next() else {
        return Err(bad(0, "no header line".into()));
    };
    let names: Vec<&str> = header.split(',').map(str::trim).collect();
    for (k, name) in names.iter().enumerate() {
        if names[..k].contains(name) {
            return Err(bad(header_line + 1, format!("the header names column `{}` twice", printable(name))));
        }
    }
    let column = |name: &str| {
        names.iter().position(|n| *n == name).ok_or_else(|| bad(header_line + 1, format!("no `{name}` column")))
    };
    let [plan, stride, registers, runs, block, ms, accesses] =
        ["plan", "stride", "registers", "runs", "block", "ms", "shared_accesses"].map(column);
    let (plan, stride, registers, runs, block, ms, accesses) =
        (plan?, stride?, registers?, runs?, block?, ms?, accesses?);
    // Optional: a kernel that also reads and writes local arrays.
    let [local_accesses, local_bytes] = ["local_accesses", "local_bytes"].map(|n| names.iter().position(|c| *c == n));
    let mut out = Vec::new();
    for (i, line) in lines {
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        if fields.len() != names.len() {
            return Err(bad(i + 1, format!("{} fields, the header has {}", fields.len(), names.len())));
        }
        let int = |c: usize| {
            fields[c]
                .parse::<u64>()
                .map_err(|_| bad(i + 1, format!("`{}` is not a count of {}", printable(fields[c]), names[c])))
        };
        let real = |c: usize| match fields[c].parse::<f64>() {
            Ok(v) if positive_time(v) && positive_time(v * 1e-3) => Ok(v),
            _ => Err(bad(
                i + 1,
                format!("`{}` is not a positive {} (finite, with a finite reciprocal)", printable(fields[c]), names[c]),
            )),
        };
        // Accesses: finite and not negative; a row needs some.
        let count = |c: usize| match fields[c].parse::<f64>() {
            Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
            _ => Err(bad(i + 1, format!("`{}` is not a count of {}", printable(fields[c]), names[c]))),
        };
        if has_control(fields[plan]) {
            return Err(bad(i + 1, format!("plan `{}` holds control characters", printable(fields[plan]))));
        }
        let workload = Workload {
            shared_bytes_per_run: int(stride)?,
            shared_accesses: count(accesses)?,
            local_accesses: local_accesses.map_or(Ok(0.0), count)?,
            local_bytes_per_run: local_bytes.map_or(Ok(0), int)?,
            register_bytes_per_run: 0,
            local_hit_per_shared: None,
            registers_per_thread: int(registers)?,
            runs: int(runs)?,
        };
        let block = int(block)?;
        if workload.shared_accesses + workload.local_accesses <= 0.0 {
            return Err(bad(i + 1, "a row needs shared or local accesses".into()));
        }
        if block == 0 || workload.runs == 0 {
            return Err(bad(i + 1, "block and runs must be at least 1".into()));
        }
        if let Some(device) = device {
            let shared = workload.shared_bytes_per_run.saturating_mul(block);
            device.check_launch(block, shared, workload.registers_per_thread).map_err(|e| {
                bad(i + 1, format!("plan `{}`: cannot launch on the profile: {e}", printable(fields[plan])))
            })?;
        }
        out.push(Observation::absolute(fields[plan], workload, block, real(ms)? * 1e-3, "all shared"));
    }
    Ok(out)
}

/// A layout's name as the tables print it.
pub fn label(name: &LayoutName) -> String {
    let split = if name.placement == "split" { format!(" ({} local)", name.local.join(", ")) } else { String::new() };
    let shared = if name.placement == "all-local" { String::new() } else { format!(", {}", name.shared_layout) };
    format!("{} {}{split}{shared}", name.planner, name.placement)
}

fn placement(name: &LayoutName) -> Result<Placement> {
    let bad = |what: &str| Error::Calibration(format!("unknown {what} in a measured layout: {name:?}"));
    let planner = match name.planner.as_str() {
        "cubie" => Planner::Cubie,
        "smemplan" => Planner::smemplan(),
        _ => return Err(bad("planner")),
    };
    let layout = match name.shared_layout.as_str() {
        "odd-stride" => SharedLayout::ThreadMajor(Padding::OddWords),
        "interleaved" => SharedLayout::Interleaved,
        _ => return Err(bad("shared layout")),
    };
    let local: Vec<&str> = name.local.iter().map(String::as_str).collect();
    Ok(Placement::split(planner, layout, &local))
}

/// Estimated seconds of each observation under `device` (`None`: it cannot
/// launch there).
fn estimates(device: &DeviceProfile, observations: &[Observation]) -> Result<Vec<Option<f64>>> {
    observations
        .iter()
        .map(|o| Ok(throughput::estimate(device, &o.workload, o.block_size)?.map(|e| e.seconds)))
        .collect()
}

/// Ranks (0-based, ties broken by order) of `values`.
fn ranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut r = vec![0.0; values.len()];
    for (k, &i) in order.iter().enumerate() {
        r[i] = k as f64;
    }
    r
}

/// Spearman's rank correlation (1 for fewer than two values).
fn spearman(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len() as f64;
    if a.len() < 2 {
        return 1.0;
    }
    let (ra, rb) = (ranks(a), ranks(b));
    let d2: f64 = ra.iter().zip(&rb).map(|(x, y)| (x - y) * (x - y)).sum();
    1.0 - 6.0 * d2 / (n * (n * n - 1.0))
}

/// Per group (in order of first appearance): how well `device`'s
/// estimate follows the observations.
pub fn evaluate(device: &DeviceProfile, observations: &[Observation]) -> Result<Vec<GroupFit>> {
    let estimated = estimates(device, observations)?;
    Ok(groups(observations)
        .into_iter()
        .map(|(group, members)| {
            let both: Vec<(&Observation, f64)> =
                members.iter().filter_map(|&i| estimated[i].map(|e| (&observations[i], e))).collect();
            group_fit(group, &both)
        })
        .collect())
}

/// The groups in order of first appearance, each with its members
/// (linear time: an index by name).
fn groups(observations: &[Observation]) -> Vec<(&str, Vec<usize>)> {
    let mut order: Vec<(&str, Vec<usize>)> = Vec::new();
    let mut index: HashMap<&str, usize> = HashMap::new();
    for (i, o) in observations.iter().enumerate() {
        match index.get(o.group.as_str()) {
            Some(&k) => order[k].1.push(i),
            None => {
                index.insert(&o.group, order.len());
                order.push((&o.group, vec![i]));
            }
        }
    }
    order
}

fn group_fit(group: &str, both: &[(&Observation, f64)]) -> GroupFit {
    let errors = log_errors(both);
    let n = errors.len().max(1) as f64;
    let measured: Vec<f64> = both.iter().map(|(o, _)| 1.0 / o.seconds).collect();
    let estimated: Vec<f64> = both.iter().map(|(_, e)| 1.0 / e).collect();
    // The favourite as the block-size search would break ties: the fuller
    // warps, then the smaller block.
    let lanes = |o: &Observation| o.block_size as f64 / o.block_size.div_ceil(32) as f64;
    let favourite = (0..both.len()).min_by(|&a, &b| {
        both[a]
            .1
            .total_cmp(&both[b].1)
            .then(lanes(both[b].0).total_cmp(&lanes(both[a].0)))
            .then(both[a].0.block_size.cmp(&both[b].0.block_size))
    });
    let best = measured.iter().copied().fold(0.0, f64::max);
    GroupFit {
        group: group.to_string(),
        count: both.len(),
        log_rms: (errors.iter().map(|e| e * e).sum::<f64>() / n).sqrt(),
        spearman: spearman(&estimated, &measured),
        favourite: favourite.map_or((String::new(), 0), |i| (both[i].0.label.clone(), both[i].0.block_size)),
        favourite_share: favourite.map_or(0.0, |i| measured[i] / best),
    }
}

/// log(estimated ÷ measured) per observation, centred when the group is
/// relative.
fn log_errors(both: &[(&Observation, f64)]) -> Vec<f64> {
    let raw: Vec<f64> = both.iter().map(|(o, e)| (e / o.seconds).ln()).collect();
    let relative = both.iter().any(|(o, _)| !o.absolute);
    let mean = if relative && !raw.is_empty() { raw.iter().sum::<f64>() / raw.len() as f64 } else { 0.0 };
    raw.into_iter().map(|e| e - mean).collect()
}

/// The fit's objective: the mean squared log error of each group, averaged
/// over the absolute groups and over the relative ones, and the two halves
/// weighed equally when both kinds are present (the absolute tables, whose
/// accesses are exact, anchor the scale however many cases there are);
/// infinite when an observation cannot launch.
pub fn objective(device: &DeviceProfile, observations: &[Observation]) -> Result<f64> {
    let estimated = estimates(device, observations)?;
    // (sum, groups) for absolute and for relative groups.
    let mut halves = [(0.0, 0usize); 2];
    for (_, members) in groups(observations) {
        let mut both = Vec::with_capacity(members.len());
        for &i in &members {
            match estimated[i] {
                Some(e) => both.push((&observations[i], e)),
                None => return Ok(f64::INFINITY),
            }
        }
        let errors = log_errors(&both);
        let half = &mut halves[usize::from(!observations[members[0]].absolute)];
        half.0 += errors.iter().map(|e| e * e).sum::<f64>() / errors.len().max(1) as f64;
        half.1 += 1;
    }
    let means: Vec<f64> = halves.iter().filter(|h| h.1 > 0).map(|h| h.0 / h.1 as f64).collect();
    Ok(means.iter().sum::<f64>() / means.len().max(1) as f64)
}

/// What [`fit`] found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fitted {
    /// The fitted parameters.
    pub params: ThroughputParams,
    /// The objective at the starting parameters.
    pub before: f64,
    /// The objective at the fitted ones.
    pub after: f64,
    /// Rounds of the descent.
    pub rounds: usize,
}

/// Fits `device`'s throughput parameters to `observations` (see the module
/// docs), starting from its current values and leaving the rates named in
/// `held` (keys of [`RATE_NAMES`]) as they are: a rate the observations
/// cannot identify, or one a physical figure fixes better (a card's HBM
/// rate when no plan measured on it was HBM-bound), is held.
pub fn fit(device: &DeviceProfile, observations: &[Observation], held: &[&str]) -> Result<Fitted> {
    if observations.is_empty() {
        return Err(Error::Calibration("nothing to fit: no observations".into()));
    }
    if let Some(unknown) = held.iter().find(|h| !RATE_NAMES.contains(h)) {
        return Err(Error::Calibration(format!(
            "cannot hold `{unknown}`: not a fitted rate (the rates: {})",
            RATE_NAMES.join(", ")
        )));
    }
    let mut current = device.clone();
    // Start inside the constraints the descent keeps.
    let p = &mut current.throughput;
    p.saturation_warps = p.saturation_warps.max(1.0);
    p.local_access_ns = p.local_access_ns.max(p.shared_access_ns);
    p.local_miss_ns = p.local_miss_ns.max(p.local_access_ns);
    p.local_miss_busy_ns = p.local_miss_busy_ns.max(p.local_access_ns / p.saturation_warps);
    p.hbm_miss_ns = p.hbm_miss_ns.max(p.local_miss_ns);
    p.hbm_miss_busy_ns = p.hbm_miss_busy_ns.max(p.local_miss_busy_ns);
    let before = objective(&current, observations)?;
    let mut best = before;
    // Multiplicative steps, refined (square-rooted) whenever no coordinate
    // improves at the current size.
    const STEPS: [f64; 6] = [0.5, 0.7, 0.9, 1.1, 1.4, 2.0];
    let mut rounds = 0;
    for refinement in 0..4 {
        let power = 0.5f64.powi(refinement);
        for _ in 0..60 {
            rounds += 1;
            let mut improved = false;
            for k in (0..RATES).filter(|&k| !held.contains(&RATE_NAMES[k])) {
                for step in STEPS {
                    let mut trial = current.clone();
                    let p = &mut trial.throughput;
                    *rate(p, k) *= step.powf(power);
                    // What a profile must satisfy, and the fit's own two
                    // rules (see the module docs).
                    let valid =
                        p.violation().is_none() && p.local_access_ns >= p.shared_access_ns && p.saturation_warps >= 1.0;
                    if !valid {
                        continue;
                    }
                    let score = objective(&trial, observations)?;
                    if score < best * (1.0 - 1e-9) {
                        best = score;
                        current = trial;
                        improved = true;
                    }
                }
            }
            if !improved {
                break;
            }
        }
    }
    Ok(Fitted { params: current.throughput, before, after: best, rounds })
}

/// The fitted parameters: every rate of [`ThroughputParams`].
const RATES: usize = 7;

/// The fitted rates' keys in `models/devices.toml`, in the fit's order.
pub const RATE_NAMES: [&str; RATES] = [
    "shared_access_ns",
    "local_access_ns",
    "saturation_warps",
    "local_miss_ns",
    "local_miss_busy_ns",
    "hbm_miss_ns",
    "hbm_miss_busy_ns",
];

fn rate(p: &mut ThroughputParams, k: usize) -> &mut f64 {
    match k {
        0 => &mut p.shared_access_ns,
        1 => &mut p.local_access_ns,
        2 => &mut p.saturation_warps,
        3 => &mut p.local_miss_ns,
        4 => &mut p.local_miss_busy_ns,
        5 => &mut p.hbm_miss_ns,
        _ => &mut p.hbm_miss_busy_ns,
    }
}

/// Parameters as a `[NAME.throughput]` table of `models/devices.toml`.
pub fn toml_table(device: &str, p: &ThroughputParams) -> String {
    format!(
        "[{device}.throughput]\nshared_access_ns = {:.3}\nlocal_access_ns = {:.3}\nsaturation_warps = {:.2}\n\
         cache_bytes_per_sm = {}\nlocal_miss_ns = {:.2}\nlocal_miss_busy_ns = {:.3}\nl2_bytes = {}\n\
         hbm_miss_ns = {:.2}\nhbm_miss_busy_ns = {:.3}\n",
        p.shared_access_ns,
        p.local_access_ns,
        p.saturation_warps,
        p.cache_bytes_per_sm,
        p.local_miss_ns,
        p.local_miss_busy_ns,
        p.l2_bytes,
        p.hbm_miss_ns,
        p.hbm_miss_busy_ns
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gpu::measure::Run;

    fn work(stride: u64, local: u64) -> Workload {
        Workload {
            shared_bytes_per_run: stride,
            shared_accesses: 1000.0,
            local_accesses: 1000.0,
            local_bytes_per_run: local,
            register_bytes_per_run: 0,
            local_hit_per_shared: None,
            registers_per_thread: 0,
            runs: 1 << 16,
        }
    }

    /// Times made by a known profile are fitted back: the objective falls
    /// to near zero from a perturbed start, and the ranking is perfect.
    #[test]
    fn a_fit_recovers_times_its_model_made() {
        let truth = DeviceProfile::named("h200").unwrap();
        let mut observations = Vec::new();
        for (g, (stride, local)) in [(4096, 0), (512, 4096), (0, 8192)].into_iter().enumerate() {
            for block in [1, 4, 12, 32, 64, 96, 128, 256] {
                let w = work(stride, local);
                if let Some(e) = throughput::estimate(&truth, &w, block).unwrap() {
                    let group = format!("g{g}");
                    observations.push(if g == 0 {
                        Observation::absolute(&group, w, block, e.seconds, "x")
                    } else {
                        Observation::relative(&group, w, block, e.seconds * 7.0, "x")
                    });
                }
            }
        }
        assert!(objective(&truth, &observations).unwrap() < 1e-20);
        let mut start = truth.clone();
        start.throughput.shared_access_ns *= 1.6;
        start.throughput.local_access_ns *= 1.6;
        start.throughput.local_miss_ns *= 0.6;
        start.throughput.saturation_warps *= 1.3;
        start.throughput.hbm_miss_busy_ns *= 1.5;
        let fitted = fit(&start, &observations, &[]).unwrap();
        assert!(fitted.before > 0.01, "{}", fitted.before);
        assert!(fitted.after < fitted.before / 20.0, "{} → {}", fitted.before, fitted.after);
        let mut after = start.clone();
        after.throughput = fitted.params;
        for g in evaluate(&after, &observations).unwrap() {
            assert!(g.spearman > 0.9 && g.favourite_share > 0.95, "{g:?}");
        }
        // Held rates stay where the start put them, the others still move;
        // a key that is not a rate is refused by name.
        let held = fit(&start, &observations, &["hbm_miss_busy_ns", "shared_access_ns"]).unwrap();
        assert_eq!(held.params.hbm_miss_busy_ns, start.throughput.hbm_miss_busy_ns);
        assert_eq!(held.params.shared_access_ns, start.throughput.shared_access_ns);
        assert_ne!(held.params.local_miss_ns, start.throughput.local_miss_ns);
        let e = fit(&start, &observations, &["l2_bytes"]).unwrap_err().to_string();
        assert!(e.contains("cannot hold `l2_bytes`") && e.contains("hbm_miss_busy_ns"), "{e}");
    }

    #[test]
    fn block_tables_are_read_with_line_numbers_in_errors() {
        let text = "# comment\nplan,stride,registers,runs,block,ms,shared_accesses\na,100,0,64,32,1.5,1000\n";
        let o = from_block_table("t.csv", text).unwrap();
        assert_eq!((o.len(), o[0].block_size, o[0].workload.shared_bytes_per_run), (1, 32, 100));
        assert!((o[0].seconds - 1.5e-3).abs() < 1e-12 && o[0].absolute);
        let e = from_block_table("t.csv", &text.replace("1.5", "-1")).unwrap_err().to_string();
        assert!(e.contains("t.csv:3") && e.contains("`-1` is not a positive ms"), "{e}");
        let e = from_block_table("t.csv", "plan,stride\n").unwrap_err().to_string();
        assert!(e.contains("no `registers` column"), "{e}");
    }

    /// Optional local columns describe a kernel with local arrays (its
    /// HBM-bound rows fit the HBM rates); a bad value names its line.
    #[test]
    fn block_tables_read_local_columns() {
        let text = "plan,stride,registers,runs,block,ms,shared_accesses,local_accesses,local_bytes\n\
                    s,5428,32,131072,21,48.3,542800,0,0\nl,0,32,131072,1024,117.5,0,542400,5424\n";
        let o = from_block_table("t.csv", text).unwrap();
        assert_eq!((o[0].workload.local_accesses, o[0].workload.local_bytes_per_run), (0.0, 0));
        assert_eq!((o[1].workload.local_accesses, o[1].workload.local_bytes_per_run), (542_400.0, 5424));
        let e = from_block_table("t.csv", &text.replace(",5424\n", ",x\n")).unwrap_err().to_string();
        assert!(e.contains("t.csv:3") && e.contains("`x` is not a count of local_bytes"), "{e}");
    }

    const HEADER: &str = "plan,stride,registers,runs,block,ms,shared_accesses\n";

    #[test]
    fn block_tables_refuse_twice_named_columns_and_read_boms_and_carriage_returns() {
        let e = from_block_table("t.csv", "plan,stride,registers,runs,block,ms,ms,shared_accesses\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("t.csv:1") && e.contains("column `ms` twice"), "{e}");
        let rows = "a,100,0,64,32,1.5,1000\nb,100,0,64,64,1.5,1000\n";
        for text in [
            format!("\u{feff}{HEADER}{rows}"),
            format!("{HEADER}{rows}").replace('\n', "\r"),
            format!("\u{feff}# c\n{HEADER}{rows}").replace('\n', "\r\n"),
        ] {
            let o = from_block_table("t.csv", &text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
            assert_eq!((o.len(), o[1].group.as_str(), o[1].block_size), (2, "b", 64), "{text:?}");
        }
        // Line numbers still count CRLF lines once.
        let e = from_block_table("t.csv", &format!("# c\n{HEADER}a,1,0,64,32,0,1\n").replace('\n', "\r\n"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("t.csv:3"), "{e}");
    }

    #[test]
    fn block_tables_refuse_tiny_times_control_characters_and_unlaunchable_rows() {
        let h200 = DeviceProfile::named("h200").unwrap();
        for (row, says) in [
            ("a,100,0,64,32,1e-320,1000", "`1e-320` is not a positive ms"),
            ("a,100,0,64,32,1e-306,1000", "`1e-306` is not a positive ms"),
            ("a,100,0,64,32,inf,1000", "`inf` is not a positive ms"),
            ("a\u{1b}[31m,100,0,64,32,1,1000", "plan `a\\u{1b}[31m` holds control characters"),
        ] {
            let e = from_block_table("t.csv", &format!("{HEADER}{row}\n")).unwrap_err().to_string();
            assert!(e.contains("t.csv:2") && e.contains(says), "{row}: {e}");
        }
        for (row, says) in [
            ("a,100,0,64,2048,1,1000", "a block has 1 to 1024 threads, not 2048"),
            ("a,100,300,64,32,1,1000", "300 registers per thread"),
            ("a,300000,0,64,1,1,1000", "opt-in limit"),
            ("a,10000,0,64,32,1,1000", "opt-in limit"),
        ] {
            let text = format!("{HEADER}{row}\n");
            assert!(from_block_table("t.csv", &text).is_ok(), "{row}");
            let e = block_table(&h200, "t.csv", &text).unwrap_err().to_string();
            assert!(e.contains("t.csv:2") && e.contains("plan `a`") && e.contains(says), "{row}: {e}");
        }
    }

    /// Grouping is linear: 200,000 groups (a search per row took minutes).
    #[test]
    fn many_groups_are_grouped_quickly() {
        let w = work(0, 0);
        let observations: Vec<Observation> =
            (0..400_000).map(|i| Observation::absolute(&format!("g{}", i / 2), w, 32, 1e-3, "x")).collect();
        let started = std::time::Instant::now();
        let g = groups(&observations);
        assert_eq!((g.len(), g[7].0, g[7].1.as_slice()), (200_000, "g7", &[14, 15][..]));
        assert!(started.elapsed().as_secs_f64() < 5.0, "{:?}", started.elapsed());
    }

    fn committed() -> Results {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/results/gpu-h200-throughput-2026-12-02.json");
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    #[test]
    fn measured_results_with_bad_times_or_unlaunchable_runs_are_refused_by_name() {
        let h200 = DeviceProfile::named("h200").unwrap();
        check_results("r.json", &committed(), &h200).unwrap();
        type Edit = fn(&mut Run);
        let edits: [(Edit, &str); 9] = [
            (|r| r.best_ms = 0.0, "`best_ms` is 0"),
            (|r| r.best_ms = -1.0, "`best_ms` is -1"),
            (|r| r.best_ms = 1e-320, "`best_ms` is 0.0000"),
            (|r| r.best_ms = f64::INFINITY, "`best_ms` is inf"),
            (|r| r.times_ms[1] = f64::NAN, "`times_ms[1]` is NaN"),
            (|r| r.block_size = 0, "not 0"),
            (|r| r.block_size = 4096, "not 4096"),
            (|r| r.registers = 300, "300 registers"),
            (|r| r.dynamic_shared_bytes = 1 << 20, "opt-in limit"),
        ];
        for (edit, says) in edits {
            let mut results = committed();
            edit(&mut results.cases[1].runs[2]);
            let e = check_results("r.json", &results, &h200).unwrap_err().to_string();
            assert!(
                e.starts_with("r.json: case `dormand-prince-54/allen-cahn-32`, run 3 (") && e.contains(says),
                "{says}: {e}"
            );
        }
        let mut results = committed();
        results.cases[0].name = "x\n# heading".into();
        let e = check_results("r.json", &results, &h200).unwrap_err().to_string();
        assert!(e.contains("case `x\\n# heading`") && e.contains("control characters") && !e.contains('\n'), "{e}");
    }

    #[test]
    fn nothing_to_fit_is_an_error() {
        let h = DeviceProfile::named("h200").unwrap();
        assert!(fit(&h, &[], &[]).unwrap_err().to_string().contains("no observations"));
    }
}
