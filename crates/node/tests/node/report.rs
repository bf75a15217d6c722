//! What the node's reporter signs and pays, through its own code against real anvil: reports are
//! signed only for the chain the node follows, never above `--max-fee`, and on a free-gas chain
//! (`--max-fee 0`) by a node key with no balance at all.

use std::sync::Arc;
use std::time::Duration;

use alloy::node_bindings::Anvil;
use alloy::primitives::{Address, keccak256};
use alloy::providers::Provider;
use alloy::signers::local::PrivateKeySigner;
use ledgerops_chain::{Endpoint, FeeCeiling};
use ledgerops_e2e::{Chain, anvil_path};
use ledgerops_node::control::rollouts::{Outcome, Report};
use ledgerops_node::report::{self, Sender};
use ledgerops_node::serve::metrics::Metrics;
use ledgerops_node::store::Store;
use ledgerops_spec::{Spec, workload_hash};
use tokio::sync::mpsc;

use crate::harness;

/// anvil's account that plays the node.
const NODE: usize = 2;

/// A chain with namespace `report`, `node` registered at site `edge`, and `report/web` published
/// there (revision 1): what a converged report of that node is about.
async fn published(chain: &Chain, node: Address) -> Report {
    let registry = &chain.registry;
    registry.createNamespace("report".into()).send().await.expect("sent").get_receipt().await.expect("mined");
    let deployer = registry.grantDeployer("report".into(), chain.account(0));
    deployer.send().await.expect("sent").get_receipt().await.expect("mined");
    registry.addNode(node, "edge".into()).send().await.expect("sent").get_receipt().await.expect("mined");
    let mut spec: Spec = harness::app(1, "one", None);
    spec.sites = [keccak256("edge")].into();
    let onchain = spec.to_onchain().expect("valid");
    harness::publish(chain, "report/web", onchain.clone()).await;
    Report {
        name: "report_web".into(),
        service: keccak256("report/web"),
        revision: 1,
        activation: registry.auditHead().call().await.expect("eth_call").seq,
        sites: onchain.sites.clone(),
        workload_hash: workload_hash(&onchain),
        outcome: Outcome::Converged,
    }
}

/// Runs the reporter on one report for at most `wait`; true when it finished (sent or dropped),
/// false when it was still trying.
async fn report_once(sender: Sender, store: Arc<Store>, report: Report, wait: Duration) -> bool {
    let (reports, received) = mpsc::unbounded_channel();
    reports.send(report).expect("reporter listens");
    drop(reports);
    let running = tokio::spawn(report::run(sender, store, Arc::new(Metrics::default()), received));
    tokio::time::timeout(wait, running).await.is_ok()
}

/// The node's status on chain for `report/web` (0: none reported).
async fn reported_status(chain: &Chain, node: Address) -> u8 {
    let state = chain.registry.nodeServiceState(keccak256("report/web"), node).call().await.expect("eth_call");
    state.status
}

/// Two chains hold the same registry at the same address (deployed alike): an RPC that switches
/// the node to the other one gets nothing signed there, as the store is bound to the first.
#[tokio::test]
async fn reports_are_signed_only_for_the_chain_the_node_follows() {
    let followed = Chain::start().await.expect("anvil and a registry");
    let other =
        Chain::deploy_on(Anvil::at(anvil_path()).chain_id(7).try_spawn().expect("anvil")).await.expect("a registry");
    assert_eq!(followed.registry.address(), other.registry.address(), "the same address on both chains");
    let node = other.account(NODE);
    let report = published(&other, node).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(Store::open(&dir.path().join("node")).expect("store"));
    store.bind(31337, *followed.registry.address()).expect("bound to the followed chain");
    let signer: PrivateKeySigner = other.anvil.keys()[NODE].clone().into();
    let sender = |chain_id| Sender {
        rpc: Endpoint::new(other.anvil.endpoint()),
        registry: *other.registry.address(),
        signer: signer.clone(),
        chain_id,
        max_fee: None,
    };

    assert!(report_once(sender(None), Arc::clone(&store), report.clone(), Duration::from_secs(30)).await);
    assert_eq!(reported_status(&other, node).await, 0, "nothing signed for chain 7");
    assert!(report_once(sender(Some(1)), Arc::clone(&store), report.clone(), Duration::from_secs(30)).await);
    assert_eq!(reported_status(&other, node).await, 0, "nothing signed when --chain-id names another chain");

    // The same report, for the chain it is meant for, is sent: the refusals above were the check's.
    assert!(report_once(sender(Some(7)), store, report, Duration::from_secs(30)).await);
    assert_eq!(reported_status(&other, node).await, 1, "converged on chain 7 when --chain-id 7 says so");
}

/// anvil asks about a gwei per gas; a ceiling of 1000 wei sends nothing (the reporter keeps
/// trying, as prices change), and the error names both figures.
#[tokio::test]
async fn a_report_waits_while_the_chain_asks_more_than_max_fee() {
    let chain = Chain::start().await.expect("anvil and a registry");
    let node = chain.account(NODE);
    let report = published(&chain, node).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(Store::open(&dir.path().join("node")).expect("store"));
    let ceiling = FeeCeiling::parse("1000wei").expect("an amount");
    let sender = Sender {
        rpc: Endpoint::new(chain.anvil.endpoint()),
        registry: *chain.registry.address(),
        signer: chain.anvil.keys()[NODE].clone().into(),
        chain_id: None,
        max_fee: Some(ceiling),
    };

    let finished = report_once(sender, store, report, Duration::from_secs(3)).await;
    assert!(!finished, "still waiting for a price under the ceiling");
    assert_eq!(reported_status(&chain, node).await, 0, "nothing sent above the ceiling");
    let client =
        ledgerops_chain::Client::connect(&Endpoint::new(chain.anvil.endpoint()), *chain.registry.address(), None)
            .await
            .expect("connects");
    let refused = ceiling.fees(client.registry.provider(), &client.endpoint).await.expect_err("above the ceiling");
    let text = refused.to_string();
    assert!(text.contains("above --max-fee 1000 wei") && text.contains("nothing was sent"), "{text}");
    assert!(refused.is_transient(), "retried: the price may fall");
}

/// A free-gas chain (base fee 0, as private networks often run): with `--max-fee 0` a node key
/// that holds nothing reports, and pays nothing.
#[tokio::test]
async fn on_a_free_gas_chain_a_node_key_without_balance_reports() {
    let free = Anvil::at(anvil_path()).args(["--base-fee", "0", "--gas-price", "0", "--disable-min-priority-fee"]);
    let chain = Chain::deploy_on(free.try_spawn().expect("anvil")).await.expect("a registry");
    let signer = PrivateKeySigner::random();
    let node = signer.address();
    let report = published(&chain, node).await;
    let provider = chain.registry.provider();
    assert_eq!(provider.get_balance(node).await.expect("balance"), alloy::primitives::U256::ZERO, "an empty key");
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(Store::open(&dir.path().join("node")).expect("store"));
    let sender = Sender {
        rpc: Endpoint::new(chain.anvil.endpoint()),
        registry: *chain.registry.address(),
        signer,
        chain_id: None,
        max_fee: Some(FeeCeiling::parse("0").expect("free gas")),
    };

    assert!(report_once(sender, store, report, Duration::from_secs(30)).await);
    assert_eq!(reported_status(&chain, node).await, 1, "converged, reported by a key with no balance");
}
