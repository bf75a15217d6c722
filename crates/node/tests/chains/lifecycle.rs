//! One registry's life as a private chain's users live it, run the same way on every chain the
//! tests cover: the CLI deploys and drives the registry, `scripts/audit-verify` checks it with
//! cast alone, and the node binary follows it with proofs. Only the chain differs between tests.

use std::process::{Child, Command};
use std::time::{Duration, Instant};

use alloy::primitives::{Address, keccak256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use ledgerops_bindings::DeploymentRegistry as R;
use ledgerops_e2e::{free_port, http_get, repo_root};
use serde_json::Value;

use crate::cli::Cli;

/// Private keys of accounts 0, 1 and 2 of the mnemonic `test test ... junk`, which anvil and
/// Hardhat both fund at start: the registry's admin, the deployer of namespace `dev`, the node.
const ADMIN_KEY: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const DEPLOYER_KEY: &str = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
const NODE_KEY: &str = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a";

/// A digest-pinned image: the CLI asks no image registry about it, and no Docker runs it here.
const IMAGE: &str =
    "127.0.0.1:5000/ledgerops/testapp@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// What a transaction pays per gas on these chains: nothing. The base fee is 0 and the CLI runs
/// with `--max-fee 0` (without it, alloy's fee estimate would tip its minimum, 1 wei).
const PRICE_PER_GAS: u128 = 0;

/// A chain's endpoints: HTTP for the CLI and cast, WebSocket for the node (new heads pushed).
pub(crate) struct Endpoints {
    pub(crate) http: String,
    pub(crate) ws: String,
}

/// Deploys a registry with the CLI and takes it through a service's life (namespace, deployer,
/// node, plan, deploy, diff, rollback), reads it back (history, status, both audit verifiers),
/// has the node follow it with proofs, and checks the chain ran it all on London at no gas price.
pub(crate) async fn live(chain: &Endpoints) {
    let mut cli = Cli::new(&chain.http);
    let registry = set_up(&mut cli);
    publish_and_roll_back(&mut cli);
    read_back(&mut cli, registry, &chain.http);
    let provider = ProviderBuilder::new().connect_http(chain.http.parse().expect("an http URL")).erased();
    follow_with_node(chain, registry, &provider).await;
    assert_london_with_free_gas(&provider, &cli).await;
}

/// `registry deploy`, namespace `dev` with its deployer, and the node at site `edge`.
fn set_up(cli: &mut Cli) -> Address {
    let deployed = cli.json(ADMIN_KEY, &["registry", "deploy"]);
    assert_eq!(deployed["chain_id"], 31337);
    let registry = deployed["registry"].as_str().and_then(|a| a.parse().ok()).expect("the registry address");
    cli.registry = Some(registry);
    let [deployer, node] = [DEPLOYER_KEY, NODE_KEY].map(address_of);
    cli.json(ADMIN_KEY, &["namespace", "create", "dev"]);
    cli.json(ADMIN_KEY, &["deployer", "grant", "dev", &deployer.to_string()]);
    cli.json(ADMIN_KEY, &["node", "add", &node.to_string(), "--site", "edge"]);
    registry
}

/// `dev/web`: planned, published with 2 then 3 replicas, diffed, rolled back to revision 1.
fn publish_and_roll_back(cli: &mut Cli) {
    let deploy = |verb: &'static [&'static str], replicas: &'static str| {
        [verb, &["dev/web", "--image", IMAGE, "--replicas", replicas, "--site", "edge"]].concat()
    };
    let planned = cli.exit_json(DEPLOYER_KEY, &deploy(&["plan", "deploy"], "2"), 1);
    let plan = &planned["services"][0];
    assert_eq!((plan["action"].as_str(), plan["result"].as_str()), (Some("create"), Some("ok")), "{planned}");
    let first = cli.json(DEPLOYER_KEY, &deploy(&["deploy"], "2"));
    assert_eq!(first["revision"], 1);
    // plan runs revm's latest rules, the chain London: the registry's calls cost the same.
    assert_eq!(plan["gas"], first["gas"], "plan's gas and the receipt's");
    assert_eq!(cli.json(DEPLOYER_KEY, &deploy(&["deploy"], "3"))["revision"], 2);

    cli.exit_json(DEPLOYER_KEY, &deploy(&["diff"], "3"), 0);
    let diff = cli.exit_json(DEPLOYER_KEY, &deploy(&["diff"], "4"), 1);
    assert_eq!(diff["changes"][0]["field"], "replicas");

    let planned = cli.exit_json(DEPLOYER_KEY, &["plan", "rollback", "dev/web"], 1);
    assert_eq!(planned["services"][0]["result"], "ok", "{planned}");
    let rolled = cli.json(DEPLOYER_KEY, &["rollback", "dev/web"]);
    assert_eq!(planned["services"][0]["gas"], rolled["gas"], "plan's gas and the receipt's");
    assert_eq!((rolled["revision"].as_u64(), rolled["from"].as_u64()), (Some(1), Some(2)));
}

