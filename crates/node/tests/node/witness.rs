//! An RPC that serves a fork of the chain: the attack the audit chain and storage proofs cannot
//! see, since they are checked against the fork's own headers. The fork is real (`anvil
//! --fork-url` of the test's chain, same chain id, history, registry and keys) and a deployer
//! publishes there. A node with a second, honest RPC as a witness acts on no block the two do not
//! agree on, and says so. (Without the witness, a node on this particular fork is stopped too,
//! but only by an anvil quirk: anvil leaves the state root of the blocks it mines on a fork zero,
//! so the storage proofs fail. A fork by a full node has real state roots; docs/security.md.)

use std::time::Duration;

use alloy::node_bindings::Anvil;
use alloy::providers::Provider;
use ledgerops_e2e::{Chain, anvil_path};

use crate::harness::{self, Site, mode, service};

#[tokio::test]
async fn a_fork_served_by_the_rpc_is_not_acted_on_when_a_witness_disagrees() {
    let site = Site::start("witness").await;
    harness::publish_spec(&site.chain, "witness/web", &harness::app(1, "real", None)).await;
    let head = site.chain.registry.provider().get_block_number().await.expect("head");
    let fork = Anvil::at(anvil_path())
        .fork(site.chain.anvil.endpoint())
        .fork_block_number(head)
        .try_spawn()
        .expect("a forked anvil");
    let forked = Chain::attach(fork, *site.chain.registry.address());

    // The node reads the fork; the real chain is its witness. Up to the fork they agree.
    let witness = site.chain.anvil.endpoint();
    let node = site.node_with(&forked.anvil.endpoint(), &["--witness-rpc-url", &witness]);
    node.until("revision 1 runs", || service("witness_web").filter(|s| mode(s).as_deref() == Some("real"))).await;

    // A deployer publishes on the fork only.
    harness::publish_spec(&forked, "witness/web", &harness::app(1, "forged", None)).await;
    let said = node
        .until("the disagreement is reported", || {
            node.get("/status").1["node"]["rpc_disagreement"].as_str().map(str::to_owned)
        })
        .await;
    assert!(said.contains(&format!("disagree on block {}", head + 1)), "{said}");
    assert!(said.contains("1 of 2 give") && said.contains("no such block"), "{said}");
    let (_, metrics) = node.get_text("/metrics");
    let counted = metrics
        .lines()
        .find_map(|l| l.strip_prefix("ledgerops_rpc_disagreements_total "))
        .and_then(|v| v.trim().parse::<f64>().ok());
    assert!(counted.is_some_and(|n| n >= 1.0), "{metrics}");
    tokio::time::sleep(Duration::from_secs(3)).await;
    let running = service("witness_web").expect("the service");
    assert_eq!(mode(&running).as_deref(), Some("real"), "nothing from the fork was applied");
    assert!(node.journaled("witness_web", "update").is_empty(), "{:?}", node.journal());
}
