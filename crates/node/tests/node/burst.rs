//! A burst: 1,000 revisions of one service and 200 new services published as fast as anvil takes
//! them. The node converges to the final state and its Docker calls follow its passes, not the
//! number of revisions: each service is created once and the busy one is updated far fewer times
//! than it was published. The counts are printed (docs/reliability.md quotes them).

use std::time::Instant;

use alloy::providers::PendingTransactionBuilder;
use ledgerops_reconcile::observed::labels;

use crate::harness::{self, DockerProxy, Site, docker, label, mode, service};

const REVISIONS: u32 = 1_000;
const SERVICES: u32 = 200;

#[tokio::test]
async fn a_burst_of_1000_revisions_and_200_services_converges_with_bounded_docker_calls() {
    let site = Site::start("burst").await;
    let proxy = DockerProxy::start(&site.dir.path().join("docker.sock"));
    let socket = proxy.path.to_string_lossy().into_owned();
    let node = site.node_with(&site.chain.anvil.endpoint(), &["--docker-socket", &socket]);
    node.until("the node ready", || (node.get("/readyz").0 == 200).then_some(())).await;
    proxy.reset();

    // Sent back to back; receipts are awaited only at the end. The 200 services run no tasks
    // (replicas 0): 200 containers do not fit next to the other tests on 2 cores, and the calls
    // counted are the same.
    let started = Instant::now();
    let mut last: Option<PendingTransactionBuilder<_>> = None;
    for i in 1..=REVISIONS {
        let spec = harness::app(1, &format!("rev-{i}"), None).to_onchain().expect("a valid spec");
        last = Some(site.chain.registry.publish("burst".into(), "busy".into(), spec).send().await.expect("sent"));
        if i % (REVISIONS / SERVICES) == 0 {
            let spec = harness::app(0, "many", None).to_onchain().expect("a valid spec");
            let name = format!("s{}", i / (REVISIONS / SERVICES));
            last = Some(site.chain.registry.publish("burst".into(), name, spec).send().await.expect("sent"));
        }
    }
    let receipt = last.expect("sent").get_receipt().await.expect("mined");
    assert!(receipt.status());
    let published = started.elapsed();

    let busy = node
        .until("burst_busy at the last revision", || {
            service("burst_busy").filter(|s| label(s, labels::REVISION) == Some(REVISIONS.to_string()))
        })
        .await;
    assert_eq!(mode(&busy), Some(format!("rev-{REVISIONS}")));
    node.until("all 200 services created", || {
        let names = docker(&["service", "ls", "--filter", "name=burst_s", "--format", "{{.Name}}"])?;
        (names.lines().count() == SERVICES as usize).then_some(())
    })
    .await;
    let converged = started.elapsed();
    let calls = proxy.requests();
    let count = |key: &str| calls.iter().filter(|(k, _)| k.starts_with(key)).map(|(_, n)| n).sum::<u64>();
    let (creates, updates) =
        (count("POST /services/create"), count("POST /services/") - count("POST /services/create"));
    eprintln!(
        "burst: {} transactions published in {:.1} s; converged {:.1} s after the first; Docker requests: {} \
         ({creates} creates, {updates} updates); by kind: {calls:?}",
        REVISIONS + SERVICES,
        published.as_secs_f64(),
        converged.as_secs_f64(),
        proxy.request_count(),
    );
    assert_eq!(creates, u64::from(SERVICES) + 1, "each service created once: {calls:?}");
    // At most one update per reconcile pass (a pass applies the newest revision it knows), and
    // passes come every poll interval: a fifth of the revisions is far above any run seen.
    assert!(updates < u64::from(REVISIONS) / 5, "far fewer updates than revisions: {calls:?}");
    assert_eq!(node.journaled("burst_busy", "create").len(), 1, "{:?}", node.journal());
    drop(node);
}
