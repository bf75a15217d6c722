//! The only crate that speaks the Docker API ([`bollard`]): it observes the Swarm services the
//! node manages and carries out the plan's steps. Everything it reads goes through
//! [`translate::observed_of`], so the pure core compares like with like.

mod adopt;
mod auth;
pub mod lease;
mod objects;
mod rollout;
pub mod translate;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future;
use std::time::Duration;

use bollard::Docker;
use bollard::query_parameters::{ListConfigsOptions, ListSecretsOptions, ListServicesOptions, UpdateServiceOptions};
use ledgerops_reconcile::observed::labels;
use ledgerops_reconcile::workload::FileRef;
use ledgerops_reconcile::{Foreign, Observed, ObservedObjects, Ownership, Step, Workload};
use ledgerops_registry::RegistryId;

pub use crate::adopt::{Adopted, Taken};
pub use crate::auth::{auth_fingerprint, registry_auth};
use crate::translate::{NetworkNames, ObjectIds, observed_of, service_spec};

/// One look at the engine: the services the node manages for its registry, and the networks,
/// configs and volumes (with the managed ones of other registries, reported and left alone).
#[derive(Debug, Clone, Default)]
pub struct Observation {
    /// The managed services of this registry.
    pub services: Vec<Observed>,
    /// Networks, the owned configs and volumes, and what is another registry's.
    pub objects: ObservedObjects,
}

/// What can go wrong with the Docker engine.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No engine answers (not running, wrong socket, restarting).
    #[error("cannot reach Docker: {0}")]
    Unreachable(String),
    /// The engine took the request and did not answer within the bound: it is wedged (a stuck
    /// `runc`, a frozen or overloaded dockerd; docs/reliability.md).
    #[error("Docker did not answer `{request}` within {}s: the engine may be wedged (docs/reliability.md)", .after.as_secs_f64())]
    Hung {
        /// The request, in Docker CLI words.
        request: &'static str,
        /// The bound it outlasted.
        after: Duration,
    },
    /// The engine is not a swarm manager.
    #[error("this Docker engine is not a swarm manager: run `docker swarm init` ({0})")]
    NotSwarm(String),
    /// A secret or config the spec names does not exist on this node.
    #[error("{kind} {name:?} does not exist on this node: create it with `docker {kind} create`")]
    MissingObject {
        /// `secret` or `config`.
        kind: &'static str,
        /// Its name.
        name: String,
    },
    /// Another writer changed the service between our read and our update.
    #[error("the service changed while it was being updated (version conflict)")]
    Conflict,
    /// Any other refusal by the engine (a bad constraint, a name in use...).
    #[error("Docker refused: {0}")]
    Refused(String),
}

impl Error {
    /// True when trying again later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Unreachable(_) | Self::Hung { .. } | Self::Conflict)
    }

    fn from_docker(e: bollard::errors::Error) -> Self {
        use bollard::errors::Error as E;
        match e {
            // bollard's own bound, a backstop behind [`Swarm::call`]'s.
            E::RequestTimeoutError => Self::Hung { request: "a request", after: Duration::from_secs(0) },
            // Engines answer a stale version with 500 "update out of sequence" (20.10) or 409.
            E::DockerResponseServerError { status_code: 409, .. } => Self::Conflict,
            E::DockerResponseServerError { message, .. } if message.contains("update out of sequence") => {
                Self::Conflict
            }
            E::DockerResponseServerError { status_code: 503, message } => Self::NotSwarm(message),
            E::DockerResponseServerError { message, .. } => Self::Refused(message),
            other => Self::Unreachable(other.to_string()),
        }
    }
}

/// Tries of one update when the engine reports a newer version than the one read.
pub const UPDATE_ATTEMPTS: usize = 3;

/// How long one Docker request may take by default before the engine is taken for wedged: far
/// longer than any request the node makes takes on a healthy engine (they read or write Swarm's
/// store; none waits for a pull or a container), short enough to say so within a resync.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// A `Result` of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The local Swarm, through one Docker connection, on behalf of one registry: what the node
/// creates carries the registry's label, and only what carries it is observed as its own.
#[derive(Debug, Clone)]
pub struct Swarm {
    docker: Docker,
    /// The longest one request may take.
    timeout: Duration,
    /// The registry the node serves.
    registry: RegistryId,
    /// Its label value, as written on every object (compared on every object at every look).
    label: std::sync::Arc<str>,
}

impl Swarm {
    /// Connects to `DOCKER_HOST` or the local socket and agrees on an API version (never a
    /// hard-coded one: edge engines differ); every request is bounded by `timeout`.
    pub async fn connect(timeout: Duration, registry: RegistryId) -> Result<Self> {
        let docker = Docker::connect_with_local_defaults().map_err(|e| Error::Unreachable(e.to_string()))?;
        Self::negotiate(docker, timeout, registry).await
    }

