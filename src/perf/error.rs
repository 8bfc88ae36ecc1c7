//! The cost model's errors: unknown devices, launches a device cannot run,
//! invalid device profiles, and the errors of the layers it builds on.

use smemplan_core::error::{did_you_mean, display_keyed};

/// What can go wrong while estimating a launch or choosing tiers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// An invalid problem or input, or an overflow.
    #[error(transparent)]
    Core(#[from] smemplan_core::Error),
    /// A solver failed or declined.
    #[error(transparent)]
    Solve(#[from] smemplan_solve::Error),
    /// Invalid declarations, registry or lifetimes.
    #[error(transparent)]
    Kernel(#[from] smemplan_kernel::Error),
    /// A plan failed.
    #[error(transparent)]
    Plan(#[from] smemplan_plan::Error),
    /// A device name that has no profile.
    #[error("unknown device `{name}` (known: {known}){}", did_you_mean(.name, .known.split(", ")))]
    UnknownDevice {
        /// The name asked for.
        name: String,
        /// Comma-separated list of known device names.
        known: String,
    },
    /// A launch the device cannot run (e.g. one run's shared memory alone
    /// exceeds the per-block limit).
    #[error("device `{device}`: {message}")]
    Device {
        /// The device profile's name.
        device: String,
        /// What does not fit.
        message: String,
    },
    /// A device profile (TOML) is invalid.
    #[error("{}", display_keyed(.file, *.line, .key.as_deref(), .message))]
    Profile {
        /// The profile file.
        file: String,
        /// 1-based line, 0 when unknown.
        line: usize,
        /// The offending key, if known.
        key: Option<String>,
        /// What is wrong.
        message: String,
    },
}

/// Shorthand result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
