//! Writing results: each output through a temporary file renamed over its
//! target, and plain-text tables.
//!
//! Files go through [`Staged`] in three steps:
//!
//! 1. [`Staged::reserve`], before any work: every destination is checked (it
//!    names a file, not a directory, and does not end in a path separator;
//!    its directory exists; no two flags name the same file, and none names
//!    an input of the run, also through `..`, symbolic or hard links), and a
//!    probe temporary is created beside
//!    each target and removed at once, to prove the directory takes a new
//!    file before the work starts.
//! 2. [`Staged::write`], once the work is done, creates a fresh temporary
//!    beside its target, `.NAME.smemplan-PID-N-RANDOM.tmp` in the target's
//!    directory (so the rename stays on one file system and is atomic),
//!    with `create_new`, so never a file that was already there, and fills
//!    it.
//! 3. [`Staged::commit`] takes an exclusive advisory lock on each directory
//!    written to (the directory itself, opened as a file, in sorted order;
//!    no lock file), checks once more that every target can be replaced
//!    (still a regular file or absent, the temporary still ours, not
//!    another user's file in a sticky directory), gives each temporary the
//!    permission bits (`rwx`, not set-ID or sticky) of the file it replaces
//!    (a new file keeps the umask's default mode; ownership is never
//!    changed), and renames every temporary over its target.
//!
//! What this guarantees:
//!
//! * A run that fails before renaming, including a commit refused by its
//!   checks, leaves every target untouched; its temporaries are removed
//!   when the [`Staged`] is dropped. A rename that fails anyway (an I/O
//!   error after the checks) leaves the targets renamed before it new, and
//!   the error names them.
//! * Each rename is atomic, so a run killed at any moment leaves every
//!   target either as it was or complete and new. A run killed between two
//!   renames of one commit leaves some targets new and the others old.
//! * Runs writing into the same directories commit one after the other (the
//!   locks are held across all renames of a commit), so concurrent runs
//!   writing the same files end with one run's complete set. The locks are
//!   advisory: only other smemplan runs wait for them, as long as it takes.
//! * A target reached through a symbolic link is the file the link points
//!   to: that file is replaced, the link stays.
//! * Nothing found in an output directory is read, trusted, renamed or
//!   removed: only the temporaries this process created (checked by
//!   device and inode before removal).
//!
//! Signals are not caught. No temporary exists while a run works, so a run
//! interrupted by Ctrl-C, SIGTERM or SIGKILL before its outputs are written
//! leaves nothing behind; one interrupted while writing or renaming them
//! (a short window after all the work) can leave its own temporaries
//! (hidden files named as above). Later runs leave those alone, since they
//! cannot know whose they are; remove them by hand.
//!
//! Directories are not locked on platforms other than Unix.

use anyhow::{bail, Context, Result};
pub use smemplan::core::format::table::table;
use std::ffi::{OsStr, OsString};
use std::fs;
use std::hash::{BuildHasher, RandomState};
use std::io::{self, Write};
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
    /// The directory of `target`, canonical.
    dir: PathBuf,
    /// The file that will be replaced (symbolic links followed).
    target: PathBuf,
    /// The temporary this process created, once written.
    temp: Option<Temporary>,
}

/// A file this process created with `create_new`, open, and still at `path`
/// until renamed.
struct Temporary {
    path: PathBuf,
    file: fs::File,
    /// Renamed over its target: no longer ours to remove.
    renamed: bool,
}

impl Temporary {
    /// A fresh file beside `target_name` in `dir`; an existing file is never
    /// reused.
    fn create(dir: &Path, target_name: &OsStr) -> io::Result<Temporary> {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        // Short enough that the temporary's name stays within the file
        // system's limit wherever the target's does.
        let stem: String = target_name.to_string_lossy().chars().take(64).collect();
        let mut last = None;
        for _ in 0..16 {
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let random = RandomState::new().hash_one((n, std::time::SystemTime::now()));
            let path = dir.join(format!(".{stem}.smemplan-{}-{n}-{random:016x}.tmp", std::process::id()));
            match fs::File::create_new(&path) {
                Ok(file) => return Ok(Temporary { path, file, renamed: false }),
                Err(err) if err.kind() == io::ErrorKind::AlreadyExists => last = Some(err),
                Err(err) => return Err(err),
            }
        }
        Err(last.unwrap_or_else(|| io::Error::other("no free temporary name")))
    }

