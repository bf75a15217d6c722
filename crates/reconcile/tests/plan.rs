//! The plan against a simulated Swarm: each rule by example, then properties over random states
//! (one plan converges; a second plan is empty; nothing unowned or undecidable is touched).

use alloy::primitives::{B256, keccak256};
use ledgerops_reconcile::{Desired, Observed, Ownership, Plan, Step, UpdateReason, UpdateState, Workload, plan};
use proptest::prelude::*;

fn workload(image: u8, replicas: u64) -> Workload {
    Workload { image: format!("app@sha256:{}", format!("{image:02x}").repeat(32)), replicas, ..Workload::default() }
}

fn desired(name: &str, revision: u32, w: Workload) -> Desired {
    Desired {
        id: keccak256(name),
        swarm_name: name.replace('/', "_"),
        revision,
        activation: u64::from(revision),
        spec_hash: keccak256(format!("{name}@{revision}")),
        workload: Ok(w),
        objects: Default::default(),
    }
}

fn running(d: &Desired, revision: u32, w: Workload) -> Observed {
    Observed {
        swarm_id: format!("id-{}", d.swarm_name),
        version: 7,
        swarm_name: d.swarm_name.clone(),
        owner: Some(Ownership {
            service: d.id,
            revision,
            spec_hash: keccak256(format!("{}@{revision}", d.swarm_name.replace('_', "/"))),
        }),
        workload: w,
        update_state: Some(UpdateState::Completed),
    }
}

fn never(_: B256, _: u32) -> bool {
    false
}

/// What Swarm looks like after the plan's steps succeed.
fn carry_out(observed: &mut Vec<Observed>, plan: &Plan) {
    for step in &plan.steps {
        match step {
            Step::Create { desired, workload } | Step::Update { desired, workload, .. } => {
                observed.retain(|o| o.swarm_name != desired.swarm_name);
                observed.push(Observed {
                    swarm_id: format!("id-{}", desired.swarm_name),
                    version: 1,
                    swarm_name: desired.swarm_name.clone(),
                    owner: Some(Ownership {
                        service: desired.id,
                        revision: desired.revision,
                        spec_hash: desired.spec_hash,
                    }),
                    workload: workload.clone(),
                    update_state: Some(UpdateState::Completed),
                });
            }
            Step::Remove { swarm_id, .. } => observed.retain(|o| &o.swarm_id != swarm_id),
        }
    }
}

#[test]
fn creates_what_is_missing_updates_new_revisions_and_removes_what_is_gone() {
    let web = desired("shop/web", 2, workload(1, 3));
    let api = desired("shop/api", 1, workload(2, 1));
    let old = desired("shop/old", 1, workload(3, 1));
    let observed = vec![running(&web, 1, workload(1, 2)), running(&old, 1, workload(3, 1))];
    let p = plan(&[api.clone(), web.clone()], &observed, never);
    assert!(matches!(&p.steps[0], Step::Create { desired, .. } if desired.swarm_name == "shop_api"));
    assert!(matches!(&p.steps[1], Step::Update { reason: UpdateReason::NewRevision { from: 1 }, version: 7, .. }));
    assert!(matches!(&p.steps[2], Step::Remove { swarm_name, .. } if swarm_name == "shop_old"));
    assert_eq!(p.steps.len(), 3);
}

#[test]
fn drift_at_the_same_revision_is_set_back_naming_the_fields() {
    let web = desired("shop/web", 1, workload(1, 3));
    let scaled_by_hand = running(&web, 1, workload(1, 1));
    let p = plan(&[web], &[scaled_by_hand], never);
    assert!(
        matches!(&p.steps[..], [Step::Update { reason: UpdateReason::Drift { fields }, .. }] if fields == &["replicas"])
    );
}

#[test]
fn a_revision_swarm_rolled_back_is_not_applied_again() {
    let web = desired("shop/web", 2, workload(1, 3));
    let mut rolled_back = running(&web, 1, workload(1, 2));
    rolled_back.update_state = Some(UpdateState::RollbackCompleted);
    let applied = |service: B256, revision: u32| service == keccak256("shop/web") && revision == 2;
    let p = plan(std::slice::from_ref(&web), std::slice::from_ref(&rolled_back), applied);
    assert!(p.steps.is_empty(), "{p:?}");
    assert!(p.held[0].reason.contains("Swarm rolled revision 2 back to revision 1"), "{p:?}");
    // Never applied here (e.g. the node's store was lost): apply it.
    assert_eq!(plan(&[web], &[rolled_back], never).steps.len(), 1);
}

