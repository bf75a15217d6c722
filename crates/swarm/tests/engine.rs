//! Against the real dockerd in swarm mode that `scripts/test` starts: what the plan creates is
//! read back as the same workload (no false drift), a hand-made change is set back, unmanaged
//! services are never touched, a missing secret is named.

use std::time::Duration;

use bollard::models::{ServiceSpec, ServiceSpecMode, ServiceSpecModeReplicated, TaskSpec, TaskSpecContainerSpec};
use bollard::query_parameters::UpdateServiceOptions;
use ledgerops_reconcile::observed::labels;
use ledgerops_reconcile::workload::{
    DnsConfig, FileRef, Healthcheck, LogDriver, MountSpec, NetworkAttachment, PortMapping, RestartPolicy, UpdatePolicy,
};
use ledgerops_reconcile::{Desired, StackObjects, Step, UpdateReason, Workload, plan};
use ledgerops_swarm::{Error, Swarm};

/// A digest-pinned image `scripts/setup` built and pushed to the local registry.
fn testapp() -> String {
    let env = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../.ledgerops/images.env"))
        .expect(".ledgerops/images.env: run scripts/setup first");
    env.lines().find_map(|l| l.strip_prefix("LEDGEROPS_IMAGE_TESTAPP=")).expect("LEDGEROPS_IMAGE_TESTAPP").to_owned()
}

fn desired(name: &str, revision: u32, workload: Workload) -> Desired {
    Desired {
        id: id_of(name).parse().expect("id"),
        swarm_name: name.into(),
        revision,
        activation: u64::from(revision),
        spec_hash: id_of(&format!("{name}@{revision}")).parse().expect("hash"),
        workload: Ok(workload),
        objects: StackObjects::default(),
    }
}

/// 32 bytes derived from `text`, as `0x…`, so each test owns distinct ids.
fn id_of(text: &str) -> String {
    let mut bytes = [0u8; 32];
    for (i, b) in text.bytes().enumerate() {
        bytes[i % 32] ^= b;
    }
    format!("0x{}", bytes.iter().map(|b| format!("{b:02x}")).collect::<String>())
}

fn workload(replicas: u64) -> Workload {
    Workload {
        image: testapp(),
        replicas,
        args: vec!["httpd".into(), "-f".into(), "-p".into(), "8080".into(), "-h".into(), "/www".into()],
        env: [("MODE".into(), "test".into())].into(),
        ports: [PortMapping { target: 8080, published: Some(28_080), protocol: "tcp".into(), mode: "host".into() }]
            .into(),
        constraints: ["node.role==manager".into()].into(),
        update: UpdatePolicy {
            parallelism: Some(1),
            delay: Some(Duration::from_secs(1)),
            failure_action: Some("rollback".into()),
            monitor: Some(Duration::from_secs(2)),
            order: Some("stop-first".into()),
            max_failure_permille: Some(200),
        },
        healthcheck: Some(Healthcheck {
            test: vec!["CMD".into(), "/bin/busybox".into(), "true".into()],
            interval: Some(Duration::from_secs(2)),
            timeout: Some(Duration::from_secs(1)),
            retries: Some(2),
            start_period: None,
        }),
        nano_cpus: Some(250_000_000),
        memory_bytes: Some(64 << 20),
        labels: [("team".into(), "edge".into())].into(),
        ..Workload::default()
    }
}

/// The registry these tests' objects are labelled with.
const REGISTRY: &str = "31337/0x5fbdb2315678afecb367f032d93f642f64180aa3";

async fn swarm() -> Swarm {
    swarm_of(REGISTRY).await
}

async fn swarm_of(registry: &str) -> Swarm {
    let registry = registry.parse().expect("a registry");
    Swarm::connect(ledgerops_swarm::DEFAULT_TIMEOUT, registry).await.expect("dockerd answers (scripts/setup starts it)")
}

/// The managed services whose name starts with `prefix` (tests run side by side).
async fn mine(swarm: &Swarm, prefix: &str) -> Vec<ledgerops_reconcile::Observed> {
    let all = swarm.observe(&Default::default()).await.expect("observe");
    all.services.into_iter().filter(|o| o.swarm_name.starts_with(prefix)).collect()
}

async fn carry_out(swarm: &Swarm, steps: &[Step]) {
    for step in steps {
        swarm.apply(step).await.expect("step applied");
    }
}

