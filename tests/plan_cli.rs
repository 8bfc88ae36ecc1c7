//! `smemplan plan` run as a user runs it: CuBIE's numbers reproduced from a
//! sample of the reference dumps (every 10th file, through the binary; the
//! library test covers all 375), the optimised side never worse, the
//! built-in default, parameters that change the numbers, bad inputs named by
//! file, line and key, and the generated header compiled with the system C++
//! compiler.

#[path = "support/cxx.rs"]
mod cxx;
#[path = "support/cli.rs"]
mod harness;

use harness::{repo, s, scratch, smemplan};
use serde_json::Value;
use smemplan::kernel::model::DEFAULT_MODEL;
use smemplan::solve::strategies::DEFAULT_STRATEGY;
use std::path::PathBuf;
use std::process::Command;

#[path = "support/data.rs"]
mod data;
use data::data_files;

fn reference_files() -> Vec<PathBuf> {
    let files = data_files("tests/data/cubie-reference", "json");
    assert_eq!(files.len(), 375);
    files
}

fn u(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not an unsigned integer: {v}"))
}

/// Both sides' headline numbers are present, and the optimised side is
/// never worse than CuBIE's.
fn assert_sides(v: &Value, what: &str) {
    for side in ["cubie", "optimized"] {
        for key in ["shared_bytes", "local_bytes", "persistent_local_bytes", "padded_shared_bytes"] {
            assert!(v[side][key].is_u64(), "{what}: {side}.{key} = {}", v[side][key]);
        }
        assert!(v[side]["buffers"].is_array(), "{what}: {side}.buffers");
    }
    for key in ["shared_bytes", "local_bytes", "persistent_local_bytes"] {
        assert!(u(&v["optimized"][key]) <= u(&v["cubie"][key]), "{what}: optimised {key} above CuBIE's");
    }
    assert!(v["optimal"].is_boolean() && v["strategy"].is_string(), "{what}");
}

#[test]
fn cubie_side_reproduces_every_tenth_reference_dump() {
    let files = reference_files();
    let mut checked = 0;
    for file in files.iter().step_by(10) {
        let dump: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
        let id = dump["config"]["id"].as_str().unwrap();
        let top = &dump["top_level"];
        let launch = &dump["launch"];
        for (device, requested) in [("h100", "256"), ("simulator", "64")] {
            let v = smemplan(&["plan", "--cubie", s(file), "--device", device, "--block-size", requested, "--json"])
                .expect(0)
                .json();
            let what = format!("{id} on {device} at {requested}");
            let c = &v["cubie"];
            assert_eq!(c["shared_bytes"], top["shared_bytes_per_run"], "{what}: shared bytes");
            assert_eq!(c["shared_elements"], top["shared_elements_per_run"], "{what}");
            assert_eq!(c["persistent_local_bytes"], top["persistent_local_bytes"], "{what}: persistent local");
            assert_eq!(c["local_bytes"], top["local_bytes_all_components"], "{what}: local bytes");
            assert_eq!(c["skew_bytes"], launch["skew_bytes"], "{what}");
            assert_eq!(c["padded_shared_bytes"], launch["padded_shared_bytes_per_run"], "{what}");
            let want = &launch["limit_blocksize"][device]["requested"][requested];
            assert_eq!(c["block_size"], want["blocksize"], "{what}: block size");
            assert_eq!(c["dynamic_shared_bytes"], want["dynamic_shared_bytes"], "{what}: dynamic shared bytes");
            assert_eq!(c["block_warning"].as_str(), want["warning"].as_str(), "{what}: warning");
            assert_sides(&v, &what);
            assert_eq!(
                (v["device"].as_str(), u(&v["requested_block_size"])),
                (Some(device), requested.parse().unwrap())
            );
            assert_eq!(v["input"]["kind"], "cubie");
            assert_eq!(v["input"]["name"], id);
            // Every leaf buffer appears on both sides.
            let leaves = dump["buffers"].as_array().unwrap().iter().filter(|b| b[9].is_null()).count();
            assert_eq!(c["buffers"].as_array().unwrap().len(), leaves, "{what}");
            assert_eq!(v["optimized"]["buffers"].as_array().unwrap().len(), leaves, "{what}");
        }
        checked += 1;
    }
    assert_eq!(checked, 38);
}

