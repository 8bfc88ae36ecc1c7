//! How the binary writes its output files (issues 15 and 19), as a user runs
//! it: each output through a fresh temporary renamed over its target, and
//! nothing else. Files already in an output directory (old journals,
//! temporaries and backups of earlier versions, symbolic links) are never
//! read, renamed or removed; a replaced file keeps its permissions; a path
//! ending in a separator is refused; concurrent runs end with one run's
//! complete set; a killed run leaves each target old or new, never torn.

use std::collections::BTreeMap;
use std::fs;
use std::hash::{BuildHasher, RandomState};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[path = "support/cli.rs"]
mod harness;
use harness::{repo, s, scratch, smemplan};

/// PIDs above the kernel's limit (2^22) never run: the files of such a
/// "dead" run are what the removed recovery would have acted on.
const DEAD: &str = "4999999";

/// What a directory holds, entry by entry: the bytes of a file, where a
/// link points, and the permission bits.
#[derive(Debug, PartialEq, Eq, Clone)]
enum Found {
    File(Vec<u8>, u32),
    Link(PathBuf),
    Dir,
}

fn snapshot(dir: &Path) -> BTreeMap<String, Found> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let path = e.path();
            let meta = fs::symlink_metadata(&path).unwrap();
            let found = if meta.file_type().is_symlink() {
                Found::Link(fs::read_link(&path).unwrap())
            } else if meta.is_dir() {
                Found::Dir
            } else {
                Found::File(fs::read(&path).unwrap(), mode(&meta))
            };
            (e.file_name().to_string_lossy().into_owned(), found)
        })
        .collect()
}

#[cfg(unix)]
fn mode(meta: &fs::Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o7777
}

#[cfg(not(unix))]
fn mode(meta: &fs::Metadata) -> u32 {
    u32::from(meta.permissions().readonly())
}

fn without(mut snap: BTreeMap<String, Found>, names: &[&str]) -> BTreeMap<String, Found> {
    for n in names {
        snap.remove(*n);
    }
    snap
}

/// A journal in the format of the removed recovery (`.smemplan-PID-N.journal`),
/// naming `target` (with its "backup" and "temporary") for a dead run.
fn journal(copy: &Path, entries: &[(&Path, &Path, &Path)]) -> String {
    let entries: Vec<serde_json::Value> = entries
        .iter()
        .map(|(target, temp, backup)| serde_json::json!({ "target": target, "temp": temp, "backup": backup }))
        .collect();
    serde_json::json!({ "copies": [copy], "entries": entries }).to_string()
}

/// An output directory full of what an attacker (or an older smemplan)
/// might leave, and a directory beside it whose files a planted journal
/// names. Returns `(out dir, outside dir)`.
fn planted(name: &str) -> (PathBuf, PathBuf) {
    let root = scratch(name);
    let (dir, outside) = (root.join("out"), root.join("outside"));
    fs::create_dir(&dir).unwrap();
    fs::create_dir(&outside).unwrap();
    let victim = outside.join("precious.txt");
    fs::write(&victim, "precious outside").unwrap();
    fs::write(outside.join("replacement"), "planted replacement").unwrap();
    let inside = dir.join("keep.txt");
    fs::write(&inside, "precious inside").unwrap();
    // Journals of a dead run: rolling them back would remove `keep.txt`
    // (no backup) and rename `replacement` over `precious.txt`, and
    // remove the outputs the run is about to write.
    let j0 = dir.join(format!(".smemplan-{DEAD}-0.journal"));
    let temp_gone = dir.join(format!(".keep.txt.smemplan-{DEAD}-0.tmp-gone"));
    let text = journal(
        &j0,
        &[
            (&victim, &outside.join("gone.tmp"), &outside.join("replacement")),
            (&dir.join("out.csv"), &temp_gone, &dir.join("missing.bak")),
        ],
    );
    fs::write(&j0, &text).unwrap();
    let j1 = dir.join(format!(".smemplan-{DEAD}-1.journal"));
    fs::write(&j1, journal(&j1, &[(&inside, &dir.join("nothing.tmp"), &outside.join("replacement"))])).unwrap();
    let j2 = dir.join(format!(".smemplan-{DEAD}-2.journal"));
    let no_backup = serde_json::json!({
        "copies": [&j2],
        "entries": [{ "target": &inside, "temp": dir.join("nothing.tmp"), "backup": null }],
    });
    fs::write(&j2, no_backup.to_string()).unwrap();
    fs::write(dir.join(format!(".smemplan-{DEAD}-3.journal")), "not json at all").unwrap();
    // Temporaries and backups by the old naming patterns, for the very
    // targets of the run and for others, of dead and of live processes.
    for (n, name) in [
        format!(".out.csv.smemplan-{DEAD}-0.tmp"),
        format!(".out.csv.smemplan-{DEAD}-1.bak"),
        format!(".out.svg.smemplan-{DEAD}-2.tmp"),
        format!(".other.smemplan-{DEAD}-3.bak"),
        format!(".out.csv.smemplan-{}-0.tmp", std::process::id()),
        format!(".out.csv.smemplan-{DEAD}-0-0000000000000000.tmp"),
    ]
    .iter()
    .enumerate()
    {
        fs::write(dir.join(name), vec![b'x'; 1000 + n]).unwrap();
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::symlink;
        symlink(&victim, dir.join("link-to-precious")).unwrap();
        symlink(&victim, dir.join(format!(".out.svg.smemplan-{DEAD}-5.tmp"))).unwrap();
        symlink(&victim, dir.join(format!(".out.csv.smemplan-{DEAD}-6.bak"))).unwrap();
        symlink(&outside, dir.join(format!(".smemplan-{DEAD}-7.journal"))).unwrap();
        symlink(dir.join("nowhere"), dir.join("dangling")).unwrap();
        symlink(&outside, dir.join("linked-dir")).unwrap();
    }
    (dir, outside)
}