    /// Connects to the engine at a unix socket path; every request is bounded by `timeout`.
    pub async fn connect_socket(path: &str, timeout: Duration, registry: RegistryId) -> Result<Self> {
        let docker = Docker::connect_with_unix(path, 120, bollard::API_DEFAULT_VERSION)
            .map_err(|e| Error::Unreachable(e.to_string()))?;
        Self::negotiate(docker, timeout, registry).await
    }

    async fn negotiate(docker: Docker, timeout: Duration, registry: RegistryId) -> Result<Self> {
        // bollard bounds only the wait for a response's head, in whole seconds: a backstop.
        let docker = docker.with_timeout(timeout.saturating_mul(2).max(Duration::from_secs(1)));
        let label: std::sync::Arc<str> = registry.to_string().into();
        let swarm = Self { docker: docker.clone(), timeout, registry, label: label.clone() };
        let docker = swarm.call("version", docker.negotiate_version()).await?;
        Ok(Self { docker, timeout, registry, label })
    }

    /// Whose a managed object is, by its `labels`: `Ok` when this registry's, else the registry
    /// its label names (`None`: it has no such label, made before objects carried one).
    fn ours(&self, labels: Option<&HashMap<String, String>>) -> Result<(), Option<String>> {
        match labels.and_then(|l| l.get(labels::REGISTRY)) {
            Some(registry) if **registry == *self.label => Ok(()),
            other => Err(other.cloned()),
        }
    }

    /// Sends one request, named `request` in the error, bounded by the node's timeout from the
    /// first byte sent to the last byte read: an engine that takes a request and never answers
    /// (a stuck `runc` holds its lock) must not stall the node with it.
    async fn call<T>(
        &self,
        request: &'static str,
        sent: impl Future<Output = Result<T, bollard::errors::Error>>,
    ) -> Result<T> {
        match tokio::time::timeout(self.timeout, sent).await {
            Ok(answer) => answer.map_err(Error::from_docker),
            Err(_) => Err(Error::Hung { request, after: self.timeout }),
        }
    }

    /// The services this node manages for its registry (labelled `ledgerops.managed-by=ledgerops`
    /// and with the registry; unmanaged ones are not even read, another registry's are reported),
    /// with the networks (Swarm keeps a service's networks by id) and the configs and volumes it
    /// owns; `adopted` are the networks and volumes an operator took over (`ledgerops-node adopt`).
    pub async fn observe(&self, adopted: &Adopted) -> Result<Observation> {
        let mut objects = self.observe_objects(adopted).await?;
        let names: NetworkNames = objects.networks.iter().map(|n| (n.id.clone(), n.name.clone())).collect();
        let filter = HashMap::from([("label".to_owned(), vec![format!("{}={}", labels::MANAGED_BY, labels::MANAGER)])]);
        let options = ListServicesOptions { filters: Some(filter), status: None };
        let listed = self.call("service ls", self.docker.list_services(Some(options))).await?;
        let mut services = Vec::new();
        for service in listed {
            let spec_labels = service.spec.as_ref().and_then(|s| s.labels.as_ref());
            match self.ours(spec_labels) {
                Ok(()) => services.extend(observed_of(service, &names)),
                Err(registry) => {
                    let name = service.spec.and_then(|s| s.name).unwrap_or_default();
                    objects.foreign.push(Foreign { kind: "service", name, registry });
                }
            }
        }
        objects.foreign.sort();
        Ok(Observation { services, objects })
    }

    /// Asks the engine whether it answers at all (`GET /_ping`, no lock taken): after one request
    /// hung, tells a wedged request (a stuck `runc` of one service) from a wedged engine.
    pub async fn ping(&self) -> Result<()> {
        self.call("_ping", self.docker.ping()).await.map(drop)
    }

    /// Carries out one step.
    pub async fn apply(&self, step: &Step) -> Result<()> {
        match step {
            Step::Create { desired, workload } => {
                let spec = self.spec_for(&desired.swarm_name, &owner_of(desired), workload).await?;
                let auth = pull_auth(workload);
                self.call("service create", self.docker.create_service(spec, auth)).await.map(drop)
            }
            Step::Update { swarm_id, version, desired, workload, .. } => {
                let spec = self.spec_for(&desired.swarm_name, &owner_of(desired), workload).await?;
                self.update_rereading(swarm_id, *version, spec, pull_auth(workload)).await
            }
            Step::Remove { swarm_id, .. } => self.call("service rm", self.docker.delete_service(swarm_id)).await,
        }
    }

