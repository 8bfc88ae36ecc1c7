//! What a plan says: every buffer's placement, each pool's figures, the
//! timeline and the alias outcomes.

use super::alias::AliasOutcome;
use serde::Serialize;
use smemplan_core::problem::{Layout, Problem};
use smemplan_kernel::{Pool, Precision};

/// One buffer's placement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlacedBuffer {
    /// Owning component's path.
    pub component: String,
    /// Buffer name.
    pub name: String,
    /// Pool it lives in.
    pub pool: Pool,
    /// Element type.
    pub dtype: Precision,
    /// Elements.
    pub elements: u64,
    /// Bytes.
    pub bytes: u64,
    /// Byte offset in its pool (per run / per thread); `None` when empty.
    pub offset: Option<u64>,
    /// Live segments `[start, end)` on the timeline.
    pub lifetime: Vec<[u64; 2]>,
    /// The target it sits inside, for a `nested` alias.
    pub inside: Option<String>,
}

/// One pool's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PoolReport {
    /// The pool.
    pub pool: Pool,
    /// Bytes per run (shared) or per thread (local pools): the peak rounded
    /// up to the largest alignment, so consecutive runs stay aligned.
    pub bytes: u64,
    /// Highest `offset + size`.
    pub peak: u64,
    /// Max live bytes: no layout can do better.
    pub lower_bound: u64,
    /// Whether the peak is proven minimal.
    pub optimal: bool,
    /// Placement units (a nested alias shares its target's unit).
    pub units: usize,
    /// Solver wall-clock seconds.
    pub seconds: f64,
    /// The problem solved: one buffer per placement unit with any bytes,
    /// named after its first buffer (`component/name`), in input order.
    #[serde(skip)]
    pub problem: Problem,
    /// The units' offsets, indexed like `problem`'s buffers.
    #[serde(skip)]
    pub layout: Layout,
}

/// The optimised plan: what the CLI's `plan` prints as `optimized`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlanReport {
    /// Input name.
    pub source: String,
    /// Strategy used.
    pub strategy: String,
    /// Whether every pool's peak is proven minimal.
    pub optimal: bool,
    /// Shared bytes per run (before any bank skew or stride padding).
    pub shared_bytes: u64,
    /// Local bytes per thread (one aliased array).
    pub local_bytes: u64,
    /// Persistent local bytes per thread.
    pub persistent_local_bytes: u64,
    /// Per-pool details.
    pub pools: Vec<PoolReport>,
    /// Every leaf buffer, in input order.
    pub buffers: Vec<PlacedBuffer>,
    /// The timeline's labels, one per instant.
    pub timeline: Vec<String>,
    /// Buffers the lifetime table does not map (live for the whole run).
    pub unmapped: Vec<String>,
    /// Components whose class or mount the table does not map.
    pub unmapped_components: Vec<String>,
    /// Alias hints honoured (or moot).
    pub aliases: Vec<AliasOutcome>,
    /// Alias hints refused because the lifetimes overlap.
    pub refused_aliases: Vec<AliasOutcome>,
}

impl PlanReport {
    /// The report for one pool.
    pub fn pool(&self, pool: Pool) -> Option<&PoolReport> {
        self.pools.iter().find(|p| p.pool == pool)
    }
}
