//! Random *valid* problems, reproducible from a seed: the one generator
//! shared by the property tests and the benches (included by path from
//! `benches/`).
//!
//! Lifetimes are drawn on a timeline of `2n` instants with lengths up to a
//! third of it, which gives sub-problems that are neither trivially sparse
//! nor one big clique (a quarter to a half of all pairs interfere). Features are
//! switched on by [`Shape`]: holes strictly inside a lifetime, power-of-two
//! alignments, and fixed offsets copied from a valid greedy layout (so they
//! never collide).

use smemplan::problem::{Buffer, Interval, Problem};
use smemplan::solve::{greedy, SolveOptions, Solver};

/// What kind of problem to draw.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    /// Number of buffers.
    pub buffers: usize,
    /// Largest size in bytes (sizes are uniform in `1..=max_size`).
    pub max_size: u64,
    /// Give about a quarter of the long-lived buffers a hole.
    pub gaps: bool,
    /// Give about a quarter of the buffers an alignment of 2, 4 or 8.
    pub alignment: bool,
    /// Pin one or two buffers at the offsets a greedy layout gives them.
    pub fixed: bool,
}

impl Shape {
    /// `buffers` plain buffers (no holes, alignment or fixed offsets).
    pub fn plain(buffers: usize) -> Self {
        Shape {
            buffers,
            max_size: 32,
            gaps: false,
            alignment: false,
            fixed: false,
        }
    }
}

/// SplitMix64: tiny, seedable, good enough for test data.
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed`.
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..=hi` (`lo ≤ hi`).
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next_u64() % (hi - lo + 1)
    }

    /// True with probability `1 / n`.
    pub fn one_in(&mut self, n: u64) -> bool {
        self.next_u64() % n == 0
    }
}

/// A random problem of the given shape, the same for the same seed.
pub fn problem(seed: u64, shape: Shape) -> Problem {
    let mut rng = Rng::new(seed);
    let horizon = 2 * shape.buffers.max(1) as u64;
    let max_len = (horizon / 3).max(2);
    let mut buffers: Vec<Buffer> = (0..shape.buffers)
        .map(|i| {
            let start = rng.range(0, horizon - 1);
            let end = (start + rng.range(1, max_len)).min(horizon);
            let mut b = Buffer::new(format!("b{i}"), start, end, rng.range(1, shape.max_size));
            if shape.gaps && end - start >= 3 && rng.one_in(4) {
                let gap_start = rng.range(start + 1, end - 2);
                let gap_end = rng.range(gap_start + 1, end - 1);
                b = b.with_gaps(vec![Interval::new(gap_start, gap_end)]);
            }
            if shape.alignment && rng.one_in(4) {
                b = b.with_alignment(1 << rng.range(1, 3));
            }
            b
        })
        .collect();
    if shape.fixed && !buffers.is_empty() {
        let loose = Problem::new(buffers.clone(), None).expect("generated buffers are valid");
        let layout = greedy::GreedySize
            .solve(&loose, &SolveOptions::default())
            .expect("greedy lays out any problem")
            .layout;
        for _ in 0..rng.range(1, 2) {
            let i = rng.range(0, buffers.len() as u64 - 1) as usize;
            buffers[i].offset = Some(layout.offsets[i]);
        }
    }
    Problem::new(buffers, None).expect("generated problems are valid")
}
