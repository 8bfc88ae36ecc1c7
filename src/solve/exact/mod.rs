//! `exact`: branch and bound over canonical layouts, in the class of
//! MiniMalloc (Moffitt, ASPLOS 2023), written from the paper's ideas.
//!
//! The core question is "is there a layout with peak ≤ C?"
//! ([`solve_capacity`]); minimise mode ([`Exact`] without a capacity) asks
//! it for several capacities at once (`minimise.rs`).
//!
//! # The search
//!
//! Time is cut into *sections* between consecutive lifetime events. A
//! partial layout has a *sky* per section (the top of the placed buffers
//! live there) and every unplaced buffer a `min`: the top of its highest
//! placed neighbour (aligned, clear of fixed buffers), the only offset a
//! canonical layout may give it now. The *floor* is the smallest `min`; a
//! section's own floor is the lowest offset any of its unplaced buffers can
//! still take, and the bytes left there must fit between it and `C`.
//!
//! ```text
//!  address                                       C = capacity
//!    C ┤· · · · · · · · · · · · · · · · · · · · · · · · ·
//!      │            ┌──────┐            rem(s2) must fit in
//!      │            │  d   │            [floor(s2), C)
//!      │  ┌──────┐  ├──────┴──┐          ┌─────┐
//!      │  │  b   │  │   c     │  sky(s4) │  e  │
//!      ├──┴──────┴──┴───┬─────┘    ↓     ├─────┤
//!      │      a         │ ─ ─ ─ ─ floor  │  f  │
//!    0 ┼────────────────┴────────────────┴─────┴──→ time
//!        s0    s1    s2   s3   s4    s5   s6
//! ```
//!
//! Each child places one buffer at its `min` (`search.rs`), only at the
//! floor, so offsets along a path never decrease and no offset that could
//! slide down is ever tried. Each pruning rule is a flag of
//! [`ExactParams`], all on by default; a test checks every combination
//! against exhaustive search:
//!
//! * **floor first**: branch only on buffers at the floor (applied when
//!   nothing is fixed and alignment never pads; otherwise every buffer with
//!   `min` at or above the last placement is a candidate, in order of `min`).
//!   It finds layouts fast but is not complete (see `Lane::Complete`): an
//!   exhausted floor-first tree proves nothing, and refutations come from a
//!   lane without it;
//! * **section branching**: branch on who covers one floor section (the
//!   most constrained), or that nobody does, which forbids its candidates
//!   there;
//! * **section inference**, **unallocated floor** and **release dates**:
//!   in each section, the unplaced bytes must fit above the section's floor,
//!   and for every threshold t, those that cannot start below t must fit in
//!   `[t, C)`. A buffer forbidden at the floor waits to be lifted by a
//!   neighbour placed there, so it starts at least that neighbour higher;
//!   one with no such neighbour refutes the node;
//! * **nogoods**, **twins** and **stacks** (dominance): a refuted child
//!   "b at offset o" forbids b there below its later siblings (any such
//!   layout reorders one already refuted); interchangeable buffers are tried
//!   once; a buffer may sit directly on one live in exactly the same
//!   sections only in candidate order (the swap fills the same region);
//! * **peel**: when the group searched is flat, a buffer live in all of its
//!   sections goes at the bottom without branching;
//! * **decompose** and **split**: independent sub-problems
//!   ([`smemplan_core::interference::partitions`]) are searched one after another,
//!   and so are the groups the unplaced buffers fall apart into during the
//!   search (a failing later group does not retry an earlier one).
//!
//! # A deterministic race on the cores
//!
//! A search keeps its own stack, so it can stop after a budget of nodes and
//! go on later. For one capacity, the [`VARIANTS`] (candidate orders and
//! branching rules), a few *shaker* lanes (restarts on a Luby schedule,
//! each run in a freshly shaken order) and, with floor first, one complete
//! lane without it (the one that can refute) advance in lockstep rounds of
//! [`ExactParams::round_nodes`] nodes, in parallel on rayon. Between rounds,
//! results are read in a fixed order and solved sub-problems are shared, so
//! the answer depends on node counts, never on thread timing (only a
//! deadline or cancellation can cut a run short).
//!
//! # Known limits
//!
//! Any one variant has a heavy tail: it solves some instances at once and
//! wanders on others, hence the race and its restarts. The defaults (two
//! variants, three shakers) solve all eleven MiniMalloc challenging
//! instances within 1 MiB, the slowest (E) in a couple of seconds; other
//! instances may still fall in a tail. Proofs that a capacity between the
//! lower bound and the optimum is too small can take long on dense random
//! problems of a few dozen buffers, and problems with fixed offsets or
//! alignment padding get the slower search without floor first.

