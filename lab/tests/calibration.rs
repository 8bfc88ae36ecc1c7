//! The H200 profile's throughput parameters against what was measured on
//! the card. Fitted on `docs/results/gpu-h200-throughput-2026-12-02.json`
//! (the integrators) and `tests/data/h200-block-size.csv` (gpu-notes §5):
//! they are the fit's optimum and rank those configurations. Checked on
//! `docs/results/gpu-h200-throughput-2026-12-03.json`, measured after the
//! fit (with a held-out case, backward Euler at n = 48): smemplan's joint
//! pick of shared/local split and block size for the implicit method at
//! n ≥ 30 measured within 5 % of the best.

use smemplan::perf::occupancy::DeviceProfile;
use smemplan_lab::calibrate::{self, Observation};
use smemplan_lab::gpu::measure::{self, Results};

fn fitted_on() -> Results {
    serde_json::from_str(include_str!("../../docs/results/gpu-h200-throughput-2026-12-02.json")).unwrap()
}

fn checked_on() -> Results {
    serde_json::from_str(include_str!("../../docs/results/gpu-h200-throughput-2026-12-03.json")).unwrap()
}

fn observations() -> Vec<Observation> {
    let mut o = calibrate::from_measurements(&fitted_on()).unwrap();
    o.extend(
        calibrate::from_block_table("h200-block-size.csv", include_str!("../../tests/data/h200-block-size.csv"))
            .unwrap(),
    );
    o
}

/// The committed parameters are what `calibrate --fit` finds from them:
/// refitting gains under 1 % of the objective.
#[test]
fn the_committed_parameters_are_the_fit() {
    let h200 = DeviceProfile::named("h200").unwrap();
    let o = observations();
    // The H200's HBM rates are the physical prior, held: no plan measured
    // on it was HBM-bound, and a free fit moved HBM to 4.96 TB/s sustained,
    // above the card's 4.8 TB/s peak (models/devices.toml).
    let fitted = calibrate::fit(&h200, &o, &["hbm_miss_ns", "hbm_miss_busy_ns"]).unwrap();
    assert!(fitted.after >= 0.99 * fitted.before, "refit: {} → {}", fitted.before, fitted.after);
}

/// In-sample (the parameters were fitted on these observations, so this
/// pins the fit rather than judging it): every case of the fit is ranked
/// (Spearman ρ ≥ 0.6; it was 0.22–0.43 before the cache term and the
/// calibration), the estimate's favourite measured at least 75 % of the
/// best (small explicit kernels whose local arrays the compiler keeps in
/// registers are the model's blind spot), and the block-size tables keep
/// their log-RMS error under 10 %.
#[test]
fn in_sample_the_fit_ranks_the_cases_it_was_fitted_on() {
    let h200 = DeviceProfile::named("h200").unwrap();
    let groups = calibrate::evaluate(&h200, &observations()).unwrap();
    assert_eq!(groups.len(), 6);
    for g in &groups {
        assert!(g.spearman >= 0.6, "{g:?}");
        assert!(g.favourite_share >= 0.75, "{g:?}");
        if g.group.starts_with("dirk") {
            assert!(g.log_rms < 0.1, "{g:?}");
        }
    }
}

/// Out of sample: the runs of 2026-12-03 were measured after the fit and
/// never fitted (one case, backward Euler at n = 48, is new altogether).
/// The thresholds are the in-sample ones, no looser (they were committed
/// with these runs, so they are not blind to them): every case is ranked
/// (Spearman ρ ≥ 0.6) and the estimate's favourite measured at least 75 %
/// of the best.
#[test]
fn held_out_the_estimate_ranks_runs_measured_after_the_fit() {
    let h200 = DeviceProfile::named("h200").unwrap();
    let held_out = calibrate::evaluate(&h200, &calibrate::from_measurements(&checked_on()).unwrap()).unwrap();
    assert_eq!(held_out.len(), 5);
    assert!(held_out.iter().any(|g| g.group.contains("48")), "the held-out case is among them: {held_out:?}");
    for g in &held_out {
        assert!(g.spearman >= 0.6, "{g:?}");
        assert!(g.favourite_share >= 0.75, "{g:?}");
    }
}

/// smemplan's pick (the split and block size `tiers::choose` finds, as
/// `measure` records it) for backward Euler at n = 32 and 48 is among the
/// configurations measured after the fit and reached at least 95 % of the
/// best measured; CuBIE's halving pick is in the table beside it.
#[test]
fn the_implicit_pick_reaches_95_percent_of_the_best_measured() {
    let h200 = DeviceProfile::named("h200").unwrap();
    let results = checked_on();
    let mut checked = 0;
    for case in measure::cases().unwrap() {
        if case.setup.method != smemplan_lab::integrate::Method::BackwardEuler || case.setup.system.n() < 30 {
            continue;
        }
        let measured = results.cases.iter().find(|c| c.name == case.name).expect("the case was measured");
        // Today's pick, which need not be the one recorded then (the
        // scheduler tie-break moved n = 32's from block 25 to 12): it must
        // have been measured, below.
        let (split, block, _) = measure::smemplan_pick(&h200, &case).unwrap();
        let placement = if split.is_empty() { "all-shared" } else { "split" };
        let run = measured.runs.iter().find(|r| {
            r.layout.planner == "smemplan"
                && r.layout.placement == placement
                && r.layout.local == split
                && r.layout.shared_layout == "odd-stride"
                && r.block_size == block
        });
        let run = run.unwrap_or_else(|| {
            panic!(
                "{}: smemplan's pick (local {split:?}, block {block}) was not measured; re-run `measure` on the card",
                case.name
            )
        });
        let best = measured.runs.iter().map(|r| r.system_steps_per_second).fold(0.0, f64::max);
        let share = run.system_steps_per_second / best;
        eprintln!("{}: pick local {split:?} block {block}: {share:.3} of the best measured", case.name);
        assert!(share >= 0.95, "{}: pick (local {split:?}, block {block}) measured {share:.3} of the best", case.name);
        assert!(measured.runs.iter().any(|r| r.layout.planner == "cubie" && r.block_size == measured.cubie_block));
        checked += 1;
    }
    assert_eq!(checked, 2);
}
