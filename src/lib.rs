//! # smemplan
//!
//! Plans GPU on-chip memory for batched solver kernels: given buffers with
//! sizes and lifetimes, assign byte offsets so that buffers live at the same
//! time never overlap, minimising the peak.
//!
//! ```
//! use smemplan::{core::bound, core::format::minimalloc, solve};
//!
//! let text = "id,lower,upper,size\na,0,3,4\nb,3,9,4\nc,0,9,4\n";
//! let problem = minimalloc::read_problem("<doc>", text).unwrap();
//! let solver = solve::strategies::strategy("greedy-size").unwrap();
//! let solution = solve::run(&*solver, &problem, &Default::default()).unwrap();
//! assert_eq!(solution.peak, bound::lower_bound(&problem).bytes);
//! solve::verify(&problem, &solution).unwrap();
//! ```
//!
//! The library is one crate per layer, re-exported here under the layer's
//! name; data and imports flow one way, from the bottom up:
//!
//! | layer | what it owns |
//! |---|---|
//! | [`core`] | problems, interference, the lower bound, the independent checker, formats, the SVG frame |
//! | [`solve`] | the solvers and the strategy table |
//! | [`kernel`] | kernel declarations, CuBIE's registry, lifetimes, kernel models |
//! | [`plan`] | a kernel's CuBIE layout and its optimised layout, allocators, the CUDA header |
//! | [`perf`] | occupancy, the throughput estimate, shared/local tiers |
//! | [`study`] | comparisons and sweeps |
//!
//! Each layer has its own error type; [`Error`] wraps them all.
#![deny(missing_docs)]

pub use smemplan_core as core;
pub use smemplan_kernel as kernel;
pub use smemplan_perf as perf;
pub use smemplan_plan as plan;
pub use smemplan_solve as solve;
pub use smemplan_study as study;

pub use smemplan_core::{Buffer, BufferId, Interval, Layout, Problem};
pub use smemplan_solve::{Solution, SolveOptions, Solver};

/// Any layer's error, as the layer reported it (its message unchanged).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// From [`core`]: an invalid problem or input, an overflow.
    #[error(transparent)]
    Core(#[from] smemplan_core::Error),
    /// From [`solve`].
    #[error(transparent)]
    Solve(#[from] smemplan_solve::Error),
    /// From [`kernel`].
    #[error(transparent)]
    Kernel(#[from] smemplan_kernel::Error),
    /// From [`plan`].
    #[error(transparent)]
    Plan(#[from] smemplan_plan::Error),
    /// From [`perf`].
    #[error(transparent)]
    Perf(#[from] smemplan_perf::Error),
    /// From [`study`].
    #[error(transparent)]
    Study(#[from] smemplan_study::Error),
}

impl From<smemplan_kernel::registry::RegistryError> for Error {
    fn from(e: smemplan_kernel::registry::RegistryError) -> Self {
        Error::Kernel(e.into())
    }
}

/// Shorthand result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
