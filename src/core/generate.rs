//! Random *valid* problems, deterministic from a seed: the one generator the
//! unit and property tests and the benches share.
//!
//! Every problem drawn here is accepted by [`Problem::new`] (no generated
//! case is thrown away): lifetimes are non-empty and inside the timeline,
//! gaps lie strictly inside their lifetime, alignments are powers of two,
//! and fixed offsets never collide. The only error left is an overflow:
//! options that ask for more bytes in all than `u64` holds.
//!
//! Fixed offsets are given as a first-fit allocator would: fixed buffers are
//! taken by lifetime start, and each gets the lowest aligned address range
//! clear of the fixed buffers whose lifetimes (gaps ignored) are still
//! running, so two of them share addresses only when their lifetimes are
//! disjoint:
//!
//! ```text
//!  address
//!     ^      +-------+
//!     |      |   g   |         f, g, h fixed; g starts while f runs:
//!     +------+--+----+-+       it goes above f. h starts after f has
//!     |   f     |  |   h   |   ended: the hole at 0 holds it.
//!   0 +---------+--+-------+--> time
//! ```
//!
//! The random source is SplitMix64, and every draw is integer arithmetic
//! (log-uniform values are drawn by octave), so a seed gives the same
//! problem on every platform. Options out of range are clamped, as each
//! field says, rather than rejected.

use crate::arith::align_up;
use crate::error::{Error, Result};
use crate::format::minimalloc;
use crate::problem::{Buffer, Interval, Problem};

/// How a positive quantity (a lifetime length, a size) is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spread {
    /// Every value of `min..=max` equally likely.
    Uniform {
        /// Smallest value (raised to 1).
        min: u64,
        /// Largest value (raised to `min`).
        max: u64,
    },
    /// Every octave `[2^k, 2^(k+1))` meeting `min..=max` equally likely,
    /// then uniform inside it: many small values and a long tail.
    LogUniform {
        /// Smallest value (raised to 1).
        min: u64,
        /// Largest value (raised to `min`).
        max: u64,
    },
}

impl Spread {
    /// The bounds after clamping: `1 <= min <= max`.
    fn bounds(self) -> (u64, u64) {
        let (Spread::Uniform { min, max } | Spread::LogUniform { min, max }) = self;
        let min = min.max(1);
        (min, max.max(min))
    }

    fn sample(self, rng: &mut SplitMix64) -> u64 {
        let (min, max) = self.bounds();
        match self {
            Spread::Uniform { .. } => rng.between(min, max),
            Spread::LogUniform { .. } => {
                let (lo, hi) = (min.ilog2(), max.ilog2());
                let k = rng.between(u64::from(lo), u64::from(hi)) as u32;
                let octave_top = if k == 63 { u64::MAX } else { (1u64 << (k + 1)) - 1 };
                rng.between(min.max(1 << k), max.min(octave_top))
            }
        }
    }
}

/// What kind of problem to draw. Field comments give the defaults, which
/// aim at a realistic kernel: a bounded number of buffers live at once
/// (about 25 on average), sizes from bytes to tens of KiB, a few aligned, gapped or
/// pinned buffers.
#[derive(Debug, Clone, PartialEq)]
pub struct GenOptions {
    /// Number of buffers (1000).
    pub buffers: usize,
    /// Length of the timeline `[0, timeline)`; `None` (the default) means as
    /// many instants as buffers, so the density of live buffers does not
    /// change with `buffers`. Raised to 1.
    pub timeline: Option<u64>,
    /// Lifetime lengths (log-uniform on 1..=100), cut to the timeline.
    pub lifetimes: Spread,
    /// Sizes in bytes (log-uniform on 1..=65536).
    pub sizes: Spread,
    /// Probability that a buffer has an alignment above 1 (0.25).
    pub alignment_probability: f64,
    /// Largest alignment drawn, rounded down to a power of two (16);
    /// alignments are `2^k`, `k` uniform in `1..=log2(max_alignment)`.
    pub max_alignment: u64,
    /// Probability that a buffer of lifetime at least 3 has a gap (0.05);
    /// after each gap, another with the same probability while the lifetime
    /// has room for one.
    pub gap_probability: f64,
    /// Probability that a buffer has a fixed offset (0.01).
    pub fixed_probability: f64,
    /// The problem's capacity (`None`).
    pub capacity: Option<u64>,
}

