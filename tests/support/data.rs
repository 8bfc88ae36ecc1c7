//! The data the repository carries for tests (`tests/data/`, `benches/data/`),
//! which tests may read and the binary never does. Included with `#[path]`.

use std::path::{Path, PathBuf};

/// The files in `<crate root>/<folder>` whose extension is `ext`, sorted.
pub fn data_files(folder: &str, ext: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(folder);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == ext))
        .collect();
    files.sort();
    files
}
