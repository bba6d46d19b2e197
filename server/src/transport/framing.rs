//! Request framing: the one place that checks how a gRPC request body is
//! cut into messages, before tonic decodes them.
//!
//! Each message is a five-byte header (a flag byte and a big-endian length)
//! followed by that many bytes. tonic reports a malformed body as INTERNAL;
//! it is the client's error, so this layer answers INVALID_ARGUMENT instead,
//! naming what is wrong, and INTERNAL keeps meaning "the server's fault" for
//! the error objective. Malformed message bytes are the codec's to report
//! (`tasktracker_proto::codec`); an unsupported `grpc-encoding` is tonic's
//! UNIMPLEMENTED.
//!
//! A body error that carries a [`tonic::Status`] becomes the call's status:
//! tonic looks for one in the error's source chain.

use axum::{extract::Request, middleware::Next, response::Response};
use tonic::Status;

use super::body::{FrameHook, Hooked, Polled};

/// Length of a message header: flag byte and 32-bit length.
const HEADER_LEN: usize = 5;
/// Flag of an uncompressed message.
const UNCOMPRESSED: u8 = 0;
/// Flag of a compressed message.
const COMPRESSED: u8 = 1;
/// Bit that marks a gRPC-web trailer frame; only servers send those.
const TRAILERS: u8 = 0x80;

/// Methods whose request is exactly one message: an empty body is an error.
/// Reflection streams may legitimately send none.
const SINGLE_MESSAGE_PREFIXES: &[&str] = &["/tasktracker.v1.", "/grpc.health.v1.", "/google.longrunning."];

/// Tracks where a body is in its message frames.
#[derive(Debug, Clone)]
struct FrameScanner {
    /// The request names a `grpc-encoding` other than identity.
    compression: bool,
    /// Method's request is a single message.
    single_message: bool,
    header: [u8; HEADER_LEN],
    header_filled: usize,
    /// Bytes of the current message still to come.
    remaining: u64,
    messages: u64,
}

impl FrameScanner {
    fn new(compression: bool, single_message: bool) -> Self {
        Self { compression, single_message, header: [0; HEADER_LEN], header_filled: 0, remaining: 0, messages: 0 }
    }

    /// Reads the next chunk of the body.
    fn scan(&mut self, mut data: &[u8]) -> Result<(), Status> {
        while !data.is_empty() {
            if self.remaining > 0 {
                let taken = usize::try_from(self.remaining).unwrap_or(usize::MAX).min(data.len());
                self.remaining -= taken as u64;
                data = &data[taken..];
                continue;
            }
            let taken = (HEADER_LEN - self.header_filled).min(data.len());
            self.header[self.header_filled..self.header_filled + taken].copy_from_slice(&data[..taken]);
            self.header_filled += taken;
            data = &data[taken..];
            if self.header_filled == HEADER_LEN {
                self.header_filled = 0;
                self.start_message()?;
            }
        }
        Ok(())
    }

    fn start_message(&mut self) -> Result<(), Status> {
        match self.header[0] {
            UNCOMPRESSED => {}
            COMPRESSED if self.compression => {}
            COMPRESSED => {
                return Err(Status::invalid_argument(
                    "a message has the compressed flag set, but the request names no grpc-encoding",
                ));
            }
            flag if flag & TRAILERS != 0 => {
                return Err(Status::invalid_argument(
                    "the request contains a trailer frame (flag 0x80); only responses carry trailers",
                ));
            }
            flag => {
                return Err(Status::invalid_argument(format!(
                    "a message has the invalid flag {flag:#04x}; valid flags are 0 (plain) and 1 (compressed)"
                )));
            }
        }
        let [_, length @ ..] = self.header;
        self.remaining = u64::from(u32::from_be_bytes(length));
        self.messages += 1;
        Ok(())
    }

