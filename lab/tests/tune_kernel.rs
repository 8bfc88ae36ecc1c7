//! `smemplan-lab tune --kernel` without a card: the user's source checked
//! against the launch contract, bad input refused with a clear error, the
//! ranking (the stand-in's), one header per layout (`--headers`), and the
//! shipped example kernel compiled and run as host C++ against every
//! layout's header, leaving `io` bitwise alike (CUDA qualifiers defined
//! away, a block's threads run one after another, shared memory emulated
//! per block).
//!
//! A missing C++ compiler fails the host test unless `SMEMPLAN_SKIP_CXX` is
//! set.

// The shared harness; this file uses part of it.
#[allow(dead_code)]
#[path = "support/cli.rs"]
mod harness;

#[path = "../../tests/support/cxx.rs"]
mod cxx;

use harness::{lab, repo};
use smemplan_lab::gpu::user_kernel::{self, UserSource};
use std::path::{Path, PathBuf};
use std::process::Command;

const EXAMPLE: &str = "lab/examples/kernels/loop_stages.cu";

fn example() -> String {
    repo(EXAMPLE).display().to_string()
}

fn workdir(case: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("smemplan-tune-kernel-{}-{case}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The rank lines of a `--rank-only` run.
fn ranks(stdout: &str) -> Vec<&str> {
    stdout.lines().filter(|l| l.trim_start().starts_with("rank")).collect()
}

#[test]
fn bad_input_is_refused_with_a_clear_error() {
    let dir = workdir("bad");
    let no_entry = dir.join("no_entry.cu");
    std::fs::write(&no_entry, "#include \"smemplan_layout.cuh\"\n__global__ void other(unsigned char* io) {}\n")
        .unwrap();
    let no_include = dir.join("no_include.cu");
    std::fs::write(
        &no_include,
        "extern \"C\" __global__ void smemplan_kernel(unsigned char* io, unsigned long long runs) {}\n",
    )
    .unwrap();
    let missing = dir.join("missing.cu").display().to_string();
    let ex = example();
    let (d, ne, ni) = (dir.display().to_string(), no_entry.display().to_string(), no_include.display().to_string());
    for (flags, needles) in [
        (vec!["--kernel", &missing], vec!["missing.cu", "cannot read it"]),
        (vec!["--kernel", &d], vec!["cannot read it"]),
        (vec!["--kernel", &ne], vec!["no_entry.cu", "no entry point `smemplan_kernel`", "unsigned long long runs"]),
        (vec!["--kernel", &ni], vec!["no_include.cu", "#include \"smemplan_layout.cuh\""]),
        (vec!["--kernel", &ex, "--method", "dirk"], vec!["--method"]),
        (vec!["--kernel", &ex, "--io-bytes", "0"], vec!["--io-bytes"]),
        (vec!["--io-bytes", "8"], vec!["--kernel"]),
        (vec!["--kernel", &ex, "--iterations", "3"], vec!["--iterations"]),
        (vec!["--kernel", &ex, "--model", "nope"], vec!["nope"]),
        (vec!["--kernel", &ex, "--model-file", &missing], vec!["missing.cu"]),
        (vec!["--kernel", &ex, "--model", "erk", "--model-file", &ex], vec!["--model"]),
        (vec!["--kernel", &ex, "--headers", &missing], vec!["--headers", "no such directory"]),
        (vec!["--headers", &d], vec!["--kernel"]),
    ] {
        let mut args = vec!["tune", "--rank-only", "--device", "h100", "--runs", "4096", "--set", "n=3"];
        args.extend(flags.iter().copied());
        let run = lab(&args).expect(2);
        for needle in &needles {
            assert!(run.stderr.contains(needle), "{flags:?}: `{needle}` missing:\n{}", run.stderr);
        }
    }
    // Past the ranking the card is needed: one line, exit 2, before any
    // NVRTC or launch (this build has no card or no `gpu` feature).
    let run = lab(&["tune", "--kernel", &ex, "--set", "n=3", "--device", "h100", "--runs", "4096"]).expect(2);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(run.stderr.contains("without GPU support") || run.stderr.contains("GPU:"), "{}", run.stderr);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_kernel_is_ranked_as_the_stand_in_and_gets_one_header_per_layout() {
    let dir = workdir("rank");
    let d = dir.display().to_string();
    let ex = example();
    let common = ["tune", "--rank-only", "--device", "h100", "--runs", "4096", "--set", "n=5", "--time-limit", "2s"];
    let standin = lab(&common).expect(0);
    let mut flags = common.to_vec();
    flags.extend(["--kernel", &ex, "--headers", &d]);
    let user = lab(&flags).expect(0);
    // The same candidates in the same order.
    assert_eq!(ranks(&standin.stdout), ranks(&user.stdout));
    assert!(!ranks(&user.stdout).is_empty());
    assert_eq!(standin.stdout.lines().next(), user.stdout.lines().next());
    assert!(user.stdout.contains("re-rank"), "{}", user.stdout);
    // One header per layout, named in the output.
    let layouts = user.stdout.lines().filter(|l| l.trim_start().starts_with("layout ")).count();
    assert!(layouts >= 2, "{}", user.stdout);
    for k in 1..=layouts {
        let path = dir.join(format!("layout-{k}.cuh"));
        let h = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(user.stdout.contains(&path.display().to_string()), "{}", user.stdout);
        for needle in [
            "namespace smemplan_layout {",
            "namespace smemplan_buffers {",
            "constexpr unsigned long long io_bytes = 64ULL;",
            "float* loop__state(const memory& m)",
            "constexpr unsigned long long loop__state = 5ULL;",
        ] {
            assert!(h.contains(needle), "layout-{k}.cuh: `{needle}` missing:\n{h}");
        }
    }
    assert!(!dir.join(format!("layout-{}.cuh", layouts + 1)).exists());
    // The all-local layout's accessors take the local array.
    let all = (1..=layouts).map(|k| std::fs::read_to_string(dir.join(format!("layout-{k}.cuh"))).unwrap());
    assert!(all.clone().any(|h| h.contains("return smemplan_layout::loop__state(m.local);")));
    assert!(all.clone().any(|h| h.contains("return smemplan_layout::loop__state(m.shared, m.tid);")));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The host program: the CUDA qualifiers defined away, the user's source
/// spliced with `header`, and a launch emulated block by block (shared
/// memory filled with 0xA5 before each block, the threads one after
/// another, those past `runs` too).
fn host_program(source: &UserSource, header: &str) -> String {
    let mut p = String::from(
        "#include <cstdio>\n#include <cstring>\n#include <cstdlib>\n#include <vector>\n\
         #define __global__\n#define __device__\n#define __host__\n#define __forceinline__ inline\n\
         #define __shared__\n#define __align__(x) __attribute__((aligned(x)))\n\
         struct smemplan_dim { unsigned x; };\nstatic smemplan_dim blockIdx, threadIdx, blockDim;\n",
    );
    p.push_str(&source.with_header(header));
    p.push_str(
        r#"
__attribute__((aligned(16))) unsigned char shared[1 << 20];
int main(int argc, char** argv) {
    if (argc != 5) return 2;
    const unsigned long long runs = std::strtoull(argv[1], nullptr, 10);
    const unsigned block = (unsigned)std::strtoul(argv[2], nullptr, 10);
    if (smemplan_layout::shared_bytes_per_block(block) > sizeof shared) return 3;
    std::vector<unsigned char> io(runs * smemplan_buffers::io_bytes);
    FILE* f = std::fopen(argv[3], "rb");
    if (!f || std::fread(io.data(), 1, io.size(), f) != io.size()) return 4;
    std::fclose(f);
    blockDim.x = block;
    for (unsigned long long first = 0; first < runs; first += block) {
        std::memset(shared, 0xA5, sizeof shared);
        blockIdx.x = (unsigned)(first / block);
        for (unsigned t = 0; t < block; ++t) {
            threadIdx.x = t;
            smemplan_kernel(io.data(), runs);
        }
    }
    f = std::fopen(argv[4], "wb");
    if (!f || std::fwrite(io.data(), 1, io.size(), f) != io.size()) return 5;
    std::fclose(f);
    return 0;
}
"#,
    );
    p
}

/// Runs the example under every layout of the model `model` (its flags)
/// at several block sizes (a partial last block among them) and returns
/// the `io` arrays.
fn run_example(cxx: &str, case: &str, model: &[&str], io_bytes: u64) -> Vec<(String, Vec<u8>)> {
    const RUNS: u64 = 45;
    let dir = workdir(case);
    let d = dir.display().to_string();
    let io_flag = io_bytes.to_string();
    let ex = example();
    let mut flags = vec!["tune", "--rank-only", "--device", "h100", "--runs", "4096", "--time-limit", "2s"];
    flags.extend(["--kernel", &ex, "--headers", &d, "--io-bytes", &io_flag]);
    flags.extend(model);
    lab(&flags).expect(0);
    let source = UserSource::read(Path::new(&ex)).unwrap();
    let input = dir.join("io.bin");
    std::fs::write(&input, user_kernel::fill(RUNS, io_bytes).unwrap()).unwrap();
    let mut outputs = Vec::new();
    for k in 1.. {
        let Ok(header) = std::fs::read_to_string(dir.join(format!("layout-{k}.cuh"))) else { break };
        let cpp = dir.join(format!("layout-{k}.cpp"));
        std::fs::write(&cpp, host_program(&source, &header)).unwrap();
        let exe = dir.join(format!("layout-{k}"));
        let out = Command::new(cxx)
            .args(["-std=c++17", "-O1", "-Wall", "-Wextra", "-Werror", "-o"])
            .arg(&exe)
            .arg(&cpp)
            .output()
            .unwrap();
        assert!(out.status.success(), "{case} layout {k}: compiling failed:\n{}", String::from_utf8_lossy(&out.stderr));
        for block in [1u64, 7, 32] {
            let output = dir.join(format!("out-{k}-{block}.bin"));
            let run = Command::new(&exe)
                .args([RUNS.to_string(), block.to_string()])
                .arg(&input)
                .arg(&output)
                .status()
                .unwrap();
            assert!(run.success(), "{case} layout {k} block {block}: {run}");
            outputs.push((format!("layout {k} block {block}"), std::fs::read(&output).unwrap()));
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
    outputs
}

#[test]
fn the_example_leaves_io_alike_under_every_layout() {
    let Some(cxx) = cxx::compiler("tune_kernel") else { return };
    for (case, model, io_bytes) in [
        ("dirk-f32", &["--set", "n=30"][..], 64),
        ("dirk-f64", &["--set", "n=10", "--set", "precision=f64"][..], 48),
        ("erk-local", &["--model", "erk", "--set", "n=7", "--set", "loc=local"][..], 5),
    ] {
        let outputs = run_example(&cxx, case, model, io_bytes);
        assert!(outputs.len() >= 6, "{case}: {} runs", outputs.len());
        let (first_name, first) = &outputs[0];
        let input = user_kernel::fill(45, io_bytes).unwrap();
        assert_eq!(first.len(), input.len());
        // The kernel wrote its digest over every run's slice.
        let changed = first.chunks(io_bytes as usize).zip(input.chunks(io_bytes as usize)).filter(|(a, b)| a != b);
        assert_eq!(changed.count(), 45, "{case}");
        for (name, io) in &outputs[1..] {
            assert_eq!(
                user_kernel::first_difference(first, io, io_bytes),
                None,
                "{case}: {name} differs from {first_name}"
            );
        }
    }
}
