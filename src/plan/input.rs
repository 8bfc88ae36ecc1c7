//! What a plan is given: components, leaf buffers each in its *effective*
//! pool (CuBIE's, so comparisons are like for like), and group aliases.

use crate::error::{Error, Result};
use smemplan_kernel::model::Kernel;
use smemplan_kernel::registry::dump::Dump;
use smemplan_kernel::registry::Registry;
use smemplan_kernel::{BufferDecl, ComponentDecl, GroupAlias, Location, Pool, Precision};
use std::collections::HashMap;

/// One leaf buffer to place, with its effective pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanBuffer {
    /// The declaration.
    pub decl: BufferDecl,
    /// Where it goes.
    pub pool: Pool,
    /// For an aliasing buffer that CuBIE placed inside a leaf target: its
    /// byte offset within the target.
    pub alias_offset: Option<u64>,
}

impl PlanBuffer {
    /// `component/name`.
    pub fn full_name(&self) -> String {
        format!("{}/{}", self.decl.component, self.decl.name)
    }

    /// Size in bytes (elements × item size).
    pub fn bytes(&self) -> Result<u64> {
        Ok(smemplan_core::error::mul(self.decl.size, self.decl.precision.itemsize(), || {
            format!("size of `{}`", self.full_name())
        })?)
    }
}

/// Everything [`plan`](super::plan()) needs: components, leaf buffers, group aliases.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanInput {
    /// Where it came from (a file name, a model name).
    pub source: String,
    /// The component tree.
    pub components: Vec<ComponentDecl>,
    /// Leaf buffers (never roll-up entries), in declaration order.
    pub buffers: Vec<PlanBuffer>,
    /// Aliases declared on whole children.
    pub group_aliases: Vec<GroupAlias>,
}

fn parse_error(source: &str, message: String) -> Error {
    smemplan_core::Error::Parse { source_name: source.to_string(), line: 0, message }.into()
}

impl TryFrom<&Kernel> for PlanInput {
    type Error = Error;

    /// A kernel model's declarations, placed by CuBIE's pool rules.
    fn try_from(kernel: &Kernel) -> Result<PlanInput> {
        PlanInput::from_decls(
            &kernel.model,
            kernel.components.clone(),
            kernel.buffers.clone(),
            kernel.group_aliases.clone(),
        )
    }
}

impl PlanInput {
    /// The kernel under `root` in a registry built by CuBIE's calls
    /// ([`Registry::kernel`]): components placed by their `register_child`
    /// edges (so ids need not be paths), leaf buffers in CuBIE's pools.
    pub fn from_registry(registry: &Registry, root: &str) -> Result<PlanInput> {
        let kernel = registry.kernel(root)?;
        PlanInput::from_decls(root, kernel.components, kernel.buffers, kernel.group_aliases)
    }

    /// The leaf buffers of a CuBIE dump, each in the pool CuBIE used.
    pub fn from_dump(dump: &Dump) -> Result<PlanInput> {
        let source = dump.config.id.clone();
        let precision_of: HashMap<&str, Precision> = dump
            .components
            .iter()
            .map(|c| (c.path.as_str(), c.parent_dtype.unwrap_or(dump.config.precision)))
            .collect();
        let components = dump
            .components
            .iter()
            .map(|c| ComponentDecl {
                path: c.path.clone(),
                class: c.class.clone(),
                precision: precision_of[c.path.as_str()],
            })
            .collect();
        let leaves: Vec<_> = dump.buffers.iter().filter(|b| b.rollup_of.is_none()).collect();
        let mut buffers = Vec::with_capacity(leaves.len());
        for b in &leaves {
            let pool = match b.pool.as_str() {
                "shared" => Pool::Shared,
                "local" => Pool::Local,
                "persistent_local" => Pool::PersistentLocal,
                other => {
                    return Err(parse_error(
                        &source,
                        format!("buffer `{}/{}`: unknown pool `{other}`", b.component, b.name),
                    ))
                }
            };
            let mut alias_offset = None;
            if let (Some(target), Some(true), Some(slice)) = (&b.aliases, b.alias_applied, b.slice) {
                let t = leaves.iter().find(|t| t.component == b.component && &t.name == target);
                if let Some(tslice) = t.and_then(|t| t.slice) {
                    let within = slice[0].checked_sub(tslice[0]).ok_or_else(|| {
                        parse_error(
                            &source,
                            format!("buffer `{}/{}` starts before its alias target", b.component, b.name),
                        )
                    })?;
                    let unit =
                        precision_of.get(b.component.as_str()).copied().unwrap_or(dump.config.precision).itemsize();
                    alias_offset = Some(smemplan_core::error::mul(within, unit, || "alias offset".into())?);
                }
            }
            buffers.push(PlanBuffer {
                decl: BufferDecl {
                    component: b.component.clone(),
                    name: b.name.clone(),
                    size: b.size,
                    precision: b.dtype,
                    location: b.location,
                    persistent: b.persistent,
                    aliases: b.aliases.clone(),
                },
                pool,
                alias_offset,
            });
        }
        let group_aliases = dump
            .buffers
            .iter()
            .filter_map(|b| {
                let child = b.rollup_of.as_ref()?;
                let target = b.aliases.as_ref()?;
                Some(GroupAlias {
                    component: b.component.clone(),
                    entry: b.name.clone(),
                    child: child.clone(),
                    target: target.clone(),
                })
            })
            .collect();
        Ok(PlanInput { source, components, buffers, group_aliases })
    }

