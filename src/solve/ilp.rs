//! `ilp`: the layout problem as a mixed-integer programme, solved by
//! good_lp's pure-Rust microlp backend (branch and bound over an LP
//! relaxation).
//!
//! Each independent sub-problem (a connected component of the interference
//! graph, [`smemplan_core::interference::Graph::components`]) starts from the best of
//! the greedy layouts. When that is not good enough (above the capacity, or,
//! when minimising, above what the whole problem needs anyway), a layout
//! that stacks the classes of a colouring of the graph (`Subproblem::colour`, a
//! warm start), a short canonical dive (`Subproblem::dive`, the primal heuristic)
//! and then a local search over placement orders try to improve it (see
//! `Subproblem::polish`: on most random instances they reach the lower bound,
//! and then no model is needed). Only then is the sub-problem modelled: a
//! model is asked for layouts with peak ≤ `top` (the capacity, or one unit
//! below the best peak known) and told that peaks up to `target` are all
//! equally good. Sizes, offsets and addresses are counted
//! in units of `u`, the gcd of every size, fixed offset and alignment > 1:
//! no optimal layout needs finer offsets, since placing buffers bottom-up at
//! their lowest fit only ever produces multiples of `u`.
//!
//! ```text
//!  minimise P  subject to
//!    lo_i ≤ o_i ≤ hi_i                offset of i; o_i = a_i·k_i, k_i integer, when a_i > 1
//!    o_i + s_i ≤ P,  target ≤ P ≤ top,  P ≥ max live, P integer
//!  for each interfering pair {i, j} (live at a common instant), z = [i below j]:
//!    o_i + s_i ≤ o_j + M_ij·(1 − z)   M_ij = hi_i + s_i − lo_j, the least big-M that works
//!    o_j + s_j ≤ o_i + M_ji·z
//!  for each maximal clique K of the interference graph and each i in K:
//!    o_i     ≥ Σ_{j∈K∖i} s_j·[j below i]         what lies below i stacks under it
//!    P − s_i ≥ o_i + Σ_{j∈K∖i} s_j·[i below j]   and what lies above, over it
//! ```
//!
//! ```text
//!  address        a pair's two branches          a clique's cuts
//!    ^              z = 1        z = 0            P +-----+
//!    |              +---+        +---+              |  c  |   o_c ≥ s_a + s_b
//!    |              | j |        | i |              |  b  |   when a and b lie below c
//!    |              +---+        +---+              |  a  |
//!    |              | i |        | j |            0 +-----+
//!    +---> time     +---+        +---+                 t
//! ```
//!
//! Before the solver runs, bounds are propagated: a fixed buffer is one with
//! `lo = hi`, a pair that fits only one way round gets that order as a plain
//! constraint (no binary) and pushes the bounds of both, and identical
//! buffers (same size, alignment, lifetime and gaps, none fixed) are stacked
//! in id order, which loses nothing because any layout can swap them. The
//! clique cuts make the relaxation at least as strong as the max-live lower
//! bound (the two cuts of any `i` in `K` add up to `P ≥ Σ_K s`) and much
//! stronger once orders are fixed; big-M rows alone let every buffer sit at
//! 0. On 50 random instances of 16 buffers they cut the worst solve time
//! from 3.5 s to 0.2 s (without polishing, which hides the model's speed).
//!
//! Minimising, one branch and bound runs below the best peak known; since the
//! peak is a whole number of units, it stops as soon as the best layout is
//! within one unit of the bound (a relative MIP gap of `0.999 / top`), which
//! proves it. With a capacity, it stops at the first layout that fits, and
//! an infeasible model proves the capacity too small for that sub-problem.
//!
//! The solver's offsets are never trusted as they are: the buffers are
//! re-placed by [`greedy::first_fit`] in order of the solver's offsets,
//! which gives exact offsets, valid by construction and no higher than the
//! solver's, and the result is checked again by [`smemplan_core::check`]. Anything
//! that fails keeps the best layout known. A peak is reported optimal only when
//! the solver proved it and the re-placed layout reaches it exactly.
//!
//! Deadline: the whole problem's best greedy layout comes first (the
//! sweep's on a large problem), and is the answer whenever the deadline
//! cuts the setup short: every setup step polls it (the graph is not built
//! when its predicted cost exceeds the time left), and only sub-problems
//! above what they need get an analysis and a greedy run of their own.
//! microlp takes a time limit, set to what is left of
//! [`SolveOptions::deadline`] before each sub-problem's model, and a model
//! whose predicted building cost exceeds the time left is not started; the
//! deadline and cancellation are also checked between sub-problems, and
//! whatever is unsolved then keeps its best layout so far (not
//! [`super::Status::Optimal`]). Cancellation cannot interrupt a model
//! already in the solver.

