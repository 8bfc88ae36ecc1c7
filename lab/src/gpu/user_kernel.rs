//! The user's own kernel for `tune --kernel`: its launch contract, the
//! header each layout gives it, its `io` array and the check that every
//! layout leaves that array alike (`docs/tune-kernel.md` is the user's
//! side of it).
//!
//! ```text
//!  FILE.cu ─▶ UserSource::read (readable? names the entry? includes the header?)
//!  layout ─▶ Allocation ─▶ header (the library's cuda_header + uniform bindings)
//!        ─▶ UserSource::with_header (the include line replaced, #line kept) ─▶ NVRTC
//!  fill(runs, io_bytes) ─▶ io on the card, reset before every launch
//!        ─▶ first_difference against the first timed candidate's io
//! ```
//!
//! The library's accessors differ by pool (`name(shared, tid)` for a
//! shared buffer, `name(local)` for a local one), so a source written
//! against one layout would not compile against another. The bindings
//! ([`BINDINGS_NAMESPACE`]) give every buffer one signature whatever its
//! pool, `name(const memory&)`, and its element count, so that one source
//! compiles against every candidate layout. The header is spliced into the
//! source in place of its include line (with `#line` directives, so that
//! NVRTC's messages name the user's file and lines): NVRTC then needs no
//! include path and no file on disk.
//!
//! Everything here is host code, tested without a card.

use super::integrity::{accessor, AccessorArgs};
use crate::error::{Error, Result};
use smemplan::plan::allocator::{cuda_header, Allocation, HeaderOptions, SharedLayout, NAMESPACE};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The entry point the launch contract names.
pub const ENTRY: &str = "smemplan_kernel";

/// The header's name in the user's `#include`.
pub const HEADER: &str = "smemplan_layout.cuh";

/// The namespace of the uniform bindings.
pub const BINDINGS_NAMESPACE: &str = "smemplan_buffers";

/// `io` bytes per run unless `--io-bytes` says otherwise.
pub const IO_BYTES: u64 = 64;

/// The entry's signature, as errors and the help quote it.
pub const SIGNATURE: &str = "extern \"C\" __global__ void smemplan_kernel(unsigned char* io, unsigned long long runs)";

/// What the bindings hand the header's accessors: the fields of their
/// `memory` (the block size only an interleaved layout would take, which the
/// bindings refuse).
const BINDING_ARGS: AccessorArgs = AccessorArgs {
    shared: "m.shared",
    tid: "m.tid",
    block: "blockDim.x",
    local: "m.local",
    persistent_local: "m.persistent_local",
};

/// The names the bindings define besides the buffers' accessors; a buffer
/// whose accessor would take one of them cannot be bound.
const BINDING_NAMES: [&str; 3] = ["memory", "elements", "io_bytes"];

/// A source that breaks the launch contract or cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("kernel source `{path}`: {message}")]
pub struct SourceError {
    /// The file, as given.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

/// The user's kernel source, read and checked against the contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserSource {
    /// The file, as given.
    pub path: PathBuf,
    /// Its text.
    pub text: String,
}

impl UserSource {
    /// Reads `path` and checks what can be checked before compiling: the
    /// entry's name appears as a word, and the header is included.
    pub fn read(path: &Path) -> std::result::Result<UserSource, SourceError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| SourceError { path: path.display().to_string(), message: format!("cannot read it: {e}") })?;
        UserSource::new(path, text)
    }

    /// [`UserSource::read`] on a text already read.
    pub fn new(path: &Path, text: String) -> std::result::Result<UserSource, SourceError> {
        let error = |message: String| SourceError { path: path.display().to_string(), message };
        if !has_word(&text, ENTRY) {
            return Err(error(format!("no entry point `{ENTRY}`; the launch contract's entry is `{SIGNATURE}`")));
        }
        if !text.lines().any(is_include) {
            return Err(error(format!(
                "it does not include the layout's header: add `#include \"{HEADER}\"` (tune supplies the header of each layout)"
            )));
        }
        Ok(UserSource { path: path.to_path_buf(), text })
    }

    /// The source NVRTC compiles for one layout: `header` in place of the
    /// first include line of [`HEADER`] (later ones become blank lines, as
    /// the header's `#pragma once` would have them), with `#line`
    /// directives so that messages name the user's file and its lines (and
    /// the header's own lines as [`HEADER`]'s). The header's `#pragma once`
    /// is commented out: in the main file compilers warn about it.
    pub fn with_header(&self, header: &str) -> String {
        let file = quoted(&self.path.display().to_string());
        let mut out = format!("#line 1 {file}\n");
        let mut spliced = false;
        for (i, line) in self.text.lines().enumerate() {
            if is_include(line) && spliced {
                out.push('\n');
            } else if is_include(line) {
                spliced = true;
                let _ = writeln!(out, "#line 1 {}", quoted(HEADER));
                for h in header.lines() {
                    if h.trim() == "#pragma once" {
                        out.push_str("// #pragma once: spliced into the source");
                    } else {
                        out.push_str(h);
                    }
                    out.push('\n');
                }
                let _ = writeln!(out, "#line {} {file}", i + 2);
            } else {
                out.push_str(line);
                out.push('\n');
            }
        }
        out
    }
}

