//! The spec body: everything Swarm needs beyond image, replicas and placement (docs/spec-format.md).
//!
//! Serialization is canonical: fields in declaration order, maps sorted by key, no whitespace,
//! empty values omitted, durations normalised. Two bodies that mean the same have the same bytes,
//! hence the same commitment on chain, which is what makes `diff` and `apply` idempotent.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::SpecError;

/// The body format this code writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// Everything about a service that is not image, replicas or placement.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpecBody {
    /// Format version; always [`FORMAT_VERSION`] for now.
    pub v: u32,
    /// Overrides the image's entrypoint.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub command: Vec<String>,
    /// Arguments to the command.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    /// Environment variables. Never secrets: the ledger is readable by every node.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// Docker secrets by name; they must exist on each node.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<Mount>,
    /// Docker configs by name; they must exist on each node.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub configs: Vec<Mount>,
    /// Published ports.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<Port>,
    /// Swarm placement constraints within a site, e.g. `node.labels.tier==edge`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub constraints: Vec<String>,
    /// How Swarm rolls a new revision out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update: Option<UpdatePolicy>,
    /// The container healthcheck.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healthcheck: Option<HealthCheck>,
    /// CPU and memory limits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<Resources>,
    /// Service labels; the `ledgerops.` prefix is reserved for the node's ownership labels.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

/// A secret or config, by name, and where it appears in the container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mount {
    /// The Docker object's name.
    pub name: String,
    /// File name in the container (default: the name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
}

/// A published port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Port {
    /// Port inside the container.
    pub target: u16,
    /// Port on the node or ingress; absent lets Swarm choose.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<u16>,
    /// `tcp`, `udp` or `sctp`.
    #[serde(default = "default_protocol")]
    pub protocol: String,
    /// `ingress` (routing mesh) or `host`.
    #[serde(default = "default_mode")]
    pub mode: String,
}

fn default_protocol() -> String {
    "tcp".into()
}

fn default_mode() -> String {
    "ingress".into()
}

/// Swarm's update config.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdatePolicy {
    /// Tasks updated at once (0: all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parallelism: Option<u64>,
    /// Pause between batches, e.g. `10s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay: Option<String>,
    /// `pause`, `continue` or `rollback`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_action: Option<String>,
    /// How long each task is watched for failure after it starts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monitor: Option<String>,
    /// `stop-first` or `start-first`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<String>,
}

/// The container healthcheck, as in a compose file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthCheck {
    /// `["CMD", ...]`, `["CMD-SHELL", "..."]` or `["NONE"]`.
    pub test: Vec<String>,
    /// Time between checks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<String>,
    /// Time one check may take.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
    /// Failures in a row that make the container unhealthy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<u32>,
    /// Grace period after start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_period: Option<String>,
}

/// Resource limits.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resources {
    /// CPUs as a decimal, e.g. `0.5`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpus: Option<String>,
    /// Memory with Docker's units, e.g. `128M`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<String>,
}

impl SpecBody {
    /// An empty body of the current format.
    pub fn new() -> Self {
        Self { v: FORMAT_VERSION, ..Self::default() }
    }

    /// Parses and validates a body read from the chain or a file.
    pub fn decode(bytes: &[u8]) -> Result<Self, SpecError> {
        let body: Self = serde_json::from_slice(bytes).map_err(|e| SpecError::BadBody(e.to_string()))?;
        body.validate()?;
        Ok(body)
    }

    /// The canonical bytes: what goes on chain. Normalises durations first.
    pub fn encode(&self) -> Result<Vec<u8>, SpecError> {
        let mut body = self.clone();
        body.normalize()?;
        body.validate()?;
        serde_json::to_vec(&body).map_err(|e| SpecError::BadBody(e.to_string()))
    }

