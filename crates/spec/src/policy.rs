//! What a namespace's deployers may ask of a node beyond running a container. A deployer key may be
//! stolen, so the things that give a container power over its host (the Docker socket, other host
//! paths, added capabilities, kernel settings, the host's network, host ports below 1024) are
//! refused unless allowed twice: by the namespace's policy on chain, set by the registry's admin,
//! and by each node's own allow-list. Named objects are the namespace's: a spec may use a secret,
//! config, network or volume named `<namespace>_...`, or one the policy lists by name.
//!
//! A policy on chain is canonical JSON like a spec body:
//! `{"v":1,"allow":["bind","docker-socket"],"external":["traefik-public","shared_*"]}`
//! (a trailing `*` lists every name with that prefix).

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::{Spec, SpecBody, SpecError};

/// Host paths of the Docker socket: a container that mounts it controls the engine.
const DOCKER_SOCKETS: [&str; 2] = ["/var/run/docker.sock", "/run/docker.sock"];
/// Host ports below this one are privileged.
const FIRST_UNPRIVILEGED_PORT: u16 = 1024;

/// A power over the host that a spec may ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Permission {
    /// A bind mount of the Docker socket.
    DockerSocket,
    /// A bind mount of any other host path.
    Bind,
    /// Added Linux capabilities.
    CapAdd,
    /// Kernel parameters.
    Sysctls,
    /// The host's network namespace (the network `host`).
    HostNetwork,
    /// A port below 1024 published in host mode.
    LowPorts,
}

impl Permission {
    /// Every permission, in order.
    pub const ALL: [Self; 6] =
        [Self::DockerSocket, Self::Bind, Self::CapAdd, Self::Sysctls, Self::HostNetwork, Self::LowPorts];

    /// Its word in a policy and in `--allow`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DockerSocket => "docker-socket",
            Self::Bind => "bind",
            Self::CapAdd => "cap-add",
            Self::Sysctls => "sysctls",
            Self::HostNetwork => "host-network",
            Self::LowPorts => "low-ports",
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
}

impl Default for Policy {
    /// The policy of a namespace that has none: nothing beyond a plain container.
    fn default() -> Self {
        Self { v: 1, allow: BTreeSet::new(), external: BTreeSet::new() }
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
}

impl fmt::Display for Need {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Permission(p) => write!(f, "permission {p}"),
            Self::Outside { kind, name } => write!(f, "{kind} {name:?} outside the namespace"),
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
    /// `the namespace's policy` or `this node's --allow`.
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
        Ok(())
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
                _ => {}
            }
        }
        Ok(())
    }
}

