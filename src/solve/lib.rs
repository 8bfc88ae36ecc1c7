//! # smemplan-solve
//!
//! Solvers: the [`Solver`] trait, its options and results, and the table of
//! strategies by name.
//!
//! Two modes share one entry point:
//! * **capacity mode** (`options.capacity` or the problem's capacity is set):
//!   find a layout with peak ≤ capacity, or prove there is none;
//! * **minimise mode** (no capacity): find the smallest peak, and prove it.
//!
//! Whatever happens (deadline, refuted capacity), a solver returns a *valid*
//! layout when it returns `Ok`: the best one it found. Its [`Status`] says
//! what the answer establishes: the peak proven optimal, the capacity proven
//! too small (and why), the deadline cut the search, or no proof was tried.
//!
//! A strategy is added by writing its file and adding one row to
//! [`strategies::STRATEGIES`].
#![deny(missing_docs)]

pub mod auto;
pub mod brute;
pub mod error;
pub mod exact;
#[cfg(test)]
pub(crate) mod fixtures;
pub mod greedy;
pub mod ilp;
pub mod lns;
pub mod local;
pub mod memo;
pub mod strategies;

pub use error::{Error, Result};
use smemplan_core::analysis::Analysis;
use smemplan_core::bound::LowerBound;
use smemplan_core::interference;
use smemplan_core::problem::{BufferId, Layout, Problem};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The time limit of [`SolveOptions::default`]: what a run through [`run`]
/// may take unless the caller says otherwise (the command line's
/// `--time-limit` defaults to it too). Long enough for `auto` to prove most
/// instances of hundreds of buffers optimal, short enough that a library
/// call on a hard instance (MiniMalloc's D) comes back.
pub const DEFAULT_TIME_LIMIT: Duration = Duration::from_secs(10);

/// What a caller asks of a solver.
///
/// The default bounds the work: [`run`] stops the search after
/// [`DEFAULT_TIME_LIMIT`] (10 s) and returns the best layout found, with
/// its gap to the lower bound. `time_limit: None` (with no `deadline`)
/// searches until the peak is proven, however long that takes.
#[derive(Debug, Clone)]
pub struct SolveOptions {
    /// Target capacity; overrides the problem's. `None` on both = minimise.
    pub capacity: Option<u64>,
    /// Stop searching at this instant and return the best layout so far.
    /// Solvers read only this; [`run`] sets it to the earlier of itself and
    /// the start of the run plus [`SolveOptions::time_limit`].
    pub deadline: Option<Instant>,
    /// How long a run through [`run`] or [`run_with`] may take, counted from
    /// its start: [`DEFAULT_TIME_LIMIT`] by default, `None` for no limit
    /// beyond `deadline`. [`SolveOptions::with_time_limit`] replaces it by
    /// an explicit deadline.
    pub time_limit: Option<Duration>,
    /// Set from another thread to stop the search early (like a deadline).
    pub cancel: Option<Arc<AtomicBool>>,
    /// Worker threads for solvers that race searches (0 = rayon's default).
    pub threads: usize,
}

impl Default for SolveOptions {
    fn default() -> Self {
        SolveOptions { capacity: None, deadline: None, time_limit: Some(DEFAULT_TIME_LIMIT), cancel: None, threads: 0 }
    }
}

impl SolveOptions {
    /// Options with a deadline `limit` from now, in place of the default
    /// time limit (so a limit longer than [`DEFAULT_TIME_LIMIT`] holds). A
    /// limit beyond what the clock can count is no limit.
    pub fn with_time_limit(mut self, limit: Duration) -> Self {
        self.deadline = Instant::now().checked_add(limit);
        self.time_limit = None;
        self
    }

    /// The options a solver is given for a run starting at `started`: the
    /// time limit folded into the deadline (the earlier of the two), so
    /// solvers keep reading `deadline` only.
    pub fn started_at(&self, started: Instant) -> SolveOptions {
        let limit = self.time_limit.and_then(|l| started.checked_add(l));
        let deadline = match (self.deadline, limit) {
            (Some(d), Some(l)) => Some(d.min(l)),
            (d, l) => d.or(l),
        };
        SolveOptions { deadline, time_limit: None, ..self.clone() }
    }

    /// Options with a capacity target.
    pub fn with_capacity(mut self, capacity: Option<u64>) -> Self {
        self.capacity = capacity;
        self
    }

    /// The capacity in force: the options', else the problem's.
    pub fn capacity_for(&self, problem: &Problem) -> Option<u64> {
        self.capacity.or(problem.capacity())
    }