#[test]
fn plan_without_arguments_shows_both_sides_of_the_default_model() {
    let run = smemplan(&["plan"]).expect(0);
    for needle in [
        "built-in model",
        DEFAULT_MODEL,
        DEFAULT_STRATEGY,
        "cubie",
        "optimised",
        "shared bytes per run",
        "local bytes per thread",
        "persistent local bytes",
        "block size (CuBIE's rule)",
        "kernel/loop/state",
    ] {
        assert!(run.stdout.contains(needle), "`{needle}` missing:\n{}", run.stdout);
    }
    let v = smemplan(&["plan", "--json"]).expect(0).json();
    assert_sides(&v, "default");
    assert_eq!(v["input"]["name"], DEFAULT_MODEL);
    assert_eq!(v["strategy"], DEFAULT_STRATEGY);
    assert_eq!((v["device"].as_str(), u(&v["requested_block_size"])), (Some("h100"), 64));
    for side in ["cubie", "optimized"] {
        assert!(u(&v[side]["block_size"]) >= 1, "{side}");
        assert!(u(&v[side]["dynamic_shared_bytes"]) >= 4, "{side}");
    }
    assert!(u(&v["optimized"]["best_block_size"]["resident_threads"]) > 0);
    // CuBIE's rule on the optimised side's own stride.
    let (stride, block) = (u(&v["optimized"]["padded_shared_bytes"]), u(&v["optimized"]["block_size"]));
    assert_eq!(u(&v["optimized"]["dynamic_shared_bytes"]), (stride * block).max(4));
    assert!(stride * block <= 232_448 && (block == 64 || stride * block * 2 > 232_448));
}

#[test]
fn a_cubie_block_the_registers_forbid_is_named() {
    // CuBIE's rule halves for shared memory alone: 512 threads of 255
    // registers do not fit a multiprocessor, and the report left the
    // estimate at that block blank without saying why.
    let args = ["plan", "--set", "n=1", "--registers", "255", "--block-size", "1024"];
    let v = smemplan(&[&args[..], &["--json"]].concat()).expect(0).json();
    for side in ["cubie", "optimized"] {
        assert_eq!(u(&v[side]["block_size"]), 512, "{side}");
        let e = v[side]["launch_error"].as_str().unwrap_or_else(|| panic!("{side}: {}", v[side]));
        assert!(e.contains("512 threads") && e.contains("255 registers") && e.contains("(registers)"), "{side}: {e}");
    }
    assert!(v["cubie"]["at_block_size"].is_null());
    let text = smemplan(&args).expect(0).stdout;
    assert!(
        text.contains("cubie: CuBIE's block of 512 cannot launch: device `h100`: a block of 512 threads"),
        "{text}"
    );
    let fine = smemplan(&["plan", "--json"]).expect(0).json();
    for side in ["cubie", "optimized"] {
        assert!(fine[side]["launch_error"].is_null(), "{side}");
    }
}

#[test]
fn fewer_runs_than_a_block_size_both_sides_alike() {
    // A block holds min(runs, block) runs on both sides: the optimised side
    // reported a whole block's bytes (32 runs' worth for 1 run), which made
    // it look up to 32 times CuBIE's at the same block size.
    for runs in [1u64, 20] {
        let v = smemplan(&["plan", "--json", "--runs", &runs.to_string()]).expect(0).json();
        for side in ["cubie", "optimized"] {
            let (stride, block) = (u(&v[side]["padded_shared_bytes"]), u(&v[side]["block_size"]));
            assert!(runs < block, "{side}: {block}");
            assert_eq!(u(&v[side]["dynamic_shared_bytes"]), stride * runs, "{side}, {runs} runs");
        }
    }
}