/// Changes service `name` by hand, as an operator's tool would: read it, edit its spec, send it
/// as the version read. Swarm bumps a service's version by itself (its allocator, just after a
/// create), so a version that moved in between is read again, up to three times.
async fn edit_by_hand(docker: &bollard::Docker, name: &str, edit: impl Fn(&mut ServiceSpec)) {
    for _ in 0..3 {
        let current = docker.inspect_service(name, None).await.expect("inspect");
        let mut spec = current.spec.expect("spec");
        edit(&mut spec);
        let version = current.version.and_then(|v| v.index).expect("version") as i32;
        let options = UpdateServiceOptions { version, ..Default::default() };
        match docker.update_service(name, spec, options, None).await {
            Ok(_) => return,
            Err(bollard::errors::Error::DockerResponseServerError { message, .. })
                if message.contains("update out of sequence") => {}
            Err(e) => panic!("{name} edited by hand: {e}"),
        }
    }
    panic!("{name}: its version kept moving");
}

/// Removes what an earlier, interrupted run of a test left behind.
async fn clean(prefix: &str) {
    let docker =
        bollard::Docker::connect_with_local_defaults().expect("docker").negotiate_version().await.expect("api");
    for service in docker.list_services(None).await.expect("list") {
        let name = service.spec.and_then(|s| s.name).unwrap_or_default();
        if name.starts_with(prefix) {
            docker.delete_service(&name).await.expect("leftover removed");
        }
    }
}

