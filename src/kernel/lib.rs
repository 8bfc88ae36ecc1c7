//! # smemplan-kernel
//!
//! What a solver kernel declares, and where its buffers live over time,
//! with nothing about how they are laid out:
//!
//! - the declarations' vocabulary: components, buffers, [`Location`],
//!   [`Pool`], [`Precision`], [`GroupAlias`];
//! - [`registry`]: CuBIE 0.17.0's buffer registry, reproduced exactly, and
//!   its dumps;
//! - [`lifetimes`]: phase trees flattened onto one kernel timeline, and the
//!   CuBIE lifetime table;
//! - [`model`]: kernel models (TOML) parameterised by n, precision and
//!   placement, instantiated into a [`model::Kernel`];
//! - [`accesses`]: how often the kernel touches each buffer in each phase.
#![deny(missing_docs)]

pub mod accesses;
pub mod error;
pub mod lifetimes;
pub mod model;
pub mod registry;
mod vocabulary;

pub use error::{Error, Result};
pub use vocabulary::*;
