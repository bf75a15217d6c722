//! The parts of a [`super::Workload`], each in the form Swarm holds it: Docker names resolved,
//! durations and sizes as numbers, sets where order does not matter.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// How Swarm runs the service's tasks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum ServiceMode {
    /// `replicas` tasks.
    #[default]
    Replicated,
    /// One task on every node the placement allows.
    Global,
    /// `replicas` tasks that run to completion.
    ReplicatedJob,
    /// One task per node that runs to completion.
    GlobalJob,
}

impl ServiceMode {
    /// The spec's word for it.
    pub fn from_word(word: Option<&str>) -> Self {
        match word {
            Some("global") => Self::Global,
            Some("replicated-job") => Self::ReplicatedJob,
            Some("global-job") => Self::GlobalJob,
            _ => Self::Replicated,
        }
    }

    /// True for the two job modes: tasks run once, to completion.
    pub fn is_job(self) -> bool {
        matches!(self, Self::ReplicatedJob | Self::GlobalJob)
    }

    /// True when the task count is Swarm's (one per node), not the spec's.
    pub fn is_global(self) -> bool {
        matches!(self, Self::Global | Self::GlobalJob)
    }
}

/// A published port.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct PortMapping {
    /// Port in the container.
    pub target: u16,
    /// Port on the node or ingress; `None` lets Swarm choose.
    pub published: Option<u16>,
    /// `tcp`, `udp` or `sctp`.
    pub protocol: String,
    /// `ingress` or `host`.
    pub mode: String,
}

/// A secret or config reference.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct FileRef {
    /// The Docker object's name.
    pub name: String,
    /// The file name in the container.
    pub target: String,
    /// Owner uid (Swarm's default: 0).
    pub uid: Option<String>,
    /// Group gid (Swarm's default: 0).
    pub gid: Option<String>,
    /// Permissions (Swarm's default: 0444).
    pub mode: Option<u32>,
}

/// A network joined, by its Docker name.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct NetworkAttachment {
    /// The network's Docker name.
    pub name: String,
    /// Other names on it.
    pub aliases: BTreeSet<String>,
}

/// A mount into the containers.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct MountSpec {
    /// `volume`, `bind` or `tmpfs`.
    pub kind: String,
    /// A volume's Docker name, or a bind's host path.
    pub source: Option<String>,
    /// Path in the container.
    pub target: String,
    /// Read-only.
    pub read_only: bool,
    /// Do not copy the image's files into a new volume.
    pub nocopy: bool,
    /// A new volume's driver, when not `local`.
    pub driver: Option<String>,
    /// A new volume's driver options.
    pub driver_opts: BTreeMap<String, String>,
    /// A new volume's labels (the node adds its ownership labels).
    pub labels: BTreeMap<String, String>,
    /// A bind's propagation.
    pub propagation: Option<String>,
    /// A tmpfs's size in bytes.
    pub tmpfs_size: Option<i64>,
    /// A tmpfs's permissions.
    pub tmpfs_mode: Option<u32>,
}

/// Update or rollback policy; `None` fields are Swarm's defaults and are not compared.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UpdatePolicy {
    /// Tasks at once.
    pub parallelism: Option<u64>,
    /// Pause between batches.
    pub delay: Option<Duration>,
    /// `pause`, `continue` or `rollback`.
    pub failure_action: Option<String>,
    /// How long a new task is watched.
    pub monitor: Option<Duration>,
    /// `stop-first` or `start-first`.
    pub order: Option<String>,
    /// Tolerated failure ratio, in thousandths (Swarm keeps a float).
    pub max_failure_permille: Option<u32>,
}

/// When Swarm restarts a task; `None` fields are Swarm's defaults and are not compared.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RestartPolicy {
    /// `none`, `on-failure` or `any`.
    pub condition: Option<String>,
    /// Wait between restarts.
    pub delay: Option<Duration>,
    /// Restarts before giving up.
    pub max_attempts: Option<u64>,
    /// Window in which restarts count.
    pub window: Option<Duration>,
}

/// The healthcheck override.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Healthcheck {
    /// `["CMD", ...]`, `["CMD-SHELL", cmd]` or `["NONE"]`.
    pub test: Vec<String>,
    /// Time between checks.
    pub interval: Option<Duration>,
    /// Time one check may take.
    pub timeout: Option<Duration>,
    /// Failures in a row that make the task unhealthy.
    pub retries: Option<u32>,
    /// Grace period after start.
    pub start_period: Option<Duration>,
}

/// DNS settings of the containers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DnsConfig {
    /// Name servers.
    pub servers: Vec<String>,
    /// Search domains.
    pub search: Vec<String>,
    /// Resolver options.
    pub options: Vec<String>,
}

/// The logging driver and its options.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogDriver {
    /// Driver name; empty: the engine's default.
    pub name: String,
    /// Options.
    pub options: BTreeMap<String, String>,
}
