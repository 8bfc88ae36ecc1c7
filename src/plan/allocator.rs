//! Allocators: host-side views of a plan, the per-thread layout of shared
//! memory within a block, and the generated CUDA C++ header.
//!
//! A plan gives every buffer a byte offset inside one run's slice of a pool.
//! Within a block, shared memory holds one slice per thread:
//!
//! ```text
//!  thread-major [thread][bytes]            interleaved [word][thread]
//!  t0: |a a a|b b|pad|                     word 0: t0 t1 t2 ... t(B-1)
//!  t1: |a a a|b b|pad|                     word 1: t0 t1 t2 ... t(B-1)
//!  ...  stride = odd number of words        ...     (a word: 4 B, 8 B in f64 pools)
//! ```
//!
//! Thread-major is the default, with the stride padded to an odd number of
//! 4-byte words (8-byte words when the pool holds doubles): an even stride
//! sends a warp's 32 threads to a few banks, which measured 9–18× slower on
//! an H100 (`docs/reference/gpu-notes.md` §1). Interleaved places word `k` of
//! thread `t` at `(k·B + t)·w`, which is conflict-free but costs index
//! arithmetic. The local and persistent-local pools are one per-thread array
//! each; their accessors take that array's base pointer.
//!
//! The header ([`cuda_header`]) has one `__device__` accessor per buffer, in
//! a namespace, plus `constexpr` byte counts; it uses no CUDA API, so it also
//! compiles as host C++ with the qualifiers defined away.

use crate::error::{Error, Result};
use crate::PlanReport;
use smemplan_core::arith::align_up;
use smemplan_kernel::{Pool, Precision};
use std::collections::HashSet;
use std::fmt::Write as _;

/// How thread-major shared slices are padded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Padding {
    /// Round the stride up to an odd number of words (bank-conflict free).
    #[default]
    OddWords,
    /// Keep the stride at the plan's per-run bytes.
    None,
    /// Add this many bytes to the plan's per-run bytes (CuBIE's skew,
    /// [`smemplan_kernel::registry::Footprint::skew_bytes`]), then round up
    /// to whole words.
    Skew(u64),
}

/// How the shared pool is laid out across the threads of a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SharedLayout {
    /// `[thread][bytes]`: thread `t`'s slice starts at `t · stride`.
    ThreadMajor(Padding),
    /// `[word][thread]`: word `k` of thread `t` lives at `(k · B + t) · w`.
    Interleaved,
}

impl Default for SharedLayout {
    fn default() -> Self {
        SharedLayout::ThreadMajor(Padding::OddWords)
    }
}

/// One buffer as seen from the host: where its elements are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct View {
    /// `component/name`.
    pub name: String,
    /// The C++ identifier of its accessor.
    pub ident: String,
    /// Its pool.
    pub pool: Pool,
    /// Element type.
    pub dtype: Precision,
    /// Byte offset within one run's (thread's) slice of the pool.
    pub offset: u64,
    /// Elements.
    pub elements: u64,
    /// Bytes.
    pub bytes: u64,
    /// For a nested alias, the view it sits inside.
    pub inside: Option<String>,
}

/// A plan turned into addresses: views plus the shared layout's geometry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allocation {
    /// Every non-empty buffer.
    pub views: Vec<View>,
    /// Empty buffers (their accessors return a null pointer).
    pub empty: Vec<View>,
    /// Shared layout.
    pub layout: SharedLayout,
    /// The plan's shared bytes per run.
    pub shared_bytes_per_run: u64,
    /// Word size of the shared pool (4, or 8 when it holds doubles).
    pub word: u64,
    /// Bytes between consecutive threads' slices (thread-major), or the
    /// per-run bytes rounded up to whole words (interleaved).
    pub stride: u64,
    /// Per-thread local bytes.
    pub local_bytes: u64,
    /// Per-thread persistent local bytes.
    pub persistent_local_bytes: u64,
}

