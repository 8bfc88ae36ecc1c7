//! A fuzz harness on stable Rust: seeded byte and field mutations of the
//! inputs the repository ships (instances in `tests/data` and
//! `benches/data`, solutions, kernel models in `models/`, CuBIE dumps in
//! `tests/data/cubie-reference`), each fed to the binary as a user would.
//!
//! Properties, for every case:
//! * the process exits 0, 1 or 2 on its own: never a panic, an abort, a
//!   stack overflow or a signal;
//! * a rejection (2) prints `smemplan: <message>`, and never an internal
//!   error;
//! * an accepted instance's layout (`solve --out`) passes both the library's
//!   checker and the brute-force one below, which shares no code with it;
//! * `check`'s verdict on a mutated solution agrees with the brute-force
//!   checker.
//!
//! CI runs a fixed budget with a fixed seed. Longer or different runs:
//! `SMEMPLAN_FUZZ_SECS=600 SMEMPLAN_FUZZ_SEED=7 cargo test --release --test fuzz -- --nocapture`.
//! A failing case is kept in the temporary directory and named in the
//! failure together with the seed and case number; `SMEMPLAN_FUZZ_CASE=N`
//! (with the same seed) runs that case alone.

use smemplan::core::check;
use smemplan::core::format::minimalloc;
use smemplan::Problem;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Seconds of fuzzing when `SMEMPLAN_FUZZ_SECS` is not set.
const DEFAULT_SECS: f64 = 20.0;
/// Seed when `SMEMPLAN_FUZZ_SEED` is not set.
const DEFAULT_SEED: u64 = 0x005e_ed11;

/// SplitMix64: small, seedable, good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Values that have broken parsers before: limits, signs, encodings,
/// separators, deep nesting.
const TOKENS: &[&str] = &[
    "0",
    "1",
    "-1",
    "+7",
    "4294967296",
    "9223372036854775807",
    "18446744073709551615",
    "99999999999999999999",
    "1e9",
    "0x10",
    "NaN",
    "",
    " ",
    ",",
    ",,",
    "\n",
    "\r",
    "\r\n",
    "\0",
    "\u{1}",
    "\u{feff}",
    "\"",
    "'",
    "\\",
    "-",
    "@",
    "💥",
    "((((((((((((((((((((",
    "!!!!!!!!!!!!!!!!!!!!",
    "true",
    "null",
    "[]",
    "{}",
    "shared",
    "local",
    "kernel",
    ".",
    "/",
];

/// One mutation of `data`.
fn mutate_once(rng: &mut Rng, data: &mut Vec<u8>) {
    let len = data.len();
    let at = rng.below(len + 1);
    match rng.below(9) {
        // A bit flip.
        0 if len > 0 => {
            let i = rng.below(len);
            data[i] ^= 1 << rng.below(8);
        }
        // A range deleted.
        1 if len > 0 => {
            let end = (at + 1 + rng.below(16)).min(len);
            data.drain(at.min(len - 1)..end);
        }
        // A range repeated.
        2 if len > 0 => {
            let start = rng.below(len);
            let end = (start + 1 + rng.below(64)).min(len);
            let copy = data[start..end].to_vec();
            data.splice(at..at, copy);
        }
        // A token inserted.
        3 => {
            data.splice(at..at, rng.pick(TOKENS).bytes());
        }
        // A number replaced by a token (field-level for CSV, values in
        // TOML and JSON).
        4 | 5 => {
            let starts: Vec<usize> =
                (0..len).filter(|&i| data[i].is_ascii_digit() && (i == 0 || !data[i - 1].is_ascii_digit())).collect();
            if starts.is_empty() {
                return;
            }
            let s = *rng.pick(&starts);
            let e = (s..len).find(|&i| !data[i].is_ascii_digit()).unwrap_or(len);
            // Half the time a nearby value, which often keeps the input
            // valid and so reaches the solver and the checker.
            let replacement = match std::str::from_utf8(&data[s..e]).unwrap().parse::<u64>() {
                Ok(v) if rng.below(2) == 0 => match rng.below(4) {
                    0 => v.saturating_add(1 + rng.below(8) as u64).to_string(),
                    1 => v.saturating_sub(1 + rng.below(8) as u64).to_string(),
                    2 => v.saturating_mul(2).to_string(),
                    _ => (v / 2).to_string(),
                },
                _ => rng.pick(TOKENS).to_string(),
            };
            data.splice(s..e, replacement.into_bytes());
        }
        // Two lines swapped, or one duplicated.
        6 | 7 => {
            let text = String::from_utf8_lossy(data).into_owned();
            let mut lines: Vec<&str> = text.split('\n').collect();
            let (i, j) = (rng.below(lines.len()), rng.below(lines.len()));
            if rng.below(2) == 0 {
                lines.swap(i, j);
            } else {
                let line = lines[i];
                lines.insert(j, line);
            }
            *data = lines.join("\n").into_bytes();
        }
        // Truncated.
        _ => data.truncate(at),
    }
}

