//! The lifetime table: per component class, its phase tree, the phases in
//! which its children run, its buffers are accessed and the arguments it is
//! handed are touched, which alias hints may nest, and its registration
//! order (TOML, see `docs/models.md`).

use super::lines::Lines;
use super::phases::{PhaseId, PhaseTree};
use crate::error::{toml_error, Error, Result};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use toml::Spanned;

/// The built-in lifetime table for CuBIE 0.17.0's components.
pub const CUBIE_TABLE: &str = include_str!("../../../models/cubie-lifetimes.toml");

/// Name under which [`CUBIE_TABLE`] reports errors.
pub const CUBIE_TABLE_NAME: &str = "models/cubie-lifetimes.toml";

/// One class's entry of a [`LifetimeTable`]: phases, where its children run,
/// where its buffers and the arguments it is handed live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassLifetimes {
    /// The class's phase tree.
    pub phases: PhaseTree,
    /// Child name (last segment of the child's path) → phases it runs in.
    pub children: BTreeMap<String, Vec<PhaseId>>,
    /// Own buffer name → phases it is accessed in.
    pub buffers: BTreeMap<String, Vec<PhaseId>>,
    /// Parent's buffer name (passed in as an argument) → own phases it is
    /// accessed in.
    pub arguments: BTreeMap<String, Vec<PhaseId>>,
    /// Own buffers whose alias hint may be honoured although the two
    /// lifetimes overlap: the class's code is written so that the buffer may
    /// sit at the start of its target while both are live.
    pub nested_aliases: BTreeSet<String>,
    /// The order in which the class registers its entries with CuBIE's
    /// registry: own buffer and child names, `...` standing for every entry
    /// not named. Only [`crate::registry::Registry::from_declarations`]
    /// reads it (its docs give the rules); lifetimes do not depend on it.
    pub registration: Vec<String>,
    /// Line of each `kind.key` entry in its source (for error messages).
    lines: BTreeMap<String, usize>,
}

/// Per-class lifetimes, parsed from TOML (see `docs/models.md`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LifetimeTable {
    /// Source name used in errors.
    pub source: String,
    /// Class name → its entry.
    pub classes: BTreeMap<String, ClassLifetimes>,
}

/// A phase list as written: one phase or several.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub(crate) enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn items(&self) -> Vec<&str> {
        match self {
            OneOrMany::One(s) => vec![s.as_str()],
            OneOrMany::Many(v) => v.iter().map(String::as_str).collect(),
        }
    }
}

/// One class as written in TOML.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawClass {
    #[serde(default)]
    phases: Option<Spanned<Vec<String>>>,
    #[serde(default)]
    children: BTreeMap<String, Spanned<OneOrMany>>,
    #[serde(default)]
    buffers: BTreeMap<String, Spanned<OneOrMany>>,
    #[serde(default)]
    arguments: BTreeMap<String, Spanned<OneOrMany>>,
    #[serde(default)]
    aliases: BTreeMap<String, Spanned<String>>,
    #[serde(default)]
    registration: Option<Spanned<Vec<String>>>,
}

impl RawClass {
    /// Validates one class: every phase named must exist in its tree.
    pub(crate) fn build(self, class: &str, source: &str, starts: &Lines) -> Result<ClassLifetimes> {
        let err = |line: usize, key: String, message: String| Error::Model {
            file: source.to_string(),
            line,
            key: Some(key),
            message,
        };
        let (phases, phases_line) = match &self.phases {
            Some(p) => (p.get_ref().clone(), starts.line_of(p.span().start)),
            None => (Vec::new(), 0),
        };
        let tree = PhaseTree::from_leaves(&phases).map_err(|m| err(phases_line, format!("{class}.phases"), m))?;
        let mut lines = BTreeMap::new();
        let mut resolve = |kind: &str,
                           entries: &BTreeMap<String, Spanned<OneOrMany>>|
         -> Result<BTreeMap<String, Vec<PhaseId>>> {
            let mut out = BTreeMap::new();
            for (name, list) in entries {
                let line = starts.line_of(list.span().start);
                let key = format!("{class}.{kind}.{name}");
                lines.insert(format!("{kind}.{name}"), line);
                let items = list.get_ref().items();
                if items.is_empty() {
                    return Err(err(line, key, "empty phase list (use \"all\" for the whole invocation)".into()));
                }
                let mut ids = Vec::with_capacity(items.len());
                for p in items {
                    let id = tree.find(p).ok_or_else(|| {
                        let known: Vec<&str> = (0..tree.len()).map(|id| tree.name(id)).collect();
                        err(line, key.clone(), format!("unknown phase `{p}` (phases of {class}: {})", known.join(", ")))
                    })?;
                    ids.push(id);
                }
                ids.sort_unstable();
                ids.dedup();
                out.insert(name.clone(), ids);
            }
            Ok(out)
        };
        let children = resolve("children", &self.children)?;
        let buffers = resolve("buffers", &self.buffers)?;
        let arguments = resolve("arguments", &self.arguments)?;
        let mut nested_aliases = BTreeSet::new();
        for (name, rule) in &self.aliases {
            let line = starts.line_of(rule.span().start);
            if rule.get_ref() != "nested" {
                return Err(err(
                    line,
                    format!("{class}.aliases.{name}"),
                    format!("unknown alias rule `{}` (the only rule is `nested`)", rule.get_ref()),
                ));
            }
            nested_aliases.insert(name.clone());
        }
        let registration = match &self.registration {
            None => Vec::new(),
            Some(list) => {
                let line = starts.line_of(list.span().start);
                let mut seen = BTreeSet::new();
                for name in list.get_ref() {
                    if name.is_empty() || !seen.insert(name.as_str()) {
                        return Err(err(
                            line,
                            format!("{class}.registration"),
                            format!("`{name}` is empty or named twice"),
                        ));
                    }
                }
                list.get_ref().clone()
            }
        };
        Ok(ClassLifetimes { phases: tree, children, buffers, arguments, nested_aliases, registration, lines })
    }
}

