//! A connection to one registry: checked on connect (reachable, a contract at the address), with
//! every failure turned into a [`ChainError`] that says what went wrong in the user's terms.

use alloy::contract::{CallBuilder, CallDecoder};
use alloy::network::EthereumWallet;
use alloy::primitives::{Address, B256};
use alloy::providers::{DynProvider, PendingTransactionBuilder, Provider, ProviderBuilder};
use alloy::rpc::types::{Log, TransactionReceipt};
use alloy::signers::local::PrivateKeySigner;
use alloy::transports::TransportError;
use alloy::transports::layers::{OrRetryPolicyFn, RateLimitRetryPolicy, RetryBackoffLayer};
use ledgerops_bindings::DeploymentRegistry::{self, DeploymentRegistryErrors, DeploymentRegistryInstance};

use crate::redact::redact_in;
use crate::unreachable;
use crate::{Endpoint, FeeCeiling, Revert};

/// What can go wrong talking to the chain.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    /// The chain asks more per gas than `--max-fee` allows.
    #[error(
        "the chain asks {needed} wei per gas now (base fee and tip), above --max-fee {ceiling} wei: nothing was sent"
    )]
    FeeAboveCeiling {
        /// The base fee plus the suggested tip.
        needed: u128,
        /// The ceiling.
        ceiling: u128,
    },
    /// No answer from the RPC endpoint (down, wrong URL, refused).
    #[error("cannot reach the RPC at {url}: {reason}")]
    Unreachable {
        /// The endpoint.
        url: String,
        /// What the transport said.
        reason: String,
    },
    /// The address holds no code on this chain.
    #[error("no contract at {address} on chain {chain_id}: check --registry and --rpc-url")]
    NoContract {
        /// The registry address given.
        address: Address,
        /// The chain the RPC serves.
        chain_id: u64,
    },
    /// The RPC serves another chain than the one the registry was configured for.
    #[error(
        "the RPC at {url} serves chain {actual}, not the expected chain {expected}: check --rpc-url and --chain-id"
    )]
    WrongChain {
        /// The endpoint.
        url: String,
        /// The chain id asked for.
        expected: u64,
        /// The chain id the RPC reported.
        actual: u64,
    },
    /// The RPC endpoints do not agree on a block: fewer than the quorum give the primary's hash.
    /// Nothing from that block is acted on.
    #[error(
        "the RPC endpoints disagree on block {block}: {agreeing} of {endpoints} give {hash}, {needed} needed \
         ({answers}); nothing from it is acted on"
    )]
    Disagreement {
        /// The block.
        block: u64,
        /// The primary endpoint's hash for it.
        hash: B256,
        /// Endpoints (the primary included) that gave that hash.
        agreeing: usize,
        /// Endpoints asked.
        endpoints: usize,
        /// The quorum.
        needed: usize,
        /// What each other endpoint said.
        answers: String,
    },
    /// An answer of the RPC fails a check of the node's trust root (a header whose fields do not
    /// give its hash, seals, a checkpoint): nothing from it is acted on.
    #[error("not acting on the RPC's answer: {0}")]
    Untrusted(String),
    /// The registry refused the change with one of its custom errors.
    #[error("the registry refused: {0}")]
    Reverted(Revert),
    /// A revert that is not one of the registry's errors (out of gas, a wrong contract).
    #[error("the transaction reverted: {0}")]
    RevertedOther(String),
    /// The sender cannot pay for gas.
    #[error("insufficient funds: the sending account cannot pay for gas")]
    InsufficientFunds,
    /// A transaction needs a key and none was given.
    #[error("no key to sign with: give --private-key or --keystore")]
    NoSigner,
    /// Any other answer the RPC gave.
    #[error("RPC error: {0}")]
    Rpc(String),
}

impl ChainError {
    /// True when trying again later may succeed (the controller's retry policy uses it).
    pub fn is_transient(&self) -> bool {
        // A fee above the ceiling passes: prices fall again.
        matches!(self, Self::Unreachable { .. } | Self::Rpc(_) | Self::FeeAboveCeiling { .. })
    }

    /// Classifies a contract call or transaction error of `endpoint`.
    pub fn from_contract(endpoint: &Endpoint, error: alloy::contract::Error) -> Self {
        if let Some(decoded) = error.as_decoded_interface_error::<DeploymentRegistryErrors>() {
            return Self::Reverted(Revert::from(&decoded));
        }
        match error {
            alloy::contract::Error::TransportError(e) => Self::from_transport(endpoint, e),
            alloy::contract::Error::PendingTransactionError(e) => Self::Rpc(redact_in(&e.to_string(), endpoint.url())),
            other => Self::Rpc(redact_in(&other.to_string(), endpoint.url())),
        }
    }

