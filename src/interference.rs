//! Time sweeps over a problem: the interference graph, the lower bound, the
//! live-bytes profile and the independent sub-problems.
//!
//! Everything here is computed from start/end events of the buffers' live
//! segments sorted by time, never by testing all pairs, so the cost is
//! `O(n log n + E)` for `E` interfering pairs.
//!
//! ```text
//!  time:    0   1   2   3   4   5   6
//!  a        [=======)                       a—b interfere (both live at 1)
//!  b            [=======)                   b—c interfere (both live at 2)
//!  c                [===========)           a, c do not: [0,2) ∩ [2,5) = ∅
//!  d                            [===)       d alone: a sub-problem of its own
//!  live     a   ab  bc  c   c   d
//! ```
//!
//! Half-open lifetimes mean a buffer ending at `t` and one starting at `t`
//! never interfere; at equal times, ends are processed before starts.

use crate::problem::{BufferId, Interval, Problem};
use petgraph::graph::UnGraph;

/// One live segment of one buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Segment {
    id: BufferId,
    span: Interval,
}

/// All live segments, sorted by start (then id, for determinism).
fn sorted_segments(problem: &Problem) -> Vec<Segment> {
    let mut segs: Vec<Segment> =
        problem.ids().flat_map(|id| problem.buffer(id).segments().map(move |span| Segment { id, span })).collect();
    segs.sort_by_key(|s| (s.span.start, s.id));
    segs
}

/// Start/end events sorted by time, ends first at equal times.
/// Each is `(time, is_start, id)`.
fn sorted_events(problem: &Problem) -> Vec<(u64, bool, BufferId)> {
    let mut ev: Vec<(u64, bool, BufferId)> = Vec::new();
    for id in problem.ids() {
        for s in problem.buffer(id).segments() {
            ev.push((s.start, true, id));
            ev.push((s.end, false, id));
        }
    }
    // `false < true`, so ends sort before starts at the same instant.
    ev.sort_unstable();
    ev
}

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
/// through the holes ([`CLIQUE_WORK`]) finds such sets; on random problems
/// with holes the optimum is often well above max live bytes and usually
/// equal to this bound.
///
/// Computed once per problem and kept with it: every solver's answer asks.
pub fn lower_bound(problem: &Problem) -> LowerBound {
    problem.cached_lower_bound(|| compute_lower_bound(problem)).clone()
}

fn compute_lower_bound(problem: &Problem) -> LowerBound {
    let mut best = LowerBound::default();
    for (t, bytes) in live_profile(problem) {
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
        raise_by_stacking(problem, &mut best);
    }
    if problem.buffers().iter().any(|b| !b.gaps.is_empty()) {
        raise_by_cliques(problem, &mut best);
    }
    best
}

