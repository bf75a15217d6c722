//! A compose/stack file as `apply`, `diff -f` and `plan apply` read it: `-` is standard input,
//! `--env-file`s and `--var`s give `${VAR}` their values (nothing else of the environment does),
//! the files it names are read from inside its project directory, and what the file holds that
//! ledgerops drops or cannot carry is said on stderr (or refuses the file).

use std::io::Read;
use std::path::{Path, PathBuf};

use std::collections::BTreeMap;

use ledgerops_compose::{ComposeError, ComposeFile, EnvFileFormat, Options, RESERVED_PREFIX, read_env_file};

use crate::exit::CliError;

/// A file to read, and for which namespace.
pub(crate) struct StackInput<'a> {
    pub(crate) path: &'a Path,
    pub(crate) namespace: &'a str,
    pub(crate) sites: &'a [String],
    pub(crate) ignore_unsupported: bool,
    /// `--env-file`s, in order.
    pub(crate) env_files: &'a [PathBuf],
    /// `--var`s: `NAME` or `NAME=VALUE`.
    pub(crate) vars: &'a [String],
    /// `--project-dir`.
    pub(crate) project_dir: Option<&'a Path>,
}

/// Reads and parses the file. Keys ledgerops cannot carry refuse it, unless `ignore_unsupported`;
/// keys Swarm ignores and variables not set are listed on stderr, as `docker stack deploy` does.
pub(crate) fn read(input: &StackInput<'_>) -> Result<ComposeFile, CliError> {
    let shown = input.path.display();
    let stdin = input.path == Path::new("-");
    let text = if stdin {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text).map(|_| text)
    } else {
        std::fs::read_to_string(input.path)
    }
    .map_err(|e| CliError::Usage(format!("cannot read {shown}: {e}")))?;
    let variables = handed_variables(input.env_files, input.vars)?;
    let base_dir = match input.path.parent() {
        Some(dir) if !stdin && !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let options = Options {
        namespace: input.namespace.to_owned(),
        default_sites: input.sites.to_vec(),
        ignore_unsupported: input.ignore_unsupported,
        variables,
        environment_hints: true,
        base_dir,
        project_dir: input.project_dir.map(Path::to_path_buf),
    };
    let file = ledgerops_compose::parse(&text, &options).map_err(|e| match e {
        ComposeError::Unsupported(keys) => CliError::Usage(format!(
            "{shown}: ledgerops cannot carry these keys, so it refuses the file:\n{}\n\
             (--ignore-unsupported goes on without them; docs/cli.md has the table of keys)",
            keys.iter().map(|(path, why)| format!("  {path}: {why}")).collect::<Vec<_>>().join("\n")
        )),
        other => CliError::Usage(format!("{shown}: {other}")),
    })?;
    if !file.ignored.is_empty() {
        let keys: Vec<_> = file.ignored.iter().map(|(path, _)| path.as_str()).collect();
        eprintln!("{shown}: ignoring keys Swarm ignores: {}", keys.join(", "));
    }
    if !file.unsupported.is_empty() {
        let keys: Vec<_> = file.unsupported.iter().map(|(path, _)| path.as_str()).collect();
        eprintln!("warning: {shown}: left out (--ignore-unsupported): {}", keys.join(", "));
    }
    if !file.unset_variables.is_empty() {
        eprintln!(
            "warning: {shown}: not set, substituted as empty: {} (hand a value over with --var NAME=VALUE or --env-file; it goes on the ledger, readable by every node)",
            file.unset_variables.join(", ")
        );
    }
    Ok(file)
}

/// The variables handed to the file: `env_files` in order, then `vars` over them.
fn handed_variables(env_files: &[PathBuf], vars: &[String]) -> Result<BTreeMap<String, String>, CliError> {
    let mut variables = BTreeMap::new();
    for file in env_files {
        let pairs =
            read_env_file(file, EnvFileFormat::Dotenv).map_err(|e| CliError::Usage(format!("--env-file {e}")))?;
        variables.extend(pairs);
    }
    for var in vars {
        let (name, value) = match var.split_once('=') {
            Some((name, value)) => (name, Some(value.to_owned())),
            None => (var.as_str(), std::env::var(var).ok()),
        };
        let named = name.starts_with(|c: char| c == '_' || c.is_ascii_alphabetic())
            && name.chars().all(|c| c == '_' || c.is_ascii_alphanumeric());
        if !named {
            return Err(CliError::Usage(format!("--var {name:?}: a variable is named [A-Za-z_][A-Za-z0-9_]*")));
        }
        if name.starts_with(RESERVED_PREFIX) {
            return Err(CliError::Usage(format!(
                "--var {name}: {RESERVED_PREFIX}* variables are ledgerops' own settings (keys, tokens, the RPC) and are \
                 never handed to a stack file: what it holds goes on the ledger"
            )));
        }
        // Not set here: left unset, so `${NAME:-default}` takes its default.
        if let Some(value) = value {
            variables.insert(name.to_owned(), value);
        }
    }
    Ok(variables)
}