#[test]
fn an_invalid_revision_or_damaged_labels_are_held_never_removed() {
    let mut web = desired("shop/web", 2, workload(1, 3));
    web.workload = Err("revision 2 is invalid: ports[0]: ports are 1-65535".into());
    let mut damaged = running(&desired("shop/x", 1, workload(2, 1)), 1, workload(2, 1));
    damaged.owner = None;
    let observed = vec![running(&web, 1, workload(1, 2)), damaged];
    let p = plan(&[web], &observed, never);
    assert!(p.steps.is_empty(), "{p:?}");
    let reasons: Vec<_> = p.held.iter().map(|h| (h.swarm_name.as_str(), h.reason.as_str())).collect();
    assert_eq!(reasons.len(), 2);
    assert!(reasons.iter().any(|(n, r)| *n == "shop_web" && r.contains("invalid")));
    assert!(reasons.iter().any(|(n, r)| *n == "shop_x" && r.contains("damaged")));
}

#[test]
fn duplicates_of_one_service_are_removed_but_one() {
    let web = desired("shop/web", 1, workload(1, 1));
    let mut copy = running(&web, 1, workload(1, 1));
    copy.swarm_id = "other".into();
    copy.swarm_name = "shop_web_copy".into();
    let p = plan(std::slice::from_ref(&web), &[running(&web, 1, workload(1, 1)), copy], never);
    assert!(matches!(&p.steps[..], [Step::Remove { swarm_id, .. }] if swarm_id == "other"));
}

/// A random fleet: desired services, and what Swarm runs (stale, drifted, extra, damaged).
fn fleet() -> impl Strategy<Value = (Vec<Desired>, Vec<Observed>)> {
    let service = (0u8..12, 1u32..4, 0u8..3, 1u64..4, 0u8..6, any::<bool>());
    proptest::collection::vec(service, 0..10).prop_map(|rows| {
        let (mut desired_set, mut observed) = (Vec::new(), Vec::new());
        let mut seen = std::collections::BTreeSet::new();
        for (n, revision, image, replicas, observed_as, invalid) in rows {
            if !seen.insert(n) {
                continue;
            }
            let mut d = desired(&format!("ns/s{n}"), revision, workload(image, replicas));
            match observed_as {
                0 => {}
                1 => observed.push(running(&d, revision, workload(image, replicas))),
                2 => observed.push(running(&d, revision, workload(image, replicas + 1))),
                3 => observed.push(running(&d, revision.saturating_sub(1), workload(image + 1, replicas))),
                4 => {
                    let mut damaged = running(&d, revision, workload(image, replicas));
                    damaged.owner = None;
                    damaged.swarm_name += "_damaged";
                    observed.push(damaged);
                }
                _ => {
                    observed.push(running(&d, revision, workload(image, replicas)));
                    continue; // not desired any more
                }
            }
            if invalid {
                d.workload = Err("invalid".into());
            }
            desired_set.push(d);
        }
        desired_set.sort_by(|a, b| a.swarm_name.cmp(&b.swarm_name));
        (desired_set, observed)
    })
}

proptest! {
    #[test]
    fn one_plan_converges_and_leaves_held_services_as_they_were((desired, observed) in fleet()) {
        let mut swarm = observed.clone();
        let first = plan(&desired, &swarm, never);
        carry_out(&mut swarm, &first);
        let second = plan(&desired, &swarm, never);
        prop_assert!(second.steps.is_empty(), "not converged: {:?}", second.steps);
        for o in observed.iter().filter(|o| o.owner.is_none()) {
            prop_assert!(swarm.contains(o), "a service with damaged labels was touched");
        }
        for d in desired.iter().filter(|d| d.workload.is_err()) {
            let before: Vec<_> = observed.iter().filter(|o| o.owner.is_some_and(|w| w.service == d.id)).collect();
            let after: Vec<_> = swarm.iter().filter(|o| o.owner.is_some_and(|w| w.service == d.id)).collect();
            prop_assert_eq!(before, after, "an invalid revision changed what runs");
        }
        for d in desired.iter().filter(|d| d.workload.is_ok()) {
            let runs: Vec<_> = swarm.iter().filter(|o| o.owner.is_some_and(|w| w.service == d.id)).collect();
            prop_assert_eq!(runs.len(), 1, "one Swarm service per registry service");
            prop_assert_eq!(runs[0].owner.map(|w| w.revision), Some(d.revision));
            prop_assert_eq!(Ok(&runs[0].workload), d.workload.as_ref(), "runs what the registry says");
        }
        let owned_ids: std::collections::BTreeSet<_> = swarm.iter().filter_map(|o| o.owner.map(|w| w.service)).collect();
        let desired_ids: std::collections::BTreeSet<_> = desired.iter().map(|d| d.id).collect();
        prop_assert!(owned_ids.is_subset(&desired_ids), "a service the registry no longer places here still runs");
    }
}
