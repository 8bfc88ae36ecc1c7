//! The integrity kernel's walk, emulated on the host: the generated source
//! compiles as host C++ (CUDA qualifiers defined away), a harness runs every
//! phase for every thread of a block in turn (what the barriers between
//! phases guarantee on the card), and the report it fills decodes as on the
//! card. Every built-in model's optimised and CuBIE layouts walk clean; a
//! planted overlap is caught and named.
//!
//! Skips (with a message) when `SMEMPLAN_SKIP_CXX` is set; fails when no C++
//! compiler is found.

use smemplan::kernel::model;
use smemplan::plan::allocator::{Allocation, Padding, SharedLayout};
use smemplan::plan::PlanOptions;
use smemplan_lab::gpu::integrity::{self, Walk, RECORD_WORDS};
use std::process::Command;

#[path = "../../tests/support/cxx.rs"]
mod cxx;

const CAP: usize = 64;

/// One host program running every walk in `walks` for one block of
/// `block` threads (each walk's source included in a namespace of its own),
/// printing each walk's report buffer on a line.
fn harness(walks: usize, block: u64) -> String {
    let mut p = String::from("#include <cstdio>\n#include <vector>\n");
    for k in 0..walks {
        p.push_str(&format!("namespace w{k} {{\n#include \"walk{k}.cu\"\n}}\n"));
    }
    p.push_str(&format!(
        r#"template <class Phase>
static void emulate(unsigned long long shared, unsigned long long local_words, unsigned long long persistent_words,
                    unsigned phases, Phase phase) {{
    const unsigned B = {block};
    std::vector<unsigned long long> smem(shared / 8 + 1);
    std::vector<std::vector<unsigned long long>> lo(B), pl(B);
    for (unsigned t = 0; t < B; ++t) {{
        lo[t].assign(local_words, 0);
        pl[t].assign(persistent_words, 0);
    }}
    std::vector<unsigned> out(1 + {CAP} * {RECORD_WORDS}, 0);
    for (unsigned p = 0; p < phases; ++p)
        for (unsigned t = 0; t < B; ++t)
            phase(p, reinterpret_cast<unsigned char*>(smem.data()), reinterpret_cast<unsigned char*>(lo[t].data()),
                  reinterpret_cast<unsigned char*>(pl[t].data()), t, B, 0u, out.data(), {CAP}u);
    for (unsigned w : out) std::printf("%u ", w);
    std::printf("\n");
}}
int main() {{
"#
    ));
    for k in 0..walks {
        p.push_str(&format!(
            "    emulate(w{k}::smemplan_layout::shared_bytes_per_block({block}), w{k}::smemplan_walk::local_words, \
             w{k}::smemplan_walk::persistent_local_words, w{k}::smemplan_walk::phases, w{k}::smemplan_walk::phase);\n"
        ));
    }
    p.push_str("    return 0;\n}\n");
    p
}

/// Compiles and runs every walk on the host for one block of `block`
/// threads; returns each walk's decoded clobbers and their count.
fn emulate(cxx: &str, walks: &[Walk], block: u64) -> Vec<(Vec<integrity::Clobber>, u64)> {
    let dir = std::env::temp_dir().join(format!("smemplan-gpu-integrity-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (k, walk) in walks.iter().enumerate() {
        std::fs::write(dir.join(format!("walk{k}.cu")), integrity::source(walk, block).unwrap()).unwrap();
    }
    std::fs::write(dir.join("main.cpp"), harness(walks.len(), block)).unwrap();
    let exe = dir.join("walks");
    let built = Command::new(cxx)
        .current_dir(&dir)
        .args([
            "-std=c++17",
            "-O0",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-Wno-unused-function",
            "-Wno-unknown-pragmas",
            "-o",
        ])
        .arg(&exe)
        .arg("main.cpp")
        .output()
        .unwrap();
    assert!(built.status.success(), "{}", String::from_utf8_lossy(&built.stderr));
    let ran = Command::new(&exe).output().unwrap();
    assert!(ran.status.success());
    let text = String::from_utf8(ran.stdout).unwrap();
    std::fs::remove_dir_all(&dir).ok();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), walks.len());
    walks
        .iter()
        .zip(lines)
        .map(|(walk, line)| {
            let words: Vec<u32> = line.split_whitespace().map(|w| w.parse().unwrap()).collect();
            walk.decode(&words)
        })
        .collect()
}

fn walks(name: &str) -> Vec<Walk> {
    let instance = model::builtin(name).unwrap().instantiate(&[]).unwrap();
    let auto = smemplan::plan::plan_kernel(&instance, &PlanOptions::default()).unwrap();
    let cubie = smemplan::plan::cubie_kernel(&instance).unwrap();
    let skewed = SharedLayout::ThreadMajor(Padding::Skew(cubie.footprint.skew_bytes));
    let cubie_alloc = Allocation::new(&cubie.report, skewed).unwrap();
    vec![
        Walk::new("auto", &auto, Allocation::new(&auto, SharedLayout::default()).unwrap()).unwrap(),
        Walk::new("auto interleaved", &auto, Allocation::new(&auto, SharedLayout::Interleaved).unwrap()).unwrap(),
        Walk::new("cubie", &cubie.report, cubie_alloc).unwrap(),
    ]
}

#[test]
fn every_builtin_layout_walks_clean_and_a_planted_overlap_is_caught() {
    let Some(cxx) = cxx::compiler("every_builtin_layout_walks_clean_and_a_planted_overlap_is_caught") else {
        return;
    };
    let mut all = Vec::new();
    let mut planted = Vec::new();
    for name in model::builtin_names() {
        for walk in walks(name) {
            if let Some((bad, p)) = walk.plant_overlap() {
                planted.push((all.len(), p));
                all.push(bad);
            }
            all.push(walk);
        }
    }
    assert!(!planted.is_empty(), "no layout had two buffers live together");
    let results = emulate(&cxx, &all, 3);
    for (k, (walk, (clobbers, count))) in all.iter().zip(&results).enumerate() {
        match planted.iter().find(|(i, _)| *i == k) {
            None => assert_eq!(*count, 0, "[{}]: {clobbers:?}", walk.label),
            Some((_, p)) => {
                assert!(*count > 0, "[{}]: planted overlap not caught", walk.label);
                let names = |c: &integrity::Clobber| {
                    [c.buffer.as_str(), c.written_by.as_deref().unwrap_or("")].contains(&p.moved.as_str())
                };
                assert!(clobbers.iter().any(names), "[{}]: {clobbers:?}", walk.label);
            }
        }
    }
}