    /// Whether `path` still names the file this process created (and not,
    /// say, something put in its place).
    fn is_ours(&self) -> bool {
        let Ok(found) = fs::symlink_metadata(&self.path) else { return false };
        if !found.is_file() {
            return false;
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            let Ok(mine) = self.file.metadata() else { return false };
            (found.dev(), found.ino()) == (mine.dev(), mine.ino())
        }
        #[cfg(not(unix))]
        true
    }
}

impl Drop for Temporary {
    fn drop(&mut self) {
        // Best effort: a run that drops an unrenamed temporary is already
        // failing with a better message.
        if !self.renamed && self.is_ours() {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// A run's input files, each resolved once (as [`resolve`] resolves a
/// destination), for [`Staged::reserve`] to refuse an output that is one of
/// them. An input that cannot be resolved (standard input, a missing file)
/// is no output's file.
#[derive(Default)]
pub struct Inputs(Vec<(PathBuf, Resolved)>);

impl Inputs {
    /// The inputs at `paths`.
    pub fn new<'a>(paths: impl IntoIterator<Item = &'a Path>) -> Inputs {
        Inputs(paths.into_iter().filter_map(|p| Some((p.to_path_buf(), resolve("", p).ok()?))).collect())
    }
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

/// The last component of `path` as written: empty after a trailing
/// separator (`dir/new.svg/`), `.` for `dir/new.svg/.`.
fn last_written_component(path: &Path) -> &[u8] {
    let bytes = path.as_os_str().as_encoded_bytes();
    bytes.rsplit(|&b| b.is_ascii() && std::path::is_separator(b as char)).next().unwrap_or(bytes)
}

/// Checks one destination: a file (existing or not) in an existing
/// directory.
fn resolve(flag: &str, path: &Path) -> Result<Resolved> {
    let shown = path.display();
    // `-` is standard output for `generate --out` alone; elsewhere a file
    // named `-` would be a surprise.
    if path == Path::new("-") {
        bail!("{flag} `-`: this output is written to a file; name one");
    }
    match last_written_component(path) {
        b"" => bail!("{flag} `{shown}` ends with a path separator; name a file"),
        b"." | b".." => bail!("{flag} `{shown}` does not name a file"),
        _ => {}
    }
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

/// Why `temp` cannot be renamed over `target` (a regular file or nothing),
/// if something says so in advance.
fn unreplaceable(dir: &Path, target: &Path, temp: &Temporary) -> Option<String> {
    let shown = target.display();
    if !temp.is_ours() {
        return Some(format!("the temporary for `{shown}` was moved or replaced"));
    }
    let existing = match fs::symlink_metadata(target) {
        Ok(m) => m,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return None,
        Err(err) => return Some(format!("cannot inspect `{shown}`: {err}")),
    };
    if !existing.is_file() {
        return Some(format!("`{shown}` is no longer a regular file"));
    }
    // In a sticky directory (`/tmp`) only the owner of a file or of the
    // directory may replace it.
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let (Ok(d), Ok(me)) = (fs::metadata(dir), temp.file.metadata()) else { return None };
        if d.mode() & 0o1000 != 0 && me.uid() != 0 && existing.uid() != me.uid() && d.uid() != me.uid() {
            return Some(format!("`{shown}` belongs to another user in a sticky directory"));
        }
    }
    #[cfg(not(unix))]
    let _ = dir;
    None
}

/// Gives `temp` the permission bits of the file it replaces, if any.
fn keep_permissions(target: &Path, temp: &Temporary) -> io::Result<()> {
    let Ok(existing) = fs::symlink_metadata(target) else { return Ok(()) };
    #[cfg(unix)]
    let permissions = {
        use std::os::unix::fs::PermissionsExt;
        // The read, write and execute bits; not set-user-ID and the like,
        // which mean something else on a file of another owner.
        fs::Permissions::from_mode(existing.permissions().mode() & 0o777)
    };
    #[cfg(not(unix))]
    let permissions = existing.permissions();
    temp.file.set_permissions(permissions)
}

/// Exclusive advisory locks on `dirs` (sorted, distinct), taken in that
/// order so that two runs never wait on each other in a cycle.
#[cfg(unix)]
fn lock_directories(dirs: &[&Path]) -> Result<Vec<fs::File>> {
    dirs.iter()
        .map(|dir| {
            let handle = fs::File::open(dir).with_context(|| format!("cannot open `{}`", dir.display()))?;
            handle.lock().with_context(|| format!("cannot lock `{}`", dir.display()))?;
            Ok(handle)
        })
        .collect()
}

#[cfg(not(unix))]
fn lock_directories(_dirs: &[&Path]) -> Result<Vec<fs::File>> {
    Ok(Vec::new())
}

impl Staged {
    /// Checks every `(flag, path)` destination, including that it is none of
    /// the run's `inputs` and that a fresh temporary can be created beside
    /// it (the temporary is removed at once). Nothing is left when any check
    /// fails, and nothing already in the directories is touched.
    pub fn reserve(outputs: &[(&str, &Path)], inputs: &Inputs) -> Result<Staged> {
        let mut resolved: Vec<(&str, &Path, Resolved)> = Vec::with_capacity(outputs.len());
        for &(flag, path) in outputs {
            let r = resolve(flag, path)?;
            if let Some((other, _, _)) = resolved.iter().find(|(_, _, o)| o.same_file(&r)) {
                bail!("{other} and {flag} both name `{}`; give each output its own file", path.display());
            }
            if let Some((input, _)) = inputs.0.iter().find(|(_, i)| i.same_file(&r)) {
                bail!("{flag} `{}` is the input `{}`; give the output its own file", path.display(), input.display());
            }
            resolved.push((flag, path, r));
        }
        let mut staged = Staged::default();
        for (flag, path, r) in resolved {
            let target = r.target();
            let probe = Temporary::create(&r.dir, &r.name).with_context(|| {
                format!("{flag} `{}`: cannot create a file in `{}`", path.display(), r.dir.display())
            })?;
            if let Some(why) = unreplaceable(&r.dir, &target, &probe) {
                bail!("{flag} `{}`: {why}", path.display());
            }
            staged.entries.push(Entry { requested: path.to_path_buf(), dir: r.dir, target, temp: None });
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
        if entry.temp.is_some() {
            bail!("internal error: `{}` written twice", path.display());
        }
        let name = entry.target.file_name().unwrap_or_default();
        let temp =
            entry.temp.insert(Temporary::create(&entry.dir, name).with_context(|| {
                format!("cannot create a file in `{}` for `{}`", entry.dir.display(), path.display())
            })?);
        temp.file
            .write_all(contents.as_bytes())
            .and_then(|()| temp.file.sync_all())
            .with_context(|| format!("cannot write `{}`", temp.path.display()))
    }

    /// Renames every temporary over its target, with the directories
    /// locked against other runs (see the module docs).
    pub fn commit(mut self) -> Result<()> {
        let mut written = Vec::with_capacity(self.entries.len());
        for e in &mut self.entries {
            let Some(temp) = e.temp.as_mut() else {
                bail!("internal error: `{}` was reserved but never written", e.requested.display());
            };
            written.push((e.dir.as_path(), e.target.as_path(), temp));
        }
        let mut dirs: Vec<&Path> = written.iter().map(|&(dir, _, _)| dir).collect();
        dirs.sort();
        dirs.dedup();
        let locks = lock_directories(&dirs).context("no output was written")?;
        // What may have changed since the reservation, checked under the
        // locks, so that a rename is unlikely to fail half-way.
        for (dir, target, temp) in &written {
            if let Some(why) = unreplaceable(dir, target, temp) {
                bail!("{why}; no output was written");
            }
            keep_permissions(target, temp)
                .with_context(|| format!("cannot set the permissions of `{}`", temp.path.display()))
                .context("no output was written")?;
        }
        for i in 0..written.len() {
            let (_, target, temp) = &mut written[i];
            if let Err(err) = fs::rename(&temp.path, *target) {
                let failure = anyhow::Error::new(err).context(format!("cannot replace `{}`", target.display()));
                let done: Vec<String> = written[..i].iter().map(|(_, t, _)| format!("`{}`", t.display())).collect();
                return Err(if done.is_empty() {
                    failure.context("no output was written")
                } else {
                    failure
                        .context(format!("only {} was replaced; the other outputs are as they were", done.join(", ")))
                });
            }
            temp.renamed = true;
        }
        // Best effort: the renames reach the disk before the run says done.
        for dir in &locks {
            let _ = dir.sync_all();
        }
        Ok(())
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
        let mut staged = Staged::reserve(&flags, &Inputs::default())?;
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
        let mut staged = Staged::reserve(&[("--out", &target)], &Inputs::default()).unwrap();
        assert_eq!(entries(&dir), vec!["out.csv"], "no temporary while the work runs");
        staged.write(&target, "new").unwrap();
        assert_eq!(entries(&dir).len(), 2, "the temporary exists once written");
        drop(staged);
        assert_eq!(fs::read_to_string(&target).unwrap(), "old");
        assert_eq!(entries(&dir), vec!["out.csv"]);
    }

    #[test]
    fn a_temporary_replaced_by_someone_else_is_not_removed() {
        let dir = scratch("not-ours");
        let target = dir.join("out.csv");
        let staged = stage(&[("--out", &target, "new")]).unwrap();
        let temp = staged.entries[0].temp.as_ref().unwrap().path.clone();
        fs::remove_file(&temp).unwrap();
        fs::write(&temp, "someone else's").unwrap();
        let err = staged.commit().unwrap_err();
        assert!(format!("{err:#}").contains("no output was written"), "{err:#}");
        assert_eq!(fs::read_to_string(&temp).unwrap(), "someone else's");
        assert!(!target.exists());
    }

    #[test]
    fn bad_destinations_are_refused_before_anything_is_created() {
        let dir = scratch("refused");
        let out = dir.join("out.csv");
        fs::write(&out, "old").unwrap();
        fs::create_dir(dir.join("sub")).unwrap();
        let alias = dir.join("sub/../out.csv");
        let slash = PathBuf::from(format!("{}/new.svg/", dir.display()));
        let dot = PathBuf::from(format!("{}/new.svg/.", dir.display()));
        let cases: [(&Path, &str); 6] = [
            (&dir.join("sub"), "is a directory"),
            (&dir.join("no/such/dir/out.svg"), "does not exist"),
            (&alias, "--out and --svg both name"),
            (&out, "--out and --svg both name"),
            (&slash, "--svg `"),
            (&dot, "does not name a file"),
        ];
        for (svg, want) in cases {
            let err = Staged::reserve(&[("--out", &out), ("--svg", svg)], &Inputs::default()).err().unwrap();
            assert!(format!("{err:#}").contains(want), "{}: {err:#}", svg.display());
            assert_eq!(entries(&dir), vec!["out.csv", "sub"]);
            assert_eq!(fs::read_to_string(&out).unwrap(), "old");
        }
        let err = Staged::reserve(&[("--svg", &slash)], &Inputs::default()).err().unwrap();
        assert!(format!("{err:#}").contains("ends with a path separator"), "{err:#}");
        let err = Staged::reserve(&[("--csv", Path::new("-"))], &Inputs::default()).err().unwrap();
        assert_eq!(format!("{err:#}"), "--csv `-`: this output is written to a file; name one");
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
            let err =
                Staged::reserve(&[("--out", &out), ("--svg", &dir.join(other))], &Inputs::default()).err().unwrap();
            assert!(format!("{err:#}").contains("both name"), "{other}: {err:#}");
        }
        // Nor is an input an output, by any of its names.
        for name in ["out.csv", "soft", "hard"] {
            let err = Staged::reserve(&[("--svg", &dir.join(name))], &Inputs::new([out.as_path()])).err().unwrap();
            assert!(format!("{err:#}").contains("is the input"), "{name}: {err:#}");
        }
        assert_eq!(fs::read_to_string(&out).unwrap(), "old");
        // Through a symbolic link, the file it points to is replaced.
        stage(&[("--out", &dir.join("soft"), "new")]).unwrap().commit().unwrap();
        assert_eq!(fs::read_to_string(&out).unwrap(), "new");
        assert!(fs::symlink_metadata(dir.join("soft")).unwrap().file_type().is_symlink());
    }

    #[cfg(unix)]
    #[test]
    fn a_replaced_file_keeps_its_permissions() {
        use std::os::unix::fs::PermissionsExt;
        let dir = scratch("modes");
        for mode in [0o600, 0o640, 0o444, 0o755] {
            let out = dir.join(format!("out-{mode:o}.csv"));
            fs::write(&out, "old").unwrap();
            fs::set_permissions(&out, fs::Permissions::from_mode(mode)).unwrap();
            stage(&[("--out", &out, "new")]).unwrap().commit().unwrap();
            assert_eq!(fs::read_to_string(&out).unwrap(), "new");
            assert_eq!(fs::metadata(&out).unwrap().permissions().mode() & 0o7777, mode, "{mode:o}");
        }
        // A new file gets the mode any new file gets.
        let (fresh, reference) = (dir.join("fresh.csv"), dir.join("reference"));
        fs::write(&reference, "").unwrap();
        stage(&[("--out", &fresh, "new")]).unwrap().commit().unwrap();
        assert_eq!(
            fs::metadata(&fresh).unwrap().permissions().mode(),
            fs::metadata(&reference).unwrap().permissions().mode()
        );
    }

    #[test]
    fn a_target_changed_before_commit_stops_every_rename() {
        let dir = scratch("changed");
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
}
