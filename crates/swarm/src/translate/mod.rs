//! [`Workload`] to Swarm's `ServiceSpec` and back, as `docker service create` would write it. The
//! way back reads only the fields ledgerops sets, so Swarm's filled-in defaults are no drift. The
//! container's part is in [`container`].

mod container;

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use bollard::models::{
    EndpointPortConfig, EndpointSpec, Limit, NetworkAttachmentConfig, ResourceObject, Service, ServiceSpec,
    ServiceSpecMode, ServiceSpecModeReplicated, ServiceSpecModeReplicatedJob, ServiceSpecRollbackConfig,
    ServiceSpecUpdateConfig, TaskSpec, TaskSpecPlacement, TaskSpecPlacementPreferences, TaskSpecPlacementSpread,
    TaskSpecResources, TaskSpecRestartPolicy,
};
use ledgerops_reconcile::observed::labels;
use ledgerops_reconcile::workload::{
    NetworkAttachment, PortMapping, RestartPolicy, ServiceMode, UpdatePolicy, permille,
};
use ledgerops_reconcile::{Observed, Ownership, UpdateState, Workload};
use ledgerops_registry::{RegistryId, ServiceName};

use self::container::{container_spec, log_driver, read_container, read_log_driver};

/// Docker object ids of the secrets and configs a workload names, looked up on this node.
#[derive(Debug, Clone, Default)]
pub struct ObjectIds {
    /// Secret name -> id.
    pub secrets: BTreeMap<String, String>,
    /// Config name -> id.
    pub configs: BTreeMap<String, String>,
}

/// Network id -> name: Swarm keeps a service's networks by id, the workload by name.
pub type NetworkNames = HashMap<String, String>;

pub(crate) fn nanos(d: Option<Duration>) -> Option<i64> {
    d.map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

pub(crate) fn duration_of(nanos: Option<i64>) -> Option<Duration> {
    nanos.and_then(|n| u64::try_from(n).ok()).map(Duration::from_nanos)
}

pub(crate) fn non_empty(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.is_empty())
}

