//! The `cubie` strategy: CuBIE 0.17.0's layout, reproduced exactly.
//!
//! Each group is laid out on its own, in its own units (elements of the
//! component's precision), by three passes over the entries in registration
//! order:
//!
//! ```text
//! shared:      [a][b][child_shared.........][c] [fallback aliases...]
//!                     ^^^^^^^^^^ alias x placed here (first fit from the
//!                     |  pp  |   target's consumed mark, never over `pp`,
//!                                 a protected range: the child's persistent
//!                                 shared storage)
//! persistent:  [p][q][child_persistent][fallback persistent aliases...]
//! local:       one array of max(size, 1) per remaining entry
//! ```
//!
//! 1. Non-aliased shared entries are bump-allocated.
//! 2. Aliasing entries, in order: placed at the target's start plus what
//!    earlier aliases consumed of it when the target is shared, neither side
//!    holds persistent storage, the alias fits inside the target and misses
//!    every protected range; such an entry is in shared memory even when its
//!    own location is local. Otherwise it falls back to its own location as
//!    if it had no alias: a shared one is appended after everything above.
//! 3. Persistent-local entries are bump-allocated (non-aliased first, then
//!    aliased ones), and every other entry gets its own local array.
//!
//! The group's protected ranges are the slices of its persistent shared
//! entries plus the protected ranges of its roll-up entries, moved to the
//! group's coordinates, in registration order; empty ranges are dropped. A
//! parent copies them into the child's `{child}_shared` entry.
//!
//! A kernel's per-run numbers ([`Footprint`]) come from its top-level
//! component (the loop): shared and persistent-local sizes include children;
//! local sizes are summed over the whole tree because CuBIE's
//! `local_buffer_size` does not roll children up. The batch kernel pads the
//! per-run shared stride by 4 bytes when the precision is float32 and the
//! element count is even and non-zero ([`skew_bytes`]).

use super::allocator::Region;
use super::group::{BufferGroup, Entry, Rollup};
use super::{Registry, RegistryError};
use crate::{Location, Precision};
use std::ops::Range;

/// Where one entry of a group was placed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    /// Pool and slice (or local array size).
    pub region: Region,
    /// For an aliasing entry: whether it landed inside its target.
    pub alias_applied: Option<bool>,
}

/// CuBIE's layout of one group; `placements[i]` belongs to `entries()[i]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupLayout {
    /// One per entry, in registration order.
    pub placements: Vec<Placement>,
    /// `shared_buffer_size`: end of the last shared slice, unit elements.
    pub shared_elements: u64,
    /// `persistent_local_buffer_size`, unit elements.
    pub persistent_local_elements: u64,
    /// `local_buffer_size`: Σ max(size, 1) over local arrays, each in its
    /// own element type (CuBIE adds them as they are).
    pub local_elements: u64,
    /// Bytes of those local arrays (each element its own itemsize).
    pub local_bytes: u64,
    /// Shared ranges holding persistent storage, unit elements.
    pub protected: Vec<Range<u64>>,
}

fn overflow(group: &BufferGroup, what: &str) -> RegistryError {
    RegistryError::Overflow(format!("{what} of component `{}`", group.id))
}

/// Bump-allocates `size` at `*top`.
fn bump(top: &mut u64, size: u64, group: &BufferGroup, what: &str) -> Result<Range<u64>, RegistryError> {
    let start = *top;
    *top = start.checked_add(size).ok_or_else(|| overflow(group, what))?;
    Ok(start..*top)
}

fn overlaps(a: &Range<u64>, b: &Range<u64>) -> bool {
    a.start < b.end && b.start < a.end
}

