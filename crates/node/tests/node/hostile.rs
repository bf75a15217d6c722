//! Specs published straight to the registry, as a compromised deployer key could, bypassing every
//! check of the CLI: the node reports each as degraded with the reason, keeps every other service
//! reconciled, and keeps running.

use alloy::primitives::{Bytes, keccak256};
use ledgerops_bindings::IDeploymentRegistry::ServiceSpec;
use ledgerops_e2e::test_image;
use serde_json::{Value, json};

use ledgerops_reconcile::observed::labels;

use crate::harness::{self, SITE, Site, label, service};

/// A body as the registry stores it: JSON bytes, here built by hand rather than by the spec crate.
fn body(value: Value) -> Vec<u8> {
    serde_json::to_vec(&value).expect("json")
}

/// Each hostile body with its replica count, and a word its reason must contain.
fn hostile() -> Vec<(&'static str, u32, Vec<u8>, &'static str)> {
    let many_env: serde_json::Map<String, Value> = (0..10_000).map(|i| (format!("V{i}"), json!("x"))).collect();
    vec![
        ("not-utf8", 1, vec![0xff, 0xfe, 0x00, 0x80, 0x7b], "body"),
        ("not-json", 1, b"{\"v\":1,\"env\":".to_vec(), "body"),
        (
            "port-zero",
            1,
            body(json!({"v": 1, "ports": [{"target": 0, "protocol": "tcp", "mode": "ingress"}]})),
            "ports",
        ),
        ("port-too-big", 1, body(json!({"v": 1, "ports": [{"target": 70000}]})), "body"),
        (
            "ports-twice",
            1,
            body(json!({"v": 1, "ports": [
                {"target": 80, "published": 18080, "protocol": "tcp", "mode": "ingress"},
                {"target": 81, "published": 18080, "protocol": "tcp", "mode": "ingress"}]})),
            "published twice",
        ),
        ("bad-constraint", 1, body(json!({"v": 1, "constraints": ["node.labels.tier"]})), "constraints"),
        ("future-format", 1, body(json!({"v": 99})), "format version"),
        ("nul-in-env", 1, body(json!({"v": 1, "env": {"A": "x\u{0}y"}})), "env.A"),
        ("unknown-secret", 1, body(json!({"v": 1, "secrets": [{"name": "hostile_no-such-secret"}]})), "secret"),
        // Another namespace's secret, and the host's Docker socket: refused by the default policy.
        (
            "other-namespace-secret",
            1,
            body(json!({"v": 1, "secrets": [{"name": "prod_db-password"}]})),
            "secret \"prod_db-password\" outside the namespace",
        ),
        (
            "docker-socket",
            1,
            body(json!({"v": 2, "mounts": [
                {"type": "bind", "source": "/var/run/docker.sock", "target": "/var/run/docker.sock"}]})),
            "needs permission docker-socket, which the namespace's policy does not allow",
        ),
        // Powers over the host in other spellings (the second security review): the host's / as a
        // volume's options, other volume options and drivers, a directory holding the socket,
        // networks on the host's LAN, a low port through the mesh, a log driver that reaches
        // out, a raised limit, and another namespace's name on a shared network.
        (
            "host-root-volume",
            1,
            body(json!({"v": 2, "mounts": [{"type": "volume", "source": "hostroot", "target": "/host",
                "driver_opts": {"type": "none", "o": "bind", "device": "/"}}]})),
            "mounts[0].driver_opts.device needs permission bind",
        ),
        (
            "nfs-volume",
            1,
            body(json!({"v": 2, "mounts": [{"type": "volume", "source": "share", "target": "/share",
                "driver_opts": {"type": "nfs", "o": "addr=127.0.0.1,rw", "device": ":/export"}}]})),
            "needs permission volume-driver",
        ),
        (
            "socket-parent",
            1,
            body(json!({"v": 2, "mounts": [{"type": "bind", "source": "/run/.", "target": "/host-run"}]})),
            "mounts[0].source needs permission bind",
        ),
        (
            "macvlan",
            1,
            body(json!({"v": 2, "networks": [{"name": "lan", "driver": "macvlan", "driver_opts": {"parent": "lo"}}]})),
            "networks[0].driver needs permission host-network",
        ),
        (
            "low-port-mesh",
            1,
            body(json!({"v": 1, "ports": [{"target": 8080, "published": 80, "protocol": "tcp", "mode": "ingress"}]})),
            "ports[0].published needs permission low-ports",
        ),
        (
            "gelf",
            1,
            body(json!({"v": 2, "logging": {"driver": "gelf", "options": {"gelf-address": "udp://127.0.0.1:12201"}}})),
            "logging.driver needs permission log-driver",
        ),
        (
            "memlock",
            1,
            body(json!({"v": 2, "ulimits": {"memlock": {"soft": -1, "hard": -1}}})),
            "ulimits.memlock needs permission ulimits",
        ),
        (
            "shared-alias",
            1,
            body(json!({"v": 2, "networks": [{"name": SHARED_NETWORK, "external": true, "aliases": ["api"]}]})),
            "the name \"api\" on hostile-shared, a network other namespaces may join",
        ),
        ("env-10000", 1, body(json!({"v": 1, "env": many_env})), ""),
        // A program name runc cannot report without hanging the engine (docs/reliability.md).
        ("huge-command", 1, body(json!({"v": 1, "command": ["x".repeat(100_000)]})), "PATH_MAX"),
        // A long argument is fine: created, and it runs.
        ("long-argument", 1, body(json!({"v": 1, "args": ["true", "x".repeat(100_000)]})), ""),
        // Within the namespace's cap (its admin raised it to the registry's hard maximum), above
        // the node's own.
        ("absurd-replicas", 10_000, body(json!({"v": 1})), "ceiling of 100"),
    ]
}