    /// Declarations placed in the pools CuBIE's rules give: a persistent
    /// buffer stays in shared memory when its location is shared, else goes
    /// to the persistent local pool; an aliasing buffer lands in shared
    /// memory inside its target when the target is shared, neither side is
    /// persistent and the target has room left (first fit after earlier
    /// aliases into it); anything else goes to its own location.
    ///
    /// For targets that are whole child regions the room is the region's
    /// non-persistent shared bytes, which ignores how CuBIE fits around
    /// protected ranges; [`smemplan_kernel::registry`] reproduces that exactly.
    pub fn from_decls(
        source: &str,
        components: Vec<ComponentDecl>,
        decls: Vec<BufferDecl>,
        group_aliases: Vec<GroupAlias>,
    ) -> Result<PlanInput> {
        let base = |d: &BufferDecl| match (d.persistent, d.location) {
            (true, Location::Local) => Pool::PersistentLocal,
            (_, Location::Shared) => Pool::Shared,
            (false, Location::Local) => Pool::Local,
        };
        let mut buffers: Vec<PlanBuffer> =
            decls.into_iter().map(|d| PlanBuffer { pool: base(&d), decl: d, alias_offset: None }).collect();
        let mut used: HashMap<(String, String), u64> = HashMap::new();
        for i in 0..buffers.len() {
            let Some(target) = buffers[i].decl.aliases.clone() else {
                continue;
            };
            let component = buffers[i].decl.component.clone();
            if buffers[i].decl.persistent {
                continue;
            }
            let bytes = buffers[i].bytes()?;
            let leaf = buffers.iter().position(|t| t.decl.component == component && t.decl.name == target);
            let room = match leaf {
                Some(t) if buffers[t].pool == Pool::Shared && !buffers[t].decl.persistent => Some(buffers[t].bytes()?),
                Some(_) => None,
                None => {
                    let members = region_members(&buffers, &components, &component, &target);
                    let mut room = 0u64;
                    for &m in members.iter().flatten() {
                        if buffers[m].pool == Pool::Shared && !buffers[m].decl.persistent {
                            room = smemplan_core::error::add(room, buffers[m].bytes()?, || "region size".into())?;
                        }
                    }
                    members.map(|_| room)
                }
            };
            let key = (component, target);
            let taken = used.get(&key).copied().unwrap_or(0);
            if let Some(room) = room {
                if taken.checked_add(bytes).is_some_and(|end| end <= room) {
                    buffers[i].pool = Pool::Shared;
                    buffers[i].alias_offset = leaf.map(|_| taken);
                    used.insert(key, taken + bytes);
                }
            }
        }
        Ok(PlanInput { source: source.to_string(), components, buffers, group_aliases })
    }
}

/// Leaf buffers making up alias target `target` of `component`: the leaf of
/// that name, or the leaves under child `{stem}` for a roll-up name
/// `{stem}_shared` / `{stem}_persistent`.
pub(super) fn region_members(
    buffers: &[PlanBuffer],
    components: &[ComponentDecl],
    component: &str,
    target: &str,
) -> Option<Vec<usize>> {
    if let Some(i) = buffers.iter().position(|b| b.decl.component == component && b.decl.name == target) {
        return Some(vec![i]);
    }
    let stem = target.strip_suffix("_shared").or_else(|| target.strip_suffix("_persistent"))?;
    let child = format!("{component}/{stem}");
    components.iter().any(|c| c.path == child).then(|| under(buffers, &child))
}

/// Leaf buffers of component `path` and its descendants.
pub(super) fn under(buffers: &[PlanBuffer], path: &str) -> Vec<usize> {
    let prefix = format!("{path}/");
    (0..buffers.len())
        .filter(|&i| buffers[i].decl.component == path || buffers[i].decl.component.starts_with(&prefix))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::tests::{comp, decl};

    #[test]
    fn cubie_pool_rules_for_declarations() {
        let mut p = decl("k", "p", 3, Location::Local, None);
        p.persistent = true;
        let input = PlanInput::from_decls(
            "t",
            vec![comp("k", "Loop")],
            vec![
                decl("k", "x", 10, Location::Shared, None),
                decl("k", "y", 4, Location::Local, Some("x")),
                decl("k", "z", 8, Location::Local, Some("x")),
                p,
            ],
            vec![],
        )
        .unwrap();
        let pools: Vec<Pool> = input.buffers.iter().map(|b| b.pool).collect();
        assert_eq!(pools, vec![Pool::Shared, Pool::Shared, Pool::Local, Pool::PersistentLocal]);
        assert_eq!(input.buffers[1].alias_offset, Some(0));
        assert_eq!(input.buffers[2].alias_offset, None, "no room left after y");
    }
}
