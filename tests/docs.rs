//! The docs name only files that exist: every repository path in backticks
//! (`src/…`, `docs/…`, `tests/…`, `benches/…`, `models/…`, `examples/…`)
//! in the README, in `docs/` and in the sources' comments must be there, so
//! that a file moved or split without its docs fails here. A glob
//! (`models/*.toml`) must match its folder.

use std::path::{Path, PathBuf};

const ROOTS: [&str; 6] = ["src/", "docs/", "tests/", "benches/", "models/", "examples/"];

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("a readable folder") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            files(&path, out);
        } else if path.extension().is_some_and(|e| e == "md" || e == "rs") {
            out.push(path);
        }
    }
}

/// The repository paths quoted in `text`, with their line numbers.
fn quoted_paths(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        for (i, span) in line.split('`').enumerate() {
            let path_like = span.chars().all(|c| c.is_ascii_alphanumeric() || "_-./*".contains(c));
            if i % 2 == 1 && path_like && ROOTS.iter().any(|r| span.starts_with(r)) {
                out.push((n + 1, span));
            }
        }
    }
    out
}

#[test]
fn every_quoted_path_exists() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut sources = vec![root.join("README.md")];
    for dir in ["docs", "src", "tests", "benches", "examples"] {
        files(&root.join(dir), &mut sources);
    }
    let mut missing = Vec::new();
    for file in &sources {
        let text = std::fs::read_to_string(file).expect("readable");
        for (line, path) in quoted_paths(&text) {
            let existing = path.split('*').next().unwrap_or(path);
            if !root.join(existing).exists() {
                missing.push(format!("{}:{line}: `{path}`", file.strip_prefix(root).unwrap().display()));
            }
        }
    }
    assert!(missing.is_empty(), "paths named but absent:\n{}", missing.join("\n"));
}

#[test]
fn paths_are_found_in_backticks_only() {
    let text = "see `src/plan/lib.rs` and `models/*.toml`, not src/x.rs\nor `cargo test` or `src/a b`";
    assert_eq!(quoted_paths(text), [(1, "src/plan/lib.rs"), (1, "models/*.toml")]);
}

// ---------------------------------------------------------------------------
// Shown commands (issue 17): every command the README and `docs/*.md` show
// with its output is run here, and its output compared with the doc's.
//
// The convention: a ```` ```console ```` block holds `$ smemplan …` lines
// (a line ending in ` \` continues on the next), each followed by its
// output: stdout, then stderr, as a terminal shows them when stderr comes
// last. A command may end in `| head -n N` or `| tail -n N` to show part of
// a long output (the test applies it, no shell involved). A file written
// by `--svg`, `--csv`, `--cuda`, `--out` or `--dot` goes to a temporary
// folder (its path in the output is shown as given); where the path given
// is a committed file (`docs/sweep-example.svg`), the file written must
// equal it. `SMEMPLAN_BLESS=1 cargo test --release --test docs` rewrites
// the shown outputs and those files in place.
//
// Compared after masking what a clock decides (seconds, configurations per
// second, seconds) and the width of the whitespace between columns. Commands run
// with `RAYON_NUM_THREADS=2`, as on CI, so thread counts print alike.
// ```sh blocks are commands without shown output; a ```sh block followed at
// once by a ```text block would be output nobody checks, and fails here
// unless the command is one of `UNCHECKED` (a timing record of a run of
// minutes).
// ---------------------------------------------------------------------------

/// Shown outputs this test does not run, each with the reason: the
/// timing records of `docs/exact-results.md` (runs to a 10–20 s limit per
/// instance, on the machine they name). The lab's GPU commands
/// (`smemplan-lab verify`, `measure`, `calibrate`, `scripts/gpu-verify.sh`)
/// are shown without output; `docs/results/` holds what they printed on a
/// card, as records, and is not scanned.
const UNCHECKED: [&str; 1] = ["smemplan bench benches/data/minimalloc-challenging"];

/// Files whose shown commands are run.
fn shown_docs(root: &Path) -> Vec<PathBuf> {
    let mut docs = vec![root.join("README.md")];
    let mut more: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .expect("docs/")
        .map(|e| e.expect("an entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    more.sort();
    docs.extend(more);
    docs
}

/// One shown command: where its output lies in the doc.
#[derive(Debug, PartialEq)]
struct Shown {
    /// Line (1-based) of its `$`.
    line: usize,
    /// The command, continuations joined.
    command: String,
    /// Lines (0-based, end exclusive) of its shown output.
    output: std::ops::Range<usize>,
}

/// The shown commands of a doc's ```console blocks.
fn shown_commands(text: &str) -> Vec<Shown> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if lines[i].trim_end() != "```console" {
            i += 1;
            continue;
        }
        i += 1;
        while i < lines.len() && lines[i].trim_end() != "```" {
            let Some(first) = lines[i].strip_prefix("$ ") else {
                i += 1;
                continue;
            };
            let line = i + 1;
            let mut command = first.trim_end().to_string();
            while command.ends_with('\\') && i + 1 < lines.len() {
                command.pop();
                i += 1;
                command = format!("{} {}", command.trim_end(), lines[i].trim());
            }
            i += 1;
            let start = i;
            while i < lines.len() && lines[i].trim_end() != "```" && !lines[i].starts_with("$ ") {
                i += 1;
            }
            out.push(Shown { line, command, output: start..i });
        }
        i += 1;
    }
    out
}

