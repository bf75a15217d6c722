//! What ledgerops does with each key of a compose file: carries it to the ledger, ignores it as
//! `docker stack deploy` does (Swarm has no use for it), or refuses it, with the reason. The table
//! is the one docs/cli.md shows. Keys that give a container power over its host are carried and
//! then checked against the namespace's policy (`ledgerops_spec::Policy`).
//!
//! Paths are dotted; `*` stands for any key (a service's name, a variable's), `[]` for any item.

use serde_yaml::{Mapping, Value};

/// What happens to a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Treatment {
    /// Carried to the ledger (the whole subtree, unless longer paths below list its parts).
    Carried,
    /// Carried, and refused unless the namespace's policy and each node allow it.
    Policy,
    /// Accepted and dropped, as Swarm ignores it; the reason says so.
    Ignored(&'static str),
    /// Refused: ledgerops cannot carry it; the reason says what to do instead.
    Refused(&'static str),
}

const SWARM_IGNORES: &str = "Swarm ignores it (docker stack deploy does the same)";
const NO_STATIC_IPS: &str = "Swarm gives tasks their addresses: a service has no fixed one";
const NOT_CARRIED: &str = "not carried by ledgerops yet";

/// Every key ledgerops knows under `services.*`, `networks.*`, `volumes.*`, `configs.*`,
/// `secrets.*` and at the top level. A key not listed is refused as unknown.
pub const TABLE: &[(&str, Treatment)] = &[
    ("version", Treatment::Ignored("the file format is read from the keys themselves")),
    ("name", Treatment::Ignored("the namespace is given with --namespace")),
    ("services.*.image", Treatment::Carried),
    ("services.*.command", Treatment::Carried),
    ("services.*.entrypoint", Treatment::Carried),
    ("services.*.environment", Treatment::Carried),
    ("services.*.env_file", Treatment::Carried),
    ("services.*.ports", Treatment::Carried),
    ("services.*.ports.[].host_ip", Treatment::Refused("Swarm publishes on every address of the node")),
    ("services.*.ports.[].name", Treatment::Ignored(SWARM_IGNORES)),
    ("services.*.ports.[].app_protocol", Treatment::Ignored(SWARM_IGNORES)),
    ("services.*.secrets", Treatment::Carried),
    ("services.*.configs", Treatment::Carried),
    ("services.*.healthcheck", Treatment::Carried),
    ("services.*.healthcheck.start_interval", Treatment::Refused("needs Docker API 1.44; edge engines run older ones")),
    ("services.*.networks", Treatment::Carried),
    ("services.*.networks.*.ipv4_address", Treatment::Ignored(NO_STATIC_IPS)),
    ("services.*.networks.*.ipv6_address", Treatment::Ignored(NO_STATIC_IPS)),
    ("services.*.networks.*.link_local_ips", Treatment::Ignored(NO_STATIC_IPS)),
    ("services.*.networks.*.mac_address", Treatment::Ignored(NO_STATIC_IPS)),
    ("services.*.networks.*.priority", Treatment::Ignored(SWARM_IGNORES)),
    ("services.*.networks.*.driver_opts", Treatment::Refused(NOT_CARRIED)),
    ("services.*.volumes", Treatment::Carried),
    ("services.*.volumes.[].consistency", Treatment::Ignored(SWARM_IGNORES)),
    ("services.*.volumes.[].bind.create_host_path", Treatment::Ignored(SWARM_IGNORES)),
    ("services.*.volumes.[].bind.selinux", Treatment::Refused(NOT_CARRIED)),
    ("services.*.volumes.[].volume.subpath", Treatment::Refused("needs Docker API 1.45; edge engines run older ones")),
    ("services.*.tmpfs", Treatment::Carried),
    ("services.*.hostname", Treatment::Carried),
    ("services.*.user", Treatment::Carried),
    ("services.*.working_dir", Treatment::Carried),
    ("services.*.stop_signal", Treatment::Carried),
    ("services.*.stop_grace_period", Treatment::Carried),
    ("services.*.init", Treatment::Carried),
    ("services.*.read_only", Treatment::Carried),
    ("services.*.dns", Treatment::Carried),
    ("services.*.dns_search", Treatment::Carried),
    ("services.*.dns_opt", Treatment::Carried),
    ("services.*.extra_hosts", Treatment::Carried),
    ("services.*.logging", Treatment::Carried),
    ("services.*.ulimits", Treatment::Carried),
    ("services.*.labels", Treatment::Carried),
    ("services.*.cap_drop", Treatment::Carried),
    ("services.*.cap_add", Treatment::Policy),
    ("services.*.sysctls", Treatment::Policy),
    ("services.*.deploy.mode", Treatment::Carried),
    ("services.*.deploy.replicas", Treatment::Carried),
    ("services.*.deploy.labels", Treatment::Carried),
    ("services.*.deploy.endpoint_mode", Treatment::Carried),
    ("services.*.deploy.placement.constraints", Treatment::Carried),
    ("services.*.deploy.placement.preferences", Treatment::Carried),
    ("services.*.deploy.placement.max_replicas_per_node", Treatment::Carried),
    ("services.*.deploy.update_config", Treatment::Carried),
    ("services.*.deploy.rollback_config", Treatment::Carried),
    ("services.*.deploy.restart_policy", Treatment::Carried),
    ("services.*.deploy.resources.limits.cpus", Treatment::Carried),
    ("services.*.deploy.resources.limits.memory", Treatment::Carried),
    ("services.*.deploy.resources.limits.pids", Treatment::Carried),
    ("services.*.deploy.resources.reservations.cpus", Treatment::Carried),
    ("services.*.deploy.resources.reservations.memory", Treatment::Carried),
    ("services.*.deploy.resources.reservations.devices", Treatment::Refused(NOT_CARRIED)),
    ("services.*.deploy.resources.reservations.generic_resources", Treatment::Refused(NOT_CARRIED)),
    ("services.*.x-ledgerops", Treatment::Carried),
    ("services.*.build", Treatment::Ignored("Swarm runs images, it does not build them")),
    ("services.*.container_name", Treatment::Ignored("Swarm names the containers of its tasks")),
    ("services.*.depends_on", Treatment::Ignored("Swarm starts every service at once; make them retry")),
    ("services.*.restart", Treatment::Ignored("Swarm restarts tasks by deploy.restart_policy")),
    ("services.*.links", Treatment::Ignored("services on one network reach each other by name")),
    ("services.*.external_links", Treatment::Ignored(SWARM_IGNORES)),
    ("services.*.expose", Treatment::Ignored("services on one network reach each other on any port")),
    ("services.*.network_mode", Treatment::Ignored("Swarm ignores it: join the external network `host` instead")),
    ("services.*.privileged", Treatment::Ignored(SWARM_IGNORES)),
    ("services.*.security_opt", Treatment::Ignored(SWARM_IGNORES)),
    ("services.*.devices", Treatment::Ignored(SWARM_IGNORES)),
    ("services.*.cgroup_parent", Treatment::Ignored(SWARM_IGNORES)),
    ("services.*.domainname", Treatment::Ignored(SWARM_IGNORES)),
    ("services.*.ipc", Treatment::Ignored(SWARM_IGNORES)),
    ("services.*.pid", Treatment::Ignored(SWARM_IGNORES)),
    ("services.*.mac_address", Treatment::Ignored(SWARM_IGNORES)),
    ("services.*.shm_size", Treatment::Ignored(SWARM_IGNORES)),
    ("services.*.userns_mode", Treatment::Ignored(SWARM_IGNORES)),
    ("services.*.tty", Treatment::Ignored(SWARM_IGNORES)),
    ("services.*.stdin_open", Treatment::Ignored(SWARM_IGNORES)),
    ("services.*.pull_policy", Treatment::Ignored("every node pulls the digest the ledger pins")),
    ("services.*.platform", Treatment::Ignored("each node's engine picks its platform from the image's index")),
    ("services.*.profiles", Treatment::Ignored(SWARM_IGNORES)),
    ("services.*.extends", Treatment::Refused("resolve it first: docker compose config writes the file without it")),
    ("services.*.volumes_from", Treatment::Refused("mount the same volume in both services")),
    ("services.*.volume_driver", Treatment::Refused("set the driver on the volume in the top-level volumes")),
    ("services.*.mem_limit", Treatment::Refused("use deploy.resources.limits.memory")),
    ("services.*.memswap_limit", Treatment::Refused("use deploy.resources.limits.memory")),
    ("services.*.mem_reservation", Treatment::Refused("use deploy.resources.reservations.memory")),
    ("services.*.cpus", Treatment::Refused("use deploy.resources.limits.cpus")),
    ("services.*.cpu_shares", Treatment::Refused("use deploy.resources.limits.cpus")),
    ("services.*.cpu_quota", Treatment::Refused("use deploy.resources.limits.cpus")),
    ("services.*.cpuset", Treatment::Refused("use deploy.resources.limits.cpus")),
    ("services.*.scale", Treatment::Refused("use deploy.replicas")),
    ("networks.*.driver", Treatment::Carried),
    ("networks.*.driver_opts", Treatment::Carried),
    ("networks.*.attachable", Treatment::Carried),
    ("networks.*.internal", Treatment::Carried),
    ("networks.*.labels", Treatment::Carried),
    ("networks.*.external", Treatment::Carried),
    ("networks.*.name", Treatment::Carried),
    ("networks.*.ipam.driver", Treatment::Carried),
    ("networks.*.ipam.options", Treatment::Refused(NOT_CARRIED)),
    ("networks.*.ipam.config.[].subnet", Treatment::Carried),
    ("networks.*.ipam.config.[].gateway", Treatment::Carried),
    ("networks.*.ipam.config.[].ip_range", Treatment::Carried),
    ("networks.*.ipam.config.[].aux_addresses", Treatment::Refused(NOT_CARRIED)),
    ("networks.*.enable_ipv6", Treatment::Refused(NOT_CARRIED)),
    ("volumes.*.driver", Treatment::Carried),
    ("volumes.*.driver_opts", Treatment::Carried),
    ("volumes.*.labels", Treatment::Carried),
    ("volumes.*.external", Treatment::Carried),
    ("volumes.*.name", Treatment::Carried),
    ("configs.*.file", Treatment::Carried),
    ("configs.*.content", Treatment::Carried),
    ("configs.*.external", Treatment::Carried),
    ("configs.*.name", Treatment::Carried),
    ("configs.*.labels", Treatment::Ignored("the node labels the configs it creates itself")),
    ("configs.*.environment", Treatment::Refused("write the content, or a file:")),
    ("configs.*.template_driver", Treatment::Refused(NOT_CARRIED)),
    ("secrets.*.external", Treatment::Carried),
    ("secrets.*.name", Treatment::Carried),
    (
        "secrets.*.file",
        Treatment::Refused(
            "a secret's value never goes on chain: create it on each node (docker secret create <namespace>_<key> FILE) \
             and declare it here with external: true and that name",
        ),
    ),
    ("secrets.*.environment", Treatment::Refused("a secret's value never goes on chain: create it on each node")),
    ("secrets.*.labels", Treatment::Ignored("the secret exists already; its labels are its own")),
    ("secrets.*.driver", Treatment::Refused(NOT_CARRIED)),
    ("secrets.*.driver_opts", Treatment::Refused(NOT_CARRIED)),
    ("secrets.*.template_driver", Treatment::Refused(NOT_CARRIED)),
];

/// The table as docs/cli.md shows it (a test keeps the two the same): one Markdown row per key.
pub fn markdown_table() -> String {
    let mut out = String::from("| key | treatment | why |\n|---|---|---|\n");
    for (path, treatment) in TABLE {
        let (word, why) = match treatment {
            Treatment::Carried => ("carried", ""),
            Treatment::Policy => ("carried; the namespace's policy and each node must allow it", ""),
            Treatment::Ignored(why) => ("ignored", *why),
            Treatment::Refused(why) => ("refused", *why),
        };
        out += &format!("| `{path}` | {word} | {} |\n", why.replace('|', "\\|"));
    }
    out
}

/// Keys found that are not carried, by path.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sorted {
    /// Dropped as Swarm ignores them: `(path, reason)`.
    pub ignored: Vec<(String, &'static str)>,
    /// Refused: `(path, reason)`.
    pub refused: Vec<(String, &'static str)>,
}

/// Removes from `file` every key that is not carried, sorting them into ignored and refused.
/// `x-` extension keys are the author's own and are left alone (and dropped by the parser).
pub(crate) fn sort(file: &mut Mapping) -> Sorted {
    let mut sorted = Sorted::default();
    walk(file, &mut Vec::new(), false, &mut sorted);
    sorted
}

/// Sorts the keys of `map` at `path`. Inside a carried subtree (`carried`) a key the table does
/// not name is part of what is carried; elsewhere it is unknown.
fn walk(map: &mut Mapping, path: &mut Vec<String>, carried: bool, sorted: &mut Sorted) {
    let keys: Vec<Value> = map.keys().cloned().collect();
    for key in keys {
        let Some(k) = key.as_str().map(str::to_owned) else {
            sorted.refused.push((shown(path, &format!("{key:?}")), "a key must be a string"));
            map.remove(&key);
            continue;
        };
        if k.starts_with("x-") && k != "x-ledgerops" {
            continue;
        }
        path.push(k);
        let section =
            path.len() == 1 && ["services", "networks", "volumes", "configs", "secrets"].contains(&path[0].as_str());
        match treatment(path) {
            Some(Treatment::Carried | Treatment::Policy) => descend(map.get_mut(&key), path, true, sorted),
            Some(Treatment::Ignored(why)) => {
                sorted.ignored.push((shown(path, ""), why));
                map.remove(&key);
            }
            Some(Treatment::Refused(why)) => {
                sorted.refused.push((shown(path, ""), why));
                map.remove(&key);
            }
            None if section || is_parent(path) => descend(map.get_mut(&key), path, carried, sorted),
            None if carried => {}
            None => {
                sorted.refused.push((shown(path, ""), "ledgerops does not know this key (a typo?)"));
                map.remove(&key);
            }
        }
        path.pop();
    }
}

/// Goes into `value` where the table lists parts of it.
fn descend(value: Option<&mut Value>, path: &mut Vec<String>, carried: bool, sorted: &mut Sorted) {
    if !is_parent(path) {
        return;
    }
    match value {
        Some(Value::Mapping(inner)) => walk(inner, path, carried, sorted),
        Some(Value::Sequence(items)) => {
            for (i, item) in items.iter_mut().enumerate() {
                if let Value::Mapping(inner) = item {
                    path.push(format!("[{i}]"));
                    walk(inner, path, carried, sorted);
                    path.pop();
                }
            }
        }
        _ => {}
    }
}

/// The treatment of the key at `path`, if the table names it.
fn treatment(path: &[String]) -> Option<Treatment> {
    TABLE.iter().find(|(pattern, _)| matches(pattern, path)).map(|(_, t)| *t)
}

/// True when longer paths of the table start with `path`.
fn is_parent(path: &[String]) -> bool {
    TABLE.iter().any(|(pattern, _)| {
        let parts: Vec<&str> = pattern.split('.').collect();
        parts.len() > path.len() && segments_match(&parts[..path.len()], path)
    })
}

fn matches(pattern: &str, path: &[String]) -> bool {
    let parts: Vec<&str> = pattern.split('.').collect();
    parts.len() == path.len() && segments_match(&parts, path)
}

fn segments_match(parts: &[&str], path: &[String]) -> bool {
    parts.iter().zip(path).all(|(part, segment)| match *part {
        "*" => !segment.starts_with('['),
        "[]" => segment.starts_with('['),
        literal => literal == segment,
    })
}

fn shown(path: &[String], last: &str) -> String {
    let mut out = String::new();
    for segment in path.iter().map(String::as_str).chain((!last.is_empty()).then_some(last)) {
        if !out.is_empty() && !segment.starts_with('[') {
            out.push('.');
        }
        out.push_str(segment);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sorted(yaml: &str) -> (Mapping, Sorted) {
        let mut file: Mapping = serde_yaml::from_str(yaml).expect("yaml");
        let sorted = sort(&mut file);
        (file, sorted)
    }

    #[test]
    fn keys_are_carried_ignored_or_refused_by_path() {
        let (kept, sorted) = sorted(
            "version: '3.8'\nx-common: &c {a: 1}\n\
             services:\n  web:\n    image: a\n    depends_on: [db]\n    restart: always\n    x-team: shop\n    imagee: b\n    \
             ports: [{target: 80, host_ip: 127.0.0.1}]\n    deploy: {replicas: 2, resources: {limits: {cpus: '1', pids: 5}}}\n\
             secrets:\n  pw: {file: ./pw}\n",
        );
        let ignored: Vec<&str> = sorted.ignored.iter().map(|(p, _)| p.as_str()).collect();
        let refused: Vec<&str> = sorted.refused.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(ignored, ["version", "services.web.depends_on", "services.web.restart"]);
        assert_eq!(refused, ["services.web.imagee", "services.web.ports[0].host_ip", "secrets.pw.file"]);
        assert!(sorted.refused[2].1.contains("docker secret create"), "{:?}", sorted.refused[2]);
        let expected: Mapping = serde_yaml::from_str(
            "x-common: {a: 1}\nservices:\n  web:\n    image: a\n    x-team: shop\n    ports: [{target: 80}]\n    \
             deploy: {replicas: 2, resources: {limits: {cpus: '1', pids: 5}}}\nsecrets:\n  pw: {}\n",
        )
        .expect("yaml");
        assert_eq!(kept, expected);
    }

    #[test]
    fn every_carried_key_of_the_table_is_kept() {
        let (_, sorted) = sorted(
            "services:\n  db:\n    image: a\n    cap_add: [NET_ADMIN]\n    sysctls: {net.core.somaxconn: 1024}\n    \
             volumes: [{type: bind, source: /srv, target: /srv, bind: {propagation: rprivate}}]\n    \
             deploy: {placement: {preferences: [{spread: node.labels.zone}], max_replicas_per_node: 1}}\n\
             networks:\n  back: {driver: overlay, ipam: {config: [{subnet: 10.0.9.0/24}]}}\n",
        );
        assert_eq!(sorted, Sorted::default());
    }
}
