//! The problem shapes the ILP's tests and bench draw, as options of the
//! crate's one generator (`smemplan::core::generate`); included by path from
//! `tests/ilp.rs` and `benches/ilp.rs`.
//!
//! Lifetimes are drawn on a timeline of `2n` instants with lengths up to a
//! third of it, which gives sub-problems that are neither trivially sparse
//! nor one big clique. Features are switched on by [`Shape`]: holes,
//! power-of-two alignments and fixed offsets.

use smemplan::core::generate::{generate, GenOptions, Spread};
use smemplan::core::problem::Problem;

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
        Shape { buffers, max_size: 32, gaps: false, alignment: false, fixed: false }
    }
}

/// A random problem of the given shape, the same for the same seed.
pub fn problem(seed: u64, shape: Shape) -> Problem {
    let n = shape.buffers.max(1) as u64;
    let chance = |on: bool| if on { 0.25 } else { 0.0 };
    let options = GenOptions {
        buffers: shape.buffers,
        timeline: Some(2 * n),
        lifetimes: Spread::Uniform { min: 1, max: (2 * n / 3).max(2) },
        sizes: Spread::Uniform { min: 1, max: shape.max_size },
        alignment_probability: chance(shape.alignment),
        max_alignment: 8,
        gap_probability: chance(shape.gaps),
        fixed_probability: if shape.fixed { 0.1 } else { 0.0 },
        ..GenOptions::default()
    };
    generate(&options, seed).expect("generated problems are valid")
}
