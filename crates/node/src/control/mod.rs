//! The reconcile loop, level-triggered as in kube-runtime: a new registry state only marks the
//! services whose desired revision changed as dirty, a periodic resync marks every service, and
//! each pass plans from the whole desired and observed state but acts only on dirty services.
//! A failing service waits out its own backoff; the others go on.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::{Address, B256};
use ledgerops_reconcile::{
    Desired, Foreign, Held, NodeRules, Observed, Step, UpdateReason, desired_for, plan, plan_objects,
};
use ledgerops_registry::RegistryState;
use ledgerops_spec::{Permission, workload_hash};
use ledgerops_swarm::{Error as DockerError, Swarm};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

pub mod lease;
mod objects;
pub mod rollouts;
pub mod status;

use self::lease::Lease;
use self::objects::with_conflicts_held;
use self::rollouts::{Activation, Outcome, Report, Rollouts};
use self::status::{Seen, statuses};
use crate::outage::{Outage, backoff};
use crate::serve::Health;
use crate::serve::metrics::Metrics;
use crate::store::{Entry, Store, now_ms};

/// How often a rollout in progress is looked at.
const ROLLOUT_CHECK: Duration = Duration::from_secs(1);

/// Which services the next pass may act on.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Dirty {
    /// Every service (start, resync).
    All,
    /// These Swarm service names.
    Names(BTreeSet<String>),
}

impl Dirty {
    fn contains(&self, name: &str) -> bool {
        match self {
            Self::All => true,
            Self::Names(names) => names.contains(name),
        }
    }

    fn extend(&mut self, more: impl IntoIterator<Item = String>) {
        if let Self::Names(names) = self {
            names.extend(more);
        }
    }
}

/// A service whose last step failed: when it may be tried again.
#[derive(Debug, Clone, Copy)]
struct Retry {
    failures: u32,
    at: Instant,
}

/// Settings of the loop.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Docker's socket, when not the default.
    pub docker_socket: Option<String>,
    /// Longest wait for one Docker request.
    pub docker_timeout: Duration,
    /// Sites from the configuration.
    pub sites: BTreeSet<B256>,
    /// The node's address: its site as the registry records it is added to `sites`.
    pub node: Option<Address>,
    /// Full comparison period.
    pub resync: Duration,
    /// Longest backoff of one service.
    pub backoff_cap: Duration,
    /// Most replicas of one service this node runs.
    pub max_replicas: u32,
    /// Powers over the host this node grants on top of namespace policies.
    pub allow: BTreeSet<Permission>,
    /// The lease that makes this instance the only one acting on the Swarm, and its duration.
    pub lease: Option<(String, Duration)>,
}

/// The loop's state.
#[derive(Debug)]
pub struct Controller {
    settings: Settings,
    store: Arc<Store>,
    health: Arc<Health>,
    metrics: Arc<Metrics>,
    reports: Option<mpsc::UnboundedSender<Report>>,
    rollouts: Rollouts,
    changed_at: BTreeMap<String, Instant>,
    last: BTreeMap<String, (String, Option<String>)>,
    swarm: Option<Swarm>,
    lease: Option<Lease>,
    docker: Outage,
    docker_retry: Option<Instant>,
    state: Option<Arc<RegistryState>>,
    desired: Vec<Desired>,
    dirty: Dirty,
    retries: BTreeMap<String, Retry>,
    held: BTreeMap<String, String>,
    /// Volumes reported orphaned at the last pass.
    orphans: Vec<String>,
    /// Managed objects of other registries reported at the last pass.
    foreign: Vec<Foreign>,
    unregistered: bool,
}

