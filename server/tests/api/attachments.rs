//! Attachments on the embedded object store: a declared upload, the bytes
//! PUT over real HTTP to the presigned URL, checked on confirm, downloaded
//! through a presigned GET that expires and never renders a page inline.

use std::{net::SocketAddr, time::Duration};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use sha2::{Digest, Sha256};
use tasktracker_proto::v1::{self, attachment_service_client::AttachmentServiceClient};
use tonic::{Code, transport::Channel};

use crate::{
    helpers::{
        Backend, TestApp, TestDatabase, TestUser, assert_invalid_field, sample, scrape, spawn_app, spawn_app_with, task,
    },
    on_both_backends,
};

on_both_backends!(
    an_upload_is_confirmed_listed_and_downloaded,
    confirm_refuses_files_that_are_not_what_was_declared,
    uploads_beyond_the_limits_are_refused,
    pages_are_downloaded_as_opaque_attachments_through_urls_that_expire,
    an_upload_not_confirmed_in_time_expires,
    another_projects_attachment_is_refused,
    a_deleted_attachment_is_gone,
);

/// A PNG's signature and header: enough for a sniffer.
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";

pub fn client(app: &TestApp) -> AttachmentServiceClient<Channel> {
    AttachmentServiceClient::new(app.channel.clone())
}

pub fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A declaration of `bytes` as `filename` of `content_type`.
pub fn declaration(filename: &str, content_type: &str, bytes: &[u8]) -> v1::Attachment {
    v1::Attachment {
        filename: filename.into(),
        content_type: content_type.into(),
        size_bytes: bytes.len() as i64,
        sha256: sha256(bytes),
        ..Default::default()
    }
}

