//! Tests of the exact solver: tiny literal problems named for what they
//! show, and random problems under every combination of pruning flags
//! against exhaustive search. Every layout goes through the checker.

use super::*;
use crate::fixtures::{interlock, triangle};
use crate::{self as solve, brute};
use smemplan_core::check::check;
use smemplan_core::generate::SplitMix64 as Rng;
use smemplan_core::problem::{Buffer, Interval};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn problem(buffers: Vec<Buffer>) -> Problem {
    Problem::new(buffers, None).expect("valid test problem")
}

/// Asserts that `layout` is valid within `capacity` and returns its peak.
fn valid(p: &Problem, layout: &Layout, capacity: Option<u64>) -> u64 {
    let report = check(p, &layout.named(p), capacity);
    assert!(report.is_valid(), "invalid layout {:?}: {:?}", layout.offsets, report.violations);
    report.peak
}

fn one_thread() -> SolveOptions {
    SolveOptions { threads: 1, ..SolveOptions::default() }
}

fn minimum(p: &Problem, params: ExactParams) -> Solution {
    let s = Exact { params }.solve(&Analysis::new(p), &one_thread()).unwrap();
    crate::verify(p, &s).unwrap();
    s
}

fn ids(names: &[&str], p: &Problem) -> Vec<BufferId> {
    let mut v: Vec<BufferId> = names.iter().map(|n| p.find(n).unwrap()).collect();
    v.sort_unstable();
    v
}

#[test]
fn an_optimum_above_live_bytes_is_proven_by_search() {
    let p = interlock();
    assert_eq!(smemplan_core::bound::lower_bound(&p).bytes, 16);
    let outcome = solve_capacity(&p, 17, &one_thread(), &ExactParams::default());
    assert_eq!(outcome, Outcome::Infeasible(Infeasibility::Subproblem { buffers: p.ids().collect() }));
    let Outcome::Feasible(layout) = solve_capacity(&p, 18, &one_thread(), &ExactParams::default()) else {
        panic!("capacity 18 fits");
    };
    valid(&p, &layout, Some(18));
    let s = minimum(&p, ExactParams::default());
    assert_eq!((s.peak, s.is_optimal(), s.lower_bound), (18, true, 18));
}

#[test]
fn capacity_below_live_bytes_names_the_instant() {
    let p = interlock();
    let outcome = solve_capacity(&p, 15, &one_thread(), &ExactParams::default());
    let Outcome::Infeasible(Infeasibility::LiveBytes { instant, live_bytes, buffers }) = outcome else {
        panic!("expected a live-bytes refutation, got {outcome:?}");
    };
    assert_eq!((instant, live_bytes), (1, 16));
    assert_eq!(buffers, ids(&["b2", "b7"], &p));
}

#[test]
fn a_triangle_through_holes_is_refuted_by_its_clique() {
    let p = triangle();
    let outcome = solve_capacity(&p, 2, &one_thread(), &ExactParams::default());
    let clique = ids(&["a", "b", "c"], &p);
    assert_eq!(outcome, Outcome::Infeasible(Infeasibility::Clique { bytes: 3, buffers: clique }));
    let s = minimum(&p, ExactParams::default());
    assert_eq!((s.peak, s.is_optimal(), s.lower_bound), (3, true, 3));
}

#[test]
fn solver_reports_a_refuted_capacity_and_a_valid_fallback() {
    let p = interlock();
    let s = solve::run(&Exact::default(), &p, &one_thread().with_capacity(Some(17))).unwrap();
    valid(&p, &s.layout, None);
    assert!(matches!(s.infeasibility(), Some(Infeasibility::Subproblem { .. })));
    assert!(!s.fits(Some(17)));
    assert_eq!(s.lower_bound, 18, "the refutation proves peak >= 18");
    assert_eq!(s.is_optimal(), s.peak == 18, "optimal exactly when the fallback meets the proven bound");
}

#[test]
fn gaps_let_a_buffer_use_the_hole_of_another() {
    // b lives exactly in a's hole: both fit at offset 0.
    let p = problem(vec![
        Buffer::new("a", 0, 6, 4).with_gaps(vec![Interval::new(2, 4)]),
        Buffer::new("b", 2, 4, 4),
        Buffer::new("c", 0, 6, 1),
    ]);
    let s = minimum(&p, ExactParams::default());
    assert_eq!((s.peak, s.is_optimal()), (5, true));
    assert_eq!(s.layout.offset(BufferId(0)), s.layout.offset(BufferId(1)));
}

