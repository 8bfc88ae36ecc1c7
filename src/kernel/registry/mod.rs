//! A CuBIE-compatible buffer registry.
//!
//! Components (CuBIE's "parents": the loop, the algorithm step, its Newton
//! and linear solvers, ...) are declared once with their precision, then
//! register buffers by name with CuBIE's calls and meaning:
//!
//! ```text
//! loop ──register_child("algorithm")──▶ algorithm ──▶ solver ──▶ linear_solver
//!  entries: state, ..., algorithm_shared, algorithm_persistent, ...
//!                       ^ roll-up entries: the child's shared and persistent
//!                         footprints, registered in the parent's order
//! ```
//!
//! * [`Registry::register`], [`Registry::update`], [`Registry::clear_parent`]
//!   and [`Registry::register_child`] change the registrations;
//! * [`Registry::get_allocator`], [`Registry::get_toplevel_allocators`] and
//!   [`Registry::get_child_allocators`] answer where a buffer lives
//!   ([`allocator`]);
//! * [`Registry::shared_buffer_size`], [`Registry::local_buffer_size`] and
//!   [`Registry::persistent_local_buffer_size`] answer in elements of the
//!   component's precision, as CuBIE 0.17.0 does.
//!
//! The layout behind every answer is CuBIE 0.17.0's, reproduced exactly
//! ([`cubie`]); [`replay`] rebuilds a registry from a reference dump, and
//! [`Registry::kernel`] hands the planner the kernel under a top-level
//! component, each component placed by its `register_child` edges.
//!
//! ```
//! use smemplan_kernel::{Location::*, Precision::F32};
//! use smemplan_kernel::registry::{Region, Registry};
//!
//! let mut r = Registry::new();
//! r.add_component("loop", "IVPLoop", F32)?;
//! r.add_component("solver", "NewtonKrylov", F32)?;
//! r.register("delta", "solver", 3, Shared, false, None, F32)?;
//! r.register("prev_theta", "solver", 1, Shared, true, None, F32)?;
//! r.register("state", "loop", 3, Shared, false, None, F32)?;
//! r.register_child("loop", "solver", "solver", None)?;
//! // An alias binds inside its target, clear of the child's persistent range.
//! r.register("scratch", "loop", 2, Local, false, Some("solver_shared"), F32)?;
//!
//! assert_eq!(r.shared_buffer_size("loop")?, 7);
//! assert_eq!(r.get_allocator("solver_shared", "loop")?.region, Region::Shared(3..7));
//! assert_eq!(r.get_allocator("scratch", "loop")?.region, Region::Shared(3..5));
//! // 7 float32 elements per run: an odd stride, so no skew.
//! assert_eq!(r.footprint("loop")?.padded_shared_bytes, 28);
//! # Ok::<(), smemplan_kernel::registry::RegistryError>(())
//! ```
//!
//! Where this differs from CuBIE on purpose: a component is declared before
//! it registers anything (CuBIE reads the precision off the parent object),
//! so an id that was never declared is an error rather than a silent 0; a
//! child must have its parent's precision (CuBIE would mix units); and a
//! child may not be its own ancestor.

pub mod allocator;
pub mod cubie;
pub mod dump;
pub mod group;
pub mod replay;

pub use crate::error::RegistryError;
pub use allocator::{ArrayView, BufferView, Region};
pub use cubie::{FlatBuffer, Footprint, GroupLayout, Placement};
pub use group::{BufferGroup, ChildEdge, Entry, Rollup};

use crate::{BufferDecl, ComponentDecl, GroupAlias, Location, Pool, Precision};

use std::collections::{HashMap, HashSet};

