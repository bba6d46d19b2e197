//! What authentication must know beyond a token's signature, held in memory
//! on every replica so that authenticating a call takes no query.
//!
//! - **Sessions.** An access token is checked locally (signature, audience,
//!   expiry; its expiry never passes its session's). What it cannot tell is
//!   whether its session was revoked since it was issued. Each replica keeps
//!   the sessions revoked within [`SESSION_RETENTION`]: every access token
//!   issued before a revocation has expired by then, and none is issued
//!   after one (refreshing checks the session in the same statement). A
//!   session's first use on a replica reads its row once, so a token naming
//!   a session that never existed (forged with a leaked secret) is still
//!   refused; the replica then remembers it for [`SESSION_TTL`].
//! - **API tokens.** A token's row is read once and kept for [`TOKEN_TTL`]
//!   in a bounded cache; a revocation evicts it, and a row read while a
//!   revocation arrived is not kept (it may predate it).
//!
//! Every revocation is announced twice: to this replica at once, and on
//! PostgreSQL by a NOTIFY on [`NOTIFY_CHANNEL`] that commits with the
//! revocation itself, so that it reaches every other replica within
//! milliseconds or not at all (then the revocation did not happen either).
//! A replica's listener loads the set only after its LISTEN is in place, so
//! no revocation falls between the two. While the listener is not connected
//! the replica is not *live*: it asks the database for every call, as it
//! would without this module, so a revocation is never missed; only speed is
//! lost. SQLite is one process: loaded once at start, it stays live.
//!
//! - **Memberships.** Removing a member ends their open watch streams on
//!   that project. A removal is announced like a revocation: here at once,
//!   and on PostgreSQL by a trigger that sends `{project}:{user}` on
//!   [`MEMBERSHIP_CHANNEL`] as the membership row's deletion commits
//!   (migration `m20261217_000001_invitations`). The announcement only
//!   wakes the streams of that user on that project, which read their
//!   membership again (so a member removed and re-invited keeps watching);
//!   after the listener reconnects every stream checks once (announcements
//!   may have been missed meanwhile).

use std::{
    collections::HashMap,
    sync::{
        Arc, RwLock,
        atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering},
    },
    time::Duration,
};

use sea_orm::{
    DatabaseConnection, DbBackend,
    sqlx::postgres::{PgListener, PgNotification},
};
use tokio_util::sync::CancellationToken;

use tasktracker_migrations::{MEMBERSHIP_CHANNEL, REVOCATION_CHANNEL};

use super::tokens::ACCESS_TOKEN_LIFETIME;
use crate::{
    domain::{ApiTokenId, ProjectId, UserId, names::SessionId, time},
    metrics::{AuthLookup, Metrics},
    storage::{accounts::AccountStore, entities::api_tokens},
};

/// How long a revoked session stays in the set: an access token's lifetime,
/// plus a margin for a token signed just as its session was revoked.
pub const SESSION_RETENTION: time::Micros = ACCESS_TOKEN_LIFETIME + time::seconds(5 * 60);
/// How long an API token's row is trusted without reading it again.
pub const TOKEN_TTL: Duration = Duration::from_secs(30);
/// API tokens the cache holds at most.
const TOKEN_CAPACITY: u64 = 10_000;
/// How long a session seen to exist is remembered (its revocation is
/// checked on every call regardless).
pub const SESSION_TTL: Duration = Duration::from_secs(10 * 60);
/// Sessions remembered at most.
const SESSION_CAPACITY: u64 = 100_000;
/// How often revoked sessions older than [`SESSION_RETENTION`] are dropped.
const PRUNE_INTERVAL: Duration = Duration::from_secs(60);
/// Wait before the listener reconnects.
const RECONNECT_DELAY: Duration = Duration::from_millis(500);
/// Membership ends a slow stream may not have looked at yet; one further
/// behind checks its membership anyway.
const MEMBERSHIP_BACKLOG: usize = 1_024;

/// A membership that ended: `(project, user)`, or `None` for "maybe any"
/// (announcements may have been missed).
pub type MembershipEnd = Option<(ProjectId, UserId)>;

/// An API token's row as authentication last read it.
pub struct KnownToken {
    pub row: api_tokens::Model,
    /// When its use was last recorded (µs), kept here so a cached token's
    /// use is written once per resolution, not once per call.
    last_use: AtomicI64,
}

impl KnownToken {
    pub fn new(row: api_tokens::Model) -> Self {
        let last_use = AtomicI64::new(row.last_use_time.unwrap_or(i64::MIN));
        Self { row, last_use }
    }

    /// Whether a use at `now` should be written: the last one recorded is
    /// older than `resolution`. Only one caller gets `true` for each.
    pub fn mark_used(&self, now: i64, resolution: i64) -> bool {
        let last = self.last_use.load(Ordering::Relaxed);
        last < now.saturating_sub(resolution)
            && self.last_use.compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed).is_ok()
    }
}

