//! The body-idle timeout: a request body that delivers no bytes for the configured
//! time fails, and the request is answered `408 request_timeout` with
//! `Connection: close`, whatever the handler made of the failed body. A client that
//! declares a large body and stalls is answered and let go instead of holding a
//! handler and a connection for ever.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse as _, Response};
use hyper::body::{Body as HttpBody, Frame, SizeHint};

use crate::error::ApiError;

/// Middleware: wraps the request body in [`IdleBody`] and answers 408 when it timed
/// out.
pub(crate) async fn body_idle_timeout(
    State(idle): State<Duration>,
    req: Request,
    next: Next,
) -> Response {
    let fired = Arc::new(AtomicBool::new(false));
    let req = req.map(|inner| {
        Body::new(IdleBody {
            inner,
            idle,
            sleep: None,
            fired: Arc::clone(&fired),
        })
    });
    let resp = next.run(req).await;
    if fired.load(Ordering::Acquire) {
        let mut resp = ApiError::RequestTimeout.into_response();
        resp.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        return resp;
    }
    resp
}

/// A body whose every frame must arrive within `idle` of being asked for.
struct IdleBody {
    inner: Body,
    idle: Duration,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
    fired: Arc<AtomicBool>,
}

/// The error a stalled body ends with.
#[derive(Debug, thiserror::Error)]
#[error("no request body bytes arrived for {0:?}")]
struct BodyIdle(Duration);

impl HttpBody for IdleBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        if this.fired.load(Ordering::Acquire) {
            return Poll::Ready(Some(Err(axum::Error::new(BodyIdle(this.idle)))));
        }
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(frame) => {
                this.sleep = None;
                Poll::Ready(frame)
            }
            Poll::Pending => {
                let idle = this.idle;
                let sleep = this
                    .sleep
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(idle)));
                if sleep.as_mut().poll(cx).is_ready() {
                    this.sleep = None;
                    this.fired.store(true, Ordering::Release);
                    return Poll::Ready(Some(Err(axum::Error::new(BodyIdle(idle)))));
                }
                Poll::Pending
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
