//! The policy's rules, each on the spelling that slipped past it before.

use std::collections::BTreeMap;

use super::*;
use crate::{Logging, Mount, Network, Port, SpecBody, Ulimit, VolumeMount};

fn spec(body: SpecBody) -> Spec {
    Spec { image: format!("app@sha256:{}", "ab".repeat(32)), replicas: 1, sites: BTreeSet::new(), body }
}

fn socket() -> SpecBody {
    let mount = VolumeMount {
        kind: "bind".into(),
        source: Some("/var/run/docker.sock".into()),
        target: "/var/run/docker.sock".into(),
        ..Default::default()
    };
    SpecBody { v: 2, mounts: vec![mount], ..SpecBody::new() }
}

#[test]
fn the_docker_socket_needs_the_namespace_and_the_node() {
    let none = Policy { v: 1, ..Policy::default() };
    let error = none.check("ops", &spec(socket()), None).expect_err("refused by default");
    assert_eq!((error.field.as_str(), &error.need), ("mounts[0].source", &Need::Permission(Permission::DockerSocket)));
    assert!(error.to_string().contains("namespace policy ops --allow docker-socket"), "{error}");
    let allowed = Policy { v: 1, allow: ["docker-socket".into()].into(), ..Policy::default() };
    assert_eq!(allowed.check("ops", &spec(socket()), None), Ok(()));
    let node = BTreeSet::from([Permission::Bind]);
    let error = allowed.check("ops", &spec(socket()), Some(&node)).expect_err("the node refuses");
    assert_eq!(error.by, "this node's --allow");
    let node = BTreeSet::from([Permission::DockerSocket]);
    assert_eq!(allowed.check("ops", &spec(socket()), Some(&node)), Ok(()));
}

#[test]
fn named_objects_are_the_namespaces_unless_listed() {
    let mut body = SpecBody::new();
    body.secrets.push(Mount { name: "prod_db-password".into(), ..Default::default() });
    let policy = Policy { v: 1, external: ["traefik-public".into(), "shared_*".into()].into(), ..Policy::default() };
    let error = policy.check("dev", &spec(body.clone()), None).expect_err("prod's secret");
    assert_eq!(error.need, Need::Outside { kind: "secret", name: "prod_db-password".into() });
    assert_eq!(policy.check("prod", &spec(body), None), Ok(()));
    let mut body = SpecBody { v: 2, ..SpecBody::new() };
    body.networks.push(Network { name: "traefik-public".into(), external: true, ..Default::default() });
    body.networks.push(Network { name: "shared_mesh".into(), external: true, ..Default::default() });
    body.configs.push(Mount { name: "cfg".into(), content: Some("x".into()), ..Default::default() });
    assert_eq!(
        policy.check("dev", &spec(body.clone()), None),
        Ok(()),
        "listed, and a config with content is the stack's"
    );
    body.networks.push(Network { name: "host".into(), external: true, ..Default::default() });
    body.ports.push(Port { target: 80, published: Some(80), protocol: "tcp".into(), mode: "host".into() });
    let needs: Vec<_> = needs("dev", &body).into_iter().map(|(f, _)| f).collect();
    assert_eq!(needs, ["networks[0].name", "networks[1].name", "networks[2]", "ports[0].published"]);
}

