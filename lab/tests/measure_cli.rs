//! `smemplan-lab measure`'s case flags, checked before any card is looked
//! for: a case chosen by flags is named so that it can be rebuilt from its
//! results, and bad flags are refused with an error naming the flag.

#[path = "support/cli.rs"]
#[allow(dead_code)] // the harness's JSON and data helpers serve other tests
mod harness;

use harness::lab;
use smemplan::kernel::Precision;
use smemplan_lab::gpu::measure::{case_named, cases, CaseSpec};
use smemplan_lab::integrate::{Method, System};

#[test]
fn a_case_by_flags_is_named_and_rebuilt_from_its_name() {
    let spec = CaseSpec {
        method: Method::Dirk,
        system: System::AllenCahn { n: 60 },
        precision: Precision::F64,
        batch: 4096,
        t_end: Some(0.25),
        steps: None,
    };
    let case = spec.case().unwrap();
    assert_eq!(case.name, "dirk/allen-cahn-60/f64/batch-4096/t-end-0.25");
    assert_eq!(CaseSpec::parse(&case.name), Some(spec));
    let again = case_named(&case.name).unwrap();
    assert_eq!((again.setup, again.batch, again.fixed_steps), (case.setup, case.batch, 0));
    let be = CaseSpec {
        method: Method::BackwardEuler,
        system: System::Robertson,
        precision: Precision::F32,
        batch: 8,
        t_end: None,
        steps: Some(40),
    };
    let case = be.case().unwrap();
    assert_eq!((case.name.as_str(), case.fixed_steps), ("backward-euler/robertson/f32/batch-8/steps-40", 40));
    // The default list keeps its names and is found by them.
    for c in cases().unwrap() {
        assert_eq!(case_named(&c.name).unwrap().name, c.name);
    }
    for bad in ["dirk/allen-cahn-0/f32/batch-8", "dirk/lorenz/f16/batch-8", "dirk/lorenz/f32/batch-8/x", "rk4/lorenz"] {
        assert!(CaseSpec::parse(bad).is_none(), "{bad}");
        assert!(case_named(bad).unwrap_err().to_string().contains(bad), "{bad}");
    }
}

#[test]
fn good_flags_reach_the_card() {
    // This test binary's smemplan-lab may be built with or without the GPU
    // feature; either way the flags were accepted when the run gets as far
    // as looking for the card (no CUDA here) or says it has no GPU support.
    let run = lab(&["measure", "--method", "dirk", "--system", "robertson", "--precision", "f64", "--batch", "64"]);
    assert_ne!(run.code, 0);
    let past_flags = ["without GPU support", "CUDA", "cuda", "driver", "NVRTC", "nvrtc"];
    assert!(past_flags.iter().any(|s| run.stderr.contains(s)), "a flag was refused: {}", run.stderr);
}

#[test]
fn bad_flags_are_refused_with_the_flag_named() {
    for (args, says) in [
        (vec!["--method", "rk4"], "no method `rk4`"),
        (vec!["--method", "dirk", "--system", "robertson", "--n", "4"], "robertson has n = 3, not 4"),
        (vec!["--method", "dirk", "--system", "brusselator"], "no system `brusselator`"),
        (vec!["--method", "dirk", "--n", "2000"], "n must be 1 to 1024"),
        (vec!["--method", "dirk", "--steps", "20"], "--steps applies to fixed-step methods"),
        (vec!["--method", "backward-euler", "--steps", "15"], "steps (15) must be a positive multiple of samples"),
        (vec!["--method", "dirk", "--t-end=-1"], "--t-end"),
        (vec!["--method", "dirk", "--precision", "f16"], "--precision"),
        (vec!["--method", "dirk", "--batch", "0"], "--batch"),
        (vec!["--n", "32"], "--method"),
        (vec!["--method", "dirk", "--case", "lorenz"], "--case"),
        (vec!["--case", "no-such-case"], "matches none of the cases"),
    ] {
        let mut all = vec!["measure"];
        all.extend(&args);
        let run = lab(&all).expect(2);
        assert!(run.stderr.contains(says), "{args:?}: {}", run.stderr);
        assert!(run.stdout.is_empty(), "{args:?}: {}", run.stdout);
    }
}

#[test]
fn results_of_a_case_by_flags_are_read_back_and_ranked() {
    use smemplan_lab::gpu::measure::{CaseResult, LayoutName, Results, Run};
    let layout = |planner: &str| LayoutName {
        planner: planner.into(),
        placement: "all-shared".into(),
        local: Vec::new(),
        shared_layout: "odd-stride".into(),
    };
    let run = |planner: &str, block: u64, ms: f64| Run {
        layout: layout(planner),
        block_size: block,
        dynamic_shared_bytes: block * 144,
        registers: 64,
        stack_bytes: 0,
        blocks_per_sm: 4,
        best_ms: ms,
        times_ms: vec![ms],
        system_steps_per_second: 64.0 * 46.0 / (ms * 1e-3),
        bitwise: true,
        mismatch: None,
        estimated_runs_per_second: None,
    };
    let results = Results {
        device: serde_json::Value::Null,
        profile: "h200".into(),
        date: String::new(),
        cases: vec![CaseResult {
            name: "dirk/robertson/f32/batch-64".into(),
            batch: 64,
            n: 3,
            system_steps: 64 * 46,
            smemplan_split: Vec::new(),
            smemplan_block: 32,
            cubie_block: 64,
            runs: vec![
                run("cubie", 64, 1.0),
                run("smemplan", 32, 0.9),
                run("smemplan", 64, 0.95),
                run("cubie", 32, 1.1),
            ],
            skipped: 0,
        }],
    };
    let path = std::env::temp_dir().join(format!("smemplan-lab-measure-{}.json", std::process::id()));
    std::fs::write(&path, serde_json::to_string(&results).unwrap()).unwrap();
    let out = lab(&["measure", "--from", path.to_str().unwrap()]).expect(0);
    let _ = std::fs::remove_file(&path);
    assert!(out.stdout.contains("### dirk/robertson/f32/batch-64 (n = 3, 64 systems)"), "{}", out.stdout);
    assert!(out.stdout.contains("Cost model (profile `h200`) over 4 configurations"), "{}", out.stdout);
}
