//! A namespace's own objects besides its services: the networks it defines, which the node creates
//! before the services that join them and removes once no service of its own uses them, the
//! configs it defines by content, created under names taken from that content, and its volumes,
//! which Swarm creates where tasks land and which the node never removes (they may hold data): an
//! owned volume no desired service mounts is reported as orphaned.

use std::collections::{BTreeMap, BTreeSet};

use ledgerops_registry::{content_config_name, stack_object_name};
use ledgerops_spec::SpecBody;

use crate::desired::Desired;
use crate::observed::Foreign;

/// A network the node creates.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetworkDef {
    /// Its Docker name.
    pub name: String,
    /// The namespace that owns it (a label on it).
    pub namespace: String,
    /// Driver; `overlay` unless the stack says otherwise.
    pub driver: String,
    /// Driver options.
    pub driver_opts: BTreeMap<String, String>,
    /// Standalone containers may attach.
    pub attachable: bool,
    /// No traffic leaves it.
    pub internal: bool,
    /// The stack's labels (the node adds its ownership labels).
    pub labels: BTreeMap<String, String>,
    /// IPAM pools: (subnet, gateway, ip range).
    pub subnets: Vec<(String, Option<String>, Option<String>)>,
}

/// A config the node creates from its content.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfigDef {
    /// Its Docker name (content-addressed).
    pub name: String,
    /// The namespace that owns it.
    pub namespace: String,
    /// Its content.
    pub content: String,
}

/// What one service's spec needs created.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StackObjects {
    /// Networks, by Docker name.
    pub networks: BTreeMap<String, NetworkDef>,
    /// Configs, by Docker name.
    pub configs: BTreeMap<String, ConfigDef>,
}

impl StackObjects {
    /// The objects `body` of `namespace` defines (external ones are not the node's to create).
    pub fn of(body: &SpecBody, namespace: &str) -> Self {
        let networks = body
            .networks
            .iter()
            .filter(|n| !n.external)
            .map(|n| {
                let name = n.docker_name.clone().unwrap_or_else(|| stack_object_name(namespace, &n.name));
                let def = NetworkDef {
                    name: name.clone(),
                    namespace: namespace.to_owned(),
                    driver: n.driver.clone().unwrap_or_else(|| "overlay".into()),
                    driver_opts: n.driver_opts.clone(),
                    attachable: n.attachable,
                    internal: n.internal,
                    labels: n.labels.clone(),
                    subnets: n
                        .subnets
                        .iter()
                        .map(|s| (s.subnet.clone(), s.gateway.clone(), s.ip_range.clone()))
                        .collect(),
                };
                (name, def)
            })
            .collect();
        let configs = body
            .configs
            .iter()
            .filter_map(|c| {
                let content = c.content.clone()?;
                let name = content_config_name(namespace, &c.name, &content);
                Some((name.clone(), ConfigDef { name, namespace: namespace.to_owned(), content }))
            })
            .collect();
        Self { networks, configs }
    }
}

/// A network, config or volume the node finds on its engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedObject {
    /// Docker's id (a volume's is its name).
    pub id: String,
    /// Its name.
    pub name: String,
    /// It carries the node's ownership label.
    pub owned: bool,
}

/// Everything of the kinds a stack defines on the engine, by kind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObservedObjects {
    /// Networks (all of them: a service names its networks by Docker name).
    pub networks: Vec<ObservedObject>,
    /// Configs the node owns.
    pub configs: Vec<ObservedObject>,
    /// Volumes the node owns.
    pub volumes: Vec<ObservedObject>,
    /// Managed services, networks, configs and volumes that are not this registry's.
    pub foreign: Vec<Foreign>,
}

/// A change to the engine's networks or configs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ObjectStep {
    /// Create a network a desired service joins.
    CreateNetwork(NetworkDef),
    /// Create a config a desired service uses.
    CreateConfig(ConfigDef),
    /// Remove an owned network no desired service joins.
    RemoveNetwork {
        /// Docker's id.
        id: String,
        /// Its name.
        name: String,
    },
    /// Remove an owned config no desired service uses.
    RemoveConfig {
        /// Docker's id.
        id: String,
        /// Its name.
        name: String,
    },
}

impl ObjectStep {
    /// `network <name>` or `config <name>`, for logs, the journal and backoff.
    pub fn name(&self) -> String {
        match self {
            Self::CreateNetwork(n) => format!("network {}", n.name),
            Self::CreateConfig(c) => format!("config {}", c.name),
            Self::RemoveNetwork { name, .. } => format!("network {name}"),
            Self::RemoveConfig { name, .. } => format!("config {name}"),
        }
    }
}

