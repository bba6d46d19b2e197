//! Test support shared by every harness: the server integration tests
//! (`server/tests/api`), the drills and the benchmark (`bench/`) and the
//! browser tests (`web/e2e`, through the `tasktracker-testkit` binary).
//!
//! - [`admin_url`]: the one PostgreSQL server tests create databases on,
//!   `TEST_DATABASE_URL` (default [`DEFAULT_ADMIN_URL`]).
//! - [`PostgresDatabase::create`]: a database for one test, a copy
//!   (`CREATE DATABASE … TEMPLATE`) of a template migrated once per
//!   migrations hash ([`ensure_template`]), dropped when it drops.
//! - [`sqlite_database`]: the same for SQLite, a copy of a migrated file.
//! - [`server_binary`]: the real `tasktracker-server`, built once;
//!   [`TestServer`]: that binary running on a fresh database.
//! - [`scrape_metrics`], [`sample`]: its Prometheus metrics.
//!
//! Templates are named `tasktracker_tpl_{hash}`, `hash` covering every file
//! of the migrations crate (`tasktracker_migrations::SOURCE_HASH`) and
//! [`TEMPLATE_VERSION`]. Processes that need one at the same time take turns
//! under an advisory lock; the first migrates it and marks it ready with a
//! comment listing the migrations applied, the others reuse it only if that
//! list is theirs.
//! Templates of other hashes are dropped on the way; [`drop_templates`] (the
//! `drop-templates` command, test.sh's exit trap) drops the current one too.

mod metrics;
mod server;

pub use metrics::{sample, scrape_metrics};
pub use server::TestServer;

use std::{
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::Duration,
};

use anyhow::{Context, bail};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement};
use sea_orm_migration::MigratorTrait;
use tasktracker_migrations::Migrator;

/// Where test databases are created when `TEST_DATABASE_URL` is unset.
pub const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// Bumped when the way templates are made changes (not the migrations:
/// those are hashed).
pub const TEMPLATE_VERSION: u32 = 1;

/// Prefix of every template database and file.
pub const TEMPLATE_PREFIX: &str = "tasktracker_tpl_";

/// The comment marking a template fully migrated with this build's
/// migrations: a template of the same name made by another build (a stale
/// hash) is not taken for ours.
fn ready_comment() -> String {
    let names: Vec<String> = Migrator::migrations().iter().map(|migration| migration.name().to_owned()).collect();
    format!("tasktracker-testkit template: migrated {}", names.join(" "))
}

/// Arbitrary constant naming the template lock (`pg_advisory_lock`); not the
/// server's migration lock.
const TEMPLATE_LOCK: i64 = 0x0074_6b69_7474_706c;

/// The PostgreSQL server (its maintenance database) tests create their
/// databases on: `TEST_DATABASE_URL`, else [`DEFAULT_ADMIN_URL`].
pub fn admin_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|url| !url.is_empty())
        .unwrap_or_else(|| DEFAULT_ADMIN_URL.to_owned())
}

/// `url` with its database name replaced by `name` (any query kept).
pub fn with_database(url: &str, name: &str) -> String {
    let (server, rest) = url.rsplit_once('/').unwrap_or((url, ""));
    let query = rest.split_once('?').map(|(_, query)| format!("?{query}")).unwrap_or_default();
    format!("{server}/{name}{query}")
}

/// The migrations' content hash and the template version, as one name part.
pub fn template_key() -> String {
    format!("{}v{TEMPLATE_VERSION}", tasktracker_migrations::SOURCE_HASH)
}

/// Name of the PostgreSQL template for the current migrations.
pub fn template_name() -> String {
    format!("{TEMPLATE_PREFIX}{}", template_key())
}

/// One connection to `url`: session state (the advisory lock) holds for
/// every statement.
async fn connect_one(url: &str) -> anyhow::Result<DatabaseConnection> {
    let mut options = ConnectOptions::new(url.to_owned());
    options.max_connections(1).min_connections(0).connect_timeout(Duration::from_secs(10)).sqlx_logging(false);
    Database::connect(options).await.with_context(|| "cannot connect to PostgreSQL (TEST_DATABASE_URL)")
}

async fn names_like(admin: &DatabaseConnection, pattern: &str) -> anyhow::Result<Vec<String>> {
    let rows = admin
        .query_all_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT datname FROM pg_database WHERE datname LIKE $1 ORDER BY datname",
            [pattern.into()],
        ))
        .await?;
    Ok(rows.iter().filter_map(|row| row.try_get::<String>("", "datname").ok()).collect())
}

