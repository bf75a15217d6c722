//! A service as the diff sees it: only what ledgerops sets, in a form where equal means "the same
//! to Swarm" (Docker names resolved, sets where order does not matter, durations and sizes as
//! numbers). The node builds one from the spec on chain and one from the Swarm service it
//! observes, and compares the two.

mod parts;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use ledgerops_registry::{ServiceName, content_config_name, namespace_owns, stack_object_name};
use ledgerops_spec::{Spec, SpecError, capability, cpu_nanos, failure_ratio, memory_bytes, parse_duration};

pub use self::parts::{
    DnsConfig, FileRef, Healthcheck, LogDriver, MountSpec, NetworkAttachment, PortMapping, RestartPolicy, ServiceMode,
    UpdatePolicy,
};

/// What a service runs and how.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Workload {
    /// `repo@sha256:...`
    pub image: String,
    /// The node sends its credentials for the image's registry with the service: the namespace's
    /// policy lists that registry. Read back from the service's `ledgerops.pull-credentials`
    /// label: a policy that starts listing the registry sends the service again, with them.
    pub pull_credentials: bool,
    /// How Swarm runs the tasks.
    pub mode: ServiceMode,
    /// Desired task count (replicated), or completions (replicated job); 0 when global.
    pub replicas: u64,
    /// Entrypoint override (empty: the image's).
    pub command: Vec<String>,
    /// Arguments (empty: the image's).
    pub args: Vec<String>,
    /// Environment variables.
    pub env: BTreeMap<String, String>,
    /// Published ports.
    pub ports: BTreeSet<PortMapping>,
    /// `vip` or `dnsrr`; `None` is Swarm's default and is not compared.
    pub endpoint_mode: Option<String>,
    /// Secrets by name, and the file in the container.
    pub secrets: BTreeSet<FileRef>,
    /// Configs by Docker name, and the file in the container.
    pub configs: BTreeSet<FileRef>,
    /// Networks joined.
    pub networks: BTreeSet<NetworkAttachment>,
    /// Volumes, host paths and tmpfs.
    pub mounts: BTreeSet<MountSpec>,
    /// Swarm placement constraints.
    pub constraints: BTreeSet<String>,
    /// Spread preferences, in order.
    pub preferences: Vec<String>,
    /// Most tasks per node.
    pub max_per_node: Option<u64>,
    /// Update policy.
    pub update: UpdatePolicy,
    /// Rollback policy.
    pub rollback: UpdatePolicy,
    /// Restart policy.
    pub restart: RestartPolicy,
    /// The healthcheck override. An observed `None` means "not known": bollard 0.21 reads the
    /// engine's `Healthcheck` key under the name `HealthCheck` and so never sees it; the diff then
    /// does not compare it (a new revision still applies it, through the spec-hash label).
    pub healthcheck: Option<Healthcheck>,
    /// CPU limit in NanoCPUs.
    pub nano_cpus: Option<i64>,
    /// Memory limit in bytes.
    pub memory_bytes: Option<i64>,
    /// Process limit.
    pub pids: Option<i64>,
    /// CPU reservation in NanoCPUs.
    pub reserve_nano_cpus: Option<i64>,
    /// Memory reservation in bytes.
    pub reserve_memory_bytes: Option<i64>,
    /// The spec's own service labels (not the node's `ledgerops.*` ownership labels).
    pub labels: BTreeMap<String, String>,
    /// Labels on the containers.
    pub container_labels: BTreeMap<String, String>,
    /// Host name of the containers.
    pub hostname: Option<String>,
    /// User of the process.
    pub user: Option<String>,
    /// Working directory.
    pub workdir: Option<String>,
    /// Stop signal; `None` is the image's and is not compared.
    pub stop_signal: Option<String>,
    /// Grace period before kill; `None` is Swarm's default and is not compared.
    pub stop_grace_period: Option<Duration>,
    /// Run an init process.
    pub init: Option<bool>,
    /// Read-only root filesystem.
    pub read_only: bool,
    /// DNS settings.
    pub dns: Option<DnsConfig>,
    /// Extra hosts: name -> address.
    pub hosts: BTreeMap<String, String>,
    /// Logging driver.
    pub logging: Option<LogDriver>,
    /// Ulimits: name -> (soft, hard).
    pub ulimits: BTreeMap<String, (i64, i64)>,
    /// Kernel parameters.
    pub sysctls: BTreeMap<String, String>,
    /// Capabilities added, as `CAP_...`.
    pub cap_add: BTreeSet<String>,
    /// Capabilities dropped, as `CAP_...`.
    pub cap_drop: BTreeSet<String>,
}

