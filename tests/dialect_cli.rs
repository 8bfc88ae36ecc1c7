//! MiniMalloc's whole CSV dialect through the binary (issue 17): the `hint`
//! column carried to `--out`, windowed gaps (exact or refused with their
//! line), `--time-limit` durations, the notes on the format's traps (an
//! `offset` column fixes buffers; `end` makes ends inclusive), and `bench`
//! as a researcher uses it (non-instances skipped, `--out-dir`, `--repeat`,
//! `--threads`).

use smemplan::core::format::minimalloc;
use std::path::{Path, PathBuf};

#[path = "support/cli.rs"]
mod harness;
use harness::{repo, s, scratch, smemplan};

fn dialect(name: &str) -> PathBuf {
    repo("tests/data/minimalloc-dialect").join(name)
}

/// The peak `smemplan check` reports for a valid layout.
fn checked_peak(instance: &Path, solution: &Path) -> u64 {
    let run = smemplan(&["check", s(instance), s(solution)]).expect(0);
    let rest = run.stdout.strip_prefix("valid: peak ").unwrap_or_else(|| panic!("{}", run.stdout));
    rest.split(' ').next().unwrap().parse().unwrap()
}

/// What MiniMalloc's reader (`FromCsv`) needs of a file: known column names,
/// each once; every row as wide as the header; integers where it parses
/// integers (an offset in every row, `-1` for no hint); `\n` line ends.
fn assert_minimalloc_readable(text: &str) {
    const KNOWN: [&str; 13] = [
        "id",
        "buffer",
        "buffer_id",
        "lower",
        "start",
        "begin",
        "upper",
        "end",
        "size",
        "alignment",
        "hint",
        "gaps",
        "offset",
    ];
    assert!(!text.contains('\r') && text.ends_with('\n'), "{text:?}");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    for (i, col) in header.iter().enumerate() {
        assert!(KNOWN.contains(col), "unknown column {col}");
        assert!(!header[..i].contains(col), "column {col} twice");
    }
    for line in lines {
        assert!(!line.is_empty(), "MiniMalloc stops at the first empty line");
        let fields: Vec<&str> = line.split(',').collect();
        assert_eq!(fields.len(), header.len(), "{line}");
        for (col, field) in header.iter().zip(&fields) {
            match *col {
                "lower" | "upper" | "size" | "alignment" | "offset" | "hint" => {
                    assert!(field.parse::<i64>().is_ok(), "{col} `{field}` in {line}");
                }
                "gaps" => {
                    for gap in field.split(' ').filter(|g| !g.is_empty()) {
                        let (lo, hi) = gap.split_once('-').unwrap();
                        assert!(lo.parse::<i64>().is_ok() && hi.parse::<i64>().is_ok(), "{gap}");
                    }
                }
                _ => {}
            }
        }
    }
}