/// What this replica knows of revocations. Cheap to clone.
#[derive(Clone)]
pub struct Revocations {
    inner: Arc<Inner>,
}

struct Inner {
    /// Revoked sessions and when they were revoked (µs).
    revoked: RwLock<HashMap<SessionId, i64>>,
    /// Sessions seen to exist, and their users.
    sessions: moka::sync::Cache<SessionId, UserId>,
    tokens: moka::sync::Cache<ApiTokenId, Arc<KnownToken>>,
    /// Counts announcements and reloads: a row read while it changed is
    /// not cached.
    epoch: AtomicU64,
    /// The set is complete and kept current (see the module docs).
    live: AtomicBool,
    /// Ticks whenever sessions may have been revoked (an announcement or a
    /// reload), so that open streams check theirs then, not on a timer.
    sessions_revoked: tokio::sync::watch::Sender<()>,
    /// Memberships that ended (here or on another replica).
    memberships_ended: tokio::sync::broadcast::Sender<MembershipEnd>,
    metrics: Arc<Metrics>,
}

impl Revocations {
    /// Not live until [`Revocations::follow`] has loaded the set.
    pub fn new(metrics: Arc<Metrics>) -> Self {
        let inner = Inner {
            revoked: RwLock::default(),
            sessions: moka::sync::Cache::builder().max_capacity(SESSION_CAPACITY).time_to_live(SESSION_TTL).build(),
            tokens: moka::sync::Cache::builder().max_capacity(TOKEN_CAPACITY).time_to_live(TOKEN_TTL).build(),
            epoch: AtomicU64::new(0),
            live: AtomicBool::new(false),
            sessions_revoked: tokio::sync::watch::Sender::new(()),
            memberships_ended: tokio::sync::broadcast::channel(MEMBERSHIP_BACKLOG).0,
            metrics,
        };
        Self { inner: Arc::new(inner) }
    }

    /// Taken before reading a credential from the database, and handed to
    /// `remember_*` after.
    pub fn epoch(&self) -> u64 {
        self.inner.epoch.load(Ordering::Acquire)
    }

    /// Whether something read at `epoch` may be cached: live, and nothing
    /// was announced or reloaded since.
    fn cacheable(&self, epoch: u64) -> bool {
        self.is_live() && self.epoch() == epoch
    }

    fn advance(&self) {
        self.inner.epoch.fetch_add(1, Ordering::AcqRel);
    }

    /// Whether the set can be trusted; when not, ask the database.
    pub fn is_live(&self) -> bool {
        self.inner.live.load(Ordering::Acquire)
    }

    /// Whether `session` was revoked. Only meaningful while live.
    pub fn session_revoked(&self, session: SessionId) -> bool {
        self.read_revoked().contains_key(&session)
    }

    /// The user of `session`, if it was seen to exist (and live).
    pub fn known_session(&self, session: SessionId) -> Option<UserId> {
        if !self.is_live() {
            return None;
        }
        self.inner.sessions.get(&session)
    }

    /// Remembers that `session` of `user`, read at `epoch`, exists.
    pub fn remember_session(&self, session: SessionId, user: UserId, epoch: u64) {
        if self.cacheable(epoch) {
            self.inner.sessions.insert(session, user);
        }
    }

    /// The cached row of API token `id`, while live.
    pub fn known_token(&self, id: ApiTokenId) -> Option<Arc<KnownToken>> {
        if !self.is_live() {
            return None;
        }
        let known = self.inner.tokens.get(&id);
        self.inner.metrics.auth_cache(if known.is_some() { "hit" } else { "miss" });
        known
    }

    /// Keeps API token `known`, read at `epoch`, for [`TOKEN_TTL`].
    pub fn remember_token(&self, id: ApiTokenId, known: Arc<KnownToken>, epoch: u64) {
        if self.cacheable(epoch) {
            self.inner.tokens.insert(id, known);
        }
    }

    /// Notes that the database was asked for a credential.
    pub fn looked_up(&self, lookup: AuthLookup) {
        self.inner.metrics.auth_database_lookup(lookup);
    }

    /// Session `id` was revoked at `time` (here or on another replica).
    pub fn revoke_session(&self, id: SessionId, time: i64) {
        self.advance();
        let mut revoked = self.write_revoked();
        revoked.insert(id, time);
        self.inner.sessions.invalidate(&id);
        self.inner.metrics.auth_revoked_sessions.set(gauge(revoked.len()));
        drop(revoked);
        self.inner.sessions_revoked.send_replace(());
    }

    /// Wakes whenever sessions may have been revoked: check
    /// [`Self::session_revoked`] then.
    pub fn session_revocations(&self) -> tokio::sync::watch::Receiver<()> {
        self.inner.sessions_revoked.subscribe()
    }

