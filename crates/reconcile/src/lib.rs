//! The node's pure core, no I/O: from the registry's state (folded by `ledgerops-registry`), what
//! this node's site should run ([`desired`]), what its Swarm runs ([`observed`]), and the steps
//! between the two ([`plan`]), comparing only what matters ([`workload`]), and whether a rollout
//! took ([`health`]). The chain and Swarm adapters feed it; it is tested on its own.

pub mod desired;
pub mod health;
pub mod objects;
pub mod observed;
pub mod plan;
pub mod workload;

pub use desired::{Desired, NodeRules, desired_for};
pub use health::{Rollout, Verdict, judge};
pub use objects::{ObjectPlan, ObjectStep, ObservedObject, ObservedObjects, StackObjects, plan_objects};
pub use observed::{Foreign, Observed, Ownership, UpdateState, by_service};
pub use plan::{Held, Plan, Step, UpdateReason, plan};
pub use workload::Workload;