/// C++ keywords and alternative tokens, the names the header itself
/// defines, standard macros a header may meet, and the compilers' predefined
/// macros without a leading underscore (GNU modes such as g++'s default
/// `gnu++17` define `linux` and `unix`, and `i386` and kin on some targets):
/// an accessor named like one of them gets a trailing `_`.
const RESERVED: &[&str] = &[
    "alignas",
    "alignof",
    "and",
    "and_eq",
    "asm",
    "auto",
    "bitand",
    "bitor",
    "bool",
    "break",
    "case",
    "catch",
    "char",
    "char8_t",
    "char16_t",
    "char32_t",
    "class",
    "co_await",
    "co_return",
    "co_yield",
    "compl",
    "concept",
    "const",
    "const_cast",
    "consteval",
    "constexpr",
    "constinit",
    "continue",
    "decltype",
    "default",
    "delete",
    "do",
    "double",
    "dynamic_cast",
    "else",
    "enum",
    "explicit",
    "export",
    "extern",
    "false",
    "float",
    "for",
    "friend",
    "goto",
    "if",
    "inline",
    "int",
    "long",
    "mutable",
    "namespace",
    "new",
    "noexcept",
    "not",
    "not_eq",
    "nullptr",
    "operator",
    "or",
    "or_eq",
    "private",
    "protected",
    "public",
    "register",
    "reinterpret_cast",
    "requires",
    "return",
    "short",
    "signed",
    "sizeof",
    "static",
    "static_assert",
    "static_cast",
    "struct",
    "switch",
    "template",
    "this",
    "thread_local",
    "throw",
    "true",
    "try",
    "typedef",
    "typeid",
    "typename",
    "union",
    "unsigned",
    "using",
    "virtual",
    "void",
    "volatile",
    "wchar_t",
    "while",
    "xor",
    "xor_eq",
    "final",
    "override",
    "import",
    "module",
    // The header's own names.
    "shared_bytes_per_run",
    "shared_stride_bytes",
    "shared_bytes_per_block",
    "block_size",
    "shared_bytes_for_block_size",
    "local_bytes",
    "persistent_local_bytes",
    "interleaved",
    // Macros of the C and CUDA headers a kernel is likely to include.
    "NULL",
    "EOF",
    "assert",
    "errno",
    "offsetof",
    "stdin",
    "stdout",
    "stderr",
    "min",
    "max",
    // Predefined by compilers in GNU modes (`-std=gnu++17`, g++'s default)
    // on some host or target: `#define linux 1` would rewrite an accessor.
    "linux",
    "unix",
    "i386",
    "i486",
    "i586",
    "i686",
    "sun",
    "sparc",
    "mips",
    "vax",
    "m68k",
    "mc68000",
    "hppa",
    "hp9000",
    "powerpc",
    "ppc",
    "PPC",
];

/// A C++ identifier for `component/name`: path segments joined by `__`, the
/// leading `kernel/` dropped, other characters (any non-ASCII too) turned
/// into `_`; a name that would start with a digit or `_` (reserved to the
/// implementation with a capital or a second `_`) gets `buf_` in front, and
/// one in [`RESERVED`] a `_` behind.
fn ident(full: &str) -> String {
    let trimmed = full.strip_prefix("kernel/").unwrap_or(full);
    let mut s: String = trimmed
        .split('/')
        .map(|seg| seg.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).collect::<String>())
        .collect::<Vec<_>>()
        .join("__");
    if s.is_empty() || s.starts_with(|c: char| c.is_ascii_digit() || c == '_') {
        s.insert_str(0, "buf_");
    }
    if RESERVED.contains(&s.as_str()) {
        s.push('_');
    }
    s
}

/// `text` made safe inside a `//` comment: control characters (a newline
/// would end the comment) and backslashes (one before a line end splices the
/// next line into the comment) are written as escapes.
fn comment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            c if c.is_control() || c == '\u{2028}' || c == '\u{2029}' => {
                let _ = std::fmt::Write::write_fmt(&mut out, format_args!("\\u{{{:x}}}", u32::from(c)));
            }
            c => out.push(c),
        }
    }
    out
}

