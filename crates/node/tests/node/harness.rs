//! What the node's end-to-end tests share: a registry with a namespace and this node registered,
//! the node binary run against it, and the Swarm read back through the `docker` CLI, as an
//! operator would.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};
use std::time::{Duration, Instant};

use alloy::primitives::keccak256;
use ledgerops_bindings::IDeploymentRegistry::ServiceSpec;
pub use ledgerops_e2e::docker_proxy::DockerProxy;
pub use ledgerops_e2e::free_port;
use ledgerops_e2e::{Chain, http_get, test_image};
use ledgerops_spec::{Mount, Port, Spec, SpecBody};
use serde_json::Value;

/// The tests share one dockerd, and a node prunes every managed service its registry does not
/// place: they run one at a time.
pub static SWARM: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// anvil's account that runs the node.
pub const NODE: usize = 1;
/// The node's site.
pub const SITE: &str = "site-a";

/// What most tests start with: the Swarm to themselves, the leftovers of `namespace` removed, a
/// fresh anvil with a registry, `namespace` created with the node registered at [`SITE`], and a
/// data directory. Dropped (also when the test fails), it removes the namespace's services.
pub struct Site {
    /// The chain and its registry.
    pub chain: Chain,
    /// The node's data directory.
    pub dir: tempfile::TempDir,
    namespace: &'static str,
    _swarm: tokio::sync::MutexGuard<'static, ()>,
}

impl Site {
    /// Sets it all up for `namespace`.
    pub async fn start(namespace: &'static str) -> Self {
        let swarm = SWARM.lock().await;
        clean(namespace);
        let chain = Chain::start().await.expect("anvil and a registry");
        set_up(&chain, namespace).await;
        let dir = tempfile::tempdir().expect("tempdir");
        Self { chain, dir, namespace, _swarm: swarm }
    }

    /// The node, on the chain's HTTP endpoint.
    pub fn node(&self) -> Node {
        self.node_with(&self.chain.anvil.endpoint(), &[])
    }

    /// The node on `rpc_url`, with more flags.
    pub fn node_with(&self, rpc_url: &str, extra: &[&str]) -> Node {
        Node::start_with(&self.chain, rpc_url, self.dir.path(), extra)
    }
}

impl Drop for Site {
    fn drop(&mut self) {
        clean(self.namespace);
    }
}

/// Creates `namespace` (the admin deploys to it) and registers the node at [`SITE`].
pub async fn set_up(chain: &Chain, namespace: &str) {
    chain.namespace_with_node(namespace, NODE, SITE).await.expect("namespace and node set up");
}

/// A spec of the test app: `replicas`, `MODE=mode`, port `published`->8080 when given.
pub fn app(replicas: u32, mode: &str, published: Option<u16>) -> Spec {
    let ports = published
        .map(|p| Port { target: 8080, published: Some(p), protocol: "tcp".into(), mode: "ingress".into() })
        .into_iter()
        .collect();
    let body = SpecBody { v: 1, env: [("MODE".into(), mode.into())].into(), ports, ..Default::default() };
    Spec { image: test_image("TESTAPP"), replicas, sites: [keccak256(SITE)].into(), body }
}

/// The same app, needing a secret this node does not have.
pub fn with_secret(mut spec: Spec, secret: &str) -> Spec {
    spec.body.secrets.push(Mount { name: secret.into(), ..Mount::default() });
    spec
}

/// Publishes a revision; returns its block.
pub async fn publish(chain: &Chain, service: &str, spec: ServiceSpec) -> u64 {
    let (namespace, name) = service.split_once('/').expect("namespace/name");
    let call = chain.registry.publish(namespace.into(), name.into(), spec);
    let receipt = call.send().await.expect("sent").get_receipt().await.expect("mined");
    assert!(receipt.status(), "publish {service} reverted");
    receipt.block_number.expect("mined")
}

/// Publishes a valid spec.
pub async fn publish_spec(chain: &Chain, service: &str, spec: &Spec) -> u64 {
    publish(chain, service, spec.to_onchain().expect("a valid spec")).await
}

/// Removes a service from the registry.
pub async fn remove(chain: &Chain, service: &str) {
    let (namespace, name) = service.split_once('/').expect("namespace/name");
    let call = chain.registry.remove(namespace.into(), name.into());
    call.send().await.expect("sent").get_receipt().await.expect("mined");
}

