//! The app's only I/O module: the generated gRPC clients over gRPC-web, the
//! session (bearer token, refresh), and errors as the UI shows them.

use std::{cell::Cell, future::Future};

use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use tasktracker_proto::v1::{
    self, account_service_client::AccountServiceClient, project_service_client::ProjectServiceClient,
    task_service_client::TaskServiceClient,
};
use tonic::{Code, Status, Streaming};
use tonic_web_wasm_client::Client;

use super::browser;
use crate::model::{names, violations};

const SESSION_KEY: &str = "tasktracker.session";
/// Refresh this long before the access token expires.
const REFRESH_MARGIN_SECONDS: i64 = 60;

thread_local! {
    /// One refresh at a time: the refresh token rotates, and presenting an
    /// old one revokes the session.
    static REFRESHING: Cell<bool> = const { Cell::new(false) };
}

/// The signed-in session, kept in `localStorage`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub access_token: String,
    pub access_expires: i64,
    pub refresh_token: String,
    /// `users/{user}`.
    pub user: String,
    pub email: String,
    pub display_name: String,
}

/// A failed call, as the UI explains it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// Not signed in (or the session ended).
    SignedOut,
    /// ABORTED: the object changed since it was read (stale etag).
    Conflict,
    /// INVALID_ARGUMENT: the message, and `(form field, description)` pairs.
    Invalid(String, Vec<(String, String)>),
    /// PERMISSION_DENIED or NOT_FOUND.
    Denied(String),
    /// The server could not be reached.
    Offline,
    /// Anything else, with the server's message.
    Failed(String),
}

impl ApiError {
    /// The description of a field's violation, if the server named it.
    pub fn field(&self, field: &str) -> Option<String> {
        match self {
            Self::Invalid(_, fields) => fields.iter().find(|(f, _)| f == field).map(|(_, d)| d.clone()),
            _ => None,
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::SignedOut => f.write_str("Your session has ended. Please sign in again."),
            Self::Conflict => f.write_str("Someone else changed this since you opened it."),
            Self::Invalid(message, _) => write!(f, "Please check the form: {message}"),
            Self::Denied(message) => write!(f, "Not allowed: {message}"),
            Self::Offline => f.write_str("The server cannot be reached. Check your connection and try again."),
            Self::Failed(message) => write!(f, "Something went wrong: {message}"),
        }
    }
}

impl std::error::Error for ApiError {}

impl From<Status> for ApiError {
    fn from(status: Status) -> Self {
        match status.code() {
            Code::Unauthenticated => Self::SignedOut,
            Code::Aborted => Self::Conflict,
            Code::InvalidArgument | Code::FailedPrecondition | Code::OutOfRange | Code::AlreadyExists => {
                let fields = violations::field_violations(status.details())
                    .into_iter()
                    .map(|(field, description)| (names::form_field(&field).to_owned(), description))
                    .collect();
                Self::Invalid(status.message().to_owned(), fields)
            }
            Code::PermissionDenied | Code::NotFound => Self::Denied(status.message().to_owned()),
            Code::Unavailable | Code::Unknown | Code::DeadlineExceeded | Code::Cancelled => Self::Offline,
            _ => Self::Failed(status.message().to_owned()),
        }
    }
}

/// Result of an API call.
pub type ApiResult<T> = Result<T, ApiError>;

/// The API client: base URL and session. Cheap to copy; provided as context.
#[derive(Clone, Copy)]
pub struct Api {
    base_url: StoredValue<String>,
    session: RwSignal<Option<Session>>,
}

fn fmask(paths: Vec<String>) -> Option<prost_types::FieldMask> {
    Some(prost_types::FieldMask { paths })
}

impl Api {
    /// A client for `base_url`, resuming a stored session.
    pub fn new(base_url: String) -> Self {
        let session = browser::stored(SESSION_KEY).and_then(|text| serde_json::from_str(&text).ok());
        Self { base_url: StoredValue::new(base_url), session: RwSignal::new(session) }
    }

    /// The session, tracked.
    pub fn session(&self) -> Option<Session> {
        self.session.get()
    }

