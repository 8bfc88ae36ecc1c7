//! `smemplan sweep --verify`: the GPU lab is a separate binary the planner
//! runs, never links. Without it (or without a card) the command fails with
//! one clear line and exit 2, and writes nothing it was not asked to.

// The shared harness; this file uses part of it.
#[allow(dead_code)]
#[path = "support/cli.rs"]
mod harness;

use harness::smemplan;

#[test]
fn a_missing_lab_is_named_before_the_sweep_runs() {
    let dir = std::env::temp_dir().join(format!("smemplan-sweep-verify-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // A copy of the planner alone in a folder, with no lab on PATH.
    let alone = dir.join(format!("smemplan{}", std::env::consts::EXE_SUFFIX));
    std::fs::copy(env!("CARGO_BIN_EXE_smemplan"), &alone).unwrap();
    let (rows, measured) = (dir.join("rows.csv"), dir.join("measured.csv"));
    let run = || {
        std::process::Command::new(&alone)
            .args(["sweep", "--set", "n=3", "--csv"])
            .arg(&rows)
            .arg("--verify")
            .arg(&measured)
            .env("PATH", dir.join("empty"))
            .output()
    };
    // A test thread that spawns while the copy is open for writing lends
    // the child that descriptor for a moment (ETXTBSY): try again.
    let mut out = run();
    for _ in 0..100 {
        match &out {
            Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy => {
                std::thread::sleep(std::time::Duration::from_millis(20));
                out = run();
            }
            _ => break,
        }
    }
    let out = out.unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("`smemplan-lab`") && stderr.contains("--features gpu"), "{stderr}");
    assert!(!rows.exists() && !measured.exists(), "nothing written");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn verify_needs_the_rows_in_a_file_of_their_own() {
    let run = smemplan(&["sweep", "--set", "n=3", "--verify", "m.csv"]).expect(2);
    assert!(run.stderr.contains("--csv"), "{}", run.stderr);
    let run = smemplan(&["sweep", "--set", "n=3", "--csv", "same.csv", "--verify", "same.csv"]).expect(2);
    assert!(run.stderr.contains("both name `same.csv`"), "{}", run.stderr);
    assert!(!std::path::Path::new("same.csv").exists());
}