#[test]
fn hints_and_windowed_gaps_load_solve_and_round_trip() {
    let dir = scratch("dialect-roundtrip");
    let inst = dialect("hint-window.csv");
    let out = dir.join("sol.csv");
    let run = smemplan(&["solve", s(&inst), "--strategy", "exact", "--out", s(&out), "--json"]).expect(0);
    let v = run.json();
    let peak = v["peak"].as_u64().unwrap();
    assert_eq!(v["status"], "optimal");
    // A window keeping the whole buffer is no hole: the same as without it.
    let plain = smemplan(&["solve", s(&dialect("hint-window.plain.csv")), "--strategy", "exact", "--json"]).expect(0);
    assert_eq!(plain.json()["peak"].as_u64(), Some(peak));
    assert!(plain.stderr.is_empty(), "{}", plain.stderr);
    assert!(run.stderr.contains("windowed gap(s) keep the whole buffer"), "{}", run.stderr);
    // The older dialect of the same instance: same peak, and a note.
    let old = smemplan(&["solve", s(&dialect("hint-window.end.csv")), "--strategy", "exact", "--json"]).expect(0);
    assert_eq!(old.json()["peak"].as_u64(), Some(peak));
    assert!(old.stderr.contains("inclusive convention"), "{}", old.stderr);

    // The hints are carried, in MiniMalloc's place and spelling.
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.starts_with("id,lower,upper,size,alignment,hint,gaps,offset\n"), "{text}");
    assert!(text.contains("\nb,4,6,8,1,-1,,") && text.contains("\nd,6,9,8,1,-1,,"), "{text}");
    assert_minimalloc_readable(&text);
    let (_, read) = minimalloc::read_instance("sol", &text).unwrap();
    let (_, orig) = minimalloc::read_instance("inst", &std::fs::read_to_string(&inst).unwrap()).unwrap();
    assert_eq!(read.hints, orig.hints);
    assert_eq!(orig.hints, Some(vec![Some(0), None, Some(16), None, Some(8)]));
    // solve → --out → check → the same peak, against the original and itself.
    assert_eq!(checked_peak(&inst, &out), peak);
    assert_eq!(checked_peak(&out, &out), peak);
    // Offsets agree with the JSON layout.
    for (row, placed) in text.lines().skip(1).zip(v["layout"].as_array().unwrap()) {
        assert!(row.ends_with(&format!(",{}", placed["offset"])), "{row} vs {placed}");
    }
}

#[test]
fn minimallocs_example_and_challenging_instances_round_trip() {
    let dir = scratch("dialect-published");
    let mut instances = vec![repo("benches/data/minimalloc-example.12.csv")];
    instances.push(repo("benches/data/minimalloc-challenging/A.1048576.csv"));
    instances.push(repo("benches/data/minimalloc-challenging/K.1048576.csv"));
    for inst in instances {
        let out = dir.join("sol.csv");
        let run = smemplan(&["solve", s(&inst), "--strategy", "greedy-size", "--out", s(&out), "--json"]).expect(0);
        assert!(run.stderr.is_empty(), "no note on a plain instance: {}", run.stderr);
        let v = run.json();
        assert!(v.get("notes").is_none() && v.get("fixed").is_none(), "no new keys for plain input: {v}");
        let text = std::fs::read_to_string(&out).unwrap();
        assert_minimalloc_readable(&text);
        assert_eq!(checked_peak(&inst, &out), v["peak"].as_u64().unwrap(), "{}", inst.display());
    }
}

#[test]
fn a_solution_read_as_an_instance_is_noted() {
    let dir = scratch("dialect-fixed");
    let out = dir.join("sol.csv");
    let inst = repo("benches/data/minimalloc-example.12.csv");
    smemplan(&["solve", s(&inst), "--strategy", "greedy-time", "--out", s(&out)]).expect(0);
    let run = smemplan(&["solve", s(&out), "--json"]).expect(0);
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line: {}", run.stderr);
    assert!(lines[0].starts_with("smemplan: note: ") && lines[0].contains(s(&out)), "{}", run.stderr);
    assert!(lines[0].contains("`offset` column fixes 5 of 5 buffers"), "{}", run.stderr);
    let v = run.json();
    assert_eq!(v["fixed"], 5);
    assert!(v["notes"][0].as_str().unwrap().contains("proves nothing"), "{v}");
    // Text output on stdout is unchanged; the note goes to stderr only.
    let text = smemplan(&["solve", s(&out)]).expect(0);
    assert!(!text.stdout.contains("note"), "{}", text.stdout);
    assert!(text.stderr.contains("fixes 5 of 5"), "{}", text.stderr);
    // check says it too.
    let check = smemplan(&["check", s(&out), s(&out)]).expect(0);
    assert!(check.stderr.contains("fixes 5 of 5"), "{}", check.stderr);
    // A plain instance: nothing on stderr.
    assert!(smemplan(&["check", s(&inst), s(&out)]).expect(0).stderr.is_empty());
}

