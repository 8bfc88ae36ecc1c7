//! The independent checker: is a set of offsets a valid layout?
//!
//! It shares no code with any solver or with [`crate::interference`]: it
//! reads only the raw fields of [`Problem`]'s buffers (lifetime, gaps, size,
//! alignment, fixed offset) and recomputes live segments itself, so a bug in
//! the shared sweep cannot hide a bug in a solver.
//!
//! Method: every violation of "each buffer placed once, aligned, at its fixed
//! offset, within capacity" is found by one pass over the placements. Overlap
//! is found by a sweep over time that keeps the live buffers ordered by
//! address; while the live set is disjoint, a new buffer can only collide
//! with its two address-neighbours, so checking those suffices
//! (`O(n log n)`). After a collision is reported, the newcomer is left out of
//! the live set so the invariant holds and the sweep goes on. The live set
//! holds each buffer's rank in (offset, buffer) order, in a tree of bit
//! words (`RankSet`): a few word operations a step where an ordered map
//! chased pointers through half a million live buffers.
//!
//! [`verify`] is the one place that puts a solver's answer through the
//! checker: the CLI, `plan`, tests and benches all call it rather than each
//! running the checker and comparing peaks themselves.

use crate::problem::{Layout, Problem};
use std::collections::HashMap;
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
    /// `offset + size` exceeds the capacity.
    CapacityExceeded {
        /// The buffer.
        buffer: String,
        /// Its end address (`offset + size`).
        end: u64,
        /// The capacity.
        capacity: u64,
    },
    /// `offset + size` does not fit in 64 bits: no address space holds it.
    EndOverflows {
        /// The buffer.
        buffer: String,
        /// Its offset.
        offset: u64,
        /// Its size.
        size: u64,
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
            Violation::EndOverflows { buffer, offset, size } => {
                write!(f, "buffer `{buffer}`: offset {offset} + size {size} does not fit in 64 bits")
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
/// peak the `reported_peak`, and its `lower_bound` at most that peak.
///
/// The capacity is not held against the layout: a solver returns its best
/// layout even when that exceeds the capacity, and says so in its answer.
pub fn verify(problem: &Problem, layout: &Layout, reported_peak: u64, lower_bound: u64) -> Result<(), Rejected> {
    let report = check(problem, &layout.named(problem), Some(u64::MAX));
    if !report.is_valid() {
        return Err(Rejected::Invalid(report.violations));
    }
    if report.peak != reported_peak {
        return Err(Rejected::PeakMismatch { reported: reported_peak, actual: report.peak });
    }
    if lower_bound > reported_peak {
        return Err(Rejected::BoundAbovePeak { lower_bound, peak: reported_peak });
    }
    Ok(())
}

/// Checks `placements` (buffer id string, offset) against `problem`.
/// `capacity` overrides the problem's own capacity when given.
pub fn check(problem: &Problem, placements: &[(&str, u64)], capacity: Option<u64>) -> Report {
    let capacity = capacity.or(problem.capacity());
    let buffers = problem.buffers();
    // Built only when a placement is out of the problem's order (solvers
    // and `solve --out` keep it, so a million buffers need no hashing).
    let mut index: Option<HashMap<&str, usize>> = None;
    let mut violations = Vec::new();
    let mut offset_of: Vec<Option<u64>> = vec![None; buffers.len()];
    let mut peak = 0u64;

    for (k, &(name, offset)) in placements.iter().enumerate() {
        let found = match buffers.get(k) {
            Some(b) if b.name == name => Some(k),
            _ => index
                .get_or_insert_with(|| buffers.iter().enumerate().map(|(i, b)| (b.name.as_str(), i)).collect())
                .get(name)
                .copied(),
        };
        let Some(i) = found else {
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
            (None, _) => violations.push(Violation::EndOverflows { buffer: b.name.clone(), offset, size: b.size }),
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
/// Each `(start, end)` goes to `emit`.
fn live_segments(problem: &Problem, i: usize, mut emit: impl FnMut(u64, u64)) {
    let b = &problem.buffers()[i];
    let mut t = b.lifetime.start;
    if !b.gaps.is_empty() {
        let mut gaps: Vec<(u64, u64)> = b.gaps.iter().map(|g| (g.start, g.end)).collect();
        gaps.sort_unstable();
        for (gs, ge) in gaps {
            if gs > t {
                emit(t, gs.min(b.lifetime.end));
            }
            t = t.max(ge);
        }
    }
    if t < b.lifetime.end {
        emit(t, b.lifetime.end);
    }
}

fn overlaps(problem: &Problem, offset_of: &[Option<u64>]) -> Vec<Violation> {
    let buffers = problem.buffers();
    // Placed buffers in (offset, buffer) order: a buffer's rank is its
    // position, so ranks order the live set by address.
    let mut by_address: Vec<(u64, usize)> =
        offset_of.iter().enumerate().filter_map(|(i, off)| Some(((*off)?, i))).collect();
    by_address.sort_unstable();
    let mut rank = vec![0usize; buffers.len()];
    for (r, &(_, i)) in by_address.iter().enumerate() {
        rank[i] = r;
    }
    // (time, kind << 32 | buffer): kind 0 = end, 1 = start, so ends go
    // first; buffer indices fit in 32 bits (ids are u32).
    let mut events: Vec<(u64, u64)> = Vec::with_capacity(2 * buffers.len());
    for &(_, i) in &by_address {
        live_segments(problem, i, |s, e| {
            events.push((s, 1 << 32 | i as u64));
            events.push((e, i as u64));
        });
    }
    events.sort_unstable();
    // Ranks of the live buffers; disjoint in address by invariant.
    let mut live = RankSet::new(by_address.len());
    let mut excluded: Vec<bool> = vec![false; buffers.len()];
    let mut out = Vec::new();
    for (time, event) in events {
        let i = (event & u64::from(u32::MAX)) as usize;
        if event >> 32 == 0 {
            if !excluded[i] {
                live.remove(rank[i]);
            }
            excluded[i] = false;
            continue;
        }
        let off = by_address[rank[i]].0;
        let end = off.saturating_add(buffers[i].size);
        let neighbour_end = |r: usize| {
            let (o, j) = by_address[r];
            (o, j, o.saturating_add(buffers[j].size))
        };
        let below = live.below(rank[i]).map(neighbour_end);
        let above = live.above(rank[i]).map(neighbour_end);
        let clash = [below, above].into_iter().flatten().find(|&(o, _, e)| o < end && off < e);
        match clash {
            Some((o, j, _)) => {
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
            None => live.insert(rank[i]),
        }
    }
    out
}

/// A set of ranks below a bound fixed at creation, with the nearest member
/// below or above a rank: a tree of 64-bit words, the bottom level one bit
/// a rank, each level above one bit a non-empty word of the level below.
/// Every operation touches one word a level (four levels for 2^24 ranks).
struct RankSet {
    /// Bottom level first; the last has one word.
    levels: Vec<Vec<u64>>,
}

impl RankSet {
    fn new(bound: usize) -> Self {
        let mut levels = Vec::new();
        let mut len = bound.max(1);
        loop {
            let words = len.div_ceil(64);
            levels.push(vec![0u64; words]);
            if words == 1 {
                return RankSet { levels };
            }
            len = words;
        }
    }

    fn insert(&mut self, mut r: usize) {
        for level in &mut self.levels {
            let was = level[r / 64];
            level[r / 64] |= 1 << (r % 64);
            if was != 0 {
                return;
            }
            r /= 64;
        }
    }

    fn remove(&mut self, mut r: usize) {
        for level in &mut self.levels {
            level[r / 64] &= !(1 << (r % 64));
            if level[r / 64] != 0 {
                return;
            }
            r /= 64;
        }
    }

    /// The largest member below `r`.
    fn below(&self, r: usize) -> Option<usize> {
        self.nearest(r, |word, bit| word & ((1 << bit) - 1), |word| 63 - word.leading_zeros() as usize)
    }

    /// The smallest member above `r`.
    fn above(&self, r: usize) -> Option<usize> {
        self.nearest(r, |word, bit| word & !((2u64 << bit).wrapping_sub(1)), |word| word.trailing_zeros() as usize)
    }

    /// Climbs from `r` to the first level whose word holds a member on the
    /// side `side` keeps (the bits of a word past a bit), then descends
    /// through the `pick` bit (highest or lowest) of each word below.
    fn nearest(&self, r: usize, side: impl Fn(u64, usize) -> u64, pick: impl Fn(u64) -> usize) -> Option<usize> {
        let mut p = r;
        let mut h = 0;
        loop {
            let word = side(self.levels.get(h)?[p / 64], p % 64);
            if word != 0 {
                p = p / 64 * 64 + pick(word);
                break;
            }
            p /= 64;
            h += 1;
        }
        while h > 0 {
            h -= 1;
            p = p * 64 + pick(self.levels[h][p]);
        }
        Some(p)
    }
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
        assert_eq!(r.violations, vec![Violation::EndOverflows { buffer: "h".into(), offset: u64::MAX - 1, size: 4 }]);
        assert_eq!(
            r.violations[0].to_string(),
            format!("buffer `h`: offset {} + size 4 does not fit in 64 bits", u64::MAX - 1)
        );
    }

    #[test]
    fn verify_names_what_is_wrong_with_an_answer() {
        let p = problem();
        let good = Layout::new(vec![0, 4, 0, 8]);
        assert_eq!(verify(&p, &good, 10, 10), Ok(()));
        // Over the problem's capacity of 12 is still a valid answer.
        let high = Layout::new(vec![0, 4, 16, 8]);
        assert_eq!(verify(&p, &high, 24, 10), Ok(()));
        assert_eq!(verify(&p, &good, 9, 9), Err(Rejected::PeakMismatch { reported: 9, actual: 10 }));
        assert_eq!(verify(&p, &good, 10, 11), Err(Rejected::BoundAbovePeak { lower_bound: 11, peak: 10 }));
        let bad = Layout::new(vec![0, 2, 0, 0]);
        let Err(Rejected::Invalid(v)) = verify(&p, &bad, 10, 10) else { panic!("accepted an invalid layout") };
        assert!(v.contains(&Violation::Misaligned { buffer: "b".into(), offset: 2, alignment: 4 }));
        assert!(verify(&p, &bad, 10, 10).unwrap_err().to_string().contains("more"));
    }

    #[test]
    fn touching_lifetimes_do_not_overlap() {
        let p = Problem::new(vec![Buffer::new("a", 0, 2, 4), Buffer::new("b", 2, 4, 4)], None).unwrap();
        assert!(check(&p, &[("a", 0), ("b", 0)], None).is_valid());
    }

    #[test]
    fn the_rank_set_finds_the_nearest_members_like_an_ordered_set() {
        use std::collections::BTreeSet;
        // Bounds across one, two and three levels; a fixed xorshift stream.
        for bound in [1, 63, 64, 65, 4096, 4097, 300_000] {
            let mut set = RankSet::new(bound);
            let mut model = BTreeSet::new();
            let mut x = 0x9e37_79b9_7f4a_7c15u64 ^ bound as u64;
            for _ in 0..3000 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let r = (x % bound as u64) as usize;
                if x & (1 << 40) == 0 {
                    set.insert(r);
                    model.insert(r);
                } else {
                    set.remove(r);
                    model.remove(&r);
                }
                let q = ((x >> 20) % bound as u64) as usize;
                assert_eq!(set.below(q), model.range(..q).next_back().copied(), "bound {bound}, below {q}");
                assert_eq!(set.above(q), model.range(q + 1..).next().copied(), "bound {bound}, above {q}");
            }
        }
    }
}
