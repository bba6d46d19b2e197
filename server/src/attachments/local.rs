//! The embedded object store: files under the data directory, uploaded and
//! downloaded through this server's own HTTP route ([`ROUTE`]) with
//! HMAC-signed, expiring URLs, the same contract as S3's presigned URLs.
//!
//! A URL carries what it allows (`op`, `expires`, the content type, the
//! size or the download's file name) and `sig`, an HMAC-SHA256 of those and
//! the key, under a key derived from the token secret for this use only. A
//! PUT must send the signed `Content-Type` and exactly the signed number of
//! bytes; it is written to a temporary file, synced, and renamed into
//! place, so a reader never sees half a file.

use std::{collections::HashMap, io::ErrorKind, path::PathBuf, sync::Arc, time::Duration};

use axum::{
    Router,
    body::Body,
    extract::{Path, Request, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::put,
};
use futures::StreamExt;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{Download, Inspected, Inspector, ObjectStore, Presigned, content, stored_key};
use crate::domain::time;

type HmacSha256 = Hmac<Sha256>;

/// Path prefix of the route that serves uploads and downloads.
pub const ROUTE: &str = "/attachment-files/";

/// Files under a directory, moved through signed URLs on this server.
pub struct LocalStore {
    root: PathBuf,
    key: HmacSha256,
    /// Prepended to [`ROUTE`]: the public URL, or empty for a path on the
    /// API's own origin.
    base_url: String,
}

impl LocalStore {
    /// A store under `root`, signing with a key derived from `secret`.
    pub fn new(root: PathBuf, secret: &SecretString, public_url: Option<&str>) -> Self {
        let mut derive = HmacSha256::new_from_slice(secret.expose_secret().as_bytes()).expect("HMAC takes any key");
        derive.update(b"tasktracker attachment urls v1");
        let key = HmacSha256::new_from_slice(&derive.finalize().into_bytes()).expect("HMAC takes any key");
        let base_url = public_url.unwrap_or_default().trim_end_matches('/').to_owned();
        Self { root, key, base_url }
    }

    /// The file of `key`, if `key` is one this store makes: segments of
    /// lower-case hex digits, hyphens and letters, so never `..`.
    fn path(&self, key: &str) -> Option<PathBuf> {
        let fine = |segment: &str| {
            !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        };
        key.split('/').all(fine).then(|| self.root.join(key))
    }

    /// The signature of an operation on `key` with its signed values.
    fn signature(&self, op: &str, key: &str, expires: &str, values: [&str; 2]) -> HmacSha256 {
        let mut mac = self.key.clone();
        for part in [op, key, expires, values[0], values[1]] {
            mac.update(part.as_bytes());
            mac.update(b"\n");
        }
        mac
    }

    fn presign(&self, op: &str, key: &str, values: [(&str, &str); 2], expires: Duration) -> Presigned {
        let expire_time = time::now() + i64::try_from(expires.as_micros()).unwrap_or(i64::MAX / 2);
        let expires_at = (expire_time / 1_000_000).to_string();
        let signature = self.signature(op, key, &expires_at, values.map(|(_, value)| value)).finalize().into_bytes();
        let mut query = form_urlencoded::Serializer::new(String::new());
        query.append_pair("op", op).append_pair("expires", &expires_at);
        for (name, value) in values {
            query.append_pair(name, value);
        }
        query.append_pair("sig", &hex::encode(signature));
        Presigned { url: format!("{}{ROUTE}{key}?{}", self.base_url, query.finish()), headers: vec![], expire_time }
    }

    /// The signed values of a request for `op` on `key`, if its URL is
    /// signed and has not expired; why not otherwise.
    fn verify(&self, op: &str, key: &str, query: Option<&str>, names: [&str; 2]) -> Result<[String; 2], Refusal> {
        let params: HashMap<String, String> =
            form_urlencoded::parse(query.unwrap_or_default().as_bytes()).into_owned().collect();
        let param = |name: &str| params.get(name).map(String::as_str).unwrap_or_default();
        let signature = hex::decode(param("sig")).map_err(|_| Refusal::Forbidden("malformed signature"))?;
        let values = names.map(|name| param(name).to_owned());
        let expires = param("expires");
        self.signature(param("op"), key, expires, [&values[0], &values[1]])
            .verify_slice(&signature)
            .map_err(|_| Refusal::Forbidden("signature does not match"))?;
        if param("op") != op {
            return Err(Refusal::Forbidden("the URL is signed for another method"));
        }
        let expires: i64 = expires.parse().map_err(|_| Refusal::Forbidden("malformed expiry"))?;
        if time::now() / 1_000_000 > expires {
            return Err(Refusal::Forbidden("the URL has expired"));
        }
        Ok(values)
    }

    /// Checks a PUT of `key` against its signed URL: the file to write and
    /// the size to expect.
    fn check_upload(&self, key: &str, parts: &http::request::Parts) -> Result<(PathBuf, u64), Refusal> {
        let path = self.path(key).ok_or(Refusal::NotFound)?;
        let [content_type, size] = self.verify("put", key, parts.uri.query(), ["type", "size"])?;
        let size: u64 = size.parse().map_err(|_| Refusal::Forbidden("malformed size"))?;
        let header_is = |name: header::HeaderName, expected: &str| {
            parts.headers.get(name).is_some_and(|value| value.as_bytes() == expected.as_bytes())
        };
        if !header_is(header::CONTENT_TYPE, &content_type) {
            return Err(Refusal::Forbidden("Content-Type must be the one signed"));
        }
        if !header_is(header::CONTENT_LENGTH, &size.to_string()) {
            return Err(Refusal::BadRequest("Content-Length must be the size signed"));
        }
        // Once confirmed, an upload is moved away and its URL is spent.
        let confirmed = key.strip_prefix("uploads/").and_then(|rest| self.path(&stored_key(rest)));
        if confirmed.is_some_and(|path| path.exists()) {
            return Err(Refusal::Conflict);
        }
        Ok((path, size))
    }

    /// Stores a PUT's body at `key` after checking its signed URL.
    async fn upload(&self, key: &str, request: Request) -> Result<(), Refusal> {
        let (parts, body) = request.into_parts();
        let (path, size) = self.check_upload(key, &parts)?;
        let parent = path.parent().ok_or(Refusal::NotFound)?;
        tokio::fs::create_dir_all(parent).await.map_err(Refusal::io)?;
        let partial = parent.join(format!(".part-{}", uuid::Uuid::now_v7().simple()));
        let written = write_exactly(&partial, body, size).await;
        let renamed = match written {
            Ok(()) => tokio::fs::rename(&partial, &path).await.map_err(Refusal::io),
            Err(refusal) => Err(refusal),
        };
        if renamed.is_err() {
            let _ = tokio::fs::remove_file(&partial).await;
        }
        renamed
    }

    /// Serves `key` after checking its signed URL.
    async fn download(&self, key: &str, query: Option<&str>) -> Result<Response, Refusal> {
        let path = self.path(key).ok_or(Refusal::NotFound)?;
        let [content_type, filename] = self.verify("get", key, query, ["type", "filename"])?;
        let file = match tokio::fs::File::open(&path).await {
            Ok(file) => file,
            Err(error) if error.kind() == ErrorKind::NotFound => return Err(Refusal::NotFound),
            Err(error) => return Err(Refusal::io(error)),
        };
        let length = file.metadata().await.map_err(Refusal::io)?.len();
        let mut headers = HeaderMap::new();
        let value = |text: &str| HeaderValue::from_str(text).map_err(|_| Refusal::BadRequest("unusable header"));
        // Never what the signature did not allow, never a type a browser renders.
        headers.insert(header::CONTENT_TYPE, value(content::served_type(&content_type))?);
        headers.insert(header::CONTENT_DISPOSITION, value(&content::attachment_disposition(&filename))?);
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
        headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
        headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("default-src 'none'; sandbox"));
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
        let body = Body::from_stream(tokio_util::io::ReaderStream::new(file));
        Ok((headers, body).into_response())
    }
}

