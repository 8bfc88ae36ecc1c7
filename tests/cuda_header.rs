//! The generated CUDA header compiles with the system C++ compiler (CUDA
//! qualifiers defined away), and a host program that writes and reads every
//! buffer of every thread of a block through the accessors, instant by
//! instant, finds no two simultaneously live buffers sharing a byte, no
//! access outside its pool and no misaligned element.
//!
//! Skips (with a message) when no C++ compiler is found. Works in a fresh
//! directory under the system temp dir.

use smemplan::kernel::lifetimes::LifetimeTable;
use smemplan::kernel::registry::dump::Dump;
use smemplan::plan::allocator::{cuda_header, Allocation, HeaderOptions, Padding, SharedLayout};
use smemplan::plan::{plan, PlanInput, PlanOptions, PlanReport, Pool};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

#[path = "support/cxx.rs"]
mod cxx;
use cxx::compiler;

fn report_for(config: &str) -> PlanReport {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/cubie-reference").join(format!("{config}.json"));
    let dump = Dump::parse(config, &std::fs::read_to_string(path).unwrap()).unwrap();
    plan(&PlanInput::from_dump(&dump).unwrap(), &LifetimeTable::cubie().unwrap(), &PlanOptions::default()).unwrap()
}

/// A host program that exercises every accessor of `alloc` for `block`
/// threads over `report`'s timeline; exit status 0 means no collision.
fn host_program(report: &PlanReport, alloc: &Allocation, ns: &str, block: u64) -> String {
    let mut p = String::new();
    let pool_id = |pool: Pool| match pool {
        Pool::Shared => 0,
        Pool::Local => 1,
        Pool::PersistentLocal => 2,
    };
    writeln!(p, "#include <cstdio>\n#include <cstring>\n#include <vector>\n#include \"layout.h\"").unwrap();
    writeln!(p, "using namespace {ns};").unwrap();
    writeln!(p, "static const unsigned B = {block};").unwrap();
    writeln!(p, "typedef unsigned char* (*addr_fn)(unsigned char*, unsigned char*, unsigned char*, unsigned, unsigned long long);").unwrap();
    let index_of = |name: &str| alloc.views.iter().position(|v| v.name == name);
    for (i, v) in alloc.views.iter().enumerate() {
        let call = match (v.pool, alloc.layout) {
            (Pool::Shared, SharedLayout::ThreadMajor(_)) => format!("(unsigned char*)({}(sh, tid) + e)", v.ident),
            (Pool::Shared, SharedLayout::Interleaved) => format!("(unsigned char*)&{}(sh, tid, B)[e]", v.ident),
            (Pool::Local, _) => format!("(unsigned char*)({}(lo) + e)", v.ident),
            (Pool::PersistentLocal, _) => format!("(unsigned char*)({}(pl) + e)", v.ident),
        };
        writeln!(
            p,
            "static unsigned char* a{i}(unsigned char* sh, unsigned char* lo, unsigned char* pl, unsigned tid, unsigned long long e) {{ (void)sh; (void)lo; (void)pl; (void)tid; return {call}; }}"
        )
        .unwrap();
    }
    writeln!(p, "struct Buf {{ const char* name; int pool; unsigned long long n; unsigned w; int inside; unsigned nseg; unsigned seg[16]; addr_fn at; }};").unwrap();
    writeln!(p, "static const Buf bufs[] = {{").unwrap();
    for (i, v) in alloc.views.iter().enumerate() {
        let b = report.buffers.iter().find(|b| format!("{}/{}", b.component, b.name) == v.name).unwrap();
        assert!(b.lifetime.len() <= 8, "{}: too many segments for the test program", v.name);
        let segs: Vec<String> = b.lifetime.iter().flat_map(|s| [s[0].to_string(), s[1].to_string()]).collect();
        let inside = v.inside.as_deref().and_then(index_of).map_or(-1, |k| k as i64);
        writeln!(
            p,
            "  {{\"{}\", {}, {}ULL, {}, {inside}, {}, {{{}}}, a{i}}},",
            v.name,
            pool_id(v.pool),
            v.elements,
            v.dtype.itemsize(),
            b.lifetime.len(),
            segs.join(", ")
        )
        .unwrap();
    }
    writeln!(p, "}};").unwrap();
    writeln!(p, "static const unsigned NB = {};", alloc.views.len()).unwrap();
    writeln!(p, "static const unsigned T = {};", report.timeline.len()).unwrap();
    p.push_str(
        r#"
static bool live(const Buf& b, unsigned t) {
    for (unsigned s = 0; s < b.nseg; ++s) if (b.seg[2 * s] <= t && t < b.seg[2 * s + 1]) return true;
    return false;
}
static unsigned long long key(unsigned b, unsigned tid, unsigned long long e) {
    return 0x9E3779B97F4A7C15ULL * (b + 1) ^ (tid * 1000003ULL + e * 7919ULL + 1);
}
int main() {
    const unsigned long long sizes[3] = {shared_bytes_per_block(B), local_bytes, persistent_local_bytes};
    std::vector<std::vector<unsigned long long>> mem[3];
    for (int p = 0; p < 3; ++p) {
        unsigned copies = p == 0 ? 1 : B;
        mem[p].resize(copies);
        for (auto& m : mem[p]) m.assign(sizes[p] / 8 + 2, 0);
    }
    auto base = [&](int p, unsigned tid) { return (unsigned char*)mem[p][p == 0 ? 0 : tid].data(); };
    auto addr = [&](const Buf& b, unsigned tid, unsigned long long e) {
        return b.at(base(0, 0), base(1, tid), base(2, tid), tid, e);
    };
    int errors = 0;
    // Every element in bounds and aligned; nested aliases inside their target.
    for (unsigned i = 0; i < NB; ++i) {
        const Buf& b = bufs[i];
        for (unsigned tid = 0; tid < B; ++tid)
            for (unsigned long long e = 0; e < b.n; ++e) {
                unsigned char* a = addr(b, tid, e);
                unsigned char* lo = base(b.pool, tid);
                if (a < lo || a + b.w > lo + sizes[b.pool] || (unsigned long long)(a - lo) % b.w != 0) {
                    if (errors++ < 10) std::printf("%s: thread %u element %llu out of bounds or misaligned\n", b.name, tid, e);
                }
                if (b.inside >= 0) {
                    const Buf& t = bufs[b.inside];
                    unsigned char* first = addr(t, tid, 0);
                    unsigned char* last = addr(t, tid, t.n - 1) + t.w;
                    if (a >= first && a + b.w <= last) continue;
                    if (errors++ < 10) std::printf("%s: element %llu not inside %s\n", b.name, e, t.name);
                }
            }
    }
    // Instant by instant: write every live buffer of every thread, then read
    // everything back. Nested aliases share their target's bytes by design
    // and are left out.
    for (unsigned t = 0; t < T; ++t) {
        for (unsigned i = 0; i < NB; ++i) {
            const Buf& b = bufs[i];
            if (b.inside >= 0 || !live(b, t)) continue;
            for (unsigned tid = 0; tid < B; ++tid)
                for (unsigned long long e = 0; e < b.n; ++e) {
                    unsigned long long k = key(i, tid, e);
                    std::memcpy(addr(b, tid, e), &k, b.w);
                }
        }
        for (unsigned i = 0; i < NB; ++i) {
            const Buf& b = bufs[i];
            if (b.inside >= 0 || !live(b, t)) continue;
            for (unsigned tid = 0; tid < B; ++tid)
                for (unsigned long long e = 0; e < b.n; ++e) {
                    unsigned long long k = key(i, tid, e), got = 0;
                    std::memcpy(&got, addr(b, tid, e), b.w);
                    if (std::memcmp(&got, &k, b.w) != 0 && errors++ < 10)
                        std::printf("instant %u: %s (thread %u, element %llu) was overwritten\n", t, b.name, tid, e);
                }
        }
    }
    if (errors) std::printf("%d errors\n", errors);
    return errors ? 1 : 0;
}
"#,
    );
    p
}

