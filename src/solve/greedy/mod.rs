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
//! |                  | lowest, largest first (see [`floor`])              |       |
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
//!   of all pairs): `O(n log n + E log d)` time for degree `d`, `O(E)`
//!   memory;
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
//! [`Error::Overflow`]); a placement is never higher than its neighbours'
//! top, so any layout fits in what [`Problem::new`] already checked.

mod floor;

pub use self::floor::GreedyFloor;
use super::{Solution, SolveOptions, Solver};
use crate::analysis::Analysis;
use crate::arith::align_up;
use crate::error::{Error, Result};
use crate::interference::{self, Sweep};
use crate::problem::{Buffer, BufferId, Interval, Layout, Problem};
use std::cmp::Reverse;

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

/// How a hole is chosen among those that hold the buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fit {
    /// The lowest.
    First,
    /// The tightest (the lowest among equally tight ones).
    Best,
}

/// Places the free buffers of `order` one by one, each at the lowest aligned
/// offset that clears its already placed neighbours (fixed buffers first, as
/// given). Fed the buffers of any valid layout in order of increasing
/// offset, it yields a valid layout whose peak is no higher (each buffer
/// lands at or below its original offset), which is how other solvers turn
/// approximate offsets into exact ones.
/// Fixed buffers in `order` are skipped: they stay where they are.
pub fn first_fit(problem: &Problem, order: &[BufferId]) -> Result<Layout> {
    let free: Vec<BufferId> = order.iter().copied().filter(|&id| problem.buffer(id).offset.is_none()).collect();
    place(problem, &free, Fit::First)
}

impl Solver for GreedySize {
    fn name(&self) -> &'static str {
        "greedy-size"
    }

    fn solve(&self, analysis: &Analysis, _options: &SolveOptions) -> Result<Solution> {
        let problem = analysis.problem();
        finish(analysis, place(problem, &size_order(problem), Fit::Best)?)
    }
}

impl Solver for GreedyBreadth {
    fn name(&self) -> &'static str {
        "greedy-breadth"
    }

    fn solve(&self, analysis: &Analysis, _options: &SolveOptions) -> Result<Solution> {
        let problem = analysis.problem();
        finish(analysis, place(problem, &breadth_order(problem), Fit::Best)?)
    }
}

impl Solver for GreedyTime {
    fn name(&self) -> &'static str {
        "greedy-time"
    }

    fn solve(&self, analysis: &Analysis, _options: &SolveOptions) -> Result<Solution> {
        let problem = analysis.problem();
        finish(analysis, place(problem, &time_order(problem), Fit::First)?)
    }
}

/// The greedy strategies [`best`] runs, in order of preference on ties.
pub const ALL: [&(dyn Solver + Sync); 4] = [&GreedySize, &GreedyBreadth, &GreedyTime, &GreedyFloor];

/// Fewest buffers for which [`best`] runs the strategies in parallel.
pub const PARALLEL_MIN_BUFFERS: usize = 1000;

/// Runs every greedy strategy ([`ALL`]) and keeps the smallest peak (ties go
/// to the earlier one), through [`super::run`] so the answer carries its
/// lower bound, infeasibility reason, time and the winning strategy in
/// `stats.winner`.
///
/// Meant as an upper bound or fallback for the searching solvers. They run
/// in parallel on rayon's pool unless `options.threads == 1` or the problem
/// has fewer than [`PARALLEL_MIN_BUFFERS`] buffers (where waking the pool
/// costs more than it saves).
pub fn best(analysis: &Analysis, options: &SolveOptions) -> Result<Solution> {
    use rayon::prelude::*;
    let problem = analysis.problem();
    let started = std::time::Instant::now();
    let one = |solver: &&(dyn Solver + Sync)| super::run_with(*solver, analysis, options);
    let all: Vec<Result<Solution>> = if options.threads == 1 || problem.len() < PARALLEL_MIN_BUFFERS {
        ALL.iter().map(one).collect()
    } else {
        ALL.par_iter().map(one).collect()
    };
    let mut winner: Option<Solution> = None;
    for s in all {
        let s = s?;
        if winner.as_ref().is_none_or(|w| s.peak < w.peak) {
            winner = Some(s);
        }
    }
    // `ALL` is not empty.
    let mut winner = winner.expect("at least one greedy strategy");
    winner.seconds = started.elapsed().as_secs_f64();
    Ok(winner)
}

