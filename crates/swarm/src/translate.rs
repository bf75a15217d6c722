//! [`Workload`] to Swarm's `ServiceSpec` and back, as `docker service create` would write it. The
//! way back reads only the fields ledgerops sets, so Swarm's filled-in defaults are no drift.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use bollard::models::{
    EndpointPortConfig, EndpointSpec, HealthConfig, Limit, Service, ServiceSpec, ServiceSpecMode,
    ServiceSpecModeReplicated, ServiceSpecUpdateConfig, TaskSpec, TaskSpecContainerSpec, TaskSpecContainerSpecConfigs,
    TaskSpecContainerSpecFile, TaskSpecContainerSpecFile1, TaskSpecContainerSpecSecrets, TaskSpecPlacement,
    TaskSpecResources,
};
use ledgerops_reconcile::observed::labels;
use ledgerops_reconcile::workload::{FileRef, Healthcheck, PortMapping, UpdatePolicy};
use ledgerops_reconcile::{Observed, Ownership, UpdateState, Workload};

/// Docker object ids of the secrets and configs a workload names, looked up on this node.
#[derive(Debug, Clone, Default)]
pub struct ObjectIds {
    /// Secret name -> id.
    pub secrets: BTreeMap<String, String>,
    /// Config name -> id.
    pub configs: BTreeMap<String, String>,
}

/// A file in the container for a secret or a config (bollard has a type for each, with the same
/// fields), owned by root and readable by all: Swarm's defaults, written out so that what is read
/// back compares equal.
macro_rules! root_file {
    ($file:ident, $target:expr) => {
        $file { name: Some($target), uid: Some("0".into()), gid: Some("0".into()), mode: Some(0o444) }
    };
}

/// Each secret or config reference as Swarm's type, by `make(name, target)`; none when empty.
fn files<T>(refs: &BTreeSet<FileRef>, make: impl Fn(String, String) -> T) -> Option<Vec<T>> {
    (!refs.is_empty()).then(|| refs.iter().map(|f| make(f.name.clone(), f.target.clone())).collect())
}

/// A secret or config as Swarm reports it: its name, and its file in the container (the name
/// when none is given).
fn file_ref(name: Option<String>, target: Option<String>) -> FileRef {
    FileRef { name: name.clone().unwrap_or_default(), target: target.or(name).unwrap_or_default() }
}

/// The Swarm spec for `workload`, named `name`, carrying the ownership labels.
pub fn service_spec(name: &str, owner: &Ownership, workload: &Workload, ids: &ObjectIds) -> ServiceSpec {
    let mut service_labels: HashMap<String, String> = workload.labels.clone().into_iter().collect();
    service_labels.extend(owner.labels());
    let nanos = |d: &Option<Duration>| d.map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX));
    let container = TaskSpecContainerSpec {
        image: Some(workload.image.clone()),
        command: (!workload.command.is_empty()).then(|| workload.command.clone()),
        args: (!workload.args.is_empty()).then(|| workload.args.clone()),
        env: (!workload.env.is_empty()).then(|| workload.env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
        health_check: workload.healthcheck.as_ref().map(|h| HealthConfig {
            test: Some(h.test.clone()),
            interval: nanos(&h.interval),
            timeout: nanos(&h.timeout),
            retries: h.retries.map(i64::from),
            start_period: nanos(&h.start_period),
            start_interval: None,
        }),
        secrets: files(&workload.secrets, |name, target| TaskSpecContainerSpecSecrets {
            file: Some(root_file!(TaskSpecContainerSpecFile, target)),
            secret_id: ids.secrets.get(&name).cloned(),
            secret_name: Some(name),
        }),
        configs: files(&workload.configs, |name, target| TaskSpecContainerSpecConfigs {
            file: Some(root_file!(TaskSpecContainerSpecFile1, target)),
            config_id: ids.configs.get(&name).cloned(),
            config_name: Some(name),
            ..Default::default()
        }),
        ..Default::default()
    };
    let limits = (workload.nano_cpus.is_some() || workload.memory_bytes.is_some()).then_some(Limit {
        nano_cpus: workload.nano_cpus,
        memory_bytes: workload.memory_bytes,
        pids: None,
    });
    let u = &workload.update;
    ServiceSpec {
        name: Some(name.to_owned()),
        labels: Some(service_labels),
        task_template: Some(TaskSpec {
            container_spec: Some(container),
            resources: limits.map(|l| TaskSpecResources { limits: Some(l), ..Default::default() }),
            placement: (!workload.constraints.is_empty()).then(|| TaskSpecPlacement {
                constraints: Some(workload.constraints.iter().cloned().collect()),
                ..Default::default()
            }),
            ..Default::default()
        }),
        mode: Some(ServiceSpecMode {
            replicated: Some(ServiceSpecModeReplicated {
                replicas: Some(i64::try_from(workload.replicas).unwrap_or(i64::MAX)),
            }),
            ..Default::default()
        }),
        update_config: (*u != UpdatePolicy::default()).then(|| ServiceSpecUpdateConfig {
            parallelism: u.parallelism.map(|p| i64::try_from(p).unwrap_or(i64::MAX)),
            delay: nanos(&u.delay),
            failure_action: u.failure_action.as_deref().and_then(|a| a.parse().ok()),
            monitor: nanos(&u.monitor),
            max_failure_ratio: None,
            order: u.order.as_deref().and_then(|o| o.parse().ok()),
        }),
        endpoint_spec: (!workload.ports.is_empty()).then(|| EndpointSpec {
            mode: None,
            ports: Some(
                workload
                    .ports
                    .iter()
                    .map(|p| EndpointPortConfig {
                        name: None,
                        protocol: p.protocol.parse().ok(),
                        target_port: Some(i64::from(p.target)),
                        published_port: p.published.map(i64::from),
                        publish_mode: p.mode.parse().ok(),
                    })
                    .collect(),
            ),
        }),
        ..Default::default()
    }
}