mod instance;
mod minimise;
mod perfect;
mod search;

use self::instance::Instance;
use self::search::{Search, Step};
use super::{greedy, live_bytes_reason, local, Infeasibility, Solution, SolveOptions, Solver, Stats};
use crate::error::Result;
use rayon::prelude::*;
use smemplan_core::analysis::Analysis;
use smemplan_core::arith::gcd;
use smemplan_core::bound;
use smemplan_core::interference;
use smemplan_core::problem::{BufferId, Layout, Problem};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The pruning rules and the racing schedule of the exact search.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExactParams {
    /// Branch only on the buffers whose `min` is the floor of the partial
    /// layout. Applied only to sub-problems with no fixed offsets and every
    /// size a multiple of the largest alignment. Not complete: with it on,
    /// every race also runs a lane without it, whose refutations are the
    /// only ones trusted.
    pub floor_first: bool,
    /// With `floor_first`: branch on which buffer covers the section at the
    /// floor that the fewest candidates cover, or that none does, instead of
    /// on every buffer at the floor.
    pub section_branching: bool,
    /// Refute a node when some section's unplaced bytes do not fit between
    /// its floor and the capacity.
    pub section_inference: bool,
    /// Raise each section's floor to the lowest offset any unplaced buffer
    /// live in it can still take (needs `section_inference`).
    pub unallocated_floor: bool,
    /// With `unallocated_floor`: in each section, for every threshold t,
    /// the unplaced buffers that cannot start below t must fit between t
    /// and the capacity.
    pub release_dates: bool,
    /// After the child "b at offset o" is refuted, b may not go at o below
    /// later siblings.
    pub nogoods: bool,
    /// Interchangeable buffers are branched on once per node.
    pub twins: bool,
    /// A buffer may sit directly on one live in exactly the same sections
    /// only if it comes later in the candidate order (the two orders fill
    /// the same region).
    pub stacks: bool,
    /// Search independent sub-problems separately.
    pub decompose: bool,
    /// With `floor_first`: when the group searched is flat (every section
    /// with buffers left has its sky at the floor), a buffer live in all
    /// of them goes at the bottom without branching.
    pub peel: bool,
    /// With `floor_first`: once the unplaced buffers fall apart into groups
    /// sharing no section, lay out one group after another, and when a
    /// group fails, try no other layout of the groups before it.
    pub split: bool,
    /// How many of the search variants ([`VARIANTS`]) race for one
    /// capacity, the first ones (1 to `VARIANTS.len()`).
    pub variants: usize,
    /// How many shaker lanes join the race: restarting searches whose every
    /// run takes a shaken candidate order (Luby schedule of run lengths),
    /// against the heavy tail of any one order.
    pub shakers: usize,
    /// Nodes each search advances per lockstep round.
    pub round_nodes: u64,
    /// Stop after this many lockstep rounds, as if the deadline had passed
    /// (`None`: no limit). A limit by rounds, unlike one by time, keeps the
    /// answer deterministic.
    pub round_limit: Option<u64>,
}

impl Default for ExactParams {
    fn default() -> Self {
        ExactParams {
            floor_first: true,
            section_branching: true,
            section_inference: true,
            unallocated_floor: true,
            release_dates: true,
            nogoods: true,
            twins: true,
            stacks: true,
            decompose: true,
            peel: true,
            split: true,
            variants: 2,
            shakers: 3,
            round_nodes: 4096,
            round_limit: None,
        }
    }
}