/// A network the hostile namespaces' policy lets them join, shared with other namespaces.
const SHARED_NETWORK: &str = "hostile-shared";

/// Raises `namespace`'s ceilings to the registry's hard maximum, lets it join [`SHARED_NETWORK`],
/// and publishes every hostile body to it, straight to the contract; returns the cases.
async fn publish_hostile(site: &Site, namespace: &str) -> Vec<(&'static str, u32, Vec<u8>, &'static str)> {
    let limits = site.chain.registry.setNamespaceLimits(namespace.into(), 10_000, 128 * 1024);
    limits.send().await.expect("sent").get_receipt().await.expect("mined");
    let shared = Bytes::from(format!(r#"{{"v":1,"external":["{SHARED_NETWORK}"]}}"#).into_bytes());
    let policy = site.chain.registry.setNamespacePolicy(namespace.into(), shared);
    policy.send().await.expect("sent").get_receipt().await.expect("mined");
    let cases = hostile();
    for (name, replicas, bytes, _) in &cases {
        let spec = ServiceSpec {
            image: test_image("TESTAPP"),
            replicas: *replicas,
            sites: vec![keccak256(SITE)],
            body: Bytes::from(bytes.clone()),
        };
        harness::publish(&site.chain, &format!("{namespace}/{name}"), spec).await;
    }
    cases
}

fn status_of<'a>(status: &'a Value, service: &str) -> Option<&'a Value> {
    status["services"].as_array()?.iter().find(|s| s["service"] == service)
}

