//! Where the registry is and who signs: the connection settings `ledgerops` and `ledgerops-node`
//! share, defined once so both read them alike. Strongest first: flags, `LEDGEROPS_*`
//! environment variables (both through clap), then the same keys in a TOML config file. A key or
//! an RPC token is never read from the config file: only from a flag, the environment, or a file
//! of its own (keystore, token file).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use alloy::primitives::Address;
use alloy::signers::local::PrivateKeySigner;
use serde::Deserialize;
use serde::de::IgnoredAny;

use crate::keys::{KeyError, KeySource, load_signer, private_to_owner};
use crate::redact::redact_url;
use crate::{BearerToken, Endpoint, FeeCeiling, TrustedCa, Withheld};

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
    /// File holding the signer's hex private key, only its owner may read it (keeps the key out
    /// of the process's environment, which other processes of the same user can read).
    #[arg(
        long,
        env = "LEDGEROPS_PRIVATE_KEY_FILE",
        value_name = "FILE",
        global = true,
        conflicts_with = "private_key"
    )]
    pub private_key_file: Option<PathBuf>,
    /// Encrypted JSON keystore (as cast and geth write) of the signer.
    #[arg(long, env = "LEDGEROPS_KEYSTORE", global = true, conflicts_with_all = ["private_key", "private_key_file"])]
    pub keystore: Option<PathBuf>,
    /// File holding the keystore's password.
    #[arg(long, env = "LEDGEROPS_PASSWORD_FILE", global = true)]
    pub password_file: Option<PathBuf>,
    /// PEM file of the CA(s) that signed the RPC's TLS certificate, trusted for https:// and wss://
    /// in addition to the system's roots (private chains use private CAs).
    #[arg(long, env = "LEDGEROPS_RPC_CA_CERT", value_name = "PEM", global = true)]
    pub rpc_ca_cert: Option<PathBuf>,
    /// The most a transaction may pay per gas (30gwei, 1000wei, a plain number of gwei); 0 for a
    /// free-gas chain, where transactions carry no fee and keys need no balance [default: what
    /// the RPC suggests].
    #[arg(long, env = "LEDGEROPS_MAX_FEE", value_name = "AMOUNT", global = true)]
    pub max_fee: Option<String>,
    /// File holding a token sent to --rpc-url as `Authorization: Bearer <token>` (a JWT or an
    /// opaque token; only to --rpc-url, never to witnesses).
    #[arg(long, env = "LEDGEROPS_RPC_BEARER_TOKEN_FILE", value_name = "FILE", global = true)]
    pub rpc_bearer_token_file: Option<PathBuf>,
    /// The token itself, for CI secrets held in the environment (a flag's value shows in `ps`:
    /// prefer the variable or --rpc-bearer-token-file; never printed).
    #[arg(
        long,
        env = "LEDGEROPS_RPC_BEARER_TOKEN",
        global = true,
        hide_env_values = true,
        conflicts_with = "rpc_bearer_token_file"
    )]
    pub rpc_bearer_token: Option<String>,
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
    /// As `--private-key-file`.
    pub private_key_file: Option<PathBuf>,
    /// As `--keystore`.
    pub keystore: Option<PathBuf>,
    /// As `--password-file`.
    pub password_file: Option<PathBuf>,
    /// As `--rpc-ca-cert`.
    pub rpc_ca_cert: Option<PathBuf>,
    /// As `--max-fee`.
    pub max_fee: Option<String>,
    /// As `--rpc-bearer-token-file`.
    pub rpc_bearer_token_file: Option<PathBuf>,
}

/// A setting that cannot be used, named.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// The key cannot be loaded.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// The RPC URL has no scheme the node and CLI speak (shown redacted).
    #[error("--rpc-url {0:?} is not an http(s):// or ws(s):// URL")]
    BadRpcUrl(String),
    /// `--max-fee` is not an amount.
    #[error("{0}")]
    MaxFee(String),
    /// The CA file cannot be read or holds no usable certificate.
    #[error("--rpc-ca-cert: {0}")]
    CaCert(String),
    /// The token file cannot be read or is empty.
    #[error("--rpc-bearer-token-file {path}: {reason}")]
    TokenFile {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// The token given in a flag or the environment is empty.
    #[error("--rpc-bearer-token (LEDGEROPS_RPC_BEARER_TOKEN) is empty")]
    EmptyToken,
    /// Credentials in the URL and a token: which one the RPC gets would be a guess.
    #[error("--rpc-url carries a user and password and a bearer token was given too: give one")]
    TwoCredentials,
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
    /// The RPC endpoint, with its CA and token.
    pub rpc: Endpoint,
    /// The CA trusted for every endpoint (witnesses too), when one was given.
    pub rpc_ca: Option<TrustedCa>,
    /// When set, an RPC serving another chain is refused.
    pub chain_id: Option<u64>,
    /// The most a transaction may pay per gas.
    pub max_fee: Option<FeeCeiling>,
    /// The registry, when named (`ledgerops registry deploy` and `ledgerops-node --dev` need none).
    pub registry: Option<Address>,
    /// The signing key, when one was given.
    pub signer: Option<PrivateKeySigner>,
    /// The key, password and tokens above, which nothing published may hold.
    pub withheld: Withheld,
}

