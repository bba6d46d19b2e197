//! `tasktracker.v1.AttachmentService`: files on tasks. Handlers sign URLs
//! and check uploads; the bytes go between the client and the object store
//! ([`crate::attachments`]). Viewers read ([`Permission::Read`]); editors
//! and owners upload and delete ([`Permission::Write`], which also refuses
//! an archived project).

use std::time::Duration;

use tasktracker_proto::v1::{self, attachment_service_server::AttachmentService};
use tonic::{Request, Response, Status};

use super::SharedState;
use crate::{
    attachments::{Download, content, stored_key, upload_key},
    auth::{Caller, Permission},
    config::AttachmentSettings,
    domain::{
        AttachmentId, AttachmentName, ProjectId, TaskId, TaskName, UserId,
        time::{self, to_optional_timestamp, to_timestamp},
    },
    error::{ServiceError, ServiceResult},
    storage::{
        attachments::{ACTIVE, AttachmentStoreError, MAX_PER_TASK, PENDING},
        entities::attachments,
    },
};

impl From<AttachmentStoreError> for ServiceError {
    fn from(error: AttachmentStoreError) -> Self {
        match error {
            AttachmentStoreError::ProjectFull => Self::ResourceExhausted(
                "the project's attachments would exceed its limit (TASKTRACKER_ATTACHMENT_PROJECT_MAX_BYTES)",
            ),
            AttachmentStoreError::TooMany => {
                Self::FailedPrecondition(format!("a task has at most {MAX_PER_TASK} attachments"))
            }
            AttachmentStoreError::Stale => Self::Aborted("the attachment changed meanwhile; read it again".into()),
            AttachmentStoreError::Database(error) => error.into(),
        }
    }
}

pub struct Attachments {
    shared: SharedState,
}

fn micros(duration: Duration) -> i64 {
    i64::try_from(duration.as_micros()).unwrap_or(i64::MAX / 2)
}

/// Converts a stored attachment.
fn attachment_to_proto(attachment: attachments::Model) -> v1::Attachment {
    let name = AttachmentName {
        task: TaskName {
            project: ProjectId::from_stored(&attachment.project_id),
            task: TaskId::from_stored(&attachment.task_id),
        },
        attachment: AttachmentId::from_stored(&attachment.id),
    };
    let pending = attachment.state == PENDING;
    let state = if pending { v1::AttachmentState::Pending } else { v1::AttachmentState::Active };
    v1::Attachment {
        name: name.to_string(),
        filename: attachment.filename,
        content_type: attachment.content_type,
        size_bytes: attachment.size_bytes,
        sha256: attachment.sha256,
        state: state as i32,
        creator: UserId::from_stored(&attachment.creator_id).name(),
        create_time: Some(to_timestamp(attachment.create_time)),
        confirm_time: to_optional_timestamp(attachment.confirm_time),
        expire_time: pending.then(|| to_timestamp(attachment.expire_time)),
    }
}

/// A declared upload, checked field by field.
struct Declared {
    filename: String,
    content_type: String,
    size_bytes: i64,
    sha256: String,
}

fn declared(attachment: Option<v1::Attachment>, settings: &AttachmentSettings) -> ServiceResult<Declared> {
    let Some(v1::Attachment { filename, content_type, size_bytes, sha256, .. }) = attachment else {
        return Err(ServiceError::invalid("attachment", "is required"));
    };
    content::check_filename(&filename).map_err(|why| ServiceError::invalid("attachment.filename", why))?;
    content::check_content_type(&content_type).map_err(|why| ServiceError::invalid("attachment.content_type", why))?;
    let max = settings.max_bytes;
    if size_bytes < 1 || size_bytes.unsigned_abs() > max {
        return Err(ServiceError::invalid(
            "attachment.size_bytes",
            format!("must be 1 to {max} bytes (TASKTRACKER_ATTACHMENT_MAX_BYTES)"),
        ));
    }
    let sha256 = sha256.to_ascii_lowercase();
    if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ServiceError::invalid("attachment.sha256", "must be the file's SHA-256 as 64 hex digits"));
    }
    Ok(Declared { filename, content_type, size_bytes, sha256 })
}

impl Attachments {
    pub fn new(shared: SharedState) -> Self {
        Self { shared }
    }

