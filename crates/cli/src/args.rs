//! The command line, as clap reads it. The connection flags are `ledgerops_chain`'s, shared with
//! the node; they also come from the environment (`LEDGEROPS_*`) and a TOML config file
//! ([`crate::config`]).

use std::path::PathBuf;

use alloy::primitives::Address;
use clap::{Args, Parser, Subcommand};
use ledgerops_chain::ConnectionArgs;
use ledgerops_registry::ServiceName;

use crate::images::ResolveImage;

/// GitOps for Docker Swarm with a ledger as the source of truth.
#[derive(Debug, Parser)]
#[command(name = "ledgerops", version, about, propagate_version = true)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) connection: ConnectionArgs,
    /// TOML file with rpc_url, chain_id, registry, keystore, password_file, rpc_ca_cert,
    /// rpc_bearer_token_file (flags and env win over it). Read only when named: ./ledgerops.toml is not read by itself.
    #[arg(
        long,
        env = "LEDGEROPS_CONFIG",
        global = true,
        help_heading = "Connection (flags > LEDGEROPS_* env > config file)"
    )]
    pub(crate) config: Option<PathBuf>,
    /// Print one JSON document instead of human-readable text (docs/cli.md has the shapes).
    #[arg(long, global = true, help_heading = "Output")]
    pub(crate) json: bool,
    /// An image named by tag: ask its registry for the digest and publish `repo:tag@sha256:...`
    /// (always), or refuse it (never). Credentials come from the Docker config, as `docker pull`'s.
    #[arg(
        long,
        env = "LEDGEROPS_RESOLVE_IMAGE",
        global = true,
        value_enum,
        default_value_t = ResolveImage::Always,
        help_heading = "Images"
    )]
    pub(crate) resolve_image: ResolveImage,
    /// A registry spoken to over plain HTTP (repeat), as Docker's `insecure-registries`; loopback
    /// registries (127.0.0.0/8, localhost) always are.
    #[arg(long, value_name = "HOST[:PORT]", global = true, help_heading = "Images")]
    pub(crate) insecure_registry: Vec<String>,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Deploy a new registry (the signer, or --admin, becomes its admin).
    #[command(subcommand)]
    Registry(RegistryCommand),
    /// Create, freeze and unfreeze namespaces, and set their ceilings (admin).
    #[command(subcommand)]
    Namespace(NamespaceCommand),
    /// Grant or revoke a namespace's deployer role (admin).
    #[command(subcommand)]
    Deployer(DeployerCommand),
    /// Register or remove edge nodes (admin).
    #[command(subcommand)]
    Node(NodeCommand),
    /// Set the share of a service's nodes whose votes roll it back (admin).
    #[command(subcommand)]
    Quorum(QuorumCommand),
    /// Publish a new revision of a service.
    Deploy(DeployArgs),
    /// Publish every service of a compose/stack file; unchanged services get no transaction.
    Apply(ApplyArgs),
    /// Show what `deploy` or `apply -f` would change, sending nothing (exit 0: none, 1: changes, 2: error).
    Diff(DiffArgs),
    /// Simulate deploy, apply, rollback or remove in a local EVM over the chain's latest state:
    /// result or revert, gas, events, changes. Sends nothing (exit 0: none, 1: changes, 2: error or revert).
    Plan(PlanArgs),
    /// Make an earlier revision active again (default: the one before the active one).
    Rollback(RollbackCommand),
    /// Remove a service: its desired state becomes absent.
    Remove {
        /// namespace/service
        service: ServiceName,
    },
    /// Active revisions, spec summaries and what each node last reported.
    Status {
        /// namespace or namespace/service (default: everything)
        target: Option<String>,
    },
    /// Every revision, rollback and removal of a service, with actor, transaction, block and time.
    History {
        /// namespace/service
        service: ServiceName,
    },
    /// Verify or export the registry's audit hash chain.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Wait until the nodes serving a service report a revision converged; fail on a failure or rollback.
    Wait(WaitArgs),
}

