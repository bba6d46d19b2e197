//! The authentication middleware: turns `authorization: Bearer …` into a
//! [`Caller`] once per call, before any handler runs.

use std::sync::Arc;

use axum::{extract::State, middleware::Next, response::Response};
use http::header::AUTHORIZATION;
use subtle::ConstantTimeEq;

use super::{
    Caller, Credential, Scope,
    revocations::{KnownToken, Revocations},
    tokens,
};
use crate::{
    domain::{ApiTokenId, ProjectId, UserId, time},
    error::{ServiceError, ServiceResult},
    metrics::AuthLookup,
    storage::{accounts::AccountStore, api_tokens::ApiTokenStore, entities::api_tokens},
};

/// RPCs that need no credentials. Health and reflection are outside
/// `tasktracker.v1` and need none either.
const ANONYMOUS: &[&str] = &[
    "/tasktracker.v1.AccountService/SignUp",
    "/tasktracker.v1.AccountService/SignIn",
    "/tasktracker.v1.AccountService/RefreshSession",
    "/tasktracker.v1.AccountService/VerifySecondFactor",
    "/tasktracker.v1.AccountService/ListIdentityProviders",
    "/tasktracker.v1.AccountService/StartOidcSignIn",
    "/tasktracker.v1.AccountService/CompleteOidcSignIn",
    // The signed token in the request is the credential.
    "/tasktracker.v1.NotificationService/UnsubscribeEmail",
];

/// API tokens' last-use time is written at most this often.
const LAST_USE_RESOLUTION: i64 = time::seconds(60);

/// Resolves bearer tokens to callers, without a query while this replica's
/// [`Revocations`] are live.
#[derive(Clone)]
pub struct Authenticator {
    accounts: AccountStore,
    api_tokens: ApiTokenStore,
    signer: tokens::TokenSigner,
    revocations: Revocations,
}

const INVALID: ServiceError = ServiceError::Unauthenticated("invalid, expired or revoked token");

impl Authenticator {
    pub fn new(
        accounts: AccountStore,
        api_tokens: ApiTokenStore,
        signer: tokens::TokenSigner,
        revocations: Revocations,
    ) -> Self {
        Self { accounts, api_tokens, signer, revocations }
    }

    pub async fn authenticate(&self, token: &str) -> ServiceResult<Caller> {
        match tokens::parse_api_token(token) {
            Some((id, secret)) => self.api_token(id, secret).await,
            None => self.access_token(token).await,
        }
    }

    /// An access token: its signature and expiry, and that its session
    /// exists and was not revoked.
    async fn access_token(&self, token: &str) -> ServiceResult<Caller> {
        let claims = self.signer.verify(token).ok_or(INVALID)?;
        let caller = Caller { user: claims.user, credential: Credential::Session(claims.session) };
        let revocations = &self.revocations;
        if revocations.is_live() {
            if revocations.session_revoked(claims.session) {
                return Err(INVALID);
            }
            if revocations.known_session(claims.session) == Some(claims.user) {
                return Ok(caller);
            }
        }
        // Not live, or the session's first use here.
        let epoch = revocations.epoch();
        if !self.session_valid_in_database(claims).await? {
            return Err(INVALID);
        }
        revocations.remember_session(claims.session, claims.user, epoch);
        Ok(caller)
    }

    #[tracing::instrument(name = "db.authenticate.session", skip_all, fields(otel.kind = "client"))]
    async fn session_valid_in_database(&self, claims: tokens::AccessClaims) -> ServiceResult<bool> {
        self.revocations.looked_up(AuthLookup::Session);
        let Some(session) = self.accounts.session(claims.session).await? else {
            return Ok(false);
        };
        Ok(session.revoke_time.is_none()
            && session.expire_time > time::now()
            && session.user_id == claims.user.to_string())
    }

    /// An API token: its secret, expiry and revocation, from the cache when
    /// it holds the token.
    async fn api_token(&self, id: ApiTokenId, secret: &str) -> ServiceResult<Caller> {
        let known = match self.revocations.known_token(id) {
            Some(known) => known,
            None => {
                let epoch = self.revocations.epoch();
                let known = Arc::new(KnownToken::new(self.find_api_token(id).await?.ok_or(INVALID)?));
                self.revocations.remember_token(id, known.clone(), epoch);
                known
            }
        };
        let row = &known.row;
        let now = time::now();
        let matches: bool = tokens::digest(secret).as_bytes().ct_eq(row.secret_hash.as_bytes()).into();
        if !matches || row.revoke_time.is_some() || row.expire_time <= now {
            return Err(INVALID);
        }
        if known.mark_used(now, LAST_USE_RESOLUTION) {
            self.record_use(id, now);
        }
        Ok(Caller {
            user: UserId::from_stored(&row.user_id),
            credential: Credential::ApiToken {
                scope: Scope::from_stored(row.scope),
                project: row.project_id.as_deref().map(ProjectId::from_stored),
            },
        })
    }

    #[tracing::instrument(name = "db.authenticate.api_token", skip_all, fields(otel.kind = "client"))]
    async fn find_api_token(&self, id: ApiTokenId) -> ServiceResult<Option<api_tokens::Model>> {
        self.revocations.looked_up(AuthLookup::ApiToken);
        Ok(self.api_tokens.find(id).await?)
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

/// Middleware: authenticates the product's calls (`tasktracker.v1` and
/// `google.longrunning.Operations`) and attaches the caller.
pub async fn authenticate(
    State(authenticator): State<Authenticator>,
    mut request: axum::extract::Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    if !crate::overload::is_product_call(path) || ANONYMOUS.contains(&path) {
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
