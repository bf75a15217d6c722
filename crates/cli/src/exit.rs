//! Errors and the exit codes CI reads (docs/cli.md): each kind of failure has its own code.

use ledgerops_chain::ChainError;
use ledgerops_spec::{PolicyError, SpecError};

/// `diff`: there are changes.
pub(crate) const CHANGES: u8 = 1;
/// Bad flags, arguments, files or specs; nothing was sent.
pub(crate) const USAGE: u8 = 2;
/// The chain refused the change (a registry error, a revert, no funds).
pub(crate) const REJECTED: u8 = 3;
/// The RPC could not be reached, or the registry is not there.
pub(crate) const UNREACHABLE: u8 = 4;
/// `wait`: a node reported failure, or the revision was rolled back.
pub(crate) const WAIT_FAILED: u8 = 5;
/// `wait`: the timeout passed first.
pub(crate) const WAIT_TIMEOUT: u8 = 6;
/// `audit verify`: the chain of events does not match the registry's head.
pub(crate) const AUDIT_MISMATCH: u8 = 7;

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CliError {
    /// Bad input, caught before anything was sent.
    #[error("{0}")]
    Usage(String),
    /// A spec that breaks the rules.
    #[error(transparent)]
    Spec(#[from] SpecError),
    /// An image's registry could not pin its tag (refused, unknown, unreachable); nothing was sent.
    #[error("image {image:?}: registry {registry} {reason}; nothing was sent")]
    Registry {
        /// The registry host, as credentials are filed under.
        registry: String,
        /// The image as written.
        image: String,
        /// What the registry (or the way to it) said.
        reason: String,
    },
    /// The chain or the RPC said no.
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// The namespace's policy refuses what a spec asks for (nodes would hold it): like a spec that
    /// breaks the rules, caught before anything is sent.
    #[error("{0}; nothing was sent")]
    Policy(#[from] PolicyError),
    /// `wait` saw a failure.
    #[error("{0}")]
    WaitFailed(String),
    /// `wait` ran out of time.
    #[error("{0}")]
    WaitTimeout(String),
    /// The audit chain does not verify.
    #[error("{0}")]
    AuditMismatch(String),
    /// A failure about one thing among several (a service of a file): names it.
    #[error("{what}: {cause}")]
    About {
        /// What failed, e.g. `shop/web`.
        what: String,
        /// The failure.
        cause: Box<CliError>,
    },
    /// A command that had already changed the chain failed afterwards; `done` says what it did
    /// (the `--json` error document carries it, so CI loses nothing).
    #[error("{cause}")]
    After {
        /// What was done before the failure, as the command's JSON document would say it.
        done: serde_json::Value,
        /// The failure.
        cause: Box<CliError>,
    },
}

impl From<ledgerops_chain::SettingsError> for CliError {
    fn from(error: ledgerops_chain::SettingsError) -> Self {
        Self::Usage(error.to_string())
    }
}

impl From<ledgerops_registry::NameError> for CliError {
    fn from(error: ledgerops_registry::NameError) -> Self {
        Self::Spec(error.into())
    }
}

impl CliError {
    /// The process exit code for this error.
    pub(crate) fn exit_code(&self) -> u8 {
        match self {
            Self::Usage(_)
            | Self::Spec(_)
            | Self::Policy(_)
            | Self::Registry { .. }
            | Self::Chain(ChainError::NoSigner) => USAGE,
            Self::Chain(ChainError::Reverted(_) | ChainError::RevertedOther(_) | ChainError::InsufficientFunds) => {
                REJECTED
            }
            Self::Chain(_) => UNREACHABLE,
            Self::WaitFailed(_) => WAIT_FAILED,
            Self::WaitTimeout(_) => WAIT_TIMEOUT,
            Self::AuditMismatch(_) => AUDIT_MISMATCH,
            Self::After { cause, .. } | Self::About { cause, .. } => cause.exit_code(),
        }
    }

    /// The `--json` document for this error: `error` and `exit_code`, plus what was done before it.
    pub(crate) fn to_json(&self) -> serde_json::Value {
        let mut doc = match self {
            Self::After { done: serde_json::Value::Object(done), .. } => done.clone(),
            _ => serde_json::Map::new(),
        };
        doc.insert("error".into(), self.to_string().into());
        doc.insert("exit_code".into(), self.exit_code().into());
        serde_json::Value::Object(doc)
    }

    /// Names what the error is about.
    pub(crate) fn about(self, what: impl ToString) -> Self {
        Self::About { what: what.to_string(), cause: Box::new(self) }
    }

    /// Wraps this error with what was done before it.
    pub(crate) fn after(self, done: serde_json::Value) -> Self {
        Self::After { done, cause: Box::new(self) }
    }
}
