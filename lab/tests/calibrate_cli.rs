//! `smemplan-lab calibrate` run as a user runs it: the committed H200 results
//! evaluated (text and JSON), the fit printed as a table that parses as a
//! device profile, and bad input refused with a clear error and exit 2.

#[path = "support/cli.rs"]
mod harness;

use harness::{lab, repo};
use smemplan::perf::occupancy::DeviceProfile;

const MEASURED: &str = "docs/results/gpu-h200-throughput-2026-12-02.json";
const TABLE: &str = "tests/data/h200-block-size.csv";

#[test]
fn the_committed_results_are_evaluated_per_case() {
    let (measured, table) = (repo(MEASURED).display().to_string(), repo(TABLE).display().to_string());
    let run = lab(&["calibrate", "--measured", &measured, "--table", &table]).expect(0);
    for needle in ["893 observations", "backward-euler/allen-cahn-32", "dirk-n3", "Spearman", "measured share"] {
        assert!(run.stdout.contains(needle), "`{needle}` missing:\n{}", run.stdout);
    }
    let v = lab(&["calibrate", "--measured", &measured, "--table", &table, "--json"]).expect(0).json();
    assert_eq!(v["observations"], 893);
    let groups = v["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 6);
    assert!(groups.iter().all(|g| g["spearman"].as_f64().unwrap() > 0.5), "{groups:?}");
    assert!(v["fit"].is_null());
}

/// The fitted table is a `[NAME.throughput]` table: with the device's
/// limits it parses as a profile, and it does no worse than the start.
#[test]
fn the_fit_prints_a_profile_table() {
    let (measured, table) = (repo(MEASURED).display().to_string(), repo(TABLE).display().to_string());
    let v = lab(&["calibrate", "--measured", &measured, "--table", &table, "--fit", "--json"]).expect(0).json();
    let fit = &v["fit"];
    assert!(fit["after"].as_f64().unwrap() <= fit["before"].as_f64().unwrap());
    let toml = fit["toml"].as_str().unwrap();
    assert!(toml.starts_with("[h200.throughput]\n"), "{toml}");
    let limits = "[h200]\ndescription = \"x\"\nmultiprocessors = 132\nmax_shared_per_block_optin = 232448\n\
                  shared_per_sm = 233472\nreserved_shared_per_block = 1024\nmax_threads_per_sm = 2048\n\
                  max_blocks_per_sm = 32\nmax_threads_per_block = 1024\nregisters_per_sm = 65536\nwarp_size = 32\n";
    let profiles = DeviceProfile::parse("fit.toml", &format!("{limits}{toml}")).unwrap();
    assert_eq!(profiles[0].throughput.cache_bytes_per_sm, 262_144);
}

#[test]
fn bad_input_is_refused() {
    let missing = repo("docs/results/no-such.json").display().to_string();
    let not_results = repo("tests/data/h200-block-size.csv").display().to_string();
    let bundle = repo("docs/results/gpu-h100-measure-2026-12-07.json").display().to_string();
    for (args, says) in [
        (vec!["calibrate"], "nothing to calibrate against"),
        (vec!["calibrate", "--measured", &missing], "cannot read"),
        (vec!["calibrate", "--measured", &not_results], "is not a `smemplan-lab measure --json` results file"),
        (vec!["calibrate", "--measured", &bundle], "is a bundle of results by case"),
        (vec!["calibrate", "--table", &missing], "cannot read"),
        (vec!["calibrate", "--device", "tpu", "--table", &not_results], "unknown device `tpu`"),
    ] {
        let run = lab(&args).expect(2);
        assert!(run.stderr.contains(says), "{args:?}: {}", run.stderr);
        assert!(run.stdout.is_empty());
    }
}

/// A folder of its own for one test's files.
fn scratch(test: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("smemplan-lab-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The committed results with one run (case 2, run 3) edited, written to
/// `dir`.
fn edited(dir: &std::path::Path, name: &str, edit: impl Fn(&mut serde_json::Value)) -> String {
    let text = std::fs::read_to_string(repo(MEASURED)).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    edit(&mut v["cases"][1]["runs"][2]);
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_string(&v).unwrap()).unwrap();
    path.display().to_string()
}

/// Times that are not positive and finite, or runs that cannot launch on
/// the profile, are refused by `calibrate --measured` and `measure --from`
/// naming the file, the case, the run and the field (they used to fit to
/// "objective NaN → NaN" with exit 0).
#[test]
fn measured_runs_with_bad_times_or_blocks_are_refused_by_name() {
    let dir = scratch("bad-runs");
    for (name, field, value, says) in [
        ("zero.json", "best_ms", serde_json::json!(0.0), "`best_ms` is 0"),
        ("negative.json", "best_ms", serde_json::json!(-2.5), "`best_ms` is -2.5"),
        ("tiny.json", "best_ms", serde_json::json!(1e-320), "`best_ms` is 0.000"),
        ("block.json", "block_size", serde_json::json!(0), "a block has 1 to 1024 threads, not 0"),
        ("registers.json", "registers", serde_json::json!(256), "256 registers per thread"),
    ] {
        let path = edited(&dir, name, |run| run[field] = value.clone());
        for args in [vec!["calibrate", "--measured", &path, "--fit"], vec!["measure", "--from", &path]] {
            let run = lab(&args).expect(2);
            for needle in [path.as_str(), "case `dormand-prince-54/allen-cahn-32`", "run 3 (", says] {
                assert!(run.stderr.contains(needle), "{args:?}: `{needle}` missing: {}", run.stderr);
            }
            assert!(run.stdout.is_empty(), "{args:?}: {}", run.stdout);
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Control characters in printed names are refused, not written to the
/// terminal or into a markdown heading.
#[test]
fn control_characters_in_names_are_refused() {
    let dir = scratch("control");
    let table = dir.join("t.csv");
    std::fs::write(
        &table,
        "plan,stride,registers,runs,block,ms,shared_accesses\n\x1b]0;owned\x07,100,0,64,32,1,1000\n",
    )
    .unwrap();
    let run = lab(&["calibrate", "--table", &table.display().to_string()]).expect(2);
    assert!(run.stderr.contains("t.csv:2") && run.stderr.contains("control characters"), "{}", run.stderr);
    assert!(!run.stderr.contains('\x1b') && run.stdout.is_empty(), "{}", run.stderr);
    let text = std::fs::read_to_string(repo(MEASURED)).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["cases"][0]["name"] = "lorenz\n# planted".into();
    let path = dir.join("r.json");
    std::fs::write(&path, serde_json::to_string(&v).unwrap()).unwrap();
    let run = lab(&["measure", "--from", &path.display().to_string()]).expect(2);
    assert!(run.stderr.contains("case `lorenz\\n# planted`"), "{}", run.stderr);
    assert!(!run.stdout.contains("# planted"), "{}", run.stdout);
    let _ = std::fs::remove_dir_all(&dir);
}

/// `--json` and `--markdown` are written whole (by temporary file and
/// rename, leaving nothing else beside them) and may not name one file.
#[test]
fn measure_outputs_are_written_whole_and_to_different_files() {
    let dir = scratch("outputs");
    let measured = repo(MEASURED).display().to_string();
    let (json, md) = (dir.join("out.json"), dir.join("out.md"));
    let (json_s, md_s) = (json.display().to_string(), md.display().to_string());
    let run = lab(&["measure", "--from", &measured, "--json", &json_s, "--markdown", &md_s]).expect(0);
    assert_eq!(std::fs::read_to_string(&md).unwrap(), run.stdout);
    let written: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(written["cases"].as_array().unwrap().len(), 4);
    let mut names: Vec<String> =
        std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    assert_eq!(names, ["out.json", "out.md"]);
    let same = dir.join(".").join("out.json").display().to_string();
    for (a, b) in [(&json_s, &json_s), (&json_s, &same)] {
        std::fs::write(&json, "kept").unwrap();
        let run = lab(&["measure", "--from", &measured, "--json", a, "--markdown", b]).expect(2);
        assert!(run.stderr.contains("--json and --markdown both name"), "{}", run.stderr);
        assert_eq!(std::fs::read_to_string(&json).unwrap(), "kept");
    }
    // A folder that does not exist: an error naming the file, no leftovers.
    let missing = dir.join("no-such").join("out.json").display().to_string();
    let run = lab(&["measure", "--from", &measured, "--json", &missing]).expect(2);
    assert!(run.stderr.contains("cannot write") && run.stderr.contains("no-such"), "{}", run.stderr);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A table with a UTF-8 byte-order mark and lone CR line ends reads as the
/// same table; a column named twice is refused by name.
#[test]
fn tables_with_boms_and_carriage_returns_read_and_twice_named_columns_are_refused() {
    let dir = scratch("tables");
    let text = std::fs::read_to_string(repo(TABLE)).unwrap();
    let plain = lab(&["calibrate", "--table", &repo(TABLE).display().to_string(), "--json"]).expect(0).json();
    let odd = dir.join("odd.csv");
    std::fs::write(&odd, format!("\u{feff}{}", text.replace("\r\n", "\n").replace('\n', "\r"))).unwrap();
    let v = lab(&["calibrate", "--table", &odd.display().to_string(), "--json"]).expect(0).json();
    assert_eq!(v, plain);
    let twice = dir.join("twice.csv");
    std::fs::write(&twice, "plan,stride,registers,runs,block,ms,ms,shared_accesses\n").unwrap();
    let run = lab(&["calibrate", "--table", &twice.display().to_string()]).expect(2);
    assert!(run.stderr.contains("twice.csv:1") && run.stderr.contains("column `ms` twice"), "{}", run.stderr);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Flags a command would ignore are refused, not dropped in silence.
#[test]
fn flags_a_command_would_ignore_are_refused() {
    let results = repo("docs/results/gpu-h200-throughput-2026-12-07.json").display().to_string();
    for args in [
        vec!["tune", "--rank-only", "--json", "/nonexistent/tune.json"],
        vec!["measure", "--from", &results, "--case", "lorenz"],
    ] {
        let run = lab(&args).expect(2);
        assert!(run.stderr.contains("cannot be used with"), "{args:?}: {}", run.stderr);
    }
}
