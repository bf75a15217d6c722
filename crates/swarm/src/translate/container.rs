//! The container part of a Swarm service spec, to and from a [`Workload`]: the process, its files
//! (secrets, configs), mounts, name resolution, logging and limits.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use bollard::models::{
    HealthConfig, Mount, MountBindOptions, MountTmpfsOptions, MountVolumeOptions, MountVolumeOptionsDriverConfig,
    ResourcesUlimits, TaskSpecContainerSpec, TaskSpecContainerSpecConfigs, TaskSpecContainerSpecDnsConfig,
    TaskSpecContainerSpecFile, TaskSpecContainerSpecFile1, TaskSpecContainerSpecSecrets, TaskSpecLogDriver,
};
use ledgerops_reconcile::Workload;
use ledgerops_reconcile::workload::{DnsConfig, FileRef, Healthcheck, LogDriver, MountSpec};
use ledgerops_registry::RegistryId;

use super::{ObjectIds, duration_of, nanos, non_empty};

/// A file in the container for a secret or a config (bollard has a type for each, with the same
/// fields). Swarm's defaults (root, 0444) are written out when the spec sets none, so that what
/// is read back compares equal.
macro_rules! file_of {
    ($file:ident, $f:expr) => {
        $file {
            name: Some($f.target.clone()),
            uid: Some($f.uid.clone().unwrap_or_else(|| "0".into())),
            gid: Some($f.gid.clone().unwrap_or_else(|| "0".into())),
            mode: Some($f.mode.unwrap_or(0o444)),
        }
    };
}

/// Each secret or config reference as Swarm's type, by `make`; none when empty.
fn files<T>(refs: &BTreeSet<FileRef>, make: impl Fn(&FileRef) -> T) -> Option<Vec<T>> {
    (!refs.is_empty()).then(|| refs.iter().map(make).collect())
}

/// A file of a secret or config as Swarm reports it: name in the container, uid, gid, mode.
type FileFields = (Option<String>, Option<String>, Option<String>, Option<u32>);

/// A secret or config as Swarm reports it. Swarm's defaults read as unset, as the spec writes them.
fn file_ref(name: Option<String>, file: Option<FileFields>) -> FileRef {
    let (target, uid, gid, mode) = file.unwrap_or_default();
    FileRef {
        target: target.or_else(|| name.clone()).unwrap_or_default(),
        name: name.unwrap_or_default(),
        uid: uid.filter(|u| u != "0"),
        gid: gid.filter(|g| g != "0"),
        mode: mode.filter(|m| *m != 0o444),
    }
}