/// The alias slot for `entry` inside its target and the target's new
/// consumed mark, if CuBIE would bind it there.
fn alias_slot(
    group: &BufferGroup,
    entry: &Entry,
    size: u64,
    target: usize,
    shared: &[Option<Range<u64>>],
    consumed: &[u64],
) -> Option<(Range<u64>, u64)> {
    let t = &group.entries[target];
    // A target with protected ranges (a roll-up) may still take aliases
    // around them; an aliasing roll-up with protected ranges may not move.
    if t.location != Location::Shared || t.persistent || entry.holds_persistent_storage() {
        return None;
    }
    let window = shared[target].as_ref()?;
    let start = window.start.checked_add(consumed[target])?;
    let slot = start..start.checked_add(size)?;
    if slot.end > window.end {
        return None;
    }
    let clobbers = t.protected.iter().any(|p| {
        let p = window.start.saturating_add(p.start)..window.start.saturating_add(p.end);
        overlaps(&slot, &p)
    });
    let mark = slot.end - window.start;
    (!clobbers).then_some((slot, mark))
}

/// Lays out one group exactly as CuBIE 0.17.0 does.
pub fn layout_group(group: &BufferGroup) -> Result<GroupLayout, RegistryError> {
    let entries = &group.entries;
    let n = entries.len();
    let units: Vec<u64> = entries.iter().map(|e| e.elements_in(group.precision)).collect::<Result<_, _>>()?;
    let mut shared: Vec<Option<Range<u64>>> = vec![None; n];
    let mut persistent: Vec<Option<Range<u64>>> = vec![None; n];
    let mut alias_applied: Vec<Option<bool>> = vec![None; n];
    let mut consumed = vec![0u64; n];
    let mut top = 0u64;

    for (i, e) in entries.iter().enumerate() {
        if e.location == Location::Shared && e.aliases.is_none() {
            shared[i] = Some(bump(&mut top, units[i], group, "shared size")?);
        }
    }
    let mut persistent_fallbacks = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        let Some(target_name) = &e.aliases else {
            continue;
        };
        let target = group.position(target_name).ok_or_else(|| RegistryError::UnknownAliasTarget {
            parent: group.id.clone(),
            name: e.name.clone(),
            target: target_name.clone(),
        })?;
        match alias_slot(group, e, units[i], target, &shared, &consumed) {
            Some((slot, mark)) => {
                consumed[target] = mark;
                shared[i] = Some(slot);
                alias_applied[i] = Some(true);
            }
            None => {
                alias_applied[i] = Some(false);
                if e.location == Location::Shared {
                    shared[i] = Some(bump(&mut top, units[i], group, "shared size")?);
                } else if e.persistent {
                    persistent_fallbacks.push(i);
                }
            }
        }
    }

    let mut ptop = 0u64;
    for (i, e) in entries.iter().enumerate() {
        if e.is_persistent_local() && e.aliases.is_none() {
            persistent[i] = Some(bump(&mut ptop, units[i], group, "persistent-local size")?);
        }
    }
    for i in persistent_fallbacks {
        persistent[i] = Some(bump(&mut ptop, units[i], group, "persistent-local size")?);
    }

    let mut placements = Vec::with_capacity(n);
    let mut protected = Vec::new();
    let (mut local_elements, mut local_bytes) = (0u64, 0u64);
    for (i, e) in entries.iter().enumerate() {
        let region = if let Some(s) = shared[i].take() {
            if e.persistent && !s.is_empty() {
                protected.push(s.clone());
            }
            for p in &e.protected {
                let moved = s.start.checked_add(p.start).zip(s.start.checked_add(p.end));
                let (start, end) = moved.ok_or_else(|| overflow(group, "protected range"))?;
                protected.push(start..end);
            }
            Region::Shared(s)
        } else if let Some(p) = persistent[i].take() {
            Region::PersistentLocal(p)
        } else {
            let len = e.size.max(1);
            local_elements = local_elements.checked_add(len).ok_or_else(|| overflow(group, "local size"))?;
            let bytes = len.checked_mul(e.precision.itemsize()).ok_or_else(|| overflow(group, "local bytes"))?;
            local_bytes = local_bytes.checked_add(bytes).ok_or_else(|| overflow(group, "local bytes"))?;
            Region::Local(len)
        };
        placements.push(Placement { region, alias_applied: alias_applied[i] });
    }
    Ok(GroupLayout {
        placements,
        shared_elements: top,
        persistent_local_elements: ptop,
        local_elements,
        local_bytes,
        protected,
    })
}