impl Workload {
    /// The workload a (validated) spec of `service` asks for: its namespace's own networks,
    /// volumes and configs take the Docker names its node gives them, and on each of its
    /// namespace's networks the service also answers to its short name (`db`, not only
    /// `shop_db`), as with `docker stack deploy`, which is what a stack's services call each
    /// other by. On a network named outside the namespace (an external one, which other
    /// namespaces may join) it answers only to its Swarm name: there `db` could be another
    /// namespace's service, and taking its name would take its traffic.
    pub fn from_spec(spec: &Spec, service: &ServiceName) -> Result<Self, SpecError> {
        spec.validate()?;
        let namespace = service.namespace.as_str();
        let body = &spec.body;
        let duration =
            |field: &str, text: &Option<String>| text.as_deref().map(|t| parse_duration(field, t)).transpose();
        let files = |mounts: &[ledgerops_spec::Mount]| {
            mounts
                .iter()
                .map(|m| FileRef {
                    name: match &m.content {
                        Some(content) => content_config_name(namespace, &m.name, content),
                        None => m.name.clone(),
                    },
                    target: m.target.clone().unwrap_or_else(|| m.name.clone()),
                    uid: m.uid.clone(),
                    gid: m.gid.clone(),
                    mode: m.mode,
                })
                .collect()
        };
        let policy = |field: &str, p: &Option<ledgerops_spec::UpdatePolicy>| -> Result<UpdatePolicy, SpecError> {
            let Some(p) = p else { return Ok(UpdatePolicy::default()) };
            Ok(UpdatePolicy {
                parallelism: p.parallelism,
                delay: duration(&format!("{field}.delay"), &p.delay)?,
                failure_action: p.failure_action.clone(),
                monitor: duration(&format!("{field}.monitor"), &p.monitor)?,
                order: p.order.clone(),
                max_failure_permille: p
                    .max_failure_ratio
                    .as_deref()
                    .map(|r| failure_ratio(&format!("{field}.max_failure_ratio"), r).map(permille))
                    .transpose()?,
            })
        };
        let healthcheck = match &body.healthcheck {
            None => None,
            Some(h) => Some(Healthcheck {
                test: h.test.clone(),
                interval: duration("healthcheck.interval", &h.interval)?,
                timeout: duration("healthcheck.timeout", &h.timeout)?,
                retries: h.retries,
                start_period: duration("healthcheck.start_period", &h.start_period)?,
            }),
        };
        let restart = match &body.restart {
            None => RestartPolicy::default(),
            Some(r) => RestartPolicy {
                condition: r.condition.clone(),
                delay: duration("restart.delay", &r.delay)?,
                max_attempts: r.max_attempts,
                window: duration("restart.window", &r.window)?,
            },
        };
        let limits = body.resources.clone().unwrap_or_default();
        let reservations = body.reservations.clone().unwrap_or_default();
        let networks = body
            .networks
            .iter()
            .map(|n| {
                let name = match (&n.docker_name, n.external) {
                    (_, true) => n.name.clone(),
                    (Some(own), false) => own.clone(),
                    (None, false) => stack_object_name(namespace, &n.name),
                };
                let short = namespace_owns(namespace, &name).then(|| service.name.clone());
                NetworkAttachment { aliases: n.aliases.iter().cloned().chain(short).collect(), name }
            })
            .collect();
        let mounts = body.mounts.iter().map(|m| mount_of(m, namespace)).collect::<Result<_, SpecError>>()?;
        Ok(Self {
            image: spec.image.clone(),
            pull_credentials: false,
            mode: ServiceMode::from_word(body.mode.as_deref()),
            replicas: u64::from(spec.replicas),
            command: body.command.clone(),
            args: body.args.clone(),
            env: body.env.clone(),
            ports: body
                .ports
                .iter()
                .map(|p| PortMapping {
                    target: p.target,
                    published: p.published,
                    protocol: p.protocol.clone(),
                    mode: p.mode.clone(),
                })
                .collect(),
            endpoint_mode: body.endpoint_mode.clone(),
            secrets: files(&body.secrets),
            configs: files(&body.configs),
            networks,
            mounts,
            constraints: body.constraints.iter().cloned().collect(),
            preferences: body.preferences.clone(),
            max_per_node: body.max_per_node,
            update: policy("update", &body.update)?,
            rollback: policy("rollback", &body.rollback)?,
            restart,
            healthcheck,
            nano_cpus: limits.cpus.as_deref().map(cpu_nanos).transpose()?,
            memory_bytes: limits.memory.as_deref().map(memory_bytes).transpose()?,
            pids: limits.pids.map(|p| i64::try_from(p).unwrap_or(i64::MAX)),
            reserve_nano_cpus: reservations.cpus.as_deref().map(cpu_nanos).transpose()?,
            reserve_memory_bytes: reservations.memory.as_deref().map(memory_bytes).transpose()?,
            labels: body.labels.clone(),
            container_labels: body.container_labels.clone(),
            hostname: body.hostname.clone(),
            user: body.user.clone(),
            workdir: body.workdir.clone(),
            stop_signal: body.stop_signal.clone(),
            stop_grace_period: duration("stop_grace_period", &body.stop_grace_period)?,
            init: body.init,
            read_only: body.read_only,
            dns: body.dns.as_ref().map(|d| DnsConfig {
                servers: d.servers.clone(),
                search: d.search.clone(),
                options: d.options.clone(),
            }),
            hosts: body.hosts.clone(),
            logging: body
                .logging
                .as_ref()
                .map(|l| LogDriver { name: l.driver.clone().unwrap_or_default(), options: l.options.clone() }),
            ulimits: body.ulimits.iter().map(|(k, u)| (k.clone(), (u.soft, u.hard))).collect(),
            sysctls: body.sysctls.clone(),
            cap_add: body.cap_add.iter().map(|c| capability(c)).collect(),
            cap_drop: body.cap_drop.iter().map(|c| capability(c)).collect(),
        })
    }

