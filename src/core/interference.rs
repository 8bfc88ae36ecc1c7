//! Time sweeps over a problem: the interference graph, the live-bytes
//! profile and the independent sub-problems.
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

use crate::interruptible::{sort_until, PIECE};
use crate::problem::{BufferId, Interval, Problem};
use petgraph::algo::{dsatur_coloring, maximal_cliques};
use petgraph::dot::{Config, Dot};
use petgraph::graph::{NodeIndex, UnGraph};
use petgraph::unionfind::UnionFind;

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

/// A start or end of one live segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Event {
    /// When.
    pub time: u64,
    /// A start (`true`) or an end. `false < true`, so in time order ends
    /// come before starts at the same instant.
    pub start: bool,
    /// Whose segment.
    pub id: BufferId,
}

/// The start and end events of all live segments in time order, ends first
/// at equal times (half-open lifetimes: a buffer ending at `t` never meets
/// one starting at `t`): the one sweep that the live profile, the pair
/// count, the lower bound and the greedy's neighbour lists all read.
#[derive(Debug, Clone, Default)]
pub struct EventSweep {
    events: Vec<Event>,
}

impl EventSweep {
    /// Sorts the events of every live segment. `O(n log n)`.
    pub fn new(problem: &Problem) -> Self {
        EventSweep::new_until(problem, &|| false).expect("never stopped")
    }

    /// [`EventSweep::new`] that polls `stop` while sorting (see
    /// [`sort_until`]): `None` once it says so.
    pub fn new_until(problem: &Problem, stop: &dyn Fn() -> bool) -> Option<Self> {
        let mut events = Vec::with_capacity(2 * problem.len());
        for (k, (id, b)) in problem.ids().zip(problem.buffers()).enumerate() {
            if k % PIECE == 0 && stop() {
                return None;
            }
            for s in b.segments() {
                events.push(Event { time: s.start, start: true, id });
                events.push(Event { time: s.end, start: false, id });
            }
        }
        sort_until(&mut events, stop).then_some(EventSweep { events })
    }

    /// The events in time order.
    pub fn events(&self) -> &[Event] {
        &self.events
    }