/// Writes `body` to a new file at `path`, refusing a body that is not
/// exactly `size` bytes; synced before it returns.
async fn write_exactly(path: &std::path::Path, body: Body, size: u64) -> Result<(), Refusal> {
    let mut file = tokio::fs::File::create(path).await.map_err(Refusal::io)?;
    let mut stream = body.into_data_stream();
    let mut written = 0u64;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| Refusal::BadRequest("the upload was cut short"))?;
        written += chunk.len() as u64;
        if written > size {
            return Err(Refusal::BadRequest("the body is larger than the size signed"));
        }
        file.write_all(&chunk).await.map_err(Refusal::io)?;
    }
    if written != size {
        return Err(Refusal::BadRequest("the body is smaller than the size signed"));
    }
    file.sync_all().await.map_err(Refusal::io)
}

/// Why a request on the route was refused.
#[derive(Debug)]
enum Refusal {
    Forbidden(&'static str),
    BadRequest(&'static str),
    NotFound,
    Conflict,
    Internal(std::io::Error),
}

impl Refusal {
    fn io(error: std::io::Error) -> Self {
        Self::Internal(error)
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            Self::Forbidden(why) => (StatusCode::FORBIDDEN, why).into_response(),
            Self::BadRequest(why) => (StatusCode::BAD_REQUEST, why).into_response(),
            Self::NotFound => (StatusCode::NOT_FOUND, "no such file").into_response(),
            Self::Conflict => (StatusCode::CONFLICT, "this upload was already confirmed").into_response(),
            Self::Internal(error) => {
                tracing::error!(%error, "attachment file operation failed");
                (StatusCode::INTERNAL_SERVER_ERROR, "cannot store or read the file").into_response()
            }
        }
    }
}

/// The HTTP route serving `store`'s signed uploads and downloads.
pub fn router(store: Arc<LocalStore>) -> Router {
    Router::new().route(&format!("{ROUTE}{{*key}}"), put(upload).get(download)).with_state(store)
}

async fn upload(State(store): State<Arc<LocalStore>>, Path(key): Path<String>, request: Request) -> Response {
    match store.upload(&key, request).await {
        Ok(()) => StatusCode::OK.into_response(),
        Err(refusal) => refusal.into_response(),
    }
}

async fn download(State(store): State<Arc<LocalStore>>, Path(key): Path<String>, request: Request) -> Response {
    let query = request.uri().query().map(str::to_owned);
    store.download(&key, query.as_deref()).await.unwrap_or_else(IntoResponse::into_response)
}

#[tonic::async_trait]
impl ObjectStore for LocalStore {
    async fn presign_put(
        &self,
        key: &str,
        content_type: &str,
        size: u64,
        expires: Duration,
    ) -> anyhow::Result<Presigned> {
        let size = size.to_string();
        let mut presigned = self.presign("put", key, [("type", content_type), ("size", &size)], expires);
        presigned.headers =
            vec![("content-type".to_owned(), content_type.to_owned()), ("content-length".to_owned(), size)];
        Ok(presigned)
    }

