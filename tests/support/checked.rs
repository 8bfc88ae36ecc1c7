//! Running a solver with the independent checker behind it. Included with
//! `#[path]`.

use smemplan::check::check;
use smemplan::solve::{self, Solution, SolveOptions, Solver};
use smemplan::Problem;

/// Runs `solver` through [`solve::run`]; fails, naming the solver, unless
/// the checker accepts the layout and the reported peak is its peak.
pub fn run_checked(solver: &dyn Solver, p: &Problem, options: &SolveOptions) -> Result<Solution, String> {
    let s = solve::run(solver, p, options).map_err(|e| format!("{}: {e}", solver.name()))?;
    let report = check(p, &s.layout.named(p), None);
    if !report.is_valid() {
        return Err(format!("{}: invalid layout: {:?}", solver.name(), report.violations));
    }
    if report.peak != s.peak {
        return Err(format!("{}: reported peak {} but the layout's is {}", solver.name(), s.peak, report.peak));
    }
    Ok(s)
}
