//! OpenID Connect sign-in: ListIdentityProviders, StartOidcSignIn and
//! CompleteOidcSignIn (`auth::oidc` speaks to the providers).
//!
//! Completing a sign-in finds the user by the provider's subject; failing
//! that, links the subject to the account with the same email only if the
//! provider says it verified that email (`email_verified`), else creates
//! an account (just in time). An unverified email is refused, never linked:
//! anyone can claim any email at some providers. Then it answers as SignIn
//! does, with a second-factor challenge for users with TOTP.

use std::net::IpAddr;

use tasktracker_proto::v1;

use super::{Accounts, Client, user_to_proto};
use crate::{
    auth::{
        oidc::{self, LOGIN_LIFETIME, OidcError, VerifiedIdentity},
        tokens,
    },
    domain::{DisplayName, Email, UserId, Violations, time},
    error::{ServiceError, ServiceResult},
    metrics::OidcOutcome,
    storage::{
        entities::{oidc_logins, users},
        identities::{IdentityStoreError, Resolution},
    },
};

impl From<IdentityStoreError> for ServiceError {
    fn from(error: IdentityStoreError) -> Self {
        match error {
            IdentityStoreError::Database(error) => error.into(),
        }
    }
}

const THROTTLED: ServiceError =
    ServiceError::ResourceExhausted("too many sign-in attempts; wait a minute and try again");
/// The limiter's account key for starting sign-ins: only its per-peer
/// budget applies (starting never fails).
const START_KEY: &str = "oidc-start";

/// A failed completion: its status, and the outcome counted.
struct Refusal(ServiceError, OidcOutcome);

impl From<IdentityStoreError> for Refusal {
    fn from(error: IdentityStoreError) -> Self {
        Self(error.into(), OidcOutcome::Unavailable)
    }
}

impl From<OidcError> for Refusal {
    fn from(error: OidcError) -> Self {
        tracing::warn!(%error, "OpenID Connect sign-in failed");
        match error {
            OidcError::UnknownProvider(_) => Self(
                ServiceError::FailedPrecondition(
                    "the identity provider of this sign-in is no longer configured".into(),
                ),
                OidcOutcome::Refused,
            ),
            OidcError::Unreachable(_) => Self(
                ServiceError::Unavailable("the identity provider cannot be reached; try again later".into()),
                OidcOutcome::Unavailable,
            ),
            OidcError::Refused(_) => Self(
                ServiceError::Unauthenticated("the identity provider refused the sign-in; start again"),
                OidcOutcome::Refused,
            ),
            OidcError::InvalidToken(_) => Self(
                ServiceError::Unauthenticated("the identity provider's ID token is not valid; start again"),
                OidcOutcome::InvalidToken,
            ),
        }
    }
}

impl Accounts {
    /// `ListIdentityProviders`.
    pub(super) fn identity_providers(&self) -> v1::ListIdentityProvidersResponse {
        v1::ListIdentityProvidersResponse {
            identity_providers: self
                .shared
                .identity_providers
                .list()
                .map(|provider| v1::IdentityProvider {
                    id: provider.id.clone(),
                    display_name: provider.display_name.clone(),
                })
                .collect(),
        }
    }