impl Default for GenOptions {
    fn default() -> Self {
        GenOptions {
            buffers: 1000,
            timeline: None,
            lifetimes: Spread::LogUniform { min: 1, max: 100 },
            sizes: Spread::LogUniform { min: 1, max: 65536 },
            alignment_probability: 0.25,
            max_alignment: 16,
            gap_probability: 0.05,
            fixed_probability: 0.01,
            capacity: None,
        }
    }
}

/// Draws a problem. Buffers are named `b0`, `b1`, … in input order.
///
/// Errors only when the drawn sizes (plus fixed offsets and alignment
/// padding) add up to more than `u64` holds.
pub fn generate(options: &GenOptions, seed: u64) -> Result<Problem> {
    let mut rng = SplitMix64(seed);
    let timeline = options.timeline.unwrap_or(options.buffers as u64).max(1);
    let max_shift = match options.max_alignment {
        0 | 1 => 0,
        a => a.ilog2(),
    };
    let mut buffers = Vec::with_capacity(options.buffers);
    let mut fixed = Vec::new();
    for i in 0..options.buffers {
        let len = options.lifetimes.sample(&mut rng).min(timeline);
        let start = rng.between(0, timeline - len);
        let end = start + len;
        let size = options.sizes.sample(&mut rng);
        let mut b = Buffer::new(format!("b{i}"), start, end, size);
        if max_shift > 0 && rng.chance(options.alignment_probability) {
            b.alignment = 1 << rng.between(1, u64::from(max_shift));
        }
        // Each gap leaves at least one live instant before and after it.
        let mut from = start + 1;
        while end >= from + 2 && rng.chance(options.gap_probability) {
            let lo = rng.between(from, end - 2);
            let hi = rng.between(lo + 1, end - 1);
            b.gaps.push(Interval::new(lo, hi));
            from = hi + 1;
        }
        if rng.chance(options.fixed_probability) {
            fixed.push(i);
        }
        buffers.push(b);
    }
    pin(&mut buffers, fixed)?;
    Problem::new(buffers, options.capacity)
}

/// Draws a problem and writes it as MiniMalloc CSV (see
/// [`minimalloc::write`]).
pub fn csv(options: &GenOptions, seed: u64) -> Result<String> {
    Ok(minimalloc::write(&generate(options, seed)?, None))
}

/// Gives the buffers at `fixed` (indices) offsets by first fit over the
/// running lifetimes (see the module docs).
fn pin(buffers: &mut [Buffer], mut fixed: Vec<usize>) -> Result<()> {
    fixed.sort_by_key(|&i| (buffers[i].lifetime.start, i));
    // (start address, end address, lifetime end) of the fixed buffers placed
    // so far whose lifetimes may still be running, sorted by address.
    let mut running: Vec<(u64, u64, u64)> = Vec::new();
    for i in fixed {
        let b = &buffers[i];
        running.retain(|&(_, _, end)| end > b.lifetime.start);
        let overflow = || Error::Overflow(format!("fixed offset of generated buffer `{}`", b.name));
        let mut offset = 0u64;
        for &(lo, hi, _) in &running {
            if offset.checked_add(b.size).ok_or_else(overflow)? <= lo {
                break;
            }
            offset = align_up(offset.max(hi), b.alignment).ok_or_else(overflow)?;
        }
        let reach = offset.checked_add(b.size).ok_or_else(overflow)?;
        let at = running.partition_point(|&(lo, _, _)| lo < offset);
        running.insert(at, (offset, reach, b.lifetime.end));
        buffers[i].offset = Some(offset);
    }
    Ok(())
}

/// SplitMix64 (Steele, Lea and Flood): tiny, fast, and good enough to draw
/// test problems. Public so that every test draws from the same source.
#[derive(Debug, Clone)]
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform on `lo..=hi` (`lo <= hi`), by multiply-high: a bias below
    /// `span / 2^64`, irrelevant here.
    pub fn between(&mut self, lo: u64, hi: u64) -> u64 {
        let x = self.next_u64();
        match (hi - lo).checked_add(1) {
            Some(span) => lo + ((u128::from(x) * u128::from(span)) >> 64) as u64,
            None => x,
        }
    }

    /// True with probability `p` (clamped to `[0, 1]`; NaN counts as 0).
    pub fn chance(&mut self, p: f64) -> bool {
        let unit = (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        unit < p
    }
}

// ---------------------------------------------------------------------------
// ML-trace-like problems and tilings with a known optimum (issue 20).

