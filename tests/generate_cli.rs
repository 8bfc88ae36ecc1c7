//! `smemplan generate`, run as a user runs it: every family's file is the
//! library's draw with the flags given, byte for byte the same for the same
//! seed, read back by `solve` and `check`; a tiling's optimum and its own
//! layout check out; bad flags are refused naming the flag, before any file
//! is created.

use smemplan::core::bound::lower_bound;
use smemplan::core::format::minimalloc;
use smemplan::core::generate::{self, GenOptions, Spread, TilingOptions, TraceOptions};
use std::path::Path;

#[path = "support/cli.rs"]
mod harness;
use harness::{repo, s, scratch, smemplan};

fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    v.sort();
    v
}

/// One small run of each family, with some of its flags set.
const FAMILIES: [&[&str]; 4] = [
    &["random", "--buffers", "300", "--gaps", "0.2", "--fixed", "0.05", "--max-size", "4096"],
    &["trace", "--buffers", "2000", "--weights", "0.05", "--survival", "0.9", "--min-size", "64"],
    &["tiling", "--buffers", "200", "--pinwheels", "0.3", "--height", "65536"],
    &["dense", "--buffers", "2000"],
];

#[test]
fn the_same_seed_gives_the_same_bytes() {
    let dir = scratch("generate-seed");
    for family in FAMILIES {
        let name = family[0];
        let run = |seed: &str, file: &str| {
            let path = dir.join(file);
            let mut args = [&["generate"], family].concat();
            args.extend(["--seed", seed, "--out", s(&path)]);
            smemplan(&args).expect(0);
            std::fs::read(path).unwrap()
        };
        let first = run("7", &format!("{name}-a.csv"));
        assert_eq!(first, run("7", &format!("{name}-b.csv")), "{name}: seed 7 twice");
        assert_ne!(first, run("8", &format!("{name}-c.csv")), "{name}: seeds 7 and 8");
        // Without --out the CSV goes to stdout, the same bytes; the report
        // goes to stderr.
        let mut args = [&["generate"], family].concat();
        args.extend(["--seed", "7"]);
        let stdout = smemplan(&args).expect(0);
        assert_eq!(stdout.stdout.as_bytes(), first, "{name}: stdout");
        assert!(stdout.stderr.contains(&format!("family       {name}")), "{name}: {}", stdout.stderr);
        args.extend(["--out", "-"]);
        assert_eq!(smemplan(&args).expect(0).stdout.as_bytes(), first, "{name}: --out -");
    }
}

#[test]
fn a_committed_file_is_regenerated_byte_for_byte() {
    // Drawn when the docs were written: a change to the generator or to the
    // CSV writer that alters old files shows here.
    let committed = std::fs::read_to_string(repo("docs/generate-tiling-300.csv")).unwrap();
    let run = smemplan(&["generate", "tiling", "--buffers", "300", "--pinwheels", "0.3", "--seed", "300"]).expect(0);
    assert!(run.stdout == committed, "`docs/generate-tiling-300.csv` is no longer what its command draws");
}

#[test]
fn each_family_is_the_librarys_draw_and_reads_back() {
    let dir = scratch("generate-families");
    let expected = [
        generate::generate(
            &GenOptions {
                buffers: 300,
                gap_probability: 0.2,
                fixed_probability: 0.05,
                sizes: Spread::LogUniform { min: 1, max: 4096 },
                ..GenOptions::default()
            },
            3,
        )
        .unwrap(),
        generate::trace(
            &TraceOptions { buffers: 2000, weights: 0.05, survival: 0.9, min_size: 64, ..TraceOptions::default() },
            3,
        )
        .unwrap(),
        generate::tiling(&TilingOptions { buffers: 200, pinwheels: 0.3, height: 65536, timeline: None }, 3)
            .unwrap()
            .problem,
        generate::dense(2000, 3).unwrap(),
    ];
    for (family, want) in FAMILIES.iter().zip(&expected) {
        let name = family[0];
        let path = dir.join(format!("{name}.csv"));
        let mut args = [&["generate"], *family].concat();
        args.extend(["--seed", "3", "--out", s(&path)]);
        let report = smemplan(&args).expect(0).stdout;
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text, minimalloc::write(want, None), "{name}: not the library's draw");
        let (back, _) = minimalloc::read_instance(name, &text).unwrap();
        assert_eq!(back.buffers(), want.buffers(), "{name}");
        let lb = lower_bound(want).bytes;
        if name == "tiling" {
            assert!(report.contains(&format!("optimum      {lb} bytes")), "{report}");
        } else {
            assert!(report.contains(&format!("lower bound  {lb} bytes")), "{report}");
        }
        // `solve` reads it and lays it out (its checker accepts the layout).
        let solved = smemplan(&["solve", s(&path), "--strategy", "greedy-size", "--json"]).expect(0).json();
        assert_eq!(solved["buffers"], want.len(), "{name}");
        assert_eq!(solved["lower_bound"], lb, "{name}");
    }
}

