//! A seeded mutation fuzzer over the two inputs `smemplan-lab calibrate`
//! reads from users: block-size tables (CSV) and `measure` results (JSON).
//!
//! Each round takes a valid seed (the committed H200 block-size table, and
//! one case cut from the committed measured results), mutates it (bytes
//! flipped, inserted or deleted; lines duplicated, dropped or swapped; a
//! field replaced with a hostile value: NaN, ±inf, 0, −0, a subnormal, a
//! 30-digit count, text, control characters), and feeds it to the same
//! functions the command calls. Whatever comes in, the reader must return
//! (never panic), and every refusal must name its source; what it accepts
//! must be physically possible (finite positive times, launchable runs).
//!
//! The campaign of issue 19 ran 8,000 such inputs; `SMEMPLAN_FUZZ_RUNS`
//! sets the rounds per input kind (default 400, which CI runs), and
//! `SMEMPLAN_FUZZ_SEED` replays one round's sequence from its seed (a
//! failure prints both).

use smemplan::core::generate::SplitMix64;
use smemplan::perf::occupancy::DeviceProfile;
use smemplan_lab::calibrate::{self, Observation};
use smemplan_lab::gpu::measure::Results;
use std::panic::{catch_unwind, AssertUnwindSafe};

const TABLE: &str = include_str!("../../tests/data/h200-block-size.csv");
const RESULTS: &str = include_str!("../../docs/results/gpu-h200-throughput-2026-12-07.json");

/// Values a hostile file puts where a number belongs.
const HOSTILE: &[&str] = &[
    "NaN",
    "inf",
    "-inf",
    "0",
    "-0",
    "0.0",
    "-1",
    "4.9e-324",
    "1e308",
    "1e-310",
    "999999999999999999999999999999",
    "18446744073709551616",
    "",
    " ",
    "x",
    "\u{1b}[31m",
    "1,2",
    "\"",
    "null",
    "[]",
    "{}",
    "true",
];

fn rounds() -> u64 {
    std::env::var("SMEMPLAN_FUZZ_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(400)
}

fn seeds() -> Vec<u64> {
    match std::env::var("SMEMPLAN_FUZZ_SEED").ok().and_then(|v| v.parse().ok()) {
        Some(seed) => vec![seed],
        None => (0..rounds()).map(|k| 0x5eed_0000 + k).collect(),
    }
}

fn below(rng: &mut SplitMix64, n: usize) -> usize {
    (rng.next_u64() % n.max(1) as u64) as usize
}

/// One to three random edits of `text`, at byte, line or field level.
fn mutate(text: &str, rng: &mut SplitMix64) -> String {
    let mut out = text.to_string();
    for _ in 0..1 + below(rng, 3) {
        out = match below(rng, 6) {
            0 => {
                // Flip a byte (the result may not be UTF-8: read it lossily,
                // as the command does not; it refuses non-UTF-8 itself).
                let mut bytes = out.into_bytes();
                if !bytes.is_empty() {
                    let at = below(rng, bytes.len());
                    bytes[at] ^= 1 << below(rng, 8);
                }
                String::from_utf8_lossy(&bytes).into_owned()
            }
            1 => {
                let at = floor_char(&out, below(rng, out.len() + 1));
                let end = floor_char(&out, (at + below(rng, 40)).min(out.len()));
                format!("{}{}", &out[..at], &out[end..])
            }
            2 => {
                let at = floor_char(&out, below(rng, out.len() + 1));
                format!("{}{}{}", &out[..at], HOSTILE[below(rng, HOSTILE.len())], &out[at..])
            }
            3 => {
                let mut lines: Vec<&str> = out.lines().collect();
                if !lines.is_empty() {
                    let (a, b) = (below(rng, lines.len()), below(rng, lines.len()));
                    match below(rng, 3) {
                        0 => lines.insert(b, lines[a]),
                        1 => {
                            lines.remove(a);
                        }
                        _ => lines.swap(a, b),
                    }
                }
                let sep = if below(rng, 4) == 0 { "\r\n" } else { "\n" };
                lines.join(sep)
            }
            _ => replace_number(&out, rng),
        };
    }
    out
}

/// Replaces one run of digits (a number's body) with a hostile value.
fn replace_number(text: &str, rng: &mut SplitMix64) -> String {
    let starts: Vec<usize> = text
        .char_indices()
        .filter(|&(i, c)| c.is_ascii_digit() && (i == 0 || !text.as_bytes()[i - 1].is_ascii_digit()))
        .map(|(i, _)| i)
        .collect();
    if starts.is_empty() {
        return text.to_string();
    }
    let start = starts[below(rng, starts.len())];
    let end = text[start..]
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == 'e' || c == '-'))
        .map_or(text.len(), |k| start + k);
    format!("{}{}{}", &text[..start], HOSTILE[below(rng, HOSTILE.len())], &text[end..])
}

