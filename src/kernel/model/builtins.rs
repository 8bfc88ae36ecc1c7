//! The model set that ships inside the library: CuBIE's solver families and
//! the fragments they include.

use super::Model;
use crate::error::{Error, Result};

/// Every file of the built-in model set: `(name, text)`. Top-level models
/// sit at the root, fragments under `parts/`.
pub const BUILTIN_FILES: &[(&str, &str)] = &[
    ("backwards_euler.toml", include_str!("../../../models/backwards_euler.toml")),
    ("backwards_euler_pc.toml", include_str!("../../../models/backwards_euler_pc.toml")),
    ("crank_nicolson.toml", include_str!("../../../models/crank_nicolson.toml")),
    ("dirk.toml", include_str!("../../../models/dirk.toml")),
    ("erk.toml", include_str!("../../../models/erk.toml")),
    ("explicit_euler.toml", include_str!("../../../models/explicit_euler.toml")),
    ("firk.toml", include_str!("../../../models/firk.toml")),
    ("rosenbrock.toml", include_str!("../../../models/rosenbrock.toml")),
    ("parts/loop.toml", include_str!("../../../models/parts/loop.toml")),
    ("parts/newton.toml", include_str!("../../../models/parts/newton.toml")),
    ("parts/linear.toml", include_str!("../../../models/parts/linear.toml")),
];

/// The model `smemplan plan` uses when given no input.
pub const DEFAULT_MODEL: &str = "dirk";

/// The text of built-in file `name` (e.g. `dirk.toml`, `parts/loop.toml`).
pub fn builtin_file(name: &str) -> Option<&'static str> {
    BUILTIN_FILES.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}

/// Names of the built-in top-level models (`dirk`, `erk`, ...).
pub fn builtin_names() -> Vec<&'static str> {
    BUILTIN_FILES.iter().filter(|(n, _)| !n.contains('/')).filter_map(|(n, _)| n.strip_suffix(".toml")).collect()
}

/// Built-in model `name` (`dirk` or `dirk.toml`).
pub fn builtin(name: &str) -> Result<Model> {
    let file = if name.ends_with(".toml") { name.to_string() } else { format!("{name}.toml") };
    // No file is named: the user gave a name, not a file.
    let text = builtin_file(&file)
        .filter(|_| !file.contains('/'))
        .ok_or_else(|| Error::UnknownModel { name: name.to_string(), known: builtin_names().join(", ") })?;
    let mut model = Model::parse(&format!("models/{file}"), text, &|f| Ok(resolve_builtin(f)))?;
    model.builtin = true;
    Ok(model)
}

/// A built-in model as `smemplan plan --list-models` lists it (and
/// Python's `smemplan.models()`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Listing {
    /// Its name (`dirk`).
    pub name: String,
    /// Whether it is [`DEFAULT_MODEL`].
    pub default: bool,
    /// What it models.
    pub description: String,
    /// Its parameters with their defaults.
    pub parameters: std::collections::BTreeMap<String, super::Value>,
    /// Its derived sizes, each settable like a parameter.
    pub derived: Vec<super::Derived>,
    /// Its algorithms' names (empty when it has none to choose).
    pub algorithms: Vec<String>,
}

/// Every built-in model, in [`builtin_names`]' order.
pub fn listing() -> Result<Vec<Listing>> {
    builtin_names()
        .into_iter()
        .map(|name| {
            let m = builtin(name)?;
            Ok(Listing {
                name: name.to_string(),
                default: name == DEFAULT_MODEL,
                description: m.description.clone(),
                parameters: m.params().clone(),
                derived: m.derived(),
                algorithms: m.algorithms().into_iter().map(String::from).collect(),
            })
        })
        .collect()
}

/// Finds an included file among the built-in ones (`file` relative to `models/`).
pub fn resolve_builtin(file: &str) -> Option<(String, String)> {
    builtin_file(file).map(|text| (format!("models/{file}"), text.to_string()))
}

/// Reads a model file. Its includes resolve next to it, then among the
/// built-in fragments (so a copy of a built-in model works anywhere).
pub fn load(path: &std::path::Path) -> Result<Model> {
    let text = smemplan_core::format::text::read_text(path)?;
    parse_file(path, &text)
}

/// Parses the text of the model file at `path` (named in errors); its
/// includes resolve next to it, then among the built-in fragments.
pub fn parse_file(path: &std::path::Path, text: &str) -> Result<Model> {
    let dir = path.parent().map(std::path::Path::to_path_buf).unwrap_or_default();
    // A file next to the model is the one meant: one that cannot be read
    // (not text, no permission) is an error, not a reason to take the
    // built-in fragment of that name instead.
    let resolve = |f: &str| {
        let next_to_it = dir.join(f);
        if !next_to_it.exists() {
            return Ok(resolve_builtin(f));
        }
        let text = smemplan_core::format::text::read_text(&next_to_it)?;
        Ok(Some((next_to_it.display().to_string(), text)))
    };
    Model::parse(&path.display().to_string(), text, &resolve)
}

/// Splits a parameter setting `NAME=VALUE` (both trimmed; the name not
/// empty), as `--set` and the sweep's axes take it.
pub fn parse_set(text: &str) -> std::result::Result<(String, String), String> {
    match text.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.trim().to_string())),
        _ => Err(format!("`{text}` is not NAME=VALUE")),
    }
}

/// The built-in default model ([`DEFAULT_MODEL`]).
pub fn default_model() -> Result<Model> {
    builtin(DEFAULT_MODEL)
}