#[derive(Debug, Subcommand)]
pub(crate) enum RegistryCommand {
    /// Deploy a registry and print its address.
    Deploy {
        /// Admin of the new registry (default: the signer). In production, a multisig or timelock.
        #[arg(long)]
        admin: Option<Address>,
        /// How long an admin transfer waits before the new admin can accept it (e.g. 2d, 12h):
        /// time to notice and cancel a transfer started with a stolen admin key.
        #[arg(long, default_value = "2d", value_parser = humantime::parse_duration)]
        admin_delay: std::time::Duration,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum NamespaceCommand {
    /// Create a namespace with the default ceilings.
    Create { namespace: String },
    /// Refuse deploys, rollbacks and removals in the namespace until it is unfrozen.
    Freeze { namespace: String },
    /// End a freeze.
    Unfreeze { namespace: String },
    /// Set the namespace's ceilings.
    Limits {
        namespace: String,
        /// Most replicas a service may ask for (1-10000).
        #[arg(long)]
        max_replicas: u32,
        /// Largest spec body in bytes (1-131072).
        #[arg(long)]
        max_spec_bytes: u32,
    },
    /// Set what the namespace's specs may ask of a node beyond a plain container; the policy
    /// given replaces the one before (no flags: the default, nothing beyond). Each node must
    /// also allow a power over its host (ledgerops-node --allow) before it runs one.
    Policy {
        namespace: String,
        /// Powers over the host, comma-separated: docker-socket, bind, volume-driver, cap-add,
        /// sysctls, host-network, low-ports, log-driver, ulimits.
        #[arg(long, value_delimiter = ',')]
        allow: Vec<ledgerops_spec::Permission>,
        /// Secrets, configs, networks and volumes outside the namespace its specs may use, by
        /// Docker name or prefix ending in * (its own are those named <namespace>_...).
        #[arg(long, value_delimiter = ',')]
        external: Vec<String>,
        /// Image registries the namespace's images come from, comma-separated (e.g.
        /// registry.example.com,docker.io): nodes send their credentials for these only, and no
        /// other namespace's images may come from them unless its policy lists them too.
        #[arg(long = "image-registry", value_delimiter = ',')]
        image_registries: Vec<String>,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum DeployerCommand {
    /// Let an account deploy to a namespace.
    Grant { namespace: String, account: Address },
    /// Take the role back.
    Revoke { namespace: String, account: Address },
}

#[derive(Debug, Subcommand)]
pub(crate) enum NodeCommand {
    /// Register a node's operator key at a site.
    Add {
        node: Address,
        /// The node's site label, e.g. store-042.
        #[arg(long)]
        site: String,
    },
    /// Remove a node.
    Remove { node: Address },
}

#[derive(Debug, Subcommand)]
pub(crate) enum QuorumCommand {
    /// Votes must exceed this share of the eligible nodes, in percent (50 = a strict majority).
    Set {
        /// Percent, below 100; decimals allowed down to 0.01.
        percent: f64,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum AuditCommand {
    /// Recompute the hash chain from every event and compare it with the registry's (seq, head).
    Verify,
    /// Print every audit entry, one JSON object per line, for compliance archives.
    Export {
        /// Output format; jsonl is the only one.
        #[arg(long, default_value = "jsonl")]
        format: String,
    },
}

/// A revision's spec, flag by flag, in `docker service create` terms.
#[derive(Debug, Clone, Args)]
pub(crate) struct DeployArgs {
    /// namespace/service
    pub(crate) service: ServiceName,
    /// Image: repo:tag (pinned by asking its registry, see --resolve-image) or repo[:tag]@sha256:<64 hex>.
    #[arg(long)]
    pub(crate) image: String,
    /// Sites to run on (repeat); none means every site.
    #[arg(long = "site")]
    pub(crate) sites: Vec<String>,
    #[command(flatten)]
    pub(crate) spec: SpecFlags,
    /// Publish even when the spec equals the active revision's.
    #[arg(long)]
    pub(crate) force: bool,
    #[command(flatten)]
    pub(crate) wait: WaitFlags,
}

/// `--wait` and its timeout, for the commands that publish.
#[derive(Debug, Clone, Args)]
pub(crate) struct WaitFlags {
    /// After publishing, wait for the nodes to converge (as `wait`).
    #[arg(long)]
    pub(crate) wait: bool,
    /// With --wait: how long to wait.
    #[arg(long, default_value = "5m")]
    pub(crate) timeout: String,
}

/// Everything of a spec but the service, image and sites.
#[derive(Debug, Clone, Default, Args)]
pub(crate) struct SpecFlags {
    /// Desired task count.
    #[arg(long, default_value_t = 1)]
    pub(crate) replicas: u32,
    /// Environment variable KEY=VALUE (repeat). Never a secret: use --secret.
    #[arg(long = "env")]
    pub(crate) env: Vec<String>,
    /// Published port: [PUBLISHED:]TARGET[/PROTOCOL] (repeat).
    #[arg(long = "port")]
    pub(crate) ports: Vec<String>,
    /// Docker secret by name, NAME or NAME:TARGET (repeat); it must exist on each node, and be
    /// the namespace's (<namespace>_...) or listed in its policy.
    #[arg(long = "secret")]
    pub(crate) secrets: Vec<String>,
    /// Docker config by name, NAME or NAME:TARGET (repeat).
    #[arg(long = "config-ref")]
    pub(crate) configs: Vec<String>,
    /// Swarm placement constraint within a site, e.g. node.labels.tier==edge (repeat).
    #[arg(long = "constraint")]
    pub(crate) constraints: Vec<String>,
    /// Service label KEY=VALUE (repeat).
    #[arg(long = "label")]
    pub(crate) labels: Vec<String>,
    /// Command replacing the image's entrypoint (repeat for each word).
    #[arg(long = "command")]
    pub(crate) command: Vec<String>,
    /// Argument to the command (repeat).
    #[arg(long = "arg")]
    pub(crate) args: Vec<String>,
    /// Tasks updated at once.
    #[arg(long)]
    pub(crate) update_parallelism: Option<u64>,
    /// Pause between update batches, e.g. 10s.
    #[arg(long)]
    pub(crate) update_delay: Option<String>,
    /// pause, continue or rollback.
    #[arg(long)]
    pub(crate) update_failure_action: Option<String>,
    /// How long a new task is watched for failure, e.g. 30s.
    #[arg(long)]
    pub(crate) update_monitor: Option<String>,
    /// stop-first or start-first.
    #[arg(long)]
    pub(crate) update_order: Option<String>,
    /// Healthcheck command, run with the container's shell.
    #[arg(long)]
    pub(crate) health_cmd: Option<String>,
    /// Time between healthchecks.
    #[arg(long)]
    pub(crate) health_interval: Option<String>,
    /// Time one healthcheck may take.
    #[arg(long)]
    pub(crate) health_timeout: Option<String>,
    /// Failures in a row that make a task unhealthy.
    #[arg(long)]
    pub(crate) health_retries: Option<u32>,
    /// Grace period before failures count.
    #[arg(long)]
    pub(crate) health_start_period: Option<String>,
    /// CPU limit, e.g. 0.5.
    #[arg(long)]
    pub(crate) cpus: Option<String>,
    /// Memory limit, e.g. 128M.
    #[arg(long)]
    pub(crate) memory: Option<String>,
    /// Process limit of each task.
    #[arg(long, help_heading = "Swarm (spec format 2)")]
    pub(crate) limit_pids: Option<u64>,
    /// replicated (default), global (one task per node; give --replicas 0), replicated-job or global-job.
    #[arg(long, help_heading = "Swarm (spec format 2)")]
    pub(crate) mode: Option<String>,
    /// Network to join: NAME[,alias=ALIAS]...[,external] (repeat). Without external, the
    /// namespace's own network NAME, which each node creates as <namespace>_NAME.
    #[arg(long = "network", help_heading = "Swarm (spec format 2)")]
    pub(crate) networks: Vec<String>,
    /// Mount, in docker service create's notation: type=volume|bind|tmpfs,source=S,target=T
    /// [,readonly][,volume-nocopy][,bind-propagation=P][,tmpfs-size=64M][,tmpfs-mode=1777]
    /// [,volume-driver=D][,volume-opt=K=V][,external] (repeat). A volume without external is
    /// the namespace's own, <namespace>_S; binds need the namespace's policy and each node's --allow.
    #[arg(long = "mount", help_heading = "Swarm (spec format 2)")]
    pub(crate) mounts: Vec<String>,
    /// vip (Swarm's default) or dnsrr.
    #[arg(long, help_heading = "Swarm (spec format 2)")]
    pub(crate) endpoint_mode: Option<String>,
    /// none, on-failure or any.
    #[arg(long, help_heading = "Swarm (spec format 2)")]
    pub(crate) restart_condition: Option<String>,
    /// Wait between restarts, e.g. 5s.
    #[arg(long, help_heading = "Swarm (spec format 2)")]
    pub(crate) restart_delay: Option<String>,
    /// Restarts before giving up.
    #[arg(long, help_heading = "Swarm (spec format 2)")]
    pub(crate) restart_max_attempts: Option<u64>,
    /// Window the restart attempts are counted in, e.g. 2m.
    #[arg(long, help_heading = "Swarm (spec format 2)")]
    pub(crate) restart_window: Option<String>,
    /// Share of failed tasks an update tolerates, 0 to 1.
    #[arg(long, help_heading = "Swarm (spec format 2)")]
    pub(crate) update_max_failure_ratio: Option<String>,
    /// Tasks rolled back at once.
    #[arg(long, help_heading = "Swarm (spec format 2)")]
    pub(crate) rollback_parallelism: Option<u64>,
    /// Pause between rollback batches.
    #[arg(long, help_heading = "Swarm (spec format 2)")]
    pub(crate) rollback_delay: Option<String>,
    /// pause or continue.
    #[arg(long, help_heading = "Swarm (spec format 2)")]
    pub(crate) rollback_failure_action: Option<String>,
    /// How long a rolled-back task is watched.
    #[arg(long, help_heading = "Swarm (spec format 2)")]
    pub(crate) rollback_monitor: Option<String>,
    /// stop-first or start-first.
    #[arg(long, help_heading = "Swarm (spec format 2)")]
    pub(crate) rollback_order: Option<String>,
    /// Share of failed tasks a rollback tolerates, 0 to 1.
    #[arg(long, help_heading = "Swarm (spec format 2)")]
    pub(crate) rollback_max_failure_ratio: Option<String>,
    /// CPU each task reserves on its node, e.g. 0.25.
    #[arg(long, help_heading = "Swarm (spec format 2)")]
    pub(crate) reserve_cpu: Option<String>,
    /// Memory each task reserves on its node, e.g. 64M.
    #[arg(long, help_heading = "Swarm (spec format 2)")]
    pub(crate) reserve_memory: Option<String>,
    /// Spread tasks over a node attribute: spread=node.labels.zone (repeat, in order).
    #[arg(long = "placement-pref", help_heading = "Swarm (spec format 2)")]
    pub(crate) placement_prefs: Vec<String>,
    /// Most tasks of the service on one node.
    #[arg(long, help_heading = "Swarm (spec format 2)")]
    pub(crate) replicas_max_per_node: Option<u64>,
    /// Containers' host name (Swarm's templates allowed, e.g. {{.Node.Hostname}}).
    #[arg(long, help_heading = "Swarm (spec format 2)")]
    pub(crate) hostname: Option<String>,
    /// User (and group) the process runs as, e.g. 1000:1000.
    #[arg(long, help_heading = "Swarm (spec format 2)")]
    pub(crate) user: Option<String>,
    /// Working directory.
    #[arg(long, help_heading = "Swarm (spec format 2)")]
    pub(crate) workdir: Option<String>,
    /// Signal that stops the process, e.g. SIGQUIT.
    #[arg(long, help_heading = "Swarm (spec format 2)")]
    pub(crate) stop_signal: Option<String>,
    /// Wait after the stop signal before the process is killed, e.g. 30s.
    #[arg(long, help_heading = "Swarm (spec format 2)")]
    pub(crate) stop_grace_period: Option<String>,
    /// Run an init process that reaps zombies.
    #[arg(long, help_heading = "Swarm (spec format 2)")]
    pub(crate) init: bool,
    /// Mount the root filesystem read-only.
    #[arg(long, help_heading = "Swarm (spec format 2)")]
    pub(crate) read_only: bool,
    /// DNS server (repeat).
    #[arg(long = "dns", help_heading = "Swarm (spec format 2)")]
    pub(crate) dns: Vec<String>,
    /// DNS search domain (repeat).
    #[arg(long = "dns-search", help_heading = "Swarm (spec format 2)")]
    pub(crate) dns_search: Vec<String>,
    /// DNS option, e.g. ndots:2 (repeat).
    #[arg(long = "dns-option", help_heading = "Swarm (spec format 2)")]
    pub(crate) dns_options: Vec<String>,
    /// Extra /etc/hosts entry HOST:IP (repeat).
    #[arg(long = "host", help_heading = "Swarm (spec format 2)")]
    pub(crate) hosts: Vec<String>,
    /// Logging driver, e.g. json-file.
    #[arg(long, help_heading = "Swarm (spec format 2)")]
    pub(crate) log_driver: Option<String>,
    /// Logging driver option KEY=VALUE (repeat).
    #[arg(long = "log-opt", help_heading = "Swarm (spec format 2)")]
    pub(crate) log_opts: Vec<String>,
    /// Process limit NAME=SOFT[:HARD], e.g. nofile=1024:2048 (repeat).
    #[arg(long = "ulimit", help_heading = "Swarm (spec format 2)")]
    pub(crate) ulimits: Vec<String>,
    /// Kernel parameter KEY=VALUE (repeat); needs the namespace's policy and each node's --allow.
    #[arg(long = "sysctl", help_heading = "Swarm (spec format 2)")]
    pub(crate) sysctls: Vec<String>,
    /// Capability to add, e.g. NET_ADMIN (repeat); needs the namespace's policy and each node's --allow.
    #[arg(long = "cap-add", help_heading = "Swarm (spec format 2)")]
    pub(crate) cap_add: Vec<String>,
    /// Capability to drop (repeat).
    #[arg(long = "cap-drop", help_heading = "Swarm (spec format 2)")]
    pub(crate) cap_drop: Vec<String>,
    /// Container label KEY=VALUE (repeat; --label labels the service).
    #[arg(long = "container-label", help_heading = "Swarm (spec format 2)")]
    pub(crate) container_labels: Vec<String>,
}

/// A compose/stack file and the namespace it goes to.
#[derive(Debug, Clone, Args)]
pub(crate) struct FileArgs {
    /// Compose or stack file; `-` reads standard input.
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub(crate) path: PathBuf,
    /// The namespace the file's services belong to.
    #[arg(long)]
    pub(crate) namespace: String,
    /// Sites for services whose x-ledgerops.sites names none (repeat; default: every site).
    #[arg(long = "site")]
    pub(crate) sites: Vec<String>,
    /// Also remove the namespace's services that the file no longer has.
    #[arg(long)]
    pub(crate) prune: bool,
    /// Go on without the keys ledgerops cannot carry (listed on stderr) instead of refusing the file.
    #[arg(long)]
    pub(crate) ignore_unsupported: bool,
    #[command(flatten)]
    pub(crate) handed: HandedFlags,
}

/// What a stack file may read besides itself: the variables handed to it and its project
/// directory. Everything it gets goes on the ledger, which every node reads: never secrets.
#[derive(Debug, Clone, Default, Args)]
pub(crate) struct HandedFlags {
    /// Variables for ${VAR} in the file, one KEY=VALUE per line (repeat; a later file wins).
    #[arg(long = "env-file", value_name = "FILE", requires = "path")]
    pub(crate) env_files: Vec<PathBuf>,
    /// A variable for ${VAR} in the file: NAME=VALUE, or NAME to hand over its value from this
    /// environment (repeat; wins over --env-file). Only these and --env-file reach the file.
    #[arg(long = "var", value_name = "NAME[=VALUE]", requires = "path")]
    pub(crate) vars: Vec<String>,
    /// The directory the files the stack file names (env_file, configs.*.file; relative to the
    /// stack file) may not lead out of [default: the stack file's directory].
    #[arg(long = "project-dir", value_name = "DIR", requires = "path")]
    pub(crate) project_dir: Option<PathBuf>,
}

impl FileArgs {
    /// What `stack::read` needs.
    pub(crate) fn input(&self) -> crate::stack::StackInput<'_> {
        self.handed.input(&self.path, &self.namespace, &self.sites, self.ignore_unsupported)
    }
}

impl HandedFlags {
    /// What `stack::read` needs to read the file at `path` for `namespace`.
    pub(crate) fn input<'a>(
        &'a self,
        path: &'a std::path::Path,
        namespace: &'a str,
        sites: &'a [String],
        ignore_unsupported: bool,
    ) -> crate::stack::StackInput<'a> {
        crate::stack::StackInput {
            path,
            namespace,
            sites,
            ignore_unsupported,
            env_files: &self.env_files,
            vars: &self.vars,
            project_dir: self.project_dir.as_deref(),
        }
    }
}

#[derive(Debug, Clone, Args)]
pub(crate) struct ApplyArgs {
    #[command(flatten)]
    pub(crate) file: FileArgs,
    #[command(flatten)]
    pub(crate) wait: WaitFlags,
}

/// Either a file (`-f FILE --namespace N`) or one service in `deploy`'s flags.
#[derive(Debug, Clone, Args)]
pub(crate) struct DiffArgs {
    /// Compose or stack file; `-` reads standard input.
    #[arg(short = 'f', long = "file", value_name = "FILE", requires = "namespace", conflicts_with_all = ["service", "image", "SpecFlags"])]
    pub(crate) path: Option<PathBuf>,
    /// With -f: the namespace the file's services belong to.
    #[arg(long, requires = "path")]
    pub(crate) namespace: Option<String>,
    /// With -f: also show the services the file no longer has as removals.
    #[arg(long, requires = "path")]
    pub(crate) prune: bool,
    /// With -f: go on without the keys ledgerops cannot carry.
    #[arg(long, requires = "path")]
    pub(crate) ignore_unsupported: bool,
    /// With -f: what the file may read.
    #[command(flatten)]
    pub(crate) handed: HandedFlags,
    /// namespace/service (without -f)
    #[arg(required_unless_present = "path")]
    pub(crate) service: Option<ServiceName>,
    /// Image, by tag or digest (without -f).
    #[arg(long, required_unless_present = "path")]
    pub(crate) image: Option<String>,
    /// Sites (repeat; with -f: for services whose x-ledgerops.sites names none).
    #[arg(long = "site")]
    pub(crate) sites: Vec<String>,
    #[command(flatten)]
    pub(crate) spec: SpecFlags,
}

/// `rollback`: what to make active again, and whether to wait for the fleet.
#[derive(Debug, Clone, Args)]
pub(crate) struct RollbackCommand {
    #[command(flatten)]
    pub(crate) target: RollbackArgs,
    #[command(flatten)]
    pub(crate) wait: WaitFlags,
}

/// A service and the revision to make active again.
#[derive(Debug, Clone, Args)]
pub(crate) struct RollbackArgs {
    /// namespace/service
    pub(crate) service: ServiceName,
    /// The revision to return to (default: the one before the active one).
    #[arg(long)]
    pub(crate) to: Option<u32>,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct PlanArgs {
    #[command(subcommand)]
    pub(crate) action: PlanAction,
    /// Simulate as this account (default: the signer's address).
    #[arg(long, global = true, value_name = "ADDRESS")]
    pub(crate) from: Option<Address>,
}

/// The change `plan` simulates: the same arguments as the command it stands for.
#[derive(Debug, Clone, Subcommand)]
pub(crate) enum PlanAction {
    /// What `deploy` would do.
    Deploy {
        /// namespace/service
        service: ServiceName,
        /// Image, by tag or digest.
        #[arg(long)]
        image: String,
        /// Sites to run on (repeat); none means every site.
        #[arg(long = "site")]
        sites: Vec<String>,
        #[command(flatten)]
        spec: Box<SpecFlags>,
    },
    /// What `apply -f` would do: one transaction per changed service, in order.
    Apply(FileArgs),
    /// What `rollback` would do.
    Rollback(RollbackArgs),
    /// What `remove` would do.
    Remove {
        /// namespace/service
        service: ServiceName,
    },
}

#[derive(Debug, Clone, Args)]
pub(crate) struct WaitArgs {
    /// namespace/service
    pub(crate) service: ServiceName,
    /// The revision to wait for (default: the active one).
    #[arg(long)]
    pub(crate) revision: Option<u32>,
    /// Only these sites' nodes (repeat; default: every node the revision is placed on).
    #[arg(long = "site")]
    pub(crate) sites: Vec<String>,
    /// Give up after this long, e.g. 5m or 90s.
    #[arg(long, default_value = "5m")]
    pub(crate) timeout: String,
}
