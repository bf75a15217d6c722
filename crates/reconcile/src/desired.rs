//! The desired state of one node: the active revision of every service placed on its site(s).

use std::collections::BTreeSet;

use alloy::primitives::B256;
use ledgerops_bindings::IDeploymentRegistry::ServiceSpec;
use ledgerops_registry::{RegistryState, placed_on};
use ledgerops_spec::{Spec, spec_hash};

use crate::workload::Workload;

/// One service this node should run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Desired {
    /// The registry's service id.
    pub id: B256,
    /// The Swarm service name ([`ledgerops_registry::ServiceName::swarm_name`]).
    pub swarm_name: String,
    /// The active revision.
    pub revision: u32,
    /// When it became active (the registry's audit seq): reports are per activation.
    pub activation: u64,
    /// Its on-chain commitment, recomputed from the spec the event carried.
    pub spec_hash: B256,
    /// What to run; an error when the spec on chain breaks the rules (a hostile or buggy
    /// publisher): the node then leaves the service as it is and reports why.
    pub workload: Result<Workload, String>,
}

/// The services placed on any of `sites` (a spec with no sites is placed everywhere), by name.
/// A revision asking for more than `max_replicas` tasks is an error like a spec that breaks the
/// rules: the registry's own cap is set by its admin, and this node's operator has the last word
/// on what their site runs, so a compromised admin key cannot fill a site with tasks.
pub fn desired_for(state: &RegistryState, sites: &BTreeSet<B256>, max_replicas: u32) -> Vec<Desired> {
    let mut out: Vec<Desired> = state
        .services
        .iter()
        .filter_map(|(id, record)| {
            let spec = record.active_spec()?;
            placed_on(spec, sites).then(|| Desired {
                id: *id,
                swarm_name: record.service.swarm_name(),
                revision: record.active,
                activation: record.activated,
                spec_hash: spec_hash(spec),
                workload: workload_of(spec, max_replicas).map_err(|e| format!("revision {} {e}", record.active)),
            })
        })
        .collect();
    out.sort_by(|a, b| a.swarm_name.cmp(&b.swarm_name));
    out
}

/// The workload of an on-chain spec within this node's ceiling; the error completes "revision N ".
fn workload_of(spec: &ServiceSpec, max_replicas: u32) -> Result<Workload, String> {
    if spec.replicas > max_replicas {
        return Err(format!(
            "asks for {} replicas, above this node's ceiling of {max_replicas} (raise it with --max-replicas)",
            spec.replicas
        ));
    }
    Spec::from_onchain(spec).and_then(|s| Workload::from_spec(&s)).map_err(|e| format!("is invalid: {e}"))
}

#[cfg(test)]
mod tests {
    use alloy::primitives::{Bytes, keccak256};

    use ledgerops_registry::{ServiceName, ServiceRecord};

    use super::*;

    fn record(name: &str, sites: &[&str], body: &str) -> (B256, ServiceRecord) {
        with_replicas(name, sites, body, 1)
    }

    fn with_replicas(name: &str, sites: &[&str], body: &str, replicas: u32) -> (B256, ServiceRecord) {
        let spec = ServiceSpec {
            image: format!("app@sha256:{}", "ab".repeat(32)),
            replicas,
            sites: sites.iter().map(keccak256).collect(),
            body: Bytes::from(body.as_bytes().to_vec()),
        };
        let record = ServiceRecord {
            service: ServiceName::new("shop", name),
            revisions: [(1, spec)].into(),
            active: 1,
            activated: 1,
        };
        (keccak256(format!("shop/{name}")), record)
    }

    #[test]
    fn a_site_gets_its_own_and_the_unplaced_services_and_a_bad_spec_is_an_error_not_a_panic() {
        let mut state = RegistryState::default();
        for (id, r) in [
            record("everywhere", &[], r#"{"v":1}"#),
            record("here", &["store-1", "store-2"], r#"{"v":1}"#),
            record("elsewhere", &["store-9"], r#"{"v":1}"#),
            record("hostile", &[], r#"{"v":1,"ports":[{"target":0}]}"#),
        ] {
            state.services.insert(id, r);
        }
        let mine = desired_for(&state, &[keccak256("store-1")].into(), 100);
        let names: Vec<_> = mine.iter().map(|d| d.swarm_name.as_str()).collect();
        assert_eq!(names, ["shop_everywhere", "shop_here", "shop_hostile"]);
        assert!(
            mine[2].workload.as_ref().is_err_and(|e| e.contains("revision 1 is invalid: ports[0]")),
            "{:?}",
            mine[2]
        );
    }

    #[test]
    fn more_replicas_than_the_node_allows_is_an_error_naming_the_ceiling() {
        let mut state = RegistryState::default();
        for (id, r) in [with_replicas("at", &[], r#"{"v":1}"#, 8), with_replicas("above", &[], r#"{"v":1}"#, 9)] {
            state.services.insert(id, r);
        }
        let mine = desired_for(&state, &BTreeSet::new(), 8);
        assert_eq!(mine[1].swarm_name, "shop_at");
        assert_eq!(mine[1].workload.as_ref().map(|w| w.replicas), Ok(8));
        assert_eq!(
            mine[0].workload,
            Err("revision 1 asks for 9 replicas, above this node's ceiling of 8 (raise it with --max-replicas)".into())
        );
    }
}
