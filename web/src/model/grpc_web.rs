//! The gRPC-web wire protocol, as the app's client speaks it (the browser
//! part, fetch and its streams, is `app::grpc_web`): length-prefixed frames,
//! the trailers frame that ends a response, statuses and their codes.
//!
//! Why not tonic's client over `tonic-web-wasm-client`: the app encodes and
//! decodes its messages itself, so all it needed of them was this framing,
//! and they brought tonic's and `http`'s machinery (header maps, codecs,
//! reason phrases, error catalogues) into the bundle: about 70 KB of its
//! 1.1 MB of wasm, a sixth of the room the 350 KB budget had left.

/// A gRPC status code (<https://grpc.github.io/grpc/core/md_doc_statuscodes.html>).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    Ok,
    Cancelled,
    Unknown,
    InvalidArgument,
    DeadlineExceeded,
    NotFound,
    AlreadyExists,
    PermissionDenied,
    ResourceExhausted,
    FailedPrecondition,
    Aborted,
    OutOfRange,
    Unimplemented,
    Internal,
    Unavailable,
    DataLoss,
    Unauthenticated,
}

impl Code {
    const ALL: [Code; 17] = [
        Code::Ok,
        Code::Cancelled,
        Code::Unknown,
        Code::InvalidArgument,
        Code::DeadlineExceeded,
        Code::NotFound,
        Code::AlreadyExists,
        Code::PermissionDenied,
        Code::ResourceExhausted,
        Code::FailedPrecondition,
        Code::Aborted,
        Code::OutOfRange,
        Code::Unimplemented,
        Code::Internal,
        Code::Unavailable,
        Code::DataLoss,
        Code::Unauthenticated,
    ];

    /// The code of a `grpc-status` value; anything unknown is `Unknown`.
    pub fn parse(value: &str) -> Self {
        value.trim().parse::<usize>().ok().and_then(|code| Self::ALL.get(code).copied()).unwrap_or(Code::Unknown)
    }

    /// The code of an HTTP status other than 200 (the gRPC spec's mapping).
    pub fn of_http(status: u16) -> Self {
        match status {
            400 => Code::Internal,
            401 => Code::Unauthenticated,
            403 => Code::PermissionDenied,
            404 => Code::Unimplemented,
            429 | 502 | 503 | 504 => Code::Unavailable,
            _ => Code::Unknown,
        }
    }
}

/// How a call ended, when not with an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    code: Code,
    message: String,
    /// `grpc-status-details-bin`, decoded: a `google.rpc.Status`.
    details: Vec<u8>,
}

impl Status {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), details: Vec::new() }
    }

    pub fn code(&self) -> Code {
        self.code
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    /// The encoded `google.rpc.Status` the server attached, if any.
    pub fn details(&self) -> &[u8] {
        &self.details
    }

    /// The status that `grpc-status`, `grpc-message` (percent-encoded) and
    /// `grpc-status-details-bin` (base64, decoded by `base64`) name, as
    /// `get` finds them; `None` without a `grpc-status`.
    pub fn from_metadata(
        get: impl Fn(&str) -> Option<String>,
        base64: impl Fn(&str) -> Option<Vec<u8>>,
    ) -> Option<Self> {
        let code = Code::parse(&get("grpc-status")?);
        let message = get("grpc-message").map(|message| percent_decode(&message)).unwrap_or_default();
        let details = get("grpc-status-details-bin").and_then(|value| base64(value.trim())).unwrap_or_default();
        Some(Self { code, message, details })
    }
}

/// A request message in its frame: a flag byte (0: uncompressed data) and
/// its length, big-endian.
pub fn frame(message: &[u8]) -> Vec<u8> {
    let length = u32::try_from(message.len()).expect("a message under 4 GiB");
    let mut framed = Vec::with_capacity(message.len() + 5);
    framed.push(0);
    framed.extend_from_slice(&length.to_be_bytes());
    framed.extend_from_slice(message);
    framed
}

/// One frame of a response.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame {
    /// A message.
    Data(Vec<u8>),
    /// The trailers that end the response: `(name, value)`, names in
    /// lower case.
    Trailers(Vec<(String, String)>),
}

/// Splits a response body, arriving in chunks of any size, into frames.
#[derive(Debug, Default)]
pub struct Frames {
    buffer: Vec<u8>,
}

/// Flag bit of a frame: the payload is trailers, not a message.
const TRAILERS: u8 = 0x80;
/// Flag bit of a frame: the payload is compressed (never asked for).
const COMPRESSED: u8 = 0x01;

impl Frames {
    /// Adds what arrived.
    pub fn extend(&mut self, chunk: &[u8]) {
        self.buffer.extend_from_slice(chunk);
    }

