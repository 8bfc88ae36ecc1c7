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
    for (args, says) in [
        (vec!["calibrate"], "nothing to calibrate against"),
        (vec!["calibrate", "--measured", &missing], "cannot read"),
        (vec!["calibrate", "--measured", &not_results], "is not a `smemplan measure --json` results file"),
        (vec!["calibrate", "--table", &missing], "cannot read"),
        (vec!["calibrate", "--device", "tpu", "--table", &not_results], "unknown device `tpu`"),
    ] {
        let run = lab(&args).expect(2);
        assert!(run.stderr.contains(says), "{args:?}: {}", run.stderr);
        assert!(run.stdout.is_empty());
    }
}
