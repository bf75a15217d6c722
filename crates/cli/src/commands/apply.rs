//! `apply -f`: publish every service of a compose/stack file, as `docker stack deploy` would, but
//! only what changed: a service whose spec equals its active revision gets no transaction.
//!
//! Every transaction is simulated against the latest block before the first one is sent, so a
//! refusal (a missing role, a frozen namespace, a ceiling) changes nothing. The transactions are
//! then handed to the RPC together and confirmed after, so they can share blocks.

use alloy::network::Ethereum;
use alloy::providers::PendingTransactionBuilder;
use ledgerops_chain::{ChainError, Client};
use serde_json::{Value, json};

use crate::args::ApplyArgs;
use crate::commands::deploy::published_revision;
use crate::commands::wait::{self, Target};
use crate::commands::{Ctx, Outcome};
use crate::exit::CliError;
use crate::ledger::Ledger;
use crate::plan::{Action, ServicePlan, plan_namespace};
use crate::withheld::refuse_withheld;

pub(crate) async fn apply(ctx: &Ctx, args: ApplyArgs) -> Result<Outcome, CliError> {
    let timeout = wait::parse_timeout(&args.wait.timeout)?;
    let namespace = &args.file.namespace;
    let file = ctx.images.read_stack(&args.file.input()).await?;
    let client = ctx.client().await?;
    let ledger = Ledger::read(&client).await?;
    require_namespace(&ledger, namespace)?;
    let ignored = ignored_keys(&file);
    let plans = plan_namespace(&ledger, namespace, file.services, args.file.prune)?;
    for plan in &plans {
        if let Some(spec) = &plan.onchain {
            refuse_withheld(&ctx.conn.withheld, &plan.service, spec)?;
        }
    }
    for plan in plans.iter().filter(|p| p.action.changes_chain()) {
        simulate(&client, plan).await.map_err(|e| CliError::from(e).about(&plan.service))?;
    }

    let mut done = Vec::new();
    let mut targets = Vec::new();
    let result = carry_out(ctx, &client, &plans, &mut done, &mut targets).await;
    let mut doc = json!({ "namespace": namespace, "services": done, "ignored_keys": ignored });
    if let Err(e) = result {
        let sent = doc["services"].as_array().map_or(0, |s| s.iter().filter(|s| s.get("tx").is_some()).count());
        return Err(e.about(format!("after {sent} transaction(s); run apply again to finish")).after(doc));
    }
    summarize(ctx, &plans);
    if args.wait.wait && !targets.is_empty() {
        let converged = wait::until_converged(&client, ctx, Some(ledger), &targets, &[], timeout)
            .await
            .map_err(|e| e.after(doc.clone()))?;
        ctx.out.say(&format!("{namespace}: {} service(s) converged", converged.len()));
        doc["converged"] = Value::Array(converged);
    }
    ctx.out.document(&doc);
    Ok(Outcome::Done)
}

/// Sends what the plans need. Fills `done` with one document per service and `targets` with the
/// services to wait for, both in the file's order (a failure leaves the unfinished ones out).
async fn carry_out(
    ctx: &Ctx,
    client: &Client,
    plans: &[ServicePlan],
    done: &mut Vec<Value>,
    targets: &mut Vec<Target>,
) -> Result<(), CliError> {
    let mut entries: Vec<Option<(Value, Option<Target>)>> = vec![None; plans.len()];
    let mut pending = Vec::new();
    let mut result = Ok(());
    for (i, plan) in plans.iter().enumerate() {
        let service = plan.service.to_string();
        if plan.action.changes_chain() {
            match submit(client, plan).await {
                Ok(tx) => pending.push((i, tx)),
                Err(e) => {
                    result = Err(CliError::from(e).about(&service));
                    break;
                }
            }
        } else {
            let entry = json!({ "service": service, "action": plan.action.as_str(), "revision": plan.active });
            let target = (plan.action == Action::Unchanged)
                .then(|| Target { service: plan.service.clone(), revision: plan.active });
            entries[i] = Some((entry, target));
        }
    }
    // Everything handed to the RPC is confirmed, even after a failure, so the report is complete.
    for (i, tx) in pending {
        let plan = &plans[i];
        match confirmed(ctx, client, plan, tx).await {
            Ok(entry) => entries[i] = Some(entry),
            Err(e) => result = result.and(Err(e.about(&plan.service))),
        }
    }
    for (entry, target) in entries.into_iter().flatten() {
        done.push(entry);
        targets.extend(target);
    }
    result
}

