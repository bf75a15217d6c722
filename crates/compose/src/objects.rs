//! The stack's own objects, from the file's top-level `networks`, `volumes`, `configs` and
//! `secrets`, as each service that uses one carries it. A stack network or volume goes in every
//! spec that uses it, with its definition: each node creates it as `<namespace>_<key>`. An
//! external one is used by its name and must exist. A config's content goes on chain (it is
//! configuration); a secret's never does.

use std::collections::BTreeMap;

use compose_spec::Resource;
use compose_spec::{ListOrMap, MapKey};
use indexmap::IndexMap;
use ledgerops_spec::{Network, Subnet, VolumeMount};
use serde::de::DeserializeOwned;
use serde_yaml::{Mapping, Value};

use crate::{ComposeError, Options};

/// The stack's network `default`, which services that name no network join.
pub(crate) const DEFAULT_NETWORK: &str = "default";

/// A config as services use it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ConfigSource {
    /// It exists on each node under this name.
    External(String),
    /// Its content, which the node creates it from.
    Content(String),
}

/// Everything the file defines at the top level, by key.
#[derive(Debug, Default)]
pub(crate) struct Objects {
    networks: BTreeMap<String, Network>,
    volumes: BTreeMap<String, VolumeMount>,
    configs: BTreeMap<String, ConfigSource>,
    secrets: BTreeMap<String, String>,
}

impl Objects {
    /// Reads (and removes) the four sections of `file`.
    pub(crate) fn read(file: &mut Mapping, options: &Options) -> Result<Self, ComposeError> {
        let mut objects = Self::default();
        for (key, network) in section::<Option<Resource<compose_spec::Network>>>(file, "networks")? {
            objects.networks.insert(key.clone(), network_of(&key, network)?);
        }
        for (key, volume) in section::<Option<Resource<compose_spec::Volume>>>(file, "volumes")? {
            objects.volumes.insert(key.clone(), volume_of(&key, volume)?);
        }
        for (key, config) in section::<Resource<compose_spec::Config>>(file, "configs")? {
            objects.configs.insert(key.clone(), config_of(&key, config, options)?);
        }
        for (key, secret) in section::<Resource<compose_spec::Secret>>(file, "secrets")? {
            let name = match secret {
                Resource::External { name } => name.unwrap_or_else(|| key.clone()),
                Resource::Compose(_) => {
                    return Err(ComposeError::Invalid {
                        path: format!("secrets.{key}"),
                        message: "a secret's value never goes on chain: create it on each node \
                                  (docker secret create) and declare it external: true"
                            .into(),
                    });
                }
            };
            objects.secrets.insert(key, name);
        }
        Ok(objects)
    }

    /// The network `key` as a service joins it (`path` names the service's reference).
    pub(crate) fn network(&self, key: &str, path: &str) -> Result<Network, ComposeError> {
        match (self.networks.get(key), key) {
            (Some(network), _) => Ok(network.clone()),
            (None, DEFAULT_NETWORK) => Ok(Network { name: DEFAULT_NETWORK.into(), ..Network::default() }),
            (None, _) => Err(undeclared(path, "network", key, "networks")),
        }
    }

    /// The named volume `key` as a service mounts it.
    pub(crate) fn volume(&self, key: &str, path: &str) -> Result<VolumeMount, ComposeError> {
        self.volumes.get(key).cloned().ok_or_else(|| undeclared(path, "volume", key, "volumes"))
    }

    /// The config `key`.
    pub(crate) fn config(&self, key: &str, path: &str) -> Result<ConfigSource, ComposeError> {
        self.configs.get(key).cloned().ok_or_else(|| undeclared(path, "config", key, "configs"))
    }

    /// The Docker name of the secret `key`.
    pub(crate) fn secret(&self, key: &str, path: &str) -> Result<String, ComposeError> {
        self.secrets.get(key).cloned().ok_or_else(|| undeclared(path, "secret", key, "secrets"))
    }
}

fn undeclared(path: &str, kind: &str, key: &str, section: &str) -> ComposeError {
    ComposeError::Invalid {
        path: path.to_owned(),
        message: format!("{kind} {key:?} is not declared in the top-level {section}"),
    }
}

