//! `auto`, the default strategy: a portfolio.
//!
//! 1. The best greedy layout, at once ([`greedy::best`]): if it meets the
//!    lower bound, or fits the capacity in capacity mode, that is the answer.
//! 2. Otherwise the exact solvers until proven or the deadline: `ilp` first
//!    for small instances (at most [`ILP_MAX_BUFFERS`] buffers and
//!    [`ilp::MAX_PAIRS`] interfering pairs), given a share of the time, then
//!    `exact` with whatever time is left; `exact` alone for larger ones.
//! 3. If `exact` gives up with time left (the problem is too large for it
//!    to prepare, or its round limit ran out), large-neighbourhood search
//!    ([`lns::Lns`]) improves the best layout until the target, the
//!    deadline, or a stall (see [`lns::STALL_ROUNDS`]).
//!
//! The best valid layout found is returned; it is [`Status::Optimal`] only
//! when a solver proved it, a refuted capacity keeps the proof's reason, and
//! a deadline that cut any stage short shows as [`Status::DeadlineReached`].

use super::{exact, greedy, ilp, lns, Solution, SolveOptions, Solver, Status};
use crate::error::{Error, Result};
use smemplan_core::analysis::Analysis;
use std::time::Instant;

/// Instances up to this many buffers try the ILP before the branch and bound.
pub const ILP_MAX_BUFFERS: usize = 30;

/// Share of the remaining time the ILP may use before `exact` takes over.
const ILP_TIME_SHARE: f64 = 0.3;

/// The default portfolio strategy.
#[derive(Debug, Clone, Copy, Default)]
pub struct Auto;

/// Keeps the better of two answers for the same problem: a proof of
/// infeasibility or optimality wins, then the smaller peak.
fn better(best: Solution, other: Solution) -> Solution {
    let mut keep = if other.peak < best.peak || (other.peak == best.peak && other.is_optimal() && !best.is_optimal()) {
        other.clone()
    } else {
        best.clone()
    };
    // A proof by either is a bound for both: it raises the bound to its
    // peak, which proves `keep` optimal when the peaks agree.
    keep.raise_lower_bound(best.lower_bound.max(other.lower_bound));
    if let Some(why) = best.infeasibility().or(other.infeasibility()) {
        keep.refute(why.clone());
    }
    if [&best, &other].iter().any(|s| s.status == Status::DeadlineReached) {
        keep.cut_short();
    }
    keep.stats.nodes = best.stats.nodes + other.stats.nodes;
    keep.stats.backtracks = best.stats.backtracks + other.stats.backtracks;
    keep.stats.attempts = best.stats.attempts + other.stats.attempts;
    keep
}

/// Whether `s` already answers the question asked.
fn settled(s: &Solution, capacity: Option<u64>) -> bool {
    s.is_optimal() || s.infeasibility().is_some() || capacity.is_some_and(|c| s.peak <= c)
}