    /// The fields where `observed` differs from `self` (the desired workload). Fields the spec
    /// leaves to Swarm's defaults (policies, endpoint mode, stop settings) are not compared.
    pub fn differences(&self, observed: &Self) -> Vec<&'static str> {
        let set = |desired: bool, same: bool| desired && !same;
        let mut out: Vec<&'static str> = [
            ("image", self.image != observed.image),
            ("pull_credentials", self.pull_credentials != observed.pull_credentials),
            ("mode", self.mode != observed.mode),
            // A global service's task count is Swarm's, one per node.
            ("replicas", !self.mode.is_global() && self.replicas != observed.replicas),
            ("command", self.command != observed.command),
            ("args", self.args != observed.args),
            ("env", self.env != observed.env),
            ("ports", self.ports != observed.ports),
            ("endpoint_mode", set(self.endpoint_mode.is_some(), self.endpoint_mode == observed.endpoint_mode)),
            ("secrets", self.secrets != observed.secrets),
            ("configs", self.configs != observed.configs),
            ("networks", self.networks != observed.networks),
            ("mounts", self.mounts != observed.mounts),
            ("constraints", self.constraints != observed.constraints),
            ("preferences", self.preferences != observed.preferences),
            ("max_per_node", self.max_per_node != observed.max_per_node),
        ]
        .into_iter()
        .filter_map(|(field, differs)| differs.then_some(field))
        .collect();
        out.extend(policy_differences("update", &self.update, &observed.update));
        out.extend(policy_differences("rollback", &self.rollback, &observed.rollback));
        let (r, o) = (&self.restart, &observed.restart);
        out.extend(
            [
                ("restart.condition", set(r.condition.is_some(), r.condition == o.condition)),
                ("restart.delay", set(r.delay.is_some(), r.delay == o.delay)),
                ("restart.max_attempts", set(r.max_attempts.is_some(), r.max_attempts == o.max_attempts)),
                ("restart.window", set(r.window.is_some(), r.window == o.window)),
                ("healthcheck", observed.healthcheck.is_some() && self.healthcheck != observed.healthcheck),
                ("resources.cpus", self.nano_cpus != observed.nano_cpus),
                ("resources.memory", self.memory_bytes != observed.memory_bytes),
                ("resources.pids", self.pids != observed.pids),
                ("reservations.cpus", self.reserve_nano_cpus != observed.reserve_nano_cpus),
                ("reservations.memory", self.reserve_memory_bytes != observed.reserve_memory_bytes),
                ("labels", self.labels != observed.labels),
                ("container_labels", self.container_labels != observed.container_labels),
                ("hostname", self.hostname != observed.hostname),
                ("user", self.user != observed.user),
                ("workdir", self.workdir != observed.workdir),
                ("stop_signal", set(self.stop_signal.is_some(), self.stop_signal == observed.stop_signal)),
                (
                    "stop_grace_period",
                    set(self.stop_grace_period.is_some(), self.stop_grace_period == observed.stop_grace_period),
                ),
                ("init", self.init.unwrap_or(false) != observed.init.unwrap_or(false)),
                ("read_only", self.read_only != observed.read_only),
                ("dns", self.dns != observed.dns),
                ("hosts", self.hosts != observed.hosts),
                ("logging", self.logging != observed.logging),
                ("ulimits", self.ulimits != observed.ulimits),
                ("sysctls", self.sysctls != observed.sysctls),
                ("cap_add", self.cap_add != observed.cap_add),
                ("cap_drop", self.cap_drop != observed.cap_drop),
            ]
            .into_iter()
            .filter_map(|(field, differs)| differs.then_some(field)),
        );
        out
    }
}

