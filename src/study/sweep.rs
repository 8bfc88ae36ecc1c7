//! Configuration sweeps: one kernel model (or several) over the Cartesian
//! product of parameter values, devices and layout strategies, answering
//! how shared-memory pressure, block size and occupancy change with system
//! size, precision, method and card, and what aliasing buys.
//!
//! ```text
//!  models × --set axes ──▶ kernel instances ──┬─ cubie: CuBIE's registry footprint
//!        (par_iter)                           └─ auto…: plan, pools solved through one Memo
//!                                                 │
//!  × devices × strategies ──▶ rows: bytes per thread, CuBIE's and the best
//!                                block size, occupancy, estimated throughput
//!                          ──▶ Pareto front (throughput vs shared bytes)
//! ```
//!
//! The throughput is [`smemplan_perf::throughput`]'s estimate (runs per second) of
//! the layout's workload: its padded shared stride and its accesses to
//! shared and local memory ([`smemplan_perf::accesses`], each side counted under
//! its own placement of the buffers), at the block size the estimate ranks
//! first among 1 to the device's maximum, and at CuBIE's halving pick.
//!
//! Rows come out in the grid's order ([`grid`]) whatever the thread count:
//! instances are built in parallel and collected in order. Each instance is
//! built once for all its devices and strategies, and every pool it solves
//! goes through a [`Memo`] shared by the whole sweep, so pools that recur
//! across instances (a parameter that leaves the shared pool alone, the f64
//! instance of an f32 kernel) are solved once; [`SweepStats`] reports how
//! often that happened.

pub mod chart;
pub mod grid;
pub mod placement;

pub use grid::Axis;
pub use placement::{TierSearch, Tiers};

use crate::error::{Error, Result};
use grid::{sweep_error, Radix};
use rayon::prelude::*;
use serde::Serialize;
use smemplan_kernel::model::{Kernel, Model};
use smemplan_perf::accesses::Counts;
use smemplan_perf::launch::LaunchCase;
use smemplan_perf::occupancy::DeviceProfile;
use smemplan_perf::throughput::Workload;
use smemplan_plan::allocator::{Allocation, SharedLayout};
use smemplan_plan::PlanReport;
use smemplan_plan::{self as plan, PlanInput, PlanOptions};
use smemplan_solve::memo::{Memo, MemoStats};
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::time::{Duration, Instant};

/// Whose layout a configuration uses.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Side {
    /// CuBIE 0.17.0's own layout (its registry, replayed).
    Cubie,
    /// smemplan's plan with this solver strategy (see
    /// [`smemplan_solve::strategies::STRATEGIES`]).
    Optimised(String),
}

impl Side {
    /// `cubie`, or a solver strategy's name; the error lists both.
    pub fn parse(name: &str) -> Result<Side> {
        if name == "cubie" {
            return Ok(Side::Cubie);
        }
        if smemplan_solve::strategies::strategy_names().contains(&name) {
            return Ok(Side::Optimised(name.to_string()));
        }
        let known = std::iter::once("cubie").chain(smemplan_solve::strategies::strategy_names()).collect::<Vec<_>>();
        Err(sweep_error(format!(
            "unknown strategy `{name}` (known: {}){}",
            known.join(", "),
            smemplan_core::error::did_you_mean(name, known.iter().copied())
        )))
    }

    /// The name as [`Side::parse`] takes it.
    pub fn name(&self) -> &str {
        match self {
            Side::Cubie => "cubie",
            Side::Optimised(s) => s,
        }
    }
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What to sweep.
#[derive(Debug, Clone)]
pub struct SweepSpec {
    /// The kernel models (the grid's outermost dimension).
    pub models: Vec<Model>,
    /// Swept parameters, outermost first; `precision` is one like any other.
    pub axes: Vec<Axis>,
    /// Device profiles.
    pub devices: Vec<DeviceProfile>,
    /// Layout strategies (the innermost dimension).
    pub strategies: Vec<Side>,
    /// The block size asked of CuBIE's halving rule.
    pub requested_block_size: u64,
    /// Runs in the batch (a block holds at most this many).
    pub runs: u64,
    /// Registers per thread for the occupancy (0: not counted).
    pub registers_per_thread: u64,
    /// Time each optimised plan may take (all its pools together).
    pub time_limit: Duration,
    /// Where buffers live: the model's own locations, or the split of
    /// highest estimated throughput per optimised strategy and device
    /// ([`placement`]).
    pub tiers: Tiers,
}

impl SweepSpec {
    /// A spec with CuBIE's and the default strategy's layouts on an H100,
    /// CuBIE's default block request (64) and a 4096-run batch.
    pub fn new(models: Vec<Model>, axes: Vec<Axis>) -> Result<SweepSpec> {
        Ok(SweepSpec {
            models,
            axes,
            devices: vec![DeviceProfile::named("h100")?],
            strategies: vec![Side::Cubie, Side::Optimised(smemplan_solve::strategies::DEFAULT_STRATEGY.to_string())],
            requested_block_size: 64,
            runs: 4096,
            registers_per_thread: 0,
            time_limit: Duration::from_secs(1),
            tiers: Tiers::Fixed,
        })
    }

    /// The grid's digits: model, axes, device, strategy.
    fn radix(&self) -> Result<Radix> {
        let mut radices = vec![self.models.len()];
        radices.extend(self.axes.iter().map(|a| a.values.len()));
        radices.extend([self.devices.len(), self.strategies.len()]);
        Radix::new(radices)
    }

