//! The commit journal: how the outputs of a run killed while renaming them
//! into place are put back as they were.
//!
//! SIGKILL (or a power cut) cannot be caught, and renaming several files is
//! not one atomic step: a run killed between two renames leaves one output
//! replaced and the other not. So before its first rename a commit writes a
//! journal, `.smemplan-PID-N.journal`, into the directory of every output,
//! naming each output's target, its staged temporary and the backup (a hard
//! link) of the file it replaces, if there was one. The journal is removed
//! once every rename is done; that removal is the commit point.
//!
//! A later run that writes into one of those directories finds the journal
//! of a process that no longer runs and rolls the commit back
//! ([`recover`]): a target whose temporary is gone was replaced, so its
//! backup goes back (or, where there was no file before, the new one is
//! removed); a temporary still there was never renamed, and is removed. It
//! says so on stderr. Until such a run, the directory holds the mixed state
//! and the journal that explains it.
//!
//! Limits: the journal is written only when every path is valid UTF-8 (it
//! is JSON); a recovery killed half-way and then overtaken by a new file of
//! the same name at a target that had no file before could remove that new
//! file.

use super::temporaries;
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// What a commit is about to do.
#[derive(Debug, Serialize, Deserialize)]
pub struct Journal {
    /// Every copy of this journal (one per directory of the outputs).
    pub copies: Vec<PathBuf>,
    /// The outputs, in commit order.
    pub entries: Vec<Entry>,
}

/// One output of a commit.
#[derive(Debug, Serialize, Deserialize)]
pub struct Entry {
    /// The file replaced.
    pub target: PathBuf,
    /// The staged contents, renamed over `target`.
    pub temp: PathBuf,
    /// A hard link to the file `target` named before, if there was one.
    pub backup: Option<PathBuf>,
}

impl Journal {
    /// Writes every copy, each synced to disk. `Ok(false)` when a path is
    /// not UTF-8 (the commit goes on without a journal); an error when a
    /// copy cannot be written (the copies written are removed again).
    pub fn write(&self) -> Result<bool> {
        if !self.all_paths().all(|p| p.to_str().is_some()) {
            return Ok(false);
        }
        let text = serde_json::to_string(self)?;
        for (i, copy) in self.copies.iter().enumerate() {
            let written = fs::File::create_new(copy).and_then(|mut f| {
                f.write_all(text.as_bytes())?;
                f.sync_all()
            });
            if let Err(err) = written {
                for earlier in &self.copies[..=i] {
                    let _ = fs::remove_file(earlier);
                }
                return Err(anyhow::Error::new(err).context(format!("cannot write `{}`", copy.display())));
            }
        }
        Ok(true)
    }

    /// Removes every copy: the commit is done (or undone).
    pub fn remove(&self) {
        for copy in &self.copies {
            let _ = fs::remove_file(copy);
        }
    }

    fn all_paths(&self) -> impl Iterator<Item = &Path> {
        self.copies.iter().map(PathBuf::as_path).chain(self.entries.iter().flat_map(|e| {
            [Some(&e.target), Some(&e.temp), e.backup.as_ref()].into_iter().flatten().map(PathBuf::as_path)
        }))
    }
}

/// Rolls back the commits of dead processes whose journals lie in `dir`,
/// saying on stderr which outputs were restored. Best effort: a journal
/// that cannot be read is reported and left in place.
pub fn recover(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(temporaries::journal_pid) else { continue };
        if !temporaries::is_dead(pid) {
            continue;
        }
        let path = entry.path();
        match read(&path).and_then(|journal| roll_back(&journal)) {
            Ok(restored) if restored.is_empty() => {
                eprintln!("smemplan: run {pid} was killed before replacing any output; its temporaries are removed")
            }
            Ok(restored) => eprintln!(
                "smemplan: run {pid} was killed while committing its outputs; put back as they were: {}",
                restored.join(", ")
            ),
            Err(err) => {
                eprintln!("smemplan: `{}` (left by run {pid}, killed while committing): {err:#}", path.display())
            }
        }
    }
}

fn read(path: &Path) -> Result<Journal> {
    let text = fs::read_to_string(path).with_context(|| format!("cannot read `{}`", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("`{}` is not a commit journal", path.display()))
}

/// Undoes what the journal's commit did, removes its temporaries, backups
/// and copies; the targets, as they were before it.
fn roll_back(journal: &Journal) -> Result<Vec<String>> {
    let mut restored = Vec::new();
    for e in &journal.entries {
        if fs::symlink_metadata(&e.temp).is_ok() {
            // Never renamed: the target is as it was.
            fs::remove_file(&e.temp).with_context(|| format!("cannot remove `{}`", e.temp.display()))?;
            if let Some(b) = &e.backup {
                let _ = fs::remove_file(b);
            }
            continue;
        }
        match &e.backup {
            Some(b) if fs::symlink_metadata(b).is_ok() => {
                fs::rename(b, &e.target).with_context(|| format!("cannot restore `{}`", e.target.display()))?
            }
            // Restored by an earlier, interrupted recovery.
            Some(_) => {}
            None => match fs::remove_file(&e.target) {
                Err(err) if err.kind() != std::io::ErrorKind::NotFound => {
                    return Err(anyhow::Error::new(err).context(format!("cannot remove `{}`", e.target.display())));
                }
                _ => {}
            },
        }
        restored.push(e.target.display().to_string());
    }
    journal.remove();
    Ok(restored)
}
