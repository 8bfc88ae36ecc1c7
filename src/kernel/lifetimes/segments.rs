//! Live segments of one buffer on the kernel's timeline, and the problem
//! buffer they make (its holes become gaps).

use smemplan_core::problem::{Buffer, Interval};

/// Sorted, disjoint, non-touching live segments of one buffer.
pub type Segments = Vec<Interval>;

/// Merges intervals into sorted, disjoint, non-touching segments.
pub fn merge_segments(mut spans: Vec<Interval>) -> Segments {
    spans.retain(|s| !s.is_empty());
    spans.sort_unstable();
    let mut out: Segments = Vec::with_capacity(spans.len());
    for s in spans {
        match out.last_mut() {
            Some(last) if s.start <= last.end => last.end = last.end.max(s.end),
            _ => out.push(s),
        }
    }
    out
}

pub use smemplan_core::problem::segments_overlap;

/// A problem [`Buffer`] live on `segments` (non-empty): its lifetime spans
/// them and the holes between them become gaps.
pub fn buffer_on(name: impl Into<String>, size: u64, alignment: u64, segments: &[Interval]) -> Buffer {
    let start = segments.first().map_or(0, |s| s.start);
    let end = segments.last().map_or(1, |s| s.end);
    let gaps = segments.windows(2).map(|w| Interval::new(w[0].end, w[1].start)).collect();
    Buffer::new(name, start, end, size).with_alignment(alignment).with_gaps(gaps)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffer_on_segments_has_gaps() {
        let b = buffer_on("x", 8, 4, &[Interval::new(0, 1), Interval::new(3, 5)]);
        assert_eq!(b.lifetime, Interval::new(0, 5));
        assert_eq!(b.gaps, vec![Interval::new(1, 3)]);
        assert!(segments_overlap(&[Interval::new(0, 2)], &[Interval::new(1, 3)]));
        assert!(!segments_overlap(&[Interval::new(0, 2)], &[Interval::new(2, 3)]));
    }
}
