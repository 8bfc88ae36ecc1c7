//! One independent sub-problem, prepared once for every search over it.
//!
//! Buffers get dense local indices `0..n`. Time is cut into *sections* at
//! every start and end of a live segment, so a buffer is live on whole
//! sections only and its segments become ranges of section indices:
//!
//! ```text
//!  time     0   2   3       6   8
//!  sections | 0 | 1 |   2   | 3 |
//!  a        [=======)               a: sections [0, 2)
//!  b            [===========)       b: sections [1, 3)
//!  c        [===)   [===========)   c: gap [2, 3): sections [0, 1) and [2, 4)
//! ```
//!
//! Invariants the search relies on:
//! * `spans(u)` are disjoint, sorted, non-empty section ranges;
//! * `neighbours(u)` are exactly the buffers live in a common section;
//! * `obstacles(u)` are the `[offset, offset + size)` ranges of the fixed
//!   buffers that interfere with `u`, sorted;
//! * two buffers share a `class` only when they are interchangeable: same
//!   size, alignment and live sections, neither fixed.

use smemplan_core::arith::{align_up, gcd};
use smemplan_core::interference::Neighbours;
use smemplan_core::problem::{BufferId, Problem};
use std::collections::HashMap;

/// A sub-problem in the shape the search wants.
pub(super) struct Instance {
    /// Local index to problem id.
    pub ids: Vec<BufferId>,
    /// Sizes in bytes.
    pub size: Vec<u64>,
    /// Alignments (powers of two).
    pub align: Vec<u64>,
    /// Fixed offsets.
    pub fixed: Vec<Option<u64>>,
    /// Interchangeability classes (dense, `0..classes`).
    pub class: Vec<u32>,
    /// Number of classes.
    pub classes: usize,
    /// Per buffer: the buffers (itself included) live in exactly the same
    /// sections, neither fixed, by index.
    stack_start: Vec<u32>,
    stack_list: Vec<u32>,
    /// Number of time sections.
    pub sections: usize,
    /// Whether branching on the floor alone is exact here (see
    /// [`super::ExactParams::floor_first`]): nothing fixed, and alignment
    /// never moves an offset because every size is a multiple of the largest
    /// alignment.
    pub floor_first_exact: bool,
    /// Every peak a canonical layout can have is a multiple of this (1 when
    /// fixed offsets or alignment padding break the rule).
    pub granule: u64,
    /// Max live bytes over the sections, fixed tops included.
    pub lower_bound: u64,
    /// Per buffer: where its (buffer, live section) pairs start in a flat
    /// array of all such pairs (see [`Instance::pair`]).
    pub pair_start: Vec<u32>,
    /// Per buffer: its first section.
    pub first_section: Vec<u32>,
    /// Per buffer: the number of sections it is live in.
    pub live_sections: Vec<u32>,
    /// Sum of the lengths of all live section ranges (a cost estimate).
    pub total_span: usize,
    /// Candidate orders: `orders[k][u]` is buffer `u`'s rank in order `k`
    /// (ties broken by index): 0 largest first, 1 heaviest section first
    /// then largest area, 2 longest lifetime first, 3 heaviest section
    /// first then longest.
    pub orders: Vec<Vec<u32>>,
    span_start: Vec<u32>,
    span_list: Vec<(u32, u32)>,
    live_start: Vec<u32>,
    live_list: Vec<u32>,
    nb_start: Vec<u32>,
    nb_list: Vec<u32>,
    obs_start: Vec<u32>,
    obs_list: Vec<(u64, u64)>,
}

/// How many candidate orders [`Instance::new`] prepares (see
/// [`Instance::orders`]).
pub(super) const ORDERS: usize = 4;

