//! A solver that remembers: [`Memo`] wraps another solver and answers a
//! problem it has seen before (up to names and scale) from memory.
//!
//! Sweeps and searches over buffer placements solve the same pools again
//! and again: a parameter that only touches the local pool leaves the shared
//! pool unchanged, and the f64 instance of a kernel is its f32 instance with
//! every size and alignment doubled. Two problems share an entry when they
//! are equal once names are dropped and every size, alignment, time-free
//! quantity (fixed offsets, capacity) is divided by their greatest common
//! divisor `g`, a power of two. That is exact, not a heuristic: every offset
//! of a valid layout is a multiple of its buffer's alignment and so of `g`,
//! so the layouts of a problem are exactly `g` times the layouts of its
//! normalised form, and peaks, bounds and proofs scale with them.
//!
//! ```text
//!  f32: a 400 B align 4, b 40 B align 4   ─┐  g = 4   ┌─▶ one solve
//!  f64: a 800 B align 8, b 80 B align 8   ─┘  g = 8 ──┘   (a 100, b 10)
//! ```
//!
//! The map is never locked while a solver runs (solvers may use rayon, and a
//! worker waiting on its own lock would deadlock), so two threads can race
//! to solve one problem; the first answer stored wins and both count as
//! solves. [`MemoStats`] therefore counts distinct problems separately from
//! solver calls, and its hit rate (lookups answered without a new problem)
//! does not depend on thread timing. An answer a deadline cut short is
//! remembered like any other: the problem it answers gets the same time
//! budget again, and a sweep's rows then agree whichever came first.

use super::{Infeasibility, Solution, SolveOptions, Solver, Status};
use crate::error::Result;
use smemplan_core::analysis::Analysis;
use smemplan_core::problem::{Interval, Layout, Problem};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// One buffer of a normalised problem (its name dropped).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct BufferShape {
    size: u64,
    alignment: u64,
    lifetime: Interval,
    gaps: Vec<Interval>,
    offset: Option<u64>,
}

/// A problem up to names and scale.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    buffers: Vec<BufferShape>,
    capacity: Option<u64>,
}

/// The scale `g` of a problem and its normalised key.
fn normalise(problem: &Problem, capacity: Option<u64>) -> (u64, Key) {
    let buffers = problem.buffers();
    // Alignments are powers of two, so `g` is the largest power of two
    // dividing every size, alignment and fixed offset.
    let mut bits = buffers.iter().map(|b| b.size | b.alignment | b.offset.unwrap_or(0)).fold(0u64, |a, x| a | x);
    if bits == 0 {
        bits = 1;
    }
    let g = 1u64 << bits.trailing_zeros();
    let key = Key {
        buffers: buffers
            .iter()
            .map(|b| BufferShape {
                size: b.size / g,
                alignment: b.alignment / g,
                lifetime: b.lifetime,
                gaps: b.gaps.clone(),
                offset: b.offset.map(|o| o / g),
            })
            .collect(),
        // Peaks are multiples of `g`, so capacity `c` admits what ⌊c/g⌋·g does.
        capacity: capacity.map(|c| c / g),
    };
    (g, key)
}

/// `reason` with its byte quantities mapped by `f`.
fn scale_reason(reason: Infeasibility, f: impl Fn(u64) -> u64) -> Infeasibility {
    match reason {
        Infeasibility::LiveBytes { instant, live_bytes, buffers } => {
            Infeasibility::LiveBytes { instant, live_bytes: f(live_bytes), buffers }
        }
        Infeasibility::Clique { bytes, buffers } => Infeasibility::Clique { bytes: f(bytes), buffers },
        other @ Infeasibility::Subproblem { .. } => other,
    }
}

/// `solution` with every byte quantity divided by `g` (bounds rounded up,
/// so that they stay bounds of the normalised problem).
fn shrink(mut solution: Solution, g: u64) -> Solution {
    for o in &mut solution.layout.offsets {
        *o /= g;
    }
    solution.peak /= g;
    solution.lower_bound = solution.lower_bound.div_ceil(g);
    if let Status::Infeasible(reason) = solution.status {
        solution.status = Status::Infeasible(scale_reason(reason, |b| b.div_ceil(g)));
    }
    solution
}

/// `solution` of a normalised problem scaled back by `g`.
fn grow(mut solution: Solution, g: u64) -> Solution {
    // A normalised quantity times `g` is at most the original problem's
    // (whose sums fit in u64), so these products cannot overflow.
    solution.layout = Layout::new(solution.layout.offsets.iter().map(|o| o * g).collect());
    solution.peak *= g;
    solution.lower_bound *= g;
    if let Status::Infeasible(reason) = solution.status {
        solution.status = Status::Infeasible(scale_reason(reason, |b| b * g));
    }
    solution
}

