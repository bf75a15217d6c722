//! What CI waits for, side by side with plain Docker on the same engine:
//! 1. `ledgerops deploy --wait` of a change to one service (one task replaced) against
//!    `docker service update --detach=false` of the same change, alternately;
//! 2. a 50-service compose file, first rollout and then a one-service change:
//!    `ledgerops apply --wait` against `docker stack deploy --detach=false`, wall time and the
//!    Docker API requests each side makes (the node's and the docker CLI's, each counted by a
//!    proxy on its socket).
//!
//! The change is an env value, so no image pull is timed; both sides use Swarm's default update
//! policy, whose 5 s monitor window both wait out (the node before it attests, the docker CLI
//! before it reports the service stable). The node's release binary follows anvil over WebSocket.
//! Prints figures; asserts none.
//!
//! `cargo bench -p ledgerops-node --bench rollout` (`LEDGEROPS_BENCH_RUNS=5` changes per side).
//! Needs `scripts/setup` (dockerd in swarm mode, the test images).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use ledgerops_e2e::bench::{env_or, min_median_max};
use ledgerops_e2e::docker_proxy::{DockerProxy, Requests};
use ledgerops_e2e::{Chain, remove_swarm_services, repo_root, swarm_services, test_image};

const SITE: &str = "bench-site";
const STACK: usize = 50;

/// The release CLI, built when missing.
fn cli() -> eyre::Result<PathBuf> {
    let path = repo_root().join("target/release/ledgerops");
    if !path.exists() {
        let built = Command::new("cargo").args(["build", "--release", "-q", "-p", "ledgerops-cli"]).status()?;
        eyre::ensure!(built.success(), "building the ledgerops CLI failed");
    }
    Ok(path)
}

