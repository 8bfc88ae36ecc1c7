//! The problem: buffers with sizes, alignments and lifetimes, and layouts.
//!
//! A [`Problem`] is validated once, when it is built; everything downstream
//! (solvers, checker, writers) may then rely on its invariants:
//!
//! * every buffer has a unique id, a size ≥ 1, a power-of-two alignment and a
//!   non-empty half-open lifetime `[start, end)`;
//! * gaps (holes in which the buffer is dead) lie strictly inside the
//!   lifetime, are non-empty, sorted and pairwise disjoint (touching gaps are
//!   merged), so a buffer is live on one or more disjoint segments;
//! * a fixed offset is aligned and `offset + size` fits in `u64`;
//! * fixed-offset buffers do not collide with each other;
//! * the sum of all sizes (and of all `offset + size` of fixed buffers) fits
//!   in `u64`, so any stacking of all buffers can be computed without
//!   overflow.
//!
//! ```text
//!  address
//!    ^
//!  8 |        +-----+
//!    |        |  b  |           a: [0, 4) size 4     offset 0
//!  4 +--------+--+--+---+       b: [3, 6) size 4     offset 4
//!    |     a     |  | c |       c: [4, 8) size 4 gap [6, 7)  offset 0
//!  0 +-----------+  +---+--> time
//!    0           4      8
//! ```

use crate::error::{Error, Result};

/// Index of a buffer in its [`Problem`] (dense, `0..problem.len()`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct BufferId(pub u32);

impl BufferId {
    /// The index as `usize`.
    #[inline]
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// A half-open interval `[start, end)` of time (or of addresses).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Interval {
    /// First instant included.
    pub start: u64,
    /// First instant excluded.
    pub end: u64,
}

impl Interval {
    /// `[start, end)`.
    pub const fn new(start: u64, end: u64) -> Self {
        Interval { start, end }
    }

    /// Whether the two half-open intervals share at least one point.
    #[inline]
    pub fn overlaps(&self, other: &Interval) -> bool {
        self.start < other.end && other.start < self.end
    }

    /// `end - start` (0 for an empty interval).
    pub fn len(&self) -> u64 {
        self.end.saturating_sub(self.start)
    }

    /// Whether no point is inside.
    pub fn is_empty(&self) -> bool {
        self.end <= self.start
    }
}

/// One buffer to place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Buffer {
    /// The id as given in the input (unique within a problem).
    pub name: String,
    /// Bytes.
    pub size: u64,
    /// Required alignment of the offset, a power of two (1 = none).
    pub alignment: u64,
    /// The whole lifetime `[start, end)`.
    pub lifetime: Interval,
    /// Holes inside the lifetime in which the buffer is dead.
    pub gaps: Vec<Interval>,
    /// An offset the solvers must honour.
    pub offset: Option<u64>,
}

impl Buffer {
    /// A buffer live on `[start, end)` with alignment 1, no gaps, no fixed offset.
    pub fn new(name: impl Into<String>, start: u64, end: u64, size: u64) -> Self {
        Buffer {
            name: name.into(),
            size,
            alignment: 1,
            lifetime: Interval::new(start, end),
            gaps: Vec::new(),
            offset: None,
        }
    }

    /// The same buffer with another alignment.
    pub fn with_alignment(mut self, alignment: u64) -> Self {
        self.alignment = alignment;
        self
    }

    /// The same buffer with these gaps.
    pub fn with_gaps(mut self, gaps: Vec<Interval>) -> Self {
        self.gaps = gaps;
        self
    }

    /// The same buffer pinned at `offset`.
    pub fn with_offset(mut self, offset: u64) -> Self {
        self.offset = Some(offset);
        self
    }

