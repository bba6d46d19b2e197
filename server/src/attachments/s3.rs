//! Attachments in an S3 bucket (or any S3-compatible store), through the
//! `object_store` crate: SigV4-presigned PUTs and GETs, and the server's own
//! reads, copies and deletes with the task role's credentials.
//!
//! A presigned PUT binds `Content-Type` into its signature, so S3 refuses a
//! PUT of another type (the size is checked on confirm). A presigned GET
//! carries `response-content-disposition` and `response-content-type`,
//! signed too, so S3 serves every download as an attachment of the type
//! [`super::content::served_type`] chose.

use std::time::Duration;

use futures::StreamExt;
use object_store::{
    ObjectStoreExt as _,
    aws::{AmazonS3, AmazonS3Builder},
    path::Path,
    signer::{HeaderValue, Method, SignedUrlOptions, Signer},
};
use secrecy::ExposeSecret;

use super::{Download, Inspected, Inspector, ObjectStore, Presigned, content};
use crate::{config::AttachmentSettings, domain::time};

/// A bucket holding attachments.
#[derive(Debug)]
pub struct S3Store {
    s3: AmazonS3,
}

impl S3Store {
    /// Connects to `settings`' bucket. Credentials are the settings' access
    /// key if given, else the usual AWS environment (the ECS task role).
    pub fn new(settings: &AttachmentSettings) -> anyhow::Result<Self> {
        let Some(bucket) = &settings.s3_bucket else { anyhow::bail!("TASKTRACKER_ATTACHMENT_S3_BUCKET is not set") };
        let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket);
        if let Some(region) = &settings.s3_region {
            builder = builder.with_region(region);
        }
        if let Some(endpoint) = &settings.s3_endpoint {
            builder = builder.with_endpoint(endpoint).with_allow_http(endpoint.starts_with("http://"));
        }
        if let (Some(key), Some(secret)) = (&settings.s3_access_key_id, &settings.s3_secret_access_key) {
            builder = builder.with_access_key_id(key).with_secret_access_key(secret.expose_secret());
        }
        let s3 = builder.build().map_err(|error| anyhow::anyhow!("TASKTRACKER_ATTACHMENT_S3_*: {error}"))?;
        Ok(Self { s3 })
    }
}

fn expire_time(expires: Duration) -> i64 {
    time::now() + i64::try_from(expires.as_micros()).unwrap_or(i64::MAX / 2)
}

#[tonic::async_trait]
impl ObjectStore for S3Store {
    async fn presign_put(
        &self,
        key: &str,
        content_type: &str,
        size: u64,
        expires: Duration,
    ) -> anyhow::Result<Presigned> {
        // The length cannot be signed here (the signer owns that header):
        // ConfirmAttachment checks it, reading at most one byte past it.
        let options = SignedUrlOptions::default()
            .with_signed_header(http::header::CONTENT_TYPE, HeaderValue::from_str(content_type)?);
        let url = self.s3.signed_url_opts(Method::PUT, &Path::from(key), expires, &options).await?;
        Ok(Presigned {
            url: url.to_string(),
            headers: vec![("content-type".into(), content_type.into()), ("content-length".into(), size.to_string())],
            expire_time: expire_time(expires),
        })
    }

    async fn presign_get(&self, key: &str, download: &Download, expires: Duration) -> anyhow::Result<Presigned> {
        let options = SignedUrlOptions::default().with_query([
            ("response-content-disposition", content::attachment_disposition(&download.filename)),
            ("response-content-type", download.content_type.clone()),
        ]);
        let url = self.s3.signed_url_opts(Method::GET, &Path::from(key), expires, &options).await?;
        Ok(Presigned { url: url.to_string(), headers: vec![], expire_time: expire_time(expires) })
    }

    async fn promote(&self, from: &str, to: &str) -> anyhow::Result<bool> {
        match self.s3.copy(&Path::from(from), &Path::from(to)).await {
            Ok(()) => {}
            Err(object_store::Error::NotFound { .. }) => return Ok(false),
            Err(error) => return Err(error.into()),
        }
        self.s3.delete(&Path::from(from)).await?;
        Ok(true)
    }

    async fn inspect(&self, key: &str, limit: u64) -> anyhow::Result<Option<Inspected>> {
        let found = match self.s3.get(&Path::from(key)).await {
            Ok(found) => found,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(error) => return Err(error.into()),
        };
        let size = found.meta.size;
        let mut inspector = Inspector::default();
        let mut stream = found.into_stream();
        while inspector.size() <= limit {
            let Some(chunk) = stream.next().await else { break };
            let chunk = chunk?;
            inspector.update(&chunk);
        }
        Ok(Some(inspector.finish(size)))
    }

    async fn delete(&self, key: &str) -> anyhow::Result<()> {
        match self.s3.delete(&Path::from(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(error) => Err(error.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn presigned_urls_carry_their_signed_parts() {
        let settings = AttachmentSettings {
            max_bytes: 1,
            project_max_bytes: 1,
            upload_expiry: Duration::from_secs(60),
            download_expiry: Duration::from_secs(60),
            s3_bucket: Some("bucket".into()),
            s3_region: Some("us-east-1".into()),
            s3_endpoint: Some("http://127.0.0.1:9".into()),
            s3_access_key_id: Some("key".into()),
            s3_secret_access_key: Some("secret".to_owned().into()),
        };
        let store = S3Store::new(&settings).unwrap();
        let put = store.presign_put("uploads/a/b/c", "text/plain", 5, Duration::from_secs(60)).await.unwrap();
        assert!(put.url.starts_with("http://127.0.0.1:9/bucket/uploads/a/b/c?"), "{}", put.url);
        assert!(put.url.contains("X-Amz-SignedHeaders=content-type%3Bhost"), "{}", put.url);
        let download = Download { filename: "a b.txt".into(), content_type: "text/plain".into() };
        let get = store.presign_get("objects/a/b/c", &download, Duration::from_secs(60)).await.unwrap();
        assert!(get.url.contains("response-content-disposition=attachment"), "{}", get.url);
    }
}