impl ExactParams {
    /// The number of variants raced, within `1..=VARIANTS.len()`.
    pub fn variant_count(&self) -> usize {
        self.variants.clamp(1, VARIANTS.len())
    }

    /// The pruning switches, in a fixed order (for tests over all
    /// combinations).
    pub fn flags(&self) -> [bool; FLAGS] {
        [
            self.floor_first,
            self.section_branching,
            self.section_inference,
            self.unallocated_floor,
            self.release_dates,
            self.nogoods,
            self.twins,
            self.stacks,
            self.decompose,
            self.peel,
            self.split,
        ]
    }

    /// The same schedule with the pruning switches set from `flags` (in the
    /// order of [`ExactParams::flags`]).
    pub fn with_flags(mut self, flags: [bool; FLAGS]) -> Self {
        [
            self.floor_first,
            self.section_branching,
            self.section_inference,
            self.unallocated_floor,
            self.release_dates,
            self.nogoods,
            self.twins,
            self.stacks,
            self.decompose,
            self.peel,
            self.split,
        ] = flags;
        self
    }
}

/// Which floor section a section-branching search branches on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SectionRule {
    /// The section the fewest candidates cover.
    Fewest,
    /// The section with the least room left to waste, then the fewest.
    Slack,
}

/// How one search of a race chooses: its candidate order and how it
/// branches. Different variants fail on different instances, so a race of
/// a few is far more robust than any one of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Variant {
    /// The candidate order: 0 largest first, 1 heaviest section first
    /// then largest area, 2 longest lifetime first, 3 heaviest section
    /// first then longest.
    pub order: usize,
    /// Branch on who covers one floor section (with `section_branching`),
    /// else on every buffer at the floor.
    pub sections: bool,
    /// Which section, when branching on sections.
    pub rule: SectionRule,
}

/// The variants raced, in order of preference (ties between results of
/// one round go to the earlier one).
pub const VARIANTS: [Variant; 5] = [
    Variant { order: 0, sections: true, rule: SectionRule::Fewest },
    Variant { order: 1, sections: true, rule: SectionRule::Fewest },
    Variant { order: 2, sections: true, rule: SectionRule::Slack },
    Variant { order: 3, sections: false, rule: SectionRule::Fewest },
    Variant { order: 0, sections: true, rule: SectionRule::Slack },
];

/// Number of pruning switches in [`ExactParams`].
pub const FLAGS: usize = 11;

/// The answer to "is there a layout with peak ≤ C?".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A valid layout with peak ≤ C.
    Feasible(Layout),
    /// Proven: no layout fits, and why.
    Infeasible(Infeasibility),
    /// The deadline passed or the search was cancelled first, or preparing
    /// the search would not have ended before the deadline.
    Timeout,
    /// Nothing was tried to the end, and no deadline cut in: the problem
    /// has more than [`MAX_PAIRS`] interfering pairs, or the round limit
    /// ([`ExactParams::round_limit`]) was reached.
    Untried,
}

/// Node budget of the perfect-packing search (`perfect.rs`), per buffer.
pub const PERFECT_NODES_PER_BUFFER: u64 = 2000;

/// Whether a layout with peak `<= capacity` exists, with one if so.
/// `options` gives the deadline, cancellation and threads (its capacity is
/// ignored); `params` the pruning rules.
pub fn solve_capacity(problem: &Problem, capacity: u64, options: &SolveOptions, params: &ExactParams) -> Outcome {
    solve_capacity_with_stats(&Analysis::new(problem), capacity, options, params).0
}