impl Allocation {
    /// Views of `report`'s placements under `layout`.
    pub fn new(report: &PlanReport, layout: SharedLayout) -> Result<Allocation> {
        let mut views = Vec::new();
        let mut empty = Vec::new();
        let mut seen = HashSet::new();
        for b in &report.buffers {
            let name = format!("{}/{}", b.component, b.name);
            // Distinct names can sanitise alike (`a-b`, `a.b`): number the
            // later ones.
            let base = ident(&name);
            let ident = std::iter::once(base.clone())
                .chain((2..).map(|k| format!("{base}_{k}")))
                .find(|i| !seen.contains(i))
                .expect("an unused suffix exists");
            let view = View {
                ident,
                name: name.clone(),
                pool: b.pool,
                dtype: b.dtype,
                offset: b.offset.unwrap_or(0),
                elements: b.elements,
                bytes: b.bytes,
                inside: b.inside.clone(),
            };
            seen.insert(view.ident.clone());
            match b.offset {
                Some(_) if b.bytes > 0 => views.push(view),
                _ => empty.push(view),
            }
        }
        let word = if views.iter().any(|v| v.pool == Pool::Shared && v.dtype.itemsize() == 8) { 8 } else { 4 };
        let per_run = report.shared_bytes;
        let overflow = || Error::overflow("shared stride");
        let skew = match layout {
            SharedLayout::ThreadMajor(Padding::Skew(bytes)) => bytes,
            _ => 0,
        };
        let skewed = per_run.checked_add(skew).ok_or_else(overflow)?;
        let words = align_up(skewed, word).ok_or_else(overflow)? / word;
        let stride = match layout {
            SharedLayout::ThreadMajor(Padding::OddWords) if words > 0 && words % 2 == 0 => (words + 1) * word,
            _ => words * word,
        };
        Ok(Allocation {
            views,
            empty,
            layout,
            shared_bytes_per_run: per_run,
            word,
            stride,
            local_bytes: report.local_bytes,
            persistent_local_bytes: report.persistent_local_bytes,
        })
    }

    /// Dynamic shared bytes for a block of `block_size` threads (pass the
    /// runs a block holds, min(runs, block), to size a launch): the one
    /// rule for a launch's dynamic shared memory, used by the header
    /// (`shared_bytes_per_block`, `shared_bytes_for_block_size`) and by
    /// `plan`'s report alike. 0 when nothing is in shared memory: a launch
    /// may ask for no dynamic shared memory (CuBIE's floor of 4 bytes is its
    /// own side's rule, from Numba's arrays, and stays on CuBIE's side).
    pub fn shared_bytes_per_block(&self, block_size: u64) -> Result<u64> {
        Ok(smemplan_core::error::mul(self.stride, block_size, || "shared bytes per block".into())?)
    }

    /// Byte address, relative to its pool's base for the block (shared) or
    /// the thread (local pools), of element `element` of `view` for thread
    /// `thread` of a block of `block_size` threads. The generated accessors
    /// compute exactly this.
    pub fn address(&self, view: &View, thread: u64, element: u64, block_size: u64) -> u64 {
        let byte = view.offset + element * view.dtype.itemsize();
        match (view.pool, self.layout) {
            (Pool::Shared, SharedLayout::ThreadMajor(_)) => thread * self.stride + byte,
            (Pool::Shared, SharedLayout::Interleaved) => {
                (byte / self.word) * block_size * self.word + thread * self.word + byte % self.word
            }
            _ => byte,
        }
    }
}

/// What the header is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderOptions {
    /// C++ namespace holding the accessors.
    pub namespace: String,
    /// Block size for the per-block `constexpr` byte count.
    pub block_size: u64,
    /// Runs in the launch: the block holds min(runs, `block_size`) of them
    /// and the byte count is theirs, as CuBIE sizes a launch (default
    /// `u64::MAX`: a full block).
    pub runs: u64,
}

/// The header's namespace unless [`HeaderOptions::namespace`] says
/// otherwise (what `smemplan plan --cuda` writes).
pub const NAMESPACE: &str = "smemplan_layout";

impl Default for HeaderOptions {
    fn default() -> Self {
        HeaderOptions { namespace: NAMESPACE.into(), block_size: 64, runs: u64::MAX }
    }
}

