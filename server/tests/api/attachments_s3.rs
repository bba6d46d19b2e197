//! Attachments in S3: the same flows against a real S3-compatible server
//! (moto's, started per test on a free 127.0.0.1 port), the bytes PUT and
//! GET over HTTP to the presigned URLs S3 checks.

use std::{
    io::{BufRead, BufReader},
    net::SocketAddr,
    process::{Child, Command, Stdio},
    time::Duration,
};

use tasktracker_proto::v1;
use tonic::Code;

use crate::{
    attachments::{client, confirm, declaration, http, upload_to},
    helpers::{Backend, TestApp, TestDatabase, TestUser, spawn_app_with, task},
    on_both_backends,
};

on_both_backends!(
    an_upload_to_s3_is_confirmed_and_downloaded_as_an_attachment,
    s3_uploads_that_are_not_what_was_declared_are_refused,
    a_page_in_s3_is_downloaded_as_opaque_bytes,
);

const BUCKET: &str = "tasktracker-attachments";

/// moto's S3 server, stopped on drop.
struct Moto {
    child: Child,
    address: SocketAddr,
}

impl Moto {
    fn start() -> Self {
        let python = std::env::var("TASKTRACKER_TEST_MOTO_PYTHON").unwrap_or_else(|_| {
            panic!(
                "TASKTRACKER_TEST_MOTO_PYTHON is not set: the S3 attachment tests need moto. scripts/test.sh \
                 installs it; by hand: `source scripts/lib/tools.sh && ensure_moto` and export that variable"
            )
        });
        let port = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port").local_addr().unwrap().port();
        let mut child = Command::new(&python)
            .args(["-m", "moto.server", "-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {python} (moto): {error}"));
        // Drain its log, so a full pipe never blocks it.
        let stderr = child.stderr.take().expect("stderr");
        std::thread::spawn(move || for _ in BufReader::new(stderr).lines().map_while(Result::ok) {});
        let address: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(address).is_err() {
            assert!(std::time::Instant::now() < deadline, "moto did not listen within 30 s");
            std::thread::sleep(Duration::from_millis(100));
        }
        Self { child, address }
    }

