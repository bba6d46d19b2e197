//! Email notifications: the SMTP settings ([`Mailer`]) and the background
//! sender that works through the outbox ([`spawn_sender`]).
//!
//! Each pass claims the outbox rows that are due
//! ([`crate::storage::email`]), reads each user's preferences, and then per
//! user: drops the kinds they turned off, sends one email per immediate
//! notification, and once the oldest digest notification has waited a
//! digest period, sends everything on the digest in one email. A transient
//! SMTP failure is retried with exponential backoff; a permanent refusal,
//! or the tenth failure, ends the row as failed (kept, with its error, for
//! the operator). Invitations to a project are mailed the same way from an
//! outbox of their own (`invitation_emails`), written with the invitation.
//! With no SMTP configured nothing is queued or sent.

pub mod compose;
pub mod unsubscribe;

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use anyhow::Context;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor, message::Mailbox};
use sea_orm::DbErr;
use secrecy::ExposeSecret;
use tokio_util::sync::CancellationToken;

use self::compose::Letterhead;
use crate::{
    config::Settings,
    domain::time::{self, Micros},
    services::SharedState,
    storage::{
        email::{Claimed, EmailDelivery, MailItem, OutboxState, Recipient},
        notifications::NotificationKind,
    },
};

/// Rows one pass claims at most; a full pass goes on at once.
const BATCH: u64 = 100;
/// Notifications one digest email holds at most; more wait for the next.
const DIGEST_ITEMS: u64 = 200;
/// How long a claim lasts: a sender that dies mid-pass leaves its rows to
/// another after this.
const LEASE: Micros = time::seconds(120);
/// Attempts before a mail is given up.
pub const MAX_ATTEMPTS: i32 = 10;
/// The longest wait between attempts.
const MAX_BACKOFF: Micros = time::seconds(6 * 3_600);
/// How long one SMTP exchange may take.
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);
/// Finished outbox rows are kept this long (for the operator), then pruned.
pub const FINISHED_RETENTION: Micros = time::seconds(30 * time::DAY);

/// How the server sends email: present only when SMTP is configured.
#[derive(Clone)]
pub struct Mailer {
    transport: Arc<AsyncSmtpTransport<Tokio1Executor>>,
    from: Mailbox,
    public_url: String,
    digest_period: Micros,
    interval: Duration,
    retry_delay: Micros,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The transport holds the SMTP credentials: never printed.
        formatter
            .debug_struct("Mailer")
            .field("from", &self.from.to_string())
            .field("public_url", &self.public_url)
            .finish_non_exhaustive()
    }
}

fn micros(duration: Duration) -> Micros {
    i64::try_from(duration.as_micros()).unwrap_or(i64::MAX)
}

impl Mailer {
    /// The mailer `settings` describe; `None` without an SMTP URL. An SMTP
    /// URL without a sender or a public URL is a configuration error.
    pub fn from_settings(settings: &Settings) -> anyhow::Result<Option<Self>> {
        let Some(url) = &settings.smtp_url else { return Ok(None) };
        let from = settings.email_from.as_deref().filter(|from| !from.is_empty());
        let from = from.context("TASKTRACKER_EMAIL_FROM is required with TASKTRACKER_SMTP_URL")?;
        let from: Mailbox =
            from.parse().with_context(|| format!("TASKTRACKER_EMAIL_FROM `{from}` is not an email address"))?;
        let public_url = settings.public_url.as_deref().filter(|url| !url.is_empty());
        let public_url = public_url.context("TASKTRACKER_PUBLIC_URL is required with TASKTRACKER_SMTP_URL")?;
        anyhow::ensure!(
            public_url.starts_with("https://") || public_url.starts_with("http://"),
            "TASKTRACKER_PUBLIC_URL must start with https:// (or http://)"
        );
        // The error would echo the URL, credentials included: not shown.
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose_secret())
            .map_err(|_| anyhow::anyhow!("TASKTRACKER_SMTP_URL is not a valid smtp:// or smtps:// URL"))?
            .timeout(Some(SMTP_TIMEOUT))
            .build();
        let transport = Arc::new(transport);
        Ok(Some(Self {
            transport,
            from,
            public_url: public_url.trim_end_matches('/').to_owned(),
            digest_period: micros(settings.email_digest_period).max(1),
            interval: settings.email_interval,
            retry_delay: micros(settings.email_retry_delay).max(1),
        }))
    }

    /// When to try again after the `attempts`-th failure.
    fn next_attempt(&self, attempts: i32, now: Micros) -> Micros {
        let doublings = u32::try_from(attempts.saturating_sub(1)).unwrap_or(0).min(30);
        now + self.retry_delay.saturating_mul(1 << doublings).min(MAX_BACKOFF)
    }
}