    /// Checks what can be checked before anything runs, naming the culprit:
    /// empty dimensions, an axis twice, a parameter a model lacks, an
    /// algorithm or precision a model does not know, a zero block or batch.
    pub fn validate(&self) -> Result<()> {
        self.radix()?;
        if let Some(a) = repeated(&self.axes, |a| &a.name) {
            return Err(sweep_error(format!("parameter `{}` is swept twice", a.name)));
        }
        if let Some(d) = repeated(&self.devices, |d| &d.name) {
            return Err(sweep_error(format!("device `{}` is listed twice", d.name)));
        }
        if let Some(s) = repeated(&self.strategies, |s| s) {
            return Err(sweep_error(format!("strategy `{s}` is listed twice")));
        }
        if self.requested_block_size == 0 || self.runs == 0 {
            return Err(sweep_error("the requested block size and the batch need at least 1".into()));
        }
        // Two models of one name give rows no one can tell apart.
        if let Some(m) = repeated(&self.models, |m| &m.name) {
            return Err(sweep_error(format!("model `{}` is swept twice", m.name)));
        }
        for d in &self.devices {
            d.check_registers(self.registers_per_thread)?;
            d.check_block_size(self.requested_block_size)?;
        }
        for m in &self.models {
            for a in &self.axes {
                if !m.settable(&a.name) {
                    return Err(sweep_error(format!(
                        "model `{}` has no parameter `{}` {}",
                        m.name,
                        a.name,
                        m.known_names(&a.name)
                    )));
                }
                let allowed: Vec<&str> = match a.name.as_str() {
                    "algorithm" if !m.algorithms().is_empty() => m.algorithms(),
                    "precision" => vec!["f32", "f64"],
                    _ => continue,
                };
                if let Some(v) = a.values.iter().find(|v| !allowed.contains(&v.as_str())) {
                    return Err(sweep_error(format!(
                        "model `{}`: unknown {} `{v}` (known: {})",
                        m.name,
                        a.name,
                        allowed.join(", ")
                    )));
                }
            }
        }
        // After the models' own checks: a name no model has is refused as
        // unknown (`--set device=…` meant `--device`), not as a clash.
        if let Some(message) = column_clash(self.axes.iter().map(|a| a.name.as_str()), COLUMNS) {
            return Err(sweep_error(message));
        }
        Ok(())
    }
}

/// The first of `items` whose key an earlier one has.
fn repeated<'a, T, K: PartialEq + ?Sized + 'a>(items: &'a [T], key: impl Fn(&'a T) -> &'a K) -> Option<&'a T> {
    items.iter().enumerate().find(|&(i, x)| items[..i].iter().any(|y| key(y) == key(x))).map(|(_, x)| x)
}

/// One configuration's outcome.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    /// Position in the grid (0-based).
    pub index: usize,
    /// The model's name.
    pub model: String,
    /// The swept parameters' values (only those swept).
    pub params: BTreeMap<String, String>,
    /// The device profile.
    pub device: String,
    /// `cubie` or a solver strategy.
    pub strategy: String,
    /// Shared bytes per thread (one run per thread), before padding.
    pub shared_bytes: u64,
    /// The per-thread shared stride the launch uses: CuBIE's bytes plus its
    /// skew, or the optimised bytes padded to an odd number of words.
    pub padded_shared_bytes: u64,
    /// Local bytes per thread (local plus persistent local).
    pub local_bytes: u64,
    /// Whether the optimised pools are proven minimal (always for `cubie`,
    /// whose layout is what it is).
    pub proven_optimal: bool,
    /// Shared-memory accesses per run under this layout's placement.
    pub shared_accesses: f64,
    /// Local-memory accesses per run under this layout's placement.
    pub local_accesses: f64,
    /// Whether some block size can launch (one thread's shared memory fits
    /// a block).
    pub fits: bool,
    /// CuBIE's halving pick from the requested block size (`None`: does not
    /// fit).
    pub cubie_block_size: Option<u64>,
    /// Estimated runs per second at CuBIE's pick (`None`: no pick, or the
    /// device cannot launch it: the rule halves for shared memory alone).
    pub cubie_runs_per_second: Option<f64>,
    /// The block size of highest estimated throughput (`None`: does not
    /// fit).
    pub best_block_size: Option<u64>,
    /// Resident blocks per multiprocessor at the best block size.
    pub blocks_per_sm: u64,
    /// Resident threads per multiprocessor at the best block size.
    pub resident_threads: u64,
    /// Resident warps over the multiprocessor's maximum, at the best block
    /// size (partly empty warps count whole, as the hardware counts them).
    pub occupancy: f64,
    /// Estimated runs per second at the best block size (0 when it does
    /// not fit).
    pub estimated_runs_per_second: f64,
    /// Whether no other fitting configuration has at least this estimated
    /// throughput with at most these shared bytes per thread, one of them
    /// strictly.
    pub pareto: bool,
    /// How this row's buffers were placed: `fixed` (the model's or CuBIE's
    /// own locations) or `auto` (the split of highest estimated throughput
    /// on this device, [`placement`]).
    pub tiers: Tiers,
    /// `auto` rows: the buffer groups ([`smemplan_perf::tiers::Group`]) in local
    /// memory, in declaration order (when the model's own locations win, a
    /// group they place partly in local memory counts as local).
    pub local_groups: Option<Vec<String>>,
    /// `auto` rows: the estimated runs per second of the model's own
    /// locations, which the same configuration reports under `fixed`.
    pub fixed_runs_per_second: Option<f64>,
    /// What the row gains over CuBIE's own layout of the same model,
    /// parameters and device, whether or not `cubie` is among the swept
    /// strategies.
    #[serde(flatten)]
    pub versus_cubie: VersusCubie,
}

/// A row beside CuBIE's own layout of the same configuration: what
/// aliasing buys, as data, so that no analysis has to pair rows.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct VersusCubie {
    /// Shared bytes per thread of CuBIE's layout (its `shared_bytes` row).
    pub cubie_layout_shared_bytes: u64,
    /// `cubie_layout_shared_bytes − shared_bytes`: 0 on `cubie` rows,
    /// negative where a `--tiers auto` split holds more shared bytes.
    pub shared_bytes_saved: i64,
    /// `shared_bytes_saved` in percent of `cubie_layout_shared_bytes` (0
    /// when CuBIE's layout has no shared bytes).
    pub shared_percent_saved: f64,
    /// The block size CuBIE launches its own layout with (its halving
    /// pick; `None`: it does not fit).
    pub cubie_layout_block_size: Option<u64>,
    /// Occupancy of CuBIE's layout at that block size (`None`: no block
    /// size, or the device cannot launch it).
    pub cubie_layout_occupancy: Option<f64>,
    /// Estimated runs per second of CuBIE's layout at that block size
    /// (`None` as for the occupancy).
    pub cubie_layout_runs_per_second: Option<f64>,
    /// `estimated_runs_per_second ÷ cubie_layout_runs_per_second`: this
    /// row at its best block size over CuBIE as CuBIE launches. On a
    /// `cubie` row, what choosing the block size alone buys (at least 1).
    /// `None` when either side does not fit.
    pub speedup_vs_cubie: Option<f64>,
}

