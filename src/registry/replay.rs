//! Rebuilding a registry from a CuBIE reference dump.
//!
//! A dump lists components depth-first from the loop and, for each, its
//! entries in registration order, roll-ups included. A roll-up's size is its
//! child's answer at `register_child` time, so children are replayed before
//! their parents (reverse depth-first order): every component registers its
//! leaf buffers as recorded (size, location, persistence, alias, dtype) and
//! rolls up each child where its `{child}_shared` row stands. The recorded
//! roll-up sizes, slices and size answers are *not* read: they are what the
//! replayed registry must reproduce (`tests/cubie_reference.rs`).
//!
//! `backwards_euler_pc` records its Newton solver twice (as `solver_scratch`
//! and `solver`); the dump gives each its own path, so each is its own
//! component here and both footprints count, as in CuBIE.

use super::dump::{Dump, DumpBuffer};
use super::Registry;
use crate::error::{Error, Result};

impl Registry {
    /// The registrations of `dump`, replayed in order. Components are keyed
    /// by their dump path; the top level is `dump.components[0]`. A
    /// component without a buffer group (`registered: false`) is declared
    /// with the run precision and registers nothing.
    pub fn from_dump(dump: &Dump) -> Result<Registry> {
        let mut registry = Registry::new();
        for c in &dump.components {
            registry.add_component(
                &c.path,
                &c.class,
                c.parent_dtype.unwrap_or(dump.config.precision),
            )?;
        }
        for c in dump.components.iter().rev() {
            let rows = dump.buffers.iter().filter(|b| b.component == c.path);
            for row in rows {
                match &row.rollup_of {
                    None => registry.register(
                        &row.name,
                        &c.path,
                        row.size,
                        row.location,
                        row.persistent,
                        row.aliases.as_deref(),
                        row.dtype,
                    )?,
                    Some(child) => replay_rollup(&mut registry, dump, row, child)?,
                }
            }
        }
        Ok(registry)
    }
}

/// One roll-up row: `{name}_shared` rolls the child up (registering both
/// entries); `{name}_persistent` must then already be there.
fn replay_rollup(
    registry: &mut Registry,
    dump: &Dump,
    row: &DumpBuffer,
    child: &str,
) -> Result<()> {
    let bad = |message: String| Error::Parse {
        source_name: dump.config.id.clone(),
        line: 0,
        message: format!(
            "component `{}`, roll-up `{}`: {message}",
            row.component, row.name
        ),
    };
    let parent = dump
        .component(&row.component)
        .ok_or_else(|| bad("its component is not listed".into()))?;
    if let Some(child_name) = row.name.strip_suffix("_shared") {
        if parent.children.get(child_name).map(String::as_str) != Some(child) {
            return Err(bad(format!(
                "`{child_name}` is not recorded as a child at `{child}`"
            )));
        }
        registry.register_child(&row.component, child_name, child, row.aliases.as_deref())?;
        return Ok(());
    }
    if row.name.strip_suffix("_persistent").is_some() {
        let registered = registry
            .group(&row.component)
            .and_then(|g| g.entry(&row.name));
        if registered
            .and_then(|e| e.rollup.as_ref())
            .map(|(c, _)| c.as_str())
            == Some(child)
        {
            return Ok(());
        }
        return Err(bad("no `_shared` row of the same child precedes it".into()));
    }
    Err(bad(
        "a roll-up name ends in `_shared` or `_persistent`".into()
    ))
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
        assert_eq!(
            r.get_allocator("algorithm_shared", "kernel/loop")
                .unwrap()
                .region,
            Region::Shared(2..4)
        );
        let f = r.footprint("kernel/loop").unwrap();
        assert_eq!((f.shared_bytes, f.skew_bytes), (16, 4));
        let (_, buffers) = r.declarations();
        assert_eq!(buffers.len(), 2);
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
        let text: String = DUMP
            .lines()
            .filter(|l| !l.contains(r#""algorithm_shared""#))
            .collect::<Vec<_>>()
            .join("\n");
        let dump = Dump::parse("tiny", &text).unwrap();
        let e = Registry::from_dump(&dump).unwrap_err();
        assert!(e.to_string().contains("no `_shared` row"), "{e}");
    }
}
