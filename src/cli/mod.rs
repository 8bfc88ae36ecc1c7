//! The command line: clap definitions, dispatch, and what the subcommands
//! share (reading inputs, solving under the independent checker).
//!
//! Binary-only: the library never sees clap or anyhow. Each subcommand is one
//! file holding its `Args` (clap derive; every flag's doc comment is its
//! help) and a `run` that returns an [`Verdict`] or an error. Adding a
//! subcommand is one variant of [`Command`], one arm in [`run`], one file.
//!
//! Exit codes (mapped in `main.rs`): 0 when the command did its job (a valid
//! layout was produced, or a checked layout is valid), 1 when `check` or
//! `plot` rejects a layout, 2 for bad input, bad usage or an internal error.

mod bench;
mod builtin;
mod check;
mod generate;
mod occupancy;
mod output;
mod plan;
mod plot;
mod solve;
mod sweep;
mod tiers;

use anyhow::Result;
use clap::builder::{PossibleValue, PossibleValuesParser};
use clap::{Parser, Subcommand};
use smemplan::core::format::minimalloc::{self, parse_duration};
use smemplan::{solve as solver, Problem, Solution, SolveOptions};
use std::io::{self, Write};
use std::path::Path;
use std::time::{Duration, Instant};

/// Plans GPU on-chip memory: gives buffers with sizes and lifetimes byte
/// offsets so that buffers live at the same time never overlap, minimising
/// the peak.
#[derive(Debug, Parser)]
#[command(name = "smemplan", version, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Plan a solver kernel's shared and local memory (a kernel model, a
    /// built-in one, or a CuBIE registry dump) and show CuBIE's layout and
    /// block size next to the optimised ones.
    Plan(plan::Args),
    /// Plan one instance (MiniMalloc CSV, or the built-in example) and report
    /// the peak, the lower bound and whether the peak is proven optimal.
    Solve(solve::Args),
    /// Check a solution against its instance with the independent checker.
    Check(check::Args),
    /// Run strategies over many instances and tabulate peak/lower bound and
    /// time.
    Bench(bench::Args),
    /// Draw a solution as an SVG picture (time on x, address on y).
    Plot(plot::Args),
    /// Sweep kernel models over parameter values, devices and strategies:
    /// bytes per thread, block sizes, occupancy and the Pareto front.
    Sweep(sweep::Args),
    /// Resident blocks, warps and threads per multiprocessor for one launch
    /// configuration (the driver's occupancy rule), and what limits them.
    Occupancy(occupancy::Args),
    /// Draw a problem from a generated family (random, ML-trace-like,
    /// tiling with a known optimum, dense) and write it as MiniMalloc CSV.
    Generate(generate::Args),
}

/// How a command that ran to its end went (its exit code; `solve::exact::Outcome`
/// is the capacity search's answer, a different thing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The command did its job (exit 0).
    Done,
    /// The layout under examination is invalid (exit 1).
    Rejected,
}

/// Runs the parsed command, writing its report to stdout.
pub fn run(cli: Cli) -> Result<Verdict> {
    let stdout = io::stdout();
    let mut out = stdout.lock();
    let outcome = match cli.command {
        Command::Plan(args) => plan::run(&args, &mut out)?,
        Command::Solve(args) => solve::run(&args, &mut out)?,
        Command::Check(args) => check::run(&args, &mut out)?,
        Command::Bench(args) => bench::run(&args, &mut out)?,
        Command::Plot(args) => plot::run(&args, &mut out)?,
        Command::Sweep(args) => sweep::run(&args, &mut out)?,
        Command::Occupancy(args) => occupancy::run(&args, &mut out)?,
        Command::Generate(args) => generate::run(&args, &mut out)?,
    };
    out.flush()?;
    Ok(outcome)
}

/// Whether the error is a closed stdout (`smemplan … | head`), which is not a
/// failure of the command.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        let kind = match e.downcast_ref::<serde_json::Error>() {
            Some(json) => json.io_error_kind(),
            None => e.downcast_ref::<io::Error>().map(io::Error::kind),
        };
        kind == Some(io::ErrorKind::BrokenPipe)
    })
}