    async fn presign_get(&self, key: &str, download: &Download, expires: Duration) -> anyhow::Result<Presigned> {
        Ok(self.presign("get", key, [("type", &download.content_type), ("filename", &download.filename)], expires))
    }

    async fn promote(&self, from: &str, to: &str) -> anyhow::Result<bool> {
        let (Some(from), Some(to)) = (self.path(from), self.path(to)) else {
            anyhow::bail!("not an attachment key: {from} or {to}");
        };
        if let Some(parent) = to.parent() {
            tokio::fs::create_dir_all(parent).await?;
        }
        match tokio::fs::rename(&from, &to).await {
            Ok(()) => Ok(true),
            Err(error) if error.kind() == ErrorKind::NotFound => Ok(false),
            Err(error) => Err(error.into()),
        }
    }

    async fn inspect(&self, key: &str, limit: u64) -> anyhow::Result<Option<Inspected>> {
        let Some(path) = self.path(key) else { anyhow::bail!("not an attachment key: {key}") };
        let mut file = match tokio::fs::File::open(&path).await {
            Ok(file) => file,
            Err(error) if error.kind() == ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(error.into()),
        };
        let size = file.metadata().await?.len();
        let mut inspector = Inspector::default();
        let mut buffer = vec![0u8; 64 * 1024];
        while inspector.size() <= limit {
            let read = file.read(&mut buffer).await?;
            if read == 0 {
                break;
            }
            inspector.update(&buffer[..read]);
        }
        Ok(Some(inspector.finish(size)))
    }