fn mutate(rng: &mut Rng, original: &[u8]) -> Vec<u8> {
    let mut data = original.to_vec();
    // Mostly one mutation: each one more makes a valid result rarer.
    for _ in 0..1 + rng.below(4) / 3 {
        mutate_once(rng, &mut data);
    }
    data
}

/// What was fed to the binary, and how.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Target {
    /// `solve INSTANCE --out`.
    Solve,
    /// `check INSTANCE SOLUTION` with the solution mutated.
    Check,
    /// `plan MODEL.toml`.
    Model,
    /// `plan --cubie DUMP.json`.
    Dump,
}

fn files(dir: &str, ext: &str, skip: &[&str]) -> Vec<PathBuf> {
    fn walk(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
        for e in fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()) {
            if e.is_dir() {
                walk(&e, ext, out);
            } else if e.extension().is_some_and(|x| x == ext) {
                out.push(e);
            }
        }
    }
    let mut out = Vec::new();
    walk(&Path::new(env!("CARGO_MANIFEST_DIR")).join(dir), ext, &mut out);
    out.retain(|p| !skip.iter().any(|s| p.to_string_lossy().contains(s)));
    out.sort();
    out
}

struct Corpus {
    instances: Vec<PathBuf>,
    solutions: Vec<(PathBuf, PathBuf)>,
    models: Vec<PathBuf>,
    dumps: Vec<PathBuf>,
}

impl Corpus {
    fn load() -> Corpus {
        let mut instances =
            files("tests/data", "csv", &["cubie-reference", "/bad/", ".valid.", ".overlap.", ".missing."]);
        instances.extend(files("benches/data", "csv", &[]));
        let data = |n: &str| Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(n);
        let solutions = ["small.valid.csv", "small.overlap.csv", "small.missing.csv"]
            .iter()
            .map(|s| (data("small.csv"), data(s)))
            .collect();
        // Everything in models/ but the tables that are not kernel models.
        let models = files("models", "toml", &["devices.toml", "cubie-lifetimes.toml"]);
        let dumps = files("tests/data/cubie-reference", "json", &[]);
        assert!(instances.len() > 10 && models.len() > 5 && dumps.len() > 100, "the corpus is in the tree");
        Corpus { instances, solutions, models, dumps }
    }
}

/// A case that broke a property.
struct Failure {
    case: u64,
    target: Target,
    input: PathBuf,
    why: String,
}

/// Brute-force check of `(offset per buffer)`: alignment, fixed offsets, and
/// no two buffers live at the same instant sharing a byte (pairs, segments
/// of each lifetime between its gaps). `None` when valid.
fn brute_force(problem: &Problem, offsets: &[u64]) -> Option<String> {
    let buffers = problem.buffers();
    if offsets.len() != buffers.len() {
        return Some(format!("{} offsets for {} buffers", offsets.len(), buffers.len()));
    }
    let segments = |b: &smemplan::Buffer| {
        let mut out = Vec::new();
        let mut start = b.lifetime.start;
        for g in &b.gaps {
            out.push((start, g.start));
            start = g.end;
        }
        out.push((start, b.lifetime.end));
        out.retain(|(s, e)| s < e);
        out
    };
    let live: Vec<Vec<(u64, u64)>> = buffers.iter().map(segments).collect();
    for (i, b) in buffers.iter().enumerate() {
        if offsets[i].checked_add(b.size).is_none() {
            return Some(format!("`{}` ends past 2^64", b.name));
        }
        if !offsets[i].is_multiple_of(b.alignment) {
            return Some(format!("`{}` at {} is not aligned to {}", b.name, offsets[i], b.alignment));
        }
        if b.offset.is_some_and(|o| o != offsets[i]) {
            return Some(format!("`{}` moved from its fixed offset", b.name));
        }
        for j in i + 1..buffers.len() {
            let c = &buffers[j];
            let meet = live[i].iter().any(|&(s, e)| live[j].iter().any(|&(t, f)| s < f && t < e));
            let (a0, a1) = (offsets[i] as u128, offsets[i] as u128 + b.size as u128);
            let (b0, b1) = (offsets[j] as u128, offsets[j] as u128 + c.size as u128);
            if meet && a0 < b1 && b0 < a1 {
                return Some(format!("`{}` and `{}` overlap", b.name, c.name));
            }
        }
    }
    None
}

