//! The deployer's commands for one service: deploy (publish a revision), rollback, remove.

use alloy::sol_types::SolEvent;
use ledgerops_bindings::DeploymentRegistry::RevisionPublished;
use ledgerops_chain::events::namespace_policy;
use ledgerops_chain::{Client, Sent};
use ledgerops_registry::{ServiceName, namespace_id};
use ledgerops_spec::{Policy, spec_hash};
use serde_json::json;

use crate::args::{DeployArgs, RollbackArgs, RollbackCommand};
use crate::commands::wait::{self, Target};
use crate::commands::{Ctx, Outcome, sent_doc, sent_text};
use crate::exit::CliError;
use crate::withheld::refuse_withheld;

pub(crate) async fn deploy(ctx: &Ctx, args: DeployArgs) -> Result<Outcome, CliError> {
    let spec = ctx.images.spec_from_args(&args.image, &args.sites, &args.spec).await?;
    let onchain = spec.to_onchain()?;
    refuse_withheld(&ctx.conn.withheld, &args.service, &onchain)?;
    let timeout = wait::parse_timeout(&args.wait.timeout)?;
    let client = ctx.client().await?;
    let namespace = &args.service.namespace;
    let policy = namespace_policy(&client, namespace_id(namespace)).await?;
    let policy = Policy::from_chain(policy.as_ref().map(|p| p.as_ref()))?;
    policy.check(namespace, &spec, None).map_err(|e| CliError::from(e).about(&args.service))?;
    let id = args.service.id();
    let state = client.view(client.registry.serviceState(id)).await?;
    let unchanged = state.activeRevision != 0
        && !args.force
        && client.view(client.registry.revisionHash(id, state.activeRevision)).await? == spec_hash(&onchain);
    let (revision, mut doc) = if unchanged {
        let revision = state.activeRevision;
        ctx.out.say(&format!(
            "{}: unchanged, revision {revision} is active with this spec (no transaction)",
            args.service
        ));
        (revision, json!({ "result": "unchanged", "service": args.service.to_string(), "revision": revision }))
    } else {
        let call = client.registry.publish(args.service.namespace.clone(), args.service.name.clone(), onchain);
        let sent = client.send(call).await?;
        let revision = published_revision(&sent)?;
        let what = format!("{}: revision {revision} published", args.service);
        ctx.out.say(&sent_text(&what, &sent));
        (revision, sent_doc(&what, &sent, json!({ "service": args.service.to_string(), "revision": revision })))
    };
    if args.wait.wait {
        doc["converged"] = converge(ctx, &client, &args.service, revision, timeout, &doc).await?;
    }
    ctx.out.document(&doc);
    Ok(Outcome::Done)
}

/// `--wait`: until the nodes serving `service` report `revision` converged; a failure carries
/// `doc`, what was sent before it.
async fn converge(
    ctx: &Ctx,
    client: &Client,
    service: &ServiceName,
    revision: u32,
    timeout: std::time::Duration,
    doc: &serde_json::Value,
) -> Result<serde_json::Value, CliError> {
    let target = Target { service: service.clone(), revision };
    let converged = wait::until_converged(client, ctx, None, &[target], &[], timeout)
        .await
        .map_err(|e| e.after(doc.clone()))?
        .remove(0);
    ctx.out.say(&format!("{service} revision {revision}: converged on {} node(s)", converged["nodes"]));
    Ok(converged)
}

/// The revision a `publish` receipt announces.
pub(crate) fn published_revision(sent: &Sent) -> Result<u32, CliError> {
    sent.logs
        .iter()
        .find_map(|l| RevisionPublished::decode_log(&l.inner).ok())
        .map(|e| e.revision)
        .ok_or_else(|| CliError::Usage(format!("the receipt of {} holds no RevisionPublished event", sent.tx)))
}

pub(crate) async fn rollback(ctx: &Ctx, command: RollbackCommand) -> Result<Outcome, CliError> {
    let RollbackCommand { target: RollbackArgs { service, to }, wait } = command;
    let service = &service;
    let timeout = wait::parse_timeout(&wait.timeout)?;
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
    let what = format!("{service}: revision {to} active again (was {})", state.activeRevision);
    let mut doc =
        sent_doc(&what, &sent, json!({ "service": service.to_string(), "revision": to, "from": state.activeRevision }));
    ctx.out.say(&sent_text(&what, &sent));
    if wait.wait {
        doc["converged"] = converge(ctx, &client, service, to, timeout, &doc).await?;
    }
    ctx.out.document(&doc);
    Ok(Outcome::Done)
}

pub(crate) async fn remove(ctx: &Ctx, service: &ServiceName) -> Result<Outcome, CliError> {
    let client: Client = ctx.client().await?;
    let sent = client.send(client.registry.remove(service.namespace.clone(), service.name.clone())).await?;
    ctx.sent(&format!("{service}: removed"), &sent, json!({ "service": service.to_string() }));
    Ok(Outcome::Done)
}
