//! Event -> apply latency: from the moment anvil has accepted a publish (automine: the block that
//! carries it is mined as the transaction is accepted) to the moment the node's Docker update for
//! that revision reaches the engine's socket (timed by a proxy in front of it). The node runs as
//! its release binary against the real dockerd, once subscribed over WebSocket and once polling
//! over HTTP every 5 ms. Prints figures; asserts none.
//!
//! `cargo bench -p ledgerops-node --bench latency` (500 publishes; `LEDGEROPS_BENCH_PUBLISHES=N`).
//! Needs `scripts/setup` (dockerd in swarm mode, the test images).

use std::path::Path;
use std::process::{Child, Command, Stdio};
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

fn summary(what: &str, mut figures: Vec<Duration>) {
    figures.sort();
    let total: Duration = figures.iter().sum();
    println!(
        "{what} over {} publishes: min {} / p50 {} / p90 {} / p99 {} / max {} (mean {})",
        figures.len(),
        ms(figures[0]),
        ms(percentile(&figures, 50.0)),
        ms(percentile(&figures, 90.0)),
        ms(percentile(&figures, 99.0)),
        ms(*figures.last().expect("measured")),
        ms(total / u32::try_from(figures.len()).expect("few")),
    );
}

/// Starts the release node against `rpc_url` with `extra` flags, Docker through `proxy`.
fn start_node(chain: &Chain, rpc_url: &str, extra: &[&str], docker: &Path, dir: &Path) -> eyre::Result<Child> {
    let log = std::fs::File::create(dir.join("node.log"))?;
    let key = alloy::hex::encode_prefixed(chain.anvil.keys()[1].to_bytes());
    let child = Command::new(env!("CARGO_BIN_EXE_ledgerops-node"))
        .args(["--rpc-url", rpc_url, "--registry", &chain.registry.address().to_string()])
        .args(["--resync", "1h", "--listen", "127.0.0.1:0"])
        .args(extra)
        .arg("--docker-socket")
        .arg(docker)
        .arg("--data-dir")
        .arg(dir)
        .env("LEDGEROPS_PRIVATE_KEY", key)
        .env("RUST_LOG", "warn")
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()?;
    Ok(child)
}

/// Publishes `count` revisions one after the other, each once the node applied the one before;
/// returns each one's latency.
async fn measure(chain: &Chain, proxy: &DockerProxy, first: usize, count: usize) -> eyre::Result<Vec<Duration>> {
    let mut latencies = Vec::with_capacity(count);
    for i in first..first + count {
        let seen = proxy.arrivals(UPDATE).len();
        let pending = chain.registry.publish("bench".into(), SERVICE.into(), spec(i)).send().await?;
        let accepted = Instant::now();
        let applied = next_arrival(proxy, UPDATE, seen).await;
        latencies.push(applied.saturating_duration_since(accepted));
        pending.get_receipt().await?;
    }
    Ok(latencies)
}

#[tokio::main]
async fn main() -> eyre::Result<()> {
    let publishes: usize = ledgerops_e2e::bench::env_or("LEDGEROPS_BENCH_PUBLISHES", 500);
    let chain = Chain::start().await?;
    chain.namespace_with_node("bench", 1, SITE).await?;
    let swarm_name = format!("bench_{SERVICE}");
    let _ = Command::new("docker").args(["service", "rm", &swarm_name]).stderr(Stdio::null()).output();
    let dir = tempfile::tempdir()?;
    let proxy = DockerProxy::start(&dir.path().join("docker.sock"));
    chain.registry.publish("bench".into(), SERVICE.into(), spec(0)).send().await?.get_receipt().await?;

    let modes: [(&str, String, &[&str]); 2] = [
        ("WebSocket subscription", chain.anvil.ws_endpoint(), &[]),
        ("HTTP polling every 5 ms", chain.anvil.endpoint(), &["--poll-interval", "5ms"]),
    ];
    for (round, (mode, rpc_url, extra)) in modes.iter().enumerate() {
        let data = dir.path().join(format!("node-{round}"));
        std::fs::create_dir_all(&data)?;
        let mut node = start_node(&chain, rpc_url, extra, &proxy.path, &data)?;
        // The first node creates the service, the second adopts it (and may update it once).
        tokio::time::sleep(Duration::from_secs(2)).await;
        let latencies = measure(&chain, &proxy, 1 + round * publishes, publishes).await;
        let _ = node.kill();
        let _ = node.wait();
        summary(&format!("{mode}: publish accepted -> Docker update"), latencies?);
    }
    let _ = Command::new("docker").args(["service", "rm", &swarm_name]).stderr(Stdio::null()).output();
    Ok(())
}
