//! Perfect packings: the capacity question when it leaves no slack at all.
//!
//! When the live bytes equal the capacity at every instant, a layout
//! within the capacity wastes nothing: every column of the time × address
//! rectangle is filled solid. Then the buffer covering the lowest unfilled
//! point (leftmost of the lowest) must start exactly there: anything
//! reaching further left or lower would overlap what is placed. So a
//! depth-first search that fills that point, trying only the unplaced
//! buffers that start in its section, end within its flat stretch of sky
//! and fit under the capacity, meets every perfect packing:
//!
//! ```text
//!  address
//!    C ┤━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━
//!      │██████████        ███████████████████
//!      │██████████        ███████████████████  the next buffer starts at
//!      │██████████ ┌────┐ ███████████████████  xa, sits at y, ends by xb
//!    y ┤██████████ ╳    │ ███████████████████
//!      │█████████████████████████████████████
//!    0 ┼─────────xa───────xb─────────────────→ time
//! ```
//!
//! It is complete: exhausting it proves that no layout fits. Branching is
//! narrow (usually one or two buffers start at a section) and a wrong choice
//! shows within a few placements, as a stretch that no buffer fits, where
//! the general search, which never sees that waste is forbidden everywhere,
//! wanders. It applies only to problems without fixed offsets, gaps or
//! alignment above 1; generated tilings ([`smemplan_core::generate::tiling`])
//! are such problems.

use super::luby;
use smemplan_core::problem::Problem;
use std::collections::BTreeMap;

/// How a perfect-packing search ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Perfect {
    /// The problem is not one it applies to (see the module docs), or some
    /// instant has live bytes other than the capacity.
    Inapplicable,
    /// A layout that fills the capacity exactly: offsets by buffer id.
    Found(Vec<u64>),
    /// The whole tree was searched: no layout fits the capacity.
    Exhausted,
    /// The node budget ran out or `stop` said so.
    Stopped,
}

/// Most buffers [`Walls::balanced`] enumerates the sums of: two halves of
/// 2^8 sums each (it runs at every wall of every node).
const BALANCE_ITEMS: usize = 16;

/// Nodes between two polls of `stop`.
const POLL: u64 = 1024;

/// One level of the search, at the wall chosen: its candidates, the next
/// to try, the height they go at and the one placed now.
struct Wall {
    y: u64,
    candidates: Vec<u32>,
    next: usize,
    placed: Option<u32>,
}

/// Searches for a layout of `problem` filling `capacity` exactly, within
/// `budget` nodes (placements tried) and until `stop` says so.
pub(super) fn search(problem: &Problem, capacity: u64, budget: u64, stop: &dyn Fn() -> bool) -> Perfect {
    let bs = problem.buffers();
    if bs.is_empty() || capacity == 0 || bs.iter().any(|b| b.offset.is_some() || !b.gaps.is_empty() || b.alignment != 1)
    {
        return Perfect::Inapplicable;
    }
    let mut events: Vec<u64> = bs.iter().flat_map(|b| [b.lifetime.start, b.lifetime.end]).collect();
    events.sort_unstable();
    events.dedup();
    let section = |t: u64| events.partition_point(|&e| e < t);
    let m = events.len() - 1;
    let span: Vec<(usize, usize)> = bs.iter().map(|b| (section(b.lifetime.start), section(b.lifetime.end))).collect();
    // Live bytes by section, from a difference array; every section must
    // hold exactly the capacity.
    let mut delta = vec![0i128; m + 1];
    for (b, &(s, e)) in bs.iter().zip(&span) {
        delta[s] += i128::from(b.size);
        delta[e] -= i128::from(b.size);
    }
    let mut live = 0i128;
    for d in &delta[..m] {
        live += d;
        if live != i128::from(capacity) {
            return Perfect::Inapplicable;
        }
    }
    // Buffers by start and by end section, the longest then the largest
    // first: a buffer that fills its stretch leaves no new step.
    let mut by_start: Vec<Vec<u32>> = vec![Vec::new(); m + 1];
    let mut by_end: Vec<Vec<u32>> = vec![Vec::new(); m + 1];
    for (i, &(s, e)) in span.iter().enumerate() {
        by_start[s].push(i as u32);
        by_end[e].push(i as u32);
    }
    for list in by_start.iter_mut().chain(by_end.iter_mut()) {
        let len = |i: u32| span[i as usize].1 - span[i as usize].0;
        list.sort_by_key(|&i| (std::cmp::Reverse(len(i)), std::cmp::Reverse(bs[i as usize].size), i));
    }
    // Restarts on a Luby schedule, each with its own tie-breaking: a wrong
    // choice low down can hide a long way up, where the depth-first search
    // would thrash below it. The last run gets what budget is left and
    // alone can exhaust the tree (a proof).
    let mut used = 0u64;
    let restart = RESTART_NODES.max(RESTART_NODES_PER_BUFFER * bs.len() as u64);
    for run in 1u64.. {
        let limit = (luby(run) * restart).min(budget - used);
        let last = limit == budget - used;
        let walls = Walls { capacity, bs, span: &span, by_start: &by_start, by_end: &by_end, seed: run };
        match dfs(&walls, m, limit, stop) {
            (Perfect::Stopped, nodes) if !last && !stop() => used += nodes,
            (outcome, _) => return outcome,
        }
    }
    Perfect::Stopped
}

