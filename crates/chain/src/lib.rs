//! The only crate that speaks to the registry's chain. For now it holds the audit chain: the
//! recomputation every auditor, the CLI's `audit verify` and the node rely on.

pub mod audit;

pub use audit::{AuditChain, AuditError, Head};
