//! What the binary says when it is given a near miss or a bad value
//! (issue 17, part 7), the summary `plan` prints over a grid of
//! configurations (part 2), and what `sweep` says it held fixed (part 1):
//! each message checked as a user sees it, on stderr with exit 2.

use std::path::Path;

#[path = "support/cli.rs"]
mod harness;
use harness::{repo, s, scratch, smemplan};

/// Runs and expects a usage error (exit 2) whose stderr holds every one of
/// `want` and none of `never`.
fn says(args: &[&str], want: &[&str], never: &[&str]) -> String {
    let err = smemplan(args).expect(2).stderr;
    for w in want {
        assert!(err.contains(w), "{args:?}: `{w}` missing from:\n{err}");
    }
    for n in never {
        assert!(!err.contains(n), "{args:?}: `{n}` in:\n{err}");
    }
    err
}

#[test]
fn near_misses_get_a_suggestion() {
    // Models, in both commands that take them.
    for cmd in ["plan", "sweep"] {
        says(&[cmd, "--model", "dirc"], &["no built-in model `dirc`", "did you mean `dirk`?"], &["dirc.toml"]);
    }
    // Parameters.
    says(&["plan", "--set", "N=20"], &["key `N`: unknown parameter", "did you mean `n`?"], &[]);
    says(&["sweep", "--set", "precison=f32,f64"], &["has no parameter `precison`", "did you mean `precision`?"], &[]);
    // Devices.
    for cmd in ["plan", "sweep"] {
        says(&[cmd, "--device", "h10"], &["unknown device `h10`", "did you mean `h100`?"], &[]);
    }
    says(&["occupancy", "--device", "h10", "--block-size", "64"], &["did you mean `h100`?"], &[]);
    // Strategies: the sweep's list (with `cubie`) and clap's for `plan`.
    says(&["sweep", "--strategies", "cubie,atuo"], &["unknown strategy `atuo`", "did you mean `auto`?"], &[]);
    says(&["plan", "--strategy", "greedy-sise"], &["'greedy-size'"], &[]);
    // Values from a list.
    says(&["plan", "--set", "linear=LU"], &["'LU' is not allowed for `linear`", "did you mean `lu`?"], &[]);
    says(&["plan", "--set", "algorithm=kvaerno"], &["unknown algorithm `kvaerno`", "did you mean `kvaerno3`?"], &[]);
    // Far from every name: the list alone.
    says(&["plan", "--device", "tpu"], &["unknown device `tpu` (known: "], &["did you mean"]);
}

/// `--model` with a model file's path is told that files are given as
/// files, in both commands that take `--model`.
#[test]
fn a_model_file_given_as_a_name_is_told_how_to_give_it() {
    for cmd in ["plan", "sweep"] {
        for path in ["models/integrators/dirk.toml", "mine.toml"] {
            says(
                &[cmd, "--model", path],
                &[&format!("no built-in model `{path}`"), "is a file's path: a model file is given as a file"],
                &["did you mean"],
            );
        }
    }
}

#[test]
fn a_file_is_named_only_when_the_user_gave_one() {
    says(&["plan", "--model", "dirc"], &[], &[".toml"]);
    let err = says(&["plan", "--set", "N=20"], &["model `dirk`"], &[".toml"]);
    assert!(err.starts_with("smemplan: model `dirk`: "), "{err}");
    // A model file the user gave is named.
    let dir = scratch("messages-file");
    let file = dir.join("mine.toml");
    std::fs::copy(repo("models/erk.toml"), &file).unwrap();
    says(&["plan", s(&file), "--set", "N=20"], &[&format!("{}: key `N`", s(&file)), "did you mean `n`?"], &[]);
}

#[test]
fn a_bad_value_is_told_what_is_wrong() {
    says(
        &["plan", "--set", "precision=f16"],
        &["`f16` is not a run precision: one of f32, f64"],
        &["needs a `precision` parameter"],
    );
    for cmd in ["plan", "sweep"] {
        says(
            &[cmd, "--set", "n=3..200"],
            &["parameter `n`: `3..200` is not a value", "written `3..=200`"],
            &["is not allowed for `n`"],
        );
    }
}

#[test]
fn a_file_that_is_not_json_is_not_a_cubie_dump() {
    let dir = scratch("messages-dump");
    let csv = dir.join("some.csv");
    std::fs::write(&csv, "id,lower,upper,size\na,0,4,8\n").unwrap();
    says(
        &["plan", "--cubie", s(&csv)],
        &[&format!("{}:1: not a JSON CuBIE dump (a dump is a JSON object", s(&csv))],
        &["expected value"],
    );
    let number = dir.join("n.json");
    std::fs::write(&number, "12\n").unwrap();
    says(&["plan", "--cubie", s(&number)], &["not a JSON CuBIE dump"], &[]);
}

