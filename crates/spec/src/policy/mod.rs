//! What a namespace's deployers may ask of a node beyond running a container. A deployer key may be
//! stolen, so the things that give a container power over its host (host paths and the Docker
//! socket, volume drivers and their options, added capabilities, kernel settings, the host's
//! networks, host ports below 1024, logging drivers that reach out, raised resource limits) are
//! refused unless allowed twice: by the namespace's policy on chain, set by the registry's admin,
//! and by each node's own allow-list. Named objects are the namespace's: a spec may use a secret,
//! config, network or volume named `<namespace>_...`, or one the policy lists by name. [`needs`]
//! says what a spec asks for.
//!
//! Image registries are the namespace's when its policy lists them: its images may come only from
//! those, and nodes hand their registry credentials only to the images of namespaces that list
//! the registry; a registry some namespaces list is theirs (a node may hold one of their images
//! already, and Swarm runs an image it holds by digest without asking the registry), which the
//! node checks across namespaces.
//!
//! A policy on chain is canonical JSON like a spec body:
//! `{"v":1,"allow":["bind","docker-socket"],"external":["traefik-public","shared_*"],"registries":["registry.example.com"]}`
//! (a trailing `*` lists every name with that prefix).

mod needs;

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

pub use self::needs::needs;
use crate::{Spec, SpecError};

/// A power over the host that a spec may ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Permission {
    /// A bind of the Docker (or containerd) socket, or of a directory that holds it.
    DockerSocket,
    /// A bind of any other host path, by a bind mount or a `local` volume of `type=none,o=bind`:
    /// root-equivalent on the host (a container that writes `/etc` owns it).
    Bind,
    /// A volume of a driver other than `local`, or a `local` volume with options other than a
    /// bind (a block device, nfs, cifs, tmpfs options): the driver acts on the host's devices or
    /// reaches the network with the host's credentials.
    VolumeDriver,
    /// Added Linux capabilities.
    CapAdd,
    /// Kernel parameters.
    Sysctls,
    /// The host's networks: the network `host`, and stack networks of a driver other than
    /// `overlay` (macvlan, ipvlan, bridge) or with driver options other than the overlay's own.
    HostNetwork,
    /// A port below 1024 published, in host mode or through the ingress mesh.
    LowPorts,
    /// A logging driver other than `json-file`, `local` and `none`: the others ship the
    /// containers' output with the daemon's credentials (awslogs, gcplogs) or to addresses the
    /// host reaches (syslog, gelf, fluentd, splunk).
    LogDriver,
    /// Resource limits (`ulimits`) above those Docker gives a container by default.
    Ulimits,
}

impl Permission {
    /// Every permission, in order.
    pub const ALL: [Self; 9] = [
        Self::DockerSocket,
        Self::Bind,
        Self::VolumeDriver,
        Self::CapAdd,
        Self::Sysctls,
        Self::HostNetwork,
        Self::LowPorts,
        Self::LogDriver,
        Self::Ulimits,
    ];

    /// Its word in a policy and in `--allow`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DockerSocket => "docker-socket",
            Self::Bind => "bind",
            Self::VolumeDriver => "volume-driver",
            Self::CapAdd => "cap-add",
            Self::Sysctls => "sysctls",
            Self::HostNetwork => "host-network",
            Self::LowPorts => "low-ports",
            Self::LogDriver => "log-driver",
            Self::Ulimits => "ulimits",
        }
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Permission {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|p| p.as_str() == s).ok_or_else(|| {
            let words: Vec<_> = Self::ALL.iter().map(|p| p.as_str()).collect();
            format!("{s:?} is not a permission; one of {}", words.join(", "))
        })
    }
}

/// A namespace's policy: what its specs may ask for beyond the default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Format version: 1.
    pub v: u32,
    /// The permissions granted, by word.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub allow: BTreeSet<String>,
    /// Objects outside the namespace its specs may use: names, or prefixes ending in `*`.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub external: BTreeSet<String>,
    /// Image registries (`registry.example.com`, `127.0.0.1:5001`, `docker.io`) the namespace's
    /// images may come from, for which nodes send their credentials; none: any registry, and no
    /// credentials.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub registries: BTreeSet<String>,
}

impl Default for Policy {
    /// The policy of a namespace that has none: nothing beyond a plain container.
    fn default() -> Self {
        Self { v: 1, allow: BTreeSet::new(), external: BTreeSet::new(), registries: BTreeSet::new() }
    }
}

/// Something a spec asks for that a policy must allow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Need {
    /// A power over the host.
    Permission(Permission),
    /// An object outside the namespace.
    Outside {
        /// `secret`, `config`, `network` or `volume`.
        kind: &'static str,
        /// Its Docker name.
        name: String,
    },
    /// Images from a registry the namespace's policy does not list.
    Registry(String),
    /// A name outside the namespace to answer to, on a network other namespaces may join: no
    /// policy grants it, or one namespace could take another's traffic.
    SharedName {
        /// The network's Docker name.
        network: String,
        /// The alias asked for.
        alias: String,
    },
}

