//! A service as the diff sees it: only what ledgerops sets, in a form where equal means "the same
//! to Swarm" (sets where order does not matter, durations and sizes as numbers). The node builds one
//! from the spec on chain and one from the Swarm service it observes, and compares the two.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use ledgerops_spec::{Spec, SpecError, cpu_nanos, memory_bytes, parse_duration};

/// What a service runs and how.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Workload {
    /// `repo@sha256:...`
    pub image: String,
    /// Desired task count.
    pub replicas: u64,
    /// Entrypoint override (empty: the image's).
    pub command: Vec<String>,
    /// Arguments (empty: the image's).
    pub args: Vec<String>,
    /// Environment variables.
    pub env: BTreeMap<String, String>,
    /// Published ports.
    pub ports: BTreeSet<PortMapping>,
    /// Secrets by name, and the file name in the container.
    pub secrets: BTreeSet<FileRef>,
    /// Configs by name, and the file name in the container.
    pub configs: BTreeSet<FileRef>,
    /// Swarm placement constraints.
    pub constraints: BTreeSet<String>,
    /// Update policy; `None` fields are Swarm's defaults and are not compared.
    pub update: UpdatePolicy,
    /// The healthcheck override. An observed `None` means "not known": bollard 0.21 reads the
    /// engine's `Healthcheck` key under the name `HealthCheck` and so never sees it; the diff then
    /// does not compare it (a new revision still applies it, through the spec-hash label).
    pub healthcheck: Option<Healthcheck>,
    /// CPU limit in NanoCPUs.
    pub nano_cpus: Option<i64>,
    /// Memory limit in bytes.
    pub memory_bytes: Option<i64>,
    /// The spec's own service labels (not the node's `ledgerops.*` ownership labels).
    pub labels: BTreeMap<String, String>,
}

/// A published port.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct PortMapping {
    /// Port in the container.
    pub target: u16,
    /// Port on the node or ingress; `None` lets Swarm choose.
    pub published: Option<u16>,
    /// `tcp`, `udp` or `sctp`.
    pub protocol: String,
    /// `ingress` or `host`.
    pub mode: String,
}

/// A secret or config reference.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct FileRef {
    /// The Docker object's name.
    pub name: String,
    /// The file name in the container.
    pub target: String,
}

/// The update policy fields the spec may set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UpdatePolicy {
    /// Tasks updated at once.
    pub parallelism: Option<u64>,
    /// Pause between batches.
    pub delay: Option<Duration>,
    /// `pause`, `continue` or `rollback`.
    pub failure_action: Option<String>,
    /// How long a new task is watched.
    pub monitor: Option<Duration>,
    /// `stop-first` or `start-first`.
    pub order: Option<String>,
}

/// The healthcheck override.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Healthcheck {
    /// `["CMD", ...]`, `["CMD-SHELL", cmd]` or `["NONE"]`.
    pub test: Vec<String>,
    /// Time between checks.
    pub interval: Option<Duration>,
    /// Time one check may take.
    pub timeout: Option<Duration>,
    /// Failures in a row that make the task unhealthy.
    pub retries: Option<u32>,
    /// Grace period after start.
    pub start_period: Option<Duration>,
}