impl Solver for Auto {
    fn name(&self) -> &'static str {
        "auto"
    }

    fn solve(&self, analysis: &Analysis, options: &SolveOptions) -> Result<Solution> {
        let problem = analysis.problem();
        let capacity = options.capacity_for(problem);
        let mut best = greedy::best(analysis, options)?;
        if options.expired() {
            best.cut_short();
        }
        if settled(&best, capacity) || options.expired() {
            return Ok(best);
        }
        // The graph built here is the one the ILP then decomposes.
        let small = problem.len() <= ILP_MAX_BUFFERS && analysis.graph().edge_count() <= ilp::MAX_PAIRS;
        if small {
            let mut share = options.clone();
            if let Some(deadline) = options.deadline {
                let left = deadline.saturating_duration_since(Instant::now());
                share.deadline = Some(Instant::now() + left.mul_f64(ILP_TIME_SHARE));
            }
            match ilp::Ilp::default().solve(analysis, &share) {
                Ok(s) => best = better(best, s),
                Err(Error::Unsupported { .. }) => {}
                Err(e) => return Err(e),
            }
            if options.expired() {
                best.cut_short();
            }
            if settled(&best, capacity) || options.expired() {
                return Ok(best);
            }
        }
        // `exact` starts from the greedy layout found above, not its own.
        let s = exact::Exact::default().solve_from(analysis, options, best.layout.clone())?;
        let best = better(best, s);
        if settled(&best, capacity) || options.expired() {
            return Ok(best);
        }
        // The exact search gave up before the deadline: spend what is left
        // improving its answer.
        let improved = lns::Lns::default().improve(analysis, options, best.clone());
        Ok(better(best, improved))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify;
    use crate::{brute, run, Infeasibility};
    use smemplan_core::generate::{generate, GenOptions};
    use smemplan_core::problem::Problem;

    fn small(seed: u64) -> Problem {
        let options = GenOptions {
            buffers: 9,
            timeline: Some(12),
            gap_probability: 0.2,
            alignment_probability: 0.3,
            fixed_probability: 0.1,
            ..GenOptions::default()
        };
        generate(&options, seed).unwrap()
    }

    #[test]
    fn small_instances_reach_the_brute_force_optimum() {
        for seed in 0..40 {
            let p = small(seed);
            let s = run(&Auto, &p, &SolveOptions::default()).unwrap();
            verify(&p, &s).unwrap_or_else(|r| panic!("seed {seed}: {r}"));
            let (optimum, _) = brute::minimum(&p).unwrap();
            assert!(s.is_optimal(), "seed {seed}: not proven");
            assert_eq!(s.peak, optimum, "seed {seed}");
        }
    }

    #[test]
    fn capacity_mode_stops_at_a_fitting_layout_or_a_proof() {
        for seed in 0..20 {
            let p = small(seed);
            let (optimum, _) = brute::minimum(&p).unwrap();
            let fits = run(&Auto, &p, &SolveOptions::default().with_capacity(Some(optimum))).unwrap();
            assert!(fits.peak <= optimum && fits.infeasibility().is_none(), "seed {seed}");
            let short = run(&Auto, &p, &SolveOptions::default().with_capacity(Some(optimum - 1))).unwrap();
            verify(&p, &short).unwrap_or_else(|r| panic!("seed {seed}: {r}"));
            assert!(
                matches!(
                    short.infeasibility(),
                    Some(
                        Infeasibility::LiveBytes { .. }
                            | Infeasibility::Clique { .. }
                            | Infeasibility::Subproblem { .. }
                    )
                ),
                "seed {seed}: capacity {} below the optimum must be refuted",
                optimum - 1
            );
        }
    }

    #[test]
    fn an_expired_deadline_still_gives_a_valid_layout() {
        let p = small(7);
        let options = SolveOptions { deadline: Some(Instant::now()), ..SolveOptions::default() };
        let s = run(&Auto, &p, &options).unwrap();
        verify(&p, &s).unwrap();
        // The greedy layout alone: the deadline, not a missing proof, says why
        // it is not proven.
        assert!(s.is_optimal() || s.status == Status::DeadlineReached, "{:?}", s.status);
        let greedy = run(&greedy::GreedySize, &p, &options).unwrap();
        assert!(matches!(greedy.status, Status::Optimal | Status::Unproven), "greedy searches nothing to cut");
    }

    #[test]
    fn the_status_tells_a_cut_search_from_an_untried_proof() {
        use smemplan_core::problem::Buffer;
        // Max live bytes 7, reached by a layout; every greedy order needs 8.
        let p = Problem::new(
            vec![
                Buffer::new("b0", 4, 5, 4),
                Buffer::new("b1", 2, 4, 2),
                Buffer::new("b2", 0, 4, 1),
                Buffer::new("b3", 5, 9, 3),
                Buffer::new("b4", 3, 6, 1),
                Buffer::new("b5", 8, 10, 4),
            ],
            None,
        )
        .unwrap();
        let plain = SolveOptions::default();
        let greedy = run(&greedy::GreedySize, &p, &plain).unwrap();
        assert_eq!((greedy.peak, greedy.lower_bound, &greedy.status), (8, 7, &Status::Unproven));
        let expired = SolveOptions { deadline: Some(Instant::now()), ..SolveOptions::default() };
        let cut = run(&Auto, &p, &expired).unwrap();
        assert_eq!((cut.peak, &cut.status), (8, &Status::DeadlineReached));
        let proven = run(&Auto, &p, &plain).unwrap();
        assert_eq!((proven.peak, &proven.status), (7, &Status::Optimal));
        let refuted = run(&Auto, &p, &plain.with_capacity(Some(6))).unwrap();
        assert!(matches!(refuted.status, Status::Infeasible(Infeasibility::LiveBytes { live_bytes: 7, .. })));
        assert_eq!(refuted.status.name(), "infeasible");
    }
}
