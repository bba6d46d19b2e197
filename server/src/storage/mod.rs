//! The database: connection, migrations and the repositories services call.

//! One repository per aggregate; services call these and never SeaORM:
//! - [`accounts`]: users and their sessions;
//! - [`api_tokens`]: API tokens;
//! - [`two_factor`]: users' TOTP credentials and recovery codes;
//! - [`identities`]: OpenID Connect sign-ins and the identities linked to users;
//! - [`projects`]: projects and their members;
//! - [`invitations`]: invitations to projects;
//! - [`states`]: each project's workflow states (board columns);
//! - [`tasks`]: tasks with their assignees, labels and state, and board positions;
//! - [`relations`]: typed relations between tasks (blocks, duplicates, …);
//! - [`comments`]: comments and the task history (activity);
//! - [`events`]: each project's change feed (`task_events`);
//! - [`notifications`]: who follows which task, and each user's inbox;
//! - [`reminders`]: due-date reminder settings and the scheduler's pass;
//! - [`email`]: email preferences and the email outbox;
//! - [`views`]: saved views, shared and personal;
//! - [`webhooks`]: webhooks and their delivery outbox;
//! - [`imports`]: import operations (the imported tasks are [`tasks`]');
//! - [`exports`]: a whole project read for an export;
//! - [`attachments`]: files attached to tasks (their bytes are in an object store).
//!
//! Each has its own error type. None builds API messages: they take and
//! return domain values and the rows of [`entities`].

pub mod accounts;
pub mod api_tokens;
pub mod attachments;
pub mod comments;
pub mod email;
pub mod entities;
pub mod events;
pub mod exports;
pub mod fields;
pub mod identities;
pub mod imports;
pub mod invitations;
pub mod notifications;
pub mod projects;
pub mod relations;
pub mod reminders;
pub mod states;
pub mod tasks;
pub mod two_factor;
pub mod views;
pub mod webhooks;

#[cfg(test)]
mod field_races;
#[cfg(test)]
mod round_trips;

use std::time::Duration;

use anyhow::Context;
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement};

use sea_orm_migration::MigratorTrait;
use secrecy::{ExposeSecret, SecretString};
use tasktracker_migrations::Migrator;

/// Placeholders `$1, $2, …` or `?` for `backend`.
fn placeholders<const N: usize>(backend: DbBackend) -> [String; N] {
    std::array::from_fn(|index| if backend == DbBackend::Postgres { format!("${}", index + 1) } else { "?".into() })
}

/// Arbitrary constant naming the migration lock (`pg_advisory_lock`).
const MIGRATION_LOCK: i64 = 0x0074_6173_6b74_726b;

/// How long a call waits for a pooled connection. Past it the server is
/// either saturated or cut off from the database; both answer UNAVAILABLE,
/// and a client retrying elsewhere does better than one queueing here. It is
/// also how long a call can hang in the second or two before the health probe
/// notices an outage and calls start failing at once.
const ACQUIRE_TIMEOUT: Duration = Duration::from_millis(750);
/// Pooled connections idle this long are pinged before use; the others are
/// trusted, saving a round trip per statement. A connection
/// that broke meanwhile fails its statement with UNAVAILABLE instead.
const PING_IF_IDLE_FOR: Duration = Duration::from_secs(30);

/// Opens a pool on `url` (`postgres://…` or `sqlite://…`). On PostgreSQL,
/// `statement_timeout` bounds every statement: a backstop for queries whose
/// caller's deadline has passed (dropping the call does not cancel a running
/// query), `None` for no bound (migrations).
pub async fn connect(
    url: &SecretString,
    max_connections: u32,
    statement_timeout: Option<Duration>,
) -> anyhow::Result<DatabaseConnection> {
    let url = url.expose_secret();
    let sqlite = url.starts_with("sqlite:");
    let mut options = ConnectOptions::new(url.to_owned());
    options
        // SQLite allows one writer: a single connection avoids SQLITE_BUSY
        // when two transactions upgrade from read to write at once.
        .max_connections(if sqlite { 1 } else { max_connections })
        .min_connections(if sqlite { 1 } else { 2 })
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .test_before_acquire_if_idle_for(PING_IF_IDLE_FOR)
        // Long-lived connections keep their prepared statements.
        .idle_timeout(Duration::from_secs(600))
        .max_lifetime(Duration::from_secs(3_600))
        .sqlx_logging(false);
    let statement_timeout = format!("{}ms", statement_timeout.map_or(0, |timeout| timeout.as_millis()));
    options
        .map_sqlx_postgres_opts(move |postgres| postgres.options([("statement_timeout", statement_timeout.as_str())]))
        .map_sqlx_sqlite_opts(|sqlite| {
            use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
            sqlite
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(5))
                .create_if_missing(true)
        });
    let db = Database::connect(options).await.context("cannot connect to the database")?;
    Ok(db)
}

/// Applies pending migrations. On PostgreSQL an advisory lock makes
/// processes that start together take turns instead of racing.
pub async fn migrate(url: &SecretString) -> anyhow::Result<()> {
    // One connection, so the session-level lock covers every statement.
    // No statement timeout: building an index on a big table takes a while.
    let db = connect(url, 1, None).await?;
    let postgres = db.get_database_backend() == DbBackend::Postgres;
    if postgres {
        db.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_advisory_lock($1)",
            [MIGRATION_LOCK.into()],
        ))
        .await
        .context("cannot take the migration lock")?;
    }
    let result = Migrator::up(&db, None).await.context("migration failed");
    if postgres {
        db.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_advisory_unlock($1)",
            [MIGRATION_LOCK.into()],
        ))
        .await?;
    }
    db.close().await?;
    result
}
