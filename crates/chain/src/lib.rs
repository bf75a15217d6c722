//! The only crate that speaks to the registry's chain: connecting and sending (with errors in the
//! user's terms), the registry's event log, and the audit chain every auditor, the CLI's
//! `audit verify` and the node rely on.

pub mod audit;
mod client;
mod endpoint;
pub mod events;
mod fees;
pub mod follow;
pub mod header;
pub mod keys;
pub mod qbft;
mod redact;
mod revert;
pub mod settings;
pub mod trust;
mod unreachable;
mod withheld;
mod witness;
mod ws;

pub use audit::{AuditChain, AuditError, Head};
pub use client::{ChainError, Client, Sent};
pub use endpoint::{BearerToken, Endpoint, TrustedCa};
pub use fees::FeeCeiling;
pub use follow::{Cursor, Follower, NewHeads, Next};
pub use keys::{KeyError, KeySource, load_signer, private_to_owner};
pub use redact::redact_url;
pub use revert::Revert;
pub use settings::{Connection, ConnectionArgs, ConnectionFile, SettingsError};
pub use withheld::Withheld;
pub use witness::Witnesses;

/// The wait between the start of an admin transfer and its acceptance, for a registry deployed
/// without another: two days, time for the fleet's operators to notice a transfer they did not
/// expect (a stolen admin key) and cancel it.
pub const DEFAULT_ADMIN_DELAY_SECS: u64 = 2 * 24 * 3600;
