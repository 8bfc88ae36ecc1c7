//! The independent checker: is a set of offsets a valid layout?
//!
//! It shares no code with any solver or with [`crate::interference`]: it
//! reads only the raw fields of [`Problem`]'s buffers (lifetime, gaps, size,
//! alignment, fixed offset) and recomputes live segments itself, so a bug in
//! the shared sweep cannot hide a bug in a solver.
//!
//! Method: every violation of "each buffer placed once, aligned, at its fixed
//! offset, within capacity" is found by one pass over the placements. Overlap
//! is found by a sweep over time that keeps the live buffers in an ordered
//! map keyed by address; while the live set is disjoint, a new buffer can
//! only collide with its two address-neighbours, so checking those suffices
//! (`O(n log n)`). After a collision is reported, the newcomer is left out of
//! the map so the invariant holds and the sweep goes on.
//!
//! [`verify`] is the one place that puts a solver's answer through the
//! checker: the CLI, `plan`, tests and benches all call it rather than each
//! running the checker and comparing peaks themselves.

use crate::problem::Problem;
use crate::solve::Solution;
use std::collections::{BTreeMap, HashMap};
use std::fmt;

/// One way a layout can be wrong. Buffers are named by their id strings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Violation {
    /// Two buffers are live at `time` and their address ranges intersect.
    Overlap {
        /// First buffer (lower offset).
        a: String,
        /// Its offset.
        a_offset: u64,
        /// Second buffer.
        b: String,
        /// Its offset.
        b_offset: u64,
        /// An instant at which both are live.
        time: u64,
    },
    /// The offset is not a multiple of the buffer's alignment.
    Misaligned {
        /// The buffer.
        buffer: String,
        /// Its offset.
        offset: u64,
        /// Required alignment.
        alignment: u64,
    },
    /// A buffer with a fixed offset was placed elsewhere.
    FixedOffsetMoved {
        /// The buffer.
        buffer: String,
        /// Required offset.
        required: u64,
        /// Offset given.
        offset: u64,
    },
    /// A buffer of the problem has no offset.
    Missing {
        /// The buffer.
        buffer: String,
    },
    /// An offset names a buffer the problem does not have.
    Unknown {
        /// The id given.
        buffer: String,
    },
    /// A buffer is given more than one offset.
    Duplicated {
        /// The buffer.
        buffer: String,
    },
    /// `offset + size` exceeds the capacity (or 2^64).
    CapacityExceeded {
        /// The buffer.
        buffer: String,
        /// Its end address (`offset + size`, saturated).
        end: u64,
        /// The capacity.
        capacity: u64,
    },
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Violation::Overlap { a, a_offset, b, b_offset, time } => write!(
                f,
                "buffers `{a}` (offset {a_offset}) and `{b}` (offset {b_offset}) overlap in address and are both live at time {time}"
            ),
            Violation::Misaligned { buffer, offset, alignment } => {
                write!(f, "buffer `{buffer}`: offset {offset} is not a multiple of its alignment {alignment}")
            }
            Violation::FixedOffsetMoved { buffer, required, offset } => {
                write!(f, "buffer `{buffer}`: fixed at offset {required} but placed at {offset}")
            }
            Violation::Missing { buffer } => write!(f, "buffer `{buffer}` has no offset"),
            Violation::Unknown { buffer } => write!(f, "offset given for unknown buffer `{buffer}`"),
            Violation::Duplicated { buffer } => write!(f, "buffer `{buffer}` is given more than one offset"),
            Violation::CapacityExceeded { buffer, end, capacity } => {
                write!(f, "buffer `{buffer}` ends at {end}, beyond the capacity {capacity}")
            }
        }
    }
}

/// The verdict on a layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Highest `offset + size` among the placed buffers (saturated).
    pub peak: u64,
    /// Every violation found, in a deterministic order; empty when valid.
    pub violations: Vec<Violation>,
}

impl Report {
    /// Whether the layout is valid.
    pub fn is_valid(&self) -> bool {
        self.violations.is_empty()
    }
}

/// Why [`verify`] rejects a solver's answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejected {
    /// The layout breaks a rule; every violation, in the checker's order
    /// (never empty). Shown by the first and the count of the others.
    #[error("{}", show_violations(.0))]
    Invalid(Vec<Violation>),
    /// The layout is valid but peaks elsewhere than the answer says.
    #[error("the answer reports peak {reported} but its layout peaks at {actual}")]
    PeakMismatch {
        /// The peak the answer states.
        reported: u64,
        /// The layout's peak, by the checker.
        actual: u64,
    },
    /// The answer's lower bound is above its own peak: a bound that a
    /// valid layout beats is no bound.
    #[error("the answer's lower bound {lower_bound} is above its peak {peak}")]
    BoundAbovePeak {
        /// The lower bound stated.
        lower_bound: u64,
        /// The layout's peak.
        peak: u64,
    },
}

fn show_violations(violations: &[Violation]) -> String {
    match violations {
        [] => "no violation".into(),
        [one] => one.to_string(),
        [first, rest @ ..] => format!("{first} (and {} more)", rest.len()),
    }
}