    /// The live-bytes step function of `problem`, whose sweep this is (see
    /// [`live_profile`]). `O(events)`.
    pub fn profile(&self, problem: &Problem) -> Vec<(u64, u64)> {
        let mut out: Vec<(u64, u64)> = Vec::new();
        let mut live: u64 = 0;
        let events = &self.events;
        let mut i = 0;
        while i < events.len() {
            let t = events[i].time;
            while i < events.len() && events[i].time == t {
                let size = problem.buffer(events[i].id).size;
                if events[i].start {
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

    /// The pairs of segments that meet ([`meetings`]): an upper bound on
    /// the interfering pairs, exact without lifetime holes. `O(events)`.
    pub fn meetings(&self) -> u64 {
        meetings(self.events.iter().map(|e| e.start))
    }

    /// For each buffer placed in `order` (after every buffer not in it,
    /// which has rank 0 and gets no list), its interfering neighbours placed
    /// before it, by their [`Earlier::position`]. A start event meets exactly
    /// the buffers live at that instant, so each pair is recorded once per
    /// pair of overlapping segments (a repeated entry is harmless to a fit),
    /// in the list of the one placed later. `O(n + events log n + E)`.
    /// Polls `stop` every [`PIECE`] events and pairs: `None` once it says
    /// so.
    pub fn earlier_neighbours(&self, n: usize, order: &[BufferId], stop: &dyn Fn() -> bool) -> Option<Earlier> {
        // Everything is indexed by position, so that the buffers a sweep
        // meets, and the neighbours a placement gathers, lie close together
        // in memory whatever the input order.
        let mut positions = vec![u32::MAX; n];
        let mut next = 0;
        for e in self.events.iter().filter(|e| e.start) {
            if positions[e.id.index()] == u32::MAX {
                positions[e.id.index()] = next;
                next += 1;
            }
        }
        // Ranks fit in u32 like ids; 0 for buffers not in `order`.
        let mut rank = vec![0u32; n];
        for (r, &id) in order.iter().enumerate() {
            rank[positions[id.index()] as usize] = r as u32 + 1;
        }
        // The lists are one array: a list per buffer cost 100,000
        // allocations and their regrowth, a fifth of the greedy's time on
        // issue 20's dense problem. Their lengths come first, from one sweep
        // with two Fenwick trees over ranks in `O(events log n)` rather than
        // a pass over every pair.
        let mut firsts = vec![0usize; n + 1];
        self.count_earlier(&positions, &rank, stop, &mut firsts[1..])?;
        for i in 0..n {
            firsts[i + 1] += firsts[i];
        }
        let mut lists = vec![0u32; firsts[n]];
        let mut next = firsts.clone();
        self.meet(&positions, &rank, stop, |later, sooner| {
            lists[next[later]] = sooner;
            next[later] += 1;
        })?;
        Some(Earlier { positions, firsts, lists })
    }

    /// Adds to `counts[p]` the number of entries of the list of the buffer
    /// at position `p` (see [`Self::earlier_neighbours`]): the segments live
    /// at its segments' starts ranked before it (counted at the start, from
    /// the ranks of the live segments), and the segments starting while one
    /// of its own is live ranked before it (the starts ranked before it by
    /// its segment's end, less those by its start). `None` once `stop` says
    /// so.
    fn count_earlier(
        &self,
        positions: &[u32],
        rank: &[u32],
        stop: &dyn Fn() -> bool,
        counts: &mut [usize],
    ) -> Option<()> {
        let mut live = Fenwick::new(rank.len() + 1);
        let mut started = Fenwick::new(rank.len() + 1);
        // Starts ranked before each buffer when its live segment began.
        let mut before = vec![0usize; rank.len()];
        for (k, &Event { start, id, .. }) in self.events.iter().enumerate() {
            if k % PIECE == 0 && stop() {
                return None;
            }
            let p = positions[id.index()] as usize;
            let r = rank[p] as usize;
            if start {
                if r > 0 {
                    counts[p] += live.below(r);
                    before[p] = started.below(r);
                }
                live.add(r, 1);
                started.add(r, 1);
            } else {
                live.add(r, -1);
                if r > 0 {
                    counts[p] += started.below(r) - before[p];
                }
            }
        }
        Some(())
    }

    /// Calls `pair(later, sooner)` (positions) for each meeting of two
    /// segments where `later` is ranked after `sooner` and ranked at all
    /// (see [`Self::earlier_neighbours`]); `None` once `stop` says so.
    fn meet(
        &self,
        positions: &[u32],
        rank: &[u32],
        stop: &dyn Fn() -> bool,
        mut pair: impl FnMut(usize, u32),
    ) -> Option<()> {
        let mut live: Vec<u32> = Vec::new();
        // Where each live buffer sits in `live` (a buffer has at most one
        // live segment at a time).
        let mut slot = vec![0usize; rank.len()];
        let mut work = 0;
        for &Event { start, id, .. } in &self.events {
            work += 1 + live.len();
            if work >= PIECE {
                work = 0;
                if stop() {
                    return None;
                }
            }
            let i = positions[id.index()];
            if start {
                let ri = rank[i as usize];
                for &o in &live {
                    let ro = rank[o as usize];
                    let (later, sooner, r) = if ro < ri { (i, o, ri) } else { (o, i, ro) };
                    if r > 0 {
                        pair(later as usize, sooner);
                    }
                }
                slot[i as usize] = live.len();
                live.push(i);
            } else {
                let at = slot[i as usize];
                live.swap_remove(at);
                if let Some(&moved) = live.get(at) {
                    slot[moved as usize] = at;
                }
            }
        }
        Some(())
    }
}

/// Counts over `0..len` with prefix sums in `O(log len)` (a Fenwick
/// tree).
struct Fenwick(Vec<isize>);

impl Fenwick {
    fn new(len: usize) -> Self {
        Fenwick(vec![0; len + 1])
    }

    fn add(&mut self, at: usize, delta: isize) {
        let mut k = at + 1;
        while k < self.0.len() {
            self.0[k] += delta;
            k += k & k.wrapping_neg();
        }
    }

    /// The sum over `0..at`.
    fn below(&self, at: usize) -> usize {
        let (mut k, mut sum) = (at, 0);
        while k > 0 {
            sum += self.0[k];
            k -= k & k.wrapping_neg();
        }
        sum as usize
    }
}

/// Each buffer's neighbours placed before it
/// ([`EventSweep::earlier_neighbours`]), all lists in one array, by
/// position.
#[derive(Debug, Clone, Default)]
pub struct Earlier {
    /// Each buffer's position (by id).
    positions: Vec<u32>,
    /// The list of the buffer at position `p` is
    /// `lists[firsts[p]..firsts[p + 1]]`.
    firsts: Vec<usize>,
    lists: Vec<u32>,
}

impl Earlier {
    /// Where `id` comes in order of first start (`0..n`): what the lists
    /// hold. Buffers live at the same time have close positions, so arrays
    /// indexed by position keep a placement's neighbours close together.
    pub fn position(&self, id: BufferId) -> usize {
        self.positions[id.index()] as usize
    }

    /// The positions of the neighbours of `id` placed before it (empty for
    /// a buffer not in the order).
    pub fn of(&self, id: BufferId) -> &[u32] {
        let p = self.position(id);
        &self.lists[self.firsts[p]..self.firsts[p + 1]]
    }
}

/// An upper bound on the number of interfering pairs, by one sweep without
/// building them: pairs of overlapping segments (a pair meeting in several
/// segments counts more than once). For deciding whether building the graph
/// is affordable.
pub fn pairs_at_most(problem: &Problem) -> u64 {
    EventSweep::new(problem).meetings()
}

/// [`pairs_at_most`] that polls `stop` while sorting: `None` once it says
/// so.
pub fn pairs_at_most_until(problem: &Problem, stop: &dyn Fn() -> bool) -> Option<u64> {
    Some(EventSweep::new_until(problem, stop)?.meetings())
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

/// The live-bytes step function: `(t, bytes)` means `bytes` are live from
/// `t` until the next entry's time. Only instants where the value changes
/// are listed; the last entry has 0 bytes.
pub fn live_profile(problem: &Problem) -> Vec<(u64, u64)> {
    live_profile_until(problem, &|| false).expect("never stopped")
}

/// [`live_profile`] that polls `stop` while sorting: `None` once it says
/// so.
pub fn live_profile_until(problem: &Problem, stop: &dyn Fn() -> bool) -> Option<Vec<(u64, u64)>> {
    Some(EventSweep::new_until(problem, stop)?.profile(problem))
}

/// The buffers live at instant `t`.
pub fn live_at(problem: &Problem, t: u64) -> Vec<BufferId> {
    problem.ids().filter(|&id| problem.buffer(id).is_live_at(t)).collect()
}

/// Every unordered pair of buffers whose lifetimes overlap (gaps respected),
/// as `(a, b)` with `a < b`, sorted.
pub fn interfering_pairs(problem: &Problem) -> Vec<(BufferId, BufferId)> {
    interfering_pairs_until(problem, &|| false).expect("never stopped")
}

/// [`interfering_pairs`] that polls `stop` every [`PIECE`] segments and
/// pairs, and while sorting: `None` once it says so.
pub fn interfering_pairs_until(problem: &Problem, stop: &dyn Fn() -> bool) -> Option<Vec<(BufferId, BufferId)>> {
    let segs = sorted_segments(problem);
    let mut active: Vec<Segment> = Vec::new();
    let mut pairs: Vec<(BufferId, BufferId)> = Vec::new();
    let mut work = 0;
    for s in &segs {
        work += 1 + active.len();
        if work >= PIECE {
            work = 0;
            if stop() {
                return None;
            }
        }
        active.retain(|a| a.span.end > s.span.start);
        for a in &active {
            if a.id != s.id {
                pairs.push((a.id.min(s.id), a.id.max(s.id)));
            }
        }
        active.push(*s);
    }
    // Buffers with gaps can meet in several segments.
    if !sort_until(&mut pairs, stop) {
        return None;
    }
    pairs.dedup();
    Some(pairs)
}

/// The interference graph, built once per problem (see
/// [`crate::analysis::Analysis::graph`]): node `i` is buffer `BufferId(i)`,
/// one edge per interfering pair. The graph algorithms the solvers need run
/// on it through petgraph: its connected components are independent
/// sub-problems, its maximal cliques sets of buffers that need their summed
/// size, a colouring a way to stack buffers by class.
#[derive(Debug, Clone)]
pub struct Graph {
    graph: UnGraph<BufferId, ()>,
}

impl Graph {
    /// Builds the graph from the sweep's pairs: `O(n log n + E)`.
    pub fn new(problem: &Problem) -> Self {
        let pairs = interfering_pairs(problem);
        let mut graph = UnGraph::with_capacity(problem.len(), pairs.len());
        for id in problem.ids() {
            graph.add_node(id);
        }
        graph.extend_with_edges(pairs.iter().map(|&(a, b)| (a.0, b.0)));
        Graph { graph }
    }

    /// The petgraph graph itself.
    pub fn graph(&self) -> &UnGraph<BufferId, ()> {
        &self.graph
    }

    /// Number of interfering pairs.
    pub fn edge_count(&self) -> usize {
        self.graph.edge_count()
    }

    /// The interfering pairs `(a, b)`, `a < b`, sorted (as
    /// [`interfering_pairs`] lists them).
    pub fn pairs(&self) -> Vec<(BufferId, BufferId)> {
        let mut pairs: Vec<(BufferId, BufferId)> =
            self.graph.raw_edges().iter().map(|e| (self.graph[e.source()], self.graph[e.target()])).collect();
        pairs.sort_unstable();
        pairs
    }

    /// The connected components: buffers of different components never
    /// interfere, directly or through others, so each is a sub-problem of
    /// its own and the peak of the whole is the largest of theirs. The same
    /// groups as [`partitions`], which a sweep finds without building the
    /// graph (for solvers that cannot afford its `E` edges). Sorted by first
    /// id, ids sorted within.
    pub fn components(&self) -> Vec<Vec<BufferId>> {
        let mut sets = UnionFind::<u32>::new(self.graph.node_count());
        for e in self.graph.raw_edges() {
            sets.union(e.source().index() as u32, e.target().index() as u32);
        }
        let mut groups: std::collections::BTreeMap<u32, Vec<BufferId>> = Default::default();
        for (i, root) in sets.into_labeling().into_iter().enumerate() {
            groups.entry(root).or_default().push(BufferId(i as u32));
        }
        let mut out: Vec<Vec<BufferId>> = groups.into_values().collect();
        out.sort_by_key(|g| g[0]);
        out
    }

    /// Every maximal clique (Bron–Kerbosch, petgraph's), each sorted, the
    /// list sorted; `None` when there would be more than `limit` (their
    /// number can grow exponentially with lifetime holes). Without holes
    /// they are the live sets at instants where a buffer starts.
    pub fn maximal_cliques(&self, limit: usize) -> Option<Vec<Vec<BufferId>>> {
        let mut out: Vec<Vec<BufferId>> = Vec::new();
        for clique in maximal_cliques(&self.graph) {
            if out.len() == limit {
                return None;
            }
            let mut c: Vec<BufferId> = clique.into_iter().map(|n| self.graph[n]).collect();
            c.sort_unstable();
            out.push(c);
        }
        out.sort_unstable();
        Some(out)
    }

    /// A colouring by DSATUR (petgraph's): buffers of one colour never
    /// interfere, so each colour class can share one band of addresses.
    /// `colours[id.index()]` is buffer `id`'s colour, from 0.
    pub fn colouring(&self) -> Vec<usize> {
        let (colours, _) = dsatur_coloring(&self.graph);
        let mut out = vec![0; self.graph.node_count()];
        for (n, c) in colours {
            out[n.index()] = c;
        }
        out
    }

    /// The graph in Graphviz's DOT language (petgraph's writer): one node
    /// per buffer labelled with its id and size, one edge per interfering
    /// pair.
    pub fn dot(&self, problem: &Problem) -> String {
        let node = |_, (_, &id): (NodeIndex, &BufferId)| {
            let b = problem.buffer(id);
            // `\n` is Graphviz's line break inside a label.
            format!("label=\"{}\\n{} B\"", dot_escape(&b.name), b.size)
        };
        let edge = |_, _| String::new();
        let config = [Config::NodeNoLabel, Config::EdgeNoLabel];
        format!("{:?}", Dot::with_attr_getters(&self.graph, &config, &edge, &node))
    }
}

/// Text for inside a DOT quoted string: backslashes and quotes escaped,
/// control characters dropped.
fn dot_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Adjacency lists of the interference graph in compressed form (CSR: one
/// sorted slice per buffer), kept beside [`Graph`] for the loops that walk
/// neighbours millions of times: the exact search's placements, the
/// floor-first dive, brute force, and the lower bound's clique search, which
/// tests membership by binary search. Measured on generated problems
/// (`GenOptions::default()`, 10,000 buffers, 241,085 pairs; the shared
/// 2-core machine, under load): one pass over every buffer's neighbours
/// takes 6.6 ms here and 147 ms through petgraph's `neighbors`, and the
/// clique search's membership tests 0.70 s here and 6.2 s through
/// `find_edge`; building either costs the same (about 0.1 s).
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

    /// [`Neighbours::new`] that polls `stop` while listing the pairs:
    /// `None` once it says so.
    pub fn new_until(problem: &Problem, stop: &dyn Fn() -> bool) -> Option<Self> {
        Some(Self::from_pairs(problem.len(), &interfering_pairs_until(problem, stop)?))
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
pub(crate) mod tests {
    use super::*;
    use crate::problem::Buffer;

    /// Four buffers, two meetings (shared with the lower bound's tests).
    pub(crate) fn example() -> Problem {
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
        let g = Graph::new(&p);
        assert_eq!(g.graph().node_count(), 4);
        assert_eq!(g.edge_count(), 2);
        let nb = Neighbours::new(&p);
        assert_eq!(nb.of(BufferId(1)), &[BufferId(0), BufferId(2)]);
        assert!(nb.of(BufferId(3)).is_empty());
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
        assert_eq!(live_profile(&p).iter().map(|&(_, b)| b).max(), Some(4));
        // a and b never overlap, but their lifetimes chain in time; only the
        // blocks separated by an idle instant are independent.
        let parts = partitions(&p);
        assert_eq!(parts.len(), 3);
    }

    #[test]
    fn sweep_counts_interfering_pairs() {
        use crate::generate::{generate, GenOptions};
        let o = GenOptions { buffers: 500, gap_probability: 0.0, ..Default::default() };
        let p = generate(&o, 4).unwrap();
        assert_eq!(EventSweep::new(&p).meetings(), interfering_pairs(&p).len() as u64);
    }

    #[test]
    fn the_graph_finds_components_cliques_and_a_colouring() {
        // a, b, c pairwise meet through their holes; d and e meet; f is
        // alone.
        let p = Problem::new(
            vec![
                Buffer::new("a", 2, 6, 1).with_gaps(vec![Interval::new(4, 5)]),
                Buffer::new("b", 3, 5, 1),
                Buffer::new("c", 2, 6, 1).with_gaps(vec![Interval::new(3, 4)]),
                Buffer::new("d", 10, 12, 1),
                Buffer::new("e", 11, 13, 1),
                Buffer::new("f", 20, 21, 1),
            ],
            None,
        )
        .unwrap();
        let g = Graph::new(&p);
        let ids = |v: &[u32]| v.iter().map(|&i| BufferId(i)).collect::<Vec<_>>();
        assert_eq!(g.components(), vec![ids(&[0, 1, 2]), ids(&[3, 4]), ids(&[5])]);
        assert_eq!(g.maximal_cliques(10), Some(vec![ids(&[0, 1, 2]), ids(&[3, 4]), ids(&[5])]));
        assert_eq!(g.maximal_cliques(2), None, "more cliques than the limit");
        let colours = g.colouring();
        for (a, b) in g.pairs() {
            assert_ne!(colours[a.index()], colours[b.index()], "{a:?} and {b:?} interfere");
        }
        assert_eq!(g.pairs(), interfering_pairs(&p));
        assert_eq!(g.components(), partitions(&p));
    }

    #[test]
    fn the_graph_exports_to_dot() {
        let p = Problem::new(vec![Buffer::new("a\"q\"", 0, 2, 4), Buffer::new("b", 1, 3, 2)], None).unwrap();
        let dot = Graph::new(&p).dot(&p);
        assert!(dot.starts_with("graph {"), "{dot}");
        assert!(dot.contains(r#"label="a\"q\"\n4 B""#), "{dot}");
        assert!(dot.contains(r#"label="b\n2 B""#), "{dot}");
        assert!(dot.contains("0 -- 1"), "{dot}");
        assert!(dot.trim_end().ends_with('}'));
    }

    #[test]
    fn partitions_split_at_idle_instants() {
        let p = example();
        assert_eq!(partitions(&p), vec![vec![BufferId(0), BufferId(1), BufferId(2)], vec![BufferId(3)]]);
    }
}