/// Waits until the registry holds this node's attestation of `revision` of `service` as converged.
pub async fn until_attested(node: &Node, chain: &Chain, service: &str, revision: u32) {
    let id = keccak256(service);
    let who = chain.account(NODE);
    for _ in 0..300 {
        let state = chain.registry.nodeServiceState(id, who).call().await.expect("eth_call");
        if (state.revision, state.status) == (revision, 1) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("{service} revision {revision} not attested:\n{}", node.log());
}

/// A running `ledgerops-node`; killed when dropped.
pub struct Node {
    child: Option<Child>,
    /// Its data dir.
    pub data_dir: PathBuf,
    /// Its health endpoint port.
    pub port: u16,
    log: PathBuf,
}

impl Node {
    /// Starts the node as anvil's account [`NODE`] (site from the registry), resync every second.
    pub fn start(chain: &Chain, rpc_url: &str, data_dir: &Path) -> Self {
        Self::start_with(chain, rpc_url, data_dir, &[])
    }

    /// The same, with more flags.
    pub fn start_with(chain: &Chain, rpc_url: &str, data_dir: &Path, extra: &[&str]) -> Self {
        Self::start_as(chain, NODE, rpc_url, data_dir, extra)
    }

    /// As anvil's account `account`.
    pub fn start_as(chain: &Chain, account: usize, rpc_url: &str, data_dir: &Path, extra: &[&str]) -> Self {
        Self::start_for(chain, *chain.registry.address(), account, rpc_url, data_dir, extra)
    }

    /// As anvil's account `account`, following the registry at `registry` of the chain.
    pub fn start_for(
        chain: &Chain,
        registry: alloy::primitives::Address,
        account: usize,
        rpc_url: &str,
        data_dir: &Path,
        extra: &[&str],
    ) -> Self {
        // `--listen ADDR` in `extra` replaces the free port the node is given otherwise.
        let listen = extra.iter().position(|a| *a == "--listen").and_then(|i| extra.get(i + 1));
        let port =
            listen.map_or_else(free_port, |a| a.rsplit_once(':').and_then(|(_, p)| p.parse().ok()).expect("a port"));
        let own_listen = listen.is_none().then(|| format!("127.0.0.1:{port}"));
        let log = data_dir.join("node.log");
        std::fs::create_dir_all(data_dir).expect("data dir");
        let out = File::options().create(true).append(true).open(&log).expect("log file");
        let key = alloy::hex::encode_prefixed(chain.anvil.keys()[account].to_bytes());
        // Short periods so tests run quickly; a flag in `extra` replaces its default.
        let defaults = [("--resync", "1s"), ("--poll-interval", "100ms"), ("--backoff-cap", "2s")];
        let child = Command::new(env!("CARGO_BIN_EXE_ledgerops-node"))
            .args(["--rpc-url", rpc_url, "--registry", &registry.to_string()])
            .args(defaults.iter().filter(|(flag, _)| !extra.contains(flag)).flat_map(|(flag, value)| [flag, value]))
            .args(own_listen.iter().flat_map(|addr| ["--listen", addr.as_str()]))
            .arg("--data-dir")
            .arg(data_dir)
            .args(extra)
            .env("LEDGEROPS_PRIVATE_KEY", key)
            // Registry logins: only those a test writes there (not the developer's ~/.docker).
            .env("DOCKER_CONFIG", data_dir.join("docker-config"))
            .env("RUST_LOG", "info,ledgerops_node=debug")
            .stdout(out.try_clone().expect("log file"))
            .stderr(out)
            .spawn()
            .expect("ledgerops-node starts");
        Self { child: Some(child), data_dir: data_dir.to_path_buf(), port, log }
    }

    /// kill -9.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM, then waits; returns the exit code.
    pub fn terminate(&mut self) -> Option<i32> {
        let mut child = self.child.take()?;
        Command::new("kill").args(["-TERM", &child.id().to_string()]).status().expect("kill runs");
        child.wait().expect("the node exits").code()
    }

    /// What the node logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The journal, through `ledgerops-node journal --json`: (service, action, result, detail).
    pub fn journal(&self) -> Vec<Value> {
        let out = Command::new(env!("CARGO_BIN_EXE_ledgerops-node"))
            .args(["journal", "--json", "--limit", "1000", "--data-dir"])
            .arg(&self.data_dir)
            .output()
            .expect("journal runs");
        assert!(out.status.success(), "journal: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).expect("a JSON line")).collect()
    }

    /// The journal's entries of `service` with `action`.
    pub fn journaled(&self, service: &str, action: &str) -> Vec<Value> {
        self.journal().into_iter().filter(|e| e["service"] == service && e["action"] == action).collect()
    }

    /// The node process's resident memory, from /proc.
    pub fn rss_kb(&self) -> u64 {
        let pid = self.child.as_ref().expect("running").id();
        ledgerops_e2e::bench::process_usage(pid).expect("/proc").0
    }

    /// GET `path` on the node's endpoint: (status code, JSON body).
    pub fn get(&self, path: &str) -> (u16, Value) {
        let (code, body) = self.get_text(path);
        (code, serde_json::from_str(&body).unwrap_or(Value::Null))
    }

    /// GET `path` on the node's endpoint: (status code, body); code 0 while nothing listens yet.
    pub fn get_text(&self, path: &str) -> (u16, String) {
        http_get(self.port, path)
    }

    /// `service`'s entry (`namespace/name`) in /status.
    pub fn service_status(&self, service: &str) -> Option<Value> {
        service_entry(&self.get("/status").1, service)
    }

    /// The value of an unlabelled metric on /metrics (0 when absent).
    pub fn metric(&self, name: &str) -> u64 {
        let (_, text) = self.get_text("/metrics");
        text.lines()
            .find_map(|l| l.strip_prefix(name).and_then(|rest| rest.trim().parse::<f64>().ok()))
            .map_or(0, |v| v as u64)
    }

    /// SIGTERM, then waits up to `limit` for the exit (a liveness bound, not a timing claim);
    /// returns the exit code, or kills the node and fails when it is still running.
    pub fn terminate_within(&mut self, limit: Duration) -> Option<i32> {
        let mut child = self.child.take()?;
        Command::new("kill").args(["-TERM", &child.id().to_string()]).status().expect("kill runs");
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = child.try_wait().expect("wait works") {
                return status.code();
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("the node did not stop within {limit:?} of SIGTERM:\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits until `check` returns something, failing with `what` and the node's log.
    pub async fn until<T>(&self, what: &str, mut check: impl FnMut() -> Option<T>) -> T {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(found) = check() {
                return found;
            }
            assert!(Instant::now() < deadline, "timed out waiting for: {what}\n--- node log ---\n{}", self.log());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `service`'s entry (`namespace/name`) in a node's /status document.
pub fn service_entry(status: &Value, service: &str) -> Option<Value> {
    status["services"].as_array()?.iter().find(|s| s["service"] == service).cloned()
}

/// The pid of the extra engine `edge-<index>` (scripts/engines), from its pid file.
pub fn engine_pid(index: usize) -> String {
    let pid_file = ledgerops_e2e::repo_root().join(format!(".ledgerops/engines/edge-{index}/docker.pid"));
    std::fs::read_to_string(&pid_file).expect("the engine's pid file").trim().to_owned()
}

/// `ledgerops ARGS` as the registry's admin (who deploys to the test's namespace), with `env`.
pub fn ledgerops(site: &Site, args: &[&str], env: &[(&str, &str)]) -> Output {
    let key = alloy::hex::encode_prefixed(site.chain.anvil.keys()[0].to_bytes());
    Command::new(cli())
        .args(args)
        .env("LEDGEROPS_RPC_URL", site.chain.anvil.endpoint())
        .env("LEDGEROPS_REGISTRY", site.chain.registry.address().to_string())
        .env("LEDGEROPS_PRIVATE_KEY", key)
        .envs(env.iter().copied())
        .output()
        .expect("ledgerops runs")
}

pub fn succeeded(out: &Output) {
    assert!(
        out.status.success(),
        "ledgerops failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs `docker args...`; returns stdout on success.
pub fn docker(args: &[&str]) -> Option<String> {
    docker_on(None, args)
}

/// Runs `docker args...` against the engine at unix socket `socket` (the main one when `None`).
pub fn docker_on(socket: Option<&str>, args: &[&str]) -> Option<String> {
    let mut command = Command::new("docker");
    if let Some(socket) = socket {
        command.args(["-H", &format!("unix://{socket}")]);
    }
    let out = command.args(args).output().expect("the docker CLI runs");
    if !out.status.success() {
        // Said, not asserted: many callers expect a failure (a service already gone).
        eprintln!("docker {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim());
    }
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `docker service inspect NAME`, when the service exists.
pub fn service(name: &str) -> Option<Value> {
    service_on(None, name)
}

/// The same on the engine at `socket`.
pub fn service_on(socket: Option<&str>, name: &str) -> Option<Value> {
    let text = docker_on(socket, &["service", "inspect", name])?;
    let all: Value = serde_json::from_str(&text).ok()?;
    all.get(0).cloned()
}

/// The sockets of the extra engines `scripts/engines` started (edge sites besides the main engine).
pub fn engines() -> Vec<String> {
    let path = ledgerops_e2e::repo_root().join(".ledgerops/engines.env");
    let text = std::fs::read_to_string(&path).expect(".ledgerops/engines.env: run scripts/engines first");
    text.lines().filter_map(|l| l.split_once('=').map(|(_, sock)| sock.to_owned())).collect()
}

/// The `ledgerops` CLI, built when missing (cargo builds it with the workspace's tests).
pub fn cli() -> PathBuf {
    ledgerops_e2e::cli_path()
}

/// Replicas, image, env and ownership labels of an inspected service, as an operator reads them.
pub fn replicas(service: &Value) -> u64 {
    service["Spec"]["Mode"]["Replicated"]["Replicas"].as_u64().unwrap_or_default()
}

/// The service's `MODE` env value.
pub fn mode(service: &Value) -> Option<String> {
    let env = service["Spec"]["TaskTemplate"]["ContainerSpec"]["Env"].as_array()?;
    env.iter().filter_map(Value::as_str).find_map(|e| e.strip_prefix("MODE=")).map(str::to_owned)
}

/// A label of the service.
pub fn label(service: &Value, key: &str) -> Option<String> {
    service["Spec"]["Labels"][key].as_str().map(str::to_owned)
}

/// Removes every service whose name starts with `prefix` (leftovers of an earlier run).
pub fn clean(prefix: &str) {
    clean_on(None, prefix);
}

/// The same on the engine at `socket`.
pub fn clean_on(socket: Option<&str>, prefix: &str) {
    ledgerops_e2e::remove_swarm_services(socket, prefix);
    ledgerops_e2e::remove_stack_objects(socket, &format!("{prefix}_"));
}

/// Fails unless the main engine is healthy after a test of `prefix` (its services removed): each
/// of its containers answers `docker inspect` within 5 s until Swarm has removed them all (none
/// is left, in `Created` or any state), and no `runc` has been running for more than 10 s (runc 1.1.5 can hang
/// for good inside `runc create`, leaving a container the engine can neither inspect nor remove).
pub fn assert_engine_unwedged(prefix: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let listed = docker(&["ps", "-a", "--filter", &format!("name={prefix}"), "--format", "{{.ID}} {{.Status}}"])
            .expect("docker ps answers");
        let containers: Vec<(String, String)> = listed
            .lines()
            .filter_map(|l| l.split_once(' ').map(|(id, status)| (id.to_owned(), status.to_owned())))
            .collect();
        for (id, status) in &containers {
            let inspected =
                Command::new("timeout").args(["5", "docker", "inspect", id]).output().expect("timeout runs");
            // An answer, even "no such object" (removed meanwhile), is fine; timeout's 124 is not.
            let answered = inspected.status.code() != Some(124);
            assert!(answered, "container {id} ({status}) does not answer docker inspect within 5 s: wedged");
        }
        if containers.is_empty() {
            break;
        }
        // A task's container passes through Created as Swarm starts it; one still there a minute
        // after its service went is left behind.
        assert!(Instant::now() < deadline, "{prefix} containers left after their services went: {containers:?}");
        std::thread::sleep(Duration::from_millis(500));
    }
    let processes = Command::new("ps").args(["-eo", "etimes=,args="]).output().expect("ps runs");
    let stuck: Vec<String> = String::from_utf8_lossy(&processes.stdout)
        .lines()
        .filter(|l| {
            l.trim_start()
                .split_once(' ')
                .is_some_and(|(age, args)| args.starts_with("runc ") && age.parse::<u64>().is_ok_and(|age| age > 10))
        })
        .map(str::to_owned)
        .collect();
    assert!(stuck.is_empty(), "runc processes left running: {stuck:?}");
}
