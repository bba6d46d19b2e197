//! The app's only I/O module: the generated gRPC clients over gRPC-web, the
//! session (bearer token, refresh), and errors as the UI shows them.

use std::{cell::Cell, future::Future};

use leptos::prelude::*;
use prost::Message;
use tasktracker_proto::v1;

use super::grpc_web::{self, Code, Status};
use super::{browser, zone};
pub use crate::model::session::Session;
use crate::{
    model::{names, violations},
    rpc::{self, Method},
};

const SESSION_KEY: &str = "tasktracker.session";
/// Refresh this long before the access token expires.
const REFRESH_MARGIN_SECONDS: i64 = 60;

thread_local! {
    /// One refresh at a time: the refresh token rotates, and presenting an
    /// old one revokes the session.
    static REFRESHING: Cell<bool> = const { Cell::new(false) };
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
    /// FAILED_PRECONDITION or ALREADY_EXISTS naming no field: a rule or
    /// what exists refuses the change (open blockers, a relation made twice);
    /// the server's message says which.
    Refused(String),
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
            Self::Refused(message) => write!(f, "Not possible: {message}"),
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
                let fields: Vec<_> = violations::field_violations(status.details())
                    .into_iter()
                    .map(|(field, description)| (names::form_field(&field).to_owned(), description))
                    .collect();
                let refused = matches!(status.code(), Code::FailedPrecondition | Code::AlreadyExists);
                if refused && fields.is_empty() {
                    Self::Refused(status.message().to_owned())
                } else {
                    Self::Invalid(status.message().to_owned(), fields)
                }
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

/// Decodes an answer; a malformed one is `INVALID_ARGUMENT`, as the shared
/// codec (`tasktracker_proto::codec`) reports it.
fn decode<R: Message + Default>(bytes: Vec<u8>) -> Result<R, Status> {
    R::decode(bytes.as_slice())
        .map_err(|error| Status::new(Code::InvalidArgument, format!("the message does not decode: {error}")))
}

/// The answers of `WatchTasks`, as they arrive.
pub struct TaskWatch(grpc_web::Stream);

impl TaskWatch {
    /// The next answer; `None` when the server ended the stream.
    pub async fn message(&mut self) -> Result<Option<v1::WatchTasksResponse>, Status> {
        match self.0.message().await? {
            Some(bytes) => decode(bytes).map(Some),
            None => Ok(None),
        }
    }
}

/// The answers of `WatchNotifications`, as they arrive.
pub struct NotificationWatch(grpc_web::Stream);

impl NotificationWatch {
    /// The next answer; `None` when the server ended the stream.
    pub async fn message(&mut self) -> Result<Option<v1::WatchNotificationsResponse>, Status> {
        match self.0.message().await? {
            Some(bytes) => decode(bytes).map(Some),
            None => Ok(None),
        }
    }
}

impl Api {
    /// A client for `base_url`, resuming a stored session.
    pub fn new(base_url: String) -> Self {
        let session = browser::stored(SESSION_KEY).and_then(|text| Session::from_json(&text));
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

    /// One unary call of encoded messages. Not generic: every method shares it.
    async fn unary(&self, path: &'static str, body: Vec<u8>, token: Option<&str>) -> Result<Vec<u8>, Status> {
        grpc_web::unary(&self.base_url.get_value(), path, &body, token).await
    }

    /// A call that needs no session (signing up or in, refreshing).
    async fn call_anonymous<M: Message, R: Message + Default>(
        &self,
        method: Method<M, R>,
        message: M,
    ) -> Result<R, Status> {
        decode(self.unary(method.path(), message.encode_to_vec(), None).await?)
    }

    fn set_session(&self, session: Option<Session>) {
        let text = session.as_ref().map(Session::to_json);
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
        zone::choose(&user.time_zone);
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
        let stored: Option<Session> = browser::stored(SESSION_KEY).and_then(|text| Session::from_json(&text));
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
        let answer = self.call_anonymous(rpc::REFRESH_SESSION, request).await;
        REFRESHING.set(false);
        match answer {
            Ok(answer) => {
                let fresh = answer.session.ok_or_else(|| ApiError::Failed("empty answer".into()))?;
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

    /// Calls `send` with the bearer token; on UNAUTHENTICATED refreshes once
    /// and retries. Instantiated twice (unary calls and the watch stream).
    async fn authorized<T, F, Fut>(&self, send: F) -> ApiResult<T>
    where
        F: Fn(String) -> Fut,
        Fut: Future<Output = Result<T, Status>>,
    {
        let token = self.access_token().await?;
        match send(token).await {
            Ok(answer) => Ok(answer),
            Err(status) if status.code() == Code::Unauthenticated => {
                let token = self.refresh().await?;
                send(token).await.map_err(|status| {
                    let error = ApiError::from(status);
                    if error == ApiError::SignedOut {
                        self.forget_session();
                    }
                    error
                })
            }
            Err(status) => Err(status.into()),
        }
    }

    /// One unary call with the session. Not generic: every method shares it.
    async fn call_raw(&self, path: &'static str, body: Vec<u8>) -> ApiResult<Vec<u8>> {
        self.authorized(|token| {
            let body = body.clone();
            async move { self.unary(path, body, Some(&token)).await }
        })
        .await
    }

    /// Calls `method` with the session.
    async fn call<M: Message, R: Message + Default>(&self, method: Method<M, R>, message: M) -> ApiResult<R> {
        Ok(decode(self.call_raw(method.path(), message.encode_to_vec()).await?)?)
    }

    // ---- accounts ----

    pub async fn sign_up(&self, email: String, password: String, display_name: String) -> ApiResult<Session> {
        let request = v1::SignUpRequest { email, password, display_name };
        let answer = self.call_anonymous(rpc::SIGN_UP, request).await?;
        self.start_session(answer.user, answer.session)
    }

    /// Signs in, or returns the challenge to answer with a second factor
    /// ([`Self::verify_second_factor`]).
    pub async fn sign_in(&self, email: String, password: String) -> ApiResult<Option<String>> {
        let request = v1::SignInRequest { email, password };
        let answer = self.call_anonymous(rpc::SIGN_IN, request).await?;
        if !answer.second_factor_challenge.is_empty() {
            return Ok(Some(answer.second_factor_challenge));
        }
        self.start_session(answer.user, answer.session).map(|_| None)
    }

    /// The identity providers offered for single sign-on.
    pub async fn identity_providers(&self) -> ApiResult<Vec<v1::IdentityProvider>> {
        let answer = self.call_anonymous(rpc::LIST_IDENTITY_PROVIDERS, v1::ListIdentityProvidersRequest {}).await?;
        Ok(answer.identity_providers)
    }

    /// Starts signing in with `provider`: the URL to send the browser to.
    pub async fn start_oidc_sign_in(&self, provider: String, redirect_uri: String) -> ApiResult<String> {
        let request = v1::StartOidcSignInRequest { provider, redirect_uri };
        Ok(self.call_anonymous(rpc::START_OIDC_SIGN_IN, request).await?.authorization_url)
    }

    /// Completes a single sign-on with what the provider sent back, as
    /// [`Self::sign_in`] does: `Some(challenge)` if a second factor is asked for.
    pub async fn complete_oidc_sign_in(&self, state: String, code: String) -> ApiResult<Option<String>> {
        let request = v1::CompleteOidcSignInRequest { state, code };
        let answer = self.call_anonymous(rpc::COMPLETE_OIDC_SIGN_IN, request).await?;
        if !answer.second_factor_challenge.is_empty() {
            return Ok(Some(answer.second_factor_challenge));
        }
        self.start_session(answer.user, answer.session).map(|_| None)
    }

    pub async fn verify_second_factor(&self, challenge: String, code: String) -> ApiResult<Session> {
        let request = v1::VerifySecondFactorRequest { challenge, code };
        let answer = self.call_anonymous(rpc::VERIFY_SECOND_FACTOR, request).await?;
        self.start_session(answer.user, answer.session)
    }

    /// The signed-in user; their time zone becomes the app's.
    pub async fn current_user(&self) -> ApiResult<v1::User> {
        let user: v1::User = self.call(rpc::GET_CURRENT_USER, v1::GetCurrentUserRequest {}).await?;
        zone::choose(&user.time_zone);
        Ok(user)
    }

    /// Saves the profile's display name and time zone, and shows them at once.
    pub async fn update_profile(&self, display_name: String, time_zone: String) -> ApiResult<v1::User> {
        let request = v1::UpdateCurrentUserRequest {
            user: Some(v1::User { display_name, time_zone, ..Default::default() }),
            update_mask: Some(prost_types::FieldMask { paths: vec!["display_name".into(), "time_zone".into()] }),
        };
        let user: v1::User = self.call(rpc::UPDATE_CURRENT_USER, request).await?;
        zone::choose(&user.time_zone);
        if let Some(session) = self.session.get_untracked() {
            self.set_session(Some(Session { display_name: user.display_name.clone(), ..session }));
        }
        Ok(user)
    }

    pub async fn begin_totp(&self) -> ApiResult<v1::BeginTotpEnrollmentResponse> {
        self.call(rpc::BEGIN_TOTP, v1::BeginTotpEnrollmentRequest {}).await
    }

    /// Turns two-factor authentication on; the recovery codes.
    pub async fn confirm_totp(&self, code: String) -> ApiResult<Vec<String>> {
        Ok(self.call(rpc::CONFIRM_TOTP, v1::ConfirmTotpEnrollmentRequest { code }).await?.recovery_codes)
    }

    pub async fn disable_totp(&self, password: String) -> ApiResult<()> {
        self.call(rpc::DISABLE_TOTP, v1::DisableTotpRequest { code: String::new(), password }).await?;
        Ok(())
    }

    /// Ends the session on the server (best effort) and here.
    pub async fn sign_out(&self) {
        let _ = self.call(rpc::SIGN_OUT, v1::SignOutRequest {}).await;
        self.forget_session();
    }

    pub async fn create_api_token(&self, token: v1::ApiToken) -> ApiResult<v1::CreateApiTokenResponse> {
        let request = v1::CreateApiTokenRequest { api_token: Some(token) };
        self.call(rpc::CREATE_API_TOKEN, request).await
    }

    pub async fn list_api_tokens(&self) -> ApiResult<Vec<v1::ApiToken>> {
        let request = v1::ListApiTokensRequest { page_size: 200, page_token: String::new() };
        let answer = self.call(rpc::LIST_API_TOKENS, request).await?;
        Ok(answer.api_tokens)
    }

    pub async fn revoke_api_token(&self, name: String) -> ApiResult<v1::ApiToken> {
        let request = v1::RevokeApiTokenRequest { name };
        self.call(rpc::REVOKE_API_TOKEN, request).await
    }

    pub async fn list_sessions(&self) -> ApiResult<Vec<v1::UserSession>> {
        let request = v1::ListSessionsRequest { page_size: 200, page_token: String::new() };
        let answer = self.call(rpc::LIST_SESSIONS, request).await?;
        Ok(answer.sessions)
    }

    pub async fn revoke_session(&self, name: String) -> ApiResult<()> {
        let request = v1::RevokeSessionRequest { name };
        self.call(rpc::REVOKE_SESSION, request).await?;
        Ok(())
    }

    // ---- projects ----

    pub async fn list_projects(&self, show_archived: bool) -> ApiResult<Vec<v1::Project>> {
        let request = v1::ListProjectsRequest { page_size: 200, page_token: String::new(), show_archived };
        let answer = self.call(rpc::LIST_PROJECTS, request).await?;
        Ok(answer.projects)
    }

    pub async fn create_project(&self, title: String, description: String) -> ApiResult<v1::Project> {
        let project = v1::Project { title, description, ..Default::default() };
        let request = v1::CreateProjectRequest { project: Some(project), request_id: browser::uuid() };
        self.call(rpc::CREATE_PROJECT, request).await
    }

    pub async fn get_project(&self, name: String) -> ApiResult<v1::Project> {
        let request = v1::GetProjectRequest { name };
        self.call(rpc::GET_PROJECT, request).await
    }

    pub async fn list_members(&self, parent: String) -> ApiResult<Vec<v1::Member>> {
        let request = v1::ListMembersRequest { parent, page_size: 200, page_token: String::new() };
        let answer = self.call(rpc::LIST_MEMBERS, request).await?;
        Ok(answer.members)
    }

    pub async fn create_invitation(&self, parent: String, email: String, role: v1::Role) -> ApiResult<v1::Invitation> {
        let invitation = v1::Invitation { email, role: role as i32, ..Default::default() };
        let request = v1::CreateInvitationRequest { parent, invitation: Some(invitation) };
        self.call(rpc::CREATE_INVITATION, request).await
    }

    pub async fn list_invitations(&self, parent: String) -> ApiResult<Vec<v1::Invitation>> {
        let request = v1::ListInvitationsRequest { parent, page_size: 200, page_token: String::new() };
        let answer = self.call(rpc::LIST_INVITATIONS, request).await?;
        Ok(answer.invitations)
    }

    pub async fn revoke_invitation(&self, name: String) -> ApiResult<v1::Invitation> {
        self.call(rpc::REVOKE_INVITATION, v1::RevokeInvitationRequest { name }).await
    }

    pub async fn list_my_invitations(&self) -> ApiResult<Vec<v1::Invitation>> {
        let request = v1::ListMyInvitationsRequest { page_size: 200, page_token: String::new() };
        let answer = self.call(rpc::LIST_MY_INVITATIONS, request).await?;
        Ok(answer.invitations)
    }

    pub async fn accept_invitation(&self, name: String) -> ApiResult<v1::AcceptInvitationResponse> {
        self.call(rpc::ACCEPT_INVITATION, v1::AcceptInvitationRequest { name }).await
    }

    pub async fn decline_invitation(&self, name: String) -> ApiResult<v1::Invitation> {
        self.call(rpc::DECLINE_INVITATION, v1::DeclineInvitationRequest { name }).await
    }

    pub async fn update_member_role(&self, name: String, role: i32) -> ApiResult<v1::Member> {
        let member = v1::Member { name, role, ..Default::default() };
        let request = v1::UpdateMemberRequest { member: Some(member), update_mask: fmask(vec!["role".into()]) };
        self.call(rpc::UPDATE_MEMBER, request).await
    }

    pub async fn remove_member(&self, name: String) -> ApiResult<()> {
        let request = v1::RemoveMemberRequest { name };
        self.call(rpc::REMOVE_MEMBER, request).await?;
        Ok(())
    }

    pub async fn update_project(&self, project: v1::Project, mask: Vec<String>) -> ApiResult<v1::Project> {
        let request = v1::UpdateProjectRequest { project: Some(project), update_mask: fmask(mask) };
        self.call(rpc::UPDATE_PROJECT, request).await
    }

    // ---- workflow states ----

    /// The project's states in board order (archived ones too, if asked).
    pub async fn list_states(&self, parent: String, show_archived: bool) -> ApiResult<Vec<v1::WorkflowState>> {
        let request = v1::ListWorkflowStatesRequest { parent, show_archived };
        Ok(self.call(rpc::LIST_WORKFLOW_STATES, request).await?.states)
    }

    pub async fn create_state(&self, parent: String, state: v1::WorkflowState) -> ApiResult<v1::WorkflowState> {
        let request = v1::CreateWorkflowStateRequest { parent, state: Some(state) };
        self.call(rpc::CREATE_WORKFLOW_STATE, request).await
    }

    pub async fn update_state(&self, state: v1::WorkflowState, mask: Vec<String>) -> ApiResult<v1::WorkflowState> {
        let request = v1::UpdateWorkflowStateRequest { state: Some(state), update_mask: fmask(mask) };
        self.call(rpc::UPDATE_WORKFLOW_STATE, request).await
    }

    /// Places a state right after `after_state` (empty: first).
    pub async fn move_state(&self, name: String, after_state: String) -> ApiResult<v1::WorkflowState> {
        let request = v1::MoveWorkflowStateRequest { name, after_state, etag: String::new() };
        self.call(rpc::MOVE_WORKFLOW_STATE, request).await
    }

    /// Deletes a state, moving its tasks to `move_tasks_to`; answers how many moved.
    pub async fn delete_state(&self, name: String, move_tasks_to: String) -> ApiResult<i32> {
        let request = v1::DeleteWorkflowStateRequest { name, move_tasks_to, etag: String::new() };
        Ok(self.call(rpc::DELETE_WORKFLOW_STATE, request).await?.moved_tasks)
    }

    // ---- custom fields ----

    /// The project's custom fields in order (all of them: at most 50).
    pub async fn list_fields(&self, parent: String) -> ApiResult<Vec<v1::CustomField>> {
        Ok(self.call(rpc::LIST_CUSTOM_FIELDS, v1::ListCustomFieldsRequest { parent }).await?.fields)
    }

    pub async fn create_field(&self, parent: String, field: v1::CustomField) -> ApiResult<v1::CustomField> {
        let request = v1::CreateCustomFieldRequest { parent, field: Some(field) };
        self.call(rpc::CREATE_CUSTOM_FIELD, request).await
    }

    pub async fn update_field(&self, field: v1::CustomField, mask: Vec<String>) -> ApiResult<v1::CustomField> {
        let request = v1::UpdateCustomFieldRequest { field: Some(field), update_mask: fmask(mask) };
        self.call(rpc::UPDATE_CUSTOM_FIELD, request).await
    }

    /// Deletes a field and every task's value of it; answers how many tasks
    /// lost theirs.
    pub async fn delete_field(&self, name: String, etag: String) -> ApiResult<i32> {
        let request = v1::DeleteCustomFieldRequest { name, etag };
        Ok(self.call(rpc::DELETE_CUSTOM_FIELD, request).await?.cleared_tasks)
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
        self.call(rpc::LIST_TASKS, request).await
    }

    /// The first page of `SearchTasks` for `query` across every project.
    pub async fn search_tasks(&self, query: String, page_size: i32) -> ApiResult<v1::SearchTasksResponse> {
        let request = v1::SearchTasksRequest { query, page_size, ..Default::default() };
        self.call(rpc::SEARCH_TASKS, request).await
    }

    pub async fn get_task(&self, name: String) -> ApiResult<v1::Task> {
        let request = v1::GetTaskRequest { name };
        self.call(rpc::GET_TASK, request).await
    }

    pub async fn create_task(&self, parent: String, task: v1::Task) -> ApiResult<v1::Task> {
        let request = v1::CreateTaskRequest { parent, task: Some(task), request_id: browser::uuid() };
        self.call(rpc::CREATE_TASK, request).await
    }

    pub async fn update_task(&self, task: v1::Task, mask: Vec<String>) -> ApiResult<v1::Task> {
        let request = v1::UpdateTaskRequest { task: Some(task), update_mask: fmask(mask) };
        self.call(rpc::UPDATE_TASK, request).await
    }

    /// Updates this occurrence of a recurring task only: the next ones keep
    /// the series' values.
    pub async fn update_occurrence(&self, task: v1::Task, mask: Vec<String>) -> ApiResult<v1::Task> {
        let request = v1::UpdateOccurrenceRequest { task: Some(task), update_mask: fmask(mask) };
        self.call(rpc::UPDATE_OCCURRENCE, request).await
    }

    /// Skips the open occurrence `name` of a recurring task; the answer
    /// carries the next one.
    pub async fn skip_occurrence(&self, name: String) -> ApiResult<v1::SkipOccurrenceResponse> {
        let request = v1::SkipOccurrenceRequest { name, etag: String::new() };
        self.call(rpc::SKIP_OCCURRENCE, request).await
    }

    /// The newest occurrences (up to 50) of the series `task` belongs to.
    pub async fn list_occurrences(&self, task: String) -> ApiResult<v1::ListOccurrencesResponse> {
        let request = v1::ListOccurrencesRequest { task, ..Default::default() };
        self.call(rpc::LIST_OCCURRENCES, request).await
    }

    pub async fn delete_task(&self, name: String, etag: String) -> ApiResult<v1::Task> {
        let request = v1::DeleteTaskRequest { name, etag };
        self.call(rpc::DELETE_TASK, request).await
    }

    /// Updates several tasks of `parent` at once, all or nothing.
    pub async fn batch_update_tasks(
        &self,
        parent: String,
        requests: Vec<v1::UpdateTaskRequest>,
    ) -> ApiResult<Vec<v1::Task>> {
        let request = v1::BatchUpdateTasksRequest { parent, requests };
        Ok(self.call(rpc::BATCH_UPDATE_TASKS, request).await?.tasks)
    }

    /// Deletes several tasks of `parent` (name and etag) at once, all or nothing.
    pub async fn batch_delete_tasks(&self, parent: String, tasks: Vec<(String, String)>) -> ApiResult<Vec<v1::Task>> {
        let requests = tasks.into_iter().map(|(name, etag)| v1::DeleteTaskRequest { name, etag }).collect();
        let request = v1::BatchDeleteTasksRequest { parent, requests };
        Ok(self.call(rpc::BATCH_DELETE_TASKS, request).await?.tasks)
    }

    pub async fn undelete_task(&self, name: String) -> ApiResult<v1::Task> {
        let request = v1::UndeleteTaskRequest { name };
        self.call(rpc::UNDELETE_TASK, request).await
    }

    /// Moves a task into `state` (a workflow state of its project), right
    /// after `after_task` (empty: at the top).
    pub async fn move_task(&self, name: String, state: String, after_task: String) -> ApiResult<v1::Task> {
        let request = v1::MoveTaskRequest { name, status: 0, after_task, etag: String::new(), state };
        self.call(rpc::MOVE_TASK, request).await
    }

    pub async fn watch_tasks(&self, parent: String, cursor: String) -> ApiResult<TaskWatch> {
        let body = v1::WatchTasksRequest { parent, cursor }.encode_to_vec();
        self.authorized(|token| {
            let body = body.clone();
            async move {
                let url = self.base_url.get_value();
                let stream = grpc_web::server_streaming(&url, rpc::WATCH_TASKS.path(), &body, Some(&token)).await?;
                Ok(TaskWatch(stream))
            }
        })
        .await
    }

    /// The caller's notifications, newest first, with the unread counts.
    pub async fn list_notifications(
        &self,
        request: v1::ListNotificationsRequest,
    ) -> ApiResult<v1::ListNotificationsResponse> {
        self.call(rpc::LIST_NOTIFICATIONS, request).await
    }

    /// Marks notifications read (or unread): by name, or up to a cursor.
    pub async fn mark_notifications_read(
        &self,
        names: Vec<String>,
        up_to_cursor: String,
        unread: bool,
    ) -> ApiResult<v1::MarkNotificationsReadResponse> {
        let request = v1::MarkNotificationsReadRequest { names, up_to_cursor, unread };
        self.call(rpc::MARK_NOTIFICATIONS_READ, request).await
    }

    /// Hides a notification until `until` (seconds since the epoch).
    pub async fn snooze_notification(&self, name: String, until: i64) -> ApiResult<v1::Notification> {
        let snooze_time = Some(prost_types::Timestamp { seconds: until, nanos: 0 });
        self.call(rpc::SNOOZE_NOTIFICATION, v1::SnoozeNotificationRequest { name, snooze_time }).await
    }

    pub async fn watch_notifications(&self, cursor: String) -> ApiResult<NotificationWatch> {
        let body = v1::WatchNotificationsRequest { cursor }.encode_to_vec();
        self.authorized(|token| {
            let body = body.clone();
            async move {
                let url = self.base_url.get_value();
                let stream =
                    grpc_web::server_streaming(&url, rpc::WATCH_NOTIFICATIONS.path(), &body, Some(&token)).await?;
                Ok(NotificationWatch(stream))
            }
        })
        .await
    }

    pub async fn task_subscription(&self, task: String) -> ApiResult<v1::TaskSubscription> {
        self.call(rpc::GET_TASK_SUBSCRIPTION, v1::GetTaskSubscriptionRequest { task }).await
    }

    /// Follows `task` (or stops following it).
    pub async fn set_task_subscription(&self, task: String, subscribed: bool) -> ApiResult<v1::TaskSubscription> {
        if subscribed {
            self.call(rpc::SUBSCRIBE_TASK, v1::SubscribeTaskRequest { task }).await
        } else {
            self.call(rpc::UNSUBSCRIBE_TASK, v1::UnsubscribeTaskRequest { task }).await
        }
    }

    /// The signed-in user's notification settings.
    pub async fn notification_settings(&self) -> ApiResult<v1::NotificationSettings> {
        let name = format!("{}/notificationSettings", self.session().map(|s| s.user).unwrap_or_default());
        self.call(rpc::GET_NOTIFICATION_SETTINGS, v1::GetNotificationSettingsRequest { name }).await
    }

    /// Sets the default reminder: `None` turns reminders off.
    pub async fn set_default_reminder(&self, lead_seconds: Option<i64>) -> ApiResult<v1::NotificationSettings> {
        let name = format!("{}/notificationSettings", self.session().map(|s| s.user).unwrap_or_default());
        let (paths, lead) = match lead_seconds {
            Some(seconds) => (vec!["reminder_lead".into(), "reminders_off".into()], Some(seconds)),
            None => (vec!["reminders_off".into()], None),
        };
        let settings = v1::NotificationSettings {
            name,
            reminder_lead: lead.map(|seconds| prost_types::Duration { seconds, nanos: 0 }),
            reminders_off: lead_seconds.is_none(),
            ..Default::default()
        };
        let request = v1::UpdateNotificationSettingsRequest { settings: Some(settings), update_mask: fmask(paths) };
        self.call(rpc::UPDATE_NOTIFICATION_SETTINGS, request).await
    }

    /// Sets how one notification kind is emailed (`v1::EmailDelivery`).
    pub async fn set_email_delivery(&self, kind: i32, delivery: i32) -> ApiResult<v1::NotificationSettings> {
        let name = format!("{}/notificationSettings", self.session().map(|s| s.user).unwrap_or_default());
        let settings = v1::NotificationSettings {
            name,
            email_preferences: vec![v1::EmailPreference { kind, delivery }],
            ..Default::default()
        };
        let mask = fmask(vec!["email_preferences".into()]);
        self.call(
            rpc::UPDATE_NOTIFICATION_SETTINGS,
            v1::UpdateNotificationSettingsRequest { settings: Some(settings), update_mask: mask },
        )
        .await
    }

    /// Turns email off as an email's unsubscribe link says: no session needed.
    pub async fn unsubscribe_email(&self, token: String) -> ApiResult<()> {
        self.call_anonymous(rpc::UNSUBSCRIBE_EMAIL, v1::UnsubscribeEmailRequest { token }).await?;
        Ok(())
    }

    pub async fn task_reminder(&self, task: String) -> ApiResult<v1::TaskReminder> {
        self.call(rpc::GET_TASK_REMINDER, v1::GetTaskReminderRequest { task }).await
    }

    /// Sets the caller's reminder for `task`: another lead time, `off`, or
    /// (`reset`) back to their defaults.
    pub async fn set_task_reminder(
        &self,
        task: String,
        lead_seconds: Option<i64>,
        off: bool,
        reset: bool,
    ) -> ApiResult<v1::TaskReminder> {
        let reminder = v1::TaskReminder {
            task,
            lead: lead_seconds.map(|seconds| prost_types::Duration { seconds, nanos: 0 }),
            off,
            overridden: false,
        };
        let request = v1::UpdateTaskReminderRequest { reminder: Some(reminder), reset };
        self.call(rpc::UPDATE_TASK_REMINDER, request).await
    }

    pub async fn create_comment(&self, parent: String, body: String) -> ApiResult<v1::Comment> {
        let comment = v1::Comment { body, ..Default::default() };
        let request = v1::CreateCommentRequest { parent, comment: Some(comment) };
        self.call(rpc::CREATE_COMMENT, request).await
    }

    /// A new body for `comment` (its author only), guarded by its etag.
    pub async fn update_comment(&self, comment: &v1::Comment, body: String) -> ApiResult<v1::Comment> {
        let comment =
            v1::Comment { name: comment.name.clone(), etag: comment.etag.clone(), body, ..Default::default() };
        let request = v1::UpdateCommentRequest { comment: Some(comment), update_mask: fmask(vec!["body".into()]) };
        self.call(rpc::UPDATE_COMMENT, request).await
    }

    pub async fn delete_comment(&self, comment: &v1::Comment) -> ApiResult<v1::Comment> {
        let request = v1::DeleteCommentRequest { name: comment.name.clone(), etag: comment.etag.clone() };
        self.call(rpc::DELETE_COMMENT, request).await
    }

    pub async fn list_comments(&self, parent: String) -> ApiResult<Vec<v1::Comment>> {
        let request = v1::ListCommentsRequest { parent, page_size: 200, ..Default::default() };
        let answer = self.call(rpc::LIST_COMMENTS, request).await?;
        Ok(answer.comments)
    }

    pub async fn list_activities(&self, parent: String) -> ApiResult<Vec<v1::TaskActivity>> {
        let request = v1::ListTaskActivitiesRequest { parent, page_size: 200, page_token: String::new() };
        let answer = self.call(rpc::LIST_TASK_ACTIVITIES, request).await?;
        Ok(answer.activities)
    }

    /// Markdown as the server renders it for display: sanitised HTML.
    pub async fn render_markdown(&self, markdown: String) -> ApiResult<String> {
        let answer = self.call(rpc::RENDER_MARKDOWN, v1::RenderMarkdownRequest { markdown }).await?;
        Ok(answer.html)
    }

    // ---- saved views ----

    /// The project's shared views and the caller's own.
    pub async fn list_saved_views(&self, parent: String) -> ApiResult<Vec<v1::SavedView>> {
        Ok(self.call(rpc::LIST_SAVED_VIEWS, v1::ListSavedViewsRequest { parent }).await?.saved_views)
    }

    pub async fn get_saved_view(&self, name: String) -> ApiResult<v1::SavedView> {
        self.call(rpc::GET_SAVED_VIEW, v1::GetSavedViewRequest { name }).await
    }

    pub async fn create_saved_view(&self, parent: String, view: v1::SavedView) -> ApiResult<v1::SavedView> {
        self.call(rpc::CREATE_SAVED_VIEW, v1::CreateSavedViewRequest { parent, saved_view: Some(view) }).await
    }

    pub async fn delete_saved_view(&self, view: &v1::SavedView) -> ApiResult<()> {
        let request = v1::DeleteSavedViewRequest { name: view.name.clone(), etag: view.etag.clone() };
        self.call(rpc::DELETE_SAVED_VIEW, request).await.map(|_| ())
    }

    // ---- task relations ----

    /// Relates the task `parent` to `relation.task`, seen from `parent`.
    pub async fn create_relation(&self, parent: String, relation: v1::TaskRelation) -> ApiResult<v1::TaskRelation> {
        let request = v1::CreateTaskRelationRequest { parent, task_relation: Some(relation) };
        self.call(rpc::CREATE_TASK_RELATION, request).await
    }

    /// The task's relations, both directions, oldest first (at most 200, the
    /// most a task can have).
    pub async fn list_relations(&self, parent: String) -> ApiResult<Vec<v1::TaskRelation>> {
        let request = v1::ListTaskRelationsRequest { parent, page_size: 200, page_token: String::new() };
        Ok(self.call(rpc::LIST_TASK_RELATIONS, request).await?.task_relations)
    }

    /// Deletes a relation, both sides.
    pub async fn delete_relation(&self, name: String) -> ApiResult<()> {
        self.call(rpc::DELETE_TASK_RELATION, v1::DeleteTaskRelationRequest { name }).await?;
        Ok(())
    }

    // ---- webhooks (owners) ----

    pub async fn list_webhooks(&self, parent: String) -> ApiResult<Vec<v1::Webhook>> {
        Ok(self.call(rpc::LIST_WEBHOOKS, v1::ListWebhooksRequest { parent }).await?.webhooks)
    }

    /// Creates a webhook; the answer alone carries its secret.
    pub async fn create_webhook(&self, parent: String, webhook: v1::Webhook) -> ApiResult<v1::Webhook> {
        self.call(rpc::CREATE_WEBHOOK, v1::CreateWebhookRequest { parent, webhook: Some(webhook) }).await
    }

    pub async fn update_webhook(&self, webhook: v1::Webhook, mask: Vec<String>) -> ApiResult<v1::Webhook> {
        let request = v1::UpdateWebhookRequest { webhook: Some(webhook), update_mask: fmask(mask) };
        self.call(rpc::UPDATE_WEBHOOK, request).await
    }

    pub async fn delete_webhook(&self, name: String, etag: String) -> ApiResult<()> {
        self.call(rpc::DELETE_WEBHOOK, v1::DeleteWebhookRequest { name, etag }).await.map(|_| ())
    }

    /// The webhook's latest deliveries (at most 50), newest first.
    pub async fn list_deliveries(&self, parent: String) -> ApiResult<Vec<v1::WebhookDelivery>> {
        let request = v1::ListWebhookDeliveriesRequest { parent, ..Default::default() };
        Ok(self.call(rpc::LIST_WEBHOOK_DELIVERIES, request).await?.deliveries)
    }

    pub async fn redeliver_webhook(&self, name: String) -> ApiResult<v1::WebhookDelivery> {
        self.call(rpc::REDELIVER_WEBHOOK, v1::RedeliverWebhookRequest { name }).await
    }
}
