//! The connection to the server and the credentials every call carries.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use tasktracker_proto::google::longrunning::operations_client::OperationsClient;
use tasktracker_proto::v1::{
    self, account_service_client::AccountServiceClient, import_service_client::ImportServiceClient,
    project_service_client::ProjectServiceClient, task_service_client::TaskServiceClient,
    workflow_state_service_client::WorkflowStateServiceClient,
};
use tonic::{
    Request, Status,
    codegen::InterceptedService,
    metadata::{Ascii, MetadataValue},
    service::Interceptor,
    transport::{Channel, ClientTlsConfig, Endpoint},
};

use crate::{
    args::GlobalArgs,
    config::{Config, Credentials, DEFAULT_SERVER},
    error::CliError,
};

/// An access token this close to its expiry is refreshed first.
const REFRESH_MARGIN_SECONDS: i64 = 60;

/// Adds `authorization: Bearer …` to every call (nothing when signed out).
#[derive(Clone)]
pub struct Bearer(Option<MetadataValue<Ascii>>);

impl Interceptor for Bearer {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        if let Some(value) = &self.0 {
            request.metadata_mut().insert("authorization", value.clone());
        }
        Ok(request)
    }
}

/// A channel whose calls carry the credentials.
pub type Authorized = InterceptedService<Channel, Bearer>;

/// The server's services, over one connection.
#[derive(Clone)]
pub struct Api {
    channel: Channel,
    bearer: Bearer,
}

impl Api {
    /// Calls that need no credentials (sign-in).
    pub fn anonymous(channel: Channel) -> Self {
        Self { channel, bearer: Bearer(None) }
    }

    /// Calls made with `token` (an access token or an API token).
    pub fn with_token(channel: Channel, token: &str) -> Result<Self, CliError> {
        let value = format!("Bearer {token}")
            .parse()
            .map_err(|_| CliError::Usage("the token has characters a token cannot have".into()))?;
        Ok(Self { channel, bearer: Bearer(Some(value)) })
    }

    pub fn accounts(&self) -> AccountServiceClient<Authorized> {
        AccountServiceClient::with_interceptor(self.channel.clone(), self.bearer.clone())
    }

    pub fn projects(&self) -> ProjectServiceClient<Authorized> {
        ProjectServiceClient::with_interceptor(self.channel.clone(), self.bearer.clone())
    }

    pub fn tasks(&self) -> TaskServiceClient<Authorized> {
        TaskServiceClient::with_interceptor(self.channel.clone(), self.bearer.clone())
    }

    pub fn states(&self) -> WorkflowStateServiceClient<Authorized> {
        WorkflowStateServiceClient::with_interceptor(self.channel.clone(), self.bearer.clone())
    }

    pub fn imports(&self) -> ImportServiceClient<Authorized> {
        // Exports stream chunks of 256 KiB; tonic's 4 MiB default is ample.
        ImportServiceClient::with_interceptor(self.channel.clone(), self.bearer.clone())
    }

    pub fn operations(&self) -> OperationsClient<Authorized> {
        OperationsClient::with_interceptor(self.channel.clone(), self.bearer.clone())
    }
}

/// The server to talk to: `--server` / `TASKTRACKER_SERVER`, else the saved
/// one, else the local default.
pub fn server_url(global: &GlobalArgs, config: &Config) -> Result<String, CliError> {
    let url = global.server.clone().or_else(|| config.server.clone()).unwrap_or_else(|| DEFAULT_SERVER.to_owned());
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(CliError::Usage(format!("the server URL must start with http:// or https://: {url}")));
    }
    Ok(url.trim_end_matches('/').to_owned())
}

/// One HTTP/2 connection to `server` (TLS for `https://`).
pub async fn connect(server: &str) -> Result<Channel, CliError> {
    let mut endpoint = Endpoint::from_shared(server.to_owned())
        .map_err(|_| CliError::Usage(format!("not a server URL: {server}")))?
        .connect_timeout(Duration::from_secs(10))
        .tcp_nodelay(true);
    if server.starts_with("https://") {
        endpoint = endpoint.tls_config(ClientTlsConfig::new().with_enabled_roots()).context("TLS set-up")?;
    }
    Ok(endpoint.connect().await.with_context(|| format!("cannot connect to {server}"))?)
}

/// A signed-in connection to the server.
pub struct Session {
    pub api: Api,
    /// The server URL.
    pub server: String,
}

impl Session {
    /// Connects with `TASKTRACKER_TOKEN` if set, else with the saved
    /// credentials (refreshing a session's access token when it is about to
    /// lapse). Saved credentials are only ever sent to the server they were
    /// saved for.
    pub async fn open(global: &GlobalArgs) -> Result<Self, CliError> {
        let mut config = Config::load()?;
        let server = server_url(global, &config)?;
        if let Some(token) = std::env::var("TASKTRACKER_TOKEN").ok().filter(|token| !token.is_empty()) {
            let channel = connect(&server).await?;
            return Ok(Self { api: Api::with_token(channel, &token)?, server });
        }
        let saved_for = config.server.clone().unwrap_or_else(|| DEFAULT_SERVER.to_owned());
        let credentials = match config.credentials.clone() {
            Some(credentials) if saved_for.trim_end_matches('/') == server => credentials,
            _ => return Err(CliError::NotSignedIn { server }),
        };
        let channel = connect(&server).await?;
        let token = match credentials {
            Credentials::ApiToken { token } => token,
            Credentials::Session { access_token, access_token_expires, .. }
                if unix_now() + REFRESH_MARGIN_SECONDS < access_token_expires =>
            {
                access_token
            }
            Credentials::Session { refresh_token, .. } => {
                let session = Api::anonymous(channel.clone())
                    .accounts()
                    .refresh_session(v1::RefreshSessionRequest { refresh_token })
                    .await?
                    .into_inner()
                    .session
                    .context("the server sent no session")?;
                let credentials = Credentials::from_session(session)?;
                config.credentials = Some(credentials.clone());
                config.save()?;
                credentials.bearer_token().to_owned()
            }
        };
        Ok(Self { api: Api::with_token(channel, &token)?, server })
    }
}

impl Credentials {
    /// The credentials of a signed-in session.
    pub fn from_session(session: v1::Session) -> anyhow::Result<Self> {
        let expires = session.access_token_expire_time.context("the session has no expiry")?.seconds;
        Ok(Self::Session {
            access_token: session.access_token,
            access_token_expires: expires,
            refresh_token: session.refresh_token,
        })
    }

    /// What goes after `Bearer `.
    pub fn bearer_token(&self) -> &str {
        match self {
            Self::ApiToken { token } => token,
            Self::Session { access_token, .. } => access_token,
        }
    }
}

fn unix_now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_secs() as i64)
}
