//! CuBIE's own layout as a [`PlanReport`], so the integrity walk can run
//! it through the same header and kernel as an optimised plan.
//!
//! Offsets are CuBIE's (its shared and persistent-local slices); each of
//! CuBIE's local arrays becomes a slot of its own in one local pool, so
//! nothing there shares storage, as in CuBIE. The per-run shared bytes are
//! CuBIE's padded stride (bytes plus its skew). Lifetimes come from the
//! optimised plan of the same kernel (both sides have the same buffers). A
//! buffer the optimised plan nests inside a target (a view of its target by
//! design) stays nested here when CuBIE placed it inside that target too;
//! every other alias CuBIE applied is walked as a buffer of its own, so an
//! alias that overlaps a live buffer shows as a clobber.

use crate::error::{Error, Result};
use smemplan::plan::{PlacedBuffer, PlanReport, Pool};
use smemplan::kernel::registry::{FlatBuffer, Footprint, Region};
use std::collections::HashMap;
use std::ops::Range;

/// CuBIE's layout of the kernel whose optimised plan is `optimized`.
pub fn cubie_report(optimized: &PlanReport, flat: &[FlatBuffer], footprint: &Footprint) -> Result<PlanReport> {
    let planned: HashMap<(&str, &str), &PlacedBuffer> =
        optimized.buffers.iter().map(|b| ((b.component.as_str(), b.name.as_str()), b)).collect();
    let mut local_end = 0u64;
    let mut placed = Vec::with_capacity(flat.len());
    let mut ranges: HashMap<String, (Pool, Range<u64>)> = HashMap::new();
    for b in flat {
        let full = format!("{}/{}", b.component, b.name);
        let mine = planned
            .get(&(b.component.as_str(), b.name.as_str()))
            .ok_or_else(|| Error::buffer(&full, "CuBIE has it, the optimised plan does not"))?;
        let item = b.precision.itemsize();
        let bytes = smemplan::core::error::mul(b.size, item, || format!("bytes of `{full}`"))?;
        let (pool, offset) = match b.region {
            Region::Shared(_) | Region::PersistentLocal(_) => {
                let pool = if matches!(b.region, Region::Shared(_)) { Pool::Shared } else { Pool::PersistentLocal };
                let range = b.byte_range().ok_or_else(|| Error::overflow(format!("offset of `{full}`")))?;
                (pool, range.start)
            }
            Region::Local(_) => {
                let at = smemplan::core::arith::align_up(local_end, 8).ok_or_else(|| Error::overflow("local pool"))?;
                local_end = smemplan::core::error::add(at, bytes.max(item), || "local pool".into())?;
                (Pool::Local, at)
            }
        };
        if bytes > 0 {
            ranges.insert(full.clone(), (pool, offset..offset + bytes));
        }
        placed.push(PlacedBuffer {
            component: b.component.clone(),
            name: b.name.clone(),
            pool,
            dtype: b.precision,
            elements: b.size,
            bytes,
            offset: (bytes > 0).then_some(offset),
            lifetime: mine.lifetime.clone(),
            inside: None,
        });
    }
    // Nested only where the optimised plan nests it and CuBIE's bytes lie
    // within the same target's.
    for p in &mut placed {
        let full = format!("{}/{}", p.component, p.name);
        let target = planned.get(&(p.component.as_str(), p.name.as_str())).and_then(|b| b.inside.clone());
        if let (Some(target), Some((pool, mine))) = (target, ranges.get(&full)) {
            if let Some((tpool, outer)) = ranges.get(&target) {
                if tpool == pool && outer.start <= mine.start && mine.end <= outer.end {
                    p.inside = Some(target);
                }
            }
        }
    }
    Ok(PlanReport {
        source: optimized.source.clone(),
        strategy: "cubie".into(),
        optimal: false,
        shared_bytes: footprint.padded_shared_bytes,
        local_bytes: smemplan::core::arith::align_up(local_end, 8).ok_or_else(|| Error::overflow("local pool"))?,
        persistent_local_bytes: footprint.persistent_local_bytes,
        pools: Vec::new(),
        buffers: placed,
        timeline: optimized.timeline.clone(),
        unmapped: optimized.unmapped.clone(),
        unmapped_components: optimized.unmapped_components.clone(),
        aliases: Vec::new(),
        refused_aliases: Vec::new(),
    })
}
