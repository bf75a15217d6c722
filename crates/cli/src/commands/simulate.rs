//! `plan`: a deploy, apply, rollback or remove run in revm over the registry's state at the latest
//! block (each slot it reads proved against that block's state root), sending nothing. It shows
//! per service what would change, whether the transaction would go through or revert (decoded),
//! its gas and the events it would emit. Exit 0: no change, 1: changes, 2: error or a revert.

use alloy::primitives::Bytes;
use alloy::providers::Provider;
use alloy::sol_types::{SolCall, SolEventInterface, SolInterface};
use ledgerops_bindings::DeploymentRegistry::{self as R, DeploymentRegistryErrors, DeploymentRegistryEvents as Ev};
use ledgerops_chain::Revert;
use ledgerops_evm::{Executed, Failure, Mirror, MirrorError};
use ledgerops_registry::ServiceName;
use serde_json::{Value, json};

use crate::args::{PlanAction, PlanArgs, RollbackArgs};
use crate::commands::apply::require_namespace;
use crate::commands::{Ctx, Outcome};
use crate::exit::CliError;
use crate::ledger::Ledger;
use crate::plan::{Action, ServicePlan, plan_namespace, plan_remove, plan_rollback, plan_service};

/// One planned service with the transaction that carries it out, once simulated.
struct Step {
    plan: ServicePlan,
    simulated: Option<Simulated>,
}

/// A transaction run in revm.
struct Simulated {
    call: &'static str,
    gas: u64,
    outcome: Result<Vec<Value>, String>,
}

pub(crate) async fn plan(ctx: &Ctx, args: PlanArgs) -> Result<Outcome, CliError> {
    let from = match (args.from, &ctx.conn.signer) {
        (Some(from), _) => from,
        (None, Some(signer)) => signer.address(),
        (None, None) => {
            return Err(CliError::Usage(
                "plan simulates as an account: give --from ADDRESS, or a key (--private-key / --keystore)".into(),
            ));
        }
    };
    let client = ctx.client().await?;
    let ledger = Ledger::read(&client).await?;
    let provider = client.registry.provider();
    let block = provider.get_block_number().await.map_err(|e| client.rpc_error(e))?;
    let mut mirror = Mirror::at(provider, *client.registry.address(), block).await.map_err(unverifiable)?;
    let plans = plans(ctx, &ledger, &mut mirror, provider, &args.action).await?;

    let mut steps = Vec::new();
    for plan in plans {
        let simulated = match call_of(&plan) {
            Some((call, calldata)) => {
                let executed = mirror.execute(provider, from, calldata).await.map_err(unverifiable)?;
                mirror.apply_writes(&executed);
                Some(Simulated { call, gas: executed.gas_used(), outcome: outcome(&executed, &plan.service) })
            }
            None => None,
        };
        steps.push(Step { plan, simulated });
    }

    let reverts = steps.iter().any(|s| s.simulated.as_ref().is_some_and(|t| t.outcome.is_err()));
    let changes = steps.iter().any(|s| s.plan.action.changes_chain());
    let doc = json!({
        "block": block,
        "from": from,
        "changes": changes,
        "would_revert": reverts,
        "services": steps.iter().map(Step::to_json).collect::<Vec<_>>(),
    });
    ctx.out.emit(&doc, || {
        let heading = format!("plan at block {block} as {from} (simulated locally over proved state; nothing sent)\n");
        heading + &steps.iter().map(Step::to_text).collect::<String>()
    });
    Ok(match (reverts, changes) {
        (true, _) => Outcome::WouldRevert,
        (false, true) => Outcome::Changes,
        (false, false) => Outcome::Done,
    })
}

/// What each service would undergo, from the events (the diff `diff` shows); a rollback without
/// `--to` returns to the previous revision the registry (proved) names.
async fn plans(
    ctx: &Ctx,
    ledger: &Ledger,
    mirror: &mut Mirror,
    provider: &impl Provider,
    action: &PlanAction,
) -> Result<Vec<ServicePlan>, CliError> {
    Ok(match action {
        PlanAction::Deploy { service, image, sites, spec } => {
            vec![plan_service(ledger, service.clone(), ctx.images.spec_from_args(image, sites, spec).await?, false)?]
        }
        PlanAction::Apply(file) => {
            let read = ctx.images.read_stack(&file.input()).await?;
            require_namespace(ledger, &file.namespace)?;
            plan_namespace(ledger, &file.namespace, read.services, file.prune)?
        }
        PlanAction::Rollback(RollbackArgs { service, to }) => {
            let to = match to {
                Some(to) => *to,
                None => previous_revision(mirror, provider, service).await?,
            };
            vec![plan_rollback(ledger, service.clone(), to)]
        }
        PlanAction::Remove { service } => vec![plan_remove(ledger, service.clone())],
    })
}