impl Instance {
    /// Prepares the sub-problem made of `ids` (sorted, non-empty).
    pub fn new(problem: &Problem, ids: &[BufferId]) -> Instance {
        let sub = problem.subproblem(ids);
        let n = ids.len();
        let bufs = sub.buffers();
        let mut times: Vec<u64> = bufs.iter().flat_map(|b| b.segments().flat_map(|s| [s.start, s.end])).collect();
        times.sort_unstable();
        times.dedup();
        let sections = times.len().saturating_sub(1);
        let at = |t: u64| times.binary_search(&t).unwrap_or(0) as u32;

        let mut span_start = Vec::with_capacity(n + 1);
        let mut span_list = Vec::with_capacity(n);
        for b in bufs {
            span_start.push(span_list.len() as u32);
            span_list.extend(b.segments().map(|s| (at(s.start), at(s.end))));
        }
        span_start.push(span_list.len() as u32);
        let total_span = span_list.iter().map(|&(a, b)| (b - a) as usize).sum();
        let live_sections: Vec<u32> = (0..n)
            .map(|u| span_list[span_start[u] as usize..span_start[u + 1] as usize].iter().map(|&(a, b)| b - a).sum())
            .collect();

        let nb = Neighbours::new(&sub);
        let mut nb_start = Vec::with_capacity(n + 1);
        let mut nb_list = Vec::with_capacity(2 * nb.edge_count());
        let mut obs_start = Vec::with_capacity(n + 1);
        let mut obs_list = Vec::new();
        for u in 0..n {
            nb_start.push(nb_list.len() as u32);
            obs_start.push(obs_list.len() as u32);
            let from = obs_list.len();
            for &v in nb.of(BufferId(u as u32)) {
                nb_list.push(v.0);
                let vb = &bufs[v.index()];
                if let Some(off) = vb.offset {
                    // `Problem::new` checked that a fixed offset + size fits.
                    obs_list.push((off, off + vb.size));
                }
            }
            obs_list[from..].sort_unstable();
        }
        nb_start.push(nb_list.len() as u32);
        obs_start.push(obs_list.len() as u32);

        let size: Vec<u64> = bufs.iter().map(|b| b.size).collect();
        let align: Vec<u64> = bufs.iter().map(|b| b.alignment).collect();
        let fixed: Vec<Option<u64>> = bufs.iter().map(|b| b.offset).collect();

        let mut class = vec![0u32; n];
        // Keyed by (size, alignment, live sections).
        type ShapeKey<'s> = (u64, u64, &'s [(u32, u32)]);
        let mut seen: HashMap<ShapeKey, u32> = HashMap::new();
        let mut classes = 0u32;
        for u in 0..n {
            if fixed[u].is_some() {
                class[u] = classes;
                classes += 1;
                continue;
            }
            let spans = &span_list[span_start[u] as usize..span_start[u + 1] as usize];
            class[u] = *seen.entry((size[u], align[u], spans)).or_insert_with(|| {
                classes += 1;
                classes - 1
            });
        }

        let mut by_spans: HashMap<&[(u32, u32)], Vec<u32>> = HashMap::new();
        for u in (0..n).filter(|&u| fixed[u].is_none()) {
            by_spans.entry(&span_list[span_start[u] as usize..span_start[u + 1] as usize]).or_default().push(u as u32);
        }
        let mut stack_start = Vec::with_capacity(n + 1);
        let mut stack_list = Vec::new();
        for u in 0..n {
            stack_start.push(stack_list.len() as u32);
            if fixed[u].is_none() {
                stack_list.extend(&by_spans[&span_list[span_start[u] as usize..span_start[u + 1] as usize]]);
            }
        }
        stack_start.push(stack_list.len() as u32);

        let max_align = align.iter().copied().max().unwrap_or(1);
        let any_fixed = fixed.iter().any(Option::is_some);
        let aligned_sizes = size.iter().all(|&s| s % max_align == 0);
        let floor_first_exact = !any_fixed && aligned_sizes;
        let granule = if floor_first_exact { size.iter().copied().fold(0, gcd).max(1) } else { 1 };

        let mut live = vec![0u64; sections];
        for (u, &s) in size.iter().enumerate() {
            for &(a, b) in &span_list[span_start[u] as usize..span_start[u + 1] as usize] {
                for l in &mut live[a as usize..b as usize] {
                    *l += s;
                }
            }
        }
        // `Problem::new` checked that a fixed offset + size fits.
        let fixed_top = (0..n).filter_map(|u| fixed[u].map(|o| o + size[u])).max().unwrap_or(0);
        let lower_bound = live.iter().copied().max().unwrap_or(0).max(fixed_top);

        let mut live_start = vec![0u32; sections + 1];
        for u in 0..n {
            for &(a, b) in &span_list[span_start[u] as usize..span_start[u + 1] as usize] {
                for s in a..b {
                    live_start[s as usize + 1] += 1;
                }
            }
        }
        for s in 0..sections {
            live_start[s + 1] += live_start[s];
        }
        let mut fill = live_start.clone();
        let mut live_list = vec![0u32; live_start[sections] as usize];
        for u in 0..n {
            for &(a, b) in &span_list[span_start[u] as usize..span_start[u + 1] as usize] {
                for s in a..b {
                    live_list[fill[s as usize] as usize] = u as u32;
                    fill[s as usize] += 1;
                }
            }
        }

