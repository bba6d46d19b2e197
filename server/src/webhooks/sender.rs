//! One webhook request: resolve, check every address, connect to a checked
//! one, sign, POST, read a bounded reply, all within one deadline.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use bytes::Bytes;
use hmac::{Hmac, Mac};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::rt::TokioIo;
use sha2::Sha256;
use tokio::net::TcpStream;

use super::address::{AddressPolicy, Target, parse_url};

/// Bytes of a receiver's reply read (and then dropped).
const MAX_REPLY_BYTES: usize = 64 * 1024;
/// Longest DNS resolution plus TCP connect.
const MAX_CONNECT: Duration = Duration::from_secs(5);

/// Header carrying the signing time, Unix seconds.
pub const TIMESTAMP_HEADER: &str = "tasktracker-timestamp";
/// Header carrying `v1=` and the hex HMAC-SHA256 of `{timestamp}.{body}`.
pub const SIGNATURE_HEADER: &str = "tasktracker-signature";
/// Header carrying the event id (the same on every delivery of one event).
pub const EVENT_ID_HEADER: &str = "tasktracker-event-id";
/// Header carrying the delivery's id.
pub const DELIVERY_HEADER: &str = "tasktracker-delivery";

/// The signature header's value for `body` sent at `timestamp` (Unix
/// seconds) under `secret`.
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// What came of an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The HTTP status, if one came.
    pub status: Option<u16>,
    /// Why it failed; empty if the receiver answered 2xx.
    pub error: String,
}

impl Reply {
    pub fn delivered(&self) -> bool {
        self.error.is_empty()
    }

    fn failed(error: impl Into<String>) -> Self {
        Self { status: None, error: error.into() }
    }
}

/// One request to send.
pub struct Request<'a> {
    pub url: &'a str,
    pub secret: &'a str,
    pub body: &'a str,
    pub event_id: &'a str,
    pub delivery_id: &'a str,
    /// Signing time, Unix seconds.
    pub timestamp: i64,
}

/// Sends webhook requests under an [`AddressPolicy`].
#[derive(Clone)]
pub struct Sender {
    policy: AddressPolicy,
    timeout: Duration,
    tls: tokio_rustls::TlsConnector,
}

