//! The system C++ compiler for tests that compile generated headers
//! (`$CXX`, then g++, c++, clang++); `None` when there is none, and the
//! test then skips with a message.

use std::process::Command;

pub fn compiler() -> Option<String> {
    let candidates = std::env::var("CXX").ok().into_iter().chain(["g++", "c++", "clang++"].map(String::from));
    candidates.into_iter().find(|c| Command::new(c).arg("--version").output().is_ok_and(|o| o.status.success()))
}
