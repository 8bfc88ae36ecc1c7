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

/// A model whose every local buffer is indexed at compile time (the
/// built-in Dormand–Prince integrator's, `registers`): all local holds its
/// arrays in registers. At n = 16 they fit the budget, so the estimate
/// charges no memory time: the text says so (no `inf`, no `NaN`), JSON has
/// `null` for the rate and ratios 1 and 0. At n = 64 only part is held.
#[test]
fn arrays_held_in_registers_are_shown_and_never_print_inf() {
    let model = harness::repo("models/integrators/dormand_prince.toml");
    let model = model.to_str().unwrap();
    let base = ["plan", model, "--device", "h100", "--runs", "16384", "--tiers", "auto"];
    let run = smemplan(&[&base[..], &["--set", "n=16"]].concat()).expect(0);
    assert!(run.stdout.contains("in registers") && run.stdout.contains("no memory time"), "{}", run.stdout);
    assert!(!run.stdout.contains("inf") && !run.stdout.contains("NaN"), "{}", run.stdout);
    let v = smemplan(&[&base[..], &["--set", "n=16", "--json"]].concat()).expect(0).json();
    let t = &v["tiers"];
    assert_eq!(t["chosen"]["shared_bytes"], 0);
    assert_eq!(t["chosen"]["register_bytes"], t["chosen"]["local_bytes"]);
    assert!(t["chosen"]["runs_per_second"].is_null());
    assert_eq!((f(&t["chosen"]["throughput_ratio"]), f(&t["all_shared"]["throughput_ratio"])), (1.0, 0.0));
    let v = smemplan(&[&base[..], &["--set", "n=64", "--json"]].concat()).expect(0).json();
    let local = &v["tiers"]["all_local"];
    let (held, bytes) = (local["register_bytes"].as_u64().unwrap(), local["local_bytes"].as_u64().unwrap());
    assert!(held > 0 && held < bytes, "{held} of {bytes}");
    assert!(f(&local["runs_per_second"]) > 0.0);
    // Without tiers, all local: the block search's reason has no time to
    // give and says so; its slowdowns compare warp times, never NaN.
    let v = smemplan(&[
        "plan",
        model,
        "--device",
        "h100",
        "--runs",
        "16384",
        "--set",
        "n=16",
        "--set",
        "loc=local",
        "--json",
    ])
    .expect(0)
    .json();
    let best = &v["optimized"]["best_block_size"];
    let reason = best["reason"].as_str().unwrap();
    assert!(reason.contains("no memory accesses left to time") && !reason.contains("NaN"), "{reason}");
    assert!(best["estimated_runs_per_second"].is_null());
    // The default model marks nothing: no register column.
    let run = smemplan(&["plan", "--tiers", "auto", "--runs", "100000"]).expect(0);
    assert!(!run.stdout.contains("in registers"), "{}", run.stdout);
}

/// A model's own local hit cost is said where it changes the estimates
/// (text and JSON); the device's figure, the default, is in the JSON only.
/// On DIRK n = 12 it turns the pick from all shared to all local, which the
/// H100 measured 2.4x faster (`docs/throughput.md`, "Local hits").
#[test]
fn a_models_local_hit_cost_is_said_and_moves_the_pick() {
    let model = harness::repo("models/integrators/dirk.toml");
    let args =
        ["plan", model.to_str().unwrap(), "--set", "n=12", "--device", "h100", "--runs", "16384", "--tiers", "auto"];
    let run = smemplan(&args).expect(0);
    assert!(
        run.stdout.contains("local cache hits cost 0.65 shared accesses each (the model's `local_hit_per_shared`)"),
        "{}",
        run.stdout
    );
    let t = smemplan(&[&args[..], &["--json"]].concat()).expect(0).json()["tiers"].clone();
    assert_eq!((f(&t["local_hit_per_shared"]), t["local_hit_from_model"].clone()), (0.65, Value::Bool(true)));
    assert_eq!(t["chosen"]["shared_bytes"], 0, "all local: {}", t["chosen"]);
    let default =
        smemplan(&["plan", "--tiers", "auto", "--device", "h100", "--json"]).expect(0).json()["tiers"].clone();
    assert_eq!(default["local_hit_from_model"], Value::Bool(false));
    let device = f(&default["local_hit_per_shared"]);
    let h100 = smemplan::perf::occupancy::DeviceProfile::named("h100").unwrap().throughput;
    assert!((device - h100.local_access_ns / h100.shared_access_ns).abs() < 1e-9, "the profile's figure: {device}");
    let text = smemplan(&["plan", "--tiers", "auto", "--device", "h100"]).expect(0).stdout;
    assert!(!text.contains("local cache hits cost"), "{text}");
}
