//! The node at scale on real parts (the pure core at the same size: `scale_core`).
//!
//! 1. The chain side at 10,000 services on anvil, all placed at the node's site. Cold start: a
//!    new data dir, every log read, verified against the registry's proved state and kept, the
//!    desired state built, until `/status` shows the node at the chain's head. Then a restart on
//!    the kept store, and one more publish taken in. The node's Docker socket leads nowhere here,
//!    so the figures are the chain side alone (Docker is retried in the background).
//! 2. The real engine at the largest size that fits this machine: 1,000 services of 0 replicas
//!    (Swarm objects, no containers; 2 cores cannot run 10,000 tasks). The node creates them,
//!    then resyncs every second; a pass's wall time comes from the node's own
//!    `reconcile_duration` histogram, its CPU from /proc over the passes.
//!
//! Wall time, CPU (user + system, from /proc) and resident memory of the release binary.
//! Prints figures; asserts none.
//!
//! `cargo bench -p ledgerops-node --bench scale` (`LEDGEROPS_BENCH_SERVICES=N` for part 1,
//! `LEDGEROPS_BENCH_ENGINE_SERVICES=M` for part 2). Needs `scripts/setup`.

use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use alloy::primitives::{Bytes, keccak256};
use alloy::providers::Provider;
use ledgerops_bindings::IDeploymentRegistry::ServiceSpec;
use ledgerops_e2e::bench::{env_or, process_usage, typical_body};
use ledgerops_e2e::{Chain, free_port, http_get, remove_swarm_services, swarm_services, test_image};

const SITE: &str = "bench-site";

/// A spec of the test app at the bench's site with a ~300-byte body.
fn spec(image: &str, i: usize, replicas: u32) -> ServiceSpec {
    let body = Bytes::from(typical_body(i).into_bytes());
    ServiceSpec { image: image.into(), replicas, sites: vec![keccak256(SITE)], body }
}

/// The node's release binary, serving its endpoints on `port`.
struct NodeProcess {
    child: Child,
    port: u16,
    log: std::path::PathBuf,
}

impl NodeProcess {
    fn start(chain: &Chain, data: &Path, docker_socket: &Path, resync: &str) -> eyre::Result<Self> {
        let port = free_port();
        let log = std::fs::OpenOptions::new().create(true).append(true).open(data.join("node.log"))?;
        let child = Command::new(env!("CARGO_BIN_EXE_ledgerops-node"))
            .args(["--rpc-url", &chain.anvil.endpoint(), "--registry", &chain.registry.address().to_string()])
            .args(["--listen", &format!("127.0.0.1:{port}"), "--resync", resync])
            .arg("--docker-socket")
            .arg(docker_socket)
            .arg("--data-dir")
            .arg(data)
            .env("LEDGEROPS_PRIVATE_KEY", alloy::hex::encode_prefixed(chain.anvil.keys()[1].to_bytes()))
            .env("RUST_LOG", "warn")
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()?;
        Ok(Self { child, port, log: data.join("node.log") })
    }

    /// (resident MB, CPU seconds used so far).
    fn usage(&self) -> eyre::Result<(f64, f64)> {
        let (rss_kb, cpu) = process_usage(self.child.id())?;
        Ok((rss_kb as f64 / 1000.0, cpu))
    }

    /// `/status` as JSON (null while the endpoint is not up).
    fn status(&self) -> serde_json::Value {
        serde_json::from_str(&http_get(self.port, "/status").1).unwrap_or_default()
    }

    /// A metric's value from `/metrics`.
    fn metric(&self, name: &str) -> Option<f64> {
        let (_, text) = http_get(self.port, "/metrics");
        text.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
    }

