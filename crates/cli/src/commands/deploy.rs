//! The deployer's commands: deploy (publish a revision), diff, rollback, remove.

use std::collections::BTreeMap;

use alloy::sol_types::SolEvent;
use ledgerops_bindings::DeploymentRegistry::RevisionPublished;
use ledgerops_bindings::IDeploymentRegistry::ServiceSpec;
use ledgerops_chain::Client;
use ledgerops_spec::{Spec, spec_hash};
use serde_json::{Value, json};

use crate::args::{DeployArgs, ServiceRef, WaitArgs};
use crate::commands::{Ctx, Outcome, wait};
use crate::exit::CliError;
use crate::ledger::Ledger;
use crate::spec_args::spec_from_args;

pub(crate) async fn deploy(ctx: &Ctx, args: DeployArgs) -> Result<Outcome, CliError> {
    let onchain = spec_from_args(&args)?.to_onchain()?;
    humantime::parse_duration(&args.timeout)
        .map_err(|e| CliError::Usage(format!("--timeout {:?}: {e}", args.timeout)))?;
    let client = ctx.client().await?;
    let id = args.service.id();
    let state = client.view(client.registry.serviceState(id)).await?;
    if state.activeRevision != 0 && !args.force {
        let active_hash = client.view(client.registry.revisionHash(id, state.activeRevision)).await?;
        if active_hash == spec_hash(&onchain) {
            ctx.out.emit(&json!({ "result": "unchanged", "service": args.service.to_string(), "revision": state.activeRevision }), || {
                format!("{}: unchanged, revision {} is active with this spec (no transaction)", args.service, state.activeRevision)
            });
            return finish(&client, ctx, &args, state.activeRevision).await;
        }
    }
    let sent = client
        .send(client.registry.publish(args.service.namespace.clone(), args.service.name.clone(), onchain))
        .await?;
    let revision = sent
        .logs
        .iter()
        .find_map(|l| RevisionPublished::decode_log(&l.inner).ok())
        .map(|e| e.revision)
        .ok_or_else(|| CliError::Usage("the receipt holds no RevisionPublished event".into()))?;
    ctx.sent(
        &format!("{}: revision {revision} published", args.service),
        &sent,
        json!({ "service": args.service.to_string(), "revision": revision }),
    );
    finish(&client, ctx, &args, revision).await
}

async fn finish(client: &Client, ctx: &Ctx, args: &DeployArgs, revision: u32) -> Result<Outcome, CliError> {
    if !args.wait {
        return Ok(Outcome::Done);
    }
    let wait_args = WaitArgs {
        service: args.service.clone(),
        revision: Some(revision),
        sites: args.sites.clone(),
        timeout: args.timeout.clone(),
    };
    wait::wait(client, ctx, &wait_args).await
}

pub(crate) async fn diff(ctx: &Ctx, args: DeployArgs) -> Result<Outcome, CliError> {
    let proposed = spec_from_args(&args)?;
    let client = ctx.client().await?;
    let ledger = Ledger::read(&client).await?;
    let active = ledger.service(&args.service).and_then(|s| s.active_spec());
    let before = active.map(|spec| flatten_onchain(spec, &ledger));
    let after = flatten(&proposed, &ledger);
    let changes = field_changes(before.as_ref().unwrap_or(&BTreeMap::new()), &after);
    let action = match (active, changes.is_empty()) {
        (None, _) => "create",
        (Some(_), true) => "unchanged",
        (Some(_), false) => "update",
    };
    let doc = json!({
        "service": args.service.to_string(),
        "action": action,
        "changes": changes.iter().map(|(f, from, to)| json!({ "field": f, "from": from, "to": to })).collect::<Vec<_>>(),
    });
    ctx.out.emit(&doc, || {
        let mut text = format!("{}: {action}\n", args.service);
        for (field, from, to) in &changes {
            text += &match (from, to) {
                (None, Some(to)) => format!("  + {field}: {to}\n"),
                (Some(from), None) => format!("  - {field}: {from}\n"),
                (Some(from), Some(to)) => format!("  ~ {field}: {from} -> {to}\n"),
                (None, None) => String::new(),
            };
        }
        text
    });
    Ok(if action == "unchanged" { Outcome::Done } else { Outcome::Changes })
}

/// One changed field: path, old value, new value.
type FieldChange = (String, Option<String>, Option<String>);

fn field_changes(before: &BTreeMap<String, String>, after: &BTreeMap<String, String>) -> Vec<FieldChange> {
    let keys: std::collections::BTreeSet<_> = before.keys().chain(after.keys()).collect();
    keys.into_iter()
        .filter(|k| before.get(*k) != after.get(*k))
        .map(|k| ((*k).clone(), before.get(k).cloned(), after.get(k).cloned()))
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

fn flatten_onchain(spec: &ServiceSpec, ledger: &Ledger) -> BTreeMap<String, String> {
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

pub(crate) async fn rollback(ctx: &Ctx, service: &ServiceRef, to: Option<u32>) -> Result<Outcome, CliError> {
    let client = ctx.client().await?;
    let state = client.view(client.registry.serviceState(service.id())).await?;
    let to = match to {
        Some(to) => to,
        None if state.previousRevision != 0 => state.previousRevision,
        None => {
            return Err(CliError::Usage(format!("{service}: no previous revision to return to; name one with --to")));
        }
    };
    let sent = client.send(client.registry.rollback(service.namespace.clone(), service.name.clone(), to)).await?;
    ctx.sent(
        &format!("{service}: revision {to} active again (was {})", state.activeRevision),
        &sent,
        json!({ "service": service.to_string(), "revision": to, "from": state.activeRevision }),
    );
    Ok(Outcome::Done)
}

pub(crate) async fn remove(ctx: &Ctx, service: &ServiceRef) -> Result<Outcome, CliError> {
    let client: Client = ctx.client().await?;
    let sent = client.send(client.registry.remove(service.namespace.clone(), service.name.clone())).await?;
    ctx.sent(&format!("{service}: removed"), &sent, json!({ "service": service.to_string() }));
    Ok(Outcome::Done)
}