    /// The attachment `name`, unless deleted, once `caller` may
    /// `permission` on its task.
    async fn find(
        &self,
        caller: &Caller,
        name: AttachmentName,
        permission: Permission,
    ) -> ServiceResult<attachments::Model> {
        self.shared.authorizer.task(caller, name.task, permission).await?;
        self.shared
            .attachments
            .get(name.task, &name.attachment.to_string())
            .await?
            .ok_or(ServiceError::NotFound("attachment"))
    }

    /// Why the stored bytes of `attachment` are not what was declared, if
    /// they are not; `None` if they were never uploaded.
    async fn check_upload(&self, attachment: &attachments::Model) -> ServiceResult<Option<Result<(), String>>> {
        let objects = &self.shared.object_store;
        let key = stored_key(&attachment.object_key);
        let declared_size = attachment.size_bytes.unsigned_abs();
        let Some(found) = objects.inspect(&key, declared_size).await? else {
            return Ok(None);
        };
        if found.size != declared_size {
            return Ok(Some(Err(format!("the file has {} bytes, not {declared_size} as declared", found.size))));
        }
        if found.sha256 != attachment.sha256 {
            return Ok(Some(Err("the file's SHA-256 is not the one declared".into())));
        }
        Ok(Some(content::matches_declared(&attachment.content_type, &found.head)))
    }
}

#[tonic::async_trait]
impl AttachmentService for Attachments {
    async fn create_attachment_upload(
        &self,
        request: Request<v1::CreateAttachmentUploadRequest>,
    ) -> Result<Response<v1::CreateAttachmentUploadResponse>, Status> {
        let caller = Caller::of(&request)?;
        let v1::CreateAttachmentUploadRequest { parent, attachment } = request.into_inner();
        let task_name = TaskName::parse("parent", &parent)?;
        let settings = &self.shared.attachment_settings;
        let declared = declared(attachment, settings)?;
        let task = self.shared.authorizer.task(&caller, task_name, Permission::Write).await?;
        if task.task.delete_time.is_some() {
            return Err(ServiceError::NotFound("task").into());
        }
        let id = AttachmentId::generate();
        let now = time::now();
        let object_key = format!("{}/{}/{id}", task_name.project, task_name.task);
        let attachment = attachments::Model {
            id: id.to_string(),
            project_id: task_name.project.to_string(),
            task_id: task_name.task.to_string(),
            filename: declared.filename,
            content_type: declared.content_type,
            size_bytes: declared.size_bytes,
            sha256: declared.sha256,
            state: PENDING,
            object_key,
            creator_id: caller.user.to_string(),
            create_time: now,
            confirm_time: None,
            // The URL's lifetime, and as long again to confirm a slow upload.
            expire_time: now + 2 * micros(settings.upload_expiry),
            delete_time: None,
        };
        let limit = i64::try_from(settings.project_max_bytes).unwrap_or(i64::MAX);
        let attachment = self.shared.attachments.insert_pending(attachment, limit).await.map_err(ServiceError::from)?;
        let presigned = self
            .shared
            .object_store
            .presign_put(
                &upload_key(&attachment.object_key),
                &attachment.content_type,
                attachment.size_bytes.unsigned_abs(),
                settings.upload_expiry,
            )
            .await
            .map_err(ServiceError::Internal)?;
        Ok(Response::new(v1::CreateAttachmentUploadResponse {
            attachment: Some(attachment_to_proto(attachment)),
            upload_url: presigned.url,
            upload_headers: presigned.headers.into_iter().map(|(name, value)| v1::HttpHeader { name, value }).collect(),
            upload_expire_time: Some(to_timestamp(presigned.expire_time)),
        }))
    }

