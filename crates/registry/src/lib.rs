//! What the registry means, written once for every part of ledgerops that reads it.
//!
//! - [`names`]: the names and ids the registry and Swarm use: the name rule, namespace, site and
//!   service ids, and the Swarm service name of a registry service.
//! - [`status`]: what a node can report about a revision.
//! - [`fold`]: the registry's events folded in order into its state, each returning the typed
//!   [`Change`] it made. The node keeps the state; the CLI also records the changes (history,
//!   reports) it shows. No other code gives an event its meaning.
//! - [`placement`]: which sites a revision runs on.

pub mod fold;
pub mod names;
pub mod placement;
pub mod status;

pub use fold::{Activation, Cause, Change, FoldError, RegistryState, Report, ServiceRecord};
pub use names::{
    NameError, RegistryId, ServiceName, ServiceNameError, content_config_name, namespace_id, namespace_owns, site_id,
    stack_object_name, validate_name, validate_service_name,
};
pub use placement::placed_on;
pub use status::{AttestationStatus, ReportStatus};
