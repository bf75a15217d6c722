//! The registry on a real anvil, through the generated bindings: a full lifecycle, the audit chain
//! recomputed from real logs, reverts decoded to their named errors, and real transaction gas.

use alloy::primitives::{B256, Bytes, keccak256};
use alloy::providers::Provider;
use alloy::rpc::types::{Filter, TransactionReceipt};
use alloy::sol_types::SolValue;
use ledgerops_bindings::DeploymentRegistry::DeploymentRegistryErrors;
use ledgerops_bindings::IDeploymentRegistry::ServiceSpec;
use ledgerops_chain::{AuditChain, AuditError, Client, Endpoint, Follower};
use ledgerops_e2e::Chain;

const IMAGE: &str =
    "127.0.0.1:5000/ledgerops/testapp@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
/// A 196-byte body: with the 104-byte image, the typical 300-byte spec of the gas budgets.
const BODY: &str = r#"{"command":["httpd","-f","-p","8080"],"env":{"LOG_LEVEL":"info"},"ports":[{"target":8080,"published":8080}],"secrets":["tls-cert"],"update":{"parallelism":1,"delay":"10s","failure_action":"rollback"}}"#;

const ADMIN: usize = 0;
const DEPLOYER: usize = 1;
const NODES: [usize; 3] = [2, 3, 4]; // two at site-a, one at site-b

/// The JSON ABI carries enums as uint8: `AttestationStatus.Converged`.
fn converged() -> u8 {
    1
}

fn site(label: &str) -> B256 {
    keccak256(label)
}

fn spec(replicas: u32, body: &str) -> ServiceSpec {
    ServiceSpec {
        image: IMAGE.into(),
        replicas,
        sites: vec![site("site-a")],
        body: Bytes::copy_from_slice(body.as_bytes()),
    }
}

fn workload_hash(spec: &ServiceSpec) -> B256 {
    keccak256((spec.image.clone(), spec.replicas, spec.body.clone()).abi_encode_params())
}

/// Creates namespace `prod`, a deployer, and three nodes.
async fn set_up(chain: &Chain) -> eyre::Result<()> {
    let admin = chain.registry_as(ADMIN);
    admin.createNamespace("prod".into()).send().await?.get_receipt().await?;
    admin.grantDeployer("prod".into(), chain.account(DEPLOYER)).send().await?.get_receipt().await?;
    for (i, label) in NODES.iter().zip(["site-a", "site-a", "site-b"]) {
        admin.addNode(chain.account(*i), label.into()).send().await?.get_receipt().await?;
    }
    Ok(())
}

async fn publish(chain: &Chain, spec: ServiceSpec) -> eyre::Result<TransactionReceipt> {
    let call = chain.registry_as(DEPLOYER);
    Ok(call.publish("prod".into(), "web".into(), spec).send().await?.get_receipt().await?)
}

#[tokio::test]
async fn lifecycle_quorum_rollback_and_audit_chain_from_real_logs() -> eyre::Result<()> {
    let chain = Chain::start().await?;
    set_up(&chain).await?;
    let web = chain.registry.serviceId("prod".into(), "web".into()).call().await?;

    let good = spec(2, BODY);
    publish(&chain, good.clone()).await?;
    for node in &NODES[..2] {
        let call = chain.registry_as(*node);
        let attest =
            call.attest(web, 1, site("site-a"), good.sites.clone(), workload_hash(&good), converged(), String::new());
        attest.send().await?.get_receipt().await?;
    }
    let bad = spec(3, BODY);
    publish(&chain, bad.clone()).await?;
    for node in &NODES[..2] {
        let call = chain.registry_as(*node);
        let vote = call.voteRollback(web, 2, site("site-a"), bad.sites.clone(), workload_hash(&bad), "crash".into());
        vote.send().await?.get_receipt().await?;
    }
    let state = chain.registry.serviceState(web).call().await?;
    assert_eq!((state.revisionCount, state.activeRevision), (2, 1), "a quorum of site-a rolled back to 1");

    // Recompute the chain from eth_getLogs and compare with the registry's own (seq, head).
    let provider = chain.registry.provider();
    let from = chain.registry.deployBlock().call().await?;
    let logs = provider.get_logs(&Filter::new().address(*chain.registry.address()).from_block(from)).await?;
    let chain_id = provider.get_chain_id().await?;
    let mut audit = AuditChain::genesis(chain_id, *chain.registry.address());
    for log in &logs {
        audit.append_log(&log.inner)?;
    }
    let onchain = chain.registry.auditHead().call().await?;
    assert_eq!((audit.seq(), audit.head()), (onchain.seq, onchain.head));
    assert!(audit.seq() >= 12, "every change is an entry (seq {})", audit.seq());

    // One changed byte anywhere in an entry's payload breaks the chain at that entry.
    let mut tampered = AuditChain::genesis(chain_id, *chain.registry.address());
    let target = logs.iter().rposition(|l| AuditChain::is_entry(&l.inner)).expect("entries");
    let mut first_error = None;
    for (i, log) in logs.iter().enumerate() {
        let mut data = log.inner.data.data.to_vec();
        if i == target {
            *data.last_mut().expect("payload") ^= 0x01;
        }
        if AuditChain::is_entry(&log.inner)
            && let Err(e) = tampered.append(log.inner.topics(), &data)
        {
            first_error = Some(e);
            break;
        }
    }
    assert!(matches!(first_error, Some(AuditError::HeadMismatch { .. })), "got {first_error:?}");
    Ok(())
}

