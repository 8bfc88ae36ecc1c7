//! A problem together with what the solvers ask of it (the lower bound, the
//! interference graph), each computed at most once.
//!
//! Every solver's answer carries the lower bound, and a portfolio runs
//! several solvers on one problem (`auto` runs the four greedy strategies,
//! then `ilp` or `exact`, each of which reports against the bound). The
//! [`Problem`] itself stays plain data that knows nothing of bounds; an
//! [`Analysis`] borrows it and keeps the bound once computed, so that a run
//! pays for it once, and a caller that plans one problem many times (a
//! benchmark) can hold one analysis and pay once in all.

use crate::bound::{self, LowerBound};
use crate::interference::Graph;
use crate::interruptible::PIECE;
use crate::problem::Problem;
use std::sync::OnceLock;

/// A problem and its derived facts, computed on first use and kept.
/// Shared across threads (`Sync`): the first to ask computes, the others
/// wait for it.
#[derive(Debug)]
pub struct Analysis<'p> {
    problem: &'p Problem,
    lower_bound: OnceLock<LowerBound>,
    graph: OnceLock<Graph>,
}

impl<'p> Analysis<'p> {
    /// Nothing is computed yet.
    pub fn new(problem: &'p Problem) -> Self {
        Analysis { problem, lower_bound: OnceLock::new(), graph: OnceLock::new() }
    }

    /// The problem.
    pub fn problem(&self) -> &'p Problem {
        self.problem
    }

    /// [`bound::lower_bound`] of the problem, computed on the first call.
    pub fn lower_bound(&self) -> &LowerBound {
        self.lower_bound.get_or_init(|| bound::lower_bound(self.problem))
    }

    /// [`Analysis::lower_bound`] if it is known already, cheap (at most
    /// [`PIECE`] live segments: milliseconds), or computed before `stop`
    /// says so (polled a few milliseconds apart); `None` otherwise, and
    /// nothing is kept, so a later call without the deadline computes it in
    /// full.
    pub fn lower_bound_until(&self, stop: &dyn Fn() -> bool) -> Option<&LowerBound> {
        if let Some(lb) = self.lower_bound.get() {
            return Some(lb);
        }
        if self.problem.segments_at_most() <= PIECE {
            return Some(self.lower_bound());
        }
        let lb = bound::lower_bound_until(self.problem, stop)?;
        Some(self.lower_bound.get_or_init(|| lb))
    }

    /// The lower bound's bytes, or [`bound::trivial`]'s when `stop` cut
    /// [`Analysis::lower_bound_until`] short: what an answer reached under
    /// a deadline carries.
    pub fn lower_bound_bytes_until(&self, stop: &dyn Fn() -> bool) -> u64 {
        self.lower_bound_until(stop).map_or_else(|| bound::trivial(self.problem), |lb| lb.bytes)
    }

    /// The interference graph ([`Graph`]), built on the first call. Only
    /// the solvers that use graph algorithms ask (the ILP, the `--dot`
    /// export): it holds every interfering pair, which the greedy
    /// strategies avoid building on large problems.
    pub fn graph(&self) -> &Graph {
        self.graph.get_or_init(|| Graph::new(self.problem))
    }
}
