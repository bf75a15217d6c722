//! Two node instances with the same `--lease` against one Swarm (what a failover of the node's
//! own Swarm service, or the package on two managers, makes): one acts, the other stands by and
//! says so; a holder killed with -9 is replaced once its lease expires, a holder stopped gives the
//! lease up at once; every revision is applied once, by whoever holds the lease.

use std::time::{Duration, Instant};

use ledgerops_e2e::Chain;
use ledgerops_reconcile::observed::labels;
use serde_json::Value;

use crate::harness::{self, Node, SWARM, clean, label, mode, service};

/// The lease of this test; its Swarm service is `ledgerops-lease-e2e-lease`.
const LEASE: &str = "e2e-lease";

fn start(chain: &Chain, dir: &std::path::Path) -> Node {
    Node::start_with(chain, &chain.anvil.endpoint(), dir, &["--lease", LEASE, "--lease-duration", "6s"])
}

/// `(ready, standby, lease holder)` from /readyz and /status, once the node has read the lease.
fn standing(node: &Node) -> Option<(bool, bool, String)> {
    let (_, ready) = node.get("/readyz");
    let (_, status) = node.get("/status");
    let holder = status["node"]["lease_holder"].as_str()?.to_owned();
    Some((ready["ready"].as_bool()?, ready["standby"].as_bool()?, holder))
}

async fn until_acting(node: &Node) -> String {
    node.until("this instance acts", || standing(node).filter(|(ready, standby, _)| *ready && !standby)).await.2
}

async fn until_standby(node: &Node, holder: &str) {
    node.until("this instance stands by", || {
        standing(node).filter(|(ready, standby, h)| !ready && *standby && h == holder)
    })
    .await;
}

fn actions(node: &Node) -> Vec<String> {
    node.journal()
        .iter()
        .filter(|e| e["service"] == "lease_web")
        .map(|e| format!("{} {}", e["action"].as_str().unwrap_or("?"), e["revision"]))
        .collect()
}

fn revision_running() -> Option<(String, String)> {
    let web: Value = service("lease_web")?;
    Some((label(&web, labels::REVISION)?, mode(&web)?))
}

#[tokio::test]
async fn one_instance_acts_and_another_takes_over_when_it_dies_or_stops() {
    // Nodes prune what their registry does not place: one test's nodes on the shared Swarm at a time.
    let _swarm = SWARM.lock().await;
    clean("lease_");
    ledgerops_e2e::remove_swarm_services(None, &format!("ledgerops-lease-{LEASE}"));
    let chain = Chain::start().await.expect("anvil and a registry");
    harness::set_up(&chain, "lease").await;
    let (dir_a, dir_b) = (tempfile::tempdir().expect("tempdir"), tempfile::tempdir().expect("tempdir"));

    let mut a = start(&chain, dir_a.path());
    let holder_a = until_acting(&a).await;
    let mut b = start(&chain, dir_b.path());
    until_standby(&b, &holder_a).await;
    assert_eq!(b.metric("ledgerops_lease_held"), 0);
    assert_eq!(a.metric("ledgerops_lease_held"), 1);

    harness::publish_spec(&chain, "lease/web", &harness::app(1, "one", None)).await;
    a.until("revision 1 created", || revision_running().filter(|r| r.0 == "1")).await;

    // The holder dies without a word: the standby waits out the lease, then acts.
    a.kill();
    let killed = Instant::now();
    let holder_b = until_acting(&b).await;
    let took_over = killed.elapsed();
    assert_ne!(holder_b, holder_a);
    harness::publish_spec(&chain, "lease/web", &harness::app(1, "two", None)).await;
    b.until("revision 2 applied by the new holder", || revision_running().filter(|r| *r == ("2".into(), "two".into())))
        .await;

    // The first instance comes back: it stands by. The holder stops: it gives the lease up.
    let a = start(&chain, dir_a.path());
    until_standby(&a, &holder_b).await;
    let asked = Instant::now();
    assert_eq!(b.terminate_within(Duration::from_secs(30)), Some(0), "{}", b.log());
    until_acting(&a).await;
    let handed_over = asked.elapsed();
    assert!(b.log().contains("lease given up"), "{}", b.log());
    harness::publish_spec(&chain, "lease/web", &harness::app(1, "three", None)).await;
    a.until("revision 3 applied", || revision_running().filter(|r| *r == ("3".into(), "three".into()))).await;

    let (journal_a, journal_b) = (actions(&a), actions(&b));
    eprintln!(
        "lease (6s): taken over {:.1} s after the holder was killed, {:.1} s after it was stopped; \
         journal of the first instance {journal_a:?}, of the second {journal_b:?}",
        took_over.as_secs_f64(),
        handed_over.as_secs_f64()
    );
    let all: Vec<&String> = journal_a.iter().chain(&journal_b).collect();
    assert_eq!(all.iter().filter(|a| a.starts_with("create ")).count(), 1, "created once: {all:?}");
    let applied_by_b: Vec<&String> =
        journal_b.iter().filter(|a| a.starts_with("create ") || a.starts_with("update ")).collect();
    assert_eq!(applied_by_b, ["update 2"], "the second instance applied revision 2 only: {journal_b:?}");
    assert!(journal_a.contains(&"update 3".to_owned()), "{journal_a:?}");
    drop(a);
    clean("lease_");
    ledgerops_e2e::remove_swarm_services(None, &format!("ledgerops-lease-{LEASE}"));
}
