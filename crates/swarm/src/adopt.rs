//! Taking over what an earlier version made, before objects carried their registry: the managed
//! services and configs with no registry label get this node's (a label-only update: no task
//! restarts), and the networks and volumes, whose labels Docker cannot change, are returned for
//! the node to record as its own. Run once, by the operator (`ledgerops-node adopt`): the node
//! never takes another registry's objects by itself.

use std::collections::{BTreeSet, HashMap};

use bollard::query_parameters::{
    ListConfigsOptions, ListNetworksOptions, ListServicesOptions, ListVolumesOptions, UpdateConfigOptions,
};
use ledgerops_reconcile::observed::labels;

use crate::{Result, Swarm};

/// The ids of networks and names of volumes an operator took over (they carry no registry label).
pub type Adopted = BTreeSet<String>;

/// One object taken over (or, in a dry run, to be).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Taken {
    /// `service`, `config`, `network` or `volume`.
    pub kind: &'static str,
    /// Its name.
    pub name: String,
    /// Docker's id (a volume's is its name): what the node records for a network or volume.
    pub id: String,
}

fn legacy(labels: Option<&HashMap<String, String>>) -> bool {
    labels.is_some_and(|l| {
        l.get(labels::MANAGED_BY).is_some_and(|v| v == labels::MANAGER) && !l.contains_key(labels::REGISTRY)
    })
}

impl Swarm {
    /// Finds the managed objects without a registry label and, unless `dry_run`, labels the
    /// services and configs with this registry. Returns every one found.
    pub async fn adopt(&self, dry_run: bool) -> Result<Vec<Taken>> {
        let filter =
            || Some(HashMap::from([("label".to_owned(), vec![format!("{}={}", labels::MANAGED_BY, labels::MANAGER)])]));
        let mut taken = Vec::new();
        let services = self.call(
            "service ls",
            self.docker.list_services(Some(ListServicesOptions { filters: filter(), status: None })),
        );
        for service in services.await? {
            let Some(mut spec) = service.spec.filter(|s| legacy(s.labels.as_ref())) else { continue };
            let (id, name) = (service.id.unwrap_or_default(), spec.name.clone().unwrap_or_default());
            if !dry_run {
                spec.labels.get_or_insert_default().insert(labels::REGISTRY.into(), self.registry.to_string());
                // No credentials: the engine keeps those the service was last sent with.
                self.update_rereading(&id, service.version.and_then(|v| v.index).unwrap_or_default(), spec, None)
                    .await?;
            }
            taken.push(Taken { kind: "service", name, id });
        }
        let configs = self.call("config ls", self.docker.list_configs(Some(ListConfigsOptions { filters: filter() })));
        for config in configs.await? {
            let Some(mut spec) = config.spec.filter(|s| legacy(s.labels.as_ref())) else { continue };
            let (id, name) = (config.id.unwrap_or_default(), spec.name.clone().unwrap_or_default());
            if !dry_run {
                spec.labels.get_or_insert_default().insert(labels::REGISTRY.into(), self.registry.to_string());
                let version = config.version.and_then(|v| v.index).unwrap_or_default();
                let options = UpdateConfigOptions { version: i64::try_from(version).unwrap_or(i64::MAX) };
                self.call("config update", self.docker.update_config(&id, spec, options)).await?;
            }
            taken.push(Taken { kind: "config", name, id });
        }
        let networks =
            self.call("network ls", self.docker.list_networks(Some(ListNetworksOptions { filters: filter() })));
        for network in networks.await?.into_iter().filter(|n| legacy(n.labels.as_ref())) {
            let (Some(id), Some(name)) = (network.id, network.name) else { continue };
            taken.push(Taken { kind: "network", name, id });
        }
        let volumes = self.call("volume ls", self.docker.list_volumes(Some(ListVolumesOptions { filters: filter() })));
        for volume in volumes.await?.volumes.unwrap_or_default().into_iter().filter(|v| legacy(Some(&v.labels))) {
            taken.push(Taken { kind: "volume", id: volume.name.clone(), name: volume.name });
        }
        Ok(taken)
    }
}
