//! The body's rules by example: canonical bytes, the version rule, one named error per bad field.

use super::*;

fn full() -> SpecBody {
    let mut b = SpecBody::new();
    b.args = vec!["httpd".into(), "-f".into()];
    b.env.insert("MODE".into(), "prod".into());
    b.env.insert("A".into(), "1".into());
    b.secrets.push(Mount { name: "tls-cert".into(), target: Some("tls.pem".into()), ..Default::default() });
    b.ports.push(Port { target: 8080, published: Some(80), protocol: "tcp".into(), mode: "ingress".into() });
    b.constraints.push("node.labels.tier==edge".into());
    b.update =
        Some(UpdatePolicy { delay: Some("90s".into()), failure_action: Some("rollback".into()), ..Default::default() });
    b.healthcheck = Some(HealthCheck {
        test: vec!["CMD".into(), "true".into()],
        interval: Some("5000ms".into()),
        ..Default::default()
    });
    b.resources = Some(Resources { cpus: Some("0.5".into()), memory: Some("128M".into()), pids: None });
    b
}

#[test]
fn encoding_is_canonical_and_round_trips() {
    let bytes = full().encode().expect("valid");
    let text = String::from_utf8(bytes.clone()).expect("utf-8");
    assert!(text.starts_with(r#"{"v":1,"args":["httpd","-f"],"env":{"A":"1","MODE":"prod"}"#), "{text}");
    assert!(text.contains(r#""delay":"1m30s""#) && text.contains(r#""interval":"5s""#), "{text}");
    let decoded = SpecBody::decode(&bytes).expect("decodes");
    assert_eq!(decoded.encode().expect("valid"), bytes, "encode(decode(x)) == x");
}

#[test]
fn unknown_keys_and_wrong_versions_are_refused() {
    assert!(matches!(SpecBody::decode(br#"{"v":1,"volumes":[]}"#), Err(SpecError::BadBody(_))));
    assert!(matches!(SpecBody::decode(br#"{"v":3}"#), Err(SpecError::BadField { field, .. }) if field == "v"));
    assert!(
        matches!(SpecBody::decode(br#"{"v":1,"mode":"global"}"#), Err(SpecError::BadField { field, .. }) if field == "v"),
        "a format 2 field in a format 1 body"
    );
    assert!(matches!(SpecBody::decode(b"\xff"), Err(SpecError::BadBody(_))));
}

#[test]
fn each_bad_field_is_named() {
    /// Breaks one field of a valid body.
    type Breaker = fn(&mut SpecBody);
    let cases: [(&str, Breaker); 11] = [
        ("env.A=B", |b| drop(b.env.insert("A=B".into(), "x".into()))),
        ("secrets[1].name", |b| b.secrets.push(Mount { name: "-bad".into(), ..Default::default() })),
        ("ports[1].published", |b| b.ports.push(b.ports[0].clone())),
        ("ports[1].protocol", |b| {
            b.ports.push(Port { target: 1, published: None, protocol: "icmp".into(), mode: "host".into() })
        }),
        ("constraints[1]", |b| b.constraints.push("node.role".into())),
        ("update.delay", |b| b.update.as_mut().expect("set").delay = Some("soon".into())),
        ("update.failure_action", |b| b.update.as_mut().expect("set").failure_action = Some("retry".into())),
        ("healthcheck.test", |b| b.healthcheck.as_mut().expect("set").test = vec!["true".into()]),
        ("resources.memory", |b| b.resources.as_mut().expect("set").memory = Some("lots".into())),
        ("resources.cpus", |b| b.resources.as_mut().expect("set").cpus = Some("-1".into())),
        ("labels.ledgerops.owner", |b| drop(b.labels.insert("ledgerops.owner".into(), "me".into()))),
    ];
    for (field, break_it) in cases {
        let mut b = full();
        break_it(&mut b);
        match b.validate() {
            Err(SpecError::BadField { field: f, .. }) => assert_eq!(f, field),
            other => panic!("{field}: got {other:?}"),
        }
    }
}

#[test]
fn sizes_and_cpus_have_one_spelling_on_chain() {
    let spelled = |cpus: &str, memory: &str| {
        let mut b = SpecBody::new();
        b.resources = Some(Resources { cpus: Some(cpus.into()), memory: Some(memory.into()), pids: None });
        String::from_utf8(b.encode().expect("valid")).expect("utf-8")
    };
    let canonical = r#"{"v":1,"resources":{"cpus":"0.5","memory":"128M"}}"#;
    assert_eq!(spelled("0.5", "128M"), canonical);
    assert_eq!(spelled(".50", "134217728"), canonical);
    assert_eq!(spelled("0.500", "131072k"), canonical);
    assert_eq!(spelled("2", "1000"), r#"{"v":1,"resources":{"cpus":"2","memory":"1000"}}"#);
    assert_eq!(spelled("1.25", "1gb"), r#"{"v":1,"resources":{"cpus":"1.25","memory":"1G"}}"#);
}

/// A body with one field of each format 2 kind.
fn stack() -> SpecBody {
    let mut b = full();
    b.v = 2;
    b.mode = Some("global".into());
    b.networks = vec![
        Network { name: "front".into(), aliases: vec!["web".into(), "www".into(), "web".into()], ..Default::default() },
        Network { name: "back".into(), driver: Some("overlay".into()), attachable: true, ..Default::default() },
    ];
    b.mounts = vec![
        VolumeMount {
            kind: "volume".into(),
            source: Some("db-data".into()),
            target: "/var/lib/db".into(),
            ..Default::default()
        },
        VolumeMount {
            kind: "tmpfs".into(),
            target: "/tmp".into(),
            size: Some("67108864".into()),
            ..Default::default()
        },
    ];
    b.restart = Some(RestartPolicy {
        condition: Some("on-failure".into()),
        delay: Some("5000ms".into()),
        ..Default::default()
    });
    b.cap_add = vec!["net_admin".into(), "CAP_CHOWN".into()];
    b.stop_grace_period = Some("90s".into());
    b.configs.push(Mount {
        name: "app-config".into(),
        content: Some("port = 80\n".into()),
        mode: Some(0o440),
        ..Default::default()
    });
    b
}

#[test]
fn a_body_with_format_2_fields_is_format_2_in_one_spelling_and_the_rest_stays_format_1() {
    let bytes = stack().encode().expect("valid");
    let text = String::from_utf8(bytes.clone()).expect("utf-8");
    assert!(text.starts_with(r#"{"v":2,"args""#), "{text}");
    assert!(text.contains(r#""networks":[{"name":"back","driver":"overlay","attachable":true},{"name":"front","aliases":["web","www"]}]"#), "{text}");
    assert!(text.contains(r#""mounts":[{"type":"tmpfs","target":"/tmp","size":"64M"},{"type":"volume","source":"db-data","target":"/var/lib/db"}]"#), "{text}");
    assert!(
        text.contains(r#""cap_add":["CAP_CHOWN","CAP_NET_ADMIN"]"#) && text.contains(r#""stop_grace_period":"1m30s""#),
        "{text}"
    );
    assert!(text.contains(r#""delay":"5s""#), "{text}");
    assert_eq!(SpecBody::decode(&bytes).expect("decodes").encode().expect("valid"), bytes);
    let written_as_2 = SpecBody { v: 2, ..full() };
    let text = String::from_utf8(written_as_2.encode().expect("valid")).expect("utf-8");
    assert!(text.starts_with(r#"{"v":1,"#), "the lowest version that holds it: {text}");
}

#[test]
fn each_bad_format_2_field_is_named() {
    type Breaker = fn(&mut SpecBody);
    let cases: [(&str, Breaker); 14] = [
        ("mode", |b| b.mode = Some("daemon".into())),
        ("networks[1].name", |b| b.networks[1].name = "front".into()),
        ("networks[0]", |b| {
            b.networks[0].external = true;
            b.networks[0].driver = Some("overlay".into())
        }),
        ("mounts[0].target", |b| b.mounts[0].target = "relative".into()),
        ("mounts[1].source", |b| b.mounts[1].source = Some("x".into())),
        ("mounts[0].size", |b| b.mounts[0].size = Some("1M".into())),
        ("mounts[0].source", |b| {
            b.mounts[0].kind = "bind".into();
            b.mounts[0].source = None
        }),
        ("restart.condition", |b| b.restart.as_mut().expect("set").condition = Some("always".into())),
        ("rollback.failure_action", |b| {
            b.rollback = Some(UpdatePolicy { failure_action: Some("rollback".into()), ..Default::default() })
        }),
        ("cap_add[2]", |b| b.cap_add.push("NET_ADMIN".into())),
        ("secrets[0].content", |b| b.secrets[0].content = Some("hunter2".into())),
        ("endpoint_mode", |b| b.endpoint_mode = Some("dnsrr".into())),
        ("hosts.db", |b| drop(b.hosts.insert("db".into(), "not-an-ip".into()))),
        ("ulimits.nofile", |b| {
            b.ulimits.insert("nofile".into(), Ulimit { soft: 10, hard: 5 });
        }),
    ];
    for (field, break_it) in cases {
        let mut b = stack();
        break_it(&mut b);
        match b.validate() {
            Err(SpecError::BadField { field: f, .. }) => assert_eq!(f, field),
            other => panic!("{field}: got {other:?}"),
        }
    }
}

#[test]
fn a_program_name_longer_than_path_max_is_refused_and_long_arguments_are_not() {
    let name = |n: usize| "x".repeat(n);
    let with = |command: Vec<String>, args: Vec<String>| SpecBody { v: 2, command, args, ..SpecBody::new() };
    assert!(with(vec![name(PROGRAM_NAME_MAX)], Vec::new()).validate().is_ok(), "PATH_MAX itself");
    let refused = with(vec![name(100_000)], Vec::new()).validate().expect_err("a 100 kB program name");
    let text = refused.to_string();
    assert!(text.contains("command[0]") && text.contains("100000 bytes") && text.contains("4096"), "{text}");
    let refused = with(Vec::new(), vec![name(PROGRAM_NAME_MAX + 1)]).validate().expect_err("the image's CMD");
    assert!(refused.to_string().contains("args[0]"), "{refused}");
    // An argument to a short program may be long (up to what the kernel takes).
    assert!(with(vec!["echo".into()], vec![name(100_000)]).validate().is_ok());
    assert!(with(Vec::new(), vec!["echo".into(), name(100_000)]).validate().is_ok());
}
