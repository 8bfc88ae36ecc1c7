//! Sizes that scale (issue 17): the system sizes of the built-in models
//! (`lu_nnz`, `jac_cache`, `firk_extra`, `rosenbrock_cache`) follow n by the
//! reference system's rules (docs/models.md, "System sizes"), equal
//! `models/reference-system.toml` at n = 3, 20 and 100, and `--set` still
//! overrides them, through the library and through the binary.

#[path = "support/cli.rs"]
mod harness;

use harness::{repo, s, scratch, smemplan};
use serde_json::Value as Json;
use smemplan::kernel::model::{builtin, builtin_names, expr::Value, Kernel};

const SIZES: [&str; 4] = ["lu_nnz", "jac_cache", "firk_extra", "rosenbrock_cache"];

fn reference_rows() -> toml::Table {
    std::fs::read_to_string(repo("models/reference-system.toml")).unwrap().parse().unwrap()
}

fn kernel(model: &str, sets: &[(&str, &str)]) -> Kernel {
    let sets: Vec<(String, String)> = sets.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    builtin(model).unwrap().instantiate(&sets).unwrap_or_else(|e| panic!("{model} {sets:?}: {e}"))
}

fn int(k: &Kernel, name: &str) -> Option<i64> {
    match k.params.get(name) {
        Some(Value::Int(i)) => Some(*i),
        None => None,
        Some(v) => panic!("{name} = {v}"),
    }
}

fn elements(k: &Kernel, component: &str, name: &str) -> u64 {
    k.buffers.iter().find(|b| b.component == component && b.name == name).unwrap_or_else(|| panic!("{name}")).size
}

/// The models that have system sizes, with the names each derives.
fn sized_models() -> Vec<(&'static str, Vec<&'static str>)> {
    let out: Vec<_> = builtin_names()
        .into_iter()
        .map(|m| (m, SIZES.into_iter().filter(|s| int(&kernel(m, &[]), s).is_some()).collect::<Vec<_>>()))
        .filter(|(_, names)| !names.is_empty())
        .collect();
    let names: Vec<&str> = out.iter().map(|(m, _)| *m).collect();
    assert_eq!(
        names,
        ["backwards_euler", "backwards_euler_pc", "crank_nicolson", "dirk", "firk", "rosenbrock"],
        "the implicit models"
    );
    out
}

#[test]
fn derived_sizes_are_the_reference_systems_at_3_20_100() {
    let rows = reference_rows();
    assert_eq!(rows.len(), 3);
    let mut compared = 0;
    for (model, names) in sized_models() {
        // No system size is a parameter any more: nothing holds it fixed
        // while n varies.
        for name in &names {
            assert!(!builtin(model).unwrap().params().contains_key(*name), "{model}: {name} is a parameter");
        }
        for (row, values) in &rows {
            let n = row.strip_prefix('n').unwrap();
            let k = kernel(model, &[("n", n)]);
            for name in &names {
                let want = match values.get(*name) {
                    Some(v) => v.as_integer().unwrap(),
                    None if *name == "rosenbrock_cache" => 0,
                    None => panic!("{row} lacks {name}"),
                };
                assert_eq!(int(&k, name), Some(want), "{model} at n = {n}: {name}");
                compared += 1;
            }
        }
    }
    // dirk and the three one-step families: 2 sizes, firk 3, rosenbrock 2;
    // three rows each.
    assert_eq!(compared, 3 * (4 * 2 + 3 + 2));
}

#[test]
fn rules_hold_for_every_n_and_keep_the_last_slope_beyond_100() {
    let at = |n: i64| {
        let k = kernel("firk", &[("n", &n.to_string())]);
        (int(&k, "lu_nnz").unwrap(), int(&k, "jac_cache").unwrap(), int(&k, "firk_extra").unwrap())
    };
    assert_eq!(at(0), (0, 0, 0));
    assert_eq!(at(1), (1, 3, 3));
    assert_eq!(at(2), (4, 6, 5));
    let mut last = at(0);
    for n in 1..=400 {
        let v = at(n);
        assert!(v.0 >= last.0 && v.1 >= last.1 && v.2 >= last.2, "not monotone at n = {n}: {last:?} -> {v:?}");
        // Never more than a dense n x n factor, never less than the diagonal.
        assert!(v.0 >= n && v.0 <= n * n, "lu_nnz({n}) = {}", v.0);
        last = v;
    }
    // Beyond n = 100: 5 per state for the factors, 246/80 and 166/80 (the
    // slopes from n = 20 to 100) for the caches, rounded up.
    assert_eq!(at(180), (895, 561, 382));
    assert_eq!(at(101), (500, 319, 219));
    // Between the reference points: the straight lines, rounded up.
    assert_eq!(at(10), (45, 34, 25));
    assert_eq!(at(50), (245, 162, 113));
}