    /// Whether someone is signed in, tracked.
    pub fn signed_in(&self) -> bool {
        self.session.with(Option::is_some)
    }

    fn client(&self) -> Client {
        Client::new(self.base_url.get_value())
    }

    fn set_session(&self, session: Option<Session>) {
        let text = session.as_ref().and_then(|s| serde_json::to_string(s).ok());
        browser::store(SESSION_KEY, text.as_deref());
        self.session.set(session);
    }

    fn start_session(&self, user: Option<v1::User>, session: Option<v1::Session>) -> ApiResult<Session> {
        let (user, session) = user.zip(session).ok_or_else(|| ApiError::Failed("empty answer".into()))?;
        let session = Session {
            access_token: session.access_token,
            access_expires: session.access_token_expire_time.map_or(0, |t| t.seconds),
            refresh_token: session.refresh_token,
            user: user.name,
            email: user.email,
            display_name: user.display_name,
        };
        self.set_session(Some(session.clone()));
        Ok(session)
    }

    /// Forgets the session locally (the server already ended it, or will).
    pub fn forget_session(&self) {
        self.set_session(None);
    }

    /// An access token valid for at least a minute, refreshing if needed.
    async fn access_token(&self) -> ApiResult<String> {
        let session = self.session.get_untracked().ok_or(ApiError::SignedOut)?;
        if session.access_expires - browser::now_seconds() > REFRESH_MARGIN_SECONDS {
            return Ok(session.access_token);
        }
        self.refresh().await
    }

    /// Exchanges the refresh token for a new session, once at a time.
    async fn refresh(&self) -> ApiResult<String> {
        if REFRESHING.get() {
            while REFRESHING.get() {
                browser::sleep(50).await;
            }
            return self.session.get_untracked().map(|s| s.access_token).ok_or(ApiError::SignedOut);
        }
        // Another tab may have refreshed already: its session is in storage.
        let stored: Option<Session> = browser::stored(SESSION_KEY).and_then(|text| serde_json::from_str(&text).ok());
        let Some(current) = stored.or_else(|| self.session.get_untracked()) else {
            return Err(ApiError::SignedOut);
        };
        if current.access_expires - browser::now_seconds() > REFRESH_MARGIN_SECONDS
            && Some(&current.access_token) != self.session.get_untracked().as_ref().map(|s| &s.access_token)
        {
            let token = current.access_token.clone();
            self.session.set(Some(current));
            return Ok(token);
        }
        REFRESHING.set(true);
        let request = v1::RefreshSessionRequest { refresh_token: current.refresh_token.clone() };
        let answer = AccountServiceClient::new(self.client()).refresh_session(request).await;
        REFRESHING.set(false);
        match answer {
            Ok(answer) => {
                let fresh = answer.into_inner().session.ok_or_else(|| ApiError::Failed("empty answer".into()))?;
                let session = Session {
                    access_token: fresh.access_token,
                    access_expires: fresh.access_token_expire_time.map_or(0, |t| t.seconds),
                    refresh_token: fresh.refresh_token,
                    ..current
                };
                let token = session.access_token.clone();
                self.set_session(Some(session));
                Ok(token)
            }
            Err(status) => {
                let error = ApiError::from(status);
                if error != ApiError::Offline {
                    self.forget_session();
                }
                Err(error)
            }
        }
    }

    fn authorized<M>(message: M, token: &str) -> tonic::Request<M> {
        let mut request = tonic::Request::new(message);
        if let Ok(value) = format!("Bearer {token}").parse() {
            request.metadata_mut().insert("authorization", value);
        }
        request
    }

    /// Calls with the bearer token; on UNAUTHENTICATED refreshes once and retries.
    async fn call<M, R, F, Fut>(&self, message: M, rpc: F) -> ApiResult<R>
    where
        M: Clone,
        F: Fn(Client, tonic::Request<M>) -> Fut,
        Fut: Future<Output = Result<tonic::Response<R>, Status>>,
    {
        let token = self.access_token().await?;
        match rpc(self.client(), Self::authorized(message.clone(), &token)).await {
            Ok(response) => Ok(response.into_inner()),
            Err(status) if status.code() == Code::Unauthenticated => {
                let token = self.refresh().await?;
                rpc(self.client(), Self::authorized(message, &token)).await.map(tonic::Response::into_inner).map_err(
                    |status| {
                        let error = ApiError::from(status);
                        if error == ApiError::SignedOut {
                            self.forget_session();
                        }
                        error
                    },
                )
            }
            Err(status) => Err(status.into()),
        }
    }

