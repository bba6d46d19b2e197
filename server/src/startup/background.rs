//! Background tasks of a running server: the health probe that follows the
//! database, the reminder scheduler, and the pruner of old feed events,
//! delivered webhook deliveries, finished email outbox rows and
//! long-deleted tasks. (The email sender is [`crate::email::spawn_sender`].)

use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tonic_health::{ServingStatus, server::HealthReporter};

use crate::{domain::time, services::SharedState, storage::tasks::DELETED_RETENTION};

/// How often the health probe asks the database while it answers.
const HEALTH_PROBE_INTERVAL: Duration = Duration::from_secs(2);
/// How often it asks while it does not, so serving resumes quickly.
const HEALTH_RETRY_INTERVAL: Duration = Duration::from_millis(250);
/// How long a probe's ping may take before the database counts as down.
const HEALTH_PING_TIMEOUT: Duration = Duration::from_secs(1);
/// Services whose health follows the database.
pub(super) const SERVICES: &[&str] = &[
    "tasktracker.v1.AccountService",
    "tasktracker.v1.CustomFieldService",
    "tasktracker.v1.ProjectService",
    "tasktracker.v1.TaskService",
    "tasktracker.v1.WorkflowStateService",
    "tasktracker.v1.TaskRelationService",
    "tasktracker.v1.SavedViewService",
    "tasktracker.v1.NotificationService",
    "tasktracker.v1.WebhookService",
    "tasktracker.v1.AttachmentService",
];

/// Sets every service's health to `status`.
pub(super) async fn set_health(health: &HealthReporter, status: ServingStatus) {
    health.set_service_status("", status).await;
    for service in SERVICES {
        health.set_service_status(*service, status).await;
    }
}

/// Reports SERVING only while the database answers; samples how long a
/// pooled connection takes to get.
pub(super) fn spawn_health_probe(shared: SharedState, health: HealthReporter, stop: CancellationToken) {
    tokio::spawn(async move {
        let mut last = None;
        loop {
            let started = std::time::Instant::now();
            let up = matches!(tokio::time::timeout(HEALTH_PING_TIMEOUT, shared.db.ping()).await, Ok(Ok(())));
            if up {
                shared.metrics.pool_acquire_duration.observe(started.elapsed().as_secs_f64());
            }
            shared.metrics.database_up.set(i64::from(up));
            shared.database.set(up);
            if stop.is_cancelled() {
                return;
            }
            if last != Some(up) {
                let status = if up { ServingStatus::Serving } else { ServingStatus::NotServing };
                if !up {
                    tracing::warn!("database unreachable: health NOT_SERVING");
                }
                set_health(&health, status).await;
                last = Some(up);
            }
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(if up { HEALTH_PROBE_INTERVAL } else { HEALTH_RETRY_INTERVAL }) => {}
            }
        }
    });
}

/// Reminders one pass sends at most; the next pass continues.
const REMINDER_BATCH: u64 = 500;

/// Sends due-date reminders every `interval` (see
/// [`crate::storage::reminders`]); a pass that finds a full batch goes on at
/// once.
pub(super) fn spawn_reminders(shared: SharedState, interval: Duration, stop: CancellationToken) {
    tokio::spawn(async move {
        loop {
            if stop.is_cancelled() {
                return;
            }
            let pass = shared.reminders.send_due(time::now(), REMINDER_BATCH).await;
            let more = match pass {
                Ok(pass) if pass.skipped => {
                    shared.metrics.reminder_pass("skipped", None);
                    false
                }
                Ok(pass) => {
                    shared.metrics.reminder_pass("ok", pass.delay);
                    if pass.sent > 0 {
                        tracing::info!(sent = pass.sent, "sent due-date reminders");
                    }
                    // Reminders and "due date reached" each take up to a batch.
                    pass.sent as u64 >= REMINDER_BATCH
                }
                Err(error) => {
                    shared.metrics.reminder_pass("error", None);
                    tracing::warn!(%error, "sending due-date reminders failed");
                    false
                }
            };
            if more {
                continue;
            }
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(interval) => {}
            }
        }
    });
}

