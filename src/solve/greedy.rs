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
//!
//! A fit looks at the address ranges of the placed neighbours, sorted by
//! offset, and at the free holes between them. *First fit* takes the lowest
//! hole that holds the (aligned) buffer; *best fit* the tightest one. When no
//! hole fits, the buffer goes on top of its highest neighbour:
//!
//! ```text
//!  address                       placed neighbours of `x` (live with it):
//!     ^   top: x goes here if
//!     |   no hole below fits      +-----+
//!  12 |   . . . . . . . . . . . . |  c  |   holes: [4, 6) size 2
//!     |         +-----+           |     |          [9, 10) size 1
//!   9 |         |  b  |           +-----+
//!   6 |         +-----+                     x of size 2: first and best
//!   4 |  +----+                             fit agree on 4; of size 1,
//!     |  | a  |                             best fit takes 9, first fit 4
//!   0 +--+----+----------------------------> time
//! ```
//!
//! Cost. The neighbours of each buffer that come *earlier* in the placement
//! order are collected by one sweep over start/end events (no test of all
//! pairs, and each interfering pair is recorded once, in the list of the one
//! placed later), so building them costs `O(n log n + E)` for `E`
//! interfering pairs, and placing costs `O(E log d)` for the largest degree
//! `d`. On realistic instances (a bounded number of buffers live at any
//! instant) this is near `O(n log n)`.
//!
//! Every offset is computed with checked arithmetic (an overflow is
//! [`Error::Overflow`]); a placement is never higher than its neighbours'
//! top, so any layout fits in what [`Problem::new`] already checked.

use super::{align_up, Solution, SolveOptions, Solver};
use crate::error::{Error, Result};
use crate::interference;
use crate::problem::{BufferId, Layout, Problem};
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

impl Solver for GreedySize {
    fn name(&self) -> &'static str {
        "greedy-size"
    }

    fn solve(&self, problem: &Problem, _options: &SolveOptions) -> Result<Solution> {
        finish(problem, place(problem, &size_order(problem), Fit::Best)?)
    }
}

impl Solver for GreedyBreadth {
    fn name(&self) -> &'static str {
        "greedy-breadth"
    }

    fn solve(&self, problem: &Problem, _options: &SolveOptions) -> Result<Solution> {
        finish(problem, place(problem, &breadth_order(problem), Fit::Best)?)
    }
}

impl Solver for GreedyTime {
    fn name(&self) -> &'static str {
        "greedy-time"
    }

    fn solve(&self, problem: &Problem, _options: &SolveOptions) -> Result<Solution> {
        finish(problem, place(problem, &time_order(problem), Fit::First)?)
    }
}

/// Runs the three greedy strategies and keeps the smallest peak (ties go to
/// the first of `greedy-size`, `greedy-breadth`, `greedy-time`), through
/// [`super::run`] so the answer carries its lower bound, infeasibility
/// reason, time and the winning strategy in `stats.winner`.
///
/// Meant as an upper bound or fallback for the searching solvers. The three
/// run in parallel on rayon's pool unless `options.threads == 1`.
pub fn best(problem: &Problem, options: &SolveOptions) -> Result<Solution> {
    let started = std::time::Instant::now();
    let one = |solver: &dyn Solver| super::run(solver, problem, options);
    let (size, (breadth, time)) = if options.threads == 1 {
        (one(&GreedySize), (one(&GreedyBreadth), one(&GreedyTime)))
    } else {
        rayon::join(|| one(&GreedySize), || rayon::join(|| one(&GreedyBreadth), || one(&GreedyTime)))
    };
    let mut winner = size?;
    for other in [breadth?, time?] {
        if other.peak < winner.peak {
            winner = other;
        }
    }
    winner.seconds = started.elapsed().as_secs_f64();
    Ok(winner)
}

