//! The node's writes to the chain: an attestation when a revision converged here, a rollback
//! vote (which the registry also records as a failed attestation) when it failed. They run in
//! their own task, one at a time (one signer, so no nonce races), retried with backoff; a send
//! that cannot succeed is logged and dropped. Reconciliation never waits for them.
//!
//! Each report is sent once per (service, revision, activation): the store remembers what was
//! confirmed, and the registry itself refuses a repeat (`AlreadyAttested`, `AlreadyVoted`), which
//! is taken as success, so a node killed between sending and recording does not report twice.

use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::Address;
use alloy::signers::local::PrivateKeySigner;
use ledgerops_bindings::DeploymentRegistry::DeploymentRegistryErrors as E;
use ledgerops_chain::{ChainError, Client, Endpoint, FeeCeiling};
use ledgerops_registry::AttestationStatus;
use tokio::sync::mpsc;

use crate::control::rollouts::{Outcome, Report};
use crate::outage::{Outage, backoff};
use crate::serve::metrics::Metrics;
use crate::store::{Store, now_ms};

/// The registry's limit on a reason's length.
const MAX_REASON_BYTES: usize = 256;
/// Tries of one report before it is dropped (about 10 minutes with the backoff).
const ATTEMPTS: u32 = 25;

/// A vote's gas limit is its estimate times this. The estimate counts the votes already on chain,
/// but the vote that reaches the quorum also re-activates the previous revision (81,539 gas
/// against 58,755 below it, docs/contracts.md#gas), and which vote that is only shows when the
/// chain orders the fleet's votes: two nodes that voted at once each had the cheaper path
/// estimated, and the one that landed second ran out of gas. Gas not used is not charged.
const VOTE_GAS_FACTOR: u64 = 2;

/// Where to send.
#[derive(Debug, Clone)]
pub struct Sender {
    /// The RPC endpoint.
    pub rpc: Endpoint,
    /// The registry.
    pub registry: Address,
    /// The node's key.
    pub signer: PrivateKeySigner,
    /// `--chain-id`: reports are signed for this chain only (by default, the chain the node's
    /// store is bound to, which the follower checked).
    pub chain_id: Option<u64>,
    /// `--max-fee`: the most a report pays per gas.
    pub max_fee: Option<FeeCeiling>,
}

/// Sends reports until the channel closes.
pub async fn run(
    sender: Sender,
    store: Arc<Store>,
    metrics: Arc<Metrics>,
    mut reports: mpsc::UnboundedReceiver<Report>,
) {
    let mut client: Option<Client> = None;
    let mut rpc = Outage::new("RPC (for reports)", Duration::from_secs(30));
    while let Some(report) = reports.recv().await {
        // The chain the follower bound the store to, unless --chain-id names it: a reporter that
        // reconnects to an RPC now serving another chain signs nothing there.
        let chain_id = sender.chain_id.or_else(|| store.binding().ok().flatten().map(|(chain, _)| chain));
        for attempt in 1..=ATTEMPTS {
            match send(&sender, chain_id, &mut client, &report).await {
                Ok(what) => {
                    rpc.recovered();
                    tracing::info!(service = %report.name, revision = report.revision, "{what}");
                    metrics.reported(&report.outcome);
                    let stored = store.mark_reported(report.service, report.revision, report.activation, now_ms());
                    if let Err(e) = stored {
                        tracing::error!(error = %e, "cannot write the node's store");
                    }
                    break;
                }
                Err(e) if e.is_transient() && attempt < ATTEMPTS => {
                    metrics.rpc_errors.inc();
                    client = None;
                    tokio::time::sleep(rpc.failed(&e).max(backoff(attempt, Duration::from_secs(30)))).await;
                }
                Err(e) => {
                    tracing::warn!(service = %report.name, revision = report.revision, error = %e, "report dropped");
                    break;
                }
            }
        }
    }
}

/// Sends one report; says what was done.
async fn send(
    sender: &Sender,
    chain_id: Option<u64>,
    client: &mut Option<Client>,
    report: &Report,
) -> Result<String, ChainError> {
    if client.is_none() {
        let connected = Client::connect(&sender.rpc, sender.registry, Some(sender.signer.clone())).await?;
        *client = Some(connected.expect_chain(chain_id)?.with_max_fee(sender.max_fee));
    }
    let client = client.as_ref().ok_or(ChainError::NoSigner)?;
    let registry = &client.registry;
    let site = client.view(registry.nodeSite(sender.signer.address())).await?;
    let sent = match &report.outcome {
        Outcome::Converged => {
            let call = registry.attest(
                report.service,
                report.revision,
                site,
                report.sites.clone(),
                report.workload_hash,
                AttestationStatus::Converged.as_u8(),
                String::new(),
            );
            client.send(call).await.map(|_| "attested converged".to_owned())
        }
        Outcome::Failed(reason) => {
            let reason = truncate(reason);
            let vote = registry.voteRollback(
                report.service,
                report.revision,
                site,
                report.sites.clone(),
                report.workload_hash,
                reason.clone(),
            );
            let voted = async {
                let gas = client.estimate(&vote).await?;
                client.send(vote.gas(gas.saturating_mul(VOTE_GAS_FACTOR))).await
            };
            match voted.await {
                Err(ChainError::Reverted(r)) if matches!(r.decoded, E::NothingToRollBackTo(_)) => {
                    let call = registry.attest(
                        report.service,
                        report.revision,
                        site,
                        report.sites.clone(),
                        report.workload_hash,
                        AttestationStatus::Failed.as_u8(),
                        reason,
                    );
                    client.send(call).await.map(|_| "attested failed (no earlier revision to roll back to)".to_owned())
                }
                other => other.map(|_| format!("voted to roll back: {reason}")),
            }
        }
    };
    match sent {
        Err(ChainError::Reverted(r)) if matches!(r.decoded, E::AlreadyAttested(_) | E::AlreadyVoted(_)) => {
            Ok("already reported on chain".into())
        }
        other => other,
    }
}

/// At most [`MAX_REASON_BYTES`], cut at a character boundary.
fn truncate(reason: &str) -> String {
    let mut end = reason.len().min(MAX_REASON_BYTES);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    reason[..end].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_cut_to_the_registry_limit_on_a_character_boundary() {
        let long = "é".repeat(200);
        let cut = truncate(&long);
        assert!(cut.len() <= MAX_REASON_BYTES && cut.chars().all(|c| c == 'é'));
        assert_eq!(truncate("short"), "short");
    }
}
