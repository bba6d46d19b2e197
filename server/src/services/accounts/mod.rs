//! `tasktracker.v1.AccountService`.

mod commands;
mod device;
mod oidc;
mod two_factor;

use tasktracker_proto::v1::{self, account_service_server::AccountService};
use tonic::{Request, Response, Status};

use self::commands::{
    CreateApiToken, ListApiTokens, ListSessions, RefreshSession, RevokeApiToken, RevokeSession, SignIn, SignUp,
    UpdateCurrentUser,
};
use super::{SharedState, peer_ip};
use crate::{
    auth::{Caller, Permission, Scope, tokens},
    domain::{
        ApiTokenId, ProjectId, UserId,
        names::{ApiTokenName, SessionId, SessionName},
        time::{self, Micros, to_optional_timestamp, to_timestamp},
    },
    error::{ServiceError, ServiceResult},
    metrics::SignInResult,
    storage::{
        accounts::AccountStoreError,
        api_tokens::ApiTokenStoreError,
        entities::{api_tokens, sessions, users},
    },
};

impl From<AccountStoreError> for ServiceError {
    fn from(error: AccountStoreError) -> Self {
        match error {
            AccountStoreError::EmailTaken => Self::invalid("email", "an account with this email already exists"),
            AccountStoreError::Database(error) => error.into(),
        }
    }
}

impl From<ApiTokenStoreError> for ServiceError {
    fn from(error: ApiTokenStoreError) -> Self {
        match error {
            ApiTokenStoreError::Database(error) => error.into(),
        }
    }
}

pub struct Accounts {
    shared: SharedState,
}

/// What a session keeps of the client that opened it.
struct Client {
    user_agent: Option<String>,
    ip: Option<String>,
}

impl Client {
    fn of<T>(request: &Request<T>) -> Self {
        let user_agent = request
            .metadata()
            .get("user-agent")
            .and_then(|value| value.to_str().ok())
            .and_then(device::stored_user_agent);
        Self { user_agent, ip: peer_ip(request).map(|ip| ip.to_string()) }
    }
}

impl Accounts {
    pub fn new(shared: SharedState) -> Self {
        Self { shared }
    }

    /// Starts a session for `user` on `client`.
    async fn open_session(&self, user: UserId, client: Client) -> ServiceResult<v1::Session> {
        let now = time::now();
        let session = SessionId::generate();
        let refresh_token = tokens::random_secret();
        let expire_time = now + tokens::SESSION_LIFETIME;
        let refresh_expire_time = (now + tokens::REFRESH_IDLE_LIFETIME).min(expire_time);
        self.shared
            .accounts
            .insert_session(&sessions::Model {
                id: session.to_string(),
                user_id: user.to_string(),
                refresh_hash: tokens::digest(&refresh_token),
                refresh_expire_time,
                expire_time,
                create_time: now,
                revoke_time: None,
                user_agent: client.user_agent,
                client_ip: client.ip,
                last_seen_time: Some(now),
            })
            .await?;
        self.session_to_proto(user, session, refresh_token, refresh_expire_time, expire_time)
    }

    /// The session's credentials: a new access token, which expires by
    /// `session_expire_time` at the latest, and `refresh_token`.
    fn session_to_proto(
        &self,
        user: UserId,
        session: SessionId,
        refresh_token: String,
        refresh_expire_time: Micros,
        session_expire_time: Micros,
    ) -> ServiceResult<v1::Session> {
        let (access_token, access_expire) = self.shared.signer.issue(user, session, session_expire_time)?;
        Ok(v1::Session {
            access_token,
            access_token_expire_time: Some(to_timestamp(access_expire)),
            refresh_token,
            refresh_token_expire_time: Some(to_timestamp(refresh_expire_time)),
        })
    }
}

fn user_to_proto(user: users::Model) -> v1::User {
    v1::User {
        name: UserId::from_stored(&user.id).name(),
        email: user.email,
        display_name: user.display_name,
        create_time: Some(to_timestamp(user.create_time)),
        two_factor_enabled: false,
        time_zone: user.time_zone,
    }
}