/// [`solve_capacity`] of an analysed problem, also returning the search
/// effort.
pub fn solve_capacity_with_stats(
    analysis: &Analysis,
    capacity: u64,
    options: &SolveOptions,
    params: &ExactParams,
) -> (Outcome, Stats) {
    let problem = analysis.problem();
    let mut stats = Stats { winner: "exact".into(), ..Stats::default() };
    let Some(lb) = analysis.lower_bound_until(&|| options.expired()) else {
        return (Outcome::Timeout, stats);
    };
    if lb.bytes > capacity {
        return (Outcome::Infeasible(live_bytes_reason(problem, lb)), stats);
    }
    // No slack at all (the capacity is the live bytes at every instant):
    // the perfect-packing search runs beside the race, and whichever
    // settles the question first stops the other. On one thread it goes
    // first, with an eighth of the time left (with half, the race missed a
    // 600-buffer pinwheel tiling on a crowded timeline that it packs in 9 s
    // of a 10 s limit on its own). An exhausted perfect search is left to
    // the race to prove.
    let packs = lb.bytes == capacity;
    let packed = AtomicBool::new(false);
    let settled = AtomicBool::new(false);
    let (offsets, outcome) = with_pool(options.threads, || {
        let alone = rayon::current_num_threads() == 1;
        rayon::join(
            || {
                let offsets = packs.then(|| pack(problem, capacity, options, alone, &settled)).flatten();
                packed.store(offsets.is_some(), Ordering::Relaxed);
                offsets
            },
            || {
                let outcome = race(problem, capacity, options, params, &mut stats, &|| packed.load(Ordering::Relaxed));
                if matches!(outcome, Outcome::Feasible(_) | Outcome::Infeasible(_)) {
                    settled.store(true, Ordering::Relaxed);
                }
                outcome
            },
        )
    });
    match offsets {
        Some(offsets) => (Outcome::Feasible(Layout::new(offsets)), stats),
        None => (outcome, stats),
    }
}

/// The perfect-packing search (`perfect.rs`) until the deadline, `settled`
/// or, when it runs `alone` before the race, an eighth of the time left.
fn pack(
    problem: &Problem,
    capacity: u64,
    options: &SolveOptions,
    alone: bool,
    settled: &AtomicBool,
) -> Option<Vec<u64>> {
    let started = Instant::now();
    let share = options.deadline.filter(|_| alone).map(|d| started + d.saturating_duration_since(started) / 8);
    let stop = || options.expired() || settled.load(Ordering::Relaxed) || share.is_some_and(|s| Instant::now() >= s);
    let budget = PERFECT_NODES_PER_BUFFER.saturating_mul(problem.len() as u64);
    match perfect::search(problem, capacity, budget, &stop) {
        perfect::Perfect::Found(offsets) => Some(offsets),
        _ => None,
    }
}

/// The race of [`Attempt`]s for a layout within `capacity`, until one
/// settles it, the deadline or `done`.
fn race(
    problem: &Problem,
    capacity: u64,
    options: &SolveOptions,
    params: &ExactParams,
    stats: &mut Stats,
    done: &(dyn Fn() -> bool + Sync),
) -> Outcome {
    let prepared = match Prepared::new(problem, params, options) {
        Ok(prepared) => prepared,
        Err(Unprepared::Late) => return Outcome::Timeout,
        Err(Unprepared::Large) => return Outcome::Untried,
    };
    let stop = || options.expired() || done();
    let mut attempts: Vec<Attempt> = Attempt::race(&prepared, capacity, params);
    stats.attempts = attempts.len() as u64;
    let mut store = Store::new(&prepared);
    let mut rounds = 0;
    let outcome = loop {
        let steps = round(attempts.iter_mut().collect(), &mut store, params.round_nodes, &stop);
        rounds += 1;
        if let Some(i) = steps.iter().position(|s| matches!(s, Step::Found | Step::Infeasible)) {
            break match steps[i] {
                Step::Found => Outcome::Feasible(attempts[i].layout()),
                _ => Outcome::Infeasible(attempts[i].refuted()),
            };
        }
        if steps.contains(&Step::Stopped) {
            break Outcome::Timeout;
        }
        if params.round_limit.is_some_and(|l| rounds >= l) {
            break Outcome::Untried;
        }
    };
    for a in &attempts {
        a.add_to(stats);
    }
    outcome
}

