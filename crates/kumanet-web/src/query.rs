//! Query strings that pages and the API share.

use serde::Deserialize;

/// `?q=`: the words of a search.
#[derive(Debug, Deserialize, Default)]
pub struct TextQuery {
    #[serde(default)]
    pub q: String,
}

/// `?before=`: the page of a timeline before this position (older posts).
#[derive(Debug, Deserialize, Default)]
pub struct BeforeQuery {
    #[serde(default)]
    pub before: Option<i64>,
}