#[test]
fn a_policy_is_canonical_and_refuses_unknown_words() {
    let policy = Policy { v: 1, allow: ["sysctls".into(), "bind".into()].into(), ..Policy::default() };
    assert_eq!(policy.encode().expect("valid"), br#"{"v":1,"allow":["bind","sysctls"]}"#);
    assert!(Policy::decode(br#"{"v":1,"allow":["root"]}"#).is_err());
    assert!(Policy::decode(br#"{"v":1,"external":["a b"]}"#).is_err());
}

/// The permissions `body` of `dev` needs, by field.
fn powers(body: &SpecBody) -> Vec<(String, Permission)> {
    needs("dev", body)
        .into_iter()
        .filter_map(|(field, need)| match need {
            Need::Permission(p) => Some((field, p)),
            _ => None,
        })
        .collect()
}

fn bind(source: &str) -> SpecBody {
    let mount =
        VolumeMount { kind: "bind".into(), source: Some(source.into()), target: "/host".into(), ..Default::default() };
    SpecBody { v: 2, mounts: vec![mount], ..SpecBody::new() }
}

fn volume(driver: Option<&str>, opts: &[(&str, &str)]) -> SpecBody {
    let mount = VolumeMount {
        kind: "volume".into(),
        source: Some("data".into()),
        target: "/data".into(),
        driver: driver.map(str::to_owned),
        driver_opts: opts.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
        ..Default::default()
    };
    SpecBody { v: 2, mounts: vec![mount], ..SpecBody::new() }
}

fn field_powers(list: &[(&str, Permission)]) -> Vec<(String, Permission)> {
    list.iter().map(|(f, p)| ((*f).to_owned(), *p)).collect()
}

#[test]
fn the_socket_by_any_spelling_or_through_a_parent_directory_needs_docker_socket() {
    for socket in ["/var/run/docker.sock", "/run/./docker.sock", "//run//docker.sock/", "/var/lib/../run/docker.sock"] {
        assert_eq!(powers(&bind(socket)), field_powers(&[("mounts[0].source", Permission::DockerSocket)]), "{socket}");
    }
    for parent in ["/", "/run", "/var/run/", "/var", "/run/containerd", "/./var/../"] {
        assert_eq!(
            powers(&bind(parent)),
            field_powers(&[("mounts[0].source", Permission::Bind), ("mounts[0].source", Permission::DockerSocket)]),
            "{parent}"
        );
    }
    for other in ["/srv/data", "/run/user", "/var/lib/app", "/var/run/docker.sock.d"] {
        assert_eq!(powers(&bind(other)), field_powers(&[("mounts[0].source", Permission::Bind)]), "{other}");
    }
}

#[test]
fn a_local_volume_that_binds_a_host_path_is_that_bind_and_any_other_option_a_driver_power() {
    // The exploit of the security review: the host's / through a volume's options.
    let root = volume(None, &[("type", "none"), ("o", "bind"), ("device", "/")]);
    assert_eq!(
        powers(&root),
        field_powers(&[
            ("mounts[0].driver_opts.device", Permission::Bind),
            ("mounts[0].driver_opts.device", Permission::DockerSocket)
        ])
    );
    let srv = volume(Some("local"), &[("type", "none"), ("o", "rbind,ro"), ("device", "/srv/app")]);
    assert_eq!(powers(&srv), field_powers(&[("mounts[0].driver_opts.device", Permission::Bind)]));
    // bind wins over type in the kernel: still the bind of /, and an odd type besides.
    let odd = volume(None, &[("type", "ext4"), ("o", "bind"), ("device", "/")]);
    assert!(powers(&odd).contains(&("mounts[0].driver_opts.device".into(), Permission::DockerSocket)));
    assert!(powers(&odd).contains(&("mounts[0].driver_opts".into(), Permission::VolumeDriver)));
    for opts in [
        &[("type", "ext4"), ("device", "/dev/vda1")][..],
        &[("type", "nfs"), ("o", "addr=10.0.0.1,rw"), ("device", ":/export")],
        &[("type", "tmpfs"), ("o", "size=100m")],
        &[("type", "cifs"), ("o", "username=x"), ("device", "//srv/share")],
    ] {
        assert_eq!(
            powers(&volume(None, opts)),
            field_powers(&[("mounts[0].driver_opts", Permission::VolumeDriver)]),
            "{opts:?}"
        );
    }
    assert_eq!(
        powers(&volume(Some("rexray/dobs"), &[])),
        field_powers(&[("mounts[0].driver", Permission::VolumeDriver)])
    );
    assert!(powers(&volume(Some("local"), &[])).is_empty(), "a plain local volume is the stack's own");
    assert!(powers(&volume(None, &[])).is_empty());
}

#[test]
fn networks_other_than_overlays_ports_below_1024_log_drivers_and_raised_ulimits_are_powers() {
    let mut body = SpecBody { v: 2, ..SpecBody::new() };
    body.networks.push(Network { name: "lan".into(), driver: Some("macvlan".into()), ..Default::default() });
    let opts = BTreeMap::from([("parent".to_owned(), "eth0".to_owned()), ("encrypted".to_owned(), String::new())]);
    body.networks.push(Network {
        name: "back".into(),
        driver: Some("overlay".into()),
        driver_opts: opts,
        ..Default::default()
    });
    body.networks.push(Network { name: "plain".into(), ..Default::default() });
    body.ports.push(Port { target: 80, published: Some(80), protocol: "tcp".into(), mode: "ingress".into() });
    body.ports.push(Port { target: 80, published: Some(8080), protocol: "tcp".into(), mode: "host".into() });
    body.logging = Some(Logging { driver: Some("awslogs".into()), ..Default::default() });
    body.ulimits.insert("nofile".into(), Ulimit { soft: 65_536, hard: 1 << 20 });
    body.ulimits.insert("memlock".into(), Ulimit { soft: -1, hard: -1 });
    body.ulimits.insert("nproc".into(), Ulimit { soft: -1, hard: -1 });
    assert_eq!(
        powers(&body),
        field_powers(&[
            ("networks[0].driver", Permission::HostNetwork),
            ("networks[1].driver_opts.parent", Permission::HostNetwork),
            ("ports[0].published", Permission::LowPorts),
            ("logging.driver", Permission::LogDriver),
            ("ulimits.memlock", Permission::Ulimits),
            ("ulimits.nproc", Permission::Ulimits),
        ])
    );
    for driver in ["json-file", "local", "none"] {
        body.logging = Some(Logging { driver: Some(driver.into()), ..Default::default() });
        assert!(!powers(&body).iter().any(|(f, _)| f == "logging.driver"), "{driver}");
    }
}

#[test]
fn on_a_network_shared_with_other_namespaces_a_service_answers_only_to_its_namespaces_names() {
    let policy = Policy { v: 1, external: ["traefik-public".into(), "shared_*".into()].into(), ..Policy::default() };
    let mut body = SpecBody { v: 2, ..SpecBody::new() };
    body.networks.push(Network {
        name: "traefik-public".into(),
        external: true,
        aliases: vec!["api".into()],
        ..Default::default()
    });
    let error = policy.check("dev", &spec(body.clone()), None).expect_err("prod's name");
    assert_eq!(error.field, "networks[0].aliases[0]");
    assert_eq!(error.need, Need::SharedName { network: "traefik-public".into(), alias: "api".into() });
    assert!(error.to_string().contains("which any policy does not allow"), "{error}");
    assert!(error.to_string().contains("reached as dev_<service>"), "{error}");
    let all = Policy { v: 1, allow: Permission::ALL.iter().map(|p| p.as_str().to_owned()).collect(), ..policy.clone() };
    assert!(all.check("dev", &spec(body.clone()), None).is_err(), "no policy grants it");
    body.networks[0].aliases = vec!["dev_api".into()];
    assert_eq!(policy.check("dev", &spec(body.clone()), None), Ok(()));
    // A stack network named outside the namespace is shared the same way; its own ones are not.
    body.networks.push(Network {
        name: "mesh".into(),
        docker_name: Some("shared_mesh".into()),
        aliases: vec!["db".into()],
        ..Default::default()
    });
    body.networks.push(Network { name: "back".into(), aliases: vec!["db".into()], ..Default::default() });
    let fields: Vec<_> = needs("dev", &body).into_iter().map(|(f, _)| f).collect();
    assert_eq!(fields, ["networks[0].name", "networks[1].docker_name", "networks[1].aliases[0]"]);
}

#[test]
fn every_permission_reads_back_from_its_word() {
    for p in Permission::ALL {
        assert_eq!(p.as_str().parse::<Permission>(), Ok(p));
    }
    let error = "root".parse::<Permission>().expect_err("not one");
    assert!(error.contains("volume-driver") && error.contains("log-driver") && error.contains("ulimits"), "{error}");
}