/// `history` (each change with its time), `status`, `audit verify` and `scripts/audit-verify`.
fn read_back(cli: &mut Cli, registry: Address, rpc: &str) {
    let history = cli.json(DEPLOYER_KEY, &["history", "dev/web"]);
    let history = history["history"].as_array().expect("history");
    let changes: Vec<_> = history.iter().map(|c| &c["change"]).collect();
    assert_eq!(changes, ["published", "published", "rolled back from 2"]);
    for change in history {
        let time = change["time"].as_u64();
        assert!(time.is_some_and(|t| t > 1_700_000_000), "each change has its block's time: {change}");
    }
    let table = cli.text(DEPLOYER_KEY, &["history", "dev/web"]);
    assert!(table.lines().skip(1).all(|row| row.ends_with(" ago") || row.ends_with("just now")), "WHEN:\n{table}");

    let status = cli.json(DEPLOYER_KEY, &["status", "dev/web"]);
    let web = &status["services"][0];
    assert_eq!(
        (web["active_revision"].as_u64(), web["replicas"].as_u64(), web["eligible_nodes"].as_u64()),
        (Some(1), Some(2), Some(1)),
        "{status}"
    );

    let verified = cli.text(DEPLOYER_KEY, &["audit", "verify"]);
    assert!(verified.starts_with("audit chain verified: "), "{verified}");
    let out = Command::new(repo_root().join("scripts/audit-verify"))
        .args([&registry.to_string(), rpc])
        .output()
        .expect("scripts/audit-verify runs");
    assert!(out.status.success(), "scripts/audit-verify: {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout), verified, "cast and the CLI recompute the same chain");
}

/// Runs `ledgerops-node` on the chain's WebSocket until it has read the last block, without a
/// Docker daemon (it follows the chain all the same), then reads what it kept: the service as
/// folded from the logs it verified, and the registry's audit head proved at its cursor.
async fn follow_with_node(chain: &Endpoints, registry: Address, provider: &DynProvider) {
    let dir = tempfile::tempdir().expect("temp dir");
    let last = provider.get_block_number().await.expect("a block number");
    let port = free_port();
    let mut node = Command::new(env!("CARGO_BIN_EXE_ledgerops-node"))
        .args(["--rpc-url", &chain.ws, "--registry", &registry.to_string(), "--poll-interval", "100ms"])
        .args(["--listen", &format!("127.0.0.1:{port}"), "--docker-socket"])
        .arg(dir.path().join("no-docker.sock"))
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .env("LEDGEROPS_PRIVATE_KEY", NODE_KEY)
        .stderr(std::fs::File::create(dir.path().join("node.log")).expect("log file"))
        .spawn()
        .map(KilledOnDrop)
        .expect("ledgerops-node starts");
    let log = || std::fs::read_to_string(dir.path().join("node.log")).unwrap_or_default();
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        let (code, body) = http_get(port, "/status");
        let status: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
        if code == 200 && status["node"]["chain_block"].as_u64() >= Some(last) {
            break status;
        }
        assert!(Instant::now() < deadline, "the node did not reach block {last}:\n{}", log());
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(status["node"]["held"], serde_json::json!({}), "no service held:\n{}", log());
    Command::new("kill").args(["-TERM", &node.0.id().to_string()]).status().expect("kill runs");
    assert_eq!(node.0.wait().expect("the node exits").code(), Some(0), "{}", log());

    let store = ledgerops_node::store::Store::open_read_only(&dir.path().join("data")).expect("the node's store");
    let folded = ledgerops_node::follow::restore(&store).expect("the store reads").expect("a folded state");
    let web = &folded.state.services[&keccak256("dev/web")];
    let spec = web.active_spec().expect("an active revision");
    assert_eq!((web.active, spec.image.as_str(), spec.replicas), (1, IMAGE, 2), "folded from the verified logs");
    let mirror = store.mirror().expect("the store reads").expect("the proved registry at the cursor");
    assert!(mirror.block().number >= last, "proved at block {}", mirror.block().number);
    let proved = mirror.view_offline(&R::auditHeadCall {}).expect("the audit head is proved");
    let called = R::new(registry, provider).auditHead().call().await.expect("auditHead()");
    assert_eq!((proved.seq, proved.head), (called.seq, called.head), "the head proved with eth_getProof");
}

/// Every transaction the CLI sent was mined in a London block (EIP-1559's base fee, no
/// Shanghai withdrawals) whose base fee is 0, at [`PRICE_PER_GAS`].
async fn assert_london_with_free_gas(provider: &DynProvider, cli: &Cli) {
    for tx in &cli.txs {
        let receipt = provider.get_transaction_receipt(*tx).await.expect("a receipt").expect("mined");
        assert!(receipt.status(), "{tx} succeeded");
        assert_eq!(receipt.effective_gas_price, PRICE_PER_GAS, "{tx}'s effective gas price");
        let block = receipt.block_number.expect("mined in a block");
        let header = provider.get_block_by_number(block.into()).await.expect("a block").expect("it exists").header;
        assert_eq!(header.base_fee_per_gas, Some(0), "block {block}'s base fee");
        assert_eq!(header.withdrawals_root, None, "block {block} is before Shanghai");
    }
}

/// A process killed when dropped: a failed assertion leaves no node running (a `Child` is not).
struct KilledOnDrop(Child);

impl Drop for KilledOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn address_of(key: &str) -> Address {
    key.parse::<alloy::signers::local::PrivateKeySigner>().expect("a key").address()
}
