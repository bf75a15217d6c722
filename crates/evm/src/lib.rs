//! The registry run locally: its code and storage proved against a block's state root
//! ([`proof`]), kept as a [`Mirror`], and its functions executed over it in revm. Nodes evaluate
//! their desired state with it instead of trusting RPC answers about that block's state (a
//! header is used only when its fields give its hash; which chain it belongs to is for the
//! node's trust root to say: docs/security.md); `ledgerops plan` simulates
//! transactions with it before sending anything.

mod exec;
pub mod mirror;
pub mod proof;

pub use exec::{Executed, Failure, SPEC};
pub use mirror::{AccountHead, BlockRef, Mirror, MirrorError, Session};
pub use proof::{ProofError, ProvedAccount, verify};