/// One of the caller's sessions; `current` is the caller's own.
fn session_info_to_proto(row: sessions::Model, current: SessionId) -> v1::UserSession {
    let id = SessionId::from_stored(&row.id);
    let name = SessionName { user: UserId::from_stored(&row.user_id), session: id };
    let user_agent = row.user_agent.unwrap_or_default();
    v1::UserSession {
        name: name.to_string(),
        device: device::describe(&user_agent),
        user_agent,
        client_ip: row.client_ip.unwrap_or_default(),
        create_time: Some(to_timestamp(row.create_time)),
        last_seen_time: Some(to_timestamp(row.last_seen_time.unwrap_or(row.create_time))),
        expire_time: Some(to_timestamp(row.expire_time)),
        idle_expire_time: Some(to_timestamp(row.refresh_expire_time)),
        current: id == current,
    }
}

fn api_token_to_proto(token: api_tokens::Model) -> v1::ApiToken {
    let name = ApiTokenName { user: UserId::from_stored(&token.user_id), token: ApiTokenId::from_stored(&token.id) };
    v1::ApiToken {
        name: name.to_string(),
        display_name: token.display_name,
        scope: Scope::from_stored(token.scope).to_proto() as i32,
        project: token.project_id.as_deref().map(|id| ProjectId::from_stored(id).name()).unwrap_or_default(),
        create_time: Some(to_timestamp(token.create_time)),
        expire_time: Some(to_timestamp(token.expire_time)),
        last_use_time: to_optional_timestamp(token.last_use_time),
        revoke_time: to_optional_timestamp(token.revoke_time),
    }
}

#[tonic::async_trait]
impl AccountService for Accounts {
    async fn sign_up(&self, request: Request<v1::SignUpRequest>) -> Result<Response<v1::SignUpResponse>, Status> {
        let client = Client::of(&request);
        let SignUp { email, password, display_name } = request.into_inner().try_into()?;
        let password_hash =
            self.shared.hasher.hash(password.as_str().to_owned()).await.map_err(ServiceError::Internal)?;
        let user = users::Model {
            id: UserId::generate().to_string(),
            email: email.as_str().to_owned(),
            display_name: display_name.into_inner(),
            password_hash,
            create_time: time::now(),
            time_zone: String::new(),
        };
        self.shared.accounts.insert_user(&user).await.map_err(ServiceError::from)?;
        let session = self.open_session(UserId::from_stored(&user.id), client).await?;
        tracing::info!(user = %user.id, "signed up");
        Ok(Response::new(v1::SignUpResponse { user: Some(user_to_proto(user)), session: Some(session) }))
    }

    async fn sign_in(&self, request: Request<v1::SignInRequest>) -> Result<Response<v1::SignInResponse>, Status> {
        let peer = peer_ip(&request);
        let client = Client::of(&request);
        let SignIn { email, password } = request.into_inner().try_into()?;
        if !self.shared.sign_in_limiter.attempt(email.as_str(), peer) {
            tracing::warn!(?peer, "sign-in throttled");
            self.shared.metrics.sign_in(SignInResult::RateLimited);
            return Err(
                ServiceError::ResourceExhausted("too many sign-in attempts; wait a minute and try again").into()
            );
        }
        let user = self.shared.accounts.user_by_email(&email).await.map_err(ServiceError::from)?;
        let verified = self
            .shared
            .hasher
            .verify(password, user.as_ref().map(|user| user.password_hash.clone()))
            .await
            .map_err(ServiceError::Internal)?;
        let Some(user) = user.filter(|_| verified) else {
            self.shared.sign_in_limiter.failed(email.as_str(), peer);
            tracing::info!(?peer, "sign-in failed");
            self.shared.metrics.sign_in(SignInResult::Failure);
            return Err(ServiceError::Unauthenticated("wrong email or password").into());
        };
        let id = UserId::from_stored(&user.id);
        if self.shared.two_factor.enabled(id).await.map_err(ServiceError::from)? {
            return Ok(Response::new(self.second_factor_challenge(&user)?));
        }
        self.shared.sign_in_limiter.succeeded(email.as_str(), peer);
        let session = self.open_session(id, client).await?;
        tracing::info!(user = %user.id, "signed in");
        self.shared.metrics.sign_in(SignInResult::Success);
        Ok(Response::new(v1::SignInResponse {
            user: Some(user_to_proto(user)),
            session: Some(session),
            ..Default::default()
        }))
    }