    /// Classifies an RPC error of `endpoint`; neither its URL's secrets nor its token are in it.
    pub fn from_transport(endpoint: &Endpoint, error: TransportError) -> Self {
        if error.is_transport_error() {
            return Self::Unreachable { url: endpoint.to_string(), reason: unreachable::reason(endpoint, &error) };
        }
        let message = error.as_error_resp().map(|r| r.message.to_string()).unwrap_or_else(|| error.to_string());
        let message = redact_in(&message, endpoint.url());
        // Nodes differ in case: geth says "insufficient funds", anvil "Insufficient funds".
        let lower = message.to_ascii_lowercase();
        if lower.contains("insufficient funds") {
            Self::InsufficientFunds
        } else if lower.contains("revert") {
            Self::RevertedOther(message)
        } else {
            Self::Rpc(message)
        }
    }
}

/// A transaction the chain accepted.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Sent {
    /// Its hash.
    pub tx: B256,
    /// The block that holds it.
    pub block: u64,
    /// Gas it used.
    pub gas: u64,
    /// The logs it emitted.
    #[serde(skip)]
    pub logs: Vec<Log>,
}

impl Sent {
    fn from_receipt(receipt: &TransactionReceipt) -> Self {
        Self {
            tx: receipt.transaction_hash,
            block: receipt.block_number.unwrap_or_default(),
            gas: receipt.gas_used,
            logs: receipt.inner.logs().to_vec(),
        }
    }
}

/// A registry on a chain, called through one provider (signing when a key was given).
#[derive(Debug, Clone)]
pub struct Client {
    /// The endpoint (shown redacted).
    pub endpoint: Endpoint,
    /// The chain's id.
    pub chain_id: u64,
    /// The signing account, when there is one.
    pub sender: Option<Address>,
    /// The registry's bindings.
    pub registry: DeploymentRegistryInstance<DynProvider>,
    /// The most a transaction may pay per gas; none: what the RPC suggests.
    pub max_fee: Option<FeeCeiling>,
}

/// Retries per request: up to [`RETRIES`] times, 100 ms apart, for rate limits and
/// gateway errors (alloy's policy covers 429 and 503; a proxy or load balancer also says 502 or 504).
pub(crate) fn retry_layer() -> RetryBackoffLayer<OrRetryPolicyFn> {
    let gateway = |e: &TransportError| {
        e.as_transport_err().and_then(|k| k.as_http_error()).is_some_and(|h| matches!(h.status, 502 | 504))
    };
    let policy = OrRetryPolicyFn::new(RateLimitRetryPolicy::default(), gateway);
    RetryBackoffLayer::new_with_policy(RETRIES, 100, u64::MAX, policy)
}

/// Tries per request before an error reaches the caller (whose own retry then takes over).
const RETRIES: u32 = 8;

impl Client {
    /// A provider for `endpoint` (http(s) or ws(s)), signing with `signer` when given.
    /// Requests an endpoint answers with 429 (rate limit) or a gateway error (502, 503, 504) are
    /// retried with backoff, so one refused request does not fail a whole read.
    pub async fn provider(
        endpoint: &Endpoint,
        signer: Option<PrivateKeySigner>,
    ) -> Result<(DynProvider, u64), ChainError> {
        let unreachable = |e: TransportError| ChainError::from_transport(endpoint, e);
        let client = endpoint.connect().await.map_err(unreachable)?;
        let provider = match signer {
            Some(s) => ProviderBuilder::new().wallet(EthereumWallet::from(s)).connect_client(client).erased(),
            None => ProviderBuilder::new().connect_client(client).erased(),
        };
        let chain_id = provider.get_chain_id().await.map_err(unreachable)?;
        Ok((provider, chain_id))
    }

    /// Connects to the registry at `address`; fails when nothing answers or no contract is there.
    pub async fn connect(
        endpoint: &Endpoint,
        address: Address,
        signer: Option<PrivateKeySigner>,
    ) -> Result<Self, ChainError> {
        let sender = signer.as_ref().map(PrivateKeySigner::address);
        let (provider, chain_id) = Self::provider(endpoint, signer).await?;
        let code = provider.get_code_at(address).await.map_err(|e| ChainError::from_transport(endpoint, e))?;
        if code.is_empty() {
            return Err(ChainError::NoContract { address, chain_id });
        }
        let registry = DeploymentRegistryInstance::new(address, provider);
        Ok(Self { endpoint: endpoint.clone(), chain_id, sender, registry, max_fee: None })
    }

    /// Caps what each transaction pays per gas (`--max-fee`; 0: a free-gas chain).
    pub fn with_max_fee(mut self, max_fee: Option<FeeCeiling>) -> Self {
        self.max_fee = max_fee;
        self
    }

