//! The mirror against a real anvil: proofs that do not hold are refused, and the registry's views
//! run in revm over proved storage give exactly what anvil's `eth_call` gives.

use alloy::eips::BlockId;
use alloy::primitives::{Address, B256, Bytes, U256, keccak256};
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::TransactionRequest;
use alloy::sol_types::SolCall;
use ledgerops_bindings::DeploymentRegistry as R;
use ledgerops_bindings::IDeploymentRegistry::ServiceSpec;
use ledgerops_e2e::Chain;
use ledgerops_evm::{Mirror, MirrorError, ProofError, verify};
use proptest::prelude::*;

const IMAGE: &str = "registry.local/app@sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
const NAMES: [&str; 3] = ["api", "web", "worker"];

fn spec(replicas: u32, body: &str) -> ServiceSpec {
    ServiceSpec { image: IMAGE.into(), replicas, sites: vec![], body: Bytes::copy_from_slice(body.as_bytes()) }
}

fn service_id(name: &str) -> B256 {
    keccak256(format!("prod/{name}"))
}

/// A registry with namespace `prod` (the admin deploys) and one node at site `edge`.
async fn registry() -> eyre::Result<Chain> {
    let chain = Chain::start().await?;
    let r = &chain.registry;
    r.createNamespace("prod".into()).send().await?.get_receipt().await?;
    r.grantDeployer("prod".into(), chain.account(0)).send().await?.get_receipt().await?;
    r.addNode(chain.account(2), "edge".into()).send().await?.get_receipt().await?;
    Ok(chain)
}

async fn latest(provider: &DynProvider) -> u64 {
    provider.get_block_number().await.expect("block number")
}

#[tokio::test]
async fn tampered_proofs_are_refused() -> eyre::Result<()> {
    let chain = registry().await?;
    let provider = chain.registry.provider().clone();
    let address = *chain.registry.address();
    chain.registry.publish("prod".into(), "api".into(), spec(2, "a")).send().await?.get_receipt().await?;
    let block = latest(&provider).await;
    let mut mirror = Mirror::at(&provider, address, block).await?;
    let head = mirror.view(&provider, &R::auditHeadCall {}).await?;
    assert!(head.seq > 0);
    let slots: Vec<B256> = mirror.slots().keys().copied().collect();
    let root = mirror.block().state_root;
    let proof = provider.get_proof(address, slots.clone()).number(block).await?;
    verify(root, address, &proof).expect("the untouched proof verifies");

    // One byte of one account-proof node changed.
    let mut bad = proof.clone();
    let node = bad.account_proof.last_mut().expect("an account proof");
    let mut bytes = node.to_vec();
    let at = bytes.len() / 2;
    bytes[at] ^= 1;
    *node = bytes.into();
    assert!(matches!(verify(root, address, &bad), Err(ProofError::Account { .. })), "a changed byte is refused");

    // A storage value changed (the proof nodes untouched).
    let mut bad = proof.clone();
    bad.storage_proof[0].value += U256::from(1);
    assert!(matches!(verify(root, address, &bad), Err(ProofError::Storage { .. })), "a changed value is refused");

    // Another account's proof handed over for the registry.
    let other = provider.get_proof(chain.account(0), vec![]).number(block).await?;
    assert!(matches!(verify(root, address, &other), Err(ProofError::WrongAccount { .. })));

    // A proof for the next block checked against this block's root.
    chain.registry.publish("prod".into(), "api".into(), spec(3, "b")).send().await?.get_receipt().await?;
    let later = provider.get_proof(address, slots).number(latest(&provider).await).await?;
    assert!(
        matches!(verify(root, address, &later), Err(ProofError::Account { .. })),
        "another block's proof is refused"
    );

    // The mirror moves to the new block and sees the new head; the old one stays readable offline.
    let before = mirror.clone();
    mirror.take_changed();
    mirror.advance(&provider, latest(&provider).await).await?;
    assert!(!mirror.take_changed().is_empty(), "the audit head's slots changed");
    let moved = mirror.view_offline(&R::auditHeadCall {})?;
    assert_eq!(moved.seq, head.seq + 1);
    assert_eq!(before.view_offline(&R::auditHeadCall {})?.seq, head.seq);

    // Offline, a slot never proved is reported, not read as zero.
    let unknown = R::serviceStateCall { sId: service_id("never") };
    assert!(matches!(mirror.view_offline(&unknown), Err(MirrorError::Missing(_))));
    Ok(())
}

