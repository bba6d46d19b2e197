//! Bearer credentials: signed access tokens, opaque refresh tokens and API
//! token secrets.
//!
//! Access tokens are short-lived HS256 JWTs naming the session; each call
//! also checks the session is still live, so sign-out takes effect at once.
//! Refresh tokens and API token secrets are 256 random bits, stored only as
//! SHA-256 digests (a slow KDF is pointless at that entropy and would cost
//! milliseconds per call).

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::domain::{
    ApiTokenId, UserId,
    names::SessionId,
    time::{self, Micros},
};

/// Prefix of API token secrets, so secret scanners can recognise them.
pub const API_TOKEN_PREFIX: &str = "ttk_";
const AUDIENCE: &str = "tasktracker";
/// The audience of second-factor challenges: never accepted as an access
/// token, and an access token is never accepted as a challenge.
const CHALLENGE_AUDIENCE: &str = "tasktracker-second-factor";

/// How long a sign-in challenge waits for its second factor.
pub const CHALLENGE_LIFETIME: Micros = time::seconds(5 * 60);

/// Lifetime of an access token.
pub const ACCESS_TOKEN_LIFETIME: Micros = time::seconds(15 * 60);
/// A refresh token expires after this long unused.
pub const REFRESH_IDLE_LIFETIME: Micros = time::seconds(7 * time::DAY);
/// A session ends this long after sign-in, refreshed or not.
pub const SESSION_LIFETIME: Micros = time::seconds(30 * time::DAY);

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    sid: String,
    aud: String,
    iat: i64,
    exp: i64,
}

/// What a second-factor challenge says: this user gave the right password.
#[derive(Debug, Serialize, Deserialize)]
struct ChallengeClaims {
    sub: String,
    aud: String,
    iat: i64,
    exp: i64,
}

/// The session an access token belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccessClaims {
    pub user: UserId,
    pub session: SessionId,
}

/// Signs and checks access tokens.
#[derive(Clone)]
pub struct TokenSigner {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    challenge_validation: Validation,
}

impl TokenSigner {
    pub fn new(secret: &SecretString) -> Self {
        let bytes = secret.expose_secret().as_bytes();
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "aud", "sub"]);
        validation.leeway = 0;
        let mut challenge_validation = validation.clone();
        challenge_validation.set_audience(&[CHALLENGE_AUDIENCE]);
        Self {
            encoding: EncodingKey::from_secret(bytes),
            decoding: DecodingKey::from_secret(bytes),
            validation,
            challenge_validation,
        }
    }

    /// Issues a sign-in challenge for `user`, whose password was right and
    /// who has a second factor: it expires after [`CHALLENGE_LIFETIME`].
    /// Returns it and its expiry.
    pub fn issue_challenge(&self, user: UserId) -> anyhow::Result<(String, Micros)> {
        let now = time::now();
        let expires = now + CHALLENGE_LIFETIME;
        let claims = ChallengeClaims {
            sub: user.to_string(),
            aud: CHALLENGE_AUDIENCE.into(),
            iat: now / 1_000_000,
            exp: expires / 1_000_000,
        };
        Ok((jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)?, expires))
    }

    /// The user a challenge was issued to, if it is genuine and unexpired.
    pub fn verify_challenge(&self, challenge: &str) -> Option<UserId> {
        let claims = jsonwebtoken::decode::<ChallengeClaims>(challenge, &self.decoding, &self.challenge_validation);
        Some(UserId::from_stored(&claims.ok()?.claims.sub))
    }

    /// Issues an access token that expires after [`ACCESS_TOKEN_LIFETIME`]
    /// or at `not_after` (its session's end), whichever comes first, so
    /// that checking it needs no look at the session's expiry; returns it
    /// and its expiry.
    pub fn issue(&self, user: UserId, session: SessionId, not_after: Micros) -> anyhow::Result<(String, Micros)> {
        let now = time::now();
        let expires = (now + ACCESS_TOKEN_LIFETIME).min(not_after);
        let claims = Claims {
            sub: user.to_string(),
            sid: session.to_string(),
            aud: AUDIENCE.into(),
            iat: now / 1_000_000,
            exp: expires / 1_000_000,
        };
        Ok((jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)?, expires))
    }

    /// Checks signature, algorithm, audience and expiry.
    pub fn verify(&self, token: &str) -> Option<AccessClaims> {
        let claims = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation).ok()?.claims;
        Some(AccessClaims { user: UserId::from_stored(&claims.sub), session: SessionId::from_stored(&claims.sid) })
    }
}

