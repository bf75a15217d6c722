//! What a node can report about a revision: the registry's `AttestationStatus` (which the
//! bindings carry as its `uint8`), and the words `status`, `wait` and the node's logs use for it.

/// The registry's `AttestationStatus`, without its `None`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum AttestationStatus {
    /// The revision runs as desired on the node.
    Converged = 1,
    /// The revision failed on the node.
    Failed = 2,
    /// Swarm rolled the revision back on the node.
    RolledBack = 3,
}

impl AttestationStatus {
    /// The value the contract takes and emits.
    pub fn as_u8(self) -> u8 {
        self as u8
    }

    /// The status an `Attested` event carries; `None` for a value the contract never emits.
    pub fn from_u8(value: u8) -> Option<Self> {
        match value {
            1 => Some(Self::Converged),
            2 => Some(Self::Failed),
            3 => Some(Self::RolledBack),
            _ => None,
        }
    }
}

/// A node's report on a revision, as `status` and `wait` show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportStatus {
    /// An attestation.
    Attested(AttestationStatus),
    /// A rollback vote (the registry also records it as a failed attestation).
    VotedRollback,
    /// An attestation with a status value the contract does not define.
    Unknown,
}

impl ReportStatus {
    /// The report that counts for `wait`.
    pub const CONVERGED: Self = Self::Attested(AttestationStatus::Converged);

    /// The status of an `Attested` event.
    pub fn attested(value: u8) -> Self {
        AttestationStatus::from_u8(value).map_or(Self::Unknown, Self::Attested)
    }

    /// The word for it: converged, failed, rolled-back, voted-rollback or unknown.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Attested(AttestationStatus::Converged) => "converged",
            Self::Attested(AttestationStatus::Failed) => "failed",
            Self::Attested(AttestationStatus::RolledBack) => "rolled-back",
            Self::VotedRollback => "voted-rollback",
            Self::Unknown => "unknown",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_the_contract_emits_reads_back_and_the_rest_is_unknown() {
        for status in [AttestationStatus::Converged, AttestationStatus::Failed, AttestationStatus::RolledBack] {
            assert_eq!(ReportStatus::attested(status.as_u8()), ReportStatus::Attested(status));
        }
        assert_eq!(ReportStatus::attested(0), ReportStatus::Unknown);
        assert_eq!(ReportStatus::attested(9).as_str(), "unknown");
        assert_eq!(ReportStatus::attested(3).as_str(), "rolled-back");
    }
}
