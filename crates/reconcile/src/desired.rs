//! The desired state of one node: the active revision of every service placed on its site(s).

use std::collections::BTreeSet;

use alloy::primitives::B256;
use ledgerops_bindings::IDeploymentRegistry::ServiceSpec;
use ledgerops_registry::{RegistryState, ServiceName, placed_on, validate_service_name};
use ledgerops_spec::{Permission, Policy, Spec, registry_of, spec_hash};

use crate::objects::StackObjects;
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
    /// The namespace's networks and configs the spec defines, which the node creates.
    pub objects: StackObjects,
}

/// What this node's operator lets the registry run on it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeRules {
    /// The node's sites: it runs the services placed on any of them (a spec with no sites is
    /// placed everywhere).
    pub sites: BTreeSet<B256>,
    /// The most replicas of one service it runs.
    pub max_replicas: u32,
    /// The powers over the host it grants, on top of each namespace's policy (`--allow`).
    pub allow: BTreeSet<Permission>,
}

/// The services placed on this node, by name. A revision asking for more than the node's
/// `max_replicas`, or for a power over the host that its namespace's policy or the node's
/// `allow` does not grant, is an error like a spec that breaks the rules: the registry's own
/// caps are set by its admin, and this node's operator has the last word on what their site
/// runs, so a compromised deployer or admin key cannot fill a site with tasks or take its host.
pub fn desired_for(state: &RegistryState, rules: &NodeRules) -> Vec<Desired> {
    let claimed = claimed_registries(state);
    let mut out: Vec<Desired> = state
        .services
        .iter()
        .filter_map(|(id, record)| {
            let spec = record.active_spec()?;
            placed_on(spec, &rules.sites).then(|| {
                let policy = state.policy_of(&record.service.namespace).map(|p| p.as_ref());
                let read = workload_of(&record.service, spec, policy, rules, &claimed);
                let (workload, objects) = match read {
                    Ok((workload, objects)) => (Ok(workload), objects),
                    Err(e) => (Err(format!("revision {} {e}", record.active)), StackObjects::default()),
                };
                Desired {
                    id: *id,
                    swarm_name: record.service.swarm_name(),
                    revision: record.active,
                    activation: record.activated,
                    spec_hash: spec_hash(spec),
                    workload,
                    objects,
                }
            })
        })
        .collect();
    out.sort_by(|a, b| a.swarm_name.cmp(&b.swarm_name));
    out
}

/// The image registries some namespace's policy lists (an unreadable policy lists none: its
/// namespace's services are held for it anyway).
fn claimed_registries(state: &RegistryState) -> BTreeSet<String> {
    state.policies.values().filter_map(|bytes| Policy::decode(bytes).ok()).flat_map(|p| p.registries).collect()
}

