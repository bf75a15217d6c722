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
    assert_eq!(file.unsupported, Vec::<String>::new());
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
            r#"{"v":1,"args":["httpd","-f","-p","8080"],"env":{"FEATURE_CART":"true","LOG_LEVEL":"info"},"#,
            r#""secrets":[{"name":"shop_tls_cert_2026","target":"tls.pem"}],"configs":[{"name":"web_config"}],"#,
            r#""ports":[{"target":8080,"published":80,"protocol":"tcp","mode":"ingress"}],"#,
            r#""constraints":["node.labels.tier==edge"],"#,
            r#""update":{"parallelism":1,"delay":"10s","failure_action":"rollback","monitor":"30s","order":"start-first"},"#,
            r#""healthcheck":{"test":["CMD","wget","-q","-O-","http://127.0.0.1:8080/health"],"interval":"5s","timeout":"2s","retries":3,"start_period":"5s"},"#,
            r#""resources":{"cpus":"0.5","memory":"128M"},"labels":{"team":"shop"}}"#
        )
    );
    assert_eq!(
        body_json(&file, "worker"),
        concat!(
            r#"{"v":1,"command":["/worker"],"args":["--queue","orders"],"env":{"LOG_LEVEL":"info"},"#,
            r#""update":{"parallelism":1,"delay":"10s","failure_action":"rollback","monitor":"30s","order":"start-first"}}"#
        )
    );
    assert!(file.services[1].1.sites.is_empty(), "no x-ledgerops.sites: every site");
}

#[test]
fn unsupported_keys_are_listed_by_path_and_refused_unless_ignored() {
    let text = format!(
        "services:\n  db:\n    image: pg@{DIGEST}\n    volumes: [data:/var/lib/pg]\n    restart: always\n    \
         ports: [{{target: 5432, published: 5432, host_ip: 127.0.0.1}}]\n    \
         deploy: {{replicas: 1, rollback_config: {{parallelism: 1}}, update_config: {{max_failure_ratio: 0.1}}}}\n\
         volumes:\n  data: {{}}\nsecrets:\n  pw: {{file: ./pw.txt}}\n"
    );
    let expected = [
        "volumes",
        "secrets.pw.file",
        "services.db.volumes",
        "services.db.restart",
        "services.db.deploy.rollback_config",
        "services.db.deploy.update_config.max_failure_ratio",
        "services.db.ports[0].host_ip",
    ];
    assert_eq!(read(&text), Err(ComposeError::Unsupported(expected.map(String::from).to_vec())));

    let ignoring = parse(&text, &Options { ignore_unsupported: true, ..Options::default() }).expect("goes on");
    assert_eq!(ignoring.unsupported, expected);
    assert_eq!(ignoring.services[0].1.body.ports[0].published, Some(5432), "the rest of the service is kept");
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
        ("deploy: {mode: global}", "services.web.deploy.mode"),
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

#[test]
fn spec_rules_apply_to_every_service() {
    let cases = [
        ("image: nginx:latest", "services.web", "not pinned by digest"),
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
