//! A Docker engine that takes requests and never answers (what a stuck `runc` or a frozen dockerd
//! looks like from outside): the node says so within its bound (/readyz, /status, the metric, the
//! log), keeps following the chain, stops when asked, and applies what it missed once the engine
//! answers again. The engine is really frozen (SIGSTOP of one of the extra dockerds; its
//! containers keep running under containerd), so the shared one stays up.

use std::process::Command;
use std::time::{Duration, Instant};

use ledgerops_e2e::Chain;
use ledgerops_reconcile::observed::labels;

use serde_json::Value;

use crate::harness::{
    self, DockerProxy, Node, SWARM, Site, clean_on, engine_pid, engines, label, mode, service, service_on,
};

/// The frozen dockerd `edge-<index>`; thawed when dropped, so a failing test leaves it running.
struct Frozen(String);

impl Frozen {
    fn engine(index: usize) -> Self {
        let pid = engine_pid(index);
        let stopped = Command::new("kill").args(["-STOP", &pid]).status().expect("kill runs");
        assert!(stopped.success(), "cannot freeze dockerd {pid}");
        Self(pid)
    }
}

impl Drop for Frozen {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-CONT", &self.0]).status();
    }
}

/// `(desired revision, observed revision, health)` of `service` in /status.
fn revisions(node: &Node, service: &str) -> Option<(u64, u64, String)> {
    let entry = node.service_status(service)?;
    Some((entry["desired_revision"].as_u64()?, entry["observed_revision"].as_u64()?, entry["health"].as_str()?.into()))
}

#[tokio::test]
async fn a_frozen_engine_is_reported_hung_and_what_was_missed_is_applied_when_it_answers() {
    let _swarm = SWARM.lock().await;
    let socket = engines().into_iter().nth(1).expect("scripts/engines started two engines");
    let on = Some(socket.as_str());
    clean_on(on, "hung_");
    let chain = Chain::start().await.expect("anvil and a registry");
    harness::set_up(&chain, "hung").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let flags = ["--docker-socket", socket.as_str(), "--docker-timeout", "2s"];
    let mut node = Node::start_with(&chain, &chain.anvil.endpoint(), dir.path(), &flags);
    harness::publish_spec(&chain, "hung/web", &harness::app(1, "one", None)).await;
    node.until("revision 1 healthy", || revisions(&node, "hung/web").filter(|r| *r == (1, 1, "Healthy".into()))).await;

    let frozen = Frozen::engine(2);
    let froze = Instant::now();
    let published = harness::publish_spec(&chain, "hung/web", &harness::app(1, "two", None)).await;
    let ready = node
        .until("the engine reported hung", || {
            let (code, ready) = node.get("/readyz");
            (code == 503 && ready["docker_hung"] == true).then_some(ready)
        })
        .await;
    let reported = froze.elapsed();
    assert_eq!(ready["docker_reachable"], false, "{ready}");
    let (_, status) = node.get("/status");
    let hung = status["node"]["docker_hung"].as_str().unwrap_or_default().to_owned();
    assert!(hung.contains("did not answer") && hung.contains("within 2s"), "/status says: {status}");
    assert!(node.metric("ledgerops_docker_hung_total") >= 1, "{}", node.get_text("/metrics").1);
    assert!(node.log().contains("the engine may be wedged"), "{}", node.log());
    // The chain is still followed: the block of revision 2 is read while Docker hangs.
    node.until("revision 2's block read with the engine frozen", || {
        let (code, ready) = node.get("/readyz");
        (code == 503 && ready["chain_block"].as_u64() >= Some(published)).then_some(())
    })
    .await;
    let (code, healthz) = node.get("/healthz");
    assert_eq!((code, healthz["status"].as_str()), (200, Some("ok")), "the process serves");
    // A request in flight is bounded: the node stops when asked, the engine still frozen.
    let asked = Instant::now();
    assert_eq!(node.terminate_within(Duration::from_secs(30)), Some(0), "{}", node.log());
    let stopped = asked.elapsed();

    drop(frozen);
    let thawed = Instant::now();
    let node = Node::start_with(&chain, &chain.anvil.endpoint(), dir.path(), &flags);
    node.until("revision 2 healthy once the engine answers", || {
        revisions(&node, "hung/web").filter(|r| *r == (2, 2, "Healthy".into()))
    })
    .await;
    eprintln!(
        "engine hung (--docker-timeout 2s): reported {:.1} s after the freeze ({hung}); node stopped {:.1} s \
         after SIGTERM; revision 2 healthy {:.1} s after the thaw",
        reported.as_secs_f64(),
        stopped.as_secs_f64(),
        thawed.elapsed().as_secs_f64()
    );
    let (code, ready) = node.get("/readyz");
    assert_eq!((code, &ready["docker_hung"]), (200, &Value::Bool(false)), "{ready}");
    let web = service_on(on, "hung_web").expect("the service");
    assert_eq!((mode(&web).as_deref(), label(&web, labels::REVISION).as_deref()), (Some("two"), Some("2")));
    assert_eq!(node.journaled("hung_web", "create").len(), 1, "created once: {:?}", node.journal());
    assert_eq!(node.journaled("hung_web", "update").len(), 1, "updated once: {:?}", node.journal());
    assert!(!node.log().contains("panicked"), "{}", node.log());
    drop(node);
    clean_on(on, "hung_");
}

/// `(health, last error)` of `service` in /status.
fn health_and_error(node: &Node, service: &str) -> Option<(String, String)> {
    let entry = node.service_status(service)?;
    Some((entry["health"].as_str()?.to_owned(), entry["last_error"].as_str().unwrap_or_default().to_owned()))
}

/// One service's requests never answered while the engine answers everything else (a proxy on the
/// node's socket holds each request that names the service, as an engine stuck on it would): that
/// service waits out its backoff with the reason, the others are served, and the node stays ready
/// (the engine answers a ping, so it is not taken for hung).
#[tokio::test]
async fn a_request_that_hangs_costs_only_its_own_service() {
    let site = Site::start("stall").await;
    let proxy = DockerProxy::start(&site.dir.path().join("docker.sock"));
    proxy.stall("stall_slow");
    let socket = proxy.path.to_str().expect("utf-8").to_owned();
    let node = site.node_with(&site.chain.anvil.endpoint(), &["--docker-socket", &socket, "--docker-timeout", "2s"]);
    harness::publish_spec(&site.chain, "stall/slow", &harness::app(1, "slow", None)).await;
    harness::publish_spec(&site.chain, "stall/fast", &harness::app(1, "fast", None)).await;

    let (_, reason) = node
        .until("the slow service's create given up", || {
            health_and_error(&node, "stall/slow").filter(|(_, e)| e.contains("did not answer"))
        })
        .await;
    assert!(reason.contains("`service create` within 2s"), "{reason}");
    node.until("the other service healthy meanwhile", || {
        health_and_error(&node, "stall/fast").filter(|(h, _)| h == "Healthy")
    })
    .await;
    let (code, ready) = node.get("/readyz");
    assert_eq!((code, &ready["docker_hung"]), (200, &Value::Bool(false)), "the engine answers: {ready}");
    assert!(node.metric("ledgerops_docker_hung_total") >= 1, "{}", node.get_text("/metrics").1);
    assert!(service("stall_slow").is_none(), "not created while its requests hang");

    proxy.unstall();
    node.until("the slow service created once its requests are answered", || {
        health_and_error(&node, "stall/slow").filter(|(h, _)| h == "Healthy")
    })
    .await;
    assert_eq!(node.journaled("stall_fast", "create").len(), 1, "{:?}", node.journal());
    drop(node);
}
