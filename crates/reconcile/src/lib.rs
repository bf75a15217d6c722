//! The node's pure core, no I/O: the registry's state folded from its events
//! ([`registry`]), what this node's site should run ([`desired`]), what its Swarm runs
//! ([`observed`]), and the steps between the two ([`plan`]), comparing only what matters
//! ([`workload`]). The chain and Swarm adapters feed it; it is tested on its own.

pub mod desired;
pub mod health;
pub mod observed;
pub mod plan;
pub mod registry;
pub mod workload;

pub use desired::{Desired, desired_for, swarm_name};
pub use health::{Rollout, Verdict, judge};
pub use observed::{Observed, Ownership, UpdateState, by_service};
pub use plan::{Held, Plan, Step, UpdateReason, plan};
pub use registry::{FoldError, RegistryState, ServiceRecord};
pub use workload::Workload;