impl Connection {
    /// Merges flags and env over the file, checks the URL and loads the signer (a key is never
    /// echoed in errors).
    pub fn resolve(args: &ConnectionArgs, file: ConnectionFile) -> Result<Self, SettingsError> {
        let keystore = args.keystore.clone().or(file.keystore);
        let password_file = args.password_file.clone().or(file.password_file);
        let key_file = args.private_key_file.clone().or(file.private_key_file);
        let signer = load_signer(KeySource {
            private_key: args.private_key.as_deref(),
            private_key_file: key_file.as_deref(),
            keystore: keystore.as_deref(),
            password_file: password_file.as_deref(),
        })?;
        let rpc_url = args.rpc_url.clone().or(file.rpc_url).unwrap_or_else(|| DEFAULT_RPC_URL.into());
        if !["http://", "https://", "ws://", "wss://"].iter().any(|p| rpc_url.starts_with(p)) {
            return Err(SettingsError::BadRpcUrl(redact_url(&rpc_url)));
        }
        let rpc_ca = args.rpc_ca_cert.as_ref().or(file.rpc_ca_cert.as_ref());
        let rpc_ca = rpc_ca.map(|path| TrustedCa::load(path)).transpose().map_err(SettingsError::CaCert)?;
        let token =
            match (&args.rpc_bearer_token, args.rpc_bearer_token_file.as_ref().or(file.rpc_bearer_token_file.as_ref()))
            {
                (Some(token), _) => Some(BearerToken::new(token).ok_or(SettingsError::EmptyToken)?),
                (None, Some(path)) => Some(read_token(path)?),
                (None, None) => None,
            };
        if token.is_some() && url_has_credentials(&rpc_url) {
            return Err(SettingsError::TwoCredentials);
        }
        let withheld =
            withheld(signer.as_ref(), keystore.as_deref(), password_file.as_deref(), &rpc_url, token.as_ref());
        Ok(Self {
            rpc: Endpoint::new(rpc_url).trusting(rpc_ca.clone()).with_token(token),
            rpc_ca,
            chain_id: args.chain_id.or(file.chain_id),
            max_fee: args
                .max_fee
                .as_deref()
                .or(file.max_fee.as_deref())
                .map(FeeCeiling::parse)
                .transpose()
                .map_err(SettingsError::MaxFee)?,
            registry: args.registry.or(file.registry),
            signer,
            withheld,
        })
    }

    /// A witness endpoint: trusted with the same CA, but sent no token (witnesses are run by
    /// others, and --rpc-url's token is not theirs to see).
    pub fn witness(&self, url: &str) -> Endpoint {
        Endpoint::new(url).trusting(self.rpc_ca.clone())
    }

    /// The registry address, or an error saying how to give it.
    pub fn registry(&self) -> Result<Address, SettingsError> {
        self.registry.ok_or(SettingsError::NoRegistry)
    }
}

/// The secrets among the settings: the key, the keystore's password and ciphertext (the two
/// published together are the key), the RPC's token and its URL's password.
fn withheld(
    signer: Option<&PrivateKeySigner>,
    keystore: Option<&Path>,
    password_file: Option<&Path>,
    rpc_url: &str,
    token: Option<&BearerToken>,
) -> Withheld {
    let mut withheld = Withheld::default();
    if let Some(signer) = signer {
        withheld.add_hex("the signer's private key", &alloy::hex::encode(signer.to_bytes()));
    }
    if let Some(password) = password_file.and_then(|p| std::fs::read_to_string(p).ok()) {
        withheld.add("the keystore's password", password.trim_end_matches(['\n', '\r']));
    }
    let ciphertext = keystore
        .and_then(|p| std::fs::read(p).ok())
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
        .and_then(|json| {
            json.get("crypto").or_else(|| json.get("Crypto"))?.get("ciphertext")?.as_str().map(str::to_owned)
        });
    if let Some(ciphertext) = ciphertext {
        withheld.add_hex("the keystore's ciphertext", &ciphertext);
    }
    if let Some(token) = token {
        withheld.add("the RPC's bearer token", token.secret());
    }
    if let Some(password) = url::Url::parse(rpc_url).ok().and_then(|u| u.password().map(str::to_owned)) {
        withheld.add("the RPC URL's password", &password);
    }
    withheld
}

