//! With the `gpu` feature: a `libcuda.so` and `libnvrtc.so` that load but
//! lack the functions cudarc looks up make `verify`, `measure` and
//! `--compile-only` fail with one line and exit 2, not a panic (exit 101).
//! Needs a C compiler to build the stand-in libraries; skipped without one.
#![cfg(feature = "gpu")]

use std::process::Command;

#[test]
fn libraries_without_the_functions_fail_with_one_line() {
    let dir = std::env::temp_dir().join(format!("smemplan-lab-{}-fake-cuda", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let source = dir.join("c.c");
    std::fs::write(&source, "int smemplan_nothing(void) { return 0; }\n").unwrap();
    let lib = dir.join("libcuda.so");
    let built = Command::new("cc").arg("-shared").arg("-fPIC").arg("-o").arg(&lib).arg(&source).status();
    if !built.is_ok_and(|s| s.success()) {
        eprintln!("skipped: no C compiler to build a stand-in libcuda.so");
        return;
    }
    std::fs::copy(&lib, dir.join("libnvrtc.so")).unwrap();
    for args in [&["measure"][..], &["measure", "--compile-only", "sm_90"], &["verify", "--compile-only", "sm_90"]] {
        let out = Command::new(env!("CARGO_BIN_EXE_smemplan-lab"))
            .args(args)
            .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
            .env("LD_LIBRARY_PATH", &dir)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_ne!(out.status.code(), Some(101), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        if out.status.code() == Some(2) {
            assert_eq!(stderr.trim_end().lines().count(), 1, "{args:?}: {stderr}");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
