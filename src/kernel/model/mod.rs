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
    builtin, builtin_file, builtin_names, default_model, listing, load, parse_file, parse_set, resolve_builtin,
    Listing, BUILTIN_FILES, DEFAULT_MODEL,
};
pub use instantiate::Kernel;
pub use parse::Resolve;

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

/// A `[derived]` value: its rule as written, and parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
struct DerivedItem {
    rule: String,
    value: Located,
}

/// A derived value's rule, as [`Model::derived`] lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Derived {
    /// The value's name (`lu_nnz`).
    pub name: String,
    /// Its expression as the model writes it.
    pub rule: String,
    /// The parameters it reads, directly or through other derived values,
    /// sorted (`["n"]`: it scales with the system size).
    pub inputs: Vec<String>,
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
    /// Held in registers where local (a condition; absent: never).
    registers: Option<Located>,
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
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    /// The model's name.
    pub name: String,
    /// One line describing it.
    pub description: String,
    /// Its file name.
    pub source: String,
    /// Whether it ships inside the library ([`builtin()`]): errors about
    /// its parameters then name the model, not a file the user never gave.
    builtin: bool,
    params: BTreeMap<String, Value>,
    allowed: BTreeMap<String, allowed::Allowed>,
    derived: BTreeMap<String, DerivedItem>,
    algorithms: BTreeMap<String, BTreeMap<String, Value>>,
    /// CuBIE's lifetime table with the model's `[classes]` over it, built
    /// once: every instance shares it (a sweep builds thousands, and
    /// copying the table was a tenth of a sweep's time).
    table: std::sync::Arc<LifetimeTable>,
    body: Fragment,
    fragments: HashMap<String, Fragment>,
    /// `local_hit_per_shared`: what a local cache hit costs in this
    /// kernel, in shared accesses (`None`: the device profile's figure).
    local_hit_per_shared: Option<f64>,
}

impl Model {
    /// Parameter defaults.
    pub fn params(&self) -> &BTreeMap<String, Value> {
        &self.params
    }

    /// Every derived value with its rule and the parameters it follows.
    pub fn derived(&self) -> Vec<Derived> {
        self.derived
            .iter()
            .map(|(name, d)| {
                let mut inputs = std::collections::BTreeSet::new();
                let mut seen = std::collections::BTreeSet::new();
                self.inputs_of(&d.value.expr, &mut inputs, &mut seen);
                Derived {
                    name: name.clone(),
                    rule: d.rule.clone(),
                    inputs: inputs.into_iter().map(String::from).collect(),
                }
            })
            .collect()
    }

    /// The parameters `expr` reads, through derived values (each visited
    /// once, so a cycle, reported when instantiating, ends here).
    fn inputs_of<'m>(
        &'m self,
        expr: &'m Expr,
        inputs: &mut std::collections::BTreeSet<&'m str>,
        seen: &mut std::collections::BTreeSet<&'m str>,
    ) {
        let mut names = Vec::new();
        expr.names(&mut names);
        for n in names {
            if let Some((key, d)) = self.derived.get_key_value(n) {
                if seen.insert(key) {
                    self.inputs_of(&d.value.expr, inputs, seen);
                }
            } else if let Some((key, _)) = self.params.get_key_value(n) {
                inputs.insert(key);
            }
        }
    }

    /// `(known: a, b, ...)` and, for a near miss, `; did you mean `n`?`:
    /// what an unknown parameter `name` is told.
    pub fn known_names(&self, name: &str) -> String {
        let known: Vec<&str> = self.params.keys().chain(self.derived.keys()).map(String::as_str).collect();
        format!("(known: {}){}", known.join(", "), smemplan_core::error::did_you_mean(name, known.iter().copied()))
    }

    /// How errors about the model's parameters name it: its file, or for a
    /// built-in model its name (the user gave no file).
    pub fn label(&self) -> String {
        if self.builtin {
            format!("model `{}`", self.name)
        } else {
            self.source.clone()
        }
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
