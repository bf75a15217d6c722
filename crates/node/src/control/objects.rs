//! The controller's part in a namespace's networks and configs: created before the services that
//! need them, removed after the last one that used them, each retried on its own backoff; and the
//! services whose network definition conflicts, and the orphaned volumes, said once.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::time::Duration;

use ledgerops_reconcile::{Desired, Foreign, ObjectStep};
use ledgerops_swarm::Swarm;
use tokio::sync::watch;
use tokio::time::Instant;

use super::{Controller, Retry};
use crate::outage::backoff;
use crate::store::{Entry, now_ms};

/// `desired`, with the services named in `conflicts` held for the reason given.
pub(super) fn with_conflicts_held<'a>(desired: &'a [Desired], conflicts: &[(String, String)]) -> Cow<'a, [Desired]> {
    if conflicts.is_empty() {
        return Cow::Borrowed(desired);
    }
    let held = desired
        .iter()
        .map(|d| match conflicts.iter().find(|(name, _)| *name == d.swarm_name) {
            Some((_, reason)) => Desired { workload: Err(format!("revision {} {reason}", d.revision)), ..d.clone() },
            None => d.clone(),
        })
        .collect();
    Cow::Owned(held)
}

impl Controller {
    /// Carries out one object step unless its backoff runs; records it in `planned`.
    pub(super) async fn execute_object(
        &mut self,
        swarm: &Swarm,
        step: &ObjectStep,
        now: Instant,
        planned: &mut BTreeSet<String>,
        shutdown: &watch::Receiver<bool>,
    ) {
        let key = step.name();
        planned.insert(key.clone());
        if self.retries.get(&key).is_some_and(|r| r.at > now) || !self.may_act() || *shutdown.borrow() {
            return;
        }
        let (action, name, done) = match step {
            ObjectStep::CreateNetwork(n) => ("network", n.name.clone(), "created"),
            ObjectStep::CreateConfig(c) => ("config", c.name.clone(), "created"),
            ObjectStep::RemoveNetwork { name, .. } => {
                ("network", name.clone(), "removed: no service of its namespace joins it")
            }
            ObjectStep::RemoveConfig { name, .. } => {
                ("config", name.clone(), "removed: no service of its namespace uses it")
            }
        };
        let result = swarm.apply_object(step).await;
        self.metrics.step(result.is_ok());
        let entry = |result: &str, detail: String| Entry {
            at: now_ms(),
            service: name.clone(),
            revision: None,
            action: action.into(),
            result: result.into(),
            detail,
        };
        let recorded = match result {
            Ok(()) => {
                tracing::info!(object = %name, "{action} {done}");
                self.retries.remove(&key);
                self.store.record(&entry("ok", format!("{action} {done}")))
            }
            Err(e) => {
                self.count_docker_error(&e);
                let failures = self.retries.get(&key).map_or(1, |r| r.failures + 1);
                let wait = backoff(failures, self.settings.backoff_cap).max(Duration::from_secs(1));
                self.retries.insert(key, Retry { failures, at: Instant::now() + wait });
                tracing::warn!(object = %name, error = %e, retry_in = ?wait, "{action} not {done}");
                self.check_engine_after(swarm, &e).await;
                self.store.record(&entry("error", format!("{action} not {done}: {e}")))
            }
        };
        self.note(recorded);
    }

    /// Says, once per change, which volumes the node created and no desired service mounts any
    /// more: kept (they may hold data), shown in `/status`.
    pub(super) fn report_orphans(&mut self, orphaned: &[String]) {
        if self.orphans.as_slice() != orphaned {
            if !orphaned.is_empty() {
                tracing::warn!(volumes = ?orphaned, "volumes no desired service mounts: kept, as they may hold data; remove them by hand when done");
            }
            self.orphans = orphaned.to_vec();
            self.health.update(|s| s.orphaned_volumes = orphaned.to_vec());
        }
    }

    /// Says, once per change, which managed objects on the engine are not this registry's: left
    /// alone, shown in `/status` and counted.
    pub(super) fn report_foreign(&mut self, foreign: &[Foreign]) {
        if self.foreign.as_slice() != foreign {
            for object in foreign.iter().filter(|f| !self.foreign.contains(f)) {
                tracing::warn!("left alone: {object}");
            }
            self.foreign = foreign.to_vec();
            let shown: Vec<String> = foreign.iter().map(ToString::to_string).collect();
            self.metrics.foreign_objects.set(i64::try_from(shown.len()).unwrap_or(i64::MAX));
            self.health.update(|s| s.foreign = shown);
        }
    }
}
