//! Images from a private registry at the edge (`scripts/setup` runs one that wants a login; each
//! run pushes an image there that no engine has, so the engine runs it only by pulling). The
//! CLI pins the tag with the deployer's login; the node sends its own login with the service, as
//! `docker service create --with-registry-auth` does, and never takes one from the chain.

use std::time::Duration;

use ledgerops_e2e::private_registry;
use serde_json::Value;

use crate::harness::{self, Site, ledgerops, service, succeeded};

fn status_of(status: &Value, service: &str) -> Option<Value> {
    status["services"].as_array()?.iter().find(|s| s["service"] == service).cloned()
}

#[tokio::test]
async fn a_private_image_is_degraded_with_the_registrys_reason_until_the_node_has_the_login() {
    let site = Site::start("private").await;
    let registry = private_registry();
    // An image no engine has: the engine can only run it by pulling it.
    let pinned = registry.push_fresh_image("node-e2e").await.expect("pushed");
    let image = pinned.rsplit_once('@').map(|(tag, _)| tag).expect("pinned");
    let login = registry.docker_config.as_str();
    let node = site.node();

    // The deployer's login pins the tag; the node has none.
    let deploy = ["deploy", "private/web", "--image", image, "--site", harness::SITE, "--restart-delay", "1s"];
    succeeded(&ledgerops(&site, &deploy, &[("DOCKER_CONFIG", login)]));

    // Degraded, with the registry's words, in /status and the journal, once.
    let reason = node
        .until("the service degraded with the registry's reason", || {
            let entry = status_of(&node.get("/status").1, "private/web")?;
            (entry["health"] == "Degraded").then(|| entry["last_error"].as_str().unwrap_or_default().to_owned())
        })
        .await;
    println!("/status last_error: {reason}");
    assert!(reason.contains(&format!("the registry refused to hand out {pinned}")), "{reason}");
    assert!(reason.contains("no basic auth credentials"), "{reason}");
    tokio::time::sleep(Duration::from_secs(3)).await;
    let failed = node.journaled("private_web", "failed");
    assert_eq!(failed.len(), 1, "journaled once, not once per failed task: {failed:?}");
    assert!(failed[0]["detail"].as_str().is_some_and(|d| d.contains("no basic auth credentials")), "{failed:?}");

    // The operator logs the node in: at the next resync it sends the service again with the
    // login, Swarm pulls, and the revision converges and is attested.
    let config = node.data_dir.join("docker-config");
    std::fs::create_dir_all(&config).expect("docker config dir");
    std::fs::copy(format!("{login}/config.json"), config.join("config.json")).expect("login copied");
    harness::until_attested(&node, &site.chain, "private/web", 1).await;
    assert_eq!(node.journaled("private_web", "pull retried").len(), 1, "{:?}", node.journal());
    let running = service("private_web").expect("the service");
    assert_eq!(running["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"], pinned.as_str(), "tag@digest as published");

    // tag@digest reads back as written: no drift, no further update.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let journal = node.journal();
    let touched: Vec<&Value> =
        journal.iter().filter(|e| e["service"] == "private_web" && e["action"] != "failed").collect();
    assert!(
        touched.iter().all(|e| ["create", "pull retried", "converged"].contains(&e["action"].as_str().unwrap_or(""))),
        "{touched:?}"
    );
}
