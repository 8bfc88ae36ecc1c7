//! `plan --tiers auto` against the committed H100 (and H200) runs (issue 18,
//! acceptance 1; `docs/throughput.md`, "Does the pick hold on the card"):
//! the evaluation of `cargo run -p smemplan-lab --example tierpick`, its
//! figures pinned. No card needed: the runs hold every candidate measured.

// The example's evaluation; the example uses the parts not tested here.
#[allow(dead_code)]
#[path = "../examples/tierpick/eval.rs"]
mod eval;

use smemplan::perf::occupancy::DeviceProfile;
use smemplan::perf::tiers::SPLIT_MARGIN;

/// The committed L1-hit cost is what the fit on the in-sample runs finds:
/// refitting it gains under 1 % of the objective.
#[test]
fn the_h100_l1_hit_cost_is_the_fit_on_the_in_sample_runs() {
    let cases = eval::load(&[]).unwrap();
    let h100 = DeviceProfile::named("h100").unwrap();
    let fitted = eval::fit_l1_hit(&h100, &cases).unwrap();
    assert!(fitted.after >= 0.99 * fitted.before, "refit: {} -> {}", fitted.before, fitted.after);
    let ratio = h100.throughput.local_access_ns / h100.throughput.shared_access_ns;
    assert!(ratio > 2.0, "a local hit {ratio:.2}x a shared access");
}

/// The split margin is the estimate's held-out error between one case's
/// candidates (as a factor), not a value tuned until the picks pass.
#[test]
fn the_split_margin_is_the_held_out_error() {
    let cases = eval::load(&[]).unwrap();
    let h100 = DeviceProfile::named("h100").unwrap();
    let held: Vec<f64> = cases
        .iter()
        // The batches the margin was taken from; later ones came after it.
        .filter(|(b, c)| *b <= 2 && !c.in_sample())
        .map(|(_, c)| eval::centred_rms(&c.standin_errors(&h100).unwrap().0))
        .collect();
    assert_eq!(held.len(), 13);
    let rms = (held.iter().map(|e| e * e).sum::<f64>() / held.len() as f64).sqrt();
    assert!(
        (rms.exp() / SPLIT_MARGIN - 1.0).abs() < 0.02,
        "held-out error e^{rms:.3} against the margin {SPLIT_MARGIN}"
    );
}

/// `plan --tiers auto`'s pick for `case` on `device`'s profile, measured,
/// as a share of the faster baseline, and the pick named for a message
/// (panics, naming it, if it was not measured).
fn share(case: &eval::Case, device: &DeviceProfile) -> (f64, String) {
    let p = eval::pick(case, device, None, false).unwrap();
    let what = format!("{}: {} at {}", case.key(), p.what, p.block);
    (p.share_of_faster().unwrap_or_else(|| panic!("{what} was not measured")), what)
}

/// The acceptance on the held-out dirk cases of the first batch (n = 10,
/// 30, 60; f32, f64): the pick was measured and reached at least 95 % of
/// the faster of the best all shared and the best all local. (n = 100 f64,
/// in-sample, measured 0.92 before the scheduler tie-break, 1.0 with it.)
#[test]
fn held_out_dirk_picks_reach_95_percent_of_the_faster_baseline() {
    let cases = eval::load(&[]).unwrap();
    let h100 = DeviceProfile::named("h100").unwrap();
    let mut checked = 0;
    for (_, case) in cases.iter().filter(|(b, c)| *b == 1 && !c.in_sample()) {
        let (share, what) = share(case, &h100);
        assert!(share >= 0.95, "{what} measured {share:.3} of the faster baseline");
        checked += 1;
    }
    assert_eq!(checked, 6);
}

/// Batch 4 (dirk n = 15, 25, 50, 70, 90; f32, f64), measured after every
/// fitted or chosen number was fixed: every pick was measured, nine of ten
/// reach 95 % of the faster baseline, and the tenth (n = 25 f32, a tie of
/// block sizes with the same waves that the card separates) 0.91.
#[test]
fn batch_four_picks_hold_on_the_card() {
    let cases = eval::load(&[]).unwrap();
    let h100 = DeviceProfile::named("h100").unwrap();
    let shares: Vec<f64> = cases.iter().filter(|(b, _)| *b == 4).map(|(_, case)| share(case, &h100).0).collect();
    assert_eq!(shares.len(), 10);
    assert_eq!(shares.iter().filter(|&&s| s >= 0.95).count(), 9, "{shares:?}");
    assert!(shares.iter().all(|&s| s >= 0.9), "{shares:?}");
}

/// The acceptance cases (dirk n = 10, 30, 60, 100; f32, f64) timed again
/// on current main (`gpu-h100-tierpick-rerun-2026-12-07.json`, read as the
/// next batch): every pick measured and within 5 % of the faster baseline,
/// as in batch 1 (the lowest: n = 10 f32, 0.972). n = 100 is in-sample for
/// the L1 hit cost; the others are held out of every fit.
#[test]
fn the_acceptance_cases_timed_again_hold_on_the_card() {
    let rerun = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../docs/results/gpu-h100-tierpick-rerun-2026-12-07.json");
    let cases = eval::load(&[rerun]).unwrap();
    let h100 = DeviceProfile::named("h100").unwrap();
    let last = cases.iter().map(|(b, _)| *b).max().unwrap();
    let mut checked = Vec::new();
    for (_, case) in cases.iter().filter(|(b, _)| *b == last) {
        let (share, what) = share(case, &h100);
        assert!(share >= 0.95, "{what} measured {share:.3} of the faster baseline");
        checked.push(case.key());
    }
    assert_eq!(checked.len(), 8, "{checked:?}");
}

/// On an H200 with the `h200` profile (`scripts/gpu-tierpick.sh`, n = 10
/// and 100, f32 and f64; no H200 timing of these cases entered any fit):
/// three picks within 5 % (the lowest n = 10 f64, 0.970). n = 100 f64
/// misses at 0.90: all local at block 1024, where all shared at block 7
/// measured 10 % faster. The profile's HBM rates are a physical prior (no
/// HBM-bound plan had been measured on the card); with the H100's measured
/// bandwidth term the pick would be all shared at block 7, a finding taken
/// from this case and so not applied (`docs/results/gpu-h200.md`).
#[test]
fn on_the_h200_three_of_four_picks_hold_and_n100_f64_goes_local() {
    let file =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/results/gpu-h200-tierpick-2026-12-07.json");
    let cases = eval::load(&[file]).unwrap();
    let h200 = DeviceProfile::named("h200").unwrap();
    let last = cases.iter().map(|(b, _)| *b).max().unwrap();
    let shares: Vec<(f64, String)> =
        cases.iter().filter(|(b, _)| *b == last).map(|(_, case)| share(case, &h200)).collect();
    assert_eq!(shares.len(), 4, "{shares:?}");
    assert_eq!(shares.iter().filter(|(s, _)| *s >= 0.95).count(), 3, "{shares:?}");
    let (worst, what) = shares.iter().min_by(|a, b| a.0.total_cmp(&b.0)).unwrap();
    assert!(what.contains("n=100") && what.contains("f64") && *worst >= 0.89, "{what}: {worst:.3}");
}
