//! The time tree: the address ranges of placed buffers indexed by time, for
//! placements where the interference graph would be too large to list.

use smemplan_core::interruptible::{sort_until, PIECE};
use smemplan_core::problem::{Buffer, Interval, Problem};

/// The address ranges of the placed buffers, indexed by time: a segment
/// tree over *slots*, the distinct start times of live segments. A segment
/// `[a, b)` spans the slots of the starts in `[a, b)` (its own start among
/// them), and two segments overlap in time exactly when they span a common
/// slot: if they overlap, the later start lies in both; if both hold a start,
/// it lies in both. (Ends need no slots, which halves the tree.) A placed
/// segment is stored, with its address range, at the
/// `O(log m)` nodes whose slots it covers exactly (`own`), and merged into
/// the `sub` union of every node it touches. A query for a time range takes
/// `sub` of the nodes that tile it and `own` of their ancestors: every placed
/// segment overlapping the range is in exactly one of those (the node that
/// stores it either lies below a tiling node or above one), and nothing else
/// is.
///
/// ```text
///  node [0,8)        own: spans all 8 slots     sub: union below
///   ├─ [0,4)         query [2,7) = sub[2,4) ∪ sub[4,6) ∪ sub[6,7)
///   │   ├─ [0,2)           ∪ own[0,8) ∪ own[0,4) ∪ own[4,8) ∪ own[6,8)
///   │   └─ [2,4) ◄─ tiles
///   └─ [4,8)
///       ├─ [4,6) ◄─ tiles
///       └─ [6,8) ── [6,7) ◄─ tiles
/// ```
///
/// Sets are sorted, disjoint address ranges, touching ones merged, so a
/// query hands [`HoleSearch`] `O(log m)` sets whose sizes count *blocks* of
/// taken addresses, not buffers, and memory stays `O(n log m)` however long
/// the lifetimes are (where the interference graph would be quadratic).
pub(super) struct Blocked {
    /// The sorted, distinct start times of all live segments (slot `i` is
    /// `starts[i]`).
    starts: Vec<u64>,
    /// Leaves of the tree (a power of two, at least the number of slots).
    leaves: usize,
    /// `sets[2 * node]` is the node's `own`, `sets[2 * node + 1]` its `sub`
    /// (nodes numbered from 1 at the root, children of `k` at `2k, 2k + 1`).
    pub(super) sets: Vec<Vec<(u64, u64)>>,
}

impl Blocked {
    /// An empty tree over the problem's start times; `None` once `stop`
    /// says so (polled while sorting them).
    pub(super) fn new(problem: &Problem, stop: &dyn Fn() -> bool) -> Option<Self> {
        let mut starts: Vec<u64> = Vec::with_capacity(problem.len());
        for chunk in problem.buffers().chunks(PIECE) {
            if stop() {
                return None;
            }
            starts.extend(chunk.iter().flat_map(|b| b.segments()).map(|s| s.start));
        }
        if !sort_until(&mut starts, stop) {
            return None;
        }
        starts.dedup();
        // The sets alone are 96 bytes a slot: tens of milliseconds to fill.
        if stop() {
            return None;
        }
        let leaves = starts.len().next_power_of_two();
        Some(Blocked { starts, leaves, sets: vec![Vec::new(); 4 * leaves] })
    }

    /// The slots a live segment spans (never empty: its start is a slot).
    fn slots(&self, seg: Interval) -> (usize, usize) {
        (self.starts.partition_point(|&t| t < seg.start), self.starts.partition_point(|&t| t < seg.end))
    }

    /// Records that `range` of addresses is taken while `b` is live.
    pub(super) fn insert(&mut self, b: &Buffer, range: (u64, u64)) {
        for seg in b.segments() {
            let (lo, hi) = self.slots(seg);
            self.insert_at(1, 0, self.leaves, lo, hi, range);
        }
    }

    fn insert_at(&mut self, node: usize, from: usize, to: usize, lo: usize, hi: usize, range: (u64, u64)) {
        if hi <= from || to <= lo {
            return;
        }
        merge_into(&mut self.sets[2 * node + 1], range);
        if lo <= from && to <= hi {
            merge_into(&mut self.sets[2 * node], range);
            return;
        }
        let mid = from + (to - from) / 2;
        self.insert_at(2 * node, from, mid, lo, hi, range);
        self.insert_at(2 * node + 1, mid, to, lo, hi, range);
    }

    /// Replaces `out` with the (non-empty) sets of address ranges taken at
    /// some instant while `b` is live.
    pub(super) fn collect(&self, b: &Buffer, out: &mut Vec<usize>) {
        out.clear();
        for seg in b.segments() {
            let (lo, hi) = self.slots(seg);
            self.collect_at(1, 0, self.leaves, lo, hi, out);
        }
        if b.gaps.is_empty() {
            return;
        }
        // Segments of one buffer may share ancestors.
        out.sort_unstable();
        out.dedup();
    }

    fn collect_at(&self, node: usize, from: usize, to: usize, lo: usize, hi: usize, out: &mut Vec<usize>) {
        if hi <= from || to <= lo {
            return;
        }
        let tiles = lo <= from && to <= hi;
        let set = if tiles { 2 * node + 1 } else { 2 * node };
        if !self.sets[set].is_empty() {
            out.push(set);
        }
        if tiles {
            return;
        }
        let mid = from + (to - from) / 2;
        self.collect_at(2 * node, from, mid, lo, hi, out);
        self.collect_at(2 * node + 1, mid, to, lo, hi, out);
    }
}

/// Adds `[lo, hi)` to a sorted set of disjoint ranges, merging it with the
/// ranges it overlaps or touches.
fn merge_into(set: &mut Vec<(u64, u64)>, (lo, hi): (u64, u64)) {
    // Ranges ending before `lo` stay below; ranges starting after `hi` stay
    // above; those between (`first..past`) merge with the new one.
    let first = set.partition_point(|&(_, end)| end < lo);
    let past = set.partition_point(|&(start, _)| start <= hi);
    if first == past {
        set.insert(first, (lo, hi));
    } else {
        set[first] = (lo.min(set[first].0), hi.max(set[past - 1].1));
        set.drain(first + 1..past);
    }
}
