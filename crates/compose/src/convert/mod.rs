//! One compose service, as `compose_spec` read it, turned into a ledgerops [`Spec`], the way
//! `docker stack deploy` maps it to a Swarm service: the process here, scheduling in [`deploy`],
//! storage in [`storage`], networking in [`network`].

mod deploy;
mod network;
mod storage;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use compose_spec::service::healthcheck::{Command as HealthCommand, Test};
use compose_spec::service::{Healthcheck, Limit};
use compose_spec::{ListOrMap, Service};
use ledgerops_registry::site_id;
use ledgerops_spec::{HealthCheck, Logging, Spec, SpecBody, Ulimit};
use serde::Deserialize;

use crate::files::{EnvFileError, EnvFileFormat, read_env_file};
use crate::objects::Objects;
use crate::raw::Raw;
use crate::{ComposeError, Options};

/// What the file says beside the service itself.
pub(crate) struct Context<'a> {
    /// `services.<name>`, for messages.
    pub(crate) path: String,
    /// Values read before `compose_spec` saw the service (raw.rs says why).
    pub(crate) raw: Raw,
    /// The stack's networks, volumes, configs and secrets.
    pub(crate) objects: &'a Objects,
    /// The namespace, sites, variables and base directory.
    pub(crate) options: &'a Options,
}

impl Context<'_> {
    /// An error about `key` of this service.
    pub(crate) fn invalid(&self, key: &str, message: impl Into<String>) -> ComposeError {
        ComposeError::Invalid { path: format!("{}.{key}", self.path), message: message.into() }
    }
}

/// `x-ledgerops:` on a service.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Extension {
    /// Site labels the service is placed on; none means every site.
    #[serde(default)]
    sites: Vec<String>,
}

/// Builds the spec.
pub(crate) fn to_spec(service: Service, cx: &Context<'_>) -> Result<Spec, ComposeError> {
    let image = cx.raw.image.clone().ok_or_else(|| cx.invalid("image", "every service needs an image"))?;
    let mut body = SpecBody::new();
    body.command = command_words(service.entrypoint.clone()).map_err(|m| cx.invalid("entrypoint", m))?;
    body.args = command_words(service.command.clone()).map_err(|m| cx.invalid("command", m))?;
    body.env = environment(&service, cx)?;
    body.healthcheck = service.healthcheck.clone().map(health);
    process(&service, cx, &mut body)?;
    network::carry(&service, cx, &mut body)?;
    storage::carry(&service, cx, &mut body)?;
    let replicas = deploy::carry(service.deploy.clone(), cx, &mut body)?;

    let extension = match service.extensions.get("x-ledgerops") {
        Some(value) => Extension::deserialize(value.clone()).map_err(|e| cx.invalid("x-ledgerops", e.to_string()))?,
        None => Extension::default(),
    };
    let labels = if extension.sites.is_empty() { &cx.options.default_sites } else { &extension.sites };
    let sites = labels
        .iter()
        .map(|s| site_id(s))
        .collect::<Result<BTreeSet<_>, _>>()
        .map_err(|e| ComposeError::Spec { path: format!("{}.x-ledgerops.sites", cx.path), source: e.into() })?;
    let spec = Spec { image, replicas, sites, body };
    // An image by tag is pinned by the CLI, which asks its registry (the compose crate reads only).
    spec.canonical_unpinned().map_err(|source| ComposeError::Spec { path: cx.path.clone(), source })
}

