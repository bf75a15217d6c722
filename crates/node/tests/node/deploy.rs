//! The Grafana dashboard and Prometheus alert rules in `deploy/` parse, and every metric they
//! use is one the node exports (a renamed metric would otherwise leave a dashboard blank and an
//! alert silent).

use std::collections::BTreeSet;

use ledgerops_e2e::repo_root;
use ledgerops_node::control::rollouts::Outcome;
use ledgerops_node::serve::metrics::{Metrics, ServiceLabels};
use serde_json::Value;

/// Every series name the node exports, with each family populated once.
fn exported() -> BTreeSet<String> {
    let metrics = Metrics::default();
    let labels = ServiceLabels {
        namespace: "n".into(),
        service: "s".into(),
        revision: "1".into(),
        sync_status: "Synced".into(),
        health_status: "Healthy".into(),
    };
    metrics.service_info.get_or_create(&labels).set(1);
    metrics.step(true);
    metrics.reported(&Outcome::Converged);
    metrics.names()
}

/// The `ledgerops_*` names in a PromQL expression.
fn used(expr: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = expr;
    while let Some(at) = rest.find("ledgerops_") {
        let tail = &rest[at..];
        let end = tail.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(tail.len());
        names.push(tail[..end].to_owned());
        rest = &tail[end..];
    }
    names
}

#[test]
fn the_dashboard_uses_only_exported_metrics() {
    let text = std::fs::read_to_string(repo_root().join("deploy/grafana/ledgerops-nodes.json")).expect("dashboard");
    let dashboard: Value = serde_json::from_str(&text).expect("valid JSON");
    let exported = exported();
    let exprs: Vec<&str> = dashboard["panels"]
        .as_array()
        .expect("panels")
        .iter()
        .flat_map(|p| p["targets"].as_array().into_iter().flatten())
        .filter_map(|t| t["expr"].as_str())
        .collect();
    assert!(exprs.len() >= 10, "{exprs:?}");
    for expr in exprs {
        let names = used(expr);
        assert!(!names.is_empty(), "{expr} uses no ledgerops metric");
        for name in names {
            assert!(exported.contains(&name), "{name} (in {expr}) is not exported; exported: {exported:?}");
        }
    }
}

#[test]
fn the_alert_rules_parse_and_use_only_exported_metrics() {
    let text = std::fs::read_to_string(repo_root().join("deploy/prometheus/ledgerops-alerts.yml")).expect("rules");
    let rules: serde_yaml::Value = serde_yaml::from_str(&text).expect("valid YAML");
    let exported = exported();
    let mut alerts = BTreeSet::new();
    for group in rules["groups"].as_sequence().expect("groups") {
        for rule in group["rules"].as_sequence().expect("rules") {
            let alert = rule["alert"].as_str().expect("every rule is an alert");
            let expr = rule["expr"].as_str().expect("expr");
            assert!(rule["labels"]["severity"].as_str().is_some(), "{alert} has a severity");
            assert!(rule["annotations"]["summary"].as_str().is_some(), "{alert} has a summary");
            for name in used(expr) {
                assert!(exported.contains(&name), "{alert}: {name} is not exported");
            }
            alerts.insert(alert.to_owned());
        }
    }
    for wanted in ["LedgeropsServiceOutOfSync", "LedgeropsNodeLagging", "LedgeropsRollbackVoted"] {
        assert!(alerts.contains(wanted), "{wanted} missing from {alerts:?}");
    }
}
