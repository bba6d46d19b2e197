//! A request or response body that shows each frame to a [`FrameHook`] as
//! it passes. The framing check and the RPC observer are both hooks.

use std::{
    pin::Pin,
    task::{Context, Poll, ready},
};

use axum::body::{Body, Bytes};
use http_body::{Frame, SizeHint};

/// What a body yields when polled: a frame, an error, or `None` at its end.
pub type Polled = Option<Result<Frame<Bytes>, axum::Error>>;

/// Sees every frame of a body, in order, and the end.
pub trait FrameHook: Send + 'static {
    /// Sees what the inner body yielded and returns what the wrapped body
    /// yields instead: usually the same, or an error that ends the body.
    fn on_frame(&mut self, polled: Polled) -> Polled;
}

pin_project_lite::pin_project! {
    /// `inner` with `hook` watching it. Once anything but a frame has been
    /// yielded (an error or the end), the body is over.
    pub struct Hooked<H> {
        #[pin]
        inner: Body,
        hook: H,
        ended: bool,
    }
}

impl<H: FrameHook> Hooked<H> {
    /// Wraps `inner` in a new [`Body`].
    pub fn body(inner: Body, hook: H) -> Body {
        Body::new(Self { inner, hook, ended: false })
    }
}

impl<H: FrameHook> http_body::Body for Hooked<H> {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<Polled> {
        let this = self.project();
        if *this.ended {
            return Poll::Ready(None);
        }
        let polled = this.hook.on_frame(ready!(this.inner.poll_frame(context)));
        *this.ended = !matches!(polled, Some(Ok(_)));
        Poll::Ready(polled)
    }

    /// Only once the hook has seen the end: a hook may still have something
    /// to say about it (a request cut short, a response without a status).
    fn is_end_stream(&self) -> bool {
        self.ended
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use http_body::Body as _;
    use http_body_util::BodyExt as _;

    use super::*;

    /// Counts data frames and fails the body at the end when there were
    /// fewer than `at_least`.
    struct AtLeast {
        at_least: usize,
        seen: usize,
    }

    impl FrameHook for AtLeast {
        fn on_frame(&mut self, polled: Polled) -> Polled {
            match polled {
                Some(Ok(frame)) => {
                    self.seen += usize::from(frame.is_data());
                    Some(Ok(frame))
                }
                None if self.seen < self.at_least => Some(Err(axum::Error::new("too few frames"))),
                other => other,
            }
        }
    }

    #[tokio::test]
    async fn the_hook_sees_every_frame_and_may_fail_the_end() {
        let body = Hooked::body(Body::from("one frame"), AtLeast { at_least: 1, seen: 0 });
        assert_eq!(body.collect().await.expect("one frame is enough").to_bytes(), "one frame");

        let mut body = Hooked::body(Body::empty(), AtLeast { at_least: 1, seen: 0 });
        assert!(!body.is_end_stream(), "the hook has not seen the end yet");
        let error = body.frame().await.expect("an item").expect_err("the hook's error");
        assert_eq!(error.to_string(), "too few frames");
        assert!(body.is_end_stream());
        assert!(body.frame().await.is_none(), "nothing after the error");
    }
}
