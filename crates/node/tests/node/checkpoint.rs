//! A checkpoint: a block the operator trusts. A node given one acts on no history that does not
//! hold it, and keeps it in its store: restarted without the flag against another chain (same
//! chain id, the same registry at the same address, a service published there, as a reset dev
//! chain or a fork made before the checkpoint would look), it applies nothing from it.

use alloy::eips::BlockNumberOrTag;
use alloy::primitives::B256;
use alloy::providers::Provider;
use ledgerops_e2e::Chain;

use crate::harness::{self, Node, Site, service};

/// `block:hash` of block 1 of `chain`.
async fn checkpoint_of(chain: &Chain) -> String {
    let provider = chain.registry.provider();
    let block = provider.get_block_by_number(BlockNumberOrTag::Number(1)).await.expect("rpc").expect("block 1");
    format!("1:{}", block.header.hash)
}

/// The node's refusal in `/status`, once it says one.
async fn refusal(node: &Node) -> String {
    node.until("the refusal in /status", || node.get("/status").1["node"]["rpc_untrusted"].as_str().map(str::to_owned))
        .await
}

#[tokio::test]
async fn history_without_the_checkpoint_is_not_followed_even_after_a_restart_without_the_flag() {
    let site = Site::start("chk").await;
    harness::publish_spec(&site.chain, "chk/web", &harness::app(1, "one", None)).await;

    // With one RPC and nothing else, the node says what it trusts: at start and in /status.
    let mut node = site.node();
    let trust = node.until("/status", || node.get("/status").1["node"]["trust"].as_str().map(str::to_owned)).await;
    assert_eq!(trust, "one RPC");
    assert!(node.log().contains("trusting one RPC: which chain the headers belong to is"), "{}", node.log());
    node.terminate();
    harness::clean("chk");
    let fresh = tempfile::tempdir().expect("tempdir");

    // A checkpoint that is not this chain's block 1: nothing is applied, and /status says why.
    let wrong = format!("1:{}", B256::repeat_byte(0x5a));
    let mut node = Node::start_with(&site.chain, &site.chain.anvil.endpoint(), fresh.path(), &["--checkpoint", &wrong]);
    let refused = refusal(&node).await;
    assert_eq!(node.get("/status").1["node"]["trust"], "checkpoint");
    assert!(refused.contains("not checkpoint") && refused.contains("another chain"), "{refused}");
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    assert!(service("chk_web").is_none(), "nothing applied from a chain without the checkpoint");
    node.terminate();

    // The chain's own block 1: followed.
    let right = checkpoint_of(&site.chain).await;
    let mut node = Node::start_with(&site.chain, &site.chain.anvil.endpoint(), fresh.path(), &["--checkpoint", &right]);
    node.until("chk_web created", || service("chk_web")).await;
    node.terminate();

    // Another chain, same id and registry address, a service of its own: the kept checkpoint
    // refuses it although no flag names one now.
    let other = Chain::start().await.expect("anvil and a registry");
    assert_eq!(other.registry.address(), site.chain.registry.address());
    harness::set_up(&other, "chk").await;
    harness::publish_spec(&other, "chk/other", &harness::app(1, "other", None)).await;
    let node = Node::start_with(&other, &other.anvil.endpoint(), fresh.path(), &[]);
    let refused = refusal(&node).await;
    assert_eq!(node.get("/status").1["node"]["trust"], "checkpoint", "the one kept in the store");
    assert!(refused.contains("another chain"), "{refused}");
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    assert!(service("chk_other").is_none(), "nothing from the other chain:\n{}", node.log());
    assert!(service("chk_web").is_some(), "what runs stays:\n{}", node.log());
}