use super::{exact, greedy, live_bytes_reason, local, Infeasibility, Solution, SolveOptions, Solver, Stats};
use crate::error::{Error, Result};
use good_lp::{
    microlp, variable, Expression, ProblemVariables, ResolutionError, Solution as _, SolutionStatus, SolverModel,
    Variable, WithMipGap, WithTimeLimit,
};
use smemplan_core::analysis::Analysis;
use smemplan_core::arith::{align_down, align_up, gcd};
use smemplan_core::interference;
use smemplan_core::problem::{Buffer, BufferId, Layout, Problem};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Most interfering pairs a sub-problem may have for `ilp` to model it (one
/// binary per pair). Far below this, microlp's branch and bound already
/// needs seconds on unlucky random instances; past it, [`Ilp`] returns
/// [`Error::Unsupported`] so that callers pick another solver. Only
/// sub-problems that need a model count: one that a greedy layout already
/// solves is never refused.
pub const MAX_PAIRS: usize = 1500;

/// Problems with more interfering pairs than this (counted by a sweep,
/// before any graph is built) are refused at once.
pub const MAX_TOTAL_PAIRS: u64 = 1 << 22;

/// Longest the canonical dive for a layout at the target may take before
/// polishing (`Subproblem::dive`); it usually needs a millisecond or nothing.
pub const DIVE_TIME: Duration = Duration::from_millis(50);

/// Largest peak, in units of a sub-problem's gcd, that a model can carry:
/// microlp keeps integer variables in `i32`.
pub const MAX_UNITS: u64 = i32::MAX as u64;

/// The ILP solver (both modes; see the module docs). Each field switches
/// one technique that only ever speeds the search up, so that tests can
/// check that none of them changes an answer; all are on by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ilp {
    /// Improve the greedy upper bound by a short canonical dive and local
    /// search before modelling.
    pub polish: bool,
    /// Add the clique cuts to the pairwise big-M rows.
    pub clique_cuts: bool,
    /// Stack identical buffers in id order instead of leaving it open.
    pub symmetry: bool,
}

impl Default for Ilp {
    fn default() -> Self {
        Ilp { polish: true, clique_cuts: true, symmetry: true }
    }
}

impl Solver for Ilp {
    fn name(&self) -> &'static str {
        "ilp"
    }

    fn solve(&self, analysis: &Analysis, options: &SolveOptions) -> Result<Solution> {
        self.solve_all(analysis, options)
    }
}

/// One independent sub-problem and the best layout known for it.
struct Subproblem<'a> {
    /// Its buffers, by id in the whole problem (sub-problem id `i` is `ids[i]`).
    ids: Vec<BufferId>,
    /// The sub-problem, analysed once for the greedy, the bound, the local
    /// search and the dive.
    sub: &'a Analysis<'a>,
    /// The best layout known, and its peak: greedy at first, then polished.
    best: Layout,
    best_peak: u64,
    /// Max live bytes of the sub-problem.
    lower: u64,
    pairs: Vec<(BufferId, BufferId)>,
    /// Bytes per model unit: the gcd of every size, fixed offset and
    /// alignment > 1. Every peak worth trying is a multiple of it.
    unit: u64,
}

impl<'a> Subproblem<'a> {
    fn new(ids: Vec<BufferId>, sub: &'a Analysis<'a>, options: &SolveOptions) -> Result<Self> {
        let greedy = greedy::best(sub, options)?;
        let (best, best_peak) = (greedy.layout, greedy.peak);
        let lower = sub.lower_bound().bytes;
        let pairs = sub.graph().pairs();
        let unit = sub.problem().buffers().iter().fold(0, |u, b| {
            let u = gcd(gcd(u, b.size), b.offset.unwrap_or(0));
            if b.alignment > 1 {
                gcd(u, b.alignment)
            } else {
                u
            }
        });
        Ok(Subproblem { ids, sub, best, best_peak, lower, pairs, unit })
    }

    /// Improves the best layout by local search ([`local::polish`]) until
    /// its peak is at most `good_enough`. This is the upper bound the model
    /// starts from: the better it is, the smaller the model's `top` and
    /// big-M constants, and on most random instances it reaches the lower
    /// bound, which leaves no model to solve.
    fn polish(&mut self, good_enough: u64, options: &SolveOptions) -> Result<()> {
        if let Some(layout) = local::polish(self.sub, &self.best, good_enough, options)? {
            self.best_peak = layout.peak(self.sub.problem());
            self.best = layout;
        }
        Ok(())
    }

    /// A warm start from a colouring of the interference graph
    /// ([`smemplan_core::interference::Graph::colouring`]): buffers of one colour
    /// never interfere, so first fit class by class (each by size,
    /// descending) stacks them in bands, which sometimes beats every greedy
    /// order. Kept if lower.
    fn colour(&mut self) -> Result<()> {
        let sub = self.sub.problem();
        let colours = self.sub.graph().colouring();
        let mut order: Vec<BufferId> = sub.ids().collect();
        order.sort_by_key(|&id| (colours[id.index()], std::cmp::Reverse(sub.buffer(id).size), id));
        let layout = greedy::first_fit(sub, &order)?;
        let peak = layout.peak(sub);
        if peak < self.best_peak {
            (self.best, self.best_peak) = (layout, peak);
        }
        Ok(())
    }

    /// Looks for a layout within `target` by a short canonical search
    /// ([`exact::solve_capacity`], at most [`DIVE_TIME`]), as a MIP solver
    /// runs a primal heuristic before branching. microlp's branch and bound
    /// is weak at finding layouts: on about 0.3 % of random 20–30 buffer
    /// problems neither it nor polishing reached a layout at the lower
    /// bound within a second, which this dive finds in a millisecond. A
    /// layout found here ends the group's work when it meets the target; the
    /// model remains what proves optima above the lower bound.
    fn dive(&mut self, target: u64, options: &SolveOptions) {
        let limit = options
            .deadline
            .map_or(DIVE_TIME, |d| d.saturating_duration_since(Instant::now()).mul_f64(0.1).min(DIVE_TIME));
        let short = options.clone().with_time_limit(limit);
        if let (exact::Outcome::Feasible(layout), _) =
            exact::solve_capacity_with_stats(self.sub, target, &short, &exact::ExactParams::default())
        {
            let peak = layout.peak(self.sub.problem());
            if peak < self.best_peak {
                (self.best, self.best_peak) = (layout, peak);
            }
        }
    }

