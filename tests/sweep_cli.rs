//! `smemplan sweep` run as a user runs it: every built-in model over system
//! sizes, precisions and two cards writes its table and picture, the
//! optimised layouts never need more shared memory than CuBIE's, `--tiers
//! auto` never estimates a configuration slower than the model's own
//! locations, the JSON document carries rows, front and statistics, and bad
//! names are reported by name with exit code 2.

#[path = "support/cli.rs"]
mod harness;

use harness::{repo, s, scratch, smemplan};
use std::collections::HashMap;

/// The CSV's rows as column → value maps.
fn csv_rows(text: &str) -> Vec<HashMap<String, String>> {
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("a header").split(',').collect();
    lines
        .map(|l| {
            let cells: Vec<&str> = l.split(',').collect();
            assert_eq!(cells.len(), header.len(), "{l}");
            header.iter().zip(cells).map(|(h, c)| (h.to_string(), c.to_string())).collect()
        })
        .collect()
}

#[test]
fn every_builtin_model_over_sizes_precisions_and_cards() {
    let dir = scratch("sweep-all");
    let (csv, svg) = (dir.join("sweep.csv"), dir.join("sweep.svg"));
    let run = smemplan(&[
        "sweep",
        "--model",
        "all",
        "--set",
        "n=3,10,30,100,200",
        "--precision",
        "f32,f64",
        "--device",
        "h100,a100",
        "--csv",
        s(&csv),
        "--svg",
        s(&svg),
    ])
    .expect(0);
    assert!(run.stdout.starts_with("Pareto front"), "{}", run.stdout);
    assert!(run.stderr.contains("configurations/s") && run.stderr.contains("hit rate"), "{}", run.stderr);

    let rows = csv_rows(&std::fs::read_to_string(&csv).unwrap());
    let models = smemplan::kernel::model::builtin_names();
    assert_eq!(rows.len(), models.len() * 5 * 2 * 2 * 2);
    // Rows come in cubie/auto pairs of one configuration.
    for pair in rows.chunks(2) {
        let (cubie, auto) = (&pair[0], &pair[1]);
        assert_eq!((cubie["strategy"].as_str(), auto["strategy"].as_str()), ("cubie", "auto"));
        for key in ["model", "n", "precision", "device"] {
            assert_eq!(cubie[key], auto[key]);
        }
        let bytes = |r: &HashMap<String, String>| r["shared_bytes"].parse::<u64>().unwrap();
        assert!(bytes(auto) <= bytes(cubie), "optimised shared bytes above CuBIE's: {auto:?} vs {cubie:?}");
        assert_eq!(auto["fits"], "true", "{auto:?}");
    }
    for m in &models {
        assert!(rows.iter().any(|r| r["model"] == *m), "model {m} missing");
    }

    let picture = std::fs::read_to_string(&svg).unwrap();
    assert!(picture.starts_with("<svg") && picture.trim_end().ends_with("</svg>"));
    // Per model and precision: a shared line per strategy, a saving line
    // for the optimised one, and a threads line per strategy and card.
    assert_eq!(picture.matches(r#"<polyline class="series""#).count(), models.len() * 2 * (2 + 1 + 4));
}

/// Every built-in model at three sizes, f32 and f64, on two cards, swept
/// with `--tiers fixed` and with `--tiers auto`: configuration by
/// configuration, the auto split is never estimated slower than the model's
/// own locations, the auto row's `fixed_runs_per_second` is the fixed
/// sweep's estimate, CuBIE's rows do not move, and the choice is not
/// vacuous (some configurations gain, with groups moved to local memory).
/// A batch of 2^17 runs fills several waves: that is where the split
/// matters (below one wave the estimate barely separates splits) and where
/// the tier search prunes, which keeps this test well under a second.
#[test]
fn auto_tiers_never_estimate_slower_than_the_models_locations() {
    let grid = [
        "sweep",
        "--model",
        "all",
        "--set",
        "n=3,30,200",
        "--precision",
        "f32,f64",
        "--device",
        "h100,a100",
        "--runs",
        "131072",
        "--json",
    ];
    let fixed = smemplan(&grid).expect(0).json();
    let auto = smemplan(&[&grid[..], &["--tiers", "auto"]].concat()).expect(0).json();
    assert_eq!((fixed["tiers"].as_str(), auto["tiers"].as_str()), (Some("fixed"), Some("auto")));
    let (fixed, auto) = (fixed["rows"].as_array().unwrap(), auto["rows"].as_array().unwrap());
    let models = smemplan::kernel::model::builtin_names();
    assert_eq!(fixed.len(), models.len() * 3 * 2 * 2 * 2);
    assert_eq!(auto.len(), fixed.len());
    let speed = |r: &serde_json::Value| r["estimated_runs_per_second"].as_f64().unwrap();
    let bytes = |r: &serde_json::Value| r["shared_bytes"].as_u64().unwrap();
    let mut gains = 0;
    for (f, a) in fixed.iter().zip(auto) {
        for key in ["index", "model", "params", "device", "strategy"] {
            assert_eq!(f[key], a[key], "{key}");
        }
        assert_eq!(f["tiers"], "fixed");
        if a["strategy"] == "cubie" {
            assert_eq!(a["tiers"], "fixed", "{a}");
            for key in ["shared_bytes", "local_bytes", "best_block_size", "estimated_runs_per_second"] {
                assert_eq!(f[key], a[key], "CuBIE's row moved under --tiers auto: {key} of {a}");
            }
            continue;
        }
        assert_eq!(a["tiers"], "auto", "{a}");
        assert!(speed(a) >= speed(f), "auto tiers estimated slower than the model's locations:\n{a}\nvs\n{f}");
        assert_eq!(a["fixed_runs_per_second"].as_f64(), Some(speed(f)), "{a}");
        let local = a["local_groups"].as_array().unwrap();
        if speed(a) > speed(f) {
            gains += 1;
            assert!(a["shared_bytes"] != f["shared_bytes"] || a["local_bytes"] != f["local_bytes"], "{a}");
            assert!(local.iter().all(|g| g.as_str().is_some_and(|g| !g.is_empty())), "{a}");
        }
    }
    assert!(gains >= fixed.len() / 8, "only {gains} configurations gained from --tiers auto");
    // The fixed optimised layouts never hold more shared bytes than CuBIE's.
    for pair in fixed.chunks(2) {
        assert_eq!((pair[0]["strategy"].as_str(), pair[1]["strategy"].as_str()), (Some("cubie"), Some("auto")));
        assert!(bytes(&pair[1]) <= bytes(&pair[0]), "{} vs {}", pair[1], pair[0]);
    }
}

#[test]
fn json_and_text_carry_the_rows_front_and_statistics() {
    let args = ["sweep", "--model", "dirk", "--set", "n=3,30", "--set", "algorithm=kvaerno3,kvaerno5"];
    let v = smemplan(&[&args[..], &["--json"]].concat()).expect(0).json();
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2 * 2 * 2);
    for key in [
        "shared_bytes",
        "local_bytes",
        "cubie_block_size",
        "best_block_size",
        "resident_threads",
        "occupancy",
        "fits",
        "pareto",
    ] {
        assert!(!rows[0][key].is_null(), "rows[0].{key}");
    }
    assert_eq!(rows[3]["params"]["algorithm"], "kvaerno5");
    assert!(!v["pareto_front"].as_array().unwrap().is_empty());
    assert_eq!(v["stats"]["configurations"], 8);
    assert!(v["stats"]["configurations_per_second"].as_f64().unwrap() > 0.0);
    assert!(v["stats"]["pool_cache_hit_rate"].is_f64());

    let text = smemplan(&args).expect(0).stdout;
    let header = text.lines().next().unwrap();
    for column in ["n", "algorithm", "device", "strategy", "shared B", "best block", "threads/SM", "occupancy"] {
        assert!(header.contains(column), "{header}");
    }
    assert!(text.lines().filter(|l| l.contains("kvaerno5")).count() >= 4, "{text}");
    assert!(text.contains("Pareto front"));
    assert!(!header.contains("local groups"), "{header}");

    // Under --tiers auto the table adds the gain and the groups moved to
    // local memory, and the summary the searches' effort.
    let run = smemplan(&[&args[..], &["--tiers", "auto", "--runs", "131072"]].concat()).expect(0);
    let header = run.stdout.lines().next().unwrap();
    assert!(header.ends_with("vs fixed  local groups"), "{header}");
    // Every optimised row names the groups it moved to local memory, or
    // `none`: on this grid no split is estimated the margin faster than the
    // model's locations (tiers::SPLIT_MARGIN), so all keep them; README's
    // sweep shows rows that move groups (docs test).
    let rows: Vec<&str> = run.stdout.lines().skip(1).take_while(|l| !l.is_empty()).collect();
    assert_eq!(rows.len(), 8, "{}", run.stdout);
    for row in rows.iter().filter(|l| l.contains(" auto ")) {
        let local_b: u64 = row.split_whitespace().nth(6).unwrap().parse().unwrap();
        assert_eq!(row.ends_with(" none"), local_b == 0, "{row}");
    }
    assert!(run.stderr.contains("tier search: 4 splits chosen"), "{}", run.stderr);

    // A model file works like a built-in one, beside it.
    let erk = repo("models/erk.toml");
    let v = smemplan(&["sweep", s(&erk), "--model", "dirk", "--set", "n=3", "--json"]).expect(0).json();
    let models: Vec<&str> = v["rows"].as_array().unwrap().iter().map(|r| r["model"].as_str().unwrap()).collect();
    assert_eq!(models, ["erk", "erk", "dirk", "dirk"]);
}

#[test]
fn bad_names_and_values_are_named() {
    for (args, needle) in [
        (vec!["--model", "dirkk"], "no built-in model `dirkk`"),
        (vec!["--set", "size=3"], "model `dirk` has no parameter `size`"),
        (vec!["--set", "algorithm=rk99"], "unknown algorithm `rk99`"),
        (vec!["--set", "n=3..=1"], "range `3..=1` is empty"),
        (vec!["--set", "n=x"], "configuration model=dirk n=x"),
        (vec!["--device", "h100,tpu"], "unknown device `tpu`"),
        (vec!["--strategies", "cubie,fast"], "unknown strategy `fast`"),
        (vec!["--tiers", "both"], "invalid value 'both' for '--tiers <MODE>'"),
        (vec!["--set", "n=3", "--svg", "/nonexistent-dir/x.svg"], "x.svg"),
        (vec!["--set", "n=3", "--svg", "x.svg", "--x", "precision"], "cannot draw along `precision`"),
    ] {
        let run = smemplan(&[&["sweep"][..], &args].concat()).expect(2);
        assert!(run.stderr.contains(needle), "{args:?}: {}", run.stderr);
    }
}

/// What aliasing buys is in the CSV itself: every row carries CuBIE's
/// bytes and launch for its configuration, the saving and the speed-up,
/// equal to what the paired `cubie` row says, and the same without
/// `cubie` among the strategies.
#[test]
fn the_csv_carries_the_saving_against_cubie() {
    let dir = scratch("sweep-savings");
    let sweep = |strategies: &str, name: &str| {
        let csv = dir.join(name);
        let args = ["sweep", "--model", "dirk,firk", "--set", "n=3,40", "--precision", "f32,f64"];
        smemplan(&[&args[..], &["--device", "h100,a100", "--strategies", strategies, "--csv", s(&csv)]].concat())
            .expect(0);
        csv_rows(&std::fs::read_to_string(&csv).unwrap())
    };
    let rows = sweep("cubie,auto", "both.csv");
    assert_eq!(rows.len(), 2 * 2 * 2 * 2 * 2);
    let num = |r: &HashMap<String, String>, k: &str| r[k].parse::<f64>().unwrap_or_else(|_| panic!("{k}: {r:?}"));
    for pair in rows.chunks(2) {
        let (cubie, auto) = (&pair[0], &pair[1]);
        for r in pair {
            assert_eq!(r["cubie_layout_shared_bytes"], cubie["shared_bytes"], "{r:?}");
            assert_eq!(num(r, "shared_bytes_saved"), num(cubie, "shared_bytes") - num(r, "shared_bytes"));
            let percent = 100.0 * num(r, "shared_bytes_saved") / num(cubie, "shared_bytes");
            assert!((num(r, "shared_percent_saved") - percent).abs() < 1e-4, "{r:?}");
            assert_eq!(r["cubie_layout_block_size"], cubie["cubie_block_size"]);
            let speedup = num(r, "estimated_runs_per_second") / num(cubie, "cubie_runs_per_second");
            assert!((num(r, "speedup_vs_cubie") / speedup - 1.0).abs() < 1e-5, "{r:?}");
        }
        assert_eq!(cubie["shared_bytes_saved"], "0");
        assert!(num(auto, "shared_bytes_saved") > 0.0, "{auto:?}");
    }
    let alone = sweep("auto", "auto.csv");
    let columns = ["cubie_layout_shared_bytes", "shared_bytes_saved", "shared_percent_saved", "speedup_vs_cubie"];
    for (a, b) in alone.iter().zip(rows.iter().skip(1).step_by(2)) {
        for k in columns {
            assert_eq!(a[k], b[k], "{k}");
        }
    }
}

/// A model that holds its local arrays in registers (the built-in
/// Dormand–Prince integrator's, `registers`): `sweep --tiers auto` picks
/// what `plan --tiers auto` picks (all local, the group `kernel`), and a
/// layout the estimate charges no memory time reads so, never `inf`.
#[test]
fn auto_tiers_agree_with_plan_where_arrays_live_in_registers() {
    let model = repo("models/integrators/dormand_prince.toml");
    let model = model.to_str().unwrap();
    let run = smemplan(&["sweep", model, "--set", "n=16,64", "--device", "h100", "--runs", "16384", "--tiers", "auto"])
        .expect(0);
    assert!(run.stdout.contains("no memory time") && !run.stdout.contains("inf"), "{}", run.stdout);
    for n in ["16", "64"] {
        let plan = smemplan(&[
            "plan",
            model,
            "--set",
            &format!("n={n}"),
            "--device",
            "h100",
            "--runs",
            "16384",
            "--tiers",
            "auto",
            "--json",
        ])
        .expect(0)
        .json();
        let chosen = &plan["tiers"]["chosen"];
        assert_eq!(chosen["shared_bytes"], 0, "n = {n}: plan keeps it all local");
        let row = run.stdout.lines().find(|l| l.split_whitespace().nth(1) == Some(n) && l.contains(" auto ")).unwrap();
        let cells: Vec<&str> = row.split_whitespace().collect();
        assert_eq!((cells[4], cells[5]), ("0", chosen["local_bytes"].to_string().as_str()), "{row}");
        assert!(row.trim_end().ends_with("kernel"), "{row}");
    }
}
