//! What a spec body asks of a node, field by field: the powers over its host and the names outside
//! its namespace. Each field is read the way the engine reads it, so that a spelling Docker takes
//! is not one the check misses: `/run/./docker.sock`, a directory that holds the socket, a `local`
//! volume whose options make it a bind mount.

use ledgerops_registry::namespace_owns;

use super::{Need, Permission};
use crate::{Network, SpecBody, Ulimit, VolumeMount};

/// Host paths of the engine's sockets: a container that reaches one controls the engine, and
/// through it the host.
const ENGINE_SOCKETS: [&str; 4] = [
    "/var/run/docker.sock",
    "/run/docker.sock",
    "/run/containerd/containerd.sock",
    "/var/run/containerd/containerd.sock",
];
/// Host ports below this one are privileged.
const FIRST_UNPRIVILEGED_PORT: u16 = 1024;
/// The overlay driver's own options: they change the overlay, not what it reaches.
const OVERLAY_OPTIONS: [&str; 2] = ["encrypted", "com.docker.network.driver.mtu"];
/// Logging drivers that keep the containers' output on the host.
const LOCAL_LOG_DRIVERS: [&str; 3] = ["json-file", "local", "none"];
/// The limits a container may set without the permission, and the highest value of each: what
/// Docker gives containers on a common install or less (1,048,576 open files is the kernel's
/// default ceiling, `fs.nr_open`). Any other limit, or an unlimited one, needs `ulimits`.
const DEFAULT_ULIMITS: [(&str, i64); 3] = [("nofile", 1 << 20), ("nproc", 1 << 20), ("core", 0)];
/// Mount flags a `local` volume's bind may carry beside `bind` itself.
const BIND_FLAGS: [&str; 13] = [
    "bind", "rbind", "ro", "rw", "nosuid", "nodev", "noexec", "private", "rprivate", "shared", "rshared", "slave",
    "rslave",
];

/// Everything `body` of `namespace` asks for that a policy must allow, with the field asking,
/// in the order of the body's fields.
pub fn needs(namespace: &str, body: &SpecBody) -> Vec<(String, Need)> {
    let mut out = Needs { namespace, list: Vec::new() };
    for (kind, files) in [("secret", &body.secrets), ("config", &body.configs)] {
        for (i, file) in files.iter().enumerate().filter(|(_, f)| f.content.is_none()) {
            out.outside(format!("{kind}s[{i}].name"), kind, &file.name);
        }
    }
    for (i, network) in body.networks.iter().enumerate() {
        out.network(i, network);
    }
    for (i, mount) in body.mounts.iter().enumerate() {
        out.mount(i, mount);
    }
    if !body.cap_add.is_empty() {
        out.power("cap_add".into(), Permission::CapAdd);
    }
    if !body.sysctls.is_empty() {
        out.power("sysctls".into(), Permission::Sysctls);
    }
    for (i, port) in body.ports.iter().enumerate() {
        if port.published.is_some_and(|p| p < FIRST_UNPRIVILEGED_PORT) {
            out.power(format!("ports[{i}].published"), Permission::LowPorts);
        }
    }
    if let Some(driver) = body.logging.as_ref().and_then(|l| l.driver.as_deref())
        && !LOCAL_LOG_DRIVERS.contains(&driver)
    {
        out.power("logging.driver".into(), Permission::LogDriver);
    }
    for (name, limit) in &body.ulimits {
        if !within_defaults(name, *limit) {
            out.power(format!("ulimits.{name}"), Permission::Ulimits);
        }
    }
    out.list
}

/// The needs found so far, for `namespace`.
struct Needs<'a> {
    namespace: &'a str,
    list: Vec<(String, Need)>,
}