    /// The disjoint, sorted segments in which the buffer is live
    /// (the lifetime minus its gaps). Assumes a validated buffer.
    pub fn segments(&self) -> impl Iterator<Item = Interval> + '_ {
        let mut cursor = self.lifetime.start;
        let mut gaps = self.gaps.iter();
        let mut done = false;
        std::iter::from_fn(move || loop {
            if done {
                return None;
            }
            match gaps.next() {
                Some(g) => {
                    let seg = Interval::new(cursor, g.start);
                    cursor = g.end;
                    if !seg.is_empty() {
                        return Some(seg);
                    }
                }
                None => {
                    done = true;
                    let seg = Interval::new(cursor, self.lifetime.end);
                    if !seg.is_empty() {
                        return Some(seg);
                    }
                }
            }
        })
    }

    /// Whether the two buffers are live at a common instant (gaps respected).
    pub fn overlaps_in_time(&self, other: &Buffer) -> bool {
        if !self.lifetime.overlaps(&other.lifetime) {
            return false;
        }
        if self.gaps.is_empty() && other.gaps.is_empty() {
            return true;
        }
        let a: Vec<Interval> = self.segments().collect();
        let b: Vec<Interval> = other.segments().collect();
        segments_overlap(&a, &b)
    }

    /// Whether the buffer is live at instant `t`.
    pub fn is_live_at(&self, t: u64) -> bool {
        self.segments().any(|s| s.start <= t && t < s.end)
    }

    fn validate(&mut self) -> Result<()> {
        let bad = |reason: String| Err(Error::buffer(&self.name, reason));
        if self.name.is_empty() {
            return Err(Error::buffer("", "empty id"));
        }
        if self.size == 0 {
            return bad("size must be at least 1 byte".into());
        }
        if self.alignment == 0 || !self.alignment.is_power_of_two() {
            return bad(format!("alignment {} is not a power of two", self.alignment));
        }
        if self.lifetime.start >= self.lifetime.end {
            return bad(format!(
                "empty lifetime: lower {} must be less than upper {}",
                self.lifetime.start, self.lifetime.end
            ));
        }
        self.gaps.sort();
        let mut merged: Vec<Interval> = Vec::with_capacity(self.gaps.len());
        for g in &self.gaps {
            if g.is_empty() {
                return bad(format!("empty gap {}-{}", g.start, g.end));
            }
            if g.start < self.lifetime.start || g.end > self.lifetime.end {
                return bad(format!(
                    "gap {}-{} lies outside the lifetime [{}, {})",
                    g.start, g.end, self.lifetime.start, self.lifetime.end
                ));
            }
            match merged.last_mut() {
                Some(last) if g.start < last.end => {
                    return bad(format!("gaps {}-{} and {}-{} overlap", last.start, last.end, g.start, g.end));
                }
                Some(last) if g.start == last.end => last.end = g.end,
                _ => merged.push(*g),
            }
        }
        if merged.iter().map(Interval::len).sum::<u64>() >= self.lifetime.len() {
            return bad("gaps cover the whole lifetime".into());
        }
        self.gaps = merged;
        if let Some(off) = self.offset {
            if off % self.alignment != 0 {
                return bad(format!("fixed offset {off} is not a multiple of alignment {}", self.alignment));
            }
            if off.checked_add(self.size).is_none() {
                return bad(format!("fixed offset {off} + size {} overflows", self.size));
            }
        }
        Ok(())
    }
}

/// Whether two sorted lists of disjoint segments share an instant.
pub fn segments_overlap(a: &[Interval], b: &[Interval]) -> bool {
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        if a[i].overlaps(&b[j]) {
            return true;
        }
        if a[i].end <= b[j].end {
            i += 1;
        } else {
            j += 1;
        }
    }
    false
}

/// A validated set of buffers and an optional capacity (see the module docs
/// for the invariants).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    buffers: Vec<Buffer>,
    capacity: Option<u64>,
    /// [`Problem::segments_at_most`], counted once: asked at every step of
    /// a deadline-bound run, it would cost a pass over every buffer.
    segments: usize,
}

impl Problem {
    /// Validates `buffers` and builds a problem.
    ///
    /// Errors name the offending buffer: zero size, empty lifetime, bad
    /// alignment or gaps, misaligned or overflowing fixed offsets, duplicate
    /// ids, colliding fixed offsets, or a total size that overflows `u64`.
    pub fn new(mut buffers: Vec<Buffer>, capacity: Option<u64>) -> Result<Self> {
        if buffers.len() > u32::MAX as usize {
            return Err(Error::Overflow("more than 2^32 buffers".into()));
        }
        let mut total: u64 = 0;
        for b in &mut buffers {
            b.validate()?;
            let reach = b.offset.unwrap_or(0) + b.size;
            // Worst-case stacking: every buffer above every other, each
            // possibly padded to its alignment.
            total = total.checked_add(reach).and_then(|t| t.checked_add(b.alignment - 1)).ok_or_else(|| {
                Error::buffer(&b.name, "the total size of all buffers up to this one overflows 64 bits")
            })?;
        }
        let mut seen = std::collections::HashSet::with_capacity(buffers.len());
        if let Some(b) = buffers.iter().find(|b| !seen.insert(b.name.as_str())) {
            return Err(Error::DuplicateBuffer { buffer: b.name.clone() });
        }
        drop(seen);
        let problem = Problem::with_counts(buffers, capacity);
        problem.check_fixed_offsets()?;
        Ok(problem)
    }

