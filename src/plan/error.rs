//! The planner's errors: alias hints that form a cycle, a header that cannot
//! be generated, and the errors of the layers it builds on.

/// What can go wrong while planning a kernel or generating its allocators.
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
    /// `nested` alias hints that form a cycle: each buffer would sit inside
    /// the next, and the last inside the first.
    #[error("alias hints form a cycle: {}", .buffers.join(" → "))]
    AliasCycle {
        /// The buffers (`component/name`) of the cycle, in alias order, the
        /// first repeated at the end.
        buffers: Vec<String>,
    },
    /// The CUDA header cannot be generated as asked (e.g. an invalid
    /// namespace).
    #[error("CUDA header: {0}")]
    Header(String),
}

impl Error {
    /// An overflow while computing `what`.
    pub fn overflow(what: impl Into<String>) -> Self {
        Error::Core(smemplan_core::Error::Overflow(what.into()))
    }
}

impl From<smemplan_kernel::registry::RegistryError> for Error {
    fn from(e: smemplan_kernel::registry::RegistryError) -> Self {
        Error::Kernel(e.into())
    }
}

/// Shorthand result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
