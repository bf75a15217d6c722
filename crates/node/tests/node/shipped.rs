//! The node as operators install it: the `ledgerops/node` image that `scripts/release` builds and
//! pushes (scripts/test runs it first), deployed with the release's `dist/ledgerops-node.yml`
//! (the image by digest) by `docker stack deploy` on the real engine, its key and its status
//! token in Swarm secrets and its store on a volume. Its `/status` wants the token; it reconciles
//! a published service; its task killed, Swarm starts another, which waits out the dead one's
//! lease and goes on with nothing applied twice.

use std::process::Command;
use std::time::Instant;

use ledgerops_e2e::{Chain, free_port, http_get_with, repo_root};
use ledgerops_reconcile::observed::labels;
use serde_json::Value;

use crate::harness::{self, NODE, clean, docker, label, mode, service, service_entry};

const STACK: &str = "shipped";
const LEASE: &str = "shipped";
const SECRETS: [&str; 3] = ["ledgerops-node-keystore", "ledgerops-node-password", "ledgerops-node-status-token"];
/// The status token the test gives the node.
const TOKEN: &str = "shipped-status-token-3f9c";

/// The stack and what it made, removed when dropped: a failing test leaves no node behind to
/// prune the shared Swarm.
struct Deployed;

impl Drop for Deployed {
    fn drop(&mut self) {
        remove_everything();
    }
}

fn remove_everything() {
    let _ = docker(&["stack", "rm", STACK]);
    // The node must be gone before what it manages (it would create it again), and its container
    // before its volume and secrets.
    let deadline = Instant::now() + std::time::Duration::from_secs(60);
    while node_containers().is_some_and(|c| !c.is_empty()) && Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
    clean("ship_");
    ledgerops_e2e::remove_swarm_services(None, &format!("ledgerops-lease-{LEASE}"));
    let _ = docker(&["volume", "rm", &format!("{STACK}_data")]);
    for secret in SECRETS {
        let _ = docker(&["secret", "rm", secret]);
    }
}

/// The containers of the stack's node service, running or not.
fn node_containers() -> Option<Vec<String>> {
    let filter = format!("label=com.docker.swarm.service.name={STACK}_node");
    Some(docker(&["ps", "-aq", "--filter", &filter])?.lines().map(str::to_owned).collect())
}

fn running_container() -> Option<String> {
    let filter = format!("label=com.docker.swarm.service.name={STACK}_node");
    docker(&["ps", "-q", "--filter", &filter, "--filter", "status=running"])?.lines().next().map(str::to_owned)
}

/// The node's /status over its host port, with the token, once it answers.
fn status(port: u16) -> Option<Value> {
    let (code, body) = http_get_with(port, "/status", Some(&format!("Bearer {TOKEN}")));
    (code == 200).then(|| serde_json::from_str(&body).ok()).flatten()
}

fn web_state(port: u16) -> Option<(u64, String, String)> {
    let status = status(port)?;
    let web = service_entry(&status, "ship/web")?;
    let holder = status["node"]["lease_holder"].as_str()?.to_owned();
    Some((web["observed_revision"].as_u64()?, web["health"].as_str()?.to_owned(), holder))
}

