//! The harness of the lab binary's tests: run `smemplan-lab` as a user runs
//! it, from the repository's root (where the data it reads lives).

use std::path::{Path, PathBuf};

include!("../../../tests/support/run.rs");

pub fn lab<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Run {
    run_binary(env!("CARGO_BIN_EXE_smemplan-lab"), args)
}

/// A path relative to the repository's root (the data it carries).
pub fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path)
}
