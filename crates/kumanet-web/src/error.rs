//! The web layer's one error type, and the one table that maps each error to an HTTP status,
//! a stable code and a Japanese message. Internal causes are logged with a request id and never
//! shown.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use kumanet_core::authz::Denied;
use kumanet_store::StoreError;
use serde::Serialize;

/// One field's problem: the field, a stable code (`invalid` where the check has no code of its
/// own yet) and the Japanese reason.
#[derive(Debug, Clone, Serialize)]
pub struct FieldError {
    pub field: String,
    pub code: &'static str,
    pub message: String,
}

/// Field-level problems of a submitted form, in field order.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FieldErrors(pub Vec<FieldError>);

impl FieldErrors {
    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0.push(FieldError { field: field.to_string(), code: "invalid", message: message.into() });
    }
    /// A problem with a code of its own, already worded.
    pub fn coded(&mut self, field: &str, code: &'static str, message: impl Into<String>) {
        self.0.push(FieldError { field: field.to_string(), code, message: message.into() });
    }
    /// A problem the core named, worded by the message table for the field called `label`.
    pub fn problem(&mut self, field: &str, label: &str, p: &kumanet_core::problem::Problem) {
        self.0.push(FieldError {
            field: field.to_string(),
            code: p.code(),
            message: crate::messages::problem(label, p),
        });
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0.iter().find(|e| e.field == field).map(|e| e.message.as_str())
    }
    /// `Ok(())` when nothing was added.
    pub fn into_result(self) -> Result<(), WebError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(WebError::Invalid(self))
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error("denied: {0}")]
    Denied(Denied),
    #[error("not found")]
    NotFound,
    #[error("invalid input")]
    Invalid(FieldErrors),
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("conflict: {0}")]
    Conflict(String),
    /// The state of the thing forbids it (a deleted post, an attachment gone): 409, the message shown.
    #[error("refused: {0}")]
    Refused(String),
    #[error("csrf check failed")]
    Csrf,
    #[error("rate limited")]
    RateLimited,
    /// The body is larger than the operation accepts (the limit in bytes).
    #[error("body larger than {0} bytes")]
    TooLarge(usize),
    /// The body did not arrive in time.
    #[error("body read timed out")]
    BodyTimeout,
    /// This address is sending too many large bodies at once.
    #[error("too many uploads from one address")]
    TooManyUploads,
    /// Image or PDF work could not get its share of memory in time (R9.3).
    #[error("media work busy")]
    Busy,
    #[error("unavailable: {0}")]
    Unavailable(String),
    #[error("internal: {0}")]
    Internal(String),
}

impl From<StoreError> for WebError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => WebError::NotFound,
            StoreError::Unique(c) => WebError::Conflict(c),
            // Fail closed: if the database (and so the audit log) cannot be written, nothing is done.
            StoreError::Db(e) => WebError::Unavailable(e.to_string()),
            StoreError::Batch(e) => WebError::Unavailable(e),
            StoreError::Refused(m) => WebError::Refused(m),
            other => WebError::Internal(other.to_string()),
        }
    }
}

impl From<Denied> for WebError {
    fn from(d: Denied) -> Self {
        WebError::Denied(d)
    }
}

