//! The integrity kernel: a layout proven on the card by walking its
//! timeline.
//!
//! The kernel source is the header `plan --cuda` writes
//! ([`smemplan::plan::allocator::cuda_header`]) followed by one generated walk over
//! the plan's instants. Each instant has two phases, separated by a block
//! barrier:
//!
//! ```text
//!  instant t:  write  every buffer whose live segment starts at t: every
//!                     thread fills the buffer's whole range, through its
//!                     accessor, with signatures (buffer, thread, instant, element)
//!              ─── __syncthreads() ───
//!              check  every buffer live at t (its last instant included):
//!                     every word must still hold what this thread wrote
//!              ─── __syncthreads() ───
//! ```
//!
//! Two buffers that share a byte while both live, or two threads whose
//! slices overlap, leave a word holding someone else's signature; the walk
//! records the buffer, thread, instant and element where it found it, and
//! the signature names the buffer (and thread) that wrote it. A nested
//! alias (`inside` a target) is a view of its target's bytes by design: it
//! is covered by its target's walk and not walked itself.
//!
//! The same source compiles as host C++ (the CUDA qualifiers are defined
//! away when `__CUDACC__` is not set), so the walk can be emulated on the
//! host: call `smemplan_walk::phase` for every phase and every thread.
//!
//! Signatures: 4-byte elements get `(buffer+1)<<24 | (instant%64)<<18 |
//! tid<<8 | element%256`, 8-byte elements `(buffer+1)<<48 | instant<<32 |
//! tid<<16 | element%65536`, where `tid` is the thread's index in its block
//! (slices are per block, so that index is what tells two writers apart).

use crate::error::{Error, Result};
use smemplan::plan::allocator::{cuda_header, Allocation, HeaderOptions, SharedLayout, View, NAMESPACE};
use smemplan::plan::{PlanReport, Pool};
use std::fmt::Write as _;

/// The kernel's (unmangled) name.
pub const KERNEL: &str = "smemplan_integrity";
/// `u32` words per clobber record in the report buffer (after the count).
pub const RECORD_WORDS: usize = 8;
/// Walked buffers a layout may have (the signature keeps 8 bits for it).
pub const MAX_BUFFERS: usize = 255;

/// One layout to walk: its allocation and every view's live segments.
#[derive(Debug, Clone)]
pub struct Walk {
    /// What the layout is (`auto`, `cubie`, ...), for reports.
    pub label: String,
    /// Addresses.
    pub alloc: Allocation,
    /// Live segments `[start, end)` of each of `alloc.views`.
    pub lifetimes: Vec<Vec<[u64; 2]>>,
    /// Instants on the timeline.
    pub instants: u64,
}

/// A buffer moved onto another one to prove that the walk catches it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planted {
    /// The buffer that was moved.
    pub moved: String,
    /// The buffer it now overlaps while both are live.
    pub onto: String,
}

/// One word that did not hold its owner's signature.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Clobber {
    /// The buffer whose word was overwritten.
    pub buffer: String,
    /// Block index.
    pub block: u32,
    /// Thread index within the block.
    pub thread: u32,
    /// The instant of the failed check.
    pub instant: u32,
    /// The element of `buffer` (its low 32 bits).
    pub element: u32,
    /// The word found there.
    pub found: u64,
    /// The buffer whose signature was found, when the word decodes to one.
    pub written_by: Option<String>,
    /// The thread (within the block) that wrote it, when it decodes.
    pub written_by_thread: Option<u32>,
}

fn live_at(segments: &[[u64; 2]], t: u64) -> bool {
    segments.iter().any(|s| s[0] <= t && t < s[1])
}

fn overlaps_in_time(a: &[[u64; 2]], b: &[[u64; 2]]) -> bool {
    a.iter().any(|x| b.iter().any(|y| x[0] < y[1] && y[0] < x[1]))
}

