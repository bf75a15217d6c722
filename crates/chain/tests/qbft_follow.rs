//! A follower in QBFT mode over JSON-RPC, on a chain of QBFT headers sealed by validator keys the
//! test holds: it follows the validator set from its checkpoint through a change of the set, and
//! refuses a header without a quorum of valid seals, one sealed by others, and a chain without its
//! checkpoint. (No QBFT client runs on this machine: Besu needs a JVM and its releases are not on
//! the registries here; the seal check itself is also tested on a header Besu produced.) The RPC
//! is a small server of these headers: the follower's only use of it is JSON-RPC.

use std::sync::{Arc, Mutex};

use alloy::consensus::Header as ConsensusHeader;
use alloy::primitives::{Address, B256, Bytes, U256};
use alloy::rlp::{BufMut, Encodable};
use alloy::rpc::types::{Block, BlockTransactions, Header};
use alloy::signers::SignerSync;
use alloy::signers::local::PrivateKeySigner;
use axum::Json;
use axum::extract::State;
use axum::routing::post;
use ledgerops_chain::trust::{Checkpoint, Consensus, TrustRoot};
use ledgerops_chain::{ChainError, Client, Cursor, Endpoint, Follower, Next, qbft};
use serde_json::{Value, json};

/// The chain the server answers from, block `i` at index `i`.
type Chain = Arc<Mutex<Vec<Header>>>;

/// The blocks whose headers were asked for, in order.
type Asked = Arc<Mutex<Vec<u64>>>;

async fn rpc(State((chain, asked)): State<(Chain, Asked)>, Json(request): Json<Value>) -> Json<Value> {
    let chain = chain.lock().expect("lock").clone();
    let result = match request["method"].as_str().unwrap_or_default() {
        "eth_chainId" => json!("0x539"),
        "eth_getCode" => json!("0x60"),
        "eth_blockNumber" => json!(format!("{:#x}", chain.len() - 1)),
        "eth_getLogs" => json!([]),
        "eth_getBlockByNumber" => {
            let number = request["params"][0].as_str().and_then(|n| u64::from_str_radix(&n[2..], 16).ok());
            asked.lock().expect("lock").extend(number);
            match number.and_then(|n| chain.get(usize::try_from(n).ok()?)) {
                Some(header) => serde_json::to_value(Block::<Value> {
                    header: header.clone(),
                    uncles: Vec::new(),
                    transactions: BlockTransactions::Hashes(Vec::new()),
                    withdrawals: None,
                })
                .expect("json"),
                None => Value::Null,
            }
        }
        other => {
            return Json(json!({"jsonrpc": "2.0", "id": request["id"], "error": {"code": -32601, "message": other}}));
        }
    };
    Json(json!({"jsonrpc": "2.0", "id": request["id"], "result": result}))
}

/// QBFT extra data: `RLP([vanity, validators, vote, round, seals])`.
fn extra(validators: &[Address], seals: &[[u8; 65]]) -> Bytes {
    let mut payload = Vec::new();
    [0u8; 32].as_slice().encode(&mut payload);
    validators.to_vec().encode(&mut payload);
    payload.put_u8(alloy::rlp::EMPTY_LIST_CODE); // no vote
    0u64.encode(&mut payload); // round 0
    let seals: Vec<Bytes> = seals.iter().map(|s| Bytes::copy_from_slice(s)).collect();
    seals.encode(&mut payload);
    let mut out = Vec::new();
    alloy::rlp::Header { list: true, payload_length: payload.len() }.encode(&mut out);
    out.extend_from_slice(&payload);
    out.into()
}

/// Block `number` after `parent`, naming `next` as the set that seals the following block,
/// sealed by `sealers`; its hash is the QBFT one (the header with its seals emptied).
fn block(number: u64, parent: B256, next: &[Address], sealers: &[&PrivateKeySigner]) -> Header {
    let mut inner = ConsensusHeader {
        number,
        parent_hash: parent,
        state_root: B256::with_last_byte(u8::try_from(number % 251).expect("small")),
        difficulty: U256::from(1),
        gas_limit: 30_000_000,
        timestamp: 1_715_495_307 + number,
        base_fee_per_gas: Some(0),
        extra_data: extra(next, &[]),
        ..Default::default()
    };
    let hash = qbft::unsealed_hash(&alloy::rlp::encode(&inner)).expect("QBFT extra data");
    let seals: Vec<[u8; 65]> = sealers.iter().map(|s| s.sign_hash_sync(&hash).expect("signs").as_bytes()).collect();
    inner.extra_data = extra(next, &seals);
    Header { hash, inner, total_difficulty: None, size: None }
}

/// Appends block `number` (after the chain's last) to `chain`.
fn append(chain: &Chain, next: &[Address], sealers: &[&PrivateKeySigner]) {
    let mut blocks = chain.lock().expect("lock");
    let parent = blocks.last().expect("genesis");
    let header = block(parent.number + 1, parent.hash, next, sealers);
    blocks.push(header);
}

