//! `apply -f` and `diff -f` against a real anvil: a stack file published service by service, only
//! what changed, pruning on request, refusals before any transaction, and `--wait`.

mod world;

use std::process::Stdio;

use alloy::providers::Provider;
use serde_json::Value;
use world::{ADMIN, DEPLOYER, IMAGE, NODES, World, code, stderr};

fn stack(web_replicas: u32, with_worker: bool) -> String {
    let mut text = format!(
        "services:\n  web:\n    image: {IMAGE}\n    environment: {{MODE: prod}}\n    ports: ['8080:80']\n    \
         deploy:\n      replicas: {web_replicas}\n      update_config: {{failure_action: rollback, delay: 10s}}\n    \
         x-ledgerops: {{sites: [site-a]}}\n"
    );
    if with_worker {
        text += &format!("  worker:\n    image: {IMAGE}\n    command: run --queue orders\n");
    }
    text
}

impl World {
    fn write(&self, name: &str, text: &str) -> String {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).expect("write");
        path.display().to_string()
    }

    /// `(service, action, revision)` of each entry of an apply/diff document.
    fn actions(doc: &Value) -> Vec<(String, String, u64)> {
        let entries = doc["services"].as_array().expect("services");
        let field = |e: &Value, k: &str| e[k].as_str().unwrap_or_default().to_owned();
        let revision = |e: &Value| e["revision"].as_u64().or_else(|| e["active_revision"].as_u64()).unwrap_or(0);
        entries.iter().map(|e| (field(e, "service"), field(e, "action"), revision(e))).collect()
    }

    async fn head(&self) -> u64 {
        self.chain.registry.provider().get_block_number().await.expect("block number")
    }
}

fn row(service: &str, action: &str, revision: u64) -> (String, String, u64) {
    (service.into(), action.into(), revision)
}

#[tokio::test]
async fn apply_publishes_only_what_changed_and_prunes_on_request() {
    let w = World::new().await;
    w.set_up();
    let file = w.write("stack.yml", &stack(2, true));
    let apply = ["apply", "-f", &file, "--namespace", "prod"];
    let diff = ["diff", "-f", &file, "--namespace", "prod"];

    // Before anything is published, diff says both would be created (exit 1).
    let planned = w.run(DEPLOYER, &[&["--json"], &diff[..]].concat());
    assert_eq!(code(&planned), Some(1), "{}", stderr(&planned));
    let planned: Value = serde_json::from_slice(&planned.stdout).expect("json");
    assert_eq!(World::actions(&planned), [row("prod/web", "create", 0), row("prod/worker", "create", 0)]);

    let applied = w.json(DEPLOYER, &apply);
    assert_eq!(World::actions(&applied), [row("prod/web", "create", 1), row("prod/worker", "create", 1)]);
    let status = w.json(DEPLOYER, &["status", "prod/web"]);
    assert_eq!(status["services"][0]["body"]["args"], Value::Null);
    assert_eq!(status["services"][0]["body"]["update"]["failure_action"], "rollback");
    assert_eq!(status["services"][0]["sites"][0], "site-a");
    let worker = w.json(DEPLOYER, &["status", "prod/worker"]);
    assert_eq!(worker["services"][0]["body"]["args"], serde_json::json!(["run", "--queue", "orders"]));

    // The same file again: no transaction at all, and diff agrees (exit 0).
    let before = w.head().await;
    let again = w.json(DEPLOYER, &apply);
    assert_eq!(World::actions(&again), [row("prod/web", "unchanged", 1), row("prod/worker", "unchanged", 1)]);
    assert!(again["services"].as_array().expect("services").iter().all(|s| s.get("tx").is_none()));
    assert_eq!(w.head().await, before, "no block was mined");
    assert_eq!(code(&w.run(DEPLOYER, &diff)), Some(0));

    // web changes, worker leaves the file: web updated, worker kept until --prune.
    std::fs::write(&file, stack(3, false)).expect("write");
    let text = w.run(DEPLOYER, &diff);
    assert_eq!(code(&text), Some(1));
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("prod/web: update\n  ~ replicas: 2 -> 3"), "{text}");
    assert!(text.contains("prod/worker: not in the file, kept (--prune removes it)"), "{text}");
    let updated = w.json(DEPLOYER, &apply);
    assert_eq!(World::actions(&updated), [row("prod/web", "update", 2), row("prod/worker", "keep", 1)]);
    let pruned = w.json(DEPLOYER, &[&apply[..], &["--prune"]].concat());
    assert_eq!(World::actions(&pruned), [row("prod/web", "unchanged", 2), row("prod/worker", "remove", 0)]);
    let history = w.json(DEPLOYER, &["history", "prod/worker"]);
    assert_eq!(history["history"].as_array().map(Vec::len), Some(2), "published, removed");

    // The file from standard input.
    let mut child = w
        .command(&["--json", "apply", "-f", "-", "--namespace", "prod"])
        .env("LEDGEROPS_PRIVATE_KEY", w.key(DEPLOYER))
        .env("LEDGEROPS_REGISTRY", w.chain.registry.address().to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawns");
    std::io::Write::write_all(&mut child.stdin.take().expect("stdin"), stack(3, false).as_bytes()).expect("piped");
    let out = child.wait_with_output().expect("exits");
    assert_eq!(code(&out), Some(0));
    let doc: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(World::actions(&doc), [row("prod/web", "unchanged", 2)]);
}