/// The batch kernel's per-run shared skew: 4 bytes when the precision is
/// float32 and the shared element count is even and non-zero, else 0
/// (float64 strides keep their bank conflicts in CuBIE 0.17.0).
pub fn skew_bytes(precision: Precision, shared_elements: u64) -> u64 {
    if precision == Precision::F32 && shared_elements > 0 && shared_elements.is_multiple_of(2) {
        4
    } else {
        0
    }
}

/// A kernel's per-run (per-thread) memory, as CuBIE's batch kernel sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Footprint {
    /// The top-level component's precision.
    pub precision: Precision,
    /// `shared_buffer_size` of the top level (children included).
    pub shared_elements: u64,
    /// The same in bytes, before any skew.
    pub shared_bytes: u64,
    /// See [`skew_bytes`].
    pub skew_bytes: u64,
    /// `shared_bytes + skew_bytes`: the per-run stride of the block's shared
    /// memory.
    pub padded_shared_bytes: u64,
    /// `persistent_local_buffer_size` of the top level.
    pub persistent_local_elements: u64,
    /// The same in bytes.
    pub persistent_local_bytes: u64,
    /// Σ `local_buffer_size` over the component tree.
    pub local_elements: u64,
    /// Σ local bytes over the component tree.
    pub local_bytes: u64,
}

/// One leaf buffer of a kernel with its region in the top-level arrays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlatBuffer {
    /// Owning component.
    pub component: String,
    /// Buffer name.
    pub name: String,
    /// Element type.
    pub precision: Precision,
    /// Elements of `precision`.
    pub size: u64,
    /// Requested location.
    pub location: Location,
    /// Survives across steps.
    pub persistent: bool,
    /// For an aliasing buffer: whether CuBIE bound it inside its target.
    pub alias_applied: Option<bool>,
    /// The top-level component's precision: the unit of `region`.
    pub unit: Precision,
    /// Slice in the top-level shared or persistent-local array (top-level
    /// units), or the size of its own local array.
    pub region: Region,
}

impl FlatBuffer {
    /// Byte range in the top-level shared or persistent-local array; `None`
    /// for a local array (or a range past `u64`).
    pub fn byte_range(&self) -> Option<Range<u64>> {
        let r = self.region.slice()?;
        let w = self.unit.itemsize();
        Some(r.start.checked_mul(w)?..r.end.checked_mul(w)?)
    }
}

/// A visitor of [`walk`]: group, its layout, offsets of its two arrays.
type Visit<'a> = dyn FnMut(&BufferGroup, &GroupLayout, (u64, u64)) -> Result<(), RegistryError> + 'a;

