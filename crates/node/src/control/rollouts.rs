//! Which activations of which revisions the node still has to judge, and what it found.
//!
//! An activation is watched from the moment it becomes desired until Swarm shows it converged
//! (for its monitor window) or failed; the outcome is reported on chain once. A revision the node
//! has not applied yet is not judged: an old revision label then only means "not yet".

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use alloy::primitives::B256;
use ledgerops_reconcile::{Desired, Observed, Verdict, by_service, judge};
use ledgerops_swarm::{Error as DockerError, Swarm, auth_fingerprint};
use tokio::time::Instant;

use crate::store::Store;

/// Swarm's default update monitor, used when the spec sets none.
const DEFAULT_MONITOR: Duration = Duration::from_secs(5);

/// The activation a verdict is about: what a report names, without the workload (a node that
/// starts on thousands of services watches every one of them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Activation {
    /// The registry's service id.
    pub id: B256,
    /// The Swarm service name.
    pub swarm_name: String,
    /// The revision judged.
    pub revision: u32,
    /// When it became active (the registry's audit seq).
    pub activation: u64,
}

impl From<&Desired> for Activation {
    fn from(d: &Desired) -> Self {
        Self { id: d.id, swarm_name: d.swarm_name.clone(), revision: d.revision, activation: d.activation }
    }
}

/// The verdict on an activation, which the node reports on chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The revision runs here as desired.
    Converged,
    /// It failed here: vote to roll it back.
    Failed(String),
}

/// A verdict with what the chain needs to record it (the reporter only sends it).
#[derive(Debug, Clone)]
pub struct Report {
    /// The Swarm service name, for logs.
    pub name: String,
    /// The registry's service id.
    pub service: B256,
    /// The revision.
    pub revision: u32,
    /// Its activation (audit seq), the store's key with the two above.
    pub activation: u64,
    /// The revision's placement sites (the vote re-states the commitment).
    pub sites: Vec<B256>,
    /// The rest of its commitment.
    pub workload_hash: B256,
    /// What happened.
    pub outcome: Outcome,
}

#[derive(Debug, Clone)]
struct Watch {
    desired: Activation,
    since: Instant,
    monitor: Duration,
}

/// A rollout that failed because the image's registry refused the pull: sent again when the
/// node's credentials for that registry change (an operator's `docker login`).
#[derive(Debug, Clone)]
struct PullRefused {
    watch: Watch,
    swarm_id: String,
    image: String,
    /// [`auth_fingerprint`] when the pull was refused.
    credentials: u64,
}

/// The watches, and each service's last known health.
#[derive(Debug, Default)]
pub struct Rollouts {
    watches: BTreeMap<String, Watch>,
    pull_refused: BTreeMap<String, PullRefused>,
    health: BTreeMap<String, &'static str>,
    /// Verdicts reached by this process: the store only learns of them once the report is
    /// confirmed, and a new registry state may come before that.
    judged: BTreeSet<(B256, u32, u64)>,
}

impl Rollouts {
    /// Watches every desired activation not reported yet; forgets the others.
    pub fn track(&mut self, desired: &[Desired], store: &Store) {
        let mut watches = BTreeMap::new();
        for d in desired {
            let Ok(workload) = &d.workload else { continue };
            let same = |w: &&Watch| (w.desired.revision, w.desired.activation) == (d.revision, d.activation);
            if let Some(kept) = self.watches.get(&d.swarm_name).filter(same) {
                watches.insert(d.swarm_name.clone(), kept.clone());
            } else if !self.judged.contains(&(d.id, d.revision, d.activation))
                && !store.reported(d.id, d.revision, d.activation).unwrap_or(false)
            {
                let monitor = workload.update.monitor.unwrap_or(DEFAULT_MONITOR);
                let watch = Watch { desired: d.into(), since: Instant::now(), monitor };
                watches.insert(d.swarm_name.clone(), watch);
                self.health.insert(d.swarm_name.clone(), "Progressing");
            }
        }
        self.watches = watches;
    }

    /// The node just applied `name`: its monitor window starts now.
    pub fn applied(&mut self, name: &str) {
        if let Some(watch) = self.watches.get_mut(name) {
            watch.since = Instant::now();
        }
    }