    /// `user`'s membership of `project` ended (here or on another replica):
    /// their streams on it check whether they may still read.
    pub fn end_membership(&self, project: ProjectId, user: UserId) {
        // No receivers is fine: no stream is open.
        let _ = self.inner.memberships_ended.send(Some((project, user)));
    }

    /// Membership ends, as they are announced.
    pub fn membership_ends(&self) -> tokio::sync::broadcast::Receiver<MembershipEnd> {
        self.inner.memberships_ended.subscribe()
    }

    /// Applies one announcement from [`MEMBERSHIP_CHANNEL`]
    /// (`{project}:{user}`); returns whether it was understood.
    pub fn apply_membership_end(&self, payload: &str) -> bool {
        let Some((project, user)) = payload.split_once(':') else {
            return false;
        };
        self.end_membership(ProjectId::from_stored(project), UserId::from_stored(user));
        true
    }

    /// API token `id` was revoked: it is read again on its next use.
    pub fn revoke_token(&self, id: ApiTokenId) {
        self.advance();
        self.inner.tokens.invalidate(&id);
    }

    /// Applies one announcement from [`REVOCATION_CHANNEL`]; returns whether it
    /// was understood.
    pub fn apply(&self, payload: &str) -> bool {
        match payload.split_once(':') {
            Some(("session", id)) => self.revoke_session(SessionId::from_stored(id), time::now()),
            Some(("token", id)) => self.revoke_token(ApiTokenId::from_stored(id)),
            _ => return false,
        }
        true
    }

    /// Replaces the set with `revoked` (as read from the database), forgets
    /// every cached token and becomes live.
    fn load(&self, revoked: Vec<(SessionId, i64)>) {
        self.advance();
        let mut set = self.write_revoked();
        *set = revoked.into_iter().collect();
        self.inner.sessions.invalidate_all();
        self.inner.tokens.invalidate_all();
        self.inner.metrics.auth_revoked_sessions.set(gauge(set.len()));
        drop(set);
        self.set_live(true);
        self.inner.sessions_revoked.send_replace(());
        let _ = self.inner.memberships_ended.send(None);
    }

    fn set_live(&self, live: bool) {
        self.inner.live.store(live, Ordering::Release);
        self.inner.metrics.auth_revocations_live.set(i64::from(live));
    }

    /// Drops sessions revoked before `before`.
    fn prune(&self, before: i64) {
        let mut revoked = self.write_revoked();
        revoked.retain(|_, time| *time >= before);
        self.inner.metrics.auth_revoked_sessions.set(gauge(revoked.len()));
    }