/// Waits for one transaction and says what it did.
async fn confirmed(
    ctx: &Ctx,
    client: &Client,
    plan: &ServicePlan,
    tx: PendingTransactionBuilder<Ethereum>,
) -> Result<(Value, Option<Target>), CliError> {
    let sent = client.confirm(tx).await?;
    let mut entry = json!({
        "service": plan.service.to_string(), "action": plan.action.as_str(),
        "tx": sent.tx, "block": sent.block, "gas": sent.gas,
    });
    let (what, target) = if plan.action == Action::Remove {
        (format!("{}: removed", plan.service), None)
    } else {
        let revision = published_revision(&sent)?;
        entry["revision"] = revision.into();
        let what = format!("{}: revision {revision} published ({})", plan.service, plan.action.as_str());
        (what, Some(Target { service: plan.service.clone(), revision }))
    };
    ctx.out.say(&format!("{what}  tx {}  block {}  gas {}", sent.tx, sent.block, sent.gas));
    Ok((entry, target))
}

/// One line per service that needed nothing, then the counts.
fn summarize(ctx: &Ctx, plans: &[ServicePlan]) {
    let count = |action| plans.iter().filter(|p| p.action == action).count();
    for plan in plans {
        match plan.action {
            Action::Unchanged => ctx.out.say(&format!("{}: unchanged (revision {})", plan.service, plan.active)),
            Action::Keep => ctx.out.say(&format!("{}: not in the file, kept (--prune removes it)", plan.service)),
            _ => {}
        }
    }
    ctx.out.say(&format!(
        "{} created, {} updated, {} unchanged, {} removed",
        count(Action::Create),
        count(Action::Update),
        count(Action::Unchanged),
        count(Action::Remove)
    ));
}

async fn simulate(client: &Client, plan: &ServicePlan) -> Result<(), ChainError> {
    let (namespace, name) = (plan.service.namespace.clone(), plan.service.name.clone());
    match plan.onchain.clone() {
        Some(spec) => client.simulate(client.registry.publish(namespace, name, spec)).await,
        None => client.simulate(client.registry.remove(namespace, name)).await,
    }
}

async fn submit(client: &Client, plan: &ServicePlan) -> Result<PendingTransactionBuilder<Ethereum>, ChainError> {
    let (namespace, name) = (plan.service.namespace.clone(), plan.service.name.clone());
    match plan.onchain.clone() {
        Some(spec) => client.submit(client.registry.publish(namespace, name, spec)).await,
        None => client.submit(client.registry.remove(namespace, name)).await,
    }
}

/// Every key the file held that is not on the ledger, ignored or left out: what `--json` shows.
pub(crate) fn ignored_keys(file: &ledgerops_compose::ComposeFile) -> Vec<String> {
    file.ignored.iter().chain(&file.unsupported).map(|(path, _)| path.clone()).collect()
}

/// Refuses a namespace the registry does not have, before anything is sent.
pub(crate) fn require_namespace(ledger: &Ledger, namespace: &str) -> Result<(), CliError> {
    if ledger.namespaces.contains_key(namespace) {
        Ok(())
    } else {
        Err(CliError::Usage(format!(
            "namespace {namespace:?} does not exist: the admin creates it with `ledgerops namespace create {namespace}`"
        )))
    }
}