#[tokio::test]
async fn reverts_decode_to_named_custom_errors() -> eyre::Result<()> {
    let chain = Chain::start().await?;
    set_up(&chain).await?;
    let mut bad_tag = spec(1, BODY);
    bad_tag.image = bad_tag.image.replace("testapp@", "testapp:.1@");

    let err = publish(&chain, bad_tag).await.expect_err("a tag starting with a dot is refused");
    let decoded = err
        .downcast_ref::<alloy::contract::Error>()
        .and_then(|e| e.as_decoded_interface_error::<DeploymentRegistryErrors>());
    assert!(matches!(decoded, Some(DeploymentRegistryErrors::InvalidImageRepository(_))), "got {err:?}");

    let stranger = chain.registry_as(9);
    let Err(err) = stranger.createNamespace("staging".into()).call().await else {
        panic!("a stranger created a namespace")
    };
    let decoded = err.as_decoded_interface_error::<DeploymentRegistryErrors>();
    assert!(matches!(decoded, Some(DeploymentRegistryErrors::AccessControlUnauthorizedAccount(_))), "got {err:?}");
    Ok(())
}

/// Real receipt gas of the budgeted calls; `--nocapture` prints the table in docs/contracts.md.
#[tokio::test]
async fn gas_of_budgeted_calls_on_anvil() -> eyre::Result<()> {
    let chain = Chain::start().await?;
    set_up(&chain).await?;
    let web = chain.registry.serviceId("prod".into(), "web".into()).call().await?;
    let large_body = format!(
        r#"{{"env":{{{}}}}}"#,
        (0..100).map(|i| format!(r#""FLAG_{i:03}":"enabled-value""#)).collect::<Vec<_>>().join(",")
    );

    let first = publish(&chain, spec(2, BODY)).await?.gas_used;
    let next = publish(&chain, spec(3, BODY)).await?.gas_used;
    let large = spec(4, &large_body);
    let next_large = publish(&chain, large.clone()).await?.gas_used;
    let node = chain.registry_as(NODES[0]);
    let attest = |revision: u32, on: &ServiceSpec| {
        node.attest(web, revision, site("site-a"), on.sites.clone(), workload_hash(on), converged(), String::new())
    };
    let attest_first = attest(3, &large).send().await?.get_receipt().await?.gas_used;
    let active = spec(5, BODY);
    publish(&chain, active.clone()).await?;
    let attest_next = attest(4, &active).send().await?.get_receipt().await?.gas_used;
    let vote = node
        .voteRollback(web, 4, site("site-a"), active.sites.clone(), workload_hash(&active), "task exited (1)".into())
        .send()
        .await?
        .get_receipt()
        .await?
        .gas_used;

    println!("| call | gas (anvil receipt) | budget |");
    println!("|---|---:|---:|");
    println!("| publish, first revision (creates the service) | {first} | - |");
    println!("| publish, new revision, 300-byte spec | {next} | 80,000 |");
    println!("| publish, new revision, {}-byte spec | {next_large} | - |", IMAGE.len() + large_body.len());
    println!("| attest, node's first for the service | {attest_first} | - |");
    println!("| attest, later revision | {attest_next} | 40,000 |");
    println!("| voteRollback, below quorum | {vote} | 60,000 |");
    assert!(vote <= 60_000, "vote over its budget: {vote}");
    Ok(())
}

/// `scripts/audit-verify` (cast only) agrees with the chain, and names the problem when the
/// registry's stored head no longer matches its logs.
#[tokio::test]
async fn audit_verify_script_checks_a_real_registry() -> eyre::Result<()> {
    let chain = Chain::start().await?;
    set_up(&chain).await?;
    publish(&chain, spec(2, BODY)).await?;
    let registry = chain.registry.address().to_string();
    let rpc = chain.anvil.endpoint();
    let seq = chain.registry.auditHead().call().await?.seq;

    let ok = audit_verify(&registry, &rpc)?;
    assert!(ok.status.success(), "audit-verify failed: {}", String::from_utf8_lossy(&ok.stderr));
    let out = String::from_utf8_lossy(&ok.stdout);
    assert!(out.contains(&format!("audit chain verified: {seq} entries")), "got {out}");

    // Overwrite the stored (seq, head) slot with a forged head.
    // The slot packs `head` in its upper 24 bytes above `seq` in the lower 8.
    let mut forged = [0xab; 32];
    forged[24..].copy_from_slice(&seq.to_be_bytes());
    let provider = chain.registry.provider();
    provider
        .raw_request::<_, bool>(
            "anvil_setStorageAt".into(),
            (registry.clone(), ledgerops_e2e::AUDIT_SLOT, B256::from(forged)),
        )
        .await?;
    let bad = audit_verify(&registry, &rpc)?;
    assert_eq!(bad.status.code(), Some(1));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("the registry says head 0xabab"), "got {err}");
    Ok(())
}

fn audit_verify(registry: &str, rpc: &str) -> std::io::Result<std::process::Output> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/audit-verify");
    std::process::Command::new(script).args([registry, rpc]).output()
}

