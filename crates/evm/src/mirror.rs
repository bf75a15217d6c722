//! A local copy of the registry at one block: its code and the storage slots its views read, each
//! proved against the block's state root. The registry's own functions run over it in revm, so a
//! node evaluates the desired state from proved data, and keeps doing so without an RPC.

use ledgerops_chain::header::{UnboundHeader, check_binding};
use std::collections::BTreeMap;

use alloy::eips::{BlockId, RpcBlockHash};
use alloy::primitives::{Address, B256, Bytes, U256, keccak256};
use alloy::providers::Provider;
use futures::{StreamExt, TryStreamExt};
use revm::bytecode::Bytecode;
use serde::{Deserialize, Serialize};

use revm::context::result::ExecutionResult;

use crate::exec::{Executed, Runner, Stop, execute, output};
use crate::proof::{ProofError, verify};

/// Slots asked for in one `eth_getProof` (anvil and geth answer a few hundred quickly).
const PROOF_CHUNK: usize = 256;

/// `eth_getProof` requests sent at once when many slots are proved (a cold start proves two per
/// service): the RPC proves them on its own cores while the answers of the others are verified.
const PROOFS_IN_FLIGHT: usize = 4;

/// What can go wrong building, advancing or querying a mirror.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MirrorError {
    /// The RPC failed or refused.
    #[error("RPC error: {0}")]
    Rpc(String),
    /// The RPC does not know the block (or no longer: a reorg replaced it).
    #[error("the RPC has no block {0}")]
    NoBlock(BlockId),
    /// The RPC's answer does not verify: it is refused, never stored.
    #[error("unverifiable answer from the RPC: {0}")]
    Proof(#[from] ProofError),
    /// Offline, a function needs a slot the mirror has not proved.
    #[error("slot {0} is not in the local mirror (needs the RPC to prove it)")]
    Missing(B256),
    /// The function reverted; the output is the revert data.
    #[error("the call reverted ({} bytes of revert data)", .0.len())]
    Reverted(Bytes),
    /// The EVM stopped the call (out of gas, invalid opcode).
    #[error("the call halted: {0}")]
    Halted(String),
    /// The answer does not decode as the function's return type.
    #[error("cannot decode the answer: {0}")]
    Decode(String),
    /// The RPC's header does not hash to its hash: its state root is not the block's.
    #[error(transparent)]
    Untrusted(#[from] UnboundHeader),
}

fn rpc(error: impl std::fmt::Display) -> MirrorError {
    MirrorError::Rpc(error.to_string())
}

/// The block a mirror is proved at: what revm needs of it, and the root the proofs hold against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockRef {
    /// Its number.
    pub number: u64,
    /// Its hash.
    pub hash: B256,
    /// The state root every proof was checked against.
    pub state_root: B256,
    /// Its timestamp (seconds).
    pub timestamp: u64,
    /// Its gas limit.
    pub gas_limit: u64,
    /// Its base fee.
    pub base_fee: u64,
}

impl BlockRef {
    /// The header of `block` (a number, or a hash to name one branch's block), as the RPC
    /// serves it.
    pub async fn fetch(provider: &impl Provider, block: BlockId) -> Result<Self, MirrorError> {
        let block = provider.get_block(block).await.map_err(rpc)?.ok_or(MirrorError::NoBlock(block))?;
        let h = &block.header;
        // Every proof is checked against this state root: it must be the one the hash covers.
        check_binding(h)?;
        Ok(Self {
            number: h.number,
            hash: h.hash,
            state_root: h.state_root,
            timestamp: h.timestamp,
            gas_limit: h.gas_limit,
            base_fee: h.base_fee_per_gas.unwrap_or_default(),
        })
    }

