//! The service spec that CI publishes and every node applies.
//!
//! A revision on chain is `(image, replicas, sites, body)`: the contract checks the first three
//! cheaply, and [`SpecBody`] is everything else Swarm needs, as canonical JSON (docs/spec-format.md).
//! The same checks run in the CLI before a transaction is sent and on each node before it applies
//! anything, so both sides agree on what a valid spec is.

mod body;
mod image;
mod onchain;
mod policy;

pub use body::{Dns, HealthCheck, Logging, Mount, Network, Port, Resources, RestartPolicy, SpecBody, Subnet};
pub use body::{FORMAT_VERSION, MODES, capability, cpu_nanos, failure_ratio, memory_bytes, parse_duration, parse_mode};
pub use body::{Ulimit, UpdatePolicy, VolumeMount};
pub use image::{DOCKER_HUB, credential_key, is_pinned, registry_of, validate_image};
pub use onchain::{MAX_SITES, Spec, spec_hash, workload_hash};
pub use policy::{Need, Permission, Policy, PolicyError, needs};

/// Why a spec, or one of its parts, was refused. Each variant names the field at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    /// The image does not end in `@sha256:<64 lowercase hex>` (the contract's `ImageNotPinnedByDigest`).
    #[error(
        "image {0:?} is not pinned by digest: use repo[:tag]@sha256:<64 lowercase hex digits>, \
         or let the CLI pin a tag (--resolve-image always, the default)"
    )]
    NotPinned(String),
    /// The repository or the tag has characters Docker does not allow (the contract's
    /// `InvalidImageRepository`).
    #[error(
        "image {0:?}: the repository may hold only a-z 0-9 . _ - / and a registry port, \
         a tag 1-128 of A-Z a-z 0-9 _ . - (not starting with . or -)"
    )]
    BadRepository(String),
    /// A namespace, service or site name breaks the registry's name rule.
    #[error(transparent)]
    BadName(#[from] ledgerops_registry::NameError),
    /// A field's value is malformed; the message says which field and why.
    #[error("{field}: {reason}")]
    BadField {
        /// Where in the spec, e.g. `env.FOO` or `ports[1].published`.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The body is not valid spec JSON (unknown key, wrong type, not UTF-8).
    #[error("spec body: {0}")]
    BadBody(String),
}

impl SpecError {
    pub(crate) fn field(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::BadField { field: field.into(), reason: reason.into() }
    }
}
