//! Compose files as users write them, read into the specs the CLI publishes.

use ledgerops_compose::{ComposeError, ComposeFile, Options, parse};
use ledgerops_registry::site_id;

fn example() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/stack.yml")).expect("example file")
}

fn read(text: &str) -> Result<ComposeFile, ComposeError> {
    parse(text, &Options::default())
}

fn body_json(file: &ComposeFile, service: &str) -> String {
    let (_, spec) = file.services.iter().find(|(name, _)| name == service).expect("service");
    String::from_utf8(spec.to_onchain().expect("valid").body.to_vec()).expect("utf-8")
}

const DIGEST: &str = "sha256:4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945";

#[test]
fn the_example_stack_maps_the_way_docker_stack_deploy_does() {
    let file = read(&example()).expect("the example parses");
    assert_eq!(file.unsupported, Vec::new());
    let names: Vec<_> = file.services.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["web", "worker"], "file order");

    let (_, web) = &file.services[0];
    assert_eq!(web.image, format!("registry.example.com/shop/web@{DIGEST}"));
    assert_eq!(web.replicas, 3);
    let sites = ["store-001", "store-002"].map(|s| site_id(s).expect("valid"));
    assert_eq!(web.sites, sites.into_iter().collect());
    assert_eq!(
        body_json(&file, "web"),
        concat!(
            r#"{"v":2,"args":["httpd","-f","-p","8080"],"env":{"FEATURE_CART":"true","LOG_LEVEL":"info"},"#,
            r#""secrets":[{"name":"shop_tls_cert_2026","target":"tls.pem"}],"configs":[{"name":"shop_web_config","target":"web_config"}],"#,
            r#""ports":[{"target":8080,"published":80,"protocol":"tcp","mode":"ingress"}],"#,
            r#""constraints":["node.labels.tier==edge"],"#,
            r#""update":{"parallelism":1,"delay":"10s","failure_action":"rollback","monitor":"30s","order":"start-first"},"#,
            r#""healthcheck":{"test":["CMD","wget","-q","-O-","http://127.0.0.1:8080/health"],"interval":"5s","timeout":"2s","retries":3,"start_period":"5s"},"#,
            r#""resources":{"cpus":"0.5","memory":"128M"},"labels":{"team":"shop"},"networks":[{"name":"default"}]}"#
        )
    );
    assert_eq!(
        body_json(&file, "worker"),
        concat!(
            r#"{"v":2,"command":["/worker"],"args":["--queue","orders"],"env":{"LOG_LEVEL":"info"},"#,
            r#""update":{"parallelism":1,"delay":"10s","failure_action":"rollback","monitor":"30s","order":"start-first"},"#,
            r#""networks":[{"name":"default"}]}"#
        )
    );
    assert!(file.services[1].1.sites.is_empty(), "no x-ledgerops.sites: every site");
}

#[test]
fn refused_keys_are_listed_by_path_with_the_reason_and_the_file_refused_unless_ignored() {
    let text = format!(
        "services:\n  db:\n    image: pg@{DIGEST}\n    volumes: [data:/var/lib/pg]\n    restart: always\n    \
         ports: [{{target: 5432, published: 5432, host_ip: 127.0.0.1}}]\n    \
         deploy: {{replicas: 1, resources: {{reservations: {{generic_resources: []}}}}}}\n\
         volumes:\n  data: {{}}\nsecrets:\n  pw: {{file: ./pw.txt}}\n"
    );
    let expected = [
        "services.db.ports[0].host_ip",
        "services.db.deploy.resources.reservations.generic_resources",
        "secrets.pw.file",
    ];
    let refused = match read(&text) {
        Err(ComposeError::Unsupported(keys)) => keys,
        other => panic!("{other:?}"),
    };
    assert_eq!(refused.iter().map(|(path, _)| path.as_str()).collect::<Vec<_>>(), expected);
    assert!(refused[2].1.contains("never goes on chain"), "{:?}", refused[2]);

    let ignoring = parse(&text, &Options { ignore_unsupported: true, ..Options::default() });
    let ignoring = ignoring.expect_err("a secret declared without its value is still no secret");
    assert!(ignoring.to_string().contains("secrets.pw"), "{ignoring}");
    let text = text.replace("secrets:\n  pw: {file: ./pw.txt}\n", "");
    let ignoring = parse(&text, &Options { ignore_unsupported: true, ..Options::default() }).expect("goes on");
    assert_eq!(ignoring.unsupported.len(), 2);
    assert_eq!(
        ignoring.ignored,
        [("services.db.restart".to_owned(), "Swarm restarts tasks by deploy.restart_policy".to_owned())]
    );
    assert_eq!(ignoring.services[0].1.body.ports[0].published, Some(5432), "the rest of the service is kept");
    assert_eq!(ignoring.services[0].1.body.mounts[0].source.as_deref(), Some("data"));
}

