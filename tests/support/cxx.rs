//! The system C++ compiler for tests that compile generated headers
//! (`$CXX`, then g++, c++, clang++).
//!
//! A compile test that passes without compiling checks nothing, so a missing
//! compiler fails the test. `SMEMPLAN_SKIP_CXX=1` skips these tests on
//! purpose, and says so on stderr.

use std::process::Command;

/// The compiler to use, or `None` (announced on stderr) when the caller
/// `test` is to skip because `SMEMPLAN_SKIP_CXX` is set.
pub fn compiler(test: &str) -> Option<String> {
    if std::env::var_os("SMEMPLAN_SKIP_CXX").is_some_and(|v| !v.is_empty() && v != "0") {
        eprintln!("{test}: SKIPPED, SMEMPLAN_SKIP_CXX is set: no generated C++ was compiled");
        return None;
    }
    let candidates = std::env::var("CXX").ok().into_iter().chain(["g++", "c++", "clang++"].map(String::from));
    let found =
        candidates.into_iter().find(|c| Command::new(c).arg("--version").output().is_ok_and(|o| o.status.success()));
    assert!(
        found.is_some(),
        "{test}: no C++ compiler found (tried $CXX, g++, c++, clang++); install one, or set SMEMPLAN_SKIP_CXX=1 to skip"
    );
    found
}
