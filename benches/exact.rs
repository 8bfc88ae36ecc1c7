//! Criterion benchmarks of the `exact` strategy: capacity mode on the
//! MiniMalloc challenging instances it solves in well under a second, and
//! minimise mode on random 30-buffer problems beside `ilp` (the same
//! problems, each proven optimal by both, so the ratio of the two times is
//! the comparison).
//!
//! Run: `cargo bench --bench exact`.

#[path = "../tests/common/random.rs"]
mod random;

use criterion::{criterion_group, criterion_main, Criterion};
use random::Shape;
use smemplan::core::format::minimalloc;
use smemplan::solve::exact::{solve_capacity, Exact, ExactParams, Outcome};
use smemplan::solve::ilp::Ilp;
use smemplan::solve::{SolveOptions, Solver};
use smemplan::{core::analysis::Analysis, Problem};
use std::hint::black_box;

fn challenging(name: &str) -> Problem {
    let path = format!("{}/benches/data/minimalloc-challenging/{name}.1048576.csv", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).expect("benchmark instance");
    minimalloc::read_problem(&path, &text).expect("valid instance")
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
    let problems: Vec<Problem> = (0..5).map(|seed| random::problem(seed, Shape::plain(30))).collect();
    let mut group = c.benchmark_group("minimise-random30x5");
    let solvers: [&dyn Solver; 2] = [&Exact::default(), &Ilp::default()];
    for solver in solvers {
        group.bench_function(solver.name(), |b| {
            b.iter(|| {
                for p in &problems {
                    let s = solver.solve(&Analysis::new(black_box(p)), &SolveOptions::default()).expect("solves");
                    assert!(s.is_optimal());
                }
            })
        });
    }
    group.finish();
}

criterion_group!(benches, capacity_mode, minimise_mode);
criterion_main!(benches);