/// A top-level section, parsed entry by entry so that an error names the entry.
fn section<T: DeserializeOwned>(file: &mut Mapping, name: &str) -> Result<Vec<(String, T)>, ComposeError> {
    let entries = match file.remove(name) {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Mapping(entries)) => entries,
        Some(_) => return Err(ComposeError::Invalid { path: name.into(), message: "expected a mapping".into() }),
    };
    entries
        .into_iter()
        .map(|(key, value)| {
            let key = key.as_str().map(str::to_owned).ok_or_else(|| ComposeError::Invalid {
                path: format!("{name}.{key:?}"),
                message: "a name must be a string".into(),
            })?;
            let path = format!("{name}.{key}");
            let parsed = serde_path_to_error::deserialize(value).map_err(|e| ComposeError::Invalid {
                path: crate::join(&path, &e.path().to_string()),
                message: e.into_inner().to_string(),
            })?;
            Ok((key, parsed))
        })
        .collect()
}

fn network_of(key: &str, network: Option<Resource<compose_spec::Network>>) -> Result<Network, ComposeError> {
    let network = match network {
        None => return Ok(Network { name: key.into(), ..Network::default() }),
        Some(Resource::External { name }) => {
            return Ok(Network { name: name.unwrap_or_else(|| key.into()), external: true, ..Network::default() });
        }
        Some(Resource::Compose(network)) => network,
    };
    let path = format!("networks.{key}");
    if let Some(driver) = network.ipam.as_ref().and_then(|ipam| ipam.driver.as_deref()).filter(|d| *d != "default") {
        return Err(ComposeError::Invalid {
            path: format!("{path}.ipam.driver"),
            message: format!("{driver:?}: only Swarm's default IPAM driver is carried"),
        });
    }
    let subnets = network.ipam.map(|ipam| ipam.config).unwrap_or_default();
    Ok(Network {
        name: key.into(),
        docker_name: network.name,
        driver: network.driver.map(String::from),
        driver_opts: options(network.driver_opts),
        attachable: network.attachable,
        internal: network.internal,
        labels: labels(network.labels, &path)?,
        subnets: subnets
            .into_iter()
            .filter_map(|pool| {
                Some(Subnet {
                    subnet: pool.subnet?.to_string(),
                    gateway: pool.gateway.map(|g| g.to_string()),
                    ip_range: pool.ip_range.map(|r| r.to_string()),
                })
            })
            .collect(),
        ..Network::default()
    })
}

fn volume_of(key: &str, volume: Option<Resource<compose_spec::Volume>>) -> Result<VolumeMount, ComposeError> {
    let path = format!("volumes.{key}");
    match volume {
        None => Ok(VolumeMount { source: Some(key.into()), ..VolumeMount::default() }),
        Some(Resource::External { name }) => Ok(VolumeMount {
            source: Some(name.unwrap_or_else(|| key.into())),
            external: true,
            ..VolumeMount::default()
        }),
        Some(Resource::Compose(volume)) => Ok(VolumeMount {
            source: Some(key.into()),
            docker_name: volume.name,
            driver: volume.driver,
            driver_opts: options(volume.driver_opts),
            labels: labels(volume.labels, &path)?,
            ..VolumeMount::default()
        }),
    }
}

fn config_of(
    key: &str,
    config: Resource<compose_spec::Config>,
    options: &Options,
) -> Result<ConfigSource, ComposeError> {
    let path = format!("configs.{key}");
    match config {
        Resource::External { name } => Ok(ConfigSource::External(name.unwrap_or_else(|| key.into()))),
        Resource::Compose(config) => match config.source {
            compose_spec::config::Source::Content(content) => Ok(ConfigSource::Content(content)),
            compose_spec::config::Source::File(file) => {
                let file = options.file(&file, &format!("{path}.file"))?;
                let bytes = std::fs::read(&file).map_err(|e| ComposeError::Invalid {
                    path: format!("{path}.file"),
                    message: format!("cannot read {}: {e}", file.display()),
                })?;
                String::from_utf8(bytes).map(ConfigSource::Content).map_err(|_| ComposeError::Invalid {
                    path: format!("{path}.file"),
                    message: format!("{} is not UTF-8 text: a config goes on chain as text", file.display()),
                })
            }
            compose_spec::config::Source::Environment(_) => Err(ComposeError::Invalid {
                path: format!("{path}.environment"),
                message: "write the content, or a file:".into(),
            }),
        },
    }
}

/// Driver options as strings.
pub(crate) fn options<V: ToString>(map: IndexMap<MapKey, V>) -> BTreeMap<String, String> {
    map.into_iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// Labels: a label written without a value has the empty one (unlike an environment variable).
pub(crate) fn labels(list: ListOrMap, path: &str) -> Result<BTreeMap<String, String>, ComposeError> {
    let map = list
        .into_map()
        .map_err(|e| ComposeError::Invalid { path: format!("{path}.labels"), message: e.to_string() })?;
    Ok(map.into_iter().map(|(k, v)| (k.to_string(), v.map(|v| v.to_string()).unwrap_or_default())).collect())
}