async fn is_ready(admin: &DatabaseConnection, name: &str) -> anyhow::Result<bool> {
    let row = admin
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT coalesce(shobj_description(oid, 'pg_database'), '') AS comment FROM pg_database WHERE datname = $1",
            [name.into()],
        ))
        .await?;
    Ok(row.and_then(|row| row.try_get::<String>("", "comment").ok()).is_some_and(|comment| comment == ready_comment()))
}

/// Makes sure the template for the current migrations exists and is
/// migrated, on the server `admin` points at; returns its name. Cheap when
/// it does (one connection, two queries).
pub async fn ensure_template(admin: &str) -> anyhow::Result<String> {
    let name = template_name();
    let connection = connect_one(admin).await?;
    connection
        .execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_advisory_lock($1)",
            [TEMPLATE_LOCK.into()],
        ))
        .await
        .context("cannot take the template lock")?;
    let result = ensure_template_locked(&connection, admin, &name).await;
    let _ = connection
        .execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_advisory_unlock($1)",
            [TEMPLATE_LOCK.into()],
        ))
        .await;
    connection.close().await.ok();
    result.map(|()| name)
}

async fn ensure_template_locked(connection: &DatabaseConnection, admin: &str, name: &str) -> anyhow::Result<()> {
    if is_ready(connection, name).await? {
        return Ok(());
    }
    // Older templates (other migrations) and a half-made one of ours.
    for old in names_like(connection, &format!("{TEMPLATE_PREFIX}%")).await? {
        if let Err(error) = connection.execute_unprepared(&format!("DROP DATABASE IF EXISTS {old} WITH (FORCE)")).await
        {
            eprintln!("warning: could not drop template {old}: {error}");
        }
    }
    connection.execute_unprepared(&format!("CREATE DATABASE {name}")).await.context("cannot create the template")?;
    let template = connect_one(&with_database(admin, name)).await?;
    let migrated = Migrator::up(&template, None).await.context("migrating the template failed");
    // Nobody may stay connected to a template: CREATE DATABASE … TEMPLATE
    // refuses to copy one in use.
    template.close().await.ok();
    migrated?;
    connection.execute_unprepared(&format!("COMMENT ON DATABASE {name} IS '{}'", ready_comment())).await?;
    Ok(())
}

/// Drops every template database (on `admin`) and file this kit made, of
/// any migrations hash; returns what it dropped.
pub async fn drop_templates(admin: &str) -> anyhow::Result<Vec<String>> {
    let connection = connect_one(admin).await?;
    let mut dropped = vec![];
    for name in names_like(&connection, &format!("{TEMPLATE_PREFIX}%")).await? {
        connection.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await?;
        dropped.push(name);
    }
    connection.close().await.ok();
    for entry in std::fs::read_dir(std::env::temp_dir())?.flatten() {
        let file = entry.file_name();
        if file.to_string_lossy().starts_with(TEMPLATE_PREFIX) {
            std::fs::remove_file(entry.path()).ok();
            dropped.push(entry.path().display().to_string());
        }
    }
    Ok(dropped)
}

/// Whether `error` is PostgreSQL refusing to copy a template someone is
/// connected to (a template being migrated, or a stray session).
fn source_busy(error: &sea_orm::DbErr) -> bool {
    error.to_string().contains("is being accessed by other users")
}

/// A PostgreSQL database that exists for one test (or run) and is dropped
/// when this drops.
pub struct PostgresDatabase {
    /// Connection URL of the database.
    pub url: String,
    admin: String,
    name: Option<String>,
}

impl PostgresDatabase {
    /// Creates `{prefix}_{uuid}` on `admin`'s server, migrated: a copy of
    /// the current template (made first if need be).
    pub async fn create(admin: &str, prefix: &str) -> anyhow::Result<Self> {
        let mut template = ensure_template(admin).await?;
        let name = format!("{prefix}_{}", uuid::Uuid::now_v7().simple());
        let connection = connect_one(admin).await?;
        let mut attempt = 0;
        let result = loop {
            attempt += 1;
            match connection.execute_unprepared(&format!("CREATE DATABASE {name} TEMPLATE {template}")).await {
                Ok(_) => break Ok(()),
                // Someone is connected to it: brief, retry (up to ~10 s).
                Err(error) if source_busy(&error) && attempt < 100 => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                // Another run dropped it (other migrations): make it again, once.
                Err(error) if error.to_string().contains("does not exist") && attempt < 3 => {
                    template = ensure_template(admin).await?;
                }
                Err(error) => break Err(error),
            }
        };
        connection.close().await.ok();
        result.with_context(|| format!("cannot create database {name} from template {template}"))?;
        Ok(Self { url: with_database(admin, &name), admin: admin.to_owned(), name: Some(name) })
    }

