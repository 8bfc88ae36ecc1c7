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

/// Nodes between two polls of `stop`.
const POLL: u64 = 1024;

/// One level of the search: the candidates for the wall chosen, the next
/// to try, the height they go at and the one placed now.
struct Frame {
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
    for run in 1u64.. {
        let limit = (luby(run) * RESTART_NODES).min(budget - used);
        let last = limit == budget - used;
        let walls = Walls { capacity, bs, span: &span, by_start: &by_start, by_end: &by_end, seed: run };
        match dfs(&walls, m, limit, stop) {
            (Perfect::Stopped, nodes) if !last && !stop() => used += nodes,
            (outcome, _) => return outcome,
        }
    }
    Perfect::Stopped
}

/// Nodes of the first restart; run `i` gets `luby(i)` times as many.
const RESTART_NODES: u64 = 2000;

/// One depth-first run within `budget` nodes: its outcome and nodes.
fn dfs(walls: &Walls, m: usize, budget: u64, stop: &dyn Fn() -> bool) -> (Perfect, u64) {
    let (bs, span) = (walls.bs, walls.span);
    let mut sky = vec![0u64; m];
    let mut placed = vec![false; bs.len()];
    let mut offsets = vec![0u64; bs.len()];
    let mut stack: Vec<Frame> = Vec::new();
    let mut nodes = 0u64;
    match walls.branch(&sky, &placed) {
        Branch::Done => return (Perfect::Found(offsets), 0),
        Branch::Dead => return (Perfect::Exhausted, 0),
        Branch::On(y, candidates) => stack.push(Frame { y, candidates, next: 0, placed: None }),
    }
    while let Some(frame) = stack.last_mut() {
        if let Some(b) = frame.placed.take() {
            let (s, e) = span[b as usize];
            sky[s..e].fill(frame.y);
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
        sky[s..e].fill(y + bs[b as usize].size);
        placed[b as usize] = true;
        offsets[b as usize] = y;
        match walls.branch(&sky, &placed) {
            Branch::Done => return (Perfect::Found(offsets), nodes),
            Branch::Dead => {}
            Branch::On(y, candidates) => stack.push(Frame { y, candidates, next: 0, placed: None }),
        }
    }
    (Perfect::Exhausted, nodes)
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
    fn branch(&self, sky: &[u64], placed: &[bool]) -> Branch {
        let m = sky.len();
        if sky.iter().all(|&h| h >= self.capacity) {
            return Branch::Done;
        }
        // The next strictly higher section on each side (monotone stacks).
        let mut next_higher = vec![m; m];
        let mut prev_higher = vec![usize::MAX; m];
        let mut stack: Vec<usize> = Vec::new();
        for k in 0..m {
            while let Some(&j) = stack.last().filter(|&&j| sky[j] < sky[k]) {
                next_higher[j] = k;
                stack.pop();
            }
            stack.push(k);
        }
        stack.clear();
        for k in (0..m).rev() {
            while let Some(&j) = stack.last().filter(|&&j| sky[j] < sky[k]) {
                prev_higher[j] = k;
                stack.pop();
            }
            stack.push(k);
        }
        let fits = |i: u32, y: u64| !placed[i as usize] && y + self.bs[i as usize].size <= self.capacity;
        let mut best: Option<(u64, Vec<u32>)> = None;
        for k in 0..m {
            let y = sky[k];
            if y >= self.capacity {
                continue;
            }
            let left_wall = k == 0 || sky[k - 1] > y;
            let right_wall = k + 1 == m || sky[k + 1] > y;
            let from_left = |limit: usize| {
                let mut c: Vec<u32> = Vec::new();
                for &i in &self.by_start[k] {
                    let (_, e) = self.span[i as usize];
                    if fits(i, y) && e <= limit && !self.twin(&c, i) {
                        c.push(i);
                    }
                }
                c
            };
            let from_right = |limit: usize| {
                let mut c: Vec<u32> = Vec::new();
                for &i in &self.by_end[k + 1] {
                    let (s, _) = self.span[i as usize];
                    if fits(i, y) && s >= limit && !self.twin(&c, i) {
                        c.push(i);
                    }
                }
                c
            };
            // Candidates flush with a neighbour's sky first: in a tiling
            // edges line up, so a top that meets one is the likely fit.
            let mut consider = |mut c: Vec<u32>, well: Option<(usize, usize)>| -> bool {
                if c.is_empty() {
                    return false;
                }
                if let Some((l, r)) = well.filter(|_| best.as_ref().is_none_or(|(_, b)| c.len() < b.len())) {
                    let left = if l == 0 { self.capacity } else { sky[l - 1] };
                    let right = if r == m { self.capacity } else { sky[r] };
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
                // A well when the flat stretch ends at a higher sky.
                let r = next_higher[k];
                let well = sky[k..r].iter().all(|&h| h == y).then_some((k, r));
                if !consider(from_left(r), well) {
                    return Branch::Dead;
                }
            }
            if right_wall {
                let l = prev_higher[k].wrapping_add(1);
                let well = sky[l..=k].iter().all(|&h| h == y).then_some((l, k + 1));
                if !consider(from_right(l), well) {
                    return Branch::Dead;
                }
            }
        }
        match best {
            Some((y, c)) => Branch::On(y, c),
            None => Branch::Dead,
        }
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