#[test]
fn syntax_errors_carry_line_and_column() {
    match read("services:\n  web:\n    image: x\n   bad: [\n") {
        Err(ComposeError::Syntax { line, column, .. }) => assert_eq!((line, column), (4, 4)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn invalid_values_name_their_key() {
    let cases = [
        ("deploy: {replicas: many}", "services.web.deploy.replicas"),
        ("ports: ['80:abc']", "services.web.ports[0]"),
        ("environment: [SECRET_TOKEN]", "services.web.environment"),
        ("deploy: {mode: global, replicas: 2}", "services.web.deploy.replicas"),
        ("ports: [{target: 80, published: '8000-8001'}]", "services.web.ports"),
        ("command: 'echo \"unclosed'", "services.web.command"),
        ("x-ledgerops: {site: [a]}", "services.web.x-ledgerops"),
        ("deploy: {update_config: {failure_action: [x]}}", "services.web.deploy.update_config.failure_action"),
    ];
    for (yaml, path) in cases {
        let text = format!("services:\n  web:\n    image: app@{DIGEST}\n    {yaml}\n");
        match read(&text) {
            Err(ComposeError::Invalid { path: p, .. }) => assert_eq!(p, path, "{yaml}"),
            other => panic!("{yaml}: {other:?}"),
        }
    }
}

/// The compose crate only reads: an image by tag stays as written, for the CLI to pin.
#[test]
fn an_image_by_tag_is_kept_as_written() {
    let file = read(
        "services:\n  web: {image: 'nginx:1.27'}\n  db: {image: 'postgres:16@DIGEST'}\n"
            .replace("DIGEST", DIGEST)
            .as_str(),
    )
    .expect("reads");
    let images: Vec<&str> = file.services.iter().map(|(_, spec)| spec.image.as_str()).collect();
    assert_eq!(images, ["nginx:1.27", format!("postgres:16@{DIGEST}").as_str()]);
}

#[test]
fn spec_rules_apply_to_every_service() {
    let cases = [
        (
            "image: app@DIGEST\n    deploy: {update_config: {failure_action: retry}}",
            "services.web",
            "update.failure_action",
        ),
        ("image: app@DIGEST\n    x-ledgerops: {sites: [Store 1]}", "services.web.x-ledgerops.sites", "site name"),
    ];
    for (yaml, path, message) in cases {
        let text = format!("services:\n  web:\n    {}\n", yaml.replace("DIGEST", DIGEST));
        match read(&text) {
            Err(e @ ComposeError::Spec { .. }) => {
                assert!(e.to_string().starts_with(path) && e.to_string().contains(message), "{e}");
            }
            other => panic!("{yaml}: {other:?}"),
        }
    }
    assert!(matches!(
        read("services:\n  web: {command: [x]}\n"),
        Err(ComposeError::Invalid { path, .. }) if path == "services.web.image"
    ));
    assert!(matches!(read("services: {}\n"), Err(ComposeError::Invalid { path, .. }) if path == "services"));
}

#[test]
fn default_sites_apply_where_a_service_names_none() {
    let text = format!(
        "services:\n  a: {{image: 'a@{DIGEST}'}}\n  b: {{image: 'b@{DIGEST}', x-ledgerops: {{sites: [store-9]}}}}\n"
    );
    let file = parse(&text, &Options { default_sites: vec!["store-1".into()], ..Options::default() }).expect("parses");
    assert_eq!(file.services[0].1.sites, [site_id("store-1").expect("valid")].into());
    assert_eq!(file.services[1].1.sites, [site_id("store-9").expect("valid")].into());
}

#[test]
fn limits_use_dockers_units() {
    let text = format!(
        "services:\n  a:\n    image: a@{DIGEST}\n    deploy: {{resources: {{limits: {{memory: 64m, cpus: 2}}}}}}\n"
    );
    assert!(body_json(&read(&text).expect("parses"), "a").contains(r#""resources":{"cpus":"2","memory":"64M"}"#));
}

#[test]
fn port_ranges_expand_to_one_port_each() {
    let text = format!("services:\n  a:\n    image: a@{DIGEST}\n    ports: ['8000-8001:80-81/udp']\n");
    let ports = &read(&text).expect("parses").services[0].1.body.ports;
    let pairs: Vec<_> = ports.iter().map(|p| (p.published, p.target, p.protocol.as_str())).collect();
    assert_eq!(pairs, [(Some(8000), 80, "udp"), (Some(8001), 81, "udp")]);
}

#[test]
fn a_stack_carries_its_networks_volumes_configs_and_a_global_agent() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("nginx.conf"), "worker_processes 1;\n").expect("write");
    let text = format!(
        "services:\n  reverse_proxy:\n    image: proxy@{DIGEST}\n    networks: [front]\n    \
         configs: [{{source: nginx, target: /etc/nginx/nginx.conf, mode: 0440}}]\n    \
         deploy: {{restart_policy: {{condition: on-failure, max_attempts: 3}}, endpoint_mode: dnsrr}}\n  \
         db:\n    image: pg@{DIGEST}\n    networks: {{back: {{aliases: [database]}}}}\n    \
         volumes: [db-data:/var/lib/postgresql/data, {{type: tmpfs, target: /tmp, tmpfs: {{size: 64m}}}}]\n  \
         agent:\n    image: agent@{DIGEST}\n    deploy: {{mode: global}}\n    stop_grace_period: 90s\n\
         networks:\n  front: {{}}\n  back: {{driver: overlay, attachable: true}}\n\
         volumes:\n  db-data: {{driver: local}}\n\
         configs:\n  nginx: {{file: ./nginx.conf}}\n"
    );
    let options = Options { namespace: "shop".into(), base_dir: dir.path().to_path_buf(), ..Options::default() };
    let file = parse(&text, &options).expect("parses");
    let names: Vec<_> = file.services.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["reverse_proxy", "db", "agent"], "a name with _ as docker stack deploy takes it");
    assert!(body_json(&file, "reverse_proxy").contains(
        r#""configs":[{"name":"nginx","target":"/etc/nginx/nginx.conf","mode":288,"content":"worker_processes 1;\n"}]"#
    ));
    assert!(body_json(&file, "reverse_proxy").contains(
        r#""networks":[{"name":"front"}],"endpoint_mode":"dnsrr","restart":{"condition":"on-failure","max_attempts":3}"#
    ));
    assert!(body_json(&file, "db").contains(
        r#""networks":[{"name":"back","aliases":["database"],"driver":"overlay","attachable":true}],"mounts":[{"type":"tmpfs","target":"/tmp","size":"64M"},{"type":"volume","source":"db-data","target":"/var/lib/postgresql/data","driver":"local"}]"#
    ));
    let (_, agent) = &file.services[2];
    assert_eq!((agent.replicas, agent.body.mode.as_deref()), (0, Some("global")));
    assert!(
        body_json(&file, "agent").contains(r#""networks":[{"name":"default"}]"#)
            && body_json(&file, "agent").contains(r#""stop_grace_period":"1m30s""#)
    );
}

#[test]
fn variables_are_substituted_and_the_errors_found_with_real_files_are_clear() {
    let text = format!(
        "services:\n  web:\n    image: app@{DIGEST}\n    environment: [EMPTY=, 'TAG=${{TAG:-latest}}', 'PRICE=$$5']\n    \
         deploy: {{replicas: '${{REPLICAS}}'}}\n"
    );
    let options = Options { variables: [("REPLICAS".to_owned(), "3".to_owned())].into(), ..Options::default() };
    let file = parse(&text, &options).expect("parses");
    let (_, web) = &file.services[0];
    assert_eq!(web.replicas, 3);
    let env: Vec<_> = web.body.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
    assert_eq!(env, ["EMPTY=", "PRICE=$5", "TAG=latest"], "KEY= is the empty value");

    let required = format!("services:\n  web:\n    image: ${{REGISTRY:?set REGISTRY}}/app@{DIGEST}\n");
    match parse(&required, &Options::default()) {
        Err(ComposeError::Invalid { path, message }) => {
            assert_eq!((path.as_str(), message.as_str()), ("services.web.image", "set REGISTRY"));
        }
        other => panic!("{other:?}"),
    }
    let unset = parse(
        &format!("services:\n  web:\n    image: app@{DIGEST}\n    environment: {{A: '${{NOPE}}'}}\n"),
        &Options::default(),
    );
    assert_eq!(unset.expect("parses").unset_variables, ["NOPE"]);

    let secret_mode = format!(
        "services:\n  web:\n    image: app@{DIGEST}\n    secrets: [{{source: pw, mode: 0400}}]\n\
         secrets:\n  pw: {{external: true, name: shop_pw}}\n"
    );
    let file = parse(&secret_mode, &Options::default()).expect("a mode written in octal");
    assert_eq!(file.services[0].1.body.secrets[0].mode, Some(0o400));

    let twice = format!("services:\n  web:\n    image: app@{DIGEST}\n    deploy: {{replicas: 2}}\n    image: other\n");
    match parse(&twice, &Options::default()) {
        Err(ComposeError::Syntax { line: 5, message, .. }) => {
            assert!(message.contains("\"image\" is written twice"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    let dotted = format!("services:\n  web.1:\n    image: app@{DIGEST}\n");
    match parse(&dotted, &Options { namespace: "shop".into(), ..Options::default() }) {
        Err(e @ ComposeError::Spec { .. }) => assert!(e.to_string().starts_with("services.web.1: service name"), "{e}"),
        other => panic!("{other:?}"),
    }
}
