//! The containers' process: how it is checked for health, logs, the limits and kernel settings it
//! runs with, and the capabilities it gains or loses.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::units::{check_duration, normalize_duration, plain, word};
use crate::SpecError;

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

/// The logging driver and its options (format 2).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Logging {
    /// e.g. `json-file`, `gelf`, `local`; absent: the engine's default, with these options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    /// The driver's options.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub options: BTreeMap<String, String>,
}

/// A resource limit of the process (format 2).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ulimit {
    /// The soft limit.
    pub soft: i64,
    /// The hard limit, at least the soft one.
    pub hard: i64,
}

impl HealthCheck {
    pub(crate) fn validate(&self) -> Result<(), SpecError> {
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

    pub(crate) fn normalize(&mut self) -> Result<(), SpecError> {
        normalize_duration("healthcheck.interval", &mut self.interval)?;
        normalize_duration("healthcheck.timeout", &mut self.timeout)?;
        normalize_duration("healthcheck.start_period", &mut self.start_period)
    }
}

impl Logging {
    pub(crate) fn validate(&self) -> Result<(), SpecError> {
        if let Some(driver) = &self.driver {
            word("logging.driver", driver)?;
        }
        for (key, value) in &self.options {
            word(&format!("logging.options.{key}"), key)?;
            plain(&format!("logging.options.{key}"), value)?;
        }
        Ok(())
    }
}

pub(crate) fn validate_ulimits(ulimits: &BTreeMap<String, Ulimit>) -> Result<(), SpecError> {
    for (name, limit) in ulimits {
        let field = format!("ulimits.{name}");
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_lowercase()) {
            return Err(SpecError::field(field, "a ulimit is named in lowercase letters, e.g. nofile"));
        }
        if limit.soft > limit.hard || limit.soft < -1 {
            return Err(SpecError::field(field, format!("soft {} above hard {}", limit.soft, limit.hard)));
        }
    }
    Ok(())
}

pub(crate) fn validate_sysctls(sysctls: &BTreeMap<String, String>) -> Result<(), SpecError> {
    for (key, value) in sysctls {
        let field = format!("sysctls.{key}");
        word(&field, key)?;
        if !key.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-/".contains(&b)) {
            return Err(SpecError::field(field, "a sysctl is named like net.core.somaxconn"));
        }
        plain(&field, value)?;
    }
    Ok(())
}

/// A capability as Docker names it after normalising: `CAP_` and upper case (`ALL` stays).
pub fn capability(name: &str) -> String {
    let upper = name.to_ascii_uppercase();
    if upper == "ALL" || upper.starts_with("CAP_") { upper } else { format!("CAP_{upper}") }
}

/// Added or dropped capabilities (`kind`): well-formed, and each only once.
pub(crate) fn validate_capabilities(kind: &str, caps: &[String]) -> Result<(), SpecError> {
    let mut seen = BTreeSet::new();
    for (i, cap) in caps.iter().enumerate() {
        let field = format!("{kind}[{i}]");
        let valid = !cap.is_empty() && cap.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !valid {
            return Err(SpecError::field(field, format!("{cap:?} is not a capability like NET_ADMIN")));
        }
        if !seen.insert(capability(cap)) {
            return Err(SpecError::field(field, format!("{cap:?} is listed twice")));
        }
    }
    Ok(())
}
