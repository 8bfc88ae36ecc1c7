//! The repository stands alone: no file it carries (outside `.ci/`) names
//! the reference folder that sits beside the developers' checkout, since a
//! user's clone has no such sibling. Walks the tree rather than asking git,
//! so that it also holds in an unpacked source archive.

use std::path::{Path, PathBuf};

/// Directories that are built, fetched or private to one machine.
const SKIP: &[&str] = &["target", ".git", ".ci"];

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if SKIP.contains(&name.as_str()) || (name.starts_with('.') && path.is_dir()) {
            continue;
        }
        if path.is_dir() {
            files(&path, out);
        } else {
            out.push(path);
        }
    }
}

#[test]
fn no_file_names_the_sibling_reference_folder() {
    // Spelled in two halves so that this file does not match itself.
    let needle = ["..", "/shared"].concat();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut all = Vec::new();
    files(root, &mut all);
    assert!(all.len() > 100, "the walk found the repository: {} files", all.len());
    let offenders: Vec<String> = all
        .iter()
        .filter(|p| std::fs::read(p).is_ok_and(|bytes| String::from_utf8_lossy(&bytes).contains(&needle)))
        .map(|p| p.strip_prefix(root).unwrap().display().to_string())
        .collect();
    assert!(offenders.is_empty(), "files naming {needle}: {offenders:?}");
}

#[test]
fn the_carried_data_is_there() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for name in "ABCDEFGHIJK".chars() {
        let path = root.join(format!("benches/data/minimalloc-challenging/{name}.1048576.csv"));
        assert!(path.is_file(), "{} missing", path.display());
    }
    let dumps = std::fs::read_dir(root.join("tests/data/cubie-reference"))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "json"))
        .count();
    assert_eq!(dumps, 375, "CuBIE 0.17.0 reference dumps");
}