impl VersusCubie {
    /// A layout of `shared_bytes` estimated at `runs_per_second` (`None`:
    /// it does not fit) beside `cubie`, CuBIE's launch of its own layout on
    /// the same device.
    fn of(shared_bytes: u64, runs_per_second: Option<f64>, cubie: &CubieLaunch) -> VersusCubie {
        let saved = i128::from(cubie.shared_bytes) - i128::from(shared_bytes);
        let saved = saved.clamp(i64::MIN.into(), i64::MAX.into()) as i64;
        VersusCubie {
            cubie_layout_shared_bytes: cubie.shared_bytes,
            shared_bytes_saved: saved,
            shared_percent_saved: if cubie.shared_bytes == 0 {
                0.0
            } else {
                100.0 * saved as f64 / cubie.shared_bytes as f64
            },
            cubie_layout_block_size: cubie.block_size,
            cubie_layout_occupancy: cubie.occupancy,
            cubie_layout_runs_per_second: cubie.runs_per_second,
            speedup_vs_cubie: runs_per_second.zip(cubie.runs_per_second.filter(|&c| c > 0.0)).map(|(r, c)| r / c),
        }
    }
}

/// CuBIE's launch of its own layout on one device: the reference every
/// row of that configuration and device is compared with.
struct CubieLaunch {
    shared_bytes: u64,
    block_size: Option<u64>,
    occupancy: Option<f64>,
    runs_per_second: Option<f64>,
}

/// How the sweep went.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SweepStats {
    /// Configurations evaluated.
    pub configurations: u64,
    /// Kernel instances built (model × swept parameters).
    pub instances: u64,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// `configurations / seconds`.
    pub configurations_per_second: f64,
    /// Worker threads used.
    pub threads: usize,
    /// How the configurations' pools were obtained.
    pub pool_cache: PoolCache,
    /// [`PoolCache::hit_rate`].
    pub pool_cache_hit_rate: f64,
    /// The `auto` placements' searches (zero under `fixed`).
    pub tier_search: TierSearch,
}

/// The solved-pool cache over all optimised strategies, at two levels: a
/// kernel instance's pools serve every device it is swept on, and the
/// [`Memo`] serves pools that recur across instances.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PoolCache {
    /// Solved pools the configurations use (each optimised configuration
    /// uses its kernel's non-empty pools).
    pub requests: u64,
    /// Of those, the ones asked of the memo (once per instance and pool).
    pub lookups: u64,
    /// Distinct pool problems among them (up to names and scale).
    pub distinct: u64,
    /// Solver calls made (at least `distinct`; more when threads raced on
    /// one problem).
    pub solves: u64,
}

impl PoolCache {
    /// The share of pools used that did not need a problem of their own:
    /// `(requests − distinct) / requests`, 0 with no requests.
    pub fn hit_rate(&self) -> f64 {
        if self.requests == 0 {
            0.0
        } else {
            self.requests.saturating_sub(self.distinct) as f64 / self.requests as f64
        }
    }
}

/// A sweep's rows in grid order, its Pareto front and its statistics.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sweep {
    /// The swept parameters, outermost first.
    pub axes: Vec<String>,
    /// How buffers were placed ([`SweepSpec::tiers`]).
    pub tiers: Tiers,
    /// One row per configuration, in grid order.
    pub rows: Vec<Row>,
    /// Indices of the rows on the Pareto front, by shared bytes ascending.
    pub pareto_front: Vec<usize>,
    /// Effort and cache figures.
    pub stats: SweepStats,
}

/// One strategy's layout of one kernel instance.
#[derive(Clone)]
struct StrategyFigures {
    shared_bytes: u64,
    local_bytes: u64,
    proven_optimal: bool,
    /// What the estimate charges one run (`Counts::workload`): the padded
    /// stride, the accesses by memory, the bytes registers may hold and
    /// the kernel's local hit cost; a launch sets its batch and registers.
    workload: Workload,
}

impl StrategyFigures {
    /// `report`'s figures at the padded stride `padded`, counted with
    /// `instance`'s access weights as the estimate counts them.
    fn of(instance: &Kernel, report: &PlanReport, padded: u64) -> Result<StrategyFigures> {
        Ok(StrategyFigures {
            shared_bytes: report.shared_bytes,
            local_bytes: smemplan_core::error::add(report.local_bytes, report.persistent_local_bytes, || {
                "local bytes per thread".into()
            })?,
            proven_optimal: report.optimal,
            workload: instance.accesses.workload(report, padded, 0, 1),
        })
    }
}

