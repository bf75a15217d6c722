//! Errors and the exit codes CI reads (docs/cli.md): each kind of failure has its own code.

use ledgerops_chain::ChainError;
use ledgerops_spec::SpecError;

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
    /// The chain or the RPC said no.
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// `wait` saw a failure.
    #[error("{0}")]
    WaitFailed(String),
    /// `wait` ran out of time.
    #[error("{0}")]
    WaitTimeout(String),
    /// The audit chain does not verify.
    #[error("{0}")]
    AuditMismatch(String),
}

impl CliError {
    /// The process exit code for this error.
    pub(crate) fn exit_code(&self) -> u8 {
        match self {
            Self::Usage(_) | Self::Spec(_) | Self::Chain(ChainError::NoSigner) => USAGE,
            Self::Chain(ChainError::Reverted(_) | ChainError::RevertedOther(_) | ChainError::InsufficientFunds) => {
                REJECTED
            }
            Self::Chain(_) => UNREACHABLE,
            Self::WaitFailed(_) => WAIT_FAILED,
            Self::WaitTimeout(_) => WAIT_TIMEOUT,
            Self::AuditMismatch(_) => AUDIT_MISMATCH,
        }
    }
}