/// Everything `body` of `namespace` asks for that a policy must allow, with the field asking.
pub fn needs(namespace: &str, body: &SpecBody) -> Vec<(String, Need)> {
    let mut out = Vec::new();
    let own = |name: &str| name.strip_prefix(namespace).is_some_and(|rest| rest.starts_with('_'));
    let mut outside = |field: String, kind: &'static str, name: &str| {
        if !own(name) {
            out.push((field, Need::Outside { kind, name: name.to_owned() }));
        }
    };
    for (kind, files) in [("secret", &body.secrets), ("config", &body.configs)] {
        for (i, file) in files.iter().enumerate().filter(|(_, f)| f.content.is_none()) {
            outside(format!("{kind}s[{i}].name"), kind, &file.name);
        }
    }
    let mut powers = Vec::new();
    for (i, network) in body.networks.iter().enumerate() {
        match (&network.docker_name, network.external) {
            (_, true) if network.name == "host" => powers.push((format!("networks[{i}]"), Permission::HostNetwork)),
            (_, true) => outside(format!("networks[{i}].name"), "network", &network.name),
            (Some(own), false) => outside(format!("networks[{i}].docker_name"), "network", own),
            (None, false) => {}
        }
    }
    for (i, mount) in body.mounts.iter().enumerate() {
        match (mount.kind.as_str(), mount.source.as_deref()) {
            ("bind", Some(source)) if DOCKER_SOCKETS.contains(&source.trim_end_matches('/')) => {
                powers.push((format!("mounts[{i}].source"), Permission::DockerSocket));
            }
            ("bind", _) => powers.push((format!("mounts[{i}].source"), Permission::Bind)),
            ("volume", Some(source)) if mount.external => outside(format!("mounts[{i}].source"), "volume", source),
            ("volume", Some(_)) if mount.docker_name.is_some() => {
                outside(format!("mounts[{i}].docker_name"), "volume", mount.docker_name.as_deref().unwrap_or_default());
            }
            _ => {}
        }
    }
    if !body.cap_add.is_empty() {
        powers.push(("cap_add".into(), Permission::CapAdd));
    }
    if !body.sysctls.is_empty() {
        powers.push(("sysctls".into(), Permission::Sysctls));
    }
    for (i, port) in body.ports.iter().enumerate() {
        if port.mode == "host" && port.published.is_some_and(|p| p < FIRST_UNPRIVILEGED_PORT) {
            powers.push((format!("ports[{i}].published"), Permission::LowPorts));
        }
    }
    out.extend(powers.into_iter().map(|(field, p)| (field, Need::Permission(p))));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Mount, Network, Port, VolumeMount};

    fn spec(body: SpecBody) -> Spec {
        Spec { image: format!("app@sha256:{}", "ab".repeat(32)), replicas: 1, sites: BTreeSet::new(), body }
    }

    fn socket() -> SpecBody {
        let mount = VolumeMount {
            kind: "bind".into(),
            source: Some("/var/run/docker.sock".into()),
            target: "/var/run/docker.sock".into(),
            ..Default::default()
        };
        SpecBody { v: 2, mounts: vec![mount], ..SpecBody::new() }
    }

    #[test]
    fn the_docker_socket_needs_the_namespace_and_the_node() {
        let none = Policy { v: 1, ..Policy::default() };
        let error = none.check("ops", &spec(socket()), None).expect_err("refused by default");
        assert_eq!(
            (error.field.as_str(), &error.need),
            ("mounts[0].source", &Need::Permission(Permission::DockerSocket))
        );
        assert!(error.to_string().contains("namespace policy ops --allow docker-socket"), "{error}");
        let allowed = Policy { v: 1, allow: ["docker-socket".into()].into(), ..Policy::default() };
        assert_eq!(allowed.check("ops", &spec(socket()), None), Ok(()));
        let node = BTreeSet::from([Permission::Bind]);
        let error = allowed.check("ops", &spec(socket()), Some(&node)).expect_err("the node refuses");
        assert_eq!(error.by, "this node's --allow");
        let node = BTreeSet::from([Permission::DockerSocket]);
        assert_eq!(allowed.check("ops", &spec(socket()), Some(&node)), Ok(()));
    }

    #[test]
    fn named_objects_are_the_namespaces_unless_listed() {
        let mut body = SpecBody::new();
        body.secrets.push(Mount { name: "prod_db-password".into(), ..Default::default() });
        let policy =
            Policy { v: 1, external: ["traefik-public".into(), "shared_*".into()].into(), ..Policy::default() };
        let error = policy.check("dev", &spec(body.clone()), None).expect_err("prod's secret");
        assert_eq!(error.need, Need::Outside { kind: "secret", name: "prod_db-password".into() });
        assert_eq!(policy.check("prod", &spec(body), None), Ok(()));
        let mut body = SpecBody { v: 2, ..SpecBody::new() };
        body.networks.push(Network { name: "traefik-public".into(), external: true, ..Default::default() });
        body.networks.push(Network { name: "shared_mesh".into(), external: true, ..Default::default() });
        body.configs.push(Mount { name: "cfg".into(), content: Some("x".into()), ..Default::default() });
        assert_eq!(
            policy.check("dev", &spec(body.clone()), None),
            Ok(()),
            "listed, and a config with content is the stack's"
        );
        body.networks.push(Network { name: "host".into(), external: true, ..Default::default() });
        body.ports.push(Port { target: 80, published: Some(80), protocol: "tcp".into(), mode: "host".into() });
        let needs: Vec<_> = needs("dev", &body).into_iter().map(|(f, _)| f).collect();
        assert_eq!(needs, ["networks[0].name", "networks[1].name", "networks[2]", "ports[0].published"]);
    }

    #[test]
    fn a_policy_is_canonical_and_refuses_unknown_words() {
        let policy = Policy { v: 1, allow: ["sysctls".into(), "bind".into()].into(), ..Policy::default() };
        assert_eq!(policy.encode().expect("valid"), br#"{"v":1,"allow":["bind","sysctls"]}"#);
        assert!(Policy::decode(br#"{"v":1,"allow":["root"]}"#).is_err());
        assert!(Policy::decode(br#"{"v":1,"external":["a b"]}"#).is_err());
    }
}