/// Runs the sweep on rayon's pool. `progress` is called with the number of
/// configurations just finished, from any thread.
pub fn run(spec: &SweepSpec, progress: &(dyn Fn(u64) + Sync)) -> Result<Sweep> {
    let started = Instant::now();
    spec.validate()?;
    let memos: HashMap<&str, Memo> = spec
        .strategies
        .iter()
        .filter_map(|s| match s {
            Side::Cubie => None,
            Side::Optimised(name) => {
                Some(smemplan_solve::strategies::strategy(name).map(|solver| (name.as_str(), Memo::new(solver))))
            }
        })
        .collect::<smemplan_solve::Result<_>>()?;
    let mut instance_radices = vec![spec.models.len()];
    instance_radices.extend(spec.axes.iter().map(|a| a.values.len()));
    let instances = Radix::new(instance_radices)?;
    let per_instance = spec.devices.len() * spec.strategies.len();

    let rows: Vec<(Vec<Row>, TierSearch)> = (0..instances.len())
        .into_par_iter()
        .map(|k| {
            let rows = instance_rows(spec, &memos, &instances.digits(k), k * per_instance);
            progress(per_instance as u64);
            rows
        })
        .collect::<Result<_>>()?;
    let tier_search = rows.iter().fold(TierSearch::default(), |a, (_, s)| a + *s);
    let mut rows: Vec<Row> = rows.into_iter().flat_map(|(r, _)| r).collect();
    let pareto_front = mark_pareto(&mut rows);

    let seconds = started.elapsed().as_secs_f64();
    let memo = memos.values().map(Memo::stats).fold(MemoStats::default(), |a, s| MemoStats {
        lookups: a.lookups + s.lookups,
        distinct: a.distinct + s.distinct,
        solves: a.solves + s.solves,
    });
    let pool_cache = PoolCache {
        requests: memo.lookups.saturating_mul(spec.devices.len() as u64),
        lookups: memo.lookups,
        distinct: memo.distinct,
        solves: memo.solves,
    };
    let configurations = rows.len() as u64;
    Ok(Sweep {
        axes: spec.axes.iter().map(|a| a.name.clone()).collect(),
        tiers: spec.tiers,
        rows,
        pareto_front,
        stats: SweepStats {
            configurations,
            instances: instances.len() as u64,
            seconds,
            configurations_per_second: configurations as f64 / seconds.max(f64::MIN_POSITIVE),
            threads: rayon::current_num_threads(),
            pool_cache,
            pool_cache_hit_rate: pool_cache.hit_rate(),
            tier_search,
        },
    })
}

/// `model=NAME p=v ...` for error messages.
fn describe(model: &Model, sets: &[(String, String)]) -> String {
    let mut s = format!("model={}", model.name);
    for (k, v) in sets {
        s.push_str(&format!(" {k}={v}"));
    }
    s
}

/// The rows of one kernel instance, every device × strategy, and what its
/// `auto` placements' searches took.
fn instance_rows(
    spec: &SweepSpec,
    memos: &HashMap<&str, Memo>,
    digits: &[usize],
    first: usize,
) -> Result<(Vec<Row>, TierSearch)> {
    let model = &spec.models[digits[0]];
    let sets: Vec<(String, String)> =
        spec.axes.iter().zip(&digits[1..]).map(|(a, &d)| (a.name.clone(), a.values[d].clone())).collect();
    let failed = |e: &dyn std::error::Error| Error::Sweep {
        configuration: Some(describe(model, &sets)),
        message: e.to_string(),
    };
    let instance = model.instantiate(&sets).map_err(|e| failed(&e))?;
    let layouts = layouts(spec, memos, &instance).map_err(|e| failed(&e))?;
    // Every row is compared with CuBIE's layout, swept or not.
    let cubie = match spec.strategies.iter().position(|s| *s == Side::Cubie) {
        Some(k) => layouts[k].clone(),
        None => cubie_figures(&instance).map_err(|e| failed(&e))?,
    };
    let params: BTreeMap<String, String> = sets.iter().cloned().collect();
    let mut rows = Vec::with_capacity(spec.devices.len() * layouts.len());
    let mut choices = placement::Choices::default();
    for device in &spec.devices {
        let reference = cubie_launch(spec, &cubie, device).map_err(|e| failed(&e))?;
        for (side, layout) in spec.strategies.iter().zip(&layouts) {
            let at = Place { index: first + rows.len(), model: &model.name, params: &params, device, side };
            let r = match (spec.tiers, side) {
                (Tiers::Auto, Side::Optimised(name)) => {
                    let candidates =
                        choices.candidates(spec, &instance, device, name, layout).map_err(|e| failed(&e))?;
                    auto_row(spec, candidates, &at, &reference).map_err(|e| failed(&e))?
                }
                _ => row(spec, layout, &at, &reference).map_err(|e| failed(&e))?,
            };
            rows.push(r);
        }
    }
    Ok((rows, choices.search))
}

/// The row an `auto` configuration reports: the fastest of its candidates
/// on its device, preferring on ties the search's split, then the model's
/// own locations, all shared, all local.
fn auto_row(spec: &SweepSpec, c: placement::Candidates, at: &Place, cubie: &CubieLaunch) -> Result<Row> {
    let own = row(spec, &c.own.layout, at, cubie)?;
    let fixed_speed = own.estimated_runs_per_second;
    let mut best = (row(spec, &c.chosen.layout, at, cubie)?, c.chosen.local_groups);
    // Strictly faster only: on ties the earlier candidate stays.
    let mut consider = |r: Row, groups: Vec<String>| {
        if r.estimated_runs_per_second > best.0.estimated_runs_per_second {
            best = (r, groups);
        }
    };
    consider(own, c.own.local_groups);
    for other in [c.all_shared, c.all_local] {
        consider(row(spec, &other.layout, at, cubie)?, other.local_groups);
    }
    let (mut r, local_groups) = best;
    r.tiers = Tiers::Auto;
    r.local_groups = Some(local_groups);
    r.fixed_runs_per_second = Some(fixed_speed);
    Ok(r)
}

/// CuBIE's own layout of `instance`.
fn cubie_figures(instance: &Kernel) -> Result<StrategyFigures> {
    let cubie = plan::cubie_kernel(instance)?;
    // Counted as the optimised side is: the same lifetimes, only the pools
    // differ. CuBIE's layout is its own: nothing to prove.
    Ok(StrategyFigures {
        proven_optimal: true,
        ..StrategyFigures::of(instance, &cubie.report, cubie.footprint.padded_shared_bytes)?
    })
}

/// Each strategy's layout of `instance`.
fn layouts(spec: &SweepSpec, memos: &HashMap<&str, Memo>, instance: &Kernel) -> Result<Vec<StrategyFigures>> {
    spec.strategies
        .iter()
        .map(|side| match side {
            Side::Cubie => cubie_figures(instance),
            Side::Optimised(name) => {
                // The sweep is parallel over instances already; a solver
                // racing its own threads would only contend with it.
                let options = PlanOptions {
                    strategy: name.clone(),
                    time_limit: Some(spec.time_limit),
                    threads: 1,
                    ..PlanOptions::default()
                };
                let report =
                    plan::plan_with(&PlanInput::try_from(instance)?, &instance.table, &options, &memos[name.as_str()])?;
                StrategyFigures::of(instance, &report, Allocation::new(&report, SharedLayout::default())?.stride)
            }
        })
        .collect()
}

