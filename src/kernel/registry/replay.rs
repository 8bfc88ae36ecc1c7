//! Rebuilding a registry from recorded registrations: a CuBIE reference
//! dump ([`Registry::from_dump`]) or a kernel's declarations
//! ([`Registry::from_declarations`], what `model::Kernel::registry` calls),
//! both through [`Registry::replay`].
//!
//! Each component's registrations are replayed in its order: leaf buffers as
//! declared (size, location, persistence, alias, dtype) and each child rolled
//! up where its `{child}_shared` row stands. A roll-up's size is its child's
//! answer at `register_child` time, so a child is replayed completely before
//! its parent rolls it up. For a dump, the recorded roll-up sizes, slices and
//! size answers are *not* read: they are what the replayed registry must
//! reproduce (`tests/cubie_reference.rs`).
//!
//! `backwards_euler_pc` records its Newton solver twice (as `solver_scratch`
//! and `solver`); the dump gives each its own path, so each is its own
//! component here and both footprints count, as in CuBIE.

use super::dump::{Dump, DumpBuffer};
use super::{Registry, RegistryError};
use crate::error::{Error, Result};
use crate::{BufferDecl, ComponentDecl, GroupAlias};
use std::collections::{HashMap, HashSet};

/// In a class's registration order, stands for every entry not named.
pub const REGISTRATION_REST: &str = "...";

/// One registration a component makes, in its order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Registration {
    /// A leaf buffer (its `component` is the registering component).
    Buffer(BufferDecl),
    /// A child rolled up as `{name}_shared` (optionally aliasing `aliases`)
    /// and `{name}_persistent`.
    Child {
        /// The child's name in its parent.
        name: String,
        /// The child component's path.
        component: String,
        /// What the child's shared region may alias in the parent.
        aliases: Option<String>,
    },
}

/// Where [`Registry::replay`] stands with a component.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Progress {
    Waiting,
    Started,
    Done,
}

impl Registry {
    /// Declares each component and replays its registrations, in order. A
    /// roll-up needs its child complete, so a component is finished only
    /// after the children it rolls up (depth first from each component in
    /// turn, each once): the parents' roll-up sizes are the children's final
    /// answers, as in CuBIE.
    pub fn replay(kernel: &[(ComponentDecl, Vec<Registration>)]) -> Result<Registry, RegistryError> {
        let components: Vec<&ComponentDecl> = kernel.iter().map(|(c, _)| c).collect();
        let mut registry = Registry::new();
        for c in &components {
            registry.add_component(&c.path, &c.class, c.precision)?;
        }
        let index: HashMap<&str, usize> = components.iter().enumerate().map(|(i, c)| (c.path.as_str(), i)).collect();
        let mut progress = vec![Progress::Waiting; components.len()];
        for first in 0..components.len() {
            if progress[first] != Progress::Waiting {
                continue;
            }
            progress[first] = Progress::Started;
            // (component, next registration): an explicit stack, so a deep
            // tree cannot overflow the call stack.
            let mut stack = vec![(first, 0usize)];
            while let Some(&(i, k)) = stack.last() {
                let path = components[i].path.as_str();
                let Some(step) = kernel[i].1.get(k) else {
                    progress[i] = Progress::Done;
                    stack.pop();
                    continue;
                };
                match step {
                    Registration::Buffer(b) => registry.register(
                        &b.name,
                        path,
                        b.size,
                        b.location,
                        b.persistent,
                        b.aliases.as_deref(),
                        b.precision,
                    )?,
                    Registration::Child { name, component, aliases } => {
                        let c = *index
                            .get(component.as_str())
                            .ok_or_else(|| RegistryError::UnknownParent { parent: component.clone() })?;
                        match progress[c] {
                            Progress::Done => registry.register_child(path, name, component, aliases.as_deref())?,
                            Progress::Waiting => {
                                progress[c] = Progress::Started;
                                stack.push((c, 0));
                                continue;
                            }
                            Progress::Started => {
                                return Err(RegistryError::ChildCycle {
                                    parent: path.to_string(),
                                    child: component.clone(),
                                })
                            }
                        }
                    }
                }
                if let Some(top) = stack.last_mut() {
                    top.1 += 1;
                }
            }
        }
        Ok(registry)
    }

