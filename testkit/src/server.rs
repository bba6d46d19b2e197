//! The real `tasktracker-server` as a child process on 127.0.0.1, on a fresh
//! database: for harnesses that test a client from outside (the CLI's tests).

use std::{
    collections::VecDeque,
    io::{BufRead, BufReader, Read},
    net::SocketAddr,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex, mpsc},
    time::Duration,
};

use anyhow::{Context, bail};

use crate::{PostgresDatabase, admin_url, server_binary};

/// Token secret of servers started here (a test-only value, 32+ bytes).
const TOKEN_SECRET: &str = "tasktracker-testkit secret, at least 32 bytes long";

/// Server output lines kept for a failing test's message.
const KEPT_LINES: usize = 200;

type Lines = Arc<Mutex<VecDeque<String>>>;

/// A running server on a database of its own; the process is killed, then
/// the database dropped, when this drops.
pub struct TestServer {
    /// The address it serves gRPC (and gRPC-web) on.
    pub address: SocketAddr,
    child: Child,
    output: Lines,
    data_dir: PathBuf,
    env: Vec<(String, String)>,
    // Dropped after the process is gone (see `Drop`).
    database: Option<PostgresDatabase>,
}

impl TestServer {
    /// Starts the server binary ([`server_binary`]) on a fresh copy of the
    /// migrated template, on a free port, and waits (up to 60 s) until it
    /// logs the address it serves on. `env` adds `TASKTRACKER_*` settings.
    pub async fn start(env: &[(&str, &str)]) -> anyhow::Result<Self> {
        let database = PostgresDatabase::create(&admin_url(), "tasktracker_test").await?;
        let data_dir = std::env::temp_dir().join(format!("tasktracker-server-{}", uuid::Uuid::now_v7().simple()));
        std::fs::create_dir_all(&data_dir)?;
        let env: Vec<(String, String)> =
            env.iter().map(|(key, value)| ((*key).to_owned(), (*value).to_owned())).collect();
        let (child, address, output) = spawn(&database.url, &data_dir, "127.0.0.1:0", &env).await?;
        Ok(Self { address, child, output, data_dir, env, database: Some(database) })
    }

    /// Kills the process (SIGKILL, as a crash would) and starts it again on
    /// the same database and address: for clients that must reconnect.
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let url = self.database.as_ref().context("the database")?.url.clone();
        let (child, address, output) = spawn(&url, &self.data_dir, &self.address.to_string(), &self.env).await?;
        (self.child, self.address, self.output) = (child, address, output);
        Ok(())
    }

    /// `http://{address}`.
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// The last lines the server printed.
    pub fn output(&self) -> String {
        self.output.lock().map(|lines| Vec::from(lines.clone()).join("\n")).unwrap_or_default()
    }
}

/// Starts the binary and waits for its address.
async fn spawn(
    database_url: &str,
    data_dir: &Path,
    listen: &str,
    env: &[(String, String)],
) -> anyhow::Result<(Child, SocketAddr, Lines)> {
    let binary = server_binary()?;
    let mut command = Command::new(&binary);
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("RUST_LOG", "info")
        .env("DATABASE_URL", database_url)
        .env("TASKTRACKER_DATA_DIR", data_dir)
        .env("TASKTRACKER_LISTEN_ADDR", listen)
        .env("TASKTRACKER_METRICS_ADDR", "127.0.0.1:0")
        .env("TASKTRACKER_TOKEN_SECRET", TOKEN_SECRET)
        .env("TASKTRACKER_LOG_FORMAT", "json")
        .env("TASKTRACKER_WATCH_HEARTBEAT", "1s")
        .envs(env.iter().map(|(key, value)| (key, value)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().with_context(|| format!("cannot start {}", binary.display()))?;
    let output = Lines::default();
    let (sender, receiver) = mpsc::channel();
    // Both pipes are drained for the process's whole life, so the server
    // never blocks on a full pipe.
    drain(child.stdout.take().context("stdout")?, output.clone(), sender.clone());
    drain(child.stderr.take().context("stderr")?, output.clone(), sender);
    match tokio::task::spawn_blocking(move || receiver.recv_timeout(Duration::from_secs(60))).await? {
        Ok(address) => Ok((child, address, output)),
        Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            let lines = output.lock().map(|lines| Vec::from(lines.clone()).join("\n")).unwrap_or_default();
            bail!("the server did not report its address; its output:\n{lines}")
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        drop(self.database.take());
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

fn drain(pipe: impl Read + Send + 'static, output: Lines, serving: mpsc::Sender<SocketAddr>) {
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            if let Some(address) = serving_address(&line) {
                let _ = serving.send(address);
            }
            if let Ok(mut lines) = output.lock() {
                if lines.len() == KEPT_LINES {
                    lines.pop_front();
                }
                lines.push_back(line);
            }
        }
    });
}

/// The gRPC address in the JSON "serving gRPC and gRPC-web" log line.
fn serving_address(line: &str) -> Option<SocketAddr> {
    let json: serde_json::Value = serde_json::from_str(line).ok()?;
    let message = json.get("message")?.as_str()?;
    if !message.starts_with("serving gRPC") {
        return None;
    }
    json.get("address")?.as_str()?.parse().ok()
}