/// Sends the outbox every `mailer.interval`; a pass that claims a full
/// batch goes on at once.
pub fn spawn_sender(shared: SharedState, mailer: Mailer, stop: CancellationToken) {
    tokio::spawn(async move {
        loop {
            if stop.is_cancelled() {
                return;
            }
            let now = time::now();
            let more = match pass(&shared, &mailer, now).await {
                Ok(claimed) => claimed as u64 == BATCH,
                Err(error) => {
                    tracing::warn!(%error, "sending email failed");
                    false
                }
            };
            match shared.email.backlog(time::now()).await {
                Ok(backlog) => {
                    shared.metrics.email_outbox_backlog.set(backlog.due);
                    let waited = backlog.oldest_due_time.map_or(0, |oldest| (time::now() - oldest).max(0));
                    shared.metrics.email_outbox_oldest_seconds.set(waited as f64 / 1e6);
                }
                Err(error) => tracing::warn!(%error, "reading the email outbox backlog failed"),
            }
            if more {
                continue;
            }
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(mailer.interval) => {}
            }
        }
    });
}

/// One pass; returns how many rows it claimed.
async fn pass(shared: &SharedState, mailer: &Mailer, now: Micros) -> Result<usize, DbErr> {
    let store = &shared.email;
    let claimed = store.claim_due(now, now + LEASE, BATCH).await?;
    let count = claimed.len();
    let mut by_user: BTreeMap<String, Vec<Claimed>> = BTreeMap::new();
    for row in claimed {
        by_user.entry(row.user.clone()).or_default().push(row);
    }
    for (user, rows) in by_user {
        send_user(shared, mailer, &user, rows, now).await?;
    }
    Ok(count.max(send_invitations(shared, mailer, now).await?))
}

/// Sends the invitation emails due; returns how many it claimed. An
/// invitation answered, revoked or expired before its turn is not mailed.
async fn send_invitations(shared: &SharedState, mailer: &Mailer, now: Micros) -> Result<usize, DbErr> {
    let store = &shared.email;
    let claimed = store.claim_invitations(now, now + LEASE, BATCH).await?;
    let deadline = now + LEASE - micros(SMTP_TIMEOUT);
    let letterhead = Letterhead { from: &mailer.from, public_url: &mailer.public_url, signer: &shared.unsubscribe };
    for mail in &claimed {
        if !mail.pending || mail.to.is_empty() {
            store.finish_invitation(&mail.invitation_id, OutboxState::Dropped, None, now).await?;
            continue;
        }
        if time::now() > deadline {
            // Past the lease: another sender may claim it; leave it to them.
            break;
        }
        let outcome = match mail.to.parse() {
            Ok(address) => send(mailer, compose::invitation(&letterhead, Mailbox::new(None, address), mail)).await,
            Err(_) => Err(Failure { permanent: true, error: "the invitee's address cannot be mailed".to_owned() }),
        };
        let attempts = mail.attempts + 1;
        match outcome {
            Ok(()) => {
                shared.metrics.email_sent("invitation");
                store.finish_invitation(&mail.invitation_id, OutboxState::Sent, None, time::now()).await?;
            }
            Err(Failure { permanent, error }) => {
                shared.metrics.email_failed("invitation");
                if permanent || attempts >= MAX_ATTEMPTS {
                    tracing::warn!(%error, attempts, "invitation email given up");
                    store.finish_invitation(&mail.invitation_id, OutboxState::Failed, Some(&error), now).await?;
                } else {
                    tracing::info!(%error, attempts, "invitation email failed; will retry");
                    store.retry_invitation(&mail.invitation_id, &error, mailer.next_attempt(attempts, now)).await?;
                }
            }
        }
    }
    Ok(claimed.len())
}

/// A failed send, as the outbox records it.
struct Failure {
    permanent: bool,
    error: String,
}

