//! Properties every strategy must have, on random problems from
//! [`smemplan::core::generate`] (quickcheck draws the options and the seed;
//! shrinking drops buffers from the end, and since the generator draws
//! buffer by buffer, a shrunk case is a prefix of the failing one).
//!
//! For each row of [`smemplan::solve::strategies::STRATEGIES`] (so strategies added later are
//! covered without touching this file), under a short deadline:
//! * the layout passes the independent checker and its peak is the
//!   solution's;
//! * max live bytes ≤ claimed lower bound ≤ peak ≤ the stacking bound
//!   (fixed ends, then every free buffer on top of the last, each padded to
//!   its alignment);
//! * on tiny problems, against exhaustive search: the claimed lower bound
//!   never exceeds the optimum, and `optimal: true` means the optimum.
//!
//! A strategy may refuse a problem with [`Error::Unsupported`] (the
//! exhaustive reference does above its size limit); any other error fails.

#[path = "support/seed.rs"]
mod seed;

use quickcheck::{Arbitrary, Gen, QuickCheck, TestResult};
use smemplan::core::generate::{generate, GenOptions, Spread};
use smemplan::solve::strategies::STRATEGIES;
use smemplan::solve::{self, brute, greedy, Solution, SolveOptions};
use smemplan::{core::analysis::Analysis, core::bound, Problem};
use std::time::Duration;

/// The deadline each solver gets per problem.
const DEADLINE: Duration = Duration::from_millis(200);

/// Options and a seed for [`generate`]; `Debug` shows what to replay.
#[derive(Debug, Clone)]
struct Case {
    options: GenOptions,
    seed: u64,
}

impl Case {
    fn arbitrary_with(g: &mut Gen, max_buffers: usize) -> Self {
        let pick = |g: &mut Gen, xs: &[f64]| *g.choose(xs).unwrap();
        let timeline = u64::arbitrary(g) % 24 + 1;
        let options = GenOptions {
            buffers: usize::arbitrary(g) % (max_buffers + 1),
            timeline: Some(timeline),
            lifetimes: Spread::Uniform { min: 1, max: u64::arbitrary(g) % timeline + 1 },
            sizes: *g.choose(&[Spread::Uniform { min: 1, max: 8 }, Spread::LogUniform { min: 1, max: 4096 }]).unwrap(),
            alignment_probability: pick(g, &[0.0, 0.3, 1.0]),
            max_alignment: *g.choose(&[2, 8, 64]).unwrap(),
            gap_probability: pick(g, &[0.0, 0.3, 0.8]),
            fixed_probability: pick(g, &[0.0, 0.1, 0.5]),
            capacity: None,
        };
        Case { options, seed: u64::arbitrary(g) }
    }

    fn problem(&self) -> Problem {
        // The generator promises valid problems: an error here is a bug.
        generate(&self.options, self.seed).expect("the generator returned an error")
    }

    fn shrink_buffers(&self) -> Box<dyn Iterator<Item = Self>> {
        let me = self.clone();
        Box::new(
            self.options
                .buffers
                .shrink()
                .map(move |buffers| Case { options: GenOptions { buffers, ..me.options.clone() }, seed: me.seed }),
        )
    }
}

/// Up to 30 buffers: for the checker and the bounds.
#[derive(Debug, Clone)]
struct Small(Case);

impl Arbitrary for Small {
    fn arbitrary(g: &mut Gen) -> Self {
        Small(Case::arbitrary_with(g, 30))
    }
    fn shrink(&self) -> Box<dyn Iterator<Item = Self>> {
        Box::new(self.0.shrink_buffers().map(Small))
    }
}

/// Up to 7 buffers: small enough for exhaustive search.
#[derive(Debug, Clone)]
struct Tiny(Case);

impl Arbitrary for Tiny {
    fn arbitrary(g: &mut Gen) -> Self {
        Tiny(Case::arbitrary_with(g, 7))
    }
    fn shrink(&self) -> Box<dyn Iterator<Item = Self>> {
        Box::new(self.0.shrink_buffers().map(Tiny))
    }
}

