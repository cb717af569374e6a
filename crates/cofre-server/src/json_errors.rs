//! The last word on error responses: any 4xx or 5xx answer that is not already JSON
//! (a rejection from one of axum's extractors — `Path`, `Query`, `Json`, `Bytes`, a
//! typed header —, the body limit, a nested router's fallback) is rewritten into the
//! API's `{"error":{"code","message"}}` shape with the [`ApiError`] code matching its
//! status, so clients meet one error format on every route.

use axum::extract::Request;
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse as _, Response};

use crate::error::ApiError;

/// The longest extractor message kept (the rest of the text is dropped).
const MAX_MESSAGE: usize = 512;

/// Middleware: see the module documentation.
pub(crate) async fn json_errors(req: Request, next: Next) -> Response {
    let resp = next.run(req).await;
    let status = resp.status();
    if !(status.is_client_error() || status.is_server_error()) || is_json(resp.headers()) {
        return resp;
    }
    let (parts, body) = resp.into_parts();
    let text = match axum::body::to_bytes(body, MAX_MESSAGE * 4).await {
        Ok(bytes) => message(&bytes),
        Err(_) => String::new(),
    };
    let error = from_status(status, &parts.headers, text);
    let mut json = error.into_response();
    // 422 (a well-formed body of the wrong shape) is answered 400 like `ApiJson`
    // does; every other status is kept.
    if status != StatusCode::UNPROCESSABLE_ENTITY {
        *json.status_mut() = status;
    }
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            json.headers_mut().insert(name.clone(), value.clone());
        }
    }
    json
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with("application/json"))
}

fn message(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim();
    match text.char_indices().nth(MAX_MESSAGE) {
        Some((cut, _)) => format!("{}…", text.get(..cut).unwrap_or(text)),
        None => text.to_owned(),
    }
}

/// The API error for a plain-text answer with `status`.
fn from_status(status: StatusCode, headers: &HeaderMap, text: String) -> ApiError {
    let text = if text.is_empty() {
        status.canonical_reason().unwrap_or("error").to_owned()
    } else {
        text
    };
    match status {
        StatusCode::UNAUTHORIZED => ApiError::Unauthorized,
        StatusCode::FORBIDDEN => ApiError::Forbidden,
        StatusCode::NOT_FOUND => ApiError::NotFound,
        StatusCode::METHOD_NOT_ALLOWED => ApiError::MethodNotAllowed,
        StatusCode::REQUEST_TIMEOUT => ApiError::RequestTimeout,
        StatusCode::CONFLICT => ApiError::Conflict(text),
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::UnsupportedMediaType,
        StatusCode::TOO_MANY_REQUESTS => ApiError::TooManyRequests {
            retry_after: headers
                .get(header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse().ok())
                .unwrap_or(1),
        },
        StatusCode::SERVICE_UNAVAILABLE => ApiError::Unavailable,
        s if s.is_server_error() => ApiError::internal(text),
        _ => ApiError::BadRequest(text),
    }
}

/// A plain-text error like an extractor's rejection, for the tests.
#[cfg(test)]
fn plain(status: StatusCode, text: &'static str) -> Response {
    let mut r = Response::new(axum::body::Body::from(text));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;

    #[tokio::test]
    async fn plain_text_errors_become_json_with_the_matching_code() {
        for (status, code, want) in [
            (StatusCode::BAD_REQUEST, "bad_request", 400),
            (StatusCode::UNPROCESSABLE_ENTITY, "bad_request", 400),
            (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", 413),
            (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                415,
            ),
            (StatusCode::NOT_FOUND, "not_found", 404),
            (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", 405),
            (StatusCode::IM_A_TEAPOT, "bad_request", 418),
        ] {
            let app = axum::Router::new()
                .route(
                    "/",
                    axum::routing::get(move || async move { plain(status, "Failed to parse") }),
                )
                .layer(axum::middleware::from_fn(json_errors));
            let resp = tower_service::Service::call(
                &mut app.clone(),
                Request::builder().uri("/").body(Body::empty()).unwrap(),
            )
            .await
            .unwrap();
            assert_eq!(resp.status().as_u16(), want);
            assert!(is_json(resp.headers()));
            let body = axum::body::to_bytes(resp.into_body(), 4096).await.unwrap();
            let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(v["error"]["code"], code, "{status}");
        }
    }
}