#[test]
fn files_already_in_the_output_directory_are_never_touched() {
    let (dir, outside) = planted("outputs-planted");
    let (before, outside_before) = (snapshot(&dir), snapshot(&outside));
    let (out, svg) = (dir.join("out.csv"), dir.join("out.svg"));

    // A successful run: the two outputs appear, nothing else changes.
    let instance = repo("tests/data/small.csv");
    let report = smemplan(&["solve", s(&instance), "--out", s(&out), "--svg", s(&svg), "--json"]).expect(0).json();
    assert_eq!(report["out"].as_str(), Some(s(&out)));
    assert!(fs::read_to_string(&out).unwrap().starts_with("id,"));
    assert!(fs::read_to_string(&svg).unwrap().ends_with("</svg>\n"));
    let after = snapshot(&dir);
    assert_eq!(without(after.clone(), &["out.csv", "out.svg"]), before);
    assert_eq!(snapshot(&outside), outside_before);

    // Failing runs, after their outputs were reserved: nothing changes.
    let bad = dir.join("bad.csv");
    fs::write(&bad, "not,a\nminimalloc,instance\n").unwrap();
    let with_bad = snapshot(&dir);
    smemplan(&["solve", s(&bad), "--out", s(&out), "--svg", s(&svg)]).expect(2);
    let cuda = dir.join("out.cuh");
    let run = smemplan(&["plan", "--svg", s(&svg), "--cuda", s(&cuda), "--set", "n=-5", "--time-limit", "1"]).expect(2);
    assert!(run.stderr.contains("-5 is not allowed"), "{}", run.stderr);
    assert_eq!(snapshot(&dir), with_bad);
    assert_eq!(snapshot(&outside), outside_before);
}

/// Writing through a symbolic link replaces the file it points to; the
/// link, and the directory it is in, are left as they were.
#[cfg(unix)]
#[test]
fn a_linked_target_replaces_the_file_pointed_to() {
    let root = scratch("outputs-symlink");
    let (links, real) = (root.join("links"), root.join("real"));
    fs::create_dir(&links).unwrap();
    fs::create_dir(&real).unwrap();
    fs::write(real.join("plan.svg"), "old").unwrap();
    std::os::unix::fs::symlink(real.join("plan.svg"), links.join("plan.svg")).unwrap();
    let before = snapshot(&links);
    smemplan(&["solve", "--svg", s(&links.join("plan.svg"))]).expect(0);
    assert_eq!(snapshot(&links), before);
    assert!(fs::read_to_string(real.join("plan.svg")).unwrap().ends_with("</svg>\n"));
    assert_eq!(snapshot(&real).len(), 1, "no temporary left: {:?}", snapshot(&real).keys());
    // A link to nothing is refused, not created.
    std::os::unix::fs::symlink(real.join("nothing.svg"), links.join("dangling.svg")).unwrap();
    let before = (snapshot(&links), snapshot(&real));
    let run = smemplan(&["solve", "--svg", s(&links.join("dangling.svg"))]).expect(2);
    assert!(run.stderr.contains("symbolic link to a missing place"), "{}", run.stderr);
    assert_eq!((snapshot(&links), snapshot(&real)), before);
}

