//! Reading how services' rollouts went: Swarm's update state, the revision label, and the tasks
//! that run the current spec (older tasks of a rolling update do not count). All the services a
//! node watches are read together, in two requests per batch, however many there are.

use std::collections::HashMap;

use bollard::models::{Service, Task, TaskSpecContainerSpec, TaskState};
use bollard::query_parameters::{ListServicesOptions, ListTasksOptions};
use ledgerops_reconcile::Rollout;
use ledgerops_reconcile::observed::labels;

use crate::translate::update_state;
use crate::{Result, Swarm};

/// Services per request: keeps the filter in the query string to a few kilobytes.
const BATCH: usize = 100;

impl Swarm {
    /// The rollouts of the services `swarm_ids`, for [`ledgerops_reconcile::judge`]; a service
    /// that no longer exists is absent from the answer.
    pub async fn rollouts(&self, swarm_ids: &[String]) -> Result<HashMap<String, Rollout>> {
        let mut out = HashMap::with_capacity(swarm_ids.len());
        let mut refusals = HashMap::new();
        for batch in swarm_ids.chunks(BATCH) {
            let ids = batch.to_vec();
            let listed = self.docker.list_services(Some(ListServicesOptions {
                filters: Some(HashMap::from([("id".to_owned(), ids.clone())])),
                // Swarm's task counts: a global service's desired count is its own.
                status: Some(true),
            }));
            let services = self.call("service ls", listed).await?;
            let listed = self
                .docker
                .list_tasks(Some(ListTasksOptions { filters: Some(HashMap::from([("service".to_owned(), ids)])) }));
            let tasks = self.call("service ps", listed).await?;
            let mut tasks_of: HashMap<&str, Vec<&Task>> = HashMap::new();
            for task in &tasks {
                if let Some(service) = task.service_id.as_deref() {
                    tasks_of.entry(service).or_default().push(task);
                }
            }
            for service in services {
                // The id filter matches prefixes: keep only the services asked for.
                let Some(id) = service.id.clone().filter(|id| batch.contains(id)) else { continue };
                let tasks = tasks_of.remove(id.as_str()).unwrap_or_default();
                let image = service.spec.as_ref().and_then(|s| s.task_template.as_ref());
                let image = image.and_then(|t| t.container_spec.as_ref()).and_then(|c| c.image.clone());
                let mut rollout = rollout_of(service, &tasks);
                if let Some(image) = image.filter(|_| rollout.last_error.starts_with(NO_SUCH_IMAGE)) {
                    self.explain_pull(&image, &mut rollout, &mut refusals).await;
                }
                out.insert(id, rollout);
            }
        }
        Ok(out)
    }

    /// A task that failed with "No such image" says nothing of why: the engine logs the pull's
    /// error and tries the local image store. Ask the registry through the engine (once per image
    /// per call), and carry its answer.
    async fn explain_pull(&self, image: &str, rollout: &mut Rollout, refusals: &mut HashMap<String, Option<String>>) {
        if !refusals.contains_key(image) {
            refusals.insert(image.to_owned(), self.pull_refusal(image).await);
        }
        if let Some(Some(refusal)) = refusals.get(image) {
            rollout.last_error = format!("the registry refused to hand out {image}: {}", refusal.trim());
            rollout.pull_refused = true;
        }
    }
}

/// How a task's error starts when its image was neither pulled nor found locally.
const NO_SUCH_IMAGE: &str = "No such image";

/// A service's rollout from its inspected state and its tasks.
fn rollout_of(service: Service, tasks: &[&Task]) -> Rollout {
    let spec = service.spec.unwrap_or_default();
    let current = spec.task_template.as_ref().and_then(|t| t.container_spec.clone()).unwrap_or_default();
    let mode = spec.mode.clone().unwrap_or_default();
    let desired_tasks = service.service_status.as_ref().and_then(|s| s.desired_tasks).unwrap_or(0);
    let count = |n: Option<i64>| n.map_or(0, |n| n.max(0).unsigned_abs());
    let replicas = match (&mode.replicated, &mode.replicated_job) {
        (Some(replicated), _) => count(replicated.replicas),
        (_, Some(job)) => count(job.total_completions),
        // Global, and global jobs: one task per node Swarm schedules.
        _ => desired_tasks,
    };
    let mut rollout = Rollout {
        revision: spec.labels.as_ref().and_then(|l| l.get(labels::REVISION)).and_then(|r| r.parse().ok()),
        update_state: service.update_status.as_ref().and_then(|u| u.state).and_then(update_state),
        update_message: service.update_status.and_then(|u| u.message).unwrap_or_default(),
        replicas,
        job: mode.replicated_job.is_some() || mode.global_job.is_some(),
        ..Rollout::default()
    };
    let mut newest_failure = None;
    for task in tasks.iter().filter(|t| runs_spec(t.spec.as_ref().and_then(|s| s.container_spec.as_ref()), &current)) {
        let status = task.status.as_ref();
        match status.and_then(|s| s.state) {
            Some(TaskState::RUNNING) if task.desired_state == Some(TaskState::RUNNING) => rollout.running += 1,
            Some(TaskState::COMPLETE) => rollout.completed += 1,
            Some(TaskState::FAILED | TaskState::REJECTED) => {
                rollout.failed += 1;
                let at = status.and_then(|s| s.timestamp.clone()).map(|t| t.to_string());
                if newest_failure.as_ref().is_none_or(|(newest, _)| at > *newest) {
                    newest_failure = Some((at, status.and_then(|s| s.err.clone()).unwrap_or_default()));
                }
            }
            _ => {}
        }
    }
    rollout.last_error = newest_failure.map(|(_, e)| e).unwrap_or_default();
    rollout
}

/// A task runs the current spec when its image, command, args and env are the service's.
fn runs_spec(task: Option<&TaskSpecContainerSpec>, current: &TaskSpecContainerSpec) -> bool {
    task.is_some_and(|t| {
        (&t.image, &t.command, &t.args, &t.env) == (&current.image, &current.command, &current.args, &current.env)
    })
}