impl Controller {
    /// A controller that has not read any state yet; it sends its verdicts to `reports` (none
    /// without a node key: then nothing is reported).
    pub fn new(
        settings: Settings,
        store: Arc<Store>,
        health: Arc<Health>,
        metrics: Arc<Metrics>,
        reports: Option<mpsc::UnboundedSender<Report>>,
    ) -> Self {
        let docker = Outage::new("Docker", settings.backoff_cap.min(Duration::from_secs(30)));
        let lease = settings.lease.clone().map(|(name, duration)| Lease::new(name, duration));
        Self {
            lease,
            settings,
            store,
            health,
            metrics,
            reports,
            rollouts: Rollouts::default(),
            changed_at: BTreeMap::new(),
            last: BTreeMap::new(),
            swarm: None,
            docker,
            docker_retry: None,
            state: None,
            desired: Vec::new(),
            dirty: Dirty::All,
            retries: BTreeMap::new(),
            held: BTreeMap::new(),
            orphans: Vec::new(),
            foreign: Vec::new(),
            unregistered: false,
        }
    }

    /// Runs until `shutdown` turns true; a step in flight is finished first.
    pub async fn run(
        mut self,
        mut states: watch::Receiver<Option<Arc<RegistryState>>>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let mut resync = tokio::time::interval(self.settings.resync);
        resync.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut chain_open = true;
        if let Some(state) = states.borrow_and_update().clone() {
            self.set_state(state);
        }
        loop {
            let wake = self.next_retry();
            tokio::select! {
                _ = shutdown.changed() => break,
                changed = states.changed(), if chain_open => match changed {
                    Ok(()) => {
                        if let Some(state) = states.borrow_and_update().clone() {
                            self.set_state(state);
                        }
                    }
                    Err(_) => chain_open = false,
                },
                _ = resync.tick() => self.dirty = Dirty::All,
                () = sleep_until(wake), if wake.is_some() => {}
            }
            self.reconcile(&shutdown).await;
            if *shutdown.borrow() {
                break;
            }
        }
        if let (Some(lease), Some(swarm)) = (&mut self.lease, &self.swarm) {
            lease.release(swarm).await;
        }
        tracing::info!("controller stopped");
    }

    /// Takes a new registry state; marks the services whose desired revision changed, or
    /// whose verdict did (a namespace policy now grants or refuses what the spec asks).
    fn set_state(&mut self, state: Arc<RegistryState>) {
        let rules = NodeRules {
            sites: self.sites(&state),
            max_replicas: self.settings.max_replicas,
            allow: self.settings.allow.clone(),
        };
        let desired = desired_for(&state, &rules);
        let key = |d: &Desired| (d.swarm_name.clone(), (d.revision, d.spec_hash, d.workload.is_ok()));
        let before: BTreeMap<_, _> = self.desired.iter().map(key).collect();
        let after: BTreeMap<_, _> = desired.iter().map(key).collect();
        let changed = before
            .iter()
            .filter(|(name, v)| after.get(*name) != Some(*v))
            .chain(after.iter().filter(|(name, v)| before.get(*name) != Some(*v)))
            .map(|(name, _)| name.clone())
            .collect::<Vec<_>>();
        let now = Instant::now();
        for name in &changed {
            self.changed_at.entry(name.clone()).or_insert(now);
        }
        if self.state.is_none() {
            self.dirty = Dirty::All;
        } else {
            self.dirty.extend(changed);
        }
        self.rollouts.track(&desired, &self.store);
        self.state = Some(state);
        self.desired = desired;
        self.health.update(|s| s.state_loaded = true);
    }

    fn sites(&self, state: &RegistryState) -> BTreeSet<B256> {
        let mut sites = self.settings.sites.clone();
        sites.extend(self.settings.node.and_then(|node| state.nodes.get(&node).copied()));
        sites
    }

    /// True while the node's key is not in the registry and no site is configured: the admin
    /// removed the node, or has not added it yet. Without a site the desired state would be
    /// empty and every service would be pruned; a revoked key must not tear a site down, so the
    /// node keeps what runs, acts on nothing and says so until it is registered again.
    fn hold_while_unregistered(&mut self) -> bool {
        let Some(state) = &self.state else { return false };
        let unregistered =
            self.settings.sites.is_empty() && self.settings.node.is_some_and(|node| !state.nodes.contains_key(&node));
        if unregistered != self.unregistered {
            if unregistered {
                tracing::warn!(
                    node = ?self.settings.node,
                    "this node's key is not registered in the registry (removed by its admin, or not added yet): \
                     its services keep running as they are and nothing is created, changed or removed until it is \
                     added again (`ledgerops node add`)"
                );
            } else {
                tracing::info!("this node's key is registered again: reconciling");
                self.dirty = Dirty::All;
            }
            self.unregistered = unregistered;
            self.health.update(|s| s.unregistered = unregistered);
        }
        unregistered
    }

