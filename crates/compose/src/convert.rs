//! One compose service, as `compose_spec` read it, turned into a ledgerops [`Spec`], the way
//! `docker stack deploy` maps it to a Swarm service.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use compose_spec::service::deploy::Mode;
use compose_spec::service::healthcheck::{Command as HealthCommand, Test};
use compose_spec::service::{ConfigOrSecret, Healthcheck, ports};
use compose_spec::{ListOrMap, Service, ShortOrLong};
use ledgerops_registry::site_id;
use ledgerops_spec::{HealthCheck, Mount, Port, Resources as SpecResources, Spec, SpecBody, UpdatePolicy};
use serde::Deserialize;

use crate::{ComposeError, Raw};

/// What the file says beside the service itself.
pub(crate) struct Context<'a> {
    /// `services.<name>`, for messages.
    pub(crate) path: String,
    /// Values read before `compose_spec` saw the service (lib.rs says why).
    pub(crate) raw: Raw,
    /// Top-level `secrets:` key -> the Docker object's name.
    pub(crate) secret_names: &'a BTreeMap<String, String>,
    /// Top-level `configs:` key -> the Docker object's name.
    pub(crate) config_names: &'a BTreeMap<String, String>,
    /// Sites for services whose `x-ledgerops` names none.
    pub(crate) default_sites: &'a [String],
}

/// `x-ledgerops:` on a service.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Extension {
    /// Site labels the service is placed on; none means every site.
    #[serde(default)]
    sites: Vec<String>,
}

/// Builds the spec; keys it cannot carry go to `unsupported`.
pub(crate) fn to_spec(service: Service, cx: &Context<'_>, unsupported: &mut Vec<String>) -> Result<Spec, ComposeError> {
    let invalid = |key: &str, message: String| ComposeError::Invalid { path: format!("{}.{key}", cx.path), message };
    let mut unsupported_key = |key: &str| unsupported.push(format!("{}.{key}", cx.path));

    let image =
        service.image.ok_or_else(|| invalid("image", "every service needs an image pinned by digest".into()))?;
    let mut body = SpecBody::new();
    body.command = command_words(service.entrypoint).map_err(|m| invalid("entrypoint", m))?;
    body.args = command_words(service.command).map_err(|m| invalid("command", m))?;
    body.env = pairs(service.environment).map_err(|m| invalid("environment", m))?;
    body.ports = port_list(service.ports, &mut unsupported_key).map_err(|m| invalid("ports", m))?;
    body.secrets = mounts(service.secrets, cx.secret_names, "secrets", &mut unsupported_key);
    body.configs = mounts(service.configs, cx.config_names, "configs", &mut unsupported_key);
    body.healthcheck = service.healthcheck.map(|h| health(h, &mut unsupported_key));

    let mut replicas = 1;
    if let Some(deploy) = service.deploy {
        if deploy.mode == Some(Mode::Global) {
            return Err(invalid("deploy.mode", "global services are not supported: set deploy.replicas".into()));
        }
        if let Some(n) = deploy.replicas {
            replicas = u32::try_from(n).map_err(|_| invalid("deploy.replicas", format!("{n} is too many")))?;
        }
        body.labels = pairs(deploy.labels).map_err(|m| invalid("deploy.labels", m))?;
        body.constraints = deploy.placement.map(|p| p.constraints).unwrap_or_default();
        body.update = deploy.update_config.map(|u| UpdatePolicy {
            parallelism: u.parallelism,
            delay: u.delay.map(duration),
            failure_action: cx.raw.failure_action.clone(),
            monitor: u.monitor.map(duration),
            order: u.order.map(|o| o.as_str().to_owned()),
        });
    }
    if body.update.is_none() && cx.raw.failure_action.is_some() {
        body.update = Some(UpdatePolicy { failure_action: cx.raw.failure_action.clone(), ..UpdatePolicy::default() });
    }
    let limits = SpecResources { cpus: cx.raw.cpus.clone(), memory: cx.raw.memory.clone() };
    body.resources = (limits != SpecResources::default()).then_some(limits);

    let extension = match service.extensions.get("x-ledgerops") {
        Some(value) => Extension::deserialize(value.clone()).map_err(|e| invalid("x-ledgerops", e.to_string()))?,
        None => Extension::default(),
    };
    let labels = if extension.sites.is_empty() { cx.default_sites } else { &extension.sites };
    let sites = labels
        .iter()
        .map(|s| site_id(s))
        .collect::<Result<BTreeSet<_>, _>>()
        .map_err(|e| ComposeError::Spec { path: format!("{}.x-ledgerops.sites", cx.path), source: e.into() })?;
    let spec = Spec { image: image.to_string(), replicas, sites, body };
    spec.canonical().map_err(|source| ComposeError::Spec { path: cx.path.clone(), source })
}

