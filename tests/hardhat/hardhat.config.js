// Hardhat's node as a private chain runs: the London fork (the oldest the registry's bytecode
// targets, docs/contracts.md#evm-version), free gas (base fee 0, never raised by empty blocks) and
// the chain id the tests expect. Run through scripts/hardhat-node, which the tests start.
// Accounts: Hardhat's defaults, the same mnemonic and keys as anvil's, each with 10,000 ETH.
module.exports = {
  networks: {
    hardhat: {
      chainId: 31337,
      hardfork: "london",
      initialBaseFeePerGas: 0,
      gasPrice: 0,
      // As anvil does: a transaction that reverts is mined, and eth_sendRawTransaction returns its
      // hash (Hardhat's default throws instead, which no production client does).
      throwOnTransactionFailures: false,
    },
  },
};
