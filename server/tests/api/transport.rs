//! The transport: gRPC-web over HTTP/1.1, static files, limits, deadlines,
//! load shedding and graceful shutdown.

use std::time::Duration;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use prost::Message;
use tasktracker_proto::v1;
use tonic::Code;

use crate::{
    helpers::{Backend, PASSWORD, TestDatabase, spawn_app, spawn_app_with, task},
    on_both_backends,
};

on_both_backends!(
    grpc_web_works_over_plain_http1,
    large_messages_are_refused_and_the_server_stays_up,
    deadlines_are_enforced,
    overload_is_shed_not_queued,
    shutdown_lets_in_flight_calls_finish,
);

/// Sends one HTTP/1.1 request and returns status, headers and body.
async fn http1(
    address: std::net::SocketAddr,
    request: http::Request<Full<Bytes>>,
) -> (http::StatusCode, http::HeaderMap, Bytes) {
    let stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.unwrap();
    tokio::spawn(connection);
    let response = sender.send_request(request).await.unwrap();
    let (parts, body) = response.into_parts();
    (parts.status, parts.headers, body.collect().await.unwrap().to_bytes())
}

async fn grpc_web_works_over_plain_http1(backend: Backend) {
    let app = spawn_app(backend).await;
    let message =
        v1::SignUpRequest { email: "web@example.com".into(), password: PASSWORD.into(), display_name: "Web".into() };
    let request = http::Request::post(format!("http://{}/tasktracker.v1.AccountService/SignUp", app.address))
        .header("content-type", "application/grpc-web+proto")
        .header("x-grpc-web", "1")
        .body(Full::new(grpc_web_frame(&message)))
        .unwrap();
    let (status, headers, mut body) = http1(app.address, request).await;
    assert_eq!(status, http::StatusCode::OK);
    assert!(headers["content-type"].to_str().unwrap().starts_with("application/grpc-web"));
    // A data frame with the response, then a trailer frame with the status.
    assert_eq!(body.get_u8(), 0);
    let length = body.get_u32() as usize;
    let response = v1::SignUpResponse::decode(body.copy_to_bytes(length)).unwrap();
    assert_eq!(response.user.unwrap().email, "web@example.com");
    assert_eq!(body.get_u8(), 0x80);
    let trailer_length = body.get_u32() as usize;
    let trailers = String::from_utf8(body.copy_to_bytes(trailer_length).to_vec()).unwrap();
    assert!(trailers.contains("grpc-status:0"), "{trailers}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_web_bundle_is_served_on_the_same_port() {
    let database = TestDatabase::create(Backend::Sqlite).await;
    let web = database.directory.join("web");
    std::fs::create_dir_all(&web).unwrap();
    std::fs::write(web.join("index.html"), "<!doctype html><title>Tasktracker</title>").unwrap();
    std::fs::write(web.join("app.js"), "console.log('hi')").unwrap();
    let app = spawn_app_with(Backend::Sqlite, database, |settings| settings.web_dir = Some(web)).await;
    for (path, expected) in
        [("/", "<title>Tasktracker"), ("/projects/some/board", "<title>Tasktracker"), ("/app.js", "console.log")]
    {
        let request =
            http::Request::get(format!("http://{}{path}", app.address)).body(Full::new(Bytes::new())).unwrap();
        let (status, _, body) = http1(app.address, request).await;
        assert_eq!(status, http::StatusCode::OK, "{path}");
        assert!(String::from_utf8_lossy(&body).contains(expected), "{path}");
    }
    // gRPC still works next to the files.
    app.sign_up("ada").await;
    app.stop().await;
}

async fn large_messages_are_refused_and_the_server_stays_up(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada").await;
    let project = app.create_project(&ada, "Limits").await;
    let huge = v1::Task { description: "x".repeat(2 * 1024 * 1024), ..task("huge") };
    let status = app
        .tasks()
        .create_task(ada.call(v1::CreateTaskRequest {
            parent: project.name.clone(),
            task: Some(huge),
            request_id: String::new(),
        }))
        .await
        .unwrap_err();
    assert!(matches!(status.code(), Code::OutOfRange | Code::ResourceExhausted), "{status:?}");
    app.create_task(&ada, &project.name, task("still fine")).await;
    app.stop().await;
}

fn grpc_web_frame(message: &impl Message) -> Bytes {
    let mut frame = BytesMut::new();
    frame.put_u8(0);
    frame.put_u32(message.encoded_len() as u32);
    message.encode(&mut frame).unwrap();
    frame.freeze()
}

async fn deadlines_are_enforced(backend: Backend) {
    // The server's default deadline, for calls that bring none: ours, and
    // answered DEADLINE_EXCEEDED. Argon2 makes sign-up slower than 1 ms.
    let database = TestDatabase::create(backend).await;
    let app = spawn_app_with(backend, database, |settings| settings.request_timeout = Duration::from_millis(1)).await;
    let status = app
        .accounts()
        .sign_up(v1::SignUpRequest {
            email: "late@example.com".into(),
            password: PASSWORD.into(),
            display_name: "Late".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");

    // A client's shorter `grpc-timeout` is honoured too. tonic's server
    // enforces it as well, outside our middleware, and answers CANCELLED
    // ("Timeout expired") when its timer fires first; either way the call is
    // cut at the deadline. A plain HTTP client leaves the deadline to the server.
    let message = v1::SignUpRequest {
        email: "later@example.com".into(),
        password: PASSWORD.into(),
        display_name: "Later".into(),
    };
    let request = http::Request::post(format!("http://{}/tasktracker.v1.AccountService/SignUp", app.address))
        .header("content-type", "application/grpc-web+proto")
        .header("grpc-timeout", "1m")
        .body(Full::new(grpc_web_frame(&message)))
        .unwrap();
    let (status, headers, _) = http1(app.address, request).await;
    assert_eq!(status, http::StatusCode::OK);
    let code = headers.get("grpc-status").map(|value| value.to_str().unwrap().to_owned());
    assert!(matches!(code.as_deref(), Some("4" | "1")), "DEADLINE_EXCEEDED or CANCELLED: {headers:?}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undecodable_requests_are_invalid_argument_not_internal() {
    let app = spawn_app(Backend::Sqlite).await;
    // SignUpRequest { email: <bytes that are not UTF-8> }, framed by hand.
    let message = [0x0a_u8, 0x02, 0xff, 0xfe];
    let mut frame = BytesMut::new();
    frame.put_u8(0);
    frame.put_u32(message.len() as u32);
    frame.put_slice(&message);
    let request = http::Request::post(format!("http://{}/tasktracker.v1.AccountService/SignUp", app.address))
        .header("content-type", "application/grpc-web+proto")
        .body(Full::new(frame.freeze()))
        .unwrap();
    let (status, headers, _) = http1(app.address, request).await;
    assert_eq!(status, http::StatusCode::OK);
    assert_eq!(headers.get("grpc-status").map(|value| value.to_str().unwrap()), Some("3"), "{headers:?}");
    // The server is still up.
    app.sign_up("ada").await;
    app.stop().await;
}

async fn overload_is_shed_not_queued(backend: Backend) {
    let database = TestDatabase::create(backend).await;
    let app = spawn_app_with(backend, database, |settings| settings.max_concurrent_calls = 2).await;
    let calls = (0..16).map(|index| {
        let mut client = app.accounts();
        async move {
            let started = std::time::Instant::now();
            let result = client
                .sign_up(v1::SignUpRequest {
                    email: format!("user{index}@example.com"),
                    password: PASSWORD.into(),
                    display_name: "U".into(),
                })
                .await;
            (result.map(|_| ()).map_err(|status| status.code()), started.elapsed())
        }
    });
    let results = futures::future::join_all(calls).await;
    let accepted = results.iter().filter(|(result, _)| result.is_ok()).count();
    let shed: Vec<Duration> =
        results.iter().filter(|(result, _)| *result == Err(Code::Unavailable)).map(|(_, took)| *took).collect();
    assert!(accepted >= 2, "{results:?}");
    assert!(!shed.is_empty(), "some calls are shed: {results:?}");
    assert_eq!(accepted + shed.len(), 16, "every call either succeeds or is shed: {results:?}");
    app.stop().await;
}

async fn shutdown_lets_in_flight_calls_finish(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut client = app.accounts();
    let in_flight = tokio::spawn(async move {
        client
            .sign_up(v1::SignUpRequest {
                email: "last@example.com".into(),
                password: PASSWORD.into(),
                display_name: "Last".into(),
            })
            .await
    });
    // Let the call reach the server (Argon2 keeps it busy), then shut down.
    tokio::time::sleep(Duration::from_millis(15)).await;
    app.shutdown.cancel();
    let response = in_flight.await.unwrap().expect("the in-flight call completes");
    assert_eq!(response.into_inner().user.unwrap().email, "last@example.com");
    tokio::time::timeout(Duration::from_secs(10), app.server).await.expect("stops in time").unwrap().unwrap();
    // New connections are refused once stopped.
    assert!(tokio::net::TcpStream::connect(app.address).await.is_err());
}
