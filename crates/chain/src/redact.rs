//! RPC URLs as they may be shown: providers put credentials in them (`https://user:pass@host`,
//! `?apikey=...`, Infura's `/v3/<key>`), and an URL lands in logs, errors, `/status` and CI
//! output. Everything that prints an endpoint prints it through [`redact_url`].

use url::Url;

/// What stands in for a hidden part.
const HIDDEN: &str = "***";

/// Where [`redact_in`] found an URL, before it writes the redacted one there (a character of
/// Unicode's private use area: no URL or error text has it).
const MARK: &str = "\u{E000}";

/// A path segment at least this long, of letters and digits and both, reads as a key: provider
/// keys are 32 characters and more, the paths RPCs really use (`/rpc`, `/v3`, `/ws`) short words.
const KEY_SEGMENT_MIN: usize = 20;

/// `url` with its password, every query value and any key-like path segment replaced by `***`;
/// the scheme, user, host, port and the rest of the path stay, to say which endpoint it is.
/// A text that does not parse as an URL (`localhost:8545`, a scheme forgotten) is shown as given
/// when nothing in it can be a credential, so that the user sees the typo; otherwise not at all.
pub fn redact_url(url: &str) -> String {
    // `user:pass@host` parses too, as scheme `user`: only the schemes an RPC has are taken apart.
    let rpc_scheme = |u: &Url| ["http", "https", "ws", "wss"].contains(&u.scheme());
    let Some(mut parsed) = Url::parse(url).ok().filter(rpc_scheme) else {
        let harmless = !url.contains(['@', '?', '#']) && !url.split(['/', ':']).any(looks_like_a_key);
        return if harmless { url.to_owned() } else { "<an RPC URL that does not parse>".into() };
    };
    if parsed.password().is_some() {
        let _ = parsed.set_password(Some(HIDDEN));
    }
    if parsed.query().is_some() {
        let keys: Vec<String> = parsed.query_pairs().map(|(key, _)| key.into_owned()).collect();
        parsed.query_pairs_mut().clear().extend_pairs(keys.iter().map(|key| (key.as_str(), HIDDEN)));
    }
    if let Some(segments) = parsed.path_segments() {
        let path: Vec<&str> = segments.map(|s| if looks_like_a_key(s) { HIDDEN } else { s }).collect();
        parsed.set_path(&path.join("/"));
    }
    parsed.to_string()
}

/// `text` (an error from a transport, which may quote the URL it was sent to) with every form
/// of `url` a library prints (as given, normalised, and without its user info, which HTTP
/// clients move into a header) replaced by [`redact_url`]'s.
pub(crate) fn redact_in(text: &str, url: &str) -> String {
    let shown = redact_url(url);
    let mut forms = vec![url.to_owned()];
    if let Ok(parsed) = Url::parse(url) {
        forms.push(parsed.to_string());
        let mut bare = parsed;
        let _ = bare.set_username("");
        let _ = bare.set_password(None);
        forms.push(bare.to_string());
    }
    // The longest first, so a form that contains another is replaced whole; through a mark no
    // form contains, so a shorter form is not found again inside a replacement.
    forms.sort_by_key(|form| std::cmp::Reverse(form.len()));
    let marked = forms.iter().fold(text.to_owned(), |text, form| text.replace(form.as_str(), MARK));
    marked.replace(MARK, &shown)
}

fn looks_like_a_key(segment: &str) -> bool {
    segment.len() >= KEY_SEGMENT_MIN
        && segment.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && segment.chars().any(|c| c.is_ascii_digit())
        && segment.chars().any(|c| c.is_ascii_alphabetic())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_query_values_and_key_segments_are_hidden() {
        let cases = [
            ("https://alice:s3cret@rpc.example:8545/", "https://alice:***@rpc.example:8545/"),
            ("wss://rpc.example/ws?apikey=abc123&chain=main", "wss://rpc.example/ws?apikey=***&chain=***"),
            ("https://mainnet.infura.io/v3/0123456789abcdef0123456789abcdef", "https://mainnet.infura.io/v3/***"),
            ("https://eth.example/rpc/keyless-endpoint-name", "https://eth.example/rpc/keyless-endpoint-name"),
            ("http://127.0.0.1:8545", "http://127.0.0.1:8545/"),
            ("http://[::1", "http://[::1"),
            ("127.0.0.1:9", "127.0.0.1:9"),
            ("alice:s3cret@rpc.example", "<an RPC URL that does not parse>"),
            ("rpc.example/v3/0123456789abcdef0123456789abcdef", "<an RPC URL that does not parse>"),
        ];
        for (url, shown) in cases {
            assert_eq!(redact_url(url), shown, "{url}");
        }
    }

    #[test]
    fn an_url_quoted_normalised_is_replaced_once() {
        let text = "error sending request for url (https://localhost:8545/)";
        assert_eq!(redact_in(text, "https://localhost:8545"), text);
    }

    #[test]
    fn an_error_quoting_the_url_in_any_form_shows_it_redacted() {
        let url = "https://bob:pw-123@rpc.example?apikey=k3y";
        for quoted in [url, "https://bob:pw-123@rpc.example/?apikey=k3y", "https://rpc.example/?apikey=k3y"] {
            let text = format!("error sending request for url ({quoted}): connection refused");
            let shown = redact_in(&text, url);
            assert!(!shown.contains("pw-123") && !shown.contains("k3y"), "{shown}");
            assert!(shown.contains("(https://bob:***@rpc.example/?apikey=***): connection refused"), "{shown}");
        }
    }
}
