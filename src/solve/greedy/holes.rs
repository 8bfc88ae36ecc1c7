//! The search for the hole a buffer goes into, given the address ranges
//! taken by its placed neighbours: first fit or best fit.

use smemplan_core::arith::align_up;
use std::cmp::Reverse;

/// How a hole is chosen among those that hold the buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Fit {
    /// The lowest.
    First,
    /// The tightest (the lowest among equally tight ones).
    Best,
}

/// The top of the address space: a piece ending here is the one above
/// every taken range, where a buffer goes when no bounded hole holds it.
const UNBOUNDED: u64 = u64::MAX;

/// A search for the hole a buffer goes into, among several sets of taken
/// address ranges (each set sorted and disjoint; ranges of different sets may
/// overlap).
///
/// It walks the free pieces of the address space depth first: `[0, ∞)` is
/// cut by the ranges of the first set, each piece left by those of the
/// second, and so on; the pieces that survive every set are the holes.
/// Pieces too small for the buffer are dropped as soon as they appear, so the
/// walk reads only the ranges of each set that lie inside pieces still large
/// enough, and pieces come in address order, so first fit stops at the first
/// hole (best fit at the first exact one). Sets are taken largest first:
/// they cut the most. The walk keeps its own stack, so a buffer with many
/// gaps (many sets) cannot exhaust the thread's.
#[derive(Default)]
pub(super) struct HoleSearch {
    /// Indices of the sets to clear (into the store given to [`Self::run`]).
    pub(super) sets: Vec<usize>,
    stack: Vec<Piece>,
}

/// A free piece `[lo, hi)` of the address space, clear of the sets before
/// `depth`, being cut by the ranges of set `depth` from `next` on;
/// `cursor` is where the uncut rest starts.
#[derive(Debug, Clone, Copy)]
struct Piece {
    lo: u64,
    hi: u64,
    depth: usize,
    next: usize,
    cursor: u64,
}

impl HoleSearch {
    /// The offset for a buffer of `size` and `alignment` clear of the sets
    /// `self.sets` of `store`; `None` only on overflow.
    pub(super) fn run(&mut self, store: &[Vec<(u64, u64)>], size: u64, alignment: u64, fit: Fit) -> Option<u64> {
        self.sets.sort_unstable_by_key(|&set| Reverse(store[set].len()));
        let sets: &[usize] = &self.sets;
        let stack = &mut self.stack;
        stack.clear();
        // Where the buffer would go in `[lo, hi)`, if it fits.
        let fits = |lo: u64, hi: u64| {
            let start = align_up(lo, alignment)?;
            start.checked_add(size).filter(|&end| end <= hi).map(|_| start)
        };
        let open = |lo: u64, hi: u64, depth: usize| {
            let next = sets.get(depth).map_or(0, |&set| store[set].partition_point(|&(_, end)| end <= lo));
            Piece { lo, hi, depth, next, cursor: lo }
        };
        // (slack, offset) of the tightest bounded hole so far.
        let mut chosen: Option<(u64, u64)> = None;
        let mut top = None;
        if fits(0, UNBOUNDED).is_some() {
            stack.push(open(0, UNBOUNDED, 0));
        }
        while let Some(piece) = stack.last_mut() {
            let Some(&set) = sets.get(piece.depth) else {
                // A hole: clear of every set.
                let (lo, hi) = (piece.lo, piece.hi);
                stack.pop();
                let Some(start) = fits(lo, hi) else {
                    continue;
                };
                if hi == UNBOUNDED {
                    top = Some(start);
                    continue;
                }
                let slack = hi - start - size;
                if fit == Fit::First || slack == 0 {
                    return Some(start);
                }
                if !matches!(chosen, Some((best, _)) if best <= slack) {
                    chosen = Some((slack, start));
                }
                continue;
            };
            let ranges = &store[set];
            let mut child = None;
            while let Some(&(lo, hi)) = ranges.get(piece.next).filter(|&&(lo, _)| lo < piece.hi) {
                piece.next += 1;
                let before = (piece.cursor, lo);
                piece.cursor = piece.cursor.max(hi);
                if before.1 > before.0 && fits(before.0, before.1).is_some() {
                    child = Some(before);
                    break;
                }
            }
            let depth = piece.depth + 1;
            if child.is_none() {
                // The rest of the piece, above its last range.
                let rest = (piece.cursor, piece.hi);
                stack.pop();
                if rest.1 > rest.0 && fits(rest.0, rest.1).is_some() {
                    child = Some(rest);
                }
            }
            if let Some((lo, hi)) = child {
                stack.push(open(lo, hi, depth));
            }
        }
        chosen.map(|(_, start)| start).or(top)
    }
}
