//! Faults on the bad day: reorgs of depth 1 to 5 (replaced blocks and dropped blocks) across
//! publishes and rollbacks, and kill -9 of the node at seeded random points of a reconcile. After
//! each, the Swarm matches the canonical chain, nothing is created twice, and no report is lost.

use std::time::Duration;

use alloy::primitives::keccak256;
use alloy::providers::Provider;
use ledgerops_e2e::Chain;
use ledgerops_reconcile::observed::labels;

use crate::harness::{self, Node, Site, label, service};
use crate::rpc::{Faults, RpcProxy};

const SERVICES: [&str; 2] = ["a", "b"];

/// The active revision the canonical chain has for `deep/<name>` (0: none or removed).
async fn canonical(chain: &Chain, namespace: &str, name: &str) -> u32 {
    let state = chain.registry.serviceState(keccak256(format!("{namespace}/{name}"))).call().await.expect("eth_call");
    state.activeRevision
}

/// Waits until every service's Swarm revision label equals the canonical active revision.
async fn until_canonical(node: &Node, chain: &Chain, namespace: &str, what: &str) {
    let mut wanted = Vec::new();
    for name in SERVICES {
        wanted.push((format!("{namespace}_{name}"), canonical(chain, namespace, name).await));
    }
    node.until(what, || {
        wanted
            .iter()
            .all(|(swarm, revision)| {
                let running = service(swarm).and_then(|s| label(&s, labels::REVISION));
                match revision {
                    0 => running.is_none(),
                    r => running.as_deref() == Some(r.to_string().as_str()),
                }
            })
            .then_some(())
    })
    .await;
}

/// `depth` changes, one block each: publishes, and rollbacks once there is something to return to.
/// Sent through a new provider each time: a reorg takes nonces back, which a cached nonce would not.
async fn changes(chain: &Chain, namespace: &str, depth: u64, round: u64) {
    let admin = chain.registry_as(0);
    for i in 0..depth {
        let name = SERVICES[usize::try_from(i % 2).expect("small")];
        let id = keccak256(format!("{namespace}/{name}"));
        let state = admin.serviceState(id).call().await.expect("eth_call");
        let pending = if (i + round) % 3 == 2 && state.previousRevision != 0 {
            admin.rollback(namespace.into(), name.into(), state.previousRevision).send().await
        } else {
            let replicas = 1 + u32::try_from(i % 2).expect("small");
            let spec = harness::app(replicas, &format!("r{round}i{i}"), None).to_onchain().expect("valid");
            admin.publish(namespace.into(), name.into(), spec).send().await
        };
        pending.expect("sent").get_receipt().await.expect("mined");
    }
}

#[tokio::test]
async fn reorgs_of_depth_1_to_5_end_on_the_canonical_state() {
    let site = Site::start("deep").await;
    let node = site.node();
    for name in SERVICES {
        harness::publish_spec(&site.chain, &format!("deep/{name}"), &harness::app(1, "base", None)).await;
    }
    until_canonical(&node, &site.chain, "deep", "the base state").await;
    let provider = site.chain.registry.provider();
    for depth in 1..=5u64 {
        changes(&site.chain, "deep", depth, depth).await;
        until_canonical(&node, &site.chain, "deep", &format!("the changes before the reorg of depth {depth}")).await;
        if depth % 2 == 1 {
            // The last `depth` blocks replaced by empty ones.
            provider.raw_request::<_, ()>("anvil_reorg".into(), (depth, Vec::<()>::new())).await.expect("anvil_reorg");
        } else {
            // The last `depth` blocks dropped, then a longer branch mined on top.
            provider.raw_request::<_, ()>("anvil_rollback".into(), (Some(depth),)).await.expect("anvil_rollback");
            provider.raw_request::<_, ()>("anvil_mine".into(), (depth + 1, ())).await.expect("anvil_mine");
        }
        until_canonical(&node, &site.chain, "deep", &format!("the canonical state after the reorg of depth {depth}"))
            .await;
    }
    assert!(node.journaled("", "reorg").len() >= 5, "each reorg is journaled: {:?}", node.journal());
    drop(node);
}