fn finish(problem: &Problem, layout: Layout) -> Result<Solution> {
    Ok(Solution::new(problem, layout, interference::lower_bound(problem).bytes, false))
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
/// buffers first and lowers the peak by up to 0.3 × the lower bound).
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
    let n = problem.len();
    let mut offsets = vec![0u64; n];
    let mut ends = vec![0u64; n];
    // Rank in placement order: fixed buffers first, all sharing rank 0.
    let mut rank = vec![0u32; n];
    for (id, b) in problem.ids().zip(problem.buffers()) {
        if let Some(off) = b.offset {
            offsets[id.index()] = off;
            // Validated: a fixed offset + size fits in u64.
            ends[id.index()] = off + b.size;
        }
    }
    for (r, &id) in order.iter().enumerate() {
        rank[id.index()] = r as u32 + 1;
    }
    let earlier = earlier_neighbours(problem, &rank);
    let mut taken: Vec<(u64, u64)> = Vec::new();
    for &id in order {
        let b = problem.buffer(id);
        taken.clear();
        taken.extend(earlier[id.index()].iter().map(|&a| (offsets[a as usize], ends[a as usize])));
        taken.sort_unstable();
        let overflow = || Error::Overflow(format!("placing buffer `{}`", b.name));
        let at = fit_into(&taken, b.size, b.alignment, fit).ok_or_else(overflow)?;
        offsets[id.index()] = at;
        ends[id.index()] = at.checked_add(b.size).ok_or_else(overflow)?;
    }
    Ok(Layout::new(offsets))
}

/// The offset for a buffer of `size` and `alignment` among the address
/// ranges `taken` (sorted by start; they may overlap one another). `None`
/// only on overflow.
fn fit_into(taken: &[(u64, u64)], size: u64, alignment: u64, fit: Fit) -> Option<u64> {
    // (slack, offset) of the chosen hole.
    let mut chosen: Option<(u64, u64)> = None;
    let mut cursor = 0u64;
    for &(lo, hi) in taken {
        if lo > cursor {
            let start = align_up(cursor, alignment)?;
            if start <= lo && lo - start >= size {
                let slack = lo - start - size;
                match fit {
                    Fit::First => return Some(start),
                    Fit::Best if slack == 0 => return Some(start),
                    Fit::Best if chosen.is_none_or(|(s, _)| slack < s) => chosen = Some((slack, start)),
                    Fit::Best => {}
                }
            }
        }
        cursor = cursor.max(hi);
    }
    match chosen {
        Some((_, start)) => Some(start),
        None => {
            let top = align_up(cursor, alignment)?;
            top.checked_add(size).map(|_| top)
        }
    }
}