/// The `exact` strategy: capacity mode stops at the first layout within
/// the capacity; minimise mode returns the smallest peak found, proven
/// optimal when it meets the lower bound or every smaller capacity is
/// refuted. A greedy layout is the fallback whenever the search is cut
/// short.
#[derive(Debug, Clone, Copy, Default)]
pub struct Exact {
    /// Pruning rules and schedule.
    pub params: ExactParams,
}

impl Solver for Exact {
    fn name(&self) -> &'static str {
        "exact"
    }

    fn solve(&self, analysis: &Analysis, options: &SolveOptions) -> Result<Solution> {
        let fallback = greedy::best(analysis, options)?.layout;
        self.solve_from(analysis, options, fallback)
    }
}

impl Exact {
    /// [`Solver::solve`] from the valid layout `fallback` (the best greedy
    /// one, which a portfolio has at hand already) instead of computing it.
    pub fn solve_from(&self, analysis: &Analysis, options: &SolveOptions, fallback: Layout) -> Result<Solution> {
        let problem = analysis.problem();
        if problem.len() > POLISH_MAX_BUFFERS || options.expired() {
            return Ok(self.search_from(analysis, options, fallback));
        }
        // Small problems: search briefly, and if that settles nothing, let
        // the local search improve the layout before searching again. The
        // search is deterministic, so the second run repeats the first one's
        // work (at most `POLISH_AFTER_ROUNDS`) before going further.
        let brief = Exact { params: ExactParams { round_limit: Some(POLISH_AFTER_ROUNDS), ..self.params } };
        let first = brief.search_from(analysis, options, fallback);
        let capacity = options.capacity_for(problem);
        let settled =
            first.is_optimal() || first.infeasibility().is_some() || (capacity.is_some() && first.fits(capacity));
        if settled || options.expired() {
            return Ok(first);
        }
        let target = capacity.unwrap_or(analysis.lower_bound().bytes);
        let start = match local::polish(analysis, &first.layout, target, options)? {
            Some(better) => better,
            None => first.layout,
        };
        let mut solution = self.search_from(analysis, options, start);
        solution.stats.nodes += first.stats.nodes;
        solution.stats.backtracks += first.stats.backtracks;
        solution.stats.attempts += first.stats.attempts;
        Ok(solution)
    }
}

/// Problems of at most this many buffers get the local search
/// ([`local::polish`], at most about 0.1 s) when a first search settles
/// nothing within [`POLISH_AFTER_ROUNDS`]: on rare random problems of a few
/// dozen buffers every lane wanders for a second while the local search
/// reaches the lower bound in milliseconds.
pub const POLISH_MAX_BUFFERS: usize = 64;

/// Lockstep rounds the first search of a small problem gets before the
/// local search has its turn (about 0.1 s on 30 buffers).
pub const POLISH_AFTER_ROUNDS: u64 = 24;

impl Exact {
    /// The search in either mode, from the valid layout `fallback`.
    fn search_from(&self, analysis: &Analysis, options: &SolveOptions, fallback: Layout) -> Solution {
        let problem = analysis.problem();
        let Some(lb) = analysis.lower_bound_until(&|| options.expired()) else {
            let mut cut = Solution::new(problem, fallback, bound::trivial(problem), false);
            cut.cut_short();
            return cut;
        };
        let Some(cap) = options.capacity_for(problem) else {
            return minimise::minimise(analysis, options, &self.params, fallback);
        };
        let mut solution = Solution::new(problem, fallback, lb.bytes, false);
        if lb.bytes > cap {
            solution.refute(live_bytes_reason(problem, lb));
            return solution;
        }
        if solution.peak <= cap {
            return solution;
        }
        let (outcome, stats) = solve_capacity_with_stats(analysis, cap, options, &self.params);
        match outcome {
            Outcome::Feasible(layout) => solution = Solution::new(problem, layout, lb.bytes, false),
            Outcome::Infeasible(why) => {
                solution.raise_lower_bound(cap.saturating_add(1));
                solution.refute(why);
            }
            Outcome::Timeout => solution.cut_short(),
            Outcome::Untried => {}
        }
        solution.stats = stats;
        solution
    }
}