    // ---- accounts ----

    pub async fn sign_up(&self, email: String, password: String, display_name: String) -> ApiResult<Session> {
        let request = v1::SignUpRequest { email, password, display_name };
        let answer = AccountServiceClient::new(self.client()).sign_up(request).await?.into_inner();
        self.start_session(answer.user, answer.session)
    }

    pub async fn sign_in(&self, email: String, password: String) -> ApiResult<Session> {
        let request = v1::SignInRequest { email, password };
        let answer = AccountServiceClient::new(self.client()).sign_in(request).await?.into_inner();
        self.start_session(answer.user, answer.session)
    }

    /// Ends the session on the server (best effort) and here.
    pub async fn sign_out(&self) {
        let _ = self
            .call(v1::SignOutRequest {}, |c, r| async move { AccountServiceClient::new(c).sign_out(r).await })
            .await;
        self.forget_session();
    }

    pub async fn create_api_token(&self, token: v1::ApiToken) -> ApiResult<v1::CreateApiTokenResponse> {
        let request = v1::CreateApiTokenRequest { api_token: Some(token) };
        self.call(request, |c, r| async move { AccountServiceClient::new(c).create_api_token(r).await }).await
    }

    pub async fn list_api_tokens(&self) -> ApiResult<Vec<v1::ApiToken>> {
        let request = v1::ListApiTokensRequest { page_size: 200, page_token: String::new() };
        let answer =
            self.call(request, |c, r| async move { AccountServiceClient::new(c).list_api_tokens(r).await }).await?;
        Ok(answer.api_tokens)
    }

    pub async fn revoke_api_token(&self, name: String) -> ApiResult<v1::ApiToken> {
        let request = v1::RevokeApiTokenRequest { name };
        self.call(request, |c, r| async move { AccountServiceClient::new(c).revoke_api_token(r).await }).await
    }

    // ---- projects ----

    pub async fn list_projects(&self, show_archived: bool) -> ApiResult<Vec<v1::Project>> {
        let request = v1::ListProjectsRequest { page_size: 200, page_token: String::new(), show_archived };
        let answer =
            self.call(request, |c, r| async move { ProjectServiceClient::new(c).list_projects(r).await }).await?;
        Ok(answer.projects)
    }

    pub async fn create_project(&self, title: String, description: String) -> ApiResult<v1::Project> {
        let project = v1::Project { title, description, ..Default::default() };
        let request = v1::CreateProjectRequest { project: Some(project), request_id: browser::uuid() };
        self.call(request, |c, r| async move { ProjectServiceClient::new(c).create_project(r).await }).await
    }

    pub async fn get_project(&self, name: String) -> ApiResult<v1::Project> {
        let request = v1::GetProjectRequest { name };
        self.call(request, |c, r| async move { ProjectServiceClient::new(c).get_project(r).await }).await
    }

    pub async fn list_members(&self, parent: String) -> ApiResult<Vec<v1::Member>> {
        let request = v1::ListMembersRequest { parent, page_size: 200, page_token: String::new() };
        let answer =
            self.call(request, |c, r| async move { ProjectServiceClient::new(c).list_members(r).await }).await?;
        Ok(answer.members)
    }

    pub async fn add_member(&self, parent: String, email: String, role: v1::Role) -> ApiResult<v1::Member> {
        let member = v1::Member { email, role: role as i32, ..Default::default() };
        let request = v1::AddMemberRequest { parent, member: Some(member) };
        self.call(request, |c, r| async move { ProjectServiceClient::new(c).add_member(r).await }).await
    }