    /// `StartOidcSignIn`.
    pub(super) async fn start_oidc_sign_in(
        &self,
        request: v1::StartOidcSignInRequest,
        peer: Option<IpAddr>,
    ) -> ServiceResult<v1::StartOidcSignInResponse> {
        let providers = &self.shared.identity_providers;
        let mut violations = Violations::default();
        if request.provider.is_empty() {
            violations.add("provider", "is required: an id from ListIdentityProviders");
        } else if providers.settings(&request.provider).is_none() {
            violations.add("provider", "is not a configured identity provider (see ListIdentityProviders)");
        }
        let redirect_uri = if request.redirect_uri.is_empty() {
            violations.add("redirect_uri", "is required");
            None
        } else {
            violations.check(providers.check_redirect_uri("redirect_uri", &request.redirect_uri))
        };
        violations.finish()?;
        let Some(redirect_uri) = redirect_uri else { unreachable!("violations.finish() returned early") };
        if !self.shared.sign_in_limiter.attempt(START_KEY, peer) {
            tracing::warn!(?peer, "OpenID Connect sign-in start throttled");
            return Err(THROTTLED);
        }
        let started = providers.start(&request.provider, &redirect_uri).await.map_err(|error| {
            let Refusal(status, _) = error.into();
            status
        })?;
        let now = time::now();
        let expire_time = now + i64::try_from(LOGIN_LIFETIME.as_micros()).unwrap_or(i64::MAX);
        self.shared
            .identities
            .insert_login(&oidc_logins::Model {
                state_hash: tokens::digest(&started.state),
                provider: request.provider.clone(),
                nonce: started.nonce,
                pkce_verifier: started.pkce_verifier,
                redirect_uri: redirect_uri.to_string(),
                create_time: now,
                expire_time,
                use_time: None,
            })
            .await?;
        tracing::info!(provider = %request.provider, "OpenID Connect sign-in started");
        Ok(v1::StartOidcSignInResponse {
            authorization_url: started.authorization_url,
            expire_time: Some(time::to_timestamp(expire_time)),
        })
    }

    /// `CompleteOidcSignIn`.
    pub(super) async fn complete_oidc_sign_in(
        &self,
        request: v1::CompleteOidcSignInRequest,
        client: Client,
        peer: Option<IpAddr>,
    ) -> ServiceResult<v1::SignInResponse> {
        let mut violations = Violations::default();
        if request.state.is_empty() {
            violations.add("state", "is required: the `state` the identity provider sent back");
        }
        if request.code.is_empty() {
            violations.add("code", "is required: the `code` the identity provider sent back");
        }
        violations.finish()?;
        let state_hash = tokens::digest(&request.state);
        let limiter_key = format!("oidc:{state_hash}");
        if !self.shared.sign_in_limiter.attempt(&limiter_key, peer) {
            tracing::warn!(?peer, "OpenID Connect sign-in throttled");
            self.shared.metrics.oidc_sign_in("", OidcOutcome::RateLimited);
            return Err(THROTTLED);
        }
        let now = time::now();
        let Some(login) = self.shared.identities.consume_login(&state_hash, now).await? else {
            self.shared.sign_in_limiter.failed(&limiter_key, peer);
            tracing::warn!(?peer, "OpenID Connect sign-in with an unknown, lapsed or used state");
            self.shared.metrics.oidc_sign_in("", OidcOutcome::UnknownState);
            return Err(ServiceError::invalid(
                "state",
                "is unknown, expired or was already used: start the sign-in again",
            ));
        };
        match self.finish_oidc_sign_in(&login, &request.code, client, now).await {
            Ok((response, outcome)) => {
                self.shared.metrics.oidc_sign_in(&login.provider, outcome);
                Ok(response)
            }
            Err(Refusal(status, outcome)) => {
                self.shared.sign_in_limiter.failed(&limiter_key, peer);
                self.shared.metrics.oidc_sign_in(&login.provider, outcome);
                Err(status)
            }
        }
    }

