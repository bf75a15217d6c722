//! Where the registry is and who signs: the connection settings `ledgerops` and `ledgerops-node`
//! share, defined once so both read them alike. Strongest first: flags, `LEDGEROPS_*`
//! environment variables (both through clap), then the same keys in a TOML config file. A key is
//! never read from a file: only from a flag, the environment, or a keystore.

use std::collections::BTreeMap;
use std::path::PathBuf;

use alloy::primitives::Address;
use alloy::signers::local::PrivateKeySigner;
use serde::Deserialize;
use serde::de::IgnoredAny;

use crate::keys::{KeyError, load_signer};

/// anvil's default endpoint, used when nothing names one.
pub const DEFAULT_RPC_URL: &str = "http://127.0.0.1:8545";

/// The connection flags (each also a `LEDGEROPS_*` variable and a config-file key).
#[derive(Debug, Clone, Default, clap::Args)]
#[command(next_help_heading = "Connection (flags > LEDGEROPS_* env > config file)")]
pub struct ConnectionArgs {
    /// The chain's JSON-RPC endpoint, http(s):// or ws(s):// [default: http://127.0.0.1:8545].
    #[arg(long, env = "LEDGEROPS_RPC_URL", global = true)]
    pub rpc_url: Option<String>,
    /// Refuse an RPC that serves another chain (guards against a wrong --rpc-url).
    #[arg(long, env = "LEDGEROPS_CHAIN_ID", global = true)]
    pub chain_id: Option<u64>,
    /// The registry's address.
    #[arg(long, env = "LEDGEROPS_REGISTRY", global = true)]
    pub registry: Option<Address>,
    /// Hex private key of the signer, the node's own for ledgerops-node (prefer --keystore; never printed).
    #[arg(long, env = "LEDGEROPS_PRIVATE_KEY", global = true, hide_env_values = true)]
    pub private_key: Option<String>,
    /// Encrypted JSON keystore (as cast and geth write) of the signer.
    #[arg(long, env = "LEDGEROPS_KEYSTORE", global = true, conflicts_with = "private_key")]
    pub keystore: Option<PathBuf>,
    /// File holding the keystore's password.
    #[arg(long, env = "LEDGEROPS_PASSWORD_FILE", global = true)]
    pub password_file: Option<PathBuf>,
}

/// The connection keys of a config file; every one optional. A binary's own file struct embeds
/// it with `#[serde(flatten)]`, and [`refuse_unknown_keys`] its leftovers.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ConnectionFile {
    /// As `--rpc-url`.
    pub rpc_url: Option<String>,
    /// As `--chain-id`.
    pub chain_id: Option<u64>,
    /// As `--registry`.
    pub registry: Option<Address>,
    /// As `--keystore`.
    pub keystore: Option<PathBuf>,
    /// As `--password-file`.
    pub password_file: Option<PathBuf>,
}

/// A setting that cannot be used, named.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// The key cannot be loaded.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// The RPC URL has no scheme the node and CLI speak.
    #[error("--rpc-url {0:?} is not an http(s):// or ws(s):// URL")]
    BadRpcUrl(String),
    /// No registry address anywhere.
    #[error("no registry address: give --registry, LEDGEROPS_REGISTRY or `registry` in the config file")]
    NoRegistry,
    /// A config file holds keys no setting has.
    #[error("unknown key(s) {0}: check the spelling (docs list every key)")]
    UnknownKeys(String),
}

/// The merged connection settings.
#[derive(Debug, Clone)]
pub struct Connection {
    /// The RPC endpoint.
    pub rpc_url: String,
    /// When set, an RPC serving another chain is refused.
    pub chain_id: Option<u64>,
    /// The registry, when named (`ledgerops registry deploy` and `ledgerops-node --dev` need none).
    pub registry: Option<Address>,
    /// The signing key, when one was given.
    pub signer: Option<PrivateKeySigner>,
}

impl Connection {
    /// Merges flags and env over the file, checks the URL and loads the signer (a key is never
    /// echoed in errors).
    pub fn resolve(args: &ConnectionArgs, file: ConnectionFile) -> Result<Self, SettingsError> {
        let keystore = args.keystore.clone().or(file.keystore);
        let password_file = args.password_file.clone().or(file.password_file);
        let signer = load_signer(args.private_key.as_deref(), keystore.as_deref(), password_file.as_deref())?;
        let rpc_url = args.rpc_url.clone().or(file.rpc_url).unwrap_or_else(|| DEFAULT_RPC_URL.into());
        if !["http://", "https://", "ws://", "wss://"].iter().any(|p| rpc_url.starts_with(p)) {
            return Err(SettingsError::BadRpcUrl(rpc_url));
        }
        Ok(Self {
            rpc_url,
            chain_id: args.chain_id.or(file.chain_id),
            registry: args.registry.or(file.registry),
            signer,
        })
    }

    /// The registry address, or an error saying how to give it.
    pub fn registry(&self) -> Result<Address, SettingsError> {
        self.registry.ok_or(SettingsError::NoRegistry)
    }
}

/// Refuses the keys of a config file that no setting took (a file struct collects them in a
/// last `#[serde(flatten)]` map): a misspelt key is an error, not a setting silently ignored.
pub fn refuse_unknown_keys(unknown: &BTreeMap<String, IgnoredAny>) -> Result<(), SettingsError> {
    if unknown.is_empty() {
        return Ok(());
    }
    Err(SettingsError::UnknownKeys(unknown.keys().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct File {
        #[serde(flatten)]
        connection: ConnectionFile,
        own: Option<u32>,
        #[serde(flatten)]
        unknown: BTreeMap<String, IgnoredAny>,
    }

    fn parse(text: &str) -> File {
        toml::from_str(text).expect("valid TOML")
    }

    #[test]
    fn flags_win_over_the_file_and_the_file_over_the_defaults() {
        let file = parse("rpc_url = \"ws://file:8546\"\nchain_id = 7\nown = 3\n");
        assert_eq!(file.own, Some(3));
        refuse_unknown_keys(&file.unknown).expect("every key known");
        let args = ConnectionArgs { chain_id: Some(9), ..Default::default() };
        let conn = Connection::resolve(&args, file.connection).expect("valid");
        assert_eq!((conn.rpc_url.as_str(), conn.chain_id), ("ws://file:8546", Some(9)));
        let bare = Connection::resolve(&ConnectionArgs::default(), ConnectionFile::default()).expect("valid");
        assert_eq!(bare.rpc_url, DEFAULT_RPC_URL);
        assert!(matches!(bare.registry(), Err(SettingsError::NoRegistry)));
    }

    #[test]
    fn a_misspelt_key_and_a_url_without_scheme_are_named() {
        let file = parse("rpc_urll = \"x\"\nregistry = \"0x5FbDB2315678afecb367f032d93F642f64180aa3\"\n");
        assert!(file.connection.registry.is_some());
        let error = refuse_unknown_keys(&file.unknown).expect_err("misspelt");
        assert!(error.to_string().contains("`rpc_urll`"), "{error}");
        let args = ConnectionArgs { rpc_url: Some("localhost:8545".into()), ..Default::default() };
        let error = Connection::resolve(&args, ConnectionFile::default()).expect_err("no scheme");
        assert!(error.to_string().contains("not an http(s):// or ws(s):// URL"), "{error}");
    }
}