impl ClassLifetimes {
    pub(crate) fn line(&self, key: &str) -> usize {
        self.lines.get(key).copied().unwrap_or(0)
    }
}

impl LifetimeTable {
    /// Parses a table: one TOML table per class (see `docs/models.md`).
    pub fn parse(source: &str, text: &str) -> Result<LifetimeTable> {
        let raw: BTreeMap<String, RawClass> = toml::from_str(text).map_err(|e| toml_error(source, text, &e))?;
        Self::from_raw(source, text, raw)
    }

    pub(crate) fn from_raw(source: &str, text: &str, raw: BTreeMap<String, RawClass>) -> Result<LifetimeTable> {
        let mut classes = BTreeMap::new();
        let lines = Lines::new(text);
        for (class, rc) in raw {
            let built = rc.build(&class, source, &lines)?;
            classes.insert(class, built);
        }
        Ok(LifetimeTable { source: source.to_string(), classes })
    }

    /// The built-in table for CuBIE 0.17.0 ([`CUBIE_TABLE`]).
    pub fn cubie() -> Result<LifetimeTable> {
        // Parsed once: every model instance starts from it, and a sweep
        // builds thousands of instances.
        static PARSED: std::sync::OnceLock<Result<LifetimeTable>> = std::sync::OnceLock::new();
        PARSED.get_or_init(|| Self::parse(CUBIE_TABLE_NAME, CUBIE_TABLE)).clone()
    }

    /// This table with `other`'s classes added, `other` winning on a clash.
    pub fn overlaid(mut self, other: LifetimeTable) -> LifetimeTable {
        self.classes.extend(other.classes);
        self
    }

    /// Whether `class` declares `buffer`'s alias hint `nested`.
    pub fn is_nested_alias(&self, class: &str, buffer: &str) -> bool {
        self.classes.get(class).is_some_and(|c| c.nested_aliases.contains(buffer))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_tables_name_file_line_and_key() {
        let e = LifetimeTable::parse("t.toml", "[A]\nphases = [\"x\"]\nbuffers = { b = \"y\" }\n").unwrap_err();
        match e {
            Error::Model { file, line, key, message } => {
                assert_eq!(file, "t.toml");
                assert_eq!(line, 3);
                assert_eq!(key.as_deref(), Some("A.buffers.b"));
                assert!(message.contains("unknown phase `y`"), "{message}");
            }
            other => panic!("{other}"),
        }
        let e = LifetimeTable::parse("t.toml", "[A]\nphasez = []\n").unwrap_err();
        assert!(matches!(e, Error::Model { line: 2, .. }), "{e}");
        let e = LifetimeTable::parse("t.toml", "[A]\naliases = { b = \"maybe\" }\n").unwrap_err();
        assert!(e.to_string().contains("unknown alias rule"), "{e}");
    }

    #[test]
    fn builtin_cubie_table_parses() {
        let t = LifetimeTable::cubie().unwrap();
        assert!(t.classes.contains_key("IVPLoop"));
        assert!(t.is_nested_alias("DIRKStep", "stage_base"));
        assert!(!t.is_nested_alias("DIRKStep", "error_rhs"));
    }
}