    /// Why this group is beyond the model, if it is.
    fn beyond_reach(&self) -> Option<String> {
        if self.pairs.len() > MAX_PAIRS {
            Some(format!(
                "an independent sub-problem of {} buffers has {} interfering pairs; the ILP models at most {MAX_PAIRS}",
                self.ids.len(),
                self.pairs.len()
            ))
        } else if self.best_peak / self.unit > MAX_UNITS {
            Some(format!(
                "an independent sub-problem spans {} units of {} bytes; the ILP handles at most {MAX_UNITS}",
                self.best_peak / self.unit,
                self.unit
            ))
        } else {
            None
        }
    }
}

impl Ilp {
    fn solve_all(&self, analysis: &Analysis, options: &SolveOptions) -> Result<Solution> {
        let problem = analysis.problem();
        let capacity = options.capacity_for(problem);
        // The graph holds every pair: past a few million it alone takes
        // seconds and gigabytes, and no model that size is solved.
        let stop = || options.expired();
        let pairs = match interference::pairs_at_most_until(problem, &stop) {
            Some(pairs) if pairs <= MAX_TOTAL_PAIRS => pairs,
            Some(pairs) => {
                let reason =
                    format!("{pairs} interfering pairs; the ILP builds its graph for at most {MAX_TOTAL_PAIRS}");
                return Err(Error::Unsupported { strategy: "ilp".into(), reason });
            }
            None => {
                let mut cut = greedy::best(analysis, options)?;
                cut.cut_short();
                return Ok(cut);
            }
        };
        // The whole problem's best greedy layout first (the sweep's on a
        // large one; it polls the deadline): the answer when it settles the
        // question, and whenever the deadline cuts the setup below short.
        let whole = greedy::best(analysis, options)?;
        if whole.is_optimal() || whole.infeasibility().is_some() || capacity.is_some_and(|c| whole.peak <= c) {
            return Ok(whole);
        }
        let cut = |mut whole: Solution| {
            whole.cut_short();
            Ok(whole)
        };
        let Some(lb) = analysis.lower_bound_until(&stop) else { return cut(whole) };
        if stop() || !graph_fits(problem.len(), pairs, options) {
            return cut(whole);
        }
        let parts = analysis.graph().components();
        if stop() {
            return cut(whole);
        }

        let mut infeasible = None;
        // A group whose best peak is at most this needs no model: the
        // capacity, or (minimising) what the whole problem needs anyway.
        let good_enough = match capacity {
            Some(c) if c < lb.bytes => {
                infeasible = Some(live_bytes_reason(problem, lb));
                u64::MAX
            }
            Some(c) => c,
            None => lb.bytes,
        };
        // Each group starts from the whole layout (valid for any subset of
        // the buffers): only those above `good_enough` get a sub-problem, an
        // analysis and a greedy run of their own, so a million groups that
        // need nothing cost one pass (issue 19: 5.7–7.0 s at a one-second
        // limit on a million disjoint buffers).
        let mut offsets = whole.layout.offsets.clone();
        let group_peak =
            |ids: &[BufferId]| ids.iter().map(|&id| offsets[id.index()] + problem.buffer(id).size).max().unwrap_or(0);
        let (needy, fine): (Vec<Vec<BufferId>>, Vec<Vec<BufferId>>) =
            parts.into_iter().partition(|ids| group_peak(ids) > good_enough);
        let mut worst = fine.iter().map(|ids| group_peak(ids)).max().unwrap_or(0);
        drop(fine);
        let mut subs = Vec::with_capacity(needy.len());
        for ids in &needy {
            if stop() {
                return cut(whole);
            }
            subs.push(problem.subproblem(ids));
        }
        let analyses: Vec<Analysis> = subs.iter().map(Analysis::new).collect();
        let mut groups = Vec::with_capacity(needy.len());
        for (ids, sub) in needy.into_iter().zip(&analyses) {
            if stop() {
                return cut(whole);
            }
            let mut g = Subproblem::new(ids, sub, options)?;
            // The whole layout's offsets may beat the group's own greedy.
            let restricted = Layout::new(g.ids.iter().map(|&id| whole.layout.offsets[id.index()]).collect());
            let peak = restricted.peak(sub.problem());
            if peak < g.best_peak {
                (g.best, g.best_peak) = (restricted, peak);
            }
            groups.push(g);
        }
        if let Some(reason) = groups.iter().filter(|g| g.best_peak > good_enough).find_map(Subproblem::beyond_reach) {
            return Err(Error::Unsupported { strategy: "ilp".into(), reason });
        }

        // Worst groups first: once they are solved, the others often no
        // longer matter to the peak.
        groups.sort_by_key(|g| (std::cmp::Reverse(g.best_peak), g.ids[0]));
        let mut bound = lb.bytes;
        let mut stats = Stats::default();
        // A model not started for want of time.
        let mut unstarted = false;
        for g in &mut groups {
            // Minimising, a group need not go below the peak already proven
            // necessary, nor below the peak another group already has.
            let target = capacity.unwrap_or(good_enough.max(bound).max(worst));
            let skip = infeasible.is_some() || options.expired();
            if self.polish && g.best_peak > target && !skip {
                g.colour()?;
            }
            if self.polish && g.best_peak > target && !skip {
                g.dive(target, options);
            }
            if self.polish && g.best_peak > target && !skip {
                g.polish(target, options)?;
            }
            let (layout, group_bound) = if g.best_peak <= target || skip {
                (g.best.clone(), g.lower)
            } else if capacity.is_some() {
                match self.model(
                    g,
                    Question { top: target, target: 0, first: true },
                    options,
                    &mut stats,
                    &mut unstarted,
                ) {
                    Answer::Refuted => {
                        infeasible = Some(Infeasibility::Subproblem { buffers: g.ids.clone() });
                        (g.best.clone(), (target / g.unit + 1) * g.unit)
                    }
                    Answer::Layout { layout, bound } => (layout.unwrap_or_else(|| g.best.clone()), bound),
                }
            } else {
                match self.model(
                    g,
                    Question { top: g.best_peak - 1, target, first: false },
                    options,
                    &mut stats,
                    &mut unstarted,
                ) {
                    Answer::Refuted => (g.best.clone(), g.best_peak),
                    Answer::Layout { layout, bound } => (layout.unwrap_or_else(|| g.best.clone()), bound),
                }
            };
            worst = worst.max(layout.peak(g.sub.problem()));
            bound = bound.max(group_bound);
            for (&id, &o) in g.ids.iter().zip(&layout.offsets) {
                offsets[id.index()] = o;
            }
        }
        let mut solution = Solution::new(problem, Layout::new(offsets), bound, false);
        // Every group's layout is at or below the whole one's there.
        debug_assert!(solution.peak <= whole.peak);
        if let Some(why) = infeasible {
            solution.refute(why);
        }
        if unstarted || options.expired() {
            solution.cut_short();
        }
        // Named here, not by `run_with`: under `auto` the layout was
        // otherwise credited to `auto`.
        solution.stats = Stats { winner: "ilp".into(), ..stats };
        Ok(solution)
    }
}

