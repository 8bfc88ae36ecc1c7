//! Kernel models: TOML descriptions of a solver kernel's components and
//! buffers, with sizes as expressions in the model's parameters
//! (`docs/models.md` documents the schema).
//!
//! A model file has `[params]` (defaults, overridable), `[allowed]` (the
//! values each may take, see [`allowed`]), `[derived]` (named
//! expressions), `[algorithms.NAME]` (parameter rows selected by the
//! `algorithm` parameter), optional `[classes.NAME]` lifetime entries (same
//! schema as `models/cubie-lifetimes.toml`, overriding the built-in table),
//! and `[[component]]`, `[[buffer]]` and `[[include]]` items. An include
//! pulls in a fragment (a file of items only) at a path prefix `at`, with
//! extra names bound by `with`; fragments name their paths relative to `at`.
//!
//! Parsing checks every expression, phase and include up front, so a bad
//! model fails as a whole with [`Error::Model`] naming the file, line and
//! key; instantiating evaluates the expressions for one set of parameters
//! and yields declarations ready for the planner (`smemplan_plan`).
//!
//! The models of CuBIE's solver families ship inside the library
//! ([`builtin()`]); [`default_model`] is what `smemplan plan` shows with no
//! input.
//!
//! One idea per file: `builtins` (the shipped model set), `parse` (TOML to
//! a validated [`Model`]), [`allowed`] (the values a parameter may take), `instantiate` (a model at one set of parameters:
//! a [`Kernel`]); [`expr`] is the expression language of sizes and
//! conditions.

pub mod allowed;
mod builtins;
pub mod expr;
mod instantiate;
mod parse;
#[cfg(test)]
mod tests;

pub use builtins::{
    builtin, builtin_file, builtin_names, default_model, load, parse_file, parse_set, resolve_builtin, BUILTIN_FILES,
    DEFAULT_MODEL,
};
pub use instantiate::Kernel;

use crate::error::Error;
use crate::lifetimes::LifetimeTable;
use crate::Precision;
use expr::{Expr, Value};
use std::collections::{BTreeMap, HashMap};

/// Where something was written, for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
struct At {
    file: String,
    line: usize,
    key: String,
}

impl At {
    fn error(&self, message: impl Into<String>) -> Error {
        Error::Model { file: self.file.clone(), line: self.line, key: Some(self.key.clone()), message: message.into() }
    }
}

/// A parsed expression and where it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Located {
    expr: Expr,
    at: At,
}

/// An element type: fixed, or the model's precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dtype {
    Run,
    Fixed(Precision),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct IncludeItem {
    /// Where the include is written.
    place: At,
    file: String,
    at: String,
    when: Option<Located>,
    aliases: Option<String>,
    with: Vec<(String, Located)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct ComponentItem {
    path: String,
    class: String,
    when: Option<Located>,
    aliases: Option<String>,
    at: At,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct BufferItem {
    component: String,
    name: String,
    size: Located,
    location: Located,
    persistent: bool,
    aliases: Option<String>,
    dtype: Dtype,
    when: Option<Located>,
    /// Phase → element accesses per instant.
    accesses: Vec<(String, Located)>,
    at: At,
}

/// The items of one file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct Fragment {
    includes: Vec<IncludeItem>,
    components: Vec<ComponentItem>,
    buffers: Vec<BufferItem>,
}

/// A parsed, validated kernel model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Model {
    /// The model's name.
    pub name: String,
    /// One line describing it.
    pub description: String,
    /// Its file name.
    pub source: String,
    params: BTreeMap<String, Value>,
    allowed: BTreeMap<String, allowed::Allowed>,
    derived: BTreeMap<String, Located>,
    algorithms: BTreeMap<String, BTreeMap<String, Value>>,
    classes: LifetimeTable,
    body: Fragment,
    fragments: HashMap<String, Fragment>,
}

impl Model {
    /// Parameter defaults.
    pub fn params(&self) -> &BTreeMap<String, Value> {
        &self.params
    }

    /// Names of the derived values (`[derived]`): `--set` may override
    /// them like parameters.
    pub fn derived_names(&self) -> impl Iterator<Item = &str> {
        self.derived.keys().map(String::as_str)
    }

    /// Whether `name` can be set: a parameter or a derived value.
    pub fn settable(&self, name: &str) -> bool {
        self.params.contains_key(name) || self.derived.contains_key(name)
    }

    /// The values each parameter may take.
    pub fn allowed(&self) -> &BTreeMap<String, allowed::Allowed> {
        &self.allowed
    }

    /// Names of the algorithms the model knows (values of `algorithm`).
    pub fn algorithms(&self) -> Vec<&str> {
        self.algorithms.keys().map(String::as_str).collect()
    }
}