    /// The next whole frame, if one has arrived; an error if it cannot be
    /// read.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, Status> {
        let Some(header) = self.buffer.first_chunk::<5>() else { return Ok(None) };
        let flags = header[0];
        let length = u32::from_be_bytes([header[1], header[2], header[3], header[4]]) as usize;
        if self.buffer.len() < 5 + length {
            return Ok(None);
        }
        if flags & COMPRESSED != 0 {
            return Err(Status::new(Code::Internal, "the server sent a compressed message, which was not asked for"));
        }
        let payload: Vec<u8> = self.buffer.drain(..5 + length).skip(5).collect();
        if flags & TRAILERS == 0 {
            return Ok(Some(Frame::Data(payload)));
        }
        let text = String::from_utf8_lossy(&payload);
        let trailers = text
            .split("\r\n")
            .filter_map(|line| line.split_once(':'))
            .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
            .collect();
        Ok(Some(Frame::Trailers(trailers)))
    }

    /// Whether a part of a frame is still waiting for the rest.
    pub fn is_empty(&self) -> bool {
        self.buffer.is_empty()
    }
}

/// `grpc-message` decoded: `%XX` escapes of UTF-8 bytes; a malformed
/// escape stays as it is.
pub fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let escaped = (bytes[index] == b'%')
            .then(|| bytes.get(index + 1..index + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok());
        match escaped {
            Some(byte) => {
                decoded.push(byte);
                index += 3;
            }
            None => {
                decoded.push(bytes[index]);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trailers(text: &str) -> Vec<u8> {
        let mut framed = frame(text.as_bytes());
        framed[0] = TRAILERS;
        framed
    }

    #[test]
    fn frames_are_read_across_chunks_of_any_size() {
        let mut body = frame(b"first");
        body.extend(frame(b""));
        body.extend(frame(&[7; 300]));
        body.extend(trailers("grpc-status: 0\r\nGrpc-Message: done\r\n"));
        for chunk_size in [1, 2, 5, 6, 64, body.len()] {
            let mut frames = Frames::default();
            let mut read = Vec::new();
            for chunk in body.chunks(chunk_size) {
                frames.extend(chunk);
                while let Some(frame) = frames.next_frame().unwrap() {
                    read.push(frame);
                }
            }
            assert!(frames.is_empty(), "chunks of {chunk_size}");
            assert_eq!(
                read,
                [
                    Frame::Data(b"first".to_vec()),
                    Frame::Data(Vec::new()),
                    Frame::Data(vec![7; 300]),
                    Frame::Trailers(vec![("grpc-status".into(), "0".into()), ("grpc-message".into(), "done".into())]),
                ],
                "chunks of {chunk_size}"
            );
        }
    }

    #[test]
    fn a_frame_is_its_flag_its_big_endian_length_and_the_message() {
        assert_eq!(frame(b"hi"), [0, 0, 0, 0, 2, b'h', b'i']);
        let mut frames = Frames::default();
        frames.extend(&[0, 0, 0, 1]);
        assert_eq!(frames.next_frame().unwrap(), None, "a header in part");
        frames.extend(&[0, 1]);
        assert_eq!(frames.next_frame().unwrap(), None, "a message in part");
        let mut compressed = frame(b"x");
        compressed[0] = COMPRESSED;
        let mut frames = Frames::default();
        frames.extend(&compressed);
        assert_eq!(frames.next_frame().unwrap_err().code(), Code::Internal);
    }

    #[test]
    fn statuses_come_from_metadata_with_their_message_and_details() {
        let metadata = [
            ("grpc-status", "3"),
            ("grpc-message", "title: must not be empty; caf%C3%A9 100%25"),
            ("grpc-status-details-bin", " AAEC "),
        ];
        let get = |name: &str| metadata.iter().find(|(n, _)| *n == name).map(|(_, value)| (*value).to_owned());
        let base64 = |value: &str| (value == "AAEC").then(|| vec![0, 1, 2]);
        let status = Status::from_metadata(get, base64).expect("a status");
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(status.message(), "title: must not be empty; café 100%");
        assert_eq!(status.details(), [0, 1, 2]);
        assert_eq!(Status::from_metadata(|_| None, base64), None, "no grpc-status");
    }

    #[test]
    fn codes_parse_and_map_from_http() {
        assert_eq!(Code::parse("0"), Code::Ok);
        assert_eq!(Code::parse(" 16"), Code::Unauthenticated);
        assert_eq!(Code::parse("14"), Code::Unavailable);
        assert_eq!(Code::parse("17"), Code::Unknown);
        assert_eq!(Code::parse("x"), Code::Unknown);
        assert_eq!(Code::of_http(503), Code::Unavailable);
        assert_eq!(Code::of_http(401), Code::Unauthenticated);
        assert_eq!(Code::of_http(500), Code::Unknown);
    }

    #[test]
    fn malformed_escapes_stay_as_they_are() {
        assert_eq!(percent_decode("50% done %zz %4"), "50% done %zz %4");
        assert_eq!(percent_decode("%E2%9C%93 ok"), "✓ ok");
    }
}
