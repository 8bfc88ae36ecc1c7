//! CuBIE registry dumps: the JSON files of `tests/data/cubie-reference/`, one solver
//! configuration each, as typed Rust values.
//!
//! The dump stores components and buffers as rows of arrays next to a list of
//! column names; [`Dump::parse`] zips each row with its columns and checks
//! every field's type, so a malformed dump is an error naming the row, its
//! line in the file and the column (or, outside the rows, the key path).

use crate::error::{Error, Result};
use crate::{Location, Precision};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use smemplan_core::error::line_of;
use std::collections::BTreeMap;

/// The CuBIE version whose registry rules [`crate::registry`] reproduces.
pub const REPLAYED_VERSION: &str = "0.17.0";

/// One configuration dumped from CuBIE's registry.
#[derive(Debug, Clone)]
pub struct Dump {
    /// `cubie_version`, e.g. "0.17.0".
    pub cubie_version: String,
    /// What was configured and what CuBIE resolved.
    pub config: Config,
    /// Per-run totals of the top-level component (the loop).
    pub top_level: TopLevel,
    /// Launch numbers (block sizes per device model).
    pub launch: DumpLaunch,
    /// Components, depth-first from the loop.
    pub components: Vec<DumpComponent>,
    /// Every registered entry, in registration order, groups depth-first.
    pub buffers: Vec<DumpBuffer>,
}

/// `config`.
#[derive(Debug, Clone, Deserialize)]
pub struct Config {
    /// Configuration id (the file name without `.json`).
    pub id: String,
    /// Solver family (`erk`, `dirk`, ...).
    pub family: String,
    /// Algorithm name as given to CuBIE.
    pub algorithm: String,
    /// Run precision.
    pub precision: Precision,
    /// n.
    pub n_states: u64,
    /// p.
    pub n_parameters: u64,
    /// d.
    pub n_drivers: u64,
    /// o.
    pub n_observables: u64,
    /// `default`, `all_shared`, `all_local`, `auto_simulator`, `auto_h100`.
    pub placement: String,
    /// Extra settings passed to CuBIE.
    #[serde(default)]
    pub solver_kwargs: Map<String, Value>,
    /// What CuBIE resolved (stage count, controller, ...), kept raw.
    #[serde(default)]
    pub resolved: Map<String, Value>,
}

/// `top_level`.
#[derive(Debug, Clone, Deserialize)]
pub struct TopLevel {
    /// `loop.shared_buffer_size`, elements of the run precision.
    pub shared_elements_per_run: u64,
    /// The same in bytes.
    pub shared_bytes_per_run: u64,
    /// `loop.persistent_local_buffer_size`.
    pub persistent_local_elements: u64,
    /// The same in bytes.
    pub persistent_local_bytes: u64,
    /// Σ of every component's own non-persistent local buffers (elements).
    pub local_elements_all_components: u64,
    /// The same in bytes (each buffer's own dtype).
    pub local_bytes_all_components: u64,
    /// Whether the kernel adds a 4-byte skew per run.
    pub shared_needs_skew_padding: bool,
}

/// `launch`.
#[derive(Debug, Clone, Deserialize)]
pub struct DumpLaunch {
    /// Batch size the launch numbers were computed for.
    pub runs: u64,
    /// 4 or 0.
    pub skew_bytes: u64,
    /// Shared bytes per run plus skew.
    pub padded_shared_bytes_per_run: u64,
    /// `limit_blocksize` results per device model name.
    pub limit_blocksize: BTreeMap<String, DeviceLaunch>,
}

/// `launch.limit_blocksize.<model>`.
#[derive(Debug, Clone, Deserialize)]
pub struct DeviceLaunch {
    /// The opt-in shared-memory limit per block used.
    pub max_dynamic_shared_memory_per_block: u64,
    /// Requested block size (as a string key: "32", "64", ...) → result.
    pub requested: BTreeMap<String, BlockChoice>,
}

/// One `limit_blocksize` result.
#[derive(Debug, Clone, Deserialize)]
pub struct BlockChoice {
    /// Chosen block size.
    pub blocksize: u64,
    /// Dynamic shared bytes per block.
    pub dynamic_shared_bytes: u64,
    /// CuBIE's warning text, if it warned.
    #[serde(default)]
    pub warning: Option<String>,
}

