//! A whole spec, and its on-chain form: the `ServiceSpec` struct the registry takes, and the
//! commitment it stores (docs/contracts.md).

use std::collections::BTreeSet;

use alloy::primitives::{B256, Bytes, keccak256};
use alloy::sol_types::SolValue;
use ledgerops_bindings::IDeploymentRegistry::ServiceSpec;

use crate::{SpecBody, SpecError, validate_image};

/// Most sites one revision may target (the contract's `MAX_SITES`).
pub const MAX_SITES: usize = 64;

/// One revision's desired state, as the CLI builds it and the node reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    /// `repo@sha256:<digest>`.
    pub image: String,
    /// Desired task count.
    pub replicas: u32,
    /// Site ids this revision is placed on; empty means every site.
    pub sites: BTreeSet<B256>,
    /// Everything else.
    pub body: SpecBody,
}

impl Spec {
    /// Checks everything the contract checks (except the namespace's ceilings) and the body (at
    /// the format version its fields need: a spec built in memory starts at format 1).
    pub fn validate(&self) -> Result<(), SpecError> {
        validate_image(&self.image)?;
        self.validate_unpinned()
    }

    /// Every rule but the image's: for a spec whose image the CLI has yet to pin.
    fn validate_unpinned(&self) -> Result<(), SpecError> {
        if self.sites.len() > MAX_SITES {
            return Err(SpecError::field("sites", format!("{} sites; at most {MAX_SITES}", self.sites.len())));
        }
        if matches!(self.body.mode.as_deref(), Some("global" | "global-job")) && self.replicas != 0 {
            return Err(SpecError::field(
                "replicas",
                format!(
                    "a {} service runs one task per node: leave replicas at 0",
                    self.body.mode.as_deref().unwrap_or("")
                ),
            ));
        }
        self.body.versioned().validate()
    }

    /// The struct `publish` takes: sites ascending, body canonical.
    pub fn to_onchain(&self) -> Result<ServiceSpec, SpecError> {
        self.validate()?;
        Ok(ServiceSpec {
            image: self.image.clone(),
            replicas: self.replicas,
            sites: self.sites.iter().copied().collect(),
            body: Bytes::from(self.body.encode()?),
        })
    }

    /// The spec as the chain will hold it (durations, sizes and CPUs in their one spelling), so
    /// a diff compares like with like.
    pub fn canonical(&self) -> Result<Self, SpecError> {
        Self::from_onchain(&self.to_onchain()?)
    }

    /// The canonical form of everything but the image, which stays as written: a file or flags
    /// may name an image by tag, which the CLI pins (asking its registry) before anything is sent.
    pub fn canonical_unpinned(&self) -> Result<Self, SpecError> {
        self.validate_unpinned()?;
        let read = Self {
            image: self.image.clone(),
            replicas: self.replicas,
            sites: self.sites.clone(),
            body: SpecBody::decode(&self.body.encode()?)?,
        };
        read.validate_unpinned()?;
        Ok(read)
    }

    /// Reads a published revision back; refuses one that breaks the rules (a hostile publisher).
    pub fn from_onchain(spec: &ServiceSpec) -> Result<Self, SpecError> {
        let read = Self {
            image: spec.image.clone(),
            replicas: spec.replicas,
            sites: spec.sites.iter().copied().collect(),
            body: SpecBody::decode(&spec.body)?,
        };
        read.validate()?;
        Ok(read)
    }
}

/// `keccak256(abi.encode(image, replicas, body))`: what a rollback vote proves besides placement.
pub fn workload_hash(spec: &ServiceSpec) -> B256 {
    keccak256((spec.image.clone(), spec.replicas, spec.body.clone()).abi_encode_params())
}

/// The commitment the registry stores for a revision.
pub fn spec_hash(spec: &ServiceSpec) -> B256 {
    let placement = keccak256(spec.sites.abi_encode());
    keccak256((placement, workload_hash(spec)).abi_encode())
}

#[cfg(test)]
mod tests {
    use ledgerops_registry::site_id;

    use super::*;

    #[test]
    fn on_chain_form_is_sorted_canonical_and_reads_back() {
        let spec = Spec {
            image: format!("app@sha256:{}", "ab".repeat(32)),
            replicas: 3,
            sites: [site_id("site-b").expect("valid"), site_id("site-a").expect("valid")].into(),
            body: SpecBody::new(),
        };
        let onchain = spec.to_onchain().expect("valid");
        assert!(onchain.sites.windows(2).all(|w| w[0] < w[1]), "ascending, as the contract requires");
        assert_eq!(onchain.body.as_ref(), br#"{"v":1}"#);
        assert_eq!(Spec::from_onchain(&onchain), Ok(spec));
    }
}