/// After a reorg to a branch as high as the old one, a block number names another block: the
/// mirror moves by hash, proves the new block's storage, and refuses a block the chain dropped.
#[tokio::test]
async fn after_a_reorg_the_mirror_moves_to_the_new_block_of_the_same_number() -> eyre::Result<()> {
    let chain = registry().await?;
    let provider = chain.registry.provider().clone();
    let address = *chain.registry.address();
    let before = provider.get_block(BlockId::latest()).await?.expect("mined").header;
    chain.registry.publish("prod".into(), "api".into(), spec(2, "a")).send().await?.get_receipt().await?;
    let old = provider.get_block(BlockId::latest()).await?.expect("mined").header;
    let mut mirror = Mirror::at(&provider, address, old.hash).await?;
    let published = mirror.view(&provider, &R::auditHeadCall {}).await?;

    provider.raw_request::<_, ()>("anvil_reorg".into(), (1u64, Vec::<()>::new())).await?;
    let new = provider.get_block_by_number(old.number.into()).await?.expect("the new branch's block").header;
    assert_ne!(new.hash, old.hash, "the reorg replaced the block");
    assert!(
        matches!(mirror.clone().advance(&provider, old.hash).await, Err(MirrorError::NoBlock(_))),
        "the dropped block is refused, not answered from the block now at its number"
    );
    mirror.advance(&provider, new.hash).await?;
    assert_eq!(mirror.block().hash, new.hash);
    let head = mirror.view_offline(&R::auditHeadCall {})?;
    assert!(head.seq < published.seq, "the publish is gone from the new block");
    let at_fork = Mirror::at(&provider, address, before.hash).await?.view(&provider, &R::auditHeadCall {}).await?;
    assert_eq!((head.seq, head.head), (at_fork.seq, at_fork.head));
    Ok(())
}

#[tokio::test]
async fn a_forgotten_slot_is_no_longer_held_and_is_proved_again_when_read() -> eyre::Result<()> {
    let chain = registry().await?;
    let provider = chain.registry.provider().clone();
    chain.registry.publish("prod".into(), "api".into(), spec(1, "a")).send().await?.get_receipt().await?;
    let id = service_id("api");

    let mut mirror = Mirror::at(&provider, *chain.registry.address(), latest(&provider).await).await?;
    let call = R::revisionHashCall { sId: id, revision: 1 };
    let before: Vec<B256> = mirror.slots().keys().copied().collect();
    mirror.view(&provider, &call).await?;
    let read: Vec<B256> = mirror.slots().keys().filter(|slot| !before.contains(slot)).copied().collect();
    assert!(!read.is_empty(), "the view proved the slots it read");
    mirror.forget(&read);
    assert_eq!(mirror.take_forgotten(), read);
    assert!(matches!(mirror.view_offline(&call), Err(MirrorError::Missing(_))), "no longer held");
    assert_eq!(mirror.view(&provider, &call).await?, chain.registry.revisionHash(id, 1).call().await?);
    Ok(())
}

/// One change to the registry; some revert (rolling back a removed service), and that is fine.
#[derive(Debug, Clone)]
enum Op {
    Publish { service: usize, replicas: u32 },
    Rollback { service: usize, to: u32 },
    Remove { service: usize },
    Quorum { bps: u16 },
    Attest { service: usize },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..NAMES.len(), 1u32..50).prop_map(|(service, replicas)| Op::Publish { service, replicas }),
        2 => (0..NAMES.len(), 0u32..5).prop_map(|(service, to)| Op::Rollback { service, to }),
        1 => (0..NAMES.len()).prop_map(|service| Op::Remove { service }),
        1 => (0u16..10_000).prop_map(|bps| Op::Quorum { bps }),
        1 => (0..NAMES.len()).prop_map(|service| Op::Attest { service }),
    ]
}

/// Sends the op unless it would revert (checked first: the wallet's nonce cache would otherwise
/// skip a nonce for the refused transaction and leave the next one pending).
async fn run(chain: &Chain, op: &Op) {
    macro_rules! send_if_ok {
        ($call:expr) => {{
            let call = $call;
            if call.call().await.is_ok() {
                call.send().await.expect("sent").get_receipt().await.expect("a receipt");
            }
        }};
    }
    let r = &chain.registry;
    match op {
        Op::Publish { service, replicas } => {
            send_if_ok!(r.publish("prod".into(), NAMES[*service].into(), spec(*replicas, &format!("r{replicas}"))))
        }
        Op::Rollback { service, to } => send_if_ok!(r.rollback("prod".into(), NAMES[*service].into(), *to)),
        Op::Remove { service } => send_if_ok!(r.remove("prod".into(), NAMES[*service].into())),
        Op::Quorum { bps } => send_if_ok!(r.setQuorum(*bps)),
        Op::Attest { service } => {
            let id = service_id(NAMES[*service]);
            let state = r.serviceState(id).call().await.expect("serviceState");
            if state.activeRevision != 0 {
                // Refused when the node already reported on this activation: nothing is sent then.
                let _ = chain.attest_as(2, id, state.activeRevision, "edge", 1, "").await;
            }
        }
    }
}

