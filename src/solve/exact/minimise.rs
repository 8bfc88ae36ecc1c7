//! Minimise mode: the smallest peak, found by asking the capacity question
//! for several capacities at once.
//!
//! Two kinds of attempts advance in the same lockstep rounds:
//!
//! ```text
//!   lower ──prove──→                      ←──improve── best
//!   ├──────────────┼──────────────────────┼────────────┤
//!   LB         refuted: lower rises   found: best falls   greedy
//! ```
//!
//! * the **prove** race asks "peak ≤ lower?" (the smallest capacity not yet
//!   refuted) in every lane: a layout there is optimal, a refutation raises
//!   `lower`;
//! * the **improve** race asks "peak ≤ best − step?" in every lane too: a
//!   layout lowers `best`, a refutation raises `lower`, and a
//!   race that concludes nothing within its round limit is dropped for a
//!   smaller step (and, at the smallest step, a longer limit).
//!
//! Canonical layouts stack whole buffers, so when every size is a multiple
//! of a granule `g` (and nothing is fixed or padded) so is every candidate
//! peak: capacities move in steps of `g`. The peak is proven optimal when
//! `best ≤ lower`.

use super::search::Step;
use super::{round, with_pool, Attempt, ExactParams, Prepared, Store, Unprepared};
use crate::{Solution, SolveOptions, Stats};
use smemplan_core::analysis::Analysis;
use smemplan_core::problem::{Layout, Problem};

/// Rounds an improve race gets at first before it is dropped.
const IMPROVE_ROUNDS: u32 = 24;

/// The smallest peak found from `fallback` (a valid layout) down, within
/// the options' deadline.
pub(super) fn minimise(
    analysis: &Analysis,
    options: &SolveOptions,
    params: &ExactParams,
    fallback: Layout,
) -> Solution {
    let problem = analysis.problem();
    let lb = analysis.lower_bound_bytes_until(&|| options.expired());
    let prepared = match Prepared::new(problem, params, options) {
        Ok(prepared) => prepared,
        Err(why) => {
            let mut solution = Solution::new(problem, fallback, lb, false);
            // A deadline that preparing would overrun cut the search as
            // surely as one that passed.
            if why == Unprepared::Late {
                solution.cut_short();
            }
            return solution;
        }
    };
    let g = prepared.granule();
    let mut state = State {
        problem,
        prepared: &prepared,
        params,
        g,
        lower: round_up(lb, g),
        best_peak: fallback.peak(problem),
        best: fallback,
        stats: Stats { winner: "exact".into(), ..Stats::default() },
        store: Store::new(&prepared),
        timed_out: Vec::new(),
    };
    let stop = || options.expired();
    with_pool(options.threads, || state.run(&stop));
    let mut solution = Solution::new(problem, state.best, state.lower.max(lb), false);
    if options.expired() {
        solution.cut_short();
    }
    solution.stats = state.stats;
    solution
}

/// Rounds `x` up to a multiple of `g` (saturating).
fn round_up(x: u64, g: u64) -> u64 {
    x.div_ceil(g).saturating_mul(g)
}

struct State<'a> {
    problem: &'a Problem,
    prepared: &'a Prepared,
    params: &'a ExactParams,
    g: u64,
    /// No layout has a smaller peak (proven).
    lower: u64,
    best: Layout,
    best_peak: u64,
    stats: Stats,
    /// Sub-problem layouts found so far, reused at any capacity they fit.
    store: Store,
    /// Improve targets that ran out of rounds, and how many they had.
    timed_out: Vec<(u64, u32)>,
}

/// The improve race and the rounds it has left.
struct Improve<'a> {
    race: Vec<Attempt<'a>>,
    rounds: u32,
    rounds_left: u32,
}

