//! What a sender pays per gas, bounded: the node signs its reports unattended, with fees the RPC
//! suggests, so a lying or congested RPC could make it pay any price; `--max-fee` caps it. On a
//! free-gas chain (`--max-fee 0`) transactions carry no fee at all, so keys need no balance.

use alloy::eips::BlockNumberOrTag;
use alloy::primitives::utils::parse_units;
use alloy::providers::{DynProvider, Provider};

use crate::{ChainError, Endpoint};

/// The most a transaction may pay per gas, in wei.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeeCeiling(pub u128);

impl FeeCeiling {
    /// Reads `30gwei`, `1500000000wei`, or a plain number of gwei (`30`, `0.5`); `0` is free gas.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let (number, unit) = match text.strip_suffix("gwei") {
            Some(n) => (n, "gwei"),
            None => text.strip_suffix("wei").map_or((text, "gwei"), |n| (n, "wei")),
        };
        let wei = parse_units(number.trim(), unit)
            .map_err(|e| format!("--max-fee {text:?}: {e} (write e.g. 30gwei, 0.5, 1000wei or 0 for free gas)"))?;
        let wei: u128 = wei.get_absolute().try_into().map_err(|_| format!("--max-fee {text:?} is out of range"))?;
        Ok(Self(wei))
    }

    /// The (max fee, max priority fee) per gas to send with, or an error when the chain asks more
    /// than the ceiling right now (the transaction would wait unmined): the base fee of the latest
    /// block plus the priority fee the RPC suggests. Below the ceiling, the max fee is the RPC's
    /// suggestion (twice the base fee plus the tip), cut to the ceiling.
    pub async fn fees(self, provider: &DynProvider, endpoint: &Endpoint) -> Result<(u128, u128), ChainError> {
        if self.0 == 0 {
            return Ok((0, 0));
        }
        let rpc = |e| ChainError::from_transport(endpoint, e);
        let suggested = provider.estimate_eip1559_fees().await.map_err(rpc)?;
        let latest = provider.get_block_by_number(BlockNumberOrTag::Latest).await.map_err(rpc)?;
        let base = latest.and_then(|b| b.header.base_fee_per_gas).unwrap_or_default();
        let priority = suggested.max_priority_fee_per_gas;
        let needed = u128::from(base).saturating_add(priority);
        if needed > self.0 {
            return Err(ChainError::FeeAboveCeiling { needed, ceiling: self.0 });
        }
        Ok((suggested.max_fee_per_gas.min(self.0), priority))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_gwei_wei_and_plain_numbers() {
        assert_eq!(FeeCeiling::parse("30gwei"), Ok(FeeCeiling(30_000_000_000)));
        assert_eq!(FeeCeiling::parse("30"), Ok(FeeCeiling(30_000_000_000)));
        assert_eq!(FeeCeiling::parse("0.5"), Ok(FeeCeiling(500_000_000)));
        assert_eq!(FeeCeiling::parse("1000wei"), Ok(FeeCeiling(1000)));
        assert_eq!(FeeCeiling::parse("0"), Ok(FeeCeiling(0)));
        let bad = FeeCeiling::parse("cheap").expect_err("not a number");
        assert!(bad.contains("--max-fee \"cheap\"") && bad.contains("30gwei"), "{bad}");
        assert!(FeeCeiling::parse("-1").is_err(), "negative");
    }
}
