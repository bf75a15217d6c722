//! The flags of spec format 2, in `docker service create` notation where it has one: the same
//! service written as flags or as a compose file commits the same spec (the body is canonical).

use ledgerops_spec::{Dns, Logging, Network, Resources, RestartPolicy, SpecBody, Ulimit, UpdatePolicy, VolumeMount};

use super::split_pair;
use crate::args::SpecFlags;
use crate::exit::CliError;

/// Sets the format-2 fields of `body` from the flags; names the flag at fault.
pub(super) fn carry(a: &SpecFlags, body: &mut SpecBody) -> Result<(), CliError> {
    body.mode.clone_from(&a.mode);
    body.networks = a.networks.iter().map(|n| network(n)).collect::<Result<_, _>>()?;
    body.mounts = a.mounts.iter().map(|m| mount(m)).collect::<Result<_, _>>()?;
    body.endpoint_mode.clone_from(&a.endpoint_mode);
    let restart = RestartPolicy {
        condition: a.restart_condition.clone(),
        delay: a.restart_delay.clone(),
        max_attempts: a.restart_max_attempts,
        window: a.restart_window.clone(),
    };
    body.restart = (restart != RestartPolicy::default()).then_some(restart);
    let rollback = UpdatePolicy {
        parallelism: a.rollback_parallelism,
        delay: a.rollback_delay.clone(),
        failure_action: a.rollback_failure_action.clone(),
        monitor: a.rollback_monitor.clone(),
        order: a.rollback_order.clone(),
        max_failure_ratio: a.rollback_max_failure_ratio.clone(),
    };
    body.rollback = (rollback != UpdatePolicy::default()).then_some(rollback);
    let reservations = Resources { cpus: a.reserve_cpu.clone(), memory: a.reserve_memory.clone(), pids: None };
    body.reservations = (reservations != Resources::default()).then_some(reservations);
    body.preferences = a
        .placement_prefs
        .iter()
        .map(|p| {
            p.strip_prefix("spread=").map(str::to_owned).ok_or_else(|| {
                CliError::Usage(format!(
                    "--placement-pref {p:?}: expected spread=ATTRIBUTE, e.g. spread=node.labels.zone"
                ))
            })
        })
        .collect::<Result<_, _>>()?;
    body.max_per_node = a.replicas_max_per_node;
    body.hostname.clone_from(&a.hostname);
    body.user.clone_from(&a.user);
    body.workdir.clone_from(&a.workdir);
    body.stop_signal.clone_from(&a.stop_signal);
    body.stop_grace_period.clone_from(&a.stop_grace_period);
    body.init = a.init.then_some(true);
    body.read_only = a.read_only;
    let dns = Dns { servers: a.dns.clone(), search: a.dns_search.clone(), options: a.dns_options.clone() };
    body.dns = (dns != Dns::default()).then_some(dns);
    for entry in &a.hosts {
        let (host, ip) = entry
            .split_once(':')
            .filter(|(h, ip)| !h.is_empty() && !ip.is_empty())
            .ok_or_else(|| CliError::Usage(format!("--host {entry:?}: expected HOST:IP")))?;
        body.hosts.insert(host.to_owned(), ip.to_owned());
    }
    let mut options = std::collections::BTreeMap::new();
    for kv in &a.log_opts {
        let (k, v) = split_pair("--log-opt", kv)?;
        options.insert(k, v);
    }
    if a.log_driver.is_some() || !options.is_empty() {
        body.logging = Some(Logging { driver: a.log_driver.clone(), options });
    }
    for kv in &a.ulimits {
        let (name, limit) = ulimit(kv)?;
        body.ulimits.insert(name, limit);
    }
    for kv in &a.sysctls {
        let (k, v) = split_pair("--sysctl", kv)?;
        body.sysctls.insert(k, v);
    }
    body.cap_add.clone_from(&a.cap_add);
    body.cap_drop.clone_from(&a.cap_drop);
    for kv in &a.container_labels {
        let (k, v) = split_pair("--container-label", kv)?;
        body.container_labels.insert(k, v);
    }
    Ok(())
}

/// `NAME[,alias=ALIAS]...[,external]`.
fn network(text: &str) -> Result<Network, CliError> {
    let mut parts = text.split(',');
    let name = parts
        .next()
        .filter(|n| !n.is_empty() && !n.contains('='))
        .ok_or_else(|| CliError::Usage(format!("--network {text:?}: expected NAME[,alias=ALIAS]...[,external]")))?;
    let mut network = Network { name: name.to_owned(), ..Network::default() };
    for part in parts {
        match part.split_once('=') {
            Some(("alias", alias)) => network.aliases.push(alias.to_owned()),
            None if part == "external" => network.external = true,
            _ => return Err(CliError::Usage(format!("--network {text:?}: {part:?} is not alias=ALIAS or external"))),
        }
    }
    Ok(network)
}

/// `docker service create --mount`'s comma-separated `key=value` list.
fn mount(text: &str) -> Result<VolumeMount, CliError> {
    let bad = |why: String| CliError::Usage(format!("--mount {text:?}: {why}"));
    let mut m = VolumeMount { kind: "volume".into(), ..VolumeMount::default() };
    for part in text.split(',') {
        let (key, value) = part.split_once('=').unwrap_or((part, ""));
        let flag = || match value {
            "" | "true" | "1" => Ok(true),
            "false" | "0" => Ok(false),
            other => Err(bad(format!("{key}={other}: expected true or false"))),
        };
        match key {
            "type" => m.kind = value.to_owned(),
            "source" | "src" => m.source = Some(value.to_owned()),
            "target" | "dst" | "destination" => m.target = value.to_owned(),
            "readonly" | "ro" => m.read_only = flag()?,
            "volume-nocopy" => m.nocopy = flag()?,
            "external" => m.external = flag()?,
            "bind-propagation" => m.propagation = Some(value.to_owned()),
            "tmpfs-size" => m.size = Some(value.to_owned()),
            "tmpfs-mode" => {
                let mode =
                    u32::from_str_radix(value, 8).map_err(|_| bad(format!("tmpfs-mode={value}: expected octal")))?;
                m.tmpfs_mode = Some(mode);
            }
            "volume-driver" => m.driver = Some(value.to_owned()),
            "volume-opt" => {
                let (k, v) = split_pair("--mount volume-opt", value)?;
                m.driver_opts.insert(k, v);
            }
            "volume-label" => {
                let (k, v) = split_pair("--mount volume-label", value)?;
                m.labels.insert(k, v);
            }
            other => return Err(bad(format!("{other:?} is not a mount option ledgerops carries"))),
        }
    }
    if m.target.is_empty() {
        return Err(bad("no target=".into()));
    }
    Ok(m)
}

/// `NAME=SOFT[:HARD]`; one number sets both.
fn ulimit(text: &str) -> Result<(String, Ulimit), CliError> {
    let bad = || CliError::Usage(format!("--ulimit {text:?}: expected NAME=SOFT[:HARD], e.g. nofile=1024:2048"));
    let (name, limits) = split_pair("--ulimit", text).map_err(|_| bad())?;
    let number = |n: &str| n.parse::<i64>().map_err(|_| bad());
    let (soft, hard) = match limits.split_once(':') {
        Some((soft, hard)) => (number(soft)?, number(hard)?),
        None => (number(&limits)?, number(&limits)?),
    };
    Ok((name, Ulimit { soft, hard }))
}
