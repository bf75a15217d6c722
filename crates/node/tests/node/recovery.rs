//! The node and the chain going away and coming back: the node's store carries it across.

use alloy::node_bindings::Anvil;
use ledgerops_e2e::{Chain, anvil_path};
use ledgerops_reconcile::observed::labels;

use crate::harness::{self, DockerProxy, Node, SWARM, Site, docker, free_port, label, replicas, service};

#[tokio::test]
async fn a_node_killed_mid_way_resumes_from_its_store_without_repeating_itself() {
    let mut site = Site::start("again").await;
    let rpc = site.chain.anvil.endpoint();

    let mut node = site.node_with(&rpc, &[]);
    harness::publish_spec(&site.chain, "again/one", &harness::app(1, "a", None)).await;
    node.until("again_one created", || service("again_one")).await;
    node.kill();

    // While the node is down: a new revision of one service and a new service.
    harness::publish_spec(&site.chain, "again/one", &harness::app(2, "b", None)).await;
    harness::publish_spec(&site.chain, "again/two", &harness::app(1, "c", None)).await;
    let mut node = site.node_with(&rpc, &[]);
    node.until("again_two created after the restart", || service("again_two")).await;
    node.until("again_one updated after the restart", || {
        service("again_one").filter(|s| label(s, labels::REVISION).as_deref() == Some("2"))
    })
    .await;
    assert_eq!(node.journaled("again_one", "create").len(), 1, "created once: {:?}", node.journal());
    assert!(node.log().contains("enforcing the state kept in the store"), "{}", node.log());
    // Before any RPC answer, the kept state was checked against the proofs kept with it.
    assert!(node.log().contains("the kept state matches the kept proofs"), "{}", node.log());

    // SIGTERM: a clean stop (exit 0), and the next start reads on from the kept cursor.
    assert_eq!(node.terminate(), Some(0), "{}", node.log());
    assert!(node.log().contains("controller stopped"));
    let node = site.node_with(&rpc, &[]);
    harness::publish_spec(&site.chain, "again/two", &harness::app(2, "d", None)).await;
    node.until("again_two updated", || service("again_two").filter(|s| replicas(s) == 2)).await;
    let creates = node.journal().iter().filter(|e| e["action"] == "create").count();
    assert_eq!(creates, 2, "no action repeated across three starts: {:?}", node.journal());

    // The chain gone: a fourth start still checks its kept state against the proofs kept with it.
    let checked = |node: &Node| node.log().matches("the kept state matches the kept proofs").count();
    let before = checked(&node);
    drop(node);
    site.chain.anvil.child_mut().kill().expect("anvil stops");
    let node = site.node_with(&rpc, &[]);
    node.until("the kept state checked without an RPC", || (checked(&node) > before).then_some(())).await;
    node.until("still enforced", || service("again_two").filter(|s| replicas(s) == 2)).await;
    drop(node);
}

#[tokio::test]
async fn with_the_chain_down_services_stay_enforced_and_the_node_catches_up() {
    let _swarm = SWARM.lock().await;
    harness::clean("cut");
    let state = tempfile::tempdir().expect("tempdir");
    let state_file = state.path().join("anvil.json");
    let port = free_port();
    let anvil = || {
        Anvil::at(anvil_path())
            .port(port)
            .arg("--state")
            .arg(&state_file)
            .args(["--state-interval", "1"])
            .try_spawn()
            .expect("anvil starts")
    };
    let chain = Chain::deploy_on(anvil()).await.expect("a registry");
    harness::set_up(&chain, "cut").await;
    let registry = *chain.registry.address();
    let rpc = chain.anvil.endpoint();
    let dir = tempfile::tempdir().expect("tempdir");
    let node = Node::start(&chain, &rpc, dir.path());
    harness::publish_spec(&chain, "cut/web", &harness::app(1, "a", None)).await;
    node.until("cut_web created", || service("cut_web")).await;

    // anvil stops (its state saved every second).
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    drop(chain);
    node.until("the outage noticed", || node.log().contains("RPC unreachable").then_some(())).await;
    docker(&["service", "scale", "--detach", "cut_web=3"]).expect("scale by hand");
    node.until("drift set back without the chain", || service("cut_web").filter(|s| replicas(s) == 1)).await;
    let (code, ready) = node.get("/readyz");
    assert_eq!((code, &ready["rpc_reachable"]), (200, &serde_json::Value::Bool(false)), "{ready}");

    // anvil comes back with its state: the node catches up with what is published next.
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let chain = Chain::attach(anvil(), registry);
    harness::publish_spec(&chain, "cut/web", &harness::app(2, "b", None)).await;
    node.until("cut_web updated after the outage", || service("cut_web").filter(|s| replicas(s) == 2)).await;
    let log = node.log();
    assert_eq!(log.matches("RPC unreachable").count(), 1, "the outage is logged once:\n{log}");
    assert!(log.contains("RPC reachable again"), "{log}");
    drop(node);
    harness::clean("cut");
}

#[tokio::test]
async fn with_docker_away_the_chain_is_still_followed_and_changes_land_when_it_returns() {
    let site = Site::start("dock").await;
    let mut proxy = DockerProxy::start(&site.dir.path().join("docker.sock"));
    let socket = proxy.path.to_str().expect("utf-8").to_owned();
    let node = Node::start_with(
        &site.chain,
        &site.chain.anvil.endpoint(),
        &site.dir.path().join("node"),
        &["--docker-socket", &socket],
    );
    harness::publish_spec(&site.chain, "dock/web", &harness::app(1, "a", None)).await;
    node.until("dock_web created", || service("dock_web")).await;

    proxy.cut();
    let block = harness::publish_spec(&site.chain, "dock/web", &harness::app(2, "b", None)).await;
    node.until("the outage noticed", || node.log().contains("Docker unreachable").then_some(())).await;
    let (code, ready) = node
        .until("the chain read on while Docker is away", || {
            let (code, ready) = node.get("/readyz");
            (ready["chain_block"].as_u64() >= Some(block)).then_some((code, ready))
        })
        .await;
    assert_eq!((code, &ready["docker_reachable"]), (503, &serde_json::Value::Bool(false)), "{ready}");
    assert_eq!(replicas(&service("dock_web").expect("still running")), 1, "nothing applied without Docker");

    proxy.restore();
    node.until("dock_web updated once Docker is back", || service("dock_web").filter(|s| replicas(s) == 2)).await;
    let log = node.log();
    assert_eq!(log.matches("Docker unreachable").count(), 1, "the outage is logged once:\n{log}");
    assert!(log.contains("Docker reachable again"), "{log}");
    drop(node);
}