impl fmt::Display for Need {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Permission(p) => write!(f, "permission {p}"),
            Self::Outside { kind, name } => write!(f, "{kind} {name:?} outside the namespace"),
            Self::Registry(registry) => write!(f, "images from registry {registry}"),
            Self::SharedName { network, alias } => {
                write!(f, "the name {alias:?} on {network}, a network other namespaces may join")
            }
        }
    }
}

/// A spec asks for more than allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} needs {need}, which {by} does not allow{hint}")]
pub struct PolicyError {
    /// Where in the spec, e.g. `mounts[0].source`.
    pub field: String,
    /// What it needs.
    pub need: Need,
    /// `the namespace's policy`, `this node's --allow`, or `any policy`.
    pub by: &'static str,
    /// How to allow it.
    pub hint: String,
}

impl Policy {
    /// Parses and checks a policy read from the chain or written by an admin.
    pub fn decode(bytes: &[u8]) -> Result<Self, SpecError> {
        let policy: Self = serde_json::from_slice(bytes).map_err(|e| SpecError::BadBody(format!("policy: {e}")))?;
        policy.validate()?;
        Ok(policy)
    }

    /// The policy kept on chain for a namespace: the default when none is set.
    pub fn from_chain(bytes: Option<&[u8]>) -> Result<Self, SpecError> {
        bytes.map_or_else(|| Ok(Self::default()), Self::decode)
    }

    /// The canonical bytes: what goes on chain.
    pub fn encode(&self) -> Result<Vec<u8>, SpecError> {
        self.validate()?;
        serde_json::to_vec(self).map_err(|e| SpecError::BadBody(e.to_string()))
    }

    /// Checks the version, the permission words and the names.
    pub fn validate(&self) -> Result<(), SpecError> {
        if self.v != 1 {
            return Err(SpecError::field("policy.v", format!("policy version {} is not supported", self.v)));
        }
        for word in &self.allow {
            word.parse::<Permission>().map_err(|e| SpecError::field("policy.allow", e))?;
        }
        for name in &self.external {
            let bare = name.strip_suffix('*').unwrap_or(name);
            if bare.is_empty() || !bare.chars().all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c)) {
                return Err(SpecError::field("policy.external", format!("{name:?} is not a Docker name or prefix*")));
            }
        }
        for registry in &self.registries {
            let valid = !registry.is_empty()
                && registry.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || ".-:[]".contains(c));
            if !valid || crate::registry_of(&format!("{registry}/x")) != registry {
                return Err(SpecError::field(
                    "policy.registries",
                    format!(
                        "{registry:?} is not an image registry like registry.example.com, 127.0.0.1:5001 or docker.io"
                    ),
                ));
            }
        }
        Ok(())
    }

    /// True when the namespace's images may come from `registry`, and nodes send it their
    /// credentials for it.
    pub fn lists_registry(&self, registry: &str) -> bool {
        self.registries.contains(registry)
    }

    /// True when the policy grants `permission`.
    pub fn allows(&self, permission: Permission) -> bool {
        self.allow.contains(permission.as_str())
    }

    /// True when `name` is listed, by name or by prefix.
    pub fn lists(&self, name: &str) -> bool {
        self.external.iter().any(|listed| match listed.strip_suffix('*') {
            Some(prefix) => name.starts_with(prefix),
            None => listed == name,
        })
    }

    /// Checks what `spec` of `namespace` asks for against this policy and, on a node, against
    /// the node's own allow-list (`None` in the CLI, which cannot know every node's).
    pub fn check(&self, namespace: &str, spec: &Spec, node: Option<&BTreeSet<Permission>>) -> Result<(), PolicyError> {
        let registry = crate::registry_of(&spec.image);
        if !self.registries.is_empty() && !self.lists_registry(registry) {
            let listed: Vec<&str> = self.registries.iter().map(String::as_str).collect();
            return Err(PolicyError {
                field: "image".into(),
                need: Need::Registry(registry.to_owned()),
                by: "the namespace's policy",
                hint: format!(
                    " (its images come from {}; the registry's admin adds one: ledgerops namespace policy {namespace} \
                     --image-registry {registry})",
                    listed.join(", ")
                ),
            });
        }
        for (field, need) in needs(namespace, &spec.body) {
            let refused = |by: &'static str, hint: String| {
                Err(PolicyError { field: field.clone(), need: need.clone(), by, hint })
            };
            match &need {
                Need::Permission(p) if !self.allows(*p) => {
                    return refused(
                        "the namespace's policy",
                        format!(
                            " (the registry's admin grants it: ledgerops namespace policy {namespace} --allow {p})"
                        ),
                    );
                }
                Need::Permission(p) if node.is_some_and(|allowed| !allowed.contains(p)) => {
                    return refused("this node's --allow", format!(" (the site's operator adds --allow {p})"));
                }
                Need::Outside { name, .. } if !self.lists(name) => {
                    return refused(
                        "the namespace's policy",
                        format!(
                            " (name it {namespace}_..., or the admin lists it: ledgerops namespace policy {namespace} --external {name})"
                        ),
                    );
                }
                Need::Registry(_) => {}
                Need::SharedName { .. } => {
                    return refused(
                        "any policy",
                        format!(
                            " (there a service answers only to its namespace's names, {namespace}_..., and is reached \
                             as {namespace}_<service>)"
                        ),
                    );
                }
                _ => {}
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