/// A PATH with the few tools the script needs and no `nvidia-smi` or `nvcc`.
fn path_without_a_gpu(dir: &Path) -> std::path::PathBuf {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    for tool in ["bash", "dirname", "mkdir"] {
        let found = ["/usr/bin", "/bin"].iter().map(|d| Path::new(d).join(tool)).find(|p| p.exists());
        std::os::unix::fs::symlink(found.unwrap_or_else(|| panic!("{tool} is installed")), bin.join(tool)).unwrap();
    }
    bin
}

#[test]
fn gpu_verify_without_a_gpu_ends_with_the_labs_message_and_code() {
    use std::os::unix::fs::PermissionsExt;
    let dir = scratch("messages-gpu-verify");
    let path = path_without_a_gpu(&dir);
    // A lab standing in for the real one: its words and its code (3, which
    // nothing else in the script returns) must be the script's.
    let bins = dir.join("bins");
    std::fs::create_dir_all(&bins).unwrap();
    let lab = bins.join("smemplan-lab");
    std::fs::write(&lab, "#!/bin/bash\necho \"lab: no GPU here ($*)\" >&2\nexit 3\n").unwrap();
    std::fs::set_permissions(&lab, std::fs::Permissions::from_mode(0o755)).unwrap();
    let script = repo("scripts/gpu-verify.sh");
    let run = |bin_dir: &Path| {
        std::process::Command::new(path.join("bash"))
            .arg(&script)
            .arg(bin_dir)
            .arg(dir.join("out"))
            .env("PATH", &path)
            .output()
            .unwrap()
    };
    let out = run(&bins);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert_eq!(err, "lab: no GPU here (verify --all-models)\n");
    // Without the lab: the script's own message, exit 2.
    let out = run(&dir.join("empty"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("no smemplan-lab in") && !err.contains("command not found"), "{err}");
}

#[test]
fn plan_over_a_grid_prints_one_summary_row_per_configuration() {
    let dir = scratch("messages-grid");
    let csv = dir.join("summary.csv");
    let base = ["plan", "--strategy", "greedy-size", "--time-limit", "1"];
    let grid = ["--model", "dirk,erk", "--set", "n=3,20", "--precision", "f32,f64", "--device", "h100,a100"];
    let args: Vec<&str> = base.iter().chain(&grid).copied().chain(["--json", "--csv", s(&csv)]).collect();
    let json = smemplan(&args).expect(0).json();
    let rows = json["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 16);
    assert_eq!(json["axes"], serde_json::json!(["n", "precision"]));
    // Each row is what `plan` says of that configuration alone.
    for (i, r) in rows.iter().enumerate().step_by(5) {
        let (n, precision) = (r["params"]["n"].as_str().unwrap(), r["params"]["precision"].as_str().unwrap());
        let one: Vec<String> = base
            .iter()
            .map(|a| a.to_string())
            .chain([
                "--model".into(),
                r["model"].as_str().unwrap().into(),
                "--set".into(),
                format!("n={n}"),
                "--precision".into(),
                precision.into(),
                "--device".into(),
                r["device"].as_str().unwrap().into(),
                "--json".into(),
            ])
            .collect();
        let single = smemplan(&one).expect(0).json();
        assert_eq!(r["index"], i);
        assert_eq!(r["cubie_layout_shared_bytes"], single["cubie"]["shared_bytes"], "row {i}");
        assert_eq!(r["shared_bytes"], single["optimized"]["shared_bytes"], "row {i}");
        assert_eq!(r["cubie_layout_block_size"], single["cubie"]["block_size"], "row {i}");
        assert_eq!(r["best_block_size"], single["optimized"]["best_block_size"]["block_size"], "row {i}");
        let saved = r["cubie_layout_shared_bytes"].as_i64().unwrap() - r["shared_bytes"].as_i64().unwrap();
        assert_eq!(r["shared_bytes_saved"], saved, "row {i}");
        let speedup = single["optimized"]["best_block_size"]["estimated_runs_per_second"].as_f64().unwrap()
            / single["cubie"]["at_block_size"]["estimated_runs_per_second"].as_f64().unwrap();
        assert!((r["speedup_vs_cubie"].as_f64().unwrap() - speedup).abs() < 1e-9 * speedup, "row {i}");
    }
    // The CSV carries the same rows.
    let text = std::fs::read_to_string(&csv).unwrap();
    assert_eq!(text.lines().count(), 17);
    assert!(text.starts_with("index,model,n,precision,device,strategy,cubie_layout_shared_bytes,shared_bytes,shared_bytes_saved,shared_percent_saved,"), "{text}");
    // With --csv, stdout keeps only the gist.
    let args: Vec<&str> = base.iter().chain(&grid).copied().chain(["--csv", s(&csv)]).collect();
    let gist = smemplan(&args).expect(0).stdout;
    assert!(
        gist.starts_with("16 configurations;") && gist.ends_with(&format!("rows written to {}\n", s(&csv))),
        "{gist}"
    );
    // The table names the varying columns and the speed-up.
    let args: Vec<&str> = base.iter().chain(&grid).copied().collect();
    let table = smemplan(&args).expect(0).stdout;
    for needle in ["model", "precision", "saved B", "speed-up", "16 configurations; strategy greedy-size"] {
        assert!(table.contains(needle), "{needle}:\n{table}");
    }
    // One picture or header per configuration only, and nothing written.
    let svg = dir.join("x.svg");
    says(&["plan", "--set", "n=3,20", "--svg", s(&svg)], &["--svg draws one configuration, and 2 are given"], &[]);
    assert!(!svg.exists());
}

#[test]
fn one_configuration_prints_the_comparison_as_before() {
    let run = smemplan(&["plan", "--set", "n=20", "--time-limit", "1", "--json"]).expect(0).json();
    assert!(run.get("rows").is_none() && run["cubie"]["shared_bytes"].is_u64(), "{run}");
    assert_eq!(run["input"]["params"]["n"], 20);
    let text = smemplan(&["plan", "--set", "n=3", "--set", "n=20", "--time-limit", "1"]).expect(0).stdout;
    assert!(text.starts_with("input     built-in model dirk\nparams    ") && text.contains(" n=20 "), "{text}");
}

#[test]
fn sweep_notes_what_it_held_fixed() {
    let csv = scratch("messages-held").join("rows.csv");
    let quick = ["sweep", "--strategies", "cubie", "--csv", s(&csv)];
    let with = |extra: &[&str]| {
        let args: Vec<&str> = quick.iter().chain(extra).copied().collect();
        smemplan(&args).expect(0).stderr
    };
    let err = with(&["--precision", "f32,f64"]);
    assert!(err.contains("dirk: held fixed: ") && err.contains("lu_nnz = 495 (derived from n)"), "{err}");
    assert!(err.contains(", n = 100,") && !err.contains("precision ="), "{err}");
    let err = with(&["--set", "n=3,20"]);
    assert!(
        err.contains("dirk: follow the swept parameters: jac_cache (derived from n), lu_nnz (derived from n)"),
        "{err}"
    );
    assert!(!err.contains("lu_nnz = "), "{err}");
    let err = with(&["--set", "algorithm=kvaerno3,kvaerno5"]);
    assert!(err.contains("stages (set by algorithm)"), "{err}");
}

#[test]
fn the_model_list_shows_derived_sizes_with_their_rule() {
    let out = smemplan(&["plan", "--list-models"]).expect(0).stdout;
    assert!(out.contains("lu_nnz = max(n, min(n * n, 5 * n - 5)) (from n)"), "{out}");
    assert!(out.contains("adaptive = controller != 'fixed' (from controller)"), "{out}");
}

/// A model swept twice is told where both came from; `--model all` is
/// explained only where it was given (it read "--model all names every
/// built-in model" for two copies of one file too).
#[test]
fn a_model_swept_twice_names_both_sources() {
    let erk = repo("models/erk.toml");
    let err = says(&["sweep", s(&erk), s(&erk)], &["model `erk` is swept twice"], &["--model all"]);
    assert!(err.contains(&format!("(from `{}` and `{}`)", erk.display(), erk.display())), "{err}");
    says(&["sweep", s(&erk), "--model", "erk"], &[&format!("(from `{}` and `--model erk`)", erk.display())], &[]);
    says(
        &["sweep", "--model", "all,dirk"],
        &["model `dirk` is swept twice (from `--model all` and `--model dirk`; --model all names every built-in model)"],
        &[],
    );
}

/// A derived size whose rule passes through a product beyond 64 bits is
/// evaluated exactly: `lu_nnz = max(n, min(n * n, 5 * n - 5))` at n = 2³²
/// said "overflow in `4294967296 * 4294967296`"; its value fits, and the
/// kernel plans. Past what 64 bits hold, the error names the kernel's own
/// size, not an intermediate.
#[test]
fn sizes_are_not_refused_for_an_intermediate_beyond_64_bits() {
    let out = smemplan(&["plan", "--set", "n=4294967296", "--time-limit", "1"]).expect(0).stdout;
    assert!(out.contains(" lu_nnz=21474836475 ") && out.contains(" jac_cache=13207024443 "), "{out}");
    says(
        &["plan", "--set", "n=4611686018427387904", "--time-limit", "1"],
        &["key `buffer(kernel/loop/algorithm/accumulator).size`: overflow: the value 13835058055282163712 does not \
             fit in 64 bits"],
        &["overflow in `"],
    );
}

/// A hand-written model: one top-level component `kernel`, then `items`;
/// its path and the line of the last line that holds `marker`.
fn small_model(name: &str, items: &str, marker: &str) -> (std::path::PathBuf, usize) {
    let text = format!(
        "name = \"t\"\n[params]\nprecision = \"f32\"\n[[component]]\npath = \"kernel\"\nclass = \"X\"\n{items}"
    );
    let line = text.lines().enumerate().filter(|(_, l)| l.contains(marker)).last().expect("the marker is there").0 + 1;
    let path = scratch(&format!("messages-model-{name}")).join(name);
    std::fs::write(&path, text).unwrap();
    (path, line)
}

/// A size beyond 64 bits in a model file names its key and says so (it
/// read "invalid type: integer `18446744073709551616` as i128, expected
/// any value").
#[test]
fn a_model_number_beyond_64_bits_names_its_key() {
    let (model, line) = small_model(
        "huge.toml",
        "[[buffer]]\ncomponent = \"kernel\"\nname = \"a\"\nsize = 18446744073709551616\n",
        "size",
    );
    says(
        &["plan", s(&model)],
        &[&format!(
            "{}:{line}: key `buffer(kernel/a).size`: integer `18446744073709551616` does not fit in 64 bits \
             (integers lie in -9223372036854775808 ..= 9223372036854775807)",
            model.display()
        )],
        &["i128", "invalid type"],
    );
}

/// Declarations a model's instantiation or CuBIE's registry refuses name
/// the file, line and key, as every other model error does (they named the
/// model alone: "t: key `buffer(kernel/zzz/a)`: no such component",
/// "model `t`: component `kernel`: alias target ...", "model `t`:
/// arithmetic overflow: bytes of buffer `a` ..."), and a component declared
/// twice says so (it read "has no parent, but `kernel` is already the
/// kernel's top-level component").
#[test]
fn model_declaration_errors_name_file_line_and_key() {
    let buffer = |component: &str, name: &str, rest: &str| {
        format!("[[buffer]]\ncomponent = \"{component}\"\nname = \"{name}\"\nsize = 4\n{rest}")
    };
    for (file, items, marker, want) in [
        (
            "missing.toml",
            buffer("kernel/zzz", "a", ""),
            "name = \"a\"",
            "key `buffer(kernel/zzz/a)`: component `kernel/zzz` is not declared",
        ),
        (
            "repeated.toml",
            buffer("kernel", "b", "") + &buffer("kernel", "a", "") + &buffer("kernel", "a", "location = \"shared\"\n"),
            "name = \"a\"",
            "key `buffer(kernel/a)`: buffer `a` of component `kernel` is declared twice (first at line 13)",
        ),
        (
            "alias.toml",
            buffer("kernel", "a", "aliases = \"nope\"\n"),
            "name = \"a\"",
            "key `buffer(kernel/a)`: alias target `nope` of `a` is not registered",
        ),
        (
            "empty.toml",
            "[[component]]\npath = \"\"\nclass = \"X\"\n".to_string(),
            "path = \"\"",
            "key `component()`: a component path cannot be empty",
        ),
        (
            "oversized.toml",
            buffer("kernel", "a", "").replace("size = 4", "size = 9223372036854775807"),
            "size = 9223372036854775807",
            "key `buffer(kernel/a).size`: 9223372036854775807 elements of float32 are 36893488147419103228 bytes, \
             more than 64 bits hold",
        ),
        (
            "twice.toml",
            "[[component]]\npath = \"kernel\"\nclass = \"X\"\n".to_string(),
            "path = \"kernel\"",
            "key `component(kernel)`: component `kernel` is declared twice (first at line 5)",
        ),
    ] {
        let (model, line) = small_model(file, &items, marker);
        for cmd in ["plan", "sweep"] {
            says(
                &[cmd, s(&model), "--time-limit", "1"],
                &[&format!("{}:{line}: {want}", model.display())],
                &["has no parent", "model `t`", "t: key"],
            );
        }
    }
}

/// A dump from another CuBIE version is planned, with a note that its
/// registrations are replayed by 0.17.0's rules; a 0.17.0 dump gets none.
#[test]
fn a_dump_of_another_cubie_version_is_noted() {
    let original = repo("tests/data/cubie-reference/erk__classical-rk4__float32__n20__all_shared.json");
    let later = scratch("dump-version").join("later.json");
    std::fs::write(&later, std::fs::read_to_string(&original).unwrap().replacen("\"0.17.0\"", "\"0.18.0\"", 1))
        .unwrap();
    let run = smemplan(&["plan", "--cubie", s(&later)]).expect(0);
    assert!(run
        .stderr
        .contains("the dump is from CuBIE 0.18.0; its registrations are replayed by CuBIE 0.17.0's rules"));
    assert!(!smemplan(&["plan", "--cubie", s(&original)]).expect(0).stderr.contains("note"));
}
