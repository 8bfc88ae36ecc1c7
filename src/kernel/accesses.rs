//! How often the kernel touches each buffer: the access counts the
//! throughput estimate charges (`smemplan_perf::accesses` counts them on a
//! plan).
//!
//! A buffer's count is a weight per phase it lives in, summed over the
//! timeline's instants (each instant is one leaf phase of the kernel,
//! [`crate::lifetimes`]). Without better knowledge the weight is the
//! buffer's size in elements: every element is read or written once in
//! every phase it is live in. So a state vector live for the whole step
//! counts `n × instants`, Newton scratch live in one stage solve `n`.
//! Counts are per run (thread) and per element access: a warp issues one
//! load or store for all its lanes, whatever the element type.
//!
//! A kernel model sets better weights per buffer and phase (`accesses` on a
//! `[[buffer]]`, see `docs/models.md`): `{ "stages.solve" = "8 * n" }` says
//! that in every instant of the component's phase `stages.solve` (or a phase
//! below it) the buffer sees `8 × n` element accesses; `all` sets the
//! weight of every instant not otherwise named.
//!
//! A model also says which buffers the kernel indexes only with indices
//! the compiler resolves (`registers` on a `[[buffer]]`): placed in local
//! memory, such an array is held in registers (CUDA's compilers promote a
//! local array whose every index is known at compile time, as in loops of
//! a constant trip count that they unroll), so its accesses cost no memory
//! traffic while it fits the register budget.
//!
//! ```
//! use smemplan_kernel::accesses::Weights;
//!
//! let mut w = Weights::default();
//! w.set("kernel/loop/algorithm/accumulator", vec![("stages".into(), 800)]);
//! let label = "kernel/loop:loop.step > kernel/loop/algorithm:stages.solve";
//! assert_eq!(w.per_instant("kernel/loop/algorithm", "accumulator", 100, label), 800);
//! assert_eq!(w.per_instant("kernel/loop/algorithm", "stage_base", 100, label), 100);
//! ```

use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// Access weights per buffer (`component/name`) and phase; buffers and
/// instants not named weigh their size in elements.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Weights {
    by_buffer: BTreeMap<String, Vec<(String, u64)>>,
    /// Buffers (`component/name`) indexed only with compile-time indices.
    in_registers: BTreeSet<String>,
    /// What a local access that hits the cache costs, in shared accesses
    /// (`None`: the device's figure).
    local_hit_per_shared: Option<f64>,
}

impl Weights {
    /// Sets the weights of buffer `full_name` (`component/name`): phase path
    /// (of the buffer's own component, or `all`) → element accesses per
    /// instant of that phase.
    pub fn set(&mut self, full_name: &str, phases: Vec<(String, u64)>) {
        self.by_buffer.insert(full_name.to_string(), phases);
    }

    /// Whether no buffer has weights (every count is the default), none is
    /// held in registers and local hits cost what the device says.
    pub fn is_empty(&self) -> bool {
        self.by_buffer.is_empty() && self.in_registers.is_empty() && self.local_hit_per_shared.is_none()
    }

    /// Sets what a local access that hits the SM's cache costs in this
    /// kernel, in shared accesses: a model's `local_hit_per_shared`, for a
    /// kernel whose compiled code makes its thread-private arrays cheaper
    /// (or dearer) than the device profile's figure says.
    pub fn set_local_hit_per_shared(&mut self, cost: f64) {
        self.local_hit_per_shared = Some(cost);
    }

    /// The kernel's cost of a local cache hit, in shared accesses (`None`:
    /// the device profile's).
    pub fn local_hit_per_shared(&self) -> Option<f64> {
        self.local_hit_per_shared
    }

    /// Marks buffer `full_name` (`component/name`) as indexed only with
    /// indices known at compile time: in local memory, the compiler may
    /// hold it in registers.
    pub fn set_in_registers(&mut self, full_name: &str) {
        self.in_registers.insert(full_name.to_string());
    }

    /// Whether buffer `full_name` (`component/name`) may live in registers
    /// when it is placed in local memory ([`Weights::set_in_registers`]).
    pub fn in_registers(&self, full_name: &str) -> bool {
        self.in_registers.contains(full_name)
    }

    /// Element accesses of buffer `name` of `component` (of `elements`
    /// elements) in the instant labelled `label` (a timeline label,
    /// `component:phase > component:phase ...`). The most specific phase
    /// named wins; then `all`; then the size.
    pub fn per_instant(&self, component: &str, name: &str, elements: u64, label: &str) -> u64 {
        let Some(phases) = self.by_buffer.get(&format!("{component}/{name}")) else {
            return elements;
        };
        // The deepest mention: a root component also labels its whole mount.
        let own = label.rsplit(" > ").find_map(|seg| seg.strip_prefix(component)?.strip_prefix(':'));
        let within = |p: &str| own.is_some_and(|o| o == p || o.strip_prefix(p).is_some_and(|r| r.starts_with('.')));
        phases
            .iter()
            .filter(|(p, _)| within(p))
            .max_by_key(|(p, _)| p.len())
            .or_else(|| phases.iter().find(|(p, _)| p == "all"))
            .map_or(elements, |&(_, w)| w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_most_specific_phase_wins_then_all_then_the_size() {
        let mut w = Weights::default();
        w.set("k/a/x", vec![("all".into(), 5), ("stages".into(), 7), ("stages.solve".into(), 9)]);
        let at = |label: &str| w.per_instant("k/a", "x", 3, label);
        assert_eq!(at("k:step > k/a:stages.solve"), 9);
        assert_eq!(at("k:step > k/a:stages.solve.inner"), 9);
        assert_eq!(at("k:step > k/a:stages.update"), 7);
        assert_eq!(at("k:step > k/a:stagesx"), 5, "a prefix must end at a dot");
        assert_eq!(at("k:step > k/ab:stages"), 5, "another component's phase");
        assert_eq!(at("k:commit"), 5);
        assert_eq!(w.per_instant("k/a", "y", 3, "k:step > k/a:stages"), 3);
        assert!(!w.is_empty() && Weights::default().is_empty());
    }
}