/// Runs `f` with `threads` rayon workers (0: the global pool).
fn with_pool<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
    if threads == 0 {
        return f();
    }
    match rayon::ThreadPoolBuilder::new().num_threads(threads).build() {
        Ok(pool) => pool.install(f),
        Err(_) => f(),
    }
}

/// Advances every attempt by `budget` nodes, in parallel, then shares the
/// sub-problems they solved through `store`; their steps in order.
fn round(
    mut attempts: Vec<&mut Attempt>,
    store: &mut Store,
    budget: u64,
    stop: &(dyn Fn() -> bool + Sync),
) -> Vec<Step> {
    let shared: &Store = store;
    let steps: Vec<Step> = if attempts.len() == 1 || rayon::current_num_threads() == 1 {
        attempts.iter_mut().map(|a| a.run(budget, stop, shared)).collect()
    } else {
        attempts.par_iter_mut().map(|a| a.run(budget, stop, shared)).collect()
    };
    for a in &attempts {
        store.harvest(a);
    }
    steps
}

/// The best layout found so far of each sub-problem (local offsets and
/// peak), shared by every attempt between rounds: an attempt at capacity
/// `c` takes one whose peak is at most `c` instead of searching.
struct Store {
    best: Vec<Option<(u64, Vec<u64>)>>,
}

impl Store {
    fn new(prepared: &Prepared) -> Self {
        Store { best: vec![None; prepared.parts.len()] }
    }

    /// A stored layout of part `p` within `cap`.
    fn fitting(&self, p: usize, cap: u64) -> Option<&[u64]> {
        self.best[p].as_ref().filter(|(peak, _)| *peak <= cap).map(|(_, offsets)| offsets.as_slice())
    }

    /// Keeps the layouts `a` found itself when they beat the stored ones.
    fn harvest(&mut self, a: &Attempt) {
        for p in 0..a.part.min(a.prepared.parts.len()) {
            let inst = &a.prepared.parts[p];
            let offsets: Vec<u64> = inst.ids.iter().map(|id| a.offsets[id.index()]).collect();
            // A sub-layout the search completed: every top is within its capacity.
            let peak = (0..inst.len()).map(|u| offsets[u] + inst.size[u]).max().unwrap_or(0);
            if self.best[p].as_ref().is_none_or(|(best, _)| peak < *best) {
                self.best[p] = Some((peak, offsets));
            }
        }
    }
}

/// Why the search was not prepared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unprepared {
    /// More than [`MAX_PAIRS`] interfering pairs.
    Large,
    /// Preparing would not end before the deadline, or the options expired
    /// meanwhile.
    Late,
}

/// The sub-problems of a problem, prepared once for every attempt.
struct Prepared {
    n: usize,
    parts: Vec<Instance>,
    params: ExactParams,
}

/// The most interfering pairs a problem may have for the search to be
/// prepared: beyond it, preparing alone takes seconds (its cost and memory
/// grow with the pairs) and the search has no chance anyway.
pub const MAX_PAIRS: u64 = 4_000_000;

