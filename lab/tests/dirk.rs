//! The DIRK integrator (Kvaerno's ESDIRK 3(2)) without a GPU: the tableau's
//! order, the reference's results on Robertson's kinetics and Allen–Cahn,
//! the plans of its kernel model (checked here against the lifetimes, pair
//! by pair) and the generated source of every placement.

use smemplan::kernel::Precision;
use smemplan::plan::allocator::{Padding, SharedLayout};
use smemplan::plan::{PlanReport, Pool};
use smemplan_lab::integrate::{self, dirk, Kernel, Method, Placement, Planner, Settings, Setup, System, ENTRY};

/// `[samples + 1][n][batch]` little-endian f64s: system `sys`'s element `i`
/// at `sample`.
fn value(t: &integrate::Trajectories, batch: usize, n: usize, sample: usize, i: usize, sys: usize) -> f64 {
    let at = ((sample * n + i) * batch + sys) * 8;
    f64::from_le_bytes(t.out[at..at + 8].try_into().unwrap())
}

fn setup(system: System, precision: Precision, tune: impl FnOnce(&mut Settings)) -> Setup {
    let mut s = Settings::default_for(Method::Dirk, &system, precision);
    tune(&mut s);
    Setup::with_settings(Method::Dirk, system, precision, s).unwrap()
}

#[test]
fn the_tableau_has_order_three_and_an_embedded_order_two() {
    let [r2, r3, r4] = dirk::tableau();
    let g = dirk::GAMMA;
    let b = [r4[0], r4[1], r4[2], g];
    let c = [0.0, r2[0] + g, r3[0] + r3[1] + g, b.iter().sum::<f64>()];
    let a = [[0.0; 4], [r2[0], g, 0.0, 0.0], [r3[0], r3[1], g, 0.0], b];
    let close = |x: f64, y: f64| (x - y).abs() < 1e-14;
    assert!(close(c[2], 1.0) && close(c[3], 1.0), "c = {c:?}");
    assert!(close((0..4).map(|i| b[i] * c[i]).sum(), 0.5));
    assert!(close((0..4).map(|i| b[i] * c[i] * c[i]).sum(), 1.0 / 3.0));
    let bac: f64 = (0..4).flat_map(|i| (0..4).map(move |j| (i, j))).map(|(i, j)| b[i] * a[i][j] * c[j]).sum();
    assert!(close(bac, 1.0 / 6.0), "{bac}");
    // b − b̂ annihilates the order-1 and order-2 conditions: the
    // embedded solution (stage 3) has order 2, so the estimate is O(h³).
    let e = dirk::error_weights();
    assert!(close(e.iter().sum(), 0.0) && close((0..4).map(|i| e[i] * c[i]).sum(), 0.0), "{e:?}");
    assert!((0..4).map(|i| e[i] * c[i] * c[i]).sum::<f64>().abs() > 1e-3);
}

#[test]
fn root3_is_the_cube_root() {
    for x in [1e-10, 3e-4, 0.5, 1.0, 7.9, 8.0, 1e3, 1e10] {
        let r: f64 = dirk::root3(x);
        assert!((r - x.cbrt()).abs() <= 4.0 * f64::EPSILON * r, "{x}: {r}");
        let r32: f32 = dirk::root3(x as f32);
        assert!((r32 - (x as f32).cbrt()).abs() <= 4.0 * f32::EPSILON * r32, "{x}: {r32}");
    }
}

#[test]
fn robertson_conserves_mass_and_reaches_the_known_state() {
    // System 0 has the textbook rates (0.04, 3e7, 1e4); the state at t = 40
    // is y ≈ (0.71583, 9.1855e-6, 0.28416) (Hairer & Wanner, II.IV.10).
    let setup = setup(System::Robertson, Precision::F64, |_| {});
    let batch = 4;
    let t = integrate::reference(&setup, batch as u64, 0..batch as u64).unwrap();
    for sys in 0..batch {
        for sample in 0..=10 {
            let sum: f64 = (0..3).map(|i| value(&t, batch, 3, sample, i, sys)).sum();
            assert!((sum - 1.0).abs() < 1e-12, "system {sys} sample {sample}: total {sum}");
            assert!((0..3).all(|i| value(&t, batch, 3, sample, i, sys) > -1e-9), "system {sys} sample {sample}");
        }
        let (accepted, rejected, iterations) = (t.stats[sys], t.stats[batch + sys], t.stats[2 * batch + sys]);
        assert!((20..2000).contains(&accepted), "system {sys}: {accepted} steps");
        assert!(rejected <= accepted / 4, "system {sys}: {rejected} rejected of {accepted}");
        assert!(iterations >= 3 * accepted && iterations <= 8 * 3 * (accepted + rejected), "{iterations}");
    }
    let y: Vec<f64> = (0..3).map(|i| value(&t, batch, 3, 10, i, 0)).collect();
    assert!((y[0] - 0.715_827).abs() < 2e-6, "{y:?}");
    assert!((y[1] - 9.185_5e-6).abs() < 2e-9, "{y:?}");
    assert!((y[2] - 0.284_164).abs() < 2e-6, "{y:?}");
}