impl Needs<'_> {
    fn power(&mut self, field: String, permission: Permission) {
        self.list.push((field, Need::Permission(permission)));
    }

    /// An object the spec names: outside the namespace unless its name is the namespace's.
    fn outside(&mut self, field: String, kind: &'static str, name: &str) {
        if !namespace_owns(self.namespace, name) {
            self.list.push((field, Need::Outside { kind, name: name.to_owned() }));
        }
    }

    fn network(&mut self, i: usize, network: &Network) {
        let field = format!("networks[{i}]");
        if network.external && network.name == "host" {
            return self.power(field, Permission::HostNetwork);
        }
        let docker_name = match (&network.docker_name, network.external) {
            (_, true) => {
                self.outside(format!("{field}.name"), "network", &network.name);
                network.name.clone()
            }
            (Some(own), false) => {
                self.outside(format!("{field}.docker_name"), "network", own);
                own.clone()
            }
            (None, false) => ledgerops_registry::stack_object_name(self.namespace, &network.name),
        };
        if network.driver.as_deref().is_some_and(|d| d != "overlay") {
            self.power(format!("{field}.driver"), Permission::HostNetwork);
        }
        for key in network.driver_opts.keys().filter(|k| !OVERLAY_OPTIONS.contains(&k.as_str())) {
            self.power(format!("{field}.driver_opts.{key}"), Permission::HostNetwork);
        }
        // On a network whose name is not the namespace's, other namespaces' services may be:
        // answering there to a name outside the namespace would take their traffic.
        if !namespace_owns(self.namespace, &docker_name) {
            for (j, alias) in network.aliases.iter().enumerate() {
                if !namespace_owns(self.namespace, alias) {
                    let need = Need::SharedName { network: docker_name.clone(), alias: alias.clone() };
                    self.list.push((format!("{field}.aliases[{j}]"), need));
                }
            }
        }
    }

    fn mount(&mut self, i: usize, mount: &VolumeMount) {
        let field = format!("mounts[{i}]");
        match (mount.kind.as_str(), mount.source.as_deref()) {
            ("bind", Some(source)) => self.host_path(format!("{field}.source"), source),
            ("volume", Some(source)) if mount.external => self.outside(format!("{field}.source"), "volume", source),
            ("volume", Some(_)) => {
                if let Some(own) = &mount.docker_name {
                    self.outside(format!("{field}.docker_name"), "volume", own);
                }
                self.volume_driver(&field, mount);
            }
            _ => {}
        }
    }

    /// A stack volume's driver and options: a `local` volume whose options bind a host path is
    /// that bind; any other option, or another driver, is a driver's power.
    fn volume_driver(&mut self, field: &str, mount: &VolumeMount) {
        if mount.driver.as_deref().is_some_and(|d| d != "local") {
            self.power(format!("{field}.driver"), Permission::VolumeDriver);
        }
        if mount.driver_opts.is_empty() {
            return;
        }
        let opts = &mount.driver_opts;
        let flags: Vec<&str> = opts.get("o").map(|o| o.split(',').map(str::trim).collect()).unwrap_or_default();
        // The local driver mounts `device` with the flags of `o`: with `bind` among them the
        // kernel binds the path `device`, whatever `type` says.
        if flags.iter().any(|f| *f == "bind" || *f == "rbind") {
            match opts.get("device") {
                Some(device) => self.host_path(format!("{field}.driver_opts.device"), device),
                None => self.power(format!("{field}.driver_opts"), Permission::VolumeDriver),
            }
            let plain = opts.keys().all(|k| ["type", "o", "device"].contains(&k.as_str()))
                && opts.get("type").is_none_or(|t| t == "none")
                && flags.iter().all(|f| BIND_FLAGS.contains(f));
            if !plain {
                self.power(format!("{field}.driver_opts"), Permission::VolumeDriver);
            }
        } else {
            self.power(format!("{field}.driver_opts"), Permission::VolumeDriver);
        }
    }

    /// A host path bound into the container: the engine's socket itself needs `docker-socket`;
    /// a directory that holds it needs `bind` and `docker-socket`; any other path `bind`.
    fn host_path(&mut self, field: String, path: &str) {
        let parts = lexical(path);
        let socket = ENGINE_SOCKETS.iter().map(|s| lexical(s)).find(|s| s.starts_with(&parts));
        match socket {
            Some(socket) if socket == parts => self.power(field, Permission::DockerSocket),
            Some(_) => {
                self.power(field.clone(), Permission::Bind);
                self.power(field, Permission::DockerSocket);
            }
            None => self.power(field, Permission::Bind),
        }
    }
}

/// The components of a host path as the kernel resolves it, without following links: empty and
/// `.` components dropped, `..` taking the last one off (never above `/`). A relative path is
/// taken from `/`, the engine's working directory.
fn lexical(path: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => drop(parts.pop()),
            part => parts.push(part),
        }
    }
    parts
}

/// True when `limit` of `name` is within what Docker gives a container by default.
fn within_defaults(name: &str, limit: Ulimit) -> bool {
    DEFAULT_ULIMITS
        .iter()
        .any(|(known, most)| *known == name && [limit.soft, limit.hard].iter().all(|v| (0..=*most).contains(v)))
}
