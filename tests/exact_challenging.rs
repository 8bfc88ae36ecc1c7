//! The `exact` strategy on MiniMalloc's eleven challenging instances
//! (`benches/data/minimalloc-challenging`), in capacity mode at
//! 1048576 bytes, and the deadline of every strategy on every one of them.
//!
//! Meant for `cargo test --release`. The capacity test bounds the search
//! by lockstep rounds, not by time, so that its answer does not depend on
//! how loaded the machine is (they take from a tenth of a second to a few
//! seconds alone, E twenty seconds on a machine loaded six times over).
//! Every layout goes through the independent checker.

use smemplan::core::check::check;
use smemplan::core::format::minimalloc;
use smemplan::solve::exact::{solve_capacity, ExactParams, Outcome};
use smemplan::solve::strategies::STRATEGIES;
use smemplan::solve::verify;
use smemplan::solve::{self, SolveOptions};
use smemplan::Problem;
use std::time::{Duration, Instant};

const CAPACITY: u64 = 1 << 20;

/// Lockstep rounds each instance gets to fit ([`ExactParams::round_limit`]).
/// E, the slowest, needs between 50 and 200 (4.1 million nodes, measured).
const ROUNDS: u64 = 1000;

#[path = "support/data.rs"]
mod data;
use data::data_files;

/// Both tests keep the cores busy; run side by side, each would measure the
/// other's load instead of the solver's deadline handling.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn instances() -> Vec<(String, Problem)> {
    let files = data_files("benches/data/minimalloc-challenging", "csv");
    assert_eq!(files.len(), 11);
    files
        .iter()
        .map(|path| {
            let name = path.file_name().and_then(|n| n.to_str()).expect("name")[..1].to_string();
            let text = std::fs::read_to_string(path).expect("readable");
            (name, minimalloc::read_problem(&path.display().to_string(), &text).expect("valid instance"))
        })
        .collect()
}

#[test]
fn every_challenging_instance_fits_one_mebibyte() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    for (name, problem) in instances() {
        // Only against a hang: the rounds decide.
        let options = SolveOptions::default().with_time_limit(Duration::from_secs(600));
        let params = ExactParams { round_limit: Some(ROUNDS), ..ExactParams::default() };
        let started = Instant::now();
        let outcome = solve_capacity(&problem, CAPACITY, &options, &params);
        let seconds = started.elapsed().as_secs_f64();
        match outcome {
            Outcome::Feasible(layout) => {
                let report = check(&problem, &layout.named(&problem), Some(CAPACITY));
                assert!(report.is_valid(), "{name}: {:?}", report.violations.first());
                eprintln!("{name}: fits in {seconds:.2} s");
            }
            other => panic!("{name}: {other:?} after {seconds:.2} s"),
        }
    }
}

#[test]
fn time_limits_are_honoured_with_a_valid_layout() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    for (name, problem) in instances() {
        for row in STRATEGIES {
            let solver = (row.make)();
            // Minimising, and asking for a capacity just below what fits.
            for capacity in [None, Some(CAPACITY - 4096)] {
                let limit = Duration::from_millis(400);
                let options = SolveOptions::default().with_capacity(capacity).with_time_limit(limit);
                let started = Instant::now();
                let s = match solve::run(&*solver, &problem, &options) {
                    Ok(s) => s,
                    Err(smemplan::solve::Error::Unsupported { .. }) => continue,
                    Err(e) => panic!("{name}, {}: {e}", row.name),
                };
                let elapsed = started.elapsed();
                assert!(
                    elapsed <= limit + limit / 10 + Duration::from_millis(100),
                    "{name}, {}: {elapsed:?}",
                    row.name
                );
                verify(&problem, &s).unwrap_or_else(|r| panic!("{name}, {}: {r}", row.name));
            }
        }
    }
}