/// The capacity and time limit, shared by the commands that solve.
#[derive(Debug, Clone, clap::Args)]
pub struct Limits {
    /// Capacity in bytes: stop at the first layout whose peak fits, and
    /// report whether it fits (without it, the peak is minimised).
    #[arg(long, value_name = "BYTES", allow_negative_numbers = true)]
    pub capacity: Option<u64>,
    /// Stop searching after this long and report the best layout found so
    /// far: seconds (fractions allowed: `2.5`) or a number with a unit, as
    /// MiniMalloc's `--timeout` takes it (`500ms`, `10s`, `1m`, `1h`; also
    /// `us`, `ns`).
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = parse_duration, allow_negative_numbers = true)]
    pub time_limit: Duration,
}

impl Limits {
    /// Solver options with a deadline starting now.
    fn options(&self) -> SolveOptions {
        SolveOptions {
            capacity: self.capacity,
            deadline: Instant::now().checked_add(self.time_limit),
            time_limit: None,
            ..SolveOptions::default()
        }
    }
}

/// Accepts the names in [`smemplan::solve::strategies::STRATEGIES`], each with its summary in
/// `--help`.
fn strategy_parser() -> PossibleValuesParser {
    PossibleValuesParser::new(
        smemplan::solve::strategies::STRATEGIES.iter().map(|s| PossibleValue::new(s.name).help(s.summary)),
    )
}

/// Reads a whole file as text, naming it (and where it is not text) in the
/// error; `-` is standard input.
fn read_text(path: &Path) -> Result<String> {
    use smemplan::core::format::text;
    Ok(if path == Path::new("-") { text::read_stream("-", io::stdin().lock())? } else { text::read_text(path)? })
}

/// Reads a solution file of `problem`: `(id, offset, line)` per row, once
/// any instance columns it has agree with `problem`'s.
fn load_offsets(path: &Path, problem: &Problem) -> Result<Vec<(String, u64, usize)>> {
    let text = read_text(path)?;
    Ok(minimalloc::read_solution(problem, &path.display().to_string(), &text)?)
}