impl<'a> State<'a> {
    /// Every lane at `lower`.
    fn prove_race(&mut self) -> Vec<Attempt<'a>> {
        let race = Attempt::race(self.prepared, self.lower, self.params);
        self.stats.attempts += race.len() as u64;
        race
    }

    /// Every lane `step` below the best peak, if that is still above
    /// `lower` (at `lower` the prove race already asks).
    fn improve(&mut self, step: u64, rounds: u32) -> Option<Improve<'a>> {
        let target = self.best_peak.checked_sub(step)?;
        if target <= self.lower {
            return None;
        }
        // The search at a capacity is deterministic: a target that ran out
        // of rounds before only gets anywhere with more of them.
        let rounds = match self.timed_out.iter().find(|(t, _)| *t == target) {
            Some(&(_, before)) => rounds.max(before.saturating_mul(2)),
            None => rounds,
        };
        let race = Attempt::race(self.prepared, target, self.params);
        self.stats.attempts += race.len() as u64;
        Some(Improve { race, rounds, rounds_left: rounds })
    }

    /// A quarter of the gap between `lower` and the best peak, in granules:
    /// improve targets stay nearer the best peak than the lower bound, whose
    /// neighbourhood is where refutations are hard and layouts rare.
    fn step_for_gap(&self) -> u64 {
        (self.best_peak.saturating_sub(self.lower) / 4 / self.g * self.g).max(self.g)
    }

    fn retire(stats: &mut Stats, race: &[Attempt]) {
        for a in race {
            a.add_to(stats);
        }
    }

    fn run(&mut self, stop: &(dyn Fn() -> bool + Sync)) {
        if self.best_peak <= self.lower {
            return;
        }
        let mut prove = self.prove_race();
        let mut step = self.step_for_gap();
        let mut limit = IMPROVE_ROUNDS;
        let mut improve = self.improve(step, limit);
        let mut rounds = 0;
        loop {
            if self.params.round_limit.is_some_and(|l| rounds >= l) {
                break;
            }
            rounds += 1;
            let mut all: Vec<&mut Attempt> = prove.iter_mut().collect();
            all.extend(improve.iter_mut().flat_map(|i| i.race.iter_mut()));
            let steps = round(all, &mut self.store, self.params.round_nodes, stop);
            if steps.contains(&Step::Stopped) {
                break;
            }
            let (prove_steps, improve_steps) = steps.split_at(prove.len());
            let mut lower = self.lower;
            if let Some(i) = prove_steps.iter().position(|s| matches!(s, Step::Found | Step::Infeasible)) {
                if prove_steps[i] == Step::Found {
                    self.best = prove[i].layout();
                    self.best_peak = self.best.peak(self.problem);
                    break;
                }
                lower = round_up(self.lower + 1, self.g);
            }
            if let Some(imp) = improve.as_mut() {
                let target = imp.race[0].cap;
                let first = improve_steps.iter().position(|s| matches!(s, Step::Found | Step::Infeasible));
                let finished = match first.map(|i| (i, improve_steps[i])) {
                    Some((i, Step::Found)) => {
                        self.best = imp.race[i].layout();
                        self.best_peak = self.best.peak(self.problem);
                        true
                    }
                    Some(_) => {
                        lower = lower.max(round_up(target + 1, self.g));
                        true
                    }
                    None => {
                        imp.rounds_left -= 1;
                        if imp.rounds_left == 0 {
                            self.timed_out.retain(|(t, _)| *t != target);
                            self.timed_out.push((target, imp.rounds));
                            // Nothing concluded: aim closer to the best peak,
                            // and once that is as close as it gets, search
                            // longer.
                            if step == self.g {
                                limit = limit.saturating_mul(2);
                            }
                            step = (step / 2 / self.g * self.g).max(self.g);
                        }
                        imp.rounds_left == 0
                    }
                };
                if finished {
                    if let Some(done) = improve.take() {
                        Self::retire(&mut self.stats, &done.race);
                    }
                }
            }
            if lower > self.lower {
                self.lower = lower;
                Self::retire(&mut self.stats, &prove);
                prove.clear();
                step = self.step_for_gap();
            }
            if self.best_peak <= self.lower {
                break;
            }
            if prove.is_empty() {
                prove = self.prove_race();
            }
            if improve.is_none() {
                step = step.min(self.step_for_gap());
                improve = self.improve(step, limit);
            }
        }
        Self::retire(&mut self.stats, &prove);
        if let Some(i) = &improve {
            Self::retire(&mut self.stats, &i.race);
        }
    }
}