/// Sends one user's claimed rows.
async fn send_user(
    shared: &SharedState,
    mailer: &Mailer,
    user: &str,
    rows: Vec<Claimed>,
    now: Micros,
) -> Result<(), DbErr> {
    let store = &shared.email;
    let preferences = store.preferences(crate::domain::UserId::from_stored(user)).await?;
    let mut dropped = Vec::new();
    let mut immediate = Vec::new();
    let mut digest = Vec::new();
    for row in rows {
        match row.kind.map(|kind| preferences[&kind]) {
            None | Some(EmailDelivery::Off) => dropped.push(row.seq),
            Some(EmailDelivery::Immediate) => immediate.push(row),
            Some(EmailDelivery::Digest) => digest.push(row),
        }
    }
    store.finish(user, &dropped, OutboxState::Dropped, None, now).await?;
    if digest.iter().any(|row| row.create_time + mailer.digest_period <= now) {
        // The digest is due: it takes every digest notification waiting.
        let kinds: Vec<NotificationKind> = preferences
            .iter()
            .filter(|(_, delivery)| **delivery == EmailDelivery::Digest)
            .map(|(kind, _)| *kind)
            .collect();
        let room = DIGEST_ITEMS.saturating_sub(digest.len() as u64);
        digest.extend(store.claim_user_kinds(user, &kinds, now, now + LEASE, room).await?);
    } else {
        for row in digest.drain(..) {
            store.defer(user, &[row.seq], row.create_time + mailer.digest_period).await?;
        }
    }
    let seqs: Vec<i64> = immediate.iter().chain(&digest).map(|row| row.seq).collect();
    let (recipient, items) = store.mail_items(user, &seqs).await?;
    // Notifications of projects the user has left, or of a user gone: not mailed.
    let found: Vec<i64> = items.iter().map(|item| item.seq).collect();
    let gone: Vec<i64> = seqs.iter().copied().filter(|seq| recipient.is_none() || !found.contains(seq)).collect();
    store.finish(user, &gone, OutboxState::Dropped, None, now).await?;
    let Some(recipient) = recipient else { return Ok(()) };
    let letterhead = Letterhead { from: &mailer.from, public_url: &mailer.public_url, signer: &shared.unsubscribe };
    let attempts = |seqs: &[i64], rows: &[Claimed]| {
        rows.iter().filter(|row| seqs.contains(&row.seq)).map(|row| row.attempts).max().unwrap_or(0) + 1
    };
    // Past this, another sender may claim the rows (their lease ends): what
    // is left goes back to the outbox, claimable at once.
    let deadline = now + LEASE - micros(SMTP_TIMEOUT);
    let release = |rows: Vec<i64>| async move { store.defer(user, &rows, time::now()).await };
    for (index, row) in immediate.iter().enumerate() {
        if time::now() > deadline {
            let rest = immediate[index..].iter().chain(&digest).map(|row| row.seq);
            return release(rest.filter(|seq| found.contains(seq)).collect()).await;
        }
        let Some(item) = items.iter().find(|item| item.seq == row.seq) else { continue };
        let outcome = match to_mailbox(&recipient) {
            Ok(to) => send(mailer, compose::single(&letterhead, to, &recipient, item)).await,
            Err(failure) => Err(failure),
        };
        record(shared, mailer, user, &[row.seq], item.kind.label(), row.attempts + 1, outcome, now).await?;
    }
    let digest_items: Vec<MailItem> =
        items.iter().filter(|item| digest.iter().any(|row| row.seq == item.seq)).cloned().collect();
    if !digest_items.is_empty() {
        if time::now() > deadline {
            return release(digest_items.iter().map(|item| item.seq).collect()).await;
        }
        let seqs: Vec<i64> = digest_items.iter().map(|item| item.seq).collect();
        let outcome = match to_mailbox(&recipient) {
            Ok(to) => send(mailer, compose::digest(&letterhead, to, &recipient, &digest_items)).await,
            Err(failure) => Err(failure),
        };
        record(shared, mailer, user, &seqs, "digest", attempts(&seqs, &digest), outcome, now).await?;
    }
    Ok(())
}

fn to_mailbox(recipient: &Recipient) -> Result<Mailbox, Failure> {
    let address = recipient
        .email
        .parse()
        .map_err(|_| Failure { permanent: true, error: "the account's email address cannot be mailed".to_owned() })?;
    Ok(Mailbox::new(Some(recipient.display_name.clone()), address))
}

async fn send(mailer: &Mailer, message: Result<Message, lettre::error::Error>) -> Result<(), Failure> {
    let message =
        message.map_err(|error| Failure { permanent: true, error: format!("building the email: {error}") })?;
    mailer
        .transport
        .send(message)
        .await
        .map(|_| ())
        .map_err(|error| Failure { permanent: error.is_permanent(), error: error.to_string() })
}

/// Records a send's outcome on its rows and in the metrics.
#[allow(clippy::too_many_arguments, reason = "one call site per kind of email; a struct would only rename them")]
async fn record(
    shared: &SharedState,
    mailer: &Mailer,
    user: &str,
    seqs: &[i64],
    kind: &'static str,
    attempts: i32,
    outcome: Result<(), Failure>,
    now: Micros,
) -> Result<(), DbErr> {
    let store = &shared.email;
    match outcome {
        Ok(()) => {
            shared.metrics.email_sent(kind);
            store.finish(user, seqs, OutboxState::Sent, None, time::now()).await
        }
        Err(Failure { permanent, error }) => {
            shared.metrics.email_failed(kind);
            if permanent || attempts >= MAX_ATTEMPTS {
                tracing::warn!(%error, attempts, kind, "email given up");
                store.finish(user, seqs, OutboxState::Failed, Some(&error), now).await
            } else {
                tracing::info!(%error, attempts, kind, "email failed; will retry");
                store.retry(user, seqs, &error, mailer.next_attempt(attempts, now)).await
            }
        }
    }
}