async fn serve(chain: Chain, asked: Asked) -> String {
    let app = axum::Router::new().route("/", post(rpc)).with_state((chain, asked));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a port");
    let url = format!("http://{}", listener.local_addr().expect("bound"));
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serves") });
    url
}

async fn qbft_follower(url: &str, checkpoint: Checkpoint) -> Follower {
    let client = Client::connect(&Endpoint::new(url), Address::repeat_byte(0x11), None).await.expect("connects");
    let trust = TrustRoot::new(Some(checkpoint), Consensus::Qbft).expect("a trust root");
    Follower::new(client, 0).with_trust(trust)
}

fn refusal(result: Result<(Next, u64), ChainError>) -> String {
    match result {
        Err(ChainError::Untrusted(reason)) => reason,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn follows_the_validator_set_from_its_checkpoint_and_refuses_what_a_quorum_did_not_seal() {
    let keys: Vec<PrivateKeySigner> = (0..5).map(|_| PrivateKeySigner::random()).collect();
    let outsiders: Vec<PrivateKeySigner> = (0..4).map(|_| PrivateKeySigner::random()).collect();
    let four: Vec<Address> = keys[..4].iter().map(PrivateKeySigner::address).collect();
    let five: Vec<Address> = keys.iter().map(PrivateKeySigner::address).collect();
    let [k0, k1, k2, k3, k4] = [&keys[0], &keys[1], &keys[2], &keys[3], &keys[4]];

    let genesis = block(0, B256::ZERO, &four, &[]);
    let checkpoint = Checkpoint { block: 0, hash: genesis.hash };
    let chain: Chain = Arc::new(Mutex::new(vec![genesis.clone()]));
    for _ in 1..=5 {
        append(&chain, &four, &[k0, k1, k2]); // 3 of 4: QBFT's quorum
    }
    let asked = Asked::default();
    let url = serve(Arc::clone(&chain), Arc::clone(&asked)).await;
    let follower = qbft_follower(&url, checkpoint).await;
    let start = Cursor { block: 0, hash: genesis.hash };

    let (next, _) = follower.next(start).await.expect("sealed blocks");
    let Next::Advanced { to, .. } = next else { panic!("expected to advance, got {next:?}") };
    assert_eq!(to.block, 5);
    assert_eq!(follower.trust().tip().map(|t| (t.block, t.validators.len())), Some((5, 4)));

    // Block 6 names a fifth validator; block 7 is sealed under the new set (4 of 5), by the
    // newcomer among others.
    append(&chain, &five, &[k0, k1, k2]);
    append(&chain, &five, &[k1, k2, k3, k4]);
    let (next, _) = follower.next(to).await.expect("the set followed");
    let Next::Advanced { to, .. } = next else { panic!("expected to advance, got {next:?}") };
    assert_eq!((to.block, follower.trust().tip().map(|t| t.validators.len())), (7, Some(5)));

    // Block 8 with 3 seals of the 5-member set: not final, not acted on.
    append(&chain, &five, &[k0, k1, k2]);
    let refused = refusal(follower.next(to).await);
    assert!(refused.contains("block 8: 3 valid committed seals from a set of 5; 4 needed"), "{refused}");
    // Four seals, by keys outside the set.
    chain.lock().expect("lock").pop();
    append(&chain, &five, &outsiders.iter().collect::<Vec<_>>());
    let refused = refusal(follower.next(to).await);
    assert!(refused.contains("0 valid committed seals"), "{refused}");
    // The validators seal block 8 after all: followed.
    chain.lock().expect("lock").pop();
    append(&chain, &five, &[k0, k1, k2, k4]);
    let (next, _) = follower.next(to).await.expect("sealed");
    let Next::Advanced { to, .. } = next else { panic!("expected to advance, got {next:?}") };
    assert_eq!(to.block, 8);

    // A follower resumed from the sealed tip (as a restarted node is, from its store) verifies
    // only the headers after it.
    let tip = follower.trust().tip();
    let client = Client::connect(&Endpoint::new(&url), Address::repeat_byte(0x11), None).await.expect("connects");
    let trust = TrustRoot::new(Some(checkpoint), Consensus::Qbft).expect("a trust root").resume(tip);
    let resumed = Follower::new(client, 0).with_trust(trust);
    append(&chain, &five, &[k1, k2, k3, k4]);
    asked.lock().expect("lock").clear();
    let (next, _) = resumed.next(to).await.expect("sealed");
    assert!(matches!(next, Next::Advanced { to, .. } if to.block == 9), "{next:?}");
    let asked: Vec<u64> = asked.lock().expect("lock").clone();
    assert!(asked.iter().all(|&b| b == 0 || b >= 8), "only the checkpoint and the new headers: {asked:?}");

    // A node whose checkpoint is another chain's block 0 follows nothing here.
    let elsewhere = Checkpoint { block: 0, hash: B256::repeat_byte(7) };
    let refused = refusal(qbft_follower(&url, elsewhere).await.next(start).await);
    assert!(refused.contains("block 0 is") && refused.contains("another chain"), "{refused}");
}