    /// Whether the deadline has passed or cancellation was requested.
    pub fn expired(&self) -> bool {
        self.cancel.as_ref().is_some_and(|c| c.load(Ordering::Relaxed))
            || self.deadline.is_some_and(|d| Instant::now() >= d)
    }
}

/// Why a capacity is proven too small.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Infeasibility {
    /// At `instant` the live buffers alone need `live_bytes` > capacity.
    LiveBytes {
        /// The instant.
        instant: u64,
        /// What the buffers live then need: their bytes, or more where
        /// alignment or fixed buffers force padding
        /// ([`smemplan_core::bound::lower_bound`]).
        live_bytes: u64,
        /// The buffers live then.
        buffers: Vec<BufferId>,
    },
    /// These buffers pairwise share live time, so no two may share an
    /// address, and together they need `bytes` > capacity; lifetime holes
    /// keep them from all being live at one instant.
    Clique {
        /// What they need: their bytes, or more where alignment or fixed
        /// buffers force padding.
        bytes: u64,
        /// The buffers.
        buffers: Vec<BufferId>,
    },
    /// This independent sub-problem has no layout within the capacity
    /// (refuted by exhaustive search).
    Subproblem {
        /// The sub-problem's buffers.
        buffers: Vec<BufferId>,
    },
}

impl Infeasibility {
    /// A sentence naming the buffers by id.
    pub fn describe(&self, problem: &Problem, capacity: u64) -> String {
        let names = |ids: &[BufferId]| {
            let mut s: Vec<&str> = ids.iter().take(12).map(|&i| problem.buffer(i).name.as_str()).collect();
            if ids.len() > 12 {
                s.push("…");
            }
            s.join(", ")
        };
        match self {
            Infeasibility::LiveBytes { instant, live_bytes, buffers } => format!(
                "at time {instant}, {} live buffers need {live_bytes} bytes > capacity {capacity}: {}",
                buffers.len(),
                names(buffers)
            ),
            Infeasibility::Clique { bytes, buffers } => format!(
                "{} buffers pairwise live at common times (never all at once) need {bytes} bytes > capacity {capacity}: {}",
                buffers.len(),
                names(buffers)
            ),
            Infeasibility::Subproblem { buffers } => format!(
                "the independent sub-problem of {} buffers ({}) has no layout within capacity {capacity} (exhaustive search)",
                buffers.len(),
                names(buffers)
            ),
        }
    }
}

/// Counters that explain a solver's effort.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Stats {
    /// The strategy that produced the returned layout (for portfolios).
    pub winner: String,
    /// Search nodes visited (0 for non-searching solvers).
    pub nodes: u64,
    /// Backtracks.
    pub backtracks: u64,
    /// Capacities (or sub-problems) attempted.
    pub attempts: u64,
}

/// What an answer establishes about its layout.
///
/// How far an unproven peak may be from the optimum is
/// [`Solution::gap`]: the gap is kept with the peak and the bound it is
/// computed from rather than copied here, where it could go stale as a
/// portfolio raises the bound.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// The peak is proven minimal: no layout has a smaller one (the lower
    /// bound has reached the peak).
    Optimal,
    /// Nothing proved the peak minimal, and nothing cut the solver short:
    /// the strategy proves nothing (the greedy ones), the capacity was met so
    /// no proof was needed, or the problem lies beyond what the strategy
    /// searches.
    Unproven,
    /// The capacity in force is proven too small, for this reason; the
    /// layout is the best found, above the capacity.
    Infeasible(Infeasibility),
    /// The deadline or a cancellation stopped the solver before it proved
    /// the peak minimal or settled the capacity: the layout is the best
    /// found by then.
    DeadlineReached,
}

impl Status {
    /// The name in JSON output and reports: `optimal`, `unproven`,
    /// `infeasible` or `deadline_reached`.
    pub fn name(&self) -> &'static str {
        match self {
            Status::Optimal => "optimal",
            Status::Unproven => "unproven",
            Status::Infeasible(_) => "infeasible",
            Status::DeadlineReached => "deadline_reached",
        }
    }
}

/// A solver's answer. `layout` is always valid (the checker accepts it).
///
/// Keep `status` and `lower_bound` in step through [`Solution::raise_lower_bound`],
/// [`Solution::refute`] and [`Solution::cut_short`]: a proof of optimality
/// is the lower bound reaching the peak.
#[derive(Debug, Clone)]
pub struct Solution {
    /// The best layout found.
    pub layout: Layout,
    /// Its peak.
    pub peak: u64,
    /// No layout peaks below this: the problem's lower bound, or more where
    /// the solver proved more (a proven optimum raises it to the peak).
    pub lower_bound: u64,
    /// What the answer establishes.
    pub status: Status,
    /// Effort counters.
    pub stats: Stats,
    /// Wall-clock seconds spent.
    pub seconds: f64,
}

