//! # smemplan-study
//!
//! Questions asked of many plans at once: one kernel two ways, CuBIE's
//! layout next to the optimised plan ([`compare`]), and kernel models swept
//! over parameters, precisions, devices and strategies in parallel
//! ([`sweep`]); one configuration as `plan` shows it, with the split
//! `--tiers auto` chooses and the files launched ([`planned`]).
#![deny(missing_docs)]

pub mod compare;
pub mod error;
pub mod picture;
pub mod planned;
pub mod sweep;

pub use error::{Error, Result};