    /// The body ended.
    fn finish(&self) -> Result<(), Status> {
        if self.header_filled > 0 || self.remaining > 0 {
            return Err(Status::invalid_argument("the request ends inside a message frame"));
        }
        if self.single_message && self.messages == 0 {
            return Err(Status::invalid_argument("the request carries no message"));
        }
        Ok(())
    }
}

/// Checks the body frame by frame as tonic reads it; a malformed body ends
/// with the status that says why.
impl FrameHook for FrameScanner {
    fn on_frame(&mut self, polled: Polled) -> Polled {
        let checked = match &polled {
            Some(Ok(frame)) => frame.data_ref().map_or(Ok(()), |data| self.scan(data)),
            Some(Err(_)) => Ok(()),
            None => self.finish(),
        };
        match checked {
            Ok(()) => polled,
            Err(status) => Some(Err(axum::Error::new(status))),
        }
    }
}

/// Middleware: checks the framing of gRPC request bodies (after the
/// gRPC-web translation, so both protocols get the same checks).
pub async fn check_framing(request: Request, next: Next) -> Response {
    let grpc = request
        .headers()
        .get(http::header::CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(b"application/grpc"));
    if !grpc {
        return next.run(request).await;
    }
    let compression = request.headers().get("grpc-encoding").is_some_and(|encoding| encoding.as_bytes() != b"identity");
    let path = request.uri().path();
    let single_message = SINGLE_MESSAGE_PREFIXES.iter().any(|prefix| path.starts_with(prefix));
    let scanner = FrameScanner::new(compression, single_message);
    let request = request.map(|inner| Hooked::body(inner, scanner));
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use tonic::Code;

    use super::*;

    fn frame(flag: u8, message: &[u8]) -> Vec<u8> {
        let mut frame = vec![flag];
        frame.extend_from_slice(&(message.len() as u32).to_be_bytes());
        frame.extend_from_slice(message);
        frame
    }

    fn scan_all(scanner: &mut FrameScanner, body: &[u8], chunk: usize) -> Result<(), Status> {
        for piece in body.chunks(chunk.max(1)) {
            scanner.scan(piece)?;
        }
        scanner.finish()
    }

    #[test]
    fn well_framed_bodies_pass_however_they_are_chunked() {
        let body = [frame(0, b"hello"), frame(0, b""), frame(0, &[7; 300])].concat();
        for chunk in [1, 2, 5, 6, 64, body.len()] {
            let mut scanner = FrameScanner::new(false, false);
            assert!(scan_all(&mut scanner, &body, chunk).is_ok(), "chunk {chunk}");
            assert_eq!(scanner.messages, 3);
        }
    }

    #[test]
    fn malformed_bodies_are_invalid_argument_naming_the_problem() {
        let cases: [(&str, Vec<u8>, &str); 5] = [
            ("compressed without an encoding", frame(1, b"x"), "compressed flag"),
            ("a trailer frame", [frame(0, b"x"), frame(0x80, b"grpc-status:0")].concat(), "trailer frame"),
            ("an unknown flag", frame(2, b"x"), "invalid flag 0x02"),
            ("a cut header", frame(0, b"x")[..3].to_vec(), "ends inside"),
            ("a cut message", frame(0, b"hello")[..7].to_vec(), "ends inside"),
        ];
        for (case, body, expected) in cases {
            let status = scan_all(&mut FrameScanner::new(false, true), &body, 4).expect_err(case);
            assert_eq!(status.code(), Code::InvalidArgument, "{case}");
            assert!(status.message().contains(expected), "{case}: {}", status.message());
        }
    }

    #[test]
    fn compressed_messages_pass_when_an_encoding_is_named() {
        assert!(scan_all(&mut FrameScanner::new(true, true), &frame(1, b"zz"), 3).is_ok());
    }

    #[test]
    fn an_empty_body_is_an_error_only_where_one_message_is_due() {
        let status = FrameScanner::new(false, true).finish().expect_err("empty unary request");
        assert_eq!(status.code(), Code::InvalidArgument);
        assert!(FrameScanner::new(false, false).finish().is_ok(), "a stream may send nothing");
    }
}
