//! `limit` and `continue` on lists, as kube-apiserver pages them: items in key order, at
//! most `limit` a page, a continue token naming the list's resourceVersion and the key to
//! go on from (the same base64 JSON upstream's storage writes), `remainingItemCount` when
//! no selector filters the list, and 410 `Expired` once the token's revision has left the
//! history.
//!
//! Where we differ: a later page lists the objects as they are now, from the token's key
//! on (etcd serves them as of the first page's revision); the pages' `resourceVersion` is
//! the first page's, as upstream's.

use base64::Engine;
use serde::{Deserialize, Serialize};

use super::error::ApiError;
use super::handlers::Query;

/// What a list request asks of paging.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Page {
    /// `limit` (`None`, or 0: everything).
    pub limit: Option<usize>,
    /// From a continue token: the first page's revision and the key to start at.
    pub resume: Option<(u64, String)>,
}

/// The token's JSON, as apimachinery's `continueToken`.
#[derive(Serialize, Deserialize)]
struct Token {
    v: String,
    rv: u64,
    start: String,
}

const TOKEN_VERSION: &str = "meta.k8s.io/v1";

impl Page {
    /// `limit` and `continue` of `q`: a limit that is not a non-negative integer or a
    /// token that does not decode is 400, as upstream answers.
    pub fn parse(q: &Query) -> Result<Self, ApiError> {
        let limit = match q.get("limit").map(String::as_str) {
            None | Some("") => None,
            Some(v) => match crate::go::atoi(v) {
                Ok(n) if n > 0 => Some(n as usize),
                Ok(0) => None,
                _ => {
                    return Err(ApiError::bad_request(format!(
                        "limit: Invalid value: {}: must be a non-negative integer",
                        crate::go::quote(v)
                    )));
                }
            },
        };
        let resume = match q.get("continue").map(String::as_str) {
            None | Some("") => None,
            Some(token) => Some(decode(token)?),
        };
        Ok(Page { limit, resume })
    }

    /// The key the page starts at (inclusive), if any.
    pub fn start(&self) -> Option<&str> {
        self.resume.as_ref().map(|(_, k)| k.as_str())
    }

    /// The 410 for a token older than the history (`oldest`), with upstream's message.
    pub fn check_fresh(&self, oldest: u64) -> Result<(), ApiError> {
        match &self.resume {
            Some((rv, _)) if rv.saturating_add(1) < oldest => Err(ApiError::expired(
                "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.",
            )),
            _ => Ok(()),
        }
    }
}

/// The token for a list at revision `rv` that goes on after `last_key`.
pub fn token(rv: u64, last_key: &str) -> String {
    let json = serde_json::to_vec(&Token {
        v: TOKEN_VERSION.into(),
        rv,
        start: format!("{last_key}\u{0}"),
    })
    .unwrap_or_default();
    base64::engine::general_purpose::STANDARD.encode(json)
}

fn decode(token: &str) -> Result<(u64, String), ApiError> {
    let invalid = |why: &str| ApiError::bad_request(format!("continue key is not valid: {why}"));
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(token)
        .or_else(|_| base64::engine::general_purpose::URL_SAFE.decode(token))
        .map_err(|e| invalid(&e.to_string()))?;
    let t: Token = serde_json::from_slice(&bytes).map_err(|e| invalid(&e.to_string()))?;
    if t.v != TOKEN_VERSION {
        return Err(invalid(&format!(
            "unexpected version {}",
            crate::go::quote(&t.v)
        )));
    }
    if t.start.is_empty() {
        return Err(invalid("invalid start key"));
    }
    Ok((t.rv, t.start))
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::server::handlers::query_of as q;

    #[test]
    fn a_token_round_trips_and_names_the_next_key() {
        let t = token(42, "default/pi-abc");
        let p = Page::parse(&q(&[("limit", "5"), ("continue", &t)])).unwrap();
        assert_eq!(p.limit, Some(5));
        assert_eq!(p.resume, Some((42, "default/pi-abc\u{0}".into())));
        // Upstream's format: base64 of {"v":"meta.k8s.io/v1","rv":N,"start":"key\u0000"}.
        let json = base64::engine::general_purpose::STANDARD
            .decode(&t)
            .unwrap();
        assert_eq!(
            String::from_utf8(json).unwrap(),
            "{\"v\":\"meta.k8s.io/v1\",\"rv\":42,\"start\":\"default/pi-abc\\u0000\"}"
        );
    }

    #[test]
    fn bad_limits_and_tokens_are_400_and_an_old_token_is_410() {
        let code = |pairs: &[(&str, &str)]| {
            Page::parse(&q(pairs)).unwrap_err().status()["code"]
                .as_u64()
                .unwrap()
        };
        assert_eq!(code(&[("limit", "-1")]), 400);
        assert_eq!(code(&[("limit", "many")]), 400);
        assert_eq!(code(&[("continue", "not base64!")]), 400);
        let other = base64::engine::general_purpose::STANDARD
            .encode(br#"{"v":"other/v9","rv":1,"start":"a\u0000"}"#);
        assert_eq!(code(&[("continue", &other)]), 400);
        assert_eq!(Page::parse(&q(&[("limit", "0")])).unwrap().limit, None);
        let p = Page::parse(&q(&[("continue", &token(3, "a/b"))])).unwrap();
        assert!(p.check_fresh(4).is_ok());
        let s = p.check_fresh(10).unwrap_err().status();
        assert_eq!(s["code"], 410);
        assert_eq!(s["reason"], "Expired");
    }
}