/// Nodes of the first restart, at least; run `i` gets `luby(i)` times as
/// many.
const RESTART_NODES: u64 = 2000;

/// Nodes of the first restart per buffer: a run must be able to place every
/// buffer, or on thousands of buffers most runs end before the first dive
/// reaches the top (8,000 buffers were never packed with 2,000 nodes a run).
const RESTART_NODES_PER_BUFFER: u64 = 2;

/// One depth-first run within `budget` nodes: its outcome and nodes.
fn dfs(walls: &Walls, m: usize, budget: u64, stop: &dyn Fn() -> bool) -> (Perfect, u64) {
    let (bs, span) = (walls.bs, walls.span);
    let mut sky = Sky::new(m);
    let mut placed = vec![false; bs.len()];
    let mut offsets = vec![0u64; bs.len()];
    let mut stack: Vec<Wall> = Vec::new();
    let mut nodes = 0u64;
    match walls.branch(&sky.runs(), &placed) {
        Branch::Done => return (Perfect::Found(offsets), 0),
        Branch::Dead => return (Perfect::Exhausted, 0),
        Branch::On(y, candidates) => stack.push(Wall { y, candidates, next: 0, placed: None }),
    }
    while let Some(frame) = stack.last_mut() {
        if let Some(b) = frame.placed.take() {
            let (s, e) = span[b as usize];
            sky.set(s, e, frame.y);
            placed[b as usize] = false;
        }
        let Some(&b) = frame.candidates.get(frame.next) else {
            stack.pop();
            continue;
        };
        frame.next += 1;
        nodes += 1;
        if nodes > budget || (nodes.is_multiple_of(POLL) && stop()) {
            return (Perfect::Stopped, nodes);
        }
        let y = frame.y;
        frame.placed = Some(b);
        let (s, e) = span[b as usize];
        sky.set(s, e, y + bs[b as usize].size);
        placed[b as usize] = true;
        offsets[b as usize] = y;
        match walls.branch(&sky.runs(), &placed) {
            Branch::Done => return (Perfect::Found(offsets), nodes),
            Branch::Dead => {}
            Branch::On(y, candidates) => stack.push(Wall { y, candidates, next: 0, placed: None }),
        }
    }
    (Perfect::Exhausted, nodes)
}

/// The top of the placed buffers over the sections, as maximal runs of
/// equal height: a filling sky has a few hundred steps where the timeline
/// has thousands of sections, and [`Walls::branch`] looks only at steps.
struct Sky {
    /// Start section of each run → its end and height.
    runs: BTreeMap<usize, (usize, u64)>,
}

