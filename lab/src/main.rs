//! The `smemplan-lab` binary: parse the command line, run it, map the outcome to
//! an exit code. All the work is in the lab crate and in `cli/`.
//!
//! Exit codes: 0 done, 1 a check on the card failed, 2 bad input,
//! bad usage or internal error. Usage errors and `--help` are clap's own.

mod cli;

use clap::Parser;
use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    match cli::run(args) {
        Ok(cli::Verdict::Done) => ExitCode::SUCCESS,
        Ok(cli::Verdict::Rejected) => ExitCode::from(1),
        Err(err) => {
            let _ = writeln!(std::io::stderr(), "smemplan-lab: {err:#}");
            ExitCode::from(2)
        }
    }
}
