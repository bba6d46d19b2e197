//! Hostile and broken input: each gets a clear client-error code, never
//! INTERNAL, never a panic, and the server keeps serving.
//!
//! Frames the generated client cannot produce (invalid UTF-8, malformed
//! protobuf) are built by hand and sent over HTTP/2 with hyper.

use std::{net::SocketAddr, time::Duration};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use bytes::{BufMut, Bytes, BytesMut};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use sqlx::{Connection, PgConnection};
use tasktracker_bench::server::TOKEN_SECRET;
use tasktracker_proto::v1;
use tonic::{Code, Status};
use tonic_types::StatusExt;

use crate::common::{Started, create_request, start};

/// A gRPC status as seen on the wire.
#[derive(Debug)]
struct WireStatus {
    code: i32,
    message: String,
}

/// One gRPC message frame: uncompressed flag, big-endian length, bytes.
fn frame(message: &[u8]) -> Bytes {
    let mut frame = BytesMut::with_capacity(5 + message.len());
    frame.put_u8(0);
    frame.put_u32(message.len() as u32);
    frame.put_slice(message);
    frame.freeze()
}

/// Sends `body` (already framed) to `path` over HTTP/2 and reads the status.
async fn raw_call(address: SocketAddr, path: &str, token: &str, body: Bytes) -> WireStatus {
    let stream = tokio::net::TcpStream::connect(address).await.expect("connects");
    let (mut sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream)).await.expect("h2 handshake");
    tokio::spawn(connection);
    let request = http::Request::post(format!("http://{address}{path}"))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .header("authorization", format!("Bearer {token}"))
        .body(Full::new(body))
        .unwrap();
    let response = tokio::time::timeout(Duration::from_secs(10), sender.send_request(request))
        .await
        .expect("an answer within 10 s")
        .expect("an HTTP response");
    let (parts, body) = response.into_parts();
    assert_eq!(parts.status, http::StatusCode::OK, "gRPC answers with HTTP 200");
    let read = |headers: &http::HeaderMap| {
        headers.get("grpc-status").map(|code| WireStatus {
            code: code.to_str().unwrap().parse().unwrap(),
            message: headers.get("grpc-message").map(|m| m.to_str().unwrap_or_default().to_owned()).unwrap_or_default(),
        })
    };
    if let Some(status) = read(&parts.headers) {
        return status;
    }
    let collected = body.collect().await.expect("body");
    read(collected.trailers().expect("trailers")).expect("grpc-status in trailers")
}

/// Protobuf: a length-delimited field.
fn field(number: u32, bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    varint(&mut out, u64::from(number << 3 | 2));
    varint(&mut out, bytes.len() as u64);
    out.extend_from_slice(bytes);
    out
}

fn varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn code_name(code: i32) -> String {
    format!("{:?}", Code::from_i32(code))
}

/// Asserts an INVALID_ARGUMENT whose BadRequest names `field`.
fn assert_invalid_field(status: &Status, field: &str) {
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    let fields: Vec<String> = status
        .get_details_bad_request()
        .map(|bad| bad.field_violations.into_iter().map(|v| v.field).collect())
        .unwrap_or_default();
    assert!(fields.iter().any(|f| f == field), "expected a violation of `{field}`, got {fields:?}: {status:?}");
}

