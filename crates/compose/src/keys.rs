//! Which keys of a compose file ledgerops carries to the ledger, and finding the others.
//!
//! A stack file may hold anything Compose knows; a revision holds what Swarm honours and the spec
//! format has (docs/spec-format.md). Every other key is listed by its path, so `apply` can refuse
//! the file rather than silently drop a volume or a network the author relies on.

use serde_yaml::{Mapping, Value};

/// Paths under a service that are carried over. A path's subtree is carried whole; a parent of a
/// listed path is looked into.
const SERVICE_KEYS: &[&str] = &[
    "image",
    "command",
    "entrypoint",
    "environment",
    "ports",
    "secrets",
    "configs",
    "healthcheck",
    "deploy.mode",
    "deploy.replicas",
    "deploy.labels",
    "deploy.placement.constraints",
    "deploy.update_config.parallelism",
    "deploy.update_config.delay",
    "deploy.update_config.failure_action",
    "deploy.update_config.monitor",
    "deploy.update_config.order",
    "deploy.resources.limits.cpus",
    "deploy.resources.limits.memory",
    "x-ledgerops",
];

/// Top-level keys that need nothing from ledgerops: the stack's name and the old version marker.
const IGNORED_TOP_LEVEL: &[&str] = &["version", "name"];

/// Keys of a top-level `secrets:` or `configs:` entry that refer to an object that exists already.
const EXTERNAL_OBJECT_KEYS: &[&str] = &["external", "name"];

/// Removes every key ledgerops does not carry from `services.*` and returns their paths.
/// `x-` extension keys are the author's own and are left alone.
pub(crate) fn strip_unsupported_service_keys(name: &str, service: &mut Value) -> Vec<String> {
    let mut found = Vec::new();
    if let Value::Mapping(map) = service {
        strip(&format!("services.{name}"), "", map, &mut found);
    }
    found
}

fn strip(shown: &str, relative: &str, map: &mut Mapping, found: &mut Vec<String>) {
    let keys: Vec<Value> = map.keys().cloned().collect();
    for key in keys {
        let Some(k) = key.as_str() else {
            found.push(format!("{shown}.{key:?}"));
            map.remove(&key);
            continue;
        };
        let path = if relative.is_empty() { k.to_owned() } else { format!("{relative}.{k}") };
        if SERVICE_KEYS.contains(&path.as_str()) || (k.starts_with("x-") && k != "x-ledgerops") {
            continue;
        }
        let is_parent = SERVICE_KEYS.iter().any(|s| s.strip_prefix(path.as_str()).is_some_and(|r| r.starts_with('.')));
        match map.get_mut(&key) {
            Some(Value::Mapping(inner)) if is_parent => strip(&format!("{shown}.{k}"), &path, inner, found),
            _ => {
                found.push(format!("{shown}.{k}"));
                map.remove(&key);
            }
        }
    }
}

/// Top-level keys other than `services` that ledgerops does not carry: networks and volumes it
/// would have to create, secrets and configs whose contents would have to go somewhere.
pub(crate) fn unsupported_top_level(file: &Mapping) -> Vec<String> {
    let mut found = Vec::new();
    for (key, value) in file {
        let k = key.as_str().unwrap_or_default();
        match k {
            "services" => {}
            "secrets" | "configs" => {
                for (object, definition) in value.as_mapping().into_iter().flatten() {
                    let object = object.as_str().unwrap_or_default();
                    for field in definition.as_mapping().into_iter().flat_map(Mapping::keys) {
                        let field = field.as_str().unwrap_or_default();
                        if !EXTERNAL_OBJECT_KEYS.contains(&field) && !field.starts_with("x-") {
                            found.push(format!("{k}.{object}.{field}"));
                        }
                    }
                }
            }
            _ if IGNORED_TOP_LEVEL.contains(&k) || k.starts_with("x-") => {}
            _ => found.push(k.to_owned()),
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(yaml: &str) -> (Value, Vec<String>) {
        let mut value: Value = serde_yaml::from_str(yaml).expect("yaml");
        let found = strip_unsupported_service_keys("web", &mut value);
        (value, found)
    }

    #[test]
    fn lists_every_unsupported_key_by_path_and_keeps_the_rest() {
        let (kept, found) = service(
            "image: a\nvolumes: [data:/data]\ncap_add: [NET_ADMIN]\nx-team: shop\n\
             deploy: {replicas: 2, restart_policy: {condition: any}, resources: {limits: {cpus: '1', pids: 5}, reservations: {memory: 1G}}}",
        );
        assert_eq!(
            found,
            [
                "services.web.volumes",
                "services.web.cap_add",
                "services.web.deploy.restart_policy",
                "services.web.deploy.resources.limits.pids",
                "services.web.deploy.resources.reservations"
            ]
        );
        let expected: Value =
            serde_yaml::from_str("image: a\nx-team: shop\ndeploy: {replicas: 2, resources: {limits: {cpus: '1'}}}")
                .expect("yaml");
        assert_eq!(kept, expected);
    }

    #[test]
    fn a_typo_is_an_unsupported_key() {
        assert_eq!(
            service("image: a\nimagee: b\ndeploy: {replica: 3}").1,
            ["services.web.imagee", "services.web.deploy.replica"]
        );
    }

    #[test]
    fn top_level_objects_must_exist_already() {
        let file: Mapping = serde_yaml::from_str(
            "version: '3.8'\nservices: {}\nvolumes: {data: {}}\nx-common: {}\n\
             secrets: {pw: {external: true}, key: {file: ./key.pem}}\nconfigs: {cfg: {name: app-cfg, external: true}}",
        )
        .expect("yaml");
        assert_eq!(unsupported_top_level(&file), ["volumes", "secrets.key.file"]);
    }
}