fn finish(analysis: &Analysis, layout: Layout) -> Result<Solution> {
    Ok(Solution::new(analysis.problem(), layout, analysis.lower_bound().bytes, false))
}

/// Free buffers by size descending, then earlier start, then input order.
fn size_order(problem: &Problem) -> Vec<BufferId> {
    let mut order = free_ids(problem);
    order.sort_unstable_by_key(|&id| {
        let b = problem.buffer(id);
        (Reverse(b.size), b.lifetime.start, id)
    });
    order
}

/// Free buffers by lifetime start, then input order.
fn time_order(problem: &Problem) -> Vec<BufferId> {
    let mut order = free_ids(problem);
    order.sort_unstable_by_key(|&id| (problem.buffer(id).lifetime.start, id));
    order
}

/// TFLite's breadth order. Instants (the steps of the live-bytes profile)
/// are taken by live bytes descending, and a buffer is met first at the
/// heaviest step it is live in: its key is the maximum live bytes over the
/// steps its segments cover (a range-maximum query). Buffers met at steps of
/// the same weight follow by size descending: steps of equal weight are taken
/// together rather than in time order (on MiniMalloc's challenging
/// instances, whose peak weight recurs at many steps, this keeps large
/// buffers first: B drops from 1.91 to 1.42 × the lower bound, I from 2.02
/// to 1.74).
fn breadth_order(problem: &Problem) -> Vec<BufferId> {
    let profile = interference::live_profile(problem);
    let table = RangeMax::new(profile.iter().map(|&(_, bytes)| bytes).collect());
    // The step holding instant `t`: the last one starting at or before it.
    let step = |t: u64| profile.partition_point(|&(s, _)| s <= t).saturating_sub(1);
    let weight = |id: BufferId| {
        problem.buffer(id).segments().map(|seg| table.max(step(seg.start), step(seg.end - 1))).max().unwrap_or(0)
    };
    let mut keyed: Vec<(Reverse<u64>, Reverse<u64>, BufferId)> =
        free_ids(problem).into_iter().map(|id| (Reverse(weight(id)), Reverse(problem.buffer(id).size), id)).collect();
    keyed.sort_unstable();
    keyed.into_iter().map(|(_, _, id)| id).collect()
}

fn free_ids(problem: &Problem) -> Vec<BufferId> {
    problem.ids().filter(|&id| problem.buffer(id).offset.is_none()).collect()
}

/// A sparse table answering maximum queries over ranges of a fixed array in
/// `O(1)` after `O(m log m)` preparation.
struct RangeMax {
    /// `levels[k][i]` is the maximum of `values[i .. i + 2^k]`.
    levels: Vec<Vec<u64>>,
}

impl RangeMax {
    fn new(values: Vec<u64>) -> Self {
        let mut levels = vec![values];
        let mut width = 1;
        while 2 * width <= levels[0].len() {
            let prev = &levels[levels.len() - 1];
            let next: Vec<u64> = (0..prev.len() - width).map(|i| prev[i].max(prev[i + width])).collect();
            levels.push(next);
            width *= 2;
        }
        RangeMax { levels }
    }

    /// Maximum over `values[lo..=hi]` (`lo <= hi < len`).
    fn max(&self, lo: usize, hi: usize) -> u64 {
        let k = (usize::BITS - 1 - (hi - lo + 1).leading_zeros()) as usize;
        self.levels[k][lo].max(self.levels[k][hi + 1 - (1 << k)])
    }
}

/// Places the fixed buffers where they are, then the free ones in `order`
/// (each free buffer exactly once), each against its placed neighbours.
fn place(problem: &Problem, order: &[BufferId], fit: Fit) -> Result<Layout> {
    place_with(problem, order, fit, Taken::new(problem, order))
}

