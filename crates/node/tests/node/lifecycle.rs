//! A service's life as the registry tells it: published, updated, changed by hand, removed;
//! a service the node does not own; a spec that cannot run here and one that is invalid.

use alloy::primitives::{Bytes, keccak256};
use ledgerops_bindings::IDeploymentRegistry::ServiceSpec;
use ledgerops_e2e::test_image;
use ledgerops_reconcile::observed::labels;

use crate::harness::{self, Site, docker, label, mode, replicas, service};

#[tokio::test]
async fn publish_update_drift_and_removal_reach_the_swarm_and_others_are_left_alone() {
    let site = Site::start("life").await;
    let unmanaged = "life-unmanaged";
    docker(&["service", "create", "--detach", "--name", unmanaged, "--replicas", "0", &test_image("TESTAPP")])
        .expect("an unmanaged service");
    let untouched_version = service(unmanaged).expect("inspect")["Version"]["Index"].clone();

    let node = site.node_with(&site.chain.anvil.ws_endpoint(), &[]);

    // Published: created with the image, replicas, env, port and ownership labels.
    harness::publish_spec(&site.chain, "life/web", &harness::app(2, "a", Some(28_101))).await;
    let web = node.until("life_web created", || service("life_web")).await;
    assert_eq!(web["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"], test_image("TESTAPP"));
    assert_eq!(replicas(&web), 2);
    assert_eq!(mode(&web).as_deref(), Some("a"));
    assert_eq!(web["Spec"]["EndpointSpec"]["Ports"][0]["PublishedPort"], 28_101);
    assert_eq!(label(&web, labels::MANAGED_BY).as_deref(), Some(labels::MANAGER));
    assert_eq!(label(&web, labels::SERVICE_ID), Some(keccak256("life/web").to_string()));
    assert_eq!(label(&web, labels::REVISION).as_deref(), Some("1"));

    // A new revision: updated.
    harness::publish_spec(&site.chain, "life/web", &harness::app(1, "b", Some(28_101))).await;
    let web = node
        .until("life_web at revision 2", || {
            service("life_web").filter(|s| label(s, labels::REVISION).as_deref() == Some("2"))
        })
        .await;
    assert_eq!((replicas(&web), mode(&web).as_deref()), (1, Some("b")));

    // Changed by hand: set back at the next resync, and journaled as drift.
    docker(&["service", "scale", "--detach", "life_web=3"]).expect("scale by hand");
    node.until("life_web scaled back to 1", || service("life_web").filter(|s| replicas(s) == 1)).await;
    assert!(!node.journaled("life_web", "drift").is_empty(), "{:?}", node.journal());

    // Deleted by hand: created again, at the revision the registry has.
    docker(&["service", "rm", "life_web"]).expect("remove by hand");
    let web = node.until("life_web created again", || service("life_web")).await;
    assert_eq!(label(&web, labels::REVISION).as_deref(), Some("2"));

    // A secret this node lacks: that service is reported, the others go on.
    let broken = harness::with_secret(harness::app(1, "c", None), "life_missing-secret");
    harness::publish_spec(&site.chain, "life/needs-secret", &broken).await;
    // A spec that breaks the rules, published straight to the contract (as a stolen deployer
    // key could): held with the reason, never applied, never a crash.
    let hostile = ServiceSpec {
        image: test_image("TESTAPP"),
        replicas: 1,
        sites: vec![],
        body: Bytes::from_static(br#"{"v":1,"ports":[{"target":0}]}"#),
    };
    harness::publish(&site.chain, "life/hostile", hostile).await;
    harness::publish_spec(&site.chain, "life/api", &harness::app(1, "d", None)).await;
    node.until("life_api created after the broken ones", || service("life_api")).await;
    let failed =
        node.until("the missing secret journaled", || node.journaled("life_needs-secret", "create").pop()).await;
    assert_eq!(failed["result"], "error");
    assert!(failed["detail"].as_str().is_some_and(|d| d.contains("life_missing-secret")), "{failed}");
    let held = node.until("the invalid spec held", || node.journaled("life_hostile", "held").pop()).await;
    assert!(held["detail"].as_str().is_some_and(|d| d.contains("ports[0]")), "{held}");
    assert!(service("life_needs-secret").is_none() && service("life_hostile").is_none());

    // Removed from the registry: pruned.
    harness::remove(&site.chain, "life/web").await;
    node.until("life_web pruned", || service("life_web").is_none().then_some(())).await;

    // Never read or touched: the unmanaged service.
    assert_eq!(service(unmanaged).expect("still there")["Version"]["Index"], untouched_version);
    let actions: Vec<String> = node
        .journal()
        .iter()
        .filter(|e| e["service"] == "life_web" && e["action"] != "converged")
        .map(|e| e["action"].as_str().unwrap_or_default().to_owned())
        .collect();
    // The second create is the one after the deletion by hand.
    assert_eq!(actions, ["create", "update", "drift", "create", "remove"]);
    let (code, ready) = node.get("/readyz");
    assert_eq!(code, 200, "{ready}");
    assert_eq!(ready["docker_reachable"], true);
    drop(node);
}
