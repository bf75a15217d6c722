//! The spec body: everything Swarm needs beyond image, replicas and placement (docs/spec-format.md).
//!
//! Serialization is canonical: fields in declaration order, maps sorted by key, no whitespace,
//! empty values omitted, durations, sizes and capabilities normalised, and the format version the
//! lowest that holds the body. Two bodies that mean the same have the same bytes, hence the same
//! commitment on chain, which is what makes `diff` and `apply` idempotent; and a body format 1 can
//! express stays format 1, so a revision published before format 2 is not republished.

mod network;
mod process;
mod schedule;
mod storage;
mod units;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use network::{Dns, Network, Port, Subnet};
pub use process::{HealthCheck, Logging, Ulimit, capability};
pub use schedule::{MODES, Resources, RestartPolicy, UpdatePolicy, failure_ratio};
pub use storage::{Mount, VolumeMount};
pub use units::{cpu_nanos, memory_bytes, parse_duration, parse_mode};

use self::network::{validate_hosts, validate_networks, validate_ports};
use self::process::{validate_capabilities, validate_sysctls, validate_ulimits};
use self::schedule::{validate_constraint, validate_preference};
use self::storage::{validate_files, validate_mounts};
use self::units::{normalize_duration, normalize_size, one_of, plain, word};
use crate::SpecError;

/// The longest program name a spec may give (Linux's PATH_MAX, in bytes).
pub(crate) const PROGRAM_NAME_MAX: usize = 4096;
/// The newest body format this code writes and reads.
pub const FORMAT_VERSION: u32 = 2;

/// Everything about a service that is not image, replicas or placement. The fields after
/// `labels` are format 2: a format 1 body has none of them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpecBody {
    /// Format version: 1, or 2 when a field of format 2 is set.
    pub v: u32,
    /// Overrides the image's entrypoint.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub command: Vec<String>,
    /// Arguments to the command.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    /// Environment variables. Never secrets: the ledger is readable by every node.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// Docker secrets by name; they must exist on each node.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<Mount>,
    /// Docker configs: by name (they must exist on each node), or with their content.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub configs: Vec<Mount>,
    /// Published ports.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<Port>,
    /// Swarm placement constraints within a site, e.g. `node.labels.tier==edge`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub constraints: Vec<String>,
    /// How Swarm rolls a new revision out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update: Option<UpdatePolicy>,
    /// The container healthcheck.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healthcheck: Option<HealthCheck>,
    /// CPU and memory limits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<Resources>,
    /// Service labels; the `ledgerops.` prefix is reserved for the node's ownership labels.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// `global`, `replicated-job` or `global-job`; absent: replicated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// Networks joined, by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub networks: Vec<Network>,
    /// Volumes, host paths and tmpfs mounted, by target.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mounts: Vec<VolumeMount>,
    /// `vip` (Swarm's default) or `dnsrr`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint_mode: Option<String>,
    /// When Swarm restarts a task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart: Option<RestartPolicy>,
    /// How Swarm rolls a failed update back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback: Option<UpdatePolicy>,
    /// CPU and memory each task reserves on its node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reservations: Option<Resources>,
    /// Node attributes to spread tasks over, in order, e.g. `node.labels.zone`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub preferences: Vec<String>,
    /// Most tasks of the service on one node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_per_node: Option<u64>,
    /// The containers' host name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// User (and group) the process runs as.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Working directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workdir: Option<String>,
    /// Signal that stops the process, e.g. `SIGQUIT`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_signal: Option<String>,
    /// Wait after the stop signal before the process is killed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_grace_period: Option<String>,
    /// Run an init process that reaps zombies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init: Option<bool>,
    /// The root filesystem is read-only.
    #[serde(default, skip_serializing_if = "network::is_false")]
    pub read_only: bool,
    /// DNS servers, search domains, options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns: Option<Dns>,
    /// Extra `/etc/hosts` entries: host name -> address.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub hosts: BTreeMap<String, String>,
    /// The logging driver and its options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logging: Option<Logging>,
    /// Process resource limits, by name (e.g. `nofile`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub ulimits: BTreeMap<String, Ulimit>,
    /// Kernel parameters of the containers' namespaces.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sysctls: BTreeMap<String, String>,
    /// Capabilities added (`CAP_NET_ADMIN`), sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cap_add: Vec<String>,
    /// Capabilities dropped, sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cap_drop: Vec<String>,
    /// Labels on the containers (`labels` are the service's).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub container_labels: BTreeMap<String, String>,
}