        // The heaviest section a buffer is live in.
        let total: Vec<u64> = (0..n)
            .map(|u| {
                span_list[span_start[u] as usize..span_start[u + 1] as usize]
                    .iter()
                    .flat_map(|&(a, b)| live[a as usize..b as usize].iter().copied())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let first = |u: usize| span_list[span_start[u] as usize].0 as u64;
        let length =
            |u: usize| (span_list[span_start[u + 1] as usize - 1].1 - span_list[span_start[u] as usize].0) as u64;
        let area = |u: usize| size[u].saturating_mul(length(u));
        let keys: [&dyn Fn(usize) -> [u64; 3]; ORDERS] = [
            // Largest first, then earliest, then longest.
            &|u| [u64::MAX - size[u], first(u), u64::MAX - length(u)],
            // Heaviest section first, then largest area, then longest.
            &|u| [u64::MAX - total[u], u64::MAX - area(u), u64::MAX - length(u)],
            // Longest first, then largest, then earliest.
            &|u| [u64::MAX - length(u), u64::MAX - size[u], first(u)],
            // Heaviest section first, then longest, then largest area.
            &|u| [u64::MAX - total[u], u64::MAX - length(u), u64::MAX - area(u)],
        ];
        let orders = keys
            .iter()
            .map(|key| {
                let mut by: Vec<usize> = (0..n).collect();
                by.sort_by_key(|&u| (key(u), u));
                let mut rank = vec![0u32; n];
                for (r, &u) in by.iter().enumerate() {
                    rank[u] = r as u32;
                }
                rank
            })
            .collect();

        Instance {
            ids: ids.to_vec(),
            size,
            align,
            fixed,
            class,
            classes: classes as usize,
            stack_start,
            stack_list,
            sections,
            floor_first_exact,
            granule,
            lower_bound,
            pair_start: {
                let mut at = 0u32;
                let mut starts: Vec<u32> = live_sections
                    .iter()
                    .map(|&k| {
                        at += k;
                        at - k
                    })
                    .collect();
                starts.push(at);
                starts
            },
            first_section: (0..n).map(|u| span_list[span_start[u] as usize].0).collect(),
            live_sections,
            total_span,
            orders,
            span_start,
            span_list,
            live_start,
            live_list,
            nb_start,
            nb_list,
            obs_start,
            obs_list,
        }
    }

    /// Number of buffers.
    pub fn len(&self) -> usize {
        self.size.len()
    }

    /// The live section ranges of `u`.
    #[inline]
    pub fn spans(&self, u: usize) -> &[(u32, u32)] {
        &self.span_list[self.span_start[u] as usize..self.span_start[u + 1] as usize]
    }

    /// The first section of `u` and one past its last.
    #[inline]
    pub fn hull(&self, u: usize) -> (u32, u32) {
        let spans = self.spans(u);
        (spans[0].0, spans[spans.len() - 1].1)
    }

    /// Order `k` shaken by `seed`: each rank moves down by a pseudo-random
    /// amount below `spread`, so the order keeps its drift but near-ties
    /// fall differently (deterministic in `seed`).
    pub fn shaken_order(&self, k: usize, seed: u64, spread: u64) -> Vec<u32> {
        let n = self.len();
        let base = &self.orders[k];
        let spread = spread.max(1);
        let key = |u: usize| base[u] as u64 + mix(seed ^ (u as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)) % spread;
        let mut by: Vec<usize> = (0..n).collect();
        by.sort_by_key(|&u| (key(u), u));
        let mut rank = vec![0u32; n];
        for (r, &u) in by.iter().enumerate() {
            rank[u] = r as u32;
        }
        rank
    }

    /// The buffers live in exactly the sections of `u` (itself included).
    #[inline]
    pub fn same_spans(&self, u: usize) -> &[u32] {
        &self.stack_list[self.stack_start[u] as usize..self.stack_start[u + 1] as usize]
    }

    /// The index of the pair (`u`, section `s`) among all pairs, `s` being
    /// a live section of `u`.
    #[inline]
    pub fn pair(&self, u: usize, s: u32) -> usize {
        let mut k = self.pair_start[u] as usize;
        for &(a, b) in self.spans(u) {
            if s < b {
                return k + (s - a) as usize;
            }
            k += (b - a) as usize;
        }
        k
    }

    /// Where section `s`'s buffers start in the flat list of
    /// [`Instance::live_in`].
    #[inline]
    pub fn live_offset(&self, s: usize) -> usize {
        self.live_start[s] as usize
    }

    /// The buffers live in section `s`, by index.
    #[inline]
    pub fn live_in(&self, s: usize) -> &[u32] {
        &self.live_list[self.live_start[s] as usize..self.live_start[s + 1] as usize]
    }

    /// Whether `u` is live in section `s`.
    #[inline]
    pub fn covers(&self, u: usize, s: u32) -> bool {
        self.spans(u).iter().any(|&(a, b)| a <= s && s < b)
    }

    /// The buffers interfering with `u`.
    #[inline]
    pub fn neighbours(&self, u: usize) -> &[u32] {
        &self.nb_list[self.nb_start[u] as usize..self.nb_start[u + 1] as usize]
    }

    /// The lowest aligned offset `>= base` at which `u` clears every fixed
    /// buffer it interferes with; `None` past `u64`.
    #[inline]
    pub fn fit(&self, u: usize, base: u64) -> Option<u64> {
        let mut at = align_up(base, self.align[u])?;
        let obstacles = &self.obs_list[self.obs_start[u] as usize..self.obs_start[u + 1] as usize];
        for &(lo, hi) in obstacles {
            if hi <= at {
                continue;
            }
            if at.checked_add(self.size[u])? <= lo {
                break;
            }
            at = align_up(hi, self.align[u])?;
        }
        Some(at)
    }
}

/// SplitMix64's finaliser: a well-mixed 64-bit hash.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