/// `contracts/script/Deploy.s.sol`, as `scripts/dev` runs it: a registry with namespace `dev`, the
/// broadcaster as its deployer, and a node at site `local`.
#[tokio::test]
async fn deploy_script_sets_up_a_dev_registry() -> eyre::Result<()> {
    let chain = Chain::start().await?;
    let (signer, node) = (5, chain.account(6));
    let provider = chain.registry.provider();
    let broadcaster = chain.account(signer);
    let registry = broadcaster.create(provider.get_transaction_count(broadcaster).await?);

    let mut forge = std::process::Command::new(ledgerops_e2e::forge_path());
    forge
        .current_dir(ledgerops_e2e::repo_root())
        .args(["script", "contracts/script/Deploy.s.sol", "--broadcast", "--silent", "--rpc-url"])
        .arg(chain.anvil.endpoint())
        .arg("--private-key")
        .arg(alloy::hex::encode_prefixed(chain.anvil.keys()[signer].to_bytes()))
        .env("LEDGEROPS_NODE", node.to_string());
    if std::env::var_os("FOUNDRY_SOLC").is_none()
        && std::process::Command::new("solc").arg("--version").output().is_err()
    {
        forge.env("FOUNDRY_SOLC", ledgerops_e2e::repo_root().join("scripts/solc-js"));
    }
    let out = forge.output()?;
    assert!(out.status.success(), "forge script failed: {}", String::from_utf8_lossy(&out.stderr));

    let deployed = ledgerops_bindings::DeploymentRegistry::new(registry, provider.clone());
    let dev = deployed.namespaceInfo("dev".into()).call().await?;
    assert!(dev.exists && !dev.frozen, "namespace dev created");
    let deployer_role = deployed.deployerRole(keccak256("dev")).call().await?;
    assert!(deployed.hasRole(deployer_role, broadcaster).call().await?, "the broadcaster deploys to dev");
    assert_eq!(deployed.nodeSite(node).call().await?, site("local"));
    Ok(())
}

/// A WebSocket follower is woken by new heads on a connection of its own (it outlives the
/// follower's request connection); an HTTP one has none and polls.
#[tokio::test]
async fn new_heads_come_over_a_websocket_connection_of_their_own() -> eyre::Result<()> {
    let chain = Chain::start().await?;
    let address = *chain.registry.address();
    let http = Follower::new(Client::connect(&Endpoint::new(chain.anvil.endpoint()), address, None).await?, 0);
    assert!(http.new_heads().await?.is_none(), "over HTTP the caller polls");

    let ws = Follower::new(Client::connect(&Endpoint::new(chain.anvil.ws_endpoint()), address, None).await?, 0);
    let mut heads = ws.new_heads().await?.expect("a WebSocket subscribes");
    drop(ws);
    chain.registry.createNamespace("heads".into()).send().await?.get_receipt().await?;
    let mined = chain.registry.provider().get_block_number().await?;
    let head = tokio::time::timeout(std::time::Duration::from_secs(10), heads.recv()).await?;
    assert_eq!(head.map(|h| h.number), Some(mined), "the block's header arrives");
    Ok(())
}