    fn next_retry(&self) -> Option<Instant> {
        let rollout = self.rollouts.pending().then(|| Instant::now() + ROLLOUT_CHECK);
        let lease = self.lease.as_ref().map(Lease::next_check);
        self.retries.values().map(|r| r.at).chain(self.docker_retry).chain(rollout).chain(lease).min()
    }

    /// One pass: observe, plan, act on the dirty services whose backoff has passed.
    async fn reconcile(&mut self, shutdown: &watch::Receiver<bool>) {
        if self.state.is_none() || self.docker_retry.is_some_and(|at| at > Instant::now()) {
            return;
        }
        let started = Instant::now();
        let Some(swarm) = self.connect().await else { return };
        if !self.hold_lease(&swarm).await {
            return;
        }
        let adopted = self.store.adopted().unwrap_or_else(|e| {
            tracing::error!(error = %e, "cannot read which objects were adopted; taken for none this pass");
            Default::default()
        });
        let observation = match swarm.observe(&adopted).await {
            Ok(observation) => observation,
            Err(e) => return self.docker_failed(&e),
        };
        self.docker_recovered();
        if self.hold_while_unregistered() {
            return;
        }
        let observed = &observation.services;
        let objects = plan_objects(&self.desired, &observation.objects);
        let desired = with_conflicts_held(&self.desired, &objects.conflicts);
        let store = Arc::clone(&self.store);
        let applied = move |id, revision| store.applied(id, revision).unwrap_or(false);
        let plan = plan(&desired, observed, applied);
        let now = Instant::now();
        let mut planned = BTreeSet::new();
        for step in &objects.create {
            self.execute_object(&swarm, step, now, &mut planned, shutdown).await;
        }
        for step in &plan.steps {
            let name = step_name(step).to_owned();
            let waiting = self.retries.get(&name).is_some_and(|r| r.at > now);
            if self.dirty.contains(&name) && !waiting && self.may_act() && !*shutdown.borrow() {
                self.execute(&swarm, step).await;
            }
            planned.insert(name);
        }
        for step in &objects.remove {
            self.execute_object(&swarm, step, now, &mut planned, shutdown).await;
        }
        self.report_orphans(&objects.orphaned_volumes);
        self.report_foreign(&observation.objects.foreign);
        self.report_held(&plan.held);
        self.retries.retain(|name, _| planned.contains(name));
        self.changed_at.retain(|name, _| planned.contains(name));
        self.dirty = Dirty::Names(self.retries.keys().cloned().collect());
        if self.may_act() {
            self.check_rollouts(&swarm, observed).await;
            self.retry_pulls(&swarm).await;
        }
        if let Some(state) = &self.state {
            let seen = Seen {
                state,
                desired: &self.desired,
                observed,
                plan: &plan,
                rollouts: &self.rollouts,
                last: &self.last,
            };
            self.health.set_services(statuses(&seen, &self.metrics));
        }
        self.metrics.reconcile_duration.observe(started.elapsed().as_secs_f64());
        self.health.update(|s| {
            s.services = observed.len();
            s.last_reconcile_ms = Some(now_ms());
        });
    }

    /// Judges the rollouts in progress and reports the verdicts reached.
    async fn check_rollouts(&mut self, swarm: &Swarm, observed: &[Observed]) {
        let store = Arc::clone(&self.store);
        let applied = move |d: &Activation| store.applied(d.id, d.revision).unwrap_or(false);
        match self.rollouts.check(swarm, observed, applied).await {
            Ok(verdicts) => {
                for (desired, outcome) in verdicts {
                    self.report(&desired, outcome);
                }
            }
            Err(e) if e.is_transient() => self.docker_failed(&e),
            Err(e) => {
                self.count_docker_error(&e);
                tracing::warn!(error = %e, "cannot read how the rollouts in progress go; looked at again next pass");
            }
        }
    }

