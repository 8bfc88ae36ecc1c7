//! What the registry's allocator calls return: host-side views of where a
//! buffer lives, in the units CuBIE uses.
//!
//! A CuBIE kernel hands each component two per-thread arrays, both typed in
//! the component's precision (its *unit*), plus fresh local arrays:
//!
//! ```text
//!   shared array (unit elements)     persistent-local array     local arrays
//!   |state|proposed|..|algorithm_shared|   |..|algorithm_persistent|   [size] [size]
//!    ^ Region::Shared(start..stop)          ^ Region::PersistentLocal    ^ Region::Local
//! ```
//!
//! Offsets are in elements of the unit; a buffer whose element type is wider
//! or narrower than the unit (an int32 counter in a float64 component) still
//! starts on a unit boundary and covers `ceil(size × itemsize / unit itemsize)`
//! unit elements. Byte ranges are derived from those, never stored.

use crate::{Pool, Precision};
use std::ops::Range;

/// Where one registry entry was placed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Region {
    /// `[start, stop)` in unit elements of the shared array.
    Shared(Range<u64>),
    /// `[start, stop)` in unit elements of the persistent-local array.
    PersistentLocal(Range<u64>),
    /// A local array of this many elements of the buffer's own type
    /// (`max(size, 1)`: a CUDA local array cannot be empty).
    Local(u64),
}

impl Region {
    /// The pool this region belongs to.
    pub fn pool(&self) -> Pool {
        match self {
            Region::Shared(_) => Pool::Shared,
            Region::PersistentLocal(_) => Pool::PersistentLocal,
            Region::Local(_) => Pool::Local,
        }
    }

    /// The slice inside the shared or persistent-local array; `None` for a
    /// local array.
    pub fn slice(&self) -> Option<Range<u64>> {
        match self {
            Region::Shared(r) | Region::PersistentLocal(r) => Some(r.clone()),
            Region::Local(_) => None,
        }
    }

    /// The region moved by `offset` unit elements (a child's region seen from
    /// its parent). Local arrays do not move.
    pub(crate) fn shifted(&self, offset: u64) -> Option<Region> {
        let shift = |r: &Range<u64>| Some(r.start.checked_add(offset)?..r.end.checked_add(offset)?);
        Some(match self {
            Region::Shared(r) => Region::Shared(shift(r)?),
            Region::PersistentLocal(r) => Region::PersistentLocal(shift(r)?),
            Region::Local(n) => Region::Local(*n),
        })
    }
}

/// What `get_allocator(name, parent)` returns: the view a kernel takes of one
/// buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BufferView {
    /// Owning component.
    pub component: String,
    /// Buffer name.
    pub name: String,
    /// The buffer's element type.
    pub precision: Precision,
    /// The component's precision: the unit of the region's offsets.
    pub unit: Precision,
    /// Elements of `precision` the buffer asked for.
    pub size: u64,
    /// Where it lives.
    pub region: Region,
}

impl BufferView {
    /// Byte range inside the shared or persistent-local array (`None` for a
    /// local array). Offsets were computed with checked arithmetic, so the
    /// products fit unless the unit's itemsize pushes them past `u64`.
    pub fn byte_range(&self) -> Option<Range<u64>> {
        let r = self.region.slice()?;
        let w = self.unit.itemsize();
        Some(r.start.checked_mul(w)?..r.end.checked_mul(w)?)
    }

    /// Bytes the buffer occupies in its pool (local arrays: `max(size, 1)`
    /// elements of its own type).
    pub fn bytes(&self) -> Option<u64> {
        match &self.region {
            Region::Local(n) => n.checked_mul(self.precision.itemsize()),
            _ => self.byte_range().map(|r| r.end - r.start),
        }
    }
}

/// One per-thread array a kernel declares (`get_toplevel_allocators`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArrayView {
    /// Which array.
    pub pool: Pool,
    /// Its length in elements of `precision`.
    pub elements: u64,
    /// Its element type (the top-level component's precision).
    pub precision: Precision,
}

impl ArrayView {
    /// Its length in bytes.
    pub fn bytes(&self) -> Option<u64> {
        self.elements.checked_mul(self.precision.itemsize())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_ranges_use_the_unit_and_local_arrays_their_own_type() {
        let v = BufferView {
            component: "c".into(),
            name: "counters".into(),
            precision: Precision::I32,
            unit: Precision::F64,
            size: 3,
            region: Region::Shared(4..6),
        };
        assert_eq!(v.byte_range(), Some(32..48));
        assert_eq!(v.bytes(), Some(16));
        let l = BufferView { region: Region::Local(3), ..v };
        assert_eq!(l.byte_range(), None);
        assert_eq!(l.bytes(), Some(12));
        assert_eq!(Region::Local(3).shifted(10), Some(Region::Local(3)));
        assert_eq!(Region::PersistentLocal(1..2).shifted(10), Some(Region::PersistentLocal(11..12)));
        assert_eq!(Region::Shared(1..u64::MAX).shifted(1), None);
    }

    #[test]
    fn regions_know_their_pool() {
        assert_eq!(Region::Shared(0..1).pool(), Pool::Shared);
        assert_eq!(Region::PersistentLocal(0..1).pool(), Pool::PersistentLocal);
        assert_eq!(Region::Local(1).pool(), Pool::Local);
    }
}