impl Prepared {
    /// The sub-problems, or why not (see [`Unprepared`]).
    fn new(problem: &Problem, params: &ExactParams, options: &SolveOptions) -> std::result::Result<Self, Unprepared> {
        let pairs = interference::pairs_at_most_until(problem, &|| options.expired()).ok_or(Unprepared::Late)?;
        // Preparing costs on the order of a hundred nanoseconds a pair and
        // cannot stop half-way: don't start what the deadline cannot fit.
        let cost = Duration::from_nanos(pairs.saturating_mul(150));
        let late = options.deadline.is_some_and(|d| Instant::now().checked_add(cost).is_none_or(|end| end > d));
        if pairs > MAX_PAIRS {
            return Err(Unprepared::Large);
        }
        if late {
            return Err(Unprepared::Late);
        }
        let groups = if params.decompose { interference::partitions(problem) } else { vec![problem.ids().collect()] };
        let mut parts: Vec<Instance> = Vec::with_capacity(groups.len());
        for g in groups.into_iter().filter(|g| !g.is_empty()) {
            if options.expired() {
                return Err(Unprepared::Late);
            }
            parts.push(Instance::new(problem, &g));
        }
        // Most constrained first: a refutation comes early, and a big
        // sub-problem is not redone after a small one fails.
        parts.sort_by_key(|p| (std::cmp::Reverse(p.lower_bound), std::cmp::Reverse(p.len()), p.ids[0]));
        Ok(Prepared { n: problem.len(), parts, params: *params })
    }

    /// Every canonical layout's peak is a multiple of this.
    fn granule(&self) -> u64 {
        self.parts.iter().map(|p| p.granule).reduce(gcd).unwrap_or(1).max(1)
    }
}

/// How an attempt searches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lane {
    /// One variant, to the end.
    Fixed(Variant),
    /// Restarts: run `r` (from 1) searches `luby(r) ×` [`SHAKE_UNIT`] nodes
    /// with the next variant in a freshly shaken order; lane `k` has its
    /// own seeds and shakes ranks by up to `n / 2^k`.
    Shaker(u64),
    /// The first variant without floor first, to the end: the lane whose
    /// refutations are proofs. Floor first is not complete: a buffer `y` at
    /// the floor in one section may belong on top of a neighbour `z` that
    /// rests higher up in another section, a layout that a search placing
    /// only at the floor never builds (found by a quickcheck run: a plain
    /// 16-buffer problem refuted at 3210 bytes that `ilp` laid out in 3210).
    /// So floor-first lanes only find layouts, and an exhausted floor-first
    /// tree ([`Step::Exhausted`]) concludes nothing.
    Complete,
}

/// Nodes of the shortest shaker run.
const SHAKE_UNIT: u64 = 2048;

/// The Luby sequence 1, 1, 2, 1, 1, 2, 4, 1, ... (`i` from 1): the restart
/// schedule that is within a log factor of the best fixed cut-off.
fn luby(i: u64) -> u64 {
    let mut i = i.max(1);
    loop {
        let k = 64 - i.leading_zeros() as u64; // 2^(k-1) <= i < 2^k
        if i == (1 << k) - 1 {
            return 1 << (k - 1);
        }
        i -= (1 << (k - 1)) - 1;
    }
}

/// A search for a whole layout at one capacity: the sub-problems one after
/// another.
struct Attempt<'a> {
    prepared: &'a Prepared,
    cap: u64,
    lane: Lane,
    part: usize,
    search: Option<Search<'a>>,
    /// Shaker: runs started on this sub-problem, and nodes left in this one.
    runs: u64,
    run_left: u64,
    offsets: Vec<u64>,
    done_nodes: u64,
    done_backtracks: u64,
    last: Step,
}

impl<'a> Attempt<'a> {
    fn new(prepared: &'a Prepared, cap: u64, lane: Lane) -> Self {
        Attempt {
            prepared,
            cap,
            lane,
            part: 0,
            search: None,
            runs: 0,
            run_left: u64::MAX,
            offsets: vec![0; prepared.n],
            done_nodes: 0,
            done_backtracks: 0,
            last: Step::Paused,
        }
    }