/// Terms (coefficients of its rows) a model is built and started with per
/// second, at least: a model whose terms need more than the time left is
/// not started. A conservative guess, not a measurement: building a
/// good_lp expression term costs well under a microsecond, and microlp's
/// own time limit bounds the solve once it is built.
const MODEL_TERMS_PER_SECOND: f64 = 1e6;

/// Buffers and interfering pairs the interference graph and its components
/// take in per second, at least (measured: 0.08 s for a million buffers
/// and a million pairs, 0.25 s for a million buffers and no pairs, 0.13 s
/// for half a million and two million pairs, on this 2-core machine at a
/// load of 3; the constant leaves room for a loaded one).
const GRAPH_ITEMS_PER_SECOND: f64 = 2e6;

/// Whether the interference graph of `buffers` and at most `pairs`
/// interfering pairs (not polled while built) can be built in the time
/// left: `false` when the deadline would pass first.
fn graph_fits(buffers: usize, pairs: u64, options: &SolveOptions) -> bool {
    let Some(deadline) = options.deadline else { return true };
    let items = buffers as f64 + pairs as f64;
    let left = deadline.saturating_duration_since(Instant::now()).as_secs_f64();
    items / GRAPH_ITEMS_PER_SECOND <= left
}

/// What a model is asked, in bytes.
#[derive(Clone, Copy)]
struct Question {
    /// Only layouts with peak ≤ `top` count.
    top: u64,
    /// Peaks up to `target` are all equally good (the model minimises
    /// `max(peak, target)`).
    target: u64,
    /// Stop at the first layout found instead of proving the best one.
    first: bool,
}

/// What a model says.
enum Answer {
    /// No layout has peak ≤ `top`.
    Refuted,
    /// The best layout found, valid and within `top` (`None` when the solver
    /// found none in time, or failed), and a proven lower bound on the
    /// sub-problem's optimum (at least its max live bytes).
    Layout { layout: Option<Layout>, bound: u64 },
}

/// The stacking order of an interfering pair `(i, j)`, `i < j`.
#[derive(Clone, Copy)]
enum Order {
    /// `i` lies below `j` in every layout of the model.
    Below,
    /// `i` lies above `j`.
    Above,
    /// Binary variable: 1 when `i` lies below `j`.
    Choice(Variable),
}

/// The model's view of one buffer, in units.
struct Item {
    size: u64,
    /// Alignment in units (offsets are multiples of it).
    align: u64,
    lo: u64,
    hi: u64,
    fixed: bool,
}

/// Whether two buffers are interchangeable: any layout may swap them.
fn identical(a: &Buffer, b: &Buffer) -> bool {
    a.offset.is_none()
        && b.offset.is_none()
        && a.size == b.size
        && a.alignment == b.alignment
        && a.lifetime == b.lifetime
        && a.gaps == b.gaps
}