/// Compiles and runs the program for `report` under `layout`; returns the
/// program's success and its output.
fn build_and_run(cxx: &str, dir: &Path, report: &PlanReport, layout: SharedLayout, block: u64) -> (bool, String) {
    build_and_run_as(cxx, "c++17", dir, report, layout, block)
}

/// [`build_and_run`] under `-std={std}`.
fn build_and_run_as(
    cxx: &str,
    std: &str,
    dir: &Path,
    report: &PlanReport,
    layout: SharedLayout,
    block: u64,
) -> (bool, String) {
    let alloc = Allocation::new(report, layout).unwrap();
    let ns = "plan";
    let header =
        cuda_header(&alloc, &HeaderOptions { namespace: ns.into(), block_size: block, ..HeaderOptions::default() })
            .unwrap();
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("layout.h"), header).unwrap();
    std::fs::write(dir.join("main.cpp"), host_program(report, &alloc, ns, block)).unwrap();
    let exe = dir.join("main");
    let out = Command::new(cxx)
        .arg(format!("-std={std}"))
        .args(["-O1", "-Wall", "-Wextra", "-Werror", "-D__host__=", "-D__device__=", "-D__forceinline__=inline", "-o"])
        .arg(&exe)
        .arg(dir.join("main.cpp"))
        .output()
        .unwrap();
    assert!(out.status.success(), "compiling failed:\n{}", String::from_utf8_lossy(&out.stderr));
    let run = Command::new(&exe).output().unwrap();
    (run.status.success(), String::from_utf8_lossy(&run.stdout).into_owned())
}