    /// The race for one capacity: every variant, then the shakers.
    fn race(prepared: &'a Prepared, cap: u64, params: &ExactParams) -> Vec<Attempt<'a>> {
        let fixed = VARIANTS[..params.variant_count()].iter().map(|&v| Lane::Fixed(v));
        let shakers = (0..params.shakers as u64).map(Lane::Shaker);
        // Without floor first the fixed lanes are complete already.
        let complete = params.floor_first.then_some(Lane::Complete);
        fixed.chain(shakers).chain(complete).map(|lane| Attempt::new(prepared, cap, lane)).collect()
    }

    /// A fresh search of the current sub-problem for this lane.
    fn start(&mut self, inst: &'a Instance) -> Search<'a> {
        let params = &self.prepared.params;
        match self.lane {
            Lane::Fixed(v) => Search::new(inst, v, inst.orders[v.order].clone(), self.cap, params),
            Lane::Complete => {
                let v = VARIANTS[0];
                let complete = ExactParams { floor_first: false, ..*params };
                Search::new(inst, v, inst.orders[v.order].clone(), self.cap, &complete)
            }
            Lane::Shaker(k) => {
                self.runs += 1;
                self.run_left = luby(self.runs) * SHAKE_UNIT;
                let v = VARIANTS[((k + self.runs) % params.variant_count() as u64) as usize];
                let seed = k.wrapping_mul(0x0100_0000_01B3) ^ self.runs;
                // Lane k shakes ranks by up to n / 2^k: from wild to mild.
                let spread = inst.len() as u64 >> k.min(63);
                Search::new(inst, v, inst.shaken_order(v.order, seed, spread), self.cap, params)
            }
        }
    }

    /// Goes on for at most `budget` nodes; a concluded attempt keeps
    /// answering its conclusion.
    fn run(&mut self, budget: u64, stop: &dyn Fn() -> bool, store: &Store) -> Step {
        if matches!(self.last, Step::Found | Step::Infeasible | Step::Exhausted) {
            return self.last;
        }
        let mut left = budget;
        self.last = loop {
            let Some(inst) = self.prepared.parts.get(self.part) else {
                break Step::Found;
            };
            if let Some(offsets) = store.fitting(self.part, self.cap) {
                // Another attempt (or capacity) already laid this part out.
                for (u, &off) in offsets.iter().enumerate() {
                    self.offsets[inst.ids[u].index()] = off;
                }
                self.retire_search();
                self.part += 1;
                self.runs = 0;
                self.run_left = u64::MAX;
                continue;
            }
            if self.search.is_none() {
                self.search = Some(self.start(inst));
            }
            let search = self.search.as_mut().expect("just started");
            let before = search.nodes;
            let step = search.run(left.min(self.run_left), stop);
            let used = search.nodes - before;
            left = left.saturating_sub(used);
            self.run_left = self.run_left.saturating_sub(used);
            match step {
                Step::Found => {
                    for (u, &off) in search.offsets().iter().enumerate() {
                        self.offsets[inst.ids[u].index()] = off;
                    }
                    self.retire_search();
                    self.part += 1;
                    self.runs = 0;
                    self.run_left = u64::MAX;
                }
                // A shaker run that spent its nodes starts over.
                Step::Paused if self.run_left == 0 => self.retire_search(),
                other => break other,
            }
            if left == 0 && self.part < self.prepared.parts.len() {
                break Step::Paused;
            }
        };
        self.last
    }

    fn retire_search(&mut self) {
        if let Some(search) = self.search.take() {
            self.done_nodes += search.nodes;
            self.done_backtracks += search.backtracks;
        }
    }

    /// The layout, once [`Step::Found`].
    fn layout(&self) -> Layout {
        Layout::new(self.offsets.clone())
    }

    /// Why the capacity is too small, once [`Step::Infeasible`].
    fn refuted(&self) -> Infeasibility {
        let mut buffers: Vec<BufferId> = self.prepared.parts[self.part].ids.clone();
        buffers.sort_unstable();
        Infeasibility::Subproblem { buffers }
    }

    /// Adds this attempt's effort to `stats`.
    fn add_to(&self, stats: &mut Stats) {
        stats.nodes += self.done_nodes + self.search.as_ref().map_or(0, |s| s.nodes);
        stats.backtracks += self.done_backtracks + self.search.as_ref().map_or(0, |s| s.backtracks);
    }
}

#[cfg(test)]
mod tests;