impl Sender {
    pub fn new(policy: AddressPolicy, timeout: Duration) -> Self {
        let roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("ring supports the default protocol versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        Self { policy, timeout, tls: tokio_rustls::TlsConnector::from(Arc::new(config)) }
    }

    pub fn policy(&self) -> &AddressPolicy {
        &self.policy
    }

    /// POSTs `request`, within the timeout.
    pub async fn send(&self, request: Request<'_>) -> Reply {
        match tokio::time::timeout(self.timeout, self.try_send(request)).await {
            Ok(reply) => reply,
            Err(_) => Reply::failed(format!("timed out after {}", humantime::format_duration(self.timeout))),
        }
    }

    async fn try_send(&self, request: Request<'_>) -> Reply {
        let target = match parse_url("url", request.url) {
            Ok(target) => target,
            Err(violation) => return Reply::failed(format!("bad URL: {}", violation.description)),
        };
        let stream = match self.connect(&target).await {
            Ok(stream) => stream,
            Err(error) => return Reply::failed(error),
        };
        let body = Bytes::copy_from_slice(request.body.as_bytes());
        let host = if target.host.contains(':') { format!("[{}]", target.host) } else { target.host.clone() };
        let default_port = if target.https { 443 } else { 80 };
        let host = if target.port == default_port { host } else { format!("{host}:{}", target.port) };
        let http_request = http::Request::post(target.path.as_str())
            .header(http::header::HOST, host)
            .header(http::header::CONTENT_TYPE, "application/json")
            .header(http::header::USER_AGENT, concat!("Tasktracker-Webhooks/", env!("CARGO_PKG_VERSION")))
            .header(TIMESTAMP_HEADER, request.timestamp.to_string())
            .header(SIGNATURE_HEADER, signature(request.secret, request.timestamp, &body))
            .header(EVENT_ID_HEADER, request.event_id)
            .header(DELIVERY_HEADER, request.delivery_id)
            .body(Full::new(body));
        let http_request = match http_request {
            Ok(http_request) => http_request,
            Err(error) => return Reply::failed(format!("bad request: {error}")),
        };
        let response = match stream {
            Stream::Plain(stream) => exchange(stream, http_request).await,
            Stream::Tls(stream) => exchange(*stream, http_request).await,
        };
        match response {
            Ok(status) if (200..300).contains(&status) => Reply { status: Some(status), error: String::new() },
            Ok(status) => Reply { status: Some(status), error: format!("the receiver answered HTTP {status}") },
            Err(error) => Reply::failed(error),
        }
    }

    /// Resolves `target`, refuses it if any address is forbidden, and
    /// connects to the first address that answers.
    async fn connect(&self, target: &Target) -> Result<Stream, String> {
        if target.is_local_name() {
            return Err(format!("refused: {} is this machine", target.host));
        }
        let addresses: Vec<SocketAddr> = match target.ip() {
            Some(ip) => vec![SocketAddr::new(ip, target.port)],
            None => {
                let resolved =
                    tokio::time::timeout(MAX_CONNECT, tokio::net::lookup_host((target.host.as_str(), target.port)));
                match resolved.await {
                    Ok(Ok(addresses)) => addresses.collect(),
                    Ok(Err(error)) => return Err(format!("cannot resolve {}: {error}", target.host)),
                    Err(_) => return Err(format!("resolving {} timed out", target.host)),
                }
            }
        };
        if let Some(refused) = addresses.iter().find(|address| !self.policy.permits(address.ip())) {
            return Err(format!("refused: {} resolves to {}, which webhooks may not reach", target.host, refused.ip()));
        }
        let mut last_error = format!("{} resolves to no address", target.host);
        for address in addresses {
            match tokio::time::timeout(MAX_CONNECT, TcpStream::connect(address)).await {
                Ok(Ok(stream)) => {
                    let _ = stream.set_nodelay(true);
                    if !target.https {
                        return Ok(Stream::Plain(stream));
                    }
                    let name = rustls::pki_types::ServerName::try_from(target.host.clone())
                        .map_err(|error| format!("bad TLS server name {}: {error}", target.host))?;
                    return match self.tls.connect(name, stream).await {
                        Ok(stream) => Ok(Stream::Tls(Box::new(stream))),
                        Err(error) => Err(format!("TLS with {address} failed: {error}")),
                    };
                }
                Ok(Err(error)) => last_error = format!("cannot connect to {address}: {error}"),
                Err(_) => last_error = format!("connecting to {address} timed out"),
            }
        }
        Err(last_error)
    }
}

enum Stream {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

/// Sends `request` over `io` (HTTP/1.1) and reads at most
/// [`MAX_REPLY_BYTES`] of the reply; returns the status.
async fn exchange<T>(io: T, request: http::Request<Full<Bytes>>) -> Result<u16, String>
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .map_err(|error| format!("HTTP handshake failed: {error}"))?;
    let driver = tokio::spawn(async move {
        let _ = connection.await;
    });
    let result = async {
        let response = sender.send_request(request).await.map_err(|error| format!("request failed: {error}"))?;
        let status = response.status().as_u16();
        // Read (some of) the reply so the receiver is not cut off mid-write;
        // its content does not matter.
        let _ = Limited::new(response.into_body(), MAX_REPLY_BYTES).collect().await;
        Ok(status)
    }
    .await;
    driver.abort();
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_cover_the_timestamp_and_the_body() {
        let signed = signature("whsec_test", 1_700_000_000, b"{\"id\":\"1\"}");
        assert!(signed.starts_with("v1=") && signed.len() == 3 + 64, "{signed}");
        assert_ne!(signed, signature("whsec_test", 1_700_000_001, b"{\"id\":\"1\"}"));
        assert_ne!(signed, signature("whsec_test", 1_700_000_000, b"{\"id\":\"2\"}"));
        assert_ne!(signed, signature("whsec_other", 1_700_000_000, b"{\"id\":\"1\"}"));
        // RFC 4231 test case 2, through the same code.
        let mut mac = Hmac::<Sha256>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(mac.finalize().into_bytes()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