/// Polls `check` for up to two minutes (a task restart includes Swarm's restart delay).
async fn until<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + std::time::Duration::from_secs(120);
    loop {
        if let Some(found) = check() {
            return found;
        }
        if Instant::now() > deadline {
            let logs = Command::new("docker").args(["service", "logs", "--raw", &format!("{STACK}_node")]).output();
            let logs = logs.map(|o| String::from_utf8_lossy(&o.stdout).into_owned()).unwrap_or_default();
            panic!("timed out waiting for: {what}\n--- node service logs ---\n{logs}");
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
}

/// A keystore of the node's key, written by cast as operators do, and its password file.
fn keystore(chain: &Chain, dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let cast = repo_root().join("node_modules/@foundry-rs/cast-linux-amd64/bin/cast");
    let key = alloy::hex::encode_prefixed(chain.anvil.keys()[NODE].to_bytes());
    let made = Command::new(cast)
        .args(["wallet", "import", "node", "--private-key", &key, "--unsafe-password", "pw", "--keystore-dir"])
        .arg(dir)
        .output()
        .expect("cast runs");
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let password = dir.join("password");
    std::fs::write(&password, "pw\n").expect("write");
    (dir.join("node"), password)
}

#[tokio::test]
async fn the_node_image_deployed_as_a_stack_reconciles_and_survives_its_task_being_killed() {
    let released = repo_root().join("dist/ledgerops-node.yml");
    let text = std::fs::read_to_string(&released).expect("dist/ledgerops-node.yml: scripts/release writes it");
    let image = text.lines().find_map(|l| l.trim().strip_prefix("image: ")).expect("the node's image").to_owned();
    assert!(ledgerops_spec::is_pinned(&image), "by digest: {image}");
    let _swarm = harness::SWARM.lock().await;
    remove_everything();
    let chain = Chain::start().await.expect("anvil and a registry");
    harness::set_up(&chain, "ship").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let (keystore, password) = keystore(&chain, dir.path());
    let token = dir.path().join("token");
    std::fs::write(&token, format!("{TOKEN}\n")).expect("write");
    for (secret, file) in SECRETS.iter().zip([&keystore, &password, &token]) {
        let created = docker(&["secret", "create", secret, file.to_str().expect("utf-8")]);
        assert!(created.is_some(), "secret {secret} created");
    }
    let port = free_port();
    let stack = Deployed;
    let deployed = Command::new("docker")
        .args(["stack", "deploy", "-c"])
        .arg(&released)
        .arg(STACK)
        .env("LEDGEROPS_RPC_URL", chain.anvil.endpoint())
        .env("LEDGEROPS_REGISTRY", chain.registry.address().to_string())
        .env("LEDGEROPS_CHAIN_ID", chain.anvil.chain_id().to_string())
        .env("LEDGEROPS_LEASE", LEASE)
        .env("LEDGEROPS_LEASE_DURATION", "6s")
        .env("LEDGEROPS_LISTEN", format!("127.0.0.1:{port}"))
        .output()
        .expect("docker stack deploy runs");
    assert!(deployed.status.success(), "{}", String::from_utf8_lossy(&deployed.stderr));

    // /status and /metrics want the token, by default.
    until("the endpoints", || (http_get_with(port, "/healthz", None).0 == 200).then_some(())).await;
    assert_eq!(http_get_with(port, "/status", None).0, 401, "/status without the token");
    assert_eq!(http_get_with(port, "/metrics", None).0, 401, "/metrics without the token");
    harness::publish_spec(&chain, "ship/web", &harness::app(1, "one", None)).await;
    let (_, _, first_holder) =
        until("revision 1 healthy", || web_state(port).filter(|(r, h, _)| *r == 1 && h == "Healthy")).await;
    let before = service("ship_web").expect("created by the node in the container");
    let version = before["Version"]["Index"].clone();

    let first = running_container().expect("the node's task runs");
    assert!(docker(&["kill", &first]).is_some(), "docker kill");
    let killed = Instant::now();
    let second_holder = until("a new task acting", || {
        running_container().filter(|c| *c != first)?;
        let (_, health, holder) = web_state(port)?;
        (health == "Healthy" && holder != first_holder).then_some(holder)
    })
    .await;
    let restarted = killed.elapsed();
    assert_ne!(second_holder, first_holder);
    let after = service("ship_web").expect("still there");
    assert_eq!(after["Version"]["Index"], version, "nothing applied twice after the restart");

    harness::publish_spec(&chain, "ship/web", &harness::app(1, "two", None)).await;
    until("revision 2 healthy", || web_state(port).filter(|(r, h, _)| *r == 2 && h == "Healthy")).await;
    let web = service("ship_web").expect("the service");
    assert_eq!((mode(&web).as_deref(), label(&web, labels::REVISION).as_deref()), (Some("two"), Some("2")));
    eprintln!("shipped: the killed node's task replaced and acting {:.1} s later", restarted.as_secs_f64());
    drop(stack);
}
