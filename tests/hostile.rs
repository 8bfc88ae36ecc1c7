//! Hostile but honest input (issue 11), through the binary: outputs that are
//! all or nothing, also when the run is interrupted; names that would break
//! the generated C++ or SVG; expressions nested past any stack.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

#[path = "support/cli.rs"]
mod harness;
use harness::{repo, s, scratch, smemplan};

fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> =
        fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    v.sort();
    v
}

const DUMP: &str = "tests/data/cubie-reference/firk__radau_iia_9__float32__n3__all_shared.json";

#[test]
fn solve_writes_both_outputs_or_neither() {
    let dir = scratch("hostile-solve-outputs");
    let out = dir.join("out.csv");
    fs::write(&out, "old").unwrap();
    fs::create_dir(dir.join("somedir")).unwrap();
    let cases = [
        (dir.join("somedir"), "is a directory"),
        (dir.join("missing/x.svg"), "does not exist"),
        (out.clone(), "--out and --svg both name"),
        (dir.join("somedir/../out.csv"), "--out and --svg both name"),
    ];
    for (svg, want) in cases {
        let run = smemplan(&["solve", "--out", s(&out), "--svg", s(&svg)]).expect(2);
        assert!(run.stderr.contains(want), "{}: {}", svg.display(), run.stderr);
        assert_eq!(fs::read_to_string(&out).unwrap(), "old", "{}", svg.display());
        assert_eq!(entries(&dir), vec!["out.csv", "somedir"]);
    }
    let report = smemplan(&["solve", "--out", s(&out), "--svg", s(&dir.join("out.svg")), "--json"]).expect(0).json();
    assert_eq!(report["out"].as_str(), Some(s(&out)));
    assert!(fs::read_to_string(&out).unwrap().starts_with("id,"));
    assert_eq!(entries(&dir), vec!["out.csv", "out.svg", "somedir"]);
}

#[test]
fn plan_writes_both_outputs_or_neither() {
    let dir = scratch("hostile-plan-outputs");
    let svg = dir.join("plan.svg");
    fs::write(&svg, "old").unwrap();
    fs::create_dir(dir.join("somedir")).unwrap();
    for (cuda, want) in [(dir.join("somedir"), "is a directory"), (svg.clone(), "--svg and --cuda both name")] {
        let run = smemplan(&["plan", "--svg", s(&svg), "--cuda", s(&cuda), "--time-limit", "1"]).expect(2);
        assert!(run.stderr.contains(want), "{}: {}", cuda.display(), run.stderr);
        assert_eq!(fs::read_to_string(&svg).unwrap(), "old");
        assert_eq!(entries(&dir), vec!["plan.svg", "somedir"]);
    }
}

#[test]
fn leftovers_of_killed_runs_are_removed() {
    let dir = scratch("hostile-stale");
    // PIDs above the kernel's limit (2^22) never run; a live process's file
    // (this test's own PID) stays.
    let dead = dir.join(".out.csv.smemplan-4999999-3.tmp");
    let live = dir.join(format!(".out.csv.smemplan-{}-0.tmp", std::process::id()));
    fs::write(&dead, vec![0u8; 1 << 20]).unwrap();
    fs::write(&live, "x").unwrap();
    smemplan(&["solve", "--out", s(&dir.join("out.csv"))]).expect(0);
    assert!(!dead.exists() && live.exists());
}

/// `solve` reading its instance from a FIFO blocks after reserving its
/// outputs, so a signal reliably lands while the temporaries exist.
#[cfg(unix)]
#[test]
fn an_interrupted_run_leaves_no_temporary_and_no_output() {
    use std::os::unix::process::ExitStatusExt;
    for signal in ["TERM", "INT", "HUP"] {
        let dir = scratch(&format!("hostile-signal-{signal}"));
        let fifo = dir.join("instance.csv");
        assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
        let out = dir.join("out.csv");
        let mut child = Command::new(env!("CARGO_BIN_EXE_smemplan"))
            .args(["solve", s(&fifo), "--out", s(&out), "--svg", s(&dir.join("out.svg"))])
            .spawn()
            .unwrap();
        let start = Instant::now();
        while entries(&dir).len() < 3 {
            assert!(start.elapsed() < Duration::from_secs(20), "no temporaries appeared: {:?}", entries(&dir));
            std::thread::sleep(Duration::from_millis(10));
        }
        let pid = child.id().to_string();
        assert!(Command::new("kill").args(["-s", signal, &pid]).status().unwrap().success());
        let status = child.wait().unwrap();
        assert!(status.signal().is_some(), "{signal}: {status:?}");
        assert_eq!(entries(&dir), vec!["instance.csv"], "{signal}");
    }
}

