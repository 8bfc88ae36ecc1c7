//! Issue 19's growth defects at the command line: `sweep` refuses a
//! duplicate axis value in any spelling, a too-large axis or grid up front
//! (with its size in bytes), and reports a bad device before any of that;
//! `plan` and `sweep` refuse `--registers` above the device's limit. Each
//! is a usage error (exit 2) that names the culprit, and returns at once.

#[path = "support/cli.rs"]
mod harness;

use harness::{repo, s, scratch, smemplan};
use std::time::{Duration, Instant};

/// Every refusal here is a check before any work: far under this even on
/// a loaded machine (the pairwise check of a million values printed
/// nothing for 600 s).
const AT_ONCE: Duration = Duration::from_secs(20);

#[test]
fn sweep_refuses_duplicates_in_any_spelling() {
    for (args, needle) in [
        (vec!["--set", "n=5,05,+5"], "value `05` is listed twice (as `5`)"),
        (vec!["--precision", "f32,f32"], "parameter `precision`: value `f32` is listed twice"),
        (vec!["--model", "dirk,dirk"], "model `dirk` is listed twice"),
        (vec!["--model", "all,dirk"], "model `dirk` is swept twice"),
    ] {
        let run = smemplan(&[&["sweep"][..], &args].concat()).expect(2);
        assert!(run.stderr.contains(needle), "{args:?}: {}", run.stderr);
    }
    // Two files of one model.
    let erk = repo("models/erk.toml");
    let run = smemplan(&["sweep", s(&erk), s(&erk)]).expect(2);
    assert!(run.stderr.contains("model `erk` is swept twice"), "{}", run.stderr);
}

#[test]
fn sweep_refuses_a_huge_grid_at_once_and_checks_devices_first() {
    for (args, needle) in [
        (vec!["--set", "n=1..=1000000"], "range `1..=1000000` makes 1000000 values"),
        (vec!["--set", "n=1..=1000000"], "4.7 GiB, above the 1.0 GiB budget"),
        (vec!["--set", "n=1..=150000", "--strategies", "cubie,auto"], "300000 configurations"),
        // Counted exactly, not saturated at 2^64 - 1.
        (vec!["--set", "n=-9223372036854775808..=9223372036854775807"], "makes 18446744073709551616 values"),
        (vec!["--set", "n=1..=18446744073709551615"], "`18446744073709551615` is beyond the 64-bit integers"),
        (
            vec!["--set", "n=1..=100000", "--set", "d=1..=100000", "--set", "o=1..=100000", "--set", "p=1..=100000"],
            "the grid has 200000000000000000000 configurations",
        ),
        (vec!["--set", "n=1..=1000000", "--device", "h10"], "unknown device `h10`"),
        (vec!["--set", "n=1..=1000000", "--strategies", "cubie,fast"], "unknown strategy `fast`"),
    ] {
        let csv = scratch("huge-grid").join("rows.csv");
        let started = Instant::now();
        let run = smemplan(&[&["sweep", "--csv", s(&csv)][..], &args].concat()).expect(2);
        let took = started.elapsed();
        assert!(run.stderr.contains(needle), "{args:?}: {}", run.stderr);
        assert!(took < AT_ONCE, "{args:?}: {took:?}");
        assert!(!csv.exists(), "{args:?}: nothing is written");
    }
}

#[test]
fn registers_above_the_devices_limit_are_refused() {
    for command in [&["plan"][..], &["sweep", "--set", "n=3"][..]] {
        let run = smemplan(&[command, &["--registers", "256"]].concat()).expect(2);
        assert!(
            run.stderr.contains("--registers 256: device h100 allows at most 255 registers per thread"),
            "{command:?}: {}",
            run.stderr
        );
        let report = smemplan(&[command, &["--registers", "255", "--json"]].concat()).expect(0).json();
        assert!(report.is_object(), "{command:?}");
    }
}

#[test]
fn a_time_limit_beyond_the_clock_is_no_limit_not_a_panic() {
    // 1e19 s parses (it fits a Duration) but cannot be added to an instant:
    // plan, sweep and the tier search each started a deadline from it.
    for command in [&["plan"][..], &["plan", "--tiers", "auto"][..], &["sweep", "--set", "n=3"][..]] {
        let run = smemplan(&[command, &["--time-limit", "1e19", "--json"]].concat()).expect(0);
        assert!(run.json().is_object(), "{command:?}: {}", run.stderr);
    }
}

#[test]
fn bench_refuses_repeats_and_threads_no_machine_has_at_once() {
    let inst = repo("benches/data/minimalloc-example.12.csv");
    let started = Instant::now();
    for (flag, value, want) in [
        ("--repeat", "18446744073709551615", "a whole number from 1 to 1000000"),
        ("--repeat", "0", "a whole number from 1 to 1000000"),
        ("--threads", "10000", "a whole number from 0 to 1024"),
        ("--strategies", "greedy-size,auto,greedy-size", "strategy `greedy-size` is listed twice (as value 3)"),
    ] {
        let run = smemplan(&["bench", s(&inst), flag, value]).expect(2);
        assert!(run.stderr.contains(flag) && run.stderr.contains(want), "{flag} {value}: {}", run.stderr);
    }
    assert!(started.elapsed() < AT_ONCE);
    smemplan(&["bench", s(&inst), "--repeat", "2", "--threads", "1024"]).expect(0);
}

#[test]
fn the_model_list_takes_no_output_it_would_ignore() {
    let svg = scratch("list-models").join("models.svg");
    for flag in ["--svg", "--cuda", "--csv"] {
        let run = smemplan(&["plan", "--list-models", flag, s(&svg)]).expect(2);
        assert!(run.stderr.contains("cannot be used with"), "{flag}: {}", run.stderr);
    }
    assert!(!svg.exists());
}

#[test]
fn a_block_size_no_device_launches_is_refused() {
    for command in [&["plan"][..], &["sweep", "--set", "n=3"][..]] {
        let run = smemplan(&[command, &["--block-size", "2048"]].concat()).expect(2);
        assert!(
            run.stderr.contains("--block-size 2048: device h100 launches blocks of 1 to 1024 threads"),
            "{command:?}: {}",
            run.stderr
        );
    }
}

/// A layout no block size of the device fits has no launch: `--cuda` is
/// refused (the header sized the requested block, above the device's
/// shared memory, or overflowed), and nothing is written.
#[test]
fn a_plan_that_fits_no_block_gets_no_header() {
    let cuda = scratch("no-block").join("plan.cuh");
    for n in ["100000", "36028797018963968"] {
        let run =
            smemplan(&["plan", "--model", "explicit_euler", "--set", &format!("n={n}"), "--cuda", s(&cuda)]).expect(2);
        assert!(run.stderr.contains("no block size fits the plan's"), "n={n}: {}", run.stderr);
        assert!(!cuda.exists());
    }
    // Without --cuda the plan is an answer: it says no block size fits.
    let run = smemplan(&["plan", "--model", "explicit_euler", "--set", "n=100000"]).expect(0);
    assert!(run.stdout.contains("no block size"), "{}", run.stdout);
}
