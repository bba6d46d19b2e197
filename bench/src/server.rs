//! The real `tasktracker-server` binary as a child process: started on a
//! database, found on the port it reports, measured through `/proc`, stopped
//! with SIGTERM or killed with SIGKILL.

use std::{
    collections::VecDeque,
    io::{BufRead, BufReader, Read},
    net::SocketAddr,
    path::PathBuf,
    process::{Child, Command, ExitStatus, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use anyhow::{Context, bail};

/// Token secret of servers started here (test-only value, 32+ bytes).
pub const TOKEN_SECRET: &str = "tasktracker-bench secret, at least 32 bytes long";

/// Lines of server output kept for diagnostics.
const KEPT_LINES: usize = 20_000;

/// The server binary: `TASKTRACKER_SERVER_BIN`, else `tasktracker-server`
/// next to the running executable (the same cargo target directory).
pub fn server_binary() -> anyhow::Result<PathBuf> {
    if let Ok(path) = std::env::var("TASKTRACKER_SERVER_BIN") {
        return Ok(path.into());
    }
    let exe = std::env::current_exe()?;
    let mut dir = exe.parent().context("executable has no directory")?.to_path_buf();
    if dir.ends_with("deps") {
        dir.pop();
    }
    let candidate = dir.join("tasktracker-server");
    if candidate.is_file() {
        return Ok(candidate);
    }
    bail!(
        "{} not found: build it first (`cargo build --release -p tasktracker-server`) or set TASKTRACKER_SERVER_BIN",
        candidate.display()
    )
}

/// What to start a server with.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub binary: PathBuf,
    pub database_url: String,
    /// Address to listen on; `127.0.0.1:0` picks a free port.
    pub listen: String,
    /// Extra environment (`TASKTRACKER_*` settings, `RUST_LOG`).
    pub env: Vec<(String, String)>,
}

impl ServerConfig {
    pub fn new(binary: PathBuf, database_url: impl Into<String>) -> Self {
        Self { binary, database_url: database_url.into(), listen: "127.0.0.1:0".into(), env: vec![] }
    }

    pub fn env(mut self, key: &str, value: impl Into<String>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }
}

/// Server output, newest last, bounded.
type Output = Arc<Mutex<VecDeque<String>>>;

/// A running `tasktracker-server` process; killed when dropped.
pub struct ServerProcess {
    child: Child,
    /// The address it serves gRPC on.
    pub address: SocketAddr,
    output: Output,
    exit: Option<ExitStatus>,
}

fn keep(output: &Output, line: String) {
    let mut lines = output.lock().expect("output lock");
    if lines.len() == KEPT_LINES {
        lines.pop_front();
    }
    lines.push_back(line);
}

/// The gRPC address in a JSON log line, if it is the "serving" line.
fn serving_address(line: &str) -> Option<SocketAddr> {
    let json: serde_json::Value = serde_json::from_str(line).ok()?;
    let message = json.get("message").and_then(|m| m.as_str()).unwrap_or_default();
    if message.contains("metrics") {
        return None;
    }
    json.get("address")?.as_str()?.parse().ok()
}

impl ServerProcess {
    /// Starts the server and waits (up to 60 s, migrations included) until
    /// it logs the address it serves on.
    pub fn start(config: &ServerConfig) -> anyhow::Result<Self> {
        let mut command = Command::new(&config.binary);
        command
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATABASE_URL", &config.database_url)
            .env("TASKTRACKER_LISTEN_ADDR", &config.listen)
            .env("TASKTRACKER_METRICS_ADDR", "127.0.0.1:0")
            .env("TASKTRACKER_TOKEN_SECRET", TOKEN_SECRET)
            .env("TASKTRACKER_LOG_FORMAT", "json")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (key, value) in &config.env {
            command.env(key, value);
        }
        let mut child = command.spawn().with_context(|| format!("cannot start {}", config.binary.display()))?;
        let output: Output = Arc::default();
        let (sender, receiver) = std::sync::mpsc::channel();
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr = child.stderr.take().expect("piped stderr");
        // Both pipes are drained for the process's whole life, so the server
        // never blocks on a full pipe.
        spawn_reader(stdout, output.clone(), Some(sender.clone()));
        spawn_reader(stderr, output.clone(), Some(sender));
        let address = match receiver.recv_timeout(Duration::from_secs(60)) {
            Ok(address) => address,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                let tail: Vec<String> = output.lock().expect("output lock").iter().cloned().collect();
                bail!("the server did not report its address; output:\n{}", tail.join("\n"));
            }
        };
        Ok(Self { child, address, output, exit: None })
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The admin address serving `/metrics`, from the "serving" log line.
    pub fn metrics_address(&self) -> Option<SocketAddr> {
        self.output().iter().find_map(|line| {
            let json: serde_json::Value = serde_json::from_str(line).ok()?;
            json.get("metrics_address")?.as_str()?.parse().ok()
        })
    }

    /// `http://address`, for tonic endpoints.
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Resident memory in MiB, from `/proc/{pid}/status`.
    pub fn rss_mb(&self) -> Option<f64> {
        rss_mb(self.pid())
    }

    /// Sends SIGKILL and reaps the process.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        self.exit = self.child.wait().ok();
    }

    /// Sends SIGTERM (graceful shutdown) without waiting.
    pub fn signal_terminate(&self) {
        // SAFETY: kill(2) on our own child's pid.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
    }

    /// Waits up to `timeout` for the process to exit.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.exit.or_else(|| self.child.try_wait().ok().flatten()) {
                self.exit = Some(status);
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM, then wait up to `timeout`; SIGKILL if it does not exit.
    pub fn terminate(&mut self, timeout: Duration) -> anyhow::Result<ExitStatus> {
        self.signal_terminate();
        match self.wait_exit(timeout) {
            Some(status) => Ok(status),
            None => {
                self.kill();
                bail!("the server did not exit within {timeout:?} of SIGTERM")
            }
        }
    }

    /// True while the process has not exited.
    pub fn is_running(&mut self) -> bool {
        self.exit.is_none() && matches!(self.child.try_wait(), Ok(None))
    }

    /// Every kept line of output.
    pub fn output(&self) -> Vec<String> {
        self.output.lock().expect("output lock").iter().cloned().collect()
    }

    /// Output lines reporting a panic.
    pub fn panics(&self) -> Vec<String> {
        self.output().into_iter().filter(|line| line.contains("panicked")).collect()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if self.exit.is_none() {
            self.kill();
        }
    }
}