/// The token of `path`, a file only its owner may read, as key files.
fn read_token(path: &Path) -> Result<BearerToken, SettingsError> {
    let failed = |reason: String| SettingsError::TokenFile { path: path.display().to_string(), reason };
    private_to_owner(path)?;
    let text = std::fs::read_to_string(path).map_err(|e| failed(e.to_string()))?;
    BearerToken::new(&text).ok_or_else(|| failed("holds no token".into()))
}

/// True when `url` has a user or password: alloy sends those as basic auth.
fn url_has_credentials(url: &str) -> bool {
    url::Url::parse(url).is_ok_and(|u| !u.username().is_empty() || u.password().is_some())
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
        assert_eq!((conn.rpc.url(), conn.chain_id), ("ws://file:8546", Some(9)));
        let bare = Connection::resolve(&ConnectionArgs::default(), ConnectionFile::default()).expect("valid");
        assert_eq!(bare.rpc.url(), DEFAULT_RPC_URL);
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

    #[test]
    fn max_fee_comes_from_the_flag_over_the_file_and_a_bad_one_is_named() {
        let file = parse("max_fee = \"2gwei\"\n").connection;
        let conn = Connection::resolve(&ConnectionArgs::default(), file.clone()).expect("resolves");
        assert_eq!(conn.max_fee, Some(FeeCeiling(2_000_000_000)));
        let args = ConnectionArgs { max_fee: Some("0".into()), ..Default::default() };
        assert_eq!(Connection::resolve(&args, file).expect("resolves").max_fee, Some(FeeCeiling(0)), "free gas");
        let args = ConnectionArgs { max_fee: Some("2 gwei please".into()), ..Default::default() };
        let error = Connection::resolve(&args, ConnectionFile::default()).expect_err("not an amount");
        assert!(error.to_string().contains("--max-fee \"2 gwei please\""), "{error}");
    }

    #[test]
    fn a_bad_ca_file_a_bad_token_file_and_two_credentials_are_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let not_pem = dir.path().join("ca.pem");
        std::fs::write(&not_pem, "not a certificate\n").expect("write");
        let args = ConnectionArgs { rpc_ca_cert: Some(not_pem.clone()), ..Default::default() };
        let error = Connection::resolve(&args, ConnectionFile::default()).expect_err("no certificate");
        assert!(
            error.to_string().starts_with(&format!("--rpc-ca-cert: {} holds no PEM", not_pem.display())),
            "{error}"
        );
        let missing = dir.path().join("missing.pem");
        let file = ConnectionFile { rpc_ca_cert: Some(missing.clone()), ..Default::default() };
        let error = Connection::resolve(&ConnectionArgs::default(), file).expect_err("no file");
        assert!(error.to_string().contains(&missing.display().to_string()), "{error}");

        let token_file = dir.path().join("token");
        std::fs::write(&token_file, "\n").expect("write");
        let private = std::os::unix::fs::PermissionsExt::from_mode(0o600);
        std::fs::set_permissions(&token_file, private).expect("chmod");
        let args = ConnectionArgs { rpc_bearer_token_file: Some(token_file.clone()), ..Default::default() };
        let error = Connection::resolve(&args, ConnectionFile::default()).expect_err("empty");
        assert!(error.to_string().ends_with("token: holds no token"), "{error}");

        let args = ConnectionArgs {
            rpc_url: Some("https://ci:pa55@rpc.example".into()),
            rpc_bearer_token: Some("t0ken".into()),
            ..Default::default()
        };
        let error = Connection::resolve(&args, ConnectionFile::default()).expect_err("two credentials");
        assert!(matches!(error, SettingsError::TwoCredentials), "{error}");
        let args = ConnectionArgs { rpc_url: Some("rpc.example/?apikey=s3cret".into()), ..Default::default() };
        let error = Connection::resolve(&args, ConnectionFile::default()).expect_err("no scheme");
        assert!(!error.to_string().contains("s3cret"), "{error}");
    }

    #[test]
    fn the_token_goes_to_the_rpc_and_not_to_witnesses() {
        let args = ConnectionArgs { rpc_bearer_token: Some(" t0ken\n".into()), ..Default::default() };
        let conn = Connection::resolve(&args, ConnectionFile::default()).expect("valid");
        assert!(format!("{:?}", conn.rpc).contains("token: Some(BearerToken(***))"), "{:?}", conn.rpc);
        assert!(!format!("{:?}", conn).contains("t0ken"));
        assert!(format!("{:?}", conn.witness("https://w.example")).contains("token: None"));
    }
}
