//! Unsubscribe tokens: what an email's unsubscribe link carries.
//!
//! A token is `{user}.{scope}.{signature}`: the user, what to turn off (a
//! notification kind's number, or `digest` for every kind the user has on
//! the digest), and an HMAC-SHA256 of both under a key derived from the
//! token secret for this purpose only. It grants nothing else, so it does
//! not expire: a link in an old email still works.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

use crate::{domain::UserId, storage::notifications::NotificationKind};

type HmacSha256 = Hmac<Sha256>;

/// What a token turns off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Kind(NotificationKind),
    /// Every kind the user receives in the digest.
    Digest,
}

impl Scope {
    fn segment(self) -> String {
        match self {
            Self::Kind(kind) => kind.stored().to_string(),
            Self::Digest => "digest".to_owned(),
        }
    }

    fn parse(segment: &str) -> Option<Self> {
        if segment == "digest" {
            return Some(Self::Digest);
        }
        NotificationKind::from_stored(segment.parse().ok()?).map(Self::Kind)
    }
}

/// Signs and checks unsubscribe tokens.
#[derive(Clone)]
pub struct UnsubscribeSigner {
    key: HmacSha256,
}

impl std::fmt::Debug for UnsubscribeSigner {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("UnsubscribeSigner(..)")
    }
}

impl UnsubscribeSigner {
    pub fn new(secret: &SecretString) -> Self {
        // A key of its own, so a token can never stand in for anything
        // else the secret signs.
        let mut derive = HmacSha256::new_from_slice(secret.expose_secret().as_bytes()).expect("HMAC takes any key");
        derive.update(b"tasktracker email unsubscribe v1");
        let key = derive.finalize().into_bytes();
        Self { key: HmacSha256::new_from_slice(&key).expect("HMAC takes any key") }
    }

    fn mac(&self, user: UserId, scope: Scope) -> HmacSha256 {
        let mut mac = self.key.clone();
        mac.update(format!("{user}.{}", scope.segment()).as_bytes());
        mac
    }

    /// A token turning `scope` off for `user`.
    pub fn sign(&self, user: UserId, scope: Scope) -> String {
        let signature = URL_SAFE_NO_PAD.encode(self.mac(user, scope).finalize().into_bytes());
        format!("{user}.{}.{signature}", scope.segment())
    }

    /// The user and scope of a token this server signed.
    pub fn verify(&self, token: &str) -> Option<(UserId, Scope)> {
        let mut parts = token.split('.');
        let (user, scope, signature) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let parsed = uuid::Uuid::parse_str(user).ok()?;
        if parsed.hyphenated().to_string() != user {
            return None;
        }
        let user = UserId::from_stored(user);
        let scope = Scope::parse(scope)?;
        let signature = URL_SAFE_NO_PAD.decode(signature).ok()?;
        // Constant time.
        self.mac(user, scope).verify_slice(&signature).ok()?;
        Some((user, scope))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer(secret: &str) -> UnsubscribeSigner {
        UnsubscribeSigner::new(&SecretString::from(secret.to_owned()))
    }

    #[test]
    fn tokens_verify_only_as_signed() {
        let signer = signer("a test secret that is at least 32 bytes long");
        let user = UserId::generate();
        let token = signer.sign(user, Scope::Kind(NotificationKind::Commented));
        assert_eq!(signer.verify(&token), Some((user, Scope::Kind(NotificationKind::Commented))));
        let digest = signer.sign(user, Scope::Digest);
        assert_eq!(signer.verify(&digest), Some((user, Scope::Digest)));
        // Another kind, another user, another secret, a broken token: refused.
        let other_kind = token.replacen(".3.", ".1.", 1);
        assert_eq!(signer.verify(&other_kind), None);
        let other_user = token.replacen(&user.to_string(), &UserId::generate().to_string(), 1);
        assert_eq!(signer.verify(&other_user), None);
        assert_eq!(self::signer("another secret, also at least 32 bytes").verify(&token), None);
        assert_eq!(signer.verify(""), None);
        assert_eq!(signer.verify("a.b.c.d"), None);
        assert_eq!(signer.verify(&format!("{token}x")), None);
    }
}