#[test]
fn robertson_in_f32_reaches_the_end_without_failing() {
    let setup = setup(System::Robertson, Precision::F32, |_| {});
    let batch = 16u64;
    let t = integrate::reference(&setup, batch, 0..batch).unwrap();
    let b = batch as usize;
    for sys in 0..b {
        let at = |i: usize| (10 * 3 + i) * b + sys;
        let y: Vec<f32> =
            (0..3).map(|i| f32::from_le_bytes(t.out[4 * at(i)..4 * at(i) + 4].try_into().unwrap())).collect();
        let sum: f32 = y.iter().sum();
        assert!((sum - 1.0).abs() < 1e-5 && y[0] > 0.6 && y[0] < 0.8, "system {sys}: {y:?}");
        assert!(t.stats[sys] + t.stats[b + sys] < setup.settings.max_steps, "system {sys}: ran out of steps");
    }
}

#[test]
fn the_error_follows_the_tolerance_on_allen_cahn() {
    // A third-order method with an order-2 estimate: steps grow as
    // tol^(-1/3) and the global error shrinks with the tolerance.
    let system = System::AllenCahn { n: 16 };
    let run = |tol: f64| {
        let setup = setup(system, Precision::F64, |s| (s.rtol, s.atol) = (tol, tol));
        let t = integrate::reference(&setup, 1, 0..1).unwrap();
        let y: Vec<f64> = (0..16).map(|i| value(&t, 1, 16, 10, i, 0)).collect();
        (y, t.stats[0])
    };
    let (exact, _) = run(1e-12);
    let error = |y: &[f64]| y.iter().zip(&exact).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
    let (loose, loose_steps) = run(1e-5);
    let (tight, tight_steps) = run(1e-8);
    assert!(error(&loose) < 1e-3 && error(&tight) < 1e-6, "{} {}", error(&loose), error(&tight));
    assert!(error(&loose) > 30.0 * error(&tight), "{} vs {}", error(&loose), error(&tight));
    let ratio = f64::from(tight_steps) / f64::from(loose_steps);
    assert!((6.0..16.0).contains(&ratio), "steps {loose_steps} → {tight_steps}");
}

#[test]
fn bad_settings_and_names_are_errors() {
    let mut s = Settings::default_for(Method::Dirk, &System::Robertson, Precision::F32);
    s.newton_iterations = 0;
    let e = Setup::with_settings(Method::Dirk, System::Robertson, Precision::F32, s).unwrap_err();
    assert!(e.to_string().contains("newton_iterations"), "{e}");
    assert_eq!(Method::named("dirk").unwrap(), Method::Dirk);
    let e = Method::named("rk4").unwrap_err().to_string();
    assert!(e.contains("rk4") && e.contains("dormand-prince-54, backward-euler, dirk"), "{e}");
    assert_eq!(System::named("allen-cahn", Some(60)).unwrap(), System::AllenCahn { n: 60 });
    assert_eq!(System::named("robertson", None).unwrap(), System::Robertson);
    assert!(System::named("robertson", Some(4)).unwrap_err().to_string().contains("n = 3, not 4"));
    assert!(System::named("allen-cahn", Some(0)).unwrap_err().to_string().contains("not 0"));
    assert!(System::named("brusselator", None).unwrap_err().to_string().contains("brusselator"));
}

/// Buffers of one pool that are live at the same instant never share a
/// byte: checked from the report's lifetimes and offsets alone.
fn assert_no_live_overlap(report: &PlanReport, what: &str) {
    let placed: Vec<_> = report.buffers.iter().filter(|b| b.offset.is_some() && b.bytes > 0).collect();
    for (i, a) in placed.iter().enumerate() {
        for b in &placed[i + 1..] {
            if a.pool != b.pool || a.pool != Pool::Shared {
                continue;
            }
            let live = a.lifetime.iter().any(|x| b.lifetime.iter().any(|y| x[0] < y[1] && y[0] < x[1]));
            let (ao, bo) = (a.offset.unwrap(), b.offset.unwrap());
            let bytes = ao < bo + b.bytes && bo < ao + a.bytes;
            assert!(!(live && bytes), "{what}: {} and {} are live together and overlap", a.name, b.name);
        }
    }
}

fn placements() -> Vec<Placement> {
    let mut out = Vec::new();
    for planner in [Planner::Cubie, Planner::smemplan()] {
        for layout in [SharedLayout::ThreadMajor(Padding::OddWords), SharedLayout::Interleaved] {
            out.push(Placement::all_shared(planner.clone(), layout));
            out.push(Placement::split(planner.clone(), layout, &["cached_auxiliaries", "stage_rhs"]));
            out.push(Placement::split(planner.clone(), layout, &["state", "accumulator", "delta"]));
            out.push(Placement::all_local(planner.clone(), layout));
        }
    }
    out
}