    /// Sends again, with the credentials the node holds now, the services whose image's registry
    /// refused the pull, once those credentials changed; journals each.
    async fn retry_pulls(&mut self, swarm: &Swarm) {
        for (name, result) in self.rollouts.retry_pulls(swarm, &self.desired).await {
            let revision = self.desired.iter().find(|d| d.swarm_name == name).map(|d| d.revision);
            let detail = match &result {
                Ok(()) => "the node's credentials for the image's registry changed: sent again with them".to_owned(),
                Err(e) => format!("sending it again with the node's new registry credentials failed: {e}"),
            };
            tracing::info!(service = %name, "{detail}");
            let result = if result.is_ok() { "ok" } else { "error" };
            let entry = Entry {
                at: now_ms(),
                service: name,
                revision,
                action: "pull retried".into(),
                result: result.into(),
                detail,
            };
            self.note(self.store.record(&entry));
        }
    }

    /// Logs, journals and sends a verdict on chain; a failure's reason shows in `/status`.
    fn report(&mut self, desired: &Activation, outcome: Outcome) {
        let outcome = match outcome {
            Outcome::Failed(reason) => Outcome::Failed(self.credentials_hint(&desired.swarm_name, reason)),
            converged => converged,
        };
        let (action, detail) = match &outcome {
            Outcome::Converged => ("converged", format!("revision {} converged", desired.revision)),
            Outcome::Failed(reason) => ("failed", format!("revision {} failed: {reason}", desired.revision)),
        };
        if let Outcome::Failed(reason) = &outcome {
            let action = format!("revision {} failed", desired.revision);
            self.last.insert(desired.swarm_name.clone(), (action, Some(reason.clone())));
        }
        tracing::info!(service = %desired.swarm_name, revision = desired.revision, "{detail}");
        let entry = Entry {
            at: now_ms(),
            service: desired.swarm_name.clone(),
            revision: Some(desired.revision),
            action: action.into(),
            result: if matches!(outcome, Outcome::Converged) { "ok" } else { "error" }.into(),
            detail,
        };
        self.note(self.store.record(&entry));
        let Some(reports) = &self.reports else { return };
        let spec = self
            .state
            .as_ref()
            .and_then(|s| s.services.get(&desired.id))
            .and_then(|r| r.revisions.get(&desired.revision));
        let Some(spec) = spec else { return };
        let report = Report {
            name: desired.swarm_name.clone(),
            service: desired.id,
            revision: desired.revision,
            activation: desired.activation,
            sites: spec.sites.clone(),
            workload_hash: workload_hash(spec),
            outcome,
        };
        if reports.send(report).is_err() {
            tracing::error!("the reporter stopped; verdicts are not sent on chain");
        }
    }

    /// `reason` of a failed rollout of `name`, with why the node did not send its credentials for
    /// the image's registry when it holds some and the namespace's policy does not list it.
    fn credentials_hint(&self, name: &str, reason: String) -> String {
        let workload = self.desired.iter().find(|d| d.swarm_name == name).and_then(|d| d.workload.as_ref().ok());
        let Some(workload) = workload.filter(|w| !w.pull_credentials) else { return reason };
        let registry = ledgerops_spec::registry_of(&workload.image);
        if ledgerops_swarm::registry_auth(&workload.image).is_none() {
            return reason;
        }
        let namespace = name.split_once('_').map_or(name, |(namespace, _)| namespace);
        format!(
            "{reason} (this node holds credentials for {registry} and sends them only for namespaces whose policy \
             lists it: ledgerops namespace policy {namespace} --image-registry {registry})"
        )
    }

