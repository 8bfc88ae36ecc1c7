//! Iterated local search over placement orders: the upper bound that the
//! searching solvers start from when the greedy layouts are not good
//! enough.
//!
//! An order is scored by [`greedy::first_fit`]'s layout: its peak, then the
//! area above the lower bound (so that moves which lower some buffers count
//! on a flat peak). One pass tries moving every buffer to every earlier
//! place and keeps improvements; a local optimum is left by swapping a few
//! random pairs of the best order. The random stream is fixed, so results
//! repeat. On most random problems of a few dozen buffers it reaches the
//! lower bound where greedy does not, in a few milliseconds, including some
//! where `exact`'s search wanders for a second.

use super::greedy;
use super::SolveOptions;
use crate::error::Result;
use smemplan_core::analysis::Analysis;
use smemplan_core::problem::{BufferId, Layout};

/// Most work for one [`polish`], in evaluated orders times buffers (about
/// 0.1 s for 30 buffers).
pub const WORK: usize = 1_000_000;

/// Evaluations between two polls of the deadline inside a pass.
const POLL: usize = 64;

/// A layout with a smaller peak than `start`'s, if the search finds one
/// before its peak is at most `good_enough`, the work budget ([`WORK`])
/// runs out or `options` expire.
pub fn polish(analysis: &Analysis, start: &Layout, good_enough: u64, options: &SolveOptions) -> Result<Option<Layout>> {
    let problem = analysis.problem();
    let n = problem.len();
    let lower = analysis.lower_bound().bytes;
    let score = |order: &[BufferId]| -> Result<(u64, u64, Layout)> {
        let layout = greedy::first_fit(problem, order)?;
        let excess = problem
            .buffers()
            .iter()
            .zip(&layout.offsets)
            .map(|(b, &o)| (o + b.size).saturating_sub(lower).saturating_mul(b.lifetime.len()))
            .fold(0u64, u64::saturating_add);
        Ok((layout.peak(problem), excess, layout))
    };
    let mut order: Vec<BufferId> = problem.ids().collect();
    order.sort_by_key(|&id| (start.offset(id), id));
    let mut best = score(&order)?;
    let mut best_order = order.clone();
    let mut trial = order.clone();
    // About forty passes for small groups; less for large ones, whose
    // every evaluation costs more.
    let mut budget = (40 * n * n).min(WORK / n.max(1));
    let mut rng = 0x9e37_79b9_7f4a_7c15u64 ^ n as u64;
    'search: while best.0 > good_enough && budget > 0 && !options.expired() {
        let mut current = score(&order)?;
        let mut improved = true;
        while improved {
            improved = false;
            'pass: for i in 1..n {
                for j in 0..i {
                    trial.copy_from_slice(&order);
                    trial[j..=i].rotate_right(1);
                    let s = score(&trial)?;
                    budget = budget.saturating_sub(1);
                    if (s.0, s.1) < (current.0, current.1) {
                        order.copy_from_slice(&trial);
                        current = s;
                        improved = true;
                    }
                    // The deadline every few evaluations too: a pass over
                    // a large group is `n²` of them (issue 19).
                    if current.0 <= good_enough || budget == 0 || (budget.is_multiple_of(POLL) && options.expired()) {
                        break 'pass;
                    }
                }
            }
            if budget == 0 || options.expired() {
                break;
            }
        }
        if (current.0, current.1) < (best.0, best.1) {
            best = current;
            best_order.copy_from_slice(&order);
        }
        if best.0 <= good_enough || budget == 0 || n < 2 {
            break 'search;
        }
        order.copy_from_slice(&best_order);
        for _ in 0..3 {
            // xorshift64: a fixed stream, so runs repeat.
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            let (a, b) = ((rng % n as u64) as usize, ((rng >> 32) % n as u64) as usize);
            order.swap(a, b);
        }
    }
    Ok((best.0 < start.peak(problem)).then_some(best.2))
}
