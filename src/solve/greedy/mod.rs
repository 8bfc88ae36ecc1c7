//! Greedy solvers: the fast baselines, upper bounds and fallbacks.
//!
//! Every strategy is the same engine with a different *placement order*:
//! buffers are placed one at a time, each at an offset that clears every
//! already placed buffer it interferes with (is live at the same time as).
//! Buffers with a fixed offset come first, where the input put them.
//!
//! | strategy         | order                                              | fit   |
//! |------------------|----------------------------------------------------|-------|
//! | `greedy-size`    | size descending (TFLite "greedy by size", XLA)     | best  |
//! | `greedy-breadth` | instants by live bytes descending; at each, its    | best  |
//! |                  | unplaced live buffers by size descending (TFLite;  |       |
//! |                  | instants of equal live bytes taken together)       |       |
//! | `greedy-time`    | lifetime start ascending (a stack/bump allocator)  | first |
//! | `greedy-floor`   | a canonical search's dive: the buffer that can go  | first |
//! |                  | lowest, largest first (see `floor`)                |       |
//!
//! A fit looks at the address ranges of the placed neighbours and at the
//! free holes between them. *First fit* takes the lowest hole that holds the
//! (aligned) buffer; *best fit* the tightest one. When no hole fits, the
//! buffer goes on top of its highest neighbour:
//!
//! ```text
//!  address                       placed neighbours of x (each live at some
//!  12 +             +---+        instant with x, not necessarily with each
//!     |             | c |        other): a, b, c. Holes [4, 6) and [9, 10).
//!  10 +             +---+
//!   9 +       +---+              x of size 1: first fit takes 4, best fit
//!     |       | b |              the tighter hole at 9; of size 2: both
//!   6 +       +---+              take 4; of size 3: no hole holds it, so it
//!   4 +  +---+                   goes on top, at 12.
//!     |  | a |
//!   0 +--+---+-----------------> time
//! ```
//!
//! Cost. A placement needs the address ranges of the placed buffers live
//! with the one being placed. Two indexes give them, with the same answer
//! (so the layout does not depend on which is used):
//! * when the interfering pairs `E` are few (256 a buffer on average,
//!   counted in `O(n)` from the sorted events), each buffer's neighbours
//!   placed before it are listed by one sweep over start/end events (no test
//!   of all pairs), all lists in one array, by position in time so that a
//!   placement gathers its neighbours' ranges from nearby memory, and each
//!   range one word while addresses fit in 32 bits:
//!   `O(n log n + E log d)` time for degree `d`, `O(E)` memory (issue 20:
//!   what makes 100,000 buffers, about 250 live at once, take well under a
//!   second);
//! * beyond that, a segment tree over time holds unions of taken address
//!   ranges: `O(n log n)` memory, and a query costs `O(log n)` plus the
//!   number of taken address *blocks* it gathers, so long lifetimes never
//!   build a quadratic interference graph.
//!
//! Holes are then found by a walk that drops pieces too small for the buffer
//! early (first fit stops at the first hole). On realistic instances (a
//! bounded number of buffers live at any instant) the whole is near
//! `O(n log n)`.
//!
//! Every offset is computed with checked arithmetic (an overflow is
//! [`smemplan_core::Error::Overflow`]); a placement is never higher than its neighbours'
//! top, so any layout fits in what [`Problem::new`] already checked.

mod floor;
mod holes;
mod order;
mod sweep_fit;
mod tree;

use self::floor::floor_order;
pub use self::floor::GreedyFloor;
use self::holes::{Fit, HoleSearch};
use self::order::{breadth_order, free_ids, size_order, time_order};
use self::sweep_fit::sweep_fit;
use self::tree::Blocked;
use super::{Solution, SolveOptions, Solver};
use crate::error::{Error, Result};
use smemplan_core::analysis::Analysis;
use smemplan_core::arith::align_up;
use smemplan_core::interference::{Earlier, EventSweep};
use smemplan_core::interruptible::PIECE;
use smemplan_core::problem::{Buffer, BufferId, Layout, Problem};
use std::sync::atomic::{AtomicBool, Ordering};

/// Size-descending best fit (TensorFlow Lite's "greedy by size", XLA's
/// decreasing-size best fit).
pub struct GreedySize;
/// TensorFlow Lite's "greedy by breadth": instants by live bytes,
/// descending; within one, its unplaced live buffers by size, descending;
/// best fit.
pub struct GreedyBreadth;
/// First fit in order of lifetime start (what a stack or bump allocator
/// gets).
pub struct GreedyTime;

/// Places the free buffers of `order` one by one, each at the lowest aligned
/// offset that clears its already placed neighbours (fixed buffers first, as
/// given). Fed the buffers of any valid layout in order of increasing
/// offset, it yields a valid layout whose peak is no higher (each buffer
/// lands at or below its original offset), which is how other solvers turn
/// approximate offsets into exact ones.
/// Fixed buffers in `order` are skipped: they stay where they are.
pub fn first_fit(problem: &Problem, order: &[BufferId]) -> Result<Layout> {
    first_fit_until(problem, order, &|| false)
}

/// [`first_fit`] that stacks the buffers left once `stop` says so (see
/// [`place`]).
pub(crate) fn first_fit_until(problem: &Problem, order: &[BufferId], stop: &dyn Fn() -> bool) -> Result<Layout> {
    let free: Vec<BufferId> = order.iter().copied().filter(|&id| problem.buffer(id).offset.is_none()).collect();
    place(problem, Some(free), Fit::First, stop)
}

