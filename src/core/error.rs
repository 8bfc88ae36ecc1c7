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
    /// A file that cannot be read.
    #[error("cannot read `{path}`: {message}")]
    Read {
        /// The file.
        path: String,
        /// Why, as a kind (not found, permission denied, a directory, ...),
        /// for a front end that answers each its own way.
        kind: std::io::ErrorKind,
        /// Why (the operating system's words).
        message: String,
    },
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

/// `; did you mean `NAME`?` for the known name closest to a mistyped
/// `name`, or nothing when none is close: every "unknown model, parameter,
/// device, strategy" message appends it after its list of known names.
///
/// Close means the same name in another case, or an edit distance
/// (insertions, deletions, substitutions and swaps of neighbours, case
/// ignored) of at most a third of the longer name, so that `N` finds `n`,
/// `dirc` finds `dirk` and `atuo` finds `auto`, but `qr` does not find `mr`
/// (one edit in two letters is a different name). On ties the first known
/// name wins.
pub fn did_you_mean<'a>(name: &str, known: impl IntoIterator<Item = &'a str>) -> String {
    let lower = name.to_lowercase();
    let mut best: Option<(usize, &str)> = None;
    for k in known {
        let d = edit_distance(&lower, &k.to_lowercase());
        let longer = lower.chars().count().max(k.chars().count());
        let close = d <= longer / 3 && k != name;
        if close && best.is_none_or(|(b, _)| d < b) {
            best = Some((d, k));
        }
    }
    best.map_or_else(String::new, |(_, k)| format!("; did you mean `{k}`?"))
}

/// Optimal-string-alignment distance: the edits of Levenshtein plus a swap
/// of two neighbouring characters (the commonest typo) as one edit.
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    // Three rows of the dynamic programme: i - 2, i - 1 and i.
    let mut before: Vec<usize> = vec![0; b.len() + 1];
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut row = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            row[j] = (previous[j] + 1).min(row[j - 1] + 1).min(previous[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                row[j] = row[j].min(before[j - 2] + 1);
            }
        }
        before = std::mem::replace(&mut previous, row);
    }
    previous[b.len()]
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_counts_a_swap_as_one_edit() {
        for (a, b, d) in [("", "", 0), ("", "abc", 3), ("dirc", "dirk", 1), ("h10", "h100", 1), ("atuo", "auto", 1)] {
            assert_eq!(edit_distance(a, b), d, "{a} {b}");
            assert_eq!(edit_distance(b, a), d, "{b} {a}");
        }
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn suggestions_are_close_names_only() {
        let devices = ["a100", "h100", "h200", "rtx-4070-super", "simulator"];
        assert_eq!(did_you_mean("h10", devices), "; did you mean `h100`?");
        assert_eq!(did_you_mean("H100", devices), "; did you mean `h100`?");
        assert_eq!(did_you_mean("rtx4070-super", devices), "; did you mean `rtx-4070-super`?");
        assert_eq!(did_you_mean("tpu", devices), "");
        let params = ["algorithm", "d", "n", "o", "p", "precision", "lu_nnz"];
        assert_eq!(did_you_mean("N", params), "; did you mean `n`?");
        assert_eq!(did_you_mean("precison", params), "; did you mean `precision`?");
        assert_eq!(did_you_mean("x", params), "", "a one-letter name is not close to another");
        assert_eq!(did_you_mean("qr", ["mr", "lu"]), "", "nor is a two-letter one");
        assert_eq!(did_you_mean("n", params), "", "a known name needs no suggestion");
        assert_eq!(
            did_you_mean("greedy-sise", ["auto", "greedy-size", "greedy-time"]),
            "; did you mean `greedy-size`?"
        );
    }
}
