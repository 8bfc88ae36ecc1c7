//! The harness of the binary's tests (`tests/cli.rs`, `tests/plan_cli.rs`):
//! run `smemplan` as a user runs it and look at what it left behind.
//! Included with `#[path]` so that every test binary uses all of it.

use std::path::{Path, PathBuf};

include!("run.rs");

pub fn smemplan<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Run {
    run_binary(env!("CARGO_BIN_EXE_smemplan"), args)
}

/// A path relative to the crate root (the data the repository carries).
pub fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// A fresh, empty directory for one test.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("smemplan-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}
