//! A node's standing in the registry, changed by its admin through the CLI: a removed node keeps
//! its site running and acts on nothing until it is added again; a node's vote is counted once
//! however often it is sent; a removed node's reports are refused with the registry's error.

use std::process::{Command, Output};
use std::time::Duration;

use alloy::primitives::keccak256;
use ledgerops_e2e::Chain;
use ledgerops_reconcile::observed::labels;
use ledgerops_spec::Spec;

use crate::harness::{self, NODE, Node, SITE, Site, label, service};

/// `ledgerops args...` as the registry's admin.
fn admin(chain: &Chain, args: &[&str]) -> Output {
    let key = alloy::hex::encode_prefixed(chain.anvil.keys()[0].to_bytes());
    let out = Command::new(harness::cli())
        .args(args)
        .env("LEDGEROPS_RPC_URL", chain.anvil.endpoint())
        .env("LEDGEROPS_REGISTRY", chain.registry.address().to_string())
        .env("LEDGEROPS_PRIVATE_KEY", key)
        .output()
        .expect("ledgerops runs");
    assert!(out.status.success(), "ledgerops {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out
}

/// Publishes as the admin through a fresh provider: the shared one caches the admin's nonce,
/// which the CLI's transactions moved on.
async fn publish(chain: &Chain, service: &str, spec: &Spec) -> u64 {
    let (namespace, name) = service.split_once('/').expect("namespace/name");
    let registry = chain.registry_as(0);
    let call = registry.publish(namespace.into(), name.into(), spec.to_onchain().expect("valid"));
    let receipt = call.send().await.expect("sent").get_receipt().await.expect("mined");
    receipt.block_number.expect("mined")
}

/// (observed revision, health) of `service` in the node's /status.
fn health_of(node: &Node, service: &str) -> Option<(u64, String)> {
    let entry = node.service_status(service)?;
    Some((entry["observed_revision"].as_u64()?, entry["health"].as_str()?.to_owned()))
}

fn revision(name: &str) -> Option<String> {
    service(name).and_then(|s| label(&s, labels::REVISION))
}

#[tokio::test]
async fn a_removed_node_keeps_its_services_running_and_resumes_when_added_again() {
    let site = Site::start("member").await;
    let node = site.node();
    publish(&site.chain, "member/web", &harness::app(1, "one", None)).await;
    node.until("revision 1 healthy", || health_of(&node, "member/web").filter(|h| *h == (1, "Healthy".into()))).await;

    let address = site.chain.account(NODE).to_string();
    admin(&site.chain, &["node", "remove", &address]);
    let ready = node
        .until("the node says it is not registered", || {
            let (code, ready) = node.get("/readyz");
            (code == 503 && ready["unregistered"] == true).then_some(ready)
        })
        .await;
    assert_eq!(ready["docker_reachable"], true, "{ready}");
    assert!(node.log().contains("not registered in the registry"), "{}", node.log());

    // A revision published meanwhile is not applied, and nothing is pruned.
    let block = publish(&site.chain, "member/web", &harness::app(1, "two", None)).await;
    node.until("the node read the new revision", || {
        (node.get("/status").1["node"]["chain_block"].as_u64()? >= block).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await; // three resyncs
    assert_eq!(revision("member_web").as_deref(), Some("1"), "held at revision 1 while unregistered");

    admin(&site.chain, &["node", "add", &address, "--site", SITE]);
    node.until("revision 2 healthy once added again", || {
        health_of(&node, "member/web").filter(|h| *h == (2, "Healthy".into()))
    })
    .await;
    assert_eq!(node.get("/readyz").0, 200);
    assert!(node.journaled("member_web", "remove").is_empty(), "never pruned: {:?}", node.journal());
    drop(node);
}

#[tokio::test]
async fn a_vote_sent_twice_counts_once_and_a_removed_nodes_report_is_refused() {
    let site = Site::start("votes").await;
    // Two more nodes at the site, not running: one vote of three is no quorum, so the revision
    // stays active and a node restarted without its store votes against it again.
    for account in [5, 6] {
        admin(&site.chain, &["node", "add", &site.chain.account(account).to_string(), "--site", SITE]);
    }
    let mut node = site.node();
    publish(&site.chain, "votes/web", &harness::app(1, "one", None)).await;
    node.until("revision 1 healthy", || health_of(&node, "votes/web").filter(|h| *h == (1, "Healthy".into()))).await;
    let needs_secret = harness::with_secret(harness::app(1, "two", None), "votes_missing-secret");
    publish(&site.chain, "votes/web", &needs_secret).await;
    node.until("the node voted", || node.log().contains("voted to roll back").then_some(())).await;
    node.kill();

    // The same key with an empty store: it judges revision 2 again and sends the same vote.
    let second = tempfile::tempdir().expect("tempdir");
    let mut node = Node::start(&site.chain, &site.chain.anvil.endpoint(), second.path());
    node.until("the second vote refused as a repeat", || {
        node.log().contains("already reported on chain").then_some(())
    })
    .await;
    let state = site.chain.registry.serviceState(keccak256("votes/web")).call().await.expect("serviceState");
    assert_eq!((state.activeRevision, state.votes), (2, 1), "the vote counted once");
    node.kill();

    // Removed, but serving a site it was configured with: it still acts, and its report is
    // refused with the registry's error, logged, without a crash.
    admin(&site.chain, &["node", "remove", &site.chain.account(NODE).to_string()]);
    let third = tempfile::tempdir().expect("tempdir");
    let node = Node::start_with(&site.chain, &site.chain.anvil.endpoint(), third.path(), &["--site", SITE]);
    let line = node
        .until("the removed node's vote refused", || {
            node.log().lines().find(|l| l.contains("report dropped")).map(str::to_owned)
        })
        .await;
    // Removal revokes the node role, which the registry checks first; the hint names the fix.
    assert!(line.contains("AccessControlUnauthorizedAccount") && line.contains("node add"), "{line}");
    let state = site.chain.registry.serviceState(keccak256("votes/web")).call().await.expect("serviceState");
    assert_eq!(state.votes, 1, "a removed node's vote is not counted");
    assert_eq!(node.get("/healthz").0, 200);
    drop(node);
}
