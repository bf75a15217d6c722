//! The Debian package `scripts/release` builds (scripts/test runs it first), installed on this
//! machine with `dpkg -i`: lintian finds no error in it, what it installs, its unit checked by
//! `systemd-analyze verify` and rated by `systemd-analyze security`, the node started as the unit
//! starts it (its `ExecStart` as its `User`, with its `EnvironmentFile`; no systemd runs as PID 1
//! here) with its key in a file and not in its environment, a config change picked up at the
//! restart, and `dpkg --purge`.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Output};
use std::time::{Duration, Instant};

use ledgerops_e2e::{Chain, free_port, http_get, repo_root};
use serde_json::Value;

use crate::harness::{self, NODE, SWARM, clean, service_entry};

const UNIT: &str = "/lib/systemd/system/ledgerops-node.service";
const CONFIG: &str = "/etc/ledgerops/node.toml";
const ENV_FILE: &str = "/etc/ledgerops/node.env";
const KEY_FILE: &str = "/etc/ledgerops/node.key";

fn run(program: &str, args: &[&str]) -> Output {
    Command::new(program).args(args).output().unwrap_or_else(|e| panic!("{program} runs: {e}"))
}

fn ok(out: &Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `mode owner group` of a path.
fn stat(path: &str) -> String {
    ok(&run("stat", &["-c", "%a %U %G", path]), path).trim().to_owned()
}

/// The `[Service]` settings of the installed unit.
fn service_section() -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(UNIT).expect("the unit is installed");
    let section = text.split("[Service]").nth(1).expect("a [Service] section").split("\n[").next().unwrap_or_default();
    section
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect()
}

/// The node started as the unit starts it; killed when dropped (a failing test leaves no node
/// behind to prune the shared Swarm).
struct Started(Option<Child>);

