//! The values of a deployer's pipeline that must never reach the ledger: the signer's private key,
//! its keystore's password and ciphertext, the RPC's token and password. The ledger is readable by
//! every node and keeps what it is given for good, so the CLI looks for each in every field of a
//! spec before anything is sent, whatever route the value came by (a flag, a stack file, a file it
//! names, a variable).

use std::fmt;

/// Shorter values are matched only as a whole field: a substring that short is found by chance.
const SHORTEST_SUBSTRING: usize = 8;

/// What must not be published, each with what it is. Shown as `***`.
#[derive(Clone, Default)]
pub struct Withheld(Vec<Secret>);

#[derive(Clone)]
struct Secret {
    what: &'static str,
    value: String,
    /// Hex: the same key in capitals.
    fold_case: bool,
}

impl Withheld {
    /// Withholds `value` (surrounding whitespace dropped; nothing when empty), named `what`.
    pub fn add(&mut self, what: &'static str, value: &str) {
        self.push(what, value, false);
    }

    /// Withholds hex `value` in any case, with or without `0x`.
    pub fn add_hex(&mut self, what: &'static str, value: &str) {
        let value = value.trim();
        self.push(what, value.strip_prefix("0x").unwrap_or(value), true);
    }

    fn push(&mut self, what: &'static str, value: &str, fold_case: bool) {
        let value = value.trim();
        if !value.is_empty() {
            let value = if fold_case { value.to_ascii_lowercase() } else { value.to_owned() };
            self.0.push(Secret { what, value, fold_case });
        }
    }

    /// What the first withheld value `text` holds is, if any.
    pub fn found_in(&self, text: &str) -> Option<&'static str> {
        let folded = text.to_ascii_lowercase();
        self.0
            .iter()
            .find(|s| {
                let haystack = if s.fold_case { folded.as_str() } else { text };
                if s.value.len() >= SHORTEST_SUBSTRING {
                    haystack.contains(&s.value)
                } else {
                    haystack.trim() == s.value
                }
            })
            .map(|s| s.what)
    }
}

impl fmt::Debug for Withheld {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Withheld({} values: ***)", self.0.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_withheld_value_is_found_in_any_spelling_and_never_shown() {
        let mut withheld = Withheld::default();
        withheld
            .add_hex("the signer's private key", "0xAC0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80");
        withheld.add("the keystore's password", "pw\n");
        withheld.add("the RPC's token", "t0ken-of-the-rpc");
        let key = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
        for text in [key.to_owned(), format!("K=0x{}", key.to_ascii_uppercase()), format!("prefix {key} suffix")] {
            assert_eq!(withheld.found_in(&text), Some("the signer's private key"), "{text}");
        }
        assert_eq!(withheld.found_in("pw"), Some("the keystore's password"), "a short value, whole");
        assert_eq!(withheld.found_in("pw\n"), Some("the keystore's password"));
        assert_eq!(withheld.found_in("upward"), None, "a short value is not looked for inside others");
        assert_eq!(withheld.found_in("Bearer t0ken-of-the-rpc"), Some("the RPC's token"));
        assert_eq!(withheld.found_in("T0KEN-OF-THE-RPC"), None, "a token is not hex: case counts");
        assert!(!format!("{withheld:?}").contains("pw"));
        withheld.add("nothing", "  ");
        assert_eq!(withheld.found_in(""), None, "an empty value is not withheld");
    }
}
