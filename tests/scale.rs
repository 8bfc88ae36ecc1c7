//! Growth at scale (issue 11): reading, validating and checking stay
//! O(n log n), so inputs of hundreds of thousands of buffers take a fraction
//! of a second where a quadratic step took minutes; and a time limit bounds
//! the whole solve, setup included, at a million buffers and on buffers of
//! hundreds of lifetime holes. The bounds are generous (CI shares two
//! cores), and still far below what a quadratic step, or a setup that does
//! not poll the deadline, needs.
//!
//! The two deadline tests measure the time limit itself, so they run in a
//! quiet job of their own: `cargo test` skips them (`#[ignore]`), and
//! `.ci/run` runs them after the suite, alone
//! (`cargo test --release --test scale -- --ignored --test-threads=1`),
//! where no sibling test takes the cores.

use smemplan::core::check::check;
use smemplan::core::format::minimalloc;
use smemplan::core::generate::SplitMix64;
use smemplan::solve::{auto::Auto, exact::Exact, run};
use smemplan::{Buffer, Interval, Problem, SolveOptions, Solver};
use std::fmt::Write as _;
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The tests of this file time themselves against allowances measured on
/// the same machine: run side by side (the harness runs a file's tests in
/// parallel) they would take each other's cores. Each holds this while it
/// runs.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn alone() -> std::sync::MutexGuard<'static, ()> {
    // A failed test poisons the lock; the others still run, alone.
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

const N: u64 = 200_000;
/// Each of these steps takes well under a second here; a quadratic one took
/// 30 s (100,000 buffers) to minutes (200,000).
const BOUND: Duration = Duration::from_secs(10);

/// `N` one-byte buffers, buffer `i` live in `[i, i + 1000)` at offset
/// `i mod 1000`: about 1,000 live at once, a valid layout of peak 1,000.
fn staircase(fixed: bool) -> String {
    let mut csv = String::from(if fixed { "id,lower,upper,size,offset\n" } else { "id,lower,upper,size\n" });
    for i in 0..N {
        let _ = write!(csv, "b{i},{i},{},1", i + 1000);
        if fixed {
            let _ = write!(csv, ",{}", i % 1000);
        }
        csv.push('\n');
    }
    csv
}

#[test]
fn reading_and_checking_many_buffers_is_fast() {
    let _alone = alone();
    let csv = staircase(false);
    let started = Instant::now();
    let problem = minimalloc::read_problem("staircase.csv", &csv).unwrap();
    let layout: Vec<(&str, u64)> =
        problem.buffers().iter().enumerate().map(|(i, b)| (b.name.as_str(), i as u64 % 1000)).collect();
    let report = check(&problem, &layout, None);
    let elapsed = started.elapsed();
    assert!(report.is_valid(), "{:?}", report.violations.first());
    assert_eq!(report.peak, 1000);
    assert!(elapsed < BOUND, "reading and checking {N} buffers took {elapsed:?}");

    // Out of order, and with one collision: still found, still fast.
    let mut shuffled = layout.clone();
    shuffled.reverse();
    shuffled[7].1 = (shuffled[7].1 + 1) % 1000;
    let started = Instant::now();
    let report = check(&problem, &shuffled, None);
    assert!(started.elapsed() < BOUND);
    assert!(!report.is_valid());
}

#[test]
fn fixed_offsets_live_at_once_validate_by_a_sweep() {
    let _alone = alone();
    // All live at once, each at its own offset: every pair meets in time.
    let buffers: Vec<Buffer> = (0..N).map(|i| Buffer::new(format!("f{i}"), 0, 10, 1).with_offset(i)).collect();
    let started = Instant::now();
    let problem = Problem::new(buffers, None).unwrap();
    assert!(started.elapsed() < BOUND, "validating {N} fixed buffers took {:?}", started.elapsed());
    assert_eq!(problem.len() as u64, N);

    // The same through the reader, with the staircase's offsets and one
    // buffer moved onto its neighbour: the collision names both and the line.
    let csv = staircase(true).replacen("b150000,150000,151000,1,0", "b150000,150000,151000,1,999", 1);
    let started = Instant::now();
    let err = minimalloc::read_problem("fixed.csv", &csv).unwrap_err().to_string();
    assert!(started.elapsed() < BOUND);
    assert!(err.starts_with("fixed.csv:150002:") && err.contains("`b149999`") && err.contains("`b150000`"), "{err}");
}