#[test]
fn every_plan_of_the_model_keeps_live_buffers_apart() {
    for n in [3u32, 8, 32, 100] {
        for precision in [Precision::F32, Precision::F64] {
            let setup = Setup::new(Method::Dirk, System::AllenCahn { n }, precision).unwrap();
            for p in placements() {
                let report = integrate::plan(&setup, &p).unwrap();
                assert_no_live_overlap(&report, &format!("n = {n} {precision} {:?} {:?}", p.planner, p.sets()));
            }
            let words = |planner: Planner| {
                let p = Placement::all_shared(planner, SharedLayout::default());
                integrate::plan(&setup, &p).unwrap().shared_bytes / precision.itemsize()
            };
            let n = u64::from(n);
            // CuBIE: every buffer its own bytes; smemplan: stage_rhs and
            // delta (never live together) share theirs.
            assert_eq!(words(Planner::Cubie), n * n + 9 * n);
            assert_eq!(words(Planner::smemplan()), n * n + 8 * n);
        }
    }
}

#[test]
fn the_model_lifetimes_follow_the_kernel_phases() {
    let setup = Setup::new(Method::Dirk, System::AllenCahn { n: 8 }, Precision::F32).unwrap();
    let report = integrate::plan(&setup, &Placement::all_shared(Planner::smemplan(), SharedLayout::default())).unwrap();
    let phases = |name: &str| -> Vec<String> {
        let b = report.buffers.iter().find(|b| b.name == name).unwrap();
        // Instants are named by their path, `kernel:all > … > kernel:PHASE`.
        let leaf = |i: &String| i.rsplit(" > ").next().unwrap().trim_start_matches("kernel:").to_string();
        b.lifetime.iter().flat_map(|s| report.timeline[s[0] as usize..s[1] as usize].iter().map(leaf)).collect()
    };
    assert_eq!(phases("stage_rhs"), ["step.stage.newton.residual"]);
    assert_eq!(phases("delta"), ["step.stage.newton.solve", "step.stage.newton.update"]);
    let base = phases("stage_base");
    assert!(base.first().unwrap() == "step.stage.base" && base.last().unwrap() == "step.error", "{base:?}");
    let acc = phases("accumulator");
    assert!(acc.first().unwrap() == "step.explicit" && acc.last().unwrap() == "step.error", "{acc:?}");
    assert_eq!(phases("state").len(), report.timeline.len());
}

#[test]
fn every_placement_generates_a_complete_source() {
    for system in [System::Robertson, System::AllenCahn { n: 12 }, System::Lorenz] {
        for precision in [Precision::F32, Precision::F64] {
            let setup = Setup::new(Method::Dirk, system, precision).unwrap();
            for p in placements() {
                let k = Kernel::new(&setup, &p).unwrap();
                let what = format!("{} {precision} {:?} {:?}", system.name(), p.planner, p.sets());
                assert!(k.source.contains(&format!("extern \"C\" __global__ void {ENTRY}(")), "{what}");
                for name in dirk::BUFFERS {
                    assert!(k.source.contains(&format!("    auto {name} = integrate_layout::")), "{what}: {name}");
                    let view = k.allocation.views.iter().find(|v| v.name == format!("kernel/{name}")).unwrap();
                    assert!(k.source.contains(&view.ident), "{what}: accessor of {name}");
                }
                let real = if precision == Precision::F64 { "typedef double real_t;" } else { "typedef float real_t;" };
                assert!(k.source.contains(real) && k.source.contains("dirk_a(unsigned stage"), "{what}");
                // Every brace the generator opened is closed.
                assert_eq!(k.source.matches('{').count(), k.source.matches('}').count(), "{what}");
            }
        }
    }
}

#[test]
fn every_method_integrates_robertson_with_its_defaults() {
    // The explicit and fixed-step methods get horizons they can cross:
    // every sample finite, the total conserved.
    for method in [Method::DormandPrince54, Method::BackwardEuler] {
        for precision in [Precision::F32, Precision::F64] {
            let setup = Setup::new(method, System::Robertson, precision).unwrap();
            let t = integrate::reference(&setup, 8, 0..8).unwrap();
            let width = precision.itemsize() as usize;
            let values: Vec<f64> = t
                .out
                .chunks(width)
                .map(|c| {
                    if width == 8 {
                        f64::from_le_bytes(c.try_into().unwrap())
                    } else {
                        f64::from(f32::from_le_bytes(c.try_into().unwrap()))
                    }
                })
                .collect();
            assert!(values.iter().all(|v| v.is_finite() && *v > -1e-3 && *v < 1.001), "{} {precision}", method.name());
            for sample in 0..=10 {
                for sys in 0..8 {
                    let sum: f64 = (0..3).map(|i| values[(sample * 3 + i) * 8 + sys]).sum();
                    assert!(
                        (sum - 1.0).abs() < 1e-4,
                        "{} {precision}: sample {sample} system {sys}: {sum}",
                        method.name()
                    );
                }
            }
        }
    }
}
