//! What publishing some specs would change, service by service, field by field: `diff` prints it,
//! `deploy` and `apply` carry it out. A service whose spec hashes to its active revision's
//! commitment is unchanged and gets no transaction.

use std::collections::{BTreeMap, BTreeSet};

use ledgerops_bindings::IDeploymentRegistry::ServiceSpec;
use ledgerops_registry::ServiceName;
use ledgerops_spec::{Spec, spec_hash};
use serde_json::{Value, json};

use crate::exit::CliError;
use crate::ledger::Ledger;

/// What happens to one service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    /// First revision (or back after a removal).
    Create,
    /// A new revision.
    Update,
    /// The active revision already has this spec.
    Unchanged,
    /// `--prune`: the file no longer has it; or `remove`.
    Remove,
    /// An earlier revision made active again.
    Rollback,
    /// The file no longer has it, and without `--prune` it stays.
    Keep,
}

impl Action {
    /// The word in `diff`, `apply` and their JSON.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Update => "update",
            Self::Unchanged => "unchanged",
            Self::Remove => "remove",
            Self::Rollback => "rollback",
            Self::Keep => "keep",
        }
    }

    /// True when a transaction is needed.
    pub(crate) fn changes_chain(self) -> bool {
        matches!(self, Self::Create | Self::Update | Self::Remove | Self::Rollback)
    }
}

/// One changed field: its path, old value, new value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FieldChange {
    pub(crate) field: String,
    pub(crate) from: Option<String>,
    pub(crate) to: Option<String>,
}

/// One service's planned change.
#[derive(Debug, Clone)]
pub(crate) struct ServicePlan {
    pub(crate) service: ServiceName,
    pub(crate) action: Action,
    /// The active revision now (0: none).
    pub(crate) active: u32,
    /// The spec to publish, in the form `publish` takes (none for removals and kept services).
    pub(crate) onchain: Option<ServiceSpec>,
    /// For a rollback: the revision made active again.
    pub(crate) rollback_to: Option<u32>,
    pub(crate) changes: Vec<FieldChange>,
}

/// Plans publishing `spec` as `service`. `force` turns "unchanged" into an update.
pub(crate) fn plan_service(
    ledger: &Ledger,
    service: ServiceName,
    spec: Spec,
    force: bool,
) -> Result<ServicePlan, CliError> {
    let onchain = spec.to_onchain()?;
    let policy = ledger.policy(&service.namespace)?;
    policy.check(&service.namespace, &spec, None).map_err(|e| CliError::from(e).about(&service))?;
    let proposed_hash = spec_hash(&onchain);
    let current = ledger.service(&service);
    let active_spec = current.and_then(|s| s.active_spec());
    let active = current.map_or(0, |s| s.active());
    let before = active_spec.map(|s| flatten_onchain(s, ledger)).unwrap_or_default();
    let changes = field_changes(&before, &flatten(&spec, ledger));
    let action = match active_spec {
        None => Action::Create,
        Some(s) if spec_hash(s) == proposed_hash && !force => Action::Unchanged,
        Some(_) => Action::Update,
    };
    Ok(ServicePlan { service, action, active, onchain: Some(onchain), rollback_to: None, changes })
}

/// Plans a whole file for `namespace`: each of its services, and the namespace's other live
/// services as removals (`prune`) or as kept.
pub(crate) fn plan_namespace(
    ledger: &Ledger,
    namespace: &str,
    services: Vec<(String, Spec)>,
    prune: bool,
) -> Result<Vec<ServicePlan>, CliError> {
    let mut plans = Vec::new();
    let mut named = BTreeSet::new();
    for (name, spec) in services {
        let service: ServiceName =
            format!("{namespace}/{name}").parse().map_err(|e| CliError::Usage(format!("services.{name}: {e}")))?;
        named.insert(name);
        plans.push(plan_service(ledger, service, spec, false)?);
    }
    let leftovers = ledger.services().filter(|s| s.name().namespace == namespace && s.active() != 0);
    for gone in leftovers.filter(|s| !named.contains(&s.name().name)) {
        plans.push(ServicePlan {
            service: gone.name().clone(),
            action: if prune { Action::Remove } else { Action::Keep },
            active: gone.active(),
            onchain: None,
            rollback_to: None,
            changes: Vec::new(),
        });
    }
    Ok(plans)
}

