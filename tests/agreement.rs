//! The two optimal solvers agree: on random problems of up to 30 buffers,
//! `ilp` and `exact` each prove an optimum within [`DEADLINE`], the same
//! one, and exhaustive search confirms it where it can (up to
//! [`BRUTE_MAX`] buffers). Both also answer the capacity question at the
//! optimum (a layout that fits) and one byte below it (a refutation).
//!
//! Problems come from the shapes of `common/random.rs`: plain buffers for
//! any size, and holes, alignment and fixed offsets (drawn per case) up to
//! [`FEATURES_MAX`] buffers. Past that, alignment and fixed offsets make a
//! rare problem need seconds from `ilp`, whose relaxation does not see
//! padding (docs/exact-results.md has the measurements), so they are not
//! part of this property.
//!
//! Only problems whose best greedy layout lies above the lower bound are
//! kept: drawn plainly, about seven in eight problems have a greedy layout
//! at the bound, which both solvers take as their proof without searching.
//! The kept ones make each solver search, for a better layout or for a
//! proof that the bound is not tight. The property prints how many draws it
//! took and in how many kept cases the optimum lies above the bound (see it
//! with `cargo test --release --test agreement -- --nocapture`).

#[path = "support/checked.rs"]
mod checked;
#[path = "common/random.rs"]
mod random;
#[path = "support/seed.rs"]
mod seed;

use checked::run_checked;
use quickcheck::{Arbitrary, Gen, QuickCheck, TestResult};
use random::Shape;
use smemplan::core::analysis::Analysis;
use smemplan::solve::{brute, exact::Exact, greedy, ilp::Ilp, Solution, SolveOptions, Solver};
use smemplan::{core::bound, Problem};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::time::Duration;

/// What each solver gets to prove the optimum. Measured on the 2-core dev
/// machine over 2000 plain problems of up to 30 buffers: at most 0.12 s for
/// `ilp`, 0.08 s for `exact`.
const DEADLINE: Duration = Duration::from_secs(1);

/// Most buffers for exhaustive search.
const BRUTE_MAX: usize = 8;

/// Most buffers for problems with holes, alignment or fixed offsets.
const FEATURES_MAX: usize = 8;

/// Most draws for one case whose greedy layout is above the bound; about
/// eight are needed on average.
const DRAWS_MAX: usize = 1000;

/// Problems drawn, cases kept, and kept cases whose optimum is above the
/// lower bound, for the report.
static DRAWN: AtomicUsize = AtomicUsize::new(0);
static KEPT: AtomicUsize = AtomicUsize::new(0);
static ABOVE_BOUND: AtomicUsize = AtomicUsize::new(0);

#[derive(Debug, Clone)]
struct Case {
    seed: u64,
    shape: Shape,
}

impl Case {
    fn new(seed: u64, buffers: usize, max_size: u64, features: u8) -> Self {
        let on = |bit: u8| buffers <= FEATURES_MAX && features & bit != 0;
        let shape = Shape { max_size, gaps: on(1), alignment: on(2), fixed: on(4), ..Shape::plain(buffers) };
        Case { seed, shape }
    }
}

impl Arbitrary for Case {
    /// A case whose greedy layout is above the lower bound (rejection
    /// sampling).
    fn arbitrary(g: &mut Gen) -> Self {
        for _ in 0..DRAWS_MAX {
            DRAWN.fetch_add(1, Relaxed);
            let buffers = 1 + usize::arbitrary(g) % 30;
            let max_size = *g.choose(&[8, 32, 1000]).unwrap();
            let case = Case::new(u64::arbitrary(g), buffers, max_size, u8::arbitrary(g));
            let p = random::problem(case.seed, case.shape);
            let analysis = Analysis::new(&p);
            let greedy = greedy::best(&analysis, &SolveOptions::default()).expect("greedy accepts every problem");
            if greedy.peak > analysis.lower_bound().bytes {
                KEPT.fetch_add(1, Relaxed);
                return case;
            }
        }
        panic!("no problem with a greedy layout above its lower bound in {DRAWS_MAX} draws")
    }