fn workdir(case: &str) -> PathBuf {
    std::env::temp_dir().join(format!("smemplan-cuda-header-{}-{case}", std::process::id()))
}

const CONFIGS: &[&str] = &[
    "dirk__kvaerno3__float64__n20__all_shared__bicgstab",
    "dirk__l_stable_sdirk_4__float32__n20__all_shared__smooth",
    "firk__radau_iia_5__float32__n20__all_shared__mr",
    "rosenbrock__ros3p__float64__n20__all_shared__mr",
    "backwards_euler_pc__backwards_euler_pc__float64__n3__default",
    "crank_nicolson__crank_nicolson__float32__n3__all_shared",
];

#[test]
fn generated_headers_compile_and_never_alias_live_buffers() {
    let Some(cxx) = compiler("cuda_header") else {
        return;
    };
    for config in CONFIGS {
        let report = report_for(config);
        for (k, layout) in [
            SharedLayout::ThreadMajor(Padding::OddWords),
            SharedLayout::ThreadMajor(Padding::None),
            SharedLayout::Interleaved,
        ]
        .into_iter()
        .enumerate()
        {
            let dir = workdir(&format!("{config}-{k}"));
            let (ok, output) = build_and_run(&cxx, &dir, &report, layout, 33);
            assert!(ok, "{config} {layout:?}:\n{output}");
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
}

#[test]
fn the_host_check_catches_a_collision() {
    let Some(cxx) = compiler("cuda_header") else {
        return;
    };
    let mut report = report_for("dirk__kvaerno3__float64__n20__all_shared__bicgstab");
    // Move the Newton residual onto delta: both are live in every solve.
    let delta = report.buffers.iter().find(|b| b.name == "delta").unwrap().offset;
    report.buffers.iter_mut().find(|b| b.name == "residual").unwrap().offset = delta;
    let dir = workdir("sabotaged");
    let (ok, output) = build_and_run(&cxx, &dir, &report, SharedLayout::default(), 32);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(!ok, "the collision went unnoticed");
    assert!(output.contains("was overwritten"), "{output}");
}

/// Root buffers named like macros that GNU modes predefine (`linux`, `unix`)
/// still compile, under both the strict and g++'s default GNU dialect.
#[test]
fn buffers_named_like_predefined_macros_compile() {
    let Some(cxx) = compiler("cuda_header") else {
        return;
    };
    let mut report = report_for("dirk__kvaerno3__float64__n20__all_shared__bicgstab");
    // Two buffers made the kernel's own (root) buffers: `kernel/linux` is
    // the accessor `linux` unless renamed.
    for (b, name) in report.buffers.iter_mut().zip(["linux", "unix"]) {
        b.component = "kernel".into();
        b.name = name.into();
    }
    for std in ["c++17", "gnu++17"] {
        for (k, layout) in
            [SharedLayout::ThreadMajor(Padding::OddWords), SharedLayout::Interleaved].into_iter().enumerate()
        {
            let dir = workdir(&format!("macros-{std}-{k}"));
            let (ok, output) = build_and_run_as(&cxx, std, &dir, &report, layout, 33);
            assert!(ok, "{std} {layout:?}:\n{output}");
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
}
