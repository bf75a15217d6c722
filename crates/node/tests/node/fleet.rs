//! Several edge sites, each its own Docker engine with its own node: placement by site,
//! attestations, and rollback decided by a quorum of nodes, not by one. `ledgerops wait`, as CI
//! calls it, reads the outcome.

use std::process::Output;

use alloy::primitives::keccak256;
use ledgerops_e2e::{Chain, test_image};
use ledgerops_reconcile::observed::labels;
use ledgerops_spec::{Mount, Spec, SpecBody, UpdatePolicy};

use crate::harness::{self, Node, SWARM, clean_on, docker_on, engines, label, service_on};

/// A test app that rolls out one task at a time and has Swarm roll back a failing update.
fn spec(image: &str, sites: &[&str], mode: &str) -> Spec {
    let update = UpdatePolicy {
        parallelism: Some(1),
        failure_action: Some("rollback".into()),
        monitor: Some("2s".into()),
        ..Default::default()
    };
    let body =
        SpecBody { v: 1, env: [("MODE".into(), mode.into())].into(), update: Some(update), ..Default::default() };
    Spec { image: image.into(), replicas: 1, sites: sites.iter().map(keccak256).collect(), body }
}

/// Registers anvil accounts `accounts` as nodes at `sites` and creates `namespace`.
async fn register(chain: &Chain, namespace: &str, nodes: &[(usize, &str)]) {
    let registry = &chain.registry;
    let pending = registry.createNamespace(namespace.into()).send().await.expect("sent");
    pending.get_receipt().await.expect("mined");
    let pending = registry.grantDeployer(namespace.into(), chain.account(0)).send().await.expect("sent");
    pending.get_receipt().await.expect("mined");
    for (account, site) in nodes {
        let pending = registry.addNode(chain.account(*account), (*site).into()).send().await.expect("sent");
        pending.get_receipt().await.expect("mined");
    }
}

/// A timeout no healthy run comes near.
const LONG: &[&str] = &["--timeout", "90s"];