#[tokio::test]
async fn a_bad_file_or_a_refused_service_sends_nothing() {
    let w = World::new().await;
    w.set_up();
    let start = w.head().await;

    // Unsupported keys are named and refuse the file; --ignore-unsupported goes on without them.
    let volumes = w.write("volumes.yml", &format!("{}    volumes_from: [db]\n    mem_limit: 64m\n", stack(1, false)));
    let refused = w.run(DEPLOYER, &["apply", "-f", &volumes, "--namespace", "prod"]);
    assert_eq!(code(&refused), Some(2));
    assert!(
        stderr(&refused).contains(
            "  services.web.volumes_from: mount the same volume in both services\n  \
             services.web.mem_limit: use deploy.resources.limits.memory\n"
        ),
        "{}",
        stderr(&refused)
    );
    assert!(stderr(&refused).contains("--ignore-unsupported"), "{}", stderr(&refused));

    // YAML errors carry line and column; values name their key; the spec rules apply.
    let broken = w.write("broken.yml", "services:\n  web:\n    image: x\n   bad: [\n");
    let out = w.run(DEPLOYER, &["apply", "-f", &broken, "--namespace", "prod"]);
    assert_eq!(code(&out), Some(2));
    assert!(stderr(&out).contains("broken.yml: line 4, column 4"), "{}", stderr(&out));
    assert_eq!(
        code(&w.run(DEPLOYER, &["diff", "-f", &broken, "--namespace", "prod"])),
        Some(2),
        "diff: 2 on any error"
    );
    let tagged = w.write("tagged.yml", "services:\n  web:\n    image: nginx:1.27\n");
    let out = w.run(DEPLOYER, &["apply", "-f", &tagged, "--namespace", "prod", "--resolve-image", "never"]);
    assert_eq!(code(&out), Some(2));
    assert!(stderr(&out).contains("services.web: image \"nginx:1.27\" is not pinned by digest"), "{}", stderr(&out));
    let missing = w.run(DEPLOYER, &["apply", "-f", "nowhere.yml", "--namespace", "prod"]);
    assert_eq!(code(&missing), Some(2));
    assert!(stderr(&missing).contains("cannot read nowhere.yml"), "{}", stderr(&missing));

    // A program name longer than Linux runs (one past 64 KiB wedges runc 1.1.5: docs/reliability.md).
    let long_name = format!("services:\n  web:\n    image: {IMAGE}\n    command: [\"{}\"]\n", "x".repeat(5000));
    let out = w.run(DEPLOYER, &["apply", "-f", &w.write("long.yml", &long_name), "--namespace", "prod"]);
    assert_eq!(code(&out), Some(2));
    assert!(stderr(&out).contains("the program's name is 5000 bytes"), "{}", stderr(&out));
    assert!(stderr(&out).contains("PATH_MAX"), "{}", stderr(&out));

    let good = w.write("stack.yml", &stack(1, true));
    let unknown = w.run(DEPLOYER, &["apply", "-f", &good, "--namespace", "staging"]);
    assert_eq!(code(&unknown), Some(2));
    assert!(stderr(&unknown).contains("namespace \"staging\" does not exist"), "{}", stderr(&unknown));

    // 3: a key without the deployer role; the whole file is refused before the first transaction.
    let stranger = w.run(9, &["apply", "-f", &good, "--namespace", "prod"]);
    assert_eq!(code(&stranger), Some(3));
    assert!(stderr(&stranger).contains("prod/web: the registry refused: AccessControlUnauthorizedAccount"));
    let mut down = w.command(&["diff", "-f", &good, "--namespace", "prod", "--rpc-url", "http://127.0.0.1:9"]);
    let down = down.env("LEDGEROPS_REGISTRY", w.chain.registry.address().to_string()).output().expect("runs");
    assert_eq!(code(&down), Some(2), "diff: 2 even when the RPC is down: {}", stderr(&down));
    // 3: the second service is over the namespace's replica ceiling: not even the first is sent.
    w.json(ADMIN, &["namespace", "limits", "prod", "--max-replicas", "5", "--max-spec-bytes", "4096"]);
    let over = format!("{}  big:\n    image: {IMAGE}\n    deploy: {{replicas: 6}}\n", stack(1, false));
    let over = w.write("over.yml", &over);
    let out = w.run(DEPLOYER, &["apply", "-f", &over, "--namespace", "prod"]);
    assert_eq!(code(&out), Some(3));
    assert!(stderr(&out).contains("prod/big: the registry refused: TooManyReplicas"), "{}", stderr(&out));

    let limits_block = start + 1;
    assert_eq!(w.head().await, limits_block, "only the admin's limits transaction was mined");
    assert_eq!(w.json(DEPLOYER, &["status", "prod"])["services"].as_array().map(Vec::len), Some(0));

    let ignored = w.run(DEPLOYER, &["--json", "apply", "-f", &volumes, "--namespace", "prod", "--ignore-unsupported"]);
    assert_eq!(code(&ignored), Some(0), "{}", stderr(&ignored));
    assert!(stderr(&ignored).contains("left out (--ignore-unsupported): services.web.volumes_from"));
    let doc: Value = serde_json::from_slice(&ignored.stdout).expect("json");
    assert_eq!(doc["ignored_keys"], serde_json::json!(["services.web.volumes_from", "services.web.mem_limit"]));
}

