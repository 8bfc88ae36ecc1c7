//! Temporary files that must not outlive the run.
//!
//! Outputs are staged in hidden siblings of their targets named
//! `.NAME.smemplan-PID-N.tmp` (see [`name`]). Three things keep them from
//! piling up:
//!
//! * a dropped [`Registration`] forgets its file (the owner removes it);
//! * on SIGINT, SIGTERM or SIGHUP a handler unlinks every registered file and
//!   then dies of the same signal, so the exit status still says "killed";
//!   inside [`hold_signals`] (the final renames) the signal waits until the
//!   renames are done, so that a run is never half committed;
//! * [`remove_stale`] deletes the leftovers of runs that were killed outright
//!   (SIGKILL, power loss): files of this pattern whose PID is not alive,
//!   once [`super::journal::recover`] has rolled back a commit they were
//!   in the middle of (the backups kept while committing are
//!   `.NAME.smemplan-PID-N.bak`).
//!
//! The handler may only call async-signal-safe functions, so the paths live
//! in a fixed table of atomic pointers to C strings. A string is never freed
//! once registered (the handler might be reading it): a few leaked bytes per
//! output file, a handful per run.

use std::path::Path;

/// Where a temporary file of `target_name` for this process lives, `n`
/// making it unique within the process.
pub fn name(target_name: &str, n: usize) -> String {
    format!(".{target_name}.smemplan-{}-{n}.tmp", std::process::id())
}

/// Where the backup of `target_name` kept while committing lives (see
/// [`super::journal`]).
pub fn backup_name(target_name: &str, n: usize) -> String {
    format!(".{target_name}.smemplan-{}-{n}.bak", std::process::id())
}

/// Where a commit journal of this process lives (see [`super::journal`]).
pub fn journal_name(n: usize) -> String {
    format!(".smemplan-{}-{n}.journal", std::process::id())
}

/// The PID in a name made by [`name`] or [`backup_name`], if `file` is one.
fn pid_of(file: &str) -> Option<u32> {
    let rest = file.strip_prefix('.')?;
    let rest = rest.strip_suffix(".tmp").or_else(|| rest.strip_suffix(".bak"))?;
    let (rest, n) = rest.rsplit_once('-')?;
    let (_, pid) = rest.rsplit_once(".smemplan-")?;
    number(n)?;
    number(pid)
}

/// The PID in a name made by [`journal_name`], if `file` is one.
pub fn journal_pid(file: &str) -> Option<u32> {
    let (pid, n) = file.strip_prefix(".smemplan-")?.strip_suffix(".journal")?.split_once('-')?;
    number(n)?;
    number(pid)
}

fn number(s: &str) -> Option<u32> {
    let digits = !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    digits.then(|| s.parse().ok()).flatten()
}

/// Whether `pid` is another process that no longer runs (whose files may
/// be cleaned up).
pub fn is_dead(pid: u32) -> bool {
    pid != std::process::id() && !alive(pid)
}

