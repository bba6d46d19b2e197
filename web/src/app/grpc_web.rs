//! gRPC-web calls over the browser's `fetch` (the server side is
//! tonic-web): a unary call reads the whole answer, a server stream reads
//! its body as it arrives and is aborted when dropped. The wire format is
//! [`crate::model::grpc_web`]'s.

use js_sys::{Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortController, Headers, ReadableStreamDefaultReader, RequestInit, Response};

pub use crate::model::grpc_web::{Code, Status};
use crate::model::grpc_web::{Frame, Frames, frame};

fn unreachable_server() -> Status {
    Status::new(Code::Unavailable, "the server cannot be reached")
}

/// `grpc-status-details-bin` decoded with the browser's `atob` (forgiving:
/// the padding gRPC leaves out is not needed).
fn base64(value: &str) -> Option<Vec<u8>> {
    let text = web_sys::window()?.atob(value).ok()?;
    text.chars().map(|c| u8::try_from(u32::from(c)).ok()).collect()
}

/// The status that ends a response, from its trailers.
fn status_of(trailers: &[(String, String)]) -> Status {
    let get = |name: &str| trailers.iter().find(|(n, _)| n == name).map(|(_, value)| value.clone());
    Status::from_metadata(get, base64)
        .unwrap_or_else(|| Status::new(Code::Internal, "the answer ended without a grpc-status"))
}

/// Posts the framed `message` to `url`; returns the response once its
/// headers have arrived (a trailers-only error answer is an `Err`).
async fn send(url: &str, message: &[u8], token: Option<&str>, abort: &AbortController) -> Result<Response, Status> {
    let headers = Headers::new().map_err(|_| unreachable_server())?;
    let set = |name: &str, value: &str| headers.set(name, value).map_err(|_| Status::new(Code::Internal, name));
    set("content-type", "application/grpc-web+proto")?;
    set("x-grpc-web", "1")?;
    if let Some(token) = token {
        set("authorization", &format!("Bearer {token}"))?;
    }
    let init = RequestInit::new();
    init.set_method("POST");
    init.set_headers(&headers);
    init.set_body(&Uint8Array::from(frame(message).as_slice()));
    init.set_signal(Some(&abort.signal()));
    let window = web_sys::window().ok_or_else(unreachable_server)?;
    let answered = JsFuture::from(window.fetch_with_str_and_init(url, &init)).await;
    let response: Response = answered.map_err(|_| unreachable_server())?.unchecked_into();
    if response.status() != 200 {
        return Err(Status::new(Code::of_http(response.status()), format!("HTTP {}", response.status())));
    }
    let answer_headers = response.headers();
    let get = |name: &str| answer_headers.get(name).ok().flatten();
    match Status::from_metadata(get, base64) {
        Some(status) if status.code() != Code::Ok => Err(status),
        _ => Ok(response),
    }
}

/// Calls the unary method at `path` of the API at `base_url` with the
/// encoded `message`; returns the encoded answer.
pub async fn unary(base_url: &str, path: &str, message: &[u8], token: Option<&str>) -> Result<Vec<u8>, Status> {
    let abort = AbortController::new().map_err(|_| unreachable_server())?;
    let response = send(&format!("{base_url}{path}"), message, token, &abort).await?;
    let body = response.array_buffer().map_err(|_| unreachable_server())?;
    let body = JsFuture::from(body).await.map_err(|_| unreachable_server())?;
    let mut frames = Frames::default();
    frames.extend(&Uint8Array::new(&body).to_vec());
    let mut answer = None;
    while let Some(frame) = frames.next_frame()? {
        match frame {
            Frame::Data(data) => answer = answer.or(Some(data)),
            Frame::Trailers(trailers) => {
                let status = status_of(&trailers);
                if status.code() != Code::Ok {
                    return Err(status);
                }
            }
        }
    }
    answer.ok_or_else(|| Status::new(Code::Internal, "the answer carried no message"))
}

/// The answers of a server-streaming call, as they arrive; dropping it
/// aborts the call.
pub struct Stream {
    reader: ReadableStreamDefaultReader,
    abort: AbortController,
    frames: Frames,
    ended: bool,
}

impl Stream {
    /// The next encoded answer; `None` once the server ended the stream
    /// with an OK status.
    pub async fn message(&mut self) -> Result<Option<Vec<u8>>, Status> {
        loop {
            match self.frames.next_frame()? {
                Some(Frame::Data(data)) => return Ok(Some(data)),
                Some(Frame::Trailers(trailers)) => {
                    self.ended = true;
                    let status = status_of(&trailers);
                    return if status.code() == Code::Ok { Ok(None) } else { Err(status) };
                }
                None if self.ended => {
                    return Err(Status::new(Code::Unavailable, "the stream ended without a status"));
                }
                None => {}
            }
            let chunk = JsFuture::from(self.reader.read()).await.map_err(|_| unreachable_server())?;
            let field = |name: &str| Reflect::get(&chunk, &JsValue::from_str(name)).unwrap_or(JsValue::UNDEFINED);
            if field("done").as_bool().unwrap_or(true) {
                self.ended = true;
            } else {
                self.frames.extend(&field("value").unchecked_into::<Uint8Array>().to_vec());
            }
        }
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        self.abort.abort();
    }
}

/// Starts the server-streaming method at `path` with the encoded `message`.
pub async fn server_streaming(
    base_url: &str,
    path: &str,
    message: &[u8],
    token: Option<&str>,
) -> Result<Stream, Status> {
    let abort = AbortController::new().map_err(|_| unreachable_server())?;
    let response = send(&format!("{base_url}{path}"), message, token, &abort).await?;
    let body = response.body().ok_or_else(|| Status::new(Code::Internal, "the answer has no body"))?;
    let reader = body.get_reader().unchecked_into::<ReadableStreamDefaultReader>();
    Ok(Stream { reader, abort, frames: Frames::default(), ended: false })
}
