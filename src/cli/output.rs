//! Writing results: files replaced atomically, and plain-text tables.
//!
//! Files go through [`Staged`]: each output is first written in full to a
//! temporary file next to its target (same directory, so the final rename
//! stays on one file system and is atomic), and only when every output of
//! the run is ready are they renamed over their targets. A run that fails
//! before [`Staged::commit`] leaves every target untouched, and its
//! temporary files are removed when the [`Staged`] is dropped.

use anyhow::{Context, Result};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Outputs written to temporary files, waiting to replace their targets.
#[derive(Default)]
pub struct Staged {
    /// `(temporary, target)` pairs, in the order they were added.
    files: Vec<(PathBuf, PathBuf)>,
}

impl Staged {
    /// Writes `contents` to a temporary sibling of `target`.
    pub fn add(&mut self, target: &Path, contents: &str) -> Result<()> {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let name = target
            .file_name()
            .with_context(|| format!("`{}` does not name a file", target.display()))?
            .to_string_lossy();
        let dir = match target.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let temp = dir.join(format!(".{name}.smemplan-{}-{n}.tmp", std::process::id()));
        let mut file = fs::File::create_new(&temp).with_context(|| {
            format!("cannot create a temporary file in `{}` for `{}`", dir.display(), target.display())
        })?;
        // Registered before writing, so a failed write is cleaned up too.
        self.files.push((temp.clone(), target.to_path_buf()));
        file.write_all(contents.as_bytes())
            .and_then(|()| file.sync_all())
            .with_context(|| format!("cannot write `{}`", temp.display()))
    }

    /// Renames every temporary file over its target.
    pub fn commit(mut self) -> Result<()> {
        while !self.files.is_empty() {
            let (temp, target) = &self.files[0];
            fs::rename(temp, target).with_context(|| format!("cannot replace `{}`", target.display()))?;
            self.files.remove(0);
        }
        Ok(())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        for (temp, _) in &self.files {
            // Best effort: the run is already failing with a better message.
            let _ = fs::remove_file(temp);
        }
    }
}

/// Formats rows as columns separated by two spaces, padding each cell to its
/// column's width; `numeric[c]` right-aligns column `c`.
pub fn table(rows: &[Vec<String>], numeric: &[bool]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| rows.iter().filter_map(|r| r.get(c)).map(|s| s.chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            if c > 0 {
                line.push_str("  ");
            }
            let pad = widths[c] - cell.chars().count();
            if numeric.get(c).copied().unwrap_or(false) {
                line.push_str(&" ".repeat(pad));
                line.push_str(cell);
            } else {
                line.push_str(cell);
                line.push_str(&" ".repeat(pad));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("smemplan-output-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> =
            fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        names.sort();
        names
    }

    #[test]
    fn nothing_changes_until_commit() {
        let dir = scratch("commit");
        let target = dir.join("out.csv");
        fs::write(&target, "old").unwrap();
        let mut staged = Staged::default();
        staged.add(&target, "new").unwrap();
        assert_eq!(fs::read_to_string(&target).unwrap(), "old");
        staged.commit().unwrap();
        assert_eq!(fs::read_to_string(&target).unwrap(), "new");
        assert_eq!(entries(&dir), vec!["out.csv"]);
    }

    #[test]
    fn dropping_removes_temporaries_and_keeps_targets() {
        let dir = scratch("drop");
        let target = dir.join("out.csv");
        fs::write(&target, "old").unwrap();
        let mut staged = Staged::default();
        staged.add(&target, "new").unwrap();
        drop(staged);
        assert_eq!(fs::read_to_string(&target).unwrap(), "old");
        assert_eq!(entries(&dir), vec!["out.csv"]);
    }

    #[test]
    fn a_missing_directory_is_an_error_naming_the_target() {
        let dir = scratch("missing");
        let err = Staged::default().add(&dir.join("no/such/dir/out.csv"), "x").unwrap_err();
        assert!(format!("{err:#}").contains("out.csv"), "{err:#}");
    }

    #[test]
    fn table_pads_and_aligns() {
        let rows = vec![vec!["name".to_string(), "n".to_string()], vec!["a".to_string(), "100".to_string()]];
        assert_eq!(table(&rows, &[false, true]), "name    n\na     100\n");
    }
}