/// The container spec of `workload` in `namespace`; stack volumes are labelled as `registry`'s
/// node's.
pub(super) fn container_spec(
    workload: &Workload,
    ids: &ObjectIds,
    namespace: &str,
    registry: &RegistryId,
) -> TaskSpecContainerSpec {
    let w = workload;
    TaskSpecContainerSpec {
        image: Some(w.image.clone()),
        labels: (!w.container_labels.is_empty()).then(|| w.container_labels.clone().into_iter().collect()),
        command: (!w.command.is_empty()).then(|| w.command.clone()),
        args: (!w.args.is_empty()).then(|| w.args.clone()),
        hostname: w.hostname.clone(),
        env: (!w.env.is_empty()).then(|| w.env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
        dir: w.workdir.clone(),
        user: w.user.clone(),
        read_only: w.read_only.then_some(true),
        mounts: (!w.mounts.is_empty()).then(|| w.mounts.iter().map(|m| mount(m, namespace, registry)).collect()),
        stop_signal: w.stop_signal.clone(),
        stop_grace_period: nanos(w.stop_grace_period),
        health_check: w.healthcheck.as_ref().map(|h| HealthConfig {
            test: Some(h.test.clone()),
            interval: nanos(h.interval),
            timeout: nanos(h.timeout),
            retries: h.retries.map(i64::from),
            start_period: nanos(h.start_period),
            start_interval: None,
        }),
        hosts: (!w.hosts.is_empty())
            .then(|| w.hosts.iter().map(|(host, address)| format!("{address} {host}")).collect()),
        dns_config: w.dns.as_ref().map(|d| TaskSpecContainerSpecDnsConfig {
            nameservers: (!d.servers.is_empty()).then(|| d.servers.clone()),
            search: (!d.search.is_empty()).then(|| d.search.clone()),
            options: (!d.options.is_empty()).then(|| d.options.clone()),
        }),
        secrets: files(&w.secrets, |f| TaskSpecContainerSpecSecrets {
            file: Some(file_of!(TaskSpecContainerSpecFile, f)),
            secret_id: ids.secrets.get(&f.name).cloned(),
            secret_name: Some(f.name.clone()),
        }),
        configs: files(&w.configs, |f| TaskSpecContainerSpecConfigs {
            file: Some(file_of!(TaskSpecContainerSpecFile1, f)),
            config_id: ids.configs.get(&f.name).cloned(),
            config_name: Some(f.name.clone()),
            ..Default::default()
        }),
        init: w.init,
        sysctls: (!w.sysctls.is_empty()).then(|| w.sysctls.clone().into_iter().collect()),
        capability_add: (!w.cap_add.is_empty()).then(|| w.cap_add.iter().cloned().collect()),
        capability_drop: (!w.cap_drop.is_empty()).then(|| w.cap_drop.iter().cloned().collect()),
        ulimits: (!w.ulimits.is_empty()).then(|| {
            w.ulimits
                .iter()
                .map(|(name, (soft, hard))| ResourcesUlimits {
                    name: Some(name.clone()),
                    soft: Some(*soft),
                    hard: Some(*hard),
                })
                .collect()
        }),
        ..Default::default()
    }
}

/// Reads a container spec into `w`, the way [`container_spec`] writes it.
pub(super) fn read_container(container: TaskSpecContainerSpec, w: &mut Workload) {
    w.image = container.image.unwrap_or_default();
    w.container_labels = container.labels.unwrap_or_default().into_iter().collect();
    w.command = container.command.unwrap_or_default();
    w.args = container.args.unwrap_or_default();
    w.hostname = non_empty(container.hostname);
    w.env = container
        .env
        .unwrap_or_default()
        .iter()
        .map(|kv| kv.split_once('=').map_or((kv.clone(), String::new()), |(k, v)| (k.into(), v.into())))
        .collect();
    w.workdir = non_empty(container.dir);
    w.user = non_empty(container.user);
    w.read_only = container.read_only.unwrap_or(false);
    w.mounts = container.mounts.unwrap_or_default().into_iter().map(mount_spec).collect();
    w.stop_signal = non_empty(container.stop_signal);
    w.stop_grace_period = duration_of(container.stop_grace_period);
    w.healthcheck = container.health_check.map(|h| Healthcheck {
        test: h.test.unwrap_or_default(),
        interval: duration_of(h.interval),
        timeout: duration_of(h.timeout),
        retries: h.retries.and_then(|r| u32::try_from(r).ok()),
        start_period: duration_of(h.start_period),
    });
    w.hosts = container
        .hosts
        .unwrap_or_default()
        .iter()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let address = words.next()?;
            Some((words.next()?.to_owned(), address.to_owned()))
        })
        .collect();
    w.dns = container.dns_config.map(|d| DnsConfig {
        servers: d.nameservers.unwrap_or_default(),
        search: d.search.unwrap_or_default(),
        options: d.options.unwrap_or_default(),
    });
    w.secrets = (container.secrets.unwrap_or_default().into_iter())
        .map(|s| file_ref(s.secret_name, s.file.map(|f| (f.name, f.uid, f.gid, f.mode))))
        .collect();
    w.configs = (container.configs.unwrap_or_default().into_iter())
        .map(|c| file_ref(c.config_name, c.file.map(|f| (f.name, f.uid, f.gid, f.mode))))
        .collect();
    w.init = container.init.filter(|i| *i);
    w.sysctls = container.sysctls.unwrap_or_default().into_iter().collect();
    w.cap_add = container.capability_add.unwrap_or_default().into_iter().collect();
    w.cap_drop = container.capability_drop.unwrap_or_default().into_iter().collect();
    w.ulimits = container
        .ulimits
        .unwrap_or_default()
        .into_iter()
        .filter_map(|u| Some((u.name?, (u.soft.unwrap_or_default(), u.hard.unwrap_or_default()))))
        .collect();
}

