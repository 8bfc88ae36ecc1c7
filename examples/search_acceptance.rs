//! Runs issue 20's acceptance set and prints one table: generated ML-like
//! traces of 10,000–60,000 buffers (minimise, the lower bound as target)
//! and generated tilings of 600–8,000 buffers, guillotine and 30 %
//! pinwheel (capacity mode at the tiling's height, the known optimum).
//!
//! ```text
//! cargo run --release --example search_acceptance -- [--limit SECONDS] [--strategy NAME] [NAME...]
//! ```
//!
//! `--limit` is each run's time limit (10 s by default), `--strategy` the
//! strategy (`auto`). The set is `smemplan::core::generate::acceptance`;
//! `smemplan generate acceptance --out-dir DIR` writes it as MiniMalloc CSV
//! (`DIR/NAME.csv`). Names given run only those instances (`trace-20000`,
//! `guillotine-600`, `pinwheel-8000`, …). Every layout is checked by the
//! independent checker.

use smemplan::core::generate::{acceptance, AcceptanceCase};
use smemplan::solve::{self, SolveOptions};
use std::time::Duration;

fn main() {
    let mut args = std::env::args().skip(1);
    let (mut limit, mut strategy, mut only) = (10.0, "auto".to_string(), Vec::new());
    while let Some(a) = args.next() {
        match a.as_str() {
            "--limit" => limit = args.next().and_then(|s| s.parse().ok()).expect("--limit SECONDS"),
            "--strategy" => strategy = args.next().expect("--strategy NAME"),
            _ => only.push(a),
        }
    }
    let solver = solve::strategies::strategy(&strategy).expect("a known strategy");
    println!(
        "{:<16} {:>8} {:>10} {:>10} {:>10} {:>8} {:>8}  status",
        "instance", "buffers", "capacity", "lower", "peak", "gap %", "seconds"
    );
    for AcceptanceCase { name, problem, capacity } in acceptance().expect("the acceptance set never overflows") {
        if !only.is_empty() && !only.contains(&name) {
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