/// Plans making revision `to` of `service` active again: the fields it changes back.
pub(crate) fn plan_rollback(ledger: &Ledger, service: ServiceName, to: u32) -> ServicePlan {
    let current = ledger.service(&service);
    let before = current.and_then(|s| s.active_spec()).map(|s| flatten_onchain(s, ledger)).unwrap_or_default();
    let target = current.and_then(|s| s.record.revisions.get(&to));
    let active = current.map_or(0, |s| s.active());
    // An unknown revision changes nothing: the simulation shows the registry's refusal.
    let changes = target.map(|s| field_changes(&before, &flatten_onchain(s, ledger))).unwrap_or_default();
    ServicePlan { service, action: Action::Rollback, active, onchain: None, rollback_to: Some(to), changes }
}

/// Plans removing `service`: every field of its active spec goes.
pub(crate) fn plan_remove(ledger: &Ledger, service: ServiceName) -> ServicePlan {
    let current = ledger.service(&service);
    let before = current.and_then(|s| s.active_spec()).map(|s| flatten_onchain(s, ledger)).unwrap_or_default();
    let active = current.map_or(0, |s| s.active());
    let changes = field_changes(&before, &BTreeMap::new());
    ServicePlan { service, action: Action::Remove, active, onchain: None, rollback_to: None, changes }
}

impl ServicePlan {
    /// The plan as `diff --json` shows it.
    pub(crate) fn to_json(&self) -> Value {
        json!({
            "service": self.service.to_string(),
            "action": self.action.as_str(),
            "active_revision": self.active,
            "changes": self.changes.iter().map(|c| json!({ "field": c.field, "from": c.from, "to": c.to })).collect::<Vec<_>>(),
        })
    }

    /// The plan as `diff` prints it: a heading and one line per changed field.
    pub(crate) fn to_text(&self) -> String {
        let mut text = match self.action {
            Action::Keep => format!("{}: not in the file, kept (--prune removes it)\n", self.service),
            Action::Remove => format!("{}: remove (revision {} is active)\n", self.service, self.active),
            Action::Rollback => format!(
                "{}: rollback from revision {} to {}\n",
                self.service,
                self.active,
                self.rollback_to.unwrap_or_default()
            ),
            action => format!("{}: {}\n", self.service, action.as_str()),
        };
        for c in &self.changes {
            text += &match (&c.from, &c.to) {
                (None, Some(to)) => format!("  + {}: {to}\n", c.field),
                (Some(from), None) => format!("  - {}: {from}\n", c.field),
                (Some(from), Some(to)) => format!("  ~ {}: {from} -> {to}\n", c.field),
                (None, None) => String::new(),
            };
        }
        text
    }
}

fn field_changes(before: &BTreeMap<String, String>, after: &BTreeMap<String, String>) -> Vec<FieldChange> {
    let keys: BTreeSet<_> = before.keys().chain(after.keys()).collect();
    keys.into_iter()
        .filter(|k| before.get(*k) != after.get(*k))
        .map(|k| FieldChange { field: k.clone(), from: before.get(k).cloned(), to: after.get(k).cloned() })
        .collect()
}

/// A spec as `field.path -> value`, with site labels instead of ids, for a readable diff.
fn flatten(spec: &Spec, ledger: &Ledger) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    out.insert("image".into(), spec.image.clone());
    out.insert("replicas".into(), spec.replicas.to_string());
    let sites: Vec<_> = spec.sites.iter().map(|s| ledger.site_label(s)).collect();
    out.insert("sites".into(), if sites.is_empty() { "(every site)".into() } else { sites.join(",") });
    if let Ok(Value::Object(body)) = serde_json::to_value(&spec.body) {
        for (k, v) in body {
            flatten_value(&k, &v, &mut out);
        }
    }
    out.remove("v");
    out
}

fn flatten_onchain(
    spec: &ledgerops_bindings::IDeploymentRegistry::ServiceSpec,
    ledger: &Ledger,
) -> BTreeMap<String, String> {
    match Spec::from_onchain(spec) {
        Ok(spec) => flatten(&spec, ledger),
        Err(e) => BTreeMap::from([("(active spec)".into(), format!("unreadable: {e}"))]),
    }
}

fn flatten_value(path: &str, value: &Value, out: &mut BTreeMap<String, String>) {
    match value {
        Value::Object(map) => map.iter().for_each(|(k, v)| flatten_value(&format!("{path}.{k}"), v, out)),
        Value::String(s) => drop(out.insert(path.into(), s.clone())),
        other => drop(out.insert(path.into(), other.to_string())),
    }
}
