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

use utoipa::openapi::{RefOr, Schema};
use utoipa::ToSchema;

use crate::error::{ApiError, WebError};

pub(crate) fn body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| {
        ApiError(WebError::BadRequest(format!("JSONを読み取れませんでした(未知の項目や型の誤りは受け付けません): {e}")))
    })
}

/// The component schemas that answers refer to, collected while the document is built.
pub type Schemas = Vec<(String, RefOr<Schema>)>;

/// One documented answer of an operation: its status, what it means, and its JSON body.
pub struct Answer {
    pub status: StatusCode,
    pub description: &'static str,
    pub schema: Option<RefOr<Schema>>,
}

/// What a handler answers when it succeeds, described from its type for the OpenAPI document
/// (the refusals and errors every operation shares are described there once).
pub trait Documented {
    fn answers(schemas: &mut Schemas) -> Vec<Answer>;
}

/// The schema of a type, with the components it refers to added to `schemas`.
pub fn schema_of<T: ToSchema>(schemas: &mut Schemas) -> RefOr<Schema> {
    T::schemas(schemas);
    T::schema()
}

/// 200 with a JSON body.
pub struct Reply<T>(pub T);

/// 201 with a JSON body: something was made.
pub struct Created<T>(pub T);

/// 204: done, nothing to say.
pub struct NoContent;

impl IntoResponse for NoContent {
    fn into_response(self) -> Response {
        StatusCode::NO_CONTENT.into_response()
    }
}

impl Documented for NoContent {
    fn answers(_: &mut Schemas) -> Vec<Answer> {
        vec![Answer { status: StatusCode::NO_CONTENT, description: "済みました", schema: None }]
    }
}

/// What an API handler returns: a documented answer, or the shared error.
pub type Answered<T> = Result<T, ApiError>;

impl<T: Serialize> IntoResponse for Reply<T> {
    fn into_response(self) -> Response {
        Json(self.0).into_response()
    }
}

impl<T: Serialize> IntoResponse for Created<T> {
    fn into_response(self) -> Response {
        (StatusCode::CREATED, Json(self.0)).into_response()
    }
}

impl<T: ToSchema> Documented for Reply<T> {
    fn answers(schemas: &mut Schemas) -> Vec<Answer> {
        vec![Answer { status: StatusCode::OK, description: "成功", schema: Some(schema_of::<T>(schemas)) }]
    }
}

impl<T: ToSchema> Documented for Created<T> {
    fn answers(schemas: &mut Schemas) -> Vec<Answer> {
        vec![Answer {
            status: StatusCode::CREATED, description: "作成しました", schema: Some(schema_of::<T>(schemas))
        }]
    }
}

/// A handler of the API, seen by the route table: what its answer type documents.
pub trait ApiHandler<Args> {
    fn answers(schemas: &mut Schemas) -> Vec<Answer>;
}

macro_rules! api_handler {
    ($($a:ident),*) => {
        impl<F, Fut, R, $($a,)*> ApiHandler<($($a,)*)> for F
        where
            F: FnOnce($($a),*) -> Fut,
            Fut: std::future::Future<Output = Result<R, ApiError>>,
            R: Documented,
        {
            fn answers(schemas: &mut Schemas) -> Vec<Answer> {
                R::answers(schemas)
            }
        }
    };
}
api_handler!();
api_handler!(A1);
api_handler!(A1, A2);
api_handler!(A1, A2, A3);
api_handler!(A1, A2, A3, A4);
api_handler!(A1, A2, A3, A4, A5);
api_handler!(A1, A2, A3, A4, A5, A6);

/// `{ "ok": true }`: the operation was done and there is nothing more to say.
#[derive(Serialize, ToSchema)]
pub struct Done {
    pub ok: bool,
}

pub(crate) fn done() -> Answered<Reply<Done>> {
    Ok(Reply(Done { ok: true }))
}

/// A JSON request body of type `T`, read whole by the gate within its limit. Unknown fields
/// and wrong types are refused with 400; an empty body reads as `{}`, so that a body whose
/// fields are all optional may be left out. Its schema is the operation's request body.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> axum::extract::FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;
    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|_| ApiError(WebError::BadRequest("本文を読み取れませんでした。".into())))?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return body(b"{}").map(JsonBody);
        }
        body(&bytes).map(JsonBody)
    }
}

impl<T: ToSchema> crate::request::PathObject for JsonBody<T> {
    fn request_body(schemas: &mut Schemas) -> Option<RefOr<Schema>> {
        Some(schema_of::<T>(schemas))
    }
}