/// ```sh blocks followed at once by a ```text block: output shown but not
/// run. Each is `(line, first command)`.
fn unchecked_outputs(text: &str) -> Vec<(usize, String)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if lines[i].trim_end() == "```sh" {
            let start = i;
            while i + 1 < lines.len() && lines[i + 1].trim_end() != "```" {
                i += 1;
            }
            let mut next = i + 2;
            while next < lines.len() && lines[next].trim().is_empty() {
                next += 1;
            }
            if lines.get(next).is_some_and(|l| l.trim_end() == "```text") {
                out.push((start + 2, lines.get(start + 1).unwrap_or(&"").trim().to_string()));
            }
        }
        i += 1;
    }
    out
}

/// Flags whose value is a file the command writes.
const OUTPUT_FLAGS: [&str; 6] = ["--svg", "--csv", "--cuda", "--out", "--dot", "--out-dir"];

/// What running a shown command gave.
struct Ran {
    /// Stdout then stderr, the temporary folder's path shown as given.
    output: String,
    /// `(path given, file written)` for each output whose path given is a
    /// committed file.
    committed: Vec<(PathBuf, Vec<u8>)>,
}

/// Runs a shown command from the repository root.
fn run_shown(root: &Path, command: &str, scratch: &Path) -> Result<Ran, String> {
    let (command, keep) = match command.split_once(" | ") {
        Some((c, filter)) => {
            let words: Vec<&str> = filter.split_whitespace().collect();
            match words.as_slice() {
                ["head", "-n", n] => (c, Some((true, n.parse::<usize>().map_err(|e| format!("{filter}: {e}"))?))),
                ["tail", "-n", n] => (c, Some((false, n.parse::<usize>().map_err(|e| format!("{filter}: {e}"))?))),
                _ => return Err(format!("unsupported filter `{filter}` (head -n N, tail -n N)")),
            }
        }
        None => (command, None),
    };
    let mut words = command.split_whitespace();
    if words.next() != Some("smemplan") {
        return Err("not a `smemplan` command".into());
    }
    let mut args: Vec<String> = Vec::new();
    let mut outputs: Vec<(String, PathBuf)> = Vec::new();
    let mut words = words.peekable();
    while let Some(w) = words.next() {
        args.push(w.to_string());
        if OUTPUT_FLAGS.contains(&w) {
            let given = words.next().ok_or_else(|| format!("`{w}` without a path"))?;
            let written =
                scratch.join(format!("{}-{}", outputs.len(), Path::new(given).file_name().unwrap().to_string_lossy()));
            if w == "--out-dir" {
                std::fs::create_dir_all(&written).map_err(|e| e.to_string())?;
            }
            args.push(written.display().to_string());
            outputs.push((given.to_string(), written));
        }
    }
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_smemplan"))
        .args(&args)
        .current_dir(root)
        .env("RAYON_NUM_THREADS", "2")
        .output()
        .map_err(|e| e.to_string())?;
    let mut output = String::from_utf8_lossy(&out.stdout).into_owned();
    output.push_str(&String::from_utf8_lossy(&out.stderr));
    if output.contains("panicked") {
        return Err(format!("panicked:\n{output}"));
    }
    for (given, written) in &outputs {
        output = output.replace(&written.display().to_string(), given);
    }
    if let Some((head, n)) = keep {
        let lines: Vec<&str> = output.lines().collect();
        let kept = if head { &lines[..n.min(lines.len())] } else { &lines[lines.len().saturating_sub(n)..] };
        output = kept.iter().map(|l| format!("{l}\n")).collect();
    }
    let mut committed = Vec::new();
    for (given, written) in outputs {
        if root.join(&given).is_file() {
            let bytes = std::fs::read(&written).map_err(|e| format!("{given}: not written ({e})"))?;
            committed.push((PathBuf::from(given), bytes));
        }
    }
    Ok(Ran { output, committed })
}

/// Is `w` a number (digits, a point, an exponent)?
fn numeric(w: &str) -> bool {
    !w.is_empty()
        && w.starts_with(|c: char| c.is_ascii_digit())
        && w.chars().all(|c| c.is_ascii_digit() || ".e+-".contains(c))
}

