//! Real stacks through the ledger, as a user brings them: a compose file applied with the CLI,
//! its networks and volume created by the node, services that call each other by name, data that
//! outlives a revision, a hand edit set back, and a prune that leaves only the volume. The test
//! image `relay` calls another service by name and serves what it answered (tests/images/relay.sh);
//! services use `endpoint_mode: dnsrr` because this machine has no IPVS: a service's virtual IP
//! does not route here (docs/toolchain.md), while the names resolve to the tasks themselves.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use alloy::primitives::Bytes;
use ledgerops_e2e::{repo_root, test_image};
use serde_json::Value;

use crate::harness::{self, Node, Site, docker, docker_on, free_port, ledgerops, service, succeeded};

/// `ledgerops ARGS` with `vars` in its environment, each handed to the stack file by name
/// (`--var NAME`), as a pipeline hands over what its file interpolates.
fn handed(site: &Site, args: &[&str], vars: &[(&str, &str)]) -> std::process::Output {
    let mut all: Vec<&str> = args.to_vec();
    for (name, _) in vars {
        all.extend(["--var", name]);
    }
    ledgerops(site, &all, vars)
}

/// The voting app's shape: `result` (front) calls `worker` (front and back), which calls `db`
/// (back), which serves a page from its named volume. `result` publishes in host mode.
const VOTING: &str = "
services:
  db:
    image: ${RELAY}
    environment: {NAME: db, SERVE_DIR: /data, REVISION: '${DB_REVISION:-1}'}
    volumes: [db-data:/data]
    networks: [back]
    deploy:
      endpoint_mode: dnsrr
      restart_policy: {condition: on-failure, delay: 1s}
      placement: {constraints: [node.role == manager]}
  worker:
    image: ${RELAY}
    environment: {NAME: worker, UPSTREAM: db}
    networks: [front, back]
    depends_on: [db]
    deploy:
      endpoint_mode: dnsrr
      update_config: {parallelism: 1, order: start-first}
      restart_policy: {condition: any}
  result:
    image: ${RELAY}
    environment: {NAME: result, UPSTREAM: worker}
    networks: [front]
    ports:
      - target: 8080
        published: ${PORT}
        mode: host
    deploy:
      endpoint_mode: dnsrr
networks:
  front: {}
  back: {}
volumes:
  db-data: {}
";