    /// The registrations of `dump`, replayed in order. Components are keyed
    /// by their dump path; the top level is `dump.components[0]`. A
    /// component without a buffer group (`registered: false`) is declared
    /// with the run precision and registers nothing.
    pub fn from_dump(dump: &Dump) -> Result<Registry> {
        let kernel = dump
            .components
            .iter()
            .map(|c| {
                let decl = ComponentDecl {
                    path: c.path.clone(),
                    class: c.class.clone(),
                    precision: c.parent_dtype.unwrap_or(dump.config.precision),
                };
                let mut rolled: HashSet<&str> = HashSet::new();
                let mut out = Vec::new();
                for row in dump.buffers.iter().filter(|b| b.component == c.path) {
                    match &row.rollup_of {
                        None => out.push(Registration::Buffer(BufferDecl {
                            component: row.component.clone(),
                            name: row.name.clone(),
                            size: row.size,
                            precision: row.dtype,
                            location: row.location,
                            persistent: row.persistent,
                            aliases: row.aliases.clone(),
                        })),
                        Some(child) => out.extend(rollup(dump, row, child, &mut rolled)?),
                    }
                }
                Ok((decl, out))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Registry::replay(&kernel)?)
    }

    /// CuBIE 0.17.0's registry for a kernel's declarations, and the path of
    /// its top-level component (the one component without a parent).
    ///
    /// Each component registers its own buffers and rolls up its children
    /// (a child is the component one path segment below it; a whole-child
    /// alias becomes the roll-up's alias) in the order `registration(class)`
    /// gives: own buffer names and child names, with [`REGISTRATION_REST`]
    /// standing for every entry not named (own buffers first, then
    /// children, each in declaration order); an empty order means own
    /// buffers, then children; names the kernel lacks are skipped.
    pub fn from_declarations<'o>(
        components: &[ComponentDecl],
        buffers: &[BufferDecl],
        group_aliases: &[GroupAlias],
        registration: impl Fn(&str) -> &'o [String],
    ) -> Result<(Registry, String), RegistryError> {
        let paths: HashSet<&str> = components.iter().map(|c| c.path.as_str()).collect();
        fn parent_of<'a>(paths: &HashSet<&str>, path: &'a str) -> Option<&'a str> {
            path.rfind('/').map(|k| &path[..k]).filter(|p| paths.contains(p))
        }
        let roots: Vec<&str> =
            components.iter().map(|c| c.path.as_str()).filter(|p| parent_of(&paths, p).is_none()).collect();
        let root = match roots.as_slice() {
            [root] => root.to_string(),
            _ => return Err(RegistryError::RootCount { roots: roots.iter().map(|r| r.to_string()).collect() }),
        };
        let kernel = components
            .iter()
            .map(|c| {
                let own = buffers
                    .iter()
                    .filter(|b| b.component == c.path)
                    .map(|b| (b.name.clone(), Registration::Buffer(b.clone())));
                let children =
                    components.iter().filter(|k| parent_of(&paths, &k.path) == Some(c.path.as_str())).map(|k| {
                        let name = k.path.rsplit('/').next().unwrap_or_default().to_string();
                        let aliases = group_aliases.iter().find(|g| g.child == k.path).map(|g| g.target.clone());
                        (name.clone(), Registration::Child { name, component: k.path.clone(), aliases })
                    });
                let order =
                    in_registration_order(own.chain(children).collect(), registration(&c.class)).map_err(|name| {
                        RegistryError::AmbiguousRegistration { component: c.path.clone(), class: c.class.clone(), name }
                    })?;
                Ok((c.clone(), order))
            })
            .collect::<Result<Vec<_>, RegistryError>>()?;
        Ok((Registry::replay(&kernel)?, root))
    }
}

/// `items` (own buffers, then children, each in declaration order) arranged
/// by a class's `registration` list; `Err` names an entry of the list that
/// matches two items.
fn in_registration_order(
    items: Vec<(String, Registration)>,
    order: &[String],
) -> std::result::Result<Vec<Registration>, String> {
    if order.is_empty() {
        return Ok(items.into_iter().map(|(_, r)| r).collect());
    }
    for name in order {
        if items.iter().filter(|(n, _)| n == name).count() > 1 {
            return Err(name.clone());
        }
    }
    let (named, rest): (Vec<_>, Vec<_>) = items.into_iter().partition(|(n, _)| order.contains(n));
    let mut named: HashMap<String, Registration> = named.into_iter().collect();
    let mut rest = Some(rest);
    let mut out = Vec::new();
    for name in order {
        if name == REGISTRATION_REST {
            out.extend(rest.take().into_iter().flatten().map(|(_, r)| r));
        } else if let Some(r) = named.remove(name) {
            out.push(r);
        }
    }
    out.extend(rest.into_iter().flatten().map(|(_, r)| r));
    Ok(out)
}