    /// Fixed buffers live at a common instant must not share a byte. A sweep
    /// over their live segments in time order keeps the live ones by offset;
    /// as they are disjoint (or the sweep has already stopped), a newcomer
    /// need only be compared with its neighbours below and above: O(F log F)
    /// for F fixed segments, however many are live at once.
    fn check_fixed_offsets(&self) -> Result<()> {
        // (time, 0 = end / 1 = start, buffer): ends first, as lifetimes are
        // half-open.
        let mut events: Vec<(u64, u8, usize)> = Vec::new();
        for (i, b) in self.buffers.iter().enumerate().filter(|(_, b)| b.offset.is_some()) {
            for seg in b.segments() {
                events.push((seg.start, 1, i));
                events.push((seg.end, 0, i));
            }
        }
        events.sort_unstable();
        // (offset, buffer) → end address of the live fixed buffers.
        let mut live: std::collections::BTreeMap<(u64, usize), u64> = Default::default();
        for (_, kind, i) in events {
            let b = &self.buffers[i];
            let off = b.offset.expect("only fixed buffers have events");
            if kind == 0 {
                live.remove(&(off, i));
                continue;
            }
            // Validation guarantees that `off + size` does not overflow.
            let end = off + b.size;
            let below = live.range(..(off, i)).next_back();
            let above = live.range((off, i)..).next();
            if let Some((&(o, j), _)) = [below, above].into_iter().flatten().find(|(&(o, _), &e)| o < end && off < e) {
                // `a` was live first; `b` arrives onto it.
                return Err(Error::FixedOffsetCollision {
                    a: self.buffers[j].name.clone(),
                    a_offset: o,
                    b: b.name.clone(),
                    b_offset: off,
                });
            }
            live.insert((off, i), end);
        }
        Ok(())
    }

    /// The buffers, indexed by [`BufferId`].
    pub fn buffers(&self) -> &[Buffer] {
        &self.buffers
    }

    /// One buffer.
    pub fn buffer(&self, id: BufferId) -> &Buffer {
        &self.buffers[id.index()]
    }

    /// All ids, in input order.
    pub fn ids(&self) -> impl ExactSizeIterator<Item = BufferId> + Clone {
        (0..self.buffers.len() as u32).map(BufferId)
    }

    /// Number of buffers.
    pub fn len(&self) -> usize {
        self.buffers.len()
    }

    /// Whether there are no buffers.
    pub fn is_empty(&self) -> bool {
        self.buffers.is_empty()
    }

    /// At most this many live segments in all (one per buffer and one more
    /// per gap): the size of a time sweep, which says what work is cheap
    /// enough to do without polling a deadline.
    pub fn segments_at_most(&self) -> usize {
        self.segments
    }

    /// The capacity, if the input gave one.
    pub fn capacity(&self) -> Option<u64> {
        self.capacity
    }

    /// The same problem with another capacity.
    pub fn with_capacity(mut self, capacity: Option<u64>) -> Self {
        self.capacity = capacity;
        self
    }

    /// Looks a buffer up by its id string.
    pub fn find(&self, name: &str) -> Option<BufferId> {
        self.buffers.iter().position(|b| b.name == name).map(|i| BufferId(i as u32))
    }

    /// A sub-problem made of `ids` (in that order), keeping the capacity.
    pub fn subproblem(&self, ids: &[BufferId]) -> Problem {
        Problem::with_counts(ids.iter().map(|&id| self.buffer(id).clone()).collect(), self.capacity)
    }

    /// The problem of already validated buffers, with its segments counted.
    fn with_counts(buffers: Vec<Buffer>, capacity: Option<u64>) -> Self {
        let segments = buffers.iter().map(|b| 1 + b.gaps.len()).sum();
        Problem { buffers, capacity, segments }
    }
}

/// Offsets for every buffer of a problem, indexed by [`BufferId`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Layout {
    /// `offsets[id.index()]` is the byte offset of buffer `id`.
    pub offsets: Vec<u64>,
}

