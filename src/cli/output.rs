//! Writing results: all outputs of a run or none, and plain-text tables.
//!
//! Files go through [`Staged`] in three steps:
//!
//! 1. [`Staged::reserve`], before any work: every destination is checked (it
//!    names a file, not a directory; its directory exists; no two flags name
//!    the same file) and an empty temporary is created beside each target
//!    (same directory, so the final rename stays on one file system and is
//!    atomic; creating it proves the directory writable).
//! 2. [`Staged::write`] fills a temporary.
//! 3. [`Staged::commit`] keeps a hard-linked backup of each file it will
//!    replace, writes a journal naming them (see [`super::journal`]), then
//!    renames every temporary over its target; when a rename fails, the
//!    files already replaced get their backups back, so the targets end as
//!    they were.
//!
//! A run that fails before committing leaves every target untouched; its
//! temporaries are removed when the [`Staged`] is dropped, or by a signal
//! handler when the run is interrupted (see [`super::temporaries`]). A run
//! killed outright while renaming leaves its journal, and the next run
//! writing into that directory rolls the commit back.

use super::journal::{self, Entry as JournalEntry, Journal};
use super::temporaries::{self, Registration};
pub use smemplan::core::format::table::table;
use anyhow::{bail, Context, Result};
use std::ffi::OsString;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Outputs reserved as temporary files, waiting to replace their targets.
#[derive(Default)]
pub struct Staged {
    entries: Vec<Entry>,
}

/// One output.
struct Entry {
    /// The path as the user gave it (the key of [`Staged::write`]).
    requested: PathBuf,
    /// The file that will be replaced (symbolic links followed).
    target: PathBuf,
    temp: PathBuf,
    /// Open until written.
    file: Option<fs::File>,
    _registration: Registration,
}

/// Where a destination leads, for checking that two flags differ.
struct Resolved {
    dir: PathBuf,
    name: OsString,
    /// `(device, inode)` of an existing target, to catch hard links.
    #[cfg(unix)]
    inode: Option<(u64, u64)>,
}

impl Resolved {
    fn same_file(&self, other: &Resolved) -> bool {
        #[cfg(unix)]
        if self.inode.is_some() && self.inode == other.inode {
            return true;
        }
        self.dir == other.dir && self.name == other.name
    }

    fn target(&self) -> PathBuf {
        self.dir.join(&self.name)
    }
}

/// Checks one destination: a file (existing or not) in an existing
/// directory.
fn resolve(flag: &str, path: &Path) -> Result<Resolved> {
    let shown = path.display();
    // Follow a symbolic link: the file it points to is the one replaced.
    let path = match fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => {
            fs::canonicalize(path).with_context(|| format!("{flag} `{shown}` is a symbolic link to a missing place"))?
        }
        _ => path.to_path_buf(),
    };
    let Some(name) = path.file_name() else {
        bail!("{flag} `{shown}` does not name a file");
    };
    match fs::metadata(&path) {
        Ok(m) if m.is_dir() => bail!("{flag} `{shown}` is a directory; name a file"),
        Ok(m) if !m.is_file() => bail!("{flag} `{shown}` is not a regular file"),
        _ => {}
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    match fs::metadata(dir) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => bail!("{flag} `{shown}`: `{}` is not a directory", dir.display()),
        Err(_) => bail!("{flag} `{shown}`: the directory `{}` does not exist", dir.display()),
    }
    let dir = fs::canonicalize(dir).with_context(|| format!("{flag} `{shown}`: cannot resolve `{}`", dir.display()))?;
    #[cfg(unix)]
    let inode = {
        use std::os::unix::fs::MetadataExt;
        fs::metadata(&path).ok().map(|m| (m.dev(), m.ino()))
    };
    Ok(Resolved {
        dir,
        name: name.to_os_string(),
        #[cfg(unix)]
        inode,
    })
}

/// A fresh temporary path beside `target`.
fn temporary(target: &Path) -> PathBuf {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let dir = target.parent().unwrap_or(Path::new("."));
    dir.join(temporaries::name(&name, COUNTER.fetch_add(1, Ordering::Relaxed)))
}