impl Drop for Started {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The package, purged when dropped, whatever the test's outcome.
struct Installed;

impl Drop for Installed {
    fn drop(&mut self) {
        let _ = run("dpkg", &["--purge", "ledgerops-node"]);
    }
}

/// Starts the node as the unit does: its `ExecStart`, as its `User` with its groups, with the
/// variables of its `EnvironmentFile` and nothing else of this process's environment.
fn start_as_the_unit(log: &Path) -> Started {
    let unit = service_section();
    let user = &unit["User"];
    let exec: Vec<&str> = unit["ExecStart"].split_whitespace().collect();
    let env_file = unit["EnvironmentFile"].trim_start_matches('-');
    let env = std::fs::read_to_string(env_file).unwrap_or_default();
    let out = std::fs::File::create(log).expect("log");
    let mut command = Command::new("setpriv");
    command
        .args(["--reuid", user, "--regid", &unit["Group"], "--init-groups", "--"])
        .args(&exec)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .stdout(out.try_clone().expect("log"))
        .stderr(out);
    for line in env.lines().filter(|l| !l.trim_start().starts_with('#')) {
        if let Some((key, value)) = line.split_once('=') {
            command.env(key.trim(), value.trim());
        }
    }
    Started(Some(command.spawn().expect("setpriv starts the node")))
}

fn stop(mut node: Started) {
    let mut child = node.0.take().expect("running");
    Command::new("kill").args(["-TERM", &child.id().to_string()]).status().expect("kill runs");
    let status = child.wait().expect("the node exits");
    assert_eq!(status.code(), Some(0), "the node stops cleanly on SIGTERM");
}

async fn until<T>(what: &str, log: &Path, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(found) = check() {
            return found;
        }
        let log = std::fs::read_to_string(log).unwrap_or_default();
        assert!(Instant::now() < deadline, "timed out waiting for: {what}\n--- node log ---\n{log}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn healthy(port: u16) -> Option<()> {
    let (code, body) = http_get(port, "/status");
    let status: Value = serde_json::from_str(&body).ok().filter(|_| code == 200)?;
    let web = service_entry(&status, "pkg/web")?;
    (web["health"] == "Healthy").then_some(())
}

fn write_config(chain: &Chain, port: u16) {
    let config = format!(
        "rpc_url = \"{}\"\nchain_id = {}\nregistry = \"{}\"\ndata_dir = \"/var/lib/ledgerops-node\"\n\
         private_key_file = \"{KEY_FILE}\"\nlisten = \"127.0.0.1:{port}\"\nresync = \"1s\"\npoll_interval = \"100ms\"\n",
        chain.anvil.endpoint(),
        chain.anvil.chain_id(),
        chain.registry.address()
    );
    std::fs::write(CONFIG, config).expect("write the config");
}

#[tokio::test]
async fn the_debian_package_installs_runs_as_its_own_user_and_picks_up_a_config_change() {
    let version = env!("CARGO_PKG_VERSION");
    let arch = ok(&run("dpkg", &["--print-architecture"]), "dpkg").trim().to_owned();
    let deb = repo_root().join(format!("dist/ledgerops-node_{version}_{arch}.deb"));
    assert!(deb.exists(), "{} missing: scripts/release builds it", deb.display());
    let lintian = run("lintian", &["--fail-on", "error", deb.to_str().expect("utf-8")]);
    println!("lintian: {}", String::from_utf8_lossy(&lintian.stdout).trim());
    ok(&lintian, "lintian finds no error (scripts/setup installs it)");
    let _ = run("dpkg", &["--purge", "ledgerops-node"]);
    // Nodes prune what their registry does not place: one test's nodes on the shared Swarm at a time.
    let _swarm = SWARM.lock().await;
    clean("pkg_");

    ok(&run("dpkg", &["-i", deb.to_str().expect("utf-8")]), "dpkg -i");
    let installed = Installed;
    ok(&run("systemd-analyze", &["verify", UNIT]), "systemd-analyze verify");
    let rated = ok(&run("systemd-analyze", &["security", "--offline=true", UNIT]), "systemd-analyze security");
    let level = rated.lines().last().unwrap_or_default().to_owned();
    println!("systemd-analyze security: {level}");
    assert!(level.contains(" OK"), "the unit's exposure: {level}");
    let wants = Path::new("/etc/systemd/system/multi-user.target.wants/ledgerops-node.service");
    assert!(wants.exists(), "the unit is enabled");
    let groups = ok(&run("id", &["-nG", "ledgerops-node"]), "the user exists");
    assert!(groups.split_whitespace().any(|g| g == "docker"), "in group docker: {groups}");
    assert_eq!(stat("/var/lib/ledgerops-node"), "700 ledgerops-node ledgerops-node");
    assert_eq!(stat(CONFIG), "640 root ledgerops-node");
    assert_eq!(stat(ENV_FILE), "600 root root");
    let printed = ok(&run("/usr/bin/ledgerops-node", &["--version"]), "the binary runs");
    assert!(printed.contains(version), "{printed}");

    let chain = Chain::start().await.expect("anvil and a registry");
    harness::set_up(&chain, "pkg").await;
    // The key in the file node.toml names, the node user's own, as the package's settings say.
    let key = alloy::hex::encode_prefixed(chain.anvil.keys()[NODE].to_bytes());
    std::fs::write(KEY_FILE, format!("{key}\n")).expect("write the key");
    ok(&run("chown", &["ledgerops-node:ledgerops-node", KEY_FILE]), "chown");
    ok(&run("chmod", &["600", KEY_FILE]), "chmod");
    let (port, moved) = (free_port(), free_port());
    write_config(&chain, port);
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("node.log");

    let node = start_as_the_unit(&log);
    harness::publish_spec(&chain, "pkg/web", &harness::app(1, "one", None)).await;
    until("the service healthy", &log, || healthy(port)).await;
    let pid = node.0.as_ref().expect("running").id();
    let environ = std::fs::read(format!("/proc/{pid}/environ")).expect("the node's environment");
    assert!(!String::from_utf8_lossy(&environ).contains(&key[2..]), "the key is not in the node's environment");
    let store = stat("/var/lib/ledgerops-node/node.db");
    assert!(store.starts_with("600 ledgerops-node"), "the store is the node user's own: {store}");

    // `systemctl restart` after an edit: the new address is served, the old one no longer.
    write_config(&chain, moved);
    stop(node);
    let node = start_as_the_unit(&log);
    until("the moved endpoint", &log, || healthy(moved)).await;
    assert_eq!(http_get(port, "/healthz").0, 0, "nothing listens at the old address");
    stop(node);

    ok(&run("dpkg", &["--purge", "ledgerops-node"]), "dpkg --purge");
    drop(installed);
    let _ = std::fs::remove_file(KEY_FILE);
    for gone in ["/usr/bin/ledgerops-node", CONFIG, UNIT, "/var/lib/ledgerops-node"] {
        assert!(!Path::new(gone).exists(), "{gone} removed by the purge");
    }
    clean("pkg_");
}