/// The workload a Swarm spec describes, read the way [`service_spec`] writes it.
pub fn workload_of(spec: &ServiceSpec) -> Workload {
    let task = spec.task_template.clone().unwrap_or_default();
    let container = task.container_spec.unwrap_or_default();
    let duration = |nanos: Option<i64>| nanos.and_then(|n| u64::try_from(n).ok()).map(Duration::from_nanos);
    let limits = task.resources.and_then(|r| r.limits).unwrap_or_default();
    let update = spec.update_config.clone().unwrap_or_default();
    let non_empty = |s: Option<String>| s.filter(|s| !s.is_empty());
    Workload {
        image: container.image.unwrap_or_default(),
        replicas: spec
            .mode
            .as_ref()
            .and_then(|m| m.replicated.as_ref())
            .and_then(|r| r.replicas)
            .and_then(|r| u64::try_from(r).ok())
            .unwrap_or(0),
        command: container.command.unwrap_or_default(),
        args: container.args.unwrap_or_default(),
        env: container
            .env
            .unwrap_or_default()
            .iter()
            .map(|kv| kv.split_once('=').map_or((kv.clone(), String::new()), |(k, v)| (k.into(), v.into())))
            .collect(),
        ports: spec
            .endpoint_spec
            .as_ref()
            .and_then(|e| e.ports.clone())
            .unwrap_or_default()
            .into_iter()
            .map(|p| PortMapping {
                target: p.target_port.and_then(|t| u16::try_from(t).ok()).unwrap_or(0),
                published: p.published_port.and_then(|t| u16::try_from(t).ok()).filter(|t| *t != 0),
                protocol: p.protocol.map_or_else(|| "tcp".into(), |x| x.to_string()),
                mode: p.publish_mode.map_or_else(|| "ingress".into(), |x| x.to_string()),
            })
            .collect(),
        secrets: (container.secrets.unwrap_or_default().into_iter())
            .map(|s| file_ref(s.secret_name, s.file.and_then(|f| f.name)))
            .collect(),
        configs: (container.configs.unwrap_or_default().into_iter())
            .map(|c| file_ref(c.config_name, c.file.and_then(|f| f.name)))
            .collect(),
        constraints: task.placement.and_then(|p| p.constraints).unwrap_or_default().into_iter().collect(),
        update: UpdatePolicy {
            parallelism: update.parallelism.and_then(|p| u64::try_from(p).ok()),
            delay: duration(update.delay),
            failure_action: non_empty(update.failure_action.map(|a| a.to_string())),
            monitor: duration(update.monitor),
            order: non_empty(update.order.map(|o| o.to_string())),
        },
        healthcheck: container.health_check.map(|h| Healthcheck {
            test: h.test.unwrap_or_default(),
            interval: duration(h.interval),
            timeout: duration(h.timeout),
            retries: h.retries.and_then(|r| u32::try_from(r).ok()),
            start_period: duration(h.start_period),
        }),
        nano_cpus: limits.nano_cpus.filter(|n| *n != 0),
        memory_bytes: limits.memory_bytes.filter(|n| *n != 0),
        labels: spec
            .labels
            .clone()
            .unwrap_or_default()
            .into_iter()
            .filter(|(k, _)| !k.starts_with("ledgerops."))
            .collect(),
    }
}