impl SpecBody {
    /// An empty body (format 1 until a field of format 2 is set).
    pub fn new() -> Self {
        Self { v: 1, ..Self::default() }
    }

    /// Parses and validates a body read from the chain or a file.
    pub fn decode(bytes: &[u8]) -> Result<Self, SpecError> {
        let body: Self = serde_json::from_slice(bytes).map_err(|e| SpecError::BadBody(e.to_string()))?;
        body.validate()?;
        Ok(body)
    }

    /// The canonical bytes: what goes on chain.
    pub fn encode(&self) -> Result<Vec<u8>, SpecError> {
        let mut body = self.clone();
        body.normalize()?;
        body.validate()?;
        serde_json::to_vec(&body).map_err(|e| SpecError::BadBody(e.to_string()))
    }

    /// The same body at the lowest format version that holds it.
    pub fn versioned(&self) -> Self {
        Self { v: if self.uses_v2() { FORMAT_VERSION } else { 1 }, ..self.clone() }
    }

    /// True when a field of format 2 is set: the body needs `v: 2`.
    pub fn uses_v2(&self) -> bool {
        self.mode.is_some()
            || !self.networks.is_empty()
            || !self.mounts.is_empty()
            || self.endpoint_mode.is_some()
            || self.restart.is_some()
            || self.rollback.is_some()
            || self.reservations.is_some()
            || !self.preferences.is_empty()
            || self.max_per_node.is_some()
            || self.hostname.is_some()
            || self.user.is_some()
            || self.workdir.is_some()
            || self.stop_signal.is_some()
            || self.stop_grace_period.is_some()
            || self.init.is_some()
            || self.read_only
            || self.dns.is_some()
            || !self.hosts.is_empty()
            || self.logging.is_some()
            || !self.ulimits.is_empty()
            || !self.sysctls.is_empty()
            || !self.cap_add.is_empty()
            || !self.cap_drop.is_empty()
            || !self.container_labels.is_empty()
            || self.secrets.iter().chain(&self.configs).any(Mount::uses_v2)
            || self.update.as_ref().is_some_and(UpdatePolicy::uses_v2)
            || self.resources.as_ref().is_some_and(|r| r.pids.is_some())
    }

    /// Checks every field; the error names the first one at fault.
    pub fn validate(&self) -> Result<(), SpecError> {
        match self.v {
            1 if self.uses_v2() => {
                return Err(SpecError::field("v", "format 1 has no such field: this body needs format 2"));
            }
            1 | 2 => {}
            other => {
                return Err(SpecError::field(
                    "v",
                    format!("format version {other} is not supported (expected 1 or {FORMAT_VERSION})"),
                ));
            }
        }
        self.validate_process()?;
        validate_files("secrets", &self.secrets)?;
        validate_files("configs", &self.configs)?;
        validate_ports(&self.ports)?;
        validate_networks(&self.networks)?;
        validate_mounts(&self.mounts)?;
        self.validate_schedule()?;
        for (field, labels) in [("labels", &self.labels), ("container_labels", &self.container_labels)] {
            for key in labels.keys() {
                if key.is_empty() || key.starts_with("ledgerops.") {
                    return Err(SpecError::field(
                        format!("{field}.{key}"),
                        "label keys must be non-empty; the ledgerops. prefix is reserved",
                    ));
                }
            }
        }
        Ok(())
    }

