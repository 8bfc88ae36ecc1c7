//! CuBIE's side of a kernel: CuBIE 0.17.0's layout as a [`PlanReport`],
//! the one rule every reader of CuBIE's bytes uses (`plan`'s comparison, a
//! sweep's `cubie` rows, the lab's integrity walk and its integrators).
//!
//! * Shared and persistent-local buffers sit at CuBIE's offsets (its
//!   registry's slices). `shared_bytes` is CuBIE's per-run bytes before its
//!   skew; the skew, and with it the per-run stride CuBIE launches with, is
//!   [`CubieLayout::footprint`]'s.
//! * CuBIE declares one local array per local buffer (at least one element
//!   each): here they lie end to end in the one local pool, widest elements
//!   first so that no alignment padding appears, and `local_bytes` is the
//!   sum of CuBIE's arrays. Nothing in that pool shares storage, as in CuBIE.
//! * Lifetimes, the timeline and the unmapped names are derived from the
//!   same input and lifetime table as the optimised plan, so both sides have
//!   the same buffers on the same timeline; a buffer CuBIE has and the input
//!   lacks is never live.
//! * A buffer the optimised plan nests inside a target (a view of its target
//!   by design) stays nested when CuBIE's bytes lie within that target's
//!   too; every other alias CuBIE applied is a buffer of its own, so a walk
//!   shows an alias that overlaps a live buffer as a clobber.
//!
//! The report solves nothing: it has no [`PoolReport`](crate::PoolReport)s
//! and is never `optimal`.

use crate::alias::judge_aliases;
use crate::error::{Error, Result};
use crate::{PlacedBuffer, PlanInput, PlanReport};
use smemplan_core::error::{add, mul};
use smemplan_kernel::lifetimes::{self, LifetimeTable};
use smemplan_kernel::model::Kernel;
use smemplan_kernel::registry::{FlatBuffer, Footprint, Region, Registry};
use smemplan_kernel::BufferDecl;
use std::cmp::Reverse;
use std::collections::HashMap;

/// CuBIE's layout of one kernel.
#[derive(Debug, Clone, PartialEq)]
pub struct CubieLayout {
    /// Its buffers at CuBIE's offsets, one per leaf of `flat`, in the same
    /// order (CuBIE's kernel order).
    pub report: PlanReport,
    /// CuBIE's per-run figures: elements, bytes, skew and padded stride.
    pub footprint: Footprint,
    /// The registry's leaf buffers (components by registry id), with their
    /// regions and whether CuBIE
    /// applied each alias.
    pub flat: Vec<FlatBuffer>,
}

/// CuBIE's layout of the kernel under `root` in `registry`, with the
/// lifetimes `input` and `table` give (those of the optimised plan of the
/// same kernel).
pub fn cubie_layout(registry: &Registry, root: &str, input: &PlanInput, table: &LifetimeTable) -> Result<CubieLayout> {
    let footprint = registry.footprint(root)?;
    let flat = registry.flatten(root)?;
    // The input names components by their paths in the kernel, which the
    // registry's ids need not be (`Registry::kernel`).
    let kernel = registry.kernel(root)?;
    let path_of = |b: &FlatBuffer| kernel.path_of(&b.component).unwrap_or(&b.component).to_string();
    let decls: Vec<BufferDecl> = input.buffers.iter().map(|b| b.decl.clone()).collect();
    let lives = lifetimes::derive(&input.components, &decls, table)?;
    let (_, nested) = judge_aliases(input, table, &lives)?;
    let index: HashMap<(&str, &str), usize> =
        input.buffers.iter().enumerate().map(|(i, b)| ((b.decl.component.as_str(), b.decl.name.as_str()), i)).collect();

    // Widest elements first: every array then starts aligned to its items.
    let mut locals: Vec<(usize, u64)> = flat
        .iter()
        .enumerate()
        .filter_map(|(i, b)| match b.region {
            Region::Local(n) => Some((i, n)),
            _ => None,
        })
        .collect();
    locals.sort_by_key(|&(i, _)| Reverse(flat[i].precision.itemsize()));
    let mut local_at = vec![0; flat.len()];
    let mut local_end = 0u64;
    for (i, n) in locals {
        local_at[i] = local_end;
        let bytes = mul(n, flat[i].precision.itemsize(), || "local pool".into())?;
        local_end = add(local_end, bytes, || "local pool".into())?;
    }

    let mut placed = Vec::with_capacity(flat.len());
    for (i, b) in flat.iter().enumerate() {
        let component = path_of(b);
        let full = || format!("{component}/{}", b.name);
        let bytes = mul(b.size, b.precision.itemsize(), || format!("bytes of `{}`", full()))?;
        let offset = match b.region {
            Region::Local(_) => local_at[i],
            _ => b.byte_range().ok_or_else(|| Error::overflow(format!("offset of `{}`", full())))?.start,
        };
        let lifetime = index
            .get(&(component.as_str(), b.name.as_str()))
            .map(|&k| lives.buffers[k].iter().map(|s| [s.start, s.end]).collect())
            .unwrap_or_default();
        placed.push(PlacedBuffer {
            component: component.clone(),
            name: b.name.clone(),
            pool: b.region.pool(),
            dtype: b.precision,
            elements: b.size,
            bytes,
            offset: (bytes > 0).then_some(offset),
            lifetime,
            inside: None,
        });
    }
    nest(&mut placed, input, &nested);

    let report = PlanReport {
        source: input.source.clone(),
        strategy: "cubie".into(),
        optimal: false,
        shared_bytes: footprint.shared_bytes,
        local_bytes: local_end,
        persistent_local_bytes: footprint.persistent_local_bytes,
        pools: Vec::new(),
        buffers: placed,
        timeline: lives.timeline,
        unmapped: lives.unmapped,
        unmapped_components: lives.unmapped_components,
        aliases: Vec::new(),
        refused_aliases: Vec::new(),
    };
    Ok(CubieLayout { report, footprint, flat })
}

/// CuBIE's layout of a model's kernel (its own registry and lifetime table).
pub fn cubie_kernel(kernel: &Kernel) -> Result<CubieLayout> {
    let (registry, root) = kernel.registry()?;
    cubie_layout(&registry, &root, &PlanInput::try_from(kernel)?, &kernel.table)
}

/// Marks as `inside` its target every buffer the optimised plan nests
/// (`nested`) whose bytes CuBIE placed within that target's, in one pool.
fn nest(placed: &mut [PlacedBuffer], input: &PlanInput, nested: &[crate::alias::Nested]) {
    let span = |p: &PlacedBuffer| p.offset.map(|o| (p.pool, o, o.saturating_add(p.bytes)));
    let at: HashMap<String, usize> =
        placed.iter().enumerate().map(|(i, p)| (format!("{}/{}", p.component, p.name), i)).collect();
    for m in nested {
        let target = input.buffers[m.target].full_name();
        let (Some(&b), Some(&t)) = (at.get(&input.buffers[m.buffer].full_name()), at.get(&target)) else {
            continue;
        };
        if let (Some((pool, start, end)), Some((outer_pool, outer_start, outer_end))) =
            (span(&placed[b]), span(&placed[t]))
        {
            if pool == outer_pool && outer_start <= start && end <= outer_end {
                placed[b].inside = Some(target);
            }
        }
    }
}