#[tokio::test]
async fn hostile_specs_are_held_with_a_reason_and_every_other_service_runs() {
    let site = Site::start("hostile").await;
    let node = site.node();
    let cases = publish_hostile(&site, "hostile").await;
    harness::publish_spec(&site.chain, "hostile/good", &harness::app(1, "good", None)).await;
    node.until("the good service runs after all the hostile ones", || service("hostile_good")).await;

    for (name, _, _, reason) in &cases {
        let key = format!("hostile/{name}");
        let entry = node
            .until(&format!("{key} reported"), || {
                let (_, status) = node.get("/status");
                let entry = status_of(&status, &key)?.clone();
                (entry["health"] != "Missing" || entry["last_error"].is_string()).then_some(entry)
            })
            .await;
        if reason.is_empty() {
            // Large but within every limit (the body fits the namespace's 128 KiB): created, and
            // from then on judged like any rollout.
            assert_eq!(entry["last_action"], "create ok", "{key}: {entry}");
            continue;
        }
        assert_eq!(entry["health"], "Degraded", "{key}: {entry}");
        let error = entry["last_error"].as_str().unwrap_or_default();
        assert!(error.contains(reason), "{key}: the reason names {reason:?}: {error}");
        assert!(service(&format!("hostile_{name}")).is_none(), "{key} was not created");
    }
    // Nothing a held spec defines was created either: no volume (the host's / among them), no network.
    let volumes = harness::docker(&["volume", "ls", "-q", "--filter", "name=hostile_"]).expect("volume ls");
    assert_eq!(volumes.trim(), "", "no volume of a held spec");
    let networks = harness::docker(&["network", "ls", "-q", "--filter", "name=hostile_lan"]).expect("network ls");
    assert_eq!(networks.trim(), "", "no network of a held spec");
    // A running service scaled to absurd numbers by a later revision keeps its last good one.
    let mut absurd = harness::app(1, "good", None).to_onchain().expect("a valid spec");
    absurd.replicas = 10_000;
    harness::publish(&site.chain, "hostile/good", absurd).await;
    let entry = node
        .until("the absurd revision reported", || {
            let (_, status) = node.get("/status");
            status_of(&status, "hostile/good").filter(|e| e["last_error"].is_string()).cloned()
        })
        .await;
    let error = entry["last_error"].as_str().unwrap_or_default();
    assert!(error.contains("revision 2 asks for 10000 replicas"), "{error}");
    let running = service("hostile_good").expect("still running");
    assert_eq!((harness::replicas(&running), label(&running, labels::REVISION)), (1, Some("1".into())));

    let (code, _) = node.get("/healthz");
    assert_eq!(code, 200, "the node is alive:\n{}", node.log());
    assert!(!node.log().contains("panicked"), "{}", node.log());
    let rss_kb = node.rss_kb();
    assert!(rss_kb < 200 * 1024, "the node's memory stays bounded: {rss_kb} kB");
    drop(node);
    drop(site);
    harness::assert_engine_unwedged("hostile_");
}

/// Revisions of a 100 kB body published to measure what history costs.
const HISTORY: u64 = 200;

/// Resident memory sampled while the node re-reads every hostile spec ten times a second: it
/// stays flat (a leak per pass would show within these 300 passes). Then the cost of history:
/// the node keeps every revision's spec (a rollback may activate any of them), so 200 more
/// revisions of a 100 kB body add about their size, not more. The samples are printed.
#[tokio::test]
async fn memory_stays_flat_while_hostile_specs_are_read_again_and_again() {
    let site = Site::start("leak").await;
    let node = site.node_with(&site.chain.anvil.endpoint(), &["--resync", "100ms"]);
    let cases = publish_hostile(&site, "leak").await;
    node.until("every hostile spec reported", || {
        let (_, status) = node.get("/status");
        let reported = status["services"]
            .as_array()?
            .iter()
            .filter(|s| s["last_action"].is_string() || s["last_error"].is_string())
            .count();
        (reported == cases.len()).then_some(())
    })
    .await;

    let mut samples = Vec::new();
    for _ in 0..7 {
        tokio::time::sleep(std::time::Duration::from_secs(5)).await;
        samples.push(node.rss_kb());
    }
    let steady = samples[1..].iter().max().expect("samples") - samples[1];
    eprintln!(
        "memory under hostile specs, every 5 s at 10 passes/s: {samples:?} kB (growth after warm-up: {steady} kB)"
    );

    let before = node.rss_kb();
    let big = body(json!({"v": 1, "ports": [{"target": 0}], "command": ["x".repeat(100_000)]}));
    let mut last = 0;
    for _ in 0..HISTORY {
        let spec = ServiceSpec {
            image: test_image("TESTAPP"),
            replicas: 1,
            sites: vec![keccak256(SITE)],
            body: Bytes::from(big.clone()),
        };
        last = harness::publish(&site.chain, "leak/history", spec).await;
    }
    node.until("the last revision read", || {
        (node.get("/status").1["node"]["chain_block"].as_u64()? >= last).then_some(())
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let per_revision = node.rss_kb().saturating_sub(before) / HISTORY;
    eprintln!("memory per kept revision of a {} kB body: {per_revision} kB", big.len() / 1000);

    assert!(steady < 4 * 1024, "memory grew {steady} kB while nothing changed: {samples:?}");
    assert!(per_revision < 4 * big.len() as u64 / 1024, "{per_revision} kB per revision of {} B", big.len());
    assert!(!node.log().contains("panicked"));
    drop(node);
    drop(site);
    harness::assert_engine_unwedged("leak_");
}