#[test]
fn alignment_pads_offsets_like_brute_force() {
    // Unit-size x must not push the 4-aligned y past 4.
    let p = problem(vec![
        Buffer::new("x", 0, 4, 1),
        Buffer::new("y", 0, 4, 4).with_alignment(4),
        Buffer::new("z", 2, 6, 2).with_alignment(2),
        Buffer::new("w", 4, 6, 3),
    ]);
    let s = minimum(&p, ExactParams::default());
    assert_eq!(s.peak, brute::minimum(&p).unwrap().0);
    assert!(s.is_optimal());
    assert_eq!(s.layout.offset(BufferId(1)) % 4, 0);
}

#[test]
fn fixed_offsets_are_kept_and_packed_around() {
    let p = problem(vec![
        Buffer::new("f", 0, 4, 2).with_offset(3),
        Buffer::new("a", 0, 2, 3),
        Buffer::new("b", 2, 4, 2),
        Buffer::new("c", 1, 3, 1),
    ]);
    let s = minimum(&p, ExactParams::default());
    assert_eq!(s.layout.offset(BufferId(0)), 3);
    assert_eq!(s.peak, brute::minimum(&p).unwrap().0);
    assert!(s.is_optimal());
    for cap in [s.peak, s.peak - 1] {
        let outcome = solve_capacity(&p, cap, &one_thread(), &ExactParams::default());
        match outcome {
            Outcome::Feasible(layout) => {
                assert!(valid(&p, &layout, Some(cap)) <= cap && cap == s.peak)
            }
            Outcome::Infeasible(_) => assert_eq!(cap, s.peak - 1),
            other @ (Outcome::Timeout | Outcome::Untried) => panic!("tiny search not tried to the end: {other:?}"),
        }
    }
}

#[test]
fn independent_parts_are_searched_and_refuted_separately() {
    // The interlock (times 1..8) and an easy pair (times 10..14) never
    // meet: capacity 17 fails only because of the interlock, and says so.
    let mut buffers = interlock().buffers().to_vec();
    buffers.push(Buffer::new("d", 10, 14, 1));
    buffers.push(Buffer::new("e", 12, 14, 1));
    let p = problem(buffers);
    let outcome = solve_capacity(&p, 17, &one_thread(), &ExactParams::default());
    let interlocked: Vec<BufferId> = p.ids().take(8).collect();
    assert_eq!(outcome, Outcome::Infeasible(Infeasibility::Subproblem { buffers: interlocked }));
    let undivided = ExactParams { decompose: false, ..ExactParams::default() };
    let outcome = solve_capacity(&p, 17, &one_thread(), &undivided);
    assert_eq!(outcome, Outcome::Infeasible(Infeasibility::Subproblem { buffers: p.ids().collect() }));
}

/// A random valid problem with `n` buffers of 1..=`size` bytes (seeded).
fn random_problem(rng: &mut Rng, n: usize, size: u64, extras: bool) -> Problem {
    let horizon = 2 + below(rng, 3 + n as u64);
    let mut buffers: Vec<Buffer> = Vec::new();
    for i in 0..n {
        let start = below(rng, horizon);
        let end = start + 1 + below(rng, horizon - start);
        let mut b = Buffer::new(format!("b{i}"), start, end, 1 + below(rng, size));
        if end - start >= 3 && below(rng, 3) == 0 {
            let g = start + 1 + below(rng, end - start - 2);
            b = b.with_gaps(vec![Interval::new(g, g + 1)]);
        }
        if extras {
            if below(rng, 3) == 0 {
                b = b.with_alignment(1 << below(rng, 3));
            }
            if below(rng, 5) == 0 {
                let pinned = b.clone().with_offset(below(rng, 8) / b.alignment * b.alignment);
                let mut all = buffers.clone();
                all.push(pinned.clone());
                if Problem::new(all, None).is_ok() {
                    b = pinned;
                }
            }
        }
        buffers.push(b);
    }
    problem(buffers)
}

/// Uniform on `0..n` from the shared generator (modulo: the same streams
/// as when these tests were written).
fn below(rng: &mut Rng, n: u64) -> u64 {
    rng.next_u64() % n
}

#[test]
fn deadline_zero_still_returns_a_valid_layout() {
    let p = random_problem(&mut Rng(3), 60, 40, false);
    let options = one_thread().with_time_limit(Duration::ZERO);
    let started = Instant::now();
    let s = solve::run(&Exact::default(), &p, &options).unwrap();
    assert!(started.elapsed() < Duration::from_secs(1));
    valid(&p, &s.layout, None);
    let capped = solve::run(&Exact::default(), &p, &options.clone().with_capacity(Some(s.lower_bound))).unwrap();
    valid(&p, &capped.layout, None);
}

