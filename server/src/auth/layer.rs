//! The authentication middleware: turns `authorization: Bearer …` into a
//! [`Caller`] once per call, before any handler runs.

use axum::{extract::State, middleware::Next, response::Response};
use http::header::AUTHORIZATION;
use subtle::ConstantTimeEq;

use super::{Caller, Credential, Scope, tokens};
use crate::{
    domain::{ApiTokenId, ProjectId, UserId, names::SessionId, time},
    error::{ServiceError, ServiceResult},
    storage::{accounts::AccountStore, api_tokens::ApiTokenStore},
};

/// RPCs that need no credentials. Health and reflection are outside
/// `tasktracker.v1` and need none either.
const ANONYMOUS: &[&str] = &[
    "/tasktracker.v1.AccountService/SignUp",
    "/tasktracker.v1.AccountService/SignIn",
    "/tasktracker.v1.AccountService/RefreshSession",
];

/// API tokens' last-use time is written at most this often.
const LAST_USE_RESOLUTION: i64 = time::seconds(60);

/// Resolves bearer tokens to callers.
#[derive(Clone)]
pub struct Authenticator {
    accounts: AccountStore,
    api_tokens: ApiTokenStore,
    signer: tokens::TokenSigner,
}

impl Authenticator {
    pub fn new(accounts: AccountStore, api_tokens: ApiTokenStore, signer: tokens::TokenSigner) -> Self {
        Self { accounts, api_tokens, signer }
    }

    #[tracing::instrument(name = "db.authenticate", skip_all, fields(otel.kind = "client"))]
    pub async fn authenticate(&self, token: &str) -> ServiceResult<Caller> {
        const INVALID: ServiceError = ServiceError::Unauthenticated("invalid, expired or revoked token");
        let now = time::now();
        if let Some((id, secret)) = tokens::parse_api_token(token) {
            let row = self.api_tokens.find(id).await?.ok_or(INVALID)?;
            let matches: bool = tokens::digest(secret).as_bytes().ct_eq(row.secret_hash.as_bytes()).into();
            if !matches || row.revoke_time.is_some() || row.expire_time <= now {
                return Err(INVALID);
            }
            if row.last_use_time.is_none_or(|used| used < now - LAST_USE_RESOLUTION) {
                self.record_use(id, now);
            }
            return Ok(Caller {
                user: UserId::from_stored(&row.user_id),
                credential: Credential::ApiToken {
                    scope: Scope::from_stored(row.scope),
                    project: row.project_id.as_deref().map(ProjectId::from_stored),
                },
            });
        }
        let claims = self.signer.verify(token).ok_or(INVALID)?;
        let session = self.accounts.session(claims.session).await?.ok_or(INVALID)?;
        if session.revoke_time.is_some() || session.expire_time <= now || session.user_id != claims.user.to_string() {
            return Err(INVALID);
        }
        Ok(Caller { user: claims.user, credential: Credential::Session(SessionId::from_stored(&session.id)) })
    }

    /// Notes an API token's use without delaying the call.
    fn record_use(&self, id: ApiTokenId, now: i64) {
        let api_tokens = self.api_tokens.clone();
        tokio::spawn(async move {
            if let Err(error) = api_tokens.record_use(id, now).await {
                tracing::warn!(%error, "cannot record API token use");
            }
        });
    }
}

/// Middleware: authenticates `tasktracker.v1` calls and attaches the caller.
pub async fn authenticate(
    State(authenticator): State<Authenticator>,
    mut request: axum::extract::Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    if !path.starts_with("/tasktracker.v1.") || ANONYMOUS.contains(&path) {
        return next.run(request).await;
    }
    let bearer = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer ")))
        .map(str::trim);
    let result = match bearer {
        None => Err(ServiceError::Unauthenticated("missing `authorization: Bearer <token>` metadata")),
        Some(token) => authenticator.authenticate(token).await,
    };
    match result {
        Ok(caller) => {
            tracing::Span::current().record("caller", tracing::field::display(caller.user));
            request.extensions_mut().insert(caller);
            next.run(request).await
        }
        Err(error) => tonic::Status::from(error).into_http(),
    }
}