/// The registry: declared components, each with its buffer group.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Registry {
    groups: Vec<BufferGroup>,
    index: HashMap<String, usize>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Registry {
        Registry::default()
    }

    /// Declares a component. Declaring an id again with the same precision
    /// updates its class; with another precision it is an error (its
    /// registered sizes would change unit).
    pub fn add_component(&mut self, id: &str, class: &str, precision: Precision) -> Result<(), RegistryError> {
        if id.is_empty() {
            return Err(RegistryError::InvalidComponent {
                id: id.to_string(),
                reason: "component id cannot be empty".into(),
            });
        }
        if let Some(&i) = self.index.get(id) {
            let g = &mut self.groups[i];
            if g.precision != precision {
                return Err(RegistryError::InvalidComponent {
                    id: id.to_string(),
                    reason: format!("already declared as {}, cannot become {precision}", g.precision),
                });
            }
            g.class = class.to_string();
            return Ok(());
        }
        self.index.insert(id.to_string(), self.groups.len());
        self.groups.push(BufferGroup::new(id, class, precision));
        Ok(())
    }

    /// The component `id`.
    pub fn group(&self, id: &str) -> Option<&BufferGroup> {
        self.index.get(id).map(|&i| &self.groups[i])
    }

    pub(crate) fn group_or_err(&self, id: &str) -> Result<&BufferGroup, RegistryError> {
        self.group(id).ok_or_else(|| RegistryError::UnknownParent { parent: id.to_string() })
    }

    fn group_mut(&mut self, id: &str) -> Result<&mut BufferGroup, RegistryError> {
        match self.index.get(id) {
            Some(&i) => Ok(&mut self.groups[i]),
            None => Err(RegistryError::UnknownParent { parent: id.to_string() }),
        }
    }

    /// Every component, in declaration order.
    pub fn groups(&self) -> &[BufferGroup] {
        &self.groups
    }

    /// Components that are nobody's child: the kernels' top levels.
    pub fn roots(&self) -> Vec<&str> {
        let children: HashSet<&str> =
            self.groups.iter().flat_map(|g| g.children.iter().map(|c| c.component.as_str())).collect();
        self.groups.iter().map(|g| g.id.as_str()).filter(|id| !children.contains(id)).collect()
    }

    /// Registers (or re-registers in place) buffer `name` of `parent`:
    /// `size` elements of `precision`, at `location`, `persistent` if it must
    /// survive across steps, optionally aliasing an earlier entry.
    #[allow(clippy::too_many_arguments)]
    pub fn register(
        &mut self,
        name: &str,
        parent: &str,
        size: u64,
        location: Location,
        persistent: bool,
        aliases: Option<&str>,
        precision: Precision,
    ) -> Result<(), RegistryError> {
        let group = self.group_mut(parent)?;
        check_name(group, name, aliases)?;
        group.insert(Entry {
            name: name.to_string(),
            size,
            location,
            persistent,
            aliases: aliases.map(str::to_string),
            precision,
            protected: Vec::new(),
            rollup: None,
        });
        Ok(())
    }

    /// CuBIE's `update(parent, **{f"{name}_location": location})`: moves
    /// buffer `name` to `location` (`"shared"` or `"local"`). Returns whether
    /// the component has such a buffer (CuBIE ignores unknown names).
    pub fn update(&mut self, parent: &str, name: &str, location: &str) -> Result<bool, RegistryError> {
        let group = self.group_mut(parent)?;
        let location: Location = location.parse().map_err(|_| RegistryError::InvalidLocation {
            parent: parent.to_string(),
            name: name.to_string(),
            value: location.to_string(),
        })?;
        Ok(match group.position(name) {
            Some(i) => {
                group.entries[i].location = location;
                true
            }
            None => false,
        })
    }

    /// CuBIE's `update(parent, **settings)` with many settings at once: every
    /// key of the form `{name}_location` moves that buffer; other keys are
    /// ignored. Returns the keys that named a registered buffer. Every value
    /// is checked before anything moves.
    pub fn update_locations<'a>(
        &mut self,
        parent: &str,
        settings: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Vec<String>, RegistryError> {
        let moves: Vec<(&str, &str, &str)> = settings
            .into_iter()
            .filter_map(|(key, value)| key.strip_suffix("_location").map(|name| (key, name, value)))
            .collect();
        self.group_or_err(parent)?;
        if let Some(&(_, name, value)) = moves.iter().find(|(_, _, v)| v.parse::<Location>().is_err()) {
            return Err(RegistryError::InvalidLocation {
                parent: parent.to_string(),
                name: name.to_string(),
                value: value.to_string(),
            });
        }
        let mut recognised = Vec::new();
        for (key, name, value) in moves {
            if self.update(parent, name, value)? {
                recognised.push(key.to_string());
            }
        }
        Ok(recognised)
    }

    /// Drops every registration of `parent` and, by cascade, of the children
    /// it rolled up (their declarations stay, so they can register again).
    /// Returns the ids cleared, `parent` first.
    pub fn clear_parent(&mut self, parent: &str) -> Result<Vec<String>, RegistryError> {
        let cleared = self.descendants(parent)?;
        for id in &cleared {
            self.group_mut(id)?.clear();
        }
        Ok(cleared)
    }

    /// `id` and every component below it, depth-first, each once.
    fn descendants(&self, id: &str) -> Result<Vec<String>, RegistryError> {
        let mut seen = HashSet::new();
        let mut order = Vec::new();
        let mut stack = vec![id.to_string()];
        while let Some(cur) = stack.pop() {
            if !seen.insert(cur.clone()) {
                continue;
            }
            let g = self.group_or_err(&cur)?;
            stack.extend(g.children.iter().rev().map(|c| c.component.clone()));
            order.push(cur);
        }
        Ok(order)
    }

    /// Rolls `child` up into `parent` under `child_name`: registers
    /// `{child_name}_shared` (the child's shared size, in shared memory,
    /// carrying the child's protected ranges, aliasing `shared_alias` if
    /// given) and `{child_name}_persistent` (its persistent-local size), at
    /// the end of the parent's order or in place if already registered. The
    /// sizes are taken now, as CuBIE does; register the child again after it
    /// changes.
    pub fn register_child(
        &mut self,
        parent: &str,
        child_name: &str,
        child: &str,
        shared_alias: Option<&str>,
    ) -> Result<(), RegistryError> {
        let p = self.group_or_err(parent)?;
        let c = self.group_or_err(child)?;
        if child_name.is_empty() {
            return Err(RegistryError::EmptyName { parent: parent.to_string() });
        }
        if self.descendants(child)?.iter().any(|d| d == parent) {
            return Err(RegistryError::ChildCycle { parent: parent.to_string(), child: child.to_string() });
        }
        if p.precision != c.precision {
            return Err(RegistryError::PrecisionMismatch {
                parent: parent.to_string(),
                child: child.to_string(),
                parent_precision: p.precision,
                child_precision: c.precision,
            });
        }
        let shared_name = format!("{child_name}_shared");
        check_name(p, &shared_name, shared_alias)?;
        let layout = cubie::layout_group(c)?;
        let precision = p.precision;
        let rollup = |name: String, size, location, persistent, aliases: Option<&str>, protected, kind| Entry {
            name,
            size,
            location,
            persistent,
            aliases: aliases.map(str::to_string),
            precision,
            protected,
            rollup: Some((child.to_string(), kind)),
        };
        let shared = rollup(
            shared_name,
            layout.shared_elements,
            Location::Shared,
            false,
            shared_alias,
            layout.protected,
            Rollup::Shared,
        );
        let persistent = rollup(
            format!("{child_name}_persistent"),
            layout.persistent_local_elements,
            Location::Local,
            true,
            None,
            Vec::new(),
            Rollup::Persistent,
        );
        let p = self.group_mut(parent)?;
        p.insert(shared);
        p.insert(persistent);
        p.insert_child(ChildEdge { name: child_name.to_string(), component: child.to_string() });
        Ok(())
    }

    /// CuBIE 0.17.0's layout of `parent`'s group.
    pub fn layout(&self, parent: &str) -> Result<GroupLayout, RegistryError> {
        cubie::layout_group(self.group_or_err(parent)?)
    }

    /// Shared elements `parent` needs per run, children included.
    pub fn shared_buffer_size(&self, parent: &str) -> Result<u64, RegistryError> {
        Ok(self.layout(parent)?.shared_elements)
    }

    /// Elements of `parent`'s own local arrays (children not included).
    pub fn local_buffer_size(&self, parent: &str) -> Result<u64, RegistryError> {
        Ok(self.layout(parent)?.local_elements)
    }

    /// Persistent-local elements `parent` needs per run, children included.
    pub fn persistent_local_buffer_size(&self, parent: &str) -> Result<u64, RegistryError> {
        Ok(self.layout(parent)?.persistent_local_elements)
    }

    /// Where buffer `name` of `parent` lives.
    pub fn get_allocator(&self, name: &str, parent: &str) -> Result<BufferView, RegistryError> {
        let group = self.group_or_err(parent)?;
        let i = group
            .position(name)
            .ok_or_else(|| RegistryError::UnknownBuffer { parent: parent.to_string(), name: name.to_string() })?;
        let mut layout = cubie::layout_group(group)?;
        let entry = &group.entries[i];
        Ok(BufferView {
            component: parent.to_string(),
            name: name.to_string(),
            precision: entry.precision,
            unit: group.precision,
            size: entry.size,
            region: layout.placements.swap_remove(i).region,
        })
    }

    /// The two per-thread arrays a kernel whose top-level component is
    /// `kernel` declares: its slice of shared memory and its persistent
    /// local array (at least one element, as CUDA local arrays cannot be
    /// empty).
    pub fn get_toplevel_allocators(&self, kernel: &str) -> Result<(ArrayView, ArrayView), RegistryError> {
        let group = self.group_or_err(kernel)?;
        let layout = cubie::layout_group(group)?;
        Ok((
            ArrayView { pool: Pool::Shared, elements: layout.shared_elements, precision: group.precision },
            ArrayView {
                pool: Pool::PersistentLocal,
                elements: layout.persistent_local_elements.max(1),
                precision: group.precision,
            },
        ))
    }

    /// The regions of `parent`'s arrays it delegates to its child
    /// `child_name`: the `{child_name}_shared` and `{child_name}_persistent`
    /// roll-up entries.
    pub fn get_child_allocators(
        &self,
        parent: &str,
        child_name: &str,
    ) -> Result<(BufferView, BufferView), RegistryError> {
        Ok((
            self.get_allocator(&format!("{child_name}_shared"), parent)?,
            self.get_allocator(&format!("{child_name}_persistent"), parent)?,
        ))
    }

    /// The kernel's per-run numbers from its top-level component.
    pub fn footprint(&self, root: &str) -> Result<Footprint, RegistryError> {
        cubie::footprint(self, root)
    }

    /// Every leaf buffer below `root` placed in the root's arrays.
    pub fn flatten(&self, root: &str) -> Result<Vec<FlatBuffer>, RegistryError> {
        cubie::flatten(self, root)
    }
}