/// Options of [`trace`]: a problem shaped like the allocation trace of an
/// ML training or inference graph. Field comments give the defaults.
///
/// Operators run one an instant; each produces about two buffers
/// (activations) that are read by the next few operators and then die, so
/// most lifetimes are short. A fraction are kept for the backward pass:
/// one produced at instant `t` of the forward half lives until the mirrored
/// instant of the backward half, which gives a training trace its mountain
/// of live bytes. Weights live throughout. Sizes are heavy-tailed (a
/// Pareto-like law drawn by octave: each octave above the smallest is
/// reached with probability `tail`), rounded up to `alignment`.
///
/// The defaults are tuned so that the best greedy layout is often a little
/// above the lower bound (up to a few per cent), as on real traces.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceOptions {
    /// Number of buffers (20,000).
    pub buffers: usize,
    /// Fraction of buffers live throughout: the weights (0.02).
    pub weights: f64,
    /// Fraction of the other buffers saved for the backward pass (0.1).
    pub saved: f64,
    /// Smallest size in bytes (256), also the bottom of the first octave.
    pub min_size: u64,
    /// Probability of each further octave of size (0.6): the tail's
    /// weight. Clamped to `[0, 0.95]`.
    pub tail: f64,
    /// Most octaves above `min_size` (12).
    pub octaves: u32,
    /// Sizes are rounded up to a multiple of this (256; raised to 1).
    pub alignment: u64,
    /// Short lifetimes: each instant past the first survives with this
    /// probability (0.85), capped at 64 instants. Clamped to `[0, 0.95]`.
    pub survival: f64,
}

impl Default for TraceOptions {
    fn default() -> Self {
        TraceOptions {
            buffers: 20_000,
            weights: 0.02,
            saved: 0.1,
            min_size: 256,
            tail: 0.6,
            octaves: 12,
            alignment: 256,
            survival: 0.85,
        }
    }
}

/// Draws an ML-trace-like problem (see [`TraceOptions`]). Buffers are named
/// `w0`, `w1`, … (weights) and `a0`, `a1`, … (activations); no alignment,
/// gaps or fixed offsets (sizes are already multiples of the alignment).
///
/// Errors only when the sizes add up to more than `u64` holds.
pub fn trace(options: &TraceOptions, seed: u64) -> Result<Problem> {
    let mut rng = SplitMix64(seed);
    let n = options.buffers;
    let align = options.alignment.max(1);
    let tail = options.tail.clamp(0.0, 0.95);
    let survival = options.survival.clamp(0.0, 0.95);
    let weights = (n as f64 * options.weights.clamp(0.0, 1.0)).round() as usize;
    let activations = n - weights.min(n);
    // About two activations an operator; the timeline is at least 2 long so
    // that both halves (forward, backward) exist.
    let timeline = (activations as u64 / 2).max(2);
    let size = |rng: &mut SplitMix64| -> Result<u64> {
        let mut k = 0;
        while k < options.octaves && rng.chance(tail) {
            k += 1;
        }
        let low = options.min_size.max(1).checked_shl(k).filter(|l| l.leading_zeros() > 0);
        let low = low.ok_or_else(|| Error::Overflow("generated trace size".into()))?;
        let raw = rng.between(low, 2 * low - 1);
        // Any multiple, not only a power of two (`align_up`'s kind).
        raw.div_ceil(align).checked_mul(align).ok_or_else(|| Error::Overflow("generated trace size".into()))
    };
    let mut buffers = Vec::with_capacity(n);
    for i in 0..weights.min(n) {
        buffers.push(Buffer::new(format!("w{i}"), 0, timeline, size(&mut rng)?));
    }
    for i in 0..activations {
        // Produced in operator order, so lifetimes start in step with `i`.
        let start = (i as u64 / 2).min(timeline - 1);
        let end = if start < timeline / 2 && rng.chance(options.saved) {
            timeline - start
        } else {
            let mut len = 1;
            while len < 64 && rng.chance(survival) {
                len += 1;
            }
            (start + len).min(timeline)
        };
        buffers.push(Buffer::new(format!("a{i}"), start, end, size(&mut rng)?));
    }
    Problem::new(buffers, None)
}

