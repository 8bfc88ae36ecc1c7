//! The placement orders of the greedy strategies: by size, by lifetime
//! start, and TFLite's by breadth (the heaviest instant a buffer is live
//! in, through a range-maximum table over the live-bytes profile).

use smemplan_core::interference;
use smemplan_core::interruptible::{sort_until, PIECE};
use smemplan_core::problem::{Buffer, BufferId, Problem};
use std::cmp::Reverse;

// Every order returns `None` once `stop` says so: they poll it first,
// while sorting and every [`PIECE`] buffers, so an order of a million
// buffers never holds a deadline up.

/// Free buffers by size descending, then earlier start, then input order.
pub(super) fn size_order(problem: &Problem, stop: &dyn Fn() -> bool) -> Option<Vec<BufferId>> {
    sorted_by_key(problem, stop, |b| (Reverse(b.size), b.lifetime.start))
}

/// Free buffers by lifetime start, then input order.
pub(super) fn time_order(problem: &Problem, stop: &dyn Fn() -> bool) -> Option<Vec<BufferId>> {
    sorted_by_key(problem, stop, |b| b.lifetime.start)
}

/// Free buffers by `key`, then input order. Keys are computed once, not at
/// every comparison: on a million buffers, looking scattered buffers up at
/// every comparison costs more than the sort.
fn sorted_by_key<K: Ord + Copy>(
    problem: &Problem,
    stop: &dyn Fn() -> bool,
    key: impl Fn(&Buffer) -> K,
) -> Option<Vec<BufferId>> {
    let free = free_ids(problem);
    let mut keyed: Vec<(K, BufferId)> = Vec::with_capacity(free.len());
    for chunk in free.chunks(PIECE) {
        if stop() {
            return None;
        }
        keyed.extend(chunk.iter().map(|&id| (key(problem.buffer(id)), id)));
    }
    sorted_ids(keyed, stop)
}

/// TFLite's breadth order. Instants (the steps of the live-bytes profile)
/// are taken by live bytes descending, and a buffer is met first at the
/// heaviest step it is live in: its key is the maximum live bytes over the
/// steps its segments cover (a range-maximum query). Buffers met at steps of
/// the same weight follow by size descending: steps of equal weight are taken
/// together rather than in time order (on MiniMalloc's challenging
/// instances, whose peak weight recurs at many steps, this keeps large
/// buffers first: B drops from 1.91 to 1.42 × the lower bound, I from 2.02
/// to 1.74).
pub(super) fn breadth_order(problem: &Problem, stop: &dyn Fn() -> bool) -> Option<Vec<BufferId>> {
    let profile = interference::live_profile_until(problem, stop)?;
    let table = RangeMax::new(profile.iter().map(|&(_, bytes)| bytes).collect());
    // The step holding instant `t`: the last one starting at or before it.
    let step = |t: u64| profile.partition_point(|&(s, _)| s <= t).saturating_sub(1);
    let weight = |id: BufferId| {
        problem.buffer(id).segments().map(|seg| table.max(step(seg.start), step(seg.end - 1))).max().unwrap_or(0)
    };
    let free = free_ids(problem);
    let mut keyed = Vec::with_capacity(free.len());
    for chunk in free.chunks(PIECE) {
        if stop() {
            return None;
        }
        keyed.extend(chunk.iter().map(|&id| ((Reverse(weight(id)), Reverse(problem.buffer(id).size)), id)));
    }
    sorted_ids(keyed, stop)
}

/// The ids of `keyed` in order of their keys (each ending in the id, so
/// the order is total).
fn sorted_ids<K: Ord + Copy>(mut keyed: Vec<(K, BufferId)>, stop: &dyn Fn() -> bool) -> Option<Vec<BufferId>> {
    sort_until(&mut keyed, stop).then(|| keyed.into_iter().map(|(_, id)| id).collect())
}

pub(super) fn free_ids(problem: &Problem) -> Vec<BufferId> {
    problem.ids().filter(|&id| problem.buffer(id).offset.is_none()).collect()
}

/// Maximum queries over ranges of a fixed array: a segment tree, `O(m)`
/// to build in `2m` words and `O(log m)` a query. (A sparse table answers
/// in `O(1)` but takes `m log m` words: 336 MB for the two million steps
/// of a million buffers' profile.)
pub(super) struct RangeMax {
    /// Leaves at `tree[m..2m]`; node `k < m` holds the maximum of its
    /// children `2k` and `2k + 1`.
    tree: Vec<u64>,
}

impl RangeMax {
    pub(super) fn new(values: Vec<u64>) -> Self {
        let m = values.len();
        let mut tree = vec![0; m];
        tree.extend(values);
        for k in (1..m).rev() {
            tree[k] = tree[2 * k].max(tree[2 * k + 1]);
        }
        RangeMax { tree }
    }

    /// Maximum over `values[lo..=hi]` (`lo <= hi < len`).
    pub(super) fn max(&self, lo: usize, hi: usize) -> u64 {
        let m = self.tree.len() / 2;
        // Climb from both ends of `[lo, hi + 1)`, taking the nodes that
        // leave the range's cover on the way up (values are bytes, so 0 is
        // no maximum at all).
        let (mut l, mut r, mut best) = (lo + m, hi + 1 + m, 0);
        while l < r {
            if l % 2 == 1 {
                best = best.max(self.tree[l]);
                l += 1;
            }
            if r % 2 == 1 {
                r -= 1;
                best = best.max(self.tree[r]);
            }
            l /= 2;
            r /= 2;
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::RangeMax;

    #[test]
    fn range_max_agrees_with_a_scan() {
        for m in [1usize, 2, 3, 5, 8, 13, 64, 100] {
            let values: Vec<u64> = (0..m as u64).map(|i| (i * 7919 + 13) % 101).collect();
            let table = RangeMax::new(values.clone());
            for lo in 0..m {
                for hi in lo..m {
                    assert_eq!(table.max(lo, hi), *values[lo..=hi].iter().max().unwrap(), "m {m}, [{lo}, {hi}]");
                }
            }
        }
    }
}