/// `call` run in revm over the mirror and by anvil's `eth_call` at the same block.
async fn same<C: SolCall>(mirror: &mut Mirror, provider: &DynProvider, call: C)
where
    C::Return: PartialEq + std::fmt::Debug,
{
    let ours = mirror.view(provider, &call).await.expect("the view runs in revm");
    let request = TransactionRequest::default().to(mirror.head().address).input(call.abi_encode().into());
    let raw = provider.call(request).block(mirror.block().number.into()).await.expect("eth_call");
    let theirs = C::abi_decode_returns(&raw).expect("decodes");
    assert_eq!(ours, theirs, "{} differs", C::SIGNATURE);
    assert_eq!(mirror.view_offline(&call).expect("now held"), theirs, "{} offline", C::SIGNATURE);
}

/// `node` is the registered node, `admin` the admin and deployer.
async fn compare_every_view(mirror: &mut Mirror, provider: &DynProvider, node: Address, admin: Address) {
    same(mirror, provider, R::auditHeadCall {}).await;
    same(mirror, provider, R::quorumBpsCall {}).await;
    same(mirror, provider, R::nodeCountCall {}).await;
    same(mirror, provider, R::deployBlockCall {}).await;
    same(mirror, provider, R::nodeSiteCall { node }).await;
    same(mirror, provider, R::siteNodeCountCall { site: keccak256("edge") }).await;
    same(mirror, provider, R::namespaceInfoCall { namespace: "prod".into() }).await;
    same(mirror, provider, R::serviceIdCall { namespace: "prod".into(), name: "api".into() }).await;
    same(mirror, provider, R::namespaceIdCall { namespace: "prod".into() }).await;
    same(mirror, provider, R::siteIdCall { site: "edge".into() }).await;
    let deployer = R::deployerRoleCall { nsId: keccak256("prod") };
    same(mirror, provider, deployer.clone()).await;
    let role = mirror.view_offline(&deployer).expect("pure");
    same(mirror, provider, R::hasRoleCall { role, account: admin }).await;
    same(mirror, provider, R::getRoleMemberCountCall { role }).await;
    same(mirror, provider, R::getRoleAdminCall { role }).await;
    let site_role = R::siteRoleCall { site: keccak256("edge") };
    same(mirror, provider, site_role.clone()).await;
    let role = mirror.view_offline(&site_role).expect("pure");
    same(mirror, provider, R::getRoleMemberCountCall { role }).await;
    same(mirror, provider, R::getRoleMembersCall { role }).await;
    same(mirror, provider, R::supportsInterfaceCall { interfaceId: [0x01, 0xff, 0xc9, 0xa7].into() }).await;
    same(mirror, provider, R::MAX_REASON_BYTESCall {}).await;
    same(mirror, provider, R::HARD_MAX_REPLICASCall {}).await;
    same(mirror, provider, R::DEFAULT_QUORUM_BPSCall {}).await;
    for name in NAMES {
        let id = service_id(name);
        same(mirror, provider, R::serviceStateCall { sId: id }).await;
        same(mirror, provider, R::nodeServiceStateCall { sId: id, node }).await;
        let count = mirror.view_offline(&R::serviceStateCall { sId: id }).expect("held").revisionCount;
        for revision in 0..=count + 1 {
            same(mirror, provider, R::revisionHashCall { sId: id, revision }).await;
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, max_shrink_iters: 0, ..ProptestConfig::default() })]

    #[test]
    fn views_in_revm_equal_eth_call(ops in proptest::collection::vec(op(), 1..12)) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        rt.block_on(async {
            let chain = registry().await.expect("registry");
            let provider = chain.registry.provider().clone();
            let address = *chain.registry.address();
            let mut mirror = Mirror::at(&provider, address, latest(&provider).await).await.expect("mirror");
            compare_every_view(&mut mirror, &provider, chain.account(2), chain.account(0)).await;
            for op in &ops {
                run(&chain, op).await;
                // Every held slot proved again at the new block, then every view compared there.
                mirror.advance(&provider, latest(&provider).await).await.expect("advance");
                compare_every_view(&mut mirror, &provider, chain.account(2), chain.account(0)).await;
            }
        });
    }
}
