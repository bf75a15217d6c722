//! The idle node: 10 services on chain and no changes, resync every 30 s (the default). Samples
//! the release binary's resident memory and the CPU time it used (from /proc) over the run and
//! prints them, with CPU scaled to an hour. Prints figures; asserts none.
//!
//! `cargo bench -p ledgerops-node --bench idle` (10 minutes; `LEDGEROPS_BENCH_IDLE_SECS=N`).
//! Needs `scripts/setup` (dockerd in swarm mode, the test images).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use alloy::primitives::{Bytes, keccak256};
use ledgerops_bindings::IDeploymentRegistry::ServiceSpec;
use ledgerops_e2e::bench::{env_or, process_usage};
use ledgerops_e2e::{Chain, test_image};

const SITE: &str = "bench-site";
const SERVICES: usize = 10;

#[tokio::main]
async fn main() -> eyre::Result<()> {
    let secs: u64 = env_or("LEDGEROPS_BENCH_IDLE_SECS", 600);
    let chain = Chain::start().await?;
    chain.namespace_with_node("idle", 1, SITE).await?;
    for i in 0..SERVICES {
        let spec = ServiceSpec {
            image: test_image("TESTAPP"),
            replicas: 1,
            sites: vec![keccak256(SITE)],
            body: Bytes::from(format!(r#"{{"v":1,"env":{{"MODE":"{i}"}}}}"#).into_bytes()),
        };
        chain.registry.publish("idle".into(), format!("s{i}"), spec).send().await?.get_receipt().await?;
    }
    let dir = tempfile::tempdir()?;
    let log = std::fs::File::create(dir.path().join("node.log"))?;
    let key = alloy::hex::encode_prefixed(chain.anvil.keys()[1].to_bytes());
    let mut node = Command::new(env!("CARGO_BIN_EXE_ledgerops-node"))
        .args(["--rpc-url", &chain.anvil.endpoint(), "--registry", &chain.registry.address().to_string()])
        .args(["--listen", "127.0.0.1:0"])
        .arg("--data-dir")
        .arg(dir.path())
        .env("LEDGEROPS_PRIVATE_KEY", key)
        .env("RUST_LOG", "warn")
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()?;
    let pid = node.id();

    // Converged and attested first (the tasks start, each is judged over its monitor window).
    let running = || {
        let out = Command::new("docker")
            .args(["service", "ls", "--filter", "name=idle_", "--format", "{{.Replicas}}"])
            .stderr(Stdio::null())
            .output()
            .ok()?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        (text.lines().filter(|l| l.starts_with("1/1")).count() == SERVICES).then_some(())
    };
    let deadline = Instant::now() + Duration::from_secs(120);
    while running().is_none() {
        eyre::ensure!(Instant::now() < deadline, "the {SERVICES} services did not start");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    tokio::time::sleep(Duration::from_secs(15)).await;

    let (start_rss, start_cpu) = process_usage(pid)?;
    let started = Instant::now();
    let mut rss = vec![start_rss];
    while started.elapsed() < Duration::from_secs(secs) {
        tokio::time::sleep(Duration::from_secs(secs.min(60))).await;
        rss.push(process_usage(pid)?.0);
    }
    let (_, end_cpu) = process_usage(pid)?;
    let elapsed = started.elapsed().as_secs_f64();
    let _ = node.kill();
    let _ = node.wait();
    let names: Vec<String> = (0..SERVICES).map(|i| format!("idle_s{i}")).collect();
    let _ = Command::new("docker").args(["service", "rm"]).args(&names).stdout(Stdio::null()).output();

    let cpu = end_cpu - start_cpu;
    println!(
        "idle node, {SERVICES} services, {elapsed:.0} s: RSS min {} / max {} / last {} kB (samples {rss:?}); CPU {cpu:.2} s, {:.1} s per hour ({:.3}% of one core)",
        rss.iter().min().expect("sampled"),
        rss.iter().max().expect("sampled"),
        rss.last().expect("sampled"),
        cpu * 3600.0 / elapsed,
        cpu * 100.0 / elapsed,
    );
    Ok(())
}
