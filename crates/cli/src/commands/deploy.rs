//! The deployer's commands for one service: deploy (publish a revision), rollback, remove.

use alloy::sol_types::SolEvent;
use ledgerops_bindings::DeploymentRegistry::RevisionPublished;
use ledgerops_chain::{Client, Sent};
use ledgerops_registry::ServiceName;
use ledgerops_spec::spec_hash;
use serde_json::json;

use crate::args::DeployArgs;
use crate::commands::wait::{self, Target};
use crate::commands::{Ctx, Outcome, sent_doc, sent_text};
use crate::exit::CliError;
use crate::spec_args::spec_from_args;

pub(crate) async fn deploy(ctx: &Ctx, args: DeployArgs) -> Result<Outcome, CliError> {
    let onchain = spec_from_args(&args.image, &args.sites, &args.spec)?.to_onchain()?;
    let timeout = wait::parse_timeout(&args.wait.timeout)?;
    let client = ctx.client().await?;
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
        let target = Target { service: args.service.clone(), revision };
        let converged = wait::until_converged(&client, ctx, None, &[target], &[], timeout)
            .await
            .map_err(|e| e.after(doc.clone()))?
            .remove(0);
        ctx.out.say(&format!("{} revision {revision}: converged on {} node(s)", args.service, converged["nodes"]));
        doc["converged"] = converged;
    }
    ctx.out.document(&doc);
    Ok(Outcome::Done)
}

/// The revision a `publish` receipt announces.
pub(crate) fn published_revision(sent: &Sent) -> Result<u32, CliError> {
    sent.logs
        .iter()
        .find_map(|l| RevisionPublished::decode_log(&l.inner).ok())
        .map(|e| e.revision)
        .ok_or_else(|| CliError::Usage(format!("the receipt of {} holds no RevisionPublished event", sent.tx)))
}

pub(crate) async fn rollback(ctx: &Ctx, service: &ServiceName, to: Option<u32>) -> Result<Outcome, CliError> {
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

pub(crate) async fn remove(ctx: &Ctx, service: &ServiceName) -> Result<Outcome, CliError> {
    let client: Client = ctx.client().await?;
    let sent = client.send(client.registry.remove(service.namespace.clone(), service.name.clone())).await?;
    ctx.sent(&format!("{service}: removed"), &sent, json!({ "service": service.to_string() }));
    Ok(Outcome::Done)
}
