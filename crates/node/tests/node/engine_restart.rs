//! The Docker engine restarted in the middle of a rolling update (as a package upgrade or a crash
//! of dockerd would): the node rides out the outage and the update ends converged, attested, with
//! nothing created twice. It runs on one of the extra engines so the shared one stays up.

use std::process::Command;
use std::time::{Duration, Instant};

use ledgerops_e2e::{Chain, repo_root};
use ledgerops_reconcile::observed::labels;
use ledgerops_spec::{Spec, UpdatePolicy};

use crate::harness::{self, Node, SWARM, clean_on, docker_on, engine_pid, engines, label, mode, service_on};

/// Two replicas updated one at a time, 3 s apart: the update lasts long enough to be cut.
fn slow_update(mode: &str) -> Spec {
    let mut spec = harness::app(2, mode, None);
    spec.body.update = Some(UpdatePolicy {
        parallelism: Some(1),
        delay: Some("3s".into()),
        monitor: Some("1s".into()),
        ..Default::default()
    });
    spec
}

/// Stops the engine `edge-<index>` (SIGTERM, as systemd would) and waits until it has exited.
fn stop_engine(index: usize) {
    let pid = engine_pid(index);
    Command::new("kill").args(["-TERM", &pid]).status().expect("kill runs");
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::path::Path::new(&format!("/proc/{pid}")).exists() {
        assert!(Instant::now() < deadline, "dockerd edge-{index} did not stop");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Starts the extra engines again, as `scripts/test` does (the swarm and services are kept in
/// the engine's data root).
fn start_engines() {
    let status = Command::new(repo_root().join("scripts/engines")).arg("2").status().expect("scripts/engines runs");
    assert!(status.success(), "scripts/engines could not restart the engine");
}

fn health_of(node: &Node, service: &str) -> Option<(u64, String)> {
    let entry = node.service_status(service)?;
    Some((entry["observed_revision"].as_u64()?, entry["health"].as_str()?.to_owned()))
}

#[tokio::test]
async fn an_update_cut_by_a_dockerd_restart_ends_converged() {
    let _swarm = SWARM.lock().await;
    let socket = engines().into_iter().nth(1).expect("scripts/engines started two engines");
    let on = Some(socket.as_str());
    clean_on(on, "restart_");
    let chain = Chain::start().await.expect("anvil and a registry");
    harness::set_up(&chain, "restart").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let node = Node::start_with(&chain, &chain.anvil.endpoint(), dir.path(), &["--docker-socket", &socket]);

    harness::publish_spec(&chain, "restart/web", &slow_update("one")).await;
    node.until("revision 1 healthy", || health_of(&node, "restart/web").filter(|h| *h == (1, "Healthy".into()))).await;

    harness::publish_spec(&chain, "restart/web", &slow_update("two")).await;
    node.until("the update to revision 2 under way", || {
        let web = service_on(on, "restart_web")?;
        (label(&web, labels::REVISION).as_deref() == Some("2")).then_some(())
    })
    .await;
    stop_engine(2);
    node.until("the outage seen", || {
        let (code, ready) = node.get("/readyz");
        (code == 503 && ready["docker_reachable"] == false).then_some(())
    })
    .await;
    start_engines();
    let restarted = Instant::now();

    node.until("revision 2 healthy after the restart", || {
        health_of(&node, "restart/web").filter(|h| *h == (2, "Healthy".into()))
    })
    .await;
    let actions: Vec<_> = node.journal().iter().map(|e| format!("{} {}", e["action"], e["result"])).collect();
    eprintln!(
        "engine restart: revision 2 healthy {:.1} s after the engine answered again; journal: {actions:?}",
        restarted.elapsed().as_secs_f64()
    );
    let web = service_on(on, "restart_web").expect("the service survived the restart");
    assert_eq!(mode(&web).as_deref(), Some("two"));
    let running = docker_on(
        on,
        &["service", "ps", "restart_web", "--filter", "desired-state=running", "--format", "{{.CurrentState}}"],
    )
    .unwrap_or_default();
    assert_eq!(running.lines().filter(|l| l.starts_with("Running")).count(), 2, "{running}");
    assert_eq!(node.journaled("restart_web", "create").len(), 1, "created once: {:?}", node.journal());
    let (code, ready) = node.get("/readyz");
    assert_eq!(code, 200, "{ready}");
    assert!(!node.log().contains("panicked"), "{}", node.log());
    drop(node);
    clean_on(on, "restart_");
}