/// One row of `components`.
#[derive(Debug, Clone, Deserialize)]
pub struct DumpComponent {
    /// e.g. `kernel/loop/algorithm/solver`.
    pub path: String,
    /// Python class name, e.g. `NewtonKrylov`.
    pub class: String,
    /// False when the component has no buffer group.
    pub registered: bool,
    /// The group's precision.
    pub parent_dtype: Option<Precision>,
    /// Elements, children included.
    pub shared_buffer_size: u64,
    /// Elements, own buffers only.
    pub local_buffer_size: u64,
    /// Elements, children included.
    pub persistent_local_buffer_size: u64,
    /// Shared bytes.
    pub shared_bytes: u64,
    /// Local bytes.
    pub local_bytes: u64,
    /// Persistent local bytes.
    pub persistent_local_bytes: u64,
    /// Shared ranges holding persistent storage, in the group's elements.
    pub protected_shared_ranges: Vec<[u64; 2]>,
    /// Child name → child path.
    pub children: BTreeMap<String, String>,
}

/// One row of `buffers`.
#[derive(Debug, Clone, Deserialize)]
pub struct DumpBuffer {
    /// Owning component's path.
    pub component: String,
    /// Buffer name (unique within the component).
    pub name: String,
    /// Elements of `dtype`.
    pub size: u64,
    /// Requested location.
    pub location: Location,
    /// Survives across steps.
    pub persistent: bool,
    /// Name of the buffer it may share storage with.
    pub aliases: Option<String>,
    /// Element type.
    pub dtype: Precision,
    /// Elements of the group's precision it occupies.
    pub parent_elements: u64,
    /// Protected ranges inside a roll-up entry.
    pub protected: Vec<[u64; 2]>,
    /// Child path when this is a `{child}_shared`/`{child}_persistent` roll-up.
    pub rollup_of: Option<String>,
    /// `shared`, `persistent_local` or `local`: where the registry put it.
    pub pool: String,
    /// `[start, stop)` in parent elements (shared or persistent-local pools).
    pub slice: Option<[u64; 2]>,
    /// Elements of its local array (local pool).
    pub local_size: Option<u64>,
    /// For an aliasing entry: whether it landed inside its target.
    pub alias_applied: Option<bool>,
}

#[derive(Deserialize)]
struct Raw<'a> {
    cubie_version: String,
    config: Config,
    top_level: TopLevel,
    launch: DumpLaunch,
    component_columns: Vec<String>,
    #[serde(borrow)]
    components: Vec<&'a RawValue>,
    buffer_columns: Vec<String>,
    #[serde(borrow)]
    buffers: Vec<&'a RawValue>,
}

/// The row's 1-based line in `text` (rows borrow from it).
fn line_in(text: &str, row: &RawValue) -> usize {
    let offset = (row.get().as_ptr() as usize).saturating_sub(text.as_ptr() as usize);
    line_of(text, offset)
}

fn rows<T: for<'de> Deserialize<'de>>(
    source: &str,
    text: &str,
    what: &str,
    columns: &[String],
    rows: Vec<&RawValue>,
) -> Result<Vec<T>> {
    rows.into_iter()
        .enumerate()
        .map(|(i, row)| {
            let fail = |message: String| {
                Error::parse(source.to_string(), line_in(text, row), format!("{what} row {i}: {message}"))
            };
            let values: Vec<Value> = serde_json::from_str(row.get()).map_err(|e| fail(format!("not an array: {e}")))?;
            if values.len() != columns.len() {
                return Err(fail(format!("{} fields for {} columns", values.len(), columns.len())));
            }
            let obj: Map<String, Value> = columns.iter().cloned().zip(values).collect();
            serde_path_to_error::deserialize(Value::Object(obj))
                .map_err(|e| fail(format!("key `{}`: {}", e.path(), e.inner())))
        })
        .collect()
}