    /// Sends `spec` as version `version` of service `id`; a version conflict (Swarm bumps the
    /// version itself while it rolls tasks, and its allocator just after a create) re-reads the
    /// version and tries again, [`UPDATE_ATTEMPTS`] in all.
    async fn update_rereading(
        &self,
        id: &str,
        mut version: u64,
        spec: bollard::models::ServiceSpec,
        auth: Option<bollard::auth::DockerCredentials>,
    ) -> Result<()> {
        for _ in 1..UPDATE_ATTEMPTS {
            match self.update(id, version, spec.clone(), auth.clone()).await {
                Err(Error::Conflict) => {
                    let current = self.call("service inspect", self.docker.inspect_service(id, None)).await?;
                    version = current.version.and_then(|v| v.index).unwrap_or_default();
                }
                other => return other,
            }
        }
        self.update(id, version, spec, auth).await
    }

    /// Sends `spec` as version `version` of service `id`, with `auth` for its image (none: the
    /// engine keeps what the service was last sent with).
    async fn update(
        &self,
        id: &str,
        version: u64,
        spec: bollard::models::ServiceSpec,
        auth: Option<bollard::auth::DockerCredentials>,
    ) -> Result<()> {
        let version =
            i32::try_from(version).map_err(|_| Error::Refused(format!("service version {version} is out of range")))?;
        let options = UpdateServiceOptions { version, ..Default::default() };
        self.call("service update", self.docker.update_service(id, spec, options, auth)).await.map(drop)
    }

    /// Sends service `id` again as it is, with the credentials the node holds now and its tasks
    /// forced to restart: after a pull the registry refused, once a login is given (only for a
    /// service whose namespace's policy lists the image's registry).
    pub async fn retry_pull(&self, id: &str) -> Result<()> {
        let service = self.call("service inspect", self.docker.inspect_service(id, None)).await?;
        let version = service.version.and_then(|v| v.index).unwrap_or_default();
        let mut spec = service.spec.unwrap_or_default();
        if let Some(template) = spec.task_template.as_mut() {
            template.force_update = Some(template.force_update.unwrap_or(0).wrapping_add(1));
        }
        let image = spec.task_template.as_ref().and_then(|t| t.container_spec.as_ref()).and_then(|c| c.image.clone());
        let auth = image.as_deref().and_then(registry_auth);
        self.update(id, version, spec, auth).await
    }

    /// Why the engine cannot pull `image`, in the registry's words (the engine asks the registry
    /// with the node's credentials); `None` when it can. Swarm's tasks only say "No such image".
    pub async fn pull_refusal(&self, image: &str) -> Option<String> {
        let asked = self.docker.inspect_registry_image(image, registry_auth(image));
        match tokio::time::timeout(self.timeout, asked).await {
            Ok(Ok(_)) => None,
            Ok(Err(bollard::errors::Error::DockerResponseServerError { message, .. })) => Some(message),
            Ok(Err(e)) => Some(e.to_string()),
            Err(_) => Some(format!("no answer within {}s", self.timeout.as_secs_f64())),
        }
    }

    /// The Swarm spec, with the ids of the secrets and configs it names (which must exist).
    async fn spec_for(
        &self,
        name: &str,
        owner: &Ownership,
        workload: &Workload,
    ) -> Result<bollard::models::ServiceSpec> {
        let mut ids = ObjectIds::default();
        if !workload.secrets.is_empty() {
            let secrets = self.call("secret ls", self.docker.list_secrets(None::<ListSecretsOptions>)).await?;
            let known = secrets.into_iter().map(|s| (s.spec.and_then(|x| x.name), s.id));
            ids.secrets = ids_by_name("secret", &workload.secrets, known)?;
        }
        if !workload.configs.is_empty() {
            let configs = self.call("config ls", self.docker.list_configs(None::<ListConfigsOptions>)).await?;
            let known = configs.into_iter().map(|c| (c.spec.and_then(|x| x.name), c.id));
            ids.configs = ids_by_name("config", &workload.configs, known)?;
        }
        Ok(service_spec(name, owner, workload, &ids, &self.registry))
    }
}

/// The ids of the `wanted` objects among the engine's `(name, id)` pairs; names the first missing one.
fn ids_by_name(
    kind: &'static str,
    wanted: &BTreeSet<FileRef>,
    known: impl Iterator<Item = (Option<String>, Option<String>)>,
) -> Result<BTreeMap<String, String>> {
    let known: BTreeMap<String, String> = known.filter_map(|(name, id)| Some((name?, id?))).collect();
    wanted
        .iter()
        .map(|f| match known.get(&f.name) {
            Some(id) => Ok((f.name.clone(), id.clone())),
            None => Err(Error::MissingObject { kind, name: f.name.clone() }),
        })
        .collect()
}

/// The node's credentials for `workload`'s image, when its namespace's policy lists the registry.
fn pull_auth(workload: &Workload) -> Option<bollard::auth::DockerCredentials> {
    workload.pull_credentials.then(|| registry_auth(&workload.image)).flatten()
}

fn owner_of(desired: &ledgerops_reconcile::Desired) -> Ownership {
    Ownership { service: desired.id, revision: desired.revision, spec_hash: desired.spec_hash }
}
