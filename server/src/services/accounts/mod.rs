//! `tasktracker.v1.AccountService`.

use sea_orm::{
    ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, SqlErr, sea_query::Expr,
};
use tasktracker_proto::v1::{self, account_service_server::AccountService};
use tonic::{Request, Response, Status};

use super::{SharedState, peer_ip, required};
use crate::{
    auth::{Caller, Permission, Scope, tokens},
    domain::{
        ApiTokenId, DisplayName, Email, NewPassword, ProjectId, UserId, Violations,
        names::{ApiTokenName, SessionId},
        page::{Cursor, next_page, page_size},
        time::{self, from_timestamp, to_optional_timestamp, to_timestamp},
    },
    error::{ServiceError, ServiceResult},
    metrics::SignInResult,
    storage::entities::{api_tokens, sessions, users},
};

/// Default and maximum lifetime of an API token.
const API_TOKEN_DEFAULT_LIFETIME: i64 = time::seconds(90 * time::DAY);
const API_TOKEN_MAX_LIFETIME: i64 = time::seconds(366 * time::DAY);

pub struct Accounts {
    shared: SharedState,
}

impl Accounts {
    pub fn new(shared: SharedState) -> Self {
        Self { shared }
    }

    /// Starts a session for `user`.
    async fn open_session(&self, user: UserId) -> ServiceResult<v1::Session> {
        let now = time::now();
        let session = SessionId::generate();
        let refresh_token = tokens::random_secret();
        let expire_time = now + tokens::SESSION_LIFETIME;
        let refresh_expire_time = (now + tokens::REFRESH_IDLE_LIFETIME).min(expire_time);
        sessions::Entity::insert(sessions::ActiveModel {
            id: Set(session.to_string()),
            user_id: Set(user.to_string()),
            refresh_hash: Set(tokens::digest(&refresh_token)),
            refresh_expire_time: Set(refresh_expire_time),
            expire_time: Set(expire_time),
            create_time: Set(now),
            revoke_time: Set(None),
        })
        .exec(&self.shared.db)
        .await?;
        let (access_token, access_expire) = self.shared.signer.issue(user, session)?;
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
        let v1::SignUpRequest { email, password, display_name } = request.into_inner();
        let mut violations = Violations::default();
        let email = violations.check(Email::parse("email", &email));
        let password = violations.check(NewPassword::parse("password", &password));
        let display_name = violations.check(DisplayName::parse("display_name", &display_name));
        violations.finish()?;
        let (Some(email), Some(password), Some(display_name)) = (email, password, display_name) else {
            unreachable!("violations.finish() returned early");
        };
        let password_hash =
            self.shared.hasher.hash(password.as_str().to_owned()).await.map_err(ServiceError::Internal)?;
        let user = users::Model {
            id: UserId::generate().to_string(),
            email: email.as_str().to_owned(),
            display_name: display_name.into_inner(),
            password_hash,
            create_time: time::now(),
        };
        let inserted = users::Entity::insert(users::ActiveModel {
            id: Set(user.id.clone()),
            email: Set(user.email.clone()),
            display_name: Set(user.display_name.clone()),
            password_hash: Set(user.password_hash.clone()),
            create_time: Set(user.create_time),
        })
        .exec(&self.shared.db)
        .await;
        if let Err(error) = inserted {
            return Err(match error.sql_err() {
                Some(SqlErr::UniqueConstraintViolation(_)) => {
                    ServiceError::invalid("email", "an account with this email already exists")
                }
                _ => error.into(),
            }
            .into());
        }
        let session = self.open_session(UserId::from_stored(&user.id)).await?;
        tracing::info!(user = %user.id, "signed up");
        Ok(Response::new(v1::SignUpResponse { user: Some(user_to_proto(user)), session: Some(session) }))
    }