    /// Creates `{prefix}_{uuid}` on `admin`'s server, empty (no
    /// migrations): for tests of migrating itself, or of restoring a dump.
    pub async fn create_empty(admin: &str, prefix: &str) -> anyhow::Result<Self> {
        let name = format!("{prefix}_{}", uuid::Uuid::now_v7().simple());
        let connection = connect_one(admin).await?;
        let created = connection.execute_unprepared(&format!("CREATE DATABASE {name}")).await;
        connection.close().await.ok();
        created.with_context(|| format!("cannot create database {name}"))?;
        Ok(Self { url: with_database(admin, &name), admin: admin.to_owned(), name: Some(name) })
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        self.name.as_deref().unwrap_or_default()
    }

    /// Leaves the database in place when dropped (the e2e harness drops it
    /// later with `drop-db`).
    pub fn keep(mut self) {
        self.name = None;
    }

    /// Drops the database now (connections still open are terminated).
    pub async fn drop_now(mut self) -> anyhow::Result<()> {
        if let Some(name) = self.name.take() {
            drop_database(&self.admin, &name).await?;
        }
        Ok(())
    }
}

impl Drop for PostgresDatabase {
    fn drop(&mut self) {
        let Some(name) = self.name.take() else { return };
        let admin = self.admin.clone();
        // Drop may run inside or outside a runtime: use a thread of its own.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            if let Err(error) = runtime.block_on(drop_database(&admin, &name)) {
                eprintln!("warning: could not drop database {name}: {error:#}");
            }
        })
        .join();
    }
}

/// Drops database `name` on `admin`'s server (its connections terminated).
pub async fn drop_database(admin: &str, name: &str) -> anyhow::Result<()> {
    anyhow::ensure!(
        !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
        "not a test database name: {name:?}"
    );
    let connection = connect_one(admin).await?;
    let dropped = connection.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
    connection.close().await.ok();
    dropped?;
    Ok(())
}

/// The migrated SQLite template for the current migrations, in the temp
/// directory: made once (migrated in a file of its own, then renamed into
/// place, so a reader never sees it half made), then reused.
pub async fn sqlite_template() -> anyhow::Result<PathBuf> {
    let path = std::env::temp_dir().join(format!("{TEMPLATE_PREFIX}{}.sqlite3", template_key()));
    if path.is_file() {
        return Ok(path);
    }
    let scratch = std::env::temp_dir().join(format!("{TEMPLATE_PREFIX}{}.tmp", uuid::Uuid::now_v7().simple()));
    let result = async {
        let mut options = ConnectOptions::new(format!("sqlite://{}?mode=rwc", scratch.display()));
        options.max_connections(1).sqlx_logging(false);
        let db = Database::connect(options).await?;
        let migrated = Migrator::up(&db, None).await;
        db.close().await?;
        migrated?;
        std::fs::rename(&scratch, &path)?;
        anyhow::Ok(())
    }
    .await;
    if result.is_err() {
        let _ = std::fs::remove_file(&scratch);
    }
    result.context("cannot make the SQLite template")?;
    Ok(path)
}

/// Puts a migrated SQLite database at `path` (a copy of the template).
pub async fn sqlite_database(path: &Path) -> anyhow::Result<()> {
    let template = sqlite_template().await?;
    std::fs::copy(&template, path).with_context(|| format!("cannot copy the SQLite template to {}", path.display()))?;
    Ok(())
}

/// The real `tasktracker-server` binary: `TASKTRACKER_SERVER_BIN` (test.sh
/// sets it to the one `cargo test --workspace` built), else built here with
/// cargo (debug profile, as tests run; a no-op when up to date) so a test
/// run standalone never tests a stale binary.
pub fn server_binary() -> anyhow::Result<PathBuf> {
    if let Some(path) = std::env::var_os("TASKTRACKER_SERVER_BIN").filter(|path| !path.is_empty()) {
        let path = PathBuf::from(path);
        anyhow::ensure!(path.is_file(), "TASKTRACKER_SERVER_BIN={} is not a file", path.display());
        return Ok(path);
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().context("workspace root")?;
    let output = Command::new(cargo)
        .current_dir(workspace)
        .args(["build", "--quiet", "-p", "tasktracker-server", "--bin", "tasktracker-server", "--message-format=json"])
        .stderr(Stdio::inherit())
        .output()
        .context("cannot run cargo to build tasktracker-server")?;
    anyhow::ensure!(output.status.success(), "cargo build -p tasktracker-server failed");
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Ok(message) = serde_json::from_str::<serde_json::Value>(line) else { continue };
        if message["reason"] == "compiler-artifact"
            && message["target"]["name"] == "tasktracker-server"
            && let Some(path) = message["executable"].as_str()
        {
            return Ok(path.into());
        }
    }
    bail!("cargo did not report the tasktracker-server executable")
}