#[test]
fn a_tiling_reports_its_optimum_and_writes_its_layout() {
    let dir = scratch("generate-tiling");
    let (inst, sol) = (dir.join("t.csv"), dir.join("s.csv"));
    let args =
        ["generate", "tiling", "--buffers", "40", "--pinwheels", "0.5", "--seed", "4", "--height", "1000", "--json"];
    let report = smemplan(&[&args[..], &["--out", s(&inst), "--solution", s(&sol)]].concat()).expect(0).json();
    assert_eq!(report["optimum"], 1000);
    assert_eq!(report["lower_bound"], 1000);
    assert_eq!(report["buffers"], 40);
    assert_eq!(report["in_pinwheels"], 20);
    assert_eq!(report["out"], s(&inst));
    assert_eq!(report["solution"], s(&sol));
    // Its own layout is valid and reaches the optimum exactly.
    let checked = smemplan(&["check", s(&inst), s(&sol), "--capacity", "1000"]).expect(0).stdout;
    assert!(checked.contains("valid: peak 1000 bytes"), "{checked}");
    let tight = smemplan(&["check", s(&inst), s(&sol), "--capacity", "999"]);
    assert_eq!(tight.code, 1, "{}", tight.stdout);
    // A solver asked for the reported capacity packs it (40 buffers are
    // within the perfect-packing search's reach at once).
    let solved = smemplan(&["solve", s(&inst), "--capacity", "1000", "--json"]).expect(0).json();
    assert_eq!(solved["feasible"], true, "{solved}");
    assert_eq!(solved["peak"], 1000);
}

#[test]
fn help_lists_the_families_and_their_flags() {
    assert!(smemplan(&["--help"]).expect(0).stdout.contains("generate"));
    let help = smemplan(&["generate", "--help"]).expect(0).stdout;
    for family in ["random", "trace", "tiling", "dense"] {
        assert!(help.contains(family), "{family} missing:\n{help}");
    }
    let flags: [(&str, &[&str]); 4] = [
        (
            "random",
            &["--timeline", "--max-lifetime", "--max-size", "--aligned", "--max-alignment", "--gaps", "--fixed"],
        ),
        ("trace", &["--weights", "--saved", "--min-size", "--tail", "--survival", "--alignment"]),
        ("tiling", &["--pinwheels", "--height", "--timeline", "--solution"]),
        ("dense", &[]),
    ];
    for (family, own) in flags {
        let help = smemplan(&["generate", family, "--help"]).expect(0).stdout;
        for flag in own.iter().chain(&["--buffers", "--seed", "--out", "--json"]) {
            assert!(help.contains(flag), "`generate {family} --help` lacks {flag}");
        }
    }
}