/// A run of sections `[start, end)` with sky `height`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Run {
    start: usize,
    end: usize,
    height: u64,
}

impl Sky {
    /// The empty sky over `m` sections.
    fn new(m: usize) -> Sky {
        Sky { runs: BTreeMap::from([(0, (m, 0))]) }
    }

    /// Sets sections `[s, e)` to `height`, merging runs of equal height.
    fn set(&mut self, s: usize, e: usize, height: u64) {
        // Split the runs that straddle s and e, then replace what lies
        // between.
        for cut in [s, e] {
            if let Some((&a, &(b, h))) = self.runs.range(..cut).next_back() {
                if b > cut {
                    self.runs.insert(a, (cut, h));
                    self.runs.insert(cut, (b, h));
                }
            }
        }
        let inside: Vec<usize> = self.runs.range(s..e).map(|(&a, _)| a).collect();
        for a in inside {
            self.runs.remove(&a);
        }
        let (mut start, mut end) = (s, e);
        if let Some((&a, &(_, h))) = self.runs.range(..s).next_back() {
            if h == height {
                start = a;
            }
        }
        if let Some(&(b, h)) = self.runs.get(&e) {
            if h == height {
                self.runs.remove(&e);
                end = b;
            }
        }
        self.runs.insert(start, (end, height));
    }

    /// The runs from the first section on.
    fn runs(&self) -> Vec<Run> {
        self.runs.iter().map(|(&start, &(end, height))| Run { start, end, height }).collect()
    }
}

/// What a partial packing allows next.
enum Branch {
    /// The sky is the capacity everywhere: every buffer is placed.
    Done,
    /// Some wall has no buffer left to meet it.
    Dead,
    /// Place one of these buffers at this height (the fewest choices found).
    On(u64, Vec<u32>),
}

/// What [`Walls::branch`] looks buffers up in.
struct Walls<'a> {
    capacity: u64,
    bs: &'a [smemplan_core::problem::Buffer],
    span: &'a [(usize, usize)],
    by_start: &'a [Vec<u32>],
    by_end: &'a [Vec<u32>],
    /// Breaks ties between equally likely candidates (0: by length and
    /// size); each restart draws another.
    seed: u64,
}

/// A 64-bit mix (SplitMix64's finaliser) for tie-breaking.
fn mix(x: u64) -> u64 {
    smemplan_core::generate::SplitMix64(x).next_u64()
}