    /// Checks every field; the error names the first one at fault.
    pub fn validate(&self) -> Result<(), SpecError> {
        if self.v != FORMAT_VERSION {
            return Err(SpecError::field("v", format!("format version {} is not supported (expected 1)", self.v)));
        }
        for (i, s) in self.command.iter().chain(&self.args).enumerate() {
            no_nul(&format!("command/args[{i}]"), s)?;
        }
        for (key, value) in &self.env {
            if key.is_empty() || key.contains('=') || key.contains('\0') {
                return Err(SpecError::field(format!("env.{key}"), "a variable name must be non-empty, without '='"));
            }
            no_nul(&format!("env.{key}"), value)?;
        }
        validate_mounts("secrets", &self.secrets)?;
        validate_mounts("configs", &self.configs)?;
        validate_ports(&self.ports)?;
        for (i, c) in self.constraints.iter().enumerate() {
            validate_constraint(i, c)?;
        }
        if let Some(update) = &self.update {
            update.validate()?;
        }
        if let Some(health) = &self.healthcheck {
            health.validate()?;
        }
        if let Some(resources) = &self.resources {
            resources.validate()?;
        }
        for key in self.labels.keys() {
            if key.is_empty() || key.starts_with("ledgerops.") {
                return Err(SpecError::field(
                    format!("labels.{key}"),
                    "label keys must be non-empty; the ledgerops. prefix is reserved",
                ));
            }
        }
        Ok(())
    }

    fn normalize(&mut self) -> Result<(), SpecError> {
        if let Some(u) = &mut self.update {
            normalize_duration("update.delay", &mut u.delay)?;
            normalize_duration("update.monitor", &mut u.monitor)?;
        }
        if let Some(h) = &mut self.healthcheck {
            normalize_duration("healthcheck.interval", &mut h.interval)?;
            normalize_duration("healthcheck.timeout", &mut h.timeout)?;
            normalize_duration("healthcheck.start_period", &mut h.start_period)?;
        }
        if let Some(r) = &mut self.resources {
            if let Some(cpus) = &mut r.cpus {
                *cpus = canonical_cpus(cpu_nanos(cpus)?);
            }
            if let Some(memory) = &mut r.memory {
                *memory = canonical_memory(memory_bytes(memory)?);
            }
        }
        Ok(())
    }
}

impl UpdatePolicy {
    fn validate(&self) -> Result<(), SpecError> {
        check_duration("update.delay", self.delay.as_deref())?;
        check_duration("update.monitor", self.monitor.as_deref())?;
        one_of("update.failure_action", self.failure_action.as_deref(), &["pause", "continue", "rollback"])?;
        one_of("update.order", self.order.as_deref(), &["stop-first", "start-first"])
    }
}

impl HealthCheck {
    fn validate(&self) -> Result<(), SpecError> {
        match self.test.first().map(String::as_str) {
            Some("NONE") if self.test.len() == 1 => {}
            Some("CMD") if self.test.len() > 1 => {}
            Some("CMD-SHELL") if self.test.len() == 2 => {}
            _ => {
                return Err(SpecError::field(
                    "healthcheck.test",
                    "expected [\"CMD\", arg...], [\"CMD-SHELL\", \"command\"] or [\"NONE\"]",
                ));
            }
        }
        check_duration("healthcheck.interval", self.interval.as_deref())?;
        check_duration("healthcheck.timeout", self.timeout.as_deref())?;
        check_duration("healthcheck.start_period", self.start_period.as_deref())
    }
}

impl Resources {
    fn validate(&self) -> Result<(), SpecError> {
        if let Some(cpus) = &self.cpus {
            cpu_nanos(cpus)?;
        }
        if let Some(memory) = &self.memory {
            memory_bytes(memory)?;
        }
        Ok(())
    }
}

/// `0.5` CPUs as Docker's NanoCPUs.
pub fn cpu_nanos(cpus: &str) -> Result<i64, SpecError> {
    let value: f64 =
        cpus.parse().map_err(|_| SpecError::field("resources.cpus", format!("{cpus:?} is not a number")))?;
    if !(value > 0.0 && value <= 4096.0) {
        return Err(SpecError::field("resources.cpus", format!("{cpus} is not between 0 and 4096")));
    }
    // Bounded above, so the product fits an i64.
    #[allow(clippy::cast_possible_truncation)]
    Ok((value * 1e9).round() as i64)
}