/// A CuBIE dump whose buffer names are the worst a dump can hold.
fn hostile_dump(dir: &Path) -> PathBuf {
    let mut dump: serde_json::Value = serde_json::from_str(&fs::read_to_string(repo(DUMP)).unwrap()).unwrap();
    let hostile = [
        "a\n#error the newline ended the comment",
        "int",
        "ends with a backslash \\",
        "block_size",
        "shared_bytes_per_run",
        "δt",
        "_Z9",
        "a-b",
        "a.b",
        "9lives",
        "ctl\u{1}\u{0}",
        "*/ /* \r",
    ];
    let buffers = dump["buffers"].as_array_mut().unwrap();
    // Aliased buffers and their targets keep their names, so that aliases
    // still resolve.
    let aliased: Vec<String> =
        buffers.iter().filter_map(|b| b[5].as_str().map(|t| format!("{}/{t}", b[0].as_str().unwrap()))).collect();
    let mut renamed = 0;
    for b in buffers.iter_mut() {
        let full = format!("{}/{}", b[0].as_str().unwrap(), b[1].as_str().unwrap());
        if b[5].is_null() && !aliased.contains(&full) && renamed < hostile.len() {
            b[1] = hostile[renamed].into();
            renamed += 1;
        }
    }
    assert_eq!(renamed, hostile.len(), "the dump has enough plain buffers");
    let path = dir.join("hostile.json");
    fs::write(&path, serde_json::to_string(&dump).unwrap()).unwrap();
    path
}

#[test]
fn hostile_names_give_a_header_that_compiles_and_a_well_formed_svg() {
    let dir = scratch("hostile-names");
    let dump = hostile_dump(&dir);
    let (header, svg) = (dir.join("layout.cuh"), dir.join("plan.svg"));
    smemplan(&["plan", "--cubie", s(&dump), "--cuda", s(&header), "--svg", s(&svg), "--time-limit", "1"]).expect(0);
    let text = fs::read_to_string(&header).unwrap();
    assert!(text.contains("loop__a_b(") && text.contains("loop__a_b_2("), "{text}");
    assert!(!text.lines().any(|l| l.starts_with("#error")), "{text}");
    let picture = fs::read_to_string(&svg).unwrap();
    assert!(!picture.chars().any(|c| c.is_control() && c != '\n'), "{picture:?}");

    if std::env::var_os("SMEMPLAN_SKIP_CXX").is_some() {
        eprintln!("SMEMPLAN_SKIP_CXX is set: the header is not compiled");
        return;
    }
    let program = dir.join("use.cpp");
    fs::write(&program, "#include \"layout.cuh\"\nint main() { return smemplan_layout::block_size == 0; }\n").unwrap();
    let cxx = std::env::var("CXX").unwrap_or_else(|_| "c++".into());
    let out = Command::new(&cxx)
        .args([
            "-std=c++17",
            "-fsyntax-only",
            "-Wall",
            "-Werror",
            "-D__host__=",
            "-D__device__=",
            "-D__forceinline__=inline",
        ])
        .arg(&program)
        .output()
        .unwrap_or_else(|e| panic!("`{cxx}` does not run ({e}); set SMEMPLAN_SKIP_CXX to skip"));
    assert!(out.status.success(), "{}\n{text}", String::from_utf8_lossy(&out.stderr));
}

/// A copy of the built-in explicit Euler model with one more derived value,
/// `deep = "{expr}"`, and the line it is on.
fn model_with_derived(dir: &Path, expr: &str) -> (PathBuf, usize) {
    let text = fs::read_to_string(repo("models/explicit_euler.toml")).unwrap();
    let (before, after) = text.split_once("[derived]\n").expect("the model has derived values");
    let line = before.lines().count() + 2;
    let path = dir.join("deep.toml");
    fs::write(&path, format!("{before}[derived]\ndeep = \"{expr}\"\n{after}")).unwrap();
    (path, line)
}

#[test]
fn deep_expressions_are_errors_naming_file_and_line() {
    let dir = scratch("hostile-deep");
    for expr in ["(".repeat(5_000) + "n" + &")".repeat(5_000), "!".repeat(30_000) + "n"] {
        let (model, line) = model_with_derived(&dir, &expr);
        let run = smemplan(&["plan", s(&model), "--time-limit", "1"]).expect(2);
        assert!(run.stderr.contains("nests more than"), "{}", run.stderr);
        assert!(run.stderr.contains(&format!("{}:{line}", model.display())), "{}", run.stderr);
    }
}
