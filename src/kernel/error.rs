//! The kernel layer's errors: CuBIE's registry errors ([`RegistryError`]),
//! component trees lifetimes cannot be derived over ([`TreeError`]), and
//! invalid kernel models ([`Error::Model`]), each naming the component,
//! buffer, file, line or key involved.

use crate::{Pool, Precision};
use smemplan_core::error::{display_keyed, line_of};

/// What can go wrong while declaring a kernel, reading a model or a CuBIE
/// dump, or deriving lifetimes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// An invalid input below the kernel layer (a file that cannot be read
    /// or is not text, a dump that is not JSON, an overflow).
    #[error(transparent)]
    Core(#[from] smemplan_core::Error),
    /// A buffer-registry error (CuBIE's error cases, see [`crate::registry`]).
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// A component tree lifetimes cannot be derived over.
    #[error(transparent)]
    ComponentTree(#[from] TreeError),
    /// A built-in model name that does not exist.
    #[error("no built-in model `{name}` (known: {known}){}", unknown_model_hint(.name, .known))]
    UnknownModel {
        /// The name asked for.
        name: String,
        /// Comma-separated list of the built-in models.
        known: String,
    },
    /// A solver-kernel model (TOML) is invalid.
    #[error("{}", display_keyed(.file, *.line, .key.as_deref(), .message))]
    Model {
        /// The model file.
        file: String,
        /// 1-based line, 0 when unknown.
        line: usize,
        /// The offending key, if known.
        key: Option<String>,
        /// What is wrong.
        message: String,
    },
}

impl Error {
    /// An input that could not be parsed ([`smemplan_core::Error::Parse`]).
    pub fn parse(source_name: impl Into<String>, line: usize, message: impl Into<String>) -> Self {
        Error::Core(smemplan_core::Error::Parse { source_name: source_name.into(), line, message: message.into() })
    }
}

/// CuBIE's registry errors (and the few this registry adds), each naming the
/// component and buffer involved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    /// A buffer or child registered with an empty name.
    #[error("component `{parent}`: buffer name cannot be empty")]
    EmptyName {
        /// The component.
        parent: String,
    },
    /// A buffer naming itself as its alias.
    #[error("component `{parent}`: buffer `{name}` cannot alias itself")]
    SelfAlias {
        /// The component.
        parent: String,
        /// The buffer.
        name: String,
    },
    /// An alias naming a buffer not (yet) registered in the same component.
    #[error("component `{parent}`: alias target `{target}` of `{name}` is not registered; register `{target}` before `{name}`")]
    UnknownAliasTarget {
        /// The component.
        parent: String,
        /// The aliasing buffer.
        name: String,
        /// The missing target.
        target: String,
    },
    /// A component id that was never declared.
    #[error("unknown component `{parent}` (declare it with add_component first)")]
    UnknownParent {
        /// The id asked for.
        parent: String,
    },
    /// A buffer name the component has not registered.
    #[error("component `{parent}` has no buffer `{name}`")]
    UnknownBuffer {
        /// The component.
        parent: String,
        /// The name asked for.
        name: String,
    },
    /// A location other than `shared` or `local`.
    #[error("component `{parent}`: invalid location `{value}` for buffer `{name}` (must be `shared` or `local`)")]
    InvalidLocation {
        /// The component.
        parent: String,
        /// The buffer.
        name: String,
        /// The value given.
        value: String,
    },
    /// A component declaration that cannot be accepted.
    #[error("component `{id}`: {reason}")]
    InvalidComponent {
        /// The id.
        id: String,
        /// Why.
        reason: String,
    },
    /// `register_child` would make a component its own ancestor.
    #[error("component `{child}` cannot be a child of `{parent}`: `{parent}` is `{child}` or one of its descendants")]
    ChildCycle {
        /// The would-be parent.
        parent: String,
        /// The would-be child.
        child: String,
    },
    /// A child whose precision differs from its parent's: its sizes would be
    /// counted in the wrong unit.
    #[error("child `{child}` ({child_precision}) of `{parent}` ({parent_precision}) must have its parent's precision")]
    PrecisionMismatch {
        /// The parent.
        parent: String,
        /// The child.
        child: String,
        /// The parent's precision.
        parent_precision: Precision,
        /// The child's precision.
        child_precision: Precision,
    },
    /// A roll-up entry smaller than its child's current footprint (the child
    /// changed after `register_child`; CuBIE's `rollup_mismatches`).
    #[error("component `{parent}`: roll-up `{entry}` holds {registered} elements but its child now needs {current}; register the child again")]
    StaleRollup {
        /// The parent.
        parent: String,
        /// The roll-up entry.
        entry: String,
        /// Elements it was registered with.
        registered: u64,
        /// Elements the child needs now.
        current: u64,
    },
    /// A non-empty roll-up entry that was moved out of its pool (e.g. a
    /// `{child}_shared` entry updated to `local`), so the child's buffers
    /// have no place in the kernel's arrays.
    #[error(
        "component `{parent}`: roll-up `{entry}` was placed in the {pool} pool, where its child's buffers cannot live"
    )]
    RollupMisplaced {
        /// The parent.
        parent: String,
        /// The roll-up entry.
        entry: String,
        /// Where it ended up.
        pool: Pool,
    },
    /// Declarations whose component tree has no single top (the components
    /// without a parent among them).
    #[error("a kernel has one top-level component; this one has {} ({})", .roots.len(), .roots.join(", "))]
    RootCount {
        /// The top-level components found.
        roots: Vec<String>,
    },
    /// A name of a class's registration order that is both a buffer and a
    /// child of one component, so its place is ambiguous.
    #[error(
        "component `{component}` ({class}): `{name}` in its class's registration list names both a buffer and a child"
    )]
    AmbiguousRegistration {
        /// The component.
        component: String,
        /// Its class.
        class: String,
        /// The ambiguous name.
        name: String,
    },
    /// A component rolled up into two parents (or twice into one): a
    /// kernel's components form a tree, so its place in the kernel, and
    /// with it its buffers' lifetimes, is ambiguous.
    #[error("component `{child}` is registered as a child twice, as `{first}` and as `{second}`; a kernel's components form a tree, so register each child once")]
    SharedChild {
        /// The child component's id.
        child: String,
        /// Its first path in the kernel.
        first: String,
        /// Its second path.
        second: String,
    },
    /// A child name containing `/`, the separator of the component paths
    /// that lifetimes and plans follow.
    #[error("component `{parent}`: child name `{name}` cannot contain `/` (it separates component paths)")]
    SlashInChildName {
        /// The parent component.
        parent: String,
        /// The child name.
        name: String,
    },
    /// A size or offset does not fit in 64 bits.
    #[error("arithmetic overflow: {0}")]
    Overflow(String),
}