/// Removes from `dir` the temporaries and backups of processes that no
/// longer run (after [`super::journal::recover`] has rolled back their
/// unfinished commits). Best effort: a file that cannot be read or removed
/// is left alone.
pub fn remove_stale(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(pid_of) else { continue };
        if is_dead(pid) && entry.file_type().is_ok_and(|t| t.is_file()) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

#[cfg(unix)]
pub use unix::{hold_signals, register, Registration};

#[cfg(not(unix))]
pub use portable::{hold_signals, register, Registration};

#[cfg(unix)]
fn alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else { return false };
    if pid <= 0 {
        return true;
    }
    // SAFETY: signal 0 only asks whether `pid` exists; nothing is sent.
    let status = unsafe { libc::kill(pid, 0) };
    status == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

#[cfg(not(unix))]
fn alive(_pid: u32) -> bool {
    // No portable way to ask: never delete another process's file.
    true
}

#[cfg(unix)]
mod unix {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    use std::path::Path;
    use std::ptr;
    use std::sync::atomic::{AtomicBool, AtomicI32, AtomicPtr, Ordering};
    use std::sync::Once;

    /// More outputs than any command writes at once (each has a temporary
    /// and, while committing, a backup).
    const SLOTS: usize = 32;
    static PATHS: [AtomicPtr<libc::c_char>; SLOTS] = [const { AtomicPtr::new(ptr::null_mut()) }; SLOTS];
    /// Set inside [`hold_signals`]: a signal then only records itself.
    static HOLDING: AtomicBool = AtomicBool::new(false);
    static PENDING: AtomicI32 = AtomicI32::new(0);
    const SIGNALS: [libc::c_int; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

    /// A registered temporary; dropping it unregisters the file (it does not
    /// remove it).
    pub struct Registration(Option<usize>);

    impl Drop for Registration {
        fn drop(&mut self) {
            if let Some(slot) = self.0 {
                // The string is leaked on purpose (see the module docs).
                PATHS[slot].store(ptr::null_mut(), Ordering::SeqCst);
            }
        }
    }

    /// Registers `path` to be unlinked if the process is interrupted.
    pub fn register(path: &Path) -> Registration {
        install();
        let Ok(c) = CString::new(path.as_os_str().as_bytes()) else { return Registration(None) };
        let raw = c.into_raw();
        for (i, slot) in PATHS.iter().enumerate() {
            if slot.compare_exchange(ptr::null_mut(), raw, Ordering::SeqCst, Ordering::SeqCst).is_ok() {
                return Registration(Some(i));
            }
        }
        // SAFETY: `raw` came from `into_raw` above and was never shared.
        drop(unsafe { CString::from_raw(raw) });
        Registration(None)
    }

    /// Runs `f` with SIGINT, SIGTERM and SIGHUP deferred until it returns.
    pub fn hold_signals<R>(f: impl FnOnce() -> R) -> R {
        install();
        HOLDING.store(true, Ordering::SeqCst);
        let result = f();
        HOLDING.store(false, Ordering::SeqCst);
        let sig = PENDING.swap(0, Ordering::SeqCst);
        if sig != 0 {
            on_signal(sig);
        }
        result
    }

    fn install() {
        static ONCE: Once = Once::new();
        ONCE.call_once(|| {
            for sig in SIGNALS {
                // SAFETY: `on_signal` only calls async-signal-safe functions
                // (atomics, unlink, signal, raise).
                let previous =
                    unsafe { libc::signal(sig, on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t) };
                if previous == libc::SIG_IGN {
                    // Ignored by whoever started us (nohup): keep it so.
                    // SAFETY: restoring the disposition we found.
                    unsafe { libc::signal(sig, libc::SIG_IGN) };
                }
            }
        });
    }

    extern "C" fn on_signal(sig: libc::c_int) {
        if HOLDING.load(Ordering::SeqCst) {
            PENDING.store(sig, Ordering::SeqCst);
            return;
        }
        for slot in &PATHS {
            let path = slot.load(Ordering::SeqCst);
            if !path.is_null() {
                // SAFETY: registered strings are never freed.
                unsafe { libc::unlink(path) };
            }
        }
        // SAFETY: die of the same signal, with its default action.
        unsafe {
            libc::signal(sig, libc::SIG_DFL);
            libc::raise(sig);
        }
    }
}

#[cfg(not(unix))]
mod portable {
    use std::path::Path;

    /// A registered temporary (no signal cleanup on this platform).
    pub struct Registration;

    /// Registers `path` (no signal cleanup on this platform).
    pub fn register(_path: &Path) -> Registration {
        Registration
    }

    /// Runs `f`.
    pub fn hold_signals<R>(f: impl FnOnce() -> R) -> R {
        f()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_to_their_pid() {
        assert_eq!(pid_of(&name("out.csv", 7)), Some(std::process::id()));
        assert_eq!(pid_of(".a.b.smemplan-12-3.tmp"), Some(12));
        assert_eq!(pid_of(&backup_name("out.csv", 2)), Some(std::process::id()));
        assert_eq!(journal_pid(&journal_name(4)), Some(std::process::id()));
        assert_eq!(journal_pid(".smemplan-12-3.tmp"), None);
        for other in ["out.csv", ".out.csv.tmp", ".x.smemplan--3.tmp", ".x.smemplan-1a-3.tmp", "x.smemplan-1-3.tmp"] {
            assert_eq!(pid_of(other), None, "{other}");
        }
    }

    #[test]
    fn only_dead_processes_leftovers_are_removed() {
        let dir = std::env::temp_dir().join(format!("smemplan-stale-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        // PIDs above the kernel's maximum (2^22) never run.
        let dead = dir.join(".out.csv.smemplan-4999999-0.tmp");
        let mine = dir.join(name("out.csv", 0));
        let unrelated = dir.join(".out.csv.tmp");
        for f in [&dead, &mine, &unrelated] {
            std::fs::write(f, "x").unwrap();
        }
        remove_stale(&dir);
        assert!(!dead.exists());
        assert!(mine.exists() && unrelated.exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
