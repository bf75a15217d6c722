//! Rollback votes from several nodes at once, through the node's own reporter against real anvil:
//! each is estimated before any lands, so which one decides the quorum (and also re-activates the
//! previous revision, the dearer path) is only known when the chain orders them.

use std::sync::Arc;

use alloy::primitives::keccak256;
use alloy::signers::local::PrivateKeySigner;
use ledgerops_chain::Endpoint;
use ledgerops_e2e::Chain;
use ledgerops_node::control::rollouts::{Outcome, Report};
use ledgerops_node::report::{self, Sender};
use ledgerops_node::serve::metrics::Metrics;
use ledgerops_node::store::Store;
use ledgerops_spec::workload_hash;
use tokio::sync::mpsc;

use crate::harness;
use crate::rpc::{Faults, RpcProxy};

/// anvil's accounts that play the three nodes of site `edge`.
const NODES: [usize; 3] = [2, 3, 4];

#[tokio::test]
async fn votes_estimated_on_the_same_block_still_roll_the_fleet_back_when_they_land_together() {
    let chain = Chain::start().await.expect("anvil and a registry");
    let registry = &chain.registry;
    chain.namespace_with_node("race", NODES[0], "edge").await.expect("namespace and first node");
    for node in &NODES[1..] {
        let pending = registry.addNode(chain.account(*node), "edge".into()).send().await.expect("sent");
        pending.get_receipt().await.expect("mined");
    }
    let mut spec = harness::app(1, "one", None);
    spec.sites = [keccak256("edge")].into();
    harness::publish_spec(&chain, "race/web", &spec).await;
    spec.body.env.insert("MODE".into(), "two".into());
    let failing = spec.to_onchain().expect("valid");
    harness::publish(&chain, "race/web", failing.clone()).await;
    let id = keccak256("race/web");
    let activation = registry.auditHead().call().await.expect("eth_call").seq;

    // Two of the three nodes find revision 2 failing at the same moment: a quorum (2 of 3).
    let rpc = RpcProxy::start(&chain.anvil.endpoint()).await;
    rpc.set(Faults { gather_sends: 2, ..Faults::default() });
    let dir = tempfile::tempdir().expect("tempdir");
    let mut reporters = Vec::new();
    for node in &NODES[..2] {
        let store = Arc::new(Store::open(&dir.path().join(format!("node-{node}"))).expect("store"));
        let signer: PrivateKeySigner = chain.anvil.keys()[*node].clone().into();
        let rpc = Endpoint::new(rpc.url.clone());
        let sender = Sender { rpc, registry: *registry.address(), signer, chain_id: None, max_fee: None };
        let (reports, received) = mpsc::unbounded_channel();
        let report = Report {
            name: "race_web".into(),
            service: id,
            revision: 2,
            activation,
            sites: failing.sites.clone(),
            workload_hash: workload_hash(&failing),
            outcome: Outcome::Failed("tasks exit at once".into()),
        };
        reports.send(report).expect("reporter listens");
        drop(reports);
        reporters.push(tokio::spawn(report::run(sender, store, Arc::new(Metrics::default()), received)));
    }
    for reporter in reporters {
        tokio::time::timeout(std::time::Duration::from_secs(60), reporter).await.expect("reports sent").expect("ran");
    }

    let state = registry.serviceState(id).call().await.expect("eth_call");
    assert_eq!(state.activeRevision, 1, "the deciding vote rolled the registry back to revision 1");
    for node in &NODES[..2] {
        let mine = registry.nodeServiceState(id, chain.account(*node)).call().await.expect("eth_call");
        assert_eq!((mine.revision, mine.status), (2, 2), "node {node}'s vote is on chain");
    }
}
