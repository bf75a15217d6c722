//! Whether a revision the node applied took: converged, failed, or not yet known.
//!
//! Task counts alone are not enough: after Swarm rolls an update back by itself, the old tasks run
//! and look healthy. So Swarm's update state and the revision label come first, then the tasks
//! that run the current spec, and only after the revision's monitor window.

use std::time::Duration;

use crate::observed::UpdateState;

/// Failed tasks of the current spec after which a revision that never reached its replica count
/// is judged failed (Swarm restarts crashing tasks forever on its own).
pub const FAILED_TASKS_LIMIT: u64 = 3;

/// What Swarm shows of one service's rollout.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rollout {
    /// The ledgerops revision label the service carries now (Swarm's rollback restores the old one).
    pub revision: Option<u32>,
    /// Swarm's update state, when an update happened.
    pub update_state: Option<UpdateState>,
    /// Swarm's message for it.
    pub update_message: String,
    /// Desired tasks: the replicas, a global service's one per node Swarm schedules, or the
    /// completions a job needs.
    pub replicas: u64,
    /// The service runs a job: its tasks complete rather than run.
    pub job: bool,
    /// Tasks of the current spec that completed (jobs).
    pub completed: u64,
    /// Tasks of the current spec that run (a task with a healthcheck runs once healthy).
    pub running: u64,
    /// Tasks of the current spec that failed or were rejected.
    pub failed: u64,
    /// The newest failed task's error.
    pub last_error: String,
    /// The tasks failed because the image's registry refused the pull (`last_error` has its words).
    pub pull_refused: bool,
}

/// The judgement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Not known yet: keep watching.
    Pending,
    /// The revision runs as desired and stayed so for its monitor window.
    Converged,
    /// The revision did not take here; the reason is short enough for the chain.
    Failed(String),
}

/// Judges `revision`, applied `elapsed` ago, whose spec asks Swarm to monitor for `monitor`.
pub fn judge(rollout: &Rollout, revision: u32, elapsed: Duration, monitor: Duration) -> Verdict {
    use UpdateState as S;
    match rollout.update_state {
        Some(S::Updating | S::RollbackStarted) => return Verdict::Pending,
        // A rollback that restored this very revision (after the registry rolled back to it) is fine.
        Some(state @ (S::RollbackCompleted | S::RollbackPaused)) if rollout.revision != Some(revision) => {
            return Verdict::Failed(format!("Swarm {}: {}", state_name(state), rollout.update_message));
        }
        Some(S::Paused) => return Verdict::Failed(format!("Swarm paused the update: {}", rollout.update_message)),
        _ => {}
    }
    if rollout.revision != Some(revision) {
        let runs = rollout.revision.map_or_else(|| "no ledgerops revision".to_owned(), |r| format!("revision {r}"));
        return Verdict::Failed(format!("Swarm runs {runs}, not revision {revision}"));
    }
    if rollout.job && rollout.replicas > 0 && rollout.completed >= rollout.replicas {
        return Verdict::Converged;
    }
    if !rollout.job && rollout.running >= rollout.replicas && elapsed >= monitor {
        return Verdict::Converged;
    }
    if rollout.failed >= FAILED_TASKS_LIMIT.max(rollout.replicas) && rollout.running < rollout.replicas {
        return Verdict::Failed(format!(
            "{} tasks failed, {}/{} running: {}",
            rollout.failed, rollout.running, rollout.replicas, rollout.last_error
        ));
    }
    Verdict::Pending
}

fn state_name(state: UpdateState) -> &'static str {
    match state {
        UpdateState::Updating => "updating",
        UpdateState::Paused => "paused the update",
        UpdateState::Completed => "completed the update",
        UpdateState::RollbackStarted => "is rolling the update back",
        UpdateState::RollbackPaused => "paused the rollback",
        UpdateState::RollbackCompleted => "rolled the update back",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MONITOR: Duration = Duration::from_secs(5);

    fn running(revision: u32, running: u64) -> Rollout {
        Rollout { revision: Some(revision), replicas: 2, running, ..Default::default() }
    }

    #[test]
    fn converged_only_at_full_count_after_the_monitor_window() {
        assert_eq!(judge(&running(2, 2), 2, Duration::from_secs(6), MONITOR), Verdict::Converged);
        assert_eq!(judge(&running(2, 2), 2, Duration::from_secs(1), MONITOR), Verdict::Pending);
        assert_eq!(judge(&running(2, 1), 2, Duration::from_secs(6), MONITOR), Verdict::Pending);
    }

    #[test]
    fn swarms_own_rollback_is_a_failure_even_with_every_task_running() {
        let rolled = Rollout {
            revision: Some(1),
            update_state: Some(UpdateState::RollbackCompleted),
            update_message: "rollback completed".into(),
            ..running(1, 2)
        };
        let verdict = judge(&rolled, 2, Duration::from_secs(60), MONITOR);
        assert_eq!(verdict, Verdict::Failed("Swarm rolled the update back: rollback completed".into()));
        assert!(
            matches!(judge(&running(1, 2), 2, Duration::from_secs(60), MONITOR), Verdict::Failed(r) if r.contains("runs revision 1"))
        );
        // The registry rolled back to revision 1 too: Swarm's earlier rollback now matches it.
        assert_eq!(judge(&rolled, 1, Duration::from_secs(60), MONITOR), Verdict::Converged);
    }

    #[test]
    fn a_job_converges_when_its_tasks_complete_and_fails_when_they_fail() {
        let job = Rollout { revision: Some(1), replicas: 2, job: true, ..Default::default() };
        assert_eq!(
            judge(&Rollout { completed: 1, ..job.clone() }, 1, Duration::from_secs(60), MONITOR),
            Verdict::Pending
        );
        assert_eq!(judge(&Rollout { completed: 2, ..job.clone() }, 1, Duration::ZERO, MONITOR), Verdict::Converged);
        let failing = Rollout { failed: 3, last_error: "exit 1".into(), ..job };
        assert!(matches!(judge(&failing, 1, Duration::ZERO, MONITOR), Verdict::Failed(_)));
    }

    #[test]
    fn crash_looping_tasks_fail_the_revision_and_a_rollout_in_progress_waits() {
        let crashing = Rollout { failed: 3, last_error: "task: non-zero exit (1)".into(), ..running(2, 0) };
        assert!(
            matches!(judge(&crashing, 2, Duration::from_secs(1), MONITOR), Verdict::Failed(r) if r.contains("non-zero exit"))
        );
        let updating = Rollout { update_state: Some(UpdateState::Updating), ..running(2, 2) };
        assert_eq!(judge(&updating, 2, Duration::from_secs(60), MONITOR), Verdict::Pending);
    }
}
