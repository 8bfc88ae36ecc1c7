//! Running a solver with the independent checker behind it. Included with
//! `#[path]`.

use smemplan::solve::{self, Solution, SolveOptions, Solver};
use smemplan::Problem;

/// Runs `solver` through [`solve::run`]; fails, naming the solver, unless
/// [`check::verify`] accepts the answer.
pub fn run_checked(solver: &dyn Solver, p: &Problem, options: &SolveOptions) -> Result<Solution, String> {
    let s = solve::run(solver, p, options).map_err(|e| format!("{}: {e}", solver.name()))?;
    smemplan::solve::verify(p, &s).map_err(|r| format!("{}: {r}", solver.name()))?;
    Ok(s)
}