    async fn refresh_session(
        &self,
        request: Request<v1::RefreshSessionRequest>,
    ) -> Result<Response<v1::RefreshSessionResponse>, Status> {
        const INVALID: ServiceError = ServiceError::Unauthenticated("invalid, expired or revoked refresh token");
        let client = Client::of(&request);
        let RefreshSession { refresh_token } = request.into_inner().try_into()?;
        let now = time::now();
        let old_hash = tokens::digest(&refresh_token);
        let accounts = &self.shared.accounts;
        let Some(session) = accounts.session_by_refresh_hash(&old_hash).await.map_err(ServiceError::from)? else {
            // A token its session already rotated away from: someone kept a
            // copy. Whoever holds the current one may be the thief, so the
            // session ends for both (refresh token reuse detection).
            if let Some(reused) = accounts.session_of_retired_hash(&old_hash).await.map_err(ServiceError::from)? {
                tracing::warn!(session = %reused, "refresh token reused: the session is revoked");
                accounts.revoke_session(reused, now).await.map_err(ServiceError::from)?;
                self.shared.revocations.revoke_session(reused, now);
            }
            return Err(INVALID.into());
        };
        if session.revoke_time.is_some() || session.refresh_expire_time <= now || session.expire_time <= now {
            return Err(INVALID.into());
        }
        let (user, id) = (UserId::from_stored(&session.user_id), SessionId::from_stored(&session.id));
        let new_token = tokens::random_secret();
        let refresh_expire_time = (now + tokens::REFRESH_IDLE_LIFETIME).min(session.expire_time);
        let new_hash = tokens::digest(&new_token);
        let rotated = accounts
            .rotate_refresh_hash(id, &old_hash, new_hash, (refresh_expire_time, now), client.ip)
            .await
            .map_err(ServiceError::from)?;
        if !rotated {
            return Err(INVALID.into());
        }
        let session = self.session_to_proto(user, id, new_token, refresh_expire_time, session.expire_time)?;
        Ok(Response::new(v1::RefreshSessionResponse { session: Some(session) }))
    }

    async fn sign_out(&self, request: Request<v1::SignOutRequest>) -> Result<Response<v1::SignOutResponse>, Status> {
        let caller = Caller::of(&request)?;
        let session = self.shared.authorizer.account(&caller)?;
        let now = time::now();
        self.shared.accounts.revoke_session(session, now).await.map_err(ServiceError::from)?;
        self.shared.revocations.revoke_session(session, now);
        Ok(Response::new(v1::SignOutResponse {}))
    }

    async fn get_current_user(
        &self,
        request: Request<v1::GetCurrentUserRequest>,
    ) -> Result<Response<v1::User>, Status> {
        let caller = Caller::of(&request)?;
        let user = self
            .shared
            .accounts
            .user(caller.user)
            .await
            .map_err(ServiceError::from)?
            .ok_or(ServiceError::Unauthenticated("the account no longer exists"))?;
        let two_factor_enabled = self.shared.two_factor.enabled(caller.user).await.map_err(ServiceError::from)?;
        Ok(Response::new(v1::User { two_factor_enabled, ..user_to_proto(user) }))
    }

