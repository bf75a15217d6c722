//! Reading how a service's rollout went: Swarm's update state, the revision label, and the
//! tasks that run the current spec (older tasks of a rolling update do not count).

use std::collections::HashMap;

use bollard::models::{TaskSpecContainerSpec, TaskState};
use bollard::query_parameters::ListTasksOptions;
use ledgerops_reconcile::Rollout;
use ledgerops_reconcile::observed::labels;

use crate::{Error, Result, Swarm, update_state};

impl Swarm {
    /// The rollout of the service `swarm_id`, for [`ledgerops_reconcile::judge`].
    pub async fn rollout(&self, swarm_id: &str) -> Result<Rollout> {
        let service = self.docker.inspect_service(swarm_id, None).await.map_err(Error::from_docker)?;
        let spec = service.spec.unwrap_or_default();
        let current = spec.task_template.as_ref().and_then(|t| t.container_spec.clone()).unwrap_or_default();
        let filters = HashMap::from([("service".to_owned(), vec![swarm_id.to_owned()])]);
        let tasks = self
            .docker
            .list_tasks(Some(ListTasksOptions { filters: Some(filters) }))
            .await
            .map_err(Error::from_docker)?;
        let mut rollout = Rollout {
            revision: spec.labels.as_ref().and_then(|l| l.get(labels::REVISION)).and_then(|r| r.parse().ok()),
            update_state: service.update_status.as_ref().and_then(|u| u.state).and_then(update_state),
            update_message: service.update_status.and_then(|u| u.message).unwrap_or_default(),
            replicas: spec
                .mode
                .and_then(|m| m.replicated)
                .and_then(|r| r.replicas)
                .map_or(0, |r| r.max(0).unsigned_abs()),
            ..Rollout::default()
        };
        let mut newest_failure = None;
        for task in
            tasks.iter().filter(|t| runs_spec(t.spec.as_ref().and_then(|s| s.container_spec.as_ref()), &current))
        {
            let status = task.status.as_ref();
            match status.and_then(|s| s.state) {
                Some(TaskState::RUNNING) if task.desired_state == Some(TaskState::RUNNING) => rollout.running += 1,
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
        Ok(rollout)
    }
}

/// A task runs the current spec when its image, command, args and env are the service's.
fn runs_spec(task: Option<&TaskSpecContainerSpec>, current: &TaskSpecContainerSpec) -> bool {
    task.is_some_and(|t| {
        (&t.image, &t.command, &t.args, &t.env) == (&current.image, &current.command, &current.args, &current.env)
    })
}