/// Runs a command and times it; fails on a non-zero exit.
fn timed(command: &mut Command) -> eyre::Result<Duration> {
    let started = Instant::now();
    let out: Output = command.stdin(Stdio::null()).output()?;
    let took = started.elapsed();
    eyre::ensure!(
        out.status.success(),
        "{command:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(took)
}

fn ledgerops(cli: &Path, chain: &Chain, args: &[&str]) -> Command {
    let mut command = Command::new(cli);
    command
        .args(args)
        .env("LEDGEROPS_RPC_URL", chain.anvil.endpoint())
        .env("LEDGEROPS_REGISTRY", chain.registry.address().to_string())
        .env("LEDGEROPS_PRIVATE_KEY", alloy::hex::encode_prefixed(chain.anvil.keys()[0].to_bytes()));
    command
}

fn docker(socket: &Path, args: &[&str]) -> Command {
    let mut command = Command::new("docker");
    command.arg("-H").arg(format!("unix://{}", socket.display())).args(args);
    command
}

/// A compose file of `STACK` services of the test app, `changed` carrying another MODE.
fn compose(image: &str, changed: Option<usize>) -> String {
    let mut text = String::from("version: \"3.8\"\nservices:\n");
    for i in 0..STACK {
        let mode = if changed == Some(i) { "two" } else { "one" };
        text.push_str(&format!("  s{i}:\n    image: {image}\n    environment:\n      MODE: {mode}\n"));
    }
    text
}

fn summary(requests: &Requests) -> String {
    let total: u64 = requests.values().sum();
    let kinds: Vec<String> = requests.iter().map(|(k, n)| format!("{k} x{n}")).collect();
    format!("{total} ({})", kinds.join(", "))
}

#[tokio::main]
async fn main() -> eyre::Result<()> {
    let runs: usize = env_or("LEDGEROPS_BENCH_RUNS", 5);
    let cli = cli()?;
    let image = test_image("TESTAPP");
    for prefix in ["one_", "plain-one", "stk_", "plainstk_"] {
        remove_swarm_services(None, prefix);
    }
    let chain = Chain::start().await?;
    chain.namespace_with_node("one", 1, SITE).await?;
    let dir = tempfile::tempdir()?;
    let node_proxy = DockerProxy::start(&dir.path().join("node.sock"));
    let cli_proxy = DockerProxy::start(&dir.path().join("cli.sock"));
    let log = std::fs::File::create(dir.path().join("node.log"))?;
    let mut node = Command::new(env!("CARGO_BIN_EXE_ledgerops-node"))
        .args(["--rpc-url", &chain.anvil.ws_endpoint(), "--registry", &chain.registry.address().to_string()])
        .args(["--listen", "127.0.0.1:0"])
        .arg("--docker-socket")
        .arg(&node_proxy.path)
        .arg("--data-dir")
        .arg(dir.path())
        .env("LEDGEROPS_PRIVATE_KEY", alloy::hex::encode_prefixed(chain.anvil.keys()[1].to_bytes()))
        .env("RUST_LOG", "warn")
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()?;

    // 1. One service, one task replaced per change.
    let deploy = |mode: &str| {
        let env = format!("MODE={mode}");
        let args = ["deploy", "one/web", "--image", &image, "--site", SITE, "--env", &env, "--wait"];
        timed(&mut ledgerops(&cli, &chain, &args))
    };
    deploy("0")?;
    timed(&mut docker(
        &cli_proxy.path,
        &["service", "create", "--detach=false", "-q", "--name", "plain-one", "--env", "MODE=0", &image],
    ))?;
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for i in 1..=runs {
        ours.push(deploy(&i.to_string())?);
        let env = format!("MODE={i}");
        theirs.push(timed(&mut docker(
            &cli_proxy.path,
            &["service", "update", "--detach=false", "-q", "--env-add", &env, "plain-one"],
        ))?);
    }
    let seconds = |figures| min_median_max(figures).map(|d| d.as_secs_f64());
    let (o, t) = (seconds(ours), seconds(theirs));
    println!(
        "one change, {runs} runs: ledgerops deploy --wait {:.2} / {:.2} / {:.2} s; docker service update --detach=false {:.2} / {:.2} / {:.2} s (min / median / max); ratio of medians {:.2}",
        o[0],
        o[1],
        o[2],
        t[0],
        t[1],
        t[2],
        o[1] / t[1]
    );
    // Removed on chain, so the node prunes it before the stack is counted.
    timed(&mut ledgerops(&cli, &chain, &["remove", "one/web"]))?;
    while !swarm_services(None, "one_").is_empty() {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    remove_swarm_services(None, "plain-one");

    // 2. A 50-service stack: first rollout, then one service changed.
    let admin = |args: &[&str]| timed(&mut ledgerops(&cli, &chain, args));
    admin(&["namespace", "create", "stk"])?;
    admin(&["deployer", "grant", "stk", &chain.account(0).to_string()])?;
    for (step, changed) in [("first rollout", None), ("one service changed", Some(7))] {
        let file = dir.path().join("stack.yml");
        std::fs::write(&file, compose(&image, changed))?;
        let file = file.to_string_lossy().into_owned();
        node_proxy.reset();
        let ours = admin(&["apply", "-f", &file, "--namespace", "stk", "--site", SITE, "--wait", "--timeout", "10m"])?;
        let node_requests = node_proxy.requests();
        cli_proxy.reset();
        let theirs =
            timed(&mut docker(&cli_proxy.path, &["stack", "deploy", "--detach=false", "-c", &file, "plainstk"]))?;
        let cli_requests = cli_proxy.requests();
        println!(
            "stack of {STACK}, {step}: ledgerops apply --wait {:.1} s, node's Docker requests {}; docker stack deploy --detach=false {:.1} s, CLI's Docker requests {}",
            ours.as_secs_f64(),
            summary(&node_requests),
            theirs.as_secs_f64(),
            summary(&cli_requests),
        );
    }
    let _ = node.kill();
    let _ = node.wait();
    let _ = Command::new("docker").args(["stack", "rm", "plainstk"]).stdout(Stdio::null()).output();
    remove_swarm_services(None, "stk_");
    Ok(())
}
