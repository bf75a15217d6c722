//! The node's Prometheus metrics (`/metrics`). Names follow Prometheus conventions and, for the
//! per-service info metric, Argo CD's sync and health vocabulary. No label carries an unbounded
//! value: no hashes, no error strings.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::control::rollouts::Outcome;

/// Labels of `ledgerops_service_info`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ServiceLabels {
    /// Registry namespace.
    pub namespace: String,
    /// Service name in it.
    pub service: String,
    /// Desired revision.
    pub revision: String,
    /// `Synced` or `OutOfSync`.
    pub sync_status: String,
    /// `Healthy`, `Progressing`, `Degraded` or `Missing`.
    pub health_status: String,
}

/// A `result` label: `ok` or `error`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabel {
    /// The result.
    pub result: String,
}

/// A `status` label of attestations: `converged` or `failed`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StatusLabel {
    /// The attested status.
    pub status: String,
}

/// Every metric the node exports.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// One series per managed service, value 1.
    pub service_info: Family<ServiceLabels, Gauge>,
    /// Docker steps taken, by result.
    pub reconcile: Family<ResultLabel, Counter>,
    /// Duration of a reconcile pass.
    pub reconcile_duration: Histogram,
    /// From receiving the block that changed a service to the Docker call that applied it.
    pub event_to_apply: Histogram,
    /// The chain's latest block.
    pub chain_head: Gauge,
    /// Blocks between the chain's head and the node's cursor.
    pub chain_lag: Gauge,
    /// Hand-made changes set back.
    pub drift_corrections: Counter,
    /// Attestations confirmed on chain, by status.
    pub attestations: Family<StatusLabel, Counter>,
    /// Rollback votes confirmed on chain.
    pub rollback_votes: Counter,
    /// Failed RPC requests.
    pub rpc_errors: Counter,
    /// Blocks the RPC endpoints did not agree on (each try counts).
    pub rpc_disagreements: Counter,
    /// RPC answers refused by the node's trust root (a header not bound to its hash, seals, the
    /// checkpoint; each try counts).
    pub rpc_untrusted: Counter,
    /// Failed Docker requests.
    pub docker_errors: Counter,
    /// Docker requests that did not answer within the node's bound (`--docker-timeout`).
    pub docker_hung: Counter,
    /// 1 while this instance holds the Swarm's lease (`--lease`), 0 while it stands by.
    pub lease_held: Gauge,
    /// Services held because their events disagree with the registry's proved state.
    pub held_services: Gauge,
    /// Managed objects on the engine that are not this registry's (another's, or unlabelled).
    pub foreign_objects: Gauge,
    /// Times the logs read disagreed with the registry's proved state.
    pub verify_mismatches: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        let seconds = || Histogram::new(exponential_buckets(0.001, 2.0, 16));
        let metrics = Self {
            registry: Registry::with_prefix("ledgerops"),
            service_info: Family::default(),
            reconcile: Family::default(),
            reconcile_duration: seconds(),
            event_to_apply: seconds(),
            chain_head: Gauge::default(),
            chain_lag: Gauge::default(),
            drift_corrections: Counter::default(),
            attestations: Family::default(),
            rollback_votes: Counter::default(),
            rpc_errors: Counter::default(),
            rpc_disagreements: Counter::default(),
            rpc_untrusted: Counter::default(),
            docker_errors: Counter::default(),
            docker_hung: Counter::default(),
            lease_held: Gauge::default(),
            held_services: Gauge::default(),
            foreign_objects: Gauge::default(),
            verify_mismatches: Counter::default(),
        };
        metrics.register()
    }
}

