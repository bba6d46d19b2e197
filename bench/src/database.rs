//! Databases for a run: a fresh one on the shared PostgreSQL (dropped
//! afterwards), or a private PostgreSQL instance a drill may stop and start.

use std::{path::PathBuf, process::Command, time::Duration};

use anyhow::{Context, bail};
use sqlx::{Connection, postgres::PgConnection};

/// The shared PostgreSQL's maintenance database, where fresh databases are
/// created: `TEST_DATABASE_URL` (the testkit's one name for it, shared with
/// every other harness).
pub use tasktracker_testkit::admin_url;

/// A database that exists for one run and is dropped after it: the
/// testkit's, a migrated copy of its template (`create`) or empty
/// (`create_empty`).
pub type FreshDatabase = tasktracker_testkit::PostgresDatabase;

/// Directory holding PostgreSQL's server programs (`initdb`, `pg_ctl`):
/// `PG_BIN`, else the newest `/usr/lib/postgresql/*/bin`, else `pg_config --bindir`.
pub fn postgres_bin_dir() -> anyhow::Result<PathBuf> {
    if let Ok(dir) = std::env::var("PG_BIN") {
        return Ok(dir.into());
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Ok(bin);
    }
    let output = Command::new("pg_config").arg("--bindir").output().context("no PostgreSQL server programs found")?;
    let dir = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
    anyhow::ensure!(dir.join("initdb").exists(), "initdb not found in {}; set PG_BIN", dir.display());
    Ok(dir)
}

/// A free TCP port on 127.0.0.1 (free when asked; good enough for a test).
pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// A PostgreSQL instance of its own, in a temporary directory, on a free port
/// of 127.0.0.1. Never the machine's shared cluster: drills stop this one.
pub struct PrivatePostgres {
    directory: PathBuf,
    bin: PathBuf,
    /// Port it listens on.
    pub port: u16,
    /// PostgreSQL refuses to run as root: then it runs as this user.
    run_as: Option<String>,
}

impl PrivatePostgres {
    /// Runs `initdb` and starts the instance.
    pub fn start() -> anyhow::Result<Self> {
        let bin = postgres_bin_dir()?;
        let directory = std::env::temp_dir().join(format!("tasktracker-pg-{}", uuid::Uuid::now_v7().simple()));
        std::fs::create_dir_all(&directory)?;
        // SAFETY: geteuid has no preconditions.
        let root = unsafe { libc::geteuid() } == 0;
        let run_as = root.then(|| "postgres".to_owned());
        if let Some(user) = &run_as {
            let status = Command::new("chown").arg(format!("{user}:{user}")).arg(&directory).status()?;
            anyhow::ensure!(status.success(), "cannot hand {} to user {user}", directory.display());
        }
        let instance = Self { directory, bin, port: free_port()?, run_as };
        instance.run(
            "initdb",
            &[
                "-D",
                &instance.data_dir(),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
                "--no-instructions",
            ],
        )?;
        instance.start_again()?;
        Ok(instance)
    }

    fn data_dir(&self) -> String {
        self.directory.join("data").display().to_string()
    }

    fn run(&self, program: &str, args: &[&str]) -> anyhow::Result<()> {
        let path = self.bin.join(program);
        let mut command = match &self.run_as {
            Some(user) => {
                let mut command = Command::new("runuser");
                command.args(["-u", user, "--"]).arg(&path);
                command
            }
            None => Command::new(&path),
        };
        let output = command.args(args).current_dir(&self.directory).output()?;
        if !output.status.success() {
            bail!(
                "{program} failed: {}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        Ok(())
    }

    /// Starts the (stopped) instance and waits until it accepts connections.
    pub fn start_again(&self) -> anyhow::Result<()> {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c max_connections=200",
            self.port,
            self.directory.display()
        );
        let log = self.directory.join("postgres.log").display().to_string();
        self.run("pg_ctl", &["-D", &self.data_dir(), "-o", &options, "-l", &log, "-w", "-t", "30", "start"])
    }

    /// Stops the instance (fast shutdown: connections are cut at once).
    pub fn stop(&self) -> anyhow::Result<()> {
        self.run("pg_ctl", &["-D", &self.data_dir(), "-m", "fast", "-w", "-t", "30", "stop"])
    }

    /// URL of database `name` on this instance.
    pub fn url(&self, name: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }

    /// The instance's log, for diagnostics.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.directory.join("postgres.log")).unwrap_or_default()
    }

    /// Creates database `name`.
    pub async fn create_database(&self, name: &str) -> anyhow::Result<String> {
        let mut connection = PgConnection::connect(&self.url("postgres")).await?;
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut connection).await?;
        connection.close().await.ok();
        Ok(self.url(name))
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let _ = self.run("pg_ctl", &["-D", &self.data_dir(), "-m", "immediate", "-w", "-t", "30", "stop"]);
        let _ = std::fs::remove_dir_all(&self.directory);
    }
}

/// Waits until `check` holds, polling every `every`; false after `timeout`.
pub async fn wait_until<F: AsyncFnMut() -> bool>(timeout: Duration, every: Duration, mut check: F) -> bool {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if check().await {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(every).await;
    }
}