#[test]
fn dirk_at_n3_is_sized_for_three_states() {
    for (precision, bytes) in [("f32", 4), ("f64", 8)] {
        let k = kernel("dirk", &[("n", "3"), ("precision", precision)]);
        // kvaerno3 freezes its factors: the cache is the reference system's
        // at n = 3, not at n = 100.
        assert_eq!(elements(&k, "kernel/loop/algorithm", "cached_auxiliaries"), 9, "{precision}");
        let v =
            smemplan(&["plan", "--model", "dirk", "--set", "n=3", "--precision", precision, "--json"]).expect(0).json();
        let cached = v["cubie"]["buffers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["name"] == "cached_auxiliaries")
            .expect("cached_auxiliaries planned")
            .clone();
        assert_eq!((cached["elements"].as_u64(), cached["bytes"].as_u64()), (Some(9), Some(9 * bytes)));
        // Every buffer of the kernel now belongs to a 3-state system: the
        // plan is the one with the n = 3 sizes set by hand.
        let by_hand = smemplan(&[
            "plan",
            "--model",
            "dirk",
            "--set",
            "n=3",
            "--set",
            "lu_nnz=9",
            "--set",
            "jac_cache=9",
            "--precision",
            precision,
            "--json",
        ])
        .expect(0)
        .json();
        for side in ["cubie", "optimized"] {
            for key in ["shared_bytes", "local_bytes", "persistent_local_bytes"] {
                assert_eq!(v[side][key], by_hand[side][key], "{precision} {side}.{key}");
            }
        }
        // CuBIE's shared bytes per run: 384 (f32) and 760 (f64), down from
        // 1,608 and 3,208 when the cache was sized for n = 100.
        let want = if precision == "f32" { 384 } else { 760 };
        assert_eq!(v["cubie"]["shared_bytes"].as_u64(), Some(want), "{precision}");
        assert!(v["optimized"]["shared_bytes"].as_u64().unwrap() < want);
        assert_eq!(v["input"]["params"]["jac_cache"], Json::from(9));
        assert_eq!(v["input"]["params"]["lu_nnz"], Json::from(9));
    }
}

#[test]
fn set_overrides_the_rules() {
    // Library: a non-cached LU solve keeps lu_nnz entries in its factor.
    let lu = [("n", "3"), ("algorithm", "kvaerno5"), ("linear", "lu")];
    let factor = "kernel/loop/algorithm/solver/linear_solver";
    assert_eq!(elements(&kernel("dirk", &lu), factor, "lu_factor"), 9);
    let mut set = lu.to_vec();
    set.push(("lu_nnz", "7"));
    let k = kernel("dirk", &set);
    assert_eq!(int(&k, "lu_nnz"), Some(7));
    assert_eq!(elements(&k, factor, "lu_factor"), 7);
    let k = kernel("dirk", &[("n", "3"), ("jac_cache", "40")]);
    assert_eq!(elements(&k, "kernel/loop/algorithm", "cached_auxiliaries"), 40);
    let k = kernel("firk", &[("n", "3"), ("jac_cache", "10"), ("firk_extra", "1")]);
    assert_eq!(elements(&k, "kernel/loop/algorithm", "cached_auxiliaries"), 10 + 2);
    let k = kernel("rosenbrock", &[("rosenbrock_cache", "5")]);
    assert_eq!(elements(&k, "kernel/loop/algorithm", "cached_auxiliaries"), 5);

    // Binary, built-in model: `--set lu_nnz=7` wins over the rule, at any n.
    for n in ["3", "100"] {
        let v = smemplan(&[
            "plan",
            "--model",
            "dirk",
            "--set",
            &format!("n={n}"),
            "--set",
            "algorithm=kvaerno5",
            "--set",
            "lu_nnz=7",
            "--json",
        ])
        .expect(0)
        .json();
        assert_eq!(v["input"]["params"]["lu_nnz"], Json::from(7), "n = {n}");
        let lu_factor =
            v["cubie"]["buffers"].as_array().unwrap().iter().find(|b| b["name"] == "lu_factor").unwrap().clone();
        assert_eq!(lu_factor["elements"].as_u64(), Some(7), "n = {n}");
    }

    // A model file of the user's own (here dirk's, copied) behaves the same.
    let dir = scratch("model-scaling");
    let file = dir.join("my_dirk.toml");
    std::fs::copy(repo("models/dirk.toml"), &file).unwrap();
    let v = smemplan(&["plan", s(&file), "--set", "n=3", "--set", "lu_nnz=7", "--json"]).expect(0).json();
    assert_eq!(v["input"]["params"]["lu_nnz"], Json::from(7));
    assert_eq!(v["input"]["params"]["jac_cache"], Json::from(9));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A sweep may set or sweep a derived size like a parameter: the rows carry
/// the value given, and the bytes follow it.
#[test]
fn a_sweep_sets_and_sweeps_derived_sizes() {
    let v =
        smemplan(&["sweep", "--model", "dirk", "--set", "n=3", "--set", "jac_cache=9,315", "--json"]).expect(0).json();
    let rows = v["rows"].as_array().unwrap();
    let cubie_bytes = |cache: &str| {
        rows.iter()
            .find(|r| r["strategy"] == "cubie" && r["params"]["jac_cache"] == cache)
            .and_then(|r| r["shared_bytes"].as_u64())
            .unwrap_or_else(|| panic!("no cubie row with jac_cache={cache}: {v}"))
    };
    // 306 more cached elements of 4 bytes each.
    assert_eq!(cubie_bytes("315") - cubie_bytes("9"), 306 * 4);
    let run = smemplan(&["sweep", "--model", "dirk", "--set", "no_such_size=3"]).expect(2);
    assert!(run.stderr.contains("jac_cache"), "the known names include derived ones: {}", run.stderr);
}