/// Options of [`tiling`]: buffers that tile a time × address rectangle
/// exactly. Field comments give the defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct TilingOptions {
    /// Number of buffers (1000), at least 1.
    pub buffers: usize,
    /// Fraction of the buffers that belong to five-piece pinwheels (0.0);
    /// the rest come from straight cuts. Clamped to `[0, 1]`; fewer
    /// pinwheels are made when too few pieces are at least 3 × 3.
    pub pinwheels: f64,
    /// Length of the timeline: the rectangle's width (`None`: the height,
    /// a square of instants × bytes; raised to the buffers' number). On a
    /// timeline of few instants (as many as buffers, say) cuts land on the
    /// same instant by chance, so unrelated buffers start and end together:
    /// a harder class, where edges that line up tell a search little.
    pub timeline: Option<u64>,
    /// The rectangle's height in bytes: the optimum peak (1 MiB; raised to
    /// the buffers' number).
    pub height: u64,
}

impl Default for TilingOptions {
    fn default() -> Self {
        TilingOptions { buffers: 1000, pinwheels: 0.0, timeline: None, height: 1 << 20 }
    }
}

/// A problem whose optimum is known: its buffers tile `[0, timeline) ×
/// [0, height)` exactly, so at every instant the live buffers need exactly
/// `height` bytes (the lower bound), and `offsets` packs them in that much.
#[derive(Debug, Clone, PartialEq)]
pub struct Tiling {
    /// The problem (no capacity: ask for `height` to test a solver).
    pub problem: Problem,
    /// Offsets, by buffer id, that tile the rectangle: a layout of peak
    /// `height`.
    pub offsets: Vec<u64>,
    /// The rectangle's height: the optimum peak.
    pub height: u64,
    /// Buffers that belong to pinwheels.
    pub in_pinwheels: usize,
}

/// A rectangle `[x0, x1) × [y0, y1)` of time × address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Rect {
    x0: u64,
    x1: u64,
    y0: u64,
    y1: u64,
}

impl Rect {
    /// Its area: cutting the largest piece next keeps pieces alike.
    fn area(&self) -> u128 {
        u128::from(self.x1 - self.x0) * u128::from(self.y1 - self.y0)
    }
}

/// Cuts the largest piece of `heap` (area, index into `pieces`) in two
/// until there are `count` pieces: across its relatively longer side (as a
/// fraction of the whole rectangle, `whole`), in its middle half.
fn cut(
    pieces: &mut Vec<Rect>,
    heap: &mut std::collections::BinaryHeap<(u128, usize)>,
    count: usize,
    whole: (u64, u64),
    rng: &mut SplitMix64,
) {
    while pieces.len() < count {
        let Some((_, i)) = heap.pop() else { return };
        let r = pieces[i];
        let (w, h) = (r.x1 - r.x0, r.y1 - r.y0);
        let across_time =
            h < 2 || (w >= 2 && u128::from(w) * u128::from(whole.1) >= u128::from(h) * u128::from(whole.0));
        let (lo, hi) = if across_time { (r.x0, r.x1) } else { (r.y0, r.y1) };
        if hi - lo < 2 {
            continue; // 1 × 1: stays whole
        }
        let quarter = ((hi - lo) / 4).max(1);
        let at = rng.between(lo + quarter, hi - quarter);
        let (a, b) = if across_time {
            (Rect { x1: at, ..r }, Rect { x0: at, ..r })
        } else {
            (Rect { y1: at, ..r }, Rect { y0: at, ..r })
        };
        pieces[i] = a;
        heap.push((a.area(), i));
        heap.push((b.area(), pieces.len()));
        pieces.push(b);
    }
}

