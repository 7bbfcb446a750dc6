//! The JSON API under `/api/v1`: the same operations as the pages, through the same services and
//! the same gate, one module per area. Unknown fields are refused. Described at
//! `/api/v1/openapi.json` (`openapi`).

pub mod accounts;
pub mod boards;
pub mod center;
pub mod directory;
pub mod facility;
pub mod openapi;
pub mod patients;
pub mod posts;
pub mod resources;

use axum::body::Bytes;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{ApiError, WebError};

pub(crate) type ApiResult = Result<Response, ApiError>;

pub(crate) fn body<T: DeserializeOwned>(bytes: &Bytes) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| {
        ApiError(WebError::BadRequest(format!("JSONを読み取れませんでした(未知の項目や型の誤りは受け付けません): {e}")))
    })
}

pub(crate) fn ok<T: Serialize>(v: T) -> ApiResult {
    Ok(Json(v).into_response())
}

pub(crate) fn created<T: Serialize>(v: T) -> ApiResult {
    Ok((StatusCode::CREATED, Json(v)).into_response())
}

/// Every view of patient data is written down, as on the pages.
/// A body for operations whose fields are all optional: empty means `{}`.
pub(crate) fn body_or_empty<T: DeserializeOwned + Default>(bytes: &Bytes) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        Ok(T::default())
    } else {
        body(bytes)
    }
}