    /// This block as the block parameter of `eth_getProof` and `eth_getCode`: its hash in
    /// EIP-1898's object form, `{"blockHash": ..., "requireCanonical": false}`. anvil and geth
    /// also take a bare hash string; Hardhat refuses it ("invalid value") and takes only the
    /// object. `false` asks what the bare hash asked: this block's state, canonical or not (a
    /// reorg under it shows in the headers the follower reads, not here).
    fn id(&self) -> BlockId {
        BlockId::Hash(RpcBlockHash::from_hash(self.hash, Some(false)))
    }
}

/// The registry account as proved: everything but its storage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountHead {
    /// The chain it lives on (revm's CHAINID).
    pub chain_id: u64,
    /// The registry's address.
    pub address: Address,
    /// The block it is proved at.
    pub block: BlockRef,
    /// The account's nonce.
    pub nonce: u64,
    /// Its balance.
    pub balance: U256,
    /// Root of its storage trie at `block`.
    pub storage_root: B256,
    /// Its runtime code (hashes to the proved code hash).
    pub code: Bytes,
}

/// The registry's code and proved storage at one block.
#[derive(Debug, Clone)]
pub struct Mirror {
    head: AccountHead,
    /// The code, analysed once for every call.
    bytecode: Bytecode,
    slots: BTreeMap<B256, U256>,
    /// Slots proved with a new value since [`Mirror::take_changed`] last ran.
    changed: Vec<B256>,
    /// Slots dropped by [`Mirror::forget`] since [`Mirror::take_forgotten`] last ran.
    forgotten: Vec<B256>,
}

impl Mirror {
    /// The registry at `address` as of `block` (a number, or a hash): account and code proved,
    /// no storage yet. Every request after the header names the header's hash, so that all the
    /// answers are about that one block even when a reorg gives its number to another.
    pub async fn at(
        provider: &impl Provider,
        address: Address,
        block: impl Into<BlockId>,
    ) -> Result<Self, MirrorError> {
        let chain_id = provider.get_chain_id().await.map_err(rpc)?;
        let block = BlockRef::fetch(provider, block.into()).await?;
        let proof = provider.get_proof(address, Vec::new()).block_id(block.id()).await.map_err(rpc)?;
        let account = verify(block.state_root, address, &proof)?;
        let code = provider.get_code_at(address).block_id(block.id()).await.map_err(rpc)?;
        let got = keccak256(&code);
        if got != account.code_hash {
            return Err(ProofError::Code { address, got, proved: account.code_hash }.into());
        }
        let head = AccountHead {
            chain_id,
            address,
            block,
            nonce: account.nonce,
            balance: account.balance,
            storage_root: account.storage_root,
            code,
        };
        Ok(Self::from_parts(head, []))
    }

    /// A mirror from parts kept earlier (a node's store): trusted as it was verified when kept.
    pub fn from_parts(head: AccountHead, slots: impl IntoIterator<Item = (B256, U256)>) -> Self {
        let bytecode = Bytecode::new_raw(head.code.clone());
        Self { head, bytecode, slots: slots.into_iter().collect(), changed: Vec::new(), forgotten: Vec::new() }
    }

    /// The code as revm runs it.
    pub(crate) fn bytecode(&self) -> &Bytecode {
        &self.bytecode
    }

    /// The account, code and block.
    pub fn head(&self) -> &AccountHead {
        &self.head
    }

    /// The block the mirror is proved at.
    pub fn block(&self) -> &BlockRef {
        &self.head.block
    }

    /// The proved slots.
    pub fn slots(&self) -> &BTreeMap<B256, U256> {
        &self.slots
    }

    /// The slots proved with a new value (or for the first time) since the last call: what a
    /// store writes to stay in step, without rewriting the slots that did not change.
    pub fn take_changed(&mut self) -> Vec<(B256, U256)> {
        let mut slots = std::mem::take(&mut self.changed);
        slots.sort_unstable();
        slots.dedup();
        slots.into_iter().filter_map(|slot| Some((slot, *self.slots.get(&slot)?))).collect()
    }

