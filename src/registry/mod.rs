//! A CuBIE-compatible buffer registry.

pub mod dump;
pub mod types;

pub use types::{Location, Precision};