const GET_TASK: &str = "/tasktracker.v1.TaskService/GetTask";
const CREATE_TASK: &str = "/tasktracker.v1.TaskService/CreateTask";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_messages_are_refused_and_the_server_stays_up() {
    let mut app = start().await;
    // 5 MiB: over the server's 1 MiB limit.
    let mut huge = create_request(&app.project, "");
    huge.task.as_mut().unwrap().description = "x".repeat(5 * 1024 * 1024);
    let status = app.tasks().create_task(app.call(huge)).await.unwrap_err();
    eprintln!("5 MiB message: {:?} {}", status.code(), status.message());
    assert!(
        matches!(status.code(), Code::ResourceExhausted | Code::OutOfRange),
        "a message over the limit is a client error: {status:?}"
    );
    // Under the byte limit but far over the field limits.
    let mut many = create_request(&app.project, "");
    many.task.as_mut().unwrap().labels = (0..50_000).map(|i| format!("l{i}")).collect();
    let status = app.tasks().create_task(app.call(many)).await.unwrap_err();
    eprintln!("50,000 labels: {:?}", status.code());
    assert_invalid_field(&status, "task.labels");
    // Metadata over the server's 16 KiB header-list limit.
    let mut request = app.call(v1::GetTaskRequest { name: format!("{}/tasks/x", app.project) });
    request.metadata_mut().insert("x-padding", "p".repeat(64 * 1024).parse().unwrap());
    let status = app.tasks().get_task(request).await.unwrap_err();
    eprintln!("64 KiB of metadata: {:?} {}", status.code(), status.message());
    assert_ne!(status.code(), Code::Internal, "{status:?}");
    assert_ne!(status.code(), Code::Ok);
    app.assert_healthy().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_utf8_in_a_string_field_is_invalid_argument() {
    let mut app = start().await;
    let token = app.owner.access_token.clone();
    // GetTaskRequest.name (field 1) = "projects/\xff\xfe".
    let status = raw_call(app.server.address, GET_TASK, &token, frame(&field(1, b"projects/\xff\xfe"))).await;
    eprintln!("invalid UTF-8 in GetTaskRequest.name: {} {}", code_name(status.code), status.message);
    // CreateTaskRequest.task.title (nested) = "\xc3\x28".
    let body = [field(1, app.project.as_bytes()), field(2, &field(2, b"bad \xc3\x28 title"))].concat();
    let nested = raw_call(app.server.address, CREATE_TASK, &token, frame(&body)).await;
    eprintln!("invalid UTF-8 in CreateTaskRequest.task.title: {} {}", code_name(nested.code), nested.message);
    app.assert_healthy().await;
    assert_eq!(status.code, Code::InvalidArgument as i32, "{status:?}");
    assert_eq!(nested.code, Code::InvalidArgument as i32, "{nested:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_protobuf_is_invalid_argument() {
    let mut app = start().await;
    let token = app.owner.access_token.clone();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        // Field 1 with wire type 7, which does not exist.
        ("invalid wire type", vec![0x0f, 0x00]),
        // Field 1 claims 100 bytes; 3 follow.
        ("truncated field", vec![0x0a, 0x64, b'a', b'b', b'c']),
        // 200 nested groups of an unknown field: past prost's recursion limit.
        ("groups nested 200 deep", [vec![0x7b; 200], vec![0x7c; 200]].concat()),
        // A varint of 11 bytes.
        ("overlong varint", [vec![0x10], vec![0xff; 10], vec![0x01]].concat()),
    ];
    let mut seen = Vec::new();
    for (name, message) in &cases {
        let status = raw_call(app.server.address, GET_TASK, &token, frame(message)).await;
        eprintln!("{name}: {} {}", code_name(status.code), status.message);
        seen.push((name, status));
    }
    app.assert_healthy().await;
    for (name, status) in seen {
        assert_eq!(status.code, Code::InvalidArgument as i32, "{name}: {status:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_truncated_grpc_frame_is_a_client_error() {
    let mut app = start().await;
    let token = app.owner.access_token.clone();
    // The frame header announces 1,000 bytes; the stream ends after 10.
    let mut body = BytesMut::new();
    body.put_u8(0);
    body.put_u32(1_000);
    body.put_slice(&field(1, b"projects/"));
    let status = raw_call(app.server.address, GET_TASK, &token, body.freeze()).await;
    eprintln!("truncated gRPC frame: {} {}", code_name(status.code), status.message);
    // A compressed-flag byte of 7 (only 0 and 1 exist).
    let mut flagged = BytesMut::new();
    flagged.put_u8(7);
    flagged.put_u32(0);
    let flag = raw_call(app.server.address, GET_TASK, &token, flagged.freeze()).await;
    eprintln!("invalid compression flag: {} {}", code_name(flag.code), flag.message);
    app.assert_healthy().await;
    assert_eq!(status.code, Code::InvalidArgument as i32, "{status:?}");
}

async fn list(app: &Started, filter: String, page_size: i32) -> Result<v1::ListTasksResponse, Status> {
    let mut request =
        app.call(v1::ListTasksRequest { parent: app.project.clone(), filter, page_size, ..Default::default() });
    request.set_timeout(Duration::from_secs(10));
    app.tasks().list_tasks(request).await.map(tonic::Response::into_inner)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deeply_nested_and_huge_filters_are_invalid_argument() {
    let mut app = start().await;
    let cases = [
        ("500 nested parentheses", format!("{}status = TODO{}", "(".repeat(500), ")".repeat(500))),
        ("400 NOTs", format!("{}status = TODO", "NOT ".repeat(400))),
        ("1,900 minus signs", format!("{}x", "-".repeat(1_900))),
        ("100 KiB filter", format!("title:\"{}\"", "a".repeat(100 * 1024))),
        ("1 MiB - 1 KiB filter", "x ".repeat(511 * 1024)),
        ("unbalanced", "(status = TODO".to_owned()),
        ("unknown field", "colour = red".to_owned()),
    ];
    for (name, filter) in cases {
        let status = list(&app, filter, 0).await.unwrap_err();
        eprintln!("{name}: {:?} {}", status.code(), status.message());
        assert_invalid_field(&status, "filter");
    }
    app.assert_healthy().await;
}

/// The longest filter made of one repeated term.
fn at_limit(term: &str, joiner: &str) -> String {
    let mut filter = String::from(term);
    while filter.len() + joiner.len() + term.len() <= 2_000 {
        filter.push_str(joiner);
        filter.push_str(term);
    }
    filter
}

async fn assert_quick(app: &Started, cases: Vec<(&str, String)>) {
    for (name, filter) in cases {
        let started = std::time::Instant::now();
        let result = list(app, filter, 0).await;
        eprintln!(
            "{name}: {:?} in {:?}",
            result.as_ref().map(|r| r.tasks.len()).map_err(Status::code),
            started.elapsed()
        );
        let status = result.err();
        assert!(status.as_ref().is_none_or(|status| status.code() == Code::InvalidArgument), "{name}: {status:?}");
        assert!(started.elapsed() < Duration::from_secs(2), "{name} took {:?}", started.elapsed());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_at_the_size_limit_answer_quickly() {
    let mut app = start().await;
    let cases = vec![
        ("~330 ORed words", at_limit("word", " OR ")),
        ("~90 ORed assignee terms", at_limit("assignee = me", " OR ")),
        ("~180 ANDed status terms", at_limit("status = TODO", " ")),
        ("1,000 two-byte characters", format!("title:\"{}\"", "é".repeat(990))),
        ("31 nested parentheses", format!("{}status = TODO{}", "(".repeat(31), ")".repeat(31))),
    ];
    assert_quick(&app, cases).await;
    app.assert_healthy().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_anded_label_terms_answer_quickly() {
    let mut app = start().await;
    let cases = vec![
        ("~130 ANDed label terms", at_limit("label = bug", " ")),
        ("~100 ANDed assignee terms", at_limit("assignee = me", " ")),
    ];
    assert_quick(&app, cases).await;
    app.assert_healthy().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn negative_and_huge_page_sizes() {
    let mut app = start().await;
    for page_size in [-1, -50, i32::MIN] {
        let status = list(&app, String::new(), page_size).await.unwrap_err();
        eprintln!("page_size {page_size}: {:?} {}", status.code(), status.message());
        assert_invalid_field(&status, "page_size");
    }
    for page_size in [i32::MAX, 1_000_000] {
        let response = list(&app, String::new(), page_size).await.expect("a huge page size is capped");
        eprintln!("page_size {page_size}: OK, {} tasks", response.tasks.len());
        assert!(response.tasks.len() <= 500);
    }
    for (name, token) in
        [("garbage", "!!!not-a-token!!!".to_owned()), ("base64 of junk", URL_SAFE_NO_PAD.encode([0xffu8; 64]))]
    {
        let mut request =
            app.call(v1::ListTasksRequest { parent: app.project.clone(), page_token: token, ..Default::default() });
        request.set_timeout(Duration::from_secs(10));
        let status = app.tasks().list_tasks(request).await.unwrap_err();
        eprintln!("page_token {name}: {:?}", status.code());
        assert_invalid_field(&status, "page_token");
    }
    app.assert_healthy().await;
}

/// A CreateTask request whose title is plain and whose `request_id` is given.
fn create_with_request_id(project: &str, request_id: &str) -> v1::CreateTaskRequest {
    let mut request = create_request(project, "");
    request.request_id = request_id.into();
    request
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nul_bytes_in_task_text_are_invalid_argument() {
    let mut app = start().await;
    let mut title = create_request(&app.project, "");
    title.task.as_mut().unwrap().title = "a\u{0}b".into();
    let title = app.tasks().create_task(app.call(title)).await.unwrap_err();
    eprintln!("NUL in task.title: {:?} {}", title.code(), title.message());
    let mut description = create_request(&app.project, "");
    description.task.as_mut().unwrap().description = "a\u{0}b".into();
    let description = app.tasks().create_task(app.call(description)).await.unwrap_err();
    eprintln!("NUL in task.description: {:?} {}", description.code(), description.message());
    app.assert_healthy().await;
    assert_invalid_field(&title, "task.title");
    assert_invalid_field(&description, "task.description");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nul_bytes_that_reach_postgres_are_invalid_argument() {
    let mut app = start().await;
    // Two tasks and a page of one, for a real page token to tamper with.
    for _ in 0..2 {
        app.tasks().create_task(app.call(create_request(&app.project, ""))).await.unwrap();
    }
    let page = list(&app, String::new(), 1).await.unwrap();
    let mut cursor: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&page.next_page_token).unwrap()).unwrap();
    cursor["i"] = "\u{0}".into();
    let forged_page_token = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&cursor).unwrap());

    let mut results = Vec::new();
    let request_id = app.tasks().create_task(app.call(create_with_request_id(&app.project, "nul\u{0}request"))).await;
    results.push(("request_id", request_id.unwrap_err()));
    results.push(("filter", list(&app, "title:\"a\u{0}b\"".into(), 0).await.unwrap_err()));
    let mut request = app.call(v1::ListTasksRequest {
        parent: app.project.clone(),
        page_size: 1,
        page_token: forged_page_token,
        ..Default::default()
    });
    request.set_timeout(Duration::from_secs(10));
    results.push(("page_token", app.tasks().list_tasks(request).await.unwrap_err()));
    for (field, status) in &results {
        eprintln!("NUL in {field}: {:?} {}", status.code(), status.message());
    }
    app.assert_healthy().await;
    for (field, status) in &results {
        assert_invalid_field(status, field);
    }
}

#[derive(serde::Serialize)]
struct Claims<'a> {
    sub: &'a str,
    sid: &'a str,
    aud: &'a str,
    iat: i64,
    exp: i64,
}

fn jwt(secret: &[u8], claims: &Claims) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(secret),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_and_expired_tokens_are_unauthenticated() {
    let mut app = start().await;
    let user = app.owner.id().to_owned();
    let mut db = PgConnection::connect(&app.database.url).await.unwrap();
    let session: String =
        sqlx::query_scalar("SELECT id FROM sessions WHERE user_id = $1").bind(&user).fetch_one(&mut db).await.unwrap();
    db.close().await.ok();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let claims = |sid, iat, exp| Claims { sub: &user, sid, aud: "tasktracker", iat, exp };
    let random_session = uuid::Uuid::now_v7().to_string();
    let unsigned = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims(&session, now, now + 600)).unwrap())
    );
    let valid = jwt(TOKEN_SECRET.as_bytes(), &claims(&session, now, now + 600));
    let (head, rest) = valid.split_once('.').unwrap();
    let tampered = format!("{head}.{}", rest.replacen(|_: char| true, "x", 1));
    let cases = [
        (
            "signed with another secret",
            jwt(b"not the server's secret, but 32+ bytes long", &claims(&session, now, now + 600)),
        ),
        ("expired a minute ago", jwt(TOKEN_SECRET.as_bytes(), &claims(&session, now - 1_000, now - 60))),
        ("a session that does not exist", jwt(TOKEN_SECRET.as_bytes(), &claims(&random_session, now, now + 600))),
        ("alg none", unsigned),
        ("tampered payload", tampered),
        ("garbage", "garbage".to_owned()),
        ("an API token that does not exist", format!("ttk_{}", "A".repeat(60))),
        ("8 KiB of junk", "j".repeat(8 * 1024)),
    ];
    for (name, token) in cases {
        let request = tasktracker_bench::client::authorized(
            &tasktracker_bench::client::bearer(&token),
            v1::GetTaskRequest { name: format!("{}/tasks/{}", app.project, uuid::Uuid::now_v7()) },
        );
        let status = app.tasks().get_task(request).await.unwrap_err();
        eprintln!("token {name}: {:?} {}", status.code(), status.message());
        assert_eq!(status.code(), Code::Unauthenticated, "{name}: {status:?}");
    }
    let mut missing = tonic::Request::new(v1::GetTaskRequest { name: format!("{}/tasks/x", app.project) });
    missing.metadata_mut().insert("authorization", "Basic dXNlcjpwYXNz".parse().unwrap());
    let status = app.tasks().get_task(missing).await.unwrap_err();
    eprintln!("token basic auth: {:?}", status.code());
    assert_eq!(status.code(), Code::Unauthenticated);
    app.assert_healthy().await;
}