    async fn connect(&mut self) -> Option<Swarm> {
        if let Some(swarm) = &self.swarm {
            return Some(swarm.clone());
        }
        // Bound once the chain was first read, which comes before any state to act on.
        let registry = match self.store.registry() {
            Ok(Some(registry)) => registry,
            Ok(None) => return None,
            Err(e) => {
                tracing::error!(error = %e, "cannot read which registry the store follows");
                return None;
            }
        };
        let timeout = self.settings.docker_timeout;
        let connected = match &self.settings.docker_socket {
            Some(socket) => Swarm::connect_socket(socket, timeout, registry).await,
            None => Swarm::connect(timeout, registry).await,
        };
        match connected {
            Ok(swarm) => {
                self.swarm = Some(swarm.clone());
                Some(swarm)
            }
            Err(e) => {
                self.docker_failed(&e);
                None
            }
        }
    }

    /// The engine failed a request every service needs (the observation): nothing is done until
    /// it answers again, after a growing wait.
    fn docker_failed(&mut self, error: &DockerError) {
        self.count_docker_error(error);
        let wait = self.docker.failed(error);
        self.docker_retry = Some(Instant::now() + wait);
        let hung = matches!(error, DockerError::Hung { .. }).then(|| error.to_string());
        self.health.update(|s| {
            s.docker_reachable = false;
            s.docker_hung = hung;
        });
    }

    fn docker_recovered(&mut self) {
        self.docker.recovered();
        self.docker_retry = None;
        self.health.update(|s| {
            s.docker_reachable = true;
            s.docker_hung = None;
        });
    }

    /// False while the engine is taken for down or hung, or another instance holds the lease:
    /// the pass's remaining steps wait.
    fn may_act(&self) -> bool {
        self.docker_retry.is_none() && self.lease.as_ref().is_none_or(Lease::acting)
    }

    /// Takes or renews the lease when one is configured; true when this instance acts. A standby
    /// says so in /readyz and /status and does nothing else on the Swarm.
    async fn hold_lease(&mut self, swarm: &Swarm) -> bool {
        let Some(lease) = &mut self.lease else { return true };
        let refreshed = lease.refresh(swarm).await;
        let holder = if lease.acting() { Some(lease.me().to_owned()) } else { lease.other_holder().map(str::to_owned) };
        let acting = match refreshed {
            Ok(acting) => {
                self.docker_recovered();
                acting
            }
            Err(e) => {
                self.docker_failed(&e);
                return false;
            }
        };
        self.metrics.lease_held.set(i64::from(acting));
        self.health.update(|s| {
            s.standby = !acting;
            s.lease_holder = holder;
        });
        acting
    }

    /// After a step failed with `error`: an unreachable engine is down for every service; after a
    /// request that hung, the engine is asked whether it answers at all, and only if it does not
    /// is it taken for hung (a request wedged by one service's container leaves the others served).
    async fn check_engine_after(&mut self, swarm: &Swarm, error: &DockerError) {
        match error {
            DockerError::Unreachable(_) => self.docker_failed(error),
            DockerError::Hung { .. } => {
                if let Err(e) = swarm.ping().await {
                    self.docker_failed(&e);
                }
            }
            _ => {}
        }
    }

    fn count_docker_error(&self, error: &DockerError) {
        self.metrics.docker_errors.inc();
        if matches!(error, DockerError::Hung { .. }) {
            self.metrics.docker_hung.inc();
        }
    }

