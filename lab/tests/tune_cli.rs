//! `smemplan-lab tune` and `verify --sweep` without a card: the ranking
//! (`--rank-only`), the sweep rows read back, and the clear error, exit 2,
//! where the card is needed and missing (or the build lacks the `gpu`
//! feature).

// The shared harness; this file uses part of it.
#[allow(dead_code)]
#[path = "support/cli.rs"]
mod harness;

use harness::lab;

/// Either no-card message: the build without the `gpu` feature, or no driver.
fn says_no_card(stderr: &str) -> bool {
    stderr.contains("without GPU support") || stderr.contains("no CUDA driver") || stderr.contains("GPU:")
}

#[test]
fn rank_only_lists_layouts_and_the_share_to_time() {
    let run = lab(&["tune", "--rank-only", "--set", "n=3", "--device", "h100", "--runs", "4096"]).expect(0);
    for needle in ["layout smemplan split", "layout all local", "layout cubie", "candidates on `h100`", "rank    1:"] {
        assert!(run.stdout.contains(needle), "`{needle}` missing:\n{}", run.stdout);
    }
    // A tenth of the candidates, at least one: the ranks listed are 1..=k.
    let listed = run.stdout.lines().filter(|l| l.trim_start().starts_with("rank")).count();
    let total: usize = run.stdout.split(" candidates").next().unwrap().rsplit(' ').next().unwrap().parse().unwrap();
    assert_eq!(listed, (total / 10).max(1), "{}", run.stdout);
}

#[test]
fn tune_without_a_card_or_with_a_bad_share_is_refused() {
    let run = lab(&["tune", "--set", "n=3", "--device", "h100", "--runs", "4096"]).expect(2);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(says_no_card(&run.stderr), "{}", run.stderr);
    let run = lab(&["tune", "--rank-only", "--share", "0"]).expect(2);
    assert!(run.stderr.contains("--share must be in (0, 1]"), "{}", run.stderr);
    let run = lab(&["tune", "--rank-only", "--model", "nope"]).expect(2);
    assert!(run.stderr.contains("nope"), "{}", run.stderr);
}

