//! Malformed request bodies are the client's error: INVALID_ARGUMENT (or
//! UNIMPLEMENTED for an encoding the server lacks), never INTERNAL, over
//! gRPC-web and native gRPC alike.

use bytes::{BufMut, Bytes, BytesMut};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use prost::Message;
use tasktracker_proto::v1;

use crate::{
    helpers::{Backend, PASSWORD, spawn_app},
    on_both_backends,
};

on_both_backends!(malformed_grpc_web_bodies_are_client_errors, malformed_native_grpc_bodies_are_client_errors);

/// One length-prefixed message with `flag`.
fn frame(flag: u8, message: &[u8]) -> Vec<u8> {
    let mut frame = BytesMut::new();
    frame.put_u8(flag);
    frame.put_u32(message.len() as u32);
    frame.put_slice(message);
    frame.to_vec()
}

fn sign_up() -> Vec<u8> {
    v1::SignUpRequest { email: "frames@example.com".into(), password: PASSWORD.into(), display_name: "F".into() }
        .encode_to_vec()
}

/// `(case, extra headers, body, expected grpc-status)`.
type Case = (&'static str, Vec<(&'static str, &'static str)>, Vec<u8>, u8);

/// The bodies a sweep of every method found answered INTERNAL, and more.
fn cases() -> Vec<Case> {
    vec![
        ("compressed flag without grpc-encoding", vec![], frame(1, &sign_up()), 3),
        (
            "a trailer frame from the client",
            vec![],
            [frame(0, &sign_up()), frame(0x80, b"grpc-status:0\r\n")].concat(),
            3,
        ),
        ("a lone trailer frame", vec![], frame(0x80, b"x-a:b\r\n"), 3),
        ("an empty body", vec![], vec![], 3),
        ("a body cut inside the header", vec![], frame(0, &sign_up())[..3].to_vec(), 3),
        ("a body cut inside the message", vec![], frame(0, &sign_up())[..9].to_vec(), 3),
        ("bytes that are not protobuf", vec![], frame(0, &[0xff, 0xff, 0xff]), 3),
        ("an encoding the server lacks", vec![("grpc-encoding", "snappy")], frame(1, b"abc"), 12),
    ]
}

/// The status of a response: from its headers (trailers-only) or its trailers
/// (native gRPC) or its trailer frame (gRPC-web).
async fn status_of(response: http::Response<hyper::body::Incoming>) -> (Option<String>, String) {
    let headers = response.headers().clone();
    let collected = response.into_body().collect().await.expect("response body");
    let trailers = collected.trailers().cloned();
    let body = collected.to_bytes();
    let header = |map: &http::HeaderMap, name: &str| map.get(name).map(|v| v.to_str().unwrap_or_default().to_owned());
    if let Some(code) = header(&headers, "grpc-status") {
        return (Some(code), header(&headers, "grpc-message").unwrap_or_default());
    }
    if let Some(trailers) = trailers
        && let Some(code) = header(&trailers, "grpc-status")
    {
        return (Some(code), header(&trailers, "grpc-message").unwrap_or_default());
    }
    // gRPC-web: the last frame (flag 0x80) carries `grpc-status:N` lines.
    let text = String::from_utf8_lossy(&body).into_owned();
    let code = text.split("grpc-status:").nth(1).map(|rest| rest.chars().take_while(char::is_ascii_digit).collect());
    (code, text)
}

async fn malformed_grpc_web_bodies_are_client_errors(backend: Backend) {
    let app = spawn_app(backend).await;
    for (case, headers, body, expected) in cases() {
        let stream = tokio::net::TcpStream::connect(app.address).await.unwrap();
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.unwrap();
        tokio::spawn(connection);
        let mut request = http::Request::post(format!("http://{}/tasktracker.v1.AccountService/SignUp", app.address))
            .header("content-type", "application/grpc-web+proto")
            .header("x-grpc-web", "1");
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let response = sender.send_request(request.body(Full::new(Bytes::from(body))).unwrap()).await.unwrap();
        assert_eq!(response.status(), http::StatusCode::OK, "{case}");
        let (code, message) = status_of(response).await;
        assert_eq!(code.as_deref(), Some(expected.to_string().as_str()), "{case}: {message}");
    }
    // The server is fine, and counted none of it as its own fault.
    app.sign_up("after").await;
    let metrics = metrics_page(app.metrics_address).await;
    assert!(
        !metrics.lines().any(|line| line.contains("grpc_code=\"Internal\"") && !line.ends_with(" 0")),
        "INTERNAL was counted:\n{metrics}"
    );
    app.stop().await;
}

async fn malformed_native_grpc_bodies_are_client_errors(backend: Backend) {
    let app = spawn_app(backend).await;
    for (case, headers, body, expected) in cases() {
        let stream = tokio::net::TcpStream::connect(app.address).await.unwrap();
        let (mut sender, connection) =
            hyper::client::conn::http2::handshake(hyper_util::rt::TokioExecutor::new(), TokioIo::new(stream))
                .await
                .unwrap();
        tokio::spawn(connection);
        let mut request = http::Request::post(format!("http://{}/tasktracker.v1.AccountService/SignUp", app.address))
            .header("content-type", "application/grpc")
            .header("te", "trailers");
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let response = sender.send_request(request.body(Full::new(Bytes::from(body))).unwrap()).await.unwrap();
        let (code, message) = status_of(response).await;
        assert_eq!(code.as_deref(), Some(expected.to_string().as_str()), "{case}: {message}");
    }
    app.sign_up("after").await;
    app.stop().await;
}

/// The metrics page, over plain HTTP/1.1.
async fn metrics_page(address: std::net::SocketAddr) -> String {
    let stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.unwrap();
    tokio::spawn(connection);
    let request = http::Request::get(format!("http://{address}/metrics")).body(Full::new(Bytes::new())).unwrap();
    let response = sender.send_request(request).await.unwrap();
    String::from_utf8(response.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap()
}