    /// Applying `name` failed in a way retrying will not fix soon (a missing secret, a refusal).
    pub fn failed_to_apply(&mut self, name: &str, reason: &str) -> Option<(Activation, Outcome)> {
        let watch = self.watches.remove(name)?;
        self.health.insert(name.to_owned(), "Degraded");
        self.judged.insert((watch.desired.id, watch.desired.revision, watch.desired.activation));
        Some((watch.desired, Outcome::Failed(reason.to_owned())))
    }

    /// True while some activation waits for a verdict.
    pub fn pending(&self) -> bool {
        !self.watches.is_empty()
    }

    /// Judges every watched activation that was applied; returns the verdicts reached.
    pub async fn check(
        &mut self,
        swarm: &Swarm,
        observed: &[Observed],
        applied: impl Fn(&Activation) -> bool,
    ) -> Result<Vec<(Activation, Outcome)>, DockerError> {
        let by_service = by_service(observed);
        let mut ready = Vec::new();
        for (name, watch) in &self.watches {
            let d = &watch.desired;
            let Some(o) = by_service.get(&d.id) else { continue };
            let labelled = o.owner.is_some_and(|owner| owner.revision == d.revision);
            if labelled || applied(d) {
                ready.push((name, watch, o.swarm_id.clone()));
            }
        }
        if ready.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<String> = ready.iter().map(|(_, _, id)| id.clone()).collect();
        let rollouts = swarm.rollouts(&ids).await?;
        let mut reached = Vec::new();
        for (name, watch, id) in ready {
            let Some(rollout) = rollouts.get(&id) else { continue };
            match judge(rollout, watch.desired.revision, watch.since.elapsed(), watch.monitor) {
                Verdict::Pending => {}
                Verdict::Converged => reached.push((name.clone(), Outcome::Converged)),
                Verdict::Failed(reason) => {
                    if rollout.pull_refused
                        && let Some(image) = by_service.get(&watch.desired.id).map(|o| o.workload.image.clone())
                    {
                        let credentials = auth_fingerprint(&image);
                        let refused = PullRefused { watch: watch.clone(), swarm_id: id.clone(), image, credentials };
                        self.pull_refused.insert(name.clone(), refused);
                    }
                    reached.push((name.clone(), Outcome::Failed(reason)));
                }
            }
        }
        Ok(reached
            .into_iter()
            .filter_map(|(name, outcome)| {
                let health = if outcome == Outcome::Converged { "Healthy" } else { "Degraded" };
                self.health.insert(name.clone(), health);
                let watch = self.watches.remove(&name)?;
                self.judged.insert((watch.desired.id, watch.desired.revision, watch.desired.activation));
                Some((watch.desired, outcome))
            })
            .collect())
    }

    /// Sends again the services whose pull was refused, where the node's credentials for the
    /// image's registry changed since; watches them again. Returns the names and the outcome of
    /// each send. Those still desired at the same activation only: a new revision replaces them.
    pub async fn retry_pulls(&mut self, swarm: &Swarm, desired: &[Desired]) -> Vec<(String, Result<(), String>)> {
        // Only those the node sends its credentials for (their namespace's policy lists the registry).
        let current: BTreeSet<(&str, u32, u64)> = desired
            .iter()
            .filter(|d| d.workload.as_ref().is_ok_and(|w| w.pull_credentials))
            .map(|d| (d.swarm_name.as_str(), d.revision, d.activation))
            .collect();
        self.pull_refused
            .retain(|name, r| current.contains(&(name.as_str(), r.watch.desired.revision, r.watch.desired.activation)));
        let changed: Vec<String> = self
            .pull_refused
            .iter()
            .filter(|(_, r)| auth_fingerprint(&r.image) != r.credentials)
            .map(|(name, _)| name.clone())
            .collect();
        let mut sent = Vec::new();
        for name in changed {
            let Some(refused) = self.pull_refused.remove(&name) else { continue };
            let result = swarm.retry_pull(&refused.swarm_id).await.map_err(|e| e.to_string());
            if result.is_ok() {
                let d = &refused.watch.desired;
                self.judged.remove(&(d.id, d.revision, d.activation));
                self.watches.insert(name.clone(), Watch { since: Instant::now(), ..refused.watch });
                self.health.insert(name.clone(), "Progressing");
            } else {
                self.pull_refused.insert(name.clone(), refused);
            }
            sent.push((name, result));
        }
        sent
    }

    /// The last known health of `name`, if judged or watched.
    pub fn health(&self, name: &str) -> Option<&'static str> {
        self.health.get(name).copied()
    }
}