    fn endpoint(&self) -> String {
        format!("http://{}", self.address)
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A server keeping attachments in a fresh bucket of `moto`.
async fn spawn_with_s3(backend: Backend, moto: &Moto) -> TestApp {
    let created = http(moto.address, "PUT", &format!("/{BUCKET}"), &[], b"").await;
    assert_eq!(created.status, 200, "create the bucket: {}", String::from_utf8_lossy(&created.body));
    let database = TestDatabase::create(backend).await;
    let endpoint = moto.endpoint();
    spawn_app_with(backend, database, move |settings| {
        let attachments = &mut settings.attachments;
        attachments.s3_bucket = Some(BUCKET.into());
        attachments.s3_region = Some("us-east-1".into());
        attachments.s3_endpoint = Some(endpoint);
        attachments.s3_access_key_id = Some("testing".into());
        attachments.s3_secret_access_key = Some("testing".to_owned().into());
    })
    .await
}

/// Declares `bytes` and PUTs them to S3; returns the pending attachment's name.
async fn upload(
    app: &TestApp,
    moto: &Moto,
    user: &TestUser,
    parent: &str,
    declared: v1::Attachment,
    bytes: &[u8],
) -> String {
    upload_to(app, moto.address, user, parent, declared, bytes).await
}

async fn download(app: &TestApp, moto: &Moto, user: &TestUser, name: &str) -> crate::attachments::HttpReply {
    let url = client(app)
        .get_attachment_download_url(user.call(v1::GetAttachmentDownloadUrlRequest { name: name.into() }))
        .await
        .expect("a download URL")
        .into_inner()
        .download_url;
    assert!(url.starts_with(&moto.endpoint()), "{url}");
    http(moto.address, "GET", &url, &[], b"").await
}

async fn ada_with_a_task(app: &TestApp) -> (TestUser, String) {
    let ada = app.sign_up("ada").await;
    let project = app.create_project(&ada, "Plans").await;
    (ada.clone(), app.create_task(&ada, &project.name, task("with files")).await.name)
}

async fn an_upload_to_s3_is_confirmed_and_downloaded_as_an_attachment(backend: Backend) {
    let moto = Moto::start();
    let app = spawn_with_s3(backend, &moto).await;
    let (ada, task) = ada_with_a_task(&app).await;
    let text = b"minutes of the meeting".as_slice();
    let name = upload(&app, &moto, &ada, &task, declaration("minutes.txt", "text/plain", text), text).await;
    let confirmed = confirm(&app, &ada, &name).await.expect("confirmed");
    assert_eq!(confirmed.state, v1::AttachmentState::Active as i32);
    let listed = client(&app)
        .list_attachments(ada.call(v1::ListAttachmentsRequest { parent: task.clone() }))
        .await
        .unwrap()
        .into_inner()
        .attachments;
    assert_eq!(listed, vec![confirmed.clone()]);
    let reply = download(&app, &moto, &ada, &confirmed.name).await;
    assert_eq!(reply.status, 200, "{}", String::from_utf8_lossy(&reply.body));
    assert_eq!(reply.body.as_ref(), text);
    assert_eq!(reply.headers["content-type"], "text/plain");
    assert_eq!(
        reply.headers["content-disposition"],
        "attachment; filename=\"minutes.txt\"; filename*=UTF-8''minutes.txt"
    );
    client(&app)
        .delete_attachment(ada.call(v1::DeleteAttachmentRequest { name: confirmed.name.clone() }))
        .await
        .expect("delete");
    let gone = client(&app).get_attachment(ada.call(v1::GetAttachmentRequest { name: confirmed.name })).await;
    assert_eq!(gone.unwrap_err().code(), Code::NotFound);
    app.stop().await;
}

async fn s3_uploads_that_are_not_what_was_declared_are_refused(backend: Backend) {
    let moto = Moto::start();
    let app = spawn_with_s3(backend, &moto).await;
    let (ada, task) = ada_with_a_task(&app).await;
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0".as_slice();
    let mut lying = declaration("notes.txt", "text/plain", b"words");
    lying.sha256 = crate::attachments::sha256(b"other words");
    let name = upload(&app, &moto, &ada, &task, lying, b"words").await;
    let refused = confirm(&app, &ada, &name).await.unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert!(refused.message().contains("SHA-256"), "{refused:?}");
    let name = upload(&app, &moto, &ada, &task, declaration("photo.jpg", "image/jpeg", png), png).await;
    let refused = confirm(&app, &ada, &name).await.unwrap_err();
    assert!(refused.message().contains("image/png"), "{refused:?}");
    // Confirming before anything was PUT leaves the upload pending.
    let created = client(&app)
        .create_attachment_upload(ada.call(v1::CreateAttachmentUploadRequest {
            parent: task.clone(),
            attachment: Some(declaration("later.txt", "text/plain", b"later")),
        }))
        .await
        .unwrap()
        .into_inner();
    let early = confirm(&app, &ada, &created.attachment.unwrap().name).await.unwrap_err();
    assert!(early.message().contains("no file has been uploaded"), "{early:?}");
    app.stop().await;
}

async fn a_page_in_s3_is_downloaded_as_opaque_bytes(backend: Backend) {
    let moto = Moto::start();
    let app = spawn_with_s3(backend, &moto).await;
    let (ada, task) = ada_with_a_task(&app).await;
    let page = b"<!DOCTYPE html><html><script>alert(1)</script></html>".as_slice();
    let name = upload(&app, &moto, &ada, &task, declaration("page.html", "text/html", page), page).await;
    let confirmed = confirm(&app, &ada, &name).await.expect("confirmed");
    let reply = download(&app, &moto, &ada, &confirmed.name).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.headers["content-type"], "application/octet-stream");
    assert!(reply.headers["content-disposition"].to_str().unwrap().starts_with("attachment;"));
    app.stop().await;
}