/// How a [`Memo`] was used.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct MemoStats {
    /// Problems asked for.
    pub lookups: u64,
    /// Distinct problems among them (up to names and scale).
    pub distinct: u64,
    /// Calls to the wrapped solver (at least `distinct`; more when threads
    /// raced on one problem).
    pub solves: u64,
}

impl MemoStats {
    /// The share of lookups answered by an earlier problem:
    /// `(lookups − distinct) / lookups`, 0 with no lookups.
    pub fn hit_rate(&self) -> f64 {
        if self.lookups == 0 {
            0.0
        } else {
            (self.lookups - self.distinct) as f64 / self.lookups as f64
        }
    }
}

/// A solver answering repeated problems from memory (see the module docs).
/// Thread-safe: share one across a parallel sweep.
pub struct Memo {
    inner: Box<dyn Solver>,
    solved: Mutex<HashMap<Key, Solution>>,
    lookups: AtomicU64,
    solves: AtomicU64,
}

impl Memo {
    /// Remembers `inner`'s answers.
    pub fn new(inner: Box<dyn Solver>) -> Memo {
        Memo { inner, solved: Mutex::new(HashMap::new()), lookups: AtomicU64::new(0), solves: AtomicU64::new(0) }
    }

    /// Counts so far.
    pub fn stats(&self) -> MemoStats {
        MemoStats {
            lookups: self.lookups.load(Ordering::Relaxed),
            distinct: self.map().len() as u64,
            solves: self.solves.load(Ordering::Relaxed),
        }
    }

    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Solution>> {
        // A panic elsewhere cannot leave a half-written entry (inserts are
        // single calls), so a poisoned map is still sound.
        self.solved.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Solver for Memo {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    fn solve(&self, analysis: &Analysis, options: &SolveOptions) -> Result<Solution> {
        let problem = analysis.problem();
        self.lookups.fetch_add(1, Ordering::Relaxed);
        let (g, key) = normalise(problem, options.capacity_for(problem));
        if let Some(known) = self.map().get(&key) {
            return Ok(grow(known.clone(), g));
        }
        self.solves.fetch_add(1, Ordering::Relaxed);
        let solution = self.inner.solve(analysis, options)?;
        let kept = self.map().entry(key).or_insert_with(|| shrink(solution, g)).clone();
        Ok(grow(kept, g))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::greedy::GreedySize;
    use smemplan_core::check;
    use smemplan_core::problem::Buffer;

    fn problem(scale: u64, prefix: &str) -> Problem {
        Problem::new(
            vec![
                Buffer::new(format!("{prefix}a"), 0, 4, 3 * scale).with_alignment(scale),
                Buffer::new(format!("{prefix}b"), 2, 6, 5 * scale).with_alignment(scale),
                Buffer::new(format!("{prefix}c"), 5, 9, 2 * scale).with_alignment(scale),
            ],
            None,
        )
        .unwrap()
    }

    #[test]
    fn scaled_and_renamed_problems_share_one_solve() {
        let memo = Memo::new(Box::new(GreedySize));
        let small = crate::run(&memo, &problem(4, "x"), &SolveOptions::default()).unwrap();
        let large = crate::run(&memo, &problem(8, "y"), &SolveOptions::default()).unwrap();
        assert_eq!(memo.stats(), MemoStats { lookups: 2, distinct: 1, solves: 1 });
        assert_eq!(memo.stats().hit_rate(), 0.5);
        assert_eq!(large.peak, 2 * small.peak);
        assert_eq!(large.layout.offsets, small.layout.offsets.iter().map(|o| 2 * o).collect::<Vec<_>>());
        let p = problem(8, "y");
        assert!(check::check(&p, &large.layout.named(&p), None).is_valid());
    }

    #[test]
    fn different_lifetimes_or_capacities_are_different_problems() {
        let memo = Memo::new(Box::new(GreedySize));
        let other = Problem::new(vec![Buffer::new("a", 0, 5, 12).with_alignment(4)], None).unwrap();
        crate::run(&memo, &problem(4, ""), &SolveOptions::default()).unwrap();
        crate::run(&memo, &other, &SolveOptions::default()).unwrap();
        crate::run(&memo, &problem(4, ""), &SolveOptions::default().with_capacity(Some(20))).unwrap();
        assert_eq!(memo.stats(), MemoStats { lookups: 3, distinct: 3, solves: 3 });
    }

    #[test]
    fn an_answer_from_memory_equals_a_fresh_one() {
        let memo = Memo::new(Box::new(GreedySize));
        let p = problem(2, "");
        let fresh = crate::run(&GreedySize, &p, &SolveOptions::default()).unwrap();
        crate::run(&memo, &p, &SolveOptions::default()).unwrap();
        let remembered = crate::run(&memo, &p, &SolveOptions::default()).unwrap();
        assert_eq!(remembered.layout, fresh.layout);
        assert_eq!((remembered.peak, remembered.lower_bound), (fresh.peak, fresh.lower_bound));
    }
}