/// One roll-up row: `{name}_shared` rolls the child up (both entries);
/// `{name}_persistent` must follow a `_shared` row of the same child.
fn rollup<'a>(
    dump: &Dump,
    row: &DumpBuffer,
    child: &'a str,
    rolled: &mut HashSet<&'a str>,
) -> Result<Option<Registration>> {
    let bad = |message: String| {
        Error::parse(
            dump.config.id.clone(),
            0,
            format!("component `{}`, roll-up `{}`: {message}", row.component, row.name),
        )
    };
    let parent = dump.component(&row.component).ok_or_else(|| bad("its component is not listed".into()))?;
    if let Some(child_name) = row.name.strip_suffix("_shared") {
        if parent.children.get(child_name).map(String::as_str) != Some(child) {
            return Err(bad(format!("`{child_name}` is not recorded as a child at `{child}`")));
        }
        rolled.insert(child);
        return Ok(Some(Registration::Child {
            name: child_name.to_string(),
            component: child.to_string(),
            aliases: row.aliases.clone(),
        }));
    }
    if row.name.strip_suffix("_persistent").is_some() {
        return if rolled.contains(child) {
            Ok(None)
        } else {
            Err(bad("no `_shared` row of the same child precedes it".into()))
        };
    }
    Err(bad("a roll-up name ends in `_shared` or `_persistent`".into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::Region;

    const DUMP: &str = r#"{
      "cubie_version": "0.17.0",
      "config": {"id": "tiny", "family": "erk", "algorithm": "euler", "precision": "float32",
                 "n_states": 2, "n_parameters": 0, "n_drivers": 0, "n_observables": 0, "placement": "all_shared"},
      "top_level": {"shared_elements_per_run": 4, "shared_bytes_per_run": 16, "persistent_local_elements": 0,
                    "persistent_local_bytes": 0, "local_elements_all_components": 0, "local_bytes_all_components": 0,
                    "shared_needs_skew_padding": true},
      "launch": {"runs": 4096, "skew_bytes": 4, "padded_shared_bytes_per_run": 20, "limit_blocksize": {}},
      "component_columns": ["path","class","registered","parent_dtype","shared_buffer_size","local_buffer_size",
                            "persistent_local_buffer_size","shared_bytes","local_bytes","persistent_local_bytes",
                            "protected_shared_ranges","children"],
      "components": [
        ["kernel/loop","IVPLoop",true,"float32",4,0,0,16,0,0,[],{"algorithm":"kernel/loop/algorithm"}],
        ["kernel/loop/algorithm","Step",true,"float32",2,0,0,8,0,0,[],{}]
      ],
      "buffer_columns": ["component","name","size","location","persistent","aliases","dtype","parent_elements",
                         "protected","rollup_of","pool","slice","local_size","alias_applied"],
      "buffers": [
        ["kernel/loop","state",2,"shared",false,null,"float32",2,[],null,"shared",[0,2],null,null],
        ["kernel/loop","algorithm_shared",2,"shared",false,null,"float32",2,[],"kernel/loop/algorithm","shared",[2,4],null,null],
        ["kernel/loop","algorithm_persistent",0,"local",true,null,"float32",0,[],"kernel/loop/algorithm","persistent_local",[0,0],null,null],
        ["kernel/loop/algorithm","k",2,"shared",false,null,"float32",2,[],null,"shared",[0,2],null,null]
      ]
    }"#;

    #[test]
    fn a_small_dump_replays_children_first() {
        let dump = Dump::parse("tiny", DUMP).unwrap();
        let r = Registry::from_dump(&dump).unwrap();
        assert_eq!(r.shared_buffer_size("kernel/loop").unwrap(), 4);
        assert_eq!(r.get_allocator("algorithm_shared", "kernel/loop").unwrap().region, Region::Shared(2..4));
        let f = r.footprint("kernel/loop").unwrap();
        assert_eq!((f.shared_bytes, f.skew_bytes), (16, 4));
        assert_eq!(r.kernel("kernel/loop").unwrap().buffers.len(), 2);
    }

    #[test]
    fn a_rollup_of_an_unrecorded_child_is_reported() {
        let text = DUMP.replace(r#"{"algorithm":"kernel/loop/algorithm"}"#, "{}");
        let dump = Dump::parse("tiny", &text).unwrap();
        let e = Registry::from_dump(&dump).unwrap_err();
        assert!(e.to_string().contains("not recorded as a child"), "{e}");
    }

    #[test]
    fn a_persistent_rollup_without_its_shared_row_is_reported() {
        let text: String = DUMP.lines().filter(|l| !l.contains(r#""algorithm_shared""#)).collect::<Vec<_>>().join("\n");
        let dump = Dump::parse("tiny", &text).unwrap();
        let e = Registry::from_dump(&dump).unwrap_err();
        assert!(e.to_string().contains("no `_shared` row"), "{e}");
    }
}