/// For each free buffer, its interfering neighbours of lower `rank` (fixed
/// buffers included, which have rank 0), as `u32` indices. Built by a sweep
/// over live segments that keeps the set of live buffers: a start event
/// meets exactly the buffers live at that instant, so each interfering pair
/// is met once per pair of overlapping segments (once when neither has gaps;
/// a repeated entry is harmless to a fit). Lists of fixed buffers stay empty.
fn earlier_neighbours(problem: &Problem, rank: &[u32]) -> Vec<Vec<u32>> {
    let n = problem.len();
    let fixed: Vec<bool> = problem.buffers().iter().map(|b| b.offset.is_some()).collect();
    // (time, is_start, id): `false < true`, so at equal times ends come
    // first and a buffer ending at `t` never meets one starting at `t`.
    let mut events: Vec<(u64, bool, u32)> = Vec::with_capacity(2 * n);
    for (i, b) in problem.buffers().iter().enumerate() {
        for seg in b.segments() {
            events.push((seg.start, true, i as u32));
            events.push((seg.end, false, i as u32));
        }
    }
    events.sort_unstable();
    let mut lists: Vec<Vec<u32>> = vec![Vec::new(); n];
    let mut live: Vec<u32> = Vec::new();
    // Position of each live buffer in `live` (a buffer has at most one live
    // segment at a time).
    let mut slot = vec![0u32; n];
    for (_, is_start, id) in events {
        let i = id as usize;
        if is_start {
            for &other in &live {
                let o = other as usize;
                let (later, sooner) = if rank[o] < rank[i] { (i, other) } else { (o, id) };
                if !fixed[later] {
                    lists[later].push(sooner);
                }
            }
            slot[i] = live.len() as u32;
            live.push(id);
        } else {
            let at = slot[i] as usize;
            live.swap_remove(at);
            if let Some(&moved) = live.get(at) {
                slot[moved as usize] = at as u32;
            }
        }
    }
    lists
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::check;
    use crate::problem::{Buffer, Interval};
    use crate::solve::run;

    fn solve(solver: &dyn Solver, p: &Problem) -> Solution {
        let s = run(solver, p, &SolveOptions::default()).unwrap();
        let report = check(p, &s.layout.named(p), None);
        assert!(report.is_valid(), "{}: {:?}", solver.name(), report.violations);
        assert_eq!(report.peak, s.peak);
        s
    }

    fn all() -> [&'static dyn Solver; 3] {
        [&GreedySize, &GreedyBreadth, &GreedyTime]
    }

    #[test]
    fn fit_picks_first_or_tightest_hole() {
        // Holes [4, 6) and [9, 10) below the top at 12 (the module picture).
        let taken = [(0, 4), (6, 9), (10, 12)];
        assert_eq!(fit_into(&taken, 2, 1, Fit::First), Some(4));
        assert_eq!(fit_into(&taken, 2, 1, Fit::Best), Some(4));
        assert_eq!(fit_into(&taken, 1, 1, Fit::First), Some(4));
        assert_eq!(fit_into(&taken, 1, 1, Fit::Best), Some(9));
        assert_eq!(fit_into(&taken, 3, 1, Fit::Best), Some(12));
        // Aligned to 4, the hole [9, 10) holds nothing and [4, 6) holds 2.
        assert_eq!(fit_into(&taken, 1, 4, Fit::Best), Some(4));
        assert_eq!(fit_into(&taken, 1, 8, Fit::First), Some(16));
        // Overlapping ranges (possible among neighbours that do not
        // interfere with each other) leave no hole between them.
        assert_eq!(fit_into(&[(0, 8), (2, 4), (6, 10)], 2, 1, Fit::First), Some(10));
        assert_eq!(fit_into(&[], 5, 1, Fit::Best), Some(0));
        assert_eq!(fit_into(&[(0, u64::MAX - 1)], 2, 1, Fit::First), None);
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
        let p = Problem::new(
            vec![Buffer::new("a", 0, 2, 4), Buffer::new("b", 0, 4, 1), Buffer::new("c", 2, 6, 8)],
            None,
        )
        .unwrap();
        let order: Vec<&str> = breadth_order(&p).iter().map(|&i| p.buffer(i).name.as_str()).collect();
        assert_eq!(order, ["c", "b", "a"]);
        // Steps [0,2) and [2,4) both hold 10 bytes: they are taken together,
        // so z (10 bytes, later) precedes y and x.
        let p = Problem::new(
            vec![Buffer::new("x", 0, 2, 1), Buffer::new("y", 0, 2, 9), Buffer::new("z", 2, 4, 10)],
            None,
        )
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
        // By size, the two 4-byte buffers go first, side by side, and the
        // long 3-byte one must go above both (peak 11); by time, the long one
        // goes first at 0 and the others share [3, 7) (peak 7).
        let p = Problem::new(
            vec![Buffer::new("long", 0, 4, 3), Buffer::new("x", 1, 2, 4), Buffer::new("y", 1, 3, 4)],
            None,
        )
        .unwrap();
        let peaks: Vec<u64> = all().iter().map(|&s| solve(s, &p).peak).collect();
        let sol = best(&p, &SolveOptions::default()).unwrap();
        assert_eq!(sol.peak, *peaks.iter().min().unwrap());
        assert!(check(&p, &sol.layout.named(&p), None).is_valid());
        let sequential = best(&p, &SolveOptions { threads: 1, ..Default::default() }).unwrap();
        assert_eq!(sequential.layout, sol.layout);
        assert_eq!(sequential.stats.winner, sol.stats.winner);
    }

    #[test]
    fn empty_problem() {
        let p = Problem::new(Vec::new(), None).unwrap();
        for s in all() {
            assert_eq!(solve(s, &p).peak, 0);
        }
    }

    #[test]
    fn overflow_is_an_error_not_a_wrap() {
        // Two buffers of 2^63 - 1 bytes plus alignment padding: the problem
        // is valid (the sum fits), and so is the stacked layout.
        let half = u64::MAX / 2;
        let p = Problem::new(vec![Buffer::new("a", 0, 2, half), Buffer::new("b", 0, 2, half)], None).unwrap();
        for s in all() {
            assert_eq!(solve(s, &p).peak, 2 * half);
        }
    }
}