    async fn update_current_user(
        &self,
        request: Request<v1::UpdateCurrentUserRequest>,
    ) -> Result<Response<v1::User>, Status> {
        let caller = Caller::of(&request)?;
        self.shared.authorizer.account(&caller)?;
        let UpdateCurrentUser { change } = request.into_inner().try_into()?;
        let user = self
            .shared
            .accounts
            .update_profile(caller.user, change)
            .await
            .map_err(ServiceError::from)?
            .ok_or(ServiceError::Unauthenticated("the account no longer exists"))?;
        let two_factor_enabled = self.shared.two_factor.enabled(caller.user).await.map_err(ServiceError::from)?;
        tracing::info!(user = %caller.user, "profile updated");
        Ok(Response::new(v1::User { two_factor_enabled, ..user_to_proto(user) }))
    }

    async fn create_api_token(
        &self,
        request: Request<v1::CreateApiTokenRequest>,
    ) -> Result<Response<v1::CreateApiTokenResponse>, Status> {
        let caller = Caller::of(&request)?;
        self.shared.authorizer.account(&caller)?;
        let command = CreateApiToken::try_from(request.into_inner())?;
        if let Some(project) = command.project {
            self.shared.authorizer.require(&caller, project, Permission::Read).await?;
        }
        let id = ApiTokenId::generate();
        let secret = tokens::random_secret();
        let token = api_tokens::Model {
            id: id.to_string(),
            user_id: caller.user.to_string(),
            display_name: command.display_name.into_inner(),
            scope: command.scope.to_proto() as i16,
            project_id: command.project.map(|project| project.to_string()),
            secret_hash: tokens::digest(&secret),
            create_time: command.create_time,
            expire_time: command.expire_time,
            last_use_time: None,
            revoke_time: None,
        };
        self.shared.api_tokens.insert(&token).await.map_err(ServiceError::from)?;
        tracing::info!(user = %caller.user, token = %id, "API token created");
        Ok(Response::new(v1::CreateApiTokenResponse {
            api_token: Some(api_token_to_proto(token)),
            secret: tokens::api_token_string(id, &secret),
        }))
    }

    async fn list_api_tokens(
        &self,
        request: Request<v1::ListApiTokensRequest>,
    ) -> Result<Response<v1::ListApiTokensResponse>, Status> {
        let caller = Caller::of(&request)?;
        self.shared.authorizer.account(&caller)?;
        let ListApiTokens { page } = request.into_inner().try_into()?;
        let mut rows = self.shared.api_tokens.list(caller.user, &page).await.map_err(ServiceError::from)?;
        let next_page_token = page.finish(&mut rows, |row| (None, row.id.clone()));
        Ok(Response::new(v1::ListApiTokensResponse {
            api_tokens: rows.into_iter().map(api_token_to_proto).collect(),
            next_page_token,
        }))
    }

    async fn revoke_api_token(
        &self,
        request: Request<v1::RevokeApiTokenRequest>,
    ) -> Result<Response<v1::ApiToken>, Status> {
        let caller = Caller::of(&request)?;
        let RevokeApiToken { name } = request.into_inner().try_into()?;
        self.shared.authorizer.api_token(&caller, name)?;
        let token = self
            .shared
            .api_tokens
            .revoke(caller.user, name.token, time::now())
            .await
            .map_err(ServiceError::from)?
            .ok_or(ServiceError::PermissionDenied)?;
        self.shared.revocations.revoke_token(name.token);
        Ok(Response::new(api_token_to_proto(token)))
    }

    async fn list_sessions(
        &self,
        request: Request<v1::ListSessionsRequest>,
    ) -> Result<Response<v1::ListSessionsResponse>, Status> {
        let caller = Caller::of(&request)?;
        let current = self.shared.authorizer.account(&caller)?;
        let ListSessions { page } = request.into_inner().try_into()?;
        let mut rows =
            self.shared.accounts.list_sessions(caller.user, &page, time::now()).await.map_err(ServiceError::from)?;
        let next_page_token = page.finish(&mut rows, |row| (None, row.id.clone()));
        Ok(Response::new(v1::ListSessionsResponse {
            sessions: rows.into_iter().map(|row| session_info_to_proto(row, current)).collect(),
            next_page_token,
        }))
    }