/// `ledgerops wait SERVICE [args]` as CI runs it.
fn wait(chain: &Chain, service: &str, args: &[&str]) -> Output {
    std::process::Command::new(harness::cli())
        .args(["wait", service])
        .args(args)
        .env("LEDGEROPS_RPC_URL", chain.anvil.endpoint())
        .env("LEDGEROPS_REGISTRY", chain.registry.address().to_string())
        .env_remove("LEDGEROPS_PRIVATE_KEY")
        .output()
        .expect("ledgerops runs")
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// Three edge sites, each a Docker engine (the main one and two extra) with its node (anvil
/// accounts 2, 3, 4): the Swarms to the test alone, a fresh registry with `namespace` and the
/// nodes registered at `sites`. Dropped, it stops the nodes and removes the namespace's services.
struct Fleet {
    chain: Chain,
    sockets: Vec<Option<String>>,
    nodes: Vec<Node>,
    dir: tempfile::TempDir,
    prefix: String,
    _swarm: tokio::sync::MutexGuard<'static, ()>,
}

impl Fleet {
    async fn start(namespace: &str, sites: [&str; 3]) -> Self {
        let swarm = SWARM.lock().await;
        let chain = Chain::start().await.expect("anvil and a registry");
        let accounts: Vec<(usize, &str)> = sites.iter().enumerate().map(|(i, site)| (2 + i, *site)).collect();
        register(&chain, namespace, &accounts).await;
        let sockets: Vec<Option<String>> =
            std::iter::once(None).chain(engines().into_iter().take(2).map(Some)).collect();
        // clean_on takes the namespace: services start with it, stack objects with `namespace_`.
        let prefix = namespace.to_owned();
        for socket in &sockets {
            clean_on(socket.as_deref(), &prefix);
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let nodes = sockets
            .iter()
            .enumerate()
            .map(|(i, socket)| {
                let extra: Vec<&str> = socket.iter().flat_map(|s| ["--docker-socket", s.as_str()]).collect();
                Node::start_as(&chain, 2 + i, &chain.anvil.endpoint(), &dir.path().join(format!("node-{i}")), &extra)
            })
            .collect();
        Self { chain, sockets, nodes, dir, prefix, _swarm: swarm }
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        self.nodes.clear();
        for socket in &self.sockets {
            clean_on(socket.as_deref(), &self.prefix);
        }
    }
}

fn revision_on(socket: &Option<String>, name: &str) -> Option<String> {
    service_on(socket.as_deref(), name).and_then(|s| label(&s, labels::REVISION))
}

#[tokio::test]
async fn a_service_runs_only_at_its_sites_and_each_node_attests_it() {
    let fleet = Fleet::start("geo", ["north", "south", "south"]).await;
    let (chain, sockets, nodes) = (&fleet.chain, &fleet.sockets, &fleet.nodes);
    let app = test_image("TESTAPP");
    harness::publish_spec(chain, "geo/north-only", &spec(&app, &["north"], "n")).await;
    harness::publish_spec(chain, "geo/south-only", &spec(&app, &["south"], "s")).await;

    let out = wait(chain, "geo/south-only", LONG);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("converged on 2 node(s)"), "{}", text(&out));
    let out = wait(chain, "geo/north-only", LONG);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let placed =
        |name: &str| -> Vec<bool> { sockets.iter().map(|s| service_on(s.as_deref(), name).is_some()).collect() };
    assert_eq!(placed("geo_north-only"), [true, false, false]);
    assert_eq!(placed("geo_south-only"), [false, true, true]);
    let status = nodes[1].get("/status").1;
    let south = &status["services"][0];
    assert_eq!(
        (&south["service"], &south["sync"], &south["health"]),
        (&"geo/south-only".into(), &"Synced".into(), &"Healthy".into()),
        "{status}"
    );
    // The node counts its attestation once it has the receipt, which can come a moment after
    // `wait` read the attestation from the chain.
    nodes[1]
        .until("the attestation counted", || {
            let (_, metrics) = nodes[1].get_text("/metrics");
            metrics.contains("ledgerops_attestations_total{status=\"converged\"} 1").then_some(())
        })
        .await;
    let (_, metrics) = nodes[1].get_text("/metrics");
    assert!(
        metrics.contains(
            "namespace=\"geo\",service=\"south-only\",revision=\"1\",sync_status=\"Synced\",health_status=\"Healthy\""
        ),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_revision_failing_on_a_majority_is_rolled_back_on_chain_and_everywhere() {
    let fleet = Fleet::start("fleet", ["edge", "edge", "edge"]).await;
    let (chain, sockets, nodes) = (&fleet.chain, &fleet.sockets, &fleet.nodes);
    harness::publish_spec(chain, "fleet/web", &spec(&test_image("TESTAPP"), &["edge"], "good")).await;
    let out = wait(chain, "fleet/web", LONG);
    assert_eq!(out.status.code(), Some(0), "revision 1 converges everywhere: {}", text(&out));

    // CI ships an image that crashes: Swarm rolls it back on every engine, every node votes, the
    // quorum (2 of 3) rolls the registry back to revision 1, and the nodes attest revision 1 again.
    harness::publish_spec(chain, "fleet/web", &spec(&test_image("CRASH"), &["edge"], "bad")).await;
    let out = wait(chain, "fleet/web", &["--revision", "2", "--timeout", "90s"]);
    assert_ne!(out.status.code(), Some(0), "{}", text(&out));
    nodes[0]
        .until("the registry rolled back by quorum", || {
            let out = wait(chain, "fleet/web", &["--revision", "2", "--timeout", "1s"]);
            text(&out).contains("rolled back from 2 by a quorum of nodes").then_some(())
        })
        .await;
    let out = wait(chain, "fleet/web", LONG);
    assert_eq!(out.status.code(), Some(0), "the fleet converged back on revision 1: {}", text(&out));
    assert!(text(&out).contains("revision 1"), "{}", text(&out));
    for socket in sockets {
        assert_eq!(revision_on(socket, "fleet_web").as_deref(), Some("1"), "engine {socket:?}");
    }
    let votes: u64 = nodes.iter().map(|n| n.metric("ledgerops_rollback_votes_total")).sum();
    assert!(votes >= 2, "a quorum of votes was sent: {votes}");
}

#[tokio::test]
async fn one_failing_node_of_three_does_not_roll_the_fleet_back() {
    let fleet = Fleet::start("lone", ["edge", "edge", "edge"]).await;
    let (chain, sockets, nodes) = (&fleet.chain, &fleet.sockets, &fleet.nodes);
    let secret = "lone_only-two";
    for socket in sockets {
        docker_on(socket.as_deref(), &["secret", "rm", secret]);
    }
    for socket in &sockets[..2] {
        let file = fleet.dir.path().join("secret");
        std::fs::write(&file, "s3cret").expect("write");
        docker_on(socket.as_deref(), &["secret", "create", secret, file.to_str().expect("utf-8")]).expect("secret");
    }
    let app = test_image("TESTAPP");
    harness::publish_spec(chain, "lone/web", &spec(&app, &["edge"], "one")).await;
    assert_eq!(wait(chain, "lone/web", LONG).status.code(), Some(0));

    // Revision 2 needs a secret the third engine lacks: that node votes, alone.
    let mut needs_secret = spec(&app, &["edge"], "two");
    needs_secret.body.secrets.push(Mount { name: secret.into(), ..Mount::default() });
    harness::publish_spec(chain, "lone/web", &needs_secret).await;
    nodes[2]
        .until("the third node voted", || (nodes[2].metric("ledgerops_rollback_votes_total") == 1).then_some(()))
        .await;
    for (node, socket) in nodes.iter().zip(sockets).take(2) {
        node.until("revision 2 runs where the secret exists", || {
            (revision_on(socket, "lone_web").as_deref() == Some("2")).then_some(())
        })
        .await;
    }
    let state = chain.registry.serviceState(keccak256("lone/web")).call().await.expect("serviceState");
    assert_eq!(state.activeRevision, 2, "one vote of three is no quorum");
    let out = wait(chain, "lone/web", &["--timeout", "5s"]);
    assert_ne!(out.status.code(), Some(0));
    assert!(text(&out).contains("voted-rollback") && text(&out).contains(secret), "{}", text(&out));
    for socket in sockets {
        docker_on(socket.as_deref(), &["secret", "rm", secret]);
    }
}
