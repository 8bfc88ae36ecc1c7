//! Placement units: each buffer alone, or a target with the `nested`
//! aliases placed inside it (one problem buffer, live over the union).

use super::alias::Nested;
use super::input::PlanInput;
use crate::error::{Error, Result};
use smemplan_kernel::lifetimes::{self, Lifetimes, Segments};
use smemplan_kernel::Pool;
use std::collections::HashMap;

/// A placement unit: a buffer and the nested aliases inside it.
pub(super) struct Unit {
    /// The pool of its first (root) buffer.
    pub(super) pool: Pool,
    /// (buffer index, byte offset within the unit), the root first.
    pub(super) members: Vec<(usize, u64)>,
    /// Bytes it spans (0 when every member is empty).
    pub(super) bytes: u64,
    /// The largest member alignment.
    pub(super) alignment: u64,
    /// The union of its members' live segments.
    pub(super) segments: Segments,
}

/// Groups buffers into placement units: each nested alias joins its
/// target's unit at its offset.
pub(super) fn build_units(
    input: &PlanInput,
    lifetimes: &Lifetimes,
    nested: &[Nested],
    align16: bool,
) -> Result<Vec<Unit>> {
    let home = homes(input, nested)?;
    // CuBIE's registry slices shared and persistent-local memory in whole
    // elements of each component's precision: a buffer there takes a whole
    // number of them, at a whole-element offset, so that every layout the
    // plan reports can be installed in CuBIE's own allocators.
    let element: HashMap<&str, u64> =
        input.components.iter().map(|c| (c.path.as_str(), c.precision.itemsize())).collect();
    let mut unit_of_root: HashMap<usize, usize> = HashMap::new();
    let mut units: Vec<Unit> = Vec::new();
    for (i, &(root, within)) in home.iter().enumerate() {
        let b = &input.buffers[i];
        let item = b.decl.precision.itemsize();
        let slot = match b.pool {
            Pool::Shared | Pool::PersistentLocal => element.get(b.decl.component.as_str()).copied().unwrap_or(1),
            Pool::Local => 1,
        };
        let alignment = if align16 { item.max(slot).max(16) } else { item.max(slot) };
        if within % item != 0 {
            return Err(smemplan_core::Error::buffer(
                b.full_name(),
                format!("alias offset {within} is not a multiple of its item size {item}"),
            )
            .into());
        }
        let u = *unit_of_root.entry(root).or_insert_with(|| {
            units.push(Unit {
                pool: input.buffers[root].pool,
                members: Vec::new(),
                bytes: 0,
                alignment: 1,
                segments: Vec::new(),
            });
            units.len() - 1
        });
        let unit = &mut units[u];
        let bytes = smemplan_core::arith::align_up(b.bytes()?, slot)
            .ok_or_else(|| smemplan_core::Error::Overflow(format!("size of `{}`", b.full_name())))?;
        let end = smemplan_core::error::add(within, bytes, || format!("end of `{}`", b.full_name()))?;
        unit.bytes = unit.bytes.max(if bytes == 0 { 0 } else { end });
        unit.alignment = unit.alignment.max(alignment);
        unit.members.push((i, within));
        let mut segs = std::mem::take(&mut unit.segments);
        segs.extend(lifetimes.buffers[i].iter().copied());
        unit.segments = lifetimes::merge_segments(segs);
    }
    Ok(units)
}

/// Each buffer's unit root and its byte offset within the root's unit: the
/// end of its chain of `nested` targets, the offsets summed. A chain that
/// comes back on itself is an [`Error::AliasCycle`].
fn homes(input: &PlanInput, nested: &[Nested]) -> Result<Vec<(usize, u64)>> {
    // A buffer has one alias hint, so at most one target.
    let mut inside: Vec<Option<(usize, u64)>> = vec![None; input.buffers.len()];
    for m in nested {
        inside[m.buffer] = Some((m.target, m.offset));
    }
    (0..inside.len())
        .map(|start| {
            let (mut at, mut within) = (start, 0u64);
            let mut chain = vec![start];
            while let Some((target, offset)) = inside[at] {
                if let Some(k) = chain.iter().position(|&c| c == target) {
                    let buffers = chain[k..].iter().chain([&target]).map(|&c| input.buffers[c].full_name()).collect();
                    return Err(Error::AliasCycle { buffers });
                }
                within = within.checked_add(offset).ok_or_else(|| Error::overflow("alias offset"))?;
                chain.push(target);
                at = target;
            }
            Ok((at, within))
        })
        .collect()
}
