//! Keyset pagination: a page is a bounded slice after a cursor that names the last row's
//! sort key, so cursors stay valid while rows are added.
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The largest page a client may ask for.
pub const MAX_PAGE: usize = 100;
/// The page size when the client names none.
pub const DEFAULT_PAGE: usize = 20;

/// Where a row stands in a ranked, keyed order: rank, then key, then id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyCursor {
    #[serde(rename = "r")]
    pub rank: i32,
    #[serde(rename = "k")]
    pub key: String,
    pub id: Uuid,
}

impl KeyCursor {
    /// The opaque form clients see.
    pub fn encode(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        URL_SAFE_NO_PAD.encode(json)
    }

    pub fn decode(s: &str) -> Option<Self> {
        let bytes = URL_SAFE_NO_PAD.decode(s).ok()?;
        serde_json::from_slice(&bytes).ok()
    }
}

/// What page the client asked for.
#[derive(Debug, Clone)]
pub struct PageArgs {
    pub first: usize,
    pub after: Option<KeyCursor>,
}

/// One page of rows, each with its cursor.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub rows: Vec<(KeyCursor, T)>,
    pub has_next: bool,
    pub has_previous: bool,
    pub total: i64,
}

impl<T> Page<T> {
    pub fn map<U>(self, mut f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            rows: self.rows.into_iter().map(|(c, t)| (c, f(t))).collect(),
            has_next: self.has_next,
            has_previous: self.has_previous,
            total: self.total,
        }
    }
}