/// What the setup of a placement (its order, its index of taken ranges)
/// polls: `stop` on problems of more than [`PIECE`] live segments; nothing
/// on smaller ones, whose setup takes a millisecond or two, so that even
/// an expired deadline gets their first [`POLL_WORK`] placed with care.
fn setup_stop<'a>(problem: &Problem, stop: &'a dyn Fn() -> bool) -> impl Fn() -> bool + 'a {
    let large = problem.segments_at_most() > PIECE;
    move || large && stop()
}

impl Solver for GreedySize {
    fn name(&self) -> &'static str {
        "greedy-size"
    }

    fn solve(&self, analysis: &Analysis, options: &SolveOptions) -> Result<Solution> {
        solve_plan(Plan::Size, analysis, options)
    }
}

impl Solver for GreedyBreadth {
    fn name(&self) -> &'static str {
        "greedy-breadth"
    }

    fn solve(&self, analysis: &Analysis, options: &SolveOptions) -> Result<Solution> {
        solve_plan(Plan::Breadth, analysis, options)
    }
}

impl Solver for GreedyTime {
    fn name(&self) -> &'static str {
        "greedy-time"
    }

    fn solve(&self, analysis: &Analysis, options: &SolveOptions) -> Result<Solution> {
        solve_plan(Plan::Time, analysis, options)
    }
}

/// The greedy strategies [`best`] runs, in order of preference on ties.
pub const ALL: [&(dyn Solver + Sync); 4] = [&GreedySize, &GreedyBreadth, &GreedyTime, &GreedyFloor];

/// The strategies of [`ALL`] as the engine sees them: an order and a fit.
#[derive(Debug, Clone, Copy)]
enum Plan {
    Size,
    Breadth,
    Time,
    Floor,
}

impl Plan {
    /// [`ALL`], in its order.
    const ALL: [Plan; 4] = [Plan::Size, Plan::Breadth, Plan::Time, Plan::Floor];

    fn solver(self) -> &'static (dyn Solver + Sync) {
        match self {
            Plan::Size => &GreedySize,
            Plan::Breadth => &GreedyBreadth,
            Plan::Time => &GreedyTime,
            Plan::Floor => &GreedyFloor,
        }
    }

    /// The free buffers in this strategy's order (`None` once `stop` says
    /// so, on a large problem: see [`setup_stop`]), and its fit.
    fn order(self, problem: &Problem, stop: &dyn Fn() -> bool) -> (Option<Vec<BufferId>>, Fit) {
        let stop = setup_stop(problem, stop);
        match self {
            Plan::Size => (size_order(problem, &stop), Fit::Best),
            Plan::Breadth => (breadth_order(problem, &stop), Fit::Best),
            Plan::Time => (time_order(problem, &stop), Fit::First),
            Plan::Floor => (floor_order(problem, &stop), Fit::First),
        }
    }
}

/// A strategy's answer on its own. On a small problem the buffers the
/// deadline leaves unplaced are stacked (see [`place`]). A large one (more
/// than [`PIECE`] live segments) gets the layout of one sweep first
/// ([`SWEEP`], as [`best`] does), and the answer is the better of the two:
/// a strategy the deadline cuts short gives up at once for the sweep's
/// layout, rather than stacking what it has left (issue 19: on a million
/// buffers that took 0.3–0.4 s past a one-second limit for a layout of
/// every buffer stacked). `stats.winner` names the sweep when its layout
/// is the answer.
fn solve_plan(plan: Plan, analysis: &Analysis, options: &SolveOptions) -> Result<Solution> {
    let problem = analysis.problem();
    let poll = Poll::new(options);
    let stop = || poll.stop();
    if problem.segments_at_most() <= PIECE {
        let (order, fit) = plan.order(problem, &stop);
        return finish(analysis, place(problem, order, fit, &stop)?, &poll);
    }
    // The sweep runs to its end whatever the deadline, beside the
    // strategy where there is a second thread (with the lower bound, which
    // the answer carries): on issue 20's dense 100,000 buffers they are a
    // fifth of the strategy's time.
    let fallback = || -> Result<Layout> {
        let layout = sweep(problem)?;
        analysis.lower_bound_until(&stop);
        Ok(layout)
    };
    let own = || -> Result<Option<Layout>> {
        if stop() {
            return Ok(None);
        }
        let (order, fit) = plan.order(problem, &stop);
        place_or_quit(problem, order, fit, &stop)
    };
    let (sweep, own) = if options.threads == 1 { (fallback(), own()) } else { rayon::join(fallback, own) };
    let (sweep, own) = (sweep?, own?);
    let (layout, winner) = match own {
        Some(own) if own.peak(problem) <= sweep.peak(problem) => (own, plan.solver().name()),
        _ => (sweep, SWEEP),
    };
    let mut solution = finish(analysis, layout, &poll)?;
    solution.stats.winner = winner.to_string();
    Ok(solution)
}

/// Fewest buffers for which [`best`] runs the strategies in parallel.
pub const PARALLEL_MIN_BUFFERS: usize = 1000;

