//! `smemplan plan --tiers auto` run as a user runs it: the chosen split next
//! to the model's locations, all shared and all local, never estimated
//! worse than any of them; the plan's other keys unchanged.

// Only `smemplan` of the harness is needed here.
#[allow(dead_code)]
#[path = "support/cli.rs"]
mod harness;

use harness::smemplan;
use serde_json::Value;

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

#[test]
fn the_chosen_split_beats_or_ties_every_baseline() {
    for args in [
        vec!["--device", "h200", "--runs", "131072"],
        vec!["--set", "n=3", "--device", "h100", "--runs", "131072"],
        vec!["--model", "erk", "--set", "n=30", "--device", "a100", "--precision", "f64"],
    ] {
        let mut all = vec!["plan", "--json", "--tiers", "auto"];
        all.extend(args.iter().copied());
        let v = smemplan(&all).expect(0).json();
        let t = &v["tiers"];
        assert_eq!(f(&t["chosen"]["throughput_ratio"]), 1.0);
        for side in ["own_locations", "all_shared", "all_local"] {
            let ratio = f(&t[side]["throughput_ratio"]);
            assert!(ratio > 0.0 && ratio <= 1.0, "{args:?} {side}: {ratio}");
            assert!(t[side]["block_size"].as_u64().unwrap() >= 1);
        }
        assert_eq!(t["all_local"]["shared_bytes"], 0);
        assert_eq!(t["all_shared"]["local_bytes"], 0);
        // The model's locations, planned again, are the optimised side.
        assert_eq!(t["own_locations"]["shared_bytes"], v["optimized"]["shared_bytes"], "{args:?}");
        let groups = t["groups"].as_array().unwrap();
        assert!(!groups.is_empty() && t["exhaustive"] == true);
        assert!(t["solved"].as_u64().unwrap() <= 1 << groups.len());
    }
}

#[test]
fn text_shows_the_four_placements_and_the_groups() {
    let run = smemplan(&["plan", "--tiers", "auto", "--runs", "100000"]).expect(0);
    for needle in [
        "shared or local (--tiers auto)",
        "chosen",
        "model's locations",
        "all shared",
        "all local",
        "vs chosen",
        "kernel/loop/state",
    ] {
        assert!(run.stdout.contains(needle), "`{needle}` missing:\n{}", run.stdout);
    }
}

#[test]
fn fixed_is_the_default_and_adds_no_key() {
    let v = smemplan(&["plan", "--json"]).expect(0).json();
    assert!(v.get("tiers").is_none());
    let best = &v["optimized"]["best_block_size"];
    for key in ["block_size", "dynamic_shared_bytes", "blocks_per_sm", "resident_threads", "limiter"] {
        assert!(!best[key].is_null(), "{key}");
    }
    assert!(v["optimized"]["block_search"]["reason"].as_str().unwrap().contains("CuBIE's halving pick"));
    let run = smemplan(&["plan", "--tiers", "sometimes"]).expect(2);
    assert!(run.stderr.contains("fixed") && run.stderr.contains("auto"), "{}", run.stderr);
}