/// Prunes old feed events and lapsed OpenID Connect sign-ins, and purges
/// tasks deleted long ago, hourly.
pub(super) fn spawn_pruner(shared: SharedState, retention: Duration, stop: CancellationToken) {
    tokio::spawn(async move {
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(Duration::from_secs(60)) => {}
            }
            let now = time::now();
            let events_before = now - i64::try_from(retention.as_micros()).unwrap_or(i64::MAX);
            match shared.events.prune(events_before).await {
                Ok(0) => {}
                Ok(events) => tracing::info!(events, "pruned feed events"),
                Err(error) => tracing::warn!(%error, "pruning feed events failed"),
            }
            match shared.webhooks.prune(events_before).await {
                Ok(0) => {}
                Ok(deliveries) => tracing::info!(deliveries, "pruned delivered webhook deliveries"),
                Err(error) => tracing::warn!(%error, "pruning webhook deliveries failed"),
            }
            match shared.email.prune(now - crate::email::FINISHED_RETENTION).await {
                Ok(0) => {}
                Ok(emails) => tracing::info!(emails, "pruned finished email outbox rows"),
                Err(error) => tracing::warn!(%error, "pruning the email outbox failed"),
            }
            match shared.identities.prune_logins(now).await {
                Ok(0) => {}
                Ok(logins) => tracing::info!(logins, "pruned lapsed OpenID Connect sign-ins"),
                Err(error) => tracing::warn!(%error, "pruning OpenID Connect sign-ins failed"),
            }
            // Before the tasks: their attachments' rows go with them, and
            // the rows say which objects to delete.
            match purge_attachments(&shared, now).await {
                Ok(0) => {}
                Ok(attachments) => tracing::info!(attachments, "purged lapsed and deleted attachments"),
                Err(error) => tracing::warn!(%error, "purging attachments failed"),
            }
            match shared.tasks.purge_deleted(now - DELETED_RETENTION).await {
                Ok(0) => {}
                Ok(tasks) => tracing::info!(tasks, "purged deleted tasks"),
                Err(error) => tracing::warn!(%error, "purging deleted tasks failed"),
            }
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(Duration::from_secs(3_600)) => {}
            }
        }
    });
}

/// Attachments one purge pass handles per statement.
const ATTACHMENT_PURGE_BATCH: u64 = 500;
/// Batches one purge pass handles at most; the next pass continues.
const ATTACHMENT_PURGE_BATCHES: usize = 20;

/// Deletes the objects, then the rows, of uploads never confirmed in time
/// and of attachments deleted (or whose tasks were deleted) longer ago than
/// deleted tasks are kept. A row whose object could not be deleted stays,
/// and is tried again at the next pass.
pub(crate) async fn purge_attachments(shared: &SharedState, now: time::Micros) -> anyhow::Result<u64> {
    let mut purged = 0;
    for _ in 0..ATTACHMENT_PURGE_BATCHES {
        let batch = shared.attachments.purgeable(now, now - DELETED_RETENTION, ATTACHMENT_PURGE_BATCH).await?;
        let full = batch.len() as u64 == ATTACHMENT_PURGE_BATCH;
        let mut gone = Vec::with_capacity(batch.len());
        for attachment in batch {
            let keys = [
                crate::attachments::upload_key(&attachment.object_key),
                crate::attachments::stored_key(&attachment.object_key),
            ];
            let mut deleted = true;
            for key in keys {
                if let Err(error) = shared.object_store.delete(&key).await {
                    tracing::warn!(%error, key, "deleting an attachment's object failed");
                    deleted = false;
                }
            }
            if deleted {
                gone.push(attachment.id);
            }
        }
        let stuck = gone.is_empty();
        purged += shared.attachments.remove(gone).await?;
        if !full || stuck {
            break;
        }
    }
    Ok(purged)
}