/// Runs every greedy strategy ([`ALL`]) and keeps the smallest peak (ties go
/// to the earlier one); the answer carries the lower bound, the
/// infeasibility reason and time as [`super::run`] gives them, and the
/// winning strategy in `stats.winner`.
///
/// Meant as an upper bound or fallback for the searching solvers. They run
/// in parallel on rayon's pool unless `options.threads == 1` or the problem
/// has fewer than [`PARALLEL_MIN_BUFFERS`] buffers (where waking the pool
/// costs more than it saves).
///
/// A large problem (more than [`PIECE`] live segments) gets the layout of
/// one sweep first ([`SWEEP`], run to its end whatever the deadline: a
/// fraction of a second on a million buffers): a strategy the deadline cuts short then
/// gives up at once rather than stacking what it has left, which on a
/// million buffers costs a tenth of a second after the deadline for a
/// layout far above the sweep's.
pub fn best(analysis: &Analysis, options: &SolveOptions) -> Result<Solution> {
    use rayon::prelude::*;
    let problem = analysis.problem();
    let started = std::time::Instant::now();
    let poll = Poll::new(options);
    let stop = || poll.stop();
    let large = problem.segments_at_most() > PIECE;
    // The sweep first and to its end, whatever the deadline: it is the
    // answer of last resort, one sort and one pass (issue 19: under load the
    // bound used to take the time and the sweep, cut short, stacked a
    // million one-byte buffers into a 1,000,000-byte layout).
    let fallback = if large { Some((SWEEP, sweep(problem)?)) } else { None };
    // Then the bound, once, while there is time: every answer carries it,
    // and strategies finishing together would otherwise each compute it.
    analysis.lower_bound_until(&stop);
    // A strategy has nothing to add to a sweep that reached the lower bound
    // (one-byte buffers do), nor, on a large problem, once the deadline
    // has passed.
    let proven = fallback.as_ref().is_some_and(|(_, l)| l.peak(problem) <= analysis.lower_bound_bytes_until(&stop));
    let one = |&plan: &Plan| -> Option<Result<Named>> {
        if proven || (large && stop()) {
            return None;
        }
        let (order, fit) = plan.order(problem, &stop);
        let name = plan.solver().name();
        Some(if large {
            place_or_quit(problem, order, fit, &stop).map(|l| l.map(|l| (name, l)))
        } else {
            place(problem, order, fit, &stop).map(|l| Some((name, l)))
        })
    };
    let all: Vec<Option<Result<Named>>> = if options.threads == 1 || problem.len() < PARALLEL_MIN_BUFFERS {
        Plan::ALL.iter().map(one).collect()
    } else {
        Plan::ALL.par_iter().map(one).collect()
    };
    let mut candidates = Vec::with_capacity(Plan::ALL.len() + 1);
    for answer in all.into_iter().flatten() {
        candidates.extend(answer?);
    }
    candidates.extend(fallback);
    // The first of the lowest: `min_by_key` keeps the first of equals.
    let (name, layout) = candidates
        .into_iter()
        .map(|(name, layout)| (layout.peak(problem), name, layout))
        .min_by_key(|&(peak, _, _)| peak)
        .map(|(_, name, layout)| (name, layout))
        // A large problem has the sweep; a small one's first strategy
        // always runs, and stacks what the deadline leaves.
        .expect("the sweep or the first greedy strategy");
    let mut solution = finish(analysis, layout, &poll)?;
    super::settle(analysis, options, &mut solution);
    solution.stats.winner = name.to_string();
    solution.seconds = started.elapsed().as_secs_f64();
    Ok(solution)
}

/// A strategy's layout and name in [`best`]; `None` when it gave up, the
/// deadline cutting it short, for the sweep's layout.
type Named = Option<(&'static str, Layout)>;

/// The layout of the sweep over time that large problems fall back on
/// ([`SWEEP`]: best fit in order of start over whole lifetimes),
/// run to its end: what [`best`] and every greedy strategy must match or
/// beat on a large problem, whatever the deadline.
pub fn sweep(problem: &Problem) -> Result<Layout> {
    sweep_fit(problem, &|| false)
}

/// The name of [`best`]'s answer when the sweep's layout won (best fit in
/// order of start over whole lifetimes: see `sweep_fit`).
pub const SWEEP: &str = "sweep";

/// The deadline as a greedy run polls it, remembering whether it ever said
/// stop: a layout the deadline cut short (buffers stacked, a strategy given
/// up for the sweep, the bound unfinished) is `deadline_reached`, not
/// `unproven`.
struct Poll<'a> {
    options: &'a SolveOptions,
    fired: AtomicBool,
}

impl<'a> Poll<'a> {
    fn new(options: &'a SolveOptions) -> Self {
        Poll { options, fired: AtomicBool::new(false) }
    }

    fn stop(&self) -> bool {
        let expired = self.options.expired();
        if expired {
            self.fired.store(true, Ordering::Relaxed);
        }
        expired
    }
}

/// The answer for a greedy layout, with the lower bound unless the deadline
/// cut it short (then the trivial one: see
/// [`Analysis::lower_bound_bytes_until`]), and cut short (unless proven
/// optimal) when the deadline stopped any of the work.
fn finish(analysis: &Analysis, layout: Layout, poll: &Poll) -> Result<Solution> {
    let mut solution =
        Solution::new(analysis.problem(), layout, analysis.lower_bound_bytes_until(&|| poll.stop()), false);
    if poll.fired.load(Ordering::Relaxed) {
        solution.cut_short();
    }
    Ok(solution)
}

