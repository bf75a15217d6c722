//! An RPC that hides a log: the node's state, checked against the registry's proved storage in
//! revm, catches it, holds that one service at its last verified revision while every other
//! service goes on, says why (metric, `/status`, journal, log), and applies the change once the
//! RPC serves the whole log again.

use std::collections::BTreeSet;

use alloy::primitives::{B256, keccak256};
use alloy::providers::Provider;
use ledgerops_bindings::DeploymentRegistry as R;
use ledgerops_chain::Cursor;
use ledgerops_e2e::Chain;
use ledgerops_evm::MirrorError;
use ledgerops_node::follow::verify::{Scope, Verifier};
use ledgerops_reconcile::observed::labels;
use ledgerops_registry::RegistryState;

use crate::harness::{self, Node, Site, label, service};
use crate::rpc::{Faults, RpcProxy};

/// A site whose node reads the chain through an RPC proxy (behaving until told otherwise), once
/// it created `service`'s first revision, published before it started.
async fn followed_through_proxy(namespace: &'static str, service: &str) -> (Site, RpcProxy, Node) {
    let site = Site::start(namespace).await;
    let rpc = RpcProxy::start(&site.chain.anvil.endpoint()).await;
    let (ns, name) = service.split_once('/').expect("namespace/name");
    harness::publish_spec(&site.chain, service, &harness::app(1, name, None)).await;
    let node = site.node_with(&rpc.url, &[]);
    let swarm_name = format!("{ns}_{name}");
    node.until(&format!("{swarm_name} created"), || harness::service(&swarm_name)).await;
    (site, rpc, node)
}

#[tokio::test]
async fn a_log_hidden_by_the_rpc_holds_that_service_and_no_other() {
    let (site, rpc, node) = followed_through_proxy("proved", "proved/a").await;

    // The RPC hides revision 2 of proved/a; proved/b is published after the node held proved/a,
    // so the node finds the same mismatch in two reads, at two blocks (it was journaled twice
    // when the two publishes happened to be read in two ranges).
    rpc.hide_revision("proved/a", 2);
    harness::publish_spec(&site.chain, "proved/a", &harness::app(2, "b", None)).await;
    node.until("proved/a held", || node.get("/status").1["node"]["held"]["proved/a"].as_str().map(str::to_owned)).await;
    harness::publish_spec(&site.chain, "proved/b", &harness::app(1, "c", None)).await;
    node.until("proved_b created although the log before it is missing", || service("proved_b")).await;
    let (_, status) = node.get("/status");
    let evidence = node
        .until("/status names the held service", || {
            let (_, status) = node.get("/status");
            status["node"]["held"]["proved/a"].as_str().map(str::to_owned)
        })
        .await;
    assert!(evidence.contains("revision 2 active") && evidence.contains("give revision 1"), "{evidence} {status}");
    let a = service("proved_a").expect("proved_a is still there");
    assert_eq!(label(&a, labels::REVISION).as_deref(), Some("1"), "held at its last verified revision");
    let (_, metrics) = node.get_text("/metrics");
    assert!(metrics.contains("ledgerops_held_services 1"), "{metrics}");
    assert!(node.log().contains("held at its last verified state"), "{}", node.log());
    let journaled = node.journaled("proved_a", "unverified");
    assert_eq!(journaled.len(), 1, "journaled once, however many times the range is re-read: {:?}", node.journal());

    // The RPC serves the whole log again: the held change lands and nothing is held.
    rpc.set(Faults::default());
    node.until("proved_a at revision 2", || {
        service("proved_a").filter(|s| label(s, labels::REVISION).as_deref() == Some("2"))
    })
    .await;
    node.until("nothing held", || {
        let (_, metrics) = node.get_text("/metrics");
        metrics.contains("ledgerops_held_services 0").then_some(())
    })
    .await;
    drop(node);
}