impl Walls<'_> {
    /// Checks every wall of the sky and picks the one to branch on.
    ///
    /// Where the sky of section `k` (at `y`) is below its left neighbour's
    /// (or `k` is the first), the buffer that will cover `(k, y)` cannot
    /// reach left, so it starts at `k`, and it ends before the next higher
    /// sky on the right; where it is below its right neighbour's, the buffer
    /// ends at `k + 1` and starts after the previous higher sky. Some
    /// unplaced buffer must fit each such wall, or no perfect packing
    /// extends this one. A *well* (a flat stretch with higher sky, or the
    /// timeline's end, on both sides) is filled without leaving anything
    /// floating: the search branches on the side of a well with the fewest
    /// candidates, which keeps every column solid and is complete (some
    /// buffer of that side covers the wall's corner in any packing).
    ///
    /// Two more tests refute a sky without branching. A well's bottom row
    /// is tiled by buffers that start and end inside it ([`Self::chains`]).
    /// And a wall's step is filled solid on its low side by buffers that
    /// meet it there, while the high side may grow by buffers that meet it
    /// too, until both sides end level ([`Self::balanced`]): with a
    /// tiling's unrelated sizes, a wrong order of a column shows at once as
    /// a step no subset of sizes makes up.
    fn branch(&self, sky: &[Run], placed: &[bool]) -> Branch {
        let count = sky.len();
        if sky.iter().all(|run| run.height >= self.capacity) {
            return Branch::Done;
        }
        let m = sky[count - 1].end;
        // The next strictly higher run on each side (monotone stacks).
        let mut next_higher = vec![count; count];
        let mut prev_higher = vec![None; count];
        let mut stack: Vec<usize> = Vec::new();
        for k in 0..count {
            while let Some(&j) = stack.last().filter(|&&j| sky[j].height < sky[k].height) {
                next_higher[j] = k;
                stack.pop();
            }
            stack.push(k);
        }
        stack.clear();
        for k in (0..count).rev() {
            while let Some(&j) = stack.last().filter(|&&j| sky[j].height < sky[k].height) {
                prev_higher[j] = Some(k);
                stack.pop();
            }
            stack.push(k);
        }
        let fits = |i: u32, y: u64| !placed[i as usize] && y + self.bs[i as usize].size <= self.capacity;
        let height = |k: usize| sky.get(k).map_or(self.capacity, |run| run.height);
        let mut best: Option<(u64, Vec<u32>)> = None;
        for (k, run) in sky.iter().enumerate() {
            let y = run.height;
            if y >= self.capacity {
                continue;
            }
            // The runs beside this one (the timeline's ends count as walls).
            let left_wall = k == 0 || sky[k - 1].height > y;
            let right_wall = k + 1 == count || sky[k + 1].height > y;
            let well = (left_wall && right_wall).then_some((run.start, run.end));
            // The candidates of a wall: unplaced buffers of `list` that fit
            // at y within `within` (their span); collected only when the
            // wall is a well with fewer of them than the best so far.
            let mut consider = |list: &[u32], within: &dyn Fn((usize, usize)) -> bool| -> bool {
                let candidate = |&&i: &&u32| fits(i, y) && within(self.span[i as usize]);
                let count = list.iter().filter(candidate).count();
                if count == 0 {
                    return false;
                }
                if let Some((l, r)) = well.filter(|_| best.as_ref().is_none_or(|(_, b)| count < b.len())) {
                    // Interchangeable buffers are tried once (the count
                    // above includes them: only which wall is chosen
                    // depends on it).
                    let mut c: Vec<u32> = Vec::with_capacity(count);
                    for &i in list.iter().filter(candidate) {
                        if !self.twin(&c, i) {
                            c.push(i);
                        }
                    }
                    // Candidates flush with a neighbour's sky first: in a
                    // tiling edges line up, so a top that meets one is the
                    // likely fit.
                    let (left, right) = (if k == 0 { self.capacity } else { height(k - 1) }, height(k + 1));
                    c.sort_by_key(|&i| {
                        let top = y + self.bs[i as usize].size;
                        let (s, e) = self.span[i as usize];
                        (top != left && top != right, (s, e) != (l, r), mix(self.seed ^ u64::from(i)))
                    });
                    best = Some((y, c));
                }
                true
            };
            if left_wall {
                // The buffer that covers the run's first section at y ends
                // before the next higher run.
                let r = sky.get(next_higher[k]).map_or(m, |run| run.start);
                if !consider(&self.by_start[run.start], &|(_, e)| e <= r) {
                    return Branch::Dead;
                }
                if k > 0
                    && !self.balanced(&self.by_start[run.start], &self.by_end[run.start], height(k - 1) - y, placed)
                {
                    return Branch::Dead;
                }
            }
            if right_wall {
                let l = prev_higher[k].map_or(0, |p: usize| sky[p].end);
                if !consider(&self.by_end[run.end], &|(s, _)| s >= l) {
                    return Branch::Dead;
                }
                if k + 1 < count
                    && !self.balanced(&self.by_end[run.end], &self.by_start[run.end], height(k + 1) - y, placed)
                {
                    return Branch::Dead;
                }
            }
            if well.is_some() && !self.chains(run.start, run.end, y, placed) {
                return Branch::Dead;
            }
        }
        match best {
            Some((y, c)) => Branch::On(y, c),
            None => Branch::Dead,
        }
    }

    /// Whether unplaced buffers that fit at `y` chain from section `l` to
    /// `r`, each starting where the last ended: the bottom row of a well.
    fn chains(&self, l: usize, r: usize, y: u64, placed: &[bool]) -> bool {
        let mut reach = vec![false; r - l + 1];
        reach[0] = true;
        for j in l..r {
            if !reach[j - l] {
                continue;
            }
            for &i in &self.by_start[j] {
                let (_, e) = self.span[i as usize];
                if e <= r && !placed[i as usize] && y + self.bs[i as usize].size <= self.capacity {
                    reach[e - l] = true;
                }
            }
        }
        reach[r - l]
    }

    /// Whether some unplaced buffers of `fill` sum to exactly `d` more than
    /// some unplaced buffers of `extend`: a wall's step of height `d` is
    /// filled on its low side by buffers meeting the wall (`fill`), and the
    /// stack may pass the high side's top only where buffers meeting the
    /// wall from that side (`extend`) grow it, until both end level. Sums by
    /// meeting in the middle; more than [`BALANCE_ITEMS`] buffers are not
    /// tested (taken as balanced).
    fn balanced(&self, fill: &[u32], extend: &[u32], d: u64, placed: &[bool]) -> bool {
        let mut items = [0i64; BALANCE_ITEMS];
        let mut len = 0;
        for (list, sign) in [(fill, 1), (extend, -1)] {
            for &i in list.iter().filter(|&&i| !placed[i as usize]) {
                if len == BALANCE_ITEMS {
                    return true;
                }
                items[len] = sign * self.bs[i as usize].size as i64;
                len += 1;
            }
        }
        // Every subset sum of each half, on the stack.
        let sums = |part: &[i64], out: &mut [i64; 1 << (BALANCE_ITEMS / 2)]| -> usize {
            out[0] = 0;
            let mut n = 1;
            for &x in part {
                for j in 0..n {
                    out[n + j] = out[j] + x;
                }
                n *= 2;
            }
            n
        };
        let (a, b) = items[..len].split_at(len / 2);
        let (mut left, mut right) = ([0i64; 1 << (BALANCE_ITEMS / 2)], [0i64; 1 << (BALANCE_ITEMS / 2)]);
        let (n, m) = (sums(a, &mut left), sums(b, &mut right));
        let (left, right) = (&mut left[..n], &right[..m]);
        left.sort_unstable();
        let d = d as i64;
        right.iter().any(|&x| left.binary_search(&(d - x)).is_ok())
    }

    /// Whether `candidates` holds a buffer interchangeable with `i` (same
    /// lifetime and size): it is tried once.
    fn twin(&self, candidates: &[u32], i: u32) -> bool {
        candidates.iter().any(|&c| {
            self.span[c as usize] == self.span[i as usize] && self.bs[c as usize].size == self.bs[i as usize].size
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use smemplan_core::check::verify;
    use smemplan_core::generate::{tiling, TilingOptions};
    use smemplan_core::problem::Layout;

    #[test]
    fn packs_tilings_with_and_without_pinwheels() {
        for (n, pinwheels) in [(30, 0.0), (50, 0.2), (100, 0.5)] {
            for seed in 0..3 {
                let t = tiling(&TilingOptions { buffers: n, pinwheels, ..TilingOptions::default() }, seed).unwrap();
                let found = search(&t.problem, t.height, 400_000, &|| false);
                let Perfect::Found(offsets) = found else {
                    panic!("{n} {pinwheels} {seed}: {found:?}");
                };
                verify(&t.problem, &Layout::new(offsets), t.height, t.height).unwrap();
            }
        }
    }

    /// The runs equal the maximal runs of a plain array given the same
    /// writes, whatever they are (seeded random writes, merges and splits).
    #[test]
    fn the_sky_keeps_maximal_runs() {
        let mut rng = smemplan_core::generate::SplitMix64(7);
        for _ in 0..200 {
            let m = 1 + rng.between(0, 20) as usize;
            let (mut sky, mut flat) = (Sky::new(m), vec![0u64; m]);
            for _ in 0..30 {
                let s = rng.between(0, m as u64 - 1) as usize;
                let e = s + 1 + rng.between(0, (m - s - 1) as u64) as usize;
                let h = rng.between(0, 3);
                sky.set(s, e, h);
                flat[s..e].fill(h);
                let mut expected: Vec<Run> = Vec::new();
                for (k, &height) in flat.iter().enumerate() {
                    match expected.last_mut() {
                        Some(run) if run.height == height => run.end = k + 1,
                        _ => expected.push(Run { start: k, end: k + 1, height }),
                    }
                }
                assert_eq!(sky.runs(), expected);
            }
        }
    }

    /// Small tilings on crowded timelines (edges of unrelated buffers line
    /// up, sizes repeat): every one packs, so a refutation that prunes a
    /// packing shows as an exhausted search.
    #[test]
    fn refutations_never_prune_a_packing() {
        for seed in 0..3000u64 {
            let n = 4 + (seed % 12) as usize;
            let options = TilingOptions {
                buffers: n,
                pinwheels: [0.0, 0.5, 1.0][(seed % 3) as usize],
                timeline: Some(n as u64),
                height: n as u64 + seed % 7,
            };
            let t = tiling(&options, seed).unwrap();
            match search(&t.problem, t.height, 1_000_000, &|| false) {
                Perfect::Found(offsets) => verify(&t.problem, &Layout::new(offsets), t.height, t.height).unwrap(),
                other => panic!("seed {seed}: {other:?} on a tiling of {n}"),
            }
        }
    }

    /// The acceptance sizes' shape, small enough for every test run: 2,000
    /// buffers, with and without pinwheels, within a node budget.
    #[test]
    fn packs_thousands_of_buffers_within_a_node_budget() {
        for pinwheels in [0.0, 0.3] {
            let t = tiling(&TilingOptions { buffers: 2000, pinwheels, ..TilingOptions::default() }, 2000).unwrap();
            let Perfect::Found(offsets) = search(&t.problem, t.height, 200_000, &|| false) else {
                panic!("{pinwheels}: not packed within 200,000 nodes");
            };
            verify(&t.problem, &Layout::new(offsets), t.height, t.height).unwrap();
        }
    }

    #[test]
    fn agrees_with_exhaustive_search_on_small_flat_problems() {
        use crate::brute;
        use smemplan_core::generate::{generate, GenOptions, Spread};
        let options = GenOptions {
            buffers: 5,
            timeline: Some(3),
            lifetimes: Spread::Uniform { min: 1, max: 3 },
            sizes: Spread::Uniform { min: 1, max: 3 },
            alignment_probability: 0.0,
            gap_probability: 0.0,
            fixed_probability: 0.0,
            ..GenOptions::default()
        };
        let (mut found, mut exhausted) = (0, 0);
        for seed in 0..3000 {
            let p = generate(&options, seed).unwrap();
            let lb = smemplan_core::bound::lower_bound(&p).bytes;
            let (optimum, _) = brute::minimum(&p).unwrap();
            match search(&p, lb, 10_000, &|| false) {
                Perfect::Found(offsets) => {
                    verify(&p, &Layout::new(offsets), lb, lb).unwrap();
                    found += 1;
                }
                Perfect::Exhausted => {
                    assert!(optimum > lb, "seed {seed}: exhausted, yet {lb} is reached");
                    exhausted += 1;
                }
                Perfect::Inapplicable => {}
                Perfect::Stopped => panic!("seed {seed}: 10,000 nodes on 5 buffers"),
            }
        }
        // Flat problems that pack are common enough to test on; ones that
        // do not are rare here (none in these seeds), so the exhausted arm
        // is checked where it occurs.
        assert!(found > 10, "found {found}, exhausted {exhausted}");
    }
}