/// The process's settings: user, directories, signals, limits, kernel settings, capabilities,
/// logging and the containers' labels.
fn process(service: &Service, cx: &Context<'_>, body: &mut SpecBody) -> Result<(), ComposeError> {
    body.hostname.clone_from(&cx.raw.hostname);
    body.user = service.user.as_ref().map(ToString::to_string);
    body.workdir = service.working_dir.as_ref().map(|p| p.as_path().display().to_string());
    body.stop_signal.clone_from(&service.stop_signal);
    body.stop_grace_period = service.stop_grace_period.map(duration);
    body.init = service.init.then_some(true);
    body.read_only = service.read_only;
    if let Some(logging) = &service.logging {
        let driver = logging.driver.clone();
        let options = logging
            .options
            .iter()
            .map(|(k, v)| (k.to_string(), v.as_ref().map(ToString::to_string).unwrap_or_default()))
            .collect();
        body.logging = Some(Logging { driver, options });
    }
    for (name, limit) in &service.ulimits {
        let limit = match limit.clone() {
            compose_spec::ShortOrLong::Short(both) => compose_spec::service::Ulimit::from(both),
            compose_spec::ShortOrLong::Long(limit) => limit,
        };
        let value = |l: &Limit<u64>| match l {
            Limit::Value(v) => i64::try_from(*v).unwrap_or(i64::MAX),
            Limit::Unlimited => -1,
        };
        body.ulimits.insert(name.to_string(), Ulimit { soft: value(&limit.soft), hard: value(&limit.hard) });
    }
    body.sysctls = pairs(service.sysctls.clone()).map_err(|m| cx.invalid("sysctls", m))?;
    body.cap_add = service.cap_add.iter().cloned().collect();
    body.cap_drop = service.cap_drop.iter().cloned().collect();
    body.container_labels = crate::objects::labels(service.labels.clone(), &cx.path)?;
    Ok(())
}

/// The environment: `env_file`s first, in order, then `environment` over them, as Docker does.
/// `KEY=` is the empty value; a bare `KEY` (copy it from the shell) is refused: the shell of a CI
/// job is where secrets live, and the ledger is readable by every node. An `env_file` is read
/// from inside the project directory, as `docker stack deploy` reads one (values as written).
fn environment(service: &Service, cx: &Context<'_>) -> Result<BTreeMap<String, String>, ComposeError> {
    let mut env = BTreeMap::new();
    if let Some(files) = service.env_file.clone() {
        for (i, file) in files.into_list().into_iter().enumerate() {
            let (path, required) = match file {
                compose_spec::ShortOrLong::Short(path) => (path, true),
                compose_spec::ShortOrLong::Long(config) => (config.path, config.required),
            };
            let field = format!("{}.env_file[{i}]", cx.path);
            let full = cx.options.file(&path, &field)?;
            let entries = match read_env_file(&full, EnvFileFormat::Docker) {
                Ok(entries) => entries,
                Err(EnvFileError::Io { missing: true, .. }) if !required => continue,
                Err(e) => return Err(cx.invalid(&format!("env_file[{i}]"), e.to_string())),
            };
            env.extend(entries);
        }
    }
    for (key, value) in pairs_with_unset(service.environment.clone()).map_err(|m| cx.invalid("environment", m))? {
        let value = value.ok_or_else(|| {
            cx.invalid(
                "environment",
                format!(
                    "{key} has no value (and no `=`): docker would copy it from the environment of the machine \
                     that deploys; ledgerops does not copy values onto the ledger unasked. Write {key}=value, \
                     {key}= for the empty value, or {key}=${{{key}}} with --var {key} to copy it knowingly"
                ),
            )
        })?;
        env.insert(key, value);
    }
    Ok(env)
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

/// `KEY=VALUE` lists and maps; `KEY=` is the empty value, a key alone has none.
fn pairs_with_unset(list: ListOrMap) -> Result<Vec<(String, Option<String>)>, String> {
    let items: Vec<(String, Option<String>)> = match list {
        // Split by hand: `KEY=` is the empty value here, where a map entry `KEY:` has none.
        ListOrMap::List(items) => items
            .into_iter()
            .map(|item| match item.split_once('=') {
                Some((key, value)) => (key.to_owned(), Some(value.to_owned())),
                None => (item, None),
            })
            .collect(),
        map => map
            .into_map()
            .map_err(|e| e.to_string())?
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.map(|v| v.to_string())))
            .collect(),
    };
    Ok(items)
}

/// Pairs where every key has a value (the empty one when written `KEY=` or `KEY:`).
fn pairs(list: ListOrMap) -> Result<BTreeMap<String, String>, String> {
    Ok(pairs_with_unset(list)?.into_iter().map(|(k, v)| (k, v.unwrap_or_default())).collect())
}

fn health(check: Healthcheck) -> HealthCheck {
    match check {
        Healthcheck::Disable => HealthCheck { test: vec!["NONE".into()], ..HealthCheck::default() },
        Healthcheck::Command(HealthCommand { test, interval, timeout, retries, start_period, .. }) => {
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

pub(crate) fn duration(d: Duration) -> String {
    format!("{}ms", d.as_millis())
}
