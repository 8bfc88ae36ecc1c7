//! Criterion benchmarks of the `exact` strategy: capacity mode on the
//! MiniMalloc challenging instances it solves in well under a second, and
//! minimise mode on a random 30-buffer problem.

use criterion::{criterion_group, criterion_main, Criterion};
use smemplan::format::minimalloc;
use smemplan::solve::exact::{solve_capacity, Exact, ExactParams, Outcome};
use smemplan::solve::{SolveOptions, Solver};
use smemplan::{Buffer, Problem};
use std::hint::black_box;

fn challenging(name: &str) -> Problem {
    let path = format!("{}/../shared/benchmarks/minimalloc-challenging/{name}.1048576.csv", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).expect("benchmark instance");
    minimalloc::read_problem(&path, &text).expect("valid instance")
}

/// 30 buffers with lifetimes in 0..40 and sizes in 1..=64 (a fixed LCG).
fn random30() -> Problem {
    let mut x: u64 = 42;
    let mut next = |n: u64| {
        x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (x >> 33) % n
    };
    let buffers = (0..30)
        .map(|i| {
            let start = next(36);
            let end = start + 1 + next(40 - start);
            Buffer::new(format!("b{i}"), start, end, 1 + next(64))
        })
        .collect();
    Problem::new(buffers, None).expect("valid")
}

fn capacity_mode(c: &mut Criterion) {
    let mut group = c.benchmark_group("exact/capacity-1048576");
    group.sample_size(10);
    for name in ["A", "C", "F", "H", "K"] {
        let problem = challenging(name);
        group.bench_function(name, |b| {
            b.iter(|| {
                let outcome =
                    solve_capacity(black_box(&problem), 1 << 20, &SolveOptions::default(), &ExactParams::default());
                assert!(matches!(outcome, Outcome::Feasible(_)));
            })
        });
    }
    group.finish();
}

fn minimise_mode(c: &mut Criterion) {
    let problem = random30();
    c.bench_function("exact/minimise-random30", |b| {
        b.iter(|| {
            let s = Exact::default().solve(black_box(&problem), &SolveOptions::default()).expect("solves");
            assert!(s.optimal);
        })
    });
}

criterion_group!(benches, capacity_mode, minimise_mode);
criterion_main!(benches);