/// The kernel under one top-level component, as the planner reads a kernel:
/// see [`Registry::kernel`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelDecls {
    /// Each component id of the kernel with its path (`root/child/…`, one
    /// segment per `register_child` name), parents before children.
    pub paths: Vec<(String, String)>,
    /// The components, their paths as `path`.
    pub components: Vec<ComponentDecl>,
    /// Their leaf buffers in registration order, each under its component's
    /// path (roll-up entries are not buffers).
    pub buffers: Vec<BufferDecl>,
    /// Children whose whole shared roll-up aliases an entry of the parent
    /// (`register_child(..., shared_alias)`), by path.
    pub group_aliases: Vec<GroupAlias>,
}

impl KernelDecls {
    /// The path of component `id`, if it is part of this kernel.
    pub fn path_of(&self, id: &str) -> Option<&str> {
        kernel_path(&self.paths, id)
    }
}

impl Registry {
    /// The kernel whose top-level component is `root`, following the
    /// `register_child` edges: a component's path is its parent's path, `/`
    /// and the name its parent gave it (`register_child("loop", "algorithm",
    /// "dirk")` puts component `dirk` at `loop/algorithm`), whatever the ids
    /// are. The lifetime table and the planner place components by these
    /// paths (the child names are the table's), so a registry with ids of
    /// any spelling plans as the kernel it builds. Components not under
    /// `root` are not part of it.
    ///
    /// Errors: `root` never declared, a child name containing `/`, a
    /// component registered as a child twice (its place is ambiguous).
    pub fn kernel(&self, root: &str) -> Result<KernelDecls, RegistryError> {
        self.group_or_err(root)?;
        let mut paths: Vec<(String, String)> = Vec::new();
        let mut stack = vec![(root.to_string(), root.to_string())];
        while let Some((id, path)) = stack.pop() {
            if let Some((_, first)) = paths.iter().find(|(i, _)| *i == id) {
                return Err(RegistryError::SharedChild { child: id, first: first.clone(), second: path });
            }
            let g = self.group_or_err(&id)?;
            for edge in g.children.iter().rev() {
                if edge.name.contains('/') {
                    return Err(RegistryError::SlashInChildName { parent: id.clone(), name: edge.name.clone() });
                }
                stack.push((edge.component.clone(), format!("{path}/{}", edge.name)));
            }
            paths.push((id, path));
        }
        let mut kernel = KernelDecls { paths, components: Vec::new(), buffers: Vec::new(), group_aliases: Vec::new() };
        for (id, path) in &kernel.paths {
            let g = self.group_or_err(id)?;
            kernel.components.push(ComponentDecl {
                path: path.clone(),
                class: g.class.clone(),
                precision: g.precision,
            });
            for e in &g.entries {
                match &e.rollup {
                    None => kernel.buffers.push(BufferDecl {
                        component: path.clone(),
                        name: e.name.clone(),
                        size: e.size,
                        precision: e.precision,
                        location: e.location,
                        persistent: e.persistent,
                        aliases: e.aliases.clone(),
                    }),
                    Some((child, Rollup::Shared)) => {
                        if let (Some(target), Some(child)) = (&e.aliases, kernel_path(&kernel.paths, child)) {
                            kernel.group_aliases.push(GroupAlias {
                                component: path.clone(),
                                entry: e.name.clone(),
                                child: child.to_string(),
                                target: target.clone(),
                            });
                        }
                    }
                    Some((_, Rollup::Persistent)) => {}
                }
            }
        }
        Ok(kernel)
    }
}