/// Which configuration a row is.
struct Place<'a> {
    index: usize,
    model: &'a str,
    params: &'a BTreeMap<String, String>,
    device: &'a DeviceProfile,
    side: &'a Side,
}

/// `layout`'s launch on `device` with the spec's batch and block request.
fn launch_case<'a>(spec: &SweepSpec, layout: &StrategyFigures, device: &'a DeviceProfile) -> LaunchCase<'a> {
    let workload = Workload { registers_per_thread: spec.registers_per_thread, runs: spec.runs, ..layout.workload };
    LaunchCase::new(device, workload, spec.requested_block_size)
}

/// CuBIE's launch of its own layout (`cubie`) on `device`.
fn cubie_launch(spec: &SweepSpec, cubie: &StrategyFigures, device: &DeviceProfile) -> Result<CubieLaunch> {
    let case = launch_case(spec, cubie, device);
    let pick = case.cubie().ok();
    let estimate = match &pick {
        Some(c) => case.at(c.block_size)?,
        None => None,
    };
    Ok(CubieLaunch {
        shared_bytes: cubie.shared_bytes,
        block_size: pick.map(|c| c.block_size),
        occupancy: estimate.map(|e| e.occupancy.occupancy),
        runs_per_second: estimate.map(|e| e.runs_per_second),
    })
}

/// One configuration's row with its buffers where `layout` has them: the
/// launch numbers of `layout` on the place's device, beside `cubie`.
fn row(spec: &SweepSpec, layout: &StrategyFigures, at: &Place, cubie: &CubieLaunch) -> Result<Row> {
    let device = at.device;
    let case = launch_case(spec, layout, device);
    let pick = case.cubie().ok();
    let pick_estimate = match &pick {
        Some(c) => case.at(c.block_size)?,
        None => None,
    };
    let best = case.best()?;
    let o = best.map(|e| e.occupancy);
    let speed = best.map(|e| e.runs_per_second);
    Ok(Row {
        index: at.index,
        model: at.model.to_string(),
        params: at.params.clone(),
        device: device.name.clone(),
        strategy: at.side.name().to_string(),
        shared_bytes: layout.shared_bytes,
        padded_shared_bytes: layout.workload.shared_bytes_per_run,
        local_bytes: layout.local_bytes,
        proven_optimal: layout.proven_optimal,
        shared_accesses: layout.workload.shared_accesses,
        local_accesses: layout.workload.local_accesses,
        fits: best.is_some(),
        cubie_block_size: pick.map(|c| c.block_size),
        cubie_runs_per_second: pick_estimate.map(|e| e.runs_per_second),
        best_block_size: o.map(|o| o.block_size),
        blocks_per_sm: o.map_or(0, |o| o.active_blocks_per_sm),
        resident_threads: o.map_or(0, |o| o.active_threads_per_sm),
        occupancy: o.map_or(0.0, |o| o.occupancy),
        estimated_runs_per_second: speed.unwrap_or(0.0),
        pareto: false,
        tiers: Tiers::Fixed,
        local_groups: None,
        fixed_runs_per_second: None,
        versus_cubie: VersusCubie::of(layout.shared_bytes, speed, cubie),
    })
}

/// Marks the rows no other fitting row dominates (at most as many shared
/// bytes per thread and at least the estimated throughput, one strictly)
/// and returns their indices by shared bytes ascending. Rows that tie on
/// both are all on the front.
fn mark_pareto(rows: &mut [Row]) -> Vec<usize> {
    let speed = |r: &Row| r.estimated_runs_per_second;
    let mut order: Vec<usize> = (0..rows.len()).filter(|&i| rows[i].fits).collect();
    order.sort_by(|&a, &b| {
        (rows[a].shared_bytes.cmp(&rows[b].shared_bytes))
            .then(speed(&rows[b]).total_cmp(&speed(&rows[a])))
            .then(a.cmp(&b))
    });
    let mut front = Vec::new();
    let mut best_below: Option<f64> = None;
    let mut k = 0;
    while k < order.len() {
        let bytes = rows[order[k]].shared_bytes;
        let top = speed(&rows[order[k]]);
        let group_end = order[k..].iter().position(|&i| rows[i].shared_bytes != bytes).map_or(order.len(), |p| k + p);
        if best_below.is_none_or(|b| top > b) {
            front.extend(order[k..group_end].iter().copied().filter(|&i| speed(&rows[i]) == top));
            best_below = Some(top);
        }
        k = group_end;
    }
    for &i in &front {
        rows[i].pareto = true;
    }
    front
}

/// The CSV's columns after the swept parameters' (`index` and `model`
/// come before them).
const COLUMNS: &[&str] = &[
    "device",
    "strategy",
    "shared_bytes",
    "padded_shared_bytes",
    "local_bytes",
    "proven_optimal",
    "shared_accesses",
    "local_accesses",
    "fits",
    "cubie_block_size",
    "cubie_runs_per_second",
    "best_block_size",
    "blocks_per_sm",
    "resident_threads",
    "occupancy",
    "estimated_runs_per_second",
    "pareto",
    "tiers",
    "local_groups",
    "fixed_runs_per_second",
    "cubie_layout_shared_bytes",
    "shared_bytes_saved",
    "shared_percent_saved",
    "cubie_layout_block_size",
    "cubie_layout_occupancy",
    "cubie_layout_runs_per_second",
    "speedup_vs_cubie",
];

