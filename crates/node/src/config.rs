//! Settings from three places, strongest first: flags, `LEDGEROPS_*` environment variables (both
//! through clap), then a TOML file (`--config`). The connection settings (RPC, chain id, registry,
//! key) are `ledgerops_chain::settings`', the same as the CLI's. Everything is checked once, at
//! start, so a node never fails an hour later on a typo.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use ledgerops_chain::settings::refuse_unknown_keys;
use ledgerops_chain::trust::{Checkpoint, Consensus};
use ledgerops_chain::{Connection, ConnectionArgs, ConnectionFile};
use ledgerops_spec::Permission;
use serde::Deserialize;
use serde::de::IgnoredAny;

use crate::serve::token::StatusToken;
/// Where the store lives unless told otherwise (a systemd `StateDirectory=`).
pub const DEFAULT_DATA_DIR: &str = "/var/lib/ledgerops-node";
/// Where `--dev` keeps its chain and store.
pub const DEV_DATA_DIR: &str = ".ledgerops/dev-node";
const DEFAULT_LISTEN: &str = "127.0.0.1:9470";
/// The registry's default replica cap of a namespace.
const DEFAULT_MAX_REPLICAS: u32 = 100;
/// Long enough to ride out a slow renewal, short enough that a site is not left alone for long
/// after its acting instance died: a standby takes over within this, plus a sixth of it.
const DEFAULT_LEASE_DURATION: Duration = Duration::from_secs(15);

/// The node watcher: follows the registry and makes the local Docker Swarm match it.
#[derive(Debug, Parser)]
#[command(name = "ledgerops-node", version, about, long_about = None)]
pub struct Cli {
    /// What to do; without one, the node runs.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// The node's settings.
    #[command(flatten)]
    pub run: RunArgs,
}

/// Subcommands besides running.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the journal of actions the node took (works while the node runs).
    Journal(JournalArgs),
    /// Take over, once, what an earlier version made on this Swarm before objects carried their
    /// registry: a node leaves those alone until then (works while the node runs).
    Adopt(AdoptArgs),
}

/// `ledgerops-node adopt`.
#[derive(Debug, Args)]
pub struct AdoptArgs {
    /// The node's data directory: its store says which registry the objects are labelled with.
    #[arg(long, env = "LEDGEROPS_DATA_DIR", default_value = DEFAULT_DATA_DIR)]
    pub data_dir: PathBuf,
    /// Docker's unix socket; default: DOCKER_HOST or /var/run/docker.sock.
    #[arg(long, env = "LEDGEROPS_DOCKER_SOCKET")]
    pub docker_socket: Option<String>,
    /// Only list what would be taken over.
    #[arg(long)]
    pub dry_run: bool,
}

/// `ledgerops-node journal`.
#[derive(Debug, Args)]
pub struct JournalArgs {
    /// The node's data directory.
    #[arg(long, env = "LEDGEROPS_DATA_DIR", default_value = DEFAULT_DATA_DIR)]
    pub data_dir: PathBuf,
    /// Only entries of this Swarm service (`namespace_name`).
    #[arg(long)]
    pub service: Option<String>,
    /// The newest entries to show.
    #[arg(long, default_value_t = 50)]
    pub limit: u32,
    /// One JSON object per line instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line, for log shippers.
    Json,
}

