//! The sweep at the scale of issue 9's acceptance: 100,000 configurations,
//! CuBIE's layout and `auto`'s side by side.
//!
//! `sweep/100k`: the built-in `dirk` model at n = 1..=1250, its five
//! algorithms, f32 and f64, on four cards, strategies `cubie` and `auto`
//! (1250 × 5 × 2 × 4 × 2 = 100,000 configurations, 12,500 kernel
//! instances), every run from a cold cache. Criterion's throughput is
//! configurations per second; before timing, one run prints its
//! configurations per second, cache figures and wall time to stderr.
//! `cargo bench --bench sweep`.

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use smemplan::model;
use smemplan::occupancy::DeviceProfile;
use smemplan::sweep::{self, Axis, SweepSpec};
use std::hint::black_box;
use std::time::Duration;

/// The grid of the acceptance figure.
fn spec() -> SweepSpec {
    let axes = [
        "n=1..=1250",
        "algorithm=implicit_midpoint,kvaerno3,kvaerno5,l_stable_sdirk_4,trapezoidal_dirk",
        "precision=f32,f64",
    ]
    .iter()
    .map(|a| Axis::parse(a).expect("a valid axis"))
    .collect();
    let mut spec = SweepSpec::new(vec![model::builtin("dirk").expect("a built-in model")], axes).expect("h100 exists");
    spec.devices = ["h100", "a100", "rtx-4070-super", "simulator"]
        .iter()
        .map(|d| DeviceProfile::named(d).expect("a built-in device"))
        .collect();
    spec
}

fn benches(c: &mut Criterion) {
    let spec = spec();
    let once = sweep::run(&spec, &|_| {}).expect("the sweep runs");
    let st = &once.stats;
    assert_eq!(st.configurations, 100_000);
    eprintln!(
        "sweep/100k: {} configurations ({} instances) in {:.2} s on {} threads = {:.0} configurations/s; \
         pool cache: {} pools used, {} memo lookups, {} distinct, {} solves, hit rate {:.1} %",
        st.configurations,
        st.instances,
        st.seconds,
        st.threads,
        st.configurations_per_second,
        st.pool_cache.requests,
        st.pool_cache.lookups,
        st.pool_cache.distinct,
        st.pool_cache.solves,
        100.0 * st.pool_cache_hit_rate
    );

    let mut group = c.benchmark_group("sweep");
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(1))
        .measurement_time(Duration::from_secs(20));
    group.throughput(Throughput::Elements(st.configurations));
    group.bench_function("100k", |b| b.iter(|| black_box(sweep::run(&spec, &|_| {}).expect("the sweep runs"))));
    group.finish();
}

criterion_group!(sweep_benches, benches);
criterion_main!(sweep_benches);
