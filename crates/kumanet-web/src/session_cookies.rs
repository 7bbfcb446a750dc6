//! The cookies and statuses of a login, shared by the login page and the API's login: the
//! browser's device cookie read (R8.6), the session and device cookies set, the refusal's status.

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;

use crate::gate::cookie_value;
use crate::service::accounts::{LoggedIn, LoginClient, LoginRefused};
use crate::App;

/// The browser a login comes from: its device cookie (R8.6) and what it says it is.
pub(crate) fn login_client(app: &App, headers: &HeaderMap) -> LoginClient {
    let user_agent = headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or("");
    LoginClient {
        device_token: cookie_value(headers, app.device_cookie()).map(kumanet_core::secret::Secret::from),
        user_agent: user_agent.chars().take(300).collect(),
    }
}

/// A successful login sets the new session's cookie and (again) the browser's device cookie.
pub(crate) fn set_login_cookies(app: &App, resp: &mut Response, ok: &LoggedIn) {
    for cookie in [app.cookie(app.session_cookie(), &ok.session_token), app.device_cookie_value(&ok.device_token)] {
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            resp.headers_mut().append(header::SET_COOKIE, v);
        }
    }
}

/// A refused login's status: 429 with `Retry-After` when held back (R8.6), 401 otherwise.
pub(crate) fn set_refused_status(resp: &mut Response, refused: &LoginRefused) {
    match refused {
        LoginRefused::Throttled { retry_after_s } => {
            *resp.status_mut() = StatusCode::TOO_MANY_REQUESTS;
            if let Ok(v) = HeaderValue::from_str(&retry_after_s.to_string()) {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        LoginRefused::Invalid | LoginRefused::IssuedExpired => *resp.status_mut() = StatusCode::UNAUTHORIZED,
    }
}