/// Flags of a running node (every one also an env variable and a key of the config file).
#[derive(Debug, Args)]
pub struct RunArgs {
    /// TOML file with any of the settings (snake_case keys; no private_key).
    #[arg(long, env = "LEDGEROPS_NODE_CONFIG")]
    pub config: Option<PathBuf>,
    /// This node's edge site(s), comma-separated; default: the site the registry lists for the key.
    #[arg(long, env = "LEDGEROPS_SITE", value_delimiter = ',')]
    pub site: Vec<String>,
    /// Directory of the node's store (cursor, verified log, journal).
    #[arg(long, env = "LEDGEROPS_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Docker's unix socket; default: DOCKER_HOST or /var/run/docker.sock.
    #[arg(long, env = "LEDGEROPS_DOCKER_SOCKET")]
    pub docker_socket: Option<String>,
    /// Longest wait for one Docker request (default 30s): an engine that does not answer in time
    /// is reported hung (/readyz, metric, log) and the node goes on with what does not need it.
    #[arg(long, env = "LEDGEROPS_DOCKER_TIMEOUT")]
    pub docker_timeout: Option<humantime::Duration>,
    /// Acts on the Swarm only while holding the lease NAME, kept in the Swarm itself: however
    /// many instances run with the same NAME against one Swarm, one acts and the others stand by
    /// (run the node as a Swarm service, or on several managers).
    #[arg(long, env = "LEDGEROPS_LEASE", value_name = "NAME")]
    pub lease: Option<String>,
    /// How long a holder that stopped renewing keeps the lease before a standby takes it.
    #[arg(long, env = "LEDGEROPS_LEASE_DURATION")]
    pub lease_duration: Option<humantime::Duration>,
    /// How often every service is compared with Swarm even without a chain event (drift repair).
    #[arg(long, env = "LEDGEROPS_RESYNC")]
    pub resync: Option<humantime::Duration>,
    /// How often an http(s) RPC is asked for new blocks.
    #[arg(long, env = "LEDGEROPS_POLL_INTERVAL")]
    pub poll_interval: Option<humantime::Duration>,
    /// Blocks built on a block before the node acts on it (0 on anvil; see docs/node.md).
    #[arg(long, env = "LEDGEROPS_CONFIRMATIONS")]
    pub confirmations: Option<u64>,
    /// Another RPC endpoint of the same chain (repeat), run by someone else: a block is acted on
    /// only when --rpc-quorum endpoints, --rpc-url included, give the same hash for it
    /// (docs/security.md). Comma-separated in the environment.
    #[arg(long = "witness-rpc-url", value_name = "URL", env = "LEDGEROPS_WITNESS_RPC_URLS", value_delimiter = ',')]
    pub witness_rpc_urls: Vec<String>,
    /// Endpoints, --rpc-url included, that must agree on a block's hash (default: all of them).
    #[arg(long, env = "LEDGEROPS_RPC_QUORUM")]
    pub rpc_quorum: Option<usize>,
    /// Longest wait between two tries of a failing service.
    #[arg(long, env = "LEDGEROPS_BACKOFF_CAP")]
    pub backoff_cap: Option<humantime::Duration>,
    /// Most replicas this node runs for one service, whatever the registry allows (default 100,
    /// the registry's default cap); a revision asking for more is held with the reason.
    #[arg(long, env = "LEDGEROPS_MAX_REPLICAS")]
    pub max_replicas: Option<u32>,
    /// Powers over this host a service may have when its namespace's policy grants them too,
    /// comma-separated: docker-socket, bind, volume-driver, cap-add, sysctls, host-network,
    /// low-ports, log-driver, ulimits (default: none). A service asking for one not allowed here
    /// is held with the reason.
    #[arg(long, env = "LEDGEROPS_ALLOW", value_delimiter = ',')]
    pub allow: Vec<Permission>,
    /// A block the node trusts, `NUMBER:HASH` (its full hash, from a source of your own): history
    /// that does not hold it is refused. Kept in the store: later starts need not repeat it.
    #[arg(long, env = "LEDGEROPS_CHECKPOINT")]
    pub checkpoint: Option<Checkpoint>,
    /// `qbft`: every header acted on must carry committed seals of a quorum of the validators,
    /// whose set is read from the checkpoint's header and followed (needs --checkpoint).
    #[arg(long, env = "LEDGEROPS_CONSENSUS", value_enum)]
    pub consensus: Option<Consensus>,
    /// Address of the /healthz, /readyz, /status and /metrics endpoints.
    #[arg(long, env = "LEDGEROPS_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// File holding a token that /status and /metrics then require as `Authorization: Bearer
    /// <token>` (/healthz and /readyz stay open for probes); only its owner may read it.
    #[arg(long, env = "LEDGEROPS_STATUS_TOKEN_FILE", value_name = "FILE")]
    pub status_token_file: Option<PathBuf>,
    /// Log line format.
    #[arg(long, env = "LEDGEROPS_LOG_FORMAT", value_enum)]
    pub log_format: Option<LogFormat>,
    /// Development mode: start anvil (state in the data dir), deploy a registry, register this node
    /// at site "local" and reconcile the local Docker.
    #[arg(long)]
    pub dev: bool,
    /// Port of the anvil that --dev starts.
    #[arg(long, env = "LEDGEROPS_DEV_PORT", default_value_t = 8545)]
    pub dev_port: u16,
    /// The RPC, the registry and the node's key: an http(s):// RPC is polled, a ws(s):// one
    /// subscribed to.
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

/// The config file: the same settings as the flags (the connection's, then the node's own).
#[derive(Debug, Default, Deserialize)]
struct FileConfig {
    #[serde(flatten)]
    connection: ConnectionFile,
    site: Option<Vec<String>>,
    data_dir: Option<PathBuf>,
    docker_socket: Option<String>,
    docker_timeout: Option<String>,
    lease: Option<String>,
    lease_duration: Option<String>,
    resync: Option<String>,
    poll_interval: Option<String>,
    confirmations: Option<u64>,
    witness_rpc_urls: Option<Vec<String>>,
    rpc_quorum: Option<usize>,
    checkpoint: Option<String>,
    consensus: Option<Consensus>,
    backoff_cap: Option<String>,
    max_replicas: Option<u32>,
    allow: Option<Vec<String>>,
    listen: Option<SocketAddr>,
    status_token_file: Option<PathBuf>,
    log_format: Option<LogFormat>,
    /// Keys no setting has, refused.
    #[serde(flatten)]
    unknown: BTreeMap<String, IgnoredAny>,
}

/// A setting that cannot be used, named.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

impl ConfigError {
    fn of(error: ledgerops_chain::SettingsError) -> Self {
        Self(error.to_string())
    }
}

/// The node's checked settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// The RPC, expected chain id, registry (unset only before `--dev` deploys one) and the
    /// node's key (for attestations and votes).
    pub connection: Connection,
    /// Site names given in the configuration (may be empty: then the registry's record for the key).
    pub sites: Vec<String>,
    /// The store's directory.
    pub data_dir: PathBuf,
    /// Docker's socket, when not the default.
    pub docker_socket: Option<String>,
    /// Longest wait for one Docker request.
    pub docker_timeout: Duration,
    /// The Swarm lease this instance must hold to act, and its duration.
    pub lease: Option<(String, Duration)>,
    /// Full comparison period.
    pub resync: Duration,
    /// RPC polling period (http endpoints).
    pub poll_interval: Duration,
    /// Confirmation depth.
    pub confirmations: u64,
    /// Other endpoints that must vouch for every block acted on.
    pub witness_rpc_urls: Vec<String>,
    /// How many endpoints, the primary included, must agree (`None`: all).
    pub rpc_quorum: Option<usize>,
    /// A block the operator trusts (kept in the store once given).
    pub checkpoint: Option<Checkpoint>,
    /// Whose seals make a block final, as far as the node checks.
    pub consensus: Consensus,
    /// Backoff cap per service.
    pub backoff_cap: Duration,
    /// Replica ceiling per service.
    pub max_replicas: u32,
    /// Powers over the host this node grants on top of namespace policies.
    pub allow: BTreeSet<Permission>,
    /// Health endpoint address.
    pub listen: SocketAddr,
    /// The token /status and /metrics require, when one is configured.
    pub status_token: Option<StatusToken>,
    /// Log format.
    pub log_format: LogFormat,
    /// Development mode.
    pub dev: bool,
    /// anvil's port in development mode.
    pub dev_port: u16,
}

