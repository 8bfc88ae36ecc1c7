//! The seed of a test's random cases, one convention for every property:
//! a fixed seed by default, so that CI draws the same cases on every run;
//! `SMEMPLAN_SEED=N` draws from seed `N` instead (to replay a failure, or to
//! explore), and `SMEMPLAN_SEED=random` from a fresh one. Whatever the
//! seed, it is printed to stderr, which the test harness shows only for a
//! failing test, so every failure says how to replay it.
//!
//! Included with `#[path]` by the property tests, and by the crate's own
//! unit tests (`src/lib.rs`), so that both read the same variable.

use std::hash::{BuildHasher, RandomState};

/// The environment variable that overrides every property's seed.
pub const VAR: &str = "SMEMPLAN_SEED";

/// The seed for this test: `SMEMPLAN_SEED` when set, else `default`.
///
/// # Panics
/// When `SMEMPLAN_SEED` is neither a number nor `random`: a typo must not
/// silently run the default cases.
pub fn seed(default: u64) -> u64 {
    let seed = match std::env::var(VAR) {
        Err(_) => default,
        Ok(v) if v == "random" => RandomState::new().hash_one(std::time::SystemTime::now()),
        Ok(v) => v.parse().unwrap_or_else(|_| panic!("{VAR}: a number or `random`, not {v:?}")),
    };
    eprintln!("random cases from {VAR}={seed} (set it to replay them)");
    seed
}