impl Layout {
    /// Wraps offsets.
    pub fn new(offsets: Vec<u64>) -> Self {
        Layout { offsets }
    }

    /// The offset of one buffer.
    pub fn offset(&self, id: BufferId) -> u64 {
        self.offsets[id.index()]
    }

    /// Highest `offset + size` over all buffers (0 for an empty problem).
    /// Saturates rather than wraps: a layout this large is never valid anyway.
    pub fn peak(&self, problem: &Problem) -> u64 {
        problem.buffers().iter().zip(&self.offsets).map(|(b, &o)| o.saturating_add(b.size)).max().unwrap_or(0)
    }

    /// `(id string, offset)` pairs, as the checker and writers take them.
    pub fn named<'a>(&'a self, problem: &'a Problem) -> Vec<(&'a str, u64)> {
        problem.buffers().iter().zip(&self.offsets).map(|(b, &o)| (b.name.as_str(), o)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_respect_gaps() {
        let b = Buffer::new("x", 0, 10, 1).with_gaps(vec![Interval::new(2, 4), Interval::new(6, 7)]);
        let p = Problem::new(vec![b], None).unwrap();
        let segs: Vec<_> = p.buffers()[0].segments().collect();
        assert_eq!(segs, vec![Interval::new(0, 2), Interval::new(4, 6), Interval::new(7, 10)]);
    }

    #[test]
    fn touching_gaps_merge() {
        let b = Buffer::new("x", 0, 10, 1).with_gaps(vec![Interval::new(4, 6), Interval::new(2, 4)]);
        let p = Problem::new(vec![b], None).unwrap();
        assert_eq!(p.buffers()[0].gaps, vec![Interval::new(2, 6)]);
    }

    #[test]
    fn gap_overlap_in_time() {
        let a = Buffer::new("a", 0, 10, 1).with_gaps(vec![Interval::new(3, 7)]);
        let b = Buffer::new("b", 3, 7, 1);
        let c = Buffer::new("c", 6, 8, 1);
        assert!(!a.overlaps_in_time(&b));
        assert!(a.overlaps_in_time(&c));
        assert!(b.overlaps_in_time(&c));
    }

    #[test]
    fn rejects_bad_buffers() {
        let cases = [
            (Buffer::new("z", 0, 1, 0), "size"),
            (Buffer::new("e", 3, 3, 1), "empty lifetime"),
            (Buffer::new("a", 0, 3, 1).with_alignment(3), "power of two"),
            (Buffer::new("o", 0, 3, 4).with_alignment(4).with_offset(2), "multiple of alignment"),
            (Buffer::new("g", 0, 3, 1).with_gaps(vec![Interval::new(2, 5)]), "outside"),
            (Buffer::new("h", 0, 9, 1).with_gaps(vec![Interval::new(2, 5), Interval::new(4, 6)]), "overlap"),
            (Buffer::new("w", 0, 9, 1).with_gaps(vec![Interval::new(0, 9)]), "whole lifetime"),
            (Buffer::new("v", 0, 9, 2).with_offset(u64::MAX - 1), "overflows"),
        ];
        for (b, want) in cases {
            let name = b.name.clone();
            let err = Problem::new(vec![b], None).unwrap_err();
            assert_eq!(err.buffer_name(), Some(name.as_str()));
            assert!(err.to_string().contains(want), "{err} should mention {want}");
        }
    }

    #[test]
    fn rejects_duplicates_collisions_and_overflow() {
        let dup = Problem::new(vec![Buffer::new("a", 0, 1, 1), Buffer::new("a", 1, 2, 1)], None);
        assert!(matches!(dup, Err(Error::DuplicateBuffer { .. })));
        let col = Problem::new(
            vec![Buffer::new("a", 0, 4, 8).with_offset(0), Buffer::new("b", 2, 6, 8).with_offset(4)],
            None,
        );
        assert!(matches!(col, Err(Error::FixedOffsetCollision { .. })));
        let ok = Problem::new(
            vec![Buffer::new("a", 0, 4, 8).with_offset(0), Buffer::new("b", 4, 6, 8).with_offset(4)],
            None,
        );
        assert!(ok.is_ok());
        let big = Problem::new(vec![Buffer::new("a", 0, 1, u64::MAX), Buffer::new("b", 0, 1, 2)], None);
        assert_eq!(big.unwrap_err().buffer_name(), Some("b"));
    }
}
