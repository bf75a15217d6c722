//! Connection settings from three places, strongest first: flags, `LEDGEROPS_*` environment
//! variables (both through clap), then a TOML file (`--config`, or `./ledgerops.toml` if present).

use std::path::{Path, PathBuf};

use alloy::primitives::Address;
use alloy::signers::local::PrivateKeySigner;
use ledgerops_chain::load_signer;
use serde::Deserialize;

use crate::args::ConnectionArgs;
use crate::exit::CliError;

/// The file read when no --config is given, if it exists.
const DEFAULT_CONFIG: &str = "ledgerops.toml";
/// anvil's default endpoint, used when nothing names one.
const DEFAULT_RPC_URL: &str = "http://127.0.0.1:8545";

/// The config file's keys; every one optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    rpc_url: Option<String>,
    chain_id: Option<u64>,
    registry: Option<Address>,
    keystore: Option<PathBuf>,
    password_file: Option<PathBuf>,
}

/// Settings after merging.
#[derive(Debug)]
pub(crate) struct Connection {
    pub(crate) rpc_url: String,
    /// When set, an RPC serving another chain is refused.
    pub(crate) chain_id: Option<u64>,
    pub(crate) registry: Option<Address>,
    pub(crate) signer: Option<PrivateKeySigner>,
}

impl Connection {
    /// Merges flags/env over the file and loads the signer. A key is never echoed in errors.
    pub(crate) fn resolve(args: &ConnectionArgs) -> Result<Self, CliError> {
        let file = load_file(args.config.as_deref())?;
        let keystore = args.keystore.clone().or(file.keystore);
        let password_file = args.password_file.clone().or(file.password_file);
        let signer = load_signer(args.private_key.as_deref(), keystore.as_deref(), password_file.as_deref())
            .map_err(|e| CliError::Usage(e.to_string()))?;
        Ok(Self {
            rpc_url: args.rpc_url.clone().or(file.rpc_url).unwrap_or_else(|| DEFAULT_RPC_URL.into()),
            chain_id: args.chain_id.or(file.chain_id),
            registry: args.registry.or(file.registry),
            signer,
        })
    }

    /// The registry address, or a usage error saying how to give it.
    pub(crate) fn registry(&self) -> Result<Address, CliError> {
        self.registry.ok_or_else(|| {
            CliError::Usage(
                "no registry address: give --registry, LEDGEROPS_REGISTRY or `registry` in the config file".into(),
            )
        })
    }
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
    toml::from_str(&text).map_err(|e| CliError::Usage(format!("config {}: {e}", path.display())))
}
