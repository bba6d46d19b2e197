//! OpenID Connect sign-in (authorization code flow with PKCE S256, `state`
//! and `nonce`), through the `openidconnect` crate.
//!
//! - Discovery (the provider's metadata and signing keys) is fetched at
//!   start-up in the background and again on demand while it is missing,
//!   and refreshed once it is an hour old; a provider that cannot be
//!   reached makes its own sign-ins UNAVAILABLE and nothing else.
//! - The crate validates the ID token: signature against the provider's
//!   keys (the asymmetric algorithms it lists; never `none` or HMAC), issuer,
//!   audience (our client id), expiry and issue time, and the nonce we
//!   stored for this sign-in.
//! - Redirect URIs must be under `TASKTRACKER_PUBLIC_URL` (same scheme,
//!   host and port, path below it): no open redirect.

pub mod http;
pub mod settings;

use std::time::{Duration, Instant};

use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet, EndpointNotSet, EndpointSet, IssuerUrl,
    Nonce, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RequestTokenError, Scope, TokenResponse,
    core::{CoreAuthenticationFlow, CoreClient, CoreJwsSigningAlgorithm, CoreProviderMetadata},
    url::Url,
};
use secrecy::ExposeSecret;
use tokio::sync::RwLock;

use self::{
    http::HttpClient,
    settings::{ProviderSettings, RoleGrant},
};
use crate::domain::FieldViolation;

/// How long a started sign-in may take to complete.
pub const LOGIN_LIFETIME: Duration = Duration::from_secs(10 * 60);
/// Age after which discovery is fetched again (key rotation).
const METADATA_MAX_AGE: Duration = Duration::from_secs(3_600);
/// Longest wait for one request to a provider.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

type Client =
    CoreClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointMaybeSet, EndpointMaybeSet>;

/// Why an OpenID Connect step failed.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    #[error("no identity provider `{0}`")]
    UnknownProvider(String),
    /// Discovery or the token endpoint could not be reached.
    #[error("the identity provider cannot be reached: {0}")]
    Unreachable(String),
    /// The token endpoint refused the code (expired, reused, wrong verifier…).
    #[error("the identity provider refused the sign-in: {0}")]
    Refused(String),
    /// The ID token failed validation, or there was none.
    #[error("invalid ID token: {0}")]
    InvalidToken(String),
}

/// A sign-in just started: where to send the browser, and what completing
/// it will need (to be stored).
pub struct Started {
    pub authorization_url: String,
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
}

/// What a valid ID token says of the user.
#[derive(Debug, Clone)]
pub struct VerifiedIdentity {
    pub subject: String,
    pub email: Option<String>,
    /// The `email_verified` claim; absent counts as false.
    pub email_verified: bool,
    pub name: Option<String>,
    /// Every claim of the (validated) token, for the role mapping.
    pub claims: serde_json::Map<String, serde_json::Value>,
}

impl VerifiedIdentity {
    /// Whether the token's `claim` is `value`, or is a list holding it.
    pub fn has_claim(&self, claim: &str, value: &str) -> bool {
        match self.claims.get(claim) {
            Some(serde_json::Value::String(text)) => text == value,
            Some(serde_json::Value::Array(items)) => items.iter().any(|item| item.as_str() == Some(value)),
            Some(serde_json::Value::Bool(flag)) => flag.to_string() == value,
            Some(serde_json::Value::Number(number)) => number.to_string() == value,
            _ => false,
        }
    }
}

struct Provider {
    settings: ProviderSettings,
    metadata: RwLock<Option<(CoreProviderMetadata, Instant)>>,
}

/// The configured identity providers.
pub struct IdentityProviders {
    providers: Vec<Provider>,
    public_url: Option<Url>,
    http: HttpClient,
}

impl IdentityProviders {
    /// `providers` as configured; `public_url` is required when there are any.
    pub fn new(providers: Vec<ProviderSettings>, public_url: Option<&str>) -> anyhow::Result<Self> {
        let public_url = match public_url.map(str::trim).filter(|url| !url.is_empty()) {
            Some(url) => {
                let parsed = Url::parse(url)
                    .map_err(|error| anyhow::anyhow!("TASKTRACKER_PUBLIC_URL: `{url}` is not a URL: {error}"))?;
                anyhow::ensure!(
                    matches!(parsed.scheme(), "http" | "https") && parsed.host().is_some(),
                    "TASKTRACKER_PUBLIC_URL: `{url}` must be an http(s) URL"
                );
                Some(parsed)
            }
            None => None,
        };
        anyhow::ensure!(
            providers.is_empty() || public_url.is_some(),
            "TASKTRACKER_PUBLIC_URL is required with TASKTRACKER_OIDC_PROVIDERS (redirect URIs are checked against it)"
        );
        let providers =
            providers.into_iter().map(|settings| Provider { settings, metadata: RwLock::new(None) }).collect();
        Ok(Self { providers, public_url, http: HttpClient::new(REQUEST_TIMEOUT) })
    }