fn spawn_reader(pipe: impl Read + Send + 'static, output: Output, sender: Option<std::sync::mpsc::Sender<SocketAddr>>) {
    std::thread::spawn(move || {
        let mut sender = sender;
        for line in BufReader::new(pipe).lines().map_while(Result::ok) {
            if let Some(address) = sender.as_ref().and_then(|_| serving_address(&line)) {
                let _ = sender.take().expect("checked").send(address);
            }
            keep(&output, line);
        }
    });
}

/// Resident memory of process `pid` in MiB.
pub fn rss_mb(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// Samples a process's RSS in the background; `stop` returns the peak.
pub struct RssSampler {
    peak: Arc<Mutex<f64>>,
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl RssSampler {
    pub fn start(pid: u32, every: Duration) -> Self {
        let peak = Arc::new(Mutex::new(rss_mb(pid).unwrap_or(0.0)));
        let (stop, mut stopped) = tokio::sync::watch::channel(false);
        let shared = peak.clone();
        let task = tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = stopped.changed() => return,
                    () = tokio::time::sleep(every) => {}
                }
                if let Some(rss) = rss_mb(pid) {
                    let mut peak = shared.lock().expect("peak lock");
                    *peak = peak.max(rss);
                }
            }
        });
        Self { peak, stop, task }
    }

    /// Stops sampling; the peak RSS seen, in MiB.
    pub async fn stop(self) -> f64 {
        let _ = self.stop.send(true);
        let _ = self.task.await;
        *self.peak.lock().expect("peak lock")
    }
}