/// A line as compared: the clock's figures masked (a number before `s` or
/// `configurations/s`, or after `seconds`; in `bench`'s tables, its seconds columns: numbers
/// with three decimals), whitespace runs made one space.
fn masked(line: &str, bench: bool) -> String {
    let words: Vec<&str> = line.split_whitespace().collect();
    let mut out: Vec<&str> = Vec::with_capacity(words.len());
    for (i, w) in words.iter().enumerate() {
        let next = words.get(i + 1).map(|n| n.trim_end_matches([',', ';', ':', ')']));
        let seconds = numeric(w)
            && (matches!(next, Some("s" | "configurations/s"))
                || i.checked_sub(1).is_some_and(|k| words[k] == "seconds"));
        let bench_seconds = bench && numeric(w) && w.split_once('.').is_some_and(|(_, d)| d.len() == 3);
        out.push(if seconds || bench_seconds { "#" } else { w });
    }
    out.join(" ")
}

#[test]
fn shown_outputs_are_what_the_commands_print() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let bless = std::env::var_os("SMEMPLAN_BLESS").is_some_and(|v| v == "1");
    let scratch = std::env::temp_dir().join(format!("smemplan-docs-{}", std::process::id()));
    let mut failures = Vec::new();
    let mut ran = 0;
    let mut excused = vec![false; UNCHECKED.len()];
    for doc in shown_docs(root) {
        let name = doc.strip_prefix(root).unwrap().display().to_string();
        let text = std::fs::read_to_string(&doc).unwrap();
        for (line, command) in unchecked_outputs(&text) {
            if let Some(k) = UNCHECKED.iter().position(|prefix| command.starts_with(prefix)) {
                excused[k] = true;
            } else {
                failures.push(format!(
                    "{name}:{line}: `{command}` shows output in a ```text block that no test runs; \
                     write it as a ```console block"
                ));
            }
        }
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        let shown = shown_commands(&text);
        for s in shown.iter().rev() {
            let _ = std::fs::remove_dir_all(&scratch);
            std::fs::create_dir_all(&scratch).unwrap();
            ran += 1;
            let result = match run_shown(root, &s.command, &scratch) {
                Ok(r) => r,
                Err(e) => {
                    failures.push(format!("{name}:{}: `{}`: {e}", s.line, s.command));
                    continue;
                }
            };
            let bench = s.command.starts_with("smemplan bench");
            let actual: Vec<&str> = result.output.lines().map(str::trim_end).collect();
            let expected = &lines[s.output.clone()];
            let same = actual.len() == expected.len()
                && actual.iter().zip(expected).all(|(a, e)| masked(a, bench) == masked(e, bench));
            if bless {
                lines.splice(s.output.clone(), actual.iter().map(|l| l.to_string()));
            } else if !same {
                failures.push(format!(
                    "{name}:{}: `{}` prints\n{}\nbut the doc shows\n{}",
                    s.line,
                    s.command,
                    actual.join("\n"),
                    expected.join("\n")
                ));
            }
            for (given, bytes) in result.committed {
                let path = root.join(&given);
                if bless {
                    std::fs::write(&path, &bytes).unwrap();
                } else if std::fs::read(&path).unwrap() != bytes {
                    failures.push(format!(
                        "{name}:{}: `{}` writes a `{}` unlike the committed one",
                        s.line,
                        s.command,
                        given.display()
                    ));
                }
            }
        }
        if bless {
            let mut new = lines.join("\n");
            if text.ends_with('\n') {
                new.push('\n');
            }
            if new != text {
                std::fs::write(&doc, new).unwrap();
            }
        }
    }
    let _ = std::fs::remove_dir_all(&scratch);
    assert!(ran > 0, "no ```console block found");
    for (prefix, used) in UNCHECKED.iter().zip(excused) {
        assert!(used, "UNCHECKED lists `{prefix}`, which no doc shows any more");
    }
    assert!(
        failures.is_empty(),
        "{} shown output(s) drifted (SMEMPLAN_BLESS=1 cargo test --release --test docs rewrites them):\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn console_blocks_are_read_as_commands_and_outputs() {
    let text = "x\n```console\n$ smemplan a \\\n    --b c\nout 1\nout 2\n$ smemplan d\n```\n```sh\nsmemplan e\n```\n\n```text\nf\n```\n";
    let shown = shown_commands(text);
    assert_eq!(
        shown,
        [
            Shown { line: 3, command: "smemplan a --b c".into(), output: 4..6 },
            Shown { line: 7, command: "smemplan d".into(), output: 7..7 },
        ]
    );
    assert_eq!(unchecked_outputs(text), [(10, "smemplan e".to_string())]);
}

#[test]
fn the_clock_is_masked_and_nothing_else() {
    assert_eq!(
        masked("in 0.04 s on 2 threads: 1056 configurations/s; x", false),
        "in # s on 2 threads: # configurations/s; x"
    );
    assert_eq!(masked("seconds      0.000", false), "seconds #");
    assert_eq!(masked("A.csv   154  1.3105 over  0.003", true), "A.csv 154 1.3105 over #");
    assert_eq!(masked("A.csv   154  1.3105 over  0.003", false), "A.csv 154 1.3105 over 0.003");
}