    /// Providers offered for sign-in: id and display name, as configured.
    pub fn list(&self) -> impl Iterator<Item = &ProviderSettings> {
        self.providers.iter().map(|provider| &provider.settings)
    }

    /// The provider `id`.
    pub fn settings(&self, id: &str) -> Option<&ProviderSettings> {
        self.provider(id).map(|provider| &provider.settings)
    }

    fn provider(&self, id: &str) -> Option<&Provider> {
        self.providers.iter().find(|provider| provider.settings.id == id)
    }

    /// Fetches every provider's discovery now, logging what fails (it is
    /// tried again when a sign-in needs it).
    pub async fn discover_all(&self) {
        for provider in &self.providers {
            if let Err(error) = self.metadata(provider).await {
                tracing::warn!(provider = %provider.settings.id, %error, "identity provider discovery failed; retried at the next sign-in");
            }
        }
    }

    /// Checks that `uri` is under the public URL.
    pub fn check_redirect_uri(&self, field: &str, uri: &str) -> Result<Url, FieldViolation> {
        let Some(public) = &self.public_url else {
            return Err(FieldViolation::new(field, "no identity provider is configured"));
        };
        let parsed = Url::parse(uri).map_err(|_| FieldViolation::new(field, "is not an absolute URL"))?;
        let base_path = public.path().trim_end_matches('/');
        let under = parsed.scheme() == public.scheme()
            && parsed.host() == public.host()
            && parsed.port_or_known_default() == public.port_or_known_default()
            && parsed.username().is_empty()
            && parsed.password().is_none()
            && parsed.fragment().is_none()
            && (parsed.path() == base_path || parsed.path().starts_with(&format!("{base_path}/")));
        if !under {
            return Err(FieldViolation::new(field, format!("must be under this server's public URL ({public})")));
        }
        Ok(parsed)
    }

    /// `provider`'s metadata, fetched if missing or old. When a refresh
    /// fails, the old metadata is still used.
    async fn metadata(&self, provider: &Provider) -> Result<CoreProviderMetadata, OidcError> {
        if let Some((metadata, fetched)) = provider.metadata.read().await.as_ref()
            && fetched.elapsed() < METADATA_MAX_AGE
        {
            return Ok(metadata.clone());
        }
        let mut cached = provider.metadata.write().await;
        if let Some((metadata, fetched)) = cached.as_ref()
            && fetched.elapsed() < METADATA_MAX_AGE
        {
            return Ok(metadata.clone());
        }
        let issuer = IssuerUrl::new(provider.settings.issuer.clone())
            .map_err(|error| OidcError::Unreachable(format!("bad issuer URL: {error}")))?;
        match CoreProviderMetadata::discover_async(issuer, &self.http).await {
            Ok(metadata) => {
                tracing::info!(provider = %provider.settings.id, "identity provider discovered");
                *cached = Some((metadata.clone(), Instant::now()));
                Ok(metadata)
            }
            Err(error) => match cached.as_ref() {
                Some((metadata, _)) => {
                    tracing::warn!(provider = %provider.settings.id, error = %error_chain(&error), "discovery refresh failed; keeping the old metadata");
                    Ok(metadata.clone())
                }
                None => Err(OidcError::Unreachable(error_chain(&error))),
            },
        }
    }

    async fn client(&self, provider: &Provider, redirect_uri: &str) -> Result<Client, OidcError> {
        let metadata = self.metadata(provider).await?;
        Self::client_of(provider, metadata, redirect_uri)
    }

