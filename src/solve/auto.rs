//! `auto`, the default strategy: a portfolio.
//!
//! 1. The best greedy layout, at once ([`greedy::best`]): if it meets the
//!    lower bound, or fits the capacity in capacity mode, that is the answer.
//! 2. Otherwise the exact solvers until proven or the deadline: `ilp` first
//!    for small instances (at most [`ILP_MAX_BUFFERS`] buffers and
//!    [`ilp::MAX_PAIRS`] interfering pairs), given a share of the time, then
//!    `exact` with whatever time is left; `exact` alone for larger ones.
//!
//! The best valid layout found is returned; `optimal` is true only when a
//! solver proved it, and a refuted capacity keeps the proof's reason.

use super::{exact, greedy, ilp, Solution, SolveOptions, Solver};
use crate::analysis::Analysis;
use crate::error::{Error, Result};
use crate::interference;
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
    let mut keep = if other.peak < best.peak || (other.peak == best.peak && other.optimal && !best.optimal) {
        other.clone()
    } else {
        best.clone()
    };
    keep.optimal =
        keep.optimal || (other.optimal && other.peak == keep.peak) || (best.optimal && best.peak == keep.peak);
    keep.lower_bound = best.lower_bound.max(other.lower_bound);
    keep.infeasible = best.infeasible.or(other.infeasible);
    keep.stats.nodes = best.stats.nodes + other.stats.nodes;
    keep.stats.backtracks = best.stats.backtracks + other.stats.backtracks;
    keep.stats.attempts = best.stats.attempts + other.stats.attempts;
    keep
}

/// Whether `s` already answers the question asked.
fn settled(s: &Solution, capacity: Option<u64>) -> bool {
    s.optimal || s.infeasible.is_some() || capacity.is_some_and(|c| s.peak <= c)
}

impl Solver for Auto {
    fn name(&self) -> &'static str {
        "auto"
    }

    fn solve(&self, analysis: &Analysis, options: &SolveOptions) -> Result<Solution> {
        let problem = analysis.problem();
        let capacity = options.capacity_for(problem);
        let mut best = greedy::best(analysis, options)?;
        if settled(&best, capacity) || options.expired() {
            return Ok(best);
        }
        let small =
            problem.len() <= ILP_MAX_BUFFERS && interference::interfering_pairs(problem).len() <= ilp::MAX_PAIRS;
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
            if settled(&best, capacity) || options.expired() {
                return Ok(best);
            }
        }
        let s = exact::Exact::default().solve(analysis, options)?;
        Ok(better(best, s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::verify;
    use crate::generate::{generate, GenOptions};
    use crate::problem::Problem;
    use crate::solve::{brute, run, Infeasibility};

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
            assert!(s.optimal, "seed {seed}: not proven");
            assert_eq!(s.peak, optimum, "seed {seed}");
        }
    }

    #[test]
    fn capacity_mode_stops_at_a_fitting_layout_or_a_proof() {
        for seed in 0..20 {
            let p = small(seed);
            let (optimum, _) = brute::minimum(&p).unwrap();
            let fits = run(&Auto, &p, &SolveOptions::default().with_capacity(Some(optimum))).unwrap();
            assert!(fits.peak <= optimum && fits.infeasible.is_none(), "seed {seed}");
            let short = run(&Auto, &p, &SolveOptions::default().with_capacity(Some(optimum - 1))).unwrap();
            verify(&p, &short).unwrap_or_else(|r| panic!("seed {seed}: {r}"));
            assert!(
                matches!(
                    short.infeasible,
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
    }
}
