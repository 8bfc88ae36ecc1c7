//! `smemplan sweep` run as a user runs it: every built-in model over system
//! sizes, precisions and two cards writes its table and picture, the
//! optimised layouts never need more shared memory than CuBIE's, the JSON
//! document carries rows, front and statistics, and bad names are reported
//! by name with exit code 2.

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
    let models = smemplan::model::builtin_names();
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
    // Per model and precision: a shared line per strategy, and a threads
    // line per strategy and card.
    assert_eq!(picture.matches(r#"<polyline class="series""#).count(), models.len() * 2 * (2 + 4));
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
        (vec!["--set", "n=3", "--svg", "/nonexistent-dir/x.svg"], "x.svg"),
        (vec!["--set", "n=3", "--svg", "x.svg", "--x", "precision"], "cannot draw along `precision`"),
    ] {
        let run = smemplan(&[&["sweep"][..], &args].concat()).expect(2);
        assert!(run.stderr.contains(needle), "{args:?}: {}", run.stderr);
    }
}