fn floor_char(s: &str, mut at: usize) -> usize {
    while !s.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// What an accepted observation must satisfy, whatever the input was: a
/// finite positive time, and a launch the profile can run (`shared`: the
/// block's shared bytes as the input stated them).
fn physical(o: &Observation, device: &DeviceProfile, shared: u64) -> Result<(), String> {
    if !(o.seconds.is_finite() && o.seconds > 0.0 && (1.0 / o.seconds).is_finite()) {
        return Err(format!("accepted a time of {} s", o.seconds));
    }
    device
        .check_launch(o.block_size, shared, o.workload.registers_per_thread)
        .map_err(|e| format!("accepted a run that cannot launch: {e}"))
}

fn h200() -> DeviceProfile {
    DeviceProfile::named("h200").unwrap()
}

/// How a round ended, when it broke no rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Outcome {
    /// Not even the file's syntax held.
    Unreadable,
    /// Read, then refused with a message naming the file.
    Refused,
    /// Accepted, every observation physically possible.
    Accepted,
}

/// Runs `body` on every round's mutated input, reporting the seed and the
/// input of the first round that panics or breaks a rule. Returns how many
/// rounds ended each way, so a test can show the mutations reach past the
/// syntax.
fn campaign(
    kind: &str,
    seed_text: &str,
    body: impl Fn(&str) -> Result<Outcome, String>,
) -> std::collections::BTreeMap<Outcome, u64> {
    let mut tally = std::collections::BTreeMap::new();
    for seed in seeds() {
        let mut rng = SplitMix64(seed);
        let input = mutate(seed_text, &mut rng);
        let verdict = catch_unwind(AssertUnwindSafe(|| body(&input)));
        let failure = match verdict {
            Ok(Ok(outcome)) => {
                *tally.entry(outcome).or_insert(0) += 1;
                continue;
            }
            Ok(Err(broken)) => broken,
            Err(_) => "panicked".to_string(),
        };
        let excerpt: String = input.chars().take(600).collect();
        panic!("{kind}, SMEMPLAN_FUZZ_SEED={seed}: {failure}\ninput (first 600 chars):\n{excerpt}");
    }
    tally
}

/// With the default rounds, every way of ending is reached: the campaign
/// tests the checks, not only the parser.
fn assert_reaches_every_outcome(kind: &str, tally: &std::collections::BTreeMap<Outcome, u64>) {
    if std::env::var_os("SMEMPLAN_FUZZ_SEED").is_none() {
        for outcome in [Outcome::Refused, Outcome::Accepted] {
            assert!(tally.get(&outcome).is_some_and(|&n| n > 0), "{kind}: no round was {outcome:?}: {tally:?}");
        }
    }
}

#[test]
fn block_tables_never_panic_and_accept_only_physical_rows() {
    let device = h200();
    // The seed itself is valid: the mutations, not the seed, are refused.
    assert!(!calibrate::block_table(&device, "seed.csv", TABLE).unwrap().is_empty());
    let tally = campaign("block table", TABLE, |input| match calibrate::block_table(&device, "fuzz.csv", input) {
        Ok(observations) => observations
            .iter()
            .try_for_each(|o| physical(o, &device, o.workload.shared_bytes_per_run.saturating_mul(o.block_size)))
            .map(|()| Outcome::Accepted),
        Err(e) if e.to_string().contains("fuzz.csv") => Ok(Outcome::Refused),
        Err(e) => Err(format!("a refusal that does not name the file: {e}")),
    });
    assert_reaches_every_outcome("block table", &tally);
}

/// One case of the committed results with a handful of runs: small enough
/// that each round rebuilds its kernels in milliseconds.
fn results_seed() -> String {
    let mut results: Results = serde_json::from_str(RESULTS).unwrap();
    results.cases.truncate(1);
    results.cases[0].runs.truncate(4);
    serde_json::to_string_pretty(&results).unwrap()
}

#[test]
fn measured_results_never_panic_and_accept_only_physical_runs() {
    let device = h200();
    let seed = results_seed();
    let parsed: Results = serde_json::from_str(&seed).unwrap();
    calibrate::check_results("seed.json", &parsed, &device).unwrap();
    assert!(!calibrate::from_measurements(&parsed).unwrap().is_empty());
    let tally = campaign("measured results", &seed, |input| {
        // Text that is not a results file is the command's refusal
        // (`is not a results file`), made before these functions run.
        let Ok(results) = serde_json::from_str::<Results>(input) else { return Ok(Outcome::Unreadable) };
        if let Err(e) = calibrate::check_results("fuzz.json", &results, &device) {
            return if e.to_string().contains("fuzz.json") {
                Ok(Outcome::Refused)
            } else {
                Err(format!("a refusal that does not name the file: {e}"))
            };
        }
        let stated = results.cases.iter().flat_map(|c| &c.runs).map(|r| r.dynamic_shared_bytes);
        match calibrate::from_measurements(&results) {
            Ok(observations) => observations
                .iter()
                .zip(stated)
                .try_for_each(|(o, shared)| physical(o, &device, shared))
                .map(|()| Outcome::Accepted),
            // An unknown case or layout name is refused by name.
            Err(e) if !e.to_string().is_empty() => Ok(Outcome::Refused),
            Err(_) => Err("an empty error message".into()),
        }
    });
    assert_reaches_every_outcome("measured results", &tally);
}
