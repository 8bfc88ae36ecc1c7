//! The lower bound on the peak of any layout: the bytes that buffers which
//! pairwise interfere need, raised by the padding that alignment and fixed
//! buffers force and by the heavier cliques that lifetime holes create.
//!
//! Every solver's answer carries it (to say how far from optimal a layout
//! may be) and a capacity below it is refuted at once with its reason. It
//! sits above [`crate::interference`], whose sweeps and graph it reads, and
//! below the solvers; [`crate::problem`] knows nothing of it.

use crate::arith::align_up;
use crate::interference::{Event, EventSweep, Neighbours};
use crate::problem::{BufferId, Problem};

/// The least peak some set of pairwise interfering buffers needs, and which.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LowerBound {
    /// Max live bytes, raised to the highest fixed `offset + size`, to the
    /// padding that alignments and fixed buffers force on a live set, and
    /// to the weight of heavier cliques that lifetime holes create.
    pub bytes: u64,
    /// An instant at which the live buffers need `bytes` (the first such
    /// one), unless `clique` is set.
    pub instant: u64,
    /// When `bytes` comes from buffers that pairwise share live time but are
    /// never all live at once (only lifetime holes allow that), those
    /// buffers; otherwise empty.
    pub clique: Vec<BufferId>,
}

/// Live sets with at most this many unfixed buffers get their exact
/// stacking height (a dynamic programme over subsets, `2^k·k` steps);
/// larger ones count live bytes only.
pub const STACKING_MAX_BUFFERS: usize = 12;

/// Most programme steps one [`lower_bound`] spends on stacking heights (a
/// few milliseconds); past it, the remaining live sets count live bytes
/// only, which keeps the bound cheap on large problems full of fixed
/// buffers.
const STACKING_WORK: u64 = 1 << 22;

/// Most work one [`lower_bound`] spends looking for heavy cliques through
/// lifetime holes, in candidates scanned (a few milliseconds). Any clique
/// found is a valid bound, so running out only leaves the bound weaker.
const CLIQUE_WORK: u64 = 1 << 20;

/// Problems with more interfering pairs than this skip the clique search:
/// building the graph alone would cost more than the bound is worth (the
/// bound is computed by every solver's answer).
const CLIQUE_MAX_PAIRS: u64 = 1 << 18;

/// The lower bound on the peak of any layout. The buffers live at one
/// instant pairwise interfere, so they need at least their live bytes, which
/// for interval lifetimes is the weight of the heaviest clique of the
/// interference graph. Fixed offsets raise it to their highest end.
///
/// Alignment and fixed buffers can force padding that live bytes miss: an
/// 8-aligned buffer above a 5-byte one starts at 8, and a free buffer
/// cannot straddle a fixed one. Where that padding could matter, the live
/// set's exact stacking height is computed ([`stacking_height`]).
///
/// Lifetime holes break the rule that pairwise interfering buffers are all
/// live at one instant: `a` and `b` may meet before `b`'s hole, `b` and `c`
/// after it, `a` and `c` in it, and still no two of them may share an
/// address, so they need their sum. A bounded search for heavy cliques
/// through the holes (`CLIQUE_WORK`) finds such sets; on random problems
/// with holes the optimum is often well above max live bytes and usually
/// equal to this bound.
///
/// Computed afresh on every call (a few sweeps, milliseconds on 100,000
/// buffers); [`crate::analysis::Analysis`] computes it once per problem for
/// the solvers, which all ask.
pub fn lower_bound(problem: &Problem) -> LowerBound {
    lower_bound_until(problem, &|| false).expect("never stopped")
}