/// 256 random bits, URL-safe.
pub fn random_secret() -> String {
    let mut bytes = [0_u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The stored form of a refresh token or API token secret.
pub fn digest(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Builds the bearer string of a new API token: `ttk_{id}_{secret}`.
pub fn api_token_string(id: ApiTokenId, secret: &str) -> String {
    format!("{API_TOKEN_PREFIX}{}_{secret}", id.to_string().replace('-', ""))
}

/// Splits an API token into its id (indexed lookup) and secret.
pub fn parse_api_token(token: &str) -> Option<(ApiTokenId, &str)> {
    let (id, secret) = token.strip_prefix(API_TOKEN_PREFIX)?.split_once('_')?;
    if id.len() != 32 || secret.is_empty() {
        return None;
    }
    let hyphenated = format!("{}-{}-{}-{}-{}", &id[0..8], &id[8..12], &id[12..16], &id[16..20], &id[20..32]);
    let parsed = uuid::Uuid::parse_str(&hyphenated).ok()?;
    Some((ApiTokenId::from_stored(&parsed.to_string()), secret))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer(secret: &str) -> TokenSigner {
        TokenSigner::new(&SecretString::from(secret.to_owned()))
    }

    #[test]
    fn access_tokens_verify_only_with_the_same_secret() {
        let (user, session) = (UserId::generate(), SessionId::generate());
        let (token, expires) = signer("a secret of at least thirty-two bytes").issue(user, session, i64::MAX).unwrap();
        assert!(expires > time::now());
        assert_eq!(
            signer("a secret of at least thirty-two bytes").verify(&token),
            Some(AccessClaims { user, session })
        );
        assert_eq!(signer("another secret of thirty-two bytes!").verify(&token), None);
        assert_eq!(signer("a secret of at least thirty-two bytes").verify("not.a.token"), None);
    }

    #[test]
    fn access_tokens_end_with_their_session() {
        let (user, session) = (UserId::generate(), SessionId::generate());
        let signer = signer("a secret of at least thirty-two bytes");
        let session_end = time::now() + time::seconds(60);
        let (_, expires) = signer.issue(user, session, session_end).unwrap();
        assert_eq!(expires, session_end, "capped at the session's end");
        let (ended, _) = signer.issue(user, session, time::now() - time::seconds(5)).unwrap();
        assert_eq!(signer.verify(&ended), None, "a token of an ended session is expired from the start");
    }

    #[test]
    fn challenges_and_access_tokens_are_not_interchangeable() {
        let signer = signer("a secret of at least thirty-two bytes");
        let user = UserId::generate();
        let (challenge, expires) = signer.issue_challenge(user).unwrap();
        assert!(expires > time::now() + time::seconds(4 * 60));
        assert_eq!(signer.verify_challenge(&challenge), Some(user));
        assert_eq!(signer.verify(&challenge), None, "a challenge is no access token");
        let (access, _) = signer.issue(user, SessionId::generate(), i64::MAX).unwrap();
        assert_eq!(signer.verify_challenge(&access), None, "an access token is no challenge");
        let other = super::TokenSigner::new(&SecretString::from("another secret of thirty-two bytes!".to_owned()));
        assert_eq!(other.verify_challenge(&challenge), None);
    }

    #[test]
    fn unsigned_tokens_are_refused() {
        // `alg: none` with valid-looking claims.
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        let body = URL_SAFE_NO_PAD.encode(
            format!(
                r#"{{"sub":"{}","sid":"{}","aud":"tasktracker","iat":0,"exp":9999999999}}"#,
                UserId::generate(),
                SessionId::generate()
            )
            .as_bytes(),
        );
        assert_eq!(signer("a secret of at least thirty-two bytes").verify(&format!("{header}.{body}.")), None);
    }

    #[test]
    fn api_tokens_round_trip() {
        let id = ApiTokenId::generate();
        let secret = random_secret();
        let token = api_token_string(id, &secret);
        assert!(token.starts_with("ttk_"));
        assert_eq!(parse_api_token(&token), Some((id, secret.as_str())));
        assert_eq!(parse_api_token("ttk_short_x"), None);
        assert_eq!(parse_api_token("Bearer nope"), None);
        assert_eq!(digest("x").len(), 64);
    }
}