/// A check proves at its block only what it reads: the audit head and the services the block
/// touched. Holding every service ever checked had each block prove all of them again (at 10,000
/// services, 79 `eth_getProof` requests, 4.2 s per block).
#[tokio::test]
async fn each_check_holds_only_the_audit_head_and_the_services_it_compared() {
    let chain = Chain::start().await.expect("anvil and a registry");
    harness::set_up(&chain, "held").await;
    let provider = chain.registry.provider().clone();
    let mut verifier = Verifier::new(*chain.registry.address(), None);
    let state = RegistryState::default();
    let (a, b) = (keccak256("held/a"), keccak256("held/b"));

    let cursor = async |block: u64| {
        let header = provider.get_block_by_number(block.into()).await.expect("eth_getBlockByNumber").expect("mined");
        Cursor { block, hash: header.header.hash }
    };
    let block = harness::publish_spec(&chain, "held/a", &harness::app(1, "a", None)).await;
    verifier
        .check(&provider, cursor(block).await, &state, Scope::Touched(&BTreeSet::from([a])))
        .await
        .expect("checked");
    let block = harness::publish_spec(&chain, "held/b", &harness::app(1, "b", None)).await;
    verifier
        .check(&provider, cursor(block).await, &state, Scope::Touched(&BTreeSet::from([b])))
        .await
        .expect("checked");

    let mirror = verifier.mirror().expect("built");
    assert_eq!(mirror.block().number, block);
    assert!(mirror.view_offline(&R::auditHeadCall {}).is_ok(), "the audit head is held");
    assert!(mirror.view_offline(&R::serviceStateCall { sId: b }).is_ok(), "the touched service is held");
    assert!(
        matches!(mirror.view_offline(&R::serviceStateCall { sId: a }), Err(MirrorError::Missing(_))),
        "the service the block did not touch is not proved again"
    );
}

/// Node records are as much the RPC's word as specs: a forged `NodeAdded(this node, another
/// site)` in a range whose logs do not verify must not move the node to that site (it would prune
/// its own site's services and run the other's). While held, the node keeps its verified record.
#[tokio::test]
async fn a_forged_site_for_this_node_in_logs_that_do_not_verify_is_not_followed() {
    let (site, rpc, node) = followed_through_proxy("resited", "resited/here").await;

    // From now on every range of logs carries a copy of this node's NodeAdded naming site-b.
    let me = site.chain.account(harness::NODE);
    let added = site.chain.registry.NodeAdded_filter().topic1(me).from_block(0).query().await.expect("logs");
    let (_, log) = added.first().expect("the node was added");
    let mut forged = serde_json::to_value(log).expect("a log as JSON");
    forged["topics"][2] = serde_json::to_value(keccak256("site-b")).expect("json");
    rpc.set(Faults { inject: Some(forged), ..Faults::default() });

    // A service at site-b is published: its range carries the forged record.
    let mut there = harness::app(1, "there", None);
    there.sites = [keccak256("site-b")].into();
    harness::publish_spec(&site.chain, "resited/there", &there).await;
    node.until("the range held", || {
        (node.get_text("/metrics").1.contains("ledgerops_verify_mismatches_total 1")).then_some(())
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    assert!(service("resited_here").is_some(), "its own site's service is not pruned:\n{}", node.log());
    assert!(service("resited_there").is_none(), "the other site's service is not run:\n{}", node.log());
}

/// A header is JSON: an RPC can give a block's true hash (the one witnesses vouch for) beside a
/// state root of its choosing, and prove forged storage against that root. The node hashes each
/// header's fields again: such a header is refused, said in `/status`, and nothing moves until
/// the RPC answers truly again.
#[tokio::test]
async fn a_header_whose_state_root_is_not_its_hashs_is_refused() {
    let (site, rpc, node) = followed_through_proxy("rooted", "rooted/web").await;

    rpc.set(Faults { state_root: Some(B256::repeat_byte(0x42)), ..Faults::default() });
    harness::publish_spec(&site.chain, "rooted/web", &harness::app(2, "two", None)).await;
    let refusal = node
        .until("the refusal in /status", || {
            let (_, status) = node.get("/status");
            status["node"]["rpc_untrusted"].as_str().map(str::to_owned)
        })
        .await;
    assert!(refusal.contains("does not hash to its hash"), "{refusal}");
    assert!(node.get_text("/metrics").1.contains("ledgerops_rpc_untrusted_total"), "counted");
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let web = service("rooted_web").expect("still there");
    assert_eq!(web["Spec"]["Mode"]["Replicated"]["Replicas"], 1, "revision 2 not applied from a forged header");

    rpc.set(Faults::default());
    node.until("revision 2 applied once the RPC answers truly", || {
        service("rooted_web").filter(|s| s["Spec"]["Mode"]["Replicated"]["Replicas"] == 2)
    })
    .await;
    let (_, status) = node.get("/status");
    assert!(status["node"]["rpc_untrusted"].is_null(), "cleared: {status}");
}
