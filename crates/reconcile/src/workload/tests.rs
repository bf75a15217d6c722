//! The workload a spec asks for, and which differences count.

use ledgerops_spec::{
    Mount, Network, Port, Resources, RestartPolicy as SpecRestart, SpecBody, UpdatePolicy as SpecUpdate, VolumeMount,
};

use super::*;

fn web() -> ServiceName {
    ServiceName::new("shop", "web")
}

fn spec() -> Spec {
    let mut body = SpecBody::new();
    body.env.insert("MODE".into(), "prod".into());
    body.ports.push(Port { target: 80, published: Some(8080), protocol: "tcp".into(), mode: "ingress".into() });
    body.update = Some(SpecUpdate { delay: Some("10s".into()), ..SpecUpdate::default() });
    body.resources = Some(Resources { cpus: Some("0.5".into()), memory: Some("64M".into()), pids: None });
    Spec { image: format!("app@sha256:{}", "ab".repeat(32)), replicas: 2, sites: Default::default(), body }
}

/// A stack's service: its own network and volume, an external network, a config by content.
fn stack_spec() -> Spec {
    let mut spec = spec();
    let body = &mut spec.body;
    body.v = 2;
    body.networks = vec![
        Network { name: "back".into(), aliases: vec!["db".into()], ..Network::default() },
        Network { name: "traefik-public".into(), external: true, ..Network::default() },
    ];
    body.mounts = vec![
        VolumeMount {
            kind: "volume".into(),
            source: Some("data".into()),
            target: "/data".into(),
            ..Default::default()
        },
        VolumeMount { kind: "tmpfs".into(), target: "/tmp".into(), size: Some("64M".into()), ..Default::default() },
    ];
    body.configs.push(Mount { name: "nginx".into(), content: Some("x".into()), ..Mount::default() });
    body.restart = Some(SpecRestart { condition: Some("on-failure".into()), ..SpecRestart::default() });
    body.cap_add = vec!["net_admin".into()];
    spec
}

#[test]
fn a_spec_becomes_numbers_and_sets() {
    let w = Workload::from_spec(&spec(), &web()).expect("valid");
    assert_eq!((w.replicas, w.nano_cpus, w.memory_bytes), (2, Some(500_000_000), Some(64 << 20)));
    assert_eq!(w.update.delay, Some(Duration::from_secs(10)));
    assert_eq!(w.ports.first().map(|p| (p.target, p.published)), Some((80, Some(8080))));
}

#[test]
fn the_namespaces_own_objects_take_their_docker_names() {
    let w = Workload::from_spec(&stack_spec(), &web()).expect("valid");
    let networks: Vec<_> = w
        .networks
        .iter()
        .map(|n| (n.name.as_str(), n.aliases.iter().map(String::as_str).collect::<Vec<_>>()))
        .collect();
    assert_eq!(
        networks,
        [("shop_back", vec!["db", "web"]), ("traefik-public", vec![])],
        "the service answers to its short name on its namespace's networks, not on a shared one"
    );
    let mounts: Vec<_> = w.mounts.iter().map(|m| (m.source.as_deref(), m.tmpfs_size)).collect();
    assert_eq!(mounts, [(None, Some(64 << 20)), (Some("shop_data"), None)]);
    let config = w.configs.first().expect("one");
    assert_eq!(
        (config.name.as_str(), config.target.as_str()),
        (content_config_name("shop", "nginx", "x").as_str(), "nginx")
    );
    assert_eq!(w.cap_add, ["CAP_NET_ADMIN".to_owned()].into());
}

#[test]
fn differences_name_fields_and_ignore_swarm_defaults_the_spec_leaves_alone() {
    let desired = Workload::from_spec(&spec(), &web()).expect("valid");
    let mut observed = desired.clone();
    assert!(desired.differences(&observed).is_empty());
    observed.update.parallelism = Some(1); // Swarm's default, not set by the spec
    observed.update.failure_action = Some("pause".into());
    observed.restart.condition = Some("any".into());
    observed.endpoint_mode = Some("vip".into());
    assert!(desired.differences(&observed).is_empty());
    observed.replicas = 5;
    observed.update.delay = Some(Duration::from_secs(1));
    observed.env.insert("EXTRA".into(), "1".into());
    assert_eq!(desired.differences(&observed), ["replicas", "env", "update.delay"]);
}

#[test]
fn every_format_2_field_a_hand_can_change_is_a_difference() {
    let desired = Workload::from_spec(&stack_spec(), &web()).expect("valid");
    let mut observed = desired.clone();
    observed.networks.pop_first();
    observed.mounts.pop_last();
    observed.restart.condition = Some("any".into());
    observed.cap_add.clear();
    assert_eq!(desired.differences(&observed), ["networks", "mounts", "restart.condition", "cap_add"]);
    let mut global = desired.clone();
    global.mode = ServiceMode::Global;
    let mut seen = global.clone();
    seen.replicas = 3;
    assert!(global.differences(&seen).is_empty(), "a global service's task count is Swarm's");
}
