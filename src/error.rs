//! The library's error types: [`Error`], and the typed cases it carries
//! whole ([`RegistryError`], [`TreeError`]).
//!
//! Every variant names where the problem is (a buffer, a line of an input, a
//! key of a model, a component) so that the binary can print it as is. The
//! library never panics on bad input: validation returns one of these
//! instead. This module imports only the kernel vocabulary, so every other
//! module may use it.

use crate::kernel::{Pool, Precision};
use std::fmt;

/// Everything that can go wrong in the library.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A buffer description is invalid; `buffer` is its id as given.
    #[error("buffer `{buffer}`: {reason}")]
    InvalidBuffer {
        /// The buffer's id.
        buffer: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Two buffers carry the same id.
    #[error("duplicate buffer id `{buffer}`")]
    DuplicateBuffer {
        /// The repeated id.
        buffer: String,
    },
    /// Two buffers with fixed offsets overlap in both time and address.
    #[error("fixed offsets collide: `{a}` at {a_offset} and `{b}` at {b_offset} overlap in time and address")]
    FixedOffsetCollision {
        /// First buffer.
        a: String,
        /// Its fixed offset.
        a_offset: u64,
        /// Second buffer.
        b: String,
        /// Its fixed offset.
        b_offset: u64,
    },
    /// An arithmetic result does not fit in 64 bits.
    #[error("arithmetic overflow: {0}")]
    Overflow(String),
    /// An input could not be parsed. `line` is 1-based; 0 means the whole input.
    #[error("{}", display_parse(.source_name, *.line, .message))]
    Parse {
        /// File name (or `<builtin>`, `<stdin>`).
        source_name: String,
        /// 1-based line, 0 when not tied to a line.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A solver name that is not registered.
    #[error("unknown strategy `{name}` (known: {known})")]
    UnknownStrategy {
        /// The name asked for.
        name: String,
        /// Comma-separated list of known names.
        known: String,
    },
    /// A problem the chosen solver does not support (e.g. too large).
    #[error("strategy `{strategy}` cannot solve this instance: {reason}")]
    Unsupported {
        /// The strategy.
        strategy: String,
        /// Why.
        reason: String,
    },
    /// A strategy's answer fails the independent checker
    /// ([`crate::check::verify`]): a bug in the strategy, never a verdict on
    /// the input.
    #[error("internal error: strategy `{strategy}` gave an answer the checker rejects: {reason}")]
    Rejected {
        /// The strategy.
        strategy: String,
        /// What the checker found.
        reason: String,
    },
    /// A buffer-registry error (CuBIE's error cases, see [`crate::registry`]).
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// A component tree lifetimes cannot be derived over.
    #[error(transparent)]
    ComponentTree(#[from] TreeError),
    /// `nested` alias hints that form a cycle: each buffer would sit inside
    /// the next, and the last inside the first.
    #[error("alias hints form a cycle: {}", .buffers.join(" → "))]
    AliasCycle {
        /// The buffers (`component/name`) of the cycle, in alias order, the
        /// first repeated at the end.
        buffers: Vec<String>,
    },
    /// The CUDA header cannot be generated as asked (e.g. an invalid
    /// namespace).
    #[error("CUDA header: {0}")]
    Header(String),
    /// An integrator run asked for something it cannot do (see
    /// [`crate::integrate`]).
    #[error("integrator {0}")]
    Integrator(String),
    /// A device name that has no profile.
    #[error("unknown device `{name}` (known: {known})")]
    UnknownDevice {
        /// The name asked for.
        name: String,
        /// Comma-separated list of known device names.
        known: String,
    },
    /// A launch the device cannot run (e.g. one run's shared memory alone
    /// exceeds the per-block limit).
    #[error("device `{device}`: {message}")]
    Device {
        /// The device profile's name.
        device: String,
        /// What does not fit.
        message: String,
    },
    /// The GPU could not do what was asked (no driver, no card, a compile
    /// or launch failure); one line.
    #[error("GPU: {0}")]
    Gpu(String),
    /// A solver-kernel model (TOML) is invalid.
    #[error("{}", display_parse(.file, *.line, &format!("{}{}", .key.as_deref().map(|k| format!("key `{k}`: ")).unwrap_or_default(), .message)))]
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
    /// A sweep's grid is invalid, or one of its configurations failed.
    #[error("sweep: {}{message}", .configuration.as_deref().map(|c| format!("configuration {c}: ")).unwrap_or_default())]
    Sweep {
        /// The failing configuration (`model=dirk n=3 ...`), if one failed.
        configuration: Option<String>,
        /// What is wrong.
        message: String,
    },
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

fn display_parse(source: &str, line: usize, message: &str) -> String {
    struct Shown<'a>(&'a str, usize, &'a str);
    impl fmt::Display for Shown<'_> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            if self.1 == 0 {
                write!(f, "{}: {}", self.0, self.2)
            } else {
                write!(f, "{}:{}: {}", self.0, self.1, self.2)
            }
        }
    }
    Shown(source, line, message).to_string()
}

impl Error {
    /// Shorthand for [`Error::InvalidBuffer`].
    pub fn buffer(buffer: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::InvalidBuffer { buffer: buffer.into(), reason: reason.into() }
    }

    /// The buffer this error names, if it names exactly one.
    pub fn buffer_name(&self) -> Option<&str> {
        match self {
            Error::InvalidBuffer { buffer, .. } | Error::DuplicateBuffer { buffer } => Some(buffer),
            Error::FixedOffsetCollision { b, .. } => Some(b),
            _ => None,
        }
    }
}

/// Checked `a + b`, naming what was being computed on overflow.
pub fn add(a: u64, b: u64, what: impl FnOnce() -> String) -> Result<u64, Error> {
    a.checked_add(b).ok_or_else(|| Error::Overflow(what()))
}

/// Checked `a * b`, naming what was being computed on overflow.
pub fn mul(a: u64, b: u64, what: impl FnOnce() -> String) -> Result<u64, Error> {
    a.checked_mul(b).ok_or_else(|| Error::Overflow(what()))
}

/// 1-based line of byte `offset` in `text`, for errors that name a line.
pub(crate) fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())].iter().filter(|&&b| b == b'\n').count() + 1
}

/// A TOML error in model file `source` as [`Error::Model`].
pub(crate) fn toml_error(source: &str, text: &str, e: &toml::de::Error) -> Error {
    Error::Model {
        file: source.to_string(),
        line: e.span().map_or(0, |s| line_of(text, s.start)),
        key: None,
        message: e.message().to_string(),
    }
}

/// Shorthand result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