/// Runs the binary; `Err` when it did not exit 0, 1 or 2 with the stderr a
/// user should see.
fn run(args: &[&Path]) -> Result<i32, String> {
    let out = Command::new(env!("CARGO_BIN_EXE_smemplan")).args(args).output().expect("the binary runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let Some(code) = out.status.code() else {
        return Err(format!("killed by a signal ({:?}): {stderr}", out.status));
    };
    if stderr.contains("panicked") || stderr.contains("overflow") && stderr.contains("stack") {
        return Err(format!("exit {code}, panic: {stderr}"));
    }
    match code {
        0 | 1 => Ok(code),
        2 if stderr.starts_with("smemplan: ") && stderr.trim().len() > "smemplan:".len() => {
            if stderr.contains("internal error") {
                Err(format!("internal error: {stderr}"))
            } else {
                Ok(2)
            }
        }
        _ => Err(format!("exit {code} with stderr {stderr:?}")),
    }
}

fn offsets_of(problem: &Problem, solution: &str) -> Option<Vec<u64>> {
    let rows = minimalloc::read_offsets("solution", solution).ok()?;
    problem
        .buffers()
        .iter()
        .map(|b| {
            let mut hits = rows.iter().filter(|(id, _, _)| *id == b.name);
            let first = hits.next()?;
            hits.next().is_none().then_some(first.1)
        })
        .collect::<Option<Vec<u64>>>()
        .filter(|v| v.len() == rows.len())
}

/// One case: mutate, run, judge; `Ok(exit code)` when every property held.
fn case(rng: &mut Rng, corpus: &Corpus, target: Target, dir: &Path) -> Result<i32, String> {
    let p = |name: &str| dir.join(name);
    match target {
        Target::Solve => {
            let source = rng.pick(&corpus.instances);
            let input = mutate(rng, &fs::read(source).unwrap());
            fs::write(p("input.csv"), &input).unwrap();
            let _ = fs::remove_file(p("out.csv"));
            let strategies: Vec<&str> = smemplan::solve::strategies::STRATEGIES.iter().map(|s| s.name).collect();
            let strategy = PathBuf::from(*rng.pick(&strategies));
            let code = run(&[
                Path::new("solve"),
                &p("input.csv"),
                Path::new("--strategy"),
                &strategy,
                Path::new("--time-limit"),
                Path::new("0.2"),
                Path::new("--out"),
                &p("out.csv"),
            ])?;
            if code != 0 {
                return if code == 2 { Ok(2) } else { Err(format!("solve exited {code}")) };
            }
            let text = String::from_utf8(input).map_err(|_| "accepted an instance that is not UTF-8".to_string())?;
            let problem = minimalloc::read_problem("input", &text).map_err(|e| format!("accepted, but {e}"))?;
            let solution = fs::read_to_string(p("out.csv")).map_err(|e| format!("no --out: {e}"))?;
            let offsets = offsets_of(&problem, &solution).ok_or("the --out file lacks offsets")?;
            let named: Vec<(&str, u64)> =
                problem.buffers().iter().map(|b| b.name.as_str()).zip(offsets.clone()).collect();
            let report = check::check(&problem, &named, None);
            if let Some(v) = report.violations.first() {
                return Err(format!("the checker rejects the layout: {v}"));
            }
            brute_force(&problem, &offsets).map_or(Ok(0), |why| Err(format!("brute force rejects the layout: {why}")))
        }
        Target::Check => {
            let (instance, solution) = rng.pick(&corpus.solutions);
            let input = mutate(rng, &fs::read(solution).unwrap());
            fs::write(p("solution.csv"), &input).unwrap();
            let code = run(&[Path::new("check"), instance, &p("solution.csv")])?;
            if code == 2 {
                return Ok(2);
            }
            let problem = minimalloc::read_problem("i", &fs::read_to_string(instance).unwrap()).unwrap();
            // `None`: the rows do not give one offset to each buffer.
            let verdict = offsets_of(&problem, &String::from_utf8_lossy(&input)).map(|o| brute_force(&problem, &o));
            match (code, verdict) {
                (0, Some(None)) | (1, None) | (1, Some(Some(_))) => Ok(code),
                (c, v) => Err(format!("check exited {c}, brute force says {v:?}")),
            }
        }
        Target::Model => {
            let source = rng.pick(&corpus.models);
            let input = mutate(rng, &fs::read(source).unwrap());
            fs::write(p("model.toml"), &input).unwrap();
            run(&[Path::new("plan"), &p("model.toml"), Path::new("--time-limit"), Path::new("0.2")])
        }
        Target::Dump => {
            let source = rng.pick(&corpus.dumps);
            let input = mutate(rng, &fs::read(source).unwrap());
            fs::write(p("dump.json"), &input).unwrap();
            run(&[
                Path::new("plan"),
                Path::new("--cubie"),
                &p("dump.json"),
                Path::new("--time-limit"),
                Path::new("0.2"),
            ])
        }
    }
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    match std::env::var(name) {
        Ok(v) => v.parse().unwrap_or_else(|_| panic!("{name}={v} is not a valid value")),
        Err(_) => default,
    }
}