/// Puts a solver's answer through the checker: its layout must be valid
/// (every buffer placed once, aligned, at its fixed offset, no overlap), its
/// peak the one it reports, and its lower bound at most that peak.
///
/// The capacity is not held against the layout: a solver returns its best
/// layout even when that exceeds the capacity, and says so in its answer.
pub fn verify(problem: &Problem, solution: &Solution) -> Result<(), Rejected> {
    let report = check(problem, &solution.layout.named(problem), Some(u64::MAX));
    if !report.is_valid() {
        return Err(Rejected::Invalid(report.violations));
    }
    if report.peak != solution.peak {
        return Err(Rejected::PeakMismatch { reported: solution.peak, actual: report.peak });
    }
    if solution.lower_bound > solution.peak {
        return Err(Rejected::BoundAbovePeak { lower_bound: solution.lower_bound, peak: solution.peak });
    }
    Ok(())
}

/// Checks `placements` (buffer id string, offset) against `problem`.
/// `capacity` overrides the problem's own capacity when given.
pub fn check(problem: &Problem, placements: &[(&str, u64)], capacity: Option<u64>) -> Report {
    let capacity = capacity.or(problem.capacity());
    let buffers = problem.buffers();
    let index: HashMap<&str, usize> = buffers.iter().enumerate().map(|(i, b)| (b.name.as_str(), i)).collect();
    let mut violations = Vec::new();
    let mut offset_of: Vec<Option<u64>> = vec![None; buffers.len()];
    let mut peak = 0u64;

    for &(name, offset) in placements {
        let Some(&i) = index.get(name) else {
            violations.push(Violation::Unknown { buffer: name.to_string() });
            continue;
        };
        if offset_of[i].is_some() {
            violations.push(Violation::Duplicated { buffer: name.to_string() });
            continue;
        }
        offset_of[i] = Some(offset);
        let b = &buffers[i];
        let end = offset.checked_add(b.size);
        peak = peak.max(end.unwrap_or(u64::MAX));
        if b.alignment == 0 || offset % b.alignment != 0 {
            violations.push(Violation::Misaligned { buffer: b.name.clone(), offset, alignment: b.alignment });
        }
        if let Some(required) = b.offset {
            if required != offset {
                violations.push(Violation::FixedOffsetMoved { buffer: b.name.clone(), required, offset });
            }
        }
        match (end, capacity) {
            (None, cap) => violations.push(Violation::CapacityExceeded {
                buffer: b.name.clone(),
                end: u64::MAX,
                capacity: cap.unwrap_or(u64::MAX),
            }),
            (Some(end), Some(cap)) if end > cap => {
                violations.push(Violation::CapacityExceeded { buffer: b.name.clone(), end, capacity: cap })
            }
            _ => {}
        }
    }
    for (i, b) in buffers.iter().enumerate() {
        if offset_of[i].is_none() {
            violations.push(Violation::Missing { buffer: b.name.clone() });
        }
    }
    violations.extend(overlaps(problem, &offset_of));
    Report { peak, violations }
}

/// Live segments of buffer `i`, recomputed from the raw lifetime and gaps.
fn live_segments(problem: &Problem, i: usize) -> Vec<(u64, u64)> {
    let b = &problem.buffers()[i];
    let mut gaps: Vec<(u64, u64)> = b.gaps.iter().map(|g| (g.start, g.end)).collect();
    gaps.sort_unstable();
    let mut out = Vec::new();
    let mut t = b.lifetime.start;
    for (gs, ge) in gaps {
        if gs > t {
            out.push((t, gs.min(b.lifetime.end)));
        }
        t = t.max(ge);
    }
    if t < b.lifetime.end {
        out.push((t, b.lifetime.end));
    }
    out
}

