//! Evaluating the desired state of N services (each service's state and its active revision's
//! spec hash, as a node does): the registry's views in revm over the local mirror, against the
//! same views by `eth_call` to anvil over loopback, in one run. Prints figures; asserts none.
//!
//! `cargo bench -p ledgerops-evm --bench evaluate` (N = 10,000; `LEDGEROPS_BENCH_SERVICES=N` to change,
//! `LEDGEROPS_BENCH_RUNS` for the number of timed runs, default 5).

use std::time::{Duration, Instant};

use alloy::primitives::{B256, Bytes, keccak256};
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::TransactionRequest;
use alloy::sol_types::SolCall;
use ledgerops_bindings::DeploymentRegistry as R;
use ledgerops_bindings::IDeploymentRegistry::ServiceSpec;
use ledgerops_e2e::Chain;
use ledgerops_e2e::bench::{env_or, min_median_max};
use ledgerops_evm::Mirror;

const IMAGE: &str = "registry.local/app@sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

/// Publishes `n` services of ~300 bytes of spec each.
async fn publish(chain: &Chain, n: usize) -> eyre::Result<Vec<B256>> {
    let r = &chain.registry;
    r.createNamespace("bench".into()).send().await?.get_receipt().await?;
    r.grantDeployer("bench".into(), chain.account(0)).send().await?.get_receipt().await?;
    let body = Bytes::from(vec![b'x'; 300]);
    let specs = (0..n).map(|_| ServiceSpec { image: IMAGE.into(), replicas: 2, sites: vec![], body: body.clone() });
    chain.publish_many("bench", specs).await?;
    Ok((0..n).map(|i| keccak256(format!("bench/svc-{i}"))).collect())
}

/// Each service's state, then its active revision's hash: by eth_call, one request each.
async fn by_eth_call(provider: &DynProvider, registry: alloy::primitives::Address, ids: &[B256]) -> usize {
    let mut live = 0;
    for id in ids {
        let call = R::serviceStateCall { sId: *id };
        let tx = TransactionRequest::default().to(registry).input(call.abi_encode().into());
        let state =
            R::serviceStateCall::abi_decode_returns(&provider.call(tx).await.expect("eth_call")).expect("decodes");
        let call = R::revisionHashCall { sId: *id, revision: state.activeRevision };
        let tx = TransactionRequest::default().to(registry).input(call.abi_encode().into());
        let hash =
            R::revisionHashCall::abi_decode_returns(&provider.call(tx).await.expect("eth_call")).expect("decodes");
        live += usize::from(hash != B256::ZERO);
    }
    live
}

/// The same, in revm over the mirror.
fn in_revm(mirror: &Mirror, ids: &[B256]) -> usize {
    let mut session = mirror.session();
    let mut live = 0;
    for id in ids {
        let state = session.view(&R::serviceStateCall { sId: *id }).expect("held");
        let hash = session.view(&R::revisionHashCall { sId: *id, revision: state.activeRevision }).expect("held");
        live += usize::from(hash != B256::ZERO);
    }
    live
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

#[tokio::main]
async fn main() -> eyre::Result<()> {
    if std::env::args().any(|a| a == "--list") {
        return Ok(());
    }
    let (n, runs) = (env_or("LEDGEROPS_BENCH_SERVICES", 10_000), env_or("LEDGEROPS_BENCH_RUNS", 5));
    let chain = Chain::start().await?;
    let started = Instant::now();
    let ids = publish(&chain, n).await?;
    println!("published {n} services in {}", ms(started.elapsed()));
    let provider = chain.registry.provider().clone();
    let registry = *chain.registry.address();
    let block = provider.get_block_number().await?;

    let started = Instant::now();
    let mut mirror = Mirror::at(&provider, registry, block).await?;
    let calls: Vec<Bytes> = ids.iter().map(|id| R::serviceStateCall { sId: *id }.abi_encode().into()).collect();
    let mut proved = mirror.prove_for(&provider, &calls).await?;
    let calls: Vec<Bytes> = ids
        .iter()
        .map(|id| {
            let revision = mirror.view_offline(&R::serviceStateCall { sId: *id }).expect("held").activeRevision;
            R::revisionHashCall { sId: *id, revision }.abi_encode().into()
        })
        .collect();
    proved += mirror.prove_for(&provider, &calls).await?;
    let build = started.elapsed();
    println!("mirror built at block {block}: {proved} slots proved with eth_getProof in {}", ms(build));

    let (mut local, mut remote) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        let t = Instant::now();
        assert_eq!(in_revm(&mirror, &ids), n);
        local.push(t.elapsed());
        let t = Instant::now();
        assert_eq!(by_eth_call(&provider, registry, &ids).await, n);
        remote.push(t.elapsed());
    }
    let (l, r) = (min_median_max(local), min_median_max(remote));
    println!("evaluate {n} services ({} views), {runs} runs: min / median / max", 2 * n);
    println!("  revm over the local mirror   {} / {} / {}", ms(l[0]), ms(l[1]), ms(l[2]));
    println!("  eth_call to anvil (loopback) {} / {} / {}", ms(r[0]), ms(r[1]), ms(r[2]));
    println!("  median ratio: {:.0}x faster locally", r[1].as_secs_f64() / l[1].as_secs_f64());
    Ok(())
}
