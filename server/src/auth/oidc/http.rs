//! The HTTP client the OpenID Connect library calls for discovery, keys and
//! the token endpoint: hyper over the server's own rustls (no second TLS
//! stack), HTTP/1.1, one connection per request, redirects not followed,
//! replies bounded, one deadline per request.

use std::{future::Future, pin::Pin, sync::Arc, time::Duration};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::rt::TokioIo;
use openidconnect::{AsyncHttpClient, HttpRequest, HttpResponse, url::Url};
use tokio::net::TcpStream;

/// Largest reply read (discovery documents and key sets are a few KiB).
const MAX_REPLY_BYTES: usize = 1024 * 1024;

/// Why a request to an identity provider failed.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct HttpError(String);

/// A client for identity providers.
#[derive(Clone)]
pub struct HttpClient {
    tls: tokio_rustls::TlsConnector,
    timeout: Duration,
}

impl HttpClient {
    pub fn new(timeout: Duration) -> Self {
        let roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("ring supports the default protocol versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        Self { tls: tokio_rustls::TlsConnector::from(Arc::new(config)), timeout }
    }

    /// Sends `request` and reads the reply, within the deadline.
    pub async fn send(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        match tokio::time::timeout(self.timeout, self.try_send(request)).await {
            Ok(result) => result,
            Err(_) => Err(HttpError(format!("timed out after {}", humantime::format_duration(self.timeout)))),
        }
    }

    async fn try_send(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        let url = Url::parse(&request.uri().to_string()).map_err(|error| HttpError(format!("bad URL: {error}")))?;
        let https = match url.scheme() {
            "https" => true,
            "http" => false,
            other => return Err(HttpError(format!("unsupported scheme {other}"))),
        };
        let host = url.host_str().ok_or_else(|| HttpError("URL without a host".into()))?.to_owned();
        let port = url.port_or_known_default().unwrap_or(if https { 443 } else { 80 });
        let connect_host = host.trim_start_matches('[').trim_end_matches(']').to_owned();
        let stream = TcpStream::connect((connect_host.as_str(), port))
            .await
            .map_err(|error| HttpError(format!("cannot connect to {host}:{port}: {error}")))?;
        let _ = stream.set_nodelay(true);
        let (parts, body) = request.into_parts();
        let mut path = url.path().to_owned();
        if let Some(query) = url.query() {
            path = format!("{path}?{query}");
        }
        let authority = match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.clone(),
        };
        let mut builder = http::Request::builder().method(parts.method).uri(path).header(http::header::HOST, authority);
        for (name, value) in &parts.headers {
            builder = builder.header(name, value);
        }
        let outgoing = builder
            .header(http::header::USER_AGENT, concat!("Tasktracker/", env!("CARGO_PKG_VERSION")))
            .body(Full::new(Bytes::from(body)))
            .map_err(|error| HttpError(format!("bad request: {error}")))?;
        if https {
            let name = rustls::pki_types::ServerName::try_from(connect_host.clone())
                .map_err(|error| HttpError(format!("bad TLS server name {host}: {error}")))?;
            let stream = self
                .tls
                .connect(name, stream)
                .await
                .map_err(|error| HttpError(format!("TLS with {host} failed: {error}")))?;
            exchange(stream, outgoing).await
        } else {
            exchange(stream, outgoing).await
        }
    }
}

/// A named future type (a closure's would not be `Send` for every lifetime,
/// which tonic's handlers need).
impl<'c> AsyncHttpClient<'c> for HttpClient {
    type Error = HttpError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, HttpError>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(self.send(request))
    }
}

/// One HTTP/1.1 exchange over `io`.
async fn exchange<T>(io: T, request: http::Request<Full<Bytes>>) -> Result<HttpResponse, HttpError>
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .map_err(|error| HttpError(format!("HTTP handshake failed: {error}")))?;
    let driver = tokio::spawn(async move {
        let _ = connection.await;
    });
    let result = async {
        let response =
            sender.send_request(request).await.map_err(|error| HttpError(format!("request failed: {error}")))?;
        let (parts, body) = response.into_parts();
        let body = Limited::new(body, MAX_REPLY_BYTES)
            .collect()
            .await
            .map_err(|error| HttpError(format!("cannot read the reply: {error}")))?
            .to_bytes();
        Ok(http::Response::from_parts(parts, body.to_vec()))
    }
    .await;
    driver.abort();
    result
}