    async fn revoke_session(
        &self,
        request: Request<v1::RevokeSessionRequest>,
    ) -> Result<Response<v1::RevokeSessionResponse>, Status> {
        let caller = Caller::of(&request)?;
        self.shared.authorizer.account(&caller)?;
        let RevokeSession { name } = request.into_inner().try_into()?;
        // Another user's session is refused as if it did not exist.
        if name.user != caller.user {
            return Err(ServiceError::NotFound("session").into());
        }
        let now = time::now();
        let revoked = self
            .shared
            .accounts
            .revoke_own_session(caller.user, name.session, now)
            .await
            .map_err(ServiceError::from)?;
        if !revoked {
            return Err(ServiceError::NotFound("session").into());
        }
        self.shared.revocations.revoke_session(name.session, now);
        tracing::info!(user = %caller.user, session = %name.session, "session revoked");
        Ok(Response::new(v1::RevokeSessionResponse {}))
    }
    async fn verify_second_factor(
        &self,
        request: Request<v1::VerifySecondFactorRequest>,
    ) -> Result<Response<v1::SignInResponse>, Status> {
        let peer = peer_ip(&request);
        let client = Client::of(&request);
        Ok(Response::new(self.complete_sign_in(request.into_inner(), client, peer).await?))
    }

    async fn begin_totp_enrollment(
        &self,
        request: Request<v1::BeginTotpEnrollmentRequest>,
    ) -> Result<Response<v1::BeginTotpEnrollmentResponse>, Status> {
        let caller = Caller::of(&request)?;
        self.shared.authorizer.account(&caller)?;
        Ok(Response::new(self.begin_enrollment(caller.user).await?))
    }

    async fn confirm_totp_enrollment(
        &self,
        request: Request<v1::ConfirmTotpEnrollmentRequest>,
    ) -> Result<Response<v1::ConfirmTotpEnrollmentResponse>, Status> {
        let caller = Caller::of(&request)?;
        self.shared.authorizer.account(&caller)?;
        Ok(Response::new(self.confirm_enrollment(caller.user, request.into_inner()).await?))
    }

    async fn disable_totp(
        &self,
        request: Request<v1::DisableTotpRequest>,
    ) -> Result<Response<v1::DisableTotpResponse>, Status> {
        let caller = Caller::of(&request)?;
        self.shared.authorizer.account(&caller)?;
        let peer = peer_ip(&request);
        Ok(Response::new(self.turn_off_totp(caller.user, request.into_inner(), peer).await?))
    }

    async fn regenerate_recovery_codes(
        &self,
        request: Request<v1::RegenerateRecoveryCodesRequest>,
    ) -> Result<Response<v1::RegenerateRecoveryCodesResponse>, Status> {
        let caller = Caller::of(&request)?;
        self.shared.authorizer.account(&caller)?;
        let peer = peer_ip(&request);
        Ok(Response::new(self.replace_recovery_codes(caller.user, request.into_inner(), peer).await?))
    }

    async fn list_identity_providers(
        &self,
        _request: Request<v1::ListIdentityProvidersRequest>,
    ) -> Result<Response<v1::ListIdentityProvidersResponse>, Status> {
        Ok(Response::new(self.identity_providers()))
    }

    async fn start_oidc_sign_in(
        &self,
        request: Request<v1::StartOidcSignInRequest>,
    ) -> Result<Response<v1::StartOidcSignInResponse>, Status> {
        let peer = peer_ip(&request);
        Ok(Response::new(self.start_oidc_sign_in(request.into_inner(), peer).await?))
    }

    async fn complete_oidc_sign_in(
        &self,
        request: Request<v1::CompleteOidcSignInRequest>,
    ) -> Result<Response<v1::SignInResponse>, Status> {
        let peer = peer_ip(&request);
        let client = Client::of(&request);
        Ok(Response::new(self.complete_oidc_sign_in(request.into_inner(), client, peer).await?))
    }
}