/// Raises `best` to the stacking height of every live set that padding could
/// lift above it. Sweeps the events once, keeping the live bytes, the most
/// padding alignment can add and whether a fixed buffer is live, so that the
/// dynamic programme runs only where it can change the answer.
fn raise_by_stacking(problem: &Problem, best: &mut LowerBound) {
    let events = sorted_events(problem);
    let mut live: std::collections::BTreeSet<BufferId> = Default::default();
    let (mut bytes, mut slack, mut fixed, mut free) = (0u64, 0u64, 0usize, 0usize);
    let mut work = STACKING_WORK;
    let mut i = 0;
    while i < events.len() {
        let t = events[i].0;
        let mut started = false;
        while i < events.len() && events[i].0 == t {
            let (_, start, id) = events[i];
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
fn raise_by_cliques(problem: &Problem, best: &mut LowerBound) {
    if pairs_at_most(problem) > CLIQUE_MAX_PAIRS {
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

/// An upper bound on the number of interfering pairs, by one sweep without
/// building them: pairs of overlapping segments (a pair meeting in several
/// segments counts more than once). For deciding whether building the graph
/// is affordable.
pub fn pairs_at_most(problem: &Problem) -> u64 {
    meetings(sorted_events(problem).into_iter().map(|(_, start, _)| start))
}

/// The pairs of segments that meet, from the segments' events in time order
/// (`true` for a start; ends before starts at equal times): each start meets
/// every segment live then. `O(events)`.
pub fn meetings(starts: impl IntoIterator<Item = bool>) -> u64 {
    let (mut live, mut pairs) = (0u64, 0u64);
    for start in starts {
        if start {
            pairs = pairs.saturating_add(live);
            live += 1;
        } else {
            live -= 1;
        }
    }
    pairs
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
        let mut o = crate::arith::align_up(x, align).unwrap_or(u64::MAX);
        // Disjoint and sorted: one pass upward clears them all.
        for &(lo, hi) in &self.obstacles {
            if lo < o.saturating_add(size) && o < hi {
                o = crate::arith::align_up(hi, align).unwrap_or(u64::MAX);
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

/// The live-bytes step function: `(t, bytes)` means `bytes` are live from
/// `t` until the next entry's time. Only instants where the value changes
/// are listed; the last entry has 0 bytes.
pub fn live_profile(problem: &Problem) -> Vec<(u64, u64)> {
    let mut out: Vec<(u64, u64)> = Vec::new();
    let mut live: u64 = 0;
    let events = sorted_events(problem);
    let mut i = 0;
    while i < events.len() {
        let t = events[i].0;
        while i < events.len() && events[i].0 == t {
            let size = problem.buffer(events[i].2).size;
            if events[i].1 {
                live += size;
            } else {
                live -= size;
            }
            i += 1;
        }
        match out.last_mut() {
            Some(last) if last.1 == live => {}
            _ => out.push((t, live)),
        }
    }
    out
}

/// The buffers live at instant `t`.
pub fn live_at(problem: &Problem, t: u64) -> Vec<BufferId> {
    problem.ids().filter(|&id| problem.buffer(id).is_live_at(t)).collect()
}

/// Every unordered pair of buffers whose lifetimes overlap (gaps respected),
/// as `(a, b)` with `a < b`, sorted.
pub fn interfering_pairs(problem: &Problem) -> Vec<(BufferId, BufferId)> {
    let segs = sorted_segments(problem);
    let mut active: Vec<Segment> = Vec::new();
    let mut pairs: Vec<(BufferId, BufferId)> = Vec::new();
    for s in &segs {
        active.retain(|a| a.span.end > s.span.start);
        for a in &active {
            if a.id != s.id {
                pairs.push((a.id.min(s.id), a.id.max(s.id)));
            }
        }
        active.push(*s);
    }
    // Buffers with gaps can meet in several segments.
    pairs.sort_unstable();
    pairs.dedup();
    pairs
}

/// The interference graph: node `i` is buffer `BufferId(i)` (node weights
/// repeat the id), one edge per interfering pair.
pub fn interference_graph(problem: &Problem) -> UnGraph<BufferId, ()> {
    let pairs = interfering_pairs(problem);
    let mut g = UnGraph::with_capacity(problem.len(), pairs.len());
    for id in problem.ids() {
        g.add_node(id);
    }
    g.extend_with_edges(pairs.iter().map(|&(a, b)| (a.0, b.0)));
    g
}

/// Adjacency lists of the interference graph in compressed form, the shape
/// the solvers' inner loops want.
#[derive(Debug, Clone, Default)]
pub struct Neighbours {
    start: Vec<usize>,
    list: Vec<BufferId>,
}

impl Neighbours {
    /// Builds the lists by a sweep.
    pub fn new(problem: &Problem) -> Self {
        Self::from_pairs(problem.len(), &interfering_pairs(problem))
    }

    /// Builds the lists from interfering pairs.
    pub fn from_pairs(n: usize, pairs: &[(BufferId, BufferId)]) -> Self {
        let mut degree = vec![0usize; n + 1];
        for &(a, b) in pairs {
            degree[a.index() + 1] += 1;
            degree[b.index() + 1] += 1;
        }
        for i in 0..n {
            degree[i + 1] += degree[i];
        }
        let start = degree.clone();
        let mut fill = degree;
        let mut list = vec![BufferId(0); 2 * pairs.len()];
        for &(a, b) in pairs {
            list[fill[a.index()]] = b;
            fill[a.index()] += 1;
            list[fill[b.index()]] = a;
            fill[b.index()] += 1;
        }
        Neighbours { start, list }
    }

    /// The buffers interfering with `id`, sorted by id.
    pub fn of(&self, id: BufferId) -> &[BufferId] {
        &self.list[self.start[id.index()]..self.start[id.index() + 1]]
    }

    /// Number of interfering pairs.
    pub fn edge_count(&self) -> usize {
        self.list.len() / 2
    }
}

/// Groups of buffers whose lifetimes chain together; different groups never
/// interfere, directly or through others, so each can be solved alone and the
/// peak of the whole is the largest peak of a group. Groups are sorted by
/// their first buffer id; ids within a group are sorted.
pub fn partitions(problem: &Problem) -> Vec<Vec<BufferId>> {
    let segs = sorted_segments(problem);
    let mut parent: Vec<u32> = (0..problem.len() as u32).collect();
    fn find(parent: &mut [u32], mut x: u32) -> u32 {
        while parent[x as usize] != x {
            parent[x as usize] = parent[parent[x as usize] as usize];
            x = parent[x as usize];
        }
        x
    }
    // Segments sorted by start form blocks of chained overlaps; within a
    // block, union every segment with the block's first.
    let mut block_root: Option<u32> = None;
    let mut block_end = 0u64;
    for s in &segs {
        match block_root {
            Some(root) if s.span.start < block_end => {
                let (a, b) = (find(&mut parent, root), find(&mut parent, s.id.0));
                if a != b {
                    parent[a.max(b) as usize] = a.min(b);
                }
                block_end = block_end.max(s.span.end);
            }
            _ => {
                block_root = Some(s.id.0);
                block_end = s.span.end;
            }
        }
    }
    let mut groups: std::collections::BTreeMap<u32, Vec<BufferId>> = Default::default();
    for id in problem.ids() {
        let root = find(&mut parent, id.0);
        groups.entry(root).or_default().push(id);
    }
    let mut out: Vec<Vec<BufferId>> = groups.into_values().collect();
    out.sort_by_key(|g| g[0]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::problem::Buffer;

    fn example() -> Problem {
        Problem::new(
            vec![
                Buffer::new("a", 0, 2, 4),
                Buffer::new("b", 1, 3, 2),
                Buffer::new("c", 2, 5, 8),
                Buffer::new("d", 5, 6, 1),
            ],
            None,
        )
        .unwrap()
    }

    #[test]
    fn pairs_follow_half_open_lifetimes() {
        let p = example();
        let pairs = interfering_pairs(&p);
        assert_eq!(pairs, vec![(BufferId(0), BufferId(1)), (BufferId(1), BufferId(2))]);
        let g = interference_graph(&p);
        assert_eq!(g.node_count(), 4);
        assert_eq!(g.edge_count(), 2);
        let nb = Neighbours::new(&p);
        assert_eq!(nb.of(BufferId(1)), &[BufferId(0), BufferId(2)]);
        assert!(nb.of(BufferId(3)).is_empty());
    }

    #[test]
    fn lower_bound_is_max_live_bytes() {
        let p = example();
        assert_eq!(lower_bound(&p), LowerBound { bytes: 10, instant: 2, clique: vec![] });
        assert_eq!(live_profile(&p), vec![(0, 4), (1, 6), (2, 10), (3, 8), (5, 1), (6, 0)]);
        assert_eq!(live_at(&p, 2), vec![BufferId(1), BufferId(2)]);
    }

    #[test]
    fn gaps_split_interference_and_partitions() {
        let p = Problem::new(
            vec![
                Buffer::new("a", 0, 10, 4).with_gaps(vec![Interval::new(3, 7)]),
                Buffer::new("b", 3, 7, 4),
                Buffer::new("c", 12, 14, 1),
            ],
            None,
        )
        .unwrap();
        assert!(interfering_pairs(&p).is_empty());
        assert_eq!(lower_bound(&p).bytes, 4);
        // a and b never overlap, but their lifetimes chain in time; only the
        // blocks separated by an idle instant are independent.
        let parts = partitions(&p);
        assert_eq!(parts.len(), 3);
    }

    #[test]
    fn partitions_split_at_idle_instants() {
        let p = example();
        assert_eq!(partitions(&p), vec![vec![BufferId(0), BufferId(1), BufferId(2)], vec![BufferId(3)]]);
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

    #[test]
    fn stacking_height_is_the_optimum_of_a_single_live_set() {
        use crate::generate::{generate, GenOptions, Spread};
        use crate::solve::brute;
        // Every buffer live over the whole timeline: the problem is one
        // live set, so its optimum is the stacking height.
        for seed in 0..200 {
            let options = GenOptions {
                buffers: 1 + seed as usize % 7,
                timeline: Some(1),
                sizes: Spread::Uniform { min: 1, max: 12 },
                alignment_probability: 0.6,
                max_alignment: 8,
                fixed_probability: 0.3,
                ..GenOptions::default()
            };
            let p = generate(&options, seed).unwrap();
            let ids: Vec<BufferId> = p.ids().collect();
            let (optimum, _) = brute::minimum(&p).unwrap();
            assert_eq!(stacking_height(&p, &ids), optimum, "seed {seed}: {p:?}");
            assert_eq!(lower_bound(&p).bytes, optimum, "seed {seed}");
        }
    }

    #[test]
    fn holes_make_cliques_heavier_than_any_live_set() {
        let p = crate::solve::fixtures::triangle();
        assert_eq!(live_profile(&p).iter().map(|&(_, b)| b).max(), Some(2));
        let lb = lower_bound(&p);
        assert_eq!((lb.bytes, lb.clique), (3, p.ids().collect()));
        // With alignment the clique's stacking height counts: b (4 bytes,
        // 4-aligned) first, then the two 1-byte buffers.
        let mut buffers = p.buffers().to_vec();
        buffers[1] = buffers[1].clone().with_alignment(4);
        buffers[1].size = 4;
        let p = Problem::new(buffers, None).unwrap();
        assert_eq!(lower_bound(&p).bytes, 6);
    }
}
