//! `tasktracker.v1.WebhookService`: a project's webhooks, their delivery
//! log, redelivery and replay. Every method needs the project's owner
//! (reads through [`Permission::Manage`], changes through
//! [`Authorizer::change_settings`](crate::auth::Authorizer::change_settings),
//! which also refuses an archived project). Sending is
//! [`crate::webhooks`]' job.

mod commands;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use rand::RngCore;
use tasktracker_proto::v1::{self, webhook_service_server::WebhookService};
use tonic::{Request, Response, Status};

use self::commands::{CreateWebhook, ListDeliveries, Replay, UpdateWebhook, WebhookSpec};
use super::{SharedState, projects::check_etag};
use crate::{
    auth::{Caller, Permission},
    domain::{
        DeliveryId, DeliveryName, ProjectId, TaskId, TaskName, UserId, WebhookId, WebhookName,
        time::{self, to_optional_timestamp, to_timestamp},
    },
    error::{ServiceError, ServiceResult},
    storage::{
        entities::{webhook_deliveries, webhooks},
        webhooks::{MAX_WEBHOOKS, PENDING, WebhookStoreError, event_id, wanted_kinds},
    },
    webhooks::address::check_destination,
};

impl From<WebhookStoreError> for ServiceError {
    fn from(error: WebhookStoreError) -> Self {
        match error {
            WebhookStoreError::Stale => Self::stale_etag("webhook"),
            WebhookStoreError::TooMany => {
                Self::FailedPrecondition(format!("a project has at most {MAX_WEBHOOKS} webhooks"))
            }
            WebhookStoreError::CursorExpired => Self::FailedPrecondition(
                "the cursor is older than the oldest event the feed keeps; replay from 0 for everything kept".into(),
            ),
            WebhookStoreError::CursorAhead => Self::invalid("cursor", "is ahead of the project's feed"),
            WebhookStoreError::Database(error) => error.into(),
        }
    }
}

pub struct Webhooks {
    shared: SharedState,
}