#[tokio::test]
async fn apply_wait_returns_when_every_service_converged_and_fails_on_a_failure() {
    let w = World::new().await;
    w.set_up();
    let file = w.write("stack.yml", &stack(1, true));
    let spawn = |args: &[&str]| {
        w.command(&[&["--json"], args].concat())
            .env("LEDGEROPS_PRIVATE_KEY", w.key(DEPLOYER))
            .env("LEDGEROPS_REGISTRY", w.chain.registry.address().to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawns")
    };
    let waiting = spawn(&["apply", "-f", &file, "--namespace", "prod", "--wait", "--timeout", "60s"]);
    // web runs at site-a (two nodes); worker everywhere (three).
    while w.json(DEPLOYER, &["status", "prod"])["services"].as_array().map_or(0, Vec::len) < 2 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    for node in &NODES[..2] {
        w.attest_service(*node, "prod/web", 1, "site-a", 1, "").await;
    }
    for (node, site) in NODES.iter().zip(["site-a", "site-a", "site-b"]) {
        w.attest_service(*node, "prod/worker", 1, site, 1, "").await;
    }
    let out = waiting.wait_with_output().expect("exits");
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    let doc: Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    let nodes: Vec<_> = doc["converged"].as_array().expect("converged").iter().map(|c| c["nodes"].as_u64()).collect();
    assert_eq!(nodes, [Some(2), Some(3)]);

    // A failure on one node of the new web revision fails the wait (5), and the document still
    // says what was published.
    std::fs::write(&file, stack(2, true)).expect("write");
    let waiting = spawn(&["apply", "-f", &file, "--namespace", "prod", "--wait", "--timeout", "60s"]);
    while w.json(DEPLOYER, &["status", "prod/web"])["services"][0]["active_revision"] != 2 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    w.attest_service(NODES[0], "prod/web", 2, "site-a", 2, "healthcheck failed").await;
    let out = waiting.wait_with_output().expect("exits");
    assert_eq!(code(&out), Some(5), "{}", stderr(&out));
    let doc: Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    assert!(doc["error"].as_str().is_some_and(|e| e.contains("reported failed: healthcheck failed")), "{doc}");
    assert_eq!(World::actions(&doc), [row("prod/web", "update", 2), row("prod/worker", "unchanged", 1)]);
}

#[tokio::test]
async fn a_power_over_the_host_or_another_namespaces_secret_needs_the_namespace_policy() {
    let w = World::new().await;
    w.set_up();
    let start = w.head().await;
    let agent = format!(
        "services:\n  agent:\n    image: {IMAGE}\n    volumes: ['/var/run/docker.sock:/var/run/docker.sock:ro']\n    \
         secrets: [tls]\nsecrets:\n  tls:\n    external: true\n    name: shared_tls\n"
    );
    let agent = w.write("agent.yml", &agent);

    // The default policy: refused before anything is sent, with what to ask the admin for.
    let out = w.run(DEPLOYER, &["apply", "-f", &agent, "--namespace", "prod"]);
    assert_eq!(code(&out), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(
            "prod/agent: secrets[0].name needs secret \"shared_tls\" outside the namespace, which the namespace's \
             policy does not allow (name it prod_..., or the admin lists it: ledgerops namespace policy prod \
             --external shared_tls); nothing was sent"
        ),
        "{}",
        stderr(&out)
    );
    let out = w.run(DEPLOYER, &["deploy", "prod/web", "--image", IMAGE, "--secret", "dev_db-password"]);
    assert_eq!(code(&out), Some(2), "deploy checks too: {}", stderr(&out));
    let plan = w.run(DEPLOYER, &["plan", "-f", &agent, "--namespace", "prod"]);
    assert_eq!(code(&plan), Some(2), "plan checks too: {}", stderr(&plan));
    assert!(stderr(&out).contains("prod/web: secrets[0].name needs secret \"dev_db-password\""), "{}", stderr(&out));
    assert_eq!(w.head().await, start, "nothing was mined");

    // Only the admin sets a policy, and only with known words.
    let out = w.run(DEPLOYER, &["namespace", "policy", "prod", "--allow", "docker-socket"]);
    assert_eq!(code(&out), Some(3), "{}", stderr(&out));
    let out = w.run(ADMIN, &["namespace", "policy", "prod", "--allow", "root"]);
    assert_eq!(code(&out), Some(2));
    assert!(stderr(&out).contains("\"root\" is not a permission; one of docker-socket, bind"), "{}", stderr(&out));

    // The external name alone is not enough: the socket is named next.
    w.json(ADMIN, &["namespace", "policy", "prod", "--external", "shared_*"]);
    let out = w.run(DEPLOYER, &["diff", "-f", &agent, "--namespace", "prod"]);
    assert_eq!(code(&out), Some(2));
    assert!(stderr(&out).contains("mounts[0].source needs permission docker-socket"), "{}", stderr(&out));

    let set = w.json(ADMIN, &["namespace", "policy", "prod", "--allow", "docker-socket", "--external", "shared_*"]);
    assert!(
        set["result"]
            .as_str()
            .is_some_and(|m| m.contains(r#"{"v":1,"allow":["docker-socket"],"external":["shared_*"]}"#)),
        "{set}"
    );
    let doc = w.json(DEPLOYER, &["apply", "-f", &agent, "--namespace", "prod"]);
    assert_eq!(World::actions(&doc), [row("prod/agent", "create", 1)]);

    // Back to the default: the file is refused again (nodes hold the service as it runs).
    w.json(ADMIN, &["namespace", "policy", "prod"]);
    let out = w.run(DEPLOYER, &["apply", "-f", &agent, "--namespace", "prod"]);
    assert_eq!(code(&out), Some(2), "{}", stderr(&out));
}

/// The same service as a file and as `deploy`'s flags commits the same spec: `diff` with the
/// flags finds nothing to change after `apply -f`.
#[tokio::test]
async fn a_format_2_service_as_flags_or_as_a_file_commits_the_same_spec() {
    let w = World::new().await;
    w.set_up();
    let file = format!(
        "services:
  web:
    image: {IMAGE}
    networks:
      back: {{aliases: [api]}}
      edge: {{}}
    volumes:
      - data:/data:ro
      - type: tmpfs
        target: /run
        tmpfs: {{size: 64m}}
    hostname: web-host
    user: '1000:1000'
    working_dir: /srv
    stop_signal: SIGQUIT
    stop_grace_period: 90s
    init: true
    read_only: true
    dns: [10.0.0.53]
    dns_search: [edge.local]
    extra_hosts: ['registry.local:10.0.0.5']
    logging: {{driver: json-file, options: {{max-size: 10m}}}}
    ulimits: {{nofile: {{soft: 1024, hard: 2048}}}}
    cap_drop: [MKNOD]
    labels: {{tier: edge}}
    deploy:
      mode: global
      endpoint_mode: dnsrr
      restart_policy: {{condition: on-failure, delay: 5s, max_attempts: 3, window: 2m}}
      rollback_config: {{parallelism: 2, order: start-first}}
      update_config: {{max_failure_ratio: 0.25}}
      resources: {{reservations: {{cpus: '0.25', memory: 64M}}, limits: {{pids: 100}}}}
      placement: {{preferences: [{{spread: node.labels.zone}}], max_replicas_per_node: 1}}
    x-ledgerops: {{sites: [site-a]}}
networks:
  back: {{}}
  edge: {{external: true, name: prod_edge}}
volumes:
  data: {{}}
"
    );
    let file = w.write("web.yml", &file);
    let doc = w.json(DEPLOYER, &["apply", "-f", &file, "--namespace", "prod"]);
    assert_eq!(World::actions(&doc), [row("prod/web", "create", 1)]);

    #[rustfmt::skip]
    let flags = [
        "diff", "prod/web", "--image", IMAGE, "--site", "site-a", "--replicas", "0", "--mode", "global",
        "--network", "back,alias=api", "--network", "prod_edge,external",
        "--mount", "type=volume,source=data,target=/data,readonly", "--mount", "type=tmpfs,target=/run,tmpfs-size=64M",
        "--hostname", "web-host", "--user", "1000:1000", "--workdir", "/srv", "--stop-signal", "SIGQUIT",
        "--stop-grace-period", "1m30s", "--init", "--read-only", "--dns", "10.0.0.53", "--dns-search", "edge.local",
        "--host", "registry.local:10.0.0.5", "--log-driver", "json-file", "--log-opt", "max-size=10m",
        "--ulimit", "nofile=1024:2048", "--cap-drop", "CAP_MKNOD", "--container-label", "tier=edge",
        "--endpoint-mode", "dnsrr", "--restart-condition", "on-failure", "--restart-delay", "5s",
        "--restart-max-attempts", "3", "--restart-window", "2m", "--rollback-parallelism", "2",
        "--rollback-order", "start-first", "--update-max-failure-ratio", "0.25", "--reserve-cpu", "0.25",
        "--reserve-memory", "64M", "--limit-pids", "100", "--placement-pref", "spread=node.labels.zone",
        "--replicas-max-per-node", "1",
    ];
    let same = w.run(DEPLOYER, &flags);
    assert_eq!(code(&same), Some(0), "no change: {}{}", String::from_utf8_lossy(&same.stdout), stderr(&same));
    let mut changed = flags.to_vec();
    let hostname = flags.iter().position(|f| *f == "web-host").expect("hostname");
    changed[hostname] = "other-host";
    let other = w.run(DEPLOYER, &changed);
    assert_eq!(code(&other), Some(1), "{}", stderr(&other));
    assert!(String::from_utf8_lossy(&other.stdout).contains("~ hostname: web-host -> other-host"));
    let bad = w.run(DEPLOYER, &["diff", "prod/web", "--image", IMAGE, "--mount", "type=volume,source=x,tgt=/x"]);
    assert_eq!(code(&bad), Some(2));
    assert!(
        stderr(&bad).contains(r#"--mount "type=volume,source=x,tgt=/x": "tgt" is not a mount option"#),
        "{}",
        stderr(&bad)
    );
}