    /// Loads the set and keeps it current until `shutdown`: on PostgreSQL
    /// through LISTEN, reconnecting (and reloading) after a lost connection.
    pub fn follow(&self, db: &DatabaseConnection, accounts: AccountStore, shutdown: CancellationToken) {
        let revocations = self.clone();
        let postgres =
            (db.get_database_backend() == DbBackend::Postgres).then(|| db.get_postgres_connection_pool().clone());
        tokio::spawn(async move {
            let mut prune = tokio::time::interval(PRUNE_INTERVAL);
            loop {
                let followed = async {
                    let listener = match &postgres {
                        Some(pool) => {
                            let mut listener = PgListener::connect_with(pool).await?;
                            listener.listen_all([REVOCATION_CHANNEL, MEMBERSHIP_CHANNEL]).await?;
                            Some(listener)
                        }
                        None => None,
                    };
                    let revoked = accounts.sessions_revoked_since(time::now() - SESSION_RETENTION).await?;
                    revocations.load(revoked);
                    let mut listener = listener;
                    loop {
                        tokio::select! {
                            notification = next_notice(&mut listener) => {
                                let notification = notification?;
                                let understood = if notification.channel() == MEMBERSHIP_CHANNEL {
                                    revocations.apply_membership_end(notification.payload())
                                } else {
                                    revocations.apply(notification.payload())
                                };
                                if !understood {
                                    tracing::warn!(payload = notification.payload(), "unknown revocation notice");
                                }
                            }
                            _ = prune.tick() => revocations.prune(time::now() - SESSION_RETENTION),
                        }
                    }
                };
                let result: anyhow::Result<()> = tokio::select! {
                    () = shutdown.cancelled() => return,
                    result = followed => result,
                };
                revocations.set_live(false);
                if let Err(error) = result {
                    tracing::warn!(%error, "revocation listener lost; authenticating against the database until it is back");
                }
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(RECONNECT_DELAY) => {}
                }
            }
        });
    }

    fn read_revoked(&self) -> std::sync::RwLockReadGuard<'_, HashMap<SessionId, i64>> {
        self.inner.revoked.read().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write_revoked(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<SessionId, i64>> {
        self.inner.revoked.write().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The next announcement; never, without a listener (SQLite: every
/// revocation happens in this process).
async fn next_notice(listener: &mut Option<PgListener>) -> Result<PgNotification, sea_orm::sqlx::Error> {
    match listener {
        Some(listener) => listener.recv().await,
        None => std::future::pending().await,
    }
}

fn gauge(count: usize) -> i64 {
    i64::try_from(count).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token_row(last_use_time: Option<i64>) -> api_tokens::Model {
        api_tokens::Model {
            id: ApiTokenId::generate().to_string(),
            user_id: String::new(),
            display_name: "ci".into(),
            scope: 1,
            project_id: None,
            secret_hash: String::new(),
            create_time: 0,
            expire_time: i64::MAX,
            last_use_time,
            revoke_time: None,
        }
    }

    #[test]
    fn announcements_revoke_sessions_and_evict_tokens() {
        let revocations = Revocations::new(Metrics::new(5));
        revocations.load(Vec::new());
        let (session, token) = (SessionId::generate(), ApiTokenId::generate());
        let user = UserId::generate();
        revocations.remember_token(token, Arc::new(KnownToken::new(token_row(None))), revocations.epoch());
        revocations.remember_session(session, user, revocations.epoch());
        assert!(revocations.known_token(token).is_some());
        assert_eq!(revocations.known_session(session), Some(user));
        assert!(!revocations.session_revoked(session));

        assert!(revocations.apply(&format!("session:{session}")));
        assert!(revocations.apply(&format!("token:{token}")));
        assert!(revocations.session_revoked(session));
        assert_eq!(revocations.known_session(session), None);
        assert!(revocations.known_token(token).is_none(), "a revoked token is read again");
        assert!(!revocations.apply("something else"));
    }

    #[test]
    fn membership_ends_reach_subscribers_and_a_reload_wakes_every_stream() {
        let revocations = Revocations::new(Metrics::new(5));
        let mut ends = revocations.membership_ends();
        let (project, user) = (ProjectId::generate(), UserId::generate());
        assert!(revocations.apply_membership_end(&format!("{project}:{user}")));
        assert!(!revocations.apply_membership_end("garbage"));
        assert_eq!(ends.try_recv().unwrap(), Some((project, user)));
        revocations.load(Vec::new());
        assert_eq!(ends.try_recv().unwrap(), None, "after a reload, every stream checks");
    }

    #[test]
    fn a_row_read_while_a_revocation_arrived_is_not_kept() {
        let revocations = Revocations::new(Metrics::new(5));
        revocations.load(Vec::new());
        let token = ApiTokenId::generate();
        let before_the_read = revocations.epoch();
        // Revoked on another replica while this one read the (still valid) row.
        revocations.apply(&format!("token:{token}"));
        revocations.remember_token(token, Arc::new(KnownToken::new(token_row(None))), before_the_read);
        assert!(revocations.known_token(token).is_none(), "the row may predate the revocation");
        revocations.remember_token(token, Arc::new(KnownToken::new(token_row(None))), revocations.epoch());
        assert!(revocations.known_token(token).is_some());
    }

    #[test]
    fn nothing_is_trusted_until_loaded_and_a_reload_forgets_cached_tokens() {
        let revocations = Revocations::new(Metrics::new(5));
        let token = ApiTokenId::generate();
        revocations.remember_token(token, Arc::new(KnownToken::new(token_row(None))), revocations.epoch());
        assert!(!revocations.is_live());
        assert!(revocations.known_token(token).is_none(), "not live: no cache");

        let revoked = SessionId::generate();
        revocations.load(vec![(revoked, time::now())]);
        assert!(revocations.is_live() && revocations.session_revoked(revoked));
        revocations.remember_token(token, Arc::new(KnownToken::new(token_row(None))), revocations.epoch());
        revocations.load(Vec::new());
        assert!(!revocations.session_revoked(revoked), "the reload is the whole truth");
        assert!(revocations.known_token(token).is_none(), "a reload forgets cached tokens");
    }

    #[test]
    fn old_revocations_are_pruned() {
        let revocations = Revocations::new(Metrics::new(5));
        let (old, recent) = (SessionId::generate(), SessionId::generate());
        revocations.load(vec![(old, 10), (recent, 1_000)]);
        revocations.prune(500);
        assert!(!revocations.session_revoked(old));
        assert!(revocations.session_revoked(recent));
    }

    #[test]
    fn a_use_is_recorded_once_per_resolution() {
        let known = KnownToken::new(token_row(Some(1_000)));
        assert!(!known.mark_used(1_500, 1_000), "used recently");
        assert!(known.mark_used(2_500, 1_000));
        assert!(!known.mark_used(2_600, 1_000), "just recorded");
        assert!(KnownToken::new(token_row(None)).mark_used(0, 1_000), "never used");
    }
}
