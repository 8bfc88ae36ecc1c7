//! `greedy-floor`: the order in which a canonical search dives, without
//! the search.
//!
//! MiniMalloc-class searches (see `exact`) place, at each step, a buffer
//! that can go lowest: every unplaced buffer may start no lower than the
//! top of its highest placed neighbour, the *floor* is the least such
//! start, and a buffer at the floor goes there. Taken greedily (at the
//! floor, the largest buffer first, then the longest lived), that dive
//! alone often reaches the lower bound where size, breadth and time orders
//! leave a few percent: the floor keeps the skyline flat, so no buffer is
//! stranded on a peak that a later, wider one has to clear.
//!
//! Without fixed buffers, the dive's offsets never decrease, so its order is
//! an order of increasing offset of a valid layout, and
//! [`super::first_fit`] on it gives a layout at least as low (holes below
//! the skyline are filled too). Fixed buffers take no part in the dive; first
//! fit keeps them where they are and packs the others around them, so then
//! the order is only a good one, with no such guarantee.

use super::{free_ids, size_order, solve_plan, Plan};
use crate::error::Result;
use crate::{Solution, SolveOptions, Solver};
use smemplan_core::analysis::Analysis;
use smemplan_core::arith::align_up;
use smemplan_core::interference::{self, Neighbours};
use smemplan_core::interruptible::PIECE;
use smemplan_core::problem::{BufferId, Problem};
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Problems with more interfering pairs than this (the dive keeps the
/// interference graph, 8 bytes a pair) get the size order instead.
pub const MAX_PAIRS: u64 = 1 << 22;

/// The floor-first greedy (see the module docs).
pub struct GreedyFloor;

impl Solver for GreedyFloor {
    fn name(&self) -> &'static str {
        "greedy-floor"
    }

    fn solve(&self, analysis: &Analysis, options: &SolveOptions) -> Result<Solution> {
        solve_plan(Plan::Floor, analysis, options)
    }
}

/// The free buffers in the order of the floor-first dive; `None` once
/// `stop` says so (polled while sorting and every [`PIECE`] buffers).
pub(super) fn floor_order(problem: &Problem, stop: &dyn Fn() -> bool) -> Option<Vec<BufferId>> {
    if interference::pairs_at_most_until(problem, stop)? > MAX_PAIRS {
        return size_order(problem, stop);
    }
    let nb = Neighbours::new_until(problem, stop)?;
    let free = free_ids(problem);
    // The lowest start each buffer may take now; fixed buffers never join
    // the dive (first fit packs around them).
    let mut start = vec![0u64; problem.len()];
    let mut done: Vec<bool> = problem.buffers().iter().map(|b| b.offset.is_some()).collect();
    // Lowest start first; at equal starts the largest, then longest lived,
    // then input order. Entries go stale when a start rises.
    let key = |id: BufferId, at: u64| {
        let b = problem.buffer(id);
        Reverse((at, Reverse(b.size), Reverse(b.lifetime.len()), id))
    };
    let mut heap: BinaryHeap<_> = free.iter().map(|&id| key(id, 0)).collect();
    let mut order = Vec::with_capacity(free.len());
    let mut work = 0;
    while let Some(Reverse((at, _, _, id))) = heap.pop() {
        if done[id.index()] || at != start[id.index()] {
            continue;
        }
        work += 1 + nb.of(id).len();
        if work >= PIECE {
            work = 0;
            if stop() {
                return None;
            }
        }
        done[id.index()] = true;
        order.push(id);
        let top = at.saturating_add(problem.buffer(id).size);
        for &u in nb.of(id) {
            if done[u.index()] {
                continue;
            }
            let lifted = align_up(top, problem.buffer(u).alignment).unwrap_or(u64::MAX);
            if lifted > start[u.index()] {
                start[u.index()] = lifted;
                heap.push(key(u, lifted));
            }
        }
    }
    Some(order)
}