#[test]
fn verify_sweep_reads_the_rows_then_needs_a_card() {
    let dir = std::env::temp_dir().join(format!("smemplan-lab-tune-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let rows = dir.join("rows.csv");
    std::fs::write(
        &rows,
        "index,model,n,precision,device,strategy,fits,best_block_size,tiers\n\
         0,dirk,3,f32,h100,cubie,true,32,fixed\n1,dirk,3,f32,h100,auto,true,32,auto\n",
    )
    .unwrap();
    let out = dir.join("measured.csv");
    let (r, o) = (rows.display().to_string(), out.display().to_string());
    let run = lab(&["verify", "--sweep", &r, "--out", &o, "--runs", "4096", "--time-limit", "1s"]).expect(2);
    assert!(says_no_card(&run.stderr), "{}", run.stderr);
    assert!(!out.exists(), "nothing measured, nothing written");
    // A bad row names its file and line before any card is asked for.
    std::fs::write(&rows, "index,model,n,device,strategy,best_block_size\n0,dirk,3,h100,auto,x\n").unwrap();
    let run = lab(&["verify", "--sweep", &r, "--out", &o]).expect(2);
    assert!(run.stderr.contains("rows.csv:2") && run.stderr.contains("best_block_size `x`"), "{}", run.stderr);
    std::fs::write(&rows, "index,model,n,device,strategy,best_block_size\n0,nomodel,3,h100,auto,32\n").unwrap();
    let run = lab(&["verify", "--sweep", &r, "--out", &o]).expect(2);
    assert!(run.stderr.contains("rows.csv:2") && run.stderr.contains("nomodel"), "{}", run.stderr);
    let run = lab(&["verify", "--sweep", &r]).expect(2);
    assert!(run.stderr.contains("--out"), "{}", run.stderr);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn rank_only_on_an_integrator_lists_measures_layouts_and_the_share() {
    let run = lab(&["tune", "--rank-only", "--method", "dirk", "--system", "robertson", "--device", "h100"]).expect(0);
    let first = run.stdout.lines().next().unwrap();
    assert!(first.starts_with("dirk/robertson/f32/batch-16384: 6 layouts"), "{}", run.stdout);
    for needle in ["layout cubie all-shared, odd-stride", "layout smemplan all-local", "rank    1:", "re-rank"] {
        assert!(run.stdout.contains(needle), "`{needle}` missing:\n{}", run.stdout);
    }
    let listed = run.stdout.lines().filter(|l| l.trim_start().starts_with("rank")).count();
    let total: usize = first.split(" candidates").next().unwrap().rsplit(' ').next().unwrap().parse().unwrap();
    assert_eq!(listed, (total / 10).max(1), "{}", run.stdout);
    // --share 1 lists every candidate.
    let all =
        lab(&["tune", "--rank-only", "--method", "dirk", "--system", "robertson", "--device", "h100", "--share", "1"])
            .expect(0);
    assert_eq!(all.stdout.lines().filter(|l| l.trim_start().starts_with("rank")).count(), total);
}

#[test]
fn an_integrators_flags_are_checked_before_a_card_is_looked_for() {
    for (flags, needle) in [
        (vec!["--method", "rk4"], "no method `rk4`"),
        (vec!["--method", "dirk", "--steps", "20"], "--steps applies to fixed-step methods"),
        (vec!["--method", "dirk", "--system", "robertson", "--n", "4"], "robertson has n = 3, not 4"),
        (vec!["--method", "dirk", "--batch", "0"], "--batch"),
        (vec!["--system", "robertson"], "--method"),
        (vec!["--method", "dirk", "--model", "erk"], "--model"),
        (vec!["--method", "dirk", "--set", "n=3"], "--set"),
        (vec!["--method", "dirk", "--runs", "64"], "--runs"),
        (vec!["--method", "dirk", "--iterations", "3"], "--iterations"),
        (vec!["--method", "dirk", "--share", "1.5"], "--share must be in (0, 1]"),
    ] {
        for mode in [&["--rank-only"][..], &[][..]] {
            let mut args = vec!["tune"];
            args.extend(&flags);
            args.extend(mode);
            let run = lab(&args).expect(2);
            assert!(run.stderr.contains(needle), "{args:?}: {}", run.stderr);
        }
    }
}

#[test]
fn an_integrator_without_a_card_is_refused_and_writes_nothing() {
    let dir = std::env::temp_dir().join(format!("smemplan-lab-tune-real-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let json = dir.join("tune.json");
    let j = json.display().to_string();
    let run =
        lab(&["tune", "--method", "dirk", "--system", "robertson", "--batch", "64", "--exhaustive", "--json", &j])
            .expect(2);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(says_no_card(&run.stderr), "{}", run.stderr);
    assert!(!json.exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `scripts/gpu-tune-real.sh` without a card: every case's candidates are
/// counted first, then each case fails on its own (reported, the others
/// still run), nothing is left in OUT as a result, and the exit code is 1.
#[test]
fn the_real_tune_script_reports_each_failing_case_and_goes_on() {
    let dir = std::env::temp_dir().join(format!("smemplan-lab-tune-script-{}", std::process::id()));
    let script = harness::repo("scripts/gpu-tune-real.sh");
    let run = std::process::Command::new("bash")
        .arg(&script)
        .arg(env!("CARGO_BIN_EXE_smemplan-lab"))
        .arg(&dir)
        .output()
        .unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&run.stdout), String::from_utf8_lossy(&run.stderr));
    assert_eq!(run.status.code(), Some(1), "{stdout}\n{stderr}");
    let cases =
        ["dp-n16-f32", "dp-n16-f64", "dp-n64-f32", "dp-n64-f64", "be-n32-f64", "dirk-n32-f32", "dirk-robertson-f32"];
    for case in cases {
        assert!(stdout.lines().any(|l| l.starts_with(case) && l.contains(" candidates, about ")), "{case}:\n{stdout}");
        assert!(stdout.contains(&format!("== {case}: ")), "{case}:\n{stdout}");
        assert!(dir.join(format!("tune-{case}.txt")).exists(), "{case}");
        assert!(!dir.join(format!("tune-{case}.json")).exists(), "{case}");
    }
    assert!(stderr.contains(&format!("FAILED: {}", cases.join(" "))), "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
    // A binary that is not there: refused before anything runs.
    let run = std::process::Command::new("bash").arg(&script).arg(dir.join("nope")).arg(&dir).output().unwrap();
    assert_eq!(run.status.code(), Some(2));
    assert!(!dir.exists());
}
