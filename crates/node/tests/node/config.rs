//! Settings are checked at start: a bad one is named, with exit code 2, before anything runs;
//! a registry on another chain stops the node with exit code 1. The endpoints show what each is
//! for, and `/status` and `/metrics` want the token when one is set.

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use ledgerops_e2e::{Chain, http_get_with};

use crate::harness::{self, Node, Site, service};

fn node(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_ledgerops-node"))
        .args(args)
        .env_remove("LEDGEROPS_REGISTRY")
        .env_remove("LEDGEROPS_SITE")
        .env_remove("LEDGEROPS_PRIVATE_KEY")
        .output()
        .expect("ledgerops-node runs")
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn bad_settings_are_named_with_exit_code_2() {
    let registry = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
    let witness = ["--registry", registry, "--site", "a", "--witness-rpc-url", "http://127.0.0.1:9"];
    let lease = ["--registry", registry, "--site", "a", "--lease", "a"];
    let cases: [(&[&str], &str); 15] = [
        (&["--site", "a"], "no registry address"),
        (&[&witness[..], &["--rpc-quorum", "3"]].concat(), "rpc_quorum 3: between 1 and the 2 endpoint(s)"),
        (&[&witness[..], &["--rpc-quorum", "0"]].concat(), "rpc_quorum 0"),
        (&["--registry", registry, "--site", "a", "--witness-rpc-url", "127.0.0.1:9"], "witness RPC \"127.0.0.1:9\""),
        (&["--registry", registry], "no site"),
        (&["--registry", registry, "--site", "Bad Site"], "site \"Bad Site\""),
        (&["--registry", registry, "--site", "a", "--rpc-url", "localhost:8545"], "not an http(s):// or ws(s):// URL"),
        (&["--registry", registry, "--site", "a", "--private-key", "0x12"], "not 32 bytes of hex"),
        (&["--registry", registry, "--site", "a", "--consensus", "qbft"], "--consensus qbft needs --checkpoint"),
        (&["--registry", registry, "--site", "a", "--checkpoint", "0x1234"], "write NUMBER:HASH"),
        (&["--registry", registry, "--site", "a", "--lease", "site a"], "lease \"site a\": use 1 to 40 letters"),
        (&["--registry", registry, "--site", "a", "--lease", "a", "--lease-duration", "0s"], "lease_duration must be"),
        (&["--registry", registry, "--site", "a", "--docker-timeout", "0s"], "docker_timeout must be longer than zero"),
        // A request that could outlive half the lease could land after a standby took over.
        (
            &[&lease[..], &["--docker-timeout", "30s"]].concat(),
            "--docker-timeout 30s lets one Docker request outlive half the lease (--lease-duration 15s)",
        ),
        (&[&lease[..], &["--lease-duration", "10s", "--docker-timeout", "5s"]].concat(), "give a timeout under 5s"),
    ];
    for (args, named) in cases {
        let out = node(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(named), "{args:?}: {}", stderr(&out));
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("node.toml");
    std::fs::write(&file, "registry = \"0x5FbDB2315678afecb367f032d93F642f64180aa3\"\nresync = \"often\"\n")
        .expect("write");
    let out = node(&["--config", file.to_str().expect("utf-8"), "--site", "a"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("resync = \"often\""), "{}", stderr(&out));
}

#[tokio::test]
async fn a_registry_on_another_chain_stops_the_node() {
    let chain = Chain::start().await.expect("anvil and a registry");
    let dir = tempfile::tempdir().expect("tempdir");
    let out = node(&[
        "--rpc-url",
        &chain.anvil.endpoint(),
        "--registry",
        &chain.registry.address().to_string(),
        "--chain-id",
        "1",
        "--site",
        "a",
        "--listen",
        "127.0.0.1:0",
        "--data-dir",
        dir.path().to_str().expect("utf-8"),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("serves chain 31337, not the expected chain 1"), "{}", stderr(&out));
}

/// `/healthz` says only that the process serves and `/readyz` only what readiness needs; with
/// `--status-token-file`, `/status` and `/metrics` answer 401 without the token and 200 with it.
#[tokio::test]
async fn probes_say_little_and_status_and_metrics_want_the_token() {
    let chain = Chain::start().await.expect("anvil and a registry");
    chain.namespace_with_node("probe", crate::harness::NODE, "edge").await.expect("namespace and node");
    let dir = tempfile::tempdir().expect("tempdir");
    let token = dir.path().join("status-token");
    std::fs::write(&token, "t0ken-for-prometheus\n").expect("write");
    std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    // No Docker behind this node: the endpoints are what is tested, and nothing is reconciled.
    let absent = format!("unix://{}", dir.path().join("no-docker.sock").display());
    let extra = ["--status-token-file", token.to_str().expect("utf-8"), "--docker-socket", &absent];
    let node = Node::start_with(&chain, &chain.anvil.endpoint(), &dir.path().join("node"), &extra);
    node.until("the node serves", || (node.get("/healthz").0 == 200).then_some(())).await;

    let (_, healthz) = node.get_text("/healthz");
    assert_eq!(healthz.trim(), r#"{"status":"ok"}"#);
    let (code, ready) = node
        .until("the chain read", || {
            let (code, ready) = node.get("/readyz");
            ready["chain_block"].as_u64().is_some().then_some((code, ready))
        })
        .await;
    assert_eq!(code, 503, "no Docker: not ready");
    let mut keys: Vec<_> = ready.as_object().expect("an object").keys().cloned().collect();
    keys.sort();
    let expected = [
        "chain_block",
        "docker_hung",
        "docker_reachable",
        "ready",
        "rpc_reachable",
        "standby",
        "state_loaded",
        "unregistered",
    ];
    assert_eq!(keys, expected, "readiness only: {ready}");

    for path in ["/status", "/metrics"] {
        assert_eq!(http_get_with(node.port, path, None).0, 401, "{path} without the token");
        assert_eq!(http_get_with(node.port, path, Some("Bearer wrong")).0, 401, "{path} with another token");
        let (code, body) = http_get_with(node.port, path, Some("Bearer t0ken-for-prometheus"));
        assert_eq!(code, 200, "{path} with the token: {body}");
    }
    let (_, status) = http_get_with(node.port, "/status", Some("Bearer t0ken-for-prometheus"));
    assert!(status.contains("\"services\""), "the full status: {status}");
    assert!(!node.log().contains("t0ken-for-prometheus"), "the token is never logged");
}

/// Someone on the host (an unprivileged local user will do) takes the node's port first: the node
/// reconciles its site anyway, says why its endpoints are not served, and serves them once the
/// port is free, without a restart (binding used to be fatal, and systemd restarted it forever).
#[tokio::test]
async fn a_port_taken_first_does_not_stop_the_node_from_reconciling() {
    let site = Site::start("port").await;
    let squatter = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let listen = squatter.local_addr().expect("address").to_string();
    harness::publish_spec(&site.chain, "port/web", &harness::app(1, "one", None)).await;
    let node = site.node_with(&site.chain.anvil.endpoint(), &["--listen", &listen]);
    node.until("the service created although the endpoints cannot listen", || service("port_web")).await;
    assert!(
        node.log().contains("cannot serve /healthz, /readyz, /status and /metrics on this address"),
        "{}",
        node.log()
    );
    drop(squatter);
    node.until("the endpoints once the port is free", || (node.get("/healthz").0 == 200).then_some(())).await;
    assert!(node.log().contains("the endpoints' address is free again"), "{}", node.log());
}