/// Places the fixed buffers where they are, then the free ones in `order`
/// (each free buffer exactly once), each against its placed neighbours.
///
/// `stop` is polled every [`POLL_WORK`] live segments placed, and while
/// the index of taken ranges is built (on large problems: see
/// [`setup_stop`]). Once it says so, the buffers left are stacked above
/// everything placed, each at the next aligned offset, which is valid at
/// once and one pass, so a deadline bounds even a million-buffer run.
/// `None` for the order (its computation was stopped) stacks every free
/// buffer in input order.
fn place(problem: &Problem, order: Option<Vec<BufferId>>, fit: Fit, stop: &dyn Fn() -> bool) -> Result<Layout> {
    let Some(order) = order else {
        let order = free_ids(problem);
        return stack_rest(problem, &order, place_with(problem, &order, fit, None, stop)?);
    };
    let taken = Taken::new(problem, &order, &setup_stop(problem, stop));
    stack_rest(problem, &order, place_with(problem, &order, fit, taken, stop)?)
}

/// [`place`] for a caller with a fallback: `None` as soon as `stop` says
/// so, with no pass over the buffers left.
fn place_or_quit(
    problem: &Problem,
    order: Option<Vec<BufferId>>,
    fit: Fit,
    stop: &dyn Fn() -> bool,
) -> Result<Option<Layout>> {
    let Some(order) = order else { return Ok(None) };
    let taken = Taken::new(problem, &order, &setup_stop(problem, stop));
    let placed = place_with(problem, &order, fit, taken, stop)?;
    Ok((placed.done == order.len()).then(|| Layout::new(placed.offsets)))
}

/// Live segments placed between two polls of the deadline (a few
/// milliseconds of work: a buffer's cost follows its segments).
const POLL_WORK: usize = 1024;

/// The buffers of an order placed so far.
struct Placed {
    /// The offsets of the fixed buffers and of the first `done` of the
    /// order (0 for the others).
    offsets: Vec<u64>,
    /// The highest end so far: everything placed lies below it.
    top: u64,
    done: usize,
}

/// Places `order` as [`place`] says, until `stop` says so; without an
/// index (`None`: building it was stopped), only the fixed buffers.
fn place_with(
    problem: &Problem,
    order: &[BufferId],
    fit: Fit,
    taken: Option<Taken>,
    stop: &dyn Fn() -> bool,
) -> Result<Placed> {
    let mut offsets = vec![0u64; problem.len()];
    let mut top = 0;
    let Some(mut taken) = taken else {
        for (id, b) in problem.ids().zip(problem.buffers()) {
            if let Some(off) = b.offset {
                offsets[id.index()] = off;
                // Validated: a fixed offset + size fits in u64.
                top = top.max(off + b.size);
            }
        }
        return Ok(Placed { offsets, top, done: 0 });
    };
    for (id, b) in problem.ids().zip(problem.buffers()) {
        if let Some(off) = b.offset {
            offsets[id.index()] = off;
            top = top.max(off + b.size);
            taken.insert(id, b, (off, off + b.size));
        }
    }
    let mut search = HoleSearch::default();
    // A large problem polls before its first placement too: its setup may
    // have used the time up, and a placement there can cost 0.1 ms.
    let mut work = if problem.segments_at_most() > PIECE { POLL_WORK } else { 0 };
    for (k, &id) in order.iter().enumerate() {
        let b = problem.buffer(id);
        work += 1 + b.gaps.len();
        if work > POLL_WORK {
            work = 0;
            if stop() {
                return Ok(Placed { offsets, top, done: k });
            }
        }
        let store = taken.query(id, b, &mut search.sets);
        let overflow = || Error::overflow(format!("placing buffer `{}`", b.name));
        let at = search.run(store, b.size, b.alignment, fit).ok_or_else(overflow)?;
        let end = at.checked_add(b.size).ok_or_else(overflow)?;
        taken.insert(id, b, (at, end));
        top = top.max(end);
        offsets[id.index()] = at;
    }
    Ok(Placed { offsets, top, done: order.len() })
}

/// The layout of `placed` with the rest of `order` stacked above it.
fn stack_rest(problem: &Problem, order: &[BufferId], placed: Placed) -> Result<Layout> {
    let Placed { mut offsets, mut top, done } = placed;
    // Nothing placed yet (the setup was cut): the free buffers in input
    // order, a sequential pass where the order's scattered look-ups cost
    // tens of milliseconds on a million buffers.
    let inputs;
    let rest = if done == 0 {
        inputs = free_ids(problem);
        &inputs[..]
    } else {
        &order[done..]
    };
    for &id in rest {
        let b = problem.buffer(id);
        let overflow = || Error::overflow(format!("stacking buffer `{}`", b.name));
        let at = align_up(top, b.alignment).ok_or_else(overflow)?;
        top = at.checked_add(b.size).ok_or_else(overflow)?;
        offsets[id.index()] = at;
    }
    Ok(Layout::new(offsets))
}

/// Interfering pairs per buffer, on average, up to which [`Taken::new`]
/// lists neighbours (4 bytes each) rather than building the time tree. The
/// lists are faster up to about this density (measured: 1.6 × faster at 150
/// pairs a buffer on 100,000 generated buffers); the cap keeps their memory
/// near 1 KiB a buffer.
const LISTED_PAIRS_PER_BUFFER: usize = 256;

/// Where the address ranges taken by placed buffers are looked up. Both
/// answer a query with the same free holes (the complement of the union of
/// the ranges of the placed buffers live with the one being placed), so the
/// layout does not depend on which one is used; they differ in cost.
enum Taken {
    /// Each buffer's neighbours placed before it, listed by a sweep: the
    /// fastest when few buffers are live at once, but `O(E)` memory.
    Lists {
        earlier: Earlier,
        /// The address range of each placed buffer, by position (see
        /// [`Earlier::position`]), unless `packed` holds them.
        ranges: Vec<(u64, u64)>,
        /// The same, packed as `start << 32 | end`, while every address fits
        /// in 32 bits (see [`narrow`]); empty otherwise. Sorting the
        /// neighbours' ranges is most of a placement, and one word sorts
        /// twice as fast as a pair and gathers from half the memory.
        packed: Vec<u64>,
        /// The current query's packed ranges.
        keys: Vec<u64>,
        /// One set: the current query's ranges, sorted and merged.
        store: Vec<Vec<(u64, u64)>>,
    },
    /// The time tree: `O(n log n)` memory and a cost that follows the
    /// number of taken address blocks, however long the lifetimes.
    Tree(Blocked),
}

