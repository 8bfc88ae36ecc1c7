//! Input and output formats. Each format is one file; this module only lists
//! them. Only code under `format` parses text into a [`crate::Problem`].

pub mod minimalloc;
pub mod table;
pub mod text;
