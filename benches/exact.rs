//! `exact` beside `greedy-size` and `ilp` in the same run: the MiniMalloc
//! challenging instances that `exact` solves within capacity 1048576 (the
//! time to a fitting layout; greedy's time is for its over-capacity layout),
//! and random 30-buffer problems minimised to proven optimality. Every
//! layout is checked before timing starts.
//!
//! Run: `cargo bench --bench exact` (reads `../shared/benchmarks`).

#[path = "../tests/common/random.rs"]
mod random;

use criterion::{criterion_group, criterion_main, Criterion};
use random::Shape;
use smemplan::check::check;
use smemplan::format::minimalloc;
use smemplan::solve::{self, exact::Exact, greedy::GreedySize, ilp::Ilp, SolveOptions, Solver};
use smemplan::Problem;
use std::hint::black_box;
use std::time::Duration;

const CAPACITY: u64 = 1 << 20;
const LIMIT: Duration = Duration::from_secs(20);

fn instance(name: &str) -> Problem {
    let path = format!("{}/../shared/benchmarks/minimalloc-challenging/{name}.1048576.csv", env!("CARGO_MANIFEST_DIR"));
    minimalloc::read_problem(&path, &std::fs::read_to_string(&path).expect("benchmark data")).expect("valid")
}

fn solve(solver: &dyn Solver, p: &Problem, capacity: Option<u64>) -> u64 {
    let options = SolveOptions::default().with_capacity(capacity).with_time_limit(LIMIT);
    solve::run(solver, p, &options).expect("solves").peak
}

fn challenging(c: &mut Criterion) {
    let mut group = c.benchmark_group("challenging-capacity");
    group.sample_size(10);
    for name in ["A", "C", "F", "H", "J"] {
        let p = instance(name);
        let s = solve::run(&Exact::default(), &p, &SolveOptions::default().with_capacity(Some(CAPACITY))).unwrap();
        assert!(check(&p, &s.layout.named(&p), Some(CAPACITY)).is_valid(), "{name}");
        group.bench_function(format!("exact/{name}"), |b| b.iter(|| black_box(solve(&Exact::default(), &p, Some(CAPACITY)))));
        group.bench_function(format!("greedy-size/{name}"), |b| b.iter(|| black_box(solve(&GreedySize, &p, Some(CAPACITY)))));
    }
    group.finish();
}

fn random_30(c: &mut Criterion) {
    let problems: Vec<Problem> = (0..5).map(|seed| random::problem(seed, Shape::plain(30))).collect();
    for p in &problems {
        let s = solve::run(&Exact::default(), p, &SolveOptions::default()).unwrap();
        assert!(check(p, &s.layout.named(p), None).is_valid());
    }
    let mut group = c.benchmark_group("random-30-minimise");
    group.sample_size(10);
    group.bench_function("exact", |b| {
        b.iter(|| problems.iter().map(|p| solve(&Exact::default(), p, None)).sum::<u64>())
    });
    group.bench_function("ilp", |b| b.iter(|| problems.iter().map(|p| solve(&Ilp::default(), p, None)).sum::<u64>()));
    group.bench_function("greedy-size", |b| b.iter(|| problems.iter().map(|p| solve(&GreedySize, p, None)).sum::<u64>()));
    group.finish();
}

criterion_group!(benches, challenging, random_30);
criterion_main!(benches);