fn kernel_path<'a>(paths: &'a [(String, String)], id: &str) -> Option<&'a str> {
    paths.iter().find(|(i, _)| i == id).map(|(_, p)| p.as_str())
}

/// CuBIE's checks on a new entry's name and alias, in CuBIE's order.
fn check_name(group: &BufferGroup, name: &str, aliases: Option<&str>) -> Result<(), RegistryError> {
    if name.is_empty() {
        return Err(RegistryError::EmptyName { parent: group.id.clone() });
    }
    if let Some(target) = aliases {
        if target == name {
            return Err(RegistryError::SelfAlias { parent: group.id.clone(), name: name.to_string() });
        }
        if group.position(target).is_none() {
            return Err(RegistryError::UnknownAliasTarget {
                parent: group.id.clone(),
                name: name.to_string(),
                target: target.to_string(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use Location::{Local, Shared};
    use Precision::{F32, F64};

    fn one() -> Registry {
        let mut r = Registry::new();
        r.add_component("g", "G", F32).unwrap();
        r.register("a", "g", 4, Shared, false, None, F32).unwrap();
        r
    }

    #[test]
    fn empty_name_is_an_error() {
        let e = one().register("", "g", 1, Shared, false, None, F32).unwrap_err();
        assert_eq!(e, RegistryError::EmptyName { parent: "g".into() });
        assert!(e.to_string().contains("cannot be empty"));
        let mut r = one();
        r.add_component("c", "C", F32).unwrap();
        assert!(matches!(r.register_child("g", "", "c", None), Err(RegistryError::EmptyName { .. })));
    }

    #[test]
    fn self_alias_is_an_error() {
        let e = one().register("b", "g", 1, Shared, false, Some("b"), F32).unwrap_err();
        assert_eq!(e, RegistryError::SelfAlias { parent: "g".into(), name: "b".into() });
        assert!(e.to_string().contains("cannot alias itself"));
    }

    #[test]
    fn unknown_alias_target_is_an_error() {
        let e = one().register("b", "g", 1, Shared, false, Some("later"), F32).unwrap_err();
        assert!(matches!(e, RegistryError::UnknownAliasTarget { ref target, .. } if target == "later"));
        assert!(e.to_string().contains("register `later` before `b`"));
        let mut r = one();
        r.add_component("c", "C", F32).unwrap();
        let e = r.register_child("g", "kid", "c", Some("nope")).unwrap_err();
        assert!(matches!(e, RegistryError::UnknownAliasTarget { .. }));
    }

    #[test]
    fn unknown_parent_is_an_error_everywhere() {
        let mut r = one();
        let unknown = RegistryError::UnknownParent { parent: "x".into() };
        assert_eq!(r.register("b", "x", 1, Shared, false, None, F32).unwrap_err(), unknown);
        assert_eq!(r.shared_buffer_size("x").unwrap_err(), unknown);
        assert_eq!(r.local_buffer_size("x").unwrap_err(), unknown);
        assert_eq!(r.persistent_local_buffer_size("x").unwrap_err(), unknown);
        assert_eq!(r.get_allocator("a", "x").unwrap_err(), unknown);
        assert_eq!(r.get_toplevel_allocators("x").unwrap_err(), unknown);
        assert_eq!(r.update("x", "a", "local").unwrap_err(), unknown);
        assert_eq!(r.clear_parent("x").unwrap_err(), unknown);
        assert_eq!(r.register_child("g", "kid", "x", None).unwrap_err(), unknown);
        assert!(unknown.to_string().contains("unknown component `x`"));
    }

    #[test]
    fn unknown_buffer_is_an_error() {
        let r = one();
        let e = r.get_allocator("zz", "g").unwrap_err();
        assert_eq!(e, RegistryError::UnknownBuffer { parent: "g".into(), name: "zz".into() });
        assert!(matches!(r.get_child_allocators("g", "kid"), Err(RegistryError::UnknownBuffer { .. })));
    }

    #[test]
    fn invalid_location_is_an_error() {
        let mut r = one();
        let e = r.update("g", "a", "global").unwrap_err();
        assert!(matches!(e, RegistryError::InvalidLocation { ref value, .. } if value == "global"));
        assert!(e.to_string().contains("must be `shared` or `local`"));
        let e = r.update_locations("g", [("a_location", "local"), ("b_location", "texture")]).unwrap_err();
        assert!(matches!(e, RegistryError::InvalidLocation { ref name, .. } if name == "b"));
        assert_eq!(r.get_allocator("a", "g").unwrap().region, Region::Shared(0..4), "nothing moved");
    }

    #[test]
    fn invalid_component_declarations_are_errors() {
        let mut r = one();
        assert!(matches!(r.add_component("", "X", F32), Err(RegistryError::InvalidComponent { .. })));
        let e = r.add_component("g", "G", F64).unwrap_err();
        assert!(e.to_string().contains("already declared as float32"), "{e}");
        r.add_component("g", "Renamed", F32).unwrap();
        assert_eq!(r.group("g").unwrap().class, "Renamed");
    }

    #[test]
    fn a_component_cannot_be_its_own_ancestor() {
        let mut r = one();
        r.add_component("c", "C", F32).unwrap();
        r.register_child("g", "kid", "c", None).unwrap();
        assert!(matches!(r.register_child("c", "up", "g", None), Err(RegistryError::ChildCycle { .. })));
        assert!(matches!(r.register_child("g", "me", "g", None), Err(RegistryError::ChildCycle { .. })));
    }

    #[test]
    fn a_child_must_share_its_parents_precision() {
        let mut r = one();
        r.add_component("c", "C", F64).unwrap();
        let e = r.register_child("g", "kid", "c", None).unwrap_err();
        assert!(matches!(e, RegistryError::PrecisionMismatch { child_precision: F64, .. }), "{e}");
    }

    #[test]
    fn overflow_is_an_error_and_the_crate_error_keeps_it_whole() {
        let mut r = one();
        r.register("huge", "g", u64::MAX, Shared, false, None, F32).unwrap();
        let e = r.shared_buffer_size("g").unwrap_err();
        assert!(matches!(e, RegistryError::Overflow(_)));
        assert!(matches!(crate::Error::from(e), crate::Error::Registry(RegistryError::Overflow(_))));
        let empty = RegistryError::EmptyName { parent: "g".into() };
        let e: crate::Error = empty.clone().into();
        assert_eq!(e, crate::Error::Registry(empty));
        assert!(e.to_string().contains("cannot be empty"), "{e}");
    }

    #[test]
    fn update_moves_buffers_and_ignores_unknown_names() {
        let mut r = one();
        r.register("b", "g", 2, Local, false, None, F32).unwrap();
        let keys =
            r.update_locations("g", [("b_location", "shared"), ("zz_location", "local"), ("other", "x")]).unwrap();
        assert_eq!(keys, ["b_location"]);
        assert_eq!(r.shared_buffer_size("g").unwrap(), 6);
        assert!(!r.update("g", "zz", "shared").unwrap());
    }

    #[test]
    fn children_roll_up_and_clear_parent_cascades() {
        let mut r = Registry::new();
        for id in ["loop", "alg", "solver"] {
            r.add_component(id, id, F32).unwrap();
        }
        r.register("delta", "solver", 3, Shared, false, None, F32).unwrap();
        r.register("theta", "solver", 1, Shared, true, None, F32).unwrap();
        r.register("stage", "alg", 2, Shared, false, None, F32).unwrap();
        r.register("hist", "alg", 5, Local, true, None, F32).unwrap();
        r.register("scratch", "alg", 7, Local, false, None, F32).unwrap();
        r.register_child("alg", "solver", "solver", None).unwrap();
        r.register("x", "loop", 1, Shared, false, None, F32).unwrap();
        r.register_child("loop", "algorithm", "alg", None).unwrap();

        assert_eq!(r.shared_buffer_size("alg").unwrap(), 6);
        assert_eq!(r.persistent_local_buffer_size("alg").unwrap(), 5);
        assert_eq!(r.local_buffer_size("alg").unwrap(), 7);
        assert_eq!(r.local_buffer_size("loop").unwrap(), 0, "local sizes do not roll up");
        assert_eq!(
            r.layout("loop").unwrap().protected,
            [std::ops::Range { start: 6, end: 7 }],
            "theta, seen from the loop"
        );
        let (s, p) = r.get_child_allocators("loop", "algorithm").unwrap();
        assert_eq!((s.region, p.region), (Region::Shared(1..7), Region::PersistentLocal(0..5)));
        let (sh, pl) = r.get_toplevel_allocators("loop").unwrap();
        assert_eq!((sh.elements, pl.elements, sh.bytes()), (7, 5, Some(28)));
        assert_eq!(r.roots(), ["loop"]);
        let kernel = r.kernel("loop").unwrap();
        let paths: Vec<_> = kernel.components.iter().map(|c| c.path.as_str()).collect();
        assert_eq!(paths, ["loop", "loop/algorithm", "loop/algorithm/solver"], "placed by register_child's names");
        let names: Vec<_> = kernel.buffers.iter().map(|b| b.name.as_str()).collect();
        assert_eq!(names, ["x", "stage", "hist", "scratch", "delta", "theta"]);

        assert_eq!(r.clear_parent("alg").unwrap(), ["alg", "solver"]);
        assert_eq!(r.shared_buffer_size("solver").unwrap(), 0);
        assert_eq!(r.shared_buffer_size("loop").unwrap(), 7, "the parent keeps its roll-up");
        assert_eq!(r.roots(), ["loop", "solver"], "alg is still the loop's child; solver no longer alg's");
    }

    #[test]
    fn an_empty_kernel_still_declares_a_persistent_array() {
        let mut r = Registry::new();
        r.add_component("k", "K", F64).unwrap();
        let (sh, pl) = r.get_toplevel_allocators("k").unwrap();
        assert_eq!((sh.elements, pl.elements, pl.bytes()), (0, 1, Some(8)));
    }
}
