//! The solvers' errors: a strategy that does not exist, an instance a
//! strategy declines, an answer the checker rejects, and the core layer's.

/// What can go wrong when solving.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// An invalid problem or input, or an overflow while placing.
    #[error(transparent)]
    Core(#[from] smemplan_core::Error),
    /// A solver name that is not registered.
    #[error("unknown strategy `{name}` (known: {known}){}", smemplan_core::error::did_you_mean(.name, .known.split(", ")))]
    UnknownStrategy {
        /// The name asked for.
        name: String,
        /// Comma-separated list of known names.
        known: String,
    },
    /// A problem the chosen solver does not support (e.g. too large).
    #[error("strategy `{strategy}` cannot solve this instance: {reason}")]
    Unsupported {
        /// The strategy.
        strategy: String,
        /// Why.
        reason: String,
    },
    /// A strategy's answer fails the independent checker
    /// ([`crate::verify`]): a bug in the strategy, never a verdict on the
    /// input.
    #[error("internal error: strategy `{strategy}` gave an answer the checker rejects: {reason}")]
    Rejected {
        /// The strategy.
        strategy: String,
        /// What the checker found.
        reason: String,
    },
}

impl Error {
    /// An overflow while computing `what`.
    pub fn overflow(what: String) -> Self {
        Error::Core(smemplan_core::Error::Overflow(what))
    }
}

/// Shorthand result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
