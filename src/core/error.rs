//! The core layer's errors: invalid buffers and problems, unparsable input,
//! arithmetic overflow. Every layer above wraps [`Error`] in its own.
//!
//! Every variant names where the problem is (a buffer, a line of an input, a
//! key of a model, a component) so that the binary can print it as is. The
//! library never panics on bad input: validation returns one of these
//! instead.

use std::fmt;

/// What can go wrong below the solvers: a problem or an input that is not valid.
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
}

/// [`display_parse`] of a message about `key` of a TOML file (a model, a
/// device profile): `file:line: key `KEY`: message`.
pub fn display_keyed(file: &str, line: usize, key: Option<&str>, message: &str) -> String {
    match key {
        Some(k) => display_parse(file, line, &format!("key `{k}`: {message}")),
        None => display_parse(file, line, message),
    }
}

/// `source:line: message`, or `source: message` when the line is 0.
pub fn display_parse(source: &str, line: usize, message: &str) -> String {
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
pub fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())].iter().filter(|&&b| b == b'\n').count() + 1
}

/// Shorthand result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
