//! Two registries on one chain, one Swarm, a node of each (a test registry beside the real one,
//! or a registry's successor): service ids and Swarm names are the same in every registry, so
//! only the registry label on each object tells them apart. Each node leaves the other's service,
//! network and config alone and reports them; a service of the same name is held, not taken.
//! Then an object of an earlier version (no registry label) is no one's until the operator's
//! `ledgerops-node adopt` takes it over, once.

use std::process::Command;
use std::time::Duration;

use ledgerops_spec::{Mount, Network, Spec};
use serde_json::Value;

use crate::harness::{self, Node, SITE, Site, docker, service};

/// anvil's account that runs the second registry's node.
const OTHER_NODE: usize = 2;
/// anvil's account that deploys and runs the second registry (its own deployer).
const OTHER_ADMIN: usize = 3;

/// The test app with a network and a config of its stack.
fn stack_app(mode: &str) -> Spec {
    let mut spec = harness::app(1, mode, None);
    spec.body.v = 2;
    spec.body.networks.push(Network { name: "back".into(), ..Network::default() });
    spec.body.configs.push(Mount { name: "motd".into(), content: Some(format!("{mode}\n")), ..Mount::default() });
    spec
}

fn version(name: &str) -> Option<u64> {
    service(name)?["Version"]["Index"].as_u64()
}

fn foreign(node: &Node) -> Vec<String> {
    let list = node.get("/status").1["node"]["foreign"].clone();
    list.as_array().map(|l| l.iter().filter_map(Value::as_str).map(str::to_owned).collect()).unwrap_or_default()
}

#[tokio::test]
async fn nodes_of_two_registries_on_one_swarm_leave_each_others_objects_alone() {
    let site = Site::start("regs").await;
    harness::clean("regsb");
    let other = site.chain.deploy_another(OTHER_ADMIN).await.expect("a second registry");
    for namespace in ["regs", "regsb"] {
        other.createNamespace(namespace.into()).send().await.expect("sent").get_receipt().await.expect("mined");
        let grant = other.grantDeployer(namespace.into(), site.chain.account(OTHER_ADMIN));
        grant.send().await.expect("sent").get_receipt().await.expect("mined");
    }
    let add = other.addNode(site.chain.account(OTHER_NODE), SITE.into());
    add.send().await.expect("sent").get_receipt().await.expect("mined");
    let publish_other = |service: &'static str, spec: Spec| {
        let other = other.clone();
        async move {
            let (namespace, name) = service.split_once('/').expect("namespace/name");
            let call = other.publish(namespace.into(), name.into(), spec.to_onchain().expect("valid"));
            call.send().await.expect("sent").get_receipt().await.expect("mined");
        }
    };
    harness::publish_spec(&site.chain, "regs/web", &stack_app("first")).await;
    publish_other("regsb/web", stack_app("second")).await;
    // The same service in the second registry: the same id, the same Swarm name.
    publish_other("regs/web", stack_app("impostor")).await;

    // The site's node runs; then a node of the other registry is started beside it.
    let first = site.node();
    first.until("the first registry's service runs", || service("regs_web")).await;
    let other_dir = tempfile::tempdir().expect("tempdir");
    let second =
        Node::start_for(&site.chain, *other.address(), OTHER_NODE, &site.chain.anvil.endpoint(), other_dir.path(), &[]);
    second.until("the second registry's service runs", || service("regsb_web")).await;
    assert_eq!(harness::mode(&service("regs_web").expect("runs")).as_deref(), Some("first"), "not the impostor");
    let held = second
        .until("the second node holds its regs/web, whose name the first registry's service has", || {
            second.service_status("regs/web")?["last_error"].as_str().map(str::to_owned)
        })
        .await;
    let first_registry = format!("31337/{}", alloy::hex::encode_prefixed(site.chain.registry.address()));
    assert!(held.contains(&format!("the Swarm service regs_web belongs to registry {first_registry}")), "{held}");

    // Resyncs later, nothing of either was touched by the other's node.
    let before = (version("regs_web"), version("regsb_web"));
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!((version("regs_web"), version("regsb_web")), before, "neither updated by the other's node");
    let other_registry = format!("31337/{}", alloy::hex::encode_prefixed(other.address()));
    let seen = foreign(&first);
    for kind in ["service regsb_web", "network regsb_back"] {
        assert!(seen.contains(&format!("{kind} belongs to registry {other_registry}")), "{kind}: {seen:?}");
    }
    assert!(seen.iter().any(|f| f.starts_with("config regsb_motd-")), "{seen:?}");
    let seen = foreign(&second);
    assert!(seen.contains(&format!("service regs_web belongs to registry {first_registry}")), "{seen:?}");
    assert_eq!(first.metric("ledgerops_foreign_objects"), 3, "the other registry's service, network, config");
    for name in ["regsb_back", "regs_back"] {
        assert!(docker(&["network", "inspect", name]).is_some(), "{name} still there");
    }
    assert!(first.journal().iter().all(|e| !e["service"].as_str().unwrap_or_default().starts_with("regsb")));

    // Made by an earlier version: the first registry's service loses its registry label (as
    // before this change), and a network of its namespace is made without one.
    drop(second);
    docker(&["service", "update", "--detach", "--label-rm", "ledgerops.registry", "regs_web"]).expect("unlabelled");
    let legacy = ["--label", "ledgerops.managed-by=ledgerops", "--label", "ledgerops.namespace=regs"];
    docker(&[&["network", "create", "--driver", "overlay"][..], &legacy, &["regs_legacy"]].concat()).expect("made");
    let held = first
        .until("no one's until adopted: held, not updated or pruned", || {
            let error = first.service_status("regs/web")?["last_error"].as_str()?.to_owned();
            error.contains("carries no registry label").then_some(error)
        })
        .await;
    assert!(held.contains("`ledgerops-node adopt` takes it over"), "{held}");
    let unlabelled = version("regs_web");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(version("regs_web"), unlabelled, "left alone");
    assert!(docker(&["network", "inspect", "regs_legacy"]).is_some(), "left alone");

    let adopt = |extra: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_ledgerops-node"))
            .args(["adopt", "--data-dir"])
            .arg(&first.data_dir)
            .args(extra)
            .output()
            .expect("adopt runs");
        assert!(out.status.success(), "adopt: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let listed = adopt(&["--dry-run"]);
    assert!(listed.contains("would adopt service regs_web") && listed.contains("would adopt network regs_legacy"));
    assert!(!listed.contains("regsb"), "the other registry's objects carry their label: {listed}");
    let adopted = adopt(&[]);
    assert!(adopted.contains(&format!("adopted service regs_web for registry {first_registry}")), "{adopted}");
    assert_eq!(service("regs_web").expect("kept")["Spec"]["Labels"]["ledgerops.registry"], first_registry.as_str());
    first
        .until("the adopted network, which no service of the namespace joins, is pruned as the node's", || {
            docker(&["network", "inspect", "regs_legacy"]).is_none().then_some(())
        })
        .await;
    first
        .until("the service is the node's again", || {
            let entry = first.service_status("regs/web")?;
            (entry["last_error"].is_null() && entry["health"] == "Healthy").then_some(())
        })
        .await;
    assert_eq!(first.journaled("regs_web", "create").len(), 1, "taken over, not created again");
    assert_eq!(adopt(&[]).trim(), "nothing to adopt: every managed object on this engine carries its registry");
    harness::clean("regsb");
    drop(first);
}