/// Runs every strategy on `problem`, checks its layout, and returns the
/// solutions of those that accepted it (by name), or the first failure.
fn solve_all(problem: &Problem) -> Result<Vec<(&'static str, Solution)>, String> {
    let mut out = Vec::new();
    for row in STRATEGIES {
        let solver = (row.make)();
        let options = SolveOptions::default().with_time_limit(DEADLINE);
        let solution = match solve::run(&*solver, problem, &options) {
            Ok(s) => s,
            Err(smemplan::solve::Error::Unsupported { .. }) => continue,
            Err(e) => return Err(format!("{}: {e}", row.name)),
        };
        smemplan::solve::verify(problem, &solution).map_err(|r| format!("{}: {r}", row.name))?;
        out.push((row.name, solution));
    }
    Ok(out)
}

/// The highest any sensible layout goes: every fixed buffer where it is,
/// then every free one stacked above the last, padded to its alignment.
fn stacking_bound(problem: &Problem) -> u64 {
    let fixed = problem.buffers().iter().filter_map(|b| b.offset.map(|o| o + b.size)).max().unwrap_or(0);
    let free: u64 = problem.buffers().iter().filter(|b| b.offset.is_none()).map(|b| b.size + b.alignment - 1).sum();
    fixed + free
}

fn failure(problem: &Problem, message: String) -> TestResult {
    TestResult::error(format!("{message}\n{}", smemplan::core::format::minimalloc::write(problem, None)))
}

fn layouts_are_valid_and_bounded(case: Small) -> TestResult {
    let problem = case.0.problem();
    let max_live = bound::lower_bound(&problem).bytes;
    let upper = stacking_bound(&problem);
    let solutions = match solve_all(&problem) {
        Ok(s) => s,
        Err(e) => return failure(&problem, e),
    };
    for (name, s) in &solutions {
        if !(max_live <= s.lower_bound && s.lower_bound <= s.peak && s.peak <= upper) {
            let (lb, peak) = (s.lower_bound, s.peak);
            return failure(&problem, format!("{name}: want {max_live} <= lower bound {lb} <= peak {peak} <= {upper}"));
        }
    }
    let best = match greedy::best(&Analysis::new(&problem), &SolveOptions::default()) {
        Ok(b) => b,
        Err(e) => return failure(&problem, format!("greedy::best: {e}")),
    };
    let greedy_min = solutions.iter().filter(|(n, _)| n.starts_with("greedy-")).map(|(_, s)| s.peak).min();
    if Some(best.peak) != greedy_min || smemplan::solve::verify(&problem, &best).is_err() {
        return failure(&problem, format!("greedy::best: peak {} vs greedy minimum {greedy_min:?}", best.peak));
    }
    TestResult::passed()
}

fn optimal_means_the_exhaustive_minimum(case: Tiny) -> TestResult {
    let problem = case.0.problem();
    let (minimum, _) = match brute::minimum(&problem) {
        Ok(m) => m,
        Err(e) => return failure(&problem, format!("brute: {e}")),
    };
    let solutions = match solve_all(&problem) {
        Ok(s) => s,
        Err(e) => return failure(&problem, e),
    };
    for (name, s) in &solutions {
        if s.peak < minimum || s.lower_bound > minimum || (s.is_optimal() && s.peak != minimum) {
            let (lb, peak, optimal) = (s.lower_bound, s.peak, s.is_optimal());
            return failure(
                &problem,
                format!("{name}: lower bound {lb}, peak {peak}, optimal {optimal}; exhaustive minimum {minimum}"),
            );
        }
    }
    TestResult::passed()
}

/// `tests` cases drawn from [`seed::seed`].
fn quickcheck(tests: u64) -> QuickCheck {
    QuickCheck::new().rng(Gen::from_size_and_seed(100, seed::seed(0))).tests(tests)
}

#[test]
fn every_strategy_gives_a_valid_bounded_layout() {
    quickcheck(150).quickcheck(layouts_are_valid_and_bounded as fn(Small) -> TestResult);
}

#[test]
fn every_strategy_agrees_with_exhaustive_search_when_it_claims_optimality() {
    quickcheck(150).quickcheck(optimal_means_the_exhaustive_minimum as fn(Tiny) -> TestResult);
}
