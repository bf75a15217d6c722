//! The CLI's config file: the connection keys `ledgerops_chain::settings` defines for both
//! binaries (flags and `LEDGEROPS_*` win over them), read only from `--config` (or
//! `LEDGEROPS_CONFIG`). A `./ledgerops.toml` is not read by itself: in CI the working directory
//! is the repository, and a pull request could point the deploy at another RPC, registry or key.

use std::collections::BTreeMap;
use std::path::Path;

use ledgerops_chain::settings::refuse_unknown_keys;
use ledgerops_chain::{Connection, ConnectionArgs, ConnectionFile};
use serde::Deserialize;
use serde::de::IgnoredAny;

use crate::exit::CliError;

/// The file earlier versions read when no --config was given; now only named in a warning.
const FORMER_DEFAULT: &str = "ledgerops.toml";

/// The config file: the connection keys, and nothing else.
#[derive(Debug, Default, Deserialize)]
struct FileConfig {
    #[serde(flatten)]
    connection: ConnectionFile,
    #[serde(flatten)]
    unknown: BTreeMap<String, IgnoredAny>,
}

/// Merges flags and env over the config file `config`, when one is named.
pub(crate) fn connection(args: &ConnectionArgs, config: Option<&Path>) -> Result<Connection, CliError> {
    let file = match config {
        Some(path) => load_file(path)?,
        None => {
            if Path::new(FORMER_DEFAULT).exists() {
                eprintln!(
                    "warning: ignoring ./{FORMER_DEFAULT}: a config file is read only when named \
                     (--config {FORMER_DEFAULT} or LEDGEROPS_CONFIG)"
                );
            }
            FileConfig::default()
        }
    };
    Ok(Connection::resolve(args, file.connection)?)
}

fn load_file(path: &Path) -> Result<FileConfig, CliError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::Usage(format!("cannot read config {}: {e}", path.display())))?;
    let file: FileConfig =
        toml::from_str(&text).map_err(|e| CliError::Usage(format!("config {}: {e}", path.display())))?;
    refuse_unknown_keys(&file.unknown).map_err(|e| CliError::Usage(format!("config {}: {e}", path.display())))?;
    Ok(file)
}