/// Whether every address a placement can reach fits in 32 bits: each free
/// buffer goes no higher than aligned on top of everything before it, so
/// the fixed buffers' highest end plus every free buffer's size and
/// alignment padding bounds them all.
fn narrow(problem: &Problem) -> bool {
    let (mut fixed, mut free) = (0u64, Some(0u64));
    for b in problem.buffers() {
        match b.offset {
            // Validated: a fixed offset + size fits in u64.
            Some(off) => fixed = fixed.max(off + b.size),
            None => free = free.and_then(|f| f.checked_add(b.size)?.checked_add(b.alignment - 1)),
        }
    }
    free.and_then(|f| f.checked_add(fixed)).is_some_and(|reach| reach <= u64::from(u32::MAX))
}

impl Taken {
    /// Lists when the interfering pairs are few enough (see
    /// [`LISTED_PAIRS_PER_BUFFER`]), else the tree; `None` once `stop` says
    /// so (polled while sorting and listing).
    fn new(problem: &Problem, order: &[BufferId], stop: &dyn Fn() -> bool) -> Option<Self> {
        let sweep = EventSweep::new_until(problem, stop)?;
        let budget = LISTED_PAIRS_PER_BUFFER.saturating_mul(problem.len()).max(1 << 16);
        if sweep.meetings() <= budget as u64 {
            Taken::lists(problem, order, &sweep, stop)
        } else {
            Blocked::new(problem, stop).map(Taken::Tree)
        }
    }

    fn lists(problem: &Problem, order: &[BufferId], sweep: &EventSweep, stop: &dyn Fn() -> bool) -> Option<Self> {
        let (ranges, packed) = if narrow(problem) {
            (Vec::new(), vec![0; problem.len()])
        } else {
            (vec![(0, 0); problem.len()], Vec::new())
        };
        Some(Taken::Lists {
            earlier: sweep.earlier_neighbours(problem.len(), order, stop)?,
            ranges,
            packed,
            keys: Vec::new(),
            store: vec![Vec::new()],
        })
    }

    fn insert(&mut self, id: BufferId, b: &Buffer, range: (u64, u64)) {
        match self {
            Taken::Lists { earlier, ranges, packed, .. } => {
                let at = earlier.position(id);
                match packed.get_mut(at) {
                    Some(word) => *word = range.0 << 32 | range.1,
                    None => ranges[at] = range,
                }
            }
            Taken::Tree(tree) => tree.insert(b, range),
        }
    }

    /// The sets of ranges the buffer must clear: returns the store and puts
    /// the indices of the sets in `sets`.
    fn query(&mut self, id: BufferId, b: &Buffer, sets: &mut Vec<usize>) -> &[Vec<(u64, u64)>] {
        match self {
            Taken::Lists { earlier, ranges, packed, keys, store } => {
                let merged = &mut store[0];
                merged.clear();
                let near = earlier.of(id);
                if packed.is_empty() {
                    merged.extend(near.iter().map(|&n| ranges[n as usize]));
                    merged.sort_unstable();
                    coalesce(merged);
                } else {
                    keys.clear();
                    keys.extend(near.iter().map(|&n| packed[n as usize]));
                    keys.sort_unstable();
                    // Unpacked and merged in one pass.
                    for &key in keys.iter() {
                        let (lo, hi) = (key >> 32, key & u64::from(u32::MAX));
                        match merged.last_mut() {
                            Some(last) if lo <= last.1 => last.1 = last.1.max(hi),
                            _ => merged.push((lo, hi)),
                        }
                    }
                }
                sets.clear();
                sets.push(0);
                store
            }
            Taken::Tree(tree) => {
                tree.collect(b, sets);
                &tree.sets
            }
        }
    }
}

/// Merges overlapping or touching ranges of a list sorted by start, in
/// place.
fn coalesce(ranges: &mut Vec<(u64, u64)>) {
    let mut kept = 0;
    for i in 0..ranges.len() {
        let (lo, hi) = ranges[i];
        if kept > 0 && lo <= ranges[kept - 1].1 {
            ranges[kept - 1].1 = ranges[kept - 1].1.max(hi);
        } else {
            ranges[kept] = (lo, hi);
            kept += 1;
        }
    }
    ranges.truncate(kept);
}

// The seed convention of every property test (`SMEMPLAN_SEED`).
#[cfg(test)]
#[path = "../../../tests/support/seed.rs"]
mod seed;

#[cfg(test)]
mod tests {
    use super::seed;
    use super::*;
    use crate::run;
    use smemplan_core::check::check;
    use smemplan_core::generate::{generate, GenOptions, Spread};
    use smemplan_core::problem::Interval;

    fn solve(solver: &dyn Solver, p: &Problem) -> Solution {
        let s = run(solver, p, &SolveOptions::default()).unwrap();
        crate::verify(p, &s).unwrap_or_else(|r| panic!("{}: {r}", solver.name()));
        s
    }

    fn all() -> [&'static dyn Solver; 3] {
        [&GreedySize, &GreedyBreadth, &GreedyTime]
    }