impl Solution {
    /// Wraps a layout, computing its peak. `proven` says the solver proved
    /// the peak minimal (the bound is raised to it); the peak meeting
    /// `lower_bound` proves it too. The status is [`Status::Optimal`] or
    /// [`Status::Unproven`].
    pub fn new(problem: &Problem, layout: Layout, lower_bound: u64, proven: bool) -> Self {
        let peak = layout.peak(problem);
        let lower_bound = if proven { lower_bound.max(peak) } else { lower_bound };
        let status = if peak <= lower_bound { Status::Optimal } else { Status::Unproven };
        Solution { layout, peak, lower_bound, status, stats: Stats::default(), seconds: 0.0 }
    }

    /// Whether the peak is proven minimal. Also true beside a refuted
    /// capacity ([`Status::Infeasible`]), when the best layout's peak is the
    /// optimum above it.
    pub fn is_optimal(&self) -> bool {
        self.peak <= self.lower_bound
    }

    /// Why the capacity in force is proven too small, if it is.
    pub fn infeasibility(&self) -> Option<&Infeasibility> {
        match &self.status {
            Status::Infeasible(why) => Some(why),
            _ => None,
        }
    }

    /// Raises the lower bound to `bound` (if higher); a bound that reaches
    /// the peak proves it optimal.
    pub fn raise_lower_bound(&mut self, bound: u64) {
        self.lower_bound = self.lower_bound.max(bound);
        if self.is_optimal() && matches!(self.status, Status::Unproven | Status::DeadlineReached) {
            self.status = Status::Optimal;
        }
    }

    /// Records that the capacity in force is proven too small: this
    /// outranks any other status (the question asked is answered).
    pub fn refute(&mut self, why: Infeasibility) {
        self.status = Status::Infeasible(why);
    }

    /// Records that the deadline or a cancellation stopped the solver: an
    /// unproven answer becomes [`Status::DeadlineReached`]; a proof stands.
    pub fn cut_short(&mut self) {
        if self.status == Status::Unproven {
            self.status = Status::DeadlineReached;
        }
    }

    /// Relative gap `(peak - lower_bound) / lower_bound` (0 when LB is 0).
    pub fn gap(&self) -> f64 {
        if self.lower_bound == 0 {
            0.0
        } else {
            (self.peak as f64 - self.lower_bound as f64) / self.lower_bound as f64
        }
    }

    /// Whether the peak is within `capacity` (true when there is none).
    pub fn fits(&self, capacity: Option<u64>) -> bool {
        capacity.is_none_or(|c| self.peak <= c)
    }
}

/// A solution as the reports give it: `smemplan solve --json` (with the
/// instance, files and layout around it) and Python's `smemplan.solve`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SolveReport {
    /// The strategy asked for.
    pub strategy: String,
    /// Buffers in the problem.
    pub buffers: usize,
    /// See [`Solution::peak`].
    pub peak: u64,
    /// See [`Solution::lower_bound`].
    pub lower_bound: u64,
    /// See [`Solution::gap`].
    pub gap: f64,
    /// [`Status::name`].
    pub status: &'static str,
    /// See [`Solution::is_optimal`].
    pub optimal: bool,
    /// The capacity in force.
    pub capacity: Option<u64>,
    /// Whether the peak is within it ([`Solution::fits`]).
    pub feasible: bool,
    /// Why the capacity is proven too small, if it is.
    pub infeasible: Option<String>,
    /// See [`Solution::seconds`].
    pub seconds: f64,
    /// See [`Solution::stats`].
    pub stats: Stats,
}

impl SolveReport {
    /// The report of `solution`, found by `strategy` for `problem` under
    /// `capacity`.
    pub fn new(problem: &Problem, solution: &Solution, strategy: &str, capacity: Option<u64>) -> SolveReport {
        SolveReport {
            strategy: strategy.to_string(),
            buffers: problem.len(),
            peak: solution.peak,
            lower_bound: solution.lower_bound,
            gap: solution.gap(),
            status: solution.status.name(),
            optimal: solution.is_optimal(),
            capacity,
            feasible: solution.fits(capacity),
            infeasible: capacity.zip(solution.infeasibility()).map(|(c, why)| why.describe(problem, c)),
            seconds: solution.seconds,
            stats: solution.stats.clone(),
        }
    }
}

/// A layout algorithm.
pub trait Solver: Send + Sync {
    /// The strategy name (as on the command line).
    fn name(&self) -> &'static str;

