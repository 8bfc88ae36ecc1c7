//! Runs issue 20's acceptance set and prints one table: generated ML-like
//! traces of 10,000–60,000 buffers (minimise, the lower bound as target)
//! and generated tilings of 600–8,000 buffers, guillotine and 30 %
//! pinwheel (capacity mode at the tiling's height, the known optimum).
//!
//! ```text
//! cargo run --release --example search_acceptance -- [--limit SECONDS] [--strategy NAME] [--write DIR] [NAME...]
//! ```
//!
//! `--limit` is each run's time limit (10 s by default), `--strategy` the
//! strategy (`auto`). `--write DIR` writes each instance as MiniMalloc CSV
//! (`DIR/NAME.csv`) instead of solving it, so anyone can regenerate the
//! data. Names given run only those instances (`trace-20000`,
//! `guillotine-600`, `pinwheel-8000`, …). Every layout is checked by the
//! independent checker.

use smemplan::core::format::minimalloc;
use smemplan::core::generate::{tiling, trace, TilingOptions, TraceOptions};
use smemplan::solve::{self, SolveOptions};
use smemplan::Problem;
use std::time::Duration;

/// Trace sizes and tiling sizes of the acceptance set.
const TRACES: [usize; 4] = [10_000, 20_000, 40_000, 60_000];
const TILINGS: [usize; 5] = [600, 1_000, 2_000, 4_000, 8_000];
/// Fraction of the pinwheel tilings' buffers in pinwheels.
const PINWHEELS: f64 = 0.3;

/// The acceptance set: name, problem, capacity asked for.
fn instances() -> Vec<(String, Problem, Option<u64>)> {
    let mut set = Vec::new();
    for n in TRACES {
        let p = trace(&TraceOptions { buffers: n, ..TraceOptions::default() }, n as u64).expect("trace");
        set.push((format!("trace-{n}"), p, None));
    }
    for (kind, pinwheels) in [("guillotine", 0.0), ("pinwheel", PINWHEELS)] {
        for n in TILINGS {
            let t =
                tiling(&TilingOptions { buffers: n, pinwheels, ..TilingOptions::default() }, n as u64).expect("tiling");
            set.push((format!("{kind}-{n}"), t.problem, Some(t.height)));
        }
    }
    set
}

fn main() {
    let mut args = std::env::args().skip(1);
    let (mut limit, mut strategy, mut write, mut only) = (10.0, "auto".to_string(), None, Vec::new());
    while let Some(a) = args.next() {
        match a.as_str() {
            "--limit" => limit = args.next().and_then(|s| s.parse().ok()).expect("--limit SECONDS"),
            "--strategy" => strategy = args.next().expect("--strategy NAME"),
            "--write" => write = Some(args.next().expect("--write DIR")),
            _ => only.push(a),
        }
    }
    let solver = solve::strategies::strategy(&strategy).expect("a known strategy");
    println!(
        "{:<16} {:>8} {:>10} {:>10} {:>10} {:>8} {:>8}  status",
        "instance", "buffers", "capacity", "lower", "peak", "gap %", "seconds"
    );
    for (name, problem, capacity) in instances() {
        if !only.is_empty() && !only.contains(&name) {
            continue;
        }
        if let Some(dir) = &write {
            let path = format!("{dir}/{name}.csv");
            std::fs::write(&path, minimalloc::write(&problem, None)).expect("writable --write DIR");
            println!("{name:<16} {:>8} written to {path}", problem.len());
            continue;
        }
        let options = SolveOptions::default().with_capacity(capacity).with_time_limit(Duration::from_secs_f64(limit));
        let s = solve::run(&*solver, &problem, &options).expect("the strategy accepts the instance");
        solve::verify(&problem, &s).unwrap_or_else(|r| panic!("{name}: {r}"));
        println!(
            "{name:<16} {:>8} {:>10} {:>10} {:>10} {:>8.3} {:>8.2}  {}",
            problem.len(),
            capacity.map_or("-".into(), |c| c.to_string()),
            s.lower_bound,
            s.peak,
            100.0 * s.gap(),
            s.seconds,
            s.status.name()
        );
    }
}