/// Runs the independent checker on a solver's layout. A solver returning an
/// invalid layout is a bug, reported as an internal error so that the layout
/// is never written or reported.
fn verify(problem: &Problem, solution: &Solution, strategy: &str) -> Result<()> {
    solver::verify(problem, solution)
        .map_err(|r| solver::Error::Rejected { strategy: strategy.to_string(), reason: r.to_string() })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("smemplan").chain(args.iter().copied()))
    }

    fn solve_args(args: &[&str]) -> solve::Args {
        match parse(args).unwrap().command {
            Command::Solve(a) => a,
            other => panic!("parsed as {other:?}"),
        }
    }

    #[test]
    fn definitions_are_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn every_flag_has_help() {
        fn walk(cmd: &clap::Command) {
            for arg in cmd.get_arguments() {
                let id = arg.get_id().as_str();
                if id != "help" && id != "version" {
                    assert!(arg.get_help().is_some(), "`{} {id}` has no help", cmd.get_name());
                }
            }
            for sub in cmd.get_subcommands() {
                assert!(sub.get_about().is_some(), "`{}` has no about", sub.get_name());
                walk(sub);
            }
        }
        walk(&Cli::command());
    }

    #[test]
    fn solve_defaults() {
        let a = solve_args(&["solve"]);
        assert_eq!(a.instance, None);
        assert_eq!(a.strategy, smemplan::solve::strategies::DEFAULT_STRATEGY);
        assert_eq!(a.limits.capacity, None);
        // The command line's default limit is the library's, one concept.
        assert_eq!(a.limits.time_limit, smemplan::solve::DEFAULT_TIME_LIMIT);
        assert!(a.out.is_none() && a.svg.is_none() && !a.json);
    }

    #[test]
    fn solve_flags() {
        let name = smemplan::solve::strategies::STRATEGIES.last().unwrap().name;
        let a = solve_args(&[
            "solve",
            "x.csv",
            "--strategy",
            name,
            "--capacity",
            "1048576",
            "--time-limit",
            "2.5",
            "--out",
            "o.csv",
            "--svg",
            "o.svg",
            "--json",
        ]);
        assert_eq!(a.instance.as_deref(), Some(Path::new("x.csv")));
        assert_eq!(a.strategy, name);
        assert_eq!(a.limits.capacity, Some(1048576));
        assert_eq!(a.limits.time_limit, Duration::from_millis(2500));
        assert_eq!(a.out.as_deref(), Some(Path::new("o.csv")));
        assert_eq!(a.svg.as_deref(), Some(Path::new("o.svg")));
        assert!(a.json);
    }

    #[test]
    fn every_strategy_is_accepted_and_others_are_not() {
        for s in smemplan::solve::strategies::STRATEGIES {
            assert_eq!(solve_args(&["solve", "--strategy", s.name]).strategy, s.name);
        }
        let err = parse(&["solve", "--strategy", "no-such"]).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::InvalidValue);
    }

    #[test]
    fn bad_numbers_are_usage_errors() {
        for args in [
            ["solve", "--capacity", "-1"],
            ["solve", "--capacity", "1e6"],
            ["solve", "--capacity", "99999999999999999999"],
            ["solve", "--time-limit", "-1"],
            ["solve", "--time-limit", "soon"],
            ["solve", "--time-limit", "inf"],
        ] {
            assert!(parse(&args).is_err(), "{args:?} parsed");
        }
    }

    #[test]
    fn check_args() {
        let Command::Check(a) = parse(&["check", "i.csv", "s.csv", "--capacity", "64"]).unwrap().command else {
            panic!("not check");
        };
        assert_eq!((a.instance.as_path(), a.solution.as_path()), (Path::new("i.csv"), Path::new("s.csv")));
        assert_eq!(a.capacity, Some(64));
        assert!(parse(&["check", "i.csv"]).is_err(), "the solution is required");
    }

    #[test]
    fn bench_args() {
        let names: Vec<&str> = smemplan::solve::strategies::STRATEGIES.iter().take(2).map(|s| s.name).collect();
        let list = names.join(",");
        let Command::Bench(a) =
            parse(&["bench", "a", "b.csv", "--strategies", &list, "--capacity", "9", "--time-limit", "1", "--json"])
                .unwrap()
                .command
        else {
            panic!("not bench");
        };
        assert_eq!(a.paths.len(), 2);
        assert_eq!(a.strategies, names);
        assert_eq!(a.limits.capacity, Some(9));
        assert_eq!(a.limits.time_limit, Duration::from_secs(1));
        assert!(a.json);
        let Command::Bench(d) = parse(&["bench", "a"]).unwrap().command else { panic!("not bench") };
        assert_eq!(d.strategies, vec![smemplan::solve::strategies::DEFAULT_STRATEGY]);
        assert!(parse(&["bench"]).is_err(), "a path is required");
        assert!(parse(&["bench", "a", "--strategies", "greedy-size,nope"]).is_err());
    }

    #[test]
    fn plot_args() {
        let Command::Plot(a) =
            parse(&["plot", "i.csv", "s.csv", "--svg", "o.svg", "--capacity", "100"]).unwrap().command
        else {
            panic!("not plot");
        };
        assert_eq!(a.svg, Path::new("o.svg"));
        assert_eq!(a.capacity, Some(100));
        assert!(parse(&["plot", "i.csv", "s.csv"]).is_err(), "--svg is required");
    }

    #[test]
    fn builtin_example_is_valid() {
        let p = minimalloc::read_problem(builtin::NAME, builtin::CSV).unwrap();
        assert!(p.buffers().iter().any(|b| !b.gaps.is_empty()));
        assert!(p.buffers().iter().any(|b| b.alignment > 1));
    }

    #[test]
    fn an_invalid_solver_layout_is_an_internal_error() {
        let p = minimalloc::read_problem("t", "id,lower,upper,size\na,0,4,8\nb,2,6,8\n").unwrap();
        let good = Solution::new(&p, smemplan::Layout::new(vec![0, 8]), 16, false);
        verify(&p, &good, "test").unwrap();
        let overlapping = Solution::new(&p, smemplan::Layout::new(vec![0, 4]), 16, false);
        let err = verify(&p, &overlapping, "test").unwrap_err().to_string();
        assert!(err.contains("internal error") && err.contains("`a`") && err.contains("`b`"), "{err}");
        let mut lying = good.clone();
        lying.peak = 12;
        assert!(verify(&p, &lying, "test").unwrap_err().to_string().contains("reports peak 12"));
    }
}