/// `128M`, `1g`, `512k`, `1024`, `64mb`: Docker's memory notation in bytes.
pub fn memory_bytes(memory: &str) -> Result<i64, SpecError> {
    let bad = || SpecError::field("resources.memory", format!("{memory:?} is not a size like 128M, 1G or 512k"));
    let lower = memory.to_ascii_lowercase();
    let trimmed = lower.strip_suffix('b').unwrap_or(&lower);
    let (digits, unit) = trimmed.split_at(trimmed.find(|c: char| !c.is_ascii_digit()).unwrap_or(trimmed.len()));
    let shift = match unit {
        "" => 0,
        "k" => 10,
        "m" => 20,
        "g" => 30,
        "t" => 40,
        _ => return Err(bad()),
    };
    let n: i64 = digits.parse().map_err(|_| bad())?;
    n.checked_mul(1 << shift).filter(|b| *b > 0).ok_or_else(bad)
}

/// `500000000` NanoCPUs as `0.5`: the shortest decimal, so `0.50` and `.5` commit the same.
fn canonical_cpus(nanos: i64) -> String {
    let (whole, fraction) = (nanos / 1_000_000_000, nanos % 1_000_000_000);
    if fraction == 0 { whole.to_string() } else { format!("{whole}.{fraction:09}").trim_end_matches('0').to_owned() }
}

/// Bytes in the largest binary unit that holds them exactly: `134217728` and `128m` become `128M`.
fn canonical_memory(bytes: i64) -> String {
    let unit = [("T", 40), ("G", 30), ("M", 20), ("K", 10)].into_iter().find(|(_, shift)| bytes % (1 << shift) == 0);
    unit.map_or_else(|| bytes.to_string(), |(suffix, shift)| format!("{}{suffix}", bytes >> shift))
}

/// Parses a Docker-style duration (`300ms`, `10s`, `1m30s`).
pub fn parse_duration(field: &str, text: &str) -> Result<Duration, SpecError> {
    humantime::parse_duration(text)
        .map_err(|e| SpecError::field(field, format!("{text:?} is not a duration like 10s, 300ms or 1m30s ({e})")))
}

fn check_duration(field: &str, text: Option<&str>) -> Result<(), SpecError> {
    text.map_or(Ok(()), |t| parse_duration(field, t).map(drop))
}

/// Rewrites a duration in its one canonical spelling, e.g. `90s` -> `1m30s`.
fn normalize_duration(field: &str, text: &mut Option<String>) -> Result<(), SpecError> {
    if let Some(t) = text {
        let d = parse_duration(field, t)?;
        *t = if d.is_zero() { "0s".into() } else { humantime::format_duration(d).to_string().replace(' ', "") };
    }
    Ok(())
}

fn one_of(field: &str, value: Option<&str>, allowed: &[&str]) -> Result<(), SpecError> {
    match value {
        Some(v) if !allowed.contains(&v) => {
            Err(SpecError::field(field, format!("{v:?} is not one of {}", allowed.join(", "))))
        }
        _ => Ok(()),
    }
}

fn no_nul(field: &str, value: &str) -> Result<(), SpecError> {
    if value.contains('\0') { Err(SpecError::field(field, "contains a NUL byte")) } else { Ok(()) }
}

/// Docker's rule for secret and config names: `[a-zA-Z0-9][a-zA-Z0-9_.-]*`, at most 64 bytes.
fn validate_mounts(kind: &str, mounts: &[Mount]) -> Result<(), SpecError> {
    let mut seen = BTreeSet::new();
    for (i, m) in mounts.iter().enumerate() {
        let ok_char = |c: char| c.is_ascii_alphanumeric() || "_.-".contains(c);
        let valid = !m.name.is_empty()
            && m.name.len() <= 64
            && m.name.starts_with(|c: char| c.is_ascii_alphanumeric())
            && m.name.chars().all(ok_char);
        if !valid {
            return Err(SpecError::field(
                format!("{kind}[{i}].name"),
                format!("{:?} is not a Docker object name", m.name),
            ));
        }
        let target = m.target.as_deref().unwrap_or(&m.name);
        if target.is_empty() || target.contains('\0') || !seen.insert(target) {
            return Err(SpecError::field(format!("{kind}[{i}].target"), format!("{target:?} is empty or used twice")));
        }
    }
    Ok(())
}