/// A reply to a plain HTTP request.
pub struct HttpReply {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

/// Sends `method` to `url` (a path on the server at `address`, or an
/// absolute URL on it) with `headers` and `body`, over HTTP/1.1.
pub async fn http(address: SocketAddr, method: &str, url: &str, headers: &[v1::HttpHeader], body: &[u8]) -> HttpReply {
    let stream = tokio::net::TcpStream::connect(address).await.expect("connects");
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.expect("HTTP");
    tokio::spawn(connection);
    let path = url.strip_prefix(&format!("http://{address}")).unwrap_or(url);
    let mut request = http::Request::builder().method(method).uri(path).header("host", address.to_string());
    for header in headers {
        request = request.header(&header.name, &header.value);
    }
    let request = request.body(Full::new(Bytes::copy_from_slice(body))).expect("a request");
    let response = tokio::time::timeout(Duration::from_secs(10), sender.send_request(request))
        .await
        .expect("an answer within 10 s")
        .expect("a response");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.expect("a body").to_bytes();
    HttpReply { status, headers, body }
}

/// Declares `bytes` on `parent` and PUTs them; returns the pending
/// attachment's name.
pub async fn upload(app: &TestApp, user: &TestUser, parent: &str, declared: v1::Attachment, bytes: &[u8]) -> String {
    upload_to(app, app.address, user, parent, declared, bytes).await
}

/// [`upload`] to the object store at `store` (this server, or S3).
pub async fn upload_to(
    app: &TestApp,
    store: SocketAddr,
    user: &TestUser,
    parent: &str,
    declared: v1::Attachment,
    bytes: &[u8],
) -> String {
    let created = client(app)
        .create_attachment_upload(
            user.call(v1::CreateAttachmentUploadRequest { parent: parent.into(), attachment: Some(declared) }),
        )
        .await
        .expect("declare an upload")
        .into_inner();
    assert!(created.upload_url.starts_with('/') || created.upload_url.starts_with(&format!("http://{store}/")));
    let put = http(store, "PUT", &created.upload_url, &created.upload_headers, bytes).await;
    assert_eq!(put.status, 200, "{}", String::from_utf8_lossy(&put.body));
    created.attachment.expect("the pending attachment").name
}

/// Uploads and confirms `bytes` as `filename` of `content_type` on `parent`.
pub async fn attach(
    app: &TestApp,
    user: &TestUser,
    parent: &str,
    filename: &str,
    content_type: &str,
    bytes: &[u8],
) -> v1::Attachment {
    let name = upload(app, user, parent, declaration(filename, content_type, bytes), bytes).await;
    confirm(app, user, &name).await.expect("the upload is confirmed")
}

pub async fn confirm(app: &TestApp, user: &TestUser, name: &str) -> Result<v1::Attachment, tonic::Status> {
    client(app)
        .confirm_attachment(user.call(v1::ConfirmAttachmentRequest { name: name.into() }))
        .await
        .map(tonic::Response::into_inner)
}

async fn download_url(app: &TestApp, user: &TestUser, name: &str) -> Result<String, tonic::Status> {
    client(app)
        .get_attachment_download_url(user.call(v1::GetAttachmentDownloadUrlRequest { name: name.into() }))
        .await
        .map(|response| response.into_inner().download_url)
}

async fn list(app: &TestApp, user: &TestUser, parent: &str) -> Vec<v1::Attachment> {
    client(app)
        .list_attachments(user.call(v1::ListAttachmentsRequest { parent: parent.into() }))
        .await
        .expect("list attachments")
        .into_inner()
        .attachments
}

/// A user with a project and a task in it.
async fn ada_with_a_task(app: &TestApp) -> (TestUser, String) {
    let ada = app.sign_up("ada").await;
    let project = app.create_project(&ada, "Plans").await;
    let task = app.create_task(&ada, &project.name, task("with files")).await;
    (ada, task.name)
}

async fn an_upload_is_confirmed_listed_and_downloaded(backend: Backend) {
    let app = spawn_app(backend).await;
    let (ada, task) = ada_with_a_task(&app).await;
    let created = client(&app)
        .create_attachment_upload(ada.call(v1::CreateAttachmentUploadRequest {
            parent: task.clone(),
            attachment: Some(declaration("pixel.png", "image/png", PNG)),
        }))
        .await
        .unwrap()
        .into_inner();
    let pending = created.attachment.clone().unwrap();
    assert_eq!(pending.state, v1::AttachmentState::Pending as i32);
    assert!(pending.expire_time.is_some());
    assert!(list(&app, &ada, &task).await.is_empty(), "a pending upload is not listed");
    // Confirming before the bytes are there: refused, and still pending.
    let early = confirm(&app, &ada, &pending.name).await.unwrap_err();
    assert_eq!(early.code(), Code::FailedPrecondition, "{early:?}");
    // The PUT must carry the signed headers.
    let unsigned = http(app.address, "PUT", &created.upload_url, &[], PNG).await;
    assert_eq!(unsigned.status, 403);
    let put = http(app.address, "PUT", &created.upload_url, &created.upload_headers, PNG).await;
    assert_eq!(put.status, 200);

    let confirmed = confirm(&app, &ada, &pending.name).await.expect("confirmed");
    assert_eq!(confirmed.state, v1::AttachmentState::Active as i32);
    assert!(confirmed.confirm_time.is_some() && confirmed.expire_time.is_none());
    assert_eq!(confirm(&app, &ada, &pending.name).await.unwrap(), confirmed, "confirming again changes nothing");
    // The spent upload URL cannot replace the checked bytes.
    let again = http(app.address, "PUT", &created.upload_url, &created.upload_headers, PNG).await;
    assert_eq!(again.status, 409);
    let listed = list(&app, &ada, &task).await;
    assert_eq!(listed, vec![confirmed.clone()]);
    assert_eq!((listed[0].filename.as_str(), listed[0].size_bytes), ("pixel.png", PNG.len() as i64));

    let url = download_url(&app, &ada, &confirmed.name).await.unwrap();
    let download = http(app.address, "GET", &url, &[], b"").await;
    assert_eq!(download.status, 200);
    assert_eq!(download.body.as_ref(), PNG);
    assert_eq!(download.headers["content-type"], "image/png");
    assert_eq!(
        download.headers["content-disposition"],
        "attachment; filename=\"pixel.png\"; filename*=UTF-8''pixel.png"
    );
    assert_eq!(download.headers["x-content-type-options"], "nosniff");
    // The download URL is for GET only.
    assert_eq!(http(app.address, "PUT", &url, &created.upload_headers, PNG).await.status, 403);

    let metrics = scrape(app.metrics_address).await;
    assert_eq!(sample(&metrics, r#"tasktracker_attachment_confirms_total{outcome="confirmed"}"#), Some(1.0));
    assert_eq!(sample(&metrics, "tasktracker_attachment_confirmed_bytes_total"), Some(PNG.len() as f64));
    app.stop().await;
}

/// Writes `bytes` where the embedded store keeps `attachment`'s upload, as a
/// store that does not check sizes would.
fn plant_upload(database: &TestDatabase, attachment: &str, bytes: &[u8]) {
    let key = attachment.replace("projects/", "").replace("/tasks/", "/").replace("/attachments/", "/");
    let path = database.directory.join("attachments/uploads").join(key);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

async fn confirm_refuses_files_that_are_not_what_was_declared(backend: Backend) {
    let app = spawn_app(backend).await;
    let (ada, task) = ada_with_a_task(&app).await;
    let declare = async |declared: v1::Attachment| {
        let request = ada.call(v1::CreateAttachmentUploadRequest { parent: task.clone(), attachment: Some(declared) });
        client(&app).create_attachment_upload(request).await.unwrap().into_inner()
    };
    let text = b"plain words, nothing more".as_slice();
    // The route refuses a body longer or shorter than signed ...
    let short = declare(declaration("notes.txt", "text/plain", text)).await;
    let content_type: Vec<v1::HttpHeader> =
        short.upload_headers.iter().filter(|header| header.name != "content-length").cloned().collect();
    let put = http(app.address, "PUT", &short.upload_url, &content_type, &text[..5]).await;
    assert_eq!(put.status, 400, "a body of another size than signed never reaches the store");
    // ... and confirm checks the size of what the store holds anyway.
    let name = short.attachment.unwrap().name;
    plant_upload(&app.database, &name, &text[..5]);
    let refused = confirm(&app, &ada, &name).await.unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert!(refused.message().contains("5 bytes, not 25"), "{refused:?}");

    // Another file's checksum.
    let mut lying = declaration("notes.txt", "text/plain", text);
    lying.sha256 = sha256(b"something else");
    let name = upload(&app, &ada, &task, lying, text).await;
    let refused = confirm(&app, &ada, &name).await.unwrap_err();
    assert!(refused.message().contains("SHA-256"), "{refused:?}");

    // A PNG declared as a JPEG, and as text.
    for declared_type in ["image/jpeg", "text/plain"] {
        let name = upload(&app, &ada, &task, declaration("photo", declared_type, PNG), PNG).await;
        let refused = confirm(&app, &ada, &name).await.unwrap_err();
        assert_eq!(refused.code(), Code::FailedPrecondition);
        assert!(refused.message().contains("image/png"), "{declared_type}: {refused:?}");
        // A refused upload is discarded.
        let gone = client(&app).get_attachment(ada.call(v1::GetAttachmentRequest { name })).await.unwrap_err();
        assert_eq!(gone.code(), Code::NotFound);
    }
    // Text declared as a PNG.
    let name = upload(&app, &ada, &task, declaration("fake.png", "image/png", text), text).await;
    assert_eq!(confirm(&app, &ada, &name).await.unwrap_err().code(), Code::FailedPrecondition);
    assert!(list(&app, &ada, &task).await.is_empty());
    let metrics = scrape(app.metrics_address).await;
    assert_eq!(sample(&metrics, r#"tasktracker_attachment_confirms_total{outcome="refused"}"#), Some(5.0));
    assert_eq!(sample(&metrics, r#"tasktracker_attachment_confirms_total{outcome="confirmed"}"#), Some(0.0));
    app.stop().await;
}

async fn uploads_beyond_the_limits_are_refused(backend: Backend) {
    // The test settings: 1 MiB a file, 4 MiB a project.
    let app = spawn_app(backend).await;
    let (ada, task) = ada_with_a_task(&app).await;
    let declare = |size: i64, filename: &str| {
        let attachment = v1::Attachment { size_bytes: size, ..declaration(filename, "application/octet-stream", b"") };
        ada.call(v1::CreateAttachmentUploadRequest { parent: task.clone(), attachment: Some(attachment) })
    };
    let too_big = client(&app).create_attachment_upload(declare(1024 * 1024 + 1, "big.bin")).await.unwrap_err();
    assert_invalid_field(&too_big, "attachment.size_bytes");
    assert!(too_big.message().contains("TASKTRACKER_ATTACHMENT_MAX_BYTES"), "{too_big:?}");
    assert_invalid_field(
        &client(&app).create_attachment_upload(declare(0, "empty.bin")).await.unwrap_err(),
        "attachment.size_bytes",
    );
    assert_invalid_field(
        &client(&app).create_attachment_upload(declare(1, "a/b")).await.unwrap_err(),
        "attachment.filename",
    );
    let mut bad_type = declaration("x", "Text/HTML; charset=utf-8", b"x");
    let request =
        ada.call(v1::CreateAttachmentUploadRequest { parent: task.clone(), attachment: Some(bad_type.clone()) });
    assert_invalid_field(&client(&app).create_attachment_upload(request).await.unwrap_err(), "attachment.content_type");
    bad_type.content_type = "text/plain".into();
    bad_type.sha256 = "abc".into();
    let request = ada.call(v1::CreateAttachmentUploadRequest { parent: task.clone(), attachment: Some(bad_type) });
    assert_invalid_field(&client(&app).create_attachment_upload(request).await.unwrap_err(), "attachment.sha256");
    // Pending uploads count towards the project's total at once.
    for index in 0..4 {
        client(&app)
            .create_attachment_upload(declare(1024 * 1024, &format!("{index}.bin")))
            .await
            .expect("within 4 MiB");
    }
    let full = client(&app).create_attachment_upload(declare(1, "one-more.bin")).await.unwrap_err();
    assert_eq!(full.code(), Code::ResourceExhausted, "{full:?}");
    assert!(full.message().contains("TASKTRACKER_ATTACHMENT_PROJECT_MAX_BYTES"), "{full:?}");
    app.stop().await;
}

async fn pages_are_downloaded_as_opaque_attachments_through_urls_that_expire(backend: Backend) {
    let database = TestDatabase::create(backend).await;
    let app = spawn_app_with(backend, database, |settings| {
        settings.attachments.download_expiry = Duration::from_secs(1);
    })
    .await;
    let (ada, task) = ada_with_a_task(&app).await;
    let page = b"<!DOCTYPE html><html><script>alert(document.cookie)</script></html>".as_slice();
    let svg = br#"<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>"#.as_slice();
    let mut urls = Vec::new();
    for (filename, content_type, bytes) in [("page.html", "text/html", page), ("drawing.svg", "image/svg+xml", svg)] {
        let attachment = attach(&app, &ada, &task, filename, content_type, bytes).await;
        assert_eq!(attachment.content_type, content_type, "the declared type is kept");
        let url = download_url(&app, &ada, &attachment.name).await.unwrap();
        let download = http(app.address, "GET", &url, &[], b"").await;
        assert_eq!(download.status, 200);
        assert_eq!(download.body.as_ref(), bytes);
        assert_eq!(download.headers["content-type"], "application/octet-stream", "{filename}");
        let disposition = download.headers["content-disposition"].to_str().unwrap();
        assert!(disposition.starts_with("attachment;"), "{disposition}");
        urls.push(url);
    }
    // A changed file name breaks the signature.
    let tampered = urls[0].replace("page.html", "page2.html");
    assert_eq!(http(app.address, "GET", &tampered, &[], b"").await.status, 403);
    // Past its expiry (whole seconds), the URL is refused.
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    for url in &urls {
        let expired = http(app.address, "GET", url, &[], b"").await;
        assert_eq!(expired.status, 403, "{}", String::from_utf8_lossy(&expired.body));
        assert!(expired.body.as_ref() != page && expired.body.as_ref() != svg);
    }
    app.stop().await;
}

async fn an_upload_not_confirmed_in_time_expires(backend: Backend) {
    let database = TestDatabase::create(backend).await;
    let app = spawn_app_with(backend, database, |settings| {
        settings.attachments.upload_expiry = Duration::from_secs(1);
    })
    .await;
    let (ada, task) = ada_with_a_task(&app).await;
    let text = b"late".as_slice();
    let created = client(&app)
        .create_attachment_upload(ada.call(v1::CreateAttachmentUploadRequest {
            parent: task.clone(),
            attachment: Some(declaration("late.txt", "text/plain", text)),
        }))
        .await
        .unwrap()
        .into_inner();
    // The upload URL lives 1 s; the pending attachment twice that.
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    let put = http(app.address, "PUT", &created.upload_url, &created.upload_headers, text).await;
    assert_eq!(put.status, 403, "{}", String::from_utf8_lossy(&put.body));
    plant_upload(&app.database, &created.attachment.as_ref().unwrap().name, text);
    let late = confirm(&app, &ada, &created.attachment.unwrap().name).await.unwrap_err();
    assert_eq!(late.code(), Code::FailedPrecondition);
    assert!(late.message().contains("expired"), "{late:?}");
    app.stop().await;
}

async fn another_projects_attachment_is_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let (ada, task) = ada_with_a_task(&app).await;
    let attachment = attach(&app, &ada, &task, "plans.txt", "text/plain", b"secret plans").await;
    let mallory = app.sign_up("mallory").await;
    let project = app.create_project(&mallory, "Mallory's").await;
    let own_task = app.create_task(&mallory, &project.name, crate::helpers::task("mine")).await;
    let denied = download_url(&app, &mallory, &attachment.name).await.unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
    let denied = client(&app)
        .delete_attachment(mallory.call(v1::DeleteAttachmentRequest { name: attachment.name.clone() }))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
    // Ada's attachment id under Mallory's own task is no attachment of hers.
    let id = attachment.name.rsplit('/').next().unwrap();
    let smuggled = format!("{}/attachments/{id}", own_task.name);
    assert_eq!(download_url(&app, &mallory, &smuggled).await.unwrap_err().code(), Code::NotFound);
    let deleted = client(&app).delete_attachment(mallory.call(v1::DeleteAttachmentRequest { name: smuggled })).await;
    assert_eq!(deleted.unwrap_err().code(), Code::NotFound);
    assert_eq!(list(&app, &ada, &task).await, vec![attachment]);
    app.stop().await;
}

async fn a_deleted_attachment_is_gone(backend: Backend) {
    let app = spawn_app(backend).await;
    let (ada, task) = ada_with_a_task(&app).await;
    let kept = attach(&app, &ada, &task, "kept.txt", "text/plain", b"kept").await;
    let dropped = attach(&app, &ada, &task, "dropped.txt", "text/plain", b"dropped").await;
    let old_url = download_url(&app, &ada, &dropped.name).await.unwrap();
    client(&app)
        .delete_attachment(ada.call(v1::DeleteAttachmentRequest { name: dropped.name.clone() }))
        .await
        .expect("delete");
    assert_eq!(list(&app, &ada, &task).await, vec![kept]);
    let get = client(&app).get_attachment(ada.call(v1::GetAttachmentRequest { name: dropped.name.clone() })).await;
    assert_eq!(get.unwrap_err().code(), Code::NotFound);
    assert_eq!(download_url(&app, &ada, &dropped.name).await.unwrap_err().code(), Code::NotFound);
    let again = client(&app).delete_attachment(ada.call(v1::DeleteAttachmentRequest { name: dropped.name })).await;
    assert_eq!(again.unwrap_err().code(), Code::NotFound);
    // A URL handed out before the delete lasts no longer than its expiry;
    // the bytes themselves go when the pruner purges deleted attachments.
    assert_eq!(http(app.address, "GET", &old_url, &[], b"").await.status, 200);
    app.stop().await;
}
