//! Images from a private registry at the edge (`scripts/setup` runs one that wants a login; each
//! run pushes an image there that no engine has, so the engine runs it only by pulling). The
//! CLI pins the tag with the deployer's login; the node sends its own login with the service, as
//! `docker service create --with-registry-auth` does, and never takes one from the chain, and
//! only for a namespace whose policy lists the registry; a namespace that does not list a
//! registry others list cannot run its images, even one the node holds already.

use std::time::Duration;

use ledgerops_e2e::private_registry;
use serde_json::Value;

use crate::harness::{self, Node, Site, ledgerops, service, succeeded};

fn status_of(status: &Value, service: &str) -> Option<Value> {
    status["services"].as_array()?.iter().find(|s| s["service"] == service).cloned()
}

/// The admin lets `namespace`'s images come from `registry` (nodes send it their login).
fn list_registry(site: &Site, namespace: &str, registry: &str) {
    succeeded(&ledgerops(site, &["namespace", "policy", namespace, "--image-registry", registry], &[]));
}

/// The node logs in to the private registry, as its operator would (`docker login`).
fn log_in(node: &Node, login: &str) {
    let config = node.data_dir.join("docker-config");
    std::fs::create_dir_all(&config).expect("docker config dir");
    std::fs::copy(format!("{login}/config.json"), config.join("config.json")).expect("login copied");
}

/// The running tasks of a Swarm service, as `docker service ls` counts them.
fn running(name: &str) -> Option<String> {
    let listed = harness::docker(&["service", "ls", "--filter", &format!("name={name}"), "--format", "{{.Replicas}}"])?;
    Some(listed.trim().to_owned())
}

#[tokio::test]
async fn a_private_image_is_degraded_with_the_registrys_reason_until_the_node_has_the_login() {
    let site = Site::start("private").await;
    let registry = private_registry();
    // An image no engine has: the engine can only run it by pulling it.
    let pinned = registry.push_fresh_image("node-e2e").await.expect("pushed");
    let image = pinned.rsplit_once('@').map(|(tag, _)| tag).expect("pinned");
    let login = registry.docker_config.as_str();
    list_registry(&site, "private", &registry.host);
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
    log_in(&node, login);
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

    // Another namespace publishes the same image by digest, which the engine now holds and would
    // run without asking the registry: its policy does not list the registry `private`'s does.
    // (Through the CLI, which signs as the admin too: the harness's provider keeps its own nonces.)
    succeeded(&ledgerops(&site, &["namespace", "create", "privdev"], &[]));
    succeeded(&ledgerops(&site, &["deployer", "grant", "privdev", &site.chain.account(0).to_string()], &[]));
    let deploy = ["deploy", "privdev/web", "--image", &pinned, "--site", harness::SITE];
    succeeded(&ledgerops(&site, &deploy, &[]));
    let refused = node
        .until("privdev/web held", || node.service_status("privdev/web")?["last_error"].as_str().map(str::to_owned))
        .await;
    assert!(refused.contains(&format!("comes from registry {}, which other namespaces' policies list", registry.host)));
    assert!(refused.contains(&format!("ledgerops namespace policy privdev --image-registry {}", registry.host)));
    assert!(service("privdev_web").is_none(), "nothing created");
    harness::clean("privdev");
}

/// The node holds a login for the registry, but the namespace's policy lists no registry: the
/// node sends no credentials, and the failure says why; once the admin lists the registry, the
/// node sends the service again with its login, and it runs.
#[tokio::test]
async fn the_node_sends_its_login_only_for_a_namespace_whose_policy_lists_the_registry() {
    let site = Site::start("unlisted").await;
    let registry = private_registry();
    let pinned = registry.push_fresh_image("node-e2e-unlisted").await.expect("pushed");
    let node = site.node();
    log_in(&node, &registry.docker_config);
    let deploy = ["deploy", "unlisted/web", "--image", &pinned, "--site", harness::SITE, "--restart-delay", "1s"];
    succeeded(&ledgerops(&site, &deploy, &[]));
    let reason = node
        .until("degraded, saying why the login was not sent", || {
            let entry = node.service_status("unlisted/web")?;
            (entry["health"] == "Degraded").then(|| entry["last_error"].as_str().unwrap_or_default().to_owned())
        })
        .await;
    let hint = format!(
        "this node holds credentials for {host} and sends them only for namespaces whose policy lists it: \
         ledgerops namespace policy unlisted --image-registry {host}",
        host = registry.host
    );
    assert!(reason.contains(&hint), "{reason}");
    let sent = service("unlisted_web").expect("created");
    assert_eq!(sent["Spec"]["Labels"]["ledgerops.pull-credentials"], Value::Null, "sent without the login");

    list_registry(&site, "unlisted", &registry.host);
    node.until("sent again with the login, and running", || running("unlisted_web").filter(|r| r == "1/1")).await;
    let sent = service("unlisted_web").expect("runs");
    assert_eq!(sent["Spec"]["Labels"]["ledgerops.pull-credentials"], "true");
    let drift = node.journaled("unlisted_web", "drift");
    assert!(drift.iter().any(|e| e["detail"].as_str().is_some_and(|d| d.contains("pull_credentials"))), "{drift:?}");
}
