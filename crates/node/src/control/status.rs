//! Each managed service's status, as `/status` and `ledgerops_service_info` show it, built at
//! the end of every reconcile pass from what the pass saw.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use ledgerops_reconcile::{Desired, Observed, Plan, Step, by_service};
use ledgerops_registry::{RegistryState, ServiceName};

use super::rollouts::Rollouts;
use crate::serve::ServiceStatus;
use crate::serve::metrics::{Metrics, ServiceLabels};

/// What the pass saw, and what the controller remembers.
pub struct Seen<'a> {
    /// The registry state.
    pub state: &'a RegistryState,
    /// This node's desired services.
    pub desired: &'a [Desired],
    /// The managed Swarm services.
    pub observed: &'a [Observed],
    /// The pass's plan.
    pub plan: &'a Plan,
    /// Verdicts and watches.
    pub rollouts: &'a Rollouts,
    /// The last action and error of each service.
    pub last: &'a BTreeMap<String, (String, Option<String>)>,
}

/// The status of every desired or managed service, by Swarm name; sets `service_info` to match.
pub fn statuses(seen: &Seen<'_>, metrics: &Metrics) -> Vec<ServiceStatus> {
    let out_of_sync: BTreeSet<&str> = seen
        .plan
        .steps
        .iter()
        .map(|s| match s {
            Step::Create { desired, .. } | Step::Update { desired, .. } => desired.swarm_name.as_str(),
            Step::Remove { swarm_name, .. } => swarm_name.as_str(),
        })
        .collect();
    let held: BTreeMap<&str, &str> =
        seen.plan.held.iter().map(|h| (h.swarm_name.as_str(), h.reason.as_str())).collect();
    let observed = by_service(seen.observed);
    let desired_names: HashSet<&str> = seen.desired.iter().map(|d| d.swarm_name.as_str()).collect();
    let mut out = Vec::with_capacity(seen.desired.len());
    let mut names = Vec::with_capacity(seen.desired.len());
    for d in seen.desired {
        let o = observed.get(&d.id).copied();
        let name = seen.state.services.get(&d.id).map(|r| r.service.clone());
        let service = name.as_ref().map_or_else(|| d.swarm_name.clone(), ToString::to_string);
        names.push(name);
        let synced = !out_of_sync.contains(d.swarm_name.as_str()) && !held.contains_key(d.swarm_name.as_str());
        let last = seen.last.get(&d.swarm_name);
        let failing = last.is_some_and(|(_, error)| error.is_some());
        let health = match (held.get(d.swarm_name.as_str()), o) {
            (Some(_), _) => "Degraded",
            // Docker refused to create it (a missing secret, an image it cannot pull).
            (None, None) if failing => "Degraded",
            (None, None) => "Missing",
            (None, Some(_)) => {
                seen.rollouts.health(&d.swarm_name).unwrap_or(if synced { "Healthy" } else { "Progressing" })
            }
        };
        out.push(ServiceStatus {
            service,
            swarm_name: d.swarm_name.clone(),
            desired_revision: Some(d.revision),
            observed_revision: o.and_then(|o| o.owner).map(|owner| owner.revision),
            sync: if synced { "Synced" } else { "OutOfSync" },
            health,
            last_action: last.map(|(action, _)| action.clone()),
            last_error: held
                .get(d.swarm_name.as_str())
                .map(|r| (*r).to_owned())
                .or_else(|| last.and_then(|(_, e)| e.clone())),
        });
    }
    for o in seen.observed.iter().filter(|o| !desired_names.contains(o.swarm_name.as_str())) {
        let last = seen.last.get(&o.swarm_name);
        let name = ServiceName::from_swarm_name(&o.swarm_name);
        out.push(ServiceStatus {
            service: name.as_ref().map_or_else(|| o.swarm_name.clone(), ToString::to_string),
            swarm_name: o.swarm_name.clone(),
            desired_revision: None,
            observed_revision: o.owner.map(|owner| owner.revision),
            sync: "OutOfSync",
            health: "Healthy",
            last_action: last.map(|(action, _)| action.clone()),
            last_error: last.and_then(|(_, e)| e.clone()),
        });
        names.push(name);
    }
    metrics.service_info.clear();
    for (s, name) in out.iter().zip(names) {
        let labels = ServiceLabels {
            namespace: name.as_ref().map_or_else(String::new, |n| n.namespace.clone()),
            service: name.map_or_else(|| s.service.clone(), |n| n.name),
            revision: s.desired_revision.map_or_else(String::new, |r| r.to_string()),
            sync_status: s.sync.to_owned(),
            health_status: s.health.to_owned(),
        };
        metrics.service_info.get_or_create(&labels).set(1);
    }
    out
}
