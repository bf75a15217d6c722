//! The registry, the CLI and the node on chains as private networks run them rather than on
//! anvil's defaults: an older fork (London) with free gas, on anvil and on a JSON-RPC
//! implementation other than anvil (Hardhat), so that nothing rests on anvil's quirks. No Docker:
//! the node follows and verifies the chain all the same (docs/cli.md#free-gas-chains).

mod cli;
mod lifecycle;

use alloy::node_bindings::Anvil;
use ledgerops_e2e::anvil_path;
use ledgerops_e2e::hardhat::Hardhat;
use lifecycle::{Endpoints, live};

#[tokio::test]
async fn anvil_on_london_with_free_gas() {
    let anvil = Anvil::at(anvil_path())
        .args(["--hardfork", "london", "--gas-price", "0", "--base-fee", "0", "--disable-min-priority-fee"])
        .try_spawn()
        .expect("anvil starts");
    live(&Endpoints { http: anvil.endpoint(), ws: anvil.ws_endpoint() }).await;
}

#[tokio::test]
async fn hardhat_on_london_with_free_gas() {
    let hardhat = Hardhat::start();
    live(&Endpoints { http: hardhat.endpoint(), ws: hardhat.ws_endpoint() }).await;
}