    /// Plans the analysed problem. Returns `Ok` with a valid layout
    /// whenever one was built, even if it exceeds the capacity; `Err` only
    /// for problems the solver does not accept.
    fn solve(&self, analysis: &Analysis, options: &SolveOptions) -> Result<Solution>;
}

/// Runs `solver` under the options' deadline and time limit (by default
/// [`DEFAULT_TIME_LIMIT`] from now: see [`SolveOptions`]), times it, and fills in what every solver's answer needs
/// regardless of algorithm: the lower bound (unless the deadline passed
/// before it was computed), and the [`Infeasibility`] when that bound alone
/// exceeds the capacity. (Whether the deadline cut a
/// search short only the searching solver knows: it says so itself.)
pub fn run(solver: &dyn Solver, problem: &Problem, options: &SolveOptions) -> Result<Solution> {
    run_with(solver, &Analysis::new(problem), options)
}

/// [`run`] on a problem already analysed: what the analysis has computed
/// (the lower bound) is not computed again, so a caller that plans one
/// problem several times, or with several solvers, pays for it once.
pub fn run_with(solver: &dyn Solver, analysis: &Analysis, options: &SolveOptions) -> Result<Solution> {
    let started = Instant::now();
    let options = &options.started_at(started);
    let mut solution = solver.solve(analysis, options)?;
    settle(analysis, options, &mut solution);
    solution.seconds = started.elapsed().as_secs_f64();
    if solution.stats.winner.is_empty() {
        solution.stats.winner = solver.name().to_string();
    }
    Ok(solution)
}

/// Gives `solution` the lower bound (unless the deadline passed before it
/// was computed), and the [`Infeasibility`] when that bound alone exceeds
/// the capacity.
pub(crate) fn settle(analysis: &Analysis, options: &SolveOptions, solution: &mut Solution) {
    let problem = analysis.problem();
    // Past the deadline an unfinished bound is left as the solver's answer
    // has it (at least the trivial one): computing it costs a sweep.
    if let Some(lb) = analysis.lower_bound_until(&|| options.expired()) {
        solution.raise_lower_bound(lb.bytes);
        if let Some(cap) = options.capacity_for(problem) {
            if solution.infeasibility().is_none() && lb.bytes > cap {
                solution.refute(live_bytes_reason(problem, lb));
            }
        }
    }
}

/// The [`Infeasibility`] for a lower bound above the capacity: the live
/// set at its instant, or its clique.
pub fn live_bytes_reason(problem: &Problem, lb: &LowerBound) -> Infeasibility {
    if lb.clique.is_empty() {
        Infeasibility::LiveBytes {
            instant: lb.instant,
            live_bytes: lb.bytes,
            buffers: interference::live_at(problem, lb.instant),
        }
    } else {
        Infeasibility::Clique { bytes: lb.bytes, buffers: lb.clique.clone() }
    }
}

/// Puts a solver's answer through the independent checker
/// ([`smemplan_core::check::verify`]): its layout valid, its peak the one it
/// reports, its lower bound at most that peak.
pub fn verify(problem: &Problem, solution: &Solution) -> std::result::Result<(), smemplan_core::check::Rejected> {
    smemplan_core::check::verify(problem, &solution.layout, solution.peak, solution.lower_bound)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_bounds_a_run_and_an_explicit_deadline_or_none_replaces_it() {
        let start = Instant::now();
        let default = SolveOptions::default().started_at(start);
        assert_eq!(default.deadline, Some(start + DEFAULT_TIME_LIMIT));
        assert_eq!(default.time_limit, None, "folded into the deadline once");
        // The earlier of a deadline and the limit wins, either way round.
        let soon = SolveOptions { deadline: Some(start + Duration::from_secs(1)), ..SolveOptions::default() };
        assert_eq!(soon.started_at(start).deadline, Some(start + Duration::from_secs(1)));
        let late = SolveOptions { deadline: Some(start + Duration::from_secs(60)), ..SolveOptions::default() };
        assert_eq!(late.started_at(start).deadline, Some(start + DEFAULT_TIME_LIMIT));
        // An explicit long limit holds; `None` is no limit at all.
        let long = SolveOptions::default().with_time_limit(Duration::from_secs(60)).started_at(start);
        assert!(long.deadline.unwrap() > start + DEFAULT_TIME_LIMIT);
        let unbounded = SolveOptions { time_limit: None, ..SolveOptions::default() };
        assert_eq!(unbounded.started_at(start).deadline, None);
        let huge = SolveOptions { time_limit: Some(Duration::MAX), ..SolveOptions::default() };
        assert_eq!(huge.started_at(start).deadline, None, "an unrepresentable instant is no deadline");
        assert_eq!(SolveOptions::default().with_time_limit(Duration::MAX).deadline, None);
    }
}