    /// Stops holding `slots`: a holder that no longer reads them spares proving them again at
    /// every block (each held slot is re-proved whenever the registry's storage changes). A view
    /// that reads one later proves it again.
    pub fn forget(&mut self, slots: &[B256]) {
        for slot in slots {
            if self.slots.remove(slot).is_some() {
                self.forgotten.push(*slot);
            }
        }
    }

    /// The slots forgotten since the last call: what a store deletes to stay in step.
    pub fn take_forgotten(&mut self) -> Vec<B256> {
        let forgotten = std::mem::take(&mut self.forgotten);
        forgotten.into_iter().filter(|slot| !self.slots.contains_key(slot)).collect()
    }

    /// Proves `slots` at the mirror's block and keeps them.
    pub async fn prove(&mut self, provider: &impl Provider, slots: &[B256]) -> Result<(), MirrorError> {
        let values = self.fetch(provider, &self.head.block, self.head.storage_root, slots).await?;
        self.keep(values);
        Ok(())
    }

    /// `slots` at `block`, each proved against `storage_root` (the registry's at that block).
    async fn fetch(
        &self,
        provider: &impl Provider,
        block: &BlockRef,
        storage_root: B256,
        slots: &[B256],
    ) -> Result<Vec<(B256, U256)>, MirrorError> {
        let address = self.head.address;
        // Built before they are polled: a closure handing out borrowing futures to the stream
        // makes the whole future lose `Send` (the compiler cannot prove it for every lifetime).
        let requests: Vec<_> = slots
            .chunks(PROOF_CHUNK)
            .map(|chunk| {
                let request = provider.get_proof(address, chunk.to_vec()).block_id(block.id());
                async move {
                    let proof = request.await.map_err(rpc)?;
                    let account = verify(block.state_root, address, &proof)?;
                    if account.storage_root != storage_root {
                        return Err(MirrorError::Rpc(format!("block {} changed under the mirror", block.number)));
                    }
                    Ok::<_, MirrorError>(account.storage)
                }
            })
            .collect();
        let proved: Vec<_> = futures::stream::iter(requests).buffered(PROOFS_IN_FLIGHT).try_collect().await?;
        Ok(proved.into_iter().flatten().collect())
    }

    /// Keeps proved values, noting the ones that changed.
    fn keep(&mut self, values: Vec<(B256, U256)>) {
        for (slot, value) in values {
            if self.slots.insert(slot, value) != Some(value) {
                self.changed.push(slot);
            }
        }
    }

    /// Moves the mirror to `block` (a number, or a hash: after a reorg the same number names
    /// another block): the account is proved again there and, when its storage root changed,
    /// every slot held (one `eth_getProof` per 256), so that no value is older than the block.
    /// On an error the mirror stays where it was.
    pub async fn advance(&mut self, provider: &impl Provider, block: impl Into<BlockId>) -> Result<(), MirrorError> {
        let block = BlockRef::fetch(provider, block.into()).await?;
        let proof = provider.get_proof(self.head.address, Vec::new()).block_id(block.id()).await.map_err(rpc)?;
        let account = verify(block.state_root, self.head.address, &proof)?;
        if account.code_hash != keccak256(&self.head.code) {
            return Err(MirrorError::Rpc(format!("the registry's code changed at block {}", block.number)));
        }
        let values = if account.storage_root == self.head.storage_root {
            Vec::new()
        } else {
            let held: Vec<B256> = self.slots.keys().copied().collect();
            self.fetch(provider, &block, account.storage_root, &held).await?
        };
        self.head = AccountHead {
            block,
            nonce: account.nonce,
            balance: account.balance,
            storage_root: account.storage_root,
            ..self.head.clone()
        };
        self.keep(values);
        Ok(())
    }