fn validate_ports(ports: &[Port]) -> Result<(), SpecError> {
    let mut published = BTreeSet::new();
    for (i, p) in ports.iter().enumerate() {
        if p.target == 0 || p.published == Some(0) {
            return Err(SpecError::field(format!("ports[{i}]"), "ports are 1-65535"));
        }
        one_of(&format!("ports[{i}].protocol"), Some(&p.protocol), &["tcp", "udp", "sctp"])?;
        one_of(&format!("ports[{i}].mode"), Some(&p.mode), &["ingress", "host"])?;
        if let Some(port) = p.published
            && !published.insert((port, p.protocol.as_str()))
        {
            return Err(SpecError::field(
                format!("ports[{i}].published"),
                format!("{port}/{} is published twice", p.protocol),
            ));
        }
    }
    Ok(())
}

fn validate_constraint(i: usize, c: &str) -> Result<(), SpecError> {
    let valid = ["==", "!="].iter().any(|op| {
        c.split_once(op).is_some_and(|(l, r)| !l.trim().is_empty() && !r.trim().is_empty() && !r.contains("=="))
    });
    if valid {
        Ok(())
    } else {
        Err(SpecError::field(
            format!("constraints[{i}]"),
            format!("{c:?} is not `attribute==value` or `attribute!=value`"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full() -> SpecBody {
        let mut b = SpecBody::new();
        b.args = vec!["httpd".into(), "-f".into()];
        b.env.insert("MODE".into(), "prod".into());
        b.env.insert("A".into(), "1".into());
        b.secrets.push(Mount { name: "tls-cert".into(), target: Some("tls.pem".into()) });
        b.ports.push(Port { target: 8080, published: Some(80), protocol: "tcp".into(), mode: "ingress".into() });
        b.constraints.push("node.labels.tier==edge".into());
        b.update = Some(UpdatePolicy {
            delay: Some("90s".into()),
            failure_action: Some("rollback".into()),
            ..Default::default()
        });
        b.healthcheck = Some(HealthCheck {
            test: vec!["CMD".into(), "true".into()],
            interval: Some("5000ms".into()),
            ..Default::default()
        });
        b.resources = Some(Resources { cpus: Some("0.5".into()), memory: Some("128M".into()) });
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
        assert!(matches!(SpecBody::decode(br#"{"v":2}"#), Err(SpecError::BadField { field, .. }) if field == "v"));
        assert!(matches!(SpecBody::decode(b"\xff"), Err(SpecError::BadBody(_))));
    }

    #[test]
    fn each_bad_field_is_named() {
        /// Breaks one field of a valid body.
        type Breaker = fn(&mut SpecBody);
        let cases: [(&str, Breaker); 11] = [
            ("env.A=B", |b| drop(b.env.insert("A=B".into(), "x".into()))),
            ("secrets[1].name", |b| b.secrets.push(Mount { name: "-bad".into(), target: None })),
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
    fn sizes_and_cpus_use_dockers_units() {
        assert_eq!(memory_bytes("128M"), Ok(128 << 20));
        assert_eq!(memory_bytes("1gb"), Ok(1 << 30));
        assert_eq!(memory_bytes("4096"), Ok(4096));
        assert!(memory_bytes("0").is_err() && memory_bytes("1.5G").is_err() && memory_bytes("99999999999T").is_err());
        assert_eq!(cpu_nanos("0.5"), Ok(500_000_000));
    }

    #[test]
    fn sizes_and_cpus_have_one_spelling_on_chain() {
        let spelled = |cpus: &str, memory: &str| {
            let mut b = SpecBody::new();
            b.resources = Some(Resources { cpus: Some(cpus.into()), memory: Some(memory.into()) });
            String::from_utf8(b.encode().expect("valid")).expect("utf-8")
        };
        let canonical = r#"{"v":1,"resources":{"cpus":"0.5","memory":"128M"}}"#;
        assert_eq!(spelled("0.5", "128M"), canonical);
        assert_eq!(spelled(".50", "134217728"), canonical);
        assert_eq!(spelled("0.500", "131072k"), canonical);
        assert_eq!(spelled("2", "1000"), r#"{"v":1,"resources":{"cpus":"2","memory":"1000"}}"#);
        assert_eq!(spelled("1.25", "1gb"), r#"{"v":1,"resources":{"cpus":"1.25","memory":"1G"}}"#);
    }
}