#[test]
fn mutated_inputs_never_crash_and_accepted_layouts_are_valid() {
    let secs: f64 = env_or("SMEMPLAN_FUZZ_SECS", DEFAULT_SECS);
    let seed: u64 = env_or("SMEMPLAN_FUZZ_SEED", DEFAULT_SEED);
    let corpus = Corpus::load();
    let dir = std::env::temp_dir().join(format!("smemplan-fuzz-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();

    let targets = [Target::Solve, Target::Check, Target::Model, Target::Dump];
    let deadline = Instant::now() + Duration::from_secs_f64(secs);
    let mut failures: Vec<Failure> = Vec::new();
    let mut cases = 0u64;
    // Per target: exits 0, 1 and 2 of the cases that passed.
    let mut exits = [[0u64; 3]; 4];
    let only: Option<u64> = std::env::var("SMEMPLAN_FUZZ_CASE").ok().map(|v| v.parse().expect("a case number"));
    if let Some(n) = only {
        cases = n;
    }
    while Instant::now() < deadline && only.is_none_or(|n| cases == n) {
        // Each case has its own stream, so `seed` and the case number
        // reproduce it alone.
        let mut rng = Rng(seed ^ cases.wrapping_mul(0xa076_1d64_78bd_642f));
        let t = cases as usize % targets.len();
        let work = dir.join(format!("case-{t}"));
        fs::create_dir_all(&work).unwrap();
        match case(&mut rng, &corpus, targets[t], &work) {
            Ok(code) => exits[t][code as usize] += 1,
            Err(why) => {
                let kept = dir.join(format!("failure-{cases}"));
                let _ = fs::rename(&work, &kept);
                failures.push(Failure { case: cases, target: targets[t], input: kept, why });
            }
        }
        cases += 1;
    }
    for (t, [ok, rejected, errors]) in targets.iter().zip(exits) {
        eprintln!("fuzz {t:?}: {ok} accepted, {rejected} rejected layouts, {errors} refused inputs");
        // Light mutations leave many inputs readable: a target that reads
        // none is not being exercised.
        assert!(ok + rejected > 0 || errors < 50, "{t:?} refused every input");
    }
    eprintln!("fuzz: seed {seed:#x}, {cases} cases in {secs} s");
    assert!(only.is_some() || cases >= targets.len() as u64, "the budget ran at least one case of each target");
    if !failures.is_empty() {
        let list: Vec<String> = failures
            .iter()
            .take(10)
            .map(|f| format!("case {} ({:?}, input kept in {}): {}", f.case, f.target, f.input.display(), f.why))
            .collect();
        panic!("{} of {cases} cases failed (seed {seed:#x}):\n{}", failures.len(), list.join("\n"));
    }
    let _ = fs::remove_dir_all(&dir);
}
