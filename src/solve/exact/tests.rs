//! Tests of the exact solver: tiny literal problems named for what they
//! show, and random problems under every combination of pruning flags
//! against exhaustive search.

use super::*;
use crate::check::check;
use crate::problem::{Buffer, Interval};
use crate::solve::brute;

fn problem(buffers: Vec<Buffer>) -> Problem {
    Problem::new(buffers, None).expect("valid test problem")
}

/// Asserts that `layout` is valid within `capacity` and returns its peak.
fn valid(p: &Problem, layout: &Layout, capacity: Option<u64>) -> u64 {
    let report = check(p, &layout.named(p), capacity);
    assert!(report.is_valid(), "invalid layout {:?}: {:?}", layout.offsets, report.violations);
    report.peak
}

fn minimum(p: &Problem, params: ExactParams) -> Solution {
    let s = Exact { params }.solve(p, &SolveOptions { threads: 1, ..SolveOptions::default() }).unwrap();
    valid(p, &s.layout, None);
    s
}

/// A tiny deterministic generator (SplitMix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A random valid problem of `n` buffers; `extras` adds gaps, alignments
/// and fixed offsets.
fn random_problem(rng: &mut Rng, n: usize, extras: bool) -> Problem {
    let horizon = 2 + rng.below(8);
    let mut buffers: Vec<Buffer> = Vec::new();
    for i in 0..n {
        let start = rng.below(horizon);
        let end = start + 1 + rng.below(horizon - start);
        let mut b = Buffer::new(format!("b{i}"), start, end, 1 + rng.below(6));
        if extras {
            if end - start >= 3 && rng.below(3) == 0 {
                let g = start + 1 + rng.below(end - start - 2);
                b = b.with_gaps(vec![Interval::new(g, g + 1)]);
            }
            if rng.below(3) == 0 {
                b = b.with_alignment(1 << rng.below(3));
            }
            if rng.below(5) == 0 {
                let off = rng.below(8) / b.alignment * b.alignment;
                let pinned = b.clone().with_offset(off);
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

fn all_flag_combinations() -> impl Iterator<Item = ExactParams> {
    (0..1u32 << FLAGS).map(|bits| {
        let mut flags = [false; FLAGS];
        for (i, f) in flags.iter_mut().enumerate() {
            *f = bits & (1 << i) != 0;
        }
        ExactParams { variants: 1 + bits as usize % VARIANTS.len(), round_nodes: 7, ..ExactParams::default() }.with_flags(flags)
    })
}

#[test]
fn every_flag_combination_agrees_with_brute_force() {
    let mut rng = Rng(7);
    for case in 0..60 {
        let p = random_problem(&mut rng, 3 + case % 6, case % 2 == 1);
        let (best, _) = brute::minimum(&p).unwrap();
        for params in all_flag_combinations() {
            let s = minimum(&p, params);
            assert_eq!(s.peak, best, "case {case} flags {:?}: {p:?}", params.flags());
            assert!(s.optimal, "case {case} flags {:?}", params.flags());
        }
    }
}

#[test]
fn default_flags_agree_with_brute_force_on_many_problems() {
    let mut rng = Rng(11);
    for case in 0..400 {
        let p = random_problem(&mut rng, 2 + case % 9, case % 3 == 0);
        let (best, _) = brute::minimum(&p).unwrap();
        let s = minimum(&p, ExactParams::default());
        assert_eq!(s.peak, best, "case {case}: {p:?}");
        assert!(s.optimal);
    }
}