/// The ownership labels of a Swarm spec, if it is managed and they are intact.
pub fn ownership_of(spec: &ServiceSpec) -> Option<Ownership> {
    let labels: BTreeMap<String, String> = spec.labels.clone().unwrap_or_default().into_iter().collect();
    (labels.get(labels::MANAGED_BY).map(String::as_str) == Some(labels::MANAGER))
        .then(|| Ownership::from_labels(&labels))
        .flatten()
}

/// A listed Swarm service as the core sees it; `None` for one without an id or a spec.
pub fn observed_of(service: Service) -> Option<Observed> {
    let spec = service.spec?;
    Some(Observed {
        swarm_id: service.id?,
        version: service.version.and_then(|v| v.index).unwrap_or_default(),
        swarm_name: spec.name.clone().unwrap_or_default(),
        owner: ownership_of(&spec),
        workload: workload_of(&spec),
        update_state: service.update_status.and_then(|u| u.state).and_then(update_state),
    })
}

/// Swarm's `UpdateStatus.State` as the core names it; `None` for the empty state.
pub(crate) fn update_state(state: bollard::models::ServiceUpdateStatusStateEnum) -> Option<UpdateState> {
    use bollard::models::ServiceUpdateStatusStateEnum as S;
    Some(match state {
        S::UPDATING => UpdateState::Updating,
        S::PAUSED => UpdateState::Paused,
        S::COMPLETED => UpdateState::Completed,
        S::ROLLBACK_STARTED => UpdateState::RollbackStarted,
        S::ROLLBACK_PAUSED => UpdateState::RollbackPaused,
        S::ROLLBACK_COMPLETED => UpdateState::RollbackCompleted,
        S::EMPTY => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(byte: u8) -> Ownership {
        let hash = format!("0x{}", format!("{byte:02x}").repeat(32));
        Ownership { service: hash.parse().expect("hash"), revision: 3, spec_hash: hash.parse().expect("hash") }
    }

    fn full() -> Workload {
        Workload {
            image: format!("app@sha256:{}", "ab".repeat(32)),
            replicas: 2,
            command: vec!["/bin/busybox".into()],
            args: vec!["httpd".into(), "-f".into()],
            env: [("A".into(), "1".into()), ("EMPTY".into(), String::new())].into(),
            ports: [PortMapping { target: 80, published: Some(8080), protocol: "udp".into(), mode: "host".into() }]
                .into(),
            secrets: [FileRef { name: "tls".into(), target: "tls.pem".into() }].into(),
            configs: [FileRef { name: "cfg".into(), target: "/etc/app.toml".into() }].into(),
            constraints: ["node.labels.tier==edge".into()].into(),
            update: UpdatePolicy {
                parallelism: Some(1),
                delay: Some(Duration::from_secs(10)),
                failure_action: Some("rollback".into()),
                monitor: Some(Duration::from_millis(1500)),
                order: Some("start-first".into()),
            },
            healthcheck: Some(Healthcheck {
                test: vec!["CMD".into(), "true".into()],
                interval: Some(Duration::from_secs(5)),
                timeout: None,
                retries: Some(3),
                start_period: None,
            }),
            nano_cpus: Some(500_000_000),
            memory_bytes: Some(64 << 20),
            labels: [("team".into(), "edge".into())].into(),
        }
    }

    #[test]
    fn a_workload_survives_the_round_trip_through_a_swarm_spec() {
        let owner = id(7);
        let spec = service_spec("shop_web", &owner, &full(), &ObjectIds::default());
        assert_eq!(workload_of(&spec), full());
        assert_eq!(ownership_of(&spec), Some(owner));
        let minimal = Workload { image: "a@sha256:00".into(), replicas: 1, ..Workload::default() };
        assert_eq!(workload_of(&service_spec("x", &owner, &minimal, &ObjectIds::default())), minimal);
    }

    #[test]
    fn unmanaged_or_damaged_labels_have_no_owner() {
        let mut spec = service_spec("shop_web", &id(1), &full(), &ObjectIds::default());
        spec.labels.as_mut().expect("labels").insert(labels::REVISION.into(), "three".into());
        assert_eq!(ownership_of(&spec), None);
        spec.labels = Some([("com.example".to_owned(), "x".to_owned())].into());
        assert_eq!(ownership_of(&spec), None);
    }
}