impl Config {
    /// Merges flags and env over the file, then checks every value.
    pub fn resolve(args: &RunArgs) -> Result<Self, ConfigError> {
        let file = match &args.config {
            Some(path) => load_file(path)?,
            None => FileConfig::default(),
        };
        let duration = |flag: Option<humantime::Duration>, key: &str, text: Option<String>, default: Duration| {
            let value = match (flag, text) {
                (Some(d), _) => d.into(),
                (None, Some(t)) => humantime::parse_duration(&t)
                    .map_err(|e| ConfigError(format!("config key {key} = {t:?}: {e} (e.g. \"30s\", \"500ms\")")))?,
                (None, None) => default,
            };
            if value.is_zero() {
                return Err(ConfigError(format!("{key} must be longer than zero")));
            }
            Ok(value)
        };
        let connection = Connection::resolve(&args.connection, file.connection).map_err(ConfigError::of)?;
        let sites = if args.site.is_empty() { file.site.unwrap_or_default() } else { args.site.clone() };
        for site in &sites {
            ledgerops_registry::site_id(site).map_err(|e| ConfigError(format!("site {site:?}: {e}")))?;
        }
        let allow = if args.allow.is_empty() {
            let words = file.allow.unwrap_or_default();
            words
                .iter()
                .map(|w| w.parse::<Permission>().map_err(|e| ConfigError(format!("config key allow: {e}"))))
                .collect::<Result<_, _>>()?
        } else {
            args.allow.iter().copied().collect()
        };
        let default_dir = if args.dev { DEV_DATA_DIR } else { DEFAULT_DATA_DIR };
        let lease = match args.lease.clone().or(file.lease.clone()) {
            Some(name) => Some((
                lease_name(name)?,
                duration(args.lease_duration, "lease_duration", file.lease_duration.clone(), DEFAULT_LEASE_DURATION)?,
            )),
            None => None,
        };
        let docker_timeout = docker_timeout(args.docker_timeout, file.docker_timeout.as_deref(), lease.as_ref())?;
        let config = Self {
            connection,
            sites,
            data_dir: args.data_dir.clone().or(file.data_dir).unwrap_or_else(|| default_dir.into()),
            docker_socket: args.docker_socket.clone().or(file.docker_socket),
            docker_timeout,
            lease,
            resync: duration(args.resync, "resync", file.resync, Duration::from_secs(30))?,
            poll_interval: duration(
                args.poll_interval,
                "poll_interval",
                file.poll_interval,
                Duration::from_millis(500),
            )?,
            confirmations: args.confirmations.or(file.confirmations).unwrap_or(0),
            witness_rpc_urls: if args.witness_rpc_urls.is_empty() {
                file.witness_rpc_urls.unwrap_or_default()
            } else {
                args.witness_rpc_urls.clone()
            },
            rpc_quorum: args.rpc_quorum.or(file.rpc_quorum),
            checkpoint: match (args.checkpoint, file.checkpoint) {
                (Some(checkpoint), _) => Some(checkpoint),
                (None, Some(text)) => Some(text.parse().map_err(ConfigError)?),
                (None, None) => None,
            },
            consensus: args.consensus.or(file.consensus).unwrap_or_default(),
            backoff_cap: duration(args.backoff_cap, "backoff_cap", file.backoff_cap, Duration::from_secs(300))?,
            max_replicas: args.max_replicas.or(file.max_replicas).unwrap_or(DEFAULT_MAX_REPLICAS),
            allow,
            listen: args.listen.or(file.listen).unwrap_or_else(|| DEFAULT_LISTEN.parse().expect("a valid address")),
            status_token: args
                .status_token_file
                .clone()
                .or(file.status_token_file)
                .map(|path| StatusToken::load(&path))
                .transpose()
                .map_err(ConfigError)?,
            log_format: args.log_format.or(file.log_format).unwrap_or_default(),
            dev: args.dev,
            dev_port: args.dev_port,
        };
        config.check()?;
        Ok(config)
    }