/// [`lower_bound`] that polls `stop` between its steps and while sorting
/// (a few milliseconds apart on a million buffers): `None` once it says so.
pub fn lower_bound_until(problem: &Problem, stop: &dyn Fn() -> bool) -> Option<LowerBound> {
    let sweep = EventSweep::new_until(problem, stop)?;
    let mut best = LowerBound::default();
    for (t, bytes) in sweep.profile(problem) {
        if bytes > best.bytes {
            best = LowerBound { bytes, instant: t, clique: Vec::new() };
        }
    }
    for b in problem.buffers() {
        if let Some(off) = b.offset {
            if off + b.size > best.bytes {
                best = LowerBound { bytes: off + b.size, instant: b.lifetime.start, clique: Vec::new() };
            }
        }
    }
    if problem.buffers().iter().any(|b| b.alignment > 1 || b.offset.is_some()) {
        if stop() {
            return None;
        }
        raise_by_stacking(problem, &sweep, &mut best);
    }
    if problem.buffers().iter().any(|b| !b.gaps.is_empty()) {
        if stop() {
            return None;
        }
        raise_by_cliques(problem, &sweep, &mut best);
    }
    Some(best)
}

/// A bound that costs one pass: the largest buffer, the highest fixed end.
/// What an answer carries when the deadline passed before [`lower_bound`]
/// finished.
pub fn trivial(problem: &Problem) -> u64 {
    problem.buffers().iter().map(|b| b.offset.map_or(b.size, |o| o + b.size)).max().unwrap_or(0)
}

/// Raises `best` to the stacking height of every live set that padding could
/// lift above it. Sweeps the events once, keeping the live bytes, the most
/// padding alignment can add and whether a fixed buffer is live, so that the
/// dynamic programme runs only where it can change the answer.
fn raise_by_stacking(problem: &Problem, sweep: &EventSweep, best: &mut LowerBound) {
    let mut live: std::collections::BTreeSet<BufferId> = Default::default();
    let (mut bytes, mut slack, mut fixed, mut free) = (0u64, 0u64, 0usize, 0usize);
    let mut work = STACKING_WORK;
    let mut i = 0;
    let events = sweep.events();
    while i < events.len() {
        let t = events[i].time;
        let mut started = false;
        while i < events.len() && events[i].time == t {
            let Event { start, id, .. } = events[i];
            let b = problem.buffer(id);
            let pad = if b.offset.is_none() { b.alignment - 1 } else { 0 };
            if start {
                live.insert(id);
                bytes += b.size;
                slack = slack.saturating_add(pad);
                started = true;
            } else {
                live.remove(&id);
                bytes -= b.size;
                slack -= pad;
            }
            match (b.offset.is_some(), start) {
                (true, true) => fixed += 1,
                (true, false) => fixed -= 1,
                (false, true) => free += 1,
                (false, false) => free -= 1,
            }
            i += 1;
        }
        // Only a set that just grew can be maximal; a fixed buffer can force
        // any amount of padding, alignment at most `slack`.
        let could_rise = fixed > 0 || bytes.saturating_add(slack) > best.bytes;
        if !(started && free <= STACKING_MAX_BUFFERS && could_rise) {
            continue;
        }
        // Every fit scans the fixed buffers: charge them to the work too.
        let per_fit = fixed as u64 + 1;
        let look = live.len() as u64 + free as u64 * per_fit;
        let steps = ((free as u64) << free) * per_fit;
        if look + steps > work {
            continue;
        }
        work -= look;
        let stack = Stack::new(problem, live.iter().copied());
        // A stacking in one order is an upper bound: when it is no higher
        // than the bound already, the best one is not either.
        if stack.in_order() > best.bytes {
            work -= steps;
            let height = stack.least_height();
            if height > best.bytes {
                *best = LowerBound { bytes: height, instant: t, clique: Vec::new() };
            }
        }
    }
}

