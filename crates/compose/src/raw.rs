//! Values taken out of a service before `compose_spec` 0.3.0 reads it, because it reads them
//! otherwise than Docker does; [`ledgerops_spec`] checks them instead:
//! - `deploy.mode`: it knows `global` and `replicated`, not the jobs Swarm also runs.
//! - `failure_action` of `update_config`: it accepts only `continue` and `pause` (the values of
//!   `rollback_config`), but `rollback` is the value Swarm users set most.
//! - `max_failure_ratio`: it takes a whole number; it is a ratio between 0 and 1.
//! - `cpus` and `memory` of limits and reservations: it refuses a whole number of CPUs, and reads
//!   `128m` as 128,000,000 bytes where Docker reads 128 MiB.
//! - `hostname`: it refuses Swarm's templates (`{{.Node.Hostname}}`).
//! - `extra_hosts`: it refuses `host-gateway`.
//! - `image`: it refuses `repo:tag@sha256:...`, the form `docker stack deploy` itself writes.
//! - `mode` of secrets and configs: it wants a number, and YAML reads `0440` as the string `"0440"`
//!   (Docker reads it as octal).

use serde_yaml::Value;

use crate::ComposeError;

/// The values taken out of one service.
#[derive(Debug, Default)]
pub(crate) struct Raw {
    pub(crate) image: Option<String>,
    pub(crate) mode: Option<String>,
    pub(crate) update_failure_action: Option<String>,
    pub(crate) rollback_failure_action: Option<String>,
    pub(crate) update_failure_ratio: Option<String>,
    pub(crate) rollback_failure_ratio: Option<String>,
    pub(crate) limit_cpus: Option<String>,
    pub(crate) limit_memory: Option<String>,
    pub(crate) reserve_cpus: Option<String>,
    pub(crate) reserve_memory: Option<String>,
    pub(crate) hostname: Option<String>,
    /// `(host, address)` in file order.
    pub(crate) extra_hosts: Vec<(String, String)>,
    /// The `mode` of each `secrets:` item, by index.
    pub(crate) secret_modes: Vec<Option<u32>>,
    /// The same for `configs:`.
    pub(crate) config_modes: Vec<Option<u32>>,
}

impl Raw {
    pub(crate) fn take(path: &str, service: &mut Value) -> Result<Self, ComposeError> {
        let mut take = |keys: &[&str]| take_scalar(path, service, keys);
        let mut raw = Self {
            image: take(&["image"])?,
            mode: take(&["deploy", "mode"])?,
            update_failure_action: take(&["deploy", "update_config", "failure_action"])?,
            rollback_failure_action: take(&["deploy", "rollback_config", "failure_action"])?,
            update_failure_ratio: take(&["deploy", "update_config", "max_failure_ratio"])?,
            rollback_failure_ratio: take(&["deploy", "rollback_config", "max_failure_ratio"])?,
            limit_cpus: take(&["deploy", "resources", "limits", "cpus"])?,
            limit_memory: take(&["deploy", "resources", "limits", "memory"])?,
            reserve_cpus: take(&["deploy", "resources", "reservations", "cpus"])?,
            reserve_memory: take(&["deploy", "resources", "reservations", "memory"])?,
            hostname: take(&["hostname"])?,
            ..Self::default()
        };
        raw.extra_hosts = take_hosts(path, service)?;
        raw.secret_modes = take_modes(path, service, "secrets")?;
        raw.config_modes = take_modes(path, service, "configs")?;
        Ok(raw)
    }
}

/// Removes the string or number at `keys` and returns it as written.
fn take_scalar(path: &str, service: &mut Value, keys: &[&str]) -> Result<Option<String>, ComposeError> {
    let Some((last, parents)) = keys.split_last() else { return Ok(None) };
    let parent = parents.iter().try_fold(&mut *service, |value, key| value.get_mut(*key));
    let Some(found) = parent.and_then(Value::as_mapping_mut).and_then(|map| map.remove(*last)) else {
        return Ok(None);
    };
    scalar(&format!("{path}.{}", keys.join(".")), found)
}

fn scalar(path: &str, value: Value) -> Result<Option<String>, ComposeError> {
    match value {
        Value::String(text) => Ok(Some(text)),
        Value::Number(n) => Ok(Some(n.to_string())),
        Value::Null => Ok(None),
        other => Err(ComposeError::Invalid {
            path: path.to_owned(),
            message: format!("expected a string or a number, found {}", kind(&other)),
        }),
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Sequence(_) => "a list",
        Value::Mapping(_) => "a mapping",
        Value::Tagged(_) => "a tagged value",
    }
}

/// `extra_hosts` as a list (`host:address` or `host=address`) or a mapping.
fn take_hosts(path: &str, service: &mut Value) -> Result<Vec<(String, String)>, ComposeError> {
    let field = format!("{path}.extra_hosts");
    let Some(hosts) = service.as_mapping_mut().and_then(|m| m.remove("extra_hosts")) else { return Ok(Vec::new()) };
    match hosts {
        Value::Sequence(items) => items
            .into_iter()
            .enumerate()
            .map(|(i, item)| {
                let entry = scalar(&format!("{field}[{i}]"), item)?.unwrap_or_default();
                let at = entry.find([':', '=']).ok_or_else(|| ComposeError::Invalid {
                    path: format!("{field}[{i}]"),
                    message: format!("{entry:?} is not host:address"),
                })?;
                Ok((entry[..at].to_owned(), entry[at + 1..].to_owned()))
            })
            .collect(),
        Value::Mapping(map) => map
            .into_iter()
            .map(|(host, address)| {
                let host = scalar(&field, host)?.unwrap_or_default();
                let address = scalar(&format!("{field}.{host}"), address)?.unwrap_or_default();
                Ok((host, address))
            })
            .collect(),
        other => Err(ComposeError::Invalid {
            path: field,
            message: format!("expected a list or a mapping, found {}", kind(&other)),
        }),
    }
}

/// The `mode` of each long-syntax item of `secrets:` or `configs:`: a string is octal (`"0440"`,
/// which is what YAML makes of `0440`), a number is read as Docker reads it.
fn take_modes(path: &str, service: &mut Value, key: &str) -> Result<Vec<Option<u32>>, ComposeError> {
    let Some(Value::Sequence(items)) = service.get_mut(key) else { return Ok(Vec::new()) };
    items
        .iter_mut()
        .enumerate()
        .map(|(i, item)| {
            let field = format!("{path}.{key}[{i}].mode");
            match item.as_mapping_mut().and_then(|m| m.remove("mode")) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(text)) => ledgerops_spec::parse_mode(&field, &text).map(Some).map_err(|e| {
                    let message = match e {
                        ledgerops_spec::SpecError::BadField { reason, .. } => reason,
                        other => other.to_string(),
                    };
                    ComposeError::Invalid { path: field, message }
                }),
                Some(Value::Number(n)) => n
                    .as_u64()
                    .and_then(|n| u32::try_from(n).ok())
                    .map(Some)
                    .ok_or_else(|| ComposeError::Invalid { path: field, message: format!("{n} is not a file mode") }),
                Some(other) => Err(ComposeError::Invalid {
                    path: field,
                    message: format!("expected a mode like \"0440\", found {}", kind(&other)),
                }),
            }
        })
        .collect()
}