/// Whether `text` has `word` with no identifier character either side.
fn has_word(text: &str, word: &str) -> bool {
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    text.match_indices(word).any(|(at, _)| !text[..at].ends_with(ident) && !text[at + word.len()..].starts_with(ident))
}

/// Whether `line` is `#include "smemplan_layout.cuh"` (or with `<>`,
/// spaces after `#`, a comment after it).
fn is_include(line: &str) -> bool {
    let Some(rest) = line.trim_start().strip_prefix('#') else { return false };
    let Some(rest) = rest.trim_start().strip_prefix("include") else { return false };
    let rest = rest.trim_start();
    let close = match rest.chars().next() {
        Some('"') => '"',
        Some('<') => '>',
        _ => return false,
    };
    let Some((name, after)) = rest[1..].split_once(close) else { return false };
    let after = after.trim();
    name == HEADER && (after.is_empty() || after.starts_with("//") || after.starts_with("/*"))
}

/// `text` as a C string literal (for `#line`).
fn quoted(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The header of one layout, as the user's source includes it: the
/// library's header (namespace [`NAMESPACE`], `block_size` its nominal
/// block) followed by the uniform bindings (namespace
/// [`BINDINGS_NAMESPACE`]): `io_bytes`, the bytes of a run's `io` slice; a
/// `memory` struct of the four pointers a run's buffers live behind; one
/// `T* name(const memory&)` per buffer (the library's accessor of its pool;
/// a null pointer for an empty buffer) and `elements::name`, its element
/// count. Thread-major layouts only (every candidate of `tune` is one).
pub fn header(alloc: &Allocation, block_size: u64, io_bytes: u64) -> Result<String> {
    if alloc.layout == SharedLayout::Interleaved {
        return Err(Error::Gpu("a user kernel's bindings take thread-major layouts only, not interleaved".into()));
    }
    let mut h =
        cuda_header(alloc, &HeaderOptions { namespace: NAMESPACE.into(), block_size, ..HeaderOptions::default() })?;
    let all: Vec<_> = alloc.views.iter().map(|v| (v, false)).chain(alloc.empty.iter().map(|v| (v, true))).collect();
    if let Some((v, _)) = all.iter().find(|(v, _)| BINDING_NAMES.contains(&v.ident.as_str())) {
        return Err(Error::buffer(
            &v.name,
            format!("its accessor `{}` is a name the bindings define; rename the buffer", v.ident),
        ));
    }
    let ns = NAMESPACE;
    let text = (|| -> std::result::Result<String, std::fmt::Error> {
        let mut b = String::new();
        writeln!(b, "\n// Added by smemplan-lab tune --kernel: one signature per buffer whatever its pool.")?;
        writeln!(b, "namespace {BINDINGS_NAMESPACE} {{\n")?;
        writeln!(b, "/// Bytes of each run's slice of `io` (run r's slice starts at r * io_bytes).")?;
        writeln!(b, "constexpr unsigned long long io_bytes = {io_bytes}ULL;\n")?;
        writeln!(b, "/// Where one run's buffers live: the block's dynamic shared memory and the thread's index in")?;
        writeln!(b, "/// the block, the thread's local array ({ns}::local_bytes, 8-byte aligned) and its")?;
        writeln!(b, "/// persistent local array ({ns}::persistent_local_bytes, 8-byte aligned).")?;
        writeln!(
            b,
            "struct memory {{ unsigned char* shared; unsigned tid; unsigned char* local; unsigned char* persistent_local; }};\n"
        )?;
        writeln!(b, "/// Elements of each buffer.")?;
        writeln!(b, "namespace elements {{")?;
        for (v, _) in &all {
            writeln!(b, "constexpr unsigned long long {} = {}ULL;", v.ident, if v.bytes > 0 { v.elements } else { 0 })?;
        }
        writeln!(b, "}}  // namespace elements\n")?;
        for (v, is_empty) in &all {
            let t = v.dtype.c_type();
            let body = if *is_empty {
                format!("(void)m; return static_cast<{t}*>(nullptr);")
            } else {
                format!("return {};", accessor(v, alloc.layout, &BINDING_ARGS))
            };
            writeln!(b, "__device__ __forceinline__ {t}* {}(const memory& m) {{ {body} }}", v.ident)?;
        }
        writeln!(b, "\n}}  // namespace {BINDINGS_NAMESPACE}")?;
        Ok(b)
    })()
    .map_err(|_| Error::Gpu("formatting the bindings failed".into()))?;
    h.push_str(&text);
    Ok(h)
}

/// Byte `byte` of run `run` of the `io` array before every launch: the top
/// byte of `run · 0x9E3779B97F4A7C15 + byte · 0xBF58476D1CE4E5B9` (64-bit,
/// wrapping), so that runs and bytes differ.
pub fn io_byte(run: u64, byte: u64) -> u8 {
    (run.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(byte.wrapping_mul(0xBF58_476D_1CE4_E5B9)) >> 56) as u8
}

/// The `io` array of `runs` runs of `io_bytes` bytes each, run-major (run
/// `r`'s slice starts at `r · io_bytes`), filled by [`io_byte`].
pub fn fill(runs: u64, io_bytes: u64) -> Result<Vec<u8>> {
    let total = runs.checked_mul(io_bytes).ok_or_else(|| Error::overflow("io bytes"))?;
    let total = usize::try_from(total).map_err(|_| Error::overflow("io bytes"))?;
    let mut io = Vec::with_capacity(total);
    for run in 0..runs {
        io.extend((0..io_bytes).map(|byte| io_byte(run, byte)));
    }
    Ok(io)
}

/// The first byte at which two `io` arrays differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Difference {
    /// The run (thread) whose slice differs.
    pub run: u64,
    /// The byte within its slice.
    pub byte: u64,
    /// The reference's byte.
    pub expected: u8,
    /// The other's.
    pub got: u8,
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "run {}, io byte {}: {:#04x} where the first had {:#04x}",
            self.run, self.byte, self.got, self.expected
        )
    }
}

