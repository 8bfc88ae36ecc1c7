//! `ilp` beside `brute` and `greedy-size` on the same random problems of 8,
//! 16, 24 and 30 buffers (five per size, from the shared generator in
//! `tests/common/random.rs`), plain ones and ones with holes, alignments and
//! fixed offsets, plus `ilp` with polishing off, which shows the cost of the
//! model itself. Brute force only runs where it can (at most
//! `brute::MAX_BUFFERS` buffers). Each `ilp` solve gets a time limit, so
//! that one unlucky instance cannot stall the run; every layout is checked
//! before timing starts.
//!
//! Run: `cargo bench --bench ilp`.

#[path = "../tests/common/random.rs"]
mod random;

use criterion::{criterion_group, criterion_main, Criterion};
use random::Shape;
use smemplan::solve::{self, brute, greedy::GreedySize, ilp::Ilp, SolveOptions, Solver};
use smemplan::Problem;
use std::hint::black_box;
use std::time::Duration;

const PROBLEMS_PER_SIZE: u64 = 5;

/// A family of random problems: the shape for a number of buffers.
type Family = (&'static str, fn(usize) -> Shape);
const ILP_TIME_LIMIT: Duration = Duration::from_secs(2);

/// Solves every problem (checking the layouts when `verify`); returns the
/// sum of peaks, so that nothing is optimised away.
fn solve_all(solver: &dyn Solver, problems: &[Problem], limit: Option<Duration>, verify: bool) -> u64 {
    problems
        .iter()
        .map(|p| {
            let options = match limit {
                Some(limit) => SolveOptions::default().with_time_limit(limit),
                None => SolveOptions { time_limit: None, ..SolveOptions::default() },
            };
            let s = solve::run(solver, p, &options).expect("every solver here accepts these problems");
            if verify {
                smemplan::solve::verify(p, &s).unwrap_or_else(|r| panic!("{}: {r}", solver.name()));
            }
            s.peak
        })
        .sum()
}

fn bench(c: &mut Criterion) {
    let families: [Family; 2] = [
        ("plain", Shape::plain),
        ("holes+alignment+fixed", |n| Shape { gaps: true, alignment: true, fixed: true, ..Shape::plain(n) }),
    ];
    for ((family, shape), n) in families.iter().flat_map(|f| [8, 16, 24, 30].map(|n| (f, n))) {
        let problems: Vec<Problem> = (0..PROBLEMS_PER_SIZE).map(|seed| random::problem(seed, shape(n))).collect();
        let mut solvers: Vec<(&str, Box<dyn Solver>, Option<Duration>)> = vec![
            ("greedy-size", Box::new(GreedySize), None),
            ("ilp", Box::new(Ilp::default()), Some(ILP_TIME_LIMIT)),
            ("ilp-no-polish", Box::new(Ilp { polish: false, ..Ilp::default() }), Some(ILP_TIME_LIMIT)),
        ];
        if n <= brute::MAX_BUFFERS {
            solvers.push(("brute", Box::new(brute::Brute), None));
        }
        let mut group = c.benchmark_group(format!("{family}/{n} buffers"));
        group.sample_size(10);
        for (name, solver, limit) in &solvers {
            solve_all(&**solver, &problems, *limit, true);
            group.bench_function(*name, |b| {
                b.iter(|| black_box(solve_all(&**solver, black_box(&problems), *limit, false)))
            });
        }
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