    async fn finish_oidc_sign_in(
        &self,
        login: &oidc_logins::Model,
        code: &str,
        client: Client,
        now: i64,
    ) -> Result<(v1::SignInResponse, OidcOutcome), Refusal> {
        let providers = &self.shared.identity_providers;
        let identity =
            providers.complete(&login.provider, &login.redirect_uri, &login.pkce_verifier, &login.nonce, code).await?;
        let settings =
            providers.settings(&login.provider).ok_or_else(|| OidcError::UnknownProvider(login.provider.clone()))?;
        if !settings.allowed_domains.is_empty() {
            let domain = identity
                .email
                .as_deref()
                .and_then(|email| email.rsplit_once('@'))
                .map(|(_, domain)| domain.to_ascii_lowercase());
            if !domain.is_some_and(|domain| settings.allowed_domains.contains(&domain)) {
                tracing::warn!(provider = %login.provider, subject = %identity.subject, "OpenID Connect sign-in from a domain not allowed");
                return Err(Refusal(
                    ServiceError::FailedPrecondition(format!(
                        "accounts of this email domain may not sign in with {}",
                        settings.display_name
                    )),
                    OidcOutcome::DomainNotAllowed,
                ));
            }
        }
        let user = match self.shared.identities.known_user(&login.provider, &identity.subject, now).await? {
            Some(user) => user,
            None => self.link_or_create(&login.provider, &identity, now).await?,
        };
        let id = UserId::from_stored(&user.id);
        for grant in oidc::grants(&settings.role_mapping, &identity) {
            let granted = self.shared.identities.grant_membership(grant.project, id, grant.role, now).await?;
            if !granted {
                tracing::warn!(provider = %login.provider, project = %grant.project, "role mapping names a project that does not exist");
            }
        }
        if self.shared.two_factor.enabled(id).await.map_err(|error| Refusal(error.into(), OidcOutcome::Unavailable))? {
            let challenge =
                self.second_factor_challenge(&user).map_err(|error| Refusal(error, OidcOutcome::Unavailable))?;
            return Ok((challenge, OidcOutcome::SecondFactor));
        }
        let session = self.open_session(id, client).await.map_err(|error| Refusal(error, OidcOutcome::Unavailable))?;
        tracing::info!(user = %user.id, provider = %login.provider, "signed in with an identity provider");
        Ok((
            v1::SignInResponse { user: Some(user_to_proto(user)), session: Some(session), ..Default::default() },
            OidcOutcome::Success,
        ))
    }

    /// A first sign-in of `identity`: link it to the account with its
    /// verified email, or create one.
    async fn link_or_create(
        &self,
        provider: &str,
        identity: &VerifiedIdentity,
        now: i64,
    ) -> Result<users::Model, Refusal> {
        let unverified = |message: &str| {
            tracing::warn!(%provider, subject = %identity.subject, "OpenID Connect sign-in refused: {message}");
            Refusal(ServiceError::FailedPrecondition(message.to_owned()), OidcOutcome::UnverifiedEmail)
        };
        let Some(email) = identity.email.as_deref() else {
            return Err(unverified("the identity provider did not share an email address; it is needed to sign in"));
        };
        if !identity.email_verified {
            return Err(unverified(
                "the identity provider has not verified this email address; verify it there, then sign in again",
            ));
        }
        let email = Email::parse("email", email)
            .map_err(|_| unverified("the identity provider's email address is not one this server accepts"))?;
        let display_name = identity
            .name
            .as_deref()
            .and_then(|name| DisplayName::parse("display_name", name).ok())
            .or_else(|| DisplayName::parse("display_name", email.as_str().split('@').next().unwrap_or_default()).ok())
            .map(DisplayName::into_inner)
            .unwrap_or_else(|| email.as_str().to_owned());
        // The account has no password anyone knows: the hash of a random
        // secret, thrown away, so password sign-in fails for it as for a
        // wrong password (and takes as long).
        let password_hash = self
            .shared
            .hasher
            .hash(tokens::random_secret())
            .await
            .map_err(|error| Refusal(ServiceError::Internal(error), OidcOutcome::Unavailable))?;
        let new_user = users::Model {
            id: UserId::generate().to_string(),
            email: email.as_str().to_owned(),
            display_name,
            password_hash,
            create_time: now,
            time_zone: String::new(),
        };
        let (user, resolution) =
            self.shared.identities.link_or_create(provider, &identity.subject, new_user, now).await?;
        match resolution {
            Resolution::Created => {
                tracing::info!(user = %user.id, %provider, "account created for an identity provider's user")
            }
            Resolution::Linked => tracing::info!(user = %user.id, %provider, "identity linked by verified email"),
            Resolution::Known => {}
        }
        Ok(user)
    }
}
