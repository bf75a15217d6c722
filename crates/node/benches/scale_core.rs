//! The node's pure core at 10,000 services, no chain and no engine: what a cold start computes
//! once the logs are read (fold the events, build the desired state) and what every resync pass
//! computes (decode the engine's service list, plan, build `/status` and the service metrics),
//! against an observed state of the same size that matches the desired one. Everything timed is
//! computation on one thread with no I/O, so its wall time is its CPU time on an otherwise idle
//! machine. Prints figures; asserts none.
//!
//! `cargo bench -p ledgerops-node --bench scale_core` (`LEDGEROPS_BENCH_SERVICES=N`,
//! `LEDGEROPS_BENCH_RUNS` timed passes, default 10).

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use alloy::primitives::{Address, Bytes, FixedBytes, keccak256};
use bollard::models::{ObjectVersion, Service};
use ledgerops_bindings::DeploymentRegistry::{
    DeploymentRegistryEvents as Ev, NodeAdded, RevisionPublished, ServiceCreated,
};
use ledgerops_bindings::IDeploymentRegistry::ServiceSpec;
use ledgerops_e2e::bench::{env_or, min_median_max, process_usage, typical_body};
use ledgerops_node::control::rollouts::Rollouts;
use ledgerops_node::control::status::{Seen, statuses};
use ledgerops_node::serve::metrics::Metrics;
use ledgerops_reconcile::{NodeRules, Ownership, desired_for, plan};
use ledgerops_registry::RegistryState;
use ledgerops_swarm::translate::{ObjectIds, observed_of, service_spec};

const SITE: &str = "bench-site";
const IMAGE: &str = "registry.local/app@sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

/// What the registry's logs say after `n` services were published at the node's site, each with
/// a ~300-byte spec body: one node added, then each service created and its revision 1 published.
fn events(n: usize) -> Vec<Ev> {
    let site = keccak256(SITE);
    let head = FixedBytes::<24>::ZERO;
    let mut out = vec![Ev::NodeAdded(NodeAdded { node: Address::ZERO, siteId: site, seq: 1, head, site: SITE.into() })];
    for i in 0..n {
        let service_id = keccak256(format!("bench/svc-{i}"));
        let seq = 2 + 2 * i as u64;
        out.push(Ev::ServiceCreated(ServiceCreated {
            serviceId: service_id,
            namespaceId: keccak256("bench"),
            seq,
            head,
            namespace: "bench".into(),
            name: format!("svc-{i}"),
        }));
        let body = Bytes::from(typical_body(i).into_bytes());
        let spec = ServiceSpec { image: IMAGE.into(), replicas: 2, sites: vec![site], body };
        out.push(Ev::RevisionPublished(RevisionPublished {
            serviceId: service_id,
            revision: 1,
            publisher: Address::ZERO,
            seq: seq + 1,
            head,
            spec,
        }));
    }
    out
}

/// This process's resident memory in MB.
fn rss_mb() -> f64 {
    process_usage(std::process::id()).map_or(0.0, |(kb, _)| kb as f64 / 1000.0)
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn shown(runs: Vec<Duration>) -> String {
    min_median_max(runs).map(ms).join(" / ")
}

fn main() -> eyre::Result<()> {
    if std::env::args().any(|a| a == "--list") {
        return Ok(());
    }
    let (n, runs) = (env_or("LEDGEROPS_BENCH_SERVICES", 10_000), env_or("LEDGEROPS_BENCH_RUNS", 10));
    let base = rss_mb();
    let events = events(n);
    let with_events = rss_mb();
    let sites = BTreeSet::from([keccak256(SITE)]);

    let started = Instant::now();
    let mut state = RegistryState::default();
    for event in &events {
        state.apply(event)?;
    }
    let fold = started.elapsed();
    let started = Instant::now();
    let desired = desired_for(&state, &NodeRules { sites, max_replicas: 100, ..NodeRules::default() });
    let build = started.elapsed();
    eyre::ensure!(desired.len() == n && desired.iter().all(|d| d.workload.is_ok()), "every service is desired");
    println!("{n} services: fold {} events {}, build the desired state {}", events.len(), ms(fold), ms(build));
    drop(events);
    println!(
        "  resident memory: the events {:.1} MB; the folded state and the desired state {:.1} MB (after the events were dropped)",
        with_events - base,
        rss_mb() - base
    );

    // The engine's answer to `GET /services` when it runs exactly the desired state.
    let registry: ledgerops_registry::RegistryId =
        "31337/0x5fbdb2315678afecb367f032d93f642f64180aa3".parse().map_err(eyre::Report::msg)?;
    let listed: Vec<Service> = desired
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let owner = Ownership { service: d.id, revision: d.revision, spec_hash: d.spec_hash };
            let workload = d.workload.as_ref().expect("valid");
            Service {
                id: Some(format!("{i:025}")),
                version: Some(ObjectVersion { index: Some(100 + i as u64) }),
                spec: Some(service_spec(&d.swarm_name, &owner, workload, &ObjectIds::default(), &registry)),
                ..Default::default()
            }
        })
        .collect();
    let answer = serde_json::to_vec(&listed)?;
    println!("the engine's service list: {:.1} MB of JSON", answer.len() as f64 / 1e6);

    let before = rss_mb();
    let observed: Vec<_> = serde_json::from_slice::<Vec<Service>>(&answer)?
        .into_iter()
        .filter_map(|s| observed_of(s, &Default::default()))
        .collect();
    println!("  resident memory: the observed state {:.1} MB", rss_mb() - before);
    drop(observed);
    let metrics = Metrics::default();
    let rollouts = Rollouts::default();
    let last = BTreeMap::new();
    let (mut decode, mut planned, mut status, mut total) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        let t0 = Instant::now();
        let services: Vec<Service> = serde_json::from_slice(&answer)?;
        let observed: Vec<_> = services.into_iter().filter_map(|s| observed_of(s, &Default::default())).collect();
        let t1 = Instant::now();
        let plan = plan(&desired, &observed, |_, _| true);
        let t2 = Instant::now();
        let seen = Seen {
            state: &state,
            desired: &desired,
            observed: &observed,
            plan: &plan,
            rollouts: &rollouts,
            last: &last,
        };
        let shown = statuses(&seen, &metrics);
        let t3 = Instant::now();
        eyre::ensure!(plan.steps.is_empty() && plan.held.is_empty(), "the observed state matches: nothing to do");
        eyre::ensure!(shown.len() == n && shown.iter().all(|s| s.sync == "Synced"), "every service shows synced");
        decode.push(t1 - t0);
        planned.push(t2 - t1);
        status.push(t3 - t2);
        total.push(t3 - t0);
    }
    println!("one resync pass against {n} observed services, {runs} runs, min / median / max:");
    println!("  decode the service list  {}", shown(decode));
    println!("  plan                     {}", shown(planned));
    println!("  /status and metrics      {}", shown(status));
    println!("  the pass                 {}", shown(total));
    Ok(())
}
