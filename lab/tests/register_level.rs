//! `plan --tiers auto` on the real integrators, against every committed
//! exhaustive `tune` run on the H100 and the H200, each with the card's
//! profile (every layout at every candidate block
//! timed, each run bitwise equal to the CPU reference): the planner's pick
//! of split and block, looked up among the measured runs, against the
//! faster of all shared and all local at their best blocks (issue 18's
//! measure).
//!
//! The estimate's register level (models mark the buffers their kernels
//! index only with compile-time indices; `perf::throughput::Workload::
//! in_registers`) and the sub-wave tie-break were chosen on the seven cases
//! of `gpu-h100-tune-real-2026-12-07.json`: in-sample, pinned here. The nine
//! of `gpu-h100-registers-heldout-2026-12-07.json` were measured after both
//! were committed: held out.
//!
//! The integrator models' `local_hit_per_shared` (0.65) was chosen after
//! the second batch (`gpu-h100-registers-heldout-2-2026-12-07.json`) and
//! the first batch's misses timed again (`…-repeat-…`): every file above is
//! in-sample for it. The eleven cases of
//! `gpu-h100-local-hits-heldout-2026-12-07.json` (and its `…-rerun-…`)
//! were committed with the value (`scripts/tune-cases-local-hits.txt`)
//! before any of them ran: held out.

use smemplan::perf::occupancy::DeviceProfile;
use smemplan_lab::calibrate;
use smemplan_lab::gpu::measure as cases;

/// Per case in `file`: its name and the planner's pick's measured time as
/// a share of the faster of all shared and all local at their best blocks.
fn picks(file: &str) -> Vec<(String, f64)> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/results").join(file);
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut out = Vec::new();
    for c in v["cases"].as_array().unwrap() {
        let name = c["case"].as_str().unwrap();
        // The profile the run ranked with: the card's.
        let device = DeviceProfile::named(c["profile"].as_str().unwrap()).unwrap();
        let layouts: Vec<&str> =
            c["layouts"].as_array().unwrap().iter().map(|l| l["layout"].as_str().unwrap()).collect();
        let measured = |keep: &dyn Fn(&str, u64) -> bool| {
            c["all"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|x| keep(layouts[x["layout"].as_u64().unwrap() as usize], x["block"].as_u64().unwrap()))
                .filter_map(|x| x["measured_ms"].as_f64())
                .fold(f64::INFINITY, f64::min)
        };
        let shared = measured(&|l, _| l.contains("all-shared"));
        let local = measured(&|l, _| l.contains("all-local"));
        let case = cases::case_named(name).unwrap();
        let (split, block, _) = cases::smemplan_pick(&device, &case).unwrap();
        let built = cases::layouts(&device, &case, &split, &[block]).unwrap();
        let label = calibrate::label(&built[cases::smemplan_layout(&built, &split).unwrap()].name);
        let pick = measured(&|l, b| l == label && b == block);
        assert!(pick.is_finite(), "{name}: the pick {label} block {block} was not measured");
        out.push((name.to_string(), shared.min(local) / pick));
    }
    out
}

/// The picks of `file`: `cases` of them, at least `within` within 5 % of
/// the faster baseline, and none below `floor`.
fn expect(file: &str, cases: usize, within: usize, floor: f64) {
    let picks = picks(file);
    assert_eq!(picks.len(), cases, "{file}");
    assert!(picks.iter().filter(|(_, s)| *s >= 0.95).count() >= within, "{file}: {picks:?}");
    for (name, share) in &picks {
        assert!(*share >= floor, "{file}: {name}: {share:.4}");
    }
}

/// In-sample: the seven acceptance cases (Dormand–Prince n = 16, 64 f32 and
/// f64, backward Euler n = 32 f64, DIRK n = 32, DIRK on Robertson) all
/// within 5 %. Before the register level the planner kept every one of them
/// all shared: 0.46–0.78 on Dormand–Prince and Robertson.
#[test]
fn in_sample_the_picks_of_the_acceptance_cases_are_within_five_percent() {
    expect("gpu-h100-tune-real-2026-12-07.json", 7, 7, 0.95);
}

/// Held out of the register level: nine cases never seen (Dormand–Prince
/// n = 8 f64, 24 f32, 32 f32 and f64; DIRK n = 8, 16; backward Euler n = 8
/// f64, 16 f32; DIRK on Robertson f64), one launch per candidate. Four are
/// within 5 %, and every one within 12 %: the others are blocks of an
/// all-local layout the estimate ties (Dormand–Prince n = 24: 0.893, n = 32:
/// 0.946 and 0.930; DIRK n = 8: 0.887, where block 32 measured 0.204 ms and
/// block 64 0.184), which the best of three launches puts within 5 %
/// (below), and backward Euler n = 16 f32, where the local hit cost now
/// picks all local (0.948; 0.891 all shared). All shared, the layout the
/// planner kept before the register level, reaches 0.318–0.976 even at its
/// best block (`docs/throughput.md`).
#[test]
fn held_out_every_pick_is_within_twelve_percent_and_four_within_five() {
    expect("gpu-h100-registers-heldout-2026-12-07.json", 9, 4, 0.88);
}

