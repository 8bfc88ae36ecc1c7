//! The solvers' properties once more, built with overflow checks.
//!
//! `cargo test --release` builds every target, tests included, with the
//! `release` profile (Cargo's `--release` is `--profile release`, and the
//! `test` and `bench` profiles play no part in it), so the tests run the
//! same code that ships: without overflow checks, where an overflow wraps
//! silently. Turning the checks on in that profile would change the
//! shipped binary. Instead, [`the_solver_properties_hold_with_overflow_checks`]
//! runs the property tests again under the `overflow` profile of
//! `Cargo.toml` (the release profile plus overflow checks, for every crate
//! of the build): an overflow anywhere in the library then panics and fails
//! them. Its first run builds the dependencies once more, into
//! `target/overflow/`.
//!
//! [`overflow_checks_are_on_exactly_where_the_profile_says`] shows that
//! the checks are really on in that run (and off in the release run); the
//! runner demands that it passed there.

use std::hint::black_box;
use std::path::Path;
use std::process::Command;

/// The test binaries that run under the `overflow` profile: the solvers'
/// properties, and this file for the probe below.
const PROPERTY_TESTS: [&str; 4] = ["properties", "agreement", "ilp", "overflow_checks"];

/// Tests of those binaries left out there: they time a deadline, which the
/// release run checks already, and a second, busier run would only make
/// them flaky.
const TIMING_TESTS: [&str; 1] = ["a_hard_problem_returns_in_time_with_a_valid_layout"];

/// The profile this test binary was built with: the name of the folder
/// above `deps/` (`target/<profile>/deps/<binary>`), where Cargo puts it.
fn profile() -> String {
    let exe = std::env::current_exe().expect("the test binary's path");
    let dir = exe.parent().and_then(Path::parent).and_then(Path::file_name);
    dir.and_then(|d| d.to_str()).expect("target/<profile>/deps/<binary>").to_string()
}

#[test]
fn overflow_checks_are_on_exactly_where_the_profile_says() {
    let checked = std::panic::catch_unwind(|| black_box(u64::MAX) + black_box(1)).is_err();
    let expected = match profile().as_str() {
        // `cargo test` and `--profile overflow`.
        "debug" | "overflow" => true,
        // `cargo test --release`: what ships.
        "release" => false,
        other => {
            eprintln!("profile `{other}`: no expectation, overflow checks {checked}");
            return;
        }
    };
    assert_eq!(checked, expected, "profile `{}`: overflow checks {checked}, Cargo.toml says {expected}", profile());
}

#[test]
fn the_solver_properties_hold_with_overflow_checks() {
    if profile() == "overflow" {
        // This binary is itself part of the run below; it must not recurse.
        return;
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command.current_dir(env!("CARGO_MANIFEST_DIR")).args(["test", "--profile", "overflow"]);
    for test in PROPERTY_TESTS {
        command.args(["--test", test]);
    }
    command.arg("--");
    for test in TIMING_TESTS {
        command.args(["--skip", test]);
    }
    let output = command.output().expect("cargo runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let all = format!("{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "the properties fail with overflow checks on:\n{all}");
    assert!(
        stdout.contains("test overflow_checks_are_on_exactly_where_the_profile_says ... ok"),
        "the probe did not run under the overflow profile:\n{all}"
    );
    let binaries = stdout.matches("test result: ok.").count();
    assert_eq!(binaries, PROPERTY_TESTS.len(), "not every property test ran:\n{all}");
}
