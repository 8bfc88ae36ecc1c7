//! One component's buffer group: its registered entries in registration order
//! and the children it rolled up.
//!
//! Invariants kept by [`super::Registry`], the only code that mutates a group:
//! entry names are non-empty and unique; an entry's `aliases` names another
//! entry of the same group that was registered before it; re-registering a
//! name replaces the entry *in place* (CuBIE's groups are Python dicts, whose
//! keys keep their first position), which is why entries are a `Vec` searched
//! by name rather than a map (with an index from name to position, so that
//! registering n entries takes O(n), not O(n²)).

use super::RegistryError;
use crate::{Location, Precision};
use std::collections::HashMap;
use std::ops::Range;

/// Which footprint of a child a roll-up entry stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rollup {
    /// `{child}_shared`: the child's `shared_buffer_size`.
    Shared,
    /// `{child}_persistent`: the child's `persistent_local_buffer_size`.
    Persistent,
}

/// One registered entry: a leaf buffer, or a roll-up of a child component.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Name, unique within the group.
    pub name: String,
    /// Elements of `precision`.
    pub size: u64,
    /// Requested location.
    pub location: Location,
    /// Survives across steps; never aliased into another buffer's storage.
    pub persistent: bool,
    /// Another entry of the group whose storage it may share.
    pub aliases: Option<String>,
    /// Element type.
    pub precision: Precision,
    /// Ranges, relative to the entry's own start and in the group's units,
    /// that hold a child's persistent shared storage: no alias may overlap
    /// them. Empty for leaf buffers.
    pub protected: Vec<Range<u64>>,
    /// For a roll-up entry: the child component and which footprint.
    pub rollup: Option<(String, Rollup)>,
}

impl Entry {
    /// Elements of `unit` the entry occupies in a pool:
    /// `ceil(size × itemsize / unit itemsize)` (an int32 buffer of 3 in a
    /// float64 group takes 2).
    pub fn elements_in(&self, unit: Precision) -> Result<u64, RegistryError> {
        let bytes = self.size.checked_mul(self.precision.itemsize()).ok_or_else(|| {
            RegistryError::Overflow(format!("bytes of buffer `{}` ({} elements)", self.name, self.size))
        })?;
        Ok(bytes.div_ceil(unit.itemsize()))
    }

    /// Local and persistent: lives in the persistent-local array.
    pub fn is_persistent_local(&self) -> bool {
        self.location == Location::Local && self.persistent
    }

    /// Whether the entry holds storage that must survive across steps
    /// (itself persistent, or a roll-up over a child's persistent shared
    /// buffers), and therefore may not be placed inside another entry.
    pub fn holds_persistent_storage(&self) -> bool {
        self.persistent || !self.protected.is_empty()
    }
}

/// A child edge recorded by `register_child`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildEdge {
    /// The name the parent gave it (`solver`, `linear_solver`, ...): the
    /// prefix of its roll-up entries.
    pub name: String,
    /// The child component's id.
    pub component: String,
}

/// A component and its buffer group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BufferGroup {
    /// The component's id (a path such as `kernel/loop/algorithm` in CuBIE
    /// dumps, any non-empty string otherwise).
    pub id: String,
    /// The component's kind (CuBIE class name).
    pub class: String,
    /// The unit of every size query and offset in this group.
    pub precision: Precision,
    pub(crate) entries: Vec<Entry>,
    pub(crate) children: Vec<ChildEdge>,
    /// Each entry's position in `entries`, by name.
    by_name: HashMap<String, usize>,
}

impl BufferGroup {
    pub(crate) fn new(id: &str, class: &str, precision: Precision) -> BufferGroup {
        BufferGroup {
            id: id.to_string(),
            class: class.to_string(),
            precision,
            entries: Vec::new(),
            children: Vec::new(),
            by_name: HashMap::new(),
        }
    }

    /// Entries in registration order (roll-ups included).
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The entry called `name`.
    pub fn entry(&self, name: &str) -> Option<&Entry> {
        self.position(name).map(|i| &self.entries[i])
    }

    /// The index of the entry called `name`.
    pub fn position(&self, name: &str) -> Option<usize> {
        self.by_name.get(name).copied()
    }

    /// Children recorded by `register_child`, in registration order.
    pub fn children(&self) -> &[ChildEdge] {
        &self.children
    }

    /// Adds `entry`, or replaces the entry of the same name where it stands.
    pub(crate) fn insert(&mut self, entry: Entry) {
        match self.position(&entry.name) {
            Some(i) => self.entries[i] = entry,
            None => {
                self.by_name.insert(entry.name.clone(), self.entries.len());
                self.entries.push(entry);
            }
        }
    }

    /// Records a child edge, replacing one of the same name.
    pub(crate) fn insert_child(&mut self, edge: ChildEdge) {
        match self.children.iter().position(|c| c.name == edge.name) {
            Some(i) => self.children[i] = edge,
            None => self.children.push(edge),
        }
    }

    /// Drops every entry and child edge (the declaration stays).
    pub(crate) fn clear(&mut self) {
        self.entries.clear();
        self.by_name.clear();
        self.children.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf(name: &str, size: u64, precision: Precision) -> Entry {
        Entry {
            name: name.into(),
            size,
            location: Location::Shared,
            persistent: false,
            aliases: None,
            precision,
            protected: Vec::new(),
            rollup: None,
        }
    }

    #[test]
    fn int32_packs_two_to_a_float64() {
        assert_eq!(leaf("c", 3, Precision::I32).elements_in(Precision::F64).unwrap(), 2);
        assert_eq!(leaf("c", 2, Precision::I32).elements_in(Precision::F64).unwrap(), 1);
        assert_eq!(leaf("c", 0, Precision::I32).elements_in(Precision::F64).unwrap(), 0);
        assert_eq!(leaf("c", 3, Precision::F64).elements_in(Precision::F32).unwrap(), 6);
        assert!(leaf("c", u64::MAX, Precision::F64).elements_in(Precision::F32).is_err());
    }

    #[test]
    fn registering_grows_linearly_with_the_entries() {
        // Each insert searched every entry by name, so a 80,000-buffer
        // model took 28 s to replay into a registry (and `plan` 47 s); by
        // name it takes milliseconds (the bound is wide: CI shares cores).
        let n = 100_000;
        let started = std::time::Instant::now();
        let mut g = BufferGroup::new("g", "G", Precision::F32);
        for i in 0..n {
            g.insert(leaf(&format!("b{i}"), 1, Precision::F32));
        }
        g.insert(leaf("b7", 9, Precision::F32));
        let took = started.elapsed();
        assert_eq!((g.entries().len(), g.position("b7"), g.entry("b7").map(|e| e.size)), (n, Some(7), Some(9)));
        assert_eq!(g.position("nope"), None);
        assert!(took < std::time::Duration::from_secs(4), "{n} entries took {took:?} to register");
        g.clear();
        assert_eq!((g.entries().len(), g.position("b7")), (0, None));
    }

    #[test]
    fn re_registering_keeps_the_first_position() {
        let mut g = BufferGroup::new("g", "G", Precision::F32);
        g.insert(leaf("a", 1, Precision::F32));
        g.insert(leaf("b", 2, Precision::F32));
        g.insert(leaf("a", 5, Precision::F32));
        let names: Vec<_> = g.entries().iter().map(|e| (e.name.as_str(), e.size)).collect();
        assert_eq!(names, [("a", 5), ("b", 2)]);
    }
}
