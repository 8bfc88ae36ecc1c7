//! The docs name only files that exist: every repository path in backticks
//! (`src/…`, `docs/…`, `tests/…`, `benches/…`, `models/…`, `examples/…`)
//! in the README, in `docs/` and in the sources' comments must be there, so
//! that a file moved or split without its docs fails here. A glob
//! (`models/*.toml`) must match its folder.

use std::path::{Path, PathBuf};

const ROOTS: [&str; 6] = ["src/", "docs/", "tests/", "benches/", "models/", "examples/"];

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("a readable folder") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            files(&path, out);
        } else if path.extension().is_some_and(|e| e == "md" || e == "rs") {
            out.push(path);
        }
    }
}

/// The repository paths quoted in `text`, with their line numbers.
fn quoted_paths(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        for (i, span) in line.split('`').enumerate() {
            let path_like = span.chars().all(|c| c.is_ascii_alphanumeric() || "_-./*".contains(c));
            if i % 2 == 1 && path_like && ROOTS.iter().any(|r| span.starts_with(r)) {
                out.push((n + 1, span));
            }
        }
    }
    out
}

#[test]
fn every_quoted_path_exists() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut sources = vec![root.join("README.md")];
    for dir in ["docs", "src", "tests", "benches", "examples"] {
        files(&root.join(dir), &mut sources);
    }
    let mut missing = Vec::new();
    for file in &sources {
        let text = std::fs::read_to_string(file).expect("readable");
        for (line, path) in quoted_paths(&text) {
            let existing = path.split('*').next().unwrap_or(path);
            if !root.join(existing).exists() {
                missing.push(format!("{}:{line}: `{path}`", file.strip_prefix(root).unwrap().display()));
            }
        }
    }
    assert!(missing.is_empty(), "paths named but absent:\n{}", missing.join("\n"));
}

#[test]
fn paths_are_found_in_backticks_only() {
    let text = "see `src/plan/lib.rs` and `models/*.toml`, not src/x.rs\nor `cargo test` or `src/a b`";
    assert_eq!(quoted_paths(text), [(1, "src/plan/lib.rs"), (1, "models/*.toml")]);
}
