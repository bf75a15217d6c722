//! `audit verify` and `audit export`: the hash chain recomputed from every event.

use alloy::primitives::hex;
use ledgerops_chain::AuditChain;
use serde_json::json;

use crate::args::AuditCommand;
use crate::commands::{Ctx, Outcome};
use crate::exit::CliError;
use crate::ledger::Ledger;

pub(crate) async fn run(ctx: &Ctx, command: AuditCommand) -> Result<Outcome, CliError> {
    let client = ctx.client().await?;
    let ledger = Ledger::read(&client).await?;
    let mut chain = AuditChain::genesis(client.chain_id, *client.registry.address());
    match command {
        AuditCommand::Verify => {
            for log in &ledger.logs {
                chain.append_log(&log.raw.inner).map_err(|e| {
                    CliError::AuditMismatch(format!("audit chain broken at block {} tx {}: {e}", log.block, log.tx))
                })?;
            }
            let onchain = client.view(client.registry.auditHead()).await?;
            if (onchain.seq, onchain.head) != (chain.seq(), chain.head()) {
                return Err(CliError::AuditMismatch(format!(
                    "the registry says seq {} head {}, its events give seq {} head {}",
                    onchain.seq,
                    onchain.head,
                    chain.seq(),
                    chain.head()
                )));
            }
            ctx.out.emit(&json!({ "result": "verified", "seq": chain.seq(), "head": chain.head() }), || {
                format!("audit chain verified: {} entries, head {}", chain.seq(), chain.head())
            });
        }
        AuditCommand::Export { format } => {
            if format != "jsonl" {
                return Err(CliError::Usage(format!("--format {format:?}: only jsonl is supported")));
            }
            // One JSON object per entry, with the raw topics and data an auditor re-verifies from.
            for log in ledger.logs.iter().filter(|l| AuditChain::is_entry(&l.raw.inner)) {
                chain.append_log(&log.raw.inner).map_err(|e| CliError::AuditMismatch(e.to_string()))?;
                let line = json!({
                    "seq": chain.seq(),
                    "head": chain.head(),
                    "event": event_name(&log.event),
                    "block": log.block,
                    "tx": log.tx,
                    "time": log.time,
                    "topics": log.raw.inner.topics(),
                    "data": hex::encode_prefixed(&log.raw.inner.data.data),
                });
                println!("{line}");
            }
        }
    }
    Ok(Outcome::Done)
}

fn event_name(event: &ledgerops_bindings::DeploymentRegistry::DeploymentRegistryEvents) -> String {
    let debug = format!("{event:?}");
    debug.split(['(', ' ', '{']).next().unwrap_or_default().to_owned()
}