    async fn confirm_attachment(
        &self,
        request: Request<v1::ConfirmAttachmentRequest>,
    ) -> Result<Response<v1::Attachment>, Status> {
        let caller = Caller::of(&request)?;
        let name = AttachmentName::parse("name", &request.get_ref().name)?;
        let mut attachment = self.find(&caller, name, Permission::Write).await?;
        if attachment.state == ACTIVE {
            return Ok(Response::new(attachment_to_proto(attachment)));
        }
        let now = time::now();
        if attachment.expire_time < now {
            return Err(ServiceError::FailedPrecondition(
                "the upload expired before it was confirmed; declare it again".into(),
            )
            .into());
        }
        let objects = &self.shared.object_store;
        // Moved first, checked after: a PUT racing the check cannot change
        // what was checked.
        objects
            .promote(&upload_key(&attachment.object_key), &stored_key(&attachment.object_key))
            .await
            .map_err(ServiceError::Internal)?;
        let refusal = match self.check_upload(&attachment).await? {
            None => {
                return Err(ServiceError::FailedPrecondition(
                    "no file has been uploaded yet: PUT it to the upload URL first".into(),
                )
                .into());
            }
            Some(Ok(())) => None,
            Some(Err(why)) => Some(why),
        };
        if let Some(why) = refusal {
            self.shared.metrics.attachment_confirm("refused", 0);
            objects.delete(&stored_key(&attachment.object_key)).await.map_err(ServiceError::Internal)?;
            self.shared.attachments.remove(vec![attachment.id]).await.map_err(ServiceError::from)?;
            return Err(ServiceError::FailedPrecondition(format!("upload refused: {why}; declare it again")).into());
        }
        self.shared.attachments.activate(&attachment.id, now).await.map_err(ServiceError::from)?;
        self.shared.metrics.attachment_confirm("confirmed", attachment.size_bytes.unsigned_abs());
        attachment.state = ACTIVE;
        attachment.confirm_time = Some(now);
        Ok(Response::new(attachment_to_proto(attachment)))
    }

    async fn get_attachment(
        &self,
        request: Request<v1::GetAttachmentRequest>,
    ) -> Result<Response<v1::Attachment>, Status> {
        let caller = Caller::of(&request)?;
        let name = AttachmentName::parse("name", &request.get_ref().name)?;
        Ok(Response::new(attachment_to_proto(self.find(&caller, name, Permission::Read).await?)))
    }

    async fn list_attachments(
        &self,
        request: Request<v1::ListAttachmentsRequest>,
    ) -> Result<Response<v1::ListAttachmentsResponse>, Status> {
        let caller = Caller::of(&request)?;
        let task = TaskName::parse("parent", &request.get_ref().parent)?;
        self.shared.authorizer.task(&caller, task, Permission::Read).await?;
        let listed = self.shared.attachments.list_active(task).await.map_err(ServiceError::from)?;
        Ok(Response::new(v1::ListAttachmentsResponse {
            attachments: listed.into_iter().map(attachment_to_proto).collect(),
        }))
    }

    async fn get_attachment_download_url(
        &self,
        request: Request<v1::GetAttachmentDownloadUrlRequest>,
    ) -> Result<Response<v1::GetAttachmentDownloadUrlResponse>, Status> {
        let caller = Caller::of(&request)?;
        let name = AttachmentName::parse("name", &request.get_ref().name)?;
        let attachment = self.find(&caller, name, Permission::Read).await?;
        if attachment.state != ACTIVE {
            return Err(ServiceError::FailedPrecondition("the attachment has not been confirmed yet".into()).into());
        }
        let download = Download {
            content_type: content::served_type(&attachment.content_type).to_owned(),
            filename: attachment.filename,
        };
        let presigned = self
            .shared
            .object_store
            .presign_get(
                &stored_key(&attachment.object_key),
                &download,
                self.shared.attachment_settings.download_expiry,
            )
            .await
            .map_err(ServiceError::Internal)?;
        Ok(Response::new(v1::GetAttachmentDownloadUrlResponse {
            download_url: presigned.url,
            expire_time: Some(to_timestamp(presigned.expire_time)),
        }))
    }

    async fn delete_attachment(
        &self,
        request: Request<v1::DeleteAttachmentRequest>,
    ) -> Result<Response<v1::DeleteAttachmentResponse>, Status> {
        let caller = Caller::of(&request)?;
        let name = AttachmentName::parse("name", &request.get_ref().name)?;
        let attachment = self.find(&caller, name, Permission::Write).await?;
        self.shared.attachments.delete(&attachment.id, time::now()).await.map_err(ServiceError::from)?;
        Ok(Response::new(v1::DeleteAttachmentResponse {}))
    }
}
