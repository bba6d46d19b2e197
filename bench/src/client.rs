//! Calling the server: channels, bearer tokens, and the few calls every run
//! starts with.

use std::time::Duration;

use anyhow::Context;
use tasktracker_proto::v1::{
    self, account_service_client::AccountServiceClient, custom_field_service_client::CustomFieldServiceClient,
    project_service_client::ProjectServiceClient, workflow_state_service_client::WorkflowStateServiceClient,
};
use tonic::{Request, metadata::MetadataValue, transport::Channel};
use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient};

/// Password of users the harness signs up.
pub const PASSWORD: &str = "correct horse battery staple";

/// One HTTP/2 connection to `url` (`http://host:port`).
pub async fn connect(url: &str) -> anyhow::Result<Channel> {
    endpoint(url)?.connect().await.with_context(|| format!("cannot connect to {url}"))
}

/// A channel that connects on first use and reconnects after failures.
pub fn connect_lazy(url: &str) -> anyhow::Result<Channel> {
    Ok(endpoint(url)?.connect_lazy())
}

fn endpoint(url: &str) -> anyhow::Result<tonic::transport::Endpoint> {
    Ok(tonic::transport::Endpoint::from_shared(url.to_owned())?
        .tcp_nodelay(true)
        .connect_timeout(Duration::from_secs(5)))
}

/// `authorization: Bearer {token}` as metadata.
pub fn bearer(token: &str) -> MetadataValue<tonic::metadata::Ascii> {
    format!("Bearer {token}").parse().expect("tokens are ASCII")
}

/// A request carrying `authorization`.
pub fn authorized<T>(authorization: &MetadataValue<tonic::metadata::Ascii>, message: T) -> Request<T> {
    let mut request = Request::new(message);
    request.metadata_mut().insert("authorization", authorization.clone());
    request
}

/// A signed-up user.
#[derive(Debug, Clone)]
pub struct User {
    /// `users/{id}`.
    pub name: String,
    pub access_token: String,
}

impl User {
    /// The bare id.
    pub fn id(&self) -> &str {
        self.name.trim_start_matches("users/")
    }
}

/// Signs up a new user called `who`.
pub async fn sign_up(channel: &Channel, who: &str) -> anyhow::Result<User> {
    let email = format!("{who}-{}@example.com", uuid::Uuid::now_v7().simple());
    let response = AccountServiceClient::new(channel.clone())
        .sign_up(v1::SignUpRequest { email, password: PASSWORD.into(), display_name: who.into() })
        .await
        .context("sign up")?
        .into_inner();
    Ok(User {
        name: response.user.context("user")?.name,
        access_token: response.session.context("session")?.access_token,
    })
}

/// Creates a project owned by `owner`; returns its name `projects/{id}`.
pub async fn create_project(channel: &Channel, owner: &User, title: &str) -> anyhow::Result<String> {
    let project = ProjectServiceClient::new(channel.clone())
        .create_project(authorized(
            &bearer(&owner.access_token),
            v1::CreateProjectRequest {
                project: Some(v1::Project { title: title.into(), ..Default::default() }),
                request_id: String::new(),
            },
        ))
        .await
        .context("create project")?
        .into_inner();
    Ok(project.name)
}

/// The project's workflow states in board order (archived ones left out).
pub async fn list_states(channel: &Channel, owner: &User, project: &str) -> anyhow::Result<Vec<v1::WorkflowState>> {
    let response = WorkflowStateServiceClient::new(channel.clone())
        .list_workflow_states(authorized(
            &bearer(&owner.access_token),
            v1::ListWorkflowStatesRequest { parent: project.into(), show_archived: false },
        ))
        .await
        .context("list workflow states")?
        .into_inner();
    Ok(response.states)
}

/// Adds a state at the end of `project`'s board.
pub async fn create_state(
    channel: &Channel,
    owner: &User,
    project: &str,
    (display_name, color, category): (&str, &str, v1::StateCategory),
) -> anyhow::Result<v1::WorkflowState> {
    let state = WorkflowStateServiceClient::new(channel.clone())
        .create_workflow_state(authorized(
            &bearer(&owner.access_token),
            v1::CreateWorkflowStateRequest {
                parent: project.into(),
                state: Some(v1::WorkflowState {
                    display_name: display_name.into(),
                    color: color.into(),
                    category: category as i32,
                    ..Default::default()
                }),
            },
        ))
        .await
        .with_context(|| format!("create workflow state {display_name}"))?
        .into_inner();
    Ok(state)
}

/// Adds a NUMBER custom field called `key` to `project`.
pub async fn create_number_field(
    channel: &Channel,
    owner: &User,
    project: &str,
    key: &str,
) -> anyhow::Result<v1::CustomField> {
    let field = CustomFieldServiceClient::new(channel.clone())
        .create_custom_field(authorized(
            &bearer(&owner.access_token),
            v1::CreateCustomFieldRequest {
                parent: project.into(),
                field: Some(v1::CustomField {
                    key: key.into(),
                    display_name: key.into(),
                    r#type: v1::CustomFieldType::Number as i32,
                    show_on_card: true,
                    ..Default::default()
                }),
            },
        ))
        .await
        .with_context(|| format!("create custom field {key}"))?
        .into_inner();
    Ok(field)
}

/// The overall health status (`""` service), or `None` if the call failed.
pub async fn health(channel: &Channel, service: &str) -> Option<ServingStatus> {
    let response = HealthClient::new(channel.clone())
        .check(HealthCheckRequest { service: service.into() })
        .await
        .ok()?
        .into_inner();
    ServingStatus::try_from(response.status).ok()
}