impl Walk {
    /// The walk of `alloc`, whose views are `report`'s buffers (matched by
    /// `component/name`).
    pub fn new(label: impl Into<String>, report: &PlanReport, alloc: Allocation) -> Result<Walk> {
        let lifetimes = alloc
            .views
            .iter()
            .map(|v| {
                report
                    .buffers
                    .iter()
                    .find(|b| format!("{}/{}", b.component, b.name) == v.name)
                    .map(|b| b.lifetime.clone())
                    .ok_or_else(|| Error::buffer(&v.name, "not in the plan report"))
            })
            .collect::<Result<Vec<_>>>()?;
        let walked = alloc.views.iter().filter(|v| v.inside.is_none()).count();
        if walked > MAX_BUFFERS {
            return Err(Error::Gpu(format!(
                "the integrity walk takes at most {MAX_BUFFERS} buffers, this layout has {walked}"
            )));
        }
        Ok(Walk { label: label.into(), alloc, lifetimes, instants: report.timeline.len() as u64 })
    }

    /// Bytes of the pool `pool` per run (shared) or per thread.
    fn pool_bytes(&self, pool: Pool) -> u64 {
        match pool {
            Pool::Shared => self.alloc.shared_bytes_per_run,
            Pool::Local => self.alloc.local_bytes,
            Pool::PersistentLocal => self.alloc.persistent_local_bytes,
        }
    }

    /// A copy with one buffer moved onto another that is live at the same
    /// time (shared pool first), still inside its pool and aligned; `None`
    /// when no two walked buffers of one pool are ever live together.
    pub fn plant_overlap(&self) -> Option<(Walk, Planted)> {
        let views = &self.alloc.views;
        let walked = |i: usize| views[i].inside.is_none();
        for pool in Pool::ALL {
            for a in (0..views.len()).filter(|&i| walked(i) && views[i].pool == pool) {
                for b in (0..views.len()).filter(|&i| i != a && walked(i) && views[i].pool == pool) {
                    if !overlaps_in_time(&self.lifetimes[a], &self.lifetimes[b]) {
                        continue;
                    }
                    let (moved, onto) = (&views[a], &views[b]);
                    let align = moved.dtype.itemsize();
                    let Some(room) = self.pool_bytes(pool).checked_sub(moved.bytes) else { continue };
                    let offset = onto.offset.min(room) / align * align;
                    let hits = offset < onto.offset + onto.bytes && onto.offset < offset + moved.bytes;
                    if !hits || offset == moved.offset {
                        continue;
                    }
                    let mut planted = self.clone();
                    planted.alloc.views[a].offset = offset;
                    planted.label = format!("{} with `{}` moved onto `{}`", self.label, moved.name, onto.name);
                    return Some((planted, Planted { moved: moved.name.clone(), onto: onto.name.clone() }));
                }
            }
        }
        None
    }

    /// Dynamic shared bytes for a block of `block_size` threads.
    pub fn shared_bytes(&self, block_size: u64) -> Result<u64> {
        Ok(self.alloc.shared_bytes_per_block(block_size)?)
    }

    /// Phases of the walk (two per instant).
    pub fn phases(&self) -> u64 {
        2 * self.instants
    }

    /// Decodes the report buffer the kernel filled: `[count, records...]`.
    /// Returns the clobbers and the total count (records beyond the
    /// buffer's capacity are counted, not kept).
    pub fn decode(&self, report: &[u32]) -> (Vec<Clobber>, u64) {
        let count = report.first().copied().unwrap_or(0) as u64;
        let records = report.get(1..).unwrap_or(&[]).chunks_exact(RECORD_WORDS);
        let clobbers = records
            .take(count as usize)
            .map(|r| {
                let found = r[5] as u64 | (r[6] as u64) << 32;
                let (writer, thread) = match r[7] {
                    8 => ((found >> 48) as usize, ((found >> 16) & 0xffff) as u32),
                    _ => ((found >> 24) as usize, ((found >> 8) & 0x3ff) as u32),
                };
                let written_by = writer.checked_sub(1).and_then(|w| self.alloc.views.get(w)).map(|v| v.name.clone());
                Clobber {
                    buffer: self
                        .alloc
                        .views
                        .get(r[0] as usize)
                        .map_or_else(|| format!("#{}", r[0]), |v| v.name.clone()),
                    block: r[1],
                    thread: r[2],
                    instant: r[3],
                    element: r[4],
                    found,
                    written_by_thread: written_by.as_ref().map(|_| thread),
                    written_by,
                }
            })
            .collect();
        (clobbers, count)
    }
}

