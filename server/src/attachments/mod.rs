//! Where attachments' bytes are kept: one [`ObjectStore`] trait, with the
//! local-filesystem backend ([`local`]) as the embedded default. Clients
//! move the bytes themselves, through presigned URLs; the server only signs
//! URLs, reads an upload back once to check it ([`content`]), and deletes.
//!
//! An upload lands under `uploads/{key}`. ConfirmAttachment first moves it
//! to `objects/{key}` and only then checks it, so a second PUT to the same
//! (still valid) upload URL can never replace bytes that were checked.

pub mod content;
pub mod local;
pub mod s3;

use std::time::Duration;

use crate::domain::time::Micros;

/// A presigned request: where to send it and the headers it must carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Presigned {
    pub url: String,
    pub headers: Vec<(String, String)>,
    /// When the URL stops working.
    pub expire_time: Micros,
}

/// What a download serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Download {
    /// The name the browser saves the file under.
    pub filename: String,
    /// The `Content-Type` served (see [`content::served_type`]).
    pub content_type: String,
}

/// An object as read back: its size, SHA-256 and first bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inspected {
    pub size: u64,
    /// Lower-case hex; of the first `limit + 1` bytes only when larger.
    pub sha256: String,
    /// The first [`content::SNIFF_BYTES`] bytes (fewer in a smaller file).
    pub head: Vec<u8>,
}

/// Object storage for attachments.
#[tonic::async_trait]
pub trait ObjectStore: Send + Sync + 'static {
    /// A URL that stores `size` bytes of `content_type` at `key` with one
    /// PUT, for `expires`.
    async fn presign_put(
        &self,
        key: &str,
        content_type: &str,
        size: u64,
        expires: Duration,
    ) -> anyhow::Result<Presigned>;

    /// A URL that downloads `key` as `download` describes, for `expires`.
    async fn presign_get(&self, key: &str, download: &Download, expires: Duration) -> anyhow::Result<Presigned>;

    /// Moves the object at `from` to `to`; `false` if there is none at `from`.
    async fn promote(&self, from: &str, to: &str) -> anyhow::Result<bool>;

    /// Reads the object at `key` back, at most `limit + 1` bytes of it (so a
    /// file larger than declared costs no more than that); `None` if there
    /// is none.
    async fn inspect(&self, key: &str, limit: u64) -> anyhow::Result<Option<Inspected>>;

    /// Deletes the object at `key`; deleting a missing object succeeds.
    async fn delete(&self, key: &str) -> anyhow::Result<()>;
}

/// Where an attachment's upload lands (`object_key` is the attachment's
/// `{project}/{task}/{attachment}`).
pub fn upload_key(object_key: &str) -> String {
    format!("uploads/{object_key}")
}

/// Where an attachment's checked bytes are kept.
pub fn stored_key(object_key: &str) -> String {
    format!("objects/{object_key}")
}

/// The SHA-256 of data fed in pieces, and the first bytes, as
/// [`ObjectStore::inspect`] reports them.
#[derive(Default)]
pub struct Inspector {
    hasher: sha2::Sha256,
    size: u64,
    head: Vec<u8>,
}

impl Inspector {
    pub fn update(&mut self, bytes: &[u8]) {
        use sha2::Digest;
        self.hasher.update(bytes);
        self.size += bytes.len() as u64;
        let room = content::SNIFF_BYTES.saturating_sub(self.head.len());
        self.head.extend_from_slice(&bytes[..room.min(bytes.len())]);
    }

    /// Bytes fed so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The result; `size` is the object's real size when only part was read.
    pub fn finish(self, size: u64) -> Inspected {
        use sha2::Digest;
        Inspected { size, sha256: hex::encode(self.hasher.finalize()), head: self.head }
    }
}