    pub async fn update_member_role(&self, name: String, role: i32) -> ApiResult<v1::Member> {
        let member = v1::Member { name, role, ..Default::default() };
        let request = v1::UpdateMemberRequest { member: Some(member), update_mask: fmask(vec!["role".into()]) };
        self.call(request, |c, r| async move { ProjectServiceClient::new(c).update_member(r).await }).await
    }

    pub async fn remove_member(&self, name: String) -> ApiResult<()> {
        let request = v1::RemoveMemberRequest { name };
        self.call(request, |c, r| async move { ProjectServiceClient::new(c).remove_member(r).await }).await?;
        Ok(())
    }

    // ---- tasks ----

    pub async fn list_tasks(
        &self,
        parent: String,
        filter: String,
        order_by: String,
        page_size: i32,
        page_token: String,
    ) -> ApiResult<v1::ListTasksResponse> {
        let request = v1::ListTasksRequest { parent, page_size, page_token, filter, order_by, show_deleted: false };
        self.call(request, |c, r| async move { TaskServiceClient::new(c).list_tasks(r).await }).await
    }

    pub async fn get_task(&self, name: String) -> ApiResult<v1::Task> {
        let request = v1::GetTaskRequest { name };
        self.call(request, |c, r| async move { TaskServiceClient::new(c).get_task(r).await }).await
    }

    pub async fn create_task(&self, parent: String, task: v1::Task) -> ApiResult<v1::Task> {
        let request = v1::CreateTaskRequest { parent, task: Some(task), request_id: browser::uuid() };
        self.call(request, |c, r| async move { TaskServiceClient::new(c).create_task(r).await }).await
    }

    pub async fn update_task(&self, task: v1::Task, mask: Vec<String>) -> ApiResult<v1::Task> {
        let request = v1::UpdateTaskRequest { task: Some(task), update_mask: fmask(mask) };
        self.call(request, |c, r| async move { TaskServiceClient::new(c).update_task(r).await }).await
    }

    pub async fn delete_task(&self, name: String, etag: String) -> ApiResult<v1::Task> {
        let request = v1::DeleteTaskRequest { name, etag };
        self.call(request, |c, r| async move { TaskServiceClient::new(c).delete_task(r).await }).await
    }

    pub async fn undelete_task(&self, name: String) -> ApiResult<v1::Task> {
        let request = v1::UndeleteTaskRequest { name };
        self.call(request, |c, r| async move { TaskServiceClient::new(c).undelete_task(r).await }).await
    }

    pub async fn move_task(&self, name: String, status: i32, after_task: String) -> ApiResult<v1::Task> {
        let request = v1::MoveTaskRequest { name, status, after_task, etag: String::new(), state: String::new() };
        self.call(request, |c, r| async move { TaskServiceClient::new(c).move_task(r).await }).await
    }

    pub async fn watch_tasks(&self, parent: String, cursor: String) -> ApiResult<Streaming<v1::WatchTasksResponse>> {
        let request = v1::WatchTasksRequest { parent, cursor };
        self.call(request, |c, r| async move { TaskServiceClient::new(c).watch_tasks(r).await }).await
    }

    pub async fn create_comment(&self, parent: String, body: String) -> ApiResult<v1::Comment> {
        let comment = v1::Comment { body, ..Default::default() };
        let request = v1::CreateCommentRequest { parent, comment: Some(comment) };
        self.call(request, |c, r| async move { TaskServiceClient::new(c).create_comment(r).await }).await
    }

    pub async fn list_comments(&self, parent: String) -> ApiResult<Vec<v1::Comment>> {
        let request = v1::ListCommentsRequest { parent, page_size: 200, page_token: String::new() };
        let answer = self.call(request, |c, r| async move { TaskServiceClient::new(c).list_comments(r).await }).await?;
        Ok(answer.comments)
    }

    pub async fn list_activities(&self, parent: String) -> ApiResult<Vec<v1::TaskActivity>> {
        let request = v1::ListTaskActivitiesRequest { parent, page_size: 200, page_token: String::new() };
        let answer =
            self.call(request, |c, r| async move { TaskServiceClient::new(c).list_task_activities(r).await }).await?;
        Ok(answer.activities)
    }
}
