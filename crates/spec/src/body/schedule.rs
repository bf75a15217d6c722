//! How Swarm schedules a service: its mode, how revisions roll out and back, when tasks restart,
//! the resources they are limited to and reserve, and where in a site they may run.

use serde::{Deserialize, Serialize};

use super::units::{
    canonical_cpus, canonical_memory, check_duration, cpu_nanos, memory_bytes, normalize_duration, one_of, plain,
};
use crate::SpecError;

/// The service modes besides `replicated`, the default (which the body leaves out).
pub const MODES: [&str; 3] = ["global", "replicated-job", "global-job"];

/// Swarm's update or rollback config.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdatePolicy {
    /// Tasks updated at once (0: all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parallelism: Option<u64>,
    /// Pause between batches, e.g. `10s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay: Option<String>,
    /// `pause`, `continue` or (updates only) `rollback`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_action: Option<String>,
    /// How long each task is watched for failure after it starts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monitor: Option<String>,
    /// `stop-first` or `start-first`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<String>,
    /// Share of failed tasks tolerated during the update, `0` to `1` (format 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_failure_ratio: Option<String>,
}

/// When Swarm restarts a task (format 2).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RestartPolicy {
    /// `none`, `on-failure` or `any` (Swarm's default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    /// Wait between restarts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay: Option<String>,
    /// Restarts before giving up (absent: no limit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_attempts: Option<u64>,
    /// Window in which restarts are counted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<String>,
}

/// CPU and memory, as a limit or a reservation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resources {
    /// CPUs as a decimal, e.g. `0.5`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpus: Option<String>,
    /// Memory with Docker's units, e.g. `128M`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<String>,
    /// Most processes in a task (limits only, format 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pids: Option<u64>,
}

impl UpdatePolicy {
    /// Checks the policy at `field` (`update` or `rollback`, which refuses `rollback` as its own
    /// failure action, as Swarm does).
    pub(crate) fn validate(&self, field: &str) -> Result<(), SpecError> {
        check_duration(&format!("{field}.delay"), self.delay.as_deref())?;
        check_duration(&format!("{field}.monitor"), self.monitor.as_deref())?;
        let actions: &[&str] =
            if field == "rollback" { &["pause", "continue"] } else { &["pause", "continue", "rollback"] };
        one_of(&format!("{field}.failure_action"), self.failure_action.as_deref(), actions)?;
        one_of(&format!("{field}.order"), self.order.as_deref(), &["stop-first", "start-first"])?;
        if let Some(ratio) = &self.max_failure_ratio {
            failure_ratio(&format!("{field}.max_failure_ratio"), ratio)?;
        }
        Ok(())
    }

    pub(crate) fn normalize(&mut self, field: &str) -> Result<(), SpecError> {
        normalize_duration(&format!("{field}.delay"), &mut self.delay)?;
        normalize_duration(&format!("{field}.monitor"), &mut self.monitor)?;
        if let Some(ratio) = &mut self.max_failure_ratio {
            *ratio = failure_ratio(&format!("{field}.max_failure_ratio"), ratio)?.to_string();
        }
        Ok(())
    }

    /// True when a field of format 2 is set.
    pub(crate) fn uses_v2(&self) -> bool {
        self.max_failure_ratio.is_some()
    }
}

/// A failure ratio between 0 and 1.
pub fn failure_ratio(field: &str, text: &str) -> Result<f64, SpecError> {
    text.parse::<f64>()
        .ok()
        .filter(|r| (0.0..=1.0).contains(r))
        .ok_or_else(|| SpecError::field(field, format!("{text:?} is not a ratio between 0 and 1")))
}

impl RestartPolicy {
    pub(crate) fn validate(&self) -> Result<(), SpecError> {
        one_of("restart.condition", self.condition.as_deref(), &["none", "on-failure", "any"])?;
        check_duration("restart.delay", self.delay.as_deref())?;
        check_duration("restart.window", self.window.as_deref())
    }

    pub(crate) fn normalize(&mut self) -> Result<(), SpecError> {
        normalize_duration("restart.delay", &mut self.delay)?;
        normalize_duration("restart.window", &mut self.window)
    }
}

impl Resources {
    pub(crate) fn validate(&self, field: &str) -> Result<(), SpecError> {
        let named = |e: SpecError| match e {
            SpecError::BadField { field: inner, reason } => {
                SpecError::field(inner.replacen("resources", field, 1), reason)
            }
            other => other,
        };
        if let Some(cpus) = &self.cpus {
            cpu_nanos(cpus).map_err(named)?;
        }
        if let Some(memory) = &self.memory {
            memory_bytes(memory).map_err(named)?;
        }
        match self.pids {
            Some(_) if field != "resources" => {
                Err(SpecError::field(format!("{field}.pids"), "a pids count is a limit only"))
            }
            Some(0) => Err(SpecError::field(format!("{field}.pids"), "0 means no limit: leave it out")),
            _ => Ok(()),
        }
    }

    pub(crate) fn normalize(&mut self, field: &str) -> Result<(), SpecError> {
        self.validate(field)?;
        if let Some(cpus) = &mut self.cpus {
            *cpus = canonical_cpus(cpu_nanos(cpus)?);
        }
        if let Some(memory) = &mut self.memory {
            *memory = canonical_memory(memory_bytes(memory)?);
        }
        Ok(())
    }
}

/// `attribute==value` or `attribute!=value`, as Swarm parses placement constraints.
pub(crate) fn validate_constraint(i: usize, c: &str) -> Result<(), SpecError> {
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

/// A spread preference's descriptor, e.g. `node.labels.zone`.
pub(crate) fn validate_preference(i: usize, p: &str) -> Result<(), SpecError> {
    let field = format!("preferences[{i}]");
    plain(&field, p)?;
    if p.starts_with("node.") || p.starts_with("engine.") {
        Ok(())
    } else {
        Err(SpecError::field(field, format!("{p:?} is not a node attribute to spread over, e.g. node.labels.zone")))
    }
}
