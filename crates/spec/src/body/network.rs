//! How a service is reached and reaches others: published ports, the networks it joins (the
//! stack's own, which each node creates, or ones that exist already), its endpoint mode, and its
//! name resolution (DNS settings, extra hosts).

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::units::{one_of, plain, word};
use crate::SpecError;

/// A published port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Port {
    /// Port inside the container.
    pub target: u16,
    /// Port on the node or ingress; absent lets Swarm choose.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<u16>,
    /// `tcp`, `udp` or `sctp`.
    #[serde(default = "default_protocol")]
    pub protocol: String,
    /// `ingress` (routing mesh) or `host`.
    #[serde(default = "default_mode")]
    pub mode: String,
}

fn default_protocol() -> String {
    "tcp".into()
}

fn default_mode() -> String {
    "ingress".into()
}

/// A network the service joins (format 2). A stack network (not `external`) is the namespace's
/// own: each node creates it as `<namespace>_<name>` from the definition here. An external one
/// must exist on the node under exactly `name`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Network {
    /// The stack's key for it, or an external network's name.
    pub name: String,
    /// A stack network's own Docker name (compose's `name:`), instead of `<namespace>_<name>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docker_name: Option<String>,
    /// Other names the service answers to on this network.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// It exists already; nothing below may be set.
    #[serde(default, skip_serializing_if = "is_false")]
    pub external: bool,
    /// Network driver (default `overlay`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    /// Driver options, e.g. `encrypted`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub driver_opts: BTreeMap<String, String>,
    /// Standalone containers may attach to it.
    #[serde(default, skip_serializing_if = "is_false")]
    pub attachable: bool,
    /// No traffic leaves it.
    #[serde(default, skip_serializing_if = "is_false")]
    pub internal: bool,
    /// Labels on the network.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Its address pools.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subnets: Vec<Subnet>,
}

/// One IPAM pool of a network.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Subnet {
    /// CIDR, e.g. `10.0.9.0/24`.
    pub subnet: String,
    /// Gateway address in it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<String>,
    /// Range tasks get addresses from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_range: Option<String>,
}

/// DNS settings of the containers (format 2).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dns {
    /// Name servers, as IP addresses.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub servers: Vec<String>,
    /// Search domains.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub search: Vec<String>,
    /// Resolver options, e.g. `ndots:2`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
}

pub(crate) fn is_false(b: &bool) -> bool {
    !*b
}

pub(crate) fn validate_ports(ports: &[Port]) -> Result<(), SpecError> {
    let mut published = BTreeSet::new();
    for (i, p) in ports.iter().enumerate() {
        if p.target == 0 || p.published == Some(0) {
            return Err(SpecError::field(format!("ports[{i}]"), "ports are 1-65535"));
        }
        one_of(&format!("ports[{i}].protocol"), Some(&p.protocol), &["tcp", "udp", "sctp"])?;
        one_of(&format!("ports[{i}].mode"), Some(&p.mode), &["ingress", "host"])?;
        if let Some(port) = p.published
            && !published.insert((port, p.protocol.as_str()))
        {
            return Err(SpecError::field(
                format!("ports[{i}].published"),
                format!("{port}/{} is published twice", p.protocol),
            ));
        }
    }
    Ok(())
}

/// Docker's rule for network, volume, secret and config names: `[a-zA-Z0-9][a-zA-Z0-9_.-]*`.
pub(crate) fn docker_object_name(field: &str, name: &str) -> Result<(), SpecError> {
    let valid = !name.is_empty()
        && name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
    if valid { Ok(()) } else { Err(SpecError::field(field, format!("{name:?} is not a Docker object name"))) }
}

pub(crate) fn validate_networks(networks: &[Network]) -> Result<(), SpecError> {
    let mut seen = BTreeSet::new();
    for (i, n) in networks.iter().enumerate() {
        let field = format!("networks[{i}]");
        docker_object_name(&format!("{field}.name"), &n.name)?;
        if !seen.insert(n.name.as_str()) {
            return Err(SpecError::field(format!("{field}.name"), format!("{:?} is joined twice", n.name)));
        }
        for (j, alias) in n.aliases.iter().enumerate() {
            word(&format!("{field}.aliases[{j}]"), alias)?;
        }
        if let Some(docker_name) = &n.docker_name {
            docker_object_name(&format!("{field}.docker_name"), docker_name)?;
        }
        let defined = n.docker_name.is_some()
            || n.driver.is_some()
            || !n.driver_opts.is_empty()
            || n.attachable
            || n.internal
            || !n.labels.is_empty()
            || !n.subnets.is_empty();
        if n.external && defined {
            return Err(SpecError::field(field, "an external network exists already: it takes no definition"));
        }
        if let Some(driver) = &n.driver {
            word(&format!("{field}.driver"), driver)?;
        }
        for (key, value) in n.driver_opts.iter().chain(&n.labels) {
            word(&format!("{field}.{key}"), key)?;
            plain(&format!("{field}.{key}"), value)?;
        }
        for (j, s) in n.subnets.iter().enumerate() {
            s.validate(&format!("{field}.subnets[{j}]"))?;
        }
    }
    Ok(())
}

impl Subnet {
    fn validate(&self, field: &str) -> Result<(), SpecError> {
        cidr(&format!("{field}.subnet"), &self.subnet)?;
        if let Some(range) = &self.ip_range {
            cidr(&format!("{field}.ip_range"), range)?;
        }
        if let Some(gateway) = &self.gateway {
            ip(&format!("{field}.gateway"), gateway)?;
        }
        Ok(())
    }
}

fn ip(field: &str, text: &str) -> Result<IpAddr, SpecError> {
    text.parse().map_err(|_| SpecError::field(field, format!("{text:?} is not an IP address")))
}

fn cidr(field: &str, text: &str) -> Result<(), SpecError> {
    let bad = || SpecError::field(field, format!("{text:?} is not a CIDR like 10.0.9.0/24"));
    let (address, bits) = text.split_once('/').ok_or_else(bad)?;
    let max = if ip(field, address).map_err(|_| bad())?.is_ipv4() { 32 } else { 128 };
    bits.parse::<u8>().ok().filter(|b| *b <= max).map(drop).ok_or_else(bad)
}

impl Dns {
    pub(crate) fn validate(&self) -> Result<(), SpecError> {
        for (i, server) in self.servers.iter().enumerate() {
            ip(&format!("dns.servers[{i}]"), server)?;
        }
        for (i, domain) in self.search.iter().enumerate() {
            word(&format!("dns.search[{i}]"), domain)?;
        }
        for (i, option) in self.options.iter().enumerate() {
            word(&format!("dns.options[{i}]"), option)?;
        }
        Ok(())
    }
}

/// Extra `/etc/hosts` entries: host name -> address (or `host-gateway`).
pub(crate) fn validate_hosts(hosts: &BTreeMap<String, String>) -> Result<(), SpecError> {
    for (host, address) in hosts {
        word(&format!("hosts.{host}"), host)?;
        if host.contains(char::is_whitespace) {
            return Err(SpecError::field(format!("hosts.{host}"), "a host name has no spaces"));
        }
        // Docker's own name for the host's address on the container's network.
        if address != "host-gateway" {
            ip(&format!("hosts.{host}"), address)?;
        }
    }
    Ok(())
}