#[cfg(unix)]
#[test]
fn a_replaced_output_keeps_its_permissions() {
    use std::os::unix::fs::PermissionsExt;
    let dir = scratch("outputs-modes");
    for m in [0o600, 0o640, 0o604, 0o444] {
        let out = dir.join(format!("out-{m:o}.csv"));
        fs::write(&out, "old").unwrap();
        fs::set_permissions(&out, fs::Permissions::from_mode(m)).unwrap();
        smemplan(&["solve", "--out", s(&out)]).expect(0);
        assert!(fs::read_to_string(&out).unwrap().starts_with("id,"), "{m:o}");
        assert_eq!(mode(&fs::metadata(&out).unwrap()), m, "{m:o}");
    }
    // A new file gets the mode every new file gets (the umask's).
    let (fresh, reference) = (dir.join("fresh.csv"), dir.join("reference"));
    fs::write(&reference, "").unwrap();
    smemplan(&["solve", "--out", s(&fresh)]).expect(0);
    assert_eq!(mode(&fs::metadata(&fresh).unwrap()), mode(&fs::metadata(&reference).unwrap()));
}

#[test]
fn a_path_ending_in_a_separator_is_refused() {
    let dir = scratch("outputs-slash");
    fs::write(dir.join("exists.svg"), "old").unwrap();
    let before = snapshot(&dir);
    for (args, flag) in [
        (vec!["solve".to_string(), "--svg".into(), format!("{}/new.svg/", dir.display())], "--svg"),
        (vec!["solve".to_string(), "--out".into(), format!("{}/exists.svg/", dir.display())], "--out"),
        (
            vec![
                "plan".to_string(),
                "--cuda".into(),
                format!("{}/new.cuh/", dir.display()),
                "--time-limit".into(),
                "1".into(),
            ],
            "--cuda",
        ),
    ] {
        let run = smemplan(&args).expect(2);
        assert!(run.stderr.contains(flag), "{args:?}: {}", run.stderr);
        assert_eq!(snapshot(&dir), before, "{args:?}");
    }
}

/// An output that names one of the run's inputs (by any of its names) is
/// refused before any work, and the input is left as it was: `solve
/// inst.csv --out inst.csv` replaced the instance by its solution, `plot
/// ... --svg SOLUTION.csv` the solution by a picture.
#[test]
fn an_output_that_is_an_input_is_refused() {
    let dir = scratch("outputs-input");
    let (inst, sol) = (dir.join("inst.csv"), dir.join("sol.csv"));
    fs::copy(repo("tests/data/small.csv"), &inst).unwrap();
    smemplan(&["solve", s(&inst), "--out", s(&sol)]).expect(0);
    let model = dir.join("model.toml");
    fs::copy(repo("models/erk.toml"), &model).unwrap();
    let dump = dir.join("dump.json");
    fs::copy(repo("tests/data/cubie-reference/erk__classical-rk4__float32__n20__all_shared.json"), &dump).unwrap();
    // bench's saved layout of `inst.csv` under greedy-size.
    let saved = dir.join("inst.greedy-size.csv");
    fs::copy(&inst, &saved).unwrap();
    let before = snapshot(&dir);
    let via_dots = format!("{}/../{}/inst.csv", dir.display(), dir.file_name().unwrap().to_string_lossy());
    for (args, flag, input) in [
        (vec!["solve", s(&inst), "--out", s(&inst)], "--out", &inst),
        (vec!["solve", s(&inst), "--svg", &via_dots], "--svg", &inst),
        (vec!["plot", s(&inst), s(&sol), "--svg", s(&sol)], "--svg", &sol),
        (vec!["plan", s(&model), "--cuda", s(&model)], "--cuda", &model),
        (vec!["plan", "--cubie", s(&dump), "--svg", s(&dump)], "--svg", &dump),
        (vec!["sweep", s(&model), "--set", "n=3", "--csv", s(&model)], "--csv", &model),
        (vec!["bench", s(&inst), s(&saved), "--out-dir", s(&dir), "--strategies", "greedy-size"], "--out-dir", &saved),
    ] {
        let run = smemplan(&args).expect(2);
        let want = format!("is the input `{}`", input.display());
        assert!(run.stderr.contains(flag) && run.stderr.contains(&want), "{args:?}: {}", run.stderr);
        assert_eq!(snapshot(&dir), before, "{args:?}");
    }
}

