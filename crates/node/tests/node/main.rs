//! End-to-end tests of `ledgerops-node` against a real anvil and the real dockerd in swarm mode
//! that `scripts/test` starts. One binary, tests run one at a time (they share the Swarm).

mod burst;
mod checkpoint;
mod config;
mod deploy;
mod engine_hung;
mod engine_restart;
mod faults;
mod fleet;
#[allow(unreachable_pub)] // shared by the test modules
mod harness;
mod hostile;
mod images;
mod lease;
mod lifecycle;
mod membership;
mod package;
mod recovery;
mod registries;
mod reorg;
mod report;
#[allow(unreachable_pub)] // shared by the test modules
mod rpc;
mod shipped;
mod stack;
mod verify;
mod votes;
mod witness;