/// Where `got` first differs from `expected` (`io_bytes` bytes a run);
/// `None` when they are bitwise equal. Arrays of different lengths differ
/// at the shorter's end.
pub fn first_difference(expected: &[u8], got: &[u8], io_bytes: u64) -> Option<Difference> {
    let at = expected
        .iter()
        .zip(got)
        .position(|(a, b)| a != b)
        .or_else(|| (expected.len() != got.len()).then_some(expected.len().min(got.len())))?;
    let io_bytes = io_bytes.max(1);
    Some(Difference {
        run: at as u64 / io_bytes,
        byte: at as u64 % io_bytes,
        expected: expected.get(at).copied().unwrap_or(0),
        got: got.get(at).copied().unwrap_or(0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn includes_and_words() {
        for yes in [
            "#include \"smemplan_layout.cuh\"",
            "  #  include <smemplan_layout.cuh>  ",
            "#include \"smemplan_layout.cuh\" // the layout",
        ] {
            assert!(is_include(yes), "{yes}");
        }
        for no in [
            "// #include \"smemplan_layout.cuh\"",
            "#include \"other.cuh\"",
            "#include \"smemplan_layout.cuhx\"",
            "#include \"smemplan_layout.cuh>",
            "#include smemplan_layout.cuh",
            "#include \"smemplan_layout.cuh\" x",
        ] {
            assert!(!is_include(no), "{no}");
        }
        assert!(has_word("void smemplan_kernel(", ENTRY));
        assert!(!has_word("void smemplan_kernel2(", ENTRY) && !has_word("my_smemplan_kernel", ENTRY));
        assert_eq!(quoted("a\"b\\c"), "\"a\\\"b\\\\c\"");
    }

    #[test]
    fn the_header_replaces_the_include_and_lines_follow_the_file() {
        let src = UserSource::new(
            Path::new("k.cu"),
            "// top\n#include \"smemplan_layout.cuh\"\n#include <smemplan_layout.cuh>\nextern \"C\" __global__ void smemplan_kernel() {}\n"
                .into(),
        )
        .unwrap();
        let out = src.with_header("#pragma once\nnamespace h {}");
        assert_eq!(
            out,
            "#line 1 \"k.cu\"\n// top\n#line 1 \"smemplan_layout.cuh\"\n// #pragma once: spliced into the source\n\
             namespace h {}\n#line 3 \"k.cu\"\n\nextern \"C\" __global__ void smemplan_kernel() {}\n"
        );
    }

    #[test]
    fn the_fill_is_run_major_and_differences_name_run_and_byte() {
        let io = fill(3, 5).unwrap();
        assert_eq!(io.len(), 15);
        assert_eq!(io[7], io_byte(1, 2));
        assert_eq!(io_byte(0, 0), 0);
        // Runs differ from one another.
        assert_ne!(io[..5], io[5..10]);
        let mut other = io.clone();
        assert_eq!(first_difference(&io, &other, 5), None);
        other[12] ^= 0x10;
        let d = first_difference(&io, &other, 5).unwrap();
        assert_eq!((d.run, d.byte, d.expected, d.got), (2, 2, io[12], io[12] ^ 0x10));
        assert!(d.to_string().starts_with("run 2, io byte 2:"), "{d}");
        assert_eq!(first_difference(&io, &io[..10], 5).map(|d| (d.run, d.byte)), Some((2, 0)));
        assert!(fill(u64::MAX, 2).is_err());
    }
}