/// Raises `best` to the heaviest clique of the interference graph that a
/// bounded branch and bound finds, counting its stacking height where it is
/// small enough. Only cliques through a buffer with a hole can beat max live
/// bytes (without holes, pairwise overlapping lifetimes share an instant),
/// so the search starts from each such buffer, heaviest first, and grows a
/// clique among its neighbours.
fn raise_by_cliques(problem: &Problem, sweep: &EventSweep, best: &mut LowerBound) {
    if sweep.meetings() > CLIQUE_MAX_PAIRS {
        return;
    }
    let nb = Neighbours::new(problem);
    let size = |id: BufferId| problem.buffer(id).size;
    let mut search = CliqueSearch { nb: &nb, size: &size, work: CLIQUE_WORK, best: best.bytes, found: None };
    let mut holed: Vec<BufferId> = problem.ids().filter(|&id| !problem.buffer(id).gaps.is_empty()).collect();
    holed.sort_by_key(|&id| (std::cmp::Reverse(size(id)), id));
    for h in holed {
        let mut candidates: Vec<BufferId> = nb.of(h).to_vec();
        candidates.sort_by_key(|&id| (std::cmp::Reverse(size(id)), id));
        search.grow(&mut vec![h], size(h), &candidates);
        if search.work == 0 {
            break;
        }
    }
    if let Some(clique) = search.found {
        let mut bytes = search.best;
        let free = clique.iter().filter(|&&id| problem.buffer(id).offset.is_none()).count();
        if free <= STACKING_MAX_BUFFERS {
            bytes = bytes.max(stacking_height(problem, &clique));
        }
        *best = LowerBound { bytes, instant: best.instant, clique };
    }
}

/// A bounded branch and bound for a clique heavier than `best`.
struct CliqueSearch<'a> {
    nb: &'a Neighbours,
    size: &'a dyn Fn(BufferId) -> u64,
    /// Candidates it may still scan.
    work: u64,
    /// The weight to beat.
    best: u64,
    /// The heaviest clique found above the starting bound, sorted.
    found: Option<Vec<BufferId>>,
}

impl CliqueSearch<'_> {
    /// Extends `clique` (of weight `weight`) by `candidates`, each adjacent
    /// to every member, heaviest first.
    fn grow(&mut self, clique: &mut Vec<BufferId>, weight: u64, candidates: &[BufferId]) {
        if weight > self.best {
            self.best = weight;
            let mut c = clique.clone();
            c.sort_unstable();
            self.found = Some(c);
        }
        let mut rest: u64 = candidates.iter().map(|&id| (self.size)(id)).sum();
        for (k, &v) in candidates.iter().enumerate() {
            // Even taking every remaining candidate cannot beat the best.
            if weight + rest <= self.best || self.work == 0 {
                return;
            }
            self.work = self.work.saturating_sub((candidates.len() - k) as u64);
            rest -= (self.size)(v);
            let next: Vec<BufferId> =
                candidates[k + 1..].iter().copied().filter(|&u| self.nb.of(v).binary_search(&u).is_ok()).collect();
            clique.push(v);
            self.grow(clique, weight + (self.size)(v), &next);
            clique.pop();
        }
    }
}

/// The least peak of the buffers `ids` stacked with no two sharing an
/// address (as buffers live at one instant must be), honouring alignments
/// and fixed offsets; saturates at `u64::MAX`. Exponential in the number of
/// unfixed buffers: meant for at most [`STACKING_MAX_BUFFERS`].
pub fn stacking_height(problem: &Problem, ids: &[BufferId]) -> u64 {
    Stack::new(problem, ids.iter().copied()).least_height()
}

/// A set of pairwise interfering buffers to stack.
struct Stack {
    /// Fixed `[offset, end)` ranges, sorted (disjoint, as the problem's
    /// fixed buffers that interfere must be).
    obstacles: Vec<(u64, u64)>,
    /// `(size, alignment)` of the free buffers, largest alignment first.
    free: Vec<(u64, u64)>,
}

impl Stack {
    fn new(problem: &Problem, ids: impl Iterator<Item = BufferId>) -> Self {
        let (mut obstacles, mut free) = (Vec::new(), Vec::new());
        for id in ids {
            let b = problem.buffer(id);
            match b.offset {
                Some(o) => obstacles.push((o, o + b.size)),
                None => free.push((b.size, b.alignment)),
            }
        }
        obstacles.sort_unstable();
        free.sort_unstable_by_key(|&(size, align)| (std::cmp::Reverse(align), std::cmp::Reverse(size)));
        Stack { obstacles, free }
    }