    async fn sign_in(&self, request: Request<v1::SignInRequest>) -> Result<Response<v1::SignInResponse>, Status> {
        let peer = peer_ip(&request);
        let v1::SignInRequest { email, password } = request.into_inner();
        let email = Email::parse("email", &email)?;
        if password.is_empty() {
            return Err(ServiceError::invalid("password", "is required").into());
        }
        if !self.shared.sign_in_limiter.attempt(email.as_str(), peer) {
            tracing::warn!(?peer, "sign-in throttled");
            self.shared.metrics.sign_in(SignInResult::RateLimited);
            return Err(
                ServiceError::ResourceExhausted("too many sign-in attempts; wait a minute and try again").into()
            );
        }
        let user = users::Entity::find()
            .filter(users::Column::Email.eq(email.as_str()))
            .one(&self.shared.db)
            .await
            .map_err(ServiceError::from)?;
        let verified = self
            .shared
            .hasher
            .verify(password, user.as_ref().map(|user| user.password_hash.clone()))
            .await
            .map_err(ServiceError::Internal)?;
        let Some(user) = user.filter(|_| verified) else {
            tracing::info!(?peer, "sign-in failed");
            self.shared.metrics.sign_in(SignInResult::Failure);
            return Err(ServiceError::Unauthenticated("wrong email or password").into());
        };
        let session = self.open_session(UserId::from_stored(&user.id)).await?;
        tracing::info!(user = %user.id, "signed in");
        self.shared.metrics.sign_in(SignInResult::Success);
        Ok(Response::new(v1::SignInResponse { user: Some(user_to_proto(user)), session: Some(session) }))
    }

    async fn refresh_session(
        &self,
        request: Request<v1::RefreshSessionRequest>,
    ) -> Result<Response<v1::RefreshSessionResponse>, Status> {
        const INVALID: ServiceError = ServiceError::Unauthenticated("invalid, expired or revoked refresh token");
        let v1::RefreshSessionRequest { refresh_token } = request.into_inner();
        if refresh_token.is_empty() {
            return Err(ServiceError::invalid("refresh_token", "is required").into());
        }
        let now = time::now();
        let old_hash = tokens::digest(&refresh_token);
        let session = sessions::Entity::find()
            .filter(sessions::Column::RefreshHash.eq(&old_hash))
            .one(&self.shared.db)
            .await
            .map_err(ServiceError::from)?
            .ok_or(INVALID)?;
        if session.revoke_time.is_some() || session.refresh_expire_time <= now || session.expire_time <= now {
            return Err(INVALID.into());
        }
        let new_token = tokens::random_secret();
        let refresh_expire_time = (now + tokens::REFRESH_IDLE_LIFETIME).min(session.expire_time);
        // Compare-and-swap on the old hash: of two concurrent refreshes with
        // the same token, exactly one wins.
        let rotated = sessions::Entity::update_many()
            .col_expr(sessions::Column::RefreshHash, Expr::value(tokens::digest(&new_token)))
            .col_expr(sessions::Column::RefreshExpireTime, Expr::value(refresh_expire_time))
            .filter(sessions::Column::Id.eq(&session.id))
            .filter(sessions::Column::RefreshHash.eq(&old_hash))
            .exec(&self.shared.db)
            .await
            .map_err(ServiceError::from)?;
        if rotated.rows_affected != 1 {
            return Err(INVALID.into());
        }
        let (access_token, access_expire) = self
            .shared
            .signer
            .issue(UserId::from_stored(&session.user_id), SessionId::from_stored(&session.id))
            .map_err(ServiceError::Internal)?;
        Ok(Response::new(v1::RefreshSessionResponse {
            session: Some(v1::Session {
                access_token,
                access_token_expire_time: Some(to_timestamp(access_expire)),
                refresh_token: new_token,
                refresh_token_expire_time: Some(to_timestamp(refresh_expire_time)),
            }),
        }))
    }

    async fn sign_out(&self, request: Request<v1::SignOutRequest>) -> Result<Response<v1::SignOutResponse>, Status> {
        let caller = Caller::of(&request)?;
        let session = self.shared.authorizer.account(&caller)?;
        sessions::Entity::update_many()
            .col_expr(sessions::Column::RevokeTime, Expr::value(time::now()))
            .filter(sessions::Column::Id.eq(session.to_string()))
            .filter(sessions::Column::RevokeTime.is_null())
            .exec(&self.shared.db)
            .await
            .map_err(ServiceError::from)?;
        Ok(Response::new(v1::SignOutResponse {}))
    }

    async fn get_current_user(
        &self,
        request: Request<v1::GetCurrentUserRequest>,
    ) -> Result<Response<v1::User>, Status> {
        let caller = Caller::of(&request)?;
        let user = users::Entity::find_by_id(caller.user.to_string())
            .one(&self.shared.db)
            .await
            .map_err(ServiceError::from)?
            .ok_or(ServiceError::Unauthenticated("the account no longer exists"))?;
        Ok(Response::new(user_to_proto(user)))
    }