#[test]
fn the_end_convention_is_named() {
    let upper = smemplan(&["solve", s(&dialect("touching.upper.csv")), "--json"]).expect(0);
    let end = smemplan(&["solve", s(&dialect("touching.end.csv")), "--json"]).expect(0);
    assert_eq!(upper.json()["peak"], 4);
    assert_eq!(end.json()["peak"], 8);
    assert!(upper.stderr.is_empty(), "{}", upper.stderr);
    assert!(end.stderr.contains("`end`") && end.stderr.contains("[start, end + 1)"), "{}", end.stderr);
    assert!(end.json()["notes"][0].as_str().unwrap().contains("inclusive"));
}

#[test]
fn time_limits_take_durations() {
    for limit in ["2", "0.5", "500ms", "10s", "1m"] {
        smemplan(&["solve", "--strategy", "greedy-size", "--time-limit", limit]).expect(0);
    }
    let inst = repo("benches/data/minimalloc-example.12.csv");
    smemplan(&["bench", s(&inst), "--time-limit", "250ms"]).expect(0);
    for bad in ["10x", "soon", "-1s", "ms", "-1"] {
        let run = smemplan(&["solve", &format!("--time-limit={bad}")]).expect(2);
        assert!(run.stderr.contains("--time-limit") && run.stderr.contains(bad), "{bad}: {}", run.stderr);
    }
}

#[test]
fn refused_windows_name_their_line() {
    let tetris = repo("tests/data/bad/window_tetris.csv");
    let malformed = repo("tests/data/bad/window_malformed.csv");
    for (file, wants) in [
        (&tetris, &[":2:", "buffer `a`", "gap `0-5@0:1`", "keeps bytes 0..1"][..]),
        (&malformed, &[":3:", "buffer `b`", "gap `4-6@0`", "lower:upper"][..]),
    ] {
        for args in [vec!["solve", s(file)], vec!["bench", s(file)], vec!["check", s(file), s(file)]] {
            let run = smemplan(&args).expect(2);
            assert!(run.stderr.starts_with("smemplan: ") && run.stderr.contains(s(file)), "{}", run.stderr);
            for want in wants {
                assert!(run.stderr.contains(want), "{args:?}: `{want}` not in {}", run.stderr);
            }
        }
    }
}

