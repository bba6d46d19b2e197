//! Running the real `tasktracker` binary against the real server (the
//! testkit's [`TestServer`] on a fresh PostgreSQL database), with a
//! configuration directory of its own.

use std::{
    io::Write,
    path::PathBuf,
    process::{Command, Output, Stdio},
};

use serde_json::Value;
use tasktracker_proto::v1::{self, account_service_client::AccountServiceClient};
use tasktracker_testkit::TestServer;
use tonic::{Request, transport::Channel};

pub const PASSWORD: &str = "correct horse battery staple";

/// The binary under test.
pub fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_tasktracker")
}

/// A server, a signed-up user, and a home for the CLI's configuration.
pub struct Harness {
    pub user: User,
    pub channel: Channel,
    /// `XDG_CONFIG_HOME` (and `HOME`) of every run.
    pub home: PathBuf,
    // Dropped last: the process, then its database.
    pub server: TestServer,
}

/// A signed-up user.
pub struct User {
    pub name: String,
    pub email: String,
    pub access_token: String,
}

impl Harness {
    pub async fn start() -> Self {
        let server = TestServer::start(&[]).await.expect("the server starts");
        let channel = tonic::transport::Endpoint::from_shared(server.url()).unwrap().connect().await.expect("connects");
        let user = sign_up(&channel, "ada").await;
        let home = std::env::temp_dir().join(format!("tasktracker-cli-test-{}", uuid::Uuid::now_v7().simple()));
        std::fs::create_dir_all(&home).unwrap();
        Self { user, channel, home, server }
    }

    /// A `tasktracker` command with this harness's server and configuration,
    /// and nothing from the environment of the test run.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(binary());
        command
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", &self.home)
            .env("XDG_CONFIG_HOME", &self.home)
            .env("TASKTRACKER_SERVER", self.server.url());
        command
    }

    /// Runs `tasktracker args…` with no standard input.
    pub fn run(&self, args: &[&str]) -> Outcome {
        self.run_with_input(args, "")
    }

    /// Runs `tasktracker args…` with `input` on standard input (not a
    /// terminal).
    pub fn run_with_input(&self, args: &[&str], input: &str) -> Outcome {
        run(self.command(args), input)
    }

    /// Signs the CLI in with an API token of the harness's user.
    pub async fn login(&self) {
        let token = self.api_token().await;
        self.run(&["login", "--token", &token]).success();
    }

    /// A new admin-scope API token of the harness's user.
    pub async fn api_token(&self) -> String {
        let mut accounts = AccountServiceClient::new(self.channel.clone());
        let request = v1::CreateApiTokenRequest {
            api_token: Some(v1::ApiToken {
                display_name: "cli test".into(),
                scope: v1::ApiTokenScope::Admin as i32,
                ..Default::default()
            }),
        };
        accounts.create_api_token(self.authorized(request)).await.expect("creates an API token").into_inner().secret
    }

    /// `message` with the harness user's access token.
    pub fn authorized<T>(&self, message: T) -> Request<T> {
        let mut request = Request::new(message);
        let value = format!("Bearer {}", self.user.access_token).parse().unwrap();
        request.metadata_mut().insert("authorization", value);
        request
    }

    /// Creates a project through the CLI; returns its name.
    pub fn create_project(&self, title: &str) -> String {
        let project = self.run(&["projects", "create", title, "-o", "json"]).success().json();
        project["name"].as_str().expect("a name").to_owned()
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.home);
    }
}

pub async fn sign_up(channel: &Channel, who: &str) -> User {
    let email = format!("{who}-{}@example.com", uuid::Uuid::now_v7().simple());
    let response = AccountServiceClient::new(channel.clone())
        .sign_up(v1::SignUpRequest { email: email.clone(), password: PASSWORD.into(), display_name: who.into() })
        .await
        .expect("signs up")
        .into_inner();
    User {
        name: response.user.expect("user").name,
        email,
        access_token: response.session.expect("session").access_token,
    }
}

fn run(mut command: Command, input: &str) -> Outcome {
    let mut child =
        command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("the binary starts");
    child.stdin.take().expect("stdin").write_all(input.as_bytes()).expect("writes stdin");
    let output = tokio::task::block_in_place(|| child.wait_with_output()).expect("the binary runs");
    Outcome::from(output)
}

/// What a run printed and how it exited.
#[derive(Debug)]
pub struct Outcome {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Outcome {
    fn from(output: Output) -> Self {
        Self {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

impl Outcome {
    /// Asserts exit code 0.
    #[track_caller]
    pub fn success(self) -> Self {
        assert_eq!(self.code, 0, "expected success:\n{self:#?}");
        self
    }

    /// Asserts exit code `code`.
    #[track_caller]
    pub fn failure(self, code: i32) -> Self {
        assert_eq!(self.code, code, "expected exit code {code}:\n{self:#?}");
        self
    }

    /// Standard output as one JSON document per line.
    #[track_caller]
    pub fn json_lines(&self) -> Vec<Value> {
        self.stdout
            .lines()
            .map(|line| serde_json::from_str(line).unwrap_or_else(|error| panic!("not JSON ({error}): {line}")))
            .collect()
    }

    /// Standard output as exactly one JSON document.
    #[track_caller]
    pub fn json(&self) -> Value {
        let mut lines = self.json_lines();
        assert_eq!(lines.len(), 1, "expected one document:\n{}", self.stdout);
        lines.remove(0)
    }
}