    fn check(&self) -> Result<(), ConfigError> {
        if self.dev {
            return Ok(());
        }
        self.connection.registry().map_err(ConfigError::of)?;
        if self.max_replicas == 0 {
            return Err(ConfigError("max_replicas must be at least 1".into()));
        }
        if self.consensus == Consensus::Qbft && self.checkpoint.is_none() {
            return Err(ConfigError(
                "--consensus qbft needs --checkpoint NUMBER:HASH: the validator set is read from that block".into(),
            ));
        }
        let endpoints = self.witness_rpc_urls.len() + 1;
        if let Some(quorum) = self.rpc_quorum
            && (quorum == 0 || quorum > endpoints)
        {
            return Err(ConfigError(format!(
                "rpc_quorum {quorum}: between 1 and the {endpoints} endpoint(s) given (--rpc-url and each --witness-rpc-url)"
            )));
        }
        if let Some(url) = self
            .witness_rpc_urls
            .iter()
            .find(|u| !["http://", "https://", "ws://", "wss://"].iter().any(|p| u.starts_with(p)))
        {
            return Err(ConfigError(format!(
                "witness RPC {:?}: use an http(s):// or ws(s):// URL",
                ledgerops_chain::redact_url(url)
            )));
        }
        if self.sites.is_empty() && self.connection.signer.is_none() {
            return Err(ConfigError(
                "no site: give --site (LEDGEROPS_SITE), or the node's key so its site is read from the registry".into(),
            ));
        }
        Ok(())
    }
}