impl Workload {
    /// The workload a (validated) spec asks for.
    pub fn from_spec(spec: &Spec) -> Result<Self, SpecError> {
        spec.validate()?;
        let body = &spec.body;
        let duration =
            |field: &str, text: &Option<String>| text.as_deref().map(|t| parse_duration(field, t)).transpose();
        let files = |mounts: &[ledgerops_spec::Mount]| {
            mounts
                .iter()
                .map(|m| FileRef { name: m.name.clone(), target: m.target.clone().unwrap_or_else(|| m.name.clone()) })
                .collect()
        };
        let update = match &body.update {
            None => UpdatePolicy::default(),
            Some(u) => UpdatePolicy {
                parallelism: u.parallelism,
                delay: duration("update.delay", &u.delay)?,
                failure_action: u.failure_action.clone(),
                monitor: duration("update.monitor", &u.monitor)?,
                order: u.order.clone(),
            },
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
        let resources = body.resources.clone().unwrap_or_default();
        Ok(Self {
            image: spec.image.clone(),
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
            secrets: files(&body.secrets),
            configs: files(&body.configs),
            constraints: body.constraints.iter().cloned().collect(),
            update,
            healthcheck,
            nano_cpus: resources.cpus.as_deref().map(cpu_nanos).transpose()?,
            memory_bytes: resources.memory.as_deref().map(memory_bytes).transpose()?,
            labels: body.labels.clone(),
        })
    }

    /// The fields where `observed` differs from `self` (the desired workload). Update-policy
    /// fields the spec leaves to Swarm's defaults are not compared.
    pub fn differences(&self, observed: &Self) -> Vec<&'static str> {
        let u = (&self.update, &observed.update);
        let set_and_differs = |desired: bool, same: bool| desired && !same;
        [
            ("image", self.image != observed.image),
            ("replicas", self.replicas != observed.replicas),
            ("command", self.command != observed.command),
            ("args", self.args != observed.args),
            ("env", self.env != observed.env),
            ("ports", self.ports != observed.ports),
            ("secrets", self.secrets != observed.secrets),
            ("configs", self.configs != observed.configs),
            ("constraints", self.constraints != observed.constraints),
            ("update.parallelism", set_and_differs(u.0.parallelism.is_some(), u.0.parallelism == u.1.parallelism)),
            ("update.delay", set_and_differs(u.0.delay.is_some(), u.0.delay == u.1.delay)),
            (
                "update.failure_action",
                set_and_differs(u.0.failure_action.is_some(), u.0.failure_action == u.1.failure_action),
            ),
            ("update.monitor", set_and_differs(u.0.monitor.is_some(), u.0.monitor == u.1.monitor)),
            ("update.order", set_and_differs(u.0.order.is_some(), u.0.order == u.1.order)),
            ("healthcheck", observed.healthcheck.is_some() && self.healthcheck != observed.healthcheck),
            ("resources.cpus", self.nano_cpus != observed.nano_cpus),
            ("resources.memory", self.memory_bytes != observed.memory_bytes),
            ("labels", self.labels != observed.labels),
        ]
        .into_iter()
        .filter_map(|(field, differs)| differs.then_some(field))
        .collect()
    }
}

#[cfg(test)]
mod tests {
    use ledgerops_spec::{Port, Resources, SpecBody, UpdatePolicy as SpecUpdate};

    use super::*;

    fn spec() -> Spec {
        let mut body = SpecBody::new();
        body.env.insert("MODE".into(), "prod".into());
        body.ports.push(Port { target: 80, published: Some(8080), protocol: "tcp".into(), mode: "ingress".into() });
        body.update = Some(SpecUpdate { delay: Some("10s".into()), ..SpecUpdate::default() });
        body.resources = Some(Resources { cpus: Some("0.5".into()), memory: Some("64M".into()) });
        Spec { image: format!("app@sha256:{}", "ab".repeat(32)), replicas: 2, sites: Default::default(), body }
    }

    #[test]
    fn a_spec_becomes_numbers_and_sets() {
        let w = Workload::from_spec(&spec()).expect("valid");
        assert_eq!((w.replicas, w.nano_cpus, w.memory_bytes), (2, Some(500_000_000), Some(64 << 20)));
        assert_eq!(w.update.delay, Some(Duration::from_secs(10)));
        assert_eq!(w.ports.first().map(|p| (p.target, p.published)), Some((80, Some(8080))));
    }

    #[test]
    fn differences_name_fields_and_ignore_swarm_defaults_the_spec_leaves_alone() {
        let desired = Workload::from_spec(&spec()).expect("valid");
        let mut observed = desired.clone();
        assert!(desired.differences(&observed).is_empty());
        observed.update.parallelism = Some(1); // Swarm's default, not set by the spec
        observed.update.failure_action = Some("pause".into());
        assert!(desired.differences(&observed).is_empty());
        observed.replicas = 5;
        observed.update.delay = Some(Duration::from_secs(1));
        observed.env.insert("EXTRA".into(), "1".into());
        assert_eq!(desired.differences(&observed), ["replicas", "env", "update.delay"]);
    }
}