fn count(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// The Swarm spec for `workload`, named `name` (`<namespace>_<service>`), with the ownership
/// labels of `registry`'s node.
pub fn service_spec(
    name: &str,
    owner: &Ownership,
    workload: &Workload,
    ids: &ObjectIds,
    registry: &RegistryId,
) -> ServiceSpec {
    let w = workload;
    let namespace = ServiceName::from_swarm_name(name).map(|n| n.namespace).unwrap_or_default();
    let mut service_labels: HashMap<String, String> = w.labels.clone().into_iter().collect();
    service_labels.extend(owner.labels());
    service_labels.insert(labels::REGISTRY.into(), registry.to_string());
    if w.pull_credentials {
        service_labels.insert(labels::PULL_CREDENTIALS.into(), "true".into());
    }
    let limits = (w.nano_cpus.is_some() || w.memory_bytes.is_some() || w.pids.is_some()).then_some(Limit {
        nano_cpus: w.nano_cpus,
        memory_bytes: w.memory_bytes,
        pids: w.pids,
    });
    let reservations = (w.reserve_nano_cpus.is_some() || w.reserve_memory_bytes.is_some()).then_some(ResourceObject {
        nano_cpus: w.reserve_nano_cpus,
        memory_bytes: w.reserve_memory_bytes,
        generic_resources: None,
    });
    let placement = !w.constraints.is_empty() || !w.preferences.is_empty() || w.max_per_node.is_some();
    ServiceSpec {
        name: Some(name.to_owned()),
        labels: Some(service_labels),
        task_template: Some(TaskSpec {
            container_spec: Some(container_spec(w, ids, &namespace, registry)),
            resources: (limits.is_some() || reservations.is_some()).then(|| TaskSpecResources {
                limits,
                reservations,
                ..Default::default()
            }),
            restart_policy: (w.restart != RestartPolicy::default()).then(|| TaskSpecRestartPolicy {
                condition: w.restart.condition.as_deref().and_then(|c| c.parse().ok()),
                delay: nanos(w.restart.delay),
                max_attempts: w.restart.max_attempts.map(count),
                window: nanos(w.restart.window),
            }),
            placement: placement.then(|| TaskSpecPlacement {
                constraints: (!w.constraints.is_empty()).then(|| w.constraints.iter().cloned().collect()),
                preferences: (!w.preferences.is_empty()).then(|| {
                    w.preferences
                        .iter()
                        .map(|p| TaskSpecPlacementPreferences {
                            spread: Some(TaskSpecPlacementSpread { spread_descriptor: Some(p.clone()) }),
                        })
                        .collect()
                }),
                max_replicas: w.max_per_node.map(count),
                platforms: None,
            }),
            networks: (!w.networks.is_empty()).then(|| {
                w.networks
                    .iter()
                    .map(|n| NetworkAttachmentConfig {
                        target: Some(n.name.clone()),
                        aliases: (!n.aliases.is_empty()).then(|| n.aliases.iter().cloned().collect()),
                        driver_opts: None,
                    })
                    .collect()
            }),
            log_driver: log_driver(w.logging.as_ref()),
            ..Default::default()
        }),
        mode: Some(mode(w.mode, w.replicas)),
        update_config: (w.update != UpdatePolicy::default()).then(|| ServiceSpecUpdateConfig {
            parallelism: w.update.parallelism.map(count),
            delay: nanos(w.update.delay),
            failure_action: w.update.failure_action.as_deref().and_then(|a| a.parse().ok()),
            monitor: nanos(w.update.monitor),
            max_failure_ratio: w.update.max_failure_permille.map(|p| f64::from(p) / 1000.0),
            order: w.update.order.as_deref().and_then(|o| o.parse().ok()),
        }),
        rollback_config: (w.rollback != UpdatePolicy::default()).then(|| ServiceSpecRollbackConfig {
            parallelism: w.rollback.parallelism.map(count),
            delay: nanos(w.rollback.delay),
            failure_action: w.rollback.failure_action.as_deref().and_then(|a| a.parse().ok()),
            monitor: nanos(w.rollback.monitor),
            max_failure_ratio: w.rollback.max_failure_permille.map(|p| f64::from(p) / 1000.0),
            order: w.rollback.order.as_deref().and_then(|o| o.parse().ok()),
        }),
        endpoint_spec: (!w.ports.is_empty() || w.endpoint_mode.is_some()).then(|| EndpointSpec {
            mode: w.endpoint_mode.as_deref().and_then(|m| m.parse().ok()),
            ports: (!w.ports.is_empty()).then(|| {
                w.ports
                    .iter()
                    .map(|p| EndpointPortConfig {
                        name: None,
                        protocol: p.protocol.parse().ok(),
                        target_port: Some(i64::from(p.target)),
                        published_port: p.published.map(i64::from),
                        publish_mode: p.mode.parse().ok(),
                    })
                    .collect()
            }),
        }),
        ..Default::default()
    }
}

fn mode(mode: ServiceMode, replicas: u64) -> ServiceSpecMode {
    let replicas = count(replicas);
    match mode {
        ServiceMode::Replicated => ServiceSpecMode {
            replicated: Some(ServiceSpecModeReplicated { replicas: Some(replicas) }),
            ..Default::default()
        },
        ServiceMode::Global => ServiceSpecMode { global: Some(HashMap::new()), ..Default::default() },
        ServiceMode::ReplicatedJob => ServiceSpecMode {
            replicated_job: Some(ServiceSpecModeReplicatedJob {
                max_concurrent: Some(replicas.max(1)),
                total_completions: Some(replicas.max(1)),
            }),
            ..Default::default()
        },
        ServiceMode::GlobalJob => ServiceSpecMode { global_job: Some(HashMap::new()), ..Default::default() },
    }
}

/// The workload a Swarm spec describes, read the way [`service_spec`] writes it; `networks`
/// names the networks Swarm keeps by id.
pub fn workload_of(spec: &ServiceSpec, networks: &NetworkNames) -> Workload {
    let task = spec.task_template.clone().unwrap_or_default();
    let resources = task.resources.unwrap_or_default();
    let limits = resources.limits.unwrap_or_default();
    let reservations = resources.reservations.unwrap_or_default();
    let placement = task.placement.unwrap_or_default();
    let restart = task.restart_policy.unwrap_or_default();
    let spec_mode = spec.mode.clone().unwrap_or_default();
    let (mode, replicas) = match (&spec_mode.global, &spec_mode.replicated_job, &spec_mode.global_job) {
        (Some(_), _, _) => (ServiceMode::Global, 0),
        (_, Some(job), _) => (ServiceMode::ReplicatedJob, job.total_completions.unwrap_or(1)),
        (_, _, Some(_)) => (ServiceMode::GlobalJob, 0),
        _ => (ServiceMode::Replicated, spec_mode.replicated.and_then(|r| r.replicas).unwrap_or(0)),
    };
    let update = spec.update_config.clone().unwrap_or_default();
    let rollback = spec.rollback_config.clone().unwrap_or_default();
    let endpoint = spec.endpoint_spec.clone().unwrap_or_default();
    let mut w = Workload {
        mode,
        replicas: u64::try_from(replicas).unwrap_or(0),
        ports: endpoint
            .ports
            .unwrap_or_default()
            .into_iter()
            .map(|p| PortMapping {
                target: p.target_port.and_then(|t| u16::try_from(t).ok()).unwrap_or(0),
                published: p.published_port.and_then(|t| u16::try_from(t).ok()).filter(|t| *t != 0),
                protocol: p.protocol.map_or_else(|| "tcp".into(), |x| x.to_string()),
                mode: p.publish_mode.map_or_else(|| "ingress".into(), |x| x.to_string()),
            })
            .collect(),
        endpoint_mode: non_empty(endpoint.mode.map(|m| m.to_string())),
        networks: task
            .networks
            .unwrap_or_default()
            .into_iter()
            .map(|n| {
                let target = n.target.unwrap_or_default();
                NetworkAttachment {
                    name: networks.get(&target).cloned().unwrap_or(target),
                    aliases: n.aliases.unwrap_or_default().into_iter().collect(),
                }
            })
            .collect(),
        constraints: placement.constraints.unwrap_or_default().into_iter().collect(),
        preferences: placement
            .preferences
            .unwrap_or_default()
            .into_iter()
            .filter_map(|p| p.spread?.spread_descriptor)
            .collect(),
        max_per_node: placement.max_replicas.and_then(|m| u64::try_from(m).ok()).filter(|m| *m != 0),
        update: UpdatePolicy {
            parallelism: update.parallelism.and_then(|p| u64::try_from(p).ok()),
            delay: duration_of(update.delay),
            failure_action: non_empty(update.failure_action.map(|a| a.to_string())),
            monitor: duration_of(update.monitor),
            order: non_empty(update.order.map(|o| o.to_string())),
            max_failure_permille: update.max_failure_ratio.map(permille),
        },
        rollback: UpdatePolicy {
            parallelism: rollback.parallelism.and_then(|p| u64::try_from(p).ok()),
            delay: duration_of(rollback.delay),
            failure_action: non_empty(rollback.failure_action.map(|a| a.to_string())),
            monitor: duration_of(rollback.monitor),
            order: non_empty(rollback.order.map(|o| o.to_string())),
            max_failure_permille: rollback.max_failure_ratio.map(permille),
        },
        restart: RestartPolicy {
            condition: non_empty(restart.condition.map(|c| c.to_string())),
            delay: duration_of(restart.delay),
            max_attempts: restart.max_attempts.and_then(|m| u64::try_from(m).ok()),
            window: duration_of(restart.window),
        },
        nano_cpus: limits.nano_cpus.filter(|n| *n != 0),
        memory_bytes: limits.memory_bytes.filter(|n| *n != 0),
        pids: limits.pids.filter(|n| *n != 0),
        reserve_nano_cpus: reservations.nano_cpus.filter(|n| *n != 0),
        reserve_memory_bytes: reservations.memory_bytes.filter(|n| *n != 0),
        labels: spec
            .labels
            .clone()
            .unwrap_or_default()
            .into_iter()
            .filter(|(k, _)| !k.starts_with("ledgerops."))
            .collect(),
        pull_credentials: spec
            .labels
            .as_ref()
            .and_then(|l| l.get(labels::PULL_CREDENTIALS))
            .is_some_and(|v| v == "true"),
        logging: read_log_driver(task.log_driver),
        ..Workload::default()
    };
    read_container(task.container_spec.unwrap_or_default(), &mut w);
    w
}

/// The ownership labels of a Swarm spec, if it is managed and they are intact.
pub fn ownership_of(spec: &ServiceSpec) -> Option<Ownership> {
    let labels: BTreeMap<String, String> = spec.labels.clone().unwrap_or_default().into_iter().collect();
    (labels.get(labels::MANAGED_BY).map(String::as_str) == Some(labels::MANAGER))
        .then(|| Ownership::from_labels(&labels))
        .flatten()
}

/// A listed Swarm service as the core sees it; `None` for one without an id or a spec.
pub fn observed_of(service: Service, networks: &NetworkNames) -> Option<Observed> {
    let spec = service.spec?;
    Some(Observed {
        swarm_id: service.id?,
        version: service.version.and_then(|v| v.index).unwrap_or_default(),
        swarm_name: spec.name.clone().unwrap_or_default(),
        owner: ownership_of(&spec),
        workload: workload_of(&spec, networks),
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
    use ledgerops_reconcile::workload::{DnsConfig, FileRef, Healthcheck, LogDriver, MountSpec};

    use super::*;

    fn registry() -> RegistryId {
        "31337/0x5fbdb2315678afecb367f032d93f642f64180aa3".parse().expect("a registry")
    }

    fn id(byte: u8) -> Ownership {
        let hash = format!("0x{}", format!("{byte:02x}").repeat(32));
        Ownership { service: hash.parse().expect("hash"), revision: 3, spec_hash: hash.parse().expect("hash") }
    }

    fn full() -> Workload {
        Workload {
            image: format!("app@sha256:{}", "ab".repeat(32)),
            pull_credentials: true,
            replicas: 2,
            command: vec!["/bin/busybox".into()],
            args: vec!["httpd".into(), "-f".into()],
            env: [("A".into(), "1".into()), ("EMPTY".into(), String::new())].into(),
            ports: [PortMapping { target: 80, published: Some(8080), protocol: "udp".into(), mode: "host".into() }]
                .into(),
            endpoint_mode: Some("dnsrr".into()),
            secrets: [FileRef {
                name: "shop_tls".into(),
                target: "tls.pem".into(),
                mode: Some(0o400),
                ..FileRef::default()
            }]
            .into(),
            configs: [FileRef { name: "shop_cfg".into(), target: "/etc/app.toml".into(), ..FileRef::default() }].into(),
            networks: [NetworkAttachment { name: "shop_back".into(), aliases: ["db".into()].into() }].into(),
            mounts: [MountSpec {
                kind: "volume".into(),
                source: Some("shop_data".into()),
                target: "/data".into(),
                nocopy: true,
                ..MountSpec::default()
            }]
            .into(),
            constraints: ["node.labels.tier==edge".into()].into(),
            preferences: vec!["node.labels.zone".into()],
            max_per_node: Some(1),
            update: UpdatePolicy {
                parallelism: Some(1),
                delay: Some(Duration::from_secs(10)),
                failure_action: Some("rollback".into()),
                monitor: Some(Duration::from_millis(1500)),
                order: Some("start-first".into()),
                max_failure_permille: Some(250),
            },
            rollback: UpdatePolicy { parallelism: Some(2), ..UpdatePolicy::default() },
            restart: RestartPolicy {
                condition: Some("on-failure".into()),
                max_attempts: Some(3),
                ..RestartPolicy::default()
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
            pids: Some(100),
            reserve_memory_bytes: Some(16 << 20),
            labels: [("team".into(), "edge".into())].into(),
            container_labels: [("tier".into(), "edge".into())].into(),
            hostname: Some("web".into()),
            user: Some("1000".into()),
            stop_grace_period: Some(Duration::from_secs(3)),
            init: Some(true),
            read_only: true,
            dns: Some(DnsConfig { servers: vec!["10.0.0.53".into()], ..DnsConfig::default() }),
            hosts: [("db.example".into(), "10.0.0.5".into())].into(),
            logging: Some(LogDriver { name: "json-file".into(), options: [("max-size".into(), "1m".into())].into() }),
            ulimits: [("nofile".into(), (1024, 2048))].into(),
            cap_drop: ["CAP_MKNOD".into()].into(),
            ..Workload::default()
        }
    }

    #[test]
    fn a_workload_survives_the_round_trip_through_a_swarm_spec() {
        let owner = id(7);
        let mut spec = service_spec("shop_web", &owner, &full(), &ObjectIds::default(), &registry());
        // Swarm answers with the network's id; the node looks the name up.
        let networks = spec.task_template.as_mut().and_then(|t| t.networks.as_mut()).expect("networks");
        networks[0].target = Some("n1d".into());
        let names: NetworkNames = [("n1d".to_owned(), "shop_back".to_owned())].into();
        assert_eq!(workload_of(&spec, &names), full());
        assert_eq!(ownership_of(&spec), Some(owner));
        let minimal = Workload { image: "a@sha256:00".into(), replicas: 1, ..Workload::default() };
        let spec = service_spec("x", &id(1), &minimal, &ObjectIds::default(), &registry());
        assert_eq!(workload_of(&spec, &NetworkNames::default()), minimal);
    }

    #[test]
    fn every_mode_reads_back_with_its_count() {
        for (mode, replicas) in [
            (ServiceMode::Global, 0),
            (ServiceMode::ReplicatedJob, 4),
            (ServiceMode::GlobalJob, 0),
            (ServiceMode::Replicated, 0),
        ] {
            let w = Workload { image: "a@sha256:00".into(), mode, replicas, ..Workload::default() };
            let spec = service_spec("shop_job", &id(2), &w, &ObjectIds::default(), &registry());
            assert_eq!(workload_of(&spec, &NetworkNames::default()), w, "{mode:?}");
        }
    }

    #[test]
    fn unmanaged_or_damaged_labels_have_no_owner() {
        let mut spec = service_spec("shop_web", &id(1), &full(), &ObjectIds::default(), &registry());
        spec.labels.as_mut().expect("labels").insert(labels::REVISION.into(), "three".into());
        assert_eq!(ownership_of(&spec), None);
        spec.labels = Some([("com.example".to_owned(), "x".to_owned())].into());
        assert_eq!(ownership_of(&spec), None);
    }
}
