//! `deploy:`: the mode and replicas, placement, how revisions roll out and back, when tasks
//! restart, and the resources they are limited to and reserve.

use compose_spec::service::Deploy;
use compose_spec::service::deploy::UpdateOrRollbackConfig;
use ledgerops_spec::{Resources, RestartPolicy, SpecBody, UpdatePolicy};

use super::{Context, duration};
use crate::ComposeError;

/// Carries `deploy` into `body`; returns the replica count (0 for a global service).
pub(super) fn carry(deploy: Option<Deploy>, cx: &Context<'_>, body: &mut SpecBody) -> Result<u32, ComposeError> {
    let raw = &cx.raw;
    let mode = raw.mode.clone().filter(|m| m != "replicated");
    let global = matches!(mode.as_deref(), Some("global" | "global-job"));
    body.mode = mode;
    let mut replicas = if global { 0 } else { 1 };
    let mut pids = None;
    if let Some(deploy) = deploy {
        let limits = deploy.resources.as_ref().and_then(|r| r.limits.as_ref());
        pids = match limits.and_then(|l| l.pids) {
            Some(compose_spec::service::Limit::Value(n)) => Some(u64::from(n)),
            Some(compose_spec::service::Limit::Unlimited) | None => None,
        };
        if let Some(n) = deploy.replicas {
            if global {
                return Err(cx.invalid(
                    "deploy.replicas",
                    "a global service runs one task per node: replicas can only be set in replicated mode",
                ));
            }
            replicas = u32::try_from(n).map_err(|_| cx.invalid("deploy.replicas", format!("{n} is too many")))?;
        }
        body.labels = crate::objects::labels(deploy.labels, &format!("{}.deploy", cx.path))?;
        body.endpoint_mode = deploy.endpoint_mode.map(|m| m.to_string());
        if let Some(placement) = deploy.placement {
            body.constraints = placement.constraints;
            body.preferences = placement.preferences.into_iter().filter_map(|p| p.spread).collect();
            body.max_per_node = placement.max_replicas_per_node;
        }
        body.update = deploy.update_config.map(|u| policy(u, &raw.update_failure_action, &raw.update_failure_ratio));
        body.rollback =
            deploy.rollback_config.map(|r| policy(r, &raw.rollback_failure_action, &raw.rollback_failure_ratio));
        body.restart = deploy.restart_policy.map(|r| RestartPolicy {
            condition: r.condition.map(|c| c.as_str().to_owned()),
            delay: r.delay.map(duration),
            max_attempts: r.max_attempts,
            window: r.window.map(duration),
        });
    }
    // A policy whose only key was read around compose_spec still counts.
    if body.update.is_none() && (raw.update_failure_action.is_some() || raw.update_failure_ratio.is_some()) {
        body.update =
            Some(policy(UpdateOrRollbackConfig::default(), &raw.update_failure_action, &raw.update_failure_ratio));
    }
    if body.rollback.is_none() && (raw.rollback_failure_action.is_some() || raw.rollback_failure_ratio.is_some()) {
        body.rollback =
            Some(policy(UpdateOrRollbackConfig::default(), &raw.rollback_failure_action, &raw.rollback_failure_ratio));
    }
    let limits = Resources { cpus: raw.limit_cpus.clone(), memory: raw.limit_memory.clone(), pids };
    body.resources = (limits != Resources::default()).then_some(limits);
    let reservations = Resources { cpus: raw.reserve_cpus.clone(), memory: raw.reserve_memory.clone(), pids: None };
    body.reservations = (reservations != Resources::default()).then_some(reservations);
    Ok(replicas)
}

fn policy(config: UpdateOrRollbackConfig, failure_action: &Option<String>, ratio: &Option<String>) -> UpdatePolicy {
    UpdatePolicy {
        parallelism: config.parallelism,
        delay: config.delay.map(duration),
        failure_action: failure_action.clone(),
        monitor: config.monitor.map(duration),
        order: config.order.map(|o| o.as_str().to_owned()),
        max_failure_ratio: ratio.clone(),
    }
}
