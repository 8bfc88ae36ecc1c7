//! Exhaustive search for tiny problems: the reference the other solvers are
//! tested against.
//!
//! Why it is exact: take any valid layout and place its buffers one by one in
//! order of increasing offset, each at the lowest aligned offset that clears
//! its already placed neighbours. By induction every placed buffer ends no
//! higher than in the original layout, so the original offset of the next
//! buffer is still free and the lowest fit is at or below it. Hence the best
//! peak over all placement orders is the optimum. Orders are enumerated by
//! depth-first search, pruned when a partial peak already reaches the best.

use super::{Solution, SolveOptions, Solver};
use crate::error::{Error, Result};
use smemplan_core::analysis::Analysis;
use smemplan_core::arith::align_up;
use smemplan_core::interference::Neighbours;
use smemplan_core::problem::{BufferId, Layout, Problem};

/// Largest instance [`Brute`] accepts: the search is factorial.
pub const MAX_BUFFERS: usize = 10;

/// The exhaustive reference solver (minimise mode; at most [`MAX_BUFFERS`]).
pub struct Brute;

struct BruteSearch<'a> {
    problem: &'a Problem,
    nb: Neighbours,
    offsets: Vec<Option<u64>>,
    best: Option<(u64, Vec<u64>)>,
}

impl BruteSearch<'_> {
    fn lowest_fit(&self, id: BufferId) -> u64 {
        let b = self.problem.buffer(id);
        let mut taken: Vec<(u64, u64)> = self
            .nb
            .of(id)
            .iter()
            .filter_map(|&n| self.offsets[n.index()].map(|o| (o, o + self.problem.buffer(n).size)))
            .collect();
        taken.sort_unstable();
        let mut at = 0;
        for (lo, hi) in taken {
            // Validated problems keep every offset + size far from u64::MAX.
            at = align_up(at, b.alignment).unwrap_or(u64::MAX);
            if at + b.size <= lo {
                break;
            }
            at = at.max(hi);
        }
        align_up(at, b.alignment).unwrap_or(u64::MAX)
    }

    fn go(&mut self, peak: u64, left: &mut Vec<BufferId>) {
        if self.best.as_ref().is_some_and(|(b, _)| peak >= *b) {
            return;
        }
        if left.is_empty() {
            self.best = Some((peak, self.offsets.iter().map(|o| o.unwrap_or(0)).collect()));
            return;
        }
        for i in 0..left.len() {
            let id = left.swap_remove(i);
            let at = self.lowest_fit(id);
            self.offsets[id.index()] = Some(at);
            self.go(peak.max(at + self.problem.buffer(id).size), left);
            self.offsets[id.index()] = None;
            left.push(id);
            let last = left.len() - 1;
            left.swap(i, last);
        }
    }
}

/// The minimum peak and a layout reaching it.
pub fn minimum(problem: &Problem) -> Result<(u64, Layout)> {
    if problem.len() > MAX_BUFFERS {
        return Err(Error::Unsupported {
            strategy: "brute".into(),
            reason: format!("{} buffers; exhaustive search takes at most {MAX_BUFFERS}", problem.len()),
        });
    }
    let offsets: Vec<Option<u64>> = problem.buffers().iter().map(|b| b.offset).collect();
    let fixed_peak = problem.buffers().iter().filter_map(|b| b.offset.map(|o| o + b.size)).max().unwrap_or(0);
    let mut left: Vec<BufferId> = problem.ids().filter(|&id| offsets[id.index()].is_none()).collect();
    let mut s = BruteSearch { problem, nb: Neighbours::new(problem), offsets, best: None };
    s.go(fixed_peak, &mut left);
    let (peak, offsets) = s.best.unwrap_or((0, Vec::new()));
    Ok((peak, Layout::new(offsets)))
}

impl Solver for Brute {
    fn name(&self) -> &'static str {
        "brute"
    }

    fn solve(&self, analysis: &Analysis, _options: &SolveOptions) -> Result<Solution> {
        let problem = analysis.problem();
        let (_, layout) = minimum(problem)?;
        Ok(Solution::new(problem, layout, analysis.lower_bound().bytes, true))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use smemplan_core::check::check;
    use smemplan_core::problem::Buffer;

    #[test]
    fn finds_the_tetris_optimum() {
        // Max live bytes is 3 (at t = 1 and t = 3), and a layout reaches it.
        let p = Problem::new(
            vec![
                Buffer::new("a", 0, 2, 2),
                Buffer::new("b", 2, 4, 1),
                Buffer::new("c", 1, 3, 1),
                Buffer::new("d", 3, 5, 2),
            ],
            None,
        )
        .unwrap();
        let (peak, layout) = minimum(&p).unwrap();
        assert_eq!(peak, 3);
        assert!(check(&p, &layout.named(&p), Some(3)).is_valid());
    }

    #[test]
    fn honours_alignment_and_fixed_offsets() {
        let p = Problem::new(
            vec![Buffer::new("f", 0, 4, 2).with_offset(2), Buffer::new("a", 0, 4, 4).with_alignment(4)],
            None,
        )
        .unwrap();
        let (peak, layout) = minimum(&p).unwrap();
        assert_eq!(layout.offsets, vec![2, 4]);
        assert_eq!(peak, 8);
        assert!(check(&p, &layout.named(&p), None).is_valid());
    }

    #[test]
    fn refuses_large_instances() {
        let bufs = (0..=MAX_BUFFERS).map(|i| Buffer::new(format!("b{i}"), 0, 1, 1)).collect();
        assert!(matches!(minimum(&Problem::new(bufs, None).unwrap()), Err(Error::Unsupported { .. })));
    }

    // The lower bound's own tests that need the brute-force optimum.
    #[test]
    fn stacking_height_is_the_optimum_of_a_single_live_set() {
        use crate::brute;
        use smemplan_core::bound::{lower_bound, stacking_height};
        use smemplan_core::generate::{generate, GenOptions, Spread};
        use smemplan_core::problem::BufferId;
        // Every buffer live over the whole timeline: the problem is one
        // live set, so its optimum is the stacking height.
        for seed in 0..200 {
            let options = GenOptions {
                buffers: 1 + seed as usize % 7,
                timeline: Some(1),
                sizes: Spread::Uniform { min: 1, max: 12 },
                alignment_probability: 0.6,
                max_alignment: 8,
                fixed_probability: 0.3,
                ..GenOptions::default()
            };
            let p = generate(&options, seed).unwrap();
            let ids: Vec<BufferId> = p.ids().collect();
            let (optimum, _) = brute::minimum(&p).unwrap();
            assert_eq!(stacking_height(&p, &ids), optimum, "seed {seed}: {p:?}");
            assert_eq!(lower_bound(&p).bytes, optimum, "seed {seed}");
        }
    }

    #[test]
    fn holes_make_cliques_heavier_than_any_live_set() {
        use smemplan_core::bound::lower_bound;
        use smemplan_core::interference::live_profile;
        let p = crate::fixtures::triangle();
        assert_eq!(live_profile(&p).iter().map(|&(_, b)| b).max(), Some(2));
        let lb = lower_bound(&p);
        assert_eq!((lb.bytes, lb.clique), (3, p.ids().collect()));
        // With alignment the clique's stacking height counts: b (4 bytes,
        // 4-aligned) first, then the two 1-byte buffers.
        let mut buffers = p.buffers().to_vec();
        buffers[1] = buffers[1].clone().with_alignment(4);
        buffers[1].size = 4;
        let p = Problem::new(buffers, None).unwrap();
        assert_eq!(lower_bound(&p).bytes, 6);
    }
}
