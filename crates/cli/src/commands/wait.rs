//! `wait`: block until the nodes that serve a revision report it converged, or fail on the first
//! failure report or on-chain rollback, or time out. Never runs past its timeout.

use std::collections::BTreeSet;
use std::io::IsTerminal;
use std::time::Duration;

use alloy::primitives::{Address, B256, keccak256};
use ledgerops_chain::Client;
use ledgerops_spec::site_id;
use serde_json::json;

use crate::args::WaitArgs;
use crate::commands::{Ctx, Outcome};
use crate::exit::CliError;
use crate::ledger::{ChangeKind, Ledger, Service};

/// How often the registry is read while waiting.
const POLL: Duration = Duration::from_secs(1);

/// What one look at the registry says.
enum Progress {
    Waiting { converged: usize, of: usize },
    Converged(usize),
}

/// Waits on `client`'s registry (`deploy --wait` passes the connection it already has).
pub(crate) async fn wait(client: &Client, ctx: &Ctx, args: &WaitArgs) -> Result<Outcome, CliError> {
    let timeout = humantime::parse_duration(&args.timeout)
        .map_err(|e| CliError::Usage(format!("--timeout {:?}: {e}", args.timeout)))?;
    let wanted_sites = args.sites.iter().map(|s| site_id(s)).collect::<Result<BTreeSet<_>, _>>()?;
    let tty = std::io::stderr().is_terminal() && !ctx.out.json;
    let revision = match args.revision {
        Some(r) => r,
        None => client.view(client.registry.serviceState(args.service.id())).await?.activeRevision,
    };
    let watch = async {
        let mut ledger = Ledger::read(client).await?;
        loop {
            match check(&ledger, args, &wanted_sites, revision)? {
                Progress::Converged(n) => return Ok::<_, CliError>(n),
                Progress::Waiting { converged, of } if tty => {
                    eprint!("\rwaiting for {} revision {revision}: {converged}/{of} nodes converged", args.service);
                }
                Progress::Waiting { .. } => {}
            }
            tokio::time::sleep(POLL).await;
            ledger.refresh(client).await?;
        }
    };
    let result = tokio::time::timeout(timeout, watch).await;
    if tty {
        eprintln!();
    }
    let nodes = match result {
        Ok(r) => r?,
        Err(_) => {
            return Err(CliError::WaitTimeout(format!(
                "{} revision {revision}: not converged on every node after {}",
                args.service, args.timeout
            )));
        }
    };
    ctx.out.emit(
        &json!({ "result": "converged", "service": args.service.to_string(), "revision": revision, "nodes": nodes }),
        || format!("{} revision {revision}: converged on {nodes} node(s)", args.service),
    );
    Ok(Outcome::Done)
}

fn check(ledger: &Ledger, args: &WaitArgs, wanted_sites: &BTreeSet<B256>, revision: u32) -> Result<Progress, CliError> {
    let service = ledger
        .service(&args.service)
        .ok_or_else(|| CliError::Usage(format!("no service {} in this registry", args.service)))?;
    let spec = service
        .revisions
        .get((revision as usize).wrapping_sub(1))
        .ok_or_else(|| CliError::Usage(format!("{} has no revision {revision}", args.service)))?;
    if let Some(change) = service.changes.iter().rev().find(|c| c.kind != ChangeKind::Published)
        && service.active != revision
        && change.block >= first_block(service, revision)
    {
        return Err(CliError::WaitFailed(format!(
            "{} revision {revision} is no longer active: {} (revision {} active, tx {})",
            args.service, change.kind, service.active, change.tx
        )));
    }
    let nodes: Vec<Address> = ledger
        .nodes_serving(spec)
        .into_iter()
        .filter(|node| {
            wanted_sites.is_empty()
                || ledger.nodes.get(node).is_some_and(|site| wanted_sites.contains(&keccak256(site)))
        })
        .collect();
    if nodes.is_empty() {
        return Err(CliError::Usage(format!("no registered node serves {} revision {revision}", args.service)));
    }
    let mut converged = 0;
    for node in &nodes {
        match service.reports.get(node).filter(|r| r.revision == revision) {
            Some(r) if r.status == "converged" => converged += 1,
            Some(r) if r.status != "unknown" => {
                return Err(CliError::WaitFailed(format!(
                    "{} revision {revision}: node {node} ({}) reported {}: {}",
                    args.service,
                    ledger.nodes.get(node).map_or("?", String::as_str),
                    r.status,
                    r.reason
                )));
            }
            _ => {}
        }
    }
    Ok(if converged == nodes.len() {
        Progress::Converged(converged)
    } else {
        Progress::Waiting { converged, of: nodes.len() }
    })
}

/// The block where `revision` was published (rollbacks before it do not concern it).
fn first_block(service: &Service, revision: u32) -> u64 {
    service.changes.iter().find(|c| c.kind == ChangeKind::Published && c.revision == revision).map_or(0, |c| c.block)
}