/// Draws a tiling (see [`TilingOptions`]).
///
/// Straight (guillotine) cuts split the largest piece (relative to the
/// rectangle) across its relatively longer side, somewhere in its middle
/// half, until there are as many pieces as buffers less four per pinwheel;
/// then randomly chosen pieces of at least 3 × 3 become pinwheels: four
/// pieces turning around a fifth, which no sequence of straight cuts
/// produces:
///
/// ```text
///   +------+-----------+
///   |      |     C     |
///   |  D   +----+------+
///   |      | E  |      |
///   +------+----+  B   |
///   |    A      |      |
///   +-----------+------+
/// ```
///
/// Buffers are shuffled, named `t0`, `t1`, … in that order.
pub fn tiling(options: &TilingOptions, seed: u64) -> Result<Tiling> {
    let mut rng = SplitMix64(seed);
    let n = options.buffers.max(1);
    let height = options.height.max(n as u64);
    let width = options.timeline.unwrap_or(height).max(n as u64);
    let wanted = ((n as f64 * options.pinwheels.clamp(0.0, 1.0)) / 5.0).floor() as usize;
    let mut pieces = vec![Rect { x0: 0, x1: width, y0: 0, y1: height }];
    let mut heap = std::collections::BinaryHeap::new();
    heap.push((pieces[0].area(), 0usize));
    cut(&mut pieces, &mut heap, n - 4 * wanted, (width, height), &mut rng);
    // Pinwheels from randomly chosen pieces big enough for one.
    let mut eligible: Vec<usize> =
        (0..pieces.len()).filter(|&i| pieces[i].x1 - pieces[i].x0 >= 3 && pieces[i].y1 - pieces[i].y0 >= 3).collect();
    shuffle(&mut eligible, &mut rng);
    eligible.truncate(wanted);
    for &i in &eligible {
        let r = pieces[i];
        let (xa, xb) = two_inside(r.x0, r.x1, &mut rng);
        let (ya, yb) = two_inside(r.y0, r.y1, &mut rng);
        pieces[i] = Rect { x0: r.x0, x1: xb, y0: r.y0, y1: ya }; // A
        pieces.push(Rect { x0: xb, x1: r.x1, y0: r.y0, y1: yb }); // B
        pieces.push(Rect { x0: xa, x1: r.x1, y0: yb, y1: r.y1 }); // C
        pieces.push(Rect { x0: r.x0, x1: xa, y0: ya, y1: r.y1 }); // D
        pieces.push(Rect { x0: xa, x1: xb, y0: ya, y1: yb }); // E
    }
    let in_pinwheels = 5 * eligible.len();
    if pieces.len() < n {
        // Too few pieces were big enough: cut the others (never a
        // pinwheel's) up to the count.
        let mut rest = std::collections::BinaryHeap::new();
        for (i, r) in pieces.iter().enumerate().take(n - 4 * wanted) {
            if !eligible.contains(&i) {
                rest.push((r.area(), i));
            }
        }
        cut(&mut pieces, &mut rest, n, (width, height), &mut rng);
    }
    let mut order: Vec<usize> = (0..pieces.len()).collect();
    shuffle(&mut order, &mut rng);
    let mut buffers = Vec::with_capacity(order.len());
    let mut offsets = Vec::with_capacity(order.len());
    for (k, &i) in order.iter().enumerate() {
        let r = pieces[i];
        buffers.push(Buffer::new(format!("t{k}"), r.x0, r.x1, r.y1 - r.y0));
        offsets.push(r.y0);
    }
    Ok(Tiling { problem: Problem::new(buffers, None)?, offsets, height, in_pinwheels })
}

/// Two cut points strictly inside `[lo, hi)` (`hi - lo >= 3`): `lo < a < b < hi`.
fn two_inside(lo: u64, hi: u64, rng: &mut SplitMix64) -> (u64, u64) {
    let a = rng.between(lo + 1, hi - 2);
    let b = rng.between(a + 1, hi - 1);
    (a, b)
}

