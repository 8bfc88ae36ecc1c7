//! The greedy strategies side by side:
//! * `greedy/100k`: each strategy on 100,000 buffers from
//!   [`smemplan::core::generate`] with its default options (seed 1);
//! * `greedy/challenging`: each strategy on MiniMalloc's eleven challenging
//!   instances (`benches/data/minimalloc-challenging`);
//! * `csv+greedy-size/100k`: the acceptance path, end to end: parsing the
//!   100,000-row CSV text and planning it with `greedy-size`;
//! * `greedy/dense-100k` and `csv+greedy-size/dense-100k`: the same on
//!   issue 20's dense family ([`smemplan::core::generate::dense`], seed 1:
//!   about 250 buffers live at once where the default options put about
//!   25), side by side with the sparse problem of the same size, so that
//!   the ratio dense / sparse shows what density costs each strategy (the
//!   dense end-to-end path also checks the layout and writes it, as
//!   `solve --out` does).
//!
//! Before timing, every layout is checked and each peak / lower bound is
//! printed to stderr. `cargo bench --bench greedy`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode, Throughput};
use smemplan::core::generate::{dense, generate, GenOptions};
use smemplan::solve::{self, greedy, SolveOptions};
use smemplan::{core::analysis::Analysis, core::format::minimalloc, Problem};
use std::hint::black_box;
use std::time::Duration;

const CHALLENGING: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/data/minimalloc-challenging");

/// Plans an analysed problem: the lower bound, computed once per analysis,
/// stays out of the repeated timings of one problem (the acceptance path
/// below builds a new problem, and so pays for it, every iteration).
fn plan(strategy: &str, analysis: &Analysis) -> u64 {
    let solver = smemplan::solve::strategies::strategy(strategy).expect("a greedy strategy");
    solve::run_with(&*solver, analysis, &SolveOptions::default()).expect("greedy never refuses").peak
}

/// Runs `strategy` once outside the timing, checks the layout, and prints
/// its peak / lower bound.
fn verify(label: &str, strategy: &str, problem: &Problem) {
    let solver = smemplan::solve::strategies::strategy(strategy).expect("a greedy strategy");
    let solution = solve::run(&*solver, problem, &SolveOptions::default()).expect("greedy never refuses");
    smemplan::solve::verify(problem, &solution).unwrap_or_else(|r| panic!("{label} {strategy}: {r}"));
    eprintln!("{label} {strategy}: peak / lower bound = {:.4}", solution.peak as f64 / solution.lower_bound as f64);
}

fn challenging() -> Vec<(String, Problem)> {
    let mut paths: Vec<_> = std::fs::read_dir(CHALLENGING)
        .unwrap_or_else(|e| panic!("{CHALLENGING}: {e}"))
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "csv"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            let problem = minimalloc::read_problem(&name, &std::fs::read_to_string(&path).unwrap()).unwrap();
            (name, problem)
        })
        .collect()
}

/// Every greedy strategy on `problem`, in the group `greedy/LABEL`.
fn strategies(c: &mut Criterion, label: &str, problem: &Problem) {
    let mut group = c.benchmark_group(format!("greedy/{label}"));
    group.sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(4));
    group.throughput(Throughput::Elements(problem.len() as u64));
    for strategy in greedy::ALL.map(|s| s.name()) {
        verify(label, strategy, problem);
        let analysis = Analysis::new(problem);
        group.bench_function(strategy, |b| b.iter(|| plan(strategy, black_box(&analysis))));
    }
    group.finish();
}

/// What `solve --strategy greedy-size --out` does with the CSV text: read,
/// plan, check, write.
fn end_to_end(csv: &str) -> usize {
    let problem = minimalloc::read_problem("dense-100k", csv).unwrap();
    let solver = smemplan::solve::strategies::strategy("greedy-size").expect("a greedy strategy");
    let solution = solve::run(&*solver, &problem, &SolveOptions::default()).expect("greedy never refuses");
    smemplan::solve::verify(&problem, &solution).expect("a valid layout");
    minimalloc::write(&problem, Some(&solution.layout)).len()
}

fn benches(c: &mut Criterion) {
    let options = GenOptions { buffers: 100_000, ..Default::default() };
    let big = generate(&options, 1).expect("default options draw a valid problem");
    let csv = minimalloc::write(&big, None);
    let dense = dense(100_000, 1).expect("the dense family never overflows");
    let dense_csv = minimalloc::write(&dense, None);

    strategies(c, "100k", &big);
    strategies(c, "dense-100k", &dense);

    let mut group = c.benchmark_group("csv+greedy-size/dense-100k");
    group.sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(8));
    group.throughput(Throughput::Bytes(dense_csv.len() as u64));
    group.bench_function("read+greedy-size+check+write", |b| b.iter(|| end_to_end(black_box(&dense_csv))));
    group.finish();

    let mut group = c.benchmark_group("csv+greedy-size/100k");
    group.sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(4));
    group.throughput(Throughput::Bytes(csv.len() as u64));
    group.bench_function("read_problem", |b| b.iter(|| minimalloc::read_problem("100k", black_box(&csv)).unwrap()));
    group.bench_function("read_problem+greedy-size", |b| {
        b.iter(|| plan("greedy-size", &Analysis::new(&minimalloc::read_problem("100k", black_box(&csv)).unwrap())))
    });
    group.finish();

    let mut group = c.benchmark_group("greedy/challenging");
    // Flat sampling: up to a millisecond an iteration, the default linear
    // ramp would not fit 100 samples in a second.
    group.sampling_mode(SamplingMode::Flat).sample_size(30);
    group.warm_up_time(Duration::from_millis(300)).measurement_time(Duration::from_secs(1));
    for (name, problem) in challenging() {
        for strategy in greedy::ALL.map(|s| s.name()) {
            verify(&name, strategy, &problem);
            let analysis = Analysis::new(&problem);
            group.bench_function(BenchmarkId::new(strategy, &name), |b| b.iter(|| plan(strategy, &analysis)));
        }
    }
    group.finish();
}

criterion_group!(greedy, benches);
criterion_main!(greedy);