impl Sweep {
    /// The rows as CSV: one column per swept parameter, then the figures
    /// (`local_groups` separated by `;`, empty unless `auto`).
    pub fn csv(&self) -> String {
        let params: Vec<&str> = self.axes.iter().map(String::as_str).collect();
        let mut out = String::new();
        let mut header = vec!["index", "model"];
        header.extend(&params);
        header.extend(COLUMNS);
        out.push_str(&header.iter().map(|h| csv_field(h)).collect::<Vec<_>>().join(","));
        out.push('\n');
        let opt = |v: Option<u64>| v.map_or(String::new(), |x| x.to_string());
        for r in &self.rows {
            let v = &r.versus_cubie;
            let mut cells = vec![r.index.to_string(), r.model.clone()];
            cells.extend(params.iter().map(|p| r.params.get(*p).cloned().unwrap_or_default()));
            cells.extend([
                r.device.clone(),
                r.strategy.clone(),
                r.shared_bytes.to_string(),
                r.padded_shared_bytes.to_string(),
                r.local_bytes.to_string(),
                r.proven_optimal.to_string(),
                r.shared_accesses.to_string(),
                r.local_accesses.to_string(),
                r.fits.to_string(),
                opt(r.cubie_block_size),
                r.cubie_runs_per_second.map_or(String::new(), |v| format!("{v:.6e}")),
                opt(r.best_block_size),
                r.blocks_per_sm.to_string(),
                r.resident_threads.to_string(),
                format!("{:.4}", r.occupancy),
                format!("{:.6e}", r.estimated_runs_per_second),
                r.pareto.to_string(),
                r.tiers.to_string(),
                r.local_groups.as_ref().map_or(String::new(), |g| g.join(";")),
                r.fixed_runs_per_second.map_or(String::new(), |v| format!("{v:.6e}")),
                v.cubie_layout_shared_bytes.to_string(),
                v.shared_bytes_saved.to_string(),
                format!("{:.4}", v.shared_percent_saved),
                opt(v.cubie_layout_block_size),
                v.cubie_layout_occupancy.map_or(String::new(), |o| format!("{o:.4}")),
                v.cubie_layout_runs_per_second.map_or(String::new(), |x| format!("{x:.6e}")),
                v.speedup_vs_cubie.map_or(String::new(), |x| format!("{x:.6}")),
            ]);
            out.push_str(&cells.iter().map(|c| csv_field(c)).collect::<Vec<_>>().join(","));
            out.push('\n');
        }
        out
    }
}

/// The first of `axes` named as one of a CSV's own `columns` (or `index`
/// and `model`, which every grid's CSV starts with): its cells would sit
/// under a second column of that name, which CSV readers drop or rename.
pub(crate) fn column_clash<'a>(axes: impl IntoIterator<Item = &'a str>, columns: &[&str]) -> Option<String> {
    let clash = axes.into_iter().find(|a| ["index", "model"].contains(a) || columns.contains(a))?;
    Some(format!(
        "parameter `{clash}` has the name of one of the CSV's own columns, which could not be told apart; \
         rename it in the model"
    ))
}

