//! The engine's networks, configs and volumes that stacks use: read for the plan, and the
//! networks and configs a namespace defines created and removed. Each carries the node's
//! ownership labels, its registry's among them; the node removes only what carries them, and
//! never a volume. Another registry's are reported, and left alone.

use std::collections::HashMap;

use base64::Engine as _;
use bollard::models::{ConfigSpec, Ipam, IpamConfig, NetworkCreateRequest};
use bollard::query_parameters::{ListConfigsOptions, ListNetworksOptions, ListVolumesOptions};
use ledgerops_reconcile::Foreign;
use ledgerops_reconcile::objects::{ConfigDef, NetworkDef, ObjectStep, ObservedObject, ObservedObjects};
use ledgerops_reconcile::observed::labels;
use ledgerops_registry::RegistryId;

use crate::{Adopted, Result, Swarm};

/// The label filter of what the node owns.
fn owned_filter() -> HashMap<String, Vec<String>> {
    HashMap::from([("label".to_owned(), vec![format!("{}={}", labels::MANAGED_BY, labels::MANAGER)])])
}

fn managed(labels: Option<&HashMap<String, String>>) -> bool {
    labels.and_then(|l| l.get(labels::MANAGED_BY)).is_some_and(|v| v == labels::MANAGER)
}

/// The labels of an object the node creates for `namespace` of `registry`, over `more`.
pub(crate) fn ownership(
    namespace: &str,
    registry: &RegistryId,
    mut more: HashMap<String, String>,
) -> HashMap<String, String> {
    more.insert(labels::MANAGED_BY.into(), labels::MANAGER.into());
    more.insert(labels::NAMESPACE.into(), namespace.into());
    more.insert(labels::REGISTRY.into(), registry.to_string());
    more
}

impl Swarm {
    /// Every network (services name theirs, owned or not), and the configs and volumes the node
    /// owns; the managed ones of another registry (or of none) as foreign.
    pub(crate) async fn observe_objects(&self, adopted: &Adopted) -> Result<ObservedObjects> {
        let networks = self.call("network ls", self.docker.list_networks(None::<ListNetworksOptions>)).await?;
        let configs = self
            .call("config ls", self.docker.list_configs(Some(ListConfigsOptions { filters: Some(owned_filter()) })))
            .await?;
        let volumes = self
            .call("volume ls", self.docker.list_volumes(Some(ListVolumesOptions { filters: Some(owned_filter()) })))
            .await?;
        let mut out = ObservedObjects::default();
        let mut sort = |kind: &'static str, id: String, name: String, labels: Option<&HashMap<String, String>>| {
            let whose = if managed(labels) && !adopted.contains(&id) { self.ours(labels).err() } else { None };
            let owned = managed(labels) && whose.is_none();
            if let Some(registry) = whose {
                out.foreign.push(Foreign { kind, name: name.clone(), registry });
            }
            ObservedObject { id, name, owned }
        };
        let networks: Vec<_> =
            networks.into_iter().filter_map(|n| Some(sort("network", n.id?, n.name?, n.labels.as_ref()))).collect();
        let configs: Vec<_> = configs
            .into_iter()
            .filter_map(|c| {
                let spec = c.spec?;
                Some(sort("config", c.id?, spec.name?, spec.labels.as_ref()))
            })
            .collect();
        let volumes: Vec<_> = volumes
            .volumes
            .unwrap_or_default()
            .into_iter()
            .map(|v| sort("volume", v.name.clone(), v.name, Some(&v.labels)))
            .collect();
        out.networks = networks;
        out.configs = configs.into_iter().filter(|c| c.owned).collect();
        out.volumes = volumes.into_iter().filter(|v| v.owned).collect();
        Ok(out)
    }

    /// Carries out one step on the networks or configs.
    pub async fn apply_object(&self, step: &ObjectStep) -> Result<()> {
        match step {
            ObjectStep::CreateNetwork(def) => {
                let request = network_request(def, &self.registry);
                self.call("network create", self.docker.create_network(request)).await.map(drop)
            }
            ObjectStep::CreateConfig(def) => {
                let spec = config_spec(def, &self.registry);
                self.call("config create", self.docker.create_config(spec)).await.map(drop)
            }
            ObjectStep::RemoveNetwork { id, .. } => self.call("network rm", self.docker.remove_network(id)).await,
            ObjectStep::RemoveConfig { id, .. } => self.call("config rm", self.docker.delete_config(id)).await,
        }
    }
}

fn network_request(def: &NetworkDef, registry: &RegistryId) -> NetworkCreateRequest {
    NetworkCreateRequest {
        name: def.name.clone(),
        driver: Some(def.driver.clone()),
        scope: Some("swarm".into()),
        internal: Some(def.internal),
        attachable: Some(def.attachable),
        ipam: (!def.subnets.is_empty()).then(|| Ipam {
            driver: Some("default".into()),
            config: Some(
                def.subnets
                    .iter()
                    .map(|(subnet, gateway, range)| IpamConfig {
                        subnet: Some(subnet.clone()),
                        gateway: gateway.clone(),
                        ip_range: range.clone(),
                        auxiliary_addresses: None,
                    })
                    .collect(),
            ),
            options: None,
        }),
        options: (!def.driver_opts.is_empty()).then(|| def.driver_opts.clone().into_iter().collect()),
        labels: Some(ownership(&def.namespace, registry, def.labels.clone().into_iter().collect())),
        ..Default::default()
    }
}

fn config_spec(def: &ConfigDef, registry: &RegistryId) -> ConfigSpec {
    ConfigSpec {
        name: Some(def.name.clone()),
        labels: Some(ownership(&def.namespace, registry, HashMap::new())),
        data: Some(base64::engine::general_purpose::STANDARD.encode(def.content.as_bytes())),
        templating: None,
    }
}