fn place_with(problem: &Problem, order: &[BufferId], fit: Fit, mut taken: Taken) -> Result<Layout> {
    let mut offsets = vec![0u64; problem.len()];
    for (id, b) in problem.ids().zip(problem.buffers()) {
        if let Some(off) = b.offset {
            offsets[id.index()] = off;
            // Validated: a fixed offset + size fits in u64.
            taken.insert(id, b, (off, off + b.size));
        }
    }
    let mut search = HoleSearch::default();
    for &id in order {
        let b = problem.buffer(id);
        let store = taken.query(id, b, &mut search.sets);
        let overflow = || Error::Overflow(format!("placing buffer `{}`", b.name));
        let at = search.run(store, b.size, b.alignment, fit).ok_or_else(overflow)?;
        taken.insert(id, b, (at, at.checked_add(b.size).ok_or_else(overflow)?));
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
        earlier: Vec<Vec<BufferId>>,
        /// The address range of each placed buffer.
        ranges: Vec<(u64, u64)>,
        /// One set: the current query's ranges, sorted and merged.
        store: Vec<Vec<(u64, u64)>>,
    },
    /// The time tree: `O(n log n)` memory and a cost that follows the
    /// number of taken address blocks, however long the lifetimes.
    Tree(Blocked),
}

impl Taken {
    /// Lists when the interfering pairs are few enough (see
    /// [`LISTED_PAIRS_PER_BUFFER`]), else the tree.
    fn new(problem: &Problem, order: &[BufferId]) -> Self {
        let sweep = Sweep::new(problem);
        let budget = LISTED_PAIRS_PER_BUFFER.saturating_mul(problem.len()).max(1 << 16);
        if sweep.meetings() <= budget as u64 {
            Taken::lists(problem, order, &sweep)
        } else {
            Taken::Tree(Blocked::new(problem))
        }
    }

    fn lists(problem: &Problem, order: &[BufferId], sweep: &Sweep) -> Self {
        Taken::Lists {
            earlier: sweep.earlier_neighbours(problem.len(), order),
            ranges: vec![(0, 0); problem.len()],
            store: vec![Vec::new()],
        }
    }

    fn insert(&mut self, id: BufferId, b: &Buffer, range: (u64, u64)) {
        match self {
            Taken::Lists { ranges, .. } => ranges[id.index()] = range,
            Taken::Tree(tree) => tree.insert(b, range),
        }
    }