    /// Deploys a new registry with `admin` as its admin (handed over to another only
    /// `admin_delay_secs` after a transfer starts), signed by `signer`, on chain `expected_chain`
    /// when one is given (checked before anything is sent).
    pub async fn deploy(
        endpoint: &Endpoint,
        signer: PrivateKeySigner,
        admin: Address,
        admin_delay_secs: u64,
        expected_chain: Option<u64>,
        max_fee: Option<FeeCeiling>,
    ) -> Result<(Self, Sent), ChainError> {
        let sender = Some(signer.address());
        let (provider, chain_id) = Self::provider(endpoint, Some(signer)).await?;
        if let Some(expected) = expected_chain.filter(|e| *e != chain_id) {
            return Err(ChainError::WrongChain { url: endpoint.to_string(), expected, actual: chain_id });
        }
        let delay = alloy::primitives::aliases::U48::saturating_from(admin_delay_secs);
        let mut builder = DeploymentRegistry::deploy_builder(provider.clone(), admin, delay).chain_id(chain_id);
        if let Some(ceiling) = max_fee {
            let (max_fee, priority) = ceiling.fees(&provider, endpoint).await?;
            builder = builder.max_fee_per_gas(max_fee).max_priority_fee_per_gas(priority);
        }
        let receipt = builder
            .send()
            .await
            .map_err(|e| ChainError::from_contract(endpoint, e))?
            .get_receipt()
            .await
            .map_err(|e| ChainError::Rpc(redact_in(&e.to_string(), endpoint.url())))?;
        let address = receipt.contract_address.ok_or_else(|| ChainError::RevertedOther("deployment failed".into()))?;
        let sent = Sent::from_receipt(&receipt);
        let registry = DeploymentRegistryInstance::new(address, provider);
        Ok((Self { endpoint: endpoint.clone(), chain_id, sender, registry, max_fee }, sent))
    }

    /// Refuses an RPC that serves another chain than `expected` (when one is configured).
    pub fn expect_chain(self, expected: Option<u64>) -> Result<Self, ChainError> {
        match expected {
            Some(expected) if expected != self.chain_id => {
                Err(ChainError::WrongChain { url: self.endpoint.to_string(), expected, actual: self.chain_id })
            }
            _ => Ok(self),
        }
    }

    /// Sends a registry call as a transaction and waits for its receipt.
    pub async fn send<D: CallDecoder>(&self, call: CallBuilder<&DynProvider, D>) -> Result<Sent, ChainError> {
        let pending = self.submit(call).await?;
        self.confirm(pending).await
    }

    /// Runs a state-changing call as the signer would send it, at the latest block, sending nothing:
    /// the registry's own checks say whether the transaction would be refused, and why.
    pub async fn simulate<D: CallDecoder>(&self, call: CallBuilder<&DynProvider, D>) -> Result<(), ChainError> {
        let sender = self.sender.ok_or(ChainError::NoSigner)?;
        call.from(sender).call().await.map(drop).map_err(|e| ChainError::from_contract(&self.endpoint, e))
    }

    /// The gas `call` takes when the signer sends it now, on the latest state, or the registry's
    /// reason to refuse it. Another sender's transaction landing first can change it.
    pub async fn estimate<D: CallDecoder + Clone>(
        &self,
        call: &CallBuilder<&DynProvider, D>,
    ) -> Result<u64, ChainError> {
        let sender = self.sender.ok_or(ChainError::NoSigner)?;
        call.clone().from(sender).estimate_gas().await.map_err(|e| ChainError::from_contract(&self.endpoint, e))
    }

    /// Hands a transaction to the RPC without waiting for it to be mined, so several can share a
    /// block; [`Client::confirm`] waits for each.
    pub async fn submit<D: CallDecoder>(
        &self,
        call: CallBuilder<&DynProvider, D>,
    ) -> Result<PendingTransactionBuilder<alloy::network::Ethereum>, ChainError> {
        if self.sender.is_none() {
            return Err(ChainError::NoSigner);
        }
        // Signed for the chain checked at connect (and against --chain-id), not for whatever chain
        // id the RPC names when the transaction is filled in.
        let mut call = call.chain_id(self.chain_id);
        if let Some(ceiling) = self.max_fee {
            let (max_fee, priority) = ceiling.fees(self.registry.provider(), &self.endpoint).await?;
            call = call.max_fee_per_gas(max_fee).max_priority_fee_per_gas(priority);
        }
        call.send().await.map_err(|e| ChainError::from_contract(&self.endpoint, e))
    }

    /// Waits for a submitted transaction's receipt; a reverted one is an error.
    pub async fn confirm(
        &self,
        pending: PendingTransactionBuilder<alloy::network::Ethereum>,
    ) -> Result<Sent, ChainError> {
        let receipt =
            pending.get_receipt().await.map_err(|e| ChainError::Rpc(redact_in(&e.to_string(), self.endpoint.url())))?;
        if !receipt.status() {
            return Err(ChainError::RevertedOther(format!("transaction {} reverted", receipt.transaction_hash)));
        }
        Ok(Sent::from_receipt(&receipt))
    }

    /// Classifies an RPC error of this client's endpoint.
    pub fn rpc_error(&self, error: TransportError) -> ChainError {
        ChainError::from_transport(&self.endpoint, error)
    }

    /// Runs a view call.
    pub async fn view<D: CallDecoder>(&self, call: CallBuilder<&DynProvider, D>) -> Result<D::CallOutput, ChainError> {
        call.call().await.map_err(|e| ChainError::from_contract(&self.endpoint, e))
    }
}