/// A kernel's component tree that lifetimes cannot be derived over (see
/// [`crate::lifetimes::derive()`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TreeError {
    /// Two components with one path.
    #[error("two components share the path `{path}`")]
    DuplicatePath {
        /// The path.
        path: String,
    },
    /// A buffer whose component is not declared.
    #[error("buffer `{buffer}`: unknown component `{component}`")]
    UnknownComponent {
        /// The buffer (`component/name`).
        buffer: String,
        /// The component it names.
        component: String,
    },
    /// A component reached before its parent was placed on the timeline.
    /// The derivation visits parents first, so this reports a broken
    /// invariant instead of panicking.
    #[error("component `{component}` was reached before its parent was placed")]
    Unplaced {
        /// The component.
        component: String,
    },
}

/// What follows [`Error::UnknownModel`]'s list: the closest built-in name,
/// or, for a name that is a model file's path, that files are not looked
/// up among the built-ins (the commonest slip: `--model FILE.toml`).
fn unknown_model_hint(name: &str, known: &str) -> String {
    if name.ends_with(".toml") || name.contains(['/', '\\']) {
        format!(
            "; `{name}` is a file's path: a model file is given as a file (the model argument), not as a built-in name"
        )
    } else {
        smemplan_core::error::did_you_mean(name, known.split(", "))
    }
}

/// A TOML error in model file `source` as [`Error::Model`]. An integer
/// that does not fit in 64 bits, where no key of the model reads it as a
/// number of its own (the keys that do name themselves), is told in the
/// words of `--set`, not in TOML's or serde's (`integer number
/// overflowed`, "invalid type: integer `…` as i128").
pub(crate) fn toml_error(source: &str, text: &str, e: &toml::de::Error) -> Error {
    let message = e.message();
    let too_large = message == "integer number overflowed"
        || message == "u64 value was too large"
        || message.starts_with("invalid type: integer `") && message.contains("` as i128");
    let literal = e.span().and_then(|s| text.get(s)).map(str::trim).filter(|t| !t.is_empty());
    let message = match literal {
        Some(literal) if too_large => format!(
            "integer `{}` does not fit in 64 bits (integers lie in {} ..= {})",
            crate::model::expr::excerpt(literal),
            i64::MIN,
            i64::MAX
        ),
        _ => message.to_string(),
    };
    Error::Model { file: source.to_string(), line: e.span().map_or(0, |s| line_of(text, s.start)), key: None, message }
}

/// Shorthand result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
