//! The sweep at the scale of issue 9's acceptance: 100,000 configurations,
//! CuBIE's layout and `auto`'s side by side.
//!
//! `sweep/100k`: the built-in `dirk` model at n = 1..=1250, its five
//! algorithms, f32 and f64, on four cards, strategies `cubie` and `auto`
//! (1250 × 5 × 2 × 4 × 2 = 100,000 configurations, 12,500 kernel
//! instances), every run from a cold cache. Criterion's throughput is
//! configurations per second; before timing, one run prints its
//! configurations per second, cache figures and wall time to stderr.
//!
//! `sweep/tiers-auto`: `--tiers auto`, which searches a shared-or-local
//! split per instance and card: `dirk` at n = 1..=10, its five algorithms,
//! f32 and f64, on h100 and a100, `cubie` and `auto`, over a 2^17-run batch
//! (400 configurations, 200 splits chosen).
//!
//! `cargo bench --bench sweep`.

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use smemplan::kernel::model;
use smemplan::perf::occupancy::DeviceProfile;
use smemplan::study::sweep::{self, Axis, Sweep, SweepSpec, Tiers};
use std::hint::black_box;
use std::time::Duration;

/// `dirk` at `n`, its five algorithms, f32 and f64, on `devices`.
fn spec(n: &str, devices: &[&str]) -> SweepSpec {
    let axes =
        [n, "algorithm=implicit_midpoint,kvaerno3,kvaerno5,l_stable_sdirk_4,trapezoidal_dirk", "precision=f32,f64"]
            .iter()
            .map(|a| Axis::parse(a).expect("a valid axis"))
            .collect();
    let mut spec = SweepSpec::new(vec![model::builtin("dirk").expect("a built-in model")], axes).expect("h100 exists");
    spec.devices = devices.iter().map(|d| DeviceProfile::named(d).expect("a built-in device")).collect();
    spec
}

/// One cold run's figures on stderr.
fn report(name: &str, once: &Sweep) {
    let st = &once.stats;
    let t = &st.tier_search;
    eprintln!(
        "sweep/{name}: {} configurations ({} instances) in {:.2} s on {} threads = {:.0} configurations/s; \
         pool cache: {} pools used, {} memo lookups, {} distinct, {} solves, hit rate {:.1} %; \
         tier search: {} splits chosen, {} reused, {} bounded, {} shared pools solved",
        st.configurations,
        st.instances,
        st.seconds,
        st.threads,
        st.configurations_per_second,
        st.pool_cache.requests,
        st.pool_cache.lookups,
        st.pool_cache.distinct,
        st.pool_cache.solves,
        100.0 * st.pool_cache_hit_rate,
        t.choices,
        t.reused,
        t.splits_bounded,
        t.splits_solved
    );
}

fn benches(c: &mut Criterion) {
    let full = spec("n=1..=1250", &["h100", "a100", "rtx-4070-super", "simulator"]);
    let mut tiers = spec("n=1..=10", &["h100", "a100"]);
    tiers.tiers = Tiers::Auto;
    tiers.runs = 1 << 17;

    let mut group = c.benchmark_group("sweep");
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(1))
        .measurement_time(Duration::from_secs(20));
    for (name, spec, configurations) in [("100k", &full, 100_000), ("tiers-auto", &tiers, 400)] {
        let once = sweep::run(spec, &|_| {}).expect("the sweep runs");
        assert_eq!(once.stats.configurations, configurations);
        report(name, &once);
        group.throughput(Throughput::Elements(configurations));
        group.bench_function(name, |b| b.iter(|| black_box(sweep::run(spec, &|_| {}).expect("the sweep runs"))));
    }
    group.finish();
}

criterion_group!(sweep_benches, benches);
criterion_main!(sweep_benches);
