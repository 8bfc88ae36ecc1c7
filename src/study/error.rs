//! The studies' errors: an invalid sweep grid or a failing configuration,
//! and the errors of the layers they build on.

/// What can go wrong in a comparison or a sweep.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// An invalid problem or input, or an overflow.
    #[error(transparent)]
    Core(#[from] smemplan_core::Error),
    /// A solver failed or declined.
    #[error(transparent)]
    Solve(#[from] smemplan_solve::Error),
    /// Invalid declarations, registry, lifetimes or model.
    #[error(transparent)]
    Kernel(#[from] smemplan_kernel::Error),
    /// A plan failed.
    #[error(transparent)]
    Plan(#[from] smemplan_plan::Error),
    /// The cost model refused a device or a launch.
    #[error(transparent)]
    Perf(#[from] smemplan_perf::Error),
    /// One configuration of a compared grid failed.
    #[error("configuration {configuration}: {message}")]
    Compare {
        /// The failing configuration (`model=dirk n=3 ...`).
        configuration: String,
        /// What is wrong.
        message: String,
    },
    /// A grid of `plan` configurations cannot be compared as given.
    #[error("grid: {0}")]
    Grid(String),
    /// A sweep's grid is invalid, or one of its configurations failed.
    #[error("sweep: {}{message}", .configuration.as_deref().map(|c| format!("configuration {c}: ")).unwrap_or_default())]
    Sweep {
        /// The failing configuration (`model=dirk n=3 ...`), if one failed.
        configuration: Option<String>,
        /// What is wrong.
        message: String,
    },
}

impl From<smemplan_kernel::registry::RegistryError> for Error {
    fn from(e: smemplan_kernel::registry::RegistryError) -> Self {
        Error::Kernel(e.into())
    }
}

/// Shorthand result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