fn overlaps(problem: &Problem, offset_of: &[Option<u64>]) -> Vec<Violation> {
    let buffers = problem.buffers();
    // (time, kind, buffer): kind 0 = end, 1 = start, so ends go first.
    let mut events: Vec<(u64, u8, usize)> = Vec::new();
    for (i, off) in offset_of.iter().enumerate() {
        if off.is_none() {
            continue;
        }
        for (s, e) in live_segments(problem, i) {
            events.push((s, 1, i));
            events.push((e, 0, i));
        }
    }
    events.sort_unstable();
    // Live buffers by (offset, buffer) → end address; disjoint by invariant.
    let mut live: BTreeMap<(u64, usize), u64> = BTreeMap::new();
    let mut excluded: Vec<bool> = vec![false; buffers.len()];
    let mut out = Vec::new();
    for (time, kind, i) in events {
        let off = offset_of[i].unwrap();
        if kind == 0 {
            if !excluded[i] {
                live.remove(&(off, i));
            }
            excluded[i] = false;
            continue;
        }
        let end = off.saturating_add(buffers[i].size);
        let below = live.range(..(off, i)).next_back().map(|(&k, &v)| (k, v));
        let above = live.range((off, i)..).next().map(|(&k, &v)| (k, v));
        let clash = [below, above].into_iter().flatten().find(|&((o, _), e)| o < end && off < e);
        match clash {
            Some(((o, j), _)) => {
                excluded[i] = true;
                let (lo, hi) = if (o, j) <= (off, i) { (j, i) } else { (i, j) };
                out.push(Violation::Overlap {
                    a: buffers[lo].name.clone(),
                    a_offset: offset_of[lo].unwrap(),
                    b: buffers[hi].name.clone(),
                    b_offset: offset_of[hi].unwrap(),
                    time,
                });
            }
            None => {
                live.insert((off, i), end);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::problem::{Buffer, Interval};

    fn problem() -> Problem {
        Problem::new(
            vec![
                Buffer::new("a", 0, 4, 4),
                Buffer::new("b", 2, 4, 4).with_alignment(4),
                Buffer::new("c", 4, 8, 8),
                Buffer::new("g", 0, 8, 2).with_gaps(vec![Interval::new(1, 7)]),
            ],
            Some(12),
        )
        .unwrap()
    }

    #[test]
    fn accepts_valid_layout() {
        let p = problem();
        let r = check(&p, &[("a", 0), ("b", 4), ("c", 0), ("g", 8)], None);
        assert!(r.is_valid(), "{:?}", r.violations);
        assert_eq!(r.peak, 10);
    }

    #[test]
    fn gap_lets_space_be_reused() {
        let p = problem();
        // g is dead in [1, 7): c may sit on top of it only if they never
        // share an instant; c lives [4, 8) and g lives again at 7.
        let r = check(&p, &[("a", 0), ("b", 4), ("c", 8), ("g", 8)], Some(16));
        assert!(matches!(&r.violations[..], [Violation::Overlap { a, b, time: 7, .. }] if a == "c" && b == "g"));
    }

    #[test]
    fn names_each_violation() {
        let p = problem();
        let r = check(&p, &[("a", 0), ("b", 2), ("x", 0), ("a", 4), ("c", 6)], None);
        let v = &r.violations;
        assert!(v.contains(&Violation::Unknown { buffer: "x".into() }));
        assert!(v.contains(&Violation::Duplicated { buffer: "a".into() }));
        assert!(v.contains(&Violation::Misaligned { buffer: "b".into(), offset: 2, alignment: 4 }));
        assert!(v.contains(&Violation::Missing { buffer: "g".into() }));
        assert!(v.contains(&Violation::CapacityExceeded { buffer: "c".into(), end: 14, capacity: 12 }));
        assert!(v.iter().any(|x| matches!(x, Violation::Overlap { a, b, .. } if a == "a" && b == "b")));
    }

    #[test]
    fn fixed_offsets_and_overflow() {
        let p = Problem::new(vec![Buffer::new("f", 0, 1, 4).with_offset(8)], None).unwrap();
        assert!(check(&p, &[("f", 8)], None).is_valid());
        let r = check(&p, &[("f", 0)], None);
        assert_eq!(r.violations, vec![Violation::FixedOffsetMoved { buffer: "f".into(), required: 8, offset: 0 }]);
        let p = Problem::new(vec![Buffer::new("h", 0, 1, 4)], None).unwrap();
        let r = check(&p, &[("h", u64::MAX - 1)], None);
        assert!(matches!(r.violations[0], Violation::CapacityExceeded { .. }));
    }

    #[test]
    fn verify_names_what_is_wrong_with_an_answer() {
        use crate::problem::Layout;
        let p = problem();
        let good = Solution::new(&p, Layout::new(vec![0, 4, 0, 8]), 10, false);
        assert_eq!(verify(&p, &good), Ok(()));
        // Over the problem's capacity of 12 is still a valid answer.
        let high = Solution::new(&p, Layout::new(vec![0, 4, 16, 8]), 10, false);
        assert_eq!(verify(&p, &high), Ok(()));
        let mut lying = good.clone();
        lying.peak = 9;
        assert_eq!(verify(&p, &lying), Err(Rejected::PeakMismatch { reported: 9, actual: 10 }));
        let mut boasting = good.clone();
        boasting.lower_bound = 11;
        assert_eq!(verify(&p, &boasting), Err(Rejected::BoundAbovePeak { lower_bound: 11, peak: 10 }));
        let bad = Solution::new(&p, Layout::new(vec![0, 2, 0, 0]), 10, false);
        let Err(Rejected::Invalid(v)) = verify(&p, &bad) else { panic!("accepted an invalid layout") };
        assert!(v.contains(&Violation::Misaligned { buffer: "b".into(), offset: 2, alignment: 4 }));
        assert!(verify(&p, &bad).unwrap_err().to_string().contains("more"));
    }

    #[test]
    fn touching_lifetimes_do_not_overlap() {
        let p = Problem::new(vec![Buffer::new("a", 0, 2, 4), Buffer::new("b", 2, 4, 4)], None).unwrap();
        assert!(check(&p, &[("a", 0), ("b", 0)], None).is_valid());
    }
}
