//! Greedy solvers: fast baselines and fallbacks.
//!
//! Each places buffers one at a time, in a strategy-specific order, at an
//! offset that avoids every already placed buffer it interferes with. Fixed
//! offsets are placed first, as given.

use super::{align_up, Solution, SolveOptions, Solver};
use crate::error::{Error, Result};
use crate::interference::{self, Neighbours};
use crate::problem::{BufferId, Layout, Problem};

/// Size-descending best fit (TensorFlow Lite's "greedy by size").
pub struct GreedySize;
/// TensorFlow Lite's "greedy by breadth".
pub struct GreedyBreadth;
/// First fit in order of lifetime start.
pub struct GreedyTime;

/// How a gap is chosen among those that fit.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Fit {
    First,
    Best,
}

/// Places `order` one by one against placed neighbours.
fn place(problem: &Problem, order: &[BufferId], fit: Fit) -> Result<Layout> {
    let nb = Neighbours::new(problem);
    let mut offsets: Vec<Option<u64>> = problem.buffers().iter().map(|b| b.offset).collect();
    let mut taken: Vec<(u64, u64)> = Vec::new();
    for &id in order {
        if offsets[id.index()].is_some() {
            continue;
        }
        let b = problem.buffer(id);
        taken.clear();
        taken.extend(nb.of(id).iter().filter_map(|&n| offsets[n.index()].map(|o| (o, o + problem.buffer(n).size))));
        taken.sort_unstable();
        let overflow = || Error::Overflow(format!("placing buffer `{}`", b.name));
        let mut best: Option<(u64, u64)> = None; // (gap size, offset)
        let mut cursor = 0u64;
        for &(lo, hi) in taken.iter().chain(std::iter::once(&(u64::MAX, u64::MAX))) {
            let start = align_up(cursor, b.alignment).ok_or_else(overflow)?;
            if lo >= start && lo - start >= b.size {
                let gap = lo - start;
                match fit {
                    Fit::First => {
                        best = Some((gap, start));
                        break;
                    }
                    Fit::Best if best.is_none_or(|(g, _)| gap < g) => best = Some((gap, start)),
                    Fit::Best => {}
                }
            }
            cursor = cursor.max(hi);
        }
        offsets[id.index()] = Some(best.ok_or_else(overflow)?.1);
    }
    Ok(Layout::new(offsets.into_iter().map(|o| o.unwrap_or(0)).collect()))
}

/// Places the free buffers of `order` one by one, each at the lowest aligned
/// offset that clears its already placed neighbours (fixed buffers first, as
/// given). Fed the buffers of any valid layout in order of increasing
/// offset, it yields a valid layout whose peak is no higher (each buffer
/// lands at or below its original offset), which is how other solvers turn
/// approximate offsets into exact ones.
pub fn first_fit(problem: &Problem, order: &[BufferId]) -> Result<Layout> {
    place(problem, order, Fit::First)
}

fn finish(problem: &Problem, layout: Layout) -> Solution {
    Solution::new(problem, layout, interference::lower_bound(problem).bytes, false)
}

impl Solver for GreedySize {
    fn name(&self) -> &'static str {
        "greedy-size"
    }
    fn solve(&self, problem: &Problem, _options: &SolveOptions) -> Result<Solution> {
        let mut order: Vec<BufferId> = problem.ids().collect();
        order.sort_by_key(|&id| {
            let b = problem.buffer(id);
            (std::cmp::Reverse(b.size), b.lifetime.start, id)
        });
        Ok(finish(problem, place(problem, &order, Fit::Best)?))
    }
}

impl Solver for GreedyBreadth {
    fn name(&self) -> &'static str {
        "greedy-breadth"
    }
    fn solve(&self, problem: &Problem, _options: &SolveOptions) -> Result<Solution> {
        // Buffers ordered by the heaviest instant they are live in, then size.
        let mut weight = vec![0u64; problem.len()];
        let profile = interference::live_profile(problem);
        for id in problem.ids() {
            let b = problem.buffer(id);
            for seg in b.segments() {
                let from = profile.partition_point(|&(t, _)| t <= seg.start).saturating_sub(1);
                for &(t, bytes) in &profile[from..] {
                    if t >= seg.end {
                        break;
                    }
                    weight[id.index()] = weight[id.index()].max(bytes);
                }
            }
        }
        let mut order: Vec<BufferId> = problem.ids().collect();
        order.sort_by_key(|&id| (std::cmp::Reverse(weight[id.index()]), std::cmp::Reverse(problem.buffer(id).size), id));
        Ok(finish(problem, place(problem, &order, Fit::Best)?))
    }
}

impl Solver for GreedyTime {
    fn name(&self) -> &'static str {
        "greedy-time"
    }
    fn solve(&self, problem: &Problem, _options: &SolveOptions) -> Result<Solution> {
        let mut order: Vec<BufferId> = problem.ids().collect();
        order.sort_by_key(|&id| (problem.buffer(id).lifetime.start, id));
        Ok(finish(problem, place(problem, &order, Fit::First)?))
    }
}