/// What a user is told.
pub struct Described {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl WebError {
    /// The one table: status, code and the Japanese message.
    pub fn describe(&self) -> Described {
        let d = |status, code, message: &str| Described { status, code, message: message.to_string() };
        match self {
            WebError::Denied(denied) => {
                // The code is the core's (`Denied::code`, also the audit row's reason).
                let (status, message) = match denied {
                    Denied::NotSignedIn => (StatusCode::UNAUTHORIZED, "ログインしてください。"),
                    Denied::PasswordChangeRequired => {
                        (StatusCode::FORBIDDEN, "パスワードを変更してから操作してください。")
                    }
                    Denied::PolicyAcceptanceRequired => {
                        (StatusCode::FORBIDDEN, "運用ポリシーに同意してから操作してください。")
                    }
                    Denied::NotApproved => (
                        StatusCode::FORBIDDEN,
                        "このIDは在宅医療支援センターの承認待ちです。承認されるまでこの操作はできません。",
                    ),
                    Denied::Forbidden => (StatusCode::FORBIDDEN, "この操作を行う権限がありません。"),
                    Denied::NoConsent => (
                        StatusCode::FORBIDDEN,
                        "この患者さんの同意書(様式1)が登録されていないため、グループの作成や情報共有はできません。先に同意を記録してください。",
                    ),
                    Denied::ReadOnly => (
                        StatusCode::FORBIDDEN,
                        "この患者さんの同意は撤回されています。グループは閲覧のみで、新たな共有や招待はできません。",
                    ),
                    Denied::SelfWithdrawal => (
                        StatusCode::FORBIDDEN,
                        "ご自身のIDの削除・停止はできません。施設管理者から在宅医療支援センターへ届け出てください。",
                    ),
                };
                d(status, denied.code(), message)
            }
            WebError::NotFound => d(StatusCode::NOT_FOUND, "not_found", "お探しのページは見つかりませんでした。"),
            WebError::Invalid(_) => d(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
                "入力内容に誤りがあります。各項目の説明をご確認ください。",
            ),
            WebError::BadRequest(m) => d(StatusCode::BAD_REQUEST, "bad_request", m),
            WebError::Conflict(_) => d(StatusCode::CONFLICT, "conflict", "同じ内容がすでに登録されています。"),
            WebError::Refused(m) => d(StatusCode::CONFLICT, "refused", m),
            WebError::Csrf => d(
                StatusCode::FORBIDDEN,
                "csrf",
                "画面の有効期限が切れたか、別のサイトからの送信です。画面を開き直してもう一度操作してください。",
            ),
            WebError::RateLimited => d(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "ログインの試行が多すぎます。しばらく待ってからもう一度お試しください。",
            ),
            WebError::TooLarge(limit) => Described {
                status: StatusCode::PAYLOAD_TOO_LARGE,
                code: "too_large",
                message: if *limit >= 1024 * 1024 {
                    format!("送信内容が大きすぎます({}MBまでです)。ファイルを減らすか小さくしてから、もう一度お試しください。", limit / 1024 / 1024)
                } else {
                    format!("送信内容が大きすぎます({}KBまでです)。", limit / 1024)
                },
            },
            WebError::BodyTimeout => d(
                StatusCode::REQUEST_TIMEOUT,
                "body_timeout",
                "送信に時間がかかりすぎたため中断しました。通信状態のよい場所で、もう一度お試しください。",
            ),
            WebError::TooManyUploads => d(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_uploads",
                "同じ場所から同時に送れるファイルの数を超えています。送信中のものが終わってから、もう一度お試しください。",
            ),
            WebError::Busy => d(
                StatusCode::SERVICE_UNAVAILABLE,
                "media_busy",
                "画像の処理が混み合っています。少し待ってから、もう一度お試しください。",
            ),
            WebError::Unavailable(_) => d(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "ただいま処理できません。記録を残せないため操作を中止しました。時間をおいてもう一度お試しください。",
            ),
            WebError::Internal(_) => d(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "システムでエラーが発生しました。お手数ですがセンターへご連絡ください。",
            ),
        }
    }

    fn log(&self) -> Option<String> {
        match self {
            WebError::Unavailable(cause) | WebError::Internal(cause) => {
                let id = uuid::Uuid::new_v4().simple().to_string()[..12].to_string();
                tracing::error!(request_id = %id, %cause, "request failed");
                Some(id)
            }
            _ => None,
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    status: u16,
    message: &'a str,
    request_id: Option<String>,
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let request_id = self.log();
        let d = self.describe();
        let page = ErrorPage { status: d.status.as_u16(), message: &d.message, request_id };
        match page.render() {
            Ok(html) => (d.status, Html(html)).into_response(),
            Err(_) => (d.status, d.message).into_response(),
        }
    }
}

/// The same errors as JSON for `/api/v1`.
#[derive(Debug)]
pub struct ApiError(pub WebError);

impl<E: Into<WebError>> From<E> for ApiError {
    fn from(e: E) -> Self {
        ApiError(e.into())
    }
}

#[derive(Serialize)]
struct ApiErrorBody {
    code: &'static str,
    message: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    fields: Vec<FieldError>,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_id: Option<String>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let request_id = self.0.log();
        let d = self.0.describe();
        let fields = match &self.0 {
            WebError::Invalid(f) => f.0.clone(),
            _ => Vec::new(),
        };
        (d.status, Json(ApiErrorBody { code: d.code, message: d.message, fields, request_id })).into_response()
    }
}

/// `/api/`'s errors are all JSON of the one shape: an error response that is not (a handler's
/// extractor refused a query string, no route matched) is rewritten, keeping its status and
/// headers.
pub async fn json_for_api(resp: Response) -> Response {
    use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
    let status = resp.status();
    let is_json = resp
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/json"));
    if is_json || !(status.is_client_error() || status.is_server_error()) {
        return resp;
    }
    let (code, message) = match status {
        StatusCode::NOT_FOUND => ("not_found", WebError::NotFound.describe().message),
        StatusCode::UNPROCESSABLE_ENTITY => ("invalid", WebError::Invalid(FieldErrors::default()).describe().message),
        StatusCode::BAD_REQUEST => (
            "bad_request",
            "リクエストの内容を読み取れませんでした。項目と形式を /api/v1/openapi.json でご確認ください。".to_string(),
        ),
        StatusCode::METHOD_NOT_ALLOWED => ("method_not_allowed", "このURLではその操作はできません。".to_string()),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            ("unsupported_media_type", "Content-Type: application/json で送ってください。".to_string())
        }
        _ => ("error", "リクエストを処理できませんでした。".to_string()),
    };
    let (parts, _) = resp.into_parts();
    let body = ApiErrorBody { code, message, fields: Vec::new(), request_id: None };
    let mut out = (status, Json(body)).into_response();
    for (name, value) in parts.headers.iter().filter(|(n, _)| **n != CONTENT_TYPE && **n != CONTENT_LENGTH) {
        out.headers_mut().append(name.clone(), value.clone());
    }
    out
}