#[tokio::test]
async fn kill_9_at_seeded_random_points_resumes_converged_and_loses_no_report() {
    let site = Site::start("crash").await;
    let mut node = site.node();
    for seed in 1..=4u64 {
        // A reconcile in flight: both services change at once, and the node is killed somewhere
        // between reading the block and attesting (a pseudo-random delay from the seed).
        for name in SERVICES {
            let mode = format!("seed{seed}");
            harness::publish_spec(&site.chain, &format!("crash/{name}"), &harness::app(1, &mode, None)).await;
        }
        let delay = (seed * 7919) % 400;
        tokio::time::sleep(Duration::from_millis(delay)).await;
        node.kill();
        node = site.node();
        until_canonical(&node, &site.chain, "crash", &format!("converged after kill -9 at {delay} ms (seed {seed})"))
            .await;
    }
    // However the kills fell, no report is lost: the registry holds this node's attestation of
    // each service's final revision as converged.
    for name in SERVICES {
        let revision = canonical(&site.chain, "crash", name).await;
        harness::until_attested(&node, &site.chain, &format!("crash/{name}"), revision).await;
    }
    for name in SERVICES {
        let creates = node.journaled(&format!("crash_{name}"), "create");
        assert!(creates.len() <= 1, "crash_{name} created {} times: {:?}", creates.len(), node.journal());
    }
    drop(node);
}

/// How long the partition test cuts the RPC off: 60 s in CI (`LEDGEROPS_PARTITION_SECS` to change).
fn partition() -> Duration {
    let secs = std::env::var("LEDGEROPS_PARTITION_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(60);
    Duration::from_secs(secs)
}

#[tokio::test]
async fn through_an_rpc_partition_services_stay_up_and_the_node_catches_up_without_a_gap() {
    let site = Site::start("part").await;
    let rpc = RpcProxy::start(&site.chain.anvil.endpoint()).await;
    let node = site.node_with(&rpc.url, &[]);
    for name in SERVICES {
        harness::publish_spec(&site.chain, &format!("part/{name}"), &harness::app(1, "before", None)).await;
    }
    until_canonical(&node, &site.chain, "part", "the state before the partition").await;

    // The node is cut off from the RPC while the chain moves on: three changes it cannot see.
    rpc.set(Faults { cut: true, ..Faults::default() });
    let cut = partition();
    let started = std::time::Instant::now();
    harness::publish_spec(&site.chain, "part/a", &harness::app(2, "during-1", None)).await;
    harness::publish_spec(&site.chain, "part/b", &harness::app(2, "during", None)).await;
    harness::publish_spec(&site.chain, "part/a", &harness::app(1, "during-2", None)).await;
    node.until("the partition noticed", || node.log().contains("RPC unreachable").then_some(())).await;
    while started.elapsed() < cut {
        for name in SERVICES {
            let running = service(&format!("part_{name}")).and_then(|s| label(&s, labels::REVISION));
            assert_eq!(running.as_deref(), Some("1"), "part_{name} keeps running what was verified");
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }

    rpc.set(Faults::default());
    let healed = std::time::Instant::now();
    until_canonical(&node, &site.chain, "part", "caught up after the partition").await;
    eprintln!("caught up {:.1} s after a {} s partition", healed.elapsed().as_secs_f64(), cut.as_secs());
    // No gap: the node read every change of the partition (a's two revisions were both seen).
    let a = node.journaled("part_a", "update");
    assert!(a.iter().any(|e| e["revision"] == 3), "revision 3 of part/a applied: {:?}", node.journal());
    let log = node.log();
    assert_eq!(log.matches("RPC unreachable").count(), 1, "logged once:\n{log}");
    assert!(log.contains("RPC reachable again"), "{log}");
    drop(node);
}

#[tokio::test]
async fn an_rpc_that_fails_half_the_time_and_answers_slowly_still_converges() {
    let site = Site::start("flaky").await;
    let rpc = RpcProxy::start(&site.chain.anvil.endpoint()).await;
    rpc.set(Faults { fail_half: true, delay: Duration::from_millis(150), ..Faults::default() });
    let node = site.node_with(&rpc.url, &[]);
    for round in 0..3 {
        for name in SERVICES {
            let mode = format!("round{round}");
            harness::publish_spec(&site.chain, &format!("flaky/{name}"), &harness::app(1 + round % 2, &mode, None))
                .await;
        }
    }
    until_canonical(&node, &site.chain, "flaky", "converged through a flaky, slow RPC").await;
    assert!(rpc.failed.load(std::sync::atomic::Ordering::Relaxed) > 0, "the proxy did fail requests");
    assert!(!node.log().contains("panicked"), "{}", node.log());
    drop(node);
}
