//! The lab's errors: an integrator asked for something it cannot do, a GPU
//! that could not do what was asked, measurements that cannot be read, and
//! the library's errors.

use smemplan::core::error::display_parse;

/// What can go wrong in the lab.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The library refused (an invalid input, a plan, a device profile).
    #[error(transparent)]
    Library(#[from] smemplan::Error),
    /// An integrator run asked for something it cannot do (see
    /// [`crate::integrate`]).
    #[error("integrator {0}")]
    Integrator(String),
    /// The GPU could not do what was asked (no driver, no card, a compile
    /// or launch failure); one line.
    #[error("GPU: {0}")]
    Gpu(String),
    /// A calibration cannot be done as asked (nothing to fit, a rate that
    /// does not exist, a layout it does not know).
    #[error("calibration: {0}")]
    Calibration(String),
    /// A file of measurements (a block-size table, measured JSON) is
    /// invalid.
    #[error("{}", display_parse(.file, *.line, .message))]
    Measurements {
        /// The file.
        file: String,
        /// 1-based line, 0 when unknown.
        line: usize,
        /// What is wrong.
        message: String,
    },
}

macro_rules! from_layer {
    ($($layer:path),*) => {$(
        impl From<$layer> for Error {
            fn from(e: $layer) -> Self {
                Error::Library(e.into())
            }
        }
    )*};
}
from_layer!(
    smemplan::core::Error,
    smemplan::solve::Error,
    smemplan::kernel::Error,
    smemplan::plan::Error,
    smemplan::perf::Error,
    smemplan::study::Error,
    smemplan::kernel::registry::RegistryError
);

impl Error {
    /// A buffer named in an error ([`smemplan::core::Error::InvalidBuffer`]).
    pub fn buffer(buffer: impl Into<String>, reason: impl Into<String>) -> Self {
        smemplan::core::Error::buffer(buffer, reason).into()
    }

    /// An overflow while computing `what`.
    pub fn overflow(what: impl Into<String>) -> Self {
        smemplan::core::Error::Overflow(what.into()).into()
    }
}

/// Shorthand result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
