//! The engine's networks, configs and volumes that stacks use: read for the plan, and the
//! networks and configs a namespace defines created and removed. Each carries the node's
//! ownership labels; the node removes only what carries them, and never a volume.

use std::collections::HashMap;

use base64::Engine as _;
use bollard::models::{ConfigSpec, Ipam, IpamConfig, NetworkCreateRequest};
use bollard::query_parameters::{ListConfigsOptions, ListNetworksOptions, ListVolumesOptions};
use ledgerops_reconcile::objects::{ConfigDef, NetworkDef, ObjectStep, ObservedObject, ObservedObjects};
use ledgerops_reconcile::observed::labels;

use crate::{Result, Swarm};

/// The label filter of what the node owns.
fn owned_filter() -> HashMap<String, Vec<String>> {
    HashMap::from([("label".to_owned(), vec![format!("{}={}", labels::MANAGED_BY, labels::MANAGER)])])
}

fn owned(labels: Option<&HashMap<String, String>>) -> bool {
    labels.and_then(|l| l.get(labels::MANAGED_BY)).is_some_and(|v| v == labels::MANAGER)
}

fn ownership(namespace: &str, mut more: HashMap<String, String>) -> HashMap<String, String> {
    more.insert(labels::MANAGED_BY.into(), labels::MANAGER.into());
    more.insert(labels::NAMESPACE.into(), namespace.into());
    more
}

impl Swarm {
    /// Every network (services name theirs, owned or not), and the configs and volumes the node owns.
    pub(crate) async fn observe_objects(&self) -> Result<ObservedObjects> {
        let networks = self.call("network ls", self.docker.list_networks(None::<ListNetworksOptions>)).await?;
        let configs = self
            .call("config ls", self.docker.list_configs(Some(ListConfigsOptions { filters: Some(owned_filter()) })))
            .await?;
        let volumes = self
            .call("volume ls", self.docker.list_volumes(Some(ListVolumesOptions { filters: Some(owned_filter()) })))
            .await?;
        Ok(ObservedObjects {
            networks: networks
                .into_iter()
                .filter_map(|n| {
                    let owned = owned(n.labels.as_ref());
                    Some(ObservedObject { id: n.id?, name: n.name?, owned })
                })
                .collect(),
            configs: configs
                .into_iter()
                .filter_map(|c| {
                    let spec = c.spec?;
                    let owned = owned(spec.labels.as_ref());
                    Some(ObservedObject { id: c.id?, name: spec.name?, owned })
                })
                .collect(),
            volumes: volumes
                .volumes
                .unwrap_or_default()
                .into_iter()
                .map(|v| ObservedObject { owned: owned(Some(&v.labels)), id: v.name.clone(), name: v.name })
                .collect(),
        })
    }

    /// Carries out one step on the networks or configs.
    pub async fn apply_object(&self, step: &ObjectStep) -> Result<()> {
        match step {
            ObjectStep::CreateNetwork(def) => {
                self.call("network create", self.docker.create_network(network_request(def))).await.map(drop)
            }
            ObjectStep::CreateConfig(def) => {
                self.call("config create", self.docker.create_config(config_spec(def))).await.map(drop)
            }
            ObjectStep::RemoveNetwork { id, .. } => self.call("network rm", self.docker.remove_network(id)).await,
            ObjectStep::RemoveConfig { id, .. } => self.call("config rm", self.docker.delete_config(id)).await,
        }
    }
}

fn network_request(def: &NetworkDef) -> NetworkCreateRequest {
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
        labels: Some(ownership(&def.namespace, def.labels.clone().into_iter().collect())),
        ..Default::default()
    }
}

fn config_spec(def: &ConfigDef) -> ConfigSpec {
    ConfigSpec {
        name: Some(def.name.clone()),
        labels: Some(ownership(&def.namespace, HashMap::new())),
        data: Some(base64::engine::general_purpose::STANDARD.encode(def.content.as_bytes())),
        templating: None,
    }
}