/// The kernel source for `walk` (see the module docs); `block_size` only
/// sets the header's `shared_bytes_for_block_size`.
pub fn source(walk: &Walk, block_size: u64) -> Result<String> {
    let header = cuda_header(
        &walk.alloc,
        &HeaderOptions { namespace: NAMESPACE.into(), block_size, ..HeaderOptions::default() },
    )?;
    render(walk, &header).map_err(|_| Error::Gpu("formatting the integrity kernel failed".into()))
}

/// The expressions a generated kernel hands the header's accessors.
pub(crate) struct AccessorArgs<'a> {
    /// The block's dynamic shared memory.
    pub shared: &'a str,
    /// The thread's index in the block.
    pub tid: &'a str,
    /// The block's size (interleaved layouts only).
    pub block: &'a str,
    /// The thread's local array.
    pub local: &'a str,
    /// The thread's persistent local array.
    pub persistent_local: &'a str,
}

/// The walk's names for them.
const WALK_ARGS: AccessorArgs =
    AccessorArgs { shared: "smem", tid: "tid", block: "block", local: "lo", persistent_local: "pl" };

/// The call of `v`'s accessor in the header ([`cuda_header`], namespace
/// [`NAMESPACE`]) of a `layout`, with `args`: its parameters depend on the
/// pool and, in shared memory, on the layout.
pub(crate) fn accessor(v: &View, layout: SharedLayout, args: &AccessorArgs) -> String {
    let a = args;
    let params = match (v.pool, layout) {
        (Pool::Shared, SharedLayout::ThreadMajor(_)) => format!("{}, {}", a.shared, a.tid),
        (Pool::Shared, SharedLayout::Interleaved) => format!("{}, {}, {}", a.shared, a.tid, a.block),
        (Pool::Local, _) => a.local.to_string(),
        (Pool::PersistentLocal, _) => a.persistent_local.to_string(),
    };
    format!("{NAMESPACE}::{}({params})", v.ident)
}