/// A CSV field, quoted when it holds a comma, a quote or a line break.
pub(crate) fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use smemplan_kernel::model;

    fn spec(axes: &[&str]) -> SweepSpec {
        let axes = axes.iter().map(|a| Axis::parse(a).unwrap()).collect();
        SweepSpec::new(vec![model::builtin("dirk").unwrap()], axes).unwrap()
    }

    /// A toy model whose parameters are named as CSV columns.
    pub(crate) fn clashing() -> smemplan_kernel::model::Model {
        let text = "name = \"toy\"\n[params]\nn = 10\nprecision = \"f32\"\ndevice = 1\nindex = 1\nmodel = 1\n\
                    speedup_vs_cubie = 1\nbest_occupancy = 1\n[classes.Toy]\nphases = [\"a\", \"b\"]\n\
                    [classes.Toy.buffers]\nx = \"a\"\ny = \"b\"\n[[component]]\npath = \"kernel\"\nclass = \"Toy\"\n\
                    [[buffer]]\ncomponent = \"kernel\"\nname = \"x\"\nsize = \"n\"\nlocation = \"shared\"\n\
                    [[buffer]]\ncomponent = \"kernel\"\nname = \"y\"\nsize = \"n\"\nlocation = \"shared\"\n";
        smemplan_kernel::model::Model::parse("toy.toml", text, &|_| Ok(None)).unwrap()
    }

    /// A parameter named as a column put two columns of that name in the
    /// CSV, and readers kept only one. A name the model lacks is unknown
    /// first (`--set device=…` meant `--device`).
    #[test]
    fn a_parameter_named_as_a_column_is_refused() {
        for name in ["device", "index", "model", "speedup_vs_cubie"] {
            let axes = vec![Axis::parse(&format!("{name}=1,2")).unwrap()];
            let e = SweepSpec::new(vec![clashing()], axes).unwrap().validate().unwrap_err().to_string();
            assert!(e.contains(&format!("parameter `{name}` has the name of one of the CSV's own columns")), "{e}");
            let e = spec(&[&format!("{name}=1,2")]).validate().unwrap_err().to_string();
            assert!(e.contains(&format!("model `dirk` has no parameter `{name}`")), "{e}");
        }
        assert!(spec(&["n=3,4"]).validate().is_ok());
    }

    #[test]
    fn rows_follow_the_grid_order_whatever_the_threads() {
        for tiers in [Tiers::Fixed, Tiers::Auto] {
            let mut s = spec(&["n=3,30", "precision=f32,f64"]);
            s.devices.push(DeviceProfile::named("a100").unwrap());
            // Several waves: the batch where the tier search prunes.
            s.runs = 1 << 17;
            s.tiers = tiers;
            // The tier search stops at the plans' time limit, and where a
            // loaded machine reaches it depends on the clock: a limit no run
            // reaches leaves only the threads to differ.
            s.time_limit = Duration::from_secs(3600);
            rows_in_grid_order(&s);
        }
    }

    fn rows_in_grid_order(s: &SweepSpec) {
        let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
        let many = rayon::ThreadPoolBuilder::new().num_threads(4).build().unwrap();
        let a = one.install(|| run(s, &|_| {})).unwrap();
        let b = many.install(|| run(s, &|_| {})).unwrap();
        assert_eq!(a.rows, b.rows);
        assert_eq!(a.stats.tier_search, b.stats.tier_search);
        assert_eq!(a.rows.len(), 2 * 2 * 2 * 2);
        let key =
            |r: &Row| (r.params["n"].clone(), r.params["precision"].clone(), r.device.clone(), r.strategy.clone());
        assert_eq!(key(&a.rows[0]), ("3".into(), "f32".into(), "h100".into(), "cubie".into()));
        assert_eq!(key(&a.rows[1]), ("3".into(), "f32".into(), "h100".into(), "auto".into()));
        assert_eq!(key(&a.rows[2]), ("3".into(), "f32".into(), "a100".into(), "cubie".into()));
        assert_eq!(key(&a.rows[15]), ("30".into(), "f64".into(), "a100".into(), "auto".into()));
        assert!(a.rows.iter().enumerate().all(|(i, r)| r.index == i));
        let auto = s.tiers == Tiers::Auto;
        for r in &a.rows {
            let chose = auto && r.strategy == "auto";
            assert_eq!(r.tiers, if chose { Tiers::Auto } else { Tiers::Fixed }, "{r:?}");
            assert_eq!((r.local_groups.is_some(), r.fixed_runs_per_second.is_some()), (chose, chose), "{r:?}");
        }
        assert_eq!(a.stats.tier_search.choices, if auto { 8 } else { 0 });
    }

    #[test]
    fn the_cache_solves_each_pool_once() {
        // The same model twice (under a second name: a sweep refuses two
        // models of one name): the second copy's pools come from the memo,
        // and both copies' pools serve both devices.
        let mut s = spec(&["n=3,30"]);
        let mut twin = s.models[0].clone();
        twin.name = "dirk-twin".into();
        s.models.push(twin);
        s.devices.push(DeviceProfile::named("a100").unwrap());
        let sweep = run(&s, &|_| {}).unwrap();
        let c = sweep.stats.pool_cache;
        assert_eq!(sweep.stats.instances, 4);
        assert_eq!((c.requests, c.lookups), (2 * c.lookups, 2 * c.distinct), "{c:?}");
        assert_eq!(sweep.stats.pool_cache_hit_rate, 0.75);
    }

    /// A card with `h100`'s figures under another name takes `h100`'s
    /// choices without a search, and its rows are `h100`'s but for the name.
    #[test]
    fn devices_with_the_same_figures_share_their_choices() {
        let mut s = spec(&["n=3,30"]);
        let twin = DeviceProfile { name: "h100-twin".into(), description: "a copy".into(), ..s.devices[0].clone() };
        s.devices.push(twin);
        s.tiers = Tiers::Auto;
        s.runs = 1 << 17;
        let sweep = run(&s, &|_| {}).unwrap();
        let t = sweep.stats.tier_search;
        assert_eq!((t.choices, t.reused), (2, 2), "{t:?}");
        for quad in sweep.rows.chunks(4) {
            for (a, b) in quad[..2].iter().zip(&quad[2..]) {
                assert_eq!((a.device.as_str(), b.device.as_str()), ("h100", "h100-twin"));
                let renamed = Row { index: a.index, device: a.device.clone(), pareto: a.pareto, ..b.clone() };
                assert_eq!(&renamed, a);
            }
        }
    }

    #[test]
    fn progress_counts_every_configuration() {
        let s = spec(&["n=3,10,30"]);
        let done = std::sync::atomic::AtomicU64::new(0);
        let sweep = run(&s, &|k| {
            done.fetch_add(k, std::sync::atomic::Ordering::Relaxed);
        })
        .unwrap();
        assert_eq!(done.into_inner(), sweep.rows.len() as u64);
    }

    #[test]
    fn unknown_names_are_errors_naming_them() {
        let bad = |s: SweepSpec, needle: &str| {
            let e = run(&s, &|_| {}).unwrap_err().to_string();
            assert!(e.contains(needle), "{e}");
        };
        bad(spec(&["nn=3"]), "model `dirk` has no parameter `nn` (known:");
        bad(spec(&["algorithm=kvaerno9"]), "unknown algorithm `kvaerno9` (known: implicit_midpoint");
        bad(spec(&["precision=f16"]), "unknown precision `f16`");
        bad(spec(&["n=3", "n=4"]), "parameter `n` is swept twice");
        bad(spec(&["n=abc"]), "configuration model=dirk n=abc");
        let mut twice = spec(&["n=3"]);
        twice.strategies.push(Side::Cubie);
        bad(twice, "strategy `cubie` is listed twice");
        let mut device_twice = spec(&["n=3"]);
        device_twice.devices.push(device_twice.devices[0].clone());
        bad(device_twice, "device `h100` is listed twice");
        let mut model_twice = spec(&["n=3"]);
        model_twice.models.push(model_twice.models[0].clone());
        bad(model_twice, "model `dirk` is swept twice");
        let too_many_registers = SweepSpec { registers_per_thread: 256, ..spec(&["n=3"]) };
        bad(too_many_registers, "device `h100`: 256 registers per thread exceed the limit of 255");
        let huge_block = SweepSpec { requested_block_size: 2048, ..spec(&["n=3"]) };
        bad(huge_block, "device `h100`: a block has 1 to 1024 threads, not 2048");
        assert!(Side::parse("fastest").unwrap_err().to_string().contains("known: cubie, auto"));
    }

    #[test]
    fn optimised_shared_bytes_never_exceed_cubies() {
        let sweep = run(&spec(&["n=3,100", "algorithm=kvaerno3,kvaerno5"]), &|_| {}).unwrap();
        for pair in sweep.rows.chunks(2) {
            assert_eq!((pair[0].strategy.as_str(), pair[1].strategy.as_str()), ("cubie", "auto"));
            assert!(pair[1].shared_bytes <= pair[0].shared_bytes, "{pair:?}");
        }
    }

    /// Every row's comparison columns equal what the paired `cubie` row of
    /// the same instance and device reports, under both placements; a
    /// sweep without `cubie` still carries them.
    #[test]
    fn savings_match_the_paired_cubie_row() {
        for tiers in [Tiers::Fixed, Tiers::Auto] {
            let mut s = spec(&["n=3,60"]);
            s.devices.push(DeviceProfile::named("a100").unwrap());
            s.runs = 1 << 17;
            s.tiers = tiers;
            // The `auto` split search stops at the time limit, where a
            // loaded machine reaches it by the clock: a limit no run
            // reaches makes the two runs compared below choose alike.
            s.time_limit = Duration::from_secs(3600);
            let sweep = run(&s, &|_| {}).unwrap();
            let mut checked = 0;
            for pair in sweep.rows.chunks(2) {
                let (cubie, auto) = (&pair[0], &pair[1]);
                assert_eq!((cubie.strategy.as_str(), auto.device.as_str()), ("cubie", cubie.device.as_str()));
                for r in pair {
                    let v = &r.versus_cubie;
                    assert_eq!(v.cubie_layout_shared_bytes, cubie.shared_bytes, "{r:?}");
                    assert_eq!(v.shared_bytes_saved, cubie.shared_bytes as i64 - r.shared_bytes as i64);
                    let percent = 100.0 * v.shared_bytes_saved as f64 / cubie.shared_bytes as f64;
                    assert!((v.shared_percent_saved - percent).abs() < 1e-9, "{r:?}");
                    assert_eq!(v.cubie_layout_block_size, cubie.cubie_block_size);
                    assert_eq!(v.cubie_layout_runs_per_second, cubie.cubie_runs_per_second);
                    let speedup = v.speedup_vs_cubie.unwrap();
                    let expected = r.estimated_runs_per_second / cubie.cubie_runs_per_second.unwrap();
                    assert!((speedup - expected).abs() <= 1e-12 * expected, "{r:?}");
                    assert!(v.cubie_layout_occupancy.is_some_and(|o| o > 0.0 && o <= 1.0), "{r:?}");
                }
                // CuBIE beside itself saves nothing; its best block is
                // never slower than its pick.
                assert_eq!(cubie.versus_cubie.shared_bytes_saved, 0);
                assert!(cubie.versus_cubie.speedup_vs_cubie.unwrap() >= 1.0);
                if tiers == Tiers::Fixed {
                    assert!(auto.versus_cubie.shared_bytes_saved > 0, "dirk aliases something: {auto:?}");
                }
                checked += 1;
            }
            assert_eq!(checked, 4);
            // Without `cubie` among the strategies, the same figures.
            let mut alone = s.clone();
            alone.strategies.retain(|t| *t != Side::Cubie);
            let without = run(&alone, &|_| {}).unwrap();
            for (a, b) in without.rows.iter().zip(sweep.rows.iter().skip(1).step_by(2)) {
                assert_eq!(a.versus_cubie, b.versus_cubie);
            }
        }
    }

    fn bare(shared: u64, speed: f64, fits: bool) -> Row {
        Row {
            index: 0,
            model: "m".into(),
            params: BTreeMap::new(),
            device: "d".into(),
            strategy: "s".into(),
            shared_bytes: shared,
            padded_shared_bytes: shared,
            local_bytes: 0,
            proven_optimal: true,
            shared_accesses: 0.0,
            local_accesses: 0.0,
            fits,
            cubie_block_size: None,
            cubie_runs_per_second: None,
            best_block_size: None,
            blocks_per_sm: 0,
            resident_threads: 0,
            occupancy: 0.0,
            estimated_runs_per_second: speed,
            pareto: false,
            tiers: Tiers::Fixed,
            local_groups: None,
            fixed_runs_per_second: None,
            versus_cubie: VersusCubie {
                cubie_layout_shared_bytes: shared,
                shared_bytes_saved: 0,
                shared_percent_saved: 0.0,
                cubie_layout_block_size: None,
                cubie_layout_occupancy: None,
                cubie_layout_runs_per_second: None,
                speedup_vs_cubie: None,
            },
        }
    }

    #[test]
    fn the_pareto_front_keeps_the_undominated() {
        // (shared, speed): (50, 128), its twin and (300, 512) are on the
        // front; (100, 64), (100, 32) and (200, 64) are dominated; the row
        // that does not fit is never on it.
        let mut rows = vec![
            bare(100, 64.0, true),
            bare(50, 128.0, true),
            bare(100, 32.0, true),
            bare(200, 64.0, true),
            bare(10, 999.0, false),
        ];
        rows.push(bare(50, 128.0, true));
        rows.push(bare(300, 512.0, true));
        assert_eq!(mark_pareto(&mut rows), vec![1, 5, 6]);
        assert!(rows[1].pareto && rows[5].pareto && rows[6].pareto && !rows[0].pareto && !rows[4].pareto);
    }

    #[test]
    fn csv_has_a_column_per_swept_parameter() {
        // A configuration whose auto row moves groups: on the H200, n = 100
        // f64 is estimated fastest all local (1.21x, past the split margin
        // that keeps n = 3's own locations).
        let mut s = spec(&["n=100", "precision=f64"]);
        s.devices = vec![DeviceProfile::named("h200").unwrap()];
        s.tiers = Tiers::Auto;
        s.runs = 1 << 17;
        let sweep = run(&s, &|_| {}).unwrap();
        let csv = sweep.csv();
        let mut lines = csv.lines();
        let header = lines.next().unwrap();
        assert!(header.starts_with("index,model,n,precision,device,strategy,shared_bytes,"));
        assert!(header.contains(",pareto,tiers,local_groups,fixed_runs_per_second,"), "{header}");
        assert!(
            header.ends_with(
                ",cubie_layout_shared_bytes,shared_bytes_saved,shared_percent_saved,cubie_layout_block_size,\
                 cubie_layout_occupancy,cubie_layout_runs_per_second,speedup_vs_cubie"
            ),
            "{header}"
        );
        let cubie = lines.next().unwrap();
        let c = &sweep.rows[0];
        let saved = format!(",fixed,,,{},0,0.0000,", c.shared_bytes);
        assert!(cubie.starts_with("0,dirk,100,f64,h200,cubie,") && cubie.contains(&saved), "{cubie}");
        // The auto row names its local groups, `;`-separated.
        let groups = sweep.rows[1].local_groups.as_ref().unwrap();
        assert!(!groups.is_empty());
        assert!(lines.next().unwrap().contains(&format!(",auto,{},", groups.join(";"))));
        assert_eq!(csv.lines().count(), 1 + sweep.rows.len());
        assert_eq!(csv_field("a,\"b"), "\"a,\"\"b\"");
    }
}