    /// The top of buffer `(size, align)` placed at its lowest aligned fit at
    /// or above `x`, clear of the obstacles. Never falls as `x` rises.
    fn fit(&self, x: u64, (size, align): (u64, u64)) -> u64 {
        let mut o = align_up(x, align).unwrap_or(u64::MAX);
        // Disjoint and sorted: one pass upward clears them all.
        for &(lo, hi) in &self.obstacles {
            if lo < o.saturating_add(size) && o < hi {
                o = align_up(hi, align).unwrap_or(u64::MAX);
            }
        }
        o.saturating_add(size)
    }

    fn fixed_top(&self) -> u64 {
        self.obstacles.last().map_or(0, |o| o.1)
    }

    /// The height of one stacking: the free buffers bottom-up in their
    /// order (largest alignment first, which pads least in the common case).
    fn in_order(&self) -> u64 {
        self.free.iter().fold(0, |top, &b| self.fit(top, b)).max(self.fixed_top())
    }

    /// The least height. Any layout, re-placed bottom-up in order of offset
    /// with each free buffer at its lowest fit above the one before, ends no
    /// higher, and fits never fall as their start rises; so the least top of
    /// a set `S` of free buffers is the least `fit(top(S − i), i)` over `i`
    /// in `S`: a programme over subsets.
    fn least_height(&self) -> u64 {
        let k = self.free.len();
        let mut top = vec![u64::MAX; 1 << k];
        top[0] = 0;
        for set in 1usize..1 << k {
            let mut bits = set;
            while bits != 0 {
                let i = bits.trailing_zeros() as usize;
                bits &= bits - 1;
                top[set] = top[set].min(self.fit(top[set & !(1 << i)], self.free[i]));
            }
        }
        top[(1 << k) - 1].max(self.fixed_top())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interference::{live_at, live_profile};
    use crate::problem::Buffer;

    use crate::interference::tests::example;

    #[test]
    fn lower_bound_is_max_live_bytes() {
        let p = example();
        assert_eq!(lower_bound(&p), LowerBound { bytes: 10, instant: 2, clique: vec![] });
        assert_eq!(live_profile(&p), vec![(0, 4), (1, 6), (2, 10), (3, 8), (5, 1), (6, 0)]);
        assert_eq!(live_at(&p, 2), vec![BufferId(1), BufferId(2)]);
    }

    #[test]
    fn alignment_padding_raises_the_bound() {
        // Two 5-byte buffers with alignment 4 live together: the upper one
        // starts at 8, so they need 13 bytes though 10 are live; an
        // unaligned 3-byte one fills the pad.
        let a = Buffer::new("a", 0, 2, 5).with_alignment(4);
        let b = Buffer::new("b", 0, 2, 5).with_alignment(4);
        let p = Problem::new(vec![a.clone(), b.clone()], None).unwrap();
        assert_eq!(lower_bound(&p), LowerBound { bytes: 13, instant: 0, clique: vec![] });
        let p = Problem::new(vec![a, b, Buffer::new("c", 1, 2, 3)], None).unwrap();
        assert_eq!(lower_bound(&p), LowerBound { bytes: 13, instant: 1, clique: vec![] });
    }

    #[test]
    fn a_free_buffer_cannot_straddle_a_fixed_one() {
        // Only 4 bytes below the fixed buffer: the 6-byte one goes above it.
        let p = Problem::new(vec![Buffer::new("f", 0, 4, 2).with_offset(4), Buffer::new("x", 2, 6, 6)], None).unwrap();
        assert_eq!(lower_bound(&p), LowerBound { bytes: 12, instant: 2, clique: vec![] });
    }
}
