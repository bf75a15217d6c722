//! A compose/stack file as `apply`, `diff -f` and `plan apply` read it: `-` is standard input,
//! `--env-file`s and the environment give `${VAR}` their values, and what the file holds that
//! ledgerops drops or cannot carry is said on stderr (or refuses the file).

use std::io::Read;
use std::path::{Path, PathBuf};

use ledgerops_compose::{ComposeError, ComposeFile, Options};

use crate::exit::CliError;

/// A file to read, and for which namespace.
pub(crate) struct StackInput<'a> {
    pub(crate) path: &'a Path,
    pub(crate) namespace: &'a str,
    pub(crate) sites: &'a [String],
    pub(crate) ignore_unsupported: bool,
    pub(crate) env_files: &'a [PathBuf],
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
    let mut variables = std::collections::BTreeMap::new();
    for file in input.env_files {
        let entries = dotenvy::from_path_iter(file)
            .map_err(|e| CliError::Usage(format!("--env-file {}: {e}", file.display())))?;
        for entry in entries {
            let (key, value) = entry.map_err(|e| CliError::Usage(format!("--env-file {}: {e}", file.display())))?;
            variables.insert(key, value);
        }
    }
    let base_dir = match input.path.parent() {
        Some(dir) if !stdin && !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let options = Options {
        namespace: input.namespace.to_owned(),
        default_sites: input.sites.to_vec(),
        ignore_unsupported: input.ignore_unsupported,
        variables,
        process_environment: true,
        base_dir,
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
            "warning: {shown}: not set, substituted as empty: {} (values from the environment end up on the ledger, readable by every node)",
            file.unset_variables.join(", ")
        );
    }
    Ok(file)
}
