//! # smemplan
//!
//! Plans GPU on-chip memory for batched solver kernels: given buffers with
//! sizes and lifetimes, assign byte offsets so that buffers live at the same
//! time never overlap, minimising the peak.
//!
//! ```
//! use smemplan::{bound, check, format::minimalloc, solve};
//!
//! let text = "id,lower,upper,size\na,0,3,4\nb,3,9,4\nc,0,9,4\n";
//! let problem = minimalloc::read_problem("<doc>", text).unwrap();
//! let solver = smemplan::strategies::strategy("greedy-size").unwrap();
//! let solution = solve::run(&*solver, &problem, &Default::default()).unwrap();
//! assert_eq!(solution.peak, bound::lower_bound(&problem).bytes);
//! check::verify(&problem, &solution).unwrap();
//! ```
#![deny(missing_docs)]
// Unsafe code is forbidden, except kernel launches in `gpu::device` (feature
// `gpu`), which allow it locally.
#![cfg_attr(not(feature = "gpu"), forbid(unsafe_code))]
#![cfg_attr(feature = "gpu", deny(unsafe_code))]

pub mod accesses;
pub mod allocator;
pub mod analysis;
pub mod arith;
pub mod bound;
pub mod calibrate;
pub mod check;
pub mod compare;
pub mod error;
pub mod format;
pub mod generate;
pub mod gpu;
pub mod integrate;
pub mod interference;
pub mod interruptible;
pub mod kernel;
pub mod lifetimes;
pub mod model;
pub mod occupancy;
pub mod plan;
pub mod plot;
pub mod problem;
pub mod registry;
pub mod solve;
pub mod strategies;
pub mod sweep;
pub mod throughput;
pub mod tiers;

pub use error::{Error, Result};
pub use problem::{Buffer, BufferId, Interval, Layout, Problem};
pub use solve::{Solution, SolveOptions, Solver};
