//! The strategy table: every layout algorithm by its command-line name.
//!
//! It sits above `solve` rather than in it because it names every solver,
//! and every solver imports `solve`'s types (`Solver`, `SolveOptions`,
//! `Solution`): a table inside `solve` would close a loop with each row.
//! Adding a solver is one file under `src/solve/` plus one row here; the
//! property tests iterate this table.

use crate::error::{Error, Result};
use crate::{auto, brute, exact, greedy, ilp, lns, Solver};

/// One row of the strategy table.
pub struct Strategy {
    /// Name on the command line.
    pub name: &'static str,
    /// One line for `--help`.
    pub summary: &'static str,
    /// Builds the solver.
    pub make: fn() -> Box<dyn Solver>,
}

/// Every strategy, the default first.
pub const STRATEGIES: &[Strategy] = &[
    Strategy {
        name: "auto",
        summary: "portfolio: best greedy at once, then ilp (small) or exact until proven or the deadline",
        make: || Box::new(auto::Auto),
    },
    Strategy {
        name: "greedy-size",
        summary: "size-descending best fit against placed neighbours (TFLite/XLA)",
        make: || Box::new(greedy::GreedySize),
    },
    Strategy {
        name: "greedy-breadth",
        summary: "TFLite greedy by breadth: instants by live bytes, descending",
        make: || Box::new(greedy::GreedyBreadth),
    },
    Strategy {
        name: "greedy-time",
        summary: "first fit in order of lifetime start (a bump/stack allocator)",
        make: || Box::new(greedy::GreedyTime),
    },
    Strategy {
        name: "greedy-floor",
        summary: "a canonical search's dive without the search: the buffer that can go lowest, largest first",
        make: || Box::new(greedy::GreedyFloor),
    },
    Strategy {
        name: "exact",
        summary: "branch and bound over canonical layouts (MiniMalloc-class), greedy fallback",
        make: || Box::new(exact::Exact::default()),
    },
    Strategy {
        name: "lns",
        summary: "large-neighbourhood search: frees the buffers at the peak of a window, re-solves them exactly",
        make: || Box::new(lns::Lns::default()),
    },
    Strategy {
        name: "ilp",
        summary: "mixed-integer programme (good_lp + microlp) below a local-search bound; small sub-problems",
        make: || Box::new(ilp::Ilp::default()),
    },
    Strategy {
        name: "brute",
        summary: "exhaustive search over placement orders (reference; at most 10 buffers, 12 under a time limit)",
        make: || Box::new(brute::Brute),
    },
];

/// The default strategy's name.
pub const DEFAULT_STRATEGY: &str = "auto";

/// Builds the solver called `name`.
pub fn strategy(name: &str) -> Result<Box<dyn Solver>> {
    STRATEGIES
        .iter()
        .find(|s| s.name == name)
        .map(|s| (s.make)())
        .ok_or_else(|| Error::UnknownStrategy { name: name.to_string(), known: strategy_names().join(", ") })
}

/// All strategy names.
pub fn strategy_names() -> Vec<&'static str> {
    STRATEGIES.iter().map(|s| s.name).collect()
}