/// A command as words: a string is split the way a shell would, as `docker stack deploy` does.
fn command_words(command: Option<compose_spec::service::Command>) -> Result<Vec<String>, String> {
    match command {
        None => Ok(Vec::new()),
        Some(compose_spec::service::Command::List(words)) => Ok(words),
        Some(compose_spec::service::Command::String(line)) => {
            shlex::split(&line).ok_or_else(|| format!("{line:?} has an unclosed quote"))
        }
    }
}

/// `KEY=VALUE` lists and maps alike. A key without a value is refused: Compose would copy it from
/// the shell, and the shell of a CI job is where secrets live; the ledger is readable by every node.
fn pairs(list: ListOrMap) -> Result<BTreeMap<String, String>, String> {
    let map = list.into_map().map_err(|e| e.to_string())?;
    map.into_iter()
        .map(|(key, value)| match value {
            Some(value) => Ok((key.to_string(), value.to_string())),
            None => Err(format!(
                "{key} has no value; ledgerops does not copy values from the environment onto the ledger \
                 (write the value, or use a secret)"
            )),
        })
        .collect()
}

fn port_list(list: ports::Ports, unsupported: &mut impl FnMut(&str)) -> Result<Vec<Port>, String> {
    let mut out = Vec::new();
    for (i, port) in ports::into_long_iter(list).enumerate() {
        if port.host_ip.is_some() {
            unsupported(&format!("ports[{i}].host_ip"));
        }
        if port.app_protocol.is_some() {
            unsupported(&format!("ports[{i}].app_protocol"));
        }
        if port.name.is_some() {
            unsupported(&format!("ports[{i}].name"));
        }
        let published = match port.published {
            Some(range) if range.end().is_some() => {
                return Err(format!("port {}: a range of published ports is not supported", port.target));
            }
            other => other.map(|r| r.start()),
        };
        out.push(Port {
            target: port.target,
            published,
            protocol: port.protocol.map_or_else(|| "tcp".into(), |p| p.as_str().to_owned()),
            mode: port.mode.map_or_else(|| "ingress".into(), |m| m.as_str().to_owned()),
        });
    }
    Ok(out)
}

/// Secrets and configs by name. A top-level entry with `name:` renames the Docker object; the file
/// in the container keeps the key's name, as in Swarm.
fn mounts(
    list: Vec<ShortOrLong<compose_spec::Identifier, ConfigOrSecret>>,
    names: &BTreeMap<String, String>,
    kind: &str,
    unsupported: &mut impl FnMut(&str),
) -> Vec<Mount> {
    list.into_iter()
        .enumerate()
        .map(|(i, item)| {
            let (source, target) = match item {
                ShortOrLong::Short(source) => (source.to_string(), None),
                ShortOrLong::Long(long) => {
                    for (key, set) in
                        [("uid", long.uid.is_some()), ("gid", long.gid.is_some()), ("mode", long.mode.is_some())]
                    {
                        if set {
                            unsupported(&format!("{kind}[{i}].{key}"));
                        }
                    }
                    (long.source.to_string(), long.target.map(|t| t.to_string_lossy().into_owned()))
                }
            };
            match names.get(&source).filter(|name| **name != source) {
                Some(name) => Mount { name: name.clone(), target: Some(target.unwrap_or(source)) },
                None => Mount { name: source, target },
            }
        })
        .collect()
}

fn health(check: Healthcheck, unsupported: &mut impl FnMut(&str)) -> HealthCheck {
    match check {
        Healthcheck::Disable => HealthCheck { test: vec!["NONE".into()], ..HealthCheck::default() },
        Healthcheck::Command(HealthCommand {
            test, interval, timeout, retries, start_period, start_interval, ..
        }) => {
            if start_interval.is_some() {
                unsupported("healthcheck.start_interval");
            }
            let test = match test {
                Some(Test::Command(words)) => [vec!["CMD".to_owned()], words].concat(),
                Some(Test::ShellCommand(line)) => vec!["CMD-SHELL".into(), line],
                None => Vec::new(),
            };
            HealthCheck {
                test,
                interval: interval.map(duration),
                timeout: timeout.map(duration),
                retries: retries.map(|r| u32::try_from(r).unwrap_or(u32::MAX)),
                start_period: start_period.map(duration),
            }
        }
    }
}

fn duration(d: Duration) -> String {
    format!("{}ms", d.as_millis())
}