/// A new signing secret: 256 random bits.
fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("whsec_{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// Converts a stored webhook; `secret` only in the replies that reveal it.
fn webhook_to_proto(webhook: webhooks::Model, reveal_secret: bool) -> v1::Webhook {
    let name = WebhookName {
        project: ProjectId::from_stored(&webhook.project_id),
        webhook: WebhookId::from_stored(&webhook.id),
    };
    v1::Webhook {
        name: name.to_string(),
        event_kinds: wanted_kinds(&webhook).into_iter().map(i32::from).collect(),
        url: webhook.url,
        paused: webhook.paused,
        pause_reason: webhook.pause_reason,
        secret: if reveal_secret { webhook.secret } else { String::new() },
        creator: UserId::from_stored(&webhook.creator_id).name(),
        create_time: Some(to_timestamp(webhook.create_time)),
        update_time: Some(to_timestamp(webhook.update_time)),
        cursor: webhook.feed_cursor.to_string(),
        etag: webhook.version.to_string(),
    }
}

fn delivery_to_proto(webhook: WebhookName, delivery: webhook_deliveries::Model) -> v1::WebhookDelivery {
    let name = |id: &str| DeliveryName { webhook, delivery: DeliveryId::from_stored(id) }.to_string();
    let pending = delivery.outcome == PENDING;
    v1::WebhookDelivery {
        name: name(&delivery.id),
        event_id: event_id(&webhook.project.to_string(), delivery.event_seq),
        cursor: delivery.event_seq.to_string(),
        kind: i32::from(delivery.kind),
        task: TaskName { project: webhook.project, task: TaskId::from_stored(&delivery.task_id) }.to_string(),
        outcome: if pending { v1::WebhookDeliveryOutcome::Pending } else { v1::WebhookDeliveryOutcome::Delivered }
            as i32,
        attempts: delivery.attempts,
        status_code: delivery.status_code,
        error: delivery.error,
        latency_ms: delivery.latency_ms,
        create_time: Some(to_timestamp(delivery.create_time)),
        attempt_time: to_optional_timestamp(delivery.attempt_time),
        next_attempt_time: pending.then(|| to_timestamp(delivery.next_attempt_time)),
        redelivery_of: delivery.redelivery_of.as_deref().map(name).unwrap_or_default(),
    }
}

/// Sets on `webhook` what `spec` names; returns whether it was unpaused.
fn apply(webhook: &mut webhooks::Model, spec: WebhookSpec) -> bool {
    let WebhookSpec { url, event_kinds, paused } = spec;
    if let Some((url, _)) = url {
        webhook.url = url;
    }
    if let Some(kinds) = event_kinds {
        webhook.event_kinds = serde_json::to_string(&kinds).unwrap_or_else(|_| "[]".into());
    }
    let resumed = paused == Some(false) && webhook.paused;
    if let Some(paused) = paused {
        webhook.paused = paused;
        if !paused {
            webhook.pause_reason.clear();
        }
    }
    resumed
}

impl Webhooks {
    pub fn new(shared: SharedState) -> Self {
        Self { shared }
    }

    /// The webhook `name`, once `caller` may `permission` on its project
    /// (Manage to read; writes go through `change_settings`).
    async fn find(&self, caller: &Caller, name: WebhookName, write: bool) -> ServiceResult<webhooks::Model> {
        if write {
            self.shared.authorizer.change_settings(caller, name.project).await?;
        } else {
            self.shared.authorizer.require(caller, name.project, Permission::Manage).await?;
        }
        self.shared
            .webhooks
            .get(name.project, &name.webhook.to_string())
            .await?
            .ok_or(ServiceError::NotFound("webhook"))
    }

    /// Refuses a URL that reaches an address webhooks may not.
    async fn check_url(&self, spec: &WebhookSpec) -> ServiceResult<()> {
        if let Some((_, target)) = &spec.url {
            check_destination(self.shared.webhook_sender.policy(), "webhook.url", target).await?;
        }
        Ok(())
    }
}

#[tonic::async_trait]
impl WebhookService for Webhooks {
    async fn list_webhooks(
        &self,
        request: Request<v1::ListWebhooksRequest>,
    ) -> Result<Response<v1::ListWebhooksResponse>, Status> {
        let caller = Caller::of(&request)?;
        let project = ProjectId::parse_name("parent", &request.get_ref().parent)?;
        self.shared.authorizer.require(&caller, project, Permission::Manage).await?;
        let webhooks = self.shared.webhooks.list(project).await.map_err(ServiceError::from)?;
        let webhooks = webhooks.into_iter().map(|webhook| webhook_to_proto(webhook, false)).collect();
        Ok(Response::new(v1::ListWebhooksResponse { webhooks }))
    }

    async fn get_webhook(&self, request: Request<v1::GetWebhookRequest>) -> Result<Response<v1::Webhook>, Status> {
        let caller = Caller::of(&request)?;
        let name = WebhookName::parse("name", &request.get_ref().name)?;
        Ok(Response::new(webhook_to_proto(self.find(&caller, name, false).await?, false)))
    }

    async fn create_webhook(
        &self,
        request: Request<v1::CreateWebhookRequest>,
    ) -> Result<Response<v1::Webhook>, Status> {
        let caller = Caller::of(&request)?;
        let CreateWebhook { project, spec } = request.into_inner().try_into()?;
        self.shared.authorizer.change_settings(&caller, project).await?;
        self.check_url(&spec).await?;
        let now = time::now();
        let mut webhook = webhooks::Model {
            id: WebhookId::generate().to_string(),
            project_id: project.to_string(),
            url: String::new(),
            event_kinds: "[]".into(),
            secret: new_secret(),
            paused: false,
            pause_reason: String::new(),
            creator_id: caller.user.to_string(),
            feed_cursor: 0,
            delivery_seq: 0,
            create_time: now,
            update_time: now,
            version: 1,
        };
        apply(&mut webhook, spec);
        let webhook = self.shared.webhooks.insert(webhook).await.map_err(ServiceError::from)?;
        Ok(Response::new(webhook_to_proto(webhook, true)))
    }

    async fn update_webhook(
        &self,
        request: Request<v1::UpdateWebhookRequest>,
    ) -> Result<Response<v1::Webhook>, Status> {
        let caller = Caller::of(&request)?;
        let UpdateWebhook { name, etag, spec } = request.into_inner().try_into()?;
        let mut webhook = self.find(&caller, name, true).await?;
        check_etag(&etag, webhook.version, "webhook")?;
        self.check_url(&spec).await?;
        let read_version = webhook.version;
        let resumed = apply(&mut webhook, spec);
        webhook.update_time = time::now();
        let webhook = self.shared.webhooks.update(webhook, read_version, resumed).await.map_err(ServiceError::from)?;
        Ok(Response::new(webhook_to_proto(webhook, false)))
    }

    async fn delete_webhook(
        &self,
        request: Request<v1::DeleteWebhookRequest>,
    ) -> Result<Response<v1::DeleteWebhookResponse>, Status> {
        let caller = Caller::of(&request)?;
        let v1::DeleteWebhookRequest { name, etag } = request.into_inner();
        let name = WebhookName::parse("name", &name)?;
        let webhook = self.find(&caller, name, true).await?;
        check_etag(&etag, webhook.version, "webhook")?;
        self.shared.webhooks.delete(&webhook.id, webhook.version).await.map_err(ServiceError::from)?;
        Ok(Response::new(v1::DeleteWebhookResponse {}))
    }

    async fn rotate_webhook_secret(
        &self,
        request: Request<v1::RotateWebhookSecretRequest>,
    ) -> Result<Response<v1::Webhook>, Status> {
        let caller = Caller::of(&request)?;
        let name = WebhookName::parse("name", &request.get_ref().name)?;
        let mut webhook = self.find(&caller, name, true).await?;
        let read_version = webhook.version;
        webhook.secret = new_secret();
        webhook.update_time = time::now();
        let webhook = self.shared.webhooks.update(webhook, read_version, false).await.map_err(ServiceError::from)?;
        Ok(Response::new(webhook_to_proto(webhook, true)))
    }

    async fn list_webhook_deliveries(
        &self,
        request: Request<v1::ListWebhookDeliveriesRequest>,
    ) -> Result<Response<v1::ListWebhookDeliveriesResponse>, Status> {
        let caller = Caller::of(&request)?;
        let ListDeliveries { webhook: name, page } = request.into_inner().try_into()?;
        let webhook = self.find(&caller, name, false).await?;
        let before = match page.after_id() {
            Some(number) => Some(
                number
                    .parse::<i64>()
                    .map_err(|_| ServiceError::invalid("page_token", "is not a token this list issued"))?,
            ),
            None => None,
        };
        let mut deliveries =
            self.shared.webhooks.deliveries(&webhook.id, before, page.fetch()).await.map_err(ServiceError::from)?;
        let next_page_token = page.finish(&mut deliveries, |delivery| (None, delivery.number.to_string()));
        let deliveries = deliveries.into_iter().map(|delivery| delivery_to_proto(name, delivery)).collect();
        Ok(Response::new(v1::ListWebhookDeliveriesResponse { deliveries, next_page_token }))
    }

    async fn redeliver_webhook(
        &self,
        request: Request<v1::RedeliverWebhookRequest>,
    ) -> Result<Response<v1::WebhookDelivery>, Status> {
        let caller = Caller::of(&request)?;
        let name = commands::redeliver(request.get_ref())?;
        let webhook = self.find(&caller, name.webhook, true).await?;
        let original = self
            .shared
            .webhooks
            .delivery(&webhook.id, &name.delivery.to_string())
            .await
            .map_err(ServiceError::from)?
            .ok_or(ServiceError::NotFound("webhook delivery"))?;
        let delivery = self.shared.webhooks.redeliver(&original, time::now()).await.map_err(ServiceError::from)?;
        Ok(Response::new(delivery_to_proto(name.webhook, delivery)))
    }

    async fn replay_webhook(
        &self,
        request: Request<v1::ReplayWebhookRequest>,
    ) -> Result<Response<v1::ReplayWebhookResponse>, Status> {
        let caller = Caller::of(&request)?;
        let Replay { name, after } = request.into_inner().try_into()?;
        let webhook = self.find(&caller, name, true).await?;
        let (queued, cursor) =
            self.shared.webhooks.replay(&webhook, after, time::now()).await.map_err(ServiceError::from)?;
        Ok(Response::new(v1::ReplayWebhookResponse {
            queued: i32::try_from(queued).unwrap_or(i32::MAX),
            cursor: cursor.to_string(),
        }))
    }
}
