//! Desired against observed: the steps that make the Swarm match, and the services left alone
//! with the reason. Level-triggered: the plan depends only on the two states (and on which
//! revisions were applied before), never on the event that woke the node.

use std::collections::BTreeMap;

use alloy::primitives::B256;

use crate::desired::Desired;
use crate::observed::{Observed, Ownership};
use crate::workload::Workload;

/// One change to the Swarm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// The service does not run here yet.
    Create {
        /// What to run.
        desired: Desired,
        /// Its workload (the valid half of `desired.workload`).
        workload: Workload,
    },
    /// The service runs, but not as desired.
    Update {
        /// Swarm's id.
        swarm_id: String,
        /// Swarm's version, for optimistic concurrency.
        version: u64,
        /// What to run.
        desired: Desired,
        /// Its workload.
        workload: Workload,
        /// Why.
        reason: UpdateReason,
    },
    /// The registry no longer places the service here (removed, or moved to other sites).
    Remove {
        /// Swarm's id.
        swarm_id: String,
        /// The Swarm service name.
        swarm_name: String,
    },
}

/// Why a service is updated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpdateReason {
    /// The registry's active revision changed (published, rolled back).
    NewRevision {
        /// The revision the Swarm service ran.
        from: u32,
    },
    /// The Swarm service was changed outside ledgerops (`docker service scale`, `update`...):
    /// these fields are set back.
    Drift {
        /// The fields that differed.
        fields: Vec<&'static str>,
    },
}

/// A service the plan leaves alone, and why (reported, never retried in a loop).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    /// The Swarm service name.
    pub swarm_name: String,
    /// The registry's service id, when known.
    pub service: Option<B256>,
    /// Why nothing is done.
    pub reason: String,
}

/// What to do, and what not to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// Changes, in service-name order, removals last.
    pub steps: Vec<Step>,
    /// Services left alone.
    pub held: Vec<Held>,
}

/// Plans the changes that make `observed` match `desired`. `applied(service, revision)` says
/// whether the node already applied that revision once: when Swarm has since rolled it back by
/// itself, it is not applied again (the failure goes to the chain instead).
pub fn plan(desired: &[Desired], observed: &[Observed], applied: impl Fn(B256, u32) -> bool) -> Plan {
    let mut out = Plan::default();
    let mut by_service: BTreeMap<B256, Vec<(Ownership, &Observed)>> = BTreeMap::new();
    for o in observed {
        match o.owner {
            Some(owner) => by_service.entry(owner.service).or_default().push((owner, o)),
            None => out.held.push(Held {
                swarm_name: o.swarm_name.clone(),
                service: None,
                reason: "its ledgerops labels are damaged; it is left alone (remove it by hand)".into(),
            }),
        }
    }
    for d in desired {
        let running = by_service.remove(&d.id).unwrap_or_default();
        let (first, extra) = match running.split_first() {
            Some((first, extra)) => (Some(*first), extra),
            None => (None, &[][..]),
        };
        for (_, duplicate) in extra {
            out.steps.push(remove(duplicate));
        }
        // Borrowed: a pass over thousands of services in step copies nothing.
        let workload = match &d.workload {
            Ok(w) => w,
            Err(reason) => {
                out.held.push(Held { swarm_name: d.swarm_name.clone(), service: Some(d.id), reason: reason.clone() });
                continue;
            }
        };
        let Some((owner, o)) = first else {
            out.steps.push(Step::Create { desired: d.clone(), workload: workload.clone() });
            continue;
        };
        let update = |reason| Step::Update {
            swarm_id: o.swarm_id.clone(),
            version: o.version,
            desired: d.clone(),
            workload: workload.clone(),
            reason,
        };
        if owner.revision == d.revision && owner.spec_hash == d.spec_hash {
            let fields = workload.differences(&o.workload);
            if !fields.is_empty() {
                out.steps.push(update(UpdateReason::Drift { fields }));
            }
        } else if applied(d.id, d.revision) && o.update_state.is_some_and(|s| s.rolled_back()) {
            out.held.push(Held {
                swarm_name: d.swarm_name.clone(),
                service: Some(d.id),
                reason: format!(
                    "Swarm rolled revision {} back to revision {}; not applied again until the registry changes",
                    d.revision, owner.revision
                ),
            });
        } else {
            out.steps.push(update(UpdateReason::NewRevision { from: owner.revision }));
        }
    }
    for (_, gone) in by_service.into_values().flatten() {
        out.steps.push(remove(gone));
    }
    out
}

fn remove(o: &Observed) -> Step {
    Step::Remove { swarm_id: o.swarm_id.clone(), swarm_name: o.swarm_name.clone() }
}
