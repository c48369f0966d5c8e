//! Each query is parsed once. A document is kept, by the SHA-256 of its text, after its first
//! request passed the edge checks; a repeated query (a dashboard polling, an app's fixed set of
//! operations) skips parsing. The same store answers automatic persisted queries — the
//! `extensions.persistedQuery {version: 1, sha256Hash}` protocol Apollo and urql clients
//! speak — so a mobile app may send the hash alone: a hash this server has not seen is
//! answered `PERSISTED_QUERY_NOT_FOUND`, and the client sends the text with the hash once.
//!
//! Validation still runs on every request: it depends on the variables and on limits.
//!
//! What is kept is bounded by the length of the texts kept ([`KEPT_TEXT_BUDGET`] in all,
//! [`CACHED_TEXT_MAX`] each): a parsed document takes about a hundred times its text, so the
//! store stays near 25 MiB at worst. The store is shared by every caller, and a hash alone
//! finds a document: so a document is never kept when it carries a string literal or a field
//! that checks credentials — otherwise anyone could test guesses at a text someone else sent
//! (a password written into a `login`, an ID number into a search) by its hash. Clients that
//! pass their values as variables, as the persisted-query protocol intends, lose nothing.

use crate::error::{AppError, Result, bad_input};
use async_graphql::parser::types::ExecutableDocument;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

/// The longest query text whose document is kept.
pub const CACHED_TEXT_MAX: usize = 16 * 1024;
/// The total length of the texts whose documents are kept (least recently used go first).
pub const KEPT_TEXT_BUDGET: usize = 256 * 1024;
/// At most this many documents, however short.
const CACHED_DOCUMENTS: usize = 4096;

pub struct Documents {
    kept: Mutex<Kept>,
}

struct Kept {
    documents: lru::LruCache<String, (Arc<ExecutableDocument>, usize)>,
    text_len: usize,
}

impl Default for Documents {
    fn default() -> Self {
        Documents {
            kept: Mutex::new(Kept {
                documents: lru::LruCache::new(
                    NonZeroUsize::new(CACHED_DOCUMENTS).expect("a positive size"),
                ),
                text_len: 0,
            }),
        }
    }
}

/// A document parsed for this request, to be kept once the request passed the edge checks.
pub struct Fresh {
    key: String,
    document: ExecutableDocument,
    text_len: usize,
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
            return match self.get(&hash) {
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
        if let Some(document) = self.get(&key) {
            request.set_parsed_query(document);
            return Ok(None);
        }
        let Ok(document) = async_graphql::parser::parse_query(&request.query) else {
            return Ok(None);
        };
        let keep = request.query.len() <= CACHED_TEXT_MAX
            && !has_string_literal(&request.query)
            && super::credential_fields(&document) == 0;
        request.set_parsed_query(document.clone());
        Ok(keep.then_some(Fresh {
            key,
            document,
            text_len: request.query.len(),
        }))
    }

    /// A kept document, copied outside the lock.
    fn get(&self, key: &str) -> Option<ExecutableDocument> {
        let shared = self
            .kept
            .lock()
            .ok()
            .and_then(|mut k| k.documents.get(key).map(|(d, _)| d.clone()))?;
        Some((*shared).clone())
    }

    /// Keeps a document whose request passed the edge checks, letting the least recently used
    /// go while the texts kept are over the budget.
    pub fn keep(&self, fresh: Fresh) {
        let Ok(mut kept) = self.kept.lock() else {
            return;
        };
        let kept = &mut *kept;
        if let Some((_, len)) = kept
            .documents
            .put(fresh.key, (Arc::new(fresh.document), fresh.text_len))
        {
            kept.text_len -= len;
        }
        kept.text_len += fresh.text_len;
        while kept.text_len > KEPT_TEXT_BUDGET {
            match kept.documents.pop_lru() {
                Some((_, (_, len))) => kept.text_len -= len,
                None => break,
            }
        }
    }
}

/// Whether a query text writes a string literal anywhere (a `"` outside a comment).
fn has_string_literal(text: &str) -> bool {
    text.lines()
        .any(|line| line.split('#').next().unwrap_or_default().contains('"'))
}
