//! `plan` against a real anvil: each simulated transaction is then sent for real, and the two
//! must agree (success or the same revert, the same events, gas within 1%), with nothing sent by
//! the plan itself.

mod world;

use alloy::providers::Provider;
use serde_json::Value;
use world::{ADMIN, DEPLOYER, IMAGE, World, code, stderr};

impl World {
    /// Runs `--json args...` as `signer`; returns the exit code and the document.
    fn doc(&self, signer: usize, args: &[&str]) -> (Option<i32>, Value) {
        let out = self.run(signer, &[&["--json"], args].concat());
        let doc = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{args:?}: {}", stderr(&out)));
        (code(&out), doc)
    }

    async fn block(&self) -> u64 {
        self.chain.registry.provider().get_block_number().await.expect("block number")
    }

    /// Plans `args`, checks nothing was sent, sends the real command; returns both documents.
    async fn plan_then_send(&self, signer: usize, args: &[&str]) -> (Value, Value) {
        let before = self.block().await;
        let (planned_code, plan) = self.doc(signer, &[&["plan"], args].concat());
        assert_eq!(self.block().await, before, "plan sent nothing");
        let (real_code, real) = self.doc(signer, args);
        let entry = &plan["services"][0];
        if entry["result"] == "revert" {
            assert_eq!(planned_code, Some(2), "a revert exits 2: {plan}");
            assert_eq!(real_code, Some(3), "and the real transaction is refused: {real}");
        } else {
            assert_eq!(planned_code, Some(1), "changes exit 1: {plan}");
            assert_eq!(real_code, Some(0), "{real}");
        }
        (plan, real)
    }
}

/// Simulated gas within 1% of the receipt's.
fn assert_gas_close(planned: &Value, real: &Value) {
    let (planned, real) = (planned["gas"].as_u64().expect("planned gas"), real["gas"].as_u64().expect("real gas"));
    let off = planned.abs_diff(real) as f64 / real as f64;
    assert!(off <= 0.01, "planned gas {planned}, real gas {real}");
}

fn events(entry: &Value) -> Vec<String> {
    entry["events"].as_array().expect("events").iter().map(|e| e["event"].as_str().unwrap_or_default().into()).collect()
}

#[tokio::test]
async fn plan_agrees_with_the_real_transaction() {
    let w = World::new().await;
    w.set_up();

    // Create: the plan says which events, what gas; the real deploy matches.
    let deploy = ["deploy", "prod/web", "--image", IMAGE, "--replicas", "2", "--env", "MODE=prod"];
    let (plan, real) = w.plan_then_send(DEPLOYER, &deploy).await;
    let entry = &plan["services"][0];
    assert_eq!(entry["action"], "create");
    assert_eq!(entry["result"], "ok");
    assert_eq!(events(entry), ["ServiceCreated", "RevisionPublished"]);
    assert_eq!(entry["events"][1]["revision"], real["revision"]);
    assert_gas_close(entry, &real);

    // The same spec again: no change, no transaction, exit 0.
    let (same, unchanged) = w.doc(DEPLOYER, &[&["plan"], &deploy[..]].concat());
    assert_eq!(same, Some(0), "{unchanged}");
    assert_eq!(unchanged["services"][0]["action"], "unchanged");
    assert!(unchanged["services"][0].get("gas").is_none());

    // An update: the changed fields, one event.
    let update = ["deploy", "prod/web", "--image", IMAGE, "--replicas", "3", "--env", "MODE=prod"];
    let (plan, real) = w.plan_then_send(DEPLOYER, &update).await;
    let entry = &plan["services"][0];
    assert_eq!(entry["action"], "update");
    assert_eq!(events(entry), ["RevisionPublished"]);
    assert_eq!(entry["events"][0]["revision"], 2);
    let changed: Vec<&str> =
        entry["changes"].as_array().expect("changes").iter().filter_map(|c| c["field"].as_str()).collect();
    assert_eq!(changed, ["replicas"]);
    assert_gas_close(entry, &real);

    // A rollback to the previous revision (found on chain, proved).
    let (plan, real) = w.plan_then_send(DEPLOYER, &["rollback", "prod/web"]).await;
    let entry = &plan["services"][0];
    assert_eq!(entry["events"][0]["to_revision"], 1);
    assert_eq!(real["revision"], 1);
    assert_gas_close(entry, &real);

    // A key without the deployer role: the plan shows the registry's error, and so does the chain.
    let (plan, _) = w.plan_then_send(ADMIN, &["remove", "prod/web"]).await;
    let revert = plan["services"][0]["revert"].as_str().expect("a decoded revert");
    assert!(revert.starts_with("AccessControlUnauthorizedAccount"), "{revert}");
    let real = w.run(ADMIN, &["remove", "prod/web"]);
    assert!(stderr(&real).contains("AccessControlUnauthorizedAccount"), "{}", stderr(&real));

    // Removal by the deployer, simulated with --from and no key at all.
    let deployer = w.chain.account(DEPLOYER).to_string();
    let out = w
        .command(&["--json", "plan", "remove", "prod/web", "--from", &deployer])
        .env("LEDGEROPS_REGISTRY", w.chain.registry.address().to_string())
        .output()
        .expect("runs");
    assert_eq!(code(&out), Some(1), "{}", stderr(&out));
    let plan: Value = serde_json::from_slice(&out.stdout).expect("json");
    let (_, real) = w.doc(DEPLOYER, &["remove", "prod/web"]);
    assert_eq!(events(&plan["services"][0]), ["ServiceRemoved"]);
    assert_gas_close(&plan["services"][0], &real);

    // Nothing to roll back to any more: a clear error, exit 2.
    let out = w.run(DEPLOYER, &["plan", "rollback", "prod/web"]);
    assert_eq!(code(&out), Some(2));
    let out = w.run(DEPLOYER, &["plan", "remove", "prod/web"]);
    assert_eq!(code(&out), Some(2), "removing a removed service would revert");
    assert!(stderr(&out).is_empty() || !stderr(&out).contains("panicked"));
}

#[tokio::test]
async fn plan_apply_simulates_each_transaction_after_the_one_before() {
    let w = World::new().await;
    w.set_up();
    let file = w.dir.path().join("stack.yml");
    let stack = format!(
        "services:\n  web:\n    image: {IMAGE}\n    deploy: {{replicas: 2}}\n  worker:\n    image: {IMAGE}\n    command: run\n"
    );
    std::fs::write(&file, stack).expect("write");
    let file = file.display().to_string();
    let args = ["apply", "-f", &file, "--namespace", "prod"];
    let before = w.block().await;
    let (planned_code, plan) = w.doc(DEPLOYER, &[&["plan"], &args[..]].concat());
    assert_eq!(planned_code, Some(1), "{plan}");
    assert_eq!(w.block().await, before, "plan sent nothing");
    let (_, real) = w.doc(DEPLOYER, &args);
    for (planned, sent) in
        plan["services"].as_array().expect("planned").iter().zip(real["services"].as_array().expect("sent"))
    {
        assert_eq!(planned["service"], sent["service"]);
        assert_eq!(events(planned), ["ServiceCreated", "RevisionPublished"]);
        assert_gas_close(planned, sent);
    }
    // Every audit seq follows the one before: the second publish ran on the first one's state.
    let seqs: Vec<u64> = plan["services"]
        .as_array()
        .expect("planned")
        .iter()
        .flat_map(|s| s["events"].as_array().expect("events").iter().filter_map(|e| e["seq"].as_u64()))
        .collect();
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "{seqs:?}");
}
