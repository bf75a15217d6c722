//! A publish that a reorg takes away: the node follows the canonical chain back.

use alloy::providers::Provider;
use ledgerops_e2e::Chain;
use ledgerops_reconcile::observed::labels;

use crate::harness::{self, Node, SWARM, label, replicas, service};

#[tokio::test]
async fn a_reorged_publish_is_undone_on_the_swarm() {
    let _swarm = SWARM.lock().await;
    harness::clean("fork");
    let chain = Chain::start().await.expect("anvil and a registry");
    harness::set_up(&chain, "fork").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let node = Node::start(&chain, &chain.anvil.endpoint(), dir.path());
    harness::publish_spec(&chain, "fork/web", &harness::app(1, "a", None)).await;
    node.until("fork_web created", || service("fork_web")).await;
    harness::publish_spec(&chain, "fork/web", &harness::app(2, "b", None)).await;
    node.until("fork_web at revision 2", || service("fork_web").filter(|s| replicas(s) == 2)).await;

    // Replace the block holding revision 2 with an empty one.
    let provider = chain.registry.provider();
    provider.raw_request::<_, ()>("anvil_reorg".into(), (1u64, Vec::<()>::new())).await.expect("anvil_reorg");
    let web = node
        .until("fork_web back at revision 1", || {
            service("fork_web").filter(|s| label(s, labels::REVISION).as_deref() == Some("1"))
        })
        .await;
    assert_eq!(replicas(&web), 1);
    assert!(!node.journaled("", "reorg").is_empty(), "{:?}", node.journal());
    drop(node);
    harness::clean("fork");
}