#[test]
fn bench_skips_what_is_not_an_instance_saves_layouts_and_repeats() {
    let dir = scratch("dialect-bench");
    let data = dir.join("data");
    let saved = dir.join("saved");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::create_dir_all(&saved).unwrap();
    let example = repo("benches/data/minimalloc-example.12.csv");
    std::fs::copy(&example, data.join("a.csv")).unwrap();
    std::fs::copy(dialect("hint-window.csv"), data.join("b.csv")).unwrap();
    std::fs::write(data.join("c-notes.csv"), "just,some,notes\n1,2,3\n").unwrap();
    std::fs::copy(repo("tests/data/bad/window_tetris.csv"), data.join("d-tetris.csv")).unwrap();
    // A solution in the folder: every buffer fixed, so not an instance.
    smemplan(&["solve", s(&example), "--out", s(&data.join("e-solution.csv"))]).expect(0);

    let run = smemplan(&[
        "bench",
        s(&data),
        "--strategies",
        "greedy-size,exact",
        "--out-dir",
        s(&saved),
        "--repeat",
        "3",
        "--threads",
        "1",
        "--json",
    ])
    .expect(0);
    for skipped in ["c-notes.csv", "d-tetris.csv", "e-solution.csv"] {
        assert!(run.stderr.contains(&format!("skipping `{}`", s(&data.join(skipped)))), "{}", run.stderr);
    }
    assert!(run.stderr.contains("unknown column `just`") && run.stderr.contains("a solution"), "{}", run.stderr);
    let v = run.json();
    assert_eq!(v["repeat"], 3);
    assert_eq!(v["threads"], 1);
    assert_eq!(v["skipped"].as_array().unwrap().len(), 3);
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    let mut names: Vec<String> =
        std::fs::read_dir(&saved).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    assert_eq!(names, ["a.exact.csv", "a.greedy-size.csv", "b.exact.csv", "b.greedy-size.csv"], "no temporaries");
    for row in rows {
        let inst = PathBuf::from(row["instance"].as_str().unwrap());
        for cell in row["results"].as_array().unwrap() {
            let file = PathBuf::from(cell["out"].as_str().unwrap());
            assert_eq!(file.parent(), Some(saved.as_path()));
            assert_eq!(checked_peak(&inst, &file), cell["peak"].as_u64().unwrap(), "{}", file.display());
            assert_minimalloc_readable(&std::fs::read_to_string(&file).unwrap());
        }
    }
    assert!(std::fs::read_to_string(saved.join("b.exact.csv")).unwrap().contains(",hint,"), "hints carried");

    // The table says N; a file named itself must be an instance.
    let table = smemplan(&["bench", s(&data), "--strategies", "greedy-size", "--repeat", "2"]).expect(0);
    assert!(table.stdout.lines().next().unwrap().contains("s (median of 2)"), "{}", table.stdout);
    assert!(table.stdout.contains("total (2)"), "{}", table.stdout);
    let named = smemplan(&["bench", s(&data.join("c-notes.csv"))]).expect(2);
    assert!(named.stderr.contains("unknown column `just`"), "{}", named.stderr);
    // Only non-instances: an error, after each is named.
    let junk = dir.join("junk");
    std::fs::create_dir_all(&junk).unwrap();
    std::fs::write(junk.join("x.csv"), "nothing\n").unwrap();
    let none = smemplan(&["bench", s(&junk)]).expect(2);
    assert!(none.stderr.contains("skipping") && none.stderr.contains("none of the 1 files"), "{}", none.stderr);
}

#[test]
fn bench_refuses_bad_values_naming_the_flag() {
    let inst = repo("benches/data/minimalloc-example.12.csv");
    for (args, wants) in [
        (vec!["--repeat", "0"], &["--repeat", "`0`", "from 1 to 1000000"][..]),
        (vec!["--repeat", "x"], &["--repeat", "`x`"][..]),
        (vec!["--repeat", "-1"], &["--repeat", "`-1`"][..]),
        (vec!["--threads", "-2"], &["--threads"][..]),
        (vec!["--time-limit", "10x"], &["--time-limit", "10x"][..]),
        (vec!["--out-dir", "no/such/dir"], &["--out-dir", "no/such/dir", "not an existing directory"][..]),
    ] {
        let mut all = vec!["bench", s(&inst)];
        all.extend(&args);
        let run = smemplan(&all).expect(2);
        for want in wants {
            assert!(run.stderr.contains(want), "{args:?}: `{want}` not in {}", run.stderr);
        }
    }
    // Two instances that would save to the same names.
    let dir = scratch("dialect-clash");
    let (one, two) = (dir.join("one"), dir.join("two"));
    for d in [&one, &two] {
        std::fs::create_dir_all(d).unwrap();
        std::fs::copy(&inst, d.join("same.csv")).unwrap();
    }
    let run = smemplan(&["bench", s(&one), s(&two), "--out-dir", s(&dir)]).expect(2);
    assert!(run.stderr.contains("same.STRATEGY.csv"), "{}", run.stderr);
}

#[test]
fn bench_help_documents_threads_and_the_new_flags() {
    let help = smemplan(&["bench", "--help"]).expect(0).stdout;
    for want in ["--out-dir", "--repeat", "--threads", "median", "rayon", "RAYON_NUM_THREADS"] {
        assert!(help.contains(want), "`{want}` not in bench --help:\n{help}");
    }
    let help = smemplan(&["solve", "--help"]).expect(0).stdout;
    assert!(help.contains("500ms") && help.contains("hint"), "{help}");
}