    fn fit_into(sets: &[&[(u64, u64)]], size: u64, alignment: u64, fit: Fit) -> Option<u64> {
        let store: Vec<Vec<(u64, u64)>> = sets.iter().map(|s| s.to_vec()).collect();
        let mut search = HoleSearch::default();
        search.sets = (0..sets.len()).collect();
        search.run(&store, size, alignment, fit)
    }

    #[test]
    fn fit_picks_first_or_tightest_hole() {
        // Holes [4, 6) and [9, 10) below the top at 12 (the module picture).
        let taken: &[&[(u64, u64)]] = &[&[(0, 4), (6, 9), (10, 12)]];
        assert_eq!(fit_into(taken, 2, 1, Fit::First), Some(4));
        assert_eq!(fit_into(taken, 2, 1, Fit::Best), Some(4));
        assert_eq!(fit_into(taken, 1, 1, Fit::First), Some(4));
        assert_eq!(fit_into(taken, 1, 1, Fit::Best), Some(9));
        assert_eq!(fit_into(taken, 3, 1, Fit::Best), Some(12));
        // Aligned to 4, the hole [9, 10) holds nothing and [4, 6) holds 2.
        assert_eq!(fit_into(taken, 1, 4, Fit::Best), Some(4));
        assert_eq!(fit_into(taken, 1, 8, Fit::First), Some(16));
        assert_eq!(fit_into(&[], 5, 1, Fit::Best), Some(0));
        assert_eq!(fit_into(&[&[(0, u64::MAX - 1)]], 2, 1, Fit::First), None);
    }

    #[test]
    fn holes_are_clear_of_every_set() {
        // Set 1 leaves [8, 20) and [24, ∞); set 2 cuts [8, 20) into [8, 10)
        // and [13, 20); set 3 leaves [9, 10) of the first and cuts the second
        // into [13, 14) and [18, 20).
        let sets: &[&[(u64, u64)]] = &[&[(0, 8), (20, 24)], &[(10, 13), (30, 31)], &[(2, 9), (14, 18)]];
        assert_eq!(fit_into(sets, 1, 1, Fit::First), Some(9));
        assert_eq!(fit_into(sets, 1, 1, Fit::Best), Some(9));
        assert_eq!(fit_into(sets, 2, 1, Fit::First), Some(18));
        assert_eq!(fit_into(sets, 2, 2, Fit::Best), Some(18));
        assert_eq!(fit_into(sets, 4, 1, Fit::First), Some(24));
        // [24, 30) holds 6 exactly: a perfect fit below the top at 31.
        assert_eq!(fit_into(sets, 6, 1, Fit::Best), Some(24));
        assert_eq!(fit_into(sets, 7, 1, Fit::Best), Some(31));
    }

    #[test]
    fn lists_and_tree_give_the_same_layouts() {
        let o = GenOptions {
            buffers: 300,
            timeline: Some(200),
            alignment_probability: 0.5,
            gap_probability: 0.3,
            fixed_probability: 0.05,
            ..Default::default()
        };
        for seed in 0..20 {
            let p = generate(&o, seed).unwrap();
            let never = || false;
            for (order, fit) in [
                (size_order(&p, &never).unwrap(), Fit::Best),
                (breadth_order(&p, &never).unwrap(), Fit::Best),
                (time_order(&p, &never).unwrap(), Fit::First),
            ] {
                let lists = place_with(&p, &order, fit, Taken::lists(&p, &order, &EventSweep::new(&p), &never), &never);
                let tree = place_with(&p, &order, fit, Blocked::new(&p, &never).map(Taken::Tree), &never);
                let (lists, tree) = (Layout::new(lists.unwrap().offsets), Layout::new(tree.unwrap().offsets));
                assert_eq!(lists, tree, "seed {seed}, {fit:?}");
                assert!(check(&p, &lists.named(&p), None).is_valid());
            }
        }
    }

    /// The placement of `order` by the definition alone: each buffer against
    /// the ranges of every placed buffer it overlaps in time, found by
    /// testing all of them, holes scanned in address order.
    fn reference_fit(p: &Problem, order: &[BufferId], fit: Fit) -> Vec<u64> {
        let mut offsets = vec![0u64; p.len()];
        let mut placed: Vec<BufferId> = p.ids().filter(|&id| p.buffer(id).offset.is_some()).collect();
        for &id in &placed {
            offsets[id.index()] = p.buffer(id).offset.unwrap();
        }
        for &id in order {
            let b = p.buffer(id);
            let mut taken: Vec<(u64, u64)> = placed
                .iter()
                .filter(|&&o| p.buffer(o).overlaps_in_time(b))
                .map(|&o| (offsets[o.index()], offsets[o.index()] + p.buffer(o).size))
                .collect();
            taken.sort_unstable();
            coalesce(&mut taken);
            // Bounded holes below each taken range, then the top.
            let mut chosen: Option<(u64, u64)> = None;
            let mut from = 0;
            for &(lo, hi) in &taken {
                let at = align_up(from, b.alignment).unwrap();
                if at + b.size <= lo {
                    let slack = lo - at - b.size;
                    let better = match (fit, chosen) {
                        (_, None) => true,
                        (Fit::First, Some(_)) => false,
                        (Fit::Best, Some((best, _))) => slack < best,
                    };
                    if better {
                        chosen = Some((slack, at));
                    }
                }
                from = from.max(hi);
            }
            offsets[id.index()] = chosen.map_or_else(|| align_up(from, b.alignment).unwrap(), |(_, at)| at);
            placed.push(id);
        }
        offsets
    }