/// Visits the tree below `root` depth-first (parents before children, a
/// child once per edge that reaches it), calling `visit` with each group,
/// its layout and the offsets of its shared and persistent-local arrays in
/// the root's arrays.
fn walk(registry: &Registry, id: &str, base: (u64, u64), visit: &mut Visit<'_>) -> Result<(), RegistryError> {
    let group = registry.group_or_err(id)?;
    let layout = layout_group(group)?;
    visit(group, &layout, base)?;
    for edge in &group.children {
        let child = registry.group_or_err(&edge.component)?;
        let child_layout = layout_group(child)?;
        let mut child_base = base;
        for (kind, current) in [
            (Rollup::Shared, child_layout.shared_elements),
            (Rollup::Persistent, child_layout.persistent_local_elements),
        ] {
            let suffix = match kind {
                Rollup::Shared => "shared",
                Rollup::Persistent => "persistent",
            };
            let entry_name = format!("{}_{suffix}", edge.name);
            let i = group
                .position(&entry_name)
                .ok_or_else(|| RegistryError::UnknownBuffer { parent: group.id.clone(), name: entry_name.clone() })?;
            let registered = group.entries[i].elements_in(group.precision)?;
            if registered < current {
                return Err(RegistryError::StaleRollup {
                    parent: group.id.clone(),
                    entry: entry_name,
                    registered,
                    current,
                });
            }
            let region = &layout.placements[i].region;
            let start = match (kind, region) {
                (Rollup::Shared, Region::Shared(r)) => r.start.checked_add(base.0),
                (Rollup::Persistent, Region::PersistentLocal(r)) => r.start.checked_add(base.1),
                _ if current == 0 => Some(0),
                _ => {
                    return Err(RegistryError::RollupMisplaced {
                        parent: group.id.clone(),
                        entry: entry_name,
                        pool: region.pool(),
                    })
                }
            }
            .ok_or_else(|| overflow(group, "absolute offset"))?;
            match kind {
                Rollup::Shared => child_base.0 = start,
                Rollup::Persistent => child_base.1 = start,
            }
        }
        walk(registry, &edge.component, child_base, visit)?;
    }
    Ok(())
}

/// The kernel's per-run numbers, from its top-level component `root`.
pub fn footprint(registry: &Registry, root: &str) -> Result<Footprint, RegistryError> {
    let top = registry.group_or_err(root)?;
    let layout = layout_group(top)?;
    let (mut local_elements, mut local_bytes) = (0u64, 0u64);
    walk(registry, root, (0, 0), &mut |g, l, _| {
        local_elements = local_elements.checked_add(l.local_elements).ok_or_else(|| overflow(g, "local size"))?;
        local_bytes = local_bytes.checked_add(l.local_bytes).ok_or_else(|| overflow(g, "local bytes"))?;
        Ok(())
    })?;
    let item = top.precision.itemsize();
    let bytes = |n: u64| n.checked_mul(item).ok_or_else(|| overflow(top, "bytes"));
    let shared_bytes = bytes(layout.shared_elements)?;
    let skew = skew_bytes(top.precision, layout.shared_elements);
    Ok(Footprint {
        precision: top.precision,
        shared_elements: layout.shared_elements,
        shared_bytes,
        skew_bytes: skew,
        padded_shared_bytes: shared_bytes.checked_add(skew).ok_or_else(|| overflow(top, "padded bytes"))?,
        persistent_local_elements: layout.persistent_local_elements,
        persistent_local_bytes: bytes(layout.persistent_local_elements)?,
        local_elements,
        local_bytes,
    })
}