    /// The sets of ranges the buffer must clear: returns the store and puts
    /// the indices of the sets in `sets`.
    fn query(&mut self, id: BufferId, b: &Buffer, sets: &mut Vec<usize>) -> &[Vec<(u64, u64)>] {
        match self {
            Taken::Lists { earlier, ranges, store } => {
                let merged = &mut store[0];
                merged.clear();
                merged.extend(earlier[id.index()].iter().map(|&n| ranges[n.index()]));
                merged.sort_unstable();
                coalesce(merged);
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

/// The top of the address space: a piece ending here is the one above
/// every taken range, where a buffer goes when no bounded hole holds it.
const UNBOUNDED: u64 = u64::MAX;

/// A search for the hole a buffer goes into, among several sets of taken
/// address ranges (each set sorted and disjoint; ranges of different sets may
/// overlap).
///
/// It walks the free pieces of the address space depth first: `[0, ∞)` is
/// cut by the ranges of the first set, each piece left by those of the
/// second, and so on; the pieces that survive every set are the holes.
/// Pieces too small for the buffer are dropped as soon as they appear, so the
/// walk reads only the ranges of each set that lie inside pieces still large
/// enough, and pieces come in address order, so first fit stops at the first
/// hole (best fit at the first exact one). Sets are taken largest first:
/// they cut the most. The walk keeps its own stack, so a buffer with many
/// gaps (many sets) cannot exhaust the thread's.
#[derive(Default)]
struct HoleSearch {
    /// Indices of the sets to clear (into the store given to [`Self::run`]).
    sets: Vec<usize>,
    stack: Vec<Piece>,
}

/// A free piece `[lo, hi)` of the address space, clear of the sets before
/// `depth`, being cut by the ranges of set `depth` from `next` on;
/// `cursor` is where the uncut rest starts.
#[derive(Debug, Clone, Copy)]
struct Piece {
    lo: u64,
    hi: u64,
    depth: usize,
    next: usize,
    cursor: u64,
}

impl HoleSearch {
    /// The offset for a buffer of `size` and `alignment` clear of the sets
    /// `self.sets` of `store`; `None` only on overflow.
    fn run(&mut self, store: &[Vec<(u64, u64)>], size: u64, alignment: u64, fit: Fit) -> Option<u64> {
        self.sets.sort_unstable_by_key(|&set| Reverse(store[set].len()));
        let sets: &[usize] = &self.sets;
        let stack = &mut self.stack;
        stack.clear();
        // Where the buffer would go in `[lo, hi)`, if it fits.
        let fits = |lo: u64, hi: u64| {
            let start = align_up(lo, alignment)?;
            start.checked_add(size).filter(|&end| end <= hi).map(|_| start)
        };
        let open = |lo: u64, hi: u64, depth: usize| {
            let next = sets.get(depth).map_or(0, |&set| store[set].partition_point(|&(_, end)| end <= lo));
            Piece { lo, hi, depth, next, cursor: lo }
        };
        // (slack, offset) of the tightest bounded hole so far.
        let mut chosen: Option<(u64, u64)> = None;
        let mut top = None;
        if fits(0, UNBOUNDED).is_some() {
            stack.push(open(0, UNBOUNDED, 0));
        }
        while let Some(piece) = stack.last_mut() {
            let Some(&set) = sets.get(piece.depth) else {
                // A hole: clear of every set.
                let (lo, hi) = (piece.lo, piece.hi);
                stack.pop();
                let Some(start) = fits(lo, hi) else {
                    continue;
                };
                if hi == UNBOUNDED {
                    top = Some(start);
                    continue;
                }
                let slack = hi - start - size;
                if fit == Fit::First || slack == 0 {
                    return Some(start);
                }
                if !matches!(chosen, Some((best, _)) if best <= slack) {
                    chosen = Some((slack, start));
                }
                continue;
            };
            let ranges = &store[set];
            let mut child = None;
            while let Some(&(lo, hi)) = ranges.get(piece.next).filter(|&&(lo, _)| lo < piece.hi) {
                piece.next += 1;
                let before = (piece.cursor, lo);
                piece.cursor = piece.cursor.max(hi);
                if before.1 > before.0 && fits(before.0, before.1).is_some() {
                    child = Some(before);
                    break;
                }
            }
            let depth = piece.depth + 1;
            if child.is_none() {
                // The rest of the piece, above its last range.
                let rest = (piece.cursor, piece.hi);
                stack.pop();
                if rest.1 > rest.0 && fits(rest.0, rest.1).is_some() {
                    child = Some(rest);
                }
            }
            if let Some((lo, hi)) = child {
                stack.push(open(lo, hi, depth));
            }
        }
        chosen.map(|(_, start)| start).or(top)
    }
}

/// The address ranges of the placed buffers, indexed by time: a segment
/// tree over *slots*, the distinct start times of live segments. A segment
/// `[a, b)` spans the slots of the starts in `[a, b)` (its own start among
/// them), and two segments overlap in time exactly when they span a common
/// slot: if they overlap, the later start lies in both; if both hold a start,
/// it lies in both. (Ends need no slots, which halves the tree.) A placed
/// segment is stored, with its address range, at the
/// `O(log m)` nodes whose slots it covers exactly (`own`), and merged into
/// the `sub` union of every node it touches. A query for a time range takes
/// `sub` of the nodes that tile it and `own` of their ancestors: every placed
/// segment overlapping the range is in exactly one of those (the node that
/// stores it either lies below a tiling node or above one), and nothing else
/// is.
///
/// ```text
///  node [0,8)        own: spans all 8 slots     sub: union below
///   ├─ [0,4)         query [2,7) = sub[2,4) ∪ sub[4,6) ∪ sub[6,7)
///   │   ├─ [0,2)           ∪ own[0,8) ∪ own[0,4) ∪ own[4,8) ∪ own[6,8)
///   │   └─ [2,4) ◄─ tiles
///   └─ [4,8)
///       ├─ [4,6) ◄─ tiles
///       └─ [6,8) ── [6,7) ◄─ tiles
/// ```
///
/// Sets are sorted, disjoint address ranges, touching ones merged, so a
/// query hands [`HoleSearch`] `O(log m)` sets whose sizes count *blocks* of
/// taken addresses, not buffers, and memory stays `O(n log m)` however long
/// the lifetimes are (where the interference graph would be quadratic).
struct Blocked {
    /// The sorted, distinct start times of all live segments (slot `i` is
    /// `starts[i]`).
    starts: Vec<u64>,
    /// Leaves of the tree (a power of two, at least the number of slots).
    leaves: usize,
    /// `sets[2 * node]` is the node's `own`, `sets[2 * node + 1]` its `sub`
    /// (nodes numbered from 1 at the root, children of `k` at `2k, 2k + 1`).
    sets: Vec<Vec<(u64, u64)>>,
}

impl Blocked {
    fn new(problem: &Problem) -> Self {
        let mut starts: Vec<u64> = problem.buffers().iter().flat_map(|b| b.segments()).map(|s| s.start).collect();
        starts.sort_unstable();
        starts.dedup();
        let leaves = starts.len().next_power_of_two();
        Blocked { starts, leaves, sets: vec![Vec::new(); 4 * leaves] }
    }

    /// The slots a live segment spans (never empty: its start is a slot).
    fn slots(&self, seg: Interval) -> (usize, usize) {
        (self.starts.partition_point(|&t| t < seg.start), self.starts.partition_point(|&t| t < seg.end))
    }

    /// Records that `range` of addresses is taken while `b` is live.
    fn insert(&mut self, b: &Buffer, range: (u64, u64)) {
        for seg in b.segments() {
            let (lo, hi) = self.slots(seg);
            self.insert_at(1, 0, self.leaves, lo, hi, range);
        }
    }

    fn insert_at(&mut self, node: usize, from: usize, to: usize, lo: usize, hi: usize, range: (u64, u64)) {
        if hi <= from || to <= lo {
            return;
        }
        merge_into(&mut self.sets[2 * node + 1], range);
        if lo <= from && to <= hi {
            merge_into(&mut self.sets[2 * node], range);
            return;
        }
        let mid = from + (to - from) / 2;
        self.insert_at(2 * node, from, mid, lo, hi, range);
        self.insert_at(2 * node + 1, mid, to, lo, hi, range);
    }

    /// Replaces `out` with the (non-empty) sets of address ranges taken at
    /// some instant while `b` is live.
    fn collect(&self, b: &Buffer, out: &mut Vec<usize>) {
        out.clear();
        for seg in b.segments() {
            let (lo, hi) = self.slots(seg);
            self.collect_at(1, 0, self.leaves, lo, hi, out);
        }
        if b.gaps.is_empty() {
            return;
        }
        // Segments of one buffer may share ancestors.
        out.sort_unstable();
        out.dedup();
    }

    fn collect_at(&self, node: usize, from: usize, to: usize, lo: usize, hi: usize, out: &mut Vec<usize>) {
        if hi <= from || to <= lo {
            return;
        }
        let tiles = lo <= from && to <= hi;
        let set = if tiles { 2 * node + 1 } else { 2 * node };
        if !self.sets[set].is_empty() {
            out.push(set);
        }
        if tiles {
            return;
        }
        let mid = from + (to - from) / 2;
        self.collect_at(2 * node, from, mid, lo, hi, out);
        self.collect_at(2 * node + 1, mid, to, lo, hi, out);
    }
}

/// Adds `[lo, hi)` to a sorted set of disjoint ranges, merging it with the
/// ranges it overlaps or touches.
fn merge_into(set: &mut Vec<(u64, u64)>, (lo, hi): (u64, u64)) {
    // Ranges ending before `lo` stay below; ranges starting after `hi` stay
    // above; those between (`first..past`) merge with the new one.
    let first = set.partition_point(|&(_, end)| end < lo);
    let past = set.partition_point(|&(start, _)| start <= hi);
    if first == past {
        set.insert(first, (lo, hi));
    } else {
        set[first] = (lo.min(set[first].0), hi.max(set[past - 1].1));
        set.drain(first + 1..past);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::check;
    use crate::generate::{generate, GenOptions, Spread};
    use crate::solve::run;

    fn solve(solver: &dyn Solver, p: &Problem) -> Solution {
        let s = run(solver, p, &SolveOptions::default()).unwrap();
        crate::check::verify(p, &s).unwrap_or_else(|r| panic!("{}: {r}", solver.name()));
        s
    }

    fn all() -> [&'static dyn Solver; 3] {
        [&GreedySize, &GreedyBreadth, &GreedyTime]
    }

    fn fit_into(sets: &[&[(u64, u64)]], size: u64, alignment: u64, fit: Fit) -> Option<u64> {
        let store: Vec<Vec<(u64, u64)>> = sets.iter().map(|s| s.to_vec()).collect();
        let mut search = HoleSearch { sets: (0..sets.len()).collect(), ..Default::default() };
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
            for (order, fit) in
                [(size_order(&p), Fit::Best), (breadth_order(&p), Fit::Best), (time_order(&p), Fit::First)]
            {
                let lists = place_with(&p, &order, fit, Taken::lists(&p, &order, &Sweep::new(&p))).unwrap();
                let tree = place_with(&p, &order, fit, Taken::Tree(Blocked::new(&p))).unwrap();
                assert_eq!(lists, tree, "seed {seed}, {fit:?}");
                assert!(check(&p, &lists.named(&p), None).is_valid());
            }
        }
    }

    #[test]
    fn long_lifetimes_use_the_tree() {
        let short = GenOptions { buffers: 2000, ..Default::default() };
        let long = GenOptions { lifetimes: Spread::Uniform { min: 1000, max: 2000 }, ..short.clone() };
        for (o, tree) in [(short, false), (long, true)] {
            let p = generate(&o, 1).unwrap();
            let order = size_order(&p);
            assert_eq!(matches!(Taken::new(&p, &order), Taken::Tree(_)), tree);
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
        assert_eq!(names(size_order(&p)), ["big-late", "mid", "small-early"]);
        assert_eq!(names(time_order(&p)), ["small-early", "mid", "big-late"]);
        // Live bytes: [0,1) 3, [1,2) 7, [2,4) 6, [4,5) 14, [5,6) 10. The
        // heaviest step [4,5) holds big-late and mid; small-early is met
        // first at [1,2).
        assert_eq!(names(breadth_order(&p)), ["big-late", "mid", "small-early"]);
    }

    #[test]
    fn breadth_meets_buffers_at_the_heaviest_step_they_span() {
        // Steps: [0,2) a+b = 5, [2,4) b+c = 9, [4,6) c = 8. c and b are met
        // at [2,4) (c first, larger); a only at [0,2).
        let p =
            Problem::new(vec![Buffer::new("a", 0, 2, 4), Buffer::new("b", 0, 4, 1), Buffer::new("c", 2, 6, 8)], None)
                .unwrap();
        let order: Vec<&str> = breadth_order(&p).iter().map(|&i| p.buffer(i).name.as_str()).collect();
        assert_eq!(order, ["c", "b", "a"]);
        // Steps [0,2) and [2,4) both hold 10 bytes: they are taken together,
        // so z (10 bytes, later) precedes y and x.
        let p =
            Problem::new(vec![Buffer::new("x", 0, 2, 1), Buffer::new("y", 0, 2, 9), Buffer::new("z", 2, 4, 10)], None)
                .unwrap();
        let order: Vec<&str> = breadth_order(&p).iter().map(|&i| p.buffer(i).name.as_str()).collect();
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
        assert_eq!((sol.peak, sol.optimal, sol.stats.winner.as_str()), (6, true, "greedy-time"));
        crate::check::verify(&p, &sol).unwrap();
        let sequential = best(&Analysis::new(&p), &SolveOptions { threads: 1, ..Default::default() }).unwrap();
        assert_eq!(sequential.layout, sol.layout);
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