    async fn execute(&mut self, swarm: &Swarm, step: &Step) {
        let name = step_name(step).to_owned();
        let (action, revision, detail) = describe(step);
        let started = Instant::now();
        let result = swarm.apply(step).await;
        let took_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let entry = |result: &str, detail: String| Entry {
            at: now_ms(),
            service: name.clone(),
            revision,
            action: action.into(),
            result: result.into(),
            detail,
        };
        self.metrics.step(result.is_ok());
        let recorded = match result {
            Ok(()) => {
                tracing::info!(service = %name, revision, action, took_ms, "{detail}");
                self.retries.remove(&name);
                self.last.insert(name.clone(), (format!("{action} ok"), None));
                if let Some(changed) = self.changed_at.remove(&name) {
                    self.metrics.event_to_apply.observe(changed.elapsed().as_secs_f64());
                }
                match step {
                    Step::Update { reason: UpdateReason::Drift { .. }, .. } => {
                        self.metrics.drift_corrections.inc();
                    }
                    _ => self.rollouts.applied(&name),
                }
                if let (Some(revision), Some(id)) = (revision, applied_id(step)) {
                    self.note(self.store.mark_applied(id, revision, now_ms()));
                }
                self.store.record(&entry("ok", detail))
            }
            Err(e) => {
                self.count_docker_error(&e);
                self.last.insert(name.clone(), (format!("{action} error"), Some(e.to_string())));
                if !e.is_transient()
                    && applied_id(step).is_some()
                    && let Some((desired, outcome)) = self.rollouts.failed_to_apply(&name, &e.to_string())
                {
                    self.report(&desired, outcome);
                }
                let failures = self.retries.get(&name).map_or(1, |r| r.failures + 1);
                let wait = backoff(failures, self.settings.backoff_cap).max(Duration::from_secs(1));
                self.retries.insert(name.clone(), Retry { failures, at: Instant::now() + wait });
                if !matches!(e, DockerError::Unreachable(_)) {
                    tracing::warn!(service = %name, revision, action, error = %e, retry_in = ?wait, "{detail} failed");
                }
                self.check_engine_after(swarm, &e).await;
                self.store.record(&entry("error", format!("{detail}: {e}")))
            }
        };
        self.note(recorded);
    }

    /// Logs and journals each held service once per reason.
    fn report_held(&mut self, held: &[Held]) {
        let now: BTreeMap<String, String> = held.iter().map(|h| (h.swarm_name.clone(), h.reason.clone())).collect();
        for (name, reason) in &now {
            if self.held.get(name) != Some(reason) {
                tracing::warn!(service = %name, "left alone: {reason}");
                let revision = self.desired.iter().find(|d| &d.swarm_name == name).map(|d| d.revision);
                let entry = Entry {
                    at: now_ms(),
                    service: name.clone(),
                    revision,
                    action: "held".into(),
                    result: "error".into(),
                    detail: reason.clone(),
                };
                self.note(self.store.record(&entry));
            }
        }
        self.held = now;
    }

    /// A failed store write is logged, not fatal: Swarm is still made to match.
    fn note<T>(&self, written: Result<T, crate::store::StoreError>) {
        if let Err(e) = written {
            tracing::error!(error = %e, "cannot write the node's store");
        }
    }
}

fn step_name(step: &Step) -> &str {
    match step {
        Step::Create { desired, .. } | Step::Update { desired, .. } => &desired.swarm_name,
        Step::Remove { swarm_name, .. } => swarm_name,
    }
}

/// The revision a successful step applied for the first time, to record it.
fn applied_id(step: &Step) -> Option<B256> {
    match step {
        Step::Create { desired, .. } | Step::Update { desired, reason: UpdateReason::NewRevision { .. }, .. } => {
            Some(desired.id)
        }
        _ => None,
    }
}

/// The journal's action, revision and detail of a step.
fn describe(step: &Step) -> (&'static str, Option<u32>, String) {
    match step {
        Step::Create { desired, workload } => (
            "create",
            Some(desired.revision),
            format!("created revision {} ({}, {} replicas)", desired.revision, workload.image, workload.replicas),
        ),
        Step::Update { desired, workload, reason: UpdateReason::NewRevision { from }, .. } => (
            "update",
            Some(desired.revision),
            format!(
                "updated revision {from} -> {} ({}, {} replicas)",
                desired.revision, workload.image, workload.replicas
            ),
        ),
        Step::Update { desired, reason: UpdateReason::Drift { fields }, .. } => {
            ("drift", Some(desired.revision), format!("set back drift in {}", fields.join(", ")))
        }
        Step::Remove { .. } => ("remove", None, "removed: the registry no longer places it on this node".into()),
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
