//! Each query is parsed once. A document is kept, by the SHA-256 of its text, after its first
//! request passed the edge checks; a repeated query (a dashboard polling, an app's fixed set of
//! operations) skips parsing. The same store answers automatic persisted queries — the
//! `extensions.persistedQuery {version: 1, sha256Hash}` protocol Apollo and urql clients
//! speak — so a mobile app may send the hash alone: a hash this server has not seen is
//! answered `PERSISTED_QUERY_NOT_FOUND`, and the client sends the text with the hash once.
//!
//! Validation still runs on every request: it depends on the variables and on limits. Only
//! texts up to [`CACHED_TEXT_MAX`] are kept, at most [`CACHED_DOCUMENTS`] of them, so the store
//! holds a few tens of megabytes at worst.

use crate::error::{AppError, Result, bad_input};
use async_graphql::parser::types::ExecutableDocument;
use std::num::NonZeroUsize;
use std::sync::Mutex;

/// The longest query text whose document is kept.
pub const CACHED_TEXT_MAX: usize = 32 * 1024;
/// How many documents are kept (least recently used go first).
pub const CACHED_DOCUMENTS: usize = 1024;

pub struct Documents {
    kept: Mutex<lru::LruCache<String, ExecutableDocument>>,
}

impl Default for Documents {
    fn default() -> Self {
        Documents {
            kept: Mutex::new(lru::LruCache::new(
                NonZeroUsize::new(CACHED_DOCUMENTS).expect("a positive size"),
            )),
        }
    }
}

/// A document parsed for this request, to be kept once the request passed the edge checks.
pub struct Fresh {
    key: String,
    document: ExecutableDocument,
}

#[derive(serde::Deserialize)]
struct PersistedQuery {
    version: i32,
    #[serde(rename = "sha256Hash")]
    sha256_hash: String,
}

impl Documents {
    /// Gives the request its parsed document: the kept one, or a fresh parse (returned, for
    /// [`Documents::keep`] after the edge checks). A text that does not parse is left to the
    /// executor, which reports the syntax error as it always does.
    pub fn resolve(&self, request: &mut async_graphql::Request) -> Result<Option<Fresh>> {
        let persisted = match request.extensions.remove("persistedQuery") {
            Some(value) => {
                let json = value.into_json().unwrap_or_default();
                let persisted: PersistedQuery = serde_json::from_value(json).map_err(|_| {
                    bad_input(
                        "extensions.persistedQuery",
                        "expected {version: 1, sha256Hash: \"…\"}",
                    )
                })?;
                if persisted.version != 1 {
                    return Err(bad_input(
                        "extensions.persistedQuery.version",
                        "only version 1 of persisted queries is spoken here",
                    ));
                }
                Some(persisted.sha256_hash.to_ascii_lowercase())
            }
            None => None,
        };
        if request.query.is_empty() {
            let Some(hash) = persisted else {
                return Ok(None);
            };
            let kept = self
                .kept
                .lock()
                .ok()
                .and_then(|mut k| k.get(&hash).cloned());
            return match kept {
                Some(document) => {
                    request.set_parsed_query(document);
                    Ok(None)
                }
                None => Err(AppError::PersistedQueryNotFound),
            };
        }
        let key = crate::auth::sha256_hex(request.query.as_bytes());
        if persisted.is_some_and(|hash| hash != key) {
            return Err(bad_input(
                "extensions.persistedQuery.sha256Hash",
                "the hash is not the SHA-256 of the query sent with it",
            ));
        }
        if let Some(document) = self.kept.lock().ok().and_then(|mut k| k.get(&key).cloned()) {
            request.set_parsed_query(document);
            return Ok(None);
        }
        let Ok(document) = async_graphql::parser::parse_query(&request.query) else {
            return Ok(None);
        };
        request.set_parsed_query(document.clone());
        Ok((request.query.len() <= CACHED_TEXT_MAX).then_some(Fresh { key, document }))
    }

    /// Keeps a document whose request passed the edge checks.
    pub fn keep(&self, fresh: Fresh) {
        if let Ok(mut kept) = self.kept.lock() {
            kept.put(fresh.key, fresh.document);
        }
    }
}