/// The revision `rollback` without `--to` returns to, as the registry (proved) says.
async fn previous_revision(
    mirror: &mut Mirror,
    provider: &impl Provider,
    service: &ServiceName,
) -> Result<u32, CliError> {
    let state = mirror.view(provider, &R::serviceStateCall { sId: service.id() }).await.map_err(unverifiable)?;
    match state.previousRevision {
        0 => Err(CliError::Usage(format!("{service}: no previous revision to return to; name one with --to"))),
        previous => Ok(previous),
    }
}

/// The registry function and calldata that carry `plan` out, if it needs a transaction.
fn call_of(plan: &ServicePlan) -> Option<(&'static str, Bytes)> {
    let (namespace, name) = (plan.service.namespace.clone(), plan.service.name.clone());
    let encoded: (&'static str, Vec<u8>) = match plan.action {
        Action::Create | Action::Update => {
            let spec = plan.onchain.clone()?;
            ("publish", R::publishCall { namespace, name, spec }.abi_encode())
        }
        Action::Rollback => {
            ("rollback", R::rollbackCall { namespace, name, toRevision: plan.rollback_to? }.abi_encode())
        }
        Action::Remove => ("remove", R::removeCall { namespace, name }.abi_encode()),
        Action::Unchanged | Action::Keep => return None,
    };
    Some((encoded.0, encoded.1.into()))
}

/// The decoded events of a success, or the decoded revert.
fn outcome(executed: &Executed, service: &ServiceName) -> Result<Vec<Value>, String> {
    match executed.success() {
        Ok(_) => {
            Ok(executed.logs().iter().filter_map(|l| Ev::decode_log(l).ok()).map(|e| event(&e.data, service)).collect())
        }
        Err(Failure::Reverted(data)) => Err(match DeploymentRegistryErrors::abi_decode(&data) {
            Ok(error) => Revert::from(&error).to_string(),
            Err(_) => format!("reverted with 0x{data:x}"),
        }),
        Err(Failure::Halted(reason)) => Err(format!("halted: {reason}")),
    }
}

/// An event as the plan lists it: its name and what it says about the service.
fn event(event: &Ev, service: &ServiceName) -> Value {
    match event {
        Ev::ServiceCreated(e) => json!({ "event": "ServiceCreated", "service": service.to_string(), "seq": e.seq }),
        Ev::RevisionPublished(e) => json!({ "event": "RevisionPublished", "revision": e.revision, "seq": e.seq }),
        Ev::RolledBack(e) => json!({ "event": "RolledBack", "to_revision": e.toRevision, "seq": e.seq }),
        Ev::ServiceRemoved(e) => json!({ "event": "ServiceRemoved", "seq": e.seq }),
        other => json!({ "event": format!("{other:?}").split([' ', '(']).next().unwrap_or_default() }),
    }
}

/// A proof that did not verify, or an RPC failure while proving.
fn unverifiable(error: MirrorError) -> CliError {
    CliError::Usage(format!("cannot simulate: {error}"))
}

impl Step {
    fn to_json(&self) -> Value {
        let mut doc = self.plan.to_json();
        if let Some(t) = &self.simulated {
            doc["call"] = json!(t.call);
            doc["gas"] = json!(t.gas);
            match &t.outcome {
                Ok(events) => {
                    doc["result"] = json!("ok");
                    doc["events"] = json!(events);
                }
                Err(revert) => {
                    doc["result"] = json!("revert");
                    doc["revert"] = json!(revert);
                }
            }
        }
        doc
    }

    fn to_text(&self) -> String {
        let mut text = self.plan.to_text();
        if let Some(t) = &self.simulated {
            text += &match &t.outcome {
                Ok(events) => {
                    let names: Vec<String> = events.iter().map(describe).collect();
                    format!("  {}: would succeed, gas {}; emits {}\n", t.call, t.gas, names.join(", "))
                }
                Err(revert) => format!("  {}: WOULD REVERT (gas {}): {revert}\n", t.call, t.gas),
            };
        }
        text
    }
}

fn describe(event: &Value) -> String {
    let name = event["event"].as_str().unwrap_or_default();
    match (event.get("revision"), event.get("to_revision")) {
        (Some(r), _) => format!("{name}(revision {r})"),
        (_, Some(r)) => format!("{name}(to revision {r})"),
        _ => name.to_owned(),
    }
}
