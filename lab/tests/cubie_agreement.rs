//! One CuBIE side: for the same kernel, the CuBIE bytes `plan` compares,
//! a sweep's `cubie` row, the layout the lab's integrity walk runs and the
//! one its integrators run all agree, because they all come from
//! `smemplan::plan::cubie`.

use smemplan::kernel::model::{self, Kernel};
use smemplan::kernel::Precision;
use smemplan::perf::occupancy::DeviceProfile;
use smemplan::plan::allocator::{Allocation, Padding, SharedLayout};
use smemplan::plan::PlanOptions;
use smemplan::study::compare::{CompareOptions, Comparison, CubieSide};
use smemplan::study::sweep::{self, Side, SweepSpec};
use smemplan_lab::integrate::{self, Method, Placement, Planner, Setup, System};

fn options() -> CompareOptions {
    CompareOptions {
        plan: PlanOptions::default(),
        device: DeviceProfile::named("h100").unwrap(),
        requested_block_size: 64,
        runs: 4096,
        registers_per_thread: 0,
    }
}

/// Shared, padded stride and local (local + persistent) bytes per run.
fn figures(side: &CubieSide) -> (u64, u64, u64) {
    (side.shared_bytes, side.padded_shared_bytes, side.local_bytes + side.persistent_local_bytes)
}

/// What the integrity walk of CuBIE's layout runs: its report at CuBIE's
/// stride (bytes plus skew).
fn walked(kernel: &Kernel) -> (u64, u64, u64) {
    let cubie = smemplan::plan::cubie_kernel(kernel).unwrap();
    let skewed = SharedLayout::ThreadMajor(Padding::Skew(cubie.footprint.skew_bytes));
    let alloc = Allocation::new(&cubie.report, skewed).unwrap();
    (alloc.shared_bytes_per_run, alloc.stride, alloc.local_bytes + alloc.persistent_local_bytes)
}

#[test]
fn plan_sweep_and_the_integrity_walk_report_the_same_cubie_bytes() {
    let models: Vec<model::Model> = model::builtin_names().into_iter().map(|n| model::builtin(n).unwrap()).collect();
    assert!(models.len() >= 3, "built-in models: {:?}", model::builtin_names());
    let mut spec = SweepSpec::new(models.clone(), Vec::new()).unwrap();
    spec.strategies = vec![Side::Cubie];
    let rows = sweep::run(&spec, &|_| {}).unwrap().rows;
    assert_eq!(rows.len(), models.len());
    for (m, row) in models.iter().zip(&rows) {
        let kernel = m.instantiate(&[]).unwrap();
        let plan = figures(&Comparison::of_kernel(&kernel, None, &options()).unwrap().cubie);
        assert_eq!(plan, (row.shared_bytes, row.padded_shared_bytes, row.local_bytes), "{}: plan vs sweep", m.name);
        assert_eq!(plan, walked(&kernel), "{}: plan vs the integrity walk", m.name);
    }
}

#[test]
fn the_integrators_cubie_plans_are_plans_cubie_side() {
    for (method, system) in
        [(Method::DormandPrince54, System::Lorenz), (Method::BackwardEuler, System::AllenCahn { n: 8 })]
    {
        let setup = Setup::new(method, system, Precision::F32).unwrap();
        let placement = Placement::split(Planner::Cubie, SharedLayout::default(), &method.buffers()[..1]);
        let report = integrate::plan(&setup, &placement).unwrap();
        let kernel = integrate::instance(&setup, &placement).unwrap();
        let side = Comparison::of_kernel(&kernel, None, &options()).unwrap().cubie;
        assert_eq!(
            (report.shared_bytes, report.local_bytes, report.persistent_local_bytes),
            (side.shared_bytes, side.local_bytes, side.persistent_local_bytes),
            "{}",
            method.name()
        );
        assert_eq!(walked(&kernel), figures(&side), "{}", method.name());
    }
}