    /// Fewer buffers, same seed and features.
    fn shrink(&self) -> Box<dyn Iterator<Item = Self>> {
        let me = self.clone();
        Box::new(
            self.shape
                .buffers
                .shrink()
                .filter(|&n| n > 0)
                .map(move |buffers| Case { shape: Shape { buffers, ..me.shape }, ..me }),
        )
    }
}

/// Runs `solver` under the deadline, through the checker.
fn solve(solver: &dyn Solver, p: &Problem, capacity: Option<u64>) -> Result<Solution, String> {
    run_checked(solver, p, &SolveOptions::default().with_capacity(capacity).with_time_limit(DEADLINE))
}

/// Whether the two solvers agree on `case`; `Ok` holds the optimum.
fn agreement(case: &Case) -> Result<u64, String> {
    let p = random::problem(case.seed, case.shape);
    let solvers: [&dyn Solver; 2] = [&Ilp::default(), &Exact::default()];
    let outcome = (|| -> Result<u64, String> {
        let mut optimum = None;
        for solver in solvers {
            let s = solve(solver, &p, None)?;
            if !s.is_optimal() {
                return Err(format!(
                    "{}: not proven within {DEADLINE:?} (peak {}, bound {})",
                    solver.name(),
                    s.peak,
                    s.lower_bound
                ));
            }
            if *optimum.get_or_insert(s.peak) != s.peak {
                return Err(format!("ilp proved {optimum:?}, exact {}", s.peak));
            }
        }
        let optimum = optimum.unwrap_or(0);
        if p.len() <= BRUTE_MAX {
            let (brute, _) = brute::minimum(&p).map_err(|e| e.to_string())?;
            if brute != optimum {
                return Err(format!("both proved {optimum}, exhaustive search finds {brute}"));
            }
        }
        for solver in solvers {
            let fits = solve(solver, &p, Some(optimum))?;
            if fits.peak > optimum || fits.infeasibility().is_some() {
                return Err(format!("{}: capacity {optimum} not met", solver.name()));
            }
            if optimum > 0 {
                let short = solve(solver, &p, Some(optimum - 1))?;
                if short.infeasibility().is_none() {
                    return Err(format!("{}: capacity {} not refuted", solver.name(), optimum - 1));
                }
            }
        }
        Ok(optimum)
    })();
    outcome.map_err(|e| format!("seed {}, {:?}: {e}", case.seed, case.shape))
}

/// The property: [`agreement`], counting the cases whose optimum is above
/// the lower bound.
fn agree(case: Case) -> TestResult {
    match agreement(&case) {
        Ok(optimum) => {
            let p = random::problem(case.seed, case.shape);
            if optimum > bound::lower_bound(&p).bytes {
                ABOVE_BOUND.fetch_add(1, Relaxed);
            }
            TestResult::passed()
        }
        Err(e) => TestResult::error(e),
    }
}

/// The cases are drawn from a fixed seed ([`seed`]), so that CI runs the
/// same ones every time: on about one random problem in 9,000 (seen: plain,
/// 22 buffers of at most 8 bytes, optimum one byte above max live bytes),
/// `ilp` needs seconds to refute one byte below the optimum
/// (docs/exact-results.md).
#[test]
fn ilp_exact_and_brute_force_agree_on_up_to_30_buffers() {
    const CASES: u64 = 300;
    let rng = Gen::from_size_and_seed(100, seed::seed(0));
    QuickCheck::new().rng(rng).tests(CASES).quickcheck(agree as fn(Case) -> TestResult);
    let (drawn, kept, above) = (DRAWN.load(Relaxed), KEPT.load(Relaxed), ABOVE_BOUND.load(Relaxed));
    println!(
        "{kept} cases kept of {drawn} problems drawn: greedy above the lower bound in all {kept}, \
         the optimum above it in {above}"
    );
}

#[test]
fn the_largest_plain_problems_agree() {
    // Always some of the largest size, whatever quickcheck draws, greedy at
    // the bound or not.
    let first = seed::seed(0);
    for seed in (0..20).map(|i| first.wrapping_add(i)) {
        if let Err(e) = agreement(&Case::new(seed, 30, 32, 0)) {
            panic!("{e}");
        }
    }
}
