//! The CLI's config file: the connection keys `ledgerops_chain::settings` defines for both
//! binaries (flags and `LEDGEROPS_*` win over them), read from `--config`, or `./ledgerops.toml`
//! if present.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ledgerops_chain::settings::refuse_unknown_keys;
use ledgerops_chain::{Connection, ConnectionArgs, ConnectionFile};
use serde::Deserialize;
use serde::de::IgnoredAny;

use crate::exit::CliError;

/// The file read when no --config is given, if it exists.
const DEFAULT_CONFIG: &str = "ledgerops.toml";

/// The config file: the connection keys, and nothing else.
#[derive(Debug, Default, Deserialize)]
struct FileConfig {
    #[serde(flatten)]
    connection: ConnectionFile,
    #[serde(flatten)]
    unknown: BTreeMap<String, IgnoredAny>,
}

/// Merges flags and env over the config file (`config`, else `./ledgerops.toml` when present).
pub(crate) fn connection(args: &ConnectionArgs, config: Option<&Path>) -> Result<Connection, CliError> {
    let file = load_file(config)?;
    Ok(Connection::resolve(args, file.connection)?)
}

fn load_file(path: Option<&Path>) -> Result<FileConfig, CliError> {
    let (path, required) = match path {
        Some(p) => (p.to_path_buf(), true),
        None => (PathBuf::from(DEFAULT_CONFIG), false),
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => return Ok(FileConfig::default()),
        Err(e) => return Err(CliError::Usage(format!("cannot read config {}: {e}", path.display()))),
    };
    let file: FileConfig =
        toml::from_str(&text).map_err(|e| CliError::Usage(format!("config {}: {e}", path.display())))?;
    refuse_unknown_keys(&file.unknown).map_err(|e| CliError::Usage(format!("config {}: {e}", path.display())))?;
    Ok(file)
}