    async fn create_api_token(
        &self,
        request: Request<v1::CreateApiTokenRequest>,
    ) -> Result<Response<v1::CreateApiTokenResponse>, Status> {
        let caller = Caller::of(&request)?;
        self.shared.authorizer.account(&caller)?;
        let v1::CreateApiTokenRequest { api_token } = request.into_inner();
        let token = required("api_token", &api_token)?;
        let now = time::now();
        let mut violations = Violations::default();
        let display_name = violations.check(DisplayName::parse("api_token.display_name", &token.display_name));
        let scope = violations.check(Scope::from_proto("api_token.scope", token.scope));
        let project = if token.project.is_empty() {
            None
        } else {
            match ProjectId::parse_name("api_token.project", &token.project) {
                Ok(project) => Some(project),
                Err(_) => {
                    violations.add("api_token.project", "must be `projects/{project}` or empty");
                    None
                }
            }
        };
        let expire_time = match &token.expire_time {
            None => Some(now + API_TOKEN_DEFAULT_LIFETIME),
            Some(timestamp) => match from_timestamp("api_token.expire_time", timestamp) {
                Ok(expire) if expire > now && expire <= now + API_TOKEN_MAX_LIFETIME => Some(expire),
                _ => {
                    violations.add("api_token.expire_time", "must be in the future and at most a year ahead");
                    None
                }
            },
        };
        violations.finish()?;
        let (Some(display_name), Some(scope), Some(expire_time)) = (display_name, scope, expire_time) else {
            unreachable!("violations.finish() returned early");
        };
        if let Some(project) = project {
            self.shared.authorizer.require(&caller, project, Permission::Read).await?;
        }
        let id = ApiTokenId::generate();
        let secret = tokens::random_secret();
        let model = api_tokens::Model {
            id: id.to_string(),
            user_id: caller.user.to_string(),
            display_name: display_name.into_inner(),
            scope: scope.to_proto() as i16,
            project_id: project.map(|project| project.to_string()),
            secret_hash: tokens::digest(&secret),
            create_time: now,
            expire_time,
            last_use_time: None,
            revoke_time: None,
        };
        api_tokens::Entity::insert(api_tokens::ActiveModel {
            id: Set(model.id.clone()),
            user_id: Set(model.user_id.clone()),
            display_name: Set(model.display_name.clone()),
            scope: Set(model.scope),
            project_id: Set(model.project_id.clone()),
            secret_hash: Set(model.secret_hash.clone()),
            create_time: Set(now),
            expire_time: Set(expire_time),
            last_use_time: Set(None),
            revoke_time: Set(None),
        })
        .exec(&self.shared.db)
        .await
        .map_err(ServiceError::from)?;
        tracing::info!(user = %caller.user, token = %id, "API token created");
        Ok(Response::new(v1::CreateApiTokenResponse {
            api_token: Some(api_token_to_proto(model)),
            secret: tokens::api_token_string(id, &secret),
        }))
    }

    async fn list_api_tokens(
        &self,
        request: Request<v1::ListApiTokensRequest>,
    ) -> Result<Response<v1::ListApiTokensResponse>, Status> {
        let caller = Caller::of(&request)?;
        self.shared.authorizer.account(&caller)?;
        let v1::ListApiTokensRequest { page_size: requested, page_token } = request.into_inner();
        let limit = page_size("page_size", requested, 50, 200)?;
        let cursor = Cursor::decode("page_token", &page_token, "api_tokens")?;
        let mut query = api_tokens::Entity::find().filter(api_tokens::Column::UserId.eq(caller.user.to_string()));
        if let Some(cursor) = cursor {
            query = query.filter(api_tokens::Column::Id.lt(cursor.id));
        }
        let mut rows = query
            .order_by_desc(api_tokens::Column::Id)
            .limit(limit + 1)
            .all(&self.shared.db)
            .await
            .map_err(ServiceError::from)?;
        let next_page_token = next_page(&mut rows, limit, |last| Cursor::new(None, last.id.clone(), "api_tokens"));
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
        let name = ApiTokenName::parse("name", &request.get_ref().name)?;
        self.shared.authorizer.api_token(&caller, name)?;
        let id = name.token.to_string();
        api_tokens::Entity::update_many()
            .col_expr(api_tokens::Column::RevokeTime, Expr::value(time::now()))
            .filter(api_tokens::Column::Id.eq(&id))
            .filter(api_tokens::Column::UserId.eq(caller.user.to_string()))
            .filter(api_tokens::Column::RevokeTime.is_null())
            .exec(&self.shared.db)
            .await
            .map_err(ServiceError::from)?;
        let token = api_tokens::Entity::find_by_id(id)
            .filter(api_tokens::Column::UserId.eq(caller.user.to_string()))
            .one(&self.shared.db)
            .await
            .map_err(ServiceError::from)?
            .ok_or(ServiceError::PermissionDenied)?;
        Ok(Response::new(api_token_to_proto(token)))
    }
}
