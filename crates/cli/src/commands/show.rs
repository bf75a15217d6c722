//! Read-only views: status and history.

use ledgerops_registry::{ReportStatus, ServiceName};
use ledgerops_spec::SpecBody;
use serde_json::json;

use crate::commands::{Ctx, Outcome, short};
use crate::exit::CliError;
use crate::ledger::{Ledger, Service};
use crate::output::{ago, table};

pub(crate) async fn status(ctx: &Ctx, target: Option<&str>) -> Result<Outcome, CliError> {
    let (namespace, name) = match target {
        None => (None, None),
        Some(t) => match t.split_once('/') {
            Some((ns, name)) => (Some(ns), Some(name)),
            None => (Some(t), None),
        },
    };
    let client = ctx.client().await?;
    let ledger = Ledger::read(&client).await?;
    if let Some(ns) = namespace
        && !ledger.namespaces.contains_key(ns)
    {
        return Err(CliError::Usage(format!("no namespace {ns:?} in this registry")));
    }
    let services: Vec<Service<'_>> = ledger
        .services()
        .filter(|s| namespace.is_none_or(|ns| s.name().namespace == ns) && name.is_none_or(|n| s.name().name == n))
        .collect();
    if let (Some(ns), Some(n)) = (namespace, name)
        && services.is_empty()
    {
        return Err(CliError::Usage(format!("no service {ns}/{n} in this registry")));
    }
    let docs: Vec<_> = services.iter().map(|s| service_json(*s, &ledger)).collect();
    ctx.out.emit(&json!({ "services": docs }), || {
        let mut text = table(
            &["SERVICE", "REVISION", "IMAGE", "REPLICAS", "SITES", "CONVERGED"],
            services.iter().map(|s| {
                let spec = s.active_spec();
                let converged = s.current_reports().filter(|(_, r)| r.report.status == ReportStatus::CONVERGED).count();
                vec![
                    s.name().to_string(),
                    if s.active() == 0 { "removed".into() } else { s.active().to_string() },
                    spec.map_or("-".into(), |sp| sp.image.clone()),
                    spec.map_or("-".into(), |sp| sp.replicas.to_string()),
                    spec.map_or("-".into(), |sp| sites_text(&sp.sites, &ledger)),
                    format!("{converged}/{}", eligible(*s, &ledger)),
                ]
            }),
        );
        if let ([one], Some(_)) = (services.as_slice(), name) {
            text += "\n\n";
            text += &table(
                &["NODE", "SITE", "REVISION", "STATUS", "WHEN", "REASON"],
                one.trail.reports.iter().map(|(node, r)| {
                    vec![
                        node.to_string(),
                        ledger.node_site(node).unwrap_or_else(|| "(removed)".into()),
                        r.report.revision.to_string(),
                        r.report.status.as_str().into(),
                        ago(r.time),
                        r.report.reason.clone(),
                    ]
                }),
            );
        }
        text
    });
    Ok(Outcome::Done)
}

/// Nodes the active revision is placed on.
fn eligible(s: Service<'_>, ledger: &Ledger) -> usize {
    s.active_spec().map_or(0, |spec| ledger.nodes_serving(spec).len())
}

fn sites_text(sites: &[alloy::primitives::B256], ledger: &Ledger) -> String {
    if sites.is_empty() { "*".into() } else { sites.iter().map(|s| ledger.site_label(s)).collect::<Vec<_>>().join(",") }
}

fn service_json(s: Service<'_>, ledger: &Ledger) -> serde_json::Value {
    let spec = s.active_spec();
    json!({
        "service": s.name().to_string(),
        "active_revision": s.active(),
        "revisions": s.record.revisions.len(),
        "image": spec.map(|sp| sp.image.clone()),
        "replicas": spec.map(|sp| sp.replicas),
        "sites": spec.map(|sp| sp.sites.iter().map(|id| ledger.site_label(id)).collect::<Vec<_>>()),
        "body": spec.and_then(|sp| SpecBody::decode(&sp.body).ok()),
        "eligible_nodes": eligible(s, ledger),
        "nodes": s.trail.reports.iter().map(|(node, r)| json!({
            "node": node,
            "site": ledger.node_site(node),
            "revision": r.report.revision,
            "status": r.report.status.as_str(),
            "reason": r.report.reason,
            "block": r.block,
            "time": r.time,
        })).collect::<Vec<_>>(),
    })
}

pub(crate) async fn history(ctx: &Ctx, service: &ServiceName) -> Result<Outcome, CliError> {
    let client = ctx.client().await?;
    let ledger = Ledger::read(&client).await?;
    let s = ledger.service(service).ok_or_else(|| CliError::Usage(format!("no service {service} in this registry")))?;
    let docs: Vec<_> = s
        .trail
        .events
        .iter()
        .map(|c| {
            json!({ "revision": c.revision, "change": c.kind.to_string(), "actor": c.actor, "tx": c.tx, "block": c.block, "time": c.time })
        })
        .collect();
    ctx.out.emit(&json!({ "service": service.to_string(), "history": docs }), || {
        table(
            &["REVISION", "CHANGE", "ACTOR", "TX", "BLOCK", "WHEN"],
            s.trail.events.iter().map(|c| {
                vec![
                    c.revision.to_string(),
                    c.kind.to_string(),
                    short(&c.actor),
                    c.tx.to_string(),
                    c.block.to_string(),
                    ago(c.time),
                ]
            }),
        )
    });
    Ok(Outcome::Done)
}