impl Staged {
    /// Checks every `(flag, path)` destination, then creates an empty
    /// temporary beside each target. Nothing is written when any check
    /// fails. Leftover temporaries of killed runs in those directories are
    /// removed on the way.
    pub fn reserve(outputs: &[(&str, &Path)]) -> Result<Staged> {
        let mut resolved: Vec<(&str, &Path, Resolved)> = Vec::with_capacity(outputs.len());
        for &(flag, path) in outputs {
            let r = resolve(flag, path)?;
            if let Some((other, _, _)) = resolved.iter().find(|(_, _, o)| o.same_file(&r)) {
                bail!("{other} and {flag} both name `{}`; give each output its own file", path.display());
            }
            resolved.push((flag, path, r));
        }
        let mut staged = Staged::default();
        for (i, (flag, path, r)) in resolved.iter().enumerate() {
            if !resolved[..i].iter().any(|(_, _, o)| o.dir == r.dir) {
                journal::recover(&r.dir);
                temporaries::remove_stale(&r.dir);
            }
            let target = r.target();
            let temp = temporary(&target);
            let registration = temporaries::register(&temp);
            let file = fs::File::create_new(&temp).with_context(|| {
                format!("{flag} `{}`: cannot create a file in `{}`", path.display(), r.dir.display())
            })?;
            staged.entries.push(Entry {
                requested: path.to_path_buf(),
                target,
                temp,
                file: Some(file),
                _registration: registration,
            });
        }
        Ok(staged)
    }

    /// Writes `contents` as the output reserved for `path`.
    pub fn write(&mut self, path: &Path, contents: &str) -> Result<()> {
        let entry = self
            .entries
            .iter_mut()
            .find(|e| e.requested == path)
            .with_context(|| format!("internal error: no output reserved for `{}`", path.display()))?;
        let mut file =
            entry.file.take().with_context(|| format!("internal error: `{}` written twice", path.display()))?;
        file.write_all(contents.as_bytes())
            .and_then(|()| file.sync_all())
            .with_context(|| format!("cannot write `{}`", entry.temp.display()))
    }

    /// Renames every temporary over its target: all of them, or, when one
    /// fails, none (the files already replaced are restored). Interrupting
    /// signals wait until this is done.
    pub fn commit(mut self) -> Result<()> {
        if let Some(e) = self.entries.iter().find(|e| e.file.is_some()) {
            bail!("internal error: `{}` was reserved but never written", e.requested.display());
        }
        temporaries::hold_signals(|| self.replace_all())
    }

    fn replace_all(&mut self) -> Result<()> {
        // Every backup first, then the journal naming them, then the
        // renames: a run killed at any point can be rolled back (see
        // `journal`).
        let mut backups: Vec<Option<(PathBuf, Registration)>> = Vec::with_capacity(self.entries.len());
        for e in &self.entries {
            match backup(&e.target) {
                Ok(b) => backups.push(b),
                Err(err) => {
                    remove_backups(&backups);
                    return Err(err.context("no output was written"));
                }
            }
        }
        let journal = self.journal(&backups);
        if let Err(err) = journal.write() {
            remove_backups(&backups);
            return Err(err.context("no output was written"));
        }
        let mut done = 0;
        let mut failure = None;
        for e in &self.entries {
            if let Err(err) = fs::rename(&e.temp, &e.target) {
                failure = Some(anyhow::Error::new(err).context(format!("cannot replace `{}`", e.target.display())));
                break;
            }
            done += 1;
        }
        let Some(failure) = failure else {
            journal.remove();
            remove_backups(&backups);
            self.entries.clear();
            return Ok(());
        };
        // Undo in reverse, so that each target ends as it was.
        let mut unrestored = Vec::new();
        for (e, b) in self.entries[..done].iter().zip(&backups).rev() {
            let restored = match b {
                Some((b, _)) => fs::rename(b, &e.target),
                None => fs::remove_file(&e.target),
            };
            if restored.is_err() {
                unrestored.push(e.target.display().to_string());
            }
        }
        remove_backups(&backups[done..]);
        if unrestored.is_empty() {
            journal.remove();
            Err(failure.context("no output was written"))
        } else {
            // The journal stays: a later run retries the rollback.
            Err(failure.context(format!("and could not restore {}", unrestored.join(", "))))
        }
    }

    /// The journal of this commit: one copy in each directory written to.
    fn journal(&self, backups: &[Option<(PathBuf, Registration)>]) -> Journal {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let name = temporaries::journal_name(COUNTER.fetch_add(1, Ordering::Relaxed));
        let mut copies: Vec<PathBuf> = Vec::new();
        for e in &self.entries {
            let copy = e.target.parent().unwrap_or(Path::new(".")).join(&name);
            if !copies.contains(&copy) {
                copies.push(copy);
            }
        }
        let entries = self
            .entries
            .iter()
            .zip(backups)
            .map(|(e, b)| JournalEntry {
                target: e.target.clone(),
                temp: e.temp.clone(),
                backup: b.as_ref().map(|(p, _)| p.clone()),
            })
            .collect();
        Journal { copies, entries }
    }
}