#[tokio::test]
async fn created_services_read_back_as_desired_drift_is_set_back_and_removal_prunes() {
    clean("e2e-swarm-").await;
    let swarm = swarm().await;
    let web = desired("e2e-swarm-web", 1, workload(2));
    let never = |_, _| false;

    let first = plan(std::slice::from_ref(&web), &mine(&swarm, "e2e-swarm-").await, never);
    assert!(matches!(&first.steps[..], [Step::Create { .. }]), "{first:?}");
    carry_out(&swarm, &first.steps).await;

    let observed = mine(&swarm, "e2e-swarm-").await;
    assert_eq!(observed.len(), 1);
    let mut expected = workload(2);
    let healthcheck = expected.healthcheck.take();
    // The engine names its default endpoint mode; the diff compares it only when the spec sets one.
    expected.endpoint_mode = Some("vip".into());
    assert_eq!(observed[0].workload, expected, "the engine keeps what we wrote, nothing more");
    // bollard cannot read the healthcheck back (workload.rs says why); the engine has it.
    let inspect = std::process::Command::new("docker")
        .args([
            "service",
            "inspect",
            "e2e-swarm-web",
            "--format",
            "{{json .Spec.TaskTemplate.ContainerSpec.Healthcheck}}",
        ])
        .output()
        .expect("docker CLI");
    let stored = String::from_utf8_lossy(&inspect.stdout);
    assert!(healthcheck.is_some() && stored.contains(r#""Test":["CMD","/bin/busybox","true"]"#), "{stored}");
    assert!(plan(std::slice::from_ref(&web), &observed, never).steps.is_empty(), "no false drift");

    // Someone scales it by hand: the next plan sets it back.
    let docker =
        bollard::Docker::connect_with_local_defaults().expect("docker").negotiate_version().await.expect("api");
    edit_by_hand(&docker, "e2e-swarm-web", |spec| {
        spec.mode = Some(ServiceSpecMode {
            replicated: Some(ServiceSpecModeReplicated { replicas: Some(1) }),
            ..Default::default()
        });
    })
    .await;
    let drifted = plan(std::slice::from_ref(&web), &mine(&swarm, "e2e-swarm-").await, never);
    assert!(
        matches!(&drifted.steps[..], [Step::Update { reason: UpdateReason::Drift { fields }, .. }] if fields == &["replicas"])
    );
    carry_out(&swarm, &drifted.steps).await;
    assert_eq!(mine(&swarm, "e2e-swarm-").await[0].workload.replicas, 2);

    // A node of another registry on the same engine does not take it for its own: it reports it.
    let other = swarm_of("1/0x00000000000000000000000000000000000000aa").await;
    let seen = other.observe(&Default::default()).await.expect("observe");
    assert!(!seen.services.iter().any(|o| o.swarm_name == "e2e-swarm-web"), "not the other registry's");
    let foreign = seen.objects.foreign.iter().find(|f| f.name == "e2e-swarm-web").expect("reported");
    assert_eq!((foreign.kind, foreign.registry.as_deref()), ("service", Some(REGISTRY)));

    // An unmanaged service with a similar name is never read nor touched; removal prunes ours.
    let unmanaged = ServiceSpec {
        name: Some("e2e-swarm-unmanaged".into()),
        task_template: Some(TaskSpec {
            container_spec: Some(TaskSpecContainerSpec {
                image: Some(testapp()),
                args: Some(vec!["sleep".into(), "600".into()]),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    };
    docker.create_service(unmanaged, None).await.expect("unmanaged service");
    let prune = plan(&[], &mine(&swarm, "e2e-swarm-").await, never);
    assert!(matches!(&prune.steps[..], [Step::Remove { swarm_name, .. }] if swarm_name == "e2e-swarm-web"));
    carry_out(&swarm, &prune.steps).await;
    assert!(mine(&swarm, "e2e-swarm-").await.is_empty());
    assert!(docker.inspect_service("e2e-swarm-unmanaged", None).await.is_ok(), "unmanaged service untouched");
    docker.delete_service("e2e-swarm-unmanaged").await.expect("cleanup");

    // A service an earlier version made (managed, no registry label) is no one's until adopted,
    // which labels it in place: its version moves, its tasks do not restart.
    carry_out(&swarm, &first.steps).await;
    edit_by_hand(&docker, "e2e-swarm-web", |spec| {
        spec.labels.as_mut().expect("labels").remove(labels::REGISTRY);
    })
    .await;
    assert!(mine(&swarm, "e2e-swarm-").await.is_empty(), "not taken for this registry's");
    let listed = swarm.adopt(true).await.expect("dry run");
    assert!(listed.iter().any(|t| t.kind == "service" && t.name == "e2e-swarm-web"), "{listed:?}");
    assert!(mine(&swarm, "e2e-swarm-").await.is_empty(), "a dry run changes nothing");
    swarm.adopt(false).await.expect("adopted");
    assert_eq!(mine(&swarm, "e2e-swarm-").await.len(), 1, "this registry's now");
    assert!(other.adopt(true).await.expect("dry run").iter().all(|t| t.name != "e2e-swarm-web"), "taken once");
    docker.delete_service("e2e-swarm-web").await.expect("cleanup");
}

#[tokio::test]
async fn a_missing_secret_is_named_and_nothing_is_created() {
    clean("e2e-secret-").await;
    let swarm = swarm().await;
    let mut w = workload(1);
    w.ports.clear();
    w.secrets.insert(FileRef { name: "e2e-no-such-secret".into(), target: "pw".into(), ..FileRef::default() });
    let d = desired("e2e-secret-app", 1, w);
    let steps = plan(&[d], &[], |_, _| false).steps;
    match swarm.apply(&steps[0]).await {
        Err(e @ Error::MissingObject { .. }) => {
            assert!(e.to_string().contains("secret \"e2e-no-such-secret\" does not exist"))
        }
        other => panic!("{other:?}"),
    }
    assert!(mine(&swarm, "e2e-secret-").await.is_empty());

    // An external network that is not there: Docker's refusal names it, and nothing is created.
    let mut w = workload(1);
    w.ports.clear();
    w.networks.insert(NetworkAttachment { name: "e2e-no-such-network".into(), ..NetworkAttachment::default() });
    let steps = plan(&[desired("e2e-secret-net", 1, w)], &[], |_, _| false).steps;
    let error = swarm.apply(&steps[0]).await.expect_err("refused");
    assert!(error.to_string().contains("e2e-no-such-network"), "{error}");
    assert!(mine(&swarm, "e2e-secret-").await.is_empty());
}

/// Every field of spec format 2, on a service of its own network, with a named volume, a tmpfs
/// and a bind mount, reads back from the engine as written: no false drift.
fn stack_workload(network: &str) -> Workload {
    let mut w = workload(1);
    w.ports.clear();
    w.networks.insert(NetworkAttachment { name: network.into(), aliases: ["web-alias".into()].into() });
    w.mounts = [
        MountSpec {
            kind: "volume".into(),
            source: Some("e2e-stack-data".into()),
            target: "/data".into(),
            ..MountSpec::default()
        },
        MountSpec {
            kind: "tmpfs".into(),
            target: "/scratch".into(),
            tmpfs_size: Some(16 << 20),
            tmpfs_mode: Some(0o1777),
            ..MountSpec::default()
        },
        MountSpec {
            kind: "bind".into(),
            source: Some("/tmp".into()),
            target: "/host-tmp".into(),
            read_only: true,
            ..MountSpec::default()
        },
    ]
    .into();
    w.restart = RestartPolicy {
        condition: Some("on-failure".into()),
        delay: Some(Duration::from_secs(2)),
        max_attempts: Some(5),
        window: Some(Duration::from_secs(30)),
    };
    w.rollback = UpdatePolicy { parallelism: Some(2), failure_action: Some("pause".into()), ..UpdatePolicy::default() };
    w.reserve_nano_cpus = Some(100_000_000);
    w.reserve_memory_bytes = Some(16 << 20);
    w.pids = Some(200);
    w.preferences = vec!["node.labels.zone".into()];
    w.max_per_node = Some(2);
    w.endpoint_mode = Some("dnsrr".into());
    w.hostname = Some("{{.Service.Name}}-{{.Task.Slot}}".into());
    w.user = Some("0:0".into());
    w.workdir = Some("/www".into());
    w.stop_signal = Some("SIGINT".into());
    w.stop_grace_period = Some(Duration::from_secs(3));
    w.init = Some(true);
    w.read_only = true;
    w.dns = Some(DnsConfig {
        servers: vec!["10.0.0.53".into()],
        search: vec!["edge.local".into()],
        options: vec!["ndots:2".into()],
    });
    w.hosts = [("db.example".into(), "10.0.0.5".into())].into();
    w.logging = Some(LogDriver { name: "json-file".into(), options: [("max-size".into(), "1m".into())].into() });
    w.ulimits = [("nofile".into(), (1024, 2048))].into();
    w.sysctls = [("net.core.somaxconn".into(), "512".into())].into();
    w.cap_add = ["CAP_NET_BIND_SERVICE".into()].into();
    w.cap_drop = ["CAP_MKNOD".into()].into();
    w.container_labels = [("tier".into(), "edge".into())].into();
    w
}

#[tokio::test]
async fn every_format_2_field_reads_back_as_written_and_hand_edits_are_set_back() {
    clean("e2e-stack-").await;
    let docker =
        bollard::Docker::connect_with_local_defaults().expect("docker").negotiate_version().await.expect("api");
    let net = "e2e-stack-net";
    let _ = docker.remove_network(net).await;
    let request = bollard::models::NetworkCreateRequest {
        name: net.into(),
        driver: Some("overlay".into()),
        attachable: Some(true),
        ..Default::default()
    };
    docker.create_network(request).await.expect("an overlay network");
    let swarm = swarm().await;
    let app = desired("e2e-stack-app", 1, stack_workload(net));
    let never = |_, _| false;
    carry_out(&swarm, &plan(std::slice::from_ref(&app), &[], never).steps).await;

    let observed = mine(&swarm, "e2e-stack-").await;
    let mut expected = stack_workload(net);
    expected.healthcheck = None;
    // Swarm fills the rest of a rollback config it is given; the diff compares what the spec sets.
    expected.rollback.order = Some("stop-first".into());
    expected.rollback.max_failure_permille = Some(0);
    assert_eq!(observed[0].workload, expected, "every field as written, nothing more");
    assert!(plan(std::slice::from_ref(&app), &observed, never).steps.is_empty(), "no false drift");

    // By hand: the network detached, a mount changed, the restart policy changed.
    edit_by_hand(&docker, "e2e-stack-app", |spec| {
        let task = spec.task_template.as_mut().expect("task");
        task.networks = None;
        task.restart_policy.as_mut().expect("restart").condition =
            Some(bollard::models::TaskSpecRestartPolicyConditionEnum::ANY);
        let container = task.container_spec.as_mut().expect("container");
        container.mounts.as_mut().expect("mounts").retain(|m| m.target.as_deref() != Some("/host-tmp"));
    })
    .await;
    let drifted = plan(std::slice::from_ref(&app), &mine(&swarm, "e2e-stack-").await, never);
    match &drifted.steps[..] {
        [Step::Update { reason: UpdateReason::Drift { fields }, .. }] => {
            assert_eq!(fields, &["networks", "mounts", "restart.condition"]);
        }
        other => panic!("{other:?}"),
    }
    carry_out(&swarm, &drifted.steps).await;
    let back = mine(&swarm, "e2e-stack-").await;
    assert!(plan(std::slice::from_ref(&app), &back, never).steps.is_empty(), "set back");
    carry_out(&swarm, &plan(&[], &back, never).steps).await;
    let _ = docker.remove_network(net).await;
    // The volume Swarm made for the task (labelled as ledgerops's) would be an orphan to every
    // node test after this one: removed once the task's container is gone.
    for _ in 0..60 {
        match docker.remove_volume("e2e-stack-data", None::<bollard::query_parameters::RemoveVolumeOptions>).await {
            Err(bollard::errors::Error::DockerResponseServerError { status_code: 409, .. }) => {
                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            }
            _ => break,
        }
    }
}
