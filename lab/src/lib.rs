//! # smemplan-lab
//!
//! smemplan's GPU lab: the experiments that judge the planner on a real
//! card. It depends on the library (`smemplan`); the library never depends
//! on it.
//!
//! - [`integrate`]: batched ODE integrators whose scratch a plan places,
//!   as generated CUDA C++ and a bitwise CPU reference;
//! - [`gpu`]: layouts on a card (the integrity walk, the occupancy model
//!   against the driver, timed launches); talking to the card needs the
//!   cargo feature `gpu`;
//! - [`calibrate`]: the throughput estimate against timed launches, and a
//!   fit of its parameters.
#![deny(missing_docs)]
// Unsafe code is forbidden, except kernel launches in `gpu::device` (feature
// `gpu`), which allow it locally.
#![cfg_attr(not(feature = "gpu"), forbid(unsafe_code))]
#![cfg_attr(feature = "gpu", deny(unsafe_code))]

pub mod calibrate;
pub mod error;
pub mod gpu;
pub mod integrate;

pub use error::{Error, Result};