    /// The indexes of placed ranges against [`reference_fit`], on random
    /// problems (quickcheck draws the generator's seed and shape; replay
    /// with `SMEMPLAN_SEED`): for every strategy's order, the lists (one
    /// word a range, and two words when addresses pass 32 bits) and the time
    /// tree place every buffer where the definition does, and the layout
    /// passes the checker.
    #[test]
    fn indexes_place_as_the_definition_does() {
        use quickcheck::{Gen, QuickCheck, TestResult};
        fn property(seed: u64, shape: u8) -> TestResult {
            let o = GenOptions {
                buffers: 20 + usize::from(shape % 8) * 15,
                timeline: Some(10 + u64::from(shape / 8 % 4) * 40),
                sizes: match shape / 32 % 4 {
                    0 => Spread::Uniform { min: 1, max: 8 },
                    1 => Spread::LogUniform { min: 1, max: 1 << 16 },
                    // Past 32 bits: the lists keep two words a range.
                    2 => Spread::LogUniform { min: 1, max: 1 << 40 },
                    _ => Spread::Uniform { min: 4, max: 64 },
                },
                lifetimes: Spread::LogUniform { min: 1, max: 60 },
                alignment_probability: 0.3,
                gap_probability: 0.2,
                fixed_probability: if shape >= 128 { 0.05 } else { 0.0 },
                ..Default::default()
            };
            let p = generate(&o, seed).unwrap();
            let never = || false;
            for (order, fit) in [
                (size_order(&p, &never).unwrap(), Fit::Best),
                (breadth_order(&p, &never).unwrap(), Fit::Best),
                (time_order(&p, &never).unwrap(), Fit::First),
                (floor::floor_order(&p, &never).unwrap(), Fit::First),
            ] {
                let expected = reference_fit(&p, &order, fit);
                let lists = Taken::lists(&p, &order, &EventSweep::new(&p), &never);
                assert!(matches!(&lists, Some(Taken::Lists { packed, .. }) if packed.is_empty() != narrow(&p)));
                for taken in [lists, Blocked::new(&p, &never).map(Taken::Tree)] {
                    let placed = place_with(&p, &order, fit, taken, &never).unwrap();
                    if placed.offsets != expected {
                        return TestResult::error(format!("{fit:?} differs from the definition"));
                    }
                    let layout = Layout::new(placed.offsets);
                    if !check(&p, &layout.named(&p), None).is_valid() {
                        return TestResult::error(format!("{fit:?}: invalid layout"));
                    }
                }
            }
            TestResult::passed()
        }
        let rng = Gen::from_size_and_seed(100, seed::seed(0));
        QuickCheck::new().rng(rng).tests(200).quickcheck(property as fn(u64, u8) -> TestResult);
    }

    #[test]
    fn narrow_counts_every_free_byte_above_the_fixed_ones() {
        // Free buffers can stack on top of the fixed one, wherever it comes
        // in the input: 1.5 + 1.5 + 2 GB (plus a byte) pass 32 bits.
        let gb = 1u64 << 30;
        let buffers = |fixed_last: bool| {
            let mut bs = vec![Buffer::new("a", 0, 2, 3 * gb / 2), Buffer::new("b", 0, 2, 3 * gb / 2)];
            let fixed = Buffer::new("f", 0, 2, 1).with_offset(2 * gb);
            if fixed_last {
                bs.push(fixed);
            } else {
                bs.insert(0, fixed);
            }
            Problem::new(bs, None).unwrap()
        };
        assert!(!narrow(&buffers(true)) && !narrow(&buffers(false)));
        assert!(narrow(&Problem::new(vec![Buffer::new("a", 0, 2, 3 * gb)], None).unwrap()));
    }

    #[test]
    fn long_lifetimes_use_the_tree() {
        let short = GenOptions { buffers: 2000, ..Default::default() };
        let long = GenOptions { lifetimes: Spread::Uniform { min: 1000, max: 2000 }, ..short.clone() };
        for (o, tree) in [(short, false), (long, true)] {
            let p = generate(&o, 1).unwrap();
            let order = size_order(&p, &|| false).unwrap();
            assert_eq!(matches!(Taken::new(&p, &order, &|| false), Some(Taken::Tree(_))), tree);
        }
    }

    #[test]
    fn orders_follow_their_definitions() {
        let p = Problem::new(
            vec![
                Buffer::new("small-early", 0, 2, 1),
                Buffer::new("big-late", 4, 6, 8),
                Buffer::new("mid", 1, 5, 4),
                Buffer::new("fixed", 0, 6, 2).with_offset(0),
            ],
            None,
        )
        .unwrap();
        let names = |order: Vec<BufferId>| -> Vec<&str> { order.iter().map(|&i| p.buffer(i).name.as_str()).collect() };
        assert_eq!(names(size_order(&p, &|| false).unwrap()), ["big-late", "mid", "small-early"]);
        assert_eq!(names(time_order(&p, &|| false).unwrap()), ["small-early", "mid", "big-late"]);
        // Live bytes: [0,1) 3, [1,2) 7, [2,4) 6, [4,5) 14, [5,6) 10. The
        // heaviest step [4,5) holds big-late and mid; small-early is met
        // first at [1,2).
        assert_eq!(names(breadth_order(&p, &|| false).unwrap()), ["big-late", "mid", "small-early"]);
    }