impl Ilp {
    /// Builds, solves and reads back the model of `g` for question `q`.
    fn model(&self, g: &Subproblem, q: Question, options: &SolveOptions, stats: &mut Stats, cut: &mut bool) -> Answer {
        let (sub, unit) = (g.sub.problem(), g.unit);
        let (top, target) = (q.top / unit, q.target / unit);
        let unknown = Answer::Layout { layout: None, bound: g.lower };
        let mut items = Vec::with_capacity(sub.len());
        for b in sub.buffers() {
            let size = b.size / unit;
            let align = if b.alignment > 1 { b.alignment / unit } else { 1 };
            let item = match b.offset {
                Some(o) => Item { size, align, lo: o / unit, hi: o / unit, fixed: true },
                None if size <= top => Item { size, align, lo: 0, hi: align_down(top - size, align), fixed: false },
                None => return Answer::Refuted,
            };
            if item.lo + item.size > top {
                return Answer::Refuted;
            }
            items.push(item);
        }

        // Pairs whose order is forced by symmetry or bounds; the rest get binaries.
        let mut forced: HashMap<(usize, usize), bool> = HashMap::new();
        for &(a, b) in g.pairs.iter().filter(|_| self.symmetry) {
            if identical(sub.buffer(a), sub.buffer(b)) {
                forced.insert((a.index(), b.index()), true);
            }
        }
        if !propagate(&mut items, &g.pairs, &mut forced) {
            return Answer::Refuted;
        }
        let floor = items.iter().map(|it| it.lo + it.size).fold(g.lower.div_ceil(unit).max(target), u64::max);
        if floor > top {
            return Answer::Refuted;
        }

        // Not started when building and solving it would outlast the
        // deadline (microlp's own limit only starts once it is built, and a
        // model of thousands of cliques takes seconds to build): the group
        // keeps its best layout, cut short.
        let cuts = if self.clique_cuts { cliques(g.sub) } else { Vec::new() };
        let terms = cuts.iter().map(|c| c.len() * c.len()).sum::<usize>() + 6 * g.pairs.len() + 2 * items.len();
        if let Some(deadline) = options.deadline {
            let left = deadline.saturating_duration_since(Instant::now()).as_secs_f64();
            if terms as f64 / MODEL_TERMS_PER_SECOND > left {
                *cut = true;
                return unknown;
            }
        }

        let mut vars = ProblemVariables::new();
        let offset_vars: Vec<Option<Variable>> = items
            .iter()
            .map(|it| {
                (!it.fixed).then(|| {
                    if it.align > 1 {
                        vars.add(variable().integer().min((it.lo / it.align) as f64).max((it.hi / it.align) as f64))
                    } else {
                        vars.add(variable().min(it.lo as f64).max(it.hi as f64))
                    }
                })
            })
            .collect();
        let offset = |i: usize| -> Expression {
            match offset_vars[i] {
                Some(v) => (items[i].align as f64) * v,
                None => Expression::from(items[i].lo as f64),
            }
        };
        let peak = vars.add(variable().integer().min(floor as f64).max(top as f64));
        let mut orders: HashMap<(usize, usize), Order> = HashMap::with_capacity(g.pairs.len());
        for &(a, b) in &g.pairs {
            let key = (a.index(), b.index());
            let order = match forced.get(&key) {
                Some(true) => Order::Below,
                Some(false) => Order::Above,
                None => Order::Choice(vars.add(variable().binary())),
            };
            orders.insert(key, order);
        }
        // `[i below j]` as an expression.
        let below = |i: usize, j: usize| -> Expression {
            let (key, flip) = if i < j { ((i, j), false) } else { ((j, i), true) };
            match (orders[&key], flip) {
                (Order::Below, false) | (Order::Above, true) => Expression::from(1.0),
                (Order::Below, true) | (Order::Above, false) => Expression::from(0.0),
                (Order::Choice(z), false) => Expression::from(z),
                (Order::Choice(z), true) => 1.0 - z,
            }
        };

        let mut lp = vars.minimise(peak).using(microlp);
        for (i, it) in items.iter().enumerate() {
            if !it.fixed {
                lp.add_constraint((offset(i) + it.size as f64).leq(peak));
            }
        }
        for &(a, b) in &g.pairs {
            let (i, j) = (a.index(), b.index());
            let (si, sj) = (items[i].size as f64, items[j].size as f64);
            match orders[&(i, j)] {
                Order::Choice(z) => {
                    let m_ij = (items[i].hi + items[i].size - items[j].lo) as f64;
                    let m_ji = (items[j].hi + items[j].size - items[i].lo) as f64;
                    lp.add_constraint((offset(i) + si - offset(j)).leq(m_ij * (1.0 - z)));
                    lp.add_constraint((offset(j) + sj - offset(i)).leq(m_ji * z));
                }
                // A forced order involving a fixed buffer is already in the bounds.
                _ if items[i].fixed || items[j].fixed => {}
                Order::Below => {
                    lp.add_constraint((offset(i) + si).leq(offset(j)));
                }
                Order::Above => {
                    lp.add_constraint((offset(j) + sj).leq(offset(i)));
                }
            }
        }
        for clique in cuts {
            for &i in &clique {
                let mut under = Expression::from(0.0);
                let mut over = Expression::from(0.0);
                for &j in &clique {
                    if j != i {
                        let sj = items[j].size as f64;
                        under += sj * below(j, i);
                        over += sj * below(i, j);
                    }
                }
                if !items[i].fixed {
                    lp.add_constraint(under.leq(offset(i)));
                }
                lp.add_constraint((offset(i) + items[i].size as f64 + over).leq(peak));
            }
        }

        // Minimising, the peak is a whole number of units, so a layout within
        // less than one unit of the bound is optimal: a relative gap below
        // 1 / top stops there, and nothing smaller is needed.
        let gap = if q.first { 1e30 } else { 0.999 / top.max(1) as f32 };
        let Ok(mut lp) = lp.with_mip_gap(gap) else {
            return unknown;
        };
        if let Some(deadline) = options.deadline {
            lp = lp.with_time_limit(deadline.saturating_duration_since(Instant::now()).as_secs_f64());
        }
        stats.attempts += 1;
        let solved = match lp.solve() {
            Ok(s) => s,
            Err(ResolutionError::Infeasible) => return Answer::Refuted,
            // Out of time before any layout, or a numerical failure.
            Err(_) => return unknown,
        };
        let proven = !q.first && matches!(solved.status(), SolutionStatus::Optimal | SolutionStatus::GapLimit);
        let claimed = solved.value(peak).round() as u64;
        let mut order: Vec<(f64, usize)> = (0..items.len())
            .map(|i| {
                (offset_vars[i].map_or(items[i].lo as f64, |v| solved.value(v) * items[i].align as f64).round(), i)
            })
            .collect();
        let inner = solved.into_inner().stats();
        stats.nodes += inner.nodes_solved;

        // Re-place the buffers in the solver's order (see `greedy::first_fit`).
        order.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let order: Vec<BufferId> = order.into_iter().map(|(_, i)| BufferId(i as u32)).collect();
        let layout = match greedy::first_fit(sub, &order) {
            // First fit honours every constraint but the top by construction.
            Ok(l) if l.peak(sub) <= q.top => l,
            _ => return unknown,
        };
        let reached = layout.peak(sub) / unit;
        // The solver bounds max(peak, target) over layouts within `top`; layouts
        // above `top` exceed it anyway. Only a bound above `target` says
        // something about this sub-problem.
        let model_bound = if proven && reached == claimed {
            claimed
        } else {
            inner.best_bound.map_or(0, |b| ((b - 1e-6).ceil().max(0.0) as u64).min(top + 1))
        };
        let bound = if model_bound > target { g.lower.max(model_bound * unit) } else { g.lower };
        Answer::Layout { layout: Some(layout), bound }
    }
}

