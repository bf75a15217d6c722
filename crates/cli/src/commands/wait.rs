//! `wait`: block until the nodes that serve a revision report it converged, or fail on the first
//! failure report, on-chain rollback, newer publish or removal, or time out. Never runs past its
//! timeout. `deploy --wait` and `apply --wait` wait the same way, for one or many services.

use std::collections::{BTreeMap, BTreeSet};
use std::io::IsTerminal;
use std::time::{Duration, Instant};

use alloy::primitives::{Address, B256};
use ledgerops_chain::Client;
use ledgerops_registry::{ReportStatus, ServiceName, site_id};
use serde_json::{Value, json};

use crate::args::WaitArgs;
use crate::commands::{Ctx, Outcome};
use crate::exit::CliError;
use crate::ledger::{ChangeKind, Ledger};

/// How often the registry is read while waiting.
const POLL: Duration = Duration::from_secs(1);
/// The spinner's frames, one per poll.
const SPINNER: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/// One service and the revision its nodes must report converged.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub(crate) service: ServiceName,
    pub(crate) revision: u32,
}

/// The `wait` command.
pub(crate) async fn wait(client: &Client, ctx: &Ctx, args: &WaitArgs) -> Result<Outcome, CliError> {
    let timeout = parse_timeout(&args.timeout)?;
    let revision = match args.revision {
        Some(r) => r,
        None => client.view(client.registry.serviceState(args.service.id())).await?.activeRevision,
    };
    let target = Target { service: args.service.clone(), revision };
    let converged = until_converged(client, ctx, None, std::slice::from_ref(&target), &args.sites, timeout).await?;
    let doc = converged.into_iter().next().unwrap_or(Value::Null);
    ctx.out.emit(&doc, || format!("{} revision {revision}: converged on {} node(s)", args.service, doc["nodes"]));
    Ok(Outcome::Done)
}

/// `--timeout`'s value, checked before anything is sent.
pub(crate) fn parse_timeout(text: &str) -> Result<Duration, CliError> {
    humantime::parse_duration(text).map_err(|e| CliError::Usage(format!("--timeout {text:?}: {e}")))
}

/// Waits until every target converged on every node that serves it (only nodes at `sites` when
/// given); returns one `{service, revision, result, nodes}` document per target. A caller that has
/// read the registry already passes its `ledger`, which is only brought up to date.
pub(crate) async fn until_converged(
    client: &Client,
    ctx: &Ctx,
    ledger: Option<Ledger>,
    targets: &[Target],
    sites: &[String],
    timeout: Duration,
) -> Result<Vec<Value>, CliError> {
    let wanted_sites = sites.iter().map(|s| site_id(s)).collect::<Result<BTreeSet<_>, _>>()?;
    let tty = std::io::stderr().is_terminal() && !ctx.out.json;
    let started = Instant::now();
    let watch = async {
        let mut ledger = match ledger {
            Some(mut ledger) => {
                ledger.refresh(client).await?;
                ledger
            }
            None => Ledger::read(client).await?,
        };
        let mut tick = 0;
        loop {
            let progress = targets.iter().map(|t| check(&ledger, t, &wanted_sites)).collect::<Result<Vec<_>, _>>()?;
            if progress.iter().all(|p| p.converged == p.of) {
                return Ok::<_, CliError>(progress);
            }
            if tty {
                let done = progress.iter().filter(|p| p.converged == p.of).count();
                let (converged, of) = progress.iter().fold((0, 0), |(c, o), p| (c + p.converged, o + p.of));
                let what = match targets {
                    [one] => format!("{} revision {}", one.service, one.revision),
                    many => format!("{done}/{} services", many.len()),
                };
                eprint!(
                    "\r\x1b[2K{} waiting for {what}: {converged}/{of} nodes converged ({}s)",
                    SPINNER[tick % SPINNER.len()],
                    started.elapsed().as_secs()
                );
            }
            tick += 1;
            tokio::time::sleep(POLL).await;
            ledger.refresh(client).await?;
        }
    };
    let result = tokio::time::timeout(timeout, watch).await;
    if tty {
        eprint!("\r\x1b[2K");
    }
    let progress = match result {
        Ok(r) => r?,
        Err(_) => {
            let names: Vec<_> = targets.iter().map(|t| format!("{} revision {}", t.service, t.revision)).collect();
            return Err(CliError::WaitTimeout(format!(
                "{}: not converged on every node after {}",
                names.join(", "),
                humantime::format_duration(timeout)
            )));
        }
    };
    Ok(targets
        .iter()
        .zip(progress)
        .map(|(t, p)| {
            json!({ "result": "converged", "service": t.service.to_string(), "revision": t.revision, "nodes": p.converged })
        })
        .collect())
}

/// Converged nodes out of those that serve the target.
struct Progress {
    converged: usize,
    of: usize,
}

fn check(ledger: &Ledger, target: &Target, wanted_sites: &BTreeSet<B256>) -> Result<Progress, CliError> {
    let Target { service: name, revision } = target;
    let service = ledger.service(name).ok_or_else(|| CliError::Usage(format!("no service {name} in this registry")))?;
    let spec = service
        .record
        .revisions
        .get(revision)
        .ok_or_else(|| CliError::Usage(format!("{name} has no revision {revision}")))?;
    if service.active() != *revision
        && let Some(change) = service.trail.events.last()
    {
        let what = match change.kind {
            ChangeKind::Published => format!("superseded by revision {}", change.revision),
            other => other.to_string(),
        };
        return Err(CliError::WaitFailed(format!(
            "{name} revision {revision} is no longer active: {what} (revision {} active, tx {})",
            service.active(),
            change.tx
        )));
    }
    let nodes: Vec<Address> = ledger
        .nodes_serving(spec)
        .into_iter()
        .filter(|node| {
            wanted_sites.is_empty() || ledger.node_site_id(node).is_some_and(|site| wanted_sites.contains(&site))
        })
        .collect();
    if nodes.is_empty() {
        return Err(CliError::Usage(format!("no registered node serves {name} revision {revision}")));
    }
    let reports: BTreeMap<_, _> = service.current_reports().collect();
    let mut converged = 0;
    for node in &nodes {
        match reports.get(node).map(|r| &r.report) {
            Some(r) if r.status == ReportStatus::CONVERGED => converged += 1,
            Some(r) if r.status != ReportStatus::Unknown => {
                return Err(CliError::WaitFailed(format!(
                    "{name} revision {revision}: node {node} ({}) reported {}: {}",
                    ledger.node_site(node).as_deref().unwrap_or("?"),
                    r.status.as_str(),
                    r.reason
                )));
            }
            _ => {}
        }
    }
    Ok(Progress { converged, of: nodes.len() })
}
