//! # smemplan-core
//!
//! The bottom layer of smemplan: what a memory-planning problem is and what
//! makes an answer valid, with nothing about how answers are found.
//!
//! - [`problem`]: buffers with sizes, lifetimes, gaps, alignments and fixed
//!   offsets, validated once ([`problem::Problem::new`]);
//! - [`interference`], [`bound`], [`analysis`]: the time sweep, the
//!   interference graph and the lower bound on the peak;
//! - [`check`]: the independent checker of any offsets;
//! - [`format`](mod@format): MiniMalloc's CSV dialects; [`generate`]: seeded random
//!   problems; [`plot`]: a layout as SVG;
//! - [`arith`], [`interruptible`], [`error`]: the arithmetic, deadline and
//!   error vocabulary every layer above shares.
#![deny(missing_docs)]

pub mod analysis;
pub mod arith;
pub mod bound;
pub mod check;
pub mod error;
pub mod format;
pub mod generate;
pub mod interference;
pub mod interruptible;
pub mod plot;
pub mod problem;

pub use error::{Error, Result};
pub use problem::{Buffer, BufferId, Interval, Layout, Problem};
