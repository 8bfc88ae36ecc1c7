//! The generated integrator kernels, compiled as host C++ (CUDA qualifiers
//! defined away, shared memory emulated per block, a block's threads run
//! round-robin one step at a time), reproduce the Rust reference bit for
//! bit under every layout: CuBIE's offsets and smemplan's plan; all shared,
//! split and all local; thread-major (odd and plain stride) and
//! interleaved; several block sizes, with a partial last block. Since the
//! optimised plans alias buffers whose lifetimes are disjoint, this shows
//! by results that the kernels' lifetimes are honest; a planted overlap
//! must be caught.
//!
//! A missing C++ compiler fails the test unless `SMEMPLAN_SKIP_CXX` is set.

use smemplan::kernel::Precision;
use smemplan::plan::allocator::{Padding, SharedLayout};
use smemplan_lab::integrate::{
    self, Kernel, Method, Placement, Planner, Settings, Setup, System, HOST_CXX_FLAGS, STATS_PER_SYSTEM,
};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

#[path = "../../tests/support/cxx.rs"]
mod cxx;
use cxx::compiler;

const BATCH: u64 = 37;
const BLOCKS: [u64; 3] = [1, 5, 32];

fn workdir(case: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("smemplan-integrate-{}-{case}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The layouts every case runs: both planners × all shared, split, all
/// local × thread-major (odd stride) and interleaved, plus the plain
/// stride once (all-local kernels have no shared layout to vary).
fn placements(split: &[&str]) -> Vec<Placement> {
    let odd = SharedLayout::ThreadMajor(Padding::OddWords);
    let mut out = Vec::new();
    for planner in [Planner::Cubie, Planner::smemplan()] {
        for layout in [odd, SharedLayout::Interleaved] {
            out.push(Placement::all_shared(planner.clone(), layout));
            out.push(Placement::split(planner.clone(), layout, split));
        }
        out.push(Placement::all_local(planner, odd));
    }
    out.push(Placement::all_shared(Planner::smemplan(), SharedLayout::ThreadMajor(Padding::None)));
    out
}

/// A host program running every kernel of `kernels` (one source: a
/// prelude, then one body per namespace `v{k}`) at every block size of
/// `BLOCKS`, writing `out_v{k}_b{B}.bin` and `stats_v{k}_b{B}.bin`.
fn host_program(kernels: &[Kernel]) -> String {
    let mut p = String::from("#include <cstdio>\n#include <cstring>\n#include <vector>\n");
    p.push_str(&kernels[0].prelude);
    for k in kernels {
        p.push_str(&k.body);
    }
    p.push_str(
        r#"
static std::vector<unsigned char> load(const char* path) {
    std::vector<unsigned char> v;
    FILE* f = std::fopen(path, "rb");
    if (!f) return v;
    unsigned char buf[65536];
    size_t got;
    while ((got = std::fread(buf, 1, sizeof buf, f)) > 0) v.insert(v.end(), buf, buf + got);
    std::fclose(f);
    return v;
}
static void store(const char* path, const void* data, size_t bytes) {
    FILE* f = std::fopen(path, "wb");
    std::fwrite(data, 1, bytes, f);
    std::fclose(f);
}
static const unsigned long long GUARD = 64;
"#,
    );
    for k in 0..kernels.len() {
        writeln!(
            p,
            r#"
// Emulates a launch of variant {k}: per block, shared memory filled with
// NaN bytes and a guard after it; per thread, local arrays.
static bool run_v{k}(unsigned B, const Io& io) {{
    const unsigned long long sh = v{k}_layout::shared_bytes_per_block(B);
    const size_t lw = v{k}_layout::local_bytes / 8 + 1, pw = v{k}_layout::persistent_local_bytes / 8 + 1;
    bool ok = true;
    for (unsigned long long first = 0; first < io.batch; first += B) {{
        const unsigned count = (unsigned)(io.batch - first < B ? io.batch - first : B);
        std::vector<unsigned long long> shared_words((sh + GUARD) / 8 + 1, ~0ULL);
        std::vector<unsigned long long> local(lw * B, ~0ULL), plocal(pw * B, ~0ULL);
        unsigned char* shared = (unsigned char*)shared_words.data();
        std::vector<v{k}::Thread> th(count);
        std::vector<char> running(count, 1);
        for (unsigned t = 0; t < count; ++t)
            v{k}::init(th[t], io, first + t, shared, (unsigned char*)&local[t * lw], (unsigned char*)&plocal[t * pw], t, B);
        for (bool any = true; any;) {{
            any = false;
            for (unsigned t = 0; t < count; ++t) {{
                if (!running[t]) continue;
                running[t] = v{k}::advance(th[t], io, shared, (unsigned char*)&local[t * lw], (unsigned char*)&plocal[t * pw], t, B);
                any = any || running[t];
            }}
        }}
        for (unsigned t = 0; t < count; ++t) v{k}::finish(th[t], io);
        for (unsigned long long i = sh; i < sh + GUARD; ++i)
            if (shared[i] != 0xFF) ok = false;
    }}
    return ok;
}}"#
        )
        .unwrap();
    }
    let blocks: Vec<String> = BLOCKS.iter().map(|b| b.to_string()).collect();
    writeln!(
        p,
        r#"
typedef bool (*run_fn)(unsigned, const Io&);
static const run_fn runs[] = {{{}}};
static const unsigned blocks[] = {{{}}};
int main() {{
    const unsigned long long batch = {BATCH};
    std::vector<unsigned char> y0 = load("y0.bin"), params = load("params.bin");
    if (y0.size() != N * batch * sizeof(real_t) || params.size() != NP * batch * sizeof(real_t)) {{
        std::printf("bad inputs\n");
        return 2;
    }}
    int errors = 0;
    for (unsigned v = 0; v < sizeof runs / sizeof runs[0]; ++v)
        for (unsigned b : blocks) {{
            std::vector<real_t> out((SAMPLES_OUT + 1ULL) * N * batch, (real_t)0);
            std::vector<unsigned> stats({STATS_PER_SYSTEM} * batch, 0u);
            const Io io{{(const real_t*)y0.data(), (const real_t*)params.data(), out.data(), stats.data(), batch}};
            if (!runs[v](b, io)) {{
                std::printf("variant %u, block %u: write past the shared memory\n", v, b);
                ++errors;
            }}
            char name[64];
            std::snprintf(name, sizeof name, "out_v%u_b%u.bin", v, b);
            store(name, out.data(), out.size() * sizeof(real_t));
            std::snprintf(name, sizeof name, "stats_v%u_b%u.bin", v, b);
            store(name, stats.data(), stats.size() * sizeof(unsigned));
        }}
    return errors ? 1 : 0;
}}"#,
        (0..kernels.len()).map(|k| format!("run_v{k}")).collect::<Vec<_>>().join(", "),
        blocks.join(", "),
    )
    .unwrap();
    p
}

/// Compiles and runs the host program in `dir` and checks every output
/// against the reference; returns the mismatches, one line each.
fn run_case(cxx: &str, dir: &Path, setup: &Setup, kernels: &[Kernel]) -> Vec<String> {
    let samples = setup.settings.samples;
    let program = host_program(kernels).replace("SAMPLES_OUT", &samples.to_string());
    std::fs::write(dir.join("main.cpp"), program).unwrap();
    let inputs = setup.inputs(BATCH);
    std::fs::write(dir.join("y0.bin"), &inputs.y0).unwrap();
    std::fs::write(dir.join("params.bin"), &inputs.params).unwrap();
    let out = Command::new(cxx)
        .args(HOST_CXX_FLAGS)
        .args(["-Wall", "-Wextra", "-Werror", "-o", "main", "main.cpp"])
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "compiling failed:\n{}", String::from_utf8_lossy(&out.stderr));
    let run = Command::new(dir.join("main")).current_dir(dir).output().unwrap();
    let mut problems: Vec<String> = String::from_utf8_lossy(&run.stdout).lines().map(String::from).collect();
    if !run.status.success() && problems.is_empty() {
        problems.push(format!("the host program failed: {}", run.status));
    }
    let expected = integrate::reference(setup, BATCH, 0..BATCH).unwrap();
    assert_eq!(inputs.out_bytes, expected.out.len());
    for (v, kernel) in kernels.iter().enumerate() {
        for b in BLOCKS {
            let out = std::fs::read(dir.join(format!("out_v{v}_b{b}.bin"))).unwrap();
            let stats: Vec<u32> = std::fs::read(dir.join(format!("stats_v{v}_b{b}.bin")))
                .unwrap()
                .chunks(4)
                .map(|c| u32::from_le_bytes(c.try_into().unwrap()))
                .collect();
            if let Err(e) = expected.compare(&out, &stats) {
                let p = &kernel.placement;
                problems.push(format!("{:?} {:?} {:?} block {b}: {e}", p.planner, p.sets(), p.layout));
            }
        }
    }
    problems
}

fn check(setup: Setup, split: &[&str]) {
    let Some(cxx) = compiler("integrate_host") else {
        return;
    };
    let kernels: Vec<Kernel> = placements(split)
        .iter()
        .enumerate()
        .map(|(k, p)| Kernel::with_namespace(&setup, p, &format!("v{k}")).unwrap())
        .collect();
    // The optimised all-shared plan really aliases (else this proves little).
    let opt = &kernels[5];
    assert!(opt.report.shared_bytes < kernels[0].report.shared_bytes, "{:?}", opt.placement);
    let case = format!("{}-{}-{}", setup.method.name(), setup.system.name(), setup.precision);
    let dir = workdir(&case);
    let problems = run_case(&cxx, &dir, &setup, &kernels);
    assert!(problems.is_empty(), "{case}:\n{}", problems.join("\n"));
    let _ = std::fs::remove_dir_all(&dir);
}

fn short(method: Method, system: System, precision: Precision, t_end: f64, steps: u32) -> Setup {
    let mut s = Settings::default_for(method, &system, precision);
    (s.t_end, s.steps) = (t_end, steps);
    Setup::with_settings(method, system, precision, s).unwrap()
}

#[test]
fn dormand_prince_lorenz_f32() {
    check(short(Method::DormandPrince54, System::Lorenz, Precision::F32, 1.0, 0), &["k1", "k3", "stage_state"]);
}

#[test]
fn dormand_prince_allen_cahn_f64() {
    let setup = short(Method::DormandPrince54, System::AllenCahn { n: 30 }, Precision::F64, 0.05, 0);
    check(setup, &["state", "k2", "k7", "error"]);
}

#[test]
fn backward_euler_allen_cahn_f32() {
    let setup = short(Method::BackwardEuler, System::AllenCahn { n: 30 }, Precision::F32, 0.2, 20);
    check(setup, &["state", "rhs", "delta"]);
}

#[test]
fn backward_euler_lorenz_f64() {
    check(short(Method::BackwardEuler, System::Lorenz, Precision::F64, 0.5, 100), &["matrix"]);
}

#[test]
fn dirk_allen_cahn_f32() {
    let setup = short(Method::Dirk, System::AllenCahn { n: 24 }, Precision::F32, 0.5, 0);
    check(setup, &["cached_auxiliaries", "stage_rhs", "delta"]);
}

#[test]
fn dirk_robertson_f64() {
    check(short(Method::Dirk, System::Robertson, Precision::F64, 4.0, 0), &["state", "accumulator", "residual"]);
}

#[test]
fn dirk_robertson_f32() {
    check(short(Method::Dirk, System::Robertson, Precision::F32, 40.0, 0), &["stage_base", "stage_state"]);
}

#[test]
fn a_planted_overlap_changes_the_trajectories() {
    let Some(cxx) = compiler("integrate_host") else {
        return;
    };
    let setup = short(Method::DormandPrince54, System::Lorenz, Precision::F32, 1.0, 0);
    let placement = Placement::all_shared(Planner::smemplan(), SharedLayout::default());
    let mut report = integrate::plan(&setup, &placement).unwrap();
    // k3 on k2's bytes: stage 4 then reads f(stage 3) where it needs k2.
    let k2 = report.buffers.iter().find(|b| b.name == "k2").unwrap().offset;
    report.buffers.iter_mut().find(|b| b.name == "k3").unwrap().offset = k2;
    let kernel = Kernel::from_report(&setup, &placement, report, "v0").unwrap();
    let dir = workdir("planted");
    let problems = run_case(&cxx, &dir, &setup, &[kernel]);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(problems.len(), BLOCKS.len(), "{problems:?}");
    assert!(problems.iter().all(|p| p.contains("system 0, sample 1")), "{problems:?}");
}

#[test]
fn a_planted_overlap_changes_the_dirk_trajectories() {
    let Some(cxx) = compiler("integrate_host") else {
        return;
    };
    let setup = short(Method::Dirk, System::Robertson, Precision::F32, 4.0, 0);
    let placement = Placement::all_shared(Planner::smemplan(), SharedLayout::default());
    let mut report = integrate::plan(&setup, &placement).unwrap();
    // stage_base on k1 (the accumulator's first n): stage 3's base then
    // reads stage 2's base where it needs k1.
    let k1 = report.buffers.iter().find(|b| b.name == "accumulator").unwrap().offset;
    report.buffers.iter_mut().find(|b| b.name == "stage_base").unwrap().offset = k1;
    let kernel = Kernel::from_report(&setup, &placement, report, "v0").unwrap();
    let dir = workdir("planted-dirk");
    let problems = run_case(&cxx, &dir, &setup, &[kernel]);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(problems.len(), BLOCKS.len(), "{problems:?}");
    assert!(problems.iter().all(|p| p.contains("system 0, sample 1")), "{problems:?}");
}