    #[test]
    fn breadth_meets_buffers_at_the_heaviest_step_they_span() {
        // Steps: [0,2) a+b = 5, [2,4) b+c = 9, [4,6) c = 8. c and b are met
        // at [2,4) (c first, larger); a only at [0,2).
        let p =
            Problem::new(vec![Buffer::new("a", 0, 2, 4), Buffer::new("b", 0, 4, 1), Buffer::new("c", 2, 6, 8)], None)
                .unwrap();
        let order: Vec<&str> =
            breadth_order(&p, &|| false).unwrap().iter().map(|&i| p.buffer(i).name.as_str()).collect();
        assert_eq!(order, ["c", "b", "a"]);
        // Steps [0,2) and [2,4) both hold 10 bytes: they are taken together,
        // so z (10 bytes, later) precedes y and x.
        let p =
            Problem::new(vec![Buffer::new("x", 0, 2, 1), Buffer::new("y", 0, 2, 9), Buffer::new("z", 2, 4, 10)], None)
                .unwrap();
        let order: Vec<&str> =
            breadth_order(&p, &|| false).unwrap().iter().map(|&i| p.buffer(i).name.as_str()).collect();
        assert_eq!(order, ["z", "y", "x"]);
    }

    #[test]
    fn reaches_the_lower_bound_on_stacks_and_chains() {
        // Nested lifetimes (a stack) and a chain: every strategy is optimal.
        let p = Problem::new(
            vec![
                Buffer::new("outer", 0, 10, 4),
                Buffer::new("inner", 2, 8, 2),
                Buffer::new("core", 4, 6, 1),
                Buffer::new("next", 10, 12, 7),
            ],
            None,
        )
        .unwrap();
        for s in all() {
            assert_eq!(solve(s, &p).peak, 7, "{}", s.name());
        }
    }

    #[test]
    fn honours_fixed_offsets_alignment_and_gaps() {
        let p = Problem::new(
            vec![
                Buffer::new("pinned", 0, 10, 4).with_offset(8),
                Buffer::new("aligned", 0, 10, 3).with_alignment(16),
                Buffer::new("holey", 0, 10, 8).with_gaps(vec![Interval::new(3, 7)]),
                Buffer::new("inside", 3, 7, 8),
                Buffer::new("low", 0, 10, 2),
            ],
            None,
        )
        .unwrap();
        for s in all() {
            let sol = solve(s, &p);
            assert_eq!(sol.layout.offset(BufferId(0)), 8);
            assert_eq!(sol.layout.offset(BufferId(1)) % 16, 0);
            // holey and inside never meet: they share addresses.
            assert_eq!(sol.layout.offset(BufferId(2)), sol.layout.offset(BufferId(3)), "{}", s.name());
        }
    }

    #[test]
    fn best_keeps_the_smallest_peak() {
        // By size, a and d share offset 0 (they never meet), b goes above a
        // at 4, and c, live with both d at [0, 3) and b at [4, 6), finds only
        // a 1-byte hole: peak 8. By start, c slides under b at 0 and d on top
        // of it: peak 6, the lower bound.
        let p = Problem::new(
            vec![
                Buffer::new("a", 0, 2, 4),
                Buffer::new("b", 1, 3, 2),
                Buffer::new("c", 2, 5, 2),
                Buffer::new("d", 3, 5, 3),
            ],
            None,
        )
        .unwrap();
        assert_eq!(solve(&GreedySize, &p).peak, 8);
        assert_eq!(solve(&GreedyTime, &p).peak, 6);
        let sol = best(&Analysis::new(&p), &SolveOptions::default()).unwrap();
        assert_eq!((sol.peak, sol.is_optimal(), sol.stats.winner.as_str()), (6, true, "greedy-time"));
        crate::verify(&p, &sol).unwrap();
        let sequential = best(&Analysis::new(&p), &SolveOptions { threads: 1, ..Default::default() }).unwrap();
        assert_eq!(sequential.layout, sol.layout);
    }

    #[test]
    fn an_expired_deadline_stacks_the_rest_validly() {
        let options = GenOptions {
            buffers: 3 * POLL_WORK,
            alignment_probability: 0.3,
            gap_probability: 0.2,
            fixed_probability: 0.05,
            ..GenOptions::default()
        };
        let p = generate(&options, 11).unwrap();
        let expired = SolveOptions { deadline: Some(std::time::Instant::now()), ..SolveOptions::default() };
        for solver in ALL {
            let cut = run(solver, &p, &expired).unwrap();
            crate::verify(&p, &cut).unwrap_or_else(|r| panic!("{}: {r}", solver.name()));
            // The deadline cut it short, and the status says so.
            assert!(!cut.is_optimal(), "{}", solver.name());
            assert_eq!(cut.status, crate::Status::DeadlineReached, "{}", solver.name());
            let full = solve(solver, &p);
            // Only the first `POLL_WORK` segments were placed with care.
            assert!(cut.peak >= full.peak, "{}", solver.name());
        }
    }

    #[test]
    fn empty_problem() {
        let p = Problem::new(Vec::new(), None).unwrap();
        for s in all() {
            assert_eq!(solve(s, &p).peak, 0);
        }
    }

    #[test]
    fn huge_sizes_stack_without_wrapping() {
        // Two buffers of 2^63 - 1 bytes plus alignment padding: the problem
        // is valid (the sum fits), and so is the stacked layout.
        let half = u64::MAX / 2;
        let p = Problem::new(vec![Buffer::new("a", 0, 2, half), Buffer::new("b", 0, 2, half)], None).unwrap();
        for s in all() {
            assert_eq!(solve(s, &p).peak, 2 * half);
        }
    }
}