    async fn delete(&self, key: &str) -> anyhow::Result<()> {
        let Some(path) = self.path(key) else { anyhow::bail!("not an attachment key: {key}") };
        match tokio::fs::remove_file(&path).await {
            Err(error) if error.kind() != ErrorKind::NotFound => Err(error.into()),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> LocalStore {
        let secret = SecretString::from("a test secret that is at least 32 bytes long".to_owned());
        LocalStore::new(std::env::temp_dir().join("unused"), &secret, Some("https://app.example.com/"))
    }

    fn query(url: &str) -> &str {
        url.split_once('?').map(|(_, query)| query).unwrap_or_default()
    }

    #[tokio::test]
    async fn a_signed_url_allows_exactly_what_it_was_signed_for() {
        let store = store();
        let key = "uploads/0190-ab/0190-cd/0190-ef";
        let url = store.presign_put(key, "image/png", 42, Duration::from_secs(60)).await.unwrap().url;
        assert!(url.starts_with("https://app.example.com/attachment-files/uploads/"), "{url}");
        let values = store.verify("put", key, Some(query(&url)), ["type", "size"]).unwrap();
        assert_eq!(values, ["image/png".to_owned(), "42".to_owned()]);
        // Another key, another method, or a changed value: refused.
        assert!(store.verify("put", "uploads/0190-ab/0190-cd/other", Some(query(&url)), ["type", "size"]).is_err());
        assert!(store.verify("get", key, Some(query(&url)), ["type", "size"]).is_err());
        let tampered = query(&url).replace("size=42", "size=43");
        assert!(store.verify("put", key, Some(&tampered), ["type", "size"]).is_err());
        assert!(store.verify("put", key, None, ["type", "size"]).is_err());
    }

    #[tokio::test]
    async fn an_expired_url_is_refused() {
        let store = store();
        let key = "objects/a/b/c";
        let download = Download { filename: "x.txt".into(), content_type: "text/plain".into() };
        let url = store.presign_get(key, &download, Duration::from_secs(60)).await.unwrap().url;
        assert!(store.verify("get", key, Some(query(&url)), ["type", "filename"]).is_ok());
        let past = (time::now() / 1_000_000 - 1).to_string();
        let signature =
            hex::encode(store.signature("get", key, &past, ["text/plain", "x.txt"]).finalize().into_bytes());
        let expired = format!("op=get&expires={past}&type=text%2Fplain&filename=x.txt&sig={signature}");
        assert!(matches!(
            store.verify("get", key, Some(&expired), ["type", "filename"]),
            Err(Refusal::Forbidden("the URL has expired"))
        ));
    }

    #[test]
    fn keys_never_leave_the_root() {
        let store = store();
        assert!(store.path("objects/a/b/c").is_some());
        for bad in ["../etc/passwd", "objects/../../x", "objects//x", "/abs", "objects/A", "objects/x.y"] {
            assert!(store.path(bad).is_none(), "{bad}");
        }
    }
}