/// The fields of an update or rollback policy (`field`) the spec sets and Swarm differs in.
fn policy_differences(field: &'static str, desired: &UpdatePolicy, observed: &UpdatePolicy) -> Vec<&'static str> {
    let names: [&'static str; 6] = if field == "update" {
        [
            "update.parallelism",
            "update.delay",
            "update.failure_action",
            "update.monitor",
            "update.order",
            "update.max_failure_ratio",
        ]
    } else {
        [
            "rollback.parallelism",
            "rollback.delay",
            "rollback.failure_action",
            "rollback.monitor",
            "rollback.order",
            "rollback.max_failure_ratio",
        ]
    };
    let (d, o) = (desired, observed);
    [
        d.parallelism.is_some() && d.parallelism != o.parallelism,
        d.delay.is_some() && d.delay != o.delay,
        d.failure_action.is_some() && d.failure_action != o.failure_action,
        d.monitor.is_some() && d.monitor != o.monitor,
        d.order.is_some() && d.order != o.order,
        d.max_failure_permille.is_some() && d.max_failure_permille != o.max_failure_permille,
    ]
    .into_iter()
    .zip(names)
    .filter_map(|(differs, name)| differs.then_some(name))
    .collect()
}

/// A ratio in thousandths, as compared (Swarm keeps a 32-bit float).
pub fn permille(ratio: f64) -> u32 {
    // Between 0 and 1 (checked by the spec), so the product fits.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let n = (ratio * 1000.0).round() as u32;
    n
}

/// A spec mount with its Docker source: the namespace's own volume is `<namespace>_<source>`.
fn mount_of(m: &ledgerops_spec::VolumeMount, namespace: &str) -> Result<MountSpec, SpecError> {
    let source = match (m.kind.as_str(), &m.source, &m.docker_name) {
        ("volume", Some(_), Some(own)) => Some(own.clone()),
        ("volume", Some(source), None) if !m.external => Some(stack_object_name(namespace, source)),
        (_, source, _) => source.clone(),
    };
    Ok(MountSpec {
        kind: m.kind.clone(),
        source,
        target: m.target.clone(),
        read_only: m.read_only,
        nocopy: m.nocopy,
        driver: m.driver.clone().filter(|d| d != "local"),
        driver_opts: m.driver_opts.clone(),
        labels: m.labels.clone(),
        propagation: m.propagation.clone(),
        tmpfs_size: m.size.as_deref().map(memory_bytes).transpose()?,
        tmpfs_mode: m.tmpfs_mode,
    })
}

#[cfg(test)]
mod tests;
