//! Compose and stack files read into ledgerops service specs, for `ledgerops apply` and `diff -f`.
//!
//! The file is parsed with [`compose_spec`], which validates it against the Compose specification.
//! Only the keys Swarm honours and the spec format carries are kept; every other key is reported
//! by path ([`ComposeFile::unsupported`]) so the caller can refuse the file rather than drop a
//! volume or network silently. Three values are read around `compose_spec` 0.3.0, taken out of
//! the service before it parses it and checked by [`ledgerops_spec`] instead ([`Raw`]):
//! - `deploy.update_config.failure_action`: it accepts only `continue` and `pause` (the values of
//!   `rollback_config`), but `rollback` is the value Swarm users set most.
//! - `deploy.resources.limits.memory`: it reads `128m` as 128,000,000 bytes; Docker reads 128 MiB.
//! - `deploy.resources.limits.cpus`: it refuses a whole number such as `cpus: 2`.
//!
//! Variables (`${TAG}`) are not interpolated: render the file first (for example with `envsubst`).

mod convert;
mod keys;

use std::collections::BTreeMap;

use compose_spec::Service;
use ledgerops_spec::{Spec, SpecError};
use serde_yaml::{Mapping, Value};

/// A parsed file: its services in file order, and the keys that were left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComposeFile {
    /// `(service name, spec)`, as in the file.
    pub services: Vec<(String, Spec)>,
    /// Paths of keys ledgerops does not carry, e.g. `services.web.volumes`.
    pub unsupported: Vec<String>,
}

/// Why a file could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ComposeError {
    /// Not YAML; line and column are 1-based.
    #[error("line {line}, column {column}: {message}")]
    Syntax {
        /// Line of the fault.
        line: usize,
        /// Column of the fault.
        column: usize,
        /// What the YAML parser expected.
        message: String,
    },
    /// YAML, but not a valid compose file at `path`.
    #[error("{path}: {message}")]
    Invalid {
        /// Dotted path of the key at fault, e.g. `services.web.deploy.replicas`.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// A service breaks the spec rules (image not pinned by digest, bad port...).
    #[error("{path}: {source}")]
    Spec {
        /// `services.<name>`.
        path: String,
        /// The rule broken.
        source: SpecError,
    },
    /// Keys ledgerops would have to drop (callers may choose to go on without them).
    #[error("unsupported keys (ledgerops would drop them): {}", .0.join(", "))]
    Unsupported(Vec<String>),
}

/// How to read a file.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Sites for services whose `x-ledgerops.sites` names none (empty: every site).
    pub default_sites: Vec<String>,
    /// Go on without unsupported keys instead of refusing the file.
    pub ignore_unsupported: bool,
}

/// Reads a compose file's text into specs. Refuses it when it has unsupported keys, unless
/// [`Options::ignore_unsupported`]; the keys are in [`ComposeFile::unsupported`] either way.
pub fn parse(text: &str, options: &Options) -> Result<ComposeFile, ComposeError> {
    let mut file: Value = serde_yaml::from_str(text).map_err(syntax)?;
    file.apply_merge().map_err(|e| invalid("<<", &e))?;
    let Value::Mapping(mut file) = file else {
        return Err(ComposeError::Invalid {
            path: "(file)".into(),
            message: "expected a mapping with services".into(),
        });
    };
    let mut unsupported = keys::unsupported_top_level(&file);
    let secret_names = object_names(&file, "secrets");
    let config_names = object_names(&file, "configs");
    let services = match file.remove("services") {
        Some(Value::Mapping(services)) if !services.is_empty() => services,
        _ => return Err(ComposeError::Invalid { path: "services".into(), message: "the file has no services".into() }),
    };
    let mut specs = Vec::new();
    for (name, mut raw) in services {
        let name = name.as_str().map(str::to_owned).ok_or_else(|| ComposeError::Invalid {
            path: format!("services.{name:?}"),
            message: "a service name must be a string".into(),
        })?;
        let path = format!("services.{name}");
        unsupported.extend(keys::strip_unsupported_service_keys(&name, &mut raw));
        let lifted = Raw::take(&path, &mut raw)?;
        let service: Service = serde_path_to_error::deserialize(raw).map_err(|e| ComposeError::Invalid {
            path: join(&path, &e.path().to_string()),
            message: e.into_inner().to_string(),
        })?;
        let cx = convert::Context {
            path,
            raw: lifted,
            secret_names: &secret_names,
            config_names: &config_names,
            default_sites: &options.default_sites,
        };
        specs.push((name, convert::to_spec(service, &cx, &mut unsupported)?));
    }
    if !unsupported.is_empty() && !options.ignore_unsupported {
        return Err(ComposeError::Unsupported(unsupported));
    }
    Ok(ComposeFile { services: specs, unsupported })
}

fn syntax(e: serde_yaml::Error) -> ComposeError {
    match e.location() {
        Some(at) => ComposeError::Syntax { line: at.line(), column: at.column(), message: e.to_string() },
        None => invalid("(file)", &e),
    }
}

fn invalid(path: &str, e: &serde_yaml::Error) -> ComposeError {
    ComposeError::Invalid { path: path.into(), message: e.to_string() }
}

fn join(path: &str, inner: &str) -> String {
    if inner == "." || inner.is_empty() { path.to_owned() } else { format!("{path}.{inner}") }
}

/// Values taken out of a service before `compose_spec` reads it (the crate docs say why).
#[derive(Debug, Default)]
pub(crate) struct Raw {
    /// `deploy.update_config.failure_action`
    pub(crate) failure_action: Option<String>,
    /// `deploy.resources.limits.cpus`
    pub(crate) cpus: Option<String>,
    /// `deploy.resources.limits.memory`
    pub(crate) memory: Option<String>,
}

impl Raw {
    fn take(path: &str, service: &mut Value) -> Result<Self, ComposeError> {
        Ok(Self {
            failure_action: take_scalar(path, service, &["deploy", "update_config", "failure_action"])?,
            cpus: take_scalar(path, service, &["deploy", "resources", "limits", "cpus"])?,
            memory: take_scalar(path, service, &["deploy", "resources", "limits", "memory"])?,
        })
    }
}

/// Removes the string or number at `keys` and returns it as written.
fn take_scalar(path: &str, service: &mut Value, keys: &[&str]) -> Result<Option<String>, ComposeError> {
    let Some((last, parents)) = keys.split_last() else { return Ok(None) };
    let parent = parents.iter().try_fold(&mut *service, |value, key| value.get_mut(*key));
    let Some(found) = parent.and_then(Value::as_mapping_mut).and_then(|map| map.remove(*last)) else {
        return Ok(None);
    };
    match found {
        Value::String(text) => Ok(Some(text)),
        Value::Number(n) => Ok(Some(n.to_string())),
        other => Err(ComposeError::Invalid {
            path: format!("{path}.{}", keys.join(".")),
            message: format!("expected a string or a number, found {other:?}"),
        }),
    }
}

/// Top-level `secrets:`/`configs:` key -> Docker object name (`name:` when given, else the key).
fn object_names(file: &Mapping, section: &str) -> BTreeMap<String, String> {
    let Some(Value::Mapping(objects)) = file.get(section) else { return BTreeMap::new() };
    objects
        .iter()
        .filter_map(|(key, definition)| {
            let key = key.as_str()?;
            let name = definition.get("name").and_then(Value::as_str).unwrap_or(key);
            Some((key.to_owned(), name.to_owned()))
        })
        .collect()
}