/// The page `host:port` serves, if it answers now (a task may be starting or stopping).
fn page(host: &str, port: u16) -> Option<String> {
    let mut stream = TcpStream::connect((host, port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(3))).ok()?;
    write!(stream, "GET / HTTP/1.0\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    response.split_once("\r\n\r\n").map(|(_, body)| body.trim().to_owned())
}

fn status_of(node: &Node, service: &str) -> Option<Value> {
    let (_, status) = node.get("/status");
    status["services"].as_array()?.iter().find(|s| s["service"] == service).cloned()
}

/// Waits until every one of `services` is at `revision`, synced and healthy.
async fn until_healthy(node: &Node, services: &[&str], revision: u64) {
    for service in services {
        node.until(&format!("{service} revision {revision} healthy"), || {
            let s = status_of(node, service)?;
            (s["desired_revision"] == revision && s["sync"] == "Synced" && s["health"] == "Healthy").then_some(())
        })
        .await;
    }
}

/// The Docker names of the networks a service is attached to.
fn networks_of(name: &str) -> Vec<String> {
    let Some(service) = service(name) else { return Vec::new() };
    let ids: Vec<String> = service["Spec"]["TaskTemplate"]["Networks"]
        .as_array()
        .map(|n| n.iter().filter_map(|a| a["Target"].as_str().map(str::to_owned)).collect())
        .unwrap_or_default();
    let mut names: Vec<String> = ids
        .iter()
        .filter_map(|id| docker(&["network", "inspect", "--format", "{{.Name}}", id]).map(|n| n.trim().to_owned()))
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn a_voting_app_stack_reaches_by_name_keeps_its_data_and_prunes_to_its_volume() {
    let site = Site::start("voting").await;
    let node = site.node();
    let port = free_port();
    let file = site.dir.path().join("voting.yml");
    std::fs::write(&file, VOTING).expect("write");
    let file = file.to_str().expect("utf-8");
    let (relay, port_text) = (test_image("RELAY"), port.to_string());
    let vars = [("RELAY", relay.as_str()), ("PORT", port_text.as_str())];

    // Applied as CI would: interpolated from variables of the environment handed over by name
    // (--var), depends_on ignored as Swarm does.
    let applied = handed(&site, &["apply", "-f", file, "--namespace", "voting"], &vars);
    succeeded(&applied);
    assert!(String::from_utf8_lossy(&applied.stderr).contains("services.worker.depends_on"), "listed as ignored");
    until_healthy(&node, &["voting/db", "voting/worker", "voting/result"], 1).await;
    assert_eq!(networks_of("voting_worker"), ["voting_back", "voting_front"]);
    assert_eq!(networks_of("voting_result"), ["voting_front"]);

    // result -> worker -> db, by name, over two networks; db's page comes from its volume.
    let answer = node
        .until("result answers through worker and db", || {
            page("127.0.0.1", port).filter(|p| p.starts_with("result: worker: db born "))
        })
        .await;

    // A new revision of db restarts it on the same volume: the page it was born with is still there.
    let vars2 = [vars[0], vars[1], ("DB_REVISION", "2")];
    succeeded(&handed(&site, &["apply", "-f", file, "--namespace", "voting"], &vars2));
    until_healthy(&node, &["voting/db"], 2).await;
    node.until("db's data survived revision 2", || page("127.0.0.1", port).filter(|p| *p == answer)).await;

    // By hand, worker leaves the back network: set back at the next resync, journaled as drift.
    docker(&["service", "update", "--detach", "--network-rm", "voting_back", "voting_worker"]).expect("edited");
    node.until("worker back on both networks", || {
        (networks_of("voting_worker") == ["voting_back", "voting_front"]).then_some(())
    })
    .await;
    let drift = node.until("drift journaled", || node.journaled("voting_worker", "drift").pop()).await;
    assert!(drift["detail"].as_str().is_some_and(|d| d.contains("networks")), "{drift}");
    node.until("answers again", || page("127.0.0.1", port).filter(|p| *p == answer)).await;

    // Pruned to result alone: db and worker go, and so does the network only they used; the
    // volume stays (it holds data) and is reported.
    let alone = site.dir.path().join("alone.yml");
    let text =
        VOTING.split("  db:").next().expect("head").to_owned() + &VOTING[VOTING.find("  result:").expect("result")..];
    std::fs::write(&alone, text).expect("write");
    let alone = alone.to_str().expect("utf-8");
    succeeded(&handed(&site, &["apply", "-f", alone, "--namespace", "voting", "--prune"], &vars));
    node.until("db, worker and the back network removed", || {
        (service("voting_db").is_none()
            && service("voting_worker").is_none()
            && docker(&["network", "inspect", "voting_back"]).is_none())
        .then_some(())
    })
    .await;
    let orphaned = node
        .until("the volume reported", || {
            let (_, status) = node.get("/status");
            let volumes = status["node"]["orphaned_volumes"].as_array()?.clone();
            (!volumes.is_empty()).then_some(volumes)
        })
        .await;
    let ours: Vec<_> = orphaned.iter().filter_map(Value::as_str).filter(|v| v.starts_with("voting_")).collect();
    assert_eq!(ours, ["voting_db-data"], "{orphaned:?}");
    assert!(docker(&["volume", "inspect", "voting_db-data"]).is_some(), "never deleted by the node");
    assert!(docker(&["network", "inspect", "voting_front"]).is_some(), "result still uses it");

    succeeded(&handed(&site, &["remove", "voting/result"], &[]));
    node.until("the last network removed with the last service", || {
        (service("voting_result").is_none() && docker(&["network", "inspect", "voting_front"]).is_none()).then_some(())
    })
    .await;
    assert!(!node.log().contains("panicked"), "{}", node.log());
}

/// `GET path` from `host:port`, if it answers now.
fn get(host: &str, port: u16, path: &str) -> Option<String> {
    let mut stream = TcpStream::connect((host, port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(3))).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    // busybox httpd answers HTTP/1.1 to a 1.0 request.
    (head.split_whitespace().nth(1) == Some("200")).then(|| body.trim().to_owned())
}

/// The configs of the engine whose names start with `prefix`.
fn configs(prefix: &str) -> Vec<String> {
    let listed = docker(&["config", "ls", "--format", "{{.Name}}"]).unwrap_or_default();
    let mut names: Vec<String> = listed.lines().filter(|n| n.starts_with(prefix)).map(str::to_owned).collect();
    names.sort();
    names
}

/// A config read from a file goes on chain with its content; the node creates it under a name
/// its content decides, so new content is a new config that rolls the service, and the old one
/// goes once no service uses it.
#[tokio::test]
async fn a_config_from_a_file_rolls_the_service_when_its_content_changes() {
    let site = Site::start("motd").await;
    let node = site.node();
    let port = free_port();
    let dir = site.dir.path();
    std::fs::write(dir.join("motd.txt"), "hello from revision 1\n").expect("write");
    let file = dir.join("motd.yml");
    let stack = "
services:
  web:
    image: ${RELAY}
    environment: {NAME: web, SERVE_DIR: /www}
    configs: [{source: motd, target: /www/motd.txt}]
    ports:
      - target: 8080
        published: ${PORT}
        mode: host
configs:
  motd: {file: ./motd.txt}
";
    std::fs::write(&file, stack).expect("write");
    let (relay, port_text) = (test_image("RELAY"), port.to_string());
    let vars = [("RELAY", relay.as_str()), ("PORT", port_text.as_str())];
    let args = ["apply", "-f", file.to_str().expect("utf-8"), "--namespace", "motd"];
    succeeded(&handed(&site, &args, &vars));
    until_healthy(&node, &["motd/web"], 1).await;
    node.until("the config's content served", || {
        get("127.0.0.1", port, "/motd.txt").filter(|b| b == "hello from revision 1")
    })
    .await;
    let first = configs("motd_");
    assert_eq!(first.len(), 1, "{first:?}");
    assert!(first[0].starts_with("motd_motd-"), "content-addressed: {first:?}");

    std::fs::write(dir.join("motd.txt"), "hello from revision 2\n").expect("write");
    succeeded(&handed(&site, &args, &vars));
    until_healthy(&node, &["motd/web"], 2).await;
    node.until("the new content served", || {
        get("127.0.0.1", port, "/motd.txt").filter(|b| b == "hello from revision 2")
    })
    .await;
    let second = node
        .until("the old config removed", || {
            let now = configs("motd_");
            (now.len() == 1 && now != first).then_some(now)
        })
        .await;
    assert!(second[0].starts_with("motd_motd-"), "{second:?}");
}

/// A service that mounts the host's Docker socket, published straight to the contract as a
/// stolen deployer key could: held while the namespace's policy or the node's --allow refuses it,
/// run once both allow it.
#[tokio::test]
async fn a_docker_socket_mount_runs_only_where_the_namespace_and_the_node_allow_it() {
    let site = Site::start("agents").await;
    let mut agent = harness::app(1, "agent", None);
    agent.body.v = 2;
    agent.body.mounts.push(ledgerops_spec::VolumeMount {
        kind: "bind".into(),
        source: Some("/var/run/docker.sock".into()),
        target: "/var/run/docker.sock".into(),
        read_only: true,
        ..Default::default()
    });
    harness::publish_spec(&site.chain, "agents/agent", &agent).await;
    harness::publish_spec(&site.chain, "agents/web", &harness::app(1, "web", None)).await;

    let refused_by = |node: &Node, who: &'static str| {
        let error = status_of(node, "agents/agent")?["last_error"].as_str()?.to_owned();
        error.contains(&format!("needs permission docker-socket, which {who} does not allow")).then_some(error)
    };
    let node = site.node_with(&site.chain.anvil.endpoint(), &["--allow", "docker-socket"]);
    node.until("web runs", || service("agents_web")).await;
    node.until("held by the namespace's default policy", || refused_by(&node, "the namespace's policy")).await;
    assert!(service("agents_agent").is_none());

    // The admin grants it to the namespace: the same revision is judged again, and runs.
    let allow = Bytes::from_static(br#"{"v":1,"allow":["docker-socket"]}"#);
    let policy = site.chain.registry.setNamespacePolicy("agents".into(), allow);
    policy.send().await.expect("sent").get_receipt().await.expect("mined");
    let created = node.until("created once both allow it", || service("agents_agent")).await;
    let mounts = &created["Spec"]["TaskTemplate"]["ContainerSpec"]["Mounts"];
    assert_eq!(mounts[0]["Source"], "/var/run/docker.sock", "{mounts}");
    drop(node);

    // A node whose operator did not allow it holds it, although the namespace does.
    harness::clean("agents");
    let node = site.node();
    node.until("web runs again", || service("agents_web")).await;
    let error = node.until("held by this node's --allow", || refused_by(&node, "this node's --allow")).await;
    assert!(error.contains("the site's operator adds --allow docker-socket"), "{error}");
    assert!(service("agents_agent").is_none());
}

/// A site whose Swarm has two nodes, a manager and a worker (`scripts/cluster`, each engine in a
/// network namespace of its own at the addresses below).
const CLUSTER: [&str; 2] = ["10.251.0.11", "10.251.0.12"];

/// The sockets of the cluster's manager and worker engines.
fn cluster() -> (String, String) {
    let path = repo_root().join(".ledgerops/cluster.env");
    let text = std::fs::read_to_string(&path).expect(".ledgerops/cluster.env: run scripts/cluster first");
    let socket = |key: &str| {
        text.lines().find_map(|l| l.strip_prefix(key)).map(str::to_owned).expect("the socket is in cluster.env")
    };
    (socket("LEDGEROPS_CLUSTER_MANAGER="), socket("LEDGEROPS_CLUSTER_WORKER="))
}

const GLOBAL: &str = "
services:
  agent:
    image: ${RELAY}
    environment: {NAME: agent, UPSTREAM: hub}
    ports:
      - target: 8080
        published: ${PORT}
        mode: host
    deploy: {mode: global, endpoint_mode: dnsrr}
  hub:
    image: ${RELAY}
    environment: {NAME: hub, SERVE_DIR: /srv}
    deploy:
      endpoint_mode: dnsrr
      placement: {constraints: [node.role == worker]}
";

/// `mode: global` on a site whose Swarm has two nodes: one task on each, each reaching the hub on
/// the worker node by name over the stack's overlay network, and the node attests the rollout.
#[tokio::test]
async fn a_global_service_runs_one_task_on_each_node_of_the_sites_swarm() {
    let (manager, _) = cluster();
    let on = Some(manager.as_str());
    let site = Site::start("globe").await;
    harness::clean_on(on, "globe");
    let node = site.node_with(&site.chain.anvil.endpoint(), &["--docker-socket", &manager]);
    let port = free_port();
    let file = site.dir.path().join("global.yml");
    std::fs::write(&file, GLOBAL).expect("write");
    let (relay, port_text) = (test_image("RELAY"), port.to_string());
    let vars = [("RELAY", relay.as_str()), ("PORT", port_text.as_str())];
    let args = ["apply", "-f", file.to_str().expect("utf-8"), "--namespace", "globe"];
    succeeded(&handed(&site, &args, &vars));
    until_healthy(&node, &["globe/hub", "globe/agent"], 1).await;
    harness::until_attested(&node, &site.chain, "globe/agent", 1).await;

    let tasks = docker_on(
        on,
        &[
            "service",
            "ps",
            "globe_agent",
            "--filter",
            "desired-state=running",
            "--format",
            "{{.Node}} {{.CurrentState}}",
        ],
    )
    .expect("service ps");
    let mut nodes: Vec<&str> =
        tasks.lines().filter(|l| l.contains("Running")).filter_map(|l| l.split_whitespace().next()).collect();
    nodes.sort_unstable();
    assert_eq!(nodes, ["ldg-cl1", "ldg-cl2"], "one task on each node: {tasks}");
    let mut answers = Vec::new();
    for host in CLUSTER {
        let answer = node
            .until(&format!("the agent on {host} reaches the hub"), || {
                page(host, port).filter(|p| p.starts_with("agent: hub born "))
            })
            .await;
        answers.push(answer);
    }
    assert_eq!(answers[0], answers[1], "both reach the one hub");
    drop(node);
    harness::clean_on(on, "globe");
}
