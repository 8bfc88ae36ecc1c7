//! Placement units: each buffer alone, or a target with the `nested`
//! aliases placed inside it (one problem buffer, live over the union).

use super::alias::Nested;
use super::input::PlanInput;
use crate::error::{Error, Result};
use crate::kernel::Pool;
use crate::lifetimes::{self, Lifetimes, Segments};
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
    let n = input.buffers.len();
    // (root buffer, offset within the root's unit); chains resolve upward.
    let mut home: Vec<(usize, u64)> = (0..n).map(|i| (i, 0)).collect();
    let mut changed = true;
    let mut rounds = 0;
    while changed {
        changed = false;
        for &Nested { buffer: a, target: t, offset: off } in nested {
            let (root, base) = home[t];
            let want = (root, base.checked_add(off).ok_or_else(|| Error::Overflow("alias offset".into()))?);
            if home[a] != want && root != a {
                home[a] = want;
                changed = true;
            }
        }
        rounds += 1;
        if rounds > n + 1 {
            return Err(Error::Registry("alias hints form a cycle".into()));
        }
    }
    let mut unit_of_root: HashMap<usize, usize> = HashMap::new();
    let mut units: Vec<Unit> = Vec::new();
    for (i, &(root, within)) in home.iter().enumerate() {
        let b = &input.buffers[i];
        let item = b.decl.precision.itemsize();
        let alignment = if align16 { item.max(16) } else { item };
        if within % item != 0 {
            return Err(Error::buffer(
                b.full_name(),
                format!("alias offset {within} is not a multiple of its item size {item}"),
            ));
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
        let end = crate::error::add(within, b.bytes()?, || format!("end of `{}`", b.full_name()))?;
        unit.bytes = unit.bytes.max(if b.bytes()? == 0 { 0 } else { end });
        unit.alignment = unit.alignment.max(alignment);
        unit.members.push((i, within));
        let mut segs = std::mem::take(&mut unit.segments);
        segs.extend(lifetimes.buffers[i].iter().copied());
        unit.segments = lifetimes::merge_segments(segs);
    }
    Ok(units)
}
