//! Times the `exact` strategy on MiniMalloc's eleven challenging instances.
//!
//! ```text
//! cargo run --release --example exact_challenging -- [capacity|minimise] [SECONDS] [INSTANCE...]
//! ```
//!
//! `capacity` (the default) asks for a layout within 1048576 bytes and
//! prints the seconds to it; `minimise` asks for the smallest peak within
//! the time limit (default 20 s) and prints it, the lower bound and whether
//! it is proven. Every layout is checked by the independent checker.
//! Instances are read from `benches/data/minimalloc-challenging`
//! (all eleven unless some letters are given).

use smemplan::core::format::minimalloc;
use smemplan::solve::{self, SolveOptions};
use std::time::Duration;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let minimise = args.first().is_some_and(|a| a == "minimise");
    let limit: f64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(20.0);
    let only: Vec<&String> = args.iter().skip(2).collect();
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/data/minimalloc-challenging");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("benchmark folder")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "csv"))
        .collect();
    files.sort();
    let solver = smemplan::solve::strategies::strategy("exact").expect("exact is registered");
    let mut total = 0.0;
    println!(
        "{:<4} {:>8} {:>9} {:>9} {:>8} {:>10} {:>10}",
        "inst", "buffers", "peak", "lower", "proven", "seconds", "nodes"
    );
    for path in files {
        let name =
            path.file_stem().and_then(|s| s.to_str()).unwrap_or("?").split('.').next().unwrap_or("?").to_string();
        if !only.is_empty() && !only.iter().any(|o| **o == name) {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("readable instance");
        let problem = minimalloc::read_problem(&path.display().to_string(), &text).expect("valid instance");
        let capacity = if minimise { None } else { Some(1 << 20) };
        let options = SolveOptions::default().with_capacity(capacity).with_time_limit(Duration::from_secs_f64(limit));
        let s = solve::run(&*solver, &problem, &options).expect("exact accepts every instance");
        smemplan::solve::verify(&problem, &s).unwrap_or_else(|r| panic!("{name}: {r}"));
        total += s.seconds;
        println!(
            "{name:<4} {:>8} {:>9} {:>9} {:>8} {:>10.3} {:>10}{}",
            problem.len(),
            s.peak,
            s.lower_bound,
            s.is_optimal(),
            s.seconds,
            s.stats.nodes,
            if s.fits(capacity) { "" } else { "  (over capacity)" }
        );
    }
    println!("total seconds {total:.3}");
}
