//! One number, one rule: a launch's dynamic shared bytes are the same in
//! `plan --json` and in the header `plan --cuda` writes, also when nothing
//! is in shared memory (0, not CuBIE's 4-byte floor), and the header's
//! sizing helper is callable from host code.

use std::process::Command;

fn plan(sets: &[&str], header: &std::path::Path) -> serde_json::Value {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_smemplan"));
    cmd.args(["plan", "--model", "erk", "--json", "--cuda"]).arg(header);
    for s in sets {
        match s.strip_prefix("--runs=") {
            Some(runs) => cmd.args(["--runs", runs]),
            None => cmd.args(["--set", s]),
        };
    }
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn header_number(text: &str, name: &str) -> u64 {
    let line = text.lines().find(|l| l.contains(&format!(" {name} = "))).unwrap_or_else(|| panic!("no {name}"));
    line.rsplit(" = ").next().unwrap().trim_end_matches("ULL;").parse().unwrap()
}

#[test]
fn json_and_header_agree_on_the_blocks_shared_bytes() {
    let dir = std::env::temp_dir().join(format!("smemplan-shared-rule-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // A batch smaller than the block: both count the runs the block holds.
    for (loc, nothing_shared, runs) in
        [("loc=local", true, "--runs=4096"), ("loc=shared", false, "--runs=4096"), ("loc=shared", false, "--runs=3")]
    {
        let path = dir.join("layout.cuh");
        let json = plan(&[loc, runs], &path);
        let header = std::fs::read_to_string(&path).unwrap();
        let o = &json["optimized"];
        let bytes = o["dynamic_shared_bytes"].as_u64().unwrap();
        assert_eq!(bytes, header_number(&header, "shared_bytes_for_block_size"), "{loc}");
        assert_eq!(o["block_size"].as_u64().unwrap(), header_number(&header, "block_size"), "{loc}");
        assert_eq!(bytes == 0, nothing_shared, "{loc}: {bytes}");
        if runs == "--runs=3" {
            assert_eq!(bytes, 3 * o["padded_shared_bytes"].as_u64().unwrap(), "three runs' strides");
        }
        assert!(
            header.contains("__host__ __device__ __forceinline__ constexpr unsigned long long shared_bytes_per_block(")
        );
    }
    std::fs::remove_dir_all(dir).ok();
}