/// Removes the backups of a commit that is done or undone.
fn remove_backups(backups: &[Option<(PathBuf, Registration)>]) {
    for (b, _) in backups.iter().flatten() {
        let _ = fs::remove_file(b);
    }
}

/// A hard link (or, where links are not possible, a copy) of `target` if it
/// exists, to put back should the commit fail or be killed.
fn backup(target: &Path) -> Result<Option<(PathBuf, Registration)>> {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    if fs::symlink_metadata(target).is_err() {
        return Ok(None);
    }
    let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let dir = target.parent().unwrap_or(Path::new("."));
    let path = dir.join(temporaries::backup_name(&name, COUNTER.fetch_add(1, Ordering::Relaxed)));
    let registration = temporaries::register(&path);
    if fs::hard_link(target, &path).is_err() {
        if let Err(err) = fs::copy(target, &path) {
            let _ = fs::remove_file(&path);
            return Err(anyhow::Error::new(err).context(format!("cannot keep a copy of `{}`", target.display())));
        }
    }
    Ok(Some((path, registration)))
}

impl Drop for Staged {
    fn drop(&mut self) {
        for e in &self.entries {
            // Best effort: the run is already failing with a better message.
            let _ = fs::remove_file(&e.temp);
        }
    }
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

    fn stage(outputs: &[(&str, &Path, &str)]) -> Result<Staged> {
        let flags: Vec<(&str, &Path)> = outputs.iter().map(|&(f, p, _)| (f, p)).collect();
        let mut staged = Staged::reserve(&flags)?;
        for &(_, path, contents) in outputs {
            staged.write(path, contents)?;
        }
        Ok(staged)
    }

    #[test]
    fn nothing_changes_until_commit() {
        let dir = scratch("commit");
        let (a, b) = (dir.join("out.csv"), dir.join("out.svg"));
        fs::write(&a, "old").unwrap();
        let staged = stage(&[("--out", &a, "new"), ("--svg", &b, "<svg/>")]).unwrap();
        assert_eq!(fs::read_to_string(&a).unwrap(), "old");
        assert!(!b.exists());
        staged.commit().unwrap();
        assert_eq!(fs::read_to_string(&a).unwrap(), "new");
        assert_eq!(fs::read_to_string(&b).unwrap(), "<svg/>");
        assert_eq!(entries(&dir), vec!["out.csv", "out.svg"]);
    }

    #[test]
    fn dropping_removes_temporaries_and_keeps_targets() {
        let dir = scratch("drop");
        let target = dir.join("out.csv");
        fs::write(&target, "old").unwrap();
        let staged = stage(&[("--out", &target, "new")]).unwrap();
        assert_eq!(entries(&dir).len(), 2, "the temporary exists while staged");
        drop(staged);
        assert_eq!(fs::read_to_string(&target).unwrap(), "old");
        assert_eq!(entries(&dir), vec!["out.csv"]);
    }

    #[test]
    fn bad_destinations_are_refused_before_anything_is_created() {
        let dir = scratch("refused");
        let out = dir.join("out.csv");
        fs::write(&out, "old").unwrap();
        fs::create_dir(dir.join("sub")).unwrap();
        let alias = dir.join("sub/../out.csv");
        let cases: [(&Path, &str); 4] = [
            (&dir.join("sub"), "is a directory"),
            (&dir.join("no/such/dir/out.svg"), "does not exist"),
            (&alias, "--out and --svg both name"),
            (&out, "--out and --svg both name"),
        ];
        for (svg, want) in cases {
            let err = Staged::reserve(&[("--out", &out), ("--svg", svg)]).err().unwrap();
            assert!(format!("{err:#}").contains(want), "{}: {err:#}", svg.display());
            assert_eq!(entries(&dir), vec!["out.csv", "sub"]);
            assert_eq!(fs::read_to_string(&out).unwrap(), "old");
        }
    }

    #[cfg(unix)]
    #[test]
    fn links_to_one_file_are_the_same_destination() {
        let dir = scratch("links");
        let out = dir.join("out.csv");
        fs::write(&out, "old").unwrap();
        std::os::unix::fs::symlink(&out, dir.join("soft")).unwrap();
        fs::hard_link(&out, dir.join("hard")).unwrap();
        for other in ["soft", "hard"] {
            let err = Staged::reserve(&[("--out", &out), ("--svg", &dir.join(other))]).err().unwrap();
            assert!(format!("{err:#}").contains("both name"), "{other}: {err:#}");
        }
        // Through a symbolic link, the file it points to is replaced.
        stage(&[("--out", &dir.join("soft"), "new")]).unwrap().commit().unwrap();
        assert_eq!(fs::read_to_string(&out).unwrap(), "new");
        assert!(fs::symlink_metadata(dir.join("soft")).unwrap().file_type().is_symlink());
    }