#[test]
fn sets_precision_and_models_change_the_numbers() {
    let plan = |args: &[&str]| {
        let mut all = vec!["plan", "--json"];
        all.extend_from_slice(args);
        let v = smemplan(&all).expect(0).json();
        assert_sides(&v, &args.join(" "));
        v
    };
    let shared = |v: &Value, side: &str| u(&v[side]["shared_bytes"]);
    let base = plan(&[]);
    let small = plan(&["--set", "n=20"]);
    assert!(shared(&small, "cubie") < shared(&base, "cubie"), "n=20 needs less than n=100");
    assert_eq!(small["input"]["params"]["n"], 20);
    let f64 = plan(&["--precision", "f64"]);
    assert!(shared(&f64, "cubie") > shared(&base, "cubie"), "doubles need more bytes");
    assert!(shared(&f64, "optimized") > shared(&base, "optimized"));
    assert_eq!(f64["input"]["params"]["precision"], "f64");
    let local = plan(&["--set", "loc=local"]);
    assert_eq!((shared(&local, "cubie"), shared(&local, "optimized")), (0, 0));
    assert!(u(&local["cubie"]["local_bytes"]) > u(&base["cubie"]["local_bytes"]));
    let other = plan(&["--set", "algorithm=kvaerno5", "--set", "smooth=true"]);
    assert!(shared(&other, "cubie") > shared(&base, "cubie"), "seven stages need more than four");
    let small_device = plan(&["--device", "simulator"]);
    assert!(u(&small_device["cubie"]["block_size"]) < u(&base["cubie"]["block_size"]), "48 KiB fits fewer runs");
    let huge = plan(&["--set", "n=20000"]);
    for side in ["cubie", "optimized"] {
        assert!(huge[side]["block_size"].is_null(), "{side}: one run exceeds the limit");
        assert!(huge[side]["block_error"].as_str().unwrap().contains("per-block limit"), "{side}");
    }
    let erk = plan(&["--model", "erk", "--set", "n=3"]);
    assert_eq!(erk["input"]["name"], "erk");
    // A model file: a copy of a built-in one, includes resolved from the
    // built-in fragments.
    let dir = scratch("plan-model-file");
    let file = dir.join("my-dirk.toml");
    std::fs::write(&file, smemplan::kernel::model::builtin_file("dirk.toml").unwrap()).unwrap();
    let from_file = plan(&[s(&file)]);
    assert_eq!(from_file["input"]["file"].as_str(), Some(s(&file)));
    assert_eq!(from_file["cubie"]["shared_bytes"], base["cubie"]["shared_bytes"]);
    assert_eq!(from_file["optimized"]["shared_bytes"], base["optimized"]["shared_bytes"]);
    let list = smemplan(&["plan", "--list-models"]).expect(0);
    for name in smemplan::kernel::model::builtin_names() {
        assert!(list.stdout.contains(name), "{name} missing from --list-models");
    }
}