#[test]
fn bad_flags_are_refused_before_any_file_is_created() {
    let dir = scratch("generate-bad");
    let kept = dir.join("kept.csv");
    std::fs::write(&kept, "old").unwrap();
    let missing = dir.join("no/such/dir/t.csv");
    let cases: &[(&[&str], &str)] = &[
        (&["tiling", "--buffers", "0"], "--buffers 0"),
        (&["dense", "--buffers", "99999999999"], "--buffers 99999999999"),
        (&["tiling", "--buffers", "-3"], "'--buffers <N>'"),
        (&["random", "--seed", "-1"], "'--seed <S>'"),
        (&["tiling", "--buffers", "600", "--height", "10"], "--height 10"),
        (&["tiling", "--buffers", "20", "--timeline", "5"], "--timeline 5"),
        (&["tiling", "--pinwheels", "1.5"], "'--pinwheels <F>'"),
        (&["tiling", "--pinwheels", "x"], "`x` is not a number"),
        (&["trace", "--tail", "0.99"], "between 0 and 0.95"),
        (&["trace", "--pinwheels", "0.3"], "'--pinwheels'"),
        (&["trace", "--min-size", "0"], "'--min-size <BYTES>'"),
        (&["random", "--max-alignment", "12"], "not a power of two"),
        (&["random", "--gaps", "-0.1"], "'--gaps <P>'"),
        (&["random", "--timeline", "0"], "'--timeline <T>'"),
        (&["cubes"], "unrecognized subcommand 'cubes'"),
        (&["tilling"], "a similar subcommand exists: 'tiling'"),
        (&["tiling", "--pinwheel", "0.3"], "a similar argument exists: '--pinwheels'"),
        (&["tiling", "--solution", "-"], "--solution needs a file"),
        (&["random", "--max-size", "18446744073709551615", "--fixed", "1"], "cannot draw with --max-size"),
        (&["trace", "--buffers", "10", "--min-size", "18446744073709551615"], "cannot draw with --min-size"),
    ];
    for (args, want) in cases {
        let out = dir.join("out.csv");
        let args = [&["generate"], *args, &["--out", s(&out)]].concat();
        let run = smemplan(&args).expect(2);
        assert!(run.stderr.contains(want), "{args:?}: wanted `{want}` in:\n{}", run.stderr);
        assert!(run.stdout.is_empty(), "{args:?}: {}", run.stdout);
        assert_eq!(entries(&dir), ["kept.csv"], "{args:?} left files behind");
    }
    // --json needs the CSV out of stdout's way.
    for out in [None, Some("-")] {
        let args = [&["generate", "dense", "--buffers", "5", "--json"][..], &out.map_or(vec![], |o| vec!["--out", o])]
            .concat();
        let run = smemplan(&args).expect(2);
        assert!(run.stderr.contains("give --out FILE") && run.stdout.is_empty(), "{args:?}: {}", run.stderr);
    }
    // A destination that cannot be written: refused before the draw, and
    // the missing folder is not created; an existing file stays as it was.
    let run = smemplan(&["generate", "tiling", "--out", s(&missing)]).expect(2);
    assert!(run.stderr.contains("--out") && run.stderr.contains("does not exist"), "{}", run.stderr);
    let run = smemplan(&["generate", "tiling", "--out", s(&kept), "--solution", s(&missing)]).expect(2);
    assert!(run.stderr.contains("--solution"), "{}", run.stderr);
    let run = smemplan(&["generate", "tiling", "--out", s(&kept), "--solution", s(&kept)]).expect(2);
    assert!(run.stderr.contains("both name"), "{}", run.stderr);
    assert_eq!(entries(&dir), ["kept.csv"]);
    assert_eq!(std::fs::read_to_string(&kept).unwrap(), "old");
}

#[test]
fn the_acceptance_set_is_the_families_with_seed_equal_to_buffers() {
    let dir = scratch("generate-acceptance");
    let set = smemplan(&["generate", "acceptance", "--out-dir", s(&dir), "--json"]).expect(0).json();
    let instances = set["instances"].as_array().unwrap();
    let names: Vec<&str> = instances.iter().map(|i| i["name"].as_str().unwrap()).collect();
    let library: Vec<String> = generate::acceptance().unwrap().into_iter().map(|i| i.name).collect();
    assert_eq!(names, library);
    // A tiling is run at its optimum, which is its lower bound.
    for i in instances.iter().filter(|i| !i["capacity"].is_null()) {
        assert_eq!(i["capacity"], i["lower_bound"], "{}", i["name"]);
    }
    let mut files: Vec<String> = library.iter().map(|n| format!("{n}.csv")).collect();
    files.sort();
    assert_eq!(entries(&dir), files, "one file per instance, nothing else");
    // Each is the family's command with seed = buffers, as the docs say.
    for (name, args) in [
        ("pinwheel-600", &["tiling", "--buffers", "600", "--pinwheels", "0.3", "--seed", "600"][..]),
        ("guillotine-1000", &["tiling", "--buffers", "1000", "--seed", "1000"]),
        ("trace-10000", &["trace", "--buffers", "10000", "--seed", "10000"]),
    ] {
        let written = std::fs::read_to_string(dir.join(format!("{name}.csv"))).unwrap();
        let drawn = smemplan(&[&["generate"], args].concat()).expect(0).stdout;
        assert!(written == drawn, "{name} is not `generate {}`", args.join(" "));
        let entry = instances.iter().find(|i| i["name"] == name).unwrap();
        let capacity = if name.starts_with("trace") { serde_json::Value::Null } else { 1048576.into() };
        assert_eq!(entry["capacity"], capacity, "{name}");
        assert_eq!(entry["out"], s(&dir.join(format!("{name}.csv"))));
    }
    // A second run replaces the files in place; a missing folder is
    // refused without creating it.
    smemplan(&["generate", "acceptance", "--out-dir", s(&dir)]).expect(0);
    assert_eq!(entries(&dir), files);
    let missing = dir.join("missing");
    let run = smemplan(&["generate", "acceptance", "--out-dir", s(&missing)]).expect(2);
    let want = format!("--out-dir `{}`: no such directory (create it first)", s(&missing));
    assert!(run.stderr.contains(&want), "{}", run.stderr);
    let file = dir.join("trace-10000.csv");
    let run = smemplan(&["generate", "acceptance", "--out-dir", s(&file)]).expect(2);
    assert!(run.stderr.contains(&format!("--out-dir `{}` is not a directory", s(&file))), "{}", run.stderr);
    assert!(!missing.exists());
}
