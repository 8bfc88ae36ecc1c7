//! `docs/registry-results.md` is what `examples/registry_results.rs` prints
//! from one [`Comparison`] per CuBIE reference configuration. Every row of
//! its table is checked here against a fresh comparison of the same
//! configuration, so a change that moves a published figure fails until the
//! document is regenerated.

use smemplan::kernel::Precision;
use smemplan::perf::occupancy::DeviceProfile;
use smemplan::plan::PlanOptions;
use smemplan::study::compare::{CompareOptions, Comparison};

#[path = "support/data.rs"]
mod data;
#[path = "support/reference.rs"]
mod reference;

/// The settings the document states (and the example uses).
const DEVICE: &str = "h100";
const REQUESTED: u64 = 256;
const RUNS: u64 = 4096;

#[test]
fn every_published_row_reproduces() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/registry-results.md");
    let text = std::fs::read_to_string(&path).unwrap();
    let options = CompareOptions {
        plan: PlanOptions::default(),
        device: DeviceProfile::named(DEVICE).unwrap(),
        requested_block_size: REQUESTED,
        runs: RUNS,
        registers_per_thread: 0,
    };
    assert!(text.contains(&format!("with strategy `{}`", options.plan.strategy)), "the strategy changed");
    assert!(text.contains(&format!("on `{DEVICE}` for a requested {REQUESTED} threads ({RUNS} runs)")));

    // | family | algorithm | n | precision | placement | tags | shared | saved | local | block |
    let table = text.split("## Every configuration").nth(1).expect("the table's heading");
    let rows: Vec<Vec<&str>> = table
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| family"))
        .map(|l| l.trim_matches('|').split('|').map(str::trim).collect())
        .collect();
    let dumps = reference::dumps();
    assert_eq!(rows.len(), dumps.len(), "one row per reference configuration");
    for dump in &dumps {
        let c = &dump.config;
        let precision = match c.precision {
            Precision::F32 => "f32",
            Precision::F64 => "f64",
            Precision::I32 => "i32",
        };
        let tags = c.id.split("__").skip(5).collect::<Vec<_>>().join(", ");
        let key = [
            c.family.clone(),
            c.algorithm.clone(),
            c.n_states.to_string(),
            precision.into(),
            c.placement.clone(),
            tags,
        ];
        let matching: Vec<&Vec<&str>> = rows.iter().filter(|r| r[..6] == key).collect();
        let [row] = matching.as_slice() else { panic!("{}: {} rows", c.id, matching.len()) };
        let cmp = Comparison::of_dump(dump, None, &options).unwrap();
        let (cubie, optimized) = (&cmp.cubie, &cmp.optimized);
        let pair = |a: u64, b: u64| format!("{a} → {b}");
        let block = |l: &smemplan::study::compare::Launch| l.block_size.unwrap();
        assert_eq!(row[6], pair(cubie.shared_bytes, optimized.report.shared_bytes), "{}: shared", c.id);
        assert_eq!(row[8], pair(cubie.local_bytes, optimized.report.local_bytes), "{}: local", c.id);
        assert_eq!(row[9], pair(block(&cubie.launch), block(&optimized.launch)), "{}: block size", c.id);
    }
}