/// The bound of one Docker request. Under a lease it must be shorter than half the lease: the
/// holder stops acting half a lease after its last renewal, a standby starts a whole lease after
/// it, so a request sent just before the holder stops must be over before anyone else may act.
/// The default there is a third of the lease.
fn docker_timeout(
    flag: Option<humantime::Duration>,
    file: Option<&str>,
    lease: Option<&(String, Duration)>,
) -> Result<Duration, ConfigError> {
    let given =
        match (flag, file) {
            (Some(d), _) => Some(Duration::from(d)),
            (None, Some(t)) => Some(humantime::parse_duration(t).map_err(|e| {
                ConfigError(format!("config key docker_timeout = {t:?}: {e} (e.g. \"30s\", \"500ms\")"))
            })?),
            (None, None) => None,
        };
    let timeout = match (given, lease) {
        (Some(t), _) if t.is_zero() => return Err(ConfigError("docker_timeout must be longer than zero".into())),
        (Some(t), Some((_, lease))) if t.saturating_mul(2) >= *lease => {
            return Err(ConfigError(format!(
                "--docker-timeout {} lets one Docker request outlive half the lease (--lease-duration {}): sent just \
                 before this instance stops acting, it could land after a standby took over; give a timeout under {} \
                 or a longer lease",
                humantime::format_duration(t),
                humantime::format_duration(*lease),
                humantime::format_duration(*lease / 2),
            )));
        }
        (Some(t), _) => t,
        (None, Some((_, lease))) => ledgerops_swarm::DEFAULT_TIMEOUT.min(*lease / 3),
        (None, None) => ledgerops_swarm::DEFAULT_TIMEOUT,
    };
    Ok(timeout)
}

/// A lease name becomes part of a Swarm service's name (`ledgerops-lease-NAME`).
fn lease_name(name: String) -> Result<String, ConfigError> {
    let fits = !name.is_empty()
        && name.len() <= 40
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        && name.as_bytes()[0].is_ascii_alphanumeric();
    if fits {
        Ok(name)
    } else {
        Err(ConfigError(format!(
            "lease {name:?}: use 1 to 40 letters, digits, '-' or '_', starting with a letter or digit"
        )))
    }
}

fn load_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError(format!("cannot read config {}: {e}", path.display())))?;
    let file: FileConfig = toml::from_str(&text).map_err(|e| ConfigError(format!("config {}: {e}", path.display())))?;
    refuse_unknown_keys(&file.unknown).map_err(|e| ConfigError(format!("config {}: {e}", path.display())))?;
    Ok(file)
}