impl Metrics {
    fn register(mut self) -> Self {
        let r = &mut self.registry;
        r.register("service_info", "Managed services: desired revision, sync and health", self.service_info.clone());
        r.register("reconcile", "Docker steps taken, by result", self.reconcile.clone());
        r.register("reconcile_duration_seconds", "Duration of a reconcile pass", self.reconcile_duration.clone());
        r.register(
            "event_to_apply_seconds",
            "From receiving a block that changed a service to the Docker call applying it",
            self.event_to_apply.clone(),
        );
        r.register("chain_head_block", "The chain's latest block number", self.chain_head.clone());
        r.register("chain_lag_blocks", "Blocks between the chain head and the node's cursor", self.chain_lag.clone());
        r.register("drift_corrections", "Hand-made changes set back", self.drift_corrections.clone());
        r.register("attestations", "Attestations confirmed on chain, by status", self.attestations.clone());
        r.register("rollback_votes", "Rollback votes confirmed on chain", self.rollback_votes.clone());
        r.register("rpc_errors", "Failed RPC requests", self.rpc_errors.clone());
        r.register(
            "rpc_disagreements",
            "Blocks the RPC endpoints did not agree on (nothing from them acted on)",
            self.rpc_disagreements.clone(),
        );
        r.register(
            "rpc_untrusted",
            "RPC answers refused by the node's trust root: headers not bound to their hash, seals, checkpoint",
            self.rpc_untrusted.clone(),
        );
        r.register("docker_errors", "Failed Docker requests", self.docker_errors.clone());
        r.register(
            "docker_hung",
            "Docker requests that did not answer within --docker-timeout (a wedged engine; counted in docker_errors too)",
            self.docker_hung.clone(),
        );
        r.register(
            "lease_held",
            "1 while this instance holds the Swarm's lease (--lease) and acts, 0 while it stands by",
            self.lease_held.clone(),
        );
        r.register(
            "held_services",
            "Services held at their last verified state: the logs read disagree with the registry's proved state",
            self.held_services.clone(),
        );
        r.register(
            "foreign_objects",
            "Managed services, networks, configs and volumes on the engine that are not this registry's: left alone",
            self.foreign_objects.clone(),
        );
        r.register(
            "verify_mismatches",
            "Times the logs read disagreed with the registry's proved state",
            self.verify_mismatches.clone(),
        );
        self
    }

    /// The text exposition format.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }

    /// Counts a confirmed report.
    pub fn reported(&self, outcome: &Outcome) {
        match outcome {
            Outcome::Converged => {
                self.attestations.get_or_create(&StatusLabel { status: "converged".into() }).inc();
            }
            Outcome::Failed(_) => {
                self.attestations.get_or_create(&StatusLabel { status: "failed".into() }).inc();
                self.rollback_votes.inc();
            }
        }
    }

    /// The series names the exposition holds now: a counter `x` as `x_total`, a histogram `x` as
    /// `x_bucket`, `x_sum` and `x_count` (what a dashboard or an alert rule can refer to).
    pub fn names(&self) -> std::collections::BTreeSet<String> {
        let text = self.encode();
        let mut names = std::collections::BTreeSet::new();
        for line in text.lines().filter_map(|l| l.strip_prefix("# TYPE ")) {
            let mut words = line.split_whitespace();
            let (Some(name), Some(kind)) = (words.next(), words.next()) else { continue };
            let suffixes: &[&str] = match kind {
                "counter" => &["_total"],
                "histogram" => &["_bucket", "_sum", "_count"],
                _ => &[""],
            };
            names.extend(suffixes.iter().map(|s| format!("{name}{s}")));
        }
        names
    }

    /// Counts a Docker step.
    pub fn step(&self, ok: bool) {
        let result = if ok { "ok" } else { "error" };
        self.reconcile.get_or_create(&ResultLabel { result: result.into() }).inc();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_metric_is_exported_under_its_documented_name() {
        let metrics = Metrics::default();
        let labels = ServiceLabels {
            namespace: "shop".into(),
            service: "web".into(),
            revision: "2".into(),
            sync_status: "Synced".into(),
            health_status: "Healthy".into(),
        };
        metrics.service_info.get_or_create(&labels).set(1);
        metrics.step(true);
        metrics.reported(&Outcome::Failed("x".into()));
        let names = metrics.names();
        for name in [
            "ledgerops_service_info",
            "ledgerops_reconcile_total",
            "ledgerops_reconcile_duration_seconds_bucket",
            "ledgerops_event_to_apply_seconds_bucket",
            "ledgerops_chain_head_block",
            "ledgerops_chain_lag_blocks",
            "ledgerops_drift_corrections_total",
            "ledgerops_attestations_total",
            "ledgerops_rollback_votes_total",
            "ledgerops_rpc_errors_total",
            "ledgerops_rpc_disagreements_total",
            "ledgerops_rpc_untrusted_total",
            "ledgerops_docker_errors_total",
        ] {
            assert!(names.contains(name), "{name} missing from {names:?}");
        }
        let text = metrics.encode();
        assert!(text.contains("ledgerops_attestations_total{status=\"failed\"} 1"), "{text}");
        assert!(text.contains("health_status=\"Healthy\""), "{text}");
    }
}
