//! `deploy`'s and `diff`'s flags, in `docker service create` notation, turned into a [`Spec`].

mod swarm;

use ledgerops_registry::site_id;
use ledgerops_spec::{HealthCheck, Mount, Port, Resources, Spec, SpecBody, UpdatePolicy};

use crate::args::SpecFlags;
use crate::exit::CliError;

/// Builds and validates the spec the flags describe, in its canonical form; names the flag at fault.
/// The image stays as given: a tag is pinned by [`crate::images`] before anything is sent.
pub(crate) fn spec_from_args(image: &str, sites: &[String], a: &SpecFlags) -> Result<Spec, CliError> {
    let mut body = SpecBody::new();
    body.command.clone_from(&a.command);
    body.args.clone_from(&a.args);
    for kv in &a.env {
        let (k, v) = split_pair("--env", kv)?;
        body.env.insert(k, v);
    }
    for kv in &a.labels {
        let (k, v) = split_pair("--label", kv)?;
        body.labels.insert(k, v);
    }
    body.secrets = a.secrets.iter().map(|s| mount(s)).collect();
    body.configs = a.configs.iter().map(|s| mount(s)).collect();
    body.ports = a.ports.iter().map(|p| port(p)).collect::<Result<_, _>>()?;
    body.constraints.clone_from(&a.constraints);
    let update = UpdatePolicy {
        parallelism: a.update_parallelism,
        delay: a.update_delay.clone(),
        failure_action: a.update_failure_action.clone(),
        monitor: a.update_monitor.clone(),
        order: a.update_order.clone(),
        max_failure_ratio: a.update_max_failure_ratio.clone(),
    };
    body.update = (update != UpdatePolicy::default()).then_some(update);
    let health_options = a.health_interval.is_some()
        || a.health_timeout.is_some()
        || a.health_retries.is_some()
        || a.health_start_period.is_some();
    if health_options && a.health_cmd.is_none() {
        return Err(CliError::Usage("--health-interval/--health-timeout/--health-retries need --health-cmd".into()));
    }
    body.healthcheck = a.health_cmd.as_ref().map(|cmd| HealthCheck {
        test: vec!["CMD-SHELL".into(), cmd.clone()],
        interval: a.health_interval.clone(),
        timeout: a.health_timeout.clone(),
        retries: a.health_retries,
        start_period: a.health_start_period.clone(),
    });
    let resources = Resources { cpus: a.cpus.clone(), memory: a.memory.clone(), pids: a.limit_pids };
    body.resources = (resources != Resources::default()).then_some(resources);
    swarm::carry(a, &mut body)?;
    let sites = sites.iter().map(|s| site_id(s)).collect::<Result<_, _>>()?;
    let spec = Spec { image: image.to_owned(), replicas: a.replicas, sites, body };
    Ok(spec.canonical_unpinned()?)
}

fn split_pair(flag: &str, kv: &str) -> Result<(String, String), CliError> {
    kv.split_once('=')
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .filter(|(k, _)| !k.is_empty())
        .ok_or_else(|| CliError::Usage(format!("{flag} {kv:?}: expected KEY=VALUE")))
}

fn mount(s: &str) -> Mount {
    match s.split_once(':') {
        Some((name, target)) => Mount { name: name.into(), target: Some(target.into()), ..Mount::default() },
        None => Mount { name: s.into(), ..Mount::default() },
    }
}

/// `[PUBLISHED:]TARGET[/PROTOCOL]`, as `docker run -p` writes it.
fn port(s: &str) -> Result<Port, CliError> {
    let bad = || CliError::Usage(format!("--port {s:?}: expected [PUBLISHED:]TARGET[/tcp|udp|sctp], ports 1-65535"));
    let (ports, protocol) = s.split_once('/').unwrap_or((s, "tcp"));
    let number = |p: &str| p.parse::<u16>().ok().filter(|n| *n > 0).ok_or_else(bad);
    let (published, target) = match ports.split_once(':') {
        Some((published, target)) => (Some(number(published)?), number(target)?),
        None => (None, number(ports)?),
    };
    Ok(Port { target, published, protocol: protocol.into(), mode: "ingress".into() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_read_like_docker_run() {
        assert_eq!(
            port("8080:80/udp").ok().map(|p| (p.published, p.target, p.protocol)),
            Some((Some(8080), 80, "udp".into()))
        );
        assert_eq!(port("80").ok().map(|p| (p.published, p.target)), Some((None, 80)));
        for bad in ["", "0", "80:", "x:80", "70000"] {
            assert!(port(bad).is_err(), "{bad}");
        }
    }
}