/// Tightens bounds and orders to a fixpoint: an order that the bounds rule
/// out is dropped, a pair left with one order gets it, and a forced order
/// pushes bounds (`i` below `j` means `lo_j ≥ lo_i + s_i` and
/// `hi_i ≤ hi_j − s_i`). Returns false when some buffer or pair has no room
/// left: no layout within `top` exists.
fn propagate(items: &mut [Item], pairs: &[(BufferId, BufferId)], forced: &mut HashMap<(usize, usize), bool>) -> bool {
    // Each round either changes a bound or stops; bounds only shrink, and
    // the round cap keeps a slow crawl from costing more than the model.
    for _ in 0..=items.len() {
        let mut changed = false;
        for &(a, b) in pairs {
            let (i, j) = (a.index(), b.index());
            let i_below = items[i].lo + items[i].size <= items[j].hi;
            let j_below = items[j].lo + items[j].size <= items[i].hi;
            let order = match (forced.get(&(i, j)).copied(), i_below, j_below) {
                (Some(true), false, _) | (Some(false), _, false) | (None, false, false) => return false,
                (Some(o), _, _) => o,
                (None, true, false) => true,
                (None, false, true) => false,
                (None, true, true) => continue,
            };
            forced.insert((i, j), order);
            let (lower, upper) = if order { (i, j) } else { (j, i) };
            // Bounds stay ≤ `top` ≤ MAX_UNITS, far from overflow; a saturated
            // `lo` would only read as "no room".
            let lo = align_up(items[lower].lo + items[lower].size, items[upper].align).unwrap_or(u64::MAX);
            if lo > items[upper].lo {
                items[upper].lo = lo;
                changed = true;
            }
            let hi = align_down(items[upper].hi - items[lower].size, items[lower].align);
            if hi < items[lower].hi {
                items[lower].hi = hi;
                changed = true;
            }
            if items[upper].lo > items[upper].hi || items[lower].lo > items[lower].hi {
                return false;
            }
        }
        if !changed {
            return true;
        }
    }
    true
}

/// Sub-problems of at most this many buffers take every maximal clique of
/// their interference graph as cuts (Bron–Kerbosch, whose count of cliques
/// can grow as `3^(n/3)` where lifetime holes break the interval
/// structure); larger ones, and any with more than [`MAX_CLIQUES`], the
/// maximal live sets.
const CLIQUE_MAX_BUFFERS: usize = 40;

/// Most maximal cliques a model takes as cuts.
const MAX_CLIQUES: usize = 4096;

/// The cliques a model cuts with (sub-problem indices), each of at least two
/// buffers; every interfering pair lies in one. The maximal cliques of the
/// interference graph: without lifetime holes, these are the maximal live
/// sets; with them, also sets that pairwise meet but never all at once,
/// whose cuts the live sets miss.
fn cliques(sub: &Analysis) -> Vec<Vec<usize>> {
    let all = (sub.problem().len() <= CLIQUE_MAX_BUFFERS).then(|| sub.graph().maximal_cliques(MAX_CLIQUES)).flatten();
    match all {
        Some(all) => {
            all.into_iter().filter(|c| c.len() >= 2).map(|c| c.into_iter().map(BufferId::index).collect()).collect()
        }
        None => live_sets(sub.problem()),
    }
}