/// The workload of an on-chain spec within this node's rules and its namespace's `policy` (as
/// set on chain), and the objects it defines; the error completes "revision N ". The service's
/// name is checked by the contract's rule again: Swarm must take the name it makes. Its image
/// gets the node's registry credentials when the policy lists its registry; one from a registry
/// only other namespaces list is refused (`claimed`).
fn workload_of(
    service: &ServiceName,
    spec: &ServiceSpec,
    policy: Option<&[u8]>,
    rules: &NodeRules,
    claimed: &BTreeSet<String>,
) -> Result<(Workload, StackObjects), String> {
    validate_service_name(&service.namespace, &service.name).map_err(|e| format!("cannot run: {e}"))?;
    if spec.replicas > rules.max_replicas {
        return Err(format!(
            "asks for {} replicas, above this node's ceiling of {} (raise it with --max-replicas)",
            spec.replicas, rules.max_replicas
        ));
    }
    let spec = Spec::from_onchain(spec).map_err(|e| format!("is invalid: {e}"))?;
    let policy = Policy::from_chain(policy).map_err(|e| {
        format!("cannot run: the policy of namespace {:?} on chain is unreadable: {e}", service.namespace)
    })?;
    policy.check(&service.namespace, &spec, Some(&rules.allow)).map_err(|e| format!("is refused: {e}"))?;
    let registry = registry_of(&spec.image);
    let pull_credentials = policy.lists_registry(registry);
    if !pull_credentials && claimed.contains(registry) {
        let namespace = &service.namespace;
        return Err(format!(
            "is refused: its image comes from registry {registry}, which other namespaces' policies list and \
             {namespace}'s does not: the images there are theirs (a node may hold one already, and Swarm runs an image \
             it holds without asking the registry); the registry's admin lists it for {namespace} too: ledgerops \
             namespace policy {namespace} --image-registry {registry}"
        ));
    }
    let mut workload = Workload::from_spec(&spec, service).map_err(|e| format!("is invalid: {e}"))?;
    workload.pull_credentials = pull_credentials;
    Ok((workload, StackObjects::of(&spec.body, &service.namespace)))
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
        let rules = NodeRules { sites: [keccak256("store-1")].into(), max_replicas: 100, ..NodeRules::default() };
        let mine = desired_for(&state, &rules);
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
        let mine = desired_for(&state, &NodeRules { max_replicas: 8, ..NodeRules::default() });
        assert_eq!(mine[1].swarm_name, "shop_at");
        assert_eq!(mine[1].workload.as_ref().map(|w| w.replicas), Ok(8));
        assert_eq!(
            mine[0].workload,
            Err("revision 1 asks for 9 replicas, above this node's ceiling of 8 (raise it with --max-replicas)".into())
        );
    }

    #[test]
    fn a_registry_a_namespace_lists_gets_the_credentials_and_is_no_one_elses() {
        let mut state = RegistryState::default();
        let private = |name: &str| {
            let (id, mut r) = record(name, &[], r#"{"v":1}"#);
            if let Some(spec) = r.revisions.get_mut(&1) {
                spec.image = format!("registry.example.com/team/app@sha256:{}", "ab".repeat(32));
            }
            (id, r)
        };
        let (id, r) = private("web");
        state.services.insert(id, r);
        let rules = NodeRules { max_replicas: 8, ..NodeRules::default() };
        let web = |state: &RegistryState| desired_for(state, &rules)[0].workload.clone();
        assert_eq!(web(&state).map(|w| w.pull_credentials), Ok(false), "listed by none: public, no credentials");
        state
            .policies
            .insert(keccak256("prod"), Bytes::from_static(br#"{"v":1,"registries":["registry.example.com"]}"#));
        let refused = web(&state).expect_err("prod's registry");
        assert!(
            refused.contains("comes from registry registry.example.com, which other namespaces' policies list"),
            "{refused}"
        );
        assert!(refused.contains("ledgerops namespace policy shop --image-registry registry.example.com"), "{refused}");
        state
            .policies
            .insert(keccak256("shop"), Bytes::from_static(br#"{"v":1,"registries":["registry.example.com"]}"#));
        assert_eq!(web(&state).map(|w| w.pull_credentials), Ok(true), "listed by its own: the node's credentials");
        state.policies.insert(keccak256("shop"), Bytes::from_static(br#"{"v":1,"registries":["ghcr.io"]}"#));
        assert!(web(&state).is_err_and(|e| e.contains("needs images from registry registry.example.com")));
    }

    #[test]
    fn a_power_over_the_host_runs_only_when_the_namespace_and_the_node_both_allow_it() {
        let socket =
            r#"{"v":2,"mounts":[{"type":"bind","source":"/var/run/docker.sock","target":"/var/run/docker.sock"}]}"#;
        let mut state = RegistryState::default();
        let (id, r) = record("agent", &[], socket);
        state.services.insert(id, r);
        let node = NodeRules { max_replicas: 8, allow: [Permission::DockerSocket].into(), ..NodeRules::default() };
        let refused = |state: &RegistryState, rules: &NodeRules| desired_for(state, rules)[0].workload.clone().err();
        assert_eq!(
            refused(&state, &node).as_deref(),
            Some(
                "revision 1 is refused: mounts[0].source needs permission docker-socket, which the namespace's \
                 policy does not allow (the registry's admin grants it: ledgerops namespace policy shop --allow \
                 docker-socket)"
            )
        );
        let granted = Bytes::from_static(br#"{"v":1,"allow":["docker-socket"]}"#);
        state.policies.insert(keccak256("shop"), granted);
        assert_eq!(refused(&state, &node), None, "both allow it");
        let closed = NodeRules { allow: BTreeSet::new(), ..node.clone() };
        assert!(refused(&state, &closed).is_some_and(|e| e.contains("which this node's --allow does not allow")));
        state.policies.insert(keccak256("shop"), Bytes::from_static(b"{\"v\":9}"));
        assert!(
            refused(&state, &node)
                .is_some_and(|e| e.contains("the policy of namespace \"shop\" on chain is unreadable")),
            "an unreadable policy holds the namespace's services"
        );
    }
}
