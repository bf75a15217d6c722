//! The registry's reverts as people read them: the custom error with its arguments, and a one-line
//! hint on what to do about it.

use std::fmt;

use ledgerops_bindings::DeploymentRegistry::DeploymentRegistryErrors as E;

/// A decoded revert of the registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revert {
    /// The custom error as decoded: code that acts on a revert matches on its variant, so a
    /// renamed error breaks the build rather than the behaviour.
    pub decoded: E,
    /// The custom error with its arguments, e.g. `NamespaceFrozen { namespace: "shop" }`.
    pub error: String,
    /// What to do about it.
    pub hint: &'static str,
}

impl fmt::Display for Revert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.error, self.hint)
    }
}

/// Writes `error` as `Name { field: value, ... }` and pairs it with its hint.
macro_rules! described {
    ($error:expr, $($variant:ident => $hint:literal,)*) => {
        match $error {
            $(E::$variant(inner) => Revert { decoded: $error.clone(), error: format!("{inner:?}"), hint: $hint },)*
        }
    };
}

impl From<&E> for Revert {
    fn from(error: &E) -> Self {
        described!(error,
            AccessControlUnauthorizedAccount => "this key lacks the role: ask the registry admin to grant it (deployer grant / node add)",
            AccessControlBadConfirmation => "an account can only renounce its own role",
            AccessControlEnforcedDefaultAdminDelay => "an admin transfer is accepted only once its delay passed (pendingDefaultAdmin shows when)",
            AccessControlEnforcedDefaultAdminRules => "the admin role moves only by beginDefaultAdminTransfer, then acceptDefaultAdminTransfer by the new admin",
            AccessControlInvalidDefaultAdmin => "only the pending admin accepts a transfer, and the admin cannot be the zero address",
            AdminCannotLeave => "the admin cannot renounce: hand over with beginDefaultAdminTransfer",
            AlreadyActive => "that revision is already active: nothing to do",
            AlreadyAttested => "this node already reported on this activation of the revision",
            AlreadyVoted => "this node already voted against this activation of the revision",
            DeployerUnchanged => "the account already has (or already lacks) the deployer role",
            FreezeUnchanged => "the namespace is already in that freeze state",
            ImageNotPinnedByDigest => "pin the image by digest: repo[:tag]@sha256:<64 hex digits> (ledgerops deploy and apply pin a tag for you)",
            InvalidImageRepository => "the repository may hold only a-z 0-9 . _ - / and a registry port; a tag 1-128 of A-Z a-z 0-9 _ . -",
            InvalidLimits => "replicas must be 1-10000 and spec bytes 1-131072",
            InvalidName => "namespaces and sites are 1-63 characters of a-z, 0-9 and -; service names may add A-Z and _; each starts and ends with a letter or digit, and namespace_service fits 63",
            InvalidPlacement => "sites must be distinct (at most 64)",
            InvalidQuorum => "the quorum is in basis points, 1 to 9999 (5000 = a strict majority)",
            InvalidStatus => "attest converged, failed or rolled-back",
            NamespaceExists => "the namespace exists already",
            NamespaceFrozen => "the namespace is frozen: unfreeze it (namespace unfreeze) or wait for the freeze to end",
            NodeAlreadyRegistered => "the node is registered already: remove it first to move it to another site",
            NothingToRollBackTo => "no earlier revision to return to: publish a fix or roll back with --to",
            PolicyTooLarge => "a policy lists permissions and names: keep it under 4096 bytes (use name prefixes ending in *)",
            ReasonTooLong => "keep the reason under 256 bytes",
            RevisionNotActive => "the revision is no longer active: nodes report only on the active one",
            RoleManagedByRegistry => "use namespace/deployer/node commands: scoped roles change only through them",
            SafeCastOverflowedUintDowncast => "an admin delay is a number of seconds that fits 48 bits",
            RoleUnchanged => "the account does not hold that role",
            ServiceAlreadyRemoved => "the service is removed already; deploy or roll back to bring it back",
            SiteNotInPlacement => "the active revision is not placed on this node's site",
            SpecMismatch => "the placement sent with the report is not the revision's; re-read the registry",
            SpecTooLarge => "the spec body is over the namespace's size ceiling: trim it or ask the admin to raise the limit",
            TooManyReplicas => "over the namespace's replica ceiling: lower --replicas or ask the admin to raise the limit",
            UnknownNamespace => "no such namespace: the admin creates it with namespace create",
            UnknownNode => "no such node: node add registers it",
            UnknownRevision => "no such revision: history lists them",
            UnknownService => "no such service: check the name, or deploy it first",
            ZeroAddress => "the zero address cannot hold a role",
        )
    }
}

#[cfg(test)]
mod tests {
    use ledgerops_bindings::DeploymentRegistry::NamespaceFrozen;

    use super::*;

    #[test]
    fn names_the_error_its_arguments_and_a_hint() {
        let revert = Revert::from(&E::NamespaceFrozen(NamespaceFrozen { namespace: "shop".into() }));
        assert_eq!(revert.error, r#"NamespaceFrozen { namespace: "shop" }"#);
        assert!(matches!(&revert.decoded, E::NamespaceFrozen(e) if e.namespace == "shop"), "the decoded error is kept");
        assert!(revert.to_string().contains("unfreeze"), "{revert}");
    }
}