/// The maximal sets of buffers live at one instant (sub-problem indices),
/// each of at least two buffers. Every interfering pair lies in one.
fn live_sets(sub: &Problem) -> Vec<Vec<usize>> {
    let mut starts: Vec<u64> = sub.buffers().iter().flat_map(|b| b.segments().map(|s| s.start)).collect();
    starts.sort_unstable();
    starts.dedup();
    let sets: Vec<Vec<usize>> =
        starts.iter().map(|&t| interference::live_at(sub, t).into_iter().map(BufferId::index).collect()).collect();
    // A live set contained in the next one adds nothing.
    let subset = |a: &[usize], b: &[usize]| a.iter().all(|x| b.binary_search(x).is_ok());
    sets.iter()
        .enumerate()
        .filter(|(k, s)| s.len() >= 2 && !sets.get(k + 1).is_some_and(|next| subset(s, next)))
        .map(|(_, s)| s.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{interlock, triangle};
    use crate::{brute, run};
    use smemplan_core::check::check;
    use smemplan_core::problem::Interval;
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;

    fn problem(buffers: Vec<Buffer>) -> Problem {
        Problem::new(buffers, None).unwrap()
    }

    /// Runs `ilp` and checks the layout, whatever the outcome.
    fn solve(p: &Problem, options: &SolveOptions) -> Solution {
        let s = run(&Ilp::default(), p, options).unwrap();
        crate::verify(p, &s).unwrap();
        s
    }

    /// Max live bytes 7, reached by a layout, but all three greedy
    /// strategies need 8.
    fn greedy_misses() -> Problem {
        problem(vec![
            Buffer::new("b0", 4, 5, 4),
            Buffer::new("b1", 2, 4, 2),
            Buffer::new("b2", 0, 4, 1),
            Buffer::new("b3", 5, 9, 3),
            Buffer::new("b4", 3, 6, 1),
            Buffer::new("b5", 8, 10, 4),
        ])
    }

    /// [`interlock`] (max live bytes 16, optimum 18) and `z`, a sub-problem
    /// of its own.
    fn interlock_and_a_loner() -> Problem {
        let mut buffers = interlock().buffers().to_vec();
        buffers.push(Buffer::new("z", 10, 11, 1));
        problem(buffers)
    }

    /// Alignments, a hole and a fixed offset: max live 16, optimum 19 (the
    /// lower bound, from padding at instant 10), greedy 20.
    fn constrained() -> Problem {
        problem(vec![
            Buffer::new("b0", 10, 12, 5).with_alignment(8),
            Buffer::new("b1", 11, 12, 3).with_alignment(8),
            Buffer::new("b2", 9, 12, 7),
            Buffer::new("b3", 6, 9, 7).with_alignment(2).with_gaps(vec![Interval::new(7, 8)]),
            Buffer::new("b4", 7, 11, 4).with_alignment(8).with_gaps(vec![Interval::new(8, 10)]),
            Buffer::new("b5", 8, 10, 2).with_offset(7),
        ])
    }

    /// The one group of a problem that has one, as `solve` builds it (the
    /// greedy layout, not yet polished).
    fn only_group<'a>(a: &'a Analysis<'a>) -> Subproblem<'a> {
        let mut parts = interference::partitions(a.problem());
        assert_eq!(parts.len(), 1);
        Subproblem::new(parts.remove(0), a, &SolveOptions::default()).unwrap()
    }

    /// Asks the model of `p` whether `top` is reachable.
    fn ask(p: &Problem, top: u64) -> Answer {
        let a = Analysis::new(p);
        let g = only_group(&a);
        Ilp::default().model(
            &g,
            Question { top, target: 0, first: false },
            &SolveOptions::default(),
            &mut Stats::default(),
            &mut false,
        )
    }

    #[test]
    fn the_model_finds_what_greedy_misses() {
        let p = greedy_misses();
        assert_eq!(only_group(&Analysis::new(&p)).best_peak, 8);
        match ask(&p, 7) {
            Answer::Layout { layout: Some(layout), bound } => {
                assert_eq!(layout.peak(&p), 7);
                assert_eq!(bound, 7);
                assert!(check(&p, &layout.named(&p), Some(7)).is_valid());
            }
            _ => panic!("a layout of peak 7 exists"),
        }
        assert!(matches!(ask(&p, 6), Answer::Refuted));
    }

    #[test]
    fn the_model_honours_alignment_holes_and_fixed_offsets() {
        let p = constrained();
        assert_eq!(brute::minimum(&p).unwrap().0, 19);
        assert_eq!(only_group(&Analysis::new(&p)).best_peak, 20);
        match ask(&p, 19) {
            Answer::Layout { layout: Some(layout), bound } => {
                assert_eq!(layout.peak(&p), 19);
                assert_eq!(bound, 19);
                assert!(check(&p, &layout.named(&p), Some(19)).is_valid());
            }
            _ => panic!("a layout of peak 19 exists"),
        }
        assert!(matches!(ask(&p, 18), Answer::Refuted));
        let s = solve(&p, &SolveOptions::default());
        assert_eq!((s.peak, s.is_optimal()), (19, true));
    }

    #[test]
    fn proves_an_optimum_above_the_lower_bound() {
        let p = interlock_and_a_loner();
        assert_eq!(smemplan_core::bound::lower_bound(&p).bytes, 16);
        let s = solve(&p, &SolveOptions::default());
        assert_eq!((s.peak, s.lower_bound, s.is_optimal()), (18, 18, true));
        assert!(s.stats.attempts >= 1, "polishing cannot prove this; the model must");
        // Its own answer names it, before `run_with` would: `auto` calls
        // `solve` directly and credited such a layout to itself.
        let analysis = Analysis::new(&p);
        let options = SolveOptions::default().started_at(std::time::Instant::now());
        assert_eq!(Ilp::default().solve(&analysis, &options).unwrap().stats.winner, "ilp");
    }

    #[test]
    fn identical_buffers_are_stacked_in_id_order() {
        // Copies of two buffers of `interlock`: their orders are fixed
        // before the search, which must still find the optimum and refute
        // anything below it.
        let mut buffers = interlock().buffers().to_vec();
        for (name, from) in [("b0x", 0), ("b4x", 4)] {
            let mut copy = buffers[from].clone();
            copy.name = name.into();
            buffers.push(copy);
        }
        let p = problem(buffers);
        let (opt, _) = brute::minimum(&p).unwrap();
        assert!(opt > smemplan_core::bound::lower_bound(&p).bytes);
        assert!(matches!(ask(&p, opt), Answer::Layout { layout: Some(ref l), .. } if l.peak(&p) == opt));
        assert!(matches!(ask(&p, opt - 1), Answer::Refuted));
        assert_eq!(solve(&p, &SolveOptions::default()).peak, opt);
    }

    #[test]
    fn capacity_is_met_or_refuted_with_the_subproblem() {
        let p = interlock_and_a_loner();
        let fits = solve(&p, &SolveOptions::default().with_capacity(Some(18)));
        assert!(fits.peak <= 18 && fits.infeasibility().is_none());

        let s = solve(&p, &SolveOptions::default().with_capacity(Some(17)));
        let group: Vec<BufferId> = p.ids().take(8).collect();
        assert_eq!(s.infeasibility(), Some(&Infeasibility::Subproblem { buffers: group }));
        assert_eq!(s.lower_bound, 18);
        assert_eq!(s.is_optimal(), s.peak == 18);

        let s = solve(&p, &SolveOptions::default().with_capacity(Some(15)));
        assert!(matches!(s.infeasibility(), Some(Infeasibility::LiveBytes { live_bytes: 16, .. })));

        // Holes: the triangle's clique is the reason.
        let p = triangle();
        let s = solve(&p, &SolveOptions::default().with_capacity(Some(2)));
        assert!(matches!(s.infeasibility(), Some(Infeasibility::Clique { bytes: 3, .. })));
    }

    #[test]
    fn a_spent_deadline_or_cancellation_keeps_the_greedy_layout() {
        let p = interlock();
        let late = SolveOptions { deadline: Some(Instant::now()), ..Default::default() };
        let cancelled = SolveOptions { cancel: Some(Arc::new(AtomicBool::new(true))), ..Default::default() };
        for options in [late, cancelled] {
            let s = solve(&p, &options);
            assert!(!s.is_optimal());
            assert_eq!(s.stats.attempts, 0);
        }
    }

    #[test]
    fn refuses_subproblems_beyond_the_model() {
        // The greedy-missing gadget on top of 60 bigger buffers live
        // throughout: greedy stacks those first, then misses again.
        let mut buffers: Vec<Buffer> = greedy_misses()
            .buffers()
            .iter()
            .map(|b| Buffer::new(b.name.clone(), b.lifetime.start + 1, b.lifetime.end + 1, b.size))
            .collect();
        buffers.extend((0..60).map(|i| Buffer::new(format!("long{i}"), 0, 12, 5)));
        let p = problem(buffers);
        assert!(interference::interfering_pairs(&p).len() > MAX_PAIRS);
        let err = run(&Ilp::default(), &p, &SolveOptions::default()).unwrap_err();
        assert!(matches!(err, Error::Unsupported { .. }), "{err}");
        assert!(err.to_string().contains("interfering pairs"));
        // The same pairs are fine when greedy is already optimal.
        let easy = problem((0..60).map(|i| Buffer::new(format!("long{i}"), 0, 12, 5)).collect());
        assert!(solve(&easy, &SolveOptions::default()).is_optimal());
    }

    #[test]
    fn only_the_group_that_sets_the_peak_is_modelled() {
        // `greedy_misses` twice, far apart in time, the second scaled up so
        // that it alone sets the peak: the first needs no model.
        let mut buffers = greedy_misses().buffers().to_vec();
        buffers.extend(
            greedy_misses()
                .buffers()
                .iter()
                .map(|b| Buffer::new(format!("{}'", b.name), b.lifetime.start + 20, b.lifetime.end + 20, 10 * b.size)),
        );
        let p = problem(buffers);
        let s = solve(&p, &SolveOptions::default());
        assert_eq!((s.peak, s.is_optimal()), (70, true));
    }

    #[test]
    fn propagation_orders_pairs_around_fixed_buffers() {
        // A 4-byte buffer cannot fit under one fixed at 2: it must go above.
        let mut items = vec![
            Item { size: 2, align: 1, lo: 2, hi: 2, fixed: true },
            Item { size: 4, align: 1, lo: 0, hi: 4, fixed: false },
        ];
        let pairs = [(BufferId(0), BufferId(1))];
        let mut forced = HashMap::new();
        assert!(propagate(&mut items, &pairs, &mut forced));
        assert!(forced[&(0, 1)]);
        assert_eq!((items[1].lo, items[1].hi), (4, 4));
        // With 7 units there is no room at all.
        items[1] = Item { size: 4, align: 1, lo: 0, hi: 3, fixed: false };
        assert!(!propagate(&mut items, &pairs, &mut HashMap::new()));
    }

    #[test]
    fn cliques_are_the_maximal_cliques_of_the_graph() {
        let p = problem(vec![
            Buffer::new("a", 0, 2, 4),
            Buffer::new("b", 1, 3, 2),
            Buffer::new("c", 2, 5, 8),
            Buffer::new("d", 2, 3, 1),
            Buffer::new("e", 5, 6, 1),
        ]);
        assert_eq!(cliques(&Analysis::new(&p)), vec![vec![0, 1], vec![1, 2, 3]]);
        assert_eq!(live_sets(&p), vec![vec![0, 1], vec![1, 2, 3]]);
        // Through holes: the three pairwise meet, never all at once.
        let t = triangle();
        assert_eq!(cliques(&Analysis::new(&t)), vec![vec![0, 1, 2]]);
        assert!(live_sets(&t).iter().all(|s| s.len() == 2));
    }
}