    #[test]
    fn a_failed_rename_restores_the_files_already_replaced() {
        let dir = scratch("rollback");
        let (kept, created, blocked) = (dir.join("a.csv"), dir.join("b.cuh"), dir.join("c.svg"));
        fs::write(&kept, "old").unwrap();
        let staged =
            stage(&[("--out", &kept, "new"), ("--cuda", &created, "h"), ("--svg", &blocked, "<svg/>")]).unwrap();
        // The last target turns into a directory after the checks.
        fs::create_dir(&blocked).unwrap();
        let err = staged.commit().unwrap_err();
        assert!(
            format!("{err:#}").contains("c.svg") && format!("{err:#}").contains("no output was written"),
            "{err:#}"
        );
        assert_eq!(fs::read_to_string(&kept).unwrap(), "old");
        assert!(!created.exists());
        assert_eq!(entries(&dir), vec!["a.csv", "c.svg"]);
    }

    /// The state a commit of `a.csv` then `b.csv` leaves when SIGKILL
    /// strikes between the two renames, by a process that no longer runs
    /// (PIDs above the kernel's maximum, 2^22, never run).
    fn killed_between_renames(dir: &Path, a_existed: bool) -> (PathBuf, PathBuf) {
        let (a, b) = (dir.join("a.csv"), dir.join("b.svg"));
        let dead = |name: &str| dir.join(name.replace(&std::process::id().to_string(), "4999999"));
        let (a_temp, a_backup) = (dead(&temporaries::name("a.csv", 0)), dead(&temporaries::backup_name("a.csv", 0)));
        let (b_temp, b_backup) = (dead(&temporaries::name("b.svg", 1)), dead(&temporaries::backup_name("b.svg", 1)));
        if a_existed {
            fs::write(&a, "old a").unwrap();
            fs::hard_link(&a, &a_backup).unwrap();
        }
        fs::write(&b, "old b").unwrap();
        fs::hard_link(&b, &b_backup).unwrap();
        fs::write(&a_temp, "new a").unwrap();
        fs::write(&b_temp, "new b").unwrap();
        let journal = Journal {
            copies: vec![dead(&temporaries::journal_name(0))],
            entries: vec![
                JournalEntry { target: a.clone(), temp: a_temp.clone(), backup: a_existed.then_some(a_backup) },
                JournalEntry { target: b.clone(), temp: b_temp, backup: Some(b_backup) },
            ],
        };
        assert!(journal.write().unwrap());
        // The first rename happened; the kill came before the second.
        fs::rename(&a_temp, &a).unwrap();
        (a, b)
    }

    #[test]
    fn the_next_run_rolls_back_a_commit_killed_between_renames() {
        for a_existed in [true, false] {
            let dir = scratch(&format!("killed-{a_existed}"));
            let (a, b) = killed_between_renames(&dir, a_existed);
            assert_eq!(fs::read_to_string(&a).unwrap(), "new a", "half committed");
            assert_eq!(fs::read_to_string(&b).unwrap(), "old b");
            // A run writing elsewhere in that directory finds the journal.
            let other = dir.join("other.csv");
            stage(&[("--out", &other, "x")]).unwrap().commit().unwrap();
            if a_existed {
                assert_eq!(fs::read_to_string(&a).unwrap(), "old a");
            } else {
                assert!(!a.exists(), "a.csv did not exist before the killed run");
            }
            assert_eq!(fs::read_to_string(&b).unwrap(), "old b");
            let mut want = vec!["b.svg", "other.csv"];
            if a_existed {
                want.insert(0, "a.csv");
            }
            assert_eq!(entries(&dir), want, "no journal, backup or temporary left");
        }
    }

    #[test]
    fn a_commit_leaves_no_journal_or_backup() {
        let dir = scratch("journal");
        let (a, b) = (dir.join("a.csv"), dir.join("b.svg"));
        fs::write(&a, "old").unwrap();
        fs::write(&b, "old").unwrap();
        stage(&[("--out", &a, "new a"), ("--svg", &b, "new b")]).unwrap().commit().unwrap();
        assert_eq!(
            (fs::read_to_string(&a).unwrap(), fs::read_to_string(&b).unwrap()),
            ("new a".into(), "new b".into())
        );
        assert_eq!(entries(&dir), vec!["a.csv", "b.svg"]);
    }
}