    /// Runs `calldata` from `caller` over the mirror, proving each slot it needs that the mirror
    /// does not hold yet (a fork of the chain at the mirror's block, with every read verified).
    pub async fn execute(
        &mut self,
        provider: &impl Provider,
        caller: Address,
        calldata: Bytes,
    ) -> Result<Executed, MirrorError> {
        let mut last_missing = None;
        loop {
            match execute(self, caller, calldata.clone()) {
                Err(Stop::Missing(slot)) if last_missing != Some(slot) => {
                    self.prove(provider, &[slot]).await?;
                    last_missing = Some(slot);
                }
                Err(Stop::Missing(slot)) => return Err(MirrorError::Missing(slot)),
                Err(Stop::Evm(reason)) => return Err(MirrorError::Halted(reason)),
                Ok(executed) => return Ok(executed),
            }
        }
    }

    /// Proves, in batches, every slot the given calls read that the mirror lacks: one
    /// `eth_getProof` per few hundred slots instead of one per slot as [`Mirror::view`] would.
    /// Calls whose reads depend on earlier reads are run again until nothing is missing.
    pub async fn prove_for(&mut self, provider: &impl Provider, calls: &[Bytes]) -> Result<usize, MirrorError> {
        let mut proved = 0;
        let mut last: Vec<B256> = Vec::new();
        loop {
            // One EVM for the round, dropped before the await (it is not Send).
            let mut missing: Vec<B256> = {
                let mut runner = Runner::new(self);
                calls
                    .iter()
                    .filter_map(|calldata| match runner.view(calldata.clone()) {
                        Err(Stop::Missing(slot)) => Some(slot),
                        _ => None,
                    })
                    .collect()
            };
            missing.sort_unstable();
            missing.dedup();
            if missing.is_empty() {
                return Ok(proved);
            }
            if missing == last {
                // The RPC answered without the slots asked for.
                return Err(MirrorError::Missing(missing[0]));
            }
            self.prove(provider, &missing).await?;
            proved += missing.len();
            last = missing;
        }
    }

    /// Keeps what a simulated transaction wrote, so the next one runs after it. The mirror then
    /// holds a state no block has: for simulations (`ledgerops plan`) on a copy, never for a node.
    pub fn apply_writes(&mut self, executed: &Executed) {
        self.slots.extend(executed.writes.iter().copied());
    }

    /// Calls a view of the registry in revm, proving missing slots through `provider`.
    pub async fn view<C: alloy::sol_types::SolCall>(
        &mut self,
        provider: &impl Provider,
        call: &C,
    ) -> Result<C::Return, MirrorError> {
        let executed = self.execute(provider, Address::ZERO, call.abi_encode().into()).await?;
        decode::<C>(&executed.result)
    }

    /// Calls a view of the registry in revm over what the mirror holds.
    pub fn view_offline<C: alloy::sol_types::SolCall>(&self, call: &C) -> Result<C::Return, MirrorError> {
        self.session().view(call)
    }

    /// Runs many views over what the mirror holds through one EVM (much cheaper per view).
    pub fn session(&self) -> Session<'_> {
        Session { runner: Runner::new(self) }
    }
}

/// Views run over a mirror through one EVM, without an RPC.
pub struct Session<'a> {
    runner: Runner<'a>,
}

impl Session<'_> {
    /// Calls a view of the registry.
    pub fn view<C: alloy::sol_types::SolCall>(&mut self, call: &C) -> Result<C::Return, MirrorError> {
        let result = self.runner.view(call.abi_encode().into()).map_err(|stop| match stop {
            Stop::Missing(slot) => MirrorError::Missing(slot),
            Stop::Evm(reason) => MirrorError::Halted(reason),
        })?;
        decode::<C>(&result)
    }
}

fn decode<C: alloy::sol_types::SolCall>(result: &ExecutionResult) -> Result<C::Return, MirrorError> {
    let output = output(result).map_err(|e| match e {
        crate::exec::Failure::Reverted(data) => MirrorError::Reverted(data),
        crate::exec::Failure::Halted(reason) => MirrorError::Halted(reason),
    })?;
    C::abi_decode_returns(output).map_err(|e| MirrorError::Decode(e.to_string()))
}
