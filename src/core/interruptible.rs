//! Work that stops when asked: a sort that polls a deadline.
//!
//! A solver honours its deadline by polling it between steps, so no step
//! may run long: on a million buffers one `sort_unstable` of the sweep's
//! events takes 0.1–0.3 s, more than the tenth of a one-second limit that a
//! run may overshoot. [`sort_until`] sorts in short runs and merges them,
//! polling between pieces, at about the cost of one sort.
//!
//! It sits below [`crate::problem`] and imports nothing, so every layer may
//! use it.

/// Elements sorted or merged between two polls: a few milliseconds of
/// work. Work on fewer items than this is cheaper than stopping it, so it
/// is done in full whatever the deadline.
pub const PIECE: usize = 1 << 16;

/// Sorts `v` (unstably: equal elements may swap, which for `Ord` keys that
/// tell every element apart changes nothing), polling `stop` every
/// [`PIECE`] elements of work. Returns `false`, leaving `v` a permutation
/// of itself in no particular order, as soon as `stop` says so.
pub fn sort_until<T: Ord + Copy>(v: &mut Vec<T>, stop: &dyn Fn() -> bool) -> bool {
    if v.len() <= PIECE {
        v.sort_unstable();
        return true;
    }
    for run in v.chunks_mut(PIECE) {
        if stop() {
            return false;
        }
        run.sort_unstable();
    }
    // Merge sorted runs of `width` pairwise into `spare`, then swap, until
    // one run is left.
    let mut spare: Vec<T> = Vec::with_capacity(v.len());
    let mut width = PIECE;
    while width < v.len() {
        spare.clear();
        for pair in v.chunks(2 * width) {
            if stop() {
                return false;
            }
            let (a, b) = pair.split_at(width.min(pair.len()));
            if !merge(a, b, &mut spare, stop) {
                return false;
            }
        }
        std::mem::swap(v, &mut spare);
        width *= 2;
    }
    true
}

/// Appends the merge of the sorted slices `a` and `b` to `out`, in pieces
/// of [`PIECE`] elements, polling `stop` between them: `false` as soon as
/// it says so (`out` is then partial).
fn merge<T: Ord + Copy>(a: &[T], b: &[T], out: &mut Vec<T>, stop: &dyn Fn() -> bool) -> bool {
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        let piece_end = out.len() + PIECE;
        while i < a.len() && j < b.len() && out.len() < piece_end {
            if b[j] < a[i] {
                out.push(b[j]);
                j += 1;
            } else {
                out.push(a[i]);
                i += 1;
            }
        }
        if i < a.len() && j < b.len() && stop() {
            return false;
        }
    }
    out.extend_from_slice(&a[i..]);
    out.extend_from_slice(&b[j..]);
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    fn scrambled(n: usize) -> Vec<(u64, u32)> {
        // A fixed xorshift stream, with repeated keys.
        let mut x = 0x2545_f491_4f6c_dd1du64;
        (0..n)
            .map(|i| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x % (n as u64 / 3 + 1), i as u32)
            })
            .collect()
    }

    #[test]
    fn sorts_like_the_standard_sort() {
        for n in [0, 1, 7, PIECE, PIECE + 1, 3 * PIECE + 17, 8 * PIECE] {
            let mut v = scrambled(n);
            let mut expected = v.clone();
            expected.sort_unstable();
            assert!(sort_until(&mut v, &|| false), "n = {n}");
            assert_eq!(v, expected, "n = {n}");
        }
    }

    #[test]
    fn stops_when_asked_with_the_same_elements() {
        let n = 5 * PIECE + 3;
        for polls in [0, 1, 4, 6, 9, 12] {
            let mut v = scrambled(n);
            let mut before = v.clone();
            let count = Cell::new(0);
            let stop = || {
                count.set(count.get() + 1);
                count.get() > polls
            };
            assert!(!sort_until(&mut v, &stop), "stopped after {polls} polls");
            assert_eq!(count.get(), polls + 1, "no poll after the stop");
            v.sort_unstable();
            before.sort_unstable();
            assert_eq!(v, before, "a permutation after {polls} polls");
        }
    }
}