/// The objects to create before the services are changed, those to remove after, services held
/// because two of them define one network differently, and orphaned volumes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObjectPlan {
    /// Creations, networks first.
    pub create: Vec<ObjectStep>,
    /// Removals of what no desired service uses.
    pub remove: Vec<ObjectStep>,
    /// `(swarm name, reason)` of services held: their network definition conflicts with
    /// another's, or their name, a network, config or volume of theirs is another registry's.
    pub conflicts: Vec<(String, String)>,
    /// Owned volumes no desired service mounts: kept, reported.
    pub orphaned_volumes: Vec<String>,
}

/// Plans the objects for `desired` (with the objects each needs) against what the engine has.
pub fn plan_objects(desired: &[Desired], observed: &ObservedObjects) -> ObjectPlan {
    let mut out = ObjectPlan::default();
    let mut networks: BTreeMap<&str, (&NetworkDef, &str)> = BTreeMap::new();
    let mut configs: BTreeMap<&str, &ConfigDef> = BTreeMap::new();
    let mut volumes: BTreeSet<&str> = BTreeSet::new();
    for d in desired {
        let (Ok(workload), objects) = (&d.workload, &d.objects) else { continue };
        if let Some(reason) = foreign_in_the_way(d, workload, &observed.foreign) {
            out.conflicts.push((d.swarm_name.clone(), reason));
            continue;
        }
        for (name, def) in &objects.networks {
            match networks.get(name.as_str()) {
                Some((first, by)) if *first != def => out.conflicts.push((
                    d.swarm_name.clone(),
                    format!("network {name} is defined otherwise by {by}: one definition per network"),
                )),
                Some(_) => {}
                None => drop(networks.insert(name, (def, &d.swarm_name))),
            }
        }
        configs.extend(objects.configs.iter().map(|(name, def)| (name.as_str(), def)));
        volumes.extend(workload.mounts.iter().filter(|m| m.kind == "volume").filter_map(|m| m.source.as_deref()));
    }
    let existing = |list: &[ObservedObject], name: &str| list.iter().any(|o| o.name == name);
    for (name, (def, _)) in &networks {
        if !existing(&observed.networks, name) {
            out.create.push(ObjectStep::CreateNetwork((*def).clone()));
        }
    }
    for (name, def) in &configs {
        if !existing(&observed.configs, name) {
            out.create.push(ObjectStep::CreateConfig((*def).clone()));
        }
    }
    // Joined by name, whoever created it: an owned network no desired service names goes.
    let joined: BTreeSet<&str> = desired
        .iter()
        .filter_map(|d| d.workload.as_ref().ok())
        .flat_map(|w| w.networks.iter().map(|n| n.name.as_str()))
        .collect();
    for o in observed.networks.iter().filter(|o| o.owned && !joined.contains(o.name.as_str())) {
        out.remove.push(ObjectStep::RemoveNetwork { id: o.id.clone(), name: o.name.clone() });
    }
    let used: BTreeSet<&str> = desired
        .iter()
        .filter_map(|d| d.workload.as_ref().ok())
        .flat_map(|w| w.configs.iter().map(|c| c.name.as_str()))
        .collect();
    for o in observed.configs.iter().filter(|o| o.owned && !used.contains(o.name.as_str())) {
        out.remove.push(ObjectStep::RemoveConfig { id: o.id.clone(), name: o.name.clone() });
    }
    out.orphaned_volumes = observed
        .volumes
        .iter()
        .filter(|o| o.owned && !volumes.contains(o.name.as_str()))
        .map(|o| o.name.clone())
        .collect();
    out
}

/// Why `desired` cannot run beside `foreign` objects, if it cannot: a service of its name is not
/// this registry's (another's, or made before registry labels: taking it over is the operator's
/// step), or it would join, use or mount another registry's network, config or volume. Objects
/// made before registry labels other than services are used by name, as before.
fn foreign_in_the_way(desired: &Desired, workload: &crate::Workload, foreign: &[Foreign]) -> Option<String> {
    let found = |kind: &str, name: &str| foreign.iter().find(|f| f.kind == kind && f.name == name);
    if let Some(service) = found("service", &desired.swarm_name) {
        return Some(format!("is not applied: the Swarm {service}"));
    }
    let networks = workload.networks.iter().map(|n| ("network", n.name.as_str()));
    let configs = workload.configs.iter().map(|c| ("config", c.name.as_str()));
    let volumes =
        workload.mounts.iter().filter(|m| m.kind == "volume").filter_map(|m| Some(("volume", m.source.as_deref()?)));
    networks
        .chain(configs)
        .chain(volumes)
        .find_map(|(kind, name)| found(kind, name).filter(|f| f.registry.is_some()))
        .map(|other| format!("is not applied: its {other}"))
}