/// The five misses of the first held-out batch timed again with the best
/// of three launches: four picks within 5 % and Dormand–Prince n = 32 f32
/// at 0.9498 (the estimate-tied blocks had been mostly one launch's noise:
/// 0.887–0.946 before). In-sample for `local_hit_per_shared`, which moved
/// backward Euler n = 16 f32 to all local.
#[test]
fn in_sample_the_first_batchs_misses_timed_again_are_within_five_percent_but_one() {
    expect("gpu-h100-registers-heldout-repeat-2026-12-07.json", 5, 4, 0.945);
}

/// The second batch (best of three launches), on which the integrators'
/// `local_hit_per_shared` was chosen: in-sample. Seven of nine within 5 %
/// (four with the stand-in's hit cost: all shared for backward Euler n = 12
/// f64, 0.245, and DIRK n = 12, 0.421, where the compiled kernels' private
/// arrays made all local 4x and 2.4x faster; Dormand–Prince n = 48 f32,
/// 0.658). The two left: DIRK n = 24 (all shared, the odd-stride variant,
/// where the interleaved one measured 8 % faster) and Dormand–Prince n = 4
/// f32 (a 0.02 ms launch).
#[test]
fn in_sample_local_hits_pick_the_measured_placement_on_the_second_batch() {
    expect("gpu-h100-registers-heldout-2-2026-12-07.json", 9, 7, 0.85);
}

/// Held out of `local_hit_per_shared`: eleven cases (DIRK n = 6, 14, 20 f32
/// and 10 f64; backward Euler n = 10, 20 f32 and 6, 24 f64; Dormand–Prince
/// n = 40, 56 f32 and 20 f64; best of three launches), committed with the
/// value before they ran. Every pick within 5 % (the lowest: backward Euler
/// n = 6 f64, 0.953, and DIRK n = 20 f32, 0.956). With the stand-in's hit
/// cost instead (the models' key removed) the planner keeps four of them
/// all shared and measures 0.19–0.91 (backward Euler n = 10 f32 0.19, DIRK
/// n = 10 f64 and 14 f32 0.49 and 0.50, DIRK n = 20 f32 0.91), and backward
/// Euler n = 20 f32 gets a split no run measured.
#[test]
fn held_out_local_hits_every_pick_is_within_five_percent() {
    expect("gpu-h100-local-hits-heldout-2026-12-07.json", 11, 11, 0.95);
}

/// The same eleven timed again on the card (another call, the same
/// command): ten within 5 %. DIRK n = 20 f32's pick (all local, block 128)
/// measured 0.937 of the best (all local, block 32), 0.956 the first time:
/// the blocks the estimate ranks next to each other at 3.7–3.9 ms.
#[test]
fn held_out_local_hits_timed_again_ten_of_eleven_within_five_percent() {
    expect("gpu-h100-local-hits-heldout-rerun-2026-12-07.json", 11, 10, 0.93);
}

/// In-sample: the seven acceptance cases timed again on current main
/// (one launch per candidate, as the first time): still all within 5 %
/// (the lowest: Dormand–Prince n = 64 f32, 0.954).
#[test]
fn in_sample_the_acceptance_cases_timed_again_are_within_five_percent() {
    expect("gpu-h100-tune-real-rerun-2026-12-07.json", 7, 7, 0.95);
}

/// On the H200 (the `h200` profile), the eleven cases held out of
/// `local_hit_per_shared` (fitted on H100 timings only; no H200 integrator
/// timing entered any fit), best of three launches: every pick within 5 %
/// (the lowest: Dormand–Prince n = 56 f32, 0.960).
#[test]
fn held_out_on_the_h200_every_local_hits_pick_is_within_five_percent() {
    expect("gpu-h200-local-hits-heldout-2026-12-07.json", 11, 11, 0.95);
}

/// On the H200, the seven acceptance cases (in-sample on the H100; on this
/// card held out but backward Euler n = 32 f64, the kernel the `h200`
/// profile was fitted on), one launch per candidate: every pick within
/// 5 % (the lowest: DIRK n = 32 f32, 0.963, all shared at block 11, where
/// CuBIE's all-shared layout measured fastest at block 22).
#[test]
fn on_the_h200_the_acceptance_cases_are_within_five_percent() {
    expect("gpu-h200-tune-real-2026-12-07.json", 7, 7, 0.95);
}