    fn client_of(provider: &Provider, metadata: CoreProviderMetadata, redirect_uri: &str) -> Result<Client, OidcError> {
        let redirect = RedirectUrl::new(redirect_uri.to_owned())
            .map_err(|error| OidcError::Refused(format!("bad redirect URI: {error}")))?;
        Ok(CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(provider.settings.client_id.clone()),
            Some(ClientSecret::new(provider.settings.client_secret.expose_secret().to_owned())),
        )
        .set_redirect_uri(redirect))
    }

    /// Starts a sign-in with `provider` coming back to `redirect_uri`
    /// (checked by [`Self::check_redirect_uri`]).
    pub async fn start(&self, provider: &str, redirect_uri: &Url) -> Result<Started, OidcError> {
        let provider = self.provider(provider).ok_or_else(|| OidcError::UnknownProvider(provider.to_owned()))?;
        let client = self.client(provider, redirect_uri.as_str()).await?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state, nonce) = client
            .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
            .add_scope(Scope::new("email".into()))
            .add_scope(Scope::new("profile".into()))
            .set_pkce_challenge(challenge)
            .url();
        Ok(Started {
            authorization_url: url.to_string(),
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
        })
    }

    /// Exchanges `code` at `provider`'s token endpoint (with the PKCE
    /// verifier and redirect URI of the sign-in it completes) and validates
    /// the ID token against `nonce`.
    pub async fn complete(
        &self,
        provider: &str,
        redirect_uri: &str,
        pkce_verifier: &str,
        nonce: &str,
        code: &str,
    ) -> Result<VerifiedIdentity, OidcError> {
        let provider = self.provider(provider).ok_or_else(|| OidcError::UnknownProvider(provider.to_owned()))?;
        let metadata = self.metadata(provider).await?;
        // The asymmetric algorithms the provider signs ID tokens with; never
        // `none`, never HMAC (keyed with the client secret, which is no proof
        // that the provider signed).
        let algorithms: Vec<CoreJwsSigningAlgorithm> = metadata
            .id_token_signing_alg_values_supported()
            .iter()
            .filter(|algorithm| {
                !matches!(
                    algorithm,
                    CoreJwsSigningAlgorithm::None
                        | CoreJwsSigningAlgorithm::HmacSha256
                        | CoreJwsSigningAlgorithm::HmacSha384
                        | CoreJwsSigningAlgorithm::HmacSha512
                )
            })
            .cloned()
            .collect();
        let client = Self::client_of(provider, metadata, redirect_uri)?;
        let response = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|error| OidcError::Unreachable(format!("no token endpoint: {error}")))?
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_owned()))
            .request_async(&self.http)
            .await
            .map_err(|error| match error {
                RequestTokenError::Request(error) => OidcError::Unreachable(error_chain(&error)),
                RequestTokenError::ServerResponse(response) => OidcError::Refused(response.to_string()),
                other => OidcError::Refused(error_chain(&other)),
            })?;
        let id_token =
            response.id_token().ok_or_else(|| OidcError::InvalidToken("the reply has no ID token".into()))?;
        let verifier = client.id_token_verifier().set_allowed_algs(algorithms);
        let claims = id_token
            .claims(&verifier, &Nonce::new(nonce.to_owned()))
            .map_err(|error| OidcError::InvalidToken(error_chain(&error)))?;
        Ok(VerifiedIdentity {
            subject: claims.subject().as_str().to_owned(),
            email: claims.email().map(|email| email.as_str().to_owned()),
            email_verified: claims.email_verified() == Some(true),
            name: claims.name().and_then(|name| name.get(None)).map(|name| name.as_str().to_owned()),
            claims: payload(&id_token.to_string()),
        })
    }
}

/// The claims of a JWT whose signature was checked: its middle part.
fn payload(jwt: &str) -> serde_json::Map<String, serde_json::Value> {
    use base64::Engine;
    jwt.split('.')
        .nth(1)
        .and_then(|part| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).ok())
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default()
}

/// `error` and its sources, `: `-separated.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The grants of `rules` that `identity`'s claims meet.
pub fn grants<'a>(rules: &'a [RoleGrant], identity: &VerifiedIdentity) -> impl Iterator<Item = &'a RoleGrant> {
    rules.iter().filter(|rule| identity.has_claim(&rule.claim, &rule.value))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn providers(public_url: &str) -> IdentityProviders {
        IdentityProviders::new(vec![], Some(public_url)).unwrap()
    }

    #[test]
    fn redirect_uris_stay_under_the_public_url() {
        let app = providers("https://tasks.example.com/app");
        for good in ["https://tasks.example.com/app/oidc/callback", "https://tasks.example.com:443/app/x?y=1"] {
            assert!(app.check_redirect_uri("redirect_uri", good).is_ok(), "{good}");
        }
        for bad in [
            "https://evil.example.com/app/oidc/callback",
            "http://tasks.example.com/app/oidc/callback",
            "https://tasks.example.com:8443/app/oidc/callback",
            "https://tasks.example.com/application/oidc/callback",
            "https://tasks.example.com/other",
            "https://user@tasks.example.com/app/oidc/callback",
            "https://tasks.example.com.evil.example/app",
            "/app/oidc/callback",
            "javascript:alert(1)",
        ] {
            let violation = app.check_redirect_uri("redirect_uri", bad).unwrap_err();
            assert_eq!(violation.field, "redirect_uri", "{bad}");
        }
    }

    #[test]
    fn providers_need_a_public_url() {
        let settings = settings::from_env(&["acme".into()], |name| {
            Some(match name {
                "TASKTRACKER_OIDC_ACME_ISSUER" => "https://login.acme.test".to_owned(),
                "TASKTRACKER_OIDC_ACME_CLIENT_ID" | "TASKTRACKER_OIDC_ACME_CLIENT_SECRET" => "x".to_owned(),
                _ => return None,
            })
        })
        .unwrap();
        let error = IdentityProviders::new(settings, None).err().unwrap().to_string();
        assert!(error.starts_with("TASKTRACKER_PUBLIC_URL is required"), "{error}");
    }

    #[test]
    fn claims_match_strings_and_lists() {
        let claims = serde_json::json!({"groups": ["eng", "ops"], "dept": "sales"});
        let identity = VerifiedIdentity {
            subject: "s".into(),
            email: None,
            email_verified: false,
            name: None,
            claims: claims.as_object().unwrap().clone(),
        };
        assert!(identity.has_claim("groups", "ops"));
        assert!(identity.has_claim("dept", "sales"));
        assert!(!identity.has_claim("groups", "sales"));
        assert!(!identity.has_claim("missing", "eng"));
    }
}