/// The generated CUDA C++ header for `alloc` (see the module docs).
///
/// Accessors: `T* name(unsigned char* shared, unsigned tid)` for
/// thread-major shared buffers, `interleaved<T, W> name(unsigned char*
/// shared, unsigned tid, unsigned block)` for interleaved ones, and
/// `T* name(unsigned char* local)` for the local pools. Empty buffers'
/// accessors return a null pointer.
pub fn cuda_header(alloc: &Allocation, options: &HeaderOptions) -> Result<String> {
    let ns = &options.namespace;
    if ns.is_empty()
        || !ns.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        || ns.starts_with(|c: char| c.is_ascii_digit())
        || ns.starts_with("__")
        || (ns.starts_with('_') && ns[1..].starts_with(|c: char| c.is_ascii_uppercase()))
        || RESERVED.contains(&ns.as_str())
    {
        return Err(Error::Header(format!("`{ns}` is not a C++ namespace name")));
    }
    let per_block = alloc.shared_bytes_per_block(options.block_size.min(options.runs))?;
    render(alloc, ns, options.block_size, per_block).map_err(|_| Error::Header("formatting the header failed".into()))
}

fn render(
    alloc: &Allocation,
    ns: &str,
    block_size: u64,
    per_block: u64,
) -> std::result::Result<String, std::fmt::Error> {
    let mut h = String::new();
    let layout = match alloc.layout {
        SharedLayout::ThreadMajor(Padding::OddWords) => "thread-major, stride padded to an odd number of words",
        SharedLayout::ThreadMajor(Padding::None) => "thread-major, unpadded stride",
        SharedLayout::ThreadMajor(Padding::Skew(_)) => "thread-major, stride skewed as CuBIE's",
        SharedLayout::Interleaved => "interleaved [word][thread]",
    };
    writeln!(h, "// Generated by smemplan: buffer accessors for one kernel layout.")?;
    writeln!(h, "// Shared memory: {layout}; word {} B.", alloc.word)?;
    writeln!(h, "// Compile as CUDA C++ (or as host C++ with __host__, __device__ and __forceinline__ defined away).")?;
    writeln!(h, "#pragma once\n")?;
    writeln!(h, "namespace {ns} {{\n")?;
    writeln!(h, "/// Shared bytes one run needs (the plan's figure).")?;
    writeln!(h, "constexpr unsigned long long shared_bytes_per_run = {}ULL;", alloc.shared_bytes_per_run)?;
    writeln!(h, "/// Bytes between consecutive threads' shared slices (whole words per run when interleaved).")?;
    writeln!(h, "constexpr unsigned long long shared_stride_bytes = {}ULL;", alloc.stride)?;
    writeln!(h, "/// Dynamic shared bytes for a block of `threads` threads (0 when nothing is shared); host code")?;
    writeln!(h, "/// sizes a launch with it.")?;
    writeln!(
        h,
        "__host__ __device__ __forceinline__ constexpr unsigned long long shared_bytes_per_block(unsigned long long threads) {{ return threads * shared_stride_bytes; }}"
    )?;
    writeln!(h, "/// The block size this header was generated for, and its dynamic shared bytes (for the runs the")?;
    writeln!(h, "/// block holds: min(runs, block_size)).")?;
    writeln!(h, "constexpr unsigned long long block_size = {block_size}ULL;")?;
    writeln!(h, "constexpr unsigned long long shared_bytes_for_block_size = {per_block}ULL;")?;
    writeln!(h, "/// Per-thread local array bytes (declare it 8-byte aligned).")?;
    writeln!(h, "constexpr unsigned long long local_bytes = {}ULL;", alloc.local_bytes)?;
    writeln!(h, "/// Per-thread persistent local array bytes (declare it 8-byte aligned).")?;
    writeln!(h, "constexpr unsigned long long persistent_local_bytes = {}ULL;\n", alloc.persistent_local_bytes)?;
    if alloc.layout == SharedLayout::Interleaved {
        writeln!(h, "/// Elements of one thread's buffer in an interleaved pool of W-byte words.")?;
        writeln!(h, "template <typename T, unsigned W> struct interleaved {{")?;
        writeln!(h, "    unsigned char* base; unsigned long long offset; unsigned block;")?;
        writeln!(h, "    __device__ __forceinline__ T& operator[](unsigned long long i) const {{")?;
        writeln!(h, "        unsigned long long b = offset + i * sizeof(T);")?;
        writeln!(h, "        return *reinterpret_cast<T*>(base + (b / W) * (block * W) + b % W);")?;
        writeln!(h, "    }}")?;
        writeln!(h, "}};\n")?;
    }
    let accessors = alloc.views.iter().map(|v| (v, false)).chain(alloc.empty.iter().map(|v| (v, true)));
    for (v, is_empty) in accessors {
        let t = v.dtype.c_type();
        let inside = v.inside.as_ref().map(|target| format!("inside `{}`, ", comment(target))).unwrap_or_default();
        writeln!(
            h,
            "/// `{}`: {} {t} ({} B), {inside}pool {}, offset {}.",
            comment(&v.name),
            v.elements,
            v.bytes,
            v.pool,
            v.offset
        )?;
        // An empty buffer's accessor ignores its (then unnamed) parameters.
        let params = |list: &[&str]| -> String {
            if is_empty {
                list.iter().map(|p| p.rsplit_once(' ').map_or(*p, |(ty, _)| ty)).collect::<Vec<_>>().join(", ")
            } else {
                list.join(", ")
            }
        };
        let body = |expr: String| {
            if is_empty {
                format!("return static_cast<{t}*>(nullptr);")
            } else {
                format!("return reinterpret_cast<{t}*>({expr});")
            }
        };
        match (v.pool, alloc.layout) {
            (Pool::Shared, SharedLayout::ThreadMajor(_)) => writeln!(
                h,
                "__device__ __forceinline__ {t}* {}({}) {{ {} }}",
                v.ident,
                params(&["unsigned char* shared", "unsigned tid"]),
                body(format!("shared + tid * shared_stride_bytes + {}ULL", v.offset))
            )?,
            (Pool::Shared, SharedLayout::Interleaved) => writeln!(
                h,
                "__device__ __forceinline__ interleaved<{t}, {w}> {}(unsigned char* shared, unsigned tid, unsigned block) {{ return interleaved<{t}, {w}>{{shared + tid * {w}ULL, {}ULL, block}}; }}",
                v.ident,
                v.offset,
                w = alloc.word
            )?,
            (_, _) => writeln!(
                h,
                "__device__ __forceinline__ {t}* {}({}) {{ {} }}",
                v.ident,
                params(&["unsigned char* local"]),
                body(format!("local + {}ULL", v.offset))
            )?,
        }
    }
    writeln!(h, "\n}}  // namespace {ns}")?;
    Ok(h)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{PlacedBuffer, PoolReport};

    fn placed(
        component: &str,
        name: &str,
        pool: Pool,
        dtype: Precision,
        elements: u64,
        offset: Option<u64>,
    ) -> PlacedBuffer {
        PlacedBuffer {
            component: component.into(),
            name: name.into(),
            pool,
            dtype,
            elements,
            bytes: elements * dtype.itemsize(),
            offset,
            lifetime: vec![[0, 1]],
            inside: None,
        }
    }

    fn report(shared_bytes: u64, buffers: Vec<PlacedBuffer>) -> PlanReport {
        PlanReport {
            source: "t".into(),
            strategy: "greedy-size".into(),
            optimal: true,
            shared_bytes,
            local_bytes: 8,
            persistent_local_bytes: 0,
            pools: Vec::<PoolReport>::new(),
            buffers,
            timeline: vec!["x".into()],
            unmapped: vec![],
            unmapped_components: vec![],
            aliases: vec![],
            refused_aliases: vec![],
        }
    }

    #[test]
    fn odd_word_strides() {
        // 48 words (the gpu-notes example) → 49; 7 words stay 7.
        let r = report(192, vec![placed("kernel/loop", "y", Pool::Shared, Precision::F32, 48, Some(0))]);
        assert_eq!(Allocation::new(&r, SharedLayout::default()).unwrap().stride, 196);
        assert_eq!(Allocation::new(&r, SharedLayout::ThreadMajor(Padding::None)).unwrap().stride, 192);
        let r = report(28, vec![placed("kernel/loop", "y", Pool::Shared, Precision::F32, 7, Some(0))]);
        assert_eq!(Allocation::new(&r, SharedLayout::default()).unwrap().stride, 28);
        // Doubles: 8-byte words, 2 words → 3.
        let r = report(16, vec![placed("kernel/loop", "y", Pool::Shared, Precision::F64, 2, Some(0))]);
        let a = Allocation::new(&r, SharedLayout::default()).unwrap();
        assert_eq!((a.word, a.stride), (8, 24));
        assert_eq!(a.shared_bytes_per_block(64).unwrap(), 1536);
    }

    #[test]
    fn addresses_follow_the_layout() {
        let r = report(
            12,
            vec![
                placed("kernel/loop", "a", Pool::Shared, Precision::F32, 2, Some(0)),
                placed("kernel/loop", "c", Pool::Shared, Precision::I32, 1, Some(8)),
                placed("kernel/loop", "l", Pool::Local, Precision::F64, 1, Some(0)),
            ],
        );
        let tm = Allocation::new(&r, SharedLayout::default()).unwrap();
        assert_eq!(tm.stride, 12);
        assert_eq!(tm.address(&tm.views[0], 3, 1, 32), 3 * 12 + 4);
        let il = Allocation::new(&r, SharedLayout::Interleaved).unwrap();
        // Word 1 of thread 3 in a block of 32: (1·32 + 3)·4.
        assert_eq!(il.address(&il.views[0], 3, 1, 32), (32 + 3) * 4);
        assert_eq!(il.address(&il.views[1], 0, 0, 32), 2 * 32 * 4);
        assert_eq!(il.address(&il.views[2], 5, 0, 32), 0, "local pools are per thread");
    }

    #[test]
    fn header_has_one_accessor_per_buffer() {
        let r = report(
            8,
            vec![
                placed("kernel/loop", "state", Pool::Shared, Precision::F32, 2, Some(0)),
                placed("kernel/loop/algorithm", "tmp", Pool::Local, Precision::F32, 2, Some(0)),
                placed("kernel/loop", "none", Pool::Shared, Precision::F32, 0, None),
            ],
        );
        let a = Allocation::new(&r, SharedLayout::default()).unwrap();
        let h = cuda_header(&a, &HeaderOptions::default()).unwrap();
        assert!(h.contains("float* loop__state(unsigned char* shared, unsigned tid)"), "{h}");
        assert!(h.contains("float* loop__algorithm__tmp(unsigned char* local)"), "{h}");
        assert!(
            h.contains("float* loop__none(unsigned char*, unsigned) { return static_cast<float*>(nullptr); }"),
            "{h}"
        );
        assert!(h.contains("shared_bytes_for_block_size = 768ULL"), "{h}");
        for bad in ["9x", "linux", "unix", "int", "__x", "_X"] {
            assert!(
                cuda_header(&a, &HeaderOptions { namespace: bad.into(), block_size: 1, ..HeaderOptions::default() })
                    .is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn identifiers() {
        assert_eq!(ident("kernel/loop/algorithm/solver/delta"), "loop__algorithm__solver__delta");
        assert_eq!(ident("3d/x-y"), "buf_3d__x_y");
        assert_eq!(ident("kernel/int"), "int_");
        assert_eq!(ident("kernel/_Z"), "buf__Z");
        assert_eq!(ident("kernel/block_size"), "block_size_");
        assert_eq!(ident("kernel/linux"), "linux_");
        assert_eq!(ident("kernel/unix"), "unix_");
        assert_eq!(ident("kernel/i386"), "i386_");
        assert_eq!(ident("kernel/i686"), "i686_");
        assert_eq!(ident("kernel/__linux__"), "buf___linux__");
        assert_eq!(ident("kernel/_Linux"), "buf__Linux");
        assert_eq!(ident("loop/linux"), "loop__linux");
        assert_eq!(ident("kernel/δt\n#error"), "buf__t__error");
        assert_eq!(comment("a\n#error x\\"), "a\\u{a}#error x\\\\");
    }
}
