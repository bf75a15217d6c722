//! One call run in revm over a [`Mirror`]: the registry's code with the proved storage as its
//! only state. A slot the mirror has not proved stops the call (it is never read as zero).

use alloy::primitives::{Address, B256, Bytes, Log, TxKind, U256};
use revm::bytecode::Bytecode;
use revm::context::result::{EVMError, ExecutionResult, Output};
use revm::context::{Context, TxEnv};
use revm::database_interface::DBErrorMarker;
use revm::handler::{MainnetContext, MainnetEvm};
use revm::primitives::hardfork::SpecId;
use revm::state::AccountInfo;
use revm::{Database, ExecuteEvm, MainBuilder, MainContext, SystemCallEvm};

use crate::mirror::Mirror;

/// The hardfork calls run under: anvil's default (`latest`), and the registry is compiled for
/// Prague, whose gas schedule Osaka keeps for everything the registry does.
pub const SPEC: SpecId = SpecId::OSAKA;

/// Gas a call may use: Osaka's per-transaction cap (EIP-7825), far above any registry function.
const CALL_GAS: u64 = 1 << 24;

/// Why a call did not produce a result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Stop {
    /// It read a slot the mirror does not hold.
    Missing(B256),
    /// revm refused the transaction or failed.
    Evm(String),
}

/// A call that ran to the end: success, revert or halt.
#[derive(Debug, Clone)]
pub struct Executed {
    /// What revm returned.
    pub result: ExecutionResult,
    /// The registry's slots it would change, with their new values.
    pub writes: Vec<(B256, U256)>,
}

/// A call that did not succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// REVERT, with its data (a custom error, decodable with the registry's ABI).
    Reverted(Bytes),
    /// Out of gas, an invalid opcode, a stack error.
    Halted(String),
}

impl Executed {
    /// Gas the transaction would use, intrinsic gas and refunds included (a receipt's gasUsed).
    pub fn gas_used(&self) -> u64 {
        self.result.tx_gas_used()
    }

    /// The logs it would emit (none unless it succeeds).
    pub fn logs(&self) -> &[Log] {
        self.result.logs()
    }

    /// The returned data, or why there is none.
    pub fn success(&self) -> Result<&Bytes, Failure> {
        output(&self.result)
    }
}

/// The data a call returned, or why there is none.
pub(crate) fn output(result: &ExecutionResult) -> Result<&Bytes, Failure> {
    match result {
        ExecutionResult::Success { output: Output::Call(data) | Output::Create(data, _), .. } => Ok(data),
        ExecutionResult::Revert { output, .. } => Err(Failure::Reverted(output.clone())),
        ExecutionResult::Halt { reason, .. } => Err(Failure::Halted(format!("{reason:?}"))),
    }
}

/// The slot was not proved.
#[derive(Debug, thiserror::Error)]
#[error("slot {0} is not proved")]
struct NotProved(B256);

impl DBErrorMarker for NotProved {}

/// The mirror as revm's state: the registry's account, its proved slots, nothing else.
struct MirrorDb<'a> {
    mirror: &'a Mirror,
}

impl Database for MirrorDb<'_> {
    type Error = NotProved;

    fn basic(&mut self, address: Address) -> Result<Option<AccountInfo>, NotProved> {
        let head = self.mirror.head();
        if address != head.address {
            return Ok(None);
        }
        let code = self.mirror.bytecode().clone();
        Ok(Some(AccountInfo {
            balance: head.balance,
            nonce: head.nonce,
            code_hash: code.hash_slow(),
            account_id: None,
            code: Some(code),
        }))
    }

    fn code_by_hash(&mut self, _code_hash: B256) -> Result<Bytecode, NotProved> {
        // basic() hands the code over with the account, so revm never asks by hash.
        Ok(self.mirror.bytecode().clone())
    }

    fn storage(&mut self, address: Address, index: U256) -> Result<U256, NotProved> {
        if address != self.mirror.head().address {
            return Ok(U256::ZERO);
        }
        let slot = B256::from(index);
        self.mirror.slots().get(&slot).copied().ok_or(NotProved(slot))
    }

    fn block_hash(&mut self, _number: u64) -> Result<B256, NotProved> {
        // The registry never reads block hashes.
        Ok(B256::ZERO)
    }
}

/// One EVM over a mirror, reused across calls: building the context costs more than running a
/// registry view, so a node evaluating many services runs them all through one [`Runner`].
pub(crate) struct Runner<'a> {
    evm: MainnetEvm<MainnetContext<MirrorDb<'a>>>,
    address: Address,
    chain_id: u64,
}

impl<'a> Runner<'a> {
    /// An EVM at the mirror's block, with the mirror as its only state.
    pub(crate) fn new(mirror: &'a Mirror) -> Self {
        let head = mirror.head();
        let (chain_id, block) = (head.chain_id, head.block);
        let evm = Context::mainnet()
            .with_db(MirrorDb { mirror })
            .modify_cfg_chained(|cfg| {
                cfg.set_spec_and_mainnet_gas_params(SPEC);
                cfg.chain_id = chain_id;
                cfg.disable_nonce_check = true;
            })
            .modify_block_chained(|b| {
                b.number = U256::from(block.number);
                b.timestamp = U256::from(block.timestamp);
                b.gas_limit = block.gas_limit.max(CALL_GAS);
                b.basefee = 0;
            })
            .build_mainnet();
        Self { evm, address: head.address, chain_id }
    }

    /// Runs a view: as a system call (no transaction checks, no fee or nonce handling), which
    /// halves the cost of a cheap view. Its gas is not a transaction's; [`Runner::run`] gives that.
    pub(crate) fn view(&mut self, calldata: Bytes) -> Result<ExecutionResult, Stop> {
        match self.evm.system_call_with_caller(Address::ZERO, self.address, calldata) {
            Ok(done) => Ok(done.result),
            Err(EVMError::Database(NotProved(slot))) => Err(Stop::Missing(slot)),
            Err(other) => Err(Stop::Evm(other.to_string())),
        }
    }

    /// Runs one call from `caller` to the registry with `calldata`.
    pub(crate) fn run(&mut self, caller: Address, calldata: Bytes) -> Result<Executed, Stop> {
        let tx = TxEnv::builder()
            .caller(caller)
            .kind(TxKind::Call(self.address))
            .data(calldata)
            .gas_limit(CALL_GAS)
            .gas_price(0)
            .chain_id(Some(self.chain_id))
            .build_fill();
        match self.evm.transact(tx) {
            Ok(done) => {
                let writes = done
                    .state
                    .get(&self.address)
                    .map(|account| {
                        let changed = account.storage.iter().filter(|(_, slot)| slot.is_changed());
                        changed.map(|(index, slot)| (B256::from(*index), slot.present_value)).collect()
                    })
                    .unwrap_or_default();
                Ok(Executed { result: done.result, writes })
            }
            Err(EVMError::Database(NotProved(slot))) => Err(Stop::Missing(slot)),
            Err(other) => Err(Stop::Evm(other.to_string())),
        }
    }
}

/// Runs one call from `caller` to the registry with `calldata`, at the mirror's block.
pub(crate) fn execute(mirror: &Mirror, caller: Address, calldata: Bytes) -> Result<Executed, Stop> {
    Runner::new(mirror).run(caller, calldata)
}
