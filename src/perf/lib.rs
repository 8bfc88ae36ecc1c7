//! # smemplan-perf
//!
//! What a plan costs on a card: the driver's occupancy rule over device
//! profiles ([`occupancy`], `models/devices.toml`), a launch's throughput
//! estimate from per-buffer access counts ([`throughput`], [`accesses`]),
//! a layout's launch on a device, the one home of block-size picks
//! ([`launch`]), and the choice between shared and local memory per buffer group
//! ([`tiers`]).
#![deny(missing_docs)]

pub mod accesses;
pub mod error;
pub mod launch;
pub mod occupancy;
pub mod throughput;
pub mod tiers;

pub use error::{Error, Result};