/// What a run may overshoot its time limit by beyond the 10 %:
/// process start-up, the answer's last pass over a million buffers, and a
/// loaded 2-core CI machine. Before the setup polled the deadline, the
/// overshoot at a million buffers was 2.5 s and more; on the holed buffers
/// below, 10 s and more.
const SLACK: Duration = Duration::from_millis(600);

/// What the binary spends beyond solving, reading and checking: writing
/// the JSON report of a million placements (about 0.5 s here), which the
/// issue's bound leaves out like every output.
const REPORT: Duration = Duration::from_millis(600);

/// A million one-byte buffers, each live for 1 to 1,000 steps from a random
/// start in a million: about 500 live at once.
fn million(seed: u64) -> String {
    let mut rng = SplitMix64(seed);
    let mut csv = String::with_capacity(24 << 20);
    csv.push_str("id,lower,upper,size\n");
    for i in 0..1_000_000u64 {
        let lower = rng.between(0, 999_999);
        let _ = writeln!(csv, "b{i},{lower},{},1", lower + rng.between(1, 1000));
    }
    csv
}

#[test]
#[ignore = "timing: run alone by .ci/run (--test scale -- --ignored --test-threads=1)"]
fn a_time_limit_bounds_the_solve_of_a_million_buffers() {
    let _alone = alone();
    let dir = std::env::temp_dir().join(format!("smemplan-scale-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("million.csv");
    std::fs::write(&path, million(11)).unwrap();

    // What the allowance adds to the limit: reading the instance and
    // checking a layout of it, timed here on the same machine, just before.
    let started = Instant::now();
    let text = std::fs::read_to_string(&path).unwrap();
    let problem = minimalloc::read_problem("million.csv", &text).unwrap();
    let stacked: Vec<(&str, u64)> =
        problem.buffers().iter().enumerate().map(|(i, b)| (b.name.as_str(), i as u64)).collect();
    assert!(check(&problem, &stacked, None).is_valid());
    let read_and_check = started.elapsed();
    assert!(read_and_check < BOUND, "reading and checking a million buffers took {read_and_check:?}");
    drop(stacked);
    drop(problem);

    let limit = Duration::from_secs(1);
    for strategy in ["auto", "exact"] {
        let started = Instant::now();
        let out = Command::new(env!("CARGO_BIN_EXE_smemplan"))
            .args(["solve", path.to_str().unwrap(), "--strategy", strategy, "--time-limit", "1", "--json"])
            .output()
            .unwrap();
        let wall = started.elapsed();
        assert!(out.status.success(), "{strategy}: {}", String::from_utf8_lossy(&out.stderr));
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        // The layout passed the binary's checker before it was reported.
        // The sweep's first fit by start reaches the lower bound on one-byte
        // buffers when it has the time; else the deadline cut it.
        assert!(
            ["optimal", "deadline_reached"].contains(&report["status"].as_str().unwrap()),
            "{strategy}: {}",
            report["status"]
        );
        let allowed = limit.mul_f64(1.1) + read_and_check + SLACK + REPORT;
        assert!(
            wall < allowed,
            "{strategy}: {wall:?} for a limit of {limit:?} (reading and checking: {read_and_check:?})"
        );
        let solving = Duration::from_secs_f64(report["seconds"].as_f64().unwrap());
        assert!(solving < limit.mul_f64(1.1) + SLACK, "{strategy}: the solver alone took {solving:?}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// `n` buffers of random sizes, each live over most of the timeline with
/// `gaps` random holes.
fn holed(n: u64, gaps: usize, seed: u64) -> Problem {
    let mut rng = SplitMix64(seed);
    let span = 20 * gaps as u64;
    let buffers = (0..n)
        .map(|i| {
            let start = rng.between(0, span / 2);
            let end = start + span / 4 + rng.between(0, span / 2);
            // Holes at distinct even points, each one step long.
            let mut points: Vec<u64> =
                (0..gaps).map(|_| start + 2 + 2 * rng.between(0, (end - start) / 2 - 3)).collect();
            points.sort_unstable();
            points.dedup();
            let holes = points.into_iter().map(|t| Interval::new(t, t + 1)).collect();
            Buffer::new(format!("h{i}"), start, end, rng.between(1, 64)).with_gaps(holes)
        })
        .collect();
    Problem::new(buffers, None).unwrap()
}

#[test]
#[ignore = "timing: run alone by .ci/run (--test scale -- --ignored --test-threads=1)"]
fn a_time_limit_bounds_the_solve_of_buffers_with_many_holes() {
    let _alone = alone();
    let limit = Duration::from_millis(500);
    for (n, gaps) in [(1000, 500), (300, 300)] {
        let problem = holed(n, gaps, 5);
        let strategies: [&dyn Solver; 2] = [&Auto, &Exact::default()];
        for solver in strategies {
            let started = Instant::now();
            let solution = run(solver, &problem, &SolveOptions::default().with_time_limit(limit)).unwrap();
            let took = started.elapsed();
            smemplan::solve::verify(&problem, &solution).unwrap();
            assert!(
                took < limit.mul_f64(1.1) + SLACK / 3,
                "{n} buffers × {gaps} holes, {}: {took:?} for a limit of {limit:?}",
                solver.name()
            );
        }
    }
}

/// A kernel model of 16 components (the tier search's groups) of 60 shared
/// buffers each, every component with its own 469-phase lifetime table, so
/// the timeline has 16 × 469 + 1 instants: the shape on which the split
/// search once ran 11 s past a one-second limit (issue 19).
fn sixteen_groups() -> String {
    let mut rng = SplitMix64(16);
    let (groups, phases, buffers) = (16, 469, 60);
    let list = |range: std::ops::Range<u64>, prefix: &str| {
        range.map(|i| format!("\"{prefix}{i}\"")).collect::<Vec<_>>().join(", ")
    };
    let mut m = String::from("name = \"sixteen\"\n[params]\nn = 64\nprecision = \"f32\"\n\n[classes.Top]\n");
    writeln!(m, "phases = [{}]\n[classes.Top.children]", list(0..groups, "t")).unwrap();
    for g in 0..groups {
        writeln!(m, "c{g} = \"t{g}\"").unwrap();
    }
    writeln!(m, "[classes.Top.buffers]\ncarry = [{}]", list(0..groups, "t")).unwrap();
    for g in 0..groups {
        writeln!(m, "[classes.Big{g}]\nphases = [{}]\n[classes.Big{g}.buffers]", list(0..phases, "p")).unwrap();
        for b in 0..buffers {
            let start = rng.between(0, phases - 1);
            let end = (start + rng.between(1, 300)).min(phases);
            writeln!(m, "b{b} = [{}]", list(start..end, "p")).unwrap();
        }
    }
    m.push_str("[[component]]\npath = \"kernel\"\nclass = \"Top\"\n");
    m.push_str("[[buffer]]\ncomponent = \"kernel\"\nname = \"carry\"\nsize = \"n\"\nlocation = \"shared\"\n");
    for g in 0..groups {
        writeln!(m, "[[component]]\npath = \"kernel/c{g}\"\nclass = \"Big{g}\"").unwrap();
        for b in 0..buffers {
            let size = [1, 2, 3, 5, 8, 13][rng.between(0, 5) as usize] * rng.between(1, 40);
            writeln!(
                m,
                "[[buffer]]\ncomponent = \"kernel/c{g}\"\nname = \"b{b}\"\nsize = \"{size}\"\nlocation = \"shared\""
            )
            .unwrap();
        }
    }
    m
}

#[test]
#[ignore = "timing: run alone by .ci/run (--test scale -- --ignored --test-threads=1)"]
fn a_time_limit_bounds_the_split_search_of_sixteen_groups() {
    let _alone = alone();
    let dir = std::env::temp_dir().join(format!("smemplan-scale-tiers-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("sixteen.toml");
    std::fs::write(&path, sixteen_groups()).unwrap();
    let plan = |tiers: &str, limit: &str| {
        let started = Instant::now();
        let out = Command::new(env!("CARGO_BIN_EXE_smemplan"))
            .args(["plan", path.to_str().unwrap(), "--tiers", tiers, "--time-limit", limit, "--runs", "131072"])
            .output()
            .unwrap();
        assert!(out.status.success(), "--tiers {tiers}: {}", String::from_utf8_lossy(&out.stderr));
        (started.elapsed(), String::from_utf8(out.stdout).unwrap())
    };
    for (limit, seconds) in [("1", 1.0), ("0.1", 0.1)] {
        // Reading the model, planning it once and printing: the same run
        // with every group where the model puts it, timed just before.
        let (fixed, _) = plan("fixed", limit);
        let (auto, report) = plan("auto", limit);
        assert!(report.contains("17 groups"), "{report}");
        let search = auto.saturating_sub(fixed);
        let allowed = Duration::from_secs_f64(seconds).mul_f64(1.1) + SLACK;
        assert!(
            search < allowed,
            "--time-limit {limit}: the split search took {search:?} ({auto:?} against {fixed:?})"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Issue 20's ML-trace acceptance: on generated traces of 10,000–60,000
/// buffers (`smemplan::core::generate::trace`, the acceptance set's seeds),
/// `auto` with a 10 s limit ends within 1 % of the lower bound (the
/// target). The allowance here is 2 % and 20 s: CI shares two cores.
#[test]
#[ignore = "timing: run alone by .ci/run (--test scale -- --ignored --test-threads=1)"]
fn ml_traces_end_near_the_lower_bound_within_the_time_limit() {
    use smemplan::core::generate::{trace, TraceOptions};
    let _alone = alone();
    for n in [10_000, 20_000, 40_000, 60_000] {
        let problem = trace(&TraceOptions { buffers: n, ..TraceOptions::default() }, n as u64).unwrap();
        let options = SolveOptions::default().with_time_limit(Duration::from_secs(10));
        let started = Instant::now();
        let s = smemplan::solve::run(&Auto, &problem, &options).unwrap();
        let elapsed = started.elapsed();
        smemplan::solve::verify(&problem, &s).unwrap();
        assert!(s.gap() <= 0.02, "{n} buffers: peak {} is {:.3} % above {}", s.peak, 100.0 * s.gap(), s.lower_bound);
        assert!(elapsed < Duration::from_secs(20), "{n} buffers took {elapsed:?}");
    }
}

/// The dense 100k problem of issue 20 ([`smemplan::core::generate::dense`],
/// seed 1: 100,000 buffers, about 250 live at once) end to end through the
/// binary, reading, solving, checking and writing `--out`, for every greedy
/// strategy: each layout passes the binary's checker and, read back, the
/// independent checker here. The target is **under 1 s** for `greedy-size`
/// on a quiet 2-core machine (best of three); the allowance is three times
/// that, for a loaded CI machine.
#[test]
#[ignore = "timing: run alone by .ci/run (--test scale -- --ignored --test-threads=1)"]
fn the_dense_100k_problem_plans_in_about_a_second() {
    let _alone = alone();
    let dir = std::env::temp_dir().join(format!("smemplan-dense-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let problem = smemplan::core::generate::dense(100_000, 1).unwrap();
    let input = dir.join("dense.csv");
    std::fs::write(&input, minimalloc::write(&problem, None)).unwrap();
    let output = dir.join("layout.csv");
    let allowed = Duration::from_secs(3);
    for strategy in smemplan::solve::greedy::ALL.map(|s| s.name()) {
        let best = (0..3)
            .map(|_| {
                let started = Instant::now();
                let out = Command::new(env!("CARGO_BIN_EXE_smemplan"))
                    .args(["solve", "--strategy", strategy, "--out", output.to_str().unwrap(), input.to_str().unwrap()])
                    .output()
                    .unwrap();
                let wall = started.elapsed();
                assert!(out.status.success(), "{strategy}: {}", String::from_utf8_lossy(&out.stderr));
                wall
            })
            .min()
            .unwrap();
        let text = std::fs::read_to_string(&output).unwrap();
        let solved = minimalloc::read_problem("layout.csv", &text).unwrap();
        let layout: Vec<(&str, u64)> =
            solved.buffers().iter().map(|b| (b.name.as_str(), b.offset.expect("every buffer placed"))).collect();
        assert!(check(&problem, &layout, None).is_valid(), "{strategy}: an invalid layout");
        eprintln!("{strategy}: {best:?} (best of three)");
        assert!(best < allowed, "{strategy}: {best:?} end to end on the dense 100k problem");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Issue 20's tiling acceptance: generated tilings of 600–8,000 buffers,
/// guillotine and 30 % pinwheel (the acceptance set,
/// [`smemplan::core::generate::acceptance`]), packed at the optimum by
/// `auto` in capacity mode at the tiling's height, within a 10 s limit. The
/// target is the limit; here each must fit, and within twice the limit for
/// a loaded CI machine (they take 0.01–0.5 s quiet).
#[test]
#[ignore = "timing: run alone by .ci/run (--test scale -- --ignored --test-threads=1)"]
fn tilings_pack_at_the_optimum_within_the_time_limit() {
    let _alone = alone();
    for instance in smemplan::core::generate::acceptance().unwrap() {
        let Some(height) = instance.capacity else { continue };
        let options = SolveOptions::default().with_capacity(Some(height)).with_time_limit(Duration::from_secs(10));
        let started = Instant::now();
        let s = smemplan::solve::run(&Auto, &instance.problem, &options).unwrap();
        let elapsed = started.elapsed();
        smemplan::solve::verify(&instance.problem, &s).unwrap();
        assert_eq!(s.peak, height, "{}: peak {} over the optimum {height}", instance.name, s.peak);
        assert!(elapsed < Duration::from_secs(20), "{} took {elapsed:?}", instance.name);
    }
}
