//! Compose and stack files read into ledgerops service specs, for `ledgerops apply` and `diff -f`,
//! the way `docker stack deploy` reads them:
//!
//! 1. The YAML is read ([`yaml`]), with a key written twice named at its line.
//! 2. `${VAR}` is substituted from what the deployer hands over, `--env-file`s and `--var`s, never
//!    from the rest of the environment ([`interpolate`]).
//! 3. Each key is carried, ignored as Swarm ignores it, or refused ([`keys`], the table
//!    docs/cli.md shows).
//! 4. The stack's networks, volumes, configs and secrets are resolved ([`objects`]) and each
//!    service, read with [`compose_spec`], becomes a [`Spec`] ([`convert`]). A service that names
//!    no network joins the stack's `default` one, as with `docker stack deploy`.
//!
//! A few values are read around `compose_spec` 0.3.0, taken out of the service before it parses
//! it and checked by [`ledgerops_spec`] instead ([`raw`] says which and why).

mod convert;
mod files;
mod interpolate;
pub mod keys;
mod objects;
mod raw;
mod yaml;

use std::collections::BTreeMap;
use std::path::PathBuf;

use compose_spec::Service;
use ledgerops_registry::validate_service_name;
use ledgerops_spec::{Spec, SpecError};
use serde_yaml::{Mapping, Value};

pub use files::{EnvFileError, EnvFileFormat, read_env_file};
pub use interpolate::RESERVED_PREFIX;
pub use keys::{TABLE, Treatment, markdown_table};

/// A parsed file: its services in file order, and what was left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComposeFile {
    /// `(service name, spec)`, as in the file.
    pub services: Vec<(String, Spec)>,
    /// Keys Swarm ignores, dropped as `docker stack deploy` drops them: `(path, reason)`.
    pub ignored: Vec<(String, String)>,
    /// Keys refused but left out (with `ignore_unsupported`): `(path, reason)`.
    pub unsupported: Vec<(String, String)>,
    /// Variables used and not set, substituted as empty strings.
    pub unset_variables: Vec<String>,
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
    /// Keys ledgerops cannot carry (callers may choose to go on without them): `(path, reason)`.
    #[error("ledgerops cannot carry these keys: {}", .0.iter().map(|(path, why)| format!("{path} ({why})")).collect::<Vec<_>>().join("; "))]
    Unsupported(Vec<(String, String)>),
}

/// How to read a file.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The namespace the file's services go to (the stack's name).
    pub namespace: String,
    /// Sites for services whose `x-ledgerops.sites` names none (empty: every site).
    pub default_sites: Vec<String>,
    /// Go on without refused keys instead of refusing the file.
    pub ignore_unsupported: bool,
    /// Variables for `${VAR}`: only what the deployer handed over (`--env-file`, `--var`).
    pub variables: BTreeMap<String, String>,
    /// Tell a variable used and not handed over that the process environment sets apart from one
    /// set nowhere: the first refuses the file, saying how to hand it over (the CLI does; tests
    /// choose their variables).
    pub environment_hints: bool,
    /// Where relative paths (`env_file`, `configs.*.file`) start: the stack file's directory.
    pub base_dir: PathBuf,
    /// The directory they may not lead out of (`--project-dir`); `None`: `base_dir`.
    pub project_dir: Option<PathBuf>,
}

impl Options {
    /// The file `written` names at `field`, resolved inside the project directory.
    pub(crate) fn file(&self, written: &std::path::Path, field: &str) -> Result<PathBuf, ComposeError> {
        files::inside(&self.base_dir, self.project_dir.as_ref().unwrap_or(&self.base_dir), written, field)
    }

    /// A variable's value, if handed over.
    fn lookup(&self, name: &str) -> interpolate::Lookup {
        match self.variables.get(name) {
            Some(value) => interpolate::Lookup::Value(value.clone()),
            None if self.environment_hints && std::env::var_os(name).is_some() => interpolate::Lookup::NotHandedOver,
            None => interpolate::Lookup::Unset,
        }
    }
}

/// Reads a compose file's text into specs. Refuses it when it holds keys ledgerops cannot carry,
/// unless [`Options::ignore_unsupported`]; they are in [`ComposeFile::unsupported`] either way.
pub fn parse(text: &str, options: &Options) -> Result<ComposeFile, ComposeError> {
    let mut tree = yaml::read(text)?;
    let lookup = |name: &str| options.lookup(name);
    let mut variables = interpolate::Variables::new(&lookup);
    variables.interpolate(&mut tree)?;
    let Value::Mapping(mut file) = tree else {
        return Err(ComposeError::Invalid {
            path: "(file)".into(),
            message: "expected a mapping with services".into(),
        });
    };
    let sorted = keys::sort(&mut file);
    let owned = |list: Vec<(String, &str)>| list.into_iter().map(|(p, why)| (p, why.to_owned())).collect::<Vec<_>>();
    let (ignored, unsupported) = (owned(sorted.ignored), owned(sorted.refused));
    if !unsupported.is_empty() && !options.ignore_unsupported {
        return Err(ComposeError::Unsupported(unsupported));
    }
    let objects = objects::Objects::read(&mut file, options)?;
    let services = services_of(&mut file)?;
    let mut specs = Vec::new();
    for (name, mut raw) in services {
        let path = format!("services.{name}");
        validate_service_name(&options.namespace, &name)
            .map_err(|e| ComposeError::Spec { path: path.clone(), source: e.into() })?;
        let lifted = raw::Raw::take(&path, &mut raw)?;
        let service: Service = serde_path_to_error::deserialize(raw).map_err(|e| ComposeError::Invalid {
            path: join(&path, &e.path().to_string()),
            message: e.into_inner().to_string(),
        })?;
        let cx = convert::Context { path, raw: lifted, objects: &objects, options };
        specs.push((name, convert::to_spec(service, &cx)?));
    }
    Ok(ComposeFile { services: specs, ignored, unsupported, unset_variables: variables.unset.into_iter().collect() })
}

/// The services, by name in file order.
fn services_of(file: &mut Mapping) -> Result<Vec<(String, Value)>, ComposeError> {
    let services = match file.remove("services") {
        Some(Value::Mapping(services)) if !services.is_empty() => services,
        _ => return Err(ComposeError::Invalid { path: "services".into(), message: "the file has no services".into() }),
    };
    services
        .into_iter()
        .map(|(name, raw)| match name.as_str() {
            Some(name) => Ok((name.to_owned(), raw)),
            None => Err(ComposeError::Invalid {
                path: format!("services.{name:?}"),
                message: "a service name must be a string".into(),
            }),
        })
        .collect()
}

pub(crate) fn join(path: &str, inner: &str) -> String {
    if inner == "." || inner.is_empty() { path.to_owned() } else { format!("{path}.{inner}") }
}