fn render(walk: &Walk, header: &str) -> std::result::Result<String, std::fmt::Error> {
    let mut s = String::new();
    writeln!(s, "// Generated by smemplan: integrity walk of layout `{}`.", walk.label)?;
    writeln!(s, "#ifndef __CUDACC__")?;
    writeln!(s, "#define __host__\n#define __device__\n#define __global__\n#define __forceinline__ inline")?;
    writeln!(s, "static unsigned smemplan_fetch_add(unsigned* p) {{ return (*p)++; }}")?;
    writeln!(s, "#else")?;
    writeln!(s, "__device__ __forceinline__ unsigned smemplan_fetch_add(unsigned* p) {{ return atomicAdd(p, 1u); }}")?;
    writeln!(s, "#endif\n")?;
    s.push_str(header);
    writeln!(s)?;
    writeln!(s, "namespace smemplan_walk {{\n")?;
    writeln!(s, "constexpr unsigned phases = {}u;", walk.phases())?;
    writeln!(s, "constexpr unsigned long long local_words = {}ULL;", walk.alloc.local_bytes.div_ceil(8).max(1))?;
    writeln!(
        s,
        "constexpr unsigned long long persistent_local_words = {}ULL;",
        walk.alloc.persistent_local_bytes.div_ceil(8).max(1)
    )?;
    s.push_str(
        r#"
__device__ __forceinline__ unsigned sig4(unsigned b, unsigned tid, unsigned t, unsigned long long e) {
    return ((b + 1u) << 24) | ((t & 63u) << 18) | ((tid & 1023u) << 8) | (unsigned)(e & 255u);
}
__device__ __forceinline__ unsigned long long sig8(unsigned b, unsigned tid, unsigned t, unsigned long long e) {
    return ((unsigned long long)(b + 1u) << 48) | ((unsigned long long)(t & 0xffffu) << 32)
         | ((unsigned long long)(tid & 0xffffu) << 16) | (e & 0xffffULL);
}
/// Records a clobbered word: [buffer, block, thread, instant, element, found lo, found hi, word bytes].
__device__ void record(unsigned* out, unsigned cap, unsigned b, unsigned bid, unsigned tid, unsigned t,
                       unsigned long long e, unsigned long long found, unsigned bytes) {
    unsigned slot = smemplan_fetch_add(out);
    if (slot < cap) {
        unsigned* r = out + 1 + slot * 8u;
        r[0] = b; r[1] = bid; r[2] = tid; r[3] = t; r[4] = (unsigned)e;
        r[5] = (unsigned)found; r[6] = (unsigned)(found >> 32); r[7] = bytes;
    }
}

/// One phase of the walk for one thread: phase 2t writes the buffers that
/// become live at instant t, phase 2t+1 checks every buffer live at t.
__device__ void phase(unsigned p, unsigned char* smem, unsigned char* lo, unsigned char* pl,
                      unsigned tid, unsigned block, unsigned bid, unsigned* out, unsigned cap) {
    (void)smem; (void)lo; (void)pl; (void)tid; (void)block; (void)bid; (void)out; (void)cap;
    switch (p) {
"#,
    );
    let walked: Vec<usize> = (0..walk.alloc.views.len()).filter(|&i| walk.alloc.views[i].inside.is_none()).collect();
    for t in 0..walk.instants {
        let starts: Vec<usize> =
            walked.iter().copied().filter(|&i| walk.lifetimes[i].iter().any(|s| s[0] == t && s[1] > t)).collect();
        let live: Vec<usize> = walked.iter().copied().filter(|&i| live_at(&walk.lifetimes[i], t)).collect();
        if !starts.is_empty() {
            writeln!(s, "    case {}u: {{", 2 * t)?;
            for &i in &starts {
                let v = &walk.alloc.views[i];
                let (word, sig) = word_and_sig(v);
                writeln!(s, "        {{ // write `{}`", v.name)?;
                writeln!(s, "            auto a = {};", accessor(v, walk.alloc.layout, &WALK_ARGS))?;
                writeln!(s, "            #pragma unroll 1")?;
                writeln!(s, "            for (unsigned long long e = 0; e < {}ULL; ++e)", v.elements)?;
                writeln!(s, "                *reinterpret_cast<volatile {word}*>(&a[e]) = {sig}({i}u, tid, {t}u, e);")?;
                writeln!(s, "        }}")?;
            }
            writeln!(s, "        break;\n    }}")?;
        }
        if !live.is_empty() {
            writeln!(s, "    case {}u: {{", 2 * t + 1)?;
            for &i in &live {
                let v = &walk.alloc.views[i];
                let (word, sig) = word_and_sig(v);
                let start = walk.lifetimes[i].iter().find(|s| s[0] <= t && t < s[1]).map_or(t, |s| s[0]);
                writeln!(s, "        {{ // check `{}` (written at instant {start})", v.name)?;
                writeln!(s, "            auto a = {};", accessor(v, walk.alloc.layout, &WALK_ARGS))?;
                writeln!(s, "            #pragma unroll 1")?;
                writeln!(s, "            for (unsigned long long e = 0; e < {}ULL; ++e) {{", v.elements)?;
                writeln!(s, "                {word} found = *reinterpret_cast<volatile {word}*>(&a[e]);")?;
                writeln!(
                    s,
                    "                if (found != {sig}({i}u, tid, {start}u, e)) record(out, cap, {i}u, bid, tid, {t}u, e, found, {}u);",
                    v.dtype.itemsize()
                )?;
                writeln!(s, "            }}\n        }}")?;
            }
            writeln!(s, "        break;\n    }}")?;
        }
    }
    s.push_str(
        r#"    default: break;
    }
}

}  // namespace smemplan_walk

#ifdef __CUDACC__
/// The walk for every thread of every block; `out` = [count, records...].
extern "C" __global__ void smemplan_integrity(unsigned* out, unsigned cap) {
    extern __shared__ __align__(16) unsigned char smem[];
    unsigned long long lo[smemplan_walk::local_words];
    unsigned long long pl[smemplan_walk::persistent_local_words];
    for (unsigned p = 0; p < smemplan_walk::phases; ++p) {
        smemplan_walk::phase(p, smem, reinterpret_cast<unsigned char*>(lo), reinterpret_cast<unsigned char*>(pl),
                                  threadIdx.x, blockDim.x, blockIdx.x, out, cap);
        __syncthreads();
    }
}
#endif
"#,
    );
    Ok(s)
}

/// The unsigned word type and signature function for `v`'s element size.
fn word_and_sig(v: &View) -> (&'static str, &'static str) {
    match v.dtype.itemsize() {
        8 => ("unsigned long long", "sig8"),
        _ => ("unsigned", "sig4"),
    }
}
