//! A publish that a reorg takes away: the node follows the canonical chain back.

use alloy::providers::Provider;
use ledgerops_reconcile::observed::labels;

use crate::harness::{self, Site, label, replicas, service, until_attested};

#[tokio::test]
async fn a_reorged_publish_is_undone_on_the_swarm() {
    let site = Site::start("fork").await;
    let node = site.node();
    harness::publish_spec(&site.chain, "fork/web", &harness::app(1, "a", None)).await;
    node.until("fork_web created", || service("fork_web")).await;
    harness::publish_spec(&site.chain, "fork/web", &harness::app(2, "b", None)).await;
    node.until("fork_web at revision 2", || service("fork_web").filter(|s| replicas(s) == 2)).await;

    // Replace the block holding revision 2 with an empty one.
    let provider = site.chain.registry.provider();
    provider.raw_request::<_, ()>("anvil_reorg".into(), (1u64, Vec::<()>::new())).await.expect("anvil_reorg");
    let web = node
        .until("fork_web back at revision 1", || {
            service("fork_web").filter(|s| label(s, labels::REVISION).as_deref() == Some("1"))
        })
        .await;
    assert_eq!(replicas(&web), 1);
    assert!(!node.journaled("", "reorg").is_empty(), "{:?}", node.journal());
    drop(node);
}

/// The new branch is as high as the old one and nothing is mined after it: the node must prove
/// the new blocks, not keep what it proved of the old blocks of the same numbers.
#[tokio::test]
async fn a_reorg_to_a_branch_of_the_same_height_is_verified_at_the_new_blocks() {
    let site = Site::start("level").await;
    let node = site.node();
    harness::publish_spec(&site.chain, "level/web", &harness::app(1, "a", None)).await;
    until_attested(&node, &site.chain, "level/web", 1).await;
    let replaced = harness::publish_spec(&site.chain, "level/web", &harness::app(2, "b", None)).await;
    until_attested(&node, &site.chain, "level/web", 2).await;

    // The publish and the attestation after it, replaced by empty blocks: the node has nothing
    // left to send, so no later block comes to move it on.
    let provider = site.chain.registry.provider();
    let head = provider.get_block_number().await.expect("block number");
    provider
        .raw_request::<_, ()>("anvil_reorg".into(), (head - replaced + 1, Vec::<()>::new()))
        .await
        .expect("anvil_reorg");
    node.until("level_web back at revision 1, at the new head, nothing held", || {
        let back = service("level_web").and_then(|s| label(&s, labels::REVISION)).as_deref() == Some("1");
        let (_, status) = node.get("/status");
        let at_head = status["node"]["chain_block"] == head;
        let held = status["node"]["held"].as_object().is_some_and(|held| !held.is_empty());
        (back && at_head && !held).then_some(())
    })
    .await;
    assert_eq!(provider.get_block_number().await.expect("block number"), head, "nothing was mined after the reorg");
    drop(node);
}