#[test]
fn a_raised_cancel_flag_stops_the_search() {
    // Wide random problems: the race needs far more than one check period.
    let p = random_problem(&mut Rng(5), 120, 1000, false);
    let lb = smemplan_core::bound::lower_bound(&p).bytes;
    let cancel = Arc::new(AtomicBool::new(true));
    let options = SolveOptions { cancel: Some(cancel), threads: 1, ..SolveOptions::default() };
    let (outcome, stats) = solve_capacity_with_stats(&Analysis::new(&p), lb, &options, &ExactParams::default());
    assert!(matches!(outcome, Outcome::Timeout | Outcome::Feasible(_)), "{outcome:?}");
    assert!(stats.nodes <= 256 * stats.attempts, "stopped within one check period per attempt");
}

#[test]
fn same_input_same_answer_on_any_number_of_threads() {
    let p = random_problem(&mut Rng(8), 40, 20, false);
    let lb = smemplan_core::bound::lower_bound(&p).bytes;
    let runs: Vec<Outcome> = [1, 2, 2]
        .iter()
        .map(|&threads| {
            let options = SolveOptions { threads, ..SolveOptions::default() }.with_time_limit(Duration::from_secs(30));
            solve_capacity(&p, lb + lb / 10, &options, &ExactParams::default())
        })
        .collect();
    assert!(matches!(runs[0], Outcome::Feasible(_)));
    assert_eq!(runs[0], runs[1]);
    assert_eq!(runs[1], runs[2]);
}

#[test]
fn luby_sequence_is_the_restart_schedule() {
    let seq: Vec<u64> = (1..=15).map(luby).collect();
    assert_eq!(seq, [1, 1, 2, 1, 1, 2, 4, 1, 1, 2, 1, 1, 2, 4, 8]);
}

/// Every combination of the pruning flags, each with a different number of
/// variants and shakers and tiny rounds (so the lockstep races interleave).
fn all_flag_combinations() -> impl Iterator<Item = ExactParams> {
    (0..1u32 << FLAGS).map(|bits| {
        let mut flags = [false; FLAGS];
        for (i, f) in flags.iter_mut().enumerate() {
            *f = bits & (1 << i) != 0;
        }
        let params = ExactParams {
            variants: 1 + bits as usize % VARIANTS.len(),
            shakers: bits as usize % 3,
            round_nodes: 1 + u64::from(bits % 7),
            ..ExactParams::default()
        };
        params.with_flags(flags)
    })
}

#[test]
fn every_flag_combination_agrees_with_brute_force() {
    let mut rng = Rng(7);
    for case in 0..12 {
        let p = random_problem(&mut rng, 3 + case % 6, 6, case % 3 == 2);
        let (best, _) = brute::minimum(&p).unwrap();
        for params in all_flag_combinations() {
            let s = minimum(&p, params);
            assert_eq!(s.peak, best, "case {case} flags {:?}: {p:?}", params.flags());
            assert!(s.is_optimal(), "case {case} flags {:?}", params.flags());
        }
    }
}

#[test]
fn default_flags_agree_with_brute_force_on_many_problems() {
    let mut rng = Rng(11);
    for case in 0..400 {
        let p = random_problem(&mut rng, 2 + case % 9, 6, case % 3 == 0);
        let (best, _) = brute::minimum(&p).unwrap();
        let s = minimum(&p, ExactParams::default());
        assert_eq!(s.peak, best, "case {case}: {p:?}");
        assert!(s.is_optimal());
        // Capacity mode agrees at the optimum and one below it.
        let fit = solve_capacity(&p, best, &one_thread(), &ExactParams::default());
        let Outcome::Feasible(layout) = fit else { panic!("case {case}: optimum {best} not found: {fit:?}") };
        valid(&p, &layout, Some(best));
        if best > 0 {
            let below = solve_capacity(&p, best - 1, &one_thread(), &ExactParams::default());
            assert!(matches!(below, Outcome::Infeasible(_)), "case {case}: {below:?}");
        }
    }
}

