//! How often the kernel touches each buffer: the access counts the
//! throughput estimate charges ([`crate::throughput`]).
//!
//! A buffer's count is a weight per phase it lives in, summed over the
//! timeline's instants (each instant is one leaf phase of the kernel,
//! [`crate::lifetimes`]). Without better knowledge the weight is the
//! buffer's size in elements: every element is read or written once in
//! every phase it is live in. So a state vector live for the whole step
//! counts `n × instants`, Newton scratch live in one stage solve `n`.
//! Counts are per run (thread) and per element access: a warp issues one
//! load or store for all its lanes, whatever the element type.

use crate::plan::{PlacedBuffer, PlanReport, Pool};

/// Accesses of one placed buffer per run: its elements times the instants
/// it is live in.
pub fn of_buffer(buffer: &PlacedBuffer) -> f64 {
    let instants: u64 = buffer.lifetime.iter().map(|s| s[1].saturating_sub(s[0])).sum();
    buffer.elements as f64 * instants as f64
}

/// Accesses per run to shared memory and to local memory (both local
/// pools) under `report`'s placement.
pub fn by_memory(report: &PlanReport) -> (f64, f64) {
    report.buffers.iter().fold((0.0, 0.0), |(shared, local), b| match b.pool {
        Pool::Shared => (shared + of_buffer(b), local),
        Pool::Local | Pool::PersistentLocal => (shared, local + of_buffer(b)),
    })
}