    /// Waits until `/status` satisfies `done`; returns the time it took from `since`.
    async fn until(
        &self,
        since: Instant,
        what: &str,
        done: impl Fn(&serde_json::Value) -> bool,
    ) -> eyre::Result<Duration> {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if done(&self.status()) {
                return Ok(since.elapsed());
            }
            if Instant::now() > deadline {
                let log = std::fs::read_to_string(&self.log).unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(20).collect();
                eyre::bail!("timed out waiting for {what}; the node's log ends:\n{}", tail.join("\n"));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn at_block(block: u64) -> impl Fn(&serde_json::Value) -> bool {
    move |s| s["node"]["chain_block"].as_u64().is_some_and(|b| b >= block)
}

/// Part 1: the chain side at `n` services.
async fn chain_side(n: usize) -> eyre::Result<()> {
    let chain = Chain::start().await?;
    chain.namespace_with_node("bench", 1, SITE).await?;
    let image = test_image("TESTAPP");
    let started = Instant::now();
    let block = chain.publish_many("bench", (0..n).map(|i| spec(&image, i, 2))).await?;
    println!("published {n} services in {:.1} s (last in block {block})", started.elapsed().as_secs_f64());

    let dir = tempfile::tempdir()?;
    let nowhere = dir.path().join("no-docker.sock");
    let started = Instant::now();
    let node = NodeProcess::start(&chain, dir.path(), &nowhere, "30s")?;
    let took = node.until(started, "the cold start", at_block(block)).await?;
    let (rss, cpu) = node.usage()?;
    println!("cold start at {n} services: at the head in {:.2} s, {cpu:.2} s CPU, RSS {rss:.1} MB", took.as_secs_f64());
    tokio::time::sleep(Duration::from_secs(5)).await;
    let (rss, _) = node.usage()?;
    println!("  RSS 5 s later: {rss:.1} MB");
    node.stop();

    let started = Instant::now();
    let node = NodeProcess::start(&chain, dir.path(), &nowhere, "30s")?;
    let took = node.until(started, "the restart", at_block(block)).await?;
    let (rss, cpu) = node.usage()?;
    println!("restart on the kept store: at the head in {:.2} s, {cpu:.2} s CPU, RSS {rss:.1} MB", took.as_secs_f64());

    let mut publishes = Vec::new();
    for round in 0..5 {
        let (_, cpu_before) = node.usage()?;
        // publish_many set its nonces by hand; ask the chain for the next one.
        let nonce = chain.registry.provider().get_transaction_count(chain.account(0)).await?;
        let call = chain.registry.publish("bench".into(), "svc-7".into(), spec(&image, 7, 3 + round));
        let receipt = call.nonce(nonce).send().await?;
        let started = Instant::now();
        let block = receipt.get_receipt().await?.block_number.unwrap_or_default();
        let took = node.until(started, "a publish", at_block(block)).await?;
        let (_, cpu_after) = node.usage()?;
        publishes.push((took, cpu_after - cpu_before));
    }
    let shown: Vec<String> =
        publishes.iter().map(|(t, cpu)| format!("{:.0} ms ({cpu:.2} s CPU)", t.as_secs_f64() * 1e3)).collect();
    println!("one publish taken in, with {n} services held, 5 times: {}", shown.join(", "));
    node.stop();
    Ok(())
}

/// Part 2: the real engine at `m` services of 0 replicas.
async fn real_engine(m: usize) -> eyre::Result<()> {
    let chain = Chain::start().await?;
    chain.namespace_with_node("scale", 1, SITE).await?;
    let image = test_image("TESTAPP");
    let block = chain.publish_many("scale", (0..m).map(|i| spec(&image, i, 0))).await?;
    let dir = tempfile::tempdir()?;
    let started = Instant::now();
    let node = NodeProcess::start(&chain, dir.path(), Path::new("/var/run/docker.sock"), "1s")?;
    node.until(started, "the head", at_block(block)).await?;
    let took =
        node.until(started, "every service created", |s| s["node"]["services"].as_u64() == Some(m as u64)).await?;
    println!(
        "real engine: {m} services created from a cold start in {:.1} s (the engine lists {})",
        took.as_secs_f64(),
        swarm_services(None, "scale_").len()
    );

    // Let the creations settle, then watch the resync passes.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let count = "ledgerops_reconcile_duration_seconds_count";
    let sum = "ledgerops_reconcile_duration_seconds_sum";
    let (passes, seconds, (_, cpu)) = (node.metric(count), node.metric(sum), node.usage()?);
    tokio::time::sleep(Duration::from_secs(30)).await;
    let (passes_after, seconds_after, (rss, cpu_after)) = (node.metric(count), node.metric(sum), node.usage()?);
    let (Some(p0), Some(p1), Some(s0), Some(s1)) = (passes, passes_after, seconds, seconds_after) else {
        eyre::bail!("the node's /metrics has no reconcile_duration");
    };
    let passes = p1 - p0;
    println!(
        "  resync against {m} services, {passes} passes in 30 s: {:.1} ms per pass (wall), {:.1} ms CPU per pass (whole process), RSS {rss:.1} MB",
        (s1 - s0) / passes * 1e3,
        (cpu_after - cpu) / passes * 1e3,
    );
    node.stop();
    remove_swarm_services(None, "scale_");
    Ok(())
}

#[tokio::main]
async fn main() -> eyre::Result<()> {
    if std::env::args().any(|a| a == "--list") {
        return Ok(());
    }
    remove_swarm_services(None, "scale_");
    chain_side(env_or("LEDGEROPS_BENCH_SERVICES", 10_000)).await?;
    real_engine(env_or("LEDGEROPS_BENCH_ENGINE_SERVICES", 1_000)).await
}