/// A mount as Swarm takes it; a named volume carries the node's ownership labels, which its
/// engine puts on the volume when a task first creates it.
fn mount(m: &MountSpec, namespace: &str, registry: &RegistryId) -> Mount {
    let volume = (m.kind == "volume").then(|| {
        let mut labels: HashMap<String, String> = m.labels.clone().into_iter().collect();
        if m.source.is_some() {
            labels = crate::objects::ownership(namespace, registry, labels);
        }
        MountVolumeOptions {
            no_copy: m.nocopy.then_some(true),
            labels: Some(labels),
            driver_config: (m.driver.is_some() || !m.driver_opts.is_empty()).then(|| MountVolumeOptionsDriverConfig {
                name: m.driver.clone(),
                options: (!m.driver_opts.is_empty()).then(|| m.driver_opts.clone().into_iter().collect()),
            }),
            subpath: None,
        }
    });
    Mount {
        target: Some(m.target.clone()),
        source: m.source.clone(),
        typ: m.kind.parse().ok(),
        read_only: m.read_only.then_some(true),
        bind_options: m
            .propagation
            .as_ref()
            .map(|p| MountBindOptions { propagation: p.parse().ok(), ..Default::default() }),
        volume_options: volume,
        tmpfs_options: (m.tmpfs_size.is_some() || m.tmpfs_mode.is_some()).then(|| MountTmpfsOptions {
            size_bytes: m.tmpfs_size,
            mode: m.tmpfs_mode.map(i64::from),
            options: None,
        }),
        ..Default::default()
    }
}

fn mount_spec(m: Mount) -> MountSpec {
    let volume = m.volume_options.unwrap_or_default();
    let driver = volume.driver_config.unwrap_or_default();
    let tmpfs = m.tmpfs_options.unwrap_or_default();
    MountSpec {
        kind: m.typ.map(|t| t.to_string()).unwrap_or_default(),
        source: non_empty(m.source),
        target: m.target.unwrap_or_default(),
        read_only: m.read_only.unwrap_or(false),
        nocopy: volume.no_copy.unwrap_or(false),
        driver: non_empty(driver.name).filter(|d| d != "local"),
        driver_opts: driver.options.unwrap_or_default().into_iter().collect(),
        labels: volume.labels.unwrap_or_default().into_iter().filter(|(k, _)| !k.starts_with("ledgerops.")).collect(),
        propagation: m
            .bind_options
            .and_then(|b| b.propagation)
            .map(|p| p.to_string())
            .filter(|p| !p.is_empty() && p != "rprivate"),
        tmpfs_size: tmpfs.size_bytes.filter(|s| *s != 0),
        tmpfs_mode: tmpfs.mode.and_then(|m| u32::try_from(m).ok()).filter(|m| *m != 0),
    }
}

/// The logging driver, to and from Swarm's.
pub(super) fn log_driver(logging: Option<&LogDriver>) -> Option<TaskSpecLogDriver> {
    logging.map(|l| TaskSpecLogDriver {
        name: Some(l.name.clone()),
        options: (!l.options.is_empty()).then(|| l.options.clone().into_iter().collect()),
    })
}

pub(super) fn read_log_driver(driver: Option<TaskSpecLogDriver>) -> Option<LogDriver> {
    driver.map(|d| LogDriver {
        name: d.name.unwrap_or_default(),
        options: d.options.unwrap_or_default().into_iter().collect::<BTreeMap<_, _>>(),
    })
}