    fn validate_process(&self) -> Result<(), SpecError> {
        for (i, s) in self.command.iter().chain(&self.args).enumerate() {
            plain(&format!("command/args[{i}]"), s)?;
        }
        // The program: the command's first word, or the arguments' when the image's entrypoint is
        // kept (an image without one runs it). runc 1.1.5 hangs for good, with the container
        // stuck in Created and the engine unable to inspect or remove it, when it must report a
        // missing program whose name is about 65.5 kB or more (docs/reliability.md); Linux runs
        // no program by a name longer than PATH_MAX, so nothing that could run is refused.
        let program =
            if self.command.is_empty() { ("args[0]", self.args.first()) } else { ("command[0]", self.command.first()) };
        if let (field, Some(name)) = program
            && name.len() > PROGRAM_NAME_MAX
        {
            return Err(SpecError::field(
                field,
                format!(
                    "the program's name is {} bytes: Linux runs none longer than {PROGRAM_NAME_MAX} (PATH_MAX), \
                     and runc hangs the engine reporting one",
                    name.len()
                ),
            ));
        }
        for (key, value) in &self.env {
            if key.is_empty() || key.contains('=') || key.contains('\0') {
                return Err(SpecError::field(format!("env.{key}"), "a variable name must be non-empty, without '='"));
            }
            plain(&format!("env.{key}"), value)?;
        }
        if let Some(health) = &self.healthcheck {
            health.validate()?;
        }
        for (field, value) in [
            ("hostname", &self.hostname),
            ("user", &self.user),
            ("workdir", &self.workdir),
            ("stop_signal", &self.stop_signal),
        ] {
            if let Some(value) = value {
                word(field, value)?;
            }
        }
        units::check_duration("stop_grace_period", self.stop_grace_period.as_deref())?;
        if let Some(dns) = &self.dns {
            dns.validate()?;
        }
        validate_hosts(&self.hosts)?;
        if let Some(logging) = &self.logging {
            logging.validate()?;
        }
        validate_ulimits(&self.ulimits)?;
        validate_sysctls(&self.sysctls)?;
        validate_capabilities("cap_add", &self.cap_add)?;
        validate_capabilities("cap_drop", &self.cap_drop)
    }

    fn validate_schedule(&self) -> Result<(), SpecError> {
        one_of("mode", self.mode.as_deref(), &MODES)?;
        one_of("endpoint_mode", self.endpoint_mode.as_deref(), &["vip", "dnsrr"])?;
        if self.endpoint_mode.as_deref() == Some("dnsrr") && self.ports.iter().any(|p| p.mode == "ingress") {
            return Err(SpecError::field(
                "endpoint_mode",
                "dnsrr cannot publish ports through the ingress mesh: publish them in host mode",
            ));
        }
        for (i, c) in self.constraints.iter().enumerate() {
            validate_constraint(i, c)?;
        }
        for (i, p) in self.preferences.iter().enumerate() {
            validate_preference(i, p)?;
        }
        if self.max_per_node == Some(0) {
            return Err(SpecError::field("max_per_node", "0 means no limit: leave it out"));
        }
        if let Some(update) = &self.update {
            update.validate("update")?;
        }
        if let Some(rollback) = &self.rollback {
            rollback.validate("rollback")?;
        }
        if let Some(restart) = &self.restart {
            restart.validate()?;
        }
        if let Some(resources) = &self.resources {
            resources.validate("resources")?;
        }
        if let Some(reservations) = &self.reservations {
            reservations.validate("reservations")?;
        }
        Ok(())
    }

    /// One spelling for everything that has several, and the lowest format version that holds
    /// the body.
    fn normalize(&mut self) -> Result<(), SpecError> {
        if let Some(u) = &mut self.update {
            u.normalize("update")?;
        }
        if let Some(r) = &mut self.rollback {
            r.normalize("rollback")?;
        }
        if let Some(r) = &mut self.restart {
            r.normalize()?;
        }
        if let Some(h) = &mut self.healthcheck {
            h.normalize()?;
        }
        if let Some(r) = &mut self.resources {
            r.normalize("resources")?;
        }
        if let Some(r) = &mut self.reservations {
            r.normalize("reservations")?;
        }
        normalize_duration("stop_grace_period", &mut self.stop_grace_period)?;
        for (i, m) in self.mounts.iter_mut().enumerate() {
            normalize_size(&format!("mounts[{i}].size"), &mut m.size)?;
        }
        self.mounts.sort_by(|a, b| a.target.cmp(&b.target));
        self.networks.sort_by(|a, b| a.name.cmp(&b.name));
        for network in &mut self.networks {
            network.aliases.sort();
            network.aliases.dedup();
        }
        for caps in [&mut self.cap_add, &mut self.cap_drop] {
            *caps = caps.iter().map(|c| capability(c)).collect();
            caps.sort();
        }
        self.v = if self.uses_v2() { FORMAT_VERSION } else { 1 };
        Ok(())
    }
}

#[cfg(test)]
mod tests;
