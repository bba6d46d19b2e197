//! Sign-in throttling per account and per peer (OWASP ASVS 2.2.1).

use std::{net::IpAddr, num::NonZeroU32, sync::Arc};

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// Sign-in attempts allowed per account and per peer address.
#[derive(Clone)]
pub struct SignInLimiter {
    accounts: Arc<DefaultKeyedRateLimiter<String>>,
    peers: Arc<DefaultKeyedRateLimiter<IpAddr>>,
}

impl Default for SignInLimiter {
    /// Per account: a burst of 10, then one every 36 s (100 an hour at
    /// most). Per peer: a burst of 30, then one every 2 s.
    fn default() -> Self {
        let per_hour = |count: u32, burst: u32| {
            Quota::per_hour(NonZeroU32::new(count).expect("non-zero"))
                .allow_burst(NonZeroU32::new(burst).expect("non-zero"))
        };
        Self {
            accounts: Arc::new(RateLimiter::keyed(per_hour(100, 10))),
            peers: Arc::new(RateLimiter::keyed(per_hour(1_800, 30))),
        }
    }
}

impl SignInLimiter {
    /// Counts an attempt; `false` if the account or the peer is over quota.
    pub fn attempt(&self, account: &str, peer: Option<IpAddr>) -> bool {
        let peer_ok = peer.is_none_or(|peer| self.peers.check_key(&peer).is_ok());
        peer_ok && self.accounts.check_key(&account.to_owned()).is_ok()
    }

    /// Drops idle keys so the maps stay small.
    pub fn prune(&self) {
        self.accounts.retain_recent();
        self.peers.retain_recent();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_gets_a_burst_then_is_throttled_without_affecting_others() {
        let limiter = SignInLimiter::default();
        let peer = Some(IpAddr::from([127, 0, 0, 1]));
        assert!((0..10).all(|_| limiter.attempt("ada@example.com", peer)));
        assert!(!limiter.attempt("ada@example.com", peer));
        assert!(limiter.attempt("grace@example.com", peer));
    }
}