#[test]
fn bad_models_and_dumps_are_named_errors() {
    let dir = scratch("plan-bad");
    let dirk = smemplan::kernel::model::builtin_file("dirk.toml").unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let line_of = |text: &str, needle: &str| text.lines().position(|l| l.contains(needle)).unwrap() + 1;

    // A bad expression: file, line and key.
    let text = dirk.replace("\"(stages - 1) * n\"", "\"(stages - 1 * n\"");
    let bad = write("expr.toml", &text);
    let err = smemplan(&["plan", s(&bad)]).expect(2).stderr;
    let want = format!(
        "{}:{}: key `buffer(kernel/loop/algorithm/accumulator).size`",
        s(&bad),
        line_of(&text, "(stages - 1 * n")
    );
    assert!(err.contains(&want), "{err}");
    // A TOML syntax error and an unknown key.
    let err = smemplan(&["plan", s(&write("syntax.toml", "[params\nn = 1\n"))]).expect(2).stderr;
    assert!(err.contains("syntax.toml:1:"), "{err}");
    let text = dirk.replacen("location = \"loc\"", "locaton = \"loc\"", 1);
    let bad = write("key.toml", &text);
    let err = smemplan(&["plan", s(&bad)]).expect(2).stderr;
    assert!(err.contains(&format!("{}:{}:", s(&bad), line_of(&text, "locaton"))) && err.contains("locaton"), "{err}");
    // Parameters.
    let err = smemplan(&["plan", "--set", "nn=3"]).expect(2).stderr;
    assert!(err.contains("key `nn`: unknown parameter"), "{err}");
    let err = smemplan(&["plan", "--set", "algorithm=rk99"]).expect(2).stderr;
    assert!(err.contains("unknown algorithm `rk99`"), "{err}");
    let err = smemplan(&["plan", "--set", "n=-4"]).expect(2).stderr;
    assert!(err.contains("-4 is not allowed for `n` (allowed: integers from 0)"), "{err}");
    smemplan(&["plan", "--set", "n"]).expect(2);
    smemplan(&["plan", "--precision", "f16"]).expect(2);
    let err = smemplan(&["plan", "--model", "nope"]).expect(2).stderr;
    assert!(err.contains("no built-in model `nope`"), "{err}");

    // Dumps: a bad value names the file, the row's line and the column.
    let reference = repo("tests/data/cubie-reference/dirk__kvaerno3__float32__n100__all_shared.json");
    let text = std::fs::read_to_string(&reference).unwrap();
    let row = r#"["kernel/loop","dt",1,"shared","#;
    let bad = write("location.json", &text.replacen(row, r#"["kernel/loop","dt",1,"texture","#, 1));
    let err = smemplan(&["plan", "--cubie", s(&bad)]).expect(2).stderr;
    let want = format!("{}:{}:", s(&bad), line_of(&text, row));
    assert!(err.contains(&want) && err.contains("key `location`") && err.contains("texture"), "{err}");
    let bad = write("syntax.json", &text.replacen("\"runs\":4096,", "\"runs\":4096", 1));
    let err = smemplan(&["plan", "--cubie", s(&bad)]).expect(2).stderr;
    assert!(err.contains(&format!("{}:{}:", s(&bad), line_of(&text, "\"runs\":4096,"))), "{err}");
    // An alias onto a buffer the component never registered: CuBIE's
    // error, naming the file, the component and both buffers.
    let bad = write(
        "alias.json",
        &text.replacen(
            r#""stage_base",100,"shared",false,"accumulator""#,
            r#""stage_base",100,"shared",false,"nothing""#,
            1,
        ),
    );
    let err = smemplan(&["plan", "--cubie", s(&bad)]).expect(2).stderr;
    assert!(err.contains("alias.json") && err.contains("`nothing`") && err.contains("`stage_base`"), "{err}");
    let err = smemplan(&["plan", "--cubie", s(&dir.join("missing.json"))]).expect(2).stderr;
    assert!(err.contains("cannot read") && err.contains("missing.json"), "{err}");

    // Usage.
    let err = smemplan(&["plan", "--device", "tpu"]).expect(2).stderr;
    assert!(err.contains("unknown device `tpu`") && err.contains("h100"), "{err}");
    smemplan(&["plan", "--cubie", s(&reference), "--set", "n=3"]).expect(2);
    smemplan(&["plan", "--block-size", "0"]).expect(2);
    smemplan(&["plan", "--strategy", "no-such"]).expect(2);
}

#[test]
fn outputs_are_written_and_the_header_compiles() {
    let dir = scratch("plan-outputs");
    let (svg, cuh) = (dir.join("layout.svg"), dir.join("layout.cuh"));
    let v = smemplan(&["plan", "--json", "--svg", s(&svg), "--cuda", s(&cuh)]).expect(0).json();
    assert_eq!(v["svg"].as_str(), Some(s(&svg)));
    let picture = std::fs::read_to_string(&svg).unwrap();
    assert!(picture.starts_with("<svg") && picture.contains("kernel/loop/state"));
    // The picture is the problem the solver was given: one rectangle per
    // live segment of each placement unit, a nested alias drawn as part of
    // its target's unit (named after the target).
    let units: Vec<String> = v["optimized"]["buffers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["pool"] == "shared" && u(&b["bytes"]) > 0 && b["inside"].is_null())
        .map(|b| format!("{}/{}", b["component"].as_str().unwrap(), b["name"].as_str().unwrap()))
        .collect();
    let shared = v["optimized"]["pools"].as_array().unwrap().iter().find(|p| p["pool"] == "shared").unwrap();
    assert!(!units.is_empty() && u(&shared["units"]) == units.len() as u64);
    assert!(picture.matches("class=\"seg\"").count() >= units.len());
    assert!(units.iter().all(|name| picture.contains(name.as_str())), "a unit is missing from the picture");

    // A failing run leaves both files as they were.
    std::fs::write(&svg, "old").unwrap();
    smemplan(&["plan", "--set", "nn=1", "--svg", s(&svg), "--cuda", s(&cuh)]).expect(2);
    assert_eq!(std::fs::read_to_string(&svg).unwrap(), "old");

    let Some(cxx) = cxx::compiler("plan_cli") else {
        return;
    };
    let main = dir.join("main.cpp");
    std::fs::write(
        &main,
        "#include <cstdio>\n#include \"layout.cuh\"\nint main() {\n\
         std::printf(\"%llu %llu %llu %llu %llu\\n\", smemplan_layout::shared_bytes_per_run, \
         smemplan_layout::shared_stride_bytes, smemplan_layout::block_size, smemplan_layout::local_bytes, \
         smemplan_layout::persistent_local_bytes);\n\
         unsigned char shared[1 << 16] = {0};\n\
         return smemplan_layout::loop__state(shared, 1) == nullptr;\n}\n",
    )
    .unwrap();
    let exe = dir.join("main");
    let out = Command::new(&cxx)
        .args([
            "-std=c++17",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-D__host__=",
            "-D__device__=",
            "-D__forceinline__=inline",
            "-o",
        ])
        .arg(&exe)
        .arg(&main)
        .output()
        .unwrap();
    assert!(out.status.success(), "compiling failed:\n{}", String::from_utf8_lossy(&out.stderr));
    let run = Command::new(&exe).output().unwrap();
    assert!(run.status.success());
    let o = &v["optimized"];
    let want = format!(
        "{} {} {} {} {}\n",
        o["shared_bytes"], o["padded_shared_bytes"], o["block_size"], o["local_bytes"], o["persistent_local_bytes"]
    );
    assert_eq!(String::from_utf8_lossy(&run.stdout), want);
}