impl Dump {
    /// Parses one dump; `source` names it in errors, which give the line
    /// and the key (for a row: its column).
    pub fn parse(source: &str, text: &str) -> Result<Dump> {
        let mut de = serde_json::Deserializer::from_str(text);
        let raw: Raw = serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            // Not a JSON object at all: the wrong file, said in words
            // rather than the parser's. A broken dump keeps the parser's
            // words, which point into it.
            let message = if !text.trim_start().starts_with('{') {
                "not a JSON CuBIE dump (a dump is a JSON object, and this text does not start with `{`)".to_string()
            } else if path.is_empty() || path == "." {
                inner.to_string()
            } else {
                format!("key `{path}`: {inner}")
            };
            Error::parse(source.to_string(), inner.line(), message)
        })?;
        Ok(Dump {
            cubie_version: raw.cubie_version,
            config: raw.config,
            top_level: raw.top_level,
            launch: raw.launch,
            components: rows(source, text, "component", &raw.component_columns, raw.components)?,
            buffers: rows(source, text, "buffer", &raw.buffer_columns, raw.buffers)?,
        })
    }

    /// A note when the dump comes from another CuBIE version than the one
    /// whose registry rules are replayed ([`REPLAYED_VERSION`]): the
    /// recorded figures are still checked, but a later version may lay out
    /// what it registers differently.
    pub fn version_note(&self) -> Option<String> {
        (self.cubie_version != REPLAYED_VERSION).then(|| {
            format!(
                "the dump is from CuBIE {}; its registrations are replayed by CuBIE {REPLAYED_VERSION}'s rules",
                self.cubie_version
            )
        })
    }

    /// The component at `path`.
    pub fn component(&self, path: &str) -> Option<&DumpComponent> {
        self.components.iter().find(|c| c.path == path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DUMP: &str = r#"{
 "cubie_version": "0.17.0",
 "config": {"id": "t", "family": "erk", "algorithm": "euler", "precision": "float32",
            "n_states": 1, "n_parameters": 0, "n_drivers": 0, "n_observables": 0, "placement": "default"},
 "top_level": {"shared_elements_per_run": 0, "shared_bytes_per_run": 0, "persistent_local_elements": 0,
               "persistent_local_bytes": 0, "local_elements_all_components": 1, "local_bytes_all_components": 4,
               "shared_needs_skew_padding": false},
 "launch": {"runs": 1, "skew_bytes": 0, "padded_shared_bytes_per_run": 0, "limit_blocksize": {}},
 "component_columns": ["path","class","registered","parent_dtype","shared_buffer_size","local_buffer_size",
                       "persistent_local_buffer_size","shared_bytes","local_bytes","persistent_local_bytes",
                       "protected_shared_ranges","children"],
 "components": [
  ["kernel/loop","IVPLoop",true,"float32",0,1,0,0,4,0,[],{}]
 ],
 "buffer_columns": ["component","name","size","location","persistent","aliases","dtype","parent_elements",
                    "protected","rollup_of","pool","slice","local_size","alias_applied"],
 "buffers": [
  ["kernel/loop","state",1,"local",false,null,"float32",1,[],null,"local",null,1,null]
 ]
}"#;

    #[test]
    fn a_good_dump_parses() {
        let d = Dump::parse("t.json", DUMP).unwrap();
        assert_eq!((d.components.len(), d.buffers.len()), (1, 1));
        assert_eq!(d.buffers[0].location, Location::Local);
        assert_eq!(d.version_note(), None);
        let later = Dump::parse("t.json", &DUMP.replacen("0.17.0", "0.18.0", 1)).unwrap();
        assert!(later.version_note().unwrap().starts_with("the dump is from CuBIE 0.18.0;"));
    }

    #[test]
    fn errors_name_the_line_and_the_key() {
        // (replace, with, message); the error is on the replaced line
        let cases = [
            (
                r#""local",false,null"#,
                r#""texture",false,null"#,
                "buffer row 0: key `location`: unknown variant `texture`",
            ),
            (r#"1,"local",false"#, r#"-1,"local",false"#, "buffer row 0: key `size`: invalid value"),
            (r#"true,"float32",0,1"#, r#"true,"float32",0"#, "component row 0: 11 fields for 12 columns"),
            (
                r#""precision": "float32""#,
                r#""precision": "float16""#,
                "key `config.precision`: unknown variant `float16`",
            ),
            (r#""runs": 1,"#, r#""runs": 1"#, "expected `,` or `}`"),
        ];
        for (from, to, message) in cases {
            assert!(DUMP.contains(from), "{from}");
            let e = Dump::parse("t.json", &DUMP.replacen(from, to, 1)).unwrap_err();
            let Error::Core(smemplan_core::Error::Parse { source_name, line: l, message: m }) = &e else {
                panic!("{e}")
            };
            let line = DUMP.lines().position(|l| l.contains(from)).unwrap() + 1;
            assert_eq!((source_name.as_str(), *l), ("t.json", line), "{e}");
            assert!(m.contains(message), "{e}");
        }
    }
}