#[test]
fn random_problems_of_up_to_30_buffers_agree_across_flags_within_the_deadline() {
    // Without brute force to compare with: two very different flag sets must
    // never contradict each other's proofs, and each honours its deadline.
    let lean = ExactParams::default().with_flags({
        let mut flags = [false; FLAGS];
        flags[0] = true; // floor_first
        flags[2] = true; // section_inference
        flags
    });
    let limit = Duration::from_millis(600);
    let mut rng = Rng(13);
    let mut proven = 0;
    let cases = 16;
    for case in 0..cases {
        let p = random_problem(&mut rng, 10 + case * 4 / 3, 50, case % 4 == 3);
        let runs: Vec<Solution> = [ExactParams::default(), lean]
            .iter()
            .map(|&params| {
                let started = Instant::now();
                let s = Exact { params }.solve(&Analysis::new(&p), &one_thread().with_time_limit(limit)).unwrap();
                // The contract (T + 10 % + 100 ms) with its slack ten times
                // wider: a loaded machine delays the poll, not the search.
                let allowance = limit + (limit / 10 + Duration::from_millis(100)) * 10;
                assert!(started.elapsed() < allowance, "case {case}: late");
                valid(&p, &s.layout, None);
                assert!(s.peak >= smemplan_core::bound::lower_bound(&p).bytes);
                s
            })
            .collect();
        for (a, b) in [(&runs[0], &runs[1]), (&runs[1], &runs[0])] {
            if a.is_optimal() {
                assert!(b.peak >= a.peak, "case {case}: a proven optimum {} was beaten by {}", a.peak, b.peak);
                assert!(a.peak >= b.lower_bound, "case {case}: bounds contradict");
            }
        }
        proven += usize::from(runs[0].is_optimal());
    }
    assert!(proven * 4 >= cases * 3, "only {proven} of {cases} proven optimal");
}

#[test]
fn floor_first_alone_proves_nothing() {
    // Floor first exhausts its tree at 3210 bytes, yet a 3210-byte layout
    // exists (found by `ilp` in a quickcheck run): only the complete lane
    // may refute.
    let p = problem(vec![
        Buffer::new("b0", 3, 13, 792),
        Buffer::new("b1", 1, 10, 901),
        Buffer::new("b2", 3, 12, 331),
        Buffer::new("b3", 0, 2, 42),
        Buffer::new("b4", 3, 11, 58),
        Buffer::new("b5", 21, 25, 426),
        Buffer::new("b6", 17, 20, 522),
        Buffer::new("b7", 12, 17, 347),
        Buffer::new("b8", 11, 14, 617),
        Buffer::new("b9", 9, 19, 980),
        Buffer::new("b10", 3, 5, 812),
        Buffer::new("b11", 17, 26, 107),
        Buffer::new("b12", 22, 29, 938),
        Buffer::new("b13", 10, 18, 433),
        Buffer::new("b14", 21, 30, 773),
        Buffer::new("b15", 16, 26, 959),
    ]);
    let Outcome::Feasible(layout) = solve_capacity(&p, 3210, &one_thread(), &ExactParams::default()) else {
        panic!("3210 bytes fit");
    };
    valid(&p, &layout, Some(3210));
    let s = minimum(&p, ExactParams::default());
    assert_eq!((s.peak, s.is_optimal()), (3210, true));
    assert!(matches!(solve_capacity(&p, 3209, &one_thread(), &ExactParams::default()), Outcome::Infeasible(_)));
}

#[test]
fn a_preparation_the_deadline_cannot_fit_is_the_deadline_reached() {
    // Three groups of 1,000 one-byte buffers: the middle one meets both
    // others, 3.5 million pairs (under `MAX_PAIRS`), about 0.5 s to prepare
    // on a 2-core machine; the lower bound is 2,000 and the stacked fallback
    // peaks at 3,000. The preparation is predicted not to fit 20 ms and is
    // skipped, which takes about a millisecond: the wall clock allows ten
    // times the limit (a loaded machine), still below what preparing takes.
    let group =
        |name: &'static str, from: u64| (0..1000).map(move |i| Buffer::new(format!("{name}{i}"), from, from + 10, 1));
    let p = Problem::new(group("a", 0).chain(group("b", 10)).chain(group("c", 5)).collect(), None).unwrap();
    let stacked = Layout::new((0..p.len() as u64).collect());
    let analysis = Analysis::new(&p);
    let limit = Duration::from_millis(20);
    let started = Instant::now();
    let options = SolveOptions::default().with_time_limit(limit);
    let s = minimise::minimise(&analysis, &options, &ExactParams::default(), stacked.clone());
    assert!(started.elapsed() < limit * 10, "preparation skipped, not cut: {:?}", started.elapsed());
    assert_eq!((s.peak, s.lower_bound, &s.status), (3000, 2000, &solve::Status::DeadlineReached));
    // The capacity mode says the same.
    let started = Instant::now();
    let options = SolveOptions::default().with_time_limit(limit);
    let s = Exact::default().search_from(&analysis, &options.with_capacity(Some(2000)), stacked);
    assert!(started.elapsed() < limit * 10, "preparation skipped, not cut: {:?}", started.elapsed());
    assert_eq!((s.peak, &s.status), (3000, &solve::Status::DeadlineReached));
}
