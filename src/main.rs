//! The `smemplan` binary: parse the command line, run it, map the outcome to
//! an exit code. All the work is in the library and in `cli/`.
//!
//! Exit codes: 0 done, 1 layout rejected (`check`, `plot`), 2 bad input,
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
        // `smemplan … | head` closing the pipe early is not a failure.
        Err(err) if cli::is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            let _ = writeln!(std::io::stderr(), "smemplan: {err:#}");
            ExitCode::from(2)
        }
    }
}