#[cfg(test)]
mod tests {
    use alloy::primitives::B256;
    use ledgerops_spec::{Mount, Network, VolumeMount};

    use super::*;
    use crate::workload::Workload;

    fn service(name: &str, body: &SpecBody) -> Desired {
        let spec = ledgerops_spec::Spec {
            image: format!("app@sha256:{}", "ab".repeat(32)),
            replicas: 1,
            sites: Default::default(),
            body: body.clone(),
        };
        Desired {
            id: B256::ZERO,
            swarm_name: format!("shop_{name}"),
            revision: 1,
            activation: 1,
            spec_hash: B256::ZERO,
            workload: Workload::from_spec(&spec, &ledgerops_registry::ServiceName::new("shop", "web"))
                .map_err(|e| e.to_string()),
            objects: StackObjects::of(body, "shop"),
        }
    }

    fn observed(name: &str, owned: bool) -> ObservedObject {
        ObservedObject { id: format!("id-{name}"), name: name.into(), owned }
    }

    fn body() -> SpecBody {
        let mut body = SpecBody { v: 2, ..SpecBody::new() };
        body.networks.push(Network { name: "back".into(), ..Network::default() });
        body.networks.push(Network { name: "traefik-public".into(), external: true, ..Network::default() });
        body.mounts.push(VolumeMount {
            kind: "volume".into(),
            source: Some("data".into()),
            target: "/d".into(),
            ..Default::default()
        });
        body.configs.push(Mount { name: "app".into(), content: Some("x".into()), ..Mount::default() });
        body
    }

    #[test]
    fn creates_what_services_need_removes_what_none_uses_and_keeps_volumes() {
        let engine = ObservedObjects {
            networks: vec![observed("traefik-public", false), observed("shop_old", true), observed("other", false)],
            configs: vec![observed("shop_app-aaaaaaaaaaaa", true)],
            volumes: vec![observed("shop_data", true), observed("shop_gone", true), observed("theirs", false)],
            foreign: Vec::new(),
        };
        let plan = plan_objects(&[service("web", &body())], &engine);
        let created: Vec<_> = plan.create.iter().map(ObjectStep::name).collect();
        assert_eq!(
            created,
            ["network shop_back".to_owned(), format!("config {}", content_config_name("shop", "app", "x"))]
        );
        let removed: Vec<_> = plan.remove.iter().map(ObjectStep::name).collect();
        assert_eq!(removed, ["network shop_old", "config shop_app-aaaaaaaaaaaa"]);
        assert_eq!(plan.orphaned_volumes, ["shop_gone"], "never removed, reported");
        assert!(plan.conflicts.is_empty());
    }

    #[test]
    fn one_network_defined_two_ways_holds_the_second_service() {
        let mut other = body();
        other.networks[0].internal = true;
        let plan = plan_objects(&[service("a", &body()), service("b", &other)], &ObservedObjects::default());
        assert_eq!(plan.conflicts.len(), 1);
        assert_eq!(plan.conflicts[0].0, "shop_b");
        assert!(plan.conflicts[0].1.contains("defined otherwise by shop_a"), "{:?}", plan.conflicts);
    }

    #[test]
    fn another_registrys_service_network_or_volume_in_the_way_holds_the_service() {
        let other = |kind, name: &str| Foreign { kind, name: name.into(), registry: Some("1/0xabc".into()) };
        let legacy = |kind, name: &str| Foreign { kind, name: name.into(), registry: None };
        let held = |foreign: Vec<Foreign>| {
            let engine = ObservedObjects { foreign, ..ObservedObjects::default() };
            plan_objects(&[service("web", &body())], &engine).conflicts
        };
        let reason = held(vec![other("service", "shop_web")]);
        assert_eq!(reason.len(), 1);
        assert_eq!(reason[0].1, "is not applied: the Swarm service shop_web belongs to registry 1/0xabc");
        let reason = held(vec![legacy("service", "shop_web")]);
        assert!(reason[0].1.contains("ledgerops-node adopt"), "{reason:?}");
        for (kind, name) in [("network", "shop_back"), ("volume", "shop_data")] {
            let reason = held(vec![other(kind, name)]);
            assert_eq!(reason[0].1, format!("is not applied: its {kind} {name} belongs to registry 1/0xabc"));
        }
        assert!(held(vec![legacy("network", "shop_back"), legacy("volume", "shop_data")]).is_empty(), "used by name");
        assert!(held(vec![other("service", "shop_api"), other("network", "other_back")]).is_empty(), "not in the way");
    }
}