/// Every leaf buffer below `root` with its region in the root's arrays:
/// CuBIE's whole-kernel layout. Children are entered through their roll-up
/// entries, so a child reached by two edges appears twice.
pub fn flatten(registry: &Registry, root: &str) -> Result<Vec<FlatBuffer>, RegistryError> {
    let mut out = Vec::new();
    walk(registry, root, (0, 0), &mut |g, l, (shared_base, persistent_base)| {
        for (e, p) in g.entries.iter().zip(&l.placements) {
            if e.rollup.is_some() {
                continue;
            }
            let base = match p.region {
                Region::PersistentLocal(_) => persistent_base,
                _ => shared_base,
            };
            out.push(FlatBuffer {
                component: g.id.clone(),
                name: e.name.clone(),
                precision: e.precision,
                size: e.size,
                location: e.location,
                persistent: e.persistent,
                alias_applied: p.alias_applied,
                unit: g.precision,
                region: p.region.shifted(base).ok_or_else(|| overflow(g, "absolute offset"))?,
            });
        }
        Ok(())
    })?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use Location::{Local, Shared};
    use Precision::{F32, F64, I32};

    fn reg(entries: &[(&str, u64, Location, bool, Option<&str>)]) -> Registry {
        let mut r = Registry::new();
        r.add_component("g", "G", F32).unwrap();
        for &(name, size, loc, persistent, alias) in entries {
            r.register(name, "g", size, loc, persistent, alias, F32).unwrap();
        }
        r
    }

    fn regions(r: &Registry) -> Vec<Region> {
        r.layout("g").unwrap().placements.into_iter().map(|p| p.region).collect()
    }

    #[test]
    fn shared_and_persistent_pools_bump_in_order_and_locals_are_at_least_one() {
        let r = reg(&[
            ("a", 10, Shared, false, None),
            ("p", 3, Local, true, None),
            ("l", 0, Local, false, None),
            ("b", 5, Shared, false, None),
        ]);
        assert_eq!(
            regions(&r),
            [Region::Shared(0..10), Region::PersistentLocal(0..3), Region::Local(1), Region::Shared(10..15)]
        );
        let l = r.layout("g").unwrap();
        assert_eq!((l.shared_elements, l.persistent_local_elements, l.local_elements, l.local_bytes), (15, 3, 1, 4));
    }

    #[test]
    fn aliases_consume_their_target_then_fall_back_after_everything() {
        let r = reg(&[
            ("parent", 100, Shared, false, None),
            ("c1", 40, Shared, false, Some("parent")),
            ("c2", 40, Local, false, Some("parent")),
            ("c3", 40, Shared, false, Some("parent")),
            ("after", 7, Shared, false, None),
        ]);
        assert_eq!(
            regions(&r),
            [
                Region::Shared(0..100),
                Region::Shared(0..40),
                Region::Shared(40..80),
                Region::Shared(107..147),
                Region::Shared(100..107)
            ]
        );
        let applied: Vec<_> = r.layout("g").unwrap().placements.iter().map(|p| p.alias_applied).collect();
        assert_eq!(applied, [None, Some(true), Some(true), Some(false), None]);
    }

    #[test]
    fn persistent_storage_is_never_aliased() {
        let r = reg(&[
            ("parent", 100, Shared, true, None),
            ("child", 30, Shared, false, Some("parent")),
            ("scratch", 100, Shared, false, None),
            ("keep", 30, Shared, true, Some("scratch")),
            ("plocal", 5, Local, true, Some("scratch")),
        ]);
        assert_eq!(
            regions(&r),
            [
                Region::Shared(0..100),
                Region::Shared(200..230),
                Region::Shared(100..200),
                Region::Shared(230..260),
                Region::PersistentLocal(0..5)
            ]
        );
        assert_eq!(r.layout("g").unwrap().protected, [0..100, 230..260]);
    }

    #[test]
    fn a_local_target_sends_the_alias_to_its_own_location() {
        let r = reg(&[("acc", 10, Local, false, None), ("base", 4, Local, false, Some("acc"))]);
        assert_eq!(regions(&r), [Region::Local(10), Region::Local(4)]);
    }

    /// CuBIE's own case: a roll-up of 40 with its child's persistent range
    /// at 20..21; 15 fits before it, the next 25 would cover it.
    #[test]
    fn an_alias_never_covers_a_protected_range_of_a_rollup() {
        let mut r = Registry::new();
        r.add_component("outer", "O", F32).unwrap();
        r.add_component("inner", "I", F32).unwrap();
        r.register("scratch", "inner", 20, Shared, false, None, F32).unwrap();
        r.register("theta", "inner", 1, Shared, true, None, F32).unwrap();
        r.register("tail", "inner", 19, Shared, false, None, F32).unwrap();
        r.register_child("outer", "solver", "inner", None).unwrap();
        r.register("fits", "outer", 15, Shared, false, Some("solver_shared"), F32).unwrap();
        r.register("clobbers", "outer", 25, Shared, false, Some("solver_shared"), F32).unwrap();
        let l = r.layout("outer").unwrap();
        let g = r.group("outer").unwrap();
        let at = |name: &str| l.placements[g.position(name).unwrap()].region.clone();
        assert_eq!(at("solver_shared"), Region::Shared(0..40));
        assert_eq!(at("fits"), Region::Shared(0..15));
        assert_eq!(at("clobbers"), Region::Shared(40..65));
        let theta = [Range { start: 20, end: 21 }];
        assert_eq!(l.protected, theta);
        assert_eq!(g.entry("solver_shared").unwrap().protected, theta);
    }

    #[test]
    fn int32_buffers_pack_into_a_float64_group() {
        let mut r = Registry::new();
        r.add_component("g", "G", F64).unwrap();
        r.register("counters", "g", 3, Shared, false, None, I32).unwrap();
        r.register("x", "g", 1, Shared, false, None, F64).unwrap();
        r.register("iters", "g", 3, Local, false, None, I32).unwrap();
        let l = r.layout("g").unwrap();
        assert_eq!(l.placements[1].region, Region::Shared(2..3));
        assert_eq!((l.local_elements, l.local_bytes), (3, 12));
    }

    #[test]
    fn the_skew_pads_only_even_nonzero_float32_strides() {
        assert_eq!(skew_bytes(F32, 2), 4);
        assert_eq!(skew_bytes(F32, 3), 0);
        assert_eq!(skew_bytes(F32, 0), 0);
        assert_eq!(skew_bytes(F64, 2), 0);
    }

    #[test]
    fn flatten_places_children_at_their_rollups() {
        let mut r = Registry::new();
        r.add_component("loop", "L", F32).unwrap();
        r.add_component("alg", "A", F32).unwrap();
        r.register("state", "loop", 3, Shared, false, None, F32).unwrap();
        r.register("tmp", "alg", 2, Shared, false, None, F32).unwrap();
        r.register("hist", "alg", 4, Local, true, None, F32).unwrap();
        r.register("pl", "loop", 1, Local, true, None, F32).unwrap();
        r.register_child("loop", "algorithm", "alg", None).unwrap();
        let flat = flatten(&r, "loop").unwrap();
        let got: Vec<_> = flat.iter().map(|b| (b.name.as_str(), b.region.clone())).collect();
        assert_eq!(flat[2].byte_range(), Some(12..20));
        assert_eq!(flat[1].byte_range(), Some(0..4));
        assert_eq!(
            got,
            [
                ("state", Region::Shared(0..3)),
                ("pl", Region::PersistentLocal(0..1)),
                ("tmp", Region::Shared(3..5)),
                ("hist", Region::PersistentLocal(1..5))
            ]
        );
        let f = footprint(&r, "loop").unwrap();
        assert_eq!((f.shared_bytes, f.skew_bytes, f.padded_shared_bytes, f.persistent_local_bytes), (20, 0, 20, 20));
    }

    #[test]
    fn a_child_that_grew_after_its_rollup_is_reported() {
        let mut r = Registry::new();
        r.add_component("p", "P", F32).unwrap();
        r.add_component("c", "C", F32).unwrap();
        r.register("x", "c", 2, Shared, false, None, F32).unwrap();
        r.register_child("p", "kid", "c", None).unwrap();
        r.register("y", "c", 2, Shared, false, None, F32).unwrap();
        let e = flatten(&r, "p").unwrap_err();
        assert!(matches!(e, RegistryError::StaleRollup { registered: 2, current: 4, .. }), "{e}");
    }

    #[test]
    fn a_shared_rollup_moved_to_local_cannot_be_flattened() {
        let mut r = Registry::new();
        r.add_component("p", "P", F32).unwrap();
        r.add_component("c", "C", F32).unwrap();
        r.register("x", "c", 2, Shared, false, None, F32).unwrap();
        r.register_child("p", "kid", "c", None).unwrap();
        assert!(r.update("p", "kid_shared", "local").unwrap());
        let e = flatten(&r, "p").unwrap_err();
        assert!(matches!(e, RegistryError::RollupMisplaced { .. }), "{e}");
    }
}