/// Fisher–Yates with the crate's random source.
fn shuffle<T>(items: &mut [T], rng: &mut SplitMix64) {
    for i in (1..items.len()).rev() {
        let j = rng.between(0, i as u64) as usize;
        items.swap(i, j);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_problem() {
        let o = GenOptions { buffers: 200, ..Default::default() };
        assert_eq!(generate(&o, 7).unwrap(), generate(&o, 7).unwrap());
        assert_ne!(generate(&o, 7).unwrap(), generate(&o, 8).unwrap());
    }

    #[test]
    fn draws_every_feature_within_bounds() {
        let o = GenOptions {
            buffers: 2000,
            timeline: Some(500),
            lifetimes: Spread::Uniform { min: 5, max: 40 },
            sizes: Spread::LogUniform { min: 3, max: 1000 },
            alignment_probability: 0.5,
            max_alignment: 64,
            gap_probability: 0.5,
            fixed_probability: 0.2,
            capacity: Some(12345),
        };
        let p = generate(&o, 1).unwrap();
        assert_eq!(p.len(), 2000);
        assert_eq!(p.capacity(), Some(12345));
        let bs = p.buffers();
        assert!(bs.iter().all(|b| (5..=40).contains(&b.lifetime.len()) && b.lifetime.end <= 500));
        assert!(bs.iter().all(|b| (3..=1000).contains(&b.size) && b.alignment <= 64));
        for (what, count) in [
            ("aligned", bs.iter().filter(|b| b.alignment > 1).count()),
            ("gapped", bs.iter().filter(|b| !b.gaps.is_empty()).count()),
            ("twice gapped", bs.iter().filter(|b| b.gaps.len() > 1).count()),
            ("fixed", bs.iter().filter(|b| b.offset.is_some()).count()),
            ("small", bs.iter().filter(|b| b.size < 8).count()),
            ("large", bs.iter().filter(|b| b.size > 500).count()),
        ] {
            assert!(count > 20, "only {count} {what} buffers");
        }
    }

    #[test]
    fn log_uniform_covers_every_octave() {
        let mut rng = SplitMix64(3);
        let spread = Spread::LogUniform { min: 1, max: 1 << 20 };
        let mut octaves = [0u32; 21];
        for _ in 0..10_000 {
            let v = spread.sample(&mut rng);
            assert!((1..=1 << 20).contains(&v));
            octaves[v.ilog2() as usize] += 1;
        }
        // About 476 a bucket, except the top one, which holds 2^20 alone.
        assert!(octaves[..20].iter().all(|&c| c > 350), "{octaves:?}");
    }

    #[test]
    fn clamps_degenerate_options() {
        let o = GenOptions {
            buffers: 50,
            timeline: Some(0),
            lifetimes: Spread::Uniform { min: 0, max: 0 },
            sizes: Spread::LogUniform { min: 9, max: 2 },
            alignment_probability: f64::NAN,
            max_alignment: 0,
            gap_probability: 2.0,
            fixed_probability: -1.0,
            capacity: None,
        };
        let p = generate(&o, 5).unwrap();
        assert!(p.buffers().iter().all(|b| b.lifetime == Interval::new(0, 1) && b.size == 9 && b.gaps.is_empty()));
        assert_eq!(generate(&GenOptions { buffers: 0, ..o }, 5).unwrap().len(), 0);
    }

    #[test]
    fn fixed_offsets_stack_over_running_lifetimes() {
        let o = GenOptions { buffers: 300, fixed_probability: 1.0, max_alignment: 1, ..Default::default() };
        let p = generate(&o, 11).unwrap();
        // Problem::new accepted them, so they do not collide; and first fit
        // reuses addresses once lifetimes end.
        assert!(p.buffers().iter().filter(|b| b.offset == Some(0)).count() > 10);
    }

    #[test]
    fn huge_sizes_overflow_cleanly() {
        let o = GenOptions {
            buffers: 4,
            sizes: Spread::Uniform { min: u64::MAX / 2, max: u64::MAX },
            ..Default::default()
        };
        let err = generate(&o, 0).unwrap_err();
        assert!(err.to_string().contains("overflow"), "{err}");
    }

    #[test]
    fn csv_reads_back_as_the_same_problem() {
        let o = GenOptions { buffers: 100, gap_probability: 0.3, fixed_probability: 0.1, ..Default::default() };
        let back = minimalloc::read_problem("<generated>", &csv(&o, 2).unwrap()).unwrap();
        assert_eq!(back.buffers(), generate(&o, 2).unwrap().buffers());
    }

    #[test]
    fn tilings_pack_exactly_at_their_height() {
        use crate::bound::lower_bound;
        use crate::check::verify;
        use crate::problem::Layout;
        for (buffers, pinwheels) in [(1, 0.0), (7, 0.0), (600, 0.0), (600, 0.3), (1000, 0.5), (2000, 0.2)] {
            for seed in 0..3 {
                let o = TilingOptions { buffers, pinwheels, ..TilingOptions::default() };
                let t = tiling(&o, seed).unwrap();
                assert_eq!(t.problem.len(), buffers, "{buffers} {pinwheels} {seed}");
                let wanted = (buffers as f64 * pinwheels / 5.0).floor() as usize * 5;
                assert_eq!(t.in_pinwheels, wanted, "{buffers} {pinwheels} {seed}");
                let layout = Layout::new(t.offsets.clone());
                assert_eq!(layout.peak(&t.problem), t.height);
                // Valid (the checker), peak = height = the lower bound.
                verify(&t.problem, &layout, t.height, t.height).unwrap();
                assert_eq!(lower_bound(&t.problem).bytes, t.height);
                // Area: the buffers cover the rectangle exactly, as wide as
                // it is high by default.
                let area: u128 =
                    t.problem.buffers().iter().map(|b| u128::from(b.size) * u128::from(b.lifetime.len())).sum();
                let width = t.problem.buffers().iter().map(|b| b.lifetime.end).max().unwrap();
                assert_eq!(width, t.height.max(buffers as u64));
                assert_eq!(area, u128::from(t.height) * u128::from(width));
            }
        }
        let o = TilingOptions { buffers: 300, pinwheels: 0.4, ..TilingOptions::default() };
        assert_eq!(tiling(&o, 5).unwrap(), tiling(&o, 5).unwrap());
        assert_ne!(tiling(&o, 5).unwrap(), tiling(&o, 6).unwrap());
    }

    #[test]
    fn pinwheels_are_not_guillotine() {
        // A pinwheel alone: no straight line crosses the rectangle without
        // cutting a piece, in either direction.
        let o = TilingOptions { buffers: 5, pinwheels: 1.0, timeline: Some(10), height: 10 };
        let t = tiling(&o, 3).unwrap();
        assert_eq!(t.in_pinwheels, 5);
        let bs = t.problem.buffers();
        for x in 1..10 {
            assert!(bs.iter().any(|b| b.lifetime.start < x && x < b.lifetime.end), "time cut at {x}");
        }
        for y in 1..10 {
            assert!(bs.iter().zip(&t.offsets).any(|(b, &o)| o < y && y < o + b.size), "address cut at {y}");
        }
    }

    #[test]
    fn traces_have_heavy_tails_short_lives_and_weights() {
        let o = TraceOptions { buffers: 10_000, ..TraceOptions::default() };
        let p = trace(&o, 1).unwrap();
        assert_eq!(p.len(), 10_000);
        assert_eq!(p, trace(&o, 1).unwrap());
        assert_ne!(p, trace(&o, 2).unwrap());
        let bs = p.buffers();
        let timeline = bs.iter().map(|b| b.lifetime.end).max().unwrap();
        let weights = bs.iter().filter(|b| b.name.starts_with('w')).count();
        assert_eq!(weights, 200);
        assert!(bs.iter().filter(|b| b.name.starts_with('w')).all(|b| b.lifetime == Interval::new(0, timeline)));
        assert!(bs.iter().all(|b| b.size % 256 == 0 && b.size >= 256));
        // Mostly short lives (a few operators of a timeline of about
        // 4,900), some saved for the backward pass.
        let short = bs.iter().filter(|b| b.lifetime.len() <= 16).count();
        assert!(short > bs.len() * 3 / 4, "only {short} short lifetimes");
        let long = bs.iter().filter(|b| b.name.starts_with('a') && b.lifetime.len() > timeline / 4).count();
        assert!(long > 200, "only {long} saved activations");
        // Heavy tail: most buffers small, yet the largest are hundreds of
        // times the median.
        let mut sizes: Vec<u64> = bs.iter().map(|b| b.size).collect();
        sizes.sort_unstable();
        assert!(sizes[sizes.len() - 1] > 200 * sizes[sizes.len() / 2], "{sizes:?}");
        // Any alignment is a multiple sizes are rounded up to, not only a
        // power of two.
        for alignment in [3, 100, 1000] {
            let p = trace(&TraceOptions { buffers: 500, alignment, ..TraceOptions::default() }, 1).unwrap();
            assert!(p.buffers().iter().all(|b| b.size % alignment == 0 && b.size >= 256), "{alignment}");
        }
    }
}

/// The dense family of issue 20, the large-scale greedy's benchmark:
/// buffer `i` is live in `[a, a + U(1, 5000))` with `a` uniform in
/// `[0, 10^6)`, and has size `s × U(1, 8)` with `s` drawn from
/// [`DENSE_BASES`]: `buffers / 400` live at an instant on average (250 of
/// 100,000: lifetimes average 2,500 instants of the 10^6; the issue's
/// "about 500" overstates it), with sizes from 4 bytes to 32 KiB. No alignment,
/// gaps or fixed offsets. Buffers are named `b0`, `b1`, … in input order;
/// the same seed gives the same problem on every platform.
pub fn dense(buffers: usize, seed: u64) -> Result<Problem> {
    let mut rng = SplitMix64(seed);
    let buffers = (0..buffers)
        .map(|i| {
            let start = rng.between(0, DENSE_TIMELINE - 1);
            let end = start + rng.between(1, DENSE_LIFETIME_MAX - 1);
            let base = DENSE_BASES[rng.between(0, DENSE_BASES.len() as u64 - 1) as usize];
            Buffer::new(format!("b{i}"), start, end, base * rng.between(1, 8))
        })
        .collect();
    Problem::new(buffers, None)
}

/// The number of buffers of the dense benchmark instance (about 250 live at
/// an instant).
pub const DENSE_BUFFERS: usize = 100_000;
/// The size bases of [`dense`]: a size is one of these times 1 to 8.
pub const DENSE_BASES: [u64; 7] = [4, 8, 16, 64, 256, 1024, 4096];
/// Starts of [`dense`] lie in `[0, DENSE_TIMELINE)`.
const DENSE_TIMELINE: u64 = 1_000_000;
/// Lifetimes of [`dense`] are shorter than this.
const DENSE_LIFETIME_MAX: u64 = 5000;

#[cfg(test)]
mod dense_tests {
    use super::*;

    #[test]
    fn dense_draws_the_family() {
        let p = dense(20_000, 3).unwrap();
        assert_eq!(p, dense(20_000, 3).unwrap());
        let bs = p.buffers();
        assert!(bs
            .iter()
            .all(|b| b.lifetime.start < DENSE_TIMELINE && (1..DENSE_LIFETIME_MAX).contains(&b.lifetime.len())));
        assert!(bs.iter().all(|b| DENSE_BASES.iter().any(|&s| b.size % s == 0 && (1..=8).contains(&(b.size / s)))));
        assert!(bs.iter().all(|b| b.alignment == 1 && b.gaps.is_empty() && b.offset.is_none()));
        // Mean lifetime 2500 over 10^6 instants: 20,000 buffers put about
        // 50 live at an instant (100,000 about 250).
        let live = bs.iter().filter(|b| b.lifetime.start <= 500_000 && 500_000 < b.lifetime.end).count();
        assert!((20..=100).contains(&live), "{live} live at 500,000");
        assert!(bs.iter().any(|b| b.size == 4) && bs.iter().any(|b| b.size == 8 * 4096));
    }
}

// ---------------------------------------------------------------------------
// Issue 20's acceptance set: the traces and tilings its claims are measured
// on, one definition for the command line and the example that runs them.

/// One instance of the acceptance set, named.
#[derive(Debug, Clone, PartialEq)]
pub struct AcceptanceCase {
    /// Its name in the set (`trace-20000`, `pinwheel-600`, …), also the
    /// file name it is written under, less `.csv`.
    pub name: String,
    /// The problem.
    pub problem: Problem,
    /// The capacity it is run under: a tiling's height (the known optimum);
    /// `None` for the traces, whose peak is minimised.
    pub capacity: Option<u64>,
}

/// Buffers of the acceptance set's traces.
pub const ACCEPTANCE_TRACES: [usize; 4] = [10_000, 20_000, 40_000, 60_000];
/// Buffers of the acceptance set's tilings, each drawn guillotine and
/// pinwheel.
pub const ACCEPTANCE_TILINGS: [usize; 5] = [600, 1_000, 2_000, 4_000, 8_000];
/// Fraction of the buffers in pinwheels in the acceptance set's
/// `pinwheel-N` tilings.
pub const ACCEPTANCE_PINWHEELS: f64 = 0.3;

/// Issue 20's acceptance set, in this order: `trace-N` ([`trace`],
/// defaults), then `guillotine-N` and `pinwheel-N` ([`tiling`], defaults;
/// pinwheels [`ACCEPTANCE_PINWHEELS`]), each drawn with seed = N.
pub fn acceptance() -> Result<Vec<AcceptanceCase>> {
    let mut set = Vec::new();
    for n in ACCEPTANCE_TRACES {
        let problem = trace(&TraceOptions { buffers: n, ..TraceOptions::default() }, n as u64)?;
        set.push(AcceptanceCase { name: format!("trace-{n}"), problem, capacity: None });
    }
    for (kind, pinwheels) in [("guillotine", 0.0), ("pinwheel", ACCEPTANCE_PINWHEELS)] {
        for n in ACCEPTANCE_TILINGS {
            let t = tiling(&TilingOptions { buffers: n, pinwheels, ..TilingOptions::default() }, n as u64)?;
            set.push(AcceptanceCase { name: format!("{kind}-{n}"), problem: t.problem, capacity: Some(t.height) });
        }
    }
    Ok(set)
}