/// The model parameter `n` a plan's outputs were made for: the bytes of
/// `kernel/loop/state` (n floats), read from the picture and the header.
/// `None` unless the file is complete.
fn svg_marker(text: &str) -> Option<u64> {
    if !text.ends_with("</svg>\n") {
        return None;
    }
    let rest = &text[text.find("<title>kernel/loop/state: offset ")?..];
    let size = rest[rest.find("size ")? + 5..].split(',').next()?;
    Some(size.parse::<u64>().ok()? / 4)
}

fn cuda_marker(text: &str) -> Option<u64> {
    if !text.ends_with("}  // namespace smemplan_layout\n") {
        return None;
    }
    let rest = &text[text.find("/// `kernel/loop/state`: ")? + "/// `kernel/loop/state`: ".len()..];
    rest.split(' ').next()?.parse().ok()
}

fn spawn_plan(svg: &Path, cuda: &Path, n: u64) -> Child {
    Command::new(env!("CARGO_BIN_EXE_smemplan"))
        .args(["plan", "--svg", s(svg), "--cuda", s(cuda), "--time-limit", "1", "--set", &format!("n={n}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

#[test]
fn the_markers_identify_the_run() {
    let dir = scratch("outputs-markers");
    let (svg, cuda) = (dir.join("a.svg"), dir.join("b.cuh"));
    for n in [3, 8] {
        smemplan(&["plan", "--svg", s(&svg), "--cuda", s(&cuda), "--time-limit", "1", "--set", &format!("n={n}")])
            .expect(0);
        assert_eq!(svg_marker(&fs::read_to_string(&svg).unwrap()), Some(n));
        assert_eq!(cuda_marker(&fs::read_to_string(&cuda).unwrap()), Some(n));
    }
}

#[test]
fn concurrent_runs_end_with_one_runs_complete_set() {
    let root = scratch("outputs-concurrent");
    // The two outputs in different directories: two locks per commit.
    let (a, b) = (root.join("a"), root.join("b"));
    fs::create_dir(&a).unwrap();
    fs::create_dir(&b).unwrap();
    let (svg, cuda) = (a.join("plan.svg"), b.join("plan.cuh"));
    for round in 0..8 {
        let ns = [2 * round + 1, 2 * round + 2];
        let children: Vec<Child> = ns.iter().map(|&n| spawn_plan(&svg, &cuda, n)).collect();
        for mut child in children {
            assert!(child.wait().unwrap().success(), "round {round}");
        }
        let (from_svg, from_cuda) =
            (svg_marker(&fs::read_to_string(&svg).unwrap()), cuda_marker(&fs::read_to_string(&cuda).unwrap()));
        assert!(from_svg.is_some_and(|n| ns.contains(&n)), "round {round}: {from_svg:?} of {ns:?}");
        assert_eq!(from_svg, from_cuda, "round {round}: the picture and the header come from different runs");
        assert_eq!(snapshot(&a).len() + snapshot(&b).len(), 2, "round {round}: a temporary was left");
    }
}

/// While another process holds the lock on an output directory, a run
/// replaces nothing; it finishes once the lock is released.
#[cfg(unix)]
#[test]
fn a_run_waits_for_the_directory_lock_before_replacing_anything() {
    let dir = scratch("outputs-lock");
    let (svg, cuda) = (dir.join("plan.svg"), dir.join("plan.cuh"));
    fs::write(&svg, "old svg").unwrap();
    fs::write(&cuda, "old cuda").unwrap();
    let lock = fs::File::open(&dir).unwrap();
    lock.lock().unwrap();
    let mut child = spawn_plan(&svg, &cuda, 4);
    // The temporaries appear once the run has planned and written its
    // outputs; it then waits for the lock.
    let start = Instant::now();
    while snapshot(&dir).len() < 4 && start.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_millis(500));
    let still_running = child.try_wait().unwrap().is_none();
    let untouched = (fs::read_to_string(&svg).unwrap(), fs::read_to_string(&cuda).unwrap());
    lock.unlock().unwrap();
    let status = child.wait().unwrap();
    assert!(still_running, "the run did not wait for the lock");
    assert_eq!(untouched, ("old svg".to_string(), "old cuda".to_string()));
    assert!(status.success());
    assert_eq!(svg_marker(&fs::read_to_string(&svg).unwrap()), Some(4));
    assert_eq!(cuda_marker(&fs::read_to_string(&cuda).unwrap()), Some(4));
}

/// SIGKILL at random moments: each target is, after every kill, exactly
/// what it was before or the complete output of the killed run. A killed
/// run may leave its own temporaries, and only those.
#[test]
fn a_run_killed_at_any_moment_leaves_each_target_old_or_new() {
    let root = scratch("outputs-killed");
    let (a, b) = (root.join("a"), root.join("b"));
    fs::create_dir(&a).unwrap();
    fs::create_dir(&b).unwrap();
    let (svg, cuda) = (a.join("plan.svg"), b.join("plan.cuh"));
    fs::write(&svg, "old svg").unwrap();
    fs::write(&cuda, "old cuda").unwrap();
    // How long a whole run takes here, to spread the kills over it.
    let started = Instant::now();
    assert!(spawn_plan(&root.join("x.svg"), &root.join("x.cuh"), 1).wait().unwrap().success());
    let span = started.elapsed().as_micros().max(1000) as u64 * 2;
    let random = RandomState::new();
    let (mut old, mut new) = (0, 0);
    for i in 0..40u64 {
        let before = (fs::read(&svg).unwrap(), fs::read(&cuda).unwrap());
        let names: (Vec<String>, Vec<String>) =
            (snapshot(&a).into_keys().collect(), snapshot(&b).into_keys().collect());
        let n = 1 + i % 7;
        let mut child = spawn_plan(&svg, &cuda, n);
        std::thread::sleep(Duration::from_micros(random.hash_one(i) % span));
        let _ = child.kill();
        child.wait().unwrap();
        for (path, was, marker) in [
            (&svg, &before.0, svg_marker as fn(&str) -> Option<u64>),
            (&cuda, &before.1, cuda_marker as fn(&str) -> Option<u64>),
        ] {
            let now = fs::read(path).unwrap();
            if &now == was {
                old += 1;
            } else {
                new += 1;
                let text = String::from_utf8(now).unwrap();
                assert_eq!(
                    marker(&text),
                    Some(n),
                    "kill {i}: `{}` is neither old nor complete:\n{text}",
                    path.display()
                );
            }
        }
        // New names are this run's own temporaries; older ones stay.
        let own = format!(".smemplan-{}-", child.id());
        for (dir, was) in [(&a, &names.0), (&b, &names.1)] {
            let now = snapshot(dir);
            assert!(was.iter().all(|n| now.contains_key(n)), "kill {i}: {was:?} -> {:?}", now.keys());
            for name in now.keys().filter(|n| !was.contains(*n)) {
                assert!(name.contains(&own) && name.ends_with(".tmp"), "kill {i}: {name}");
            }
        }
    }
    eprintln!("after 40 kills: {old} targets old, {new} new");
    // The leftovers are the killed runs' own: a last run leaves them be.
    let leftovers = (snapshot(&a), snapshot(&b));
    assert!(spawn_plan(&svg, &cuda, 9).wait().unwrap().success());
    let mut after = (snapshot(&a), snapshot(&b));
    assert_eq!(svg_marker(&String::from_utf8(fs::read(&svg).unwrap()).unwrap()), Some(9));
    assert_eq!(cuda_marker(&String::from_utf8(fs::read(&cuda).unwrap()).unwrap()), Some(9));
    after.0.remove("plan.svg");
    after.1.remove("plan.cuh");
    assert_eq!(after, (without(leftovers.0, &["plan.svg"]), without(leftovers.1, &["plan.cuh"])));
}
