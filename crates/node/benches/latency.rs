//! Event -> apply latency: from the moment anvil has taken a publish (automine: the block that
//! carries it is mined as the transaction is accepted) to the moment the node's Docker update for
//! that revision reaches the engine's socket (timed by a proxy in front of it). The node runs as
//! its release binary, subscribed over WebSocket, against the real dockerd. Prints figures;
//! asserts none.
//!
//! `cargo bench -p ledgerops-node --bench latency` (500 publishes; `LEDGEROPS_BENCH_PUBLISHES=N`).
//! Needs `scripts/setup` (dockerd in swarm mode, the test images).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use alloy::primitives::{Bytes, keccak256};
use ledgerops_bindings::IDeploymentRegistry::ServiceSpec;
use ledgerops_e2e::docker_proxy::DockerProxy;
use ledgerops_e2e::{Chain, test_image};

const SITE: &str = "bench-site";
const SERVICE: &str = "latency";
const UPDATE: &str = "POST /services/{id}/update";

fn spec(i: usize) -> ServiceSpec {
    // No tasks: the figure is the node's path from chain to Docker, not a container's start.
    ServiceSpec {
        image: test_image("TESTAPP"),
        replicas: 0,
        sites: vec![keccak256(SITE)],
        body: Bytes::from(format!(r#"{{"v":1,"env":{{"MODE":"{i}"}}}}"#).into_bytes()),
    }
}

/// Waits until the proxy has seen more than `count` requests of `key`; returns the arrival of
/// the next one.
async fn next_arrival(proxy: &DockerProxy, key: &str, count: usize) -> Instant {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(at) = proxy.arrivals(key).get(count) {
            return *at;
        }
        assert!(Instant::now() < deadline, "the node made no {key} within 30 s");
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

#[tokio::main]
async fn main() -> eyre::Result<()> {
    let publishes: usize = std::env::var("LEDGEROPS_BENCH_PUBLISHES").ok().and_then(|v| v.parse().ok()).unwrap_or(500);
    let chain = Chain::start().await?;
    chain.namespace_with_node("bench", 1, SITE).await?;
    let swarm_name = format!("bench_{SERVICE}");
    let _ = Command::new("docker").args(["service", "rm", &swarm_name]).stderr(Stdio::null()).output();
    let dir = tempfile::tempdir()?;
    let proxy = DockerProxy::start(&dir.path().join("docker.sock"));
    let log = std::fs::File::create(dir.path().join("node.log"))?;
    let key = alloy::hex::encode_prefixed(chain.anvil.keys()[1].to_bytes());
    let mut node = Command::new(env!("CARGO_BIN_EXE_ledgerops-node"))
        .args(["--rpc-url", &chain.anvil.ws_endpoint(), "--registry", &chain.registry.address().to_string()])
        .args(["--resync", "1h", "--listen", "127.0.0.1:0"])
        .arg("--docker-socket")
        .arg(&proxy.path)
        .arg("--data-dir")
        .arg(dir.path())
        .env("LEDGEROPS_PRIVATE_KEY", key)
        .env("RUST_LOG", "warn")
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()?;

    let registry = &chain.registry;
    registry.publish("bench".into(), SERVICE.into(), spec(0)).send().await?.get_receipt().await?;
    next_arrival(&proxy, "POST /services/create", 0).await;
    let mut latencies = Vec::with_capacity(publishes);
    for i in 1..=publishes {
        let seen = proxy.arrivals(UPDATE).len();
        let pending = registry.publish("bench".into(), SERVICE.into(), spec(i)).send().await?;
        let accepted = Instant::now();
        let applied = next_arrival(&proxy, UPDATE, seen).await;
        latencies.push(applied.saturating_duration_since(accepted));
        pending.get_receipt().await?;
    }
    let _ = node.kill();
    let _ = node.wait();
    let _ = Command::new("docker").args(["service", "rm", &swarm_name]).stderr(Stdio::null()).output();

    latencies.sort();
    let total: Duration = latencies.iter().sum();
    println!(
        "event -> apply over {publishes} publishes: min {} / p50 {} / p90 {} / p99 {} / max {} (mean {})",
        ms(latencies[0]),
        ms(percentile(&latencies, 50.0)),
        ms(percentile(&latencies, 90.0)),
        ms(percentile(&latencies, 99.0)),
        ms(*latencies.last().expect("measured")),
        ms(total / publishes as u32),
    );
    Ok(())
}
