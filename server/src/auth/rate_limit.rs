//! Sign-in throttling (OWASP ASVS V2.2.1): against guessing one account's
//! password, and against one peer trying many accounts, without handing an
//! attacker a way to lock the real user out.
//!
//! - Per account and peer: 10 failed sign-ins in a row, then one more
//!   every 36 s. Only failures count, and a successful sign-in from that
//!   peer clears them, so the user is not throttled for their own typos
//!   once they get it right, and an attacker elsewhere cannot lock them out.
//! - Per account, from anywhere: 100 failures, then one every 36 s: the
//!   ceiling of a guessing attack spread over many addresses. Successes do
//!   not clear it (the attacker's own correct guess would). Such an attack
//!   does throttle the real user too; that is the price of stopping it.
//! - Per peer, whatever the outcome: a burst of 30, then one every 2 s,
//!   against one address trying many accounts (credential stuffing).

use std::{
    net::IpAddr,
    num::NonZeroU32,
    sync::Arc,
    time::{Duration, Instant},
};

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// Counts failures against a budget of `burst` that refills one every
/// `interval` (a leaky bucket, kept as each key's theoretical arrival time,
/// GCRA): a key is refused while `burst` failures are outstanding.
#[derive(Clone)]
struct FailureBudget<K: std::hash::Hash + Eq + Send + Sync + 'static> {
    /// When the key's outstanding failures will have leaked away.
    drained_at: moka::sync::Cache<K, Instant>,
    burst: u32,
    interval: Duration,
}

impl<K: std::hash::Hash + Eq + Clone + Send + Sync + 'static> FailureBudget<K> {
    fn new(burst: u32, interval: Duration) -> Self {
        // A key idle for longer than a full budget's leak has nothing left.
        let forget = interval * burst;
        let drained_at = moka::sync::Cache::builder().max_capacity(1_000_000).time_to_idle(forget).build();
        Self { drained_at, burst, interval }
    }

    /// Whether `key` may try again at `now`: fewer than `burst` failures
    /// are outstanding (more than `burst - 1` intervals of leaking left
    /// means `burst` are).
    fn allows(&self, key: &K, now: Instant) -> bool {
        let full = self.interval * (self.burst - 1);
        self.drained_at.get(key).is_none_or(|drained| drained.saturating_duration_since(now) <= full)
    }

    /// Counts a failure of `key` at `now`.
    fn fail(&self, key: K, now: Instant) {
        let interval = self.interval;
        self.drained_at
            .entry(key)
            .and_upsert_with(|current| current.map_or(now, |entry| (*entry.value()).max(now)) + interval);
    }

    /// Forgets `key`'s failures.
    fn clear(&self, key: &K) {
        self.drained_at.invalidate(key);
    }
}

/// Sign-in attempts allowed per account, per account and peer, and per peer.
#[derive(Clone)]
pub struct SignInLimiter {
    account_peer: FailureBudget<(String, Option<IpAddr>)>,
    account: FailureBudget<String>,
    peers: Arc<DefaultKeyedRateLimiter<IpAddr>>,
}

impl Default for SignInLimiter {
    fn default() -> Self {
        let every_36_s = Duration::from_secs(36);
        let per_hour = |count: u32, burst: u32| {
            Quota::per_hour(NonZeroU32::new(count).expect("non-zero"))
                .allow_burst(NonZeroU32::new(burst).expect("non-zero"))
        };
        Self {
            account_peer: FailureBudget::new(10, every_36_s),
            account: FailureBudget::new(100, every_36_s),
            peers: Arc::new(RateLimiter::keyed(per_hour(1_800, 30))),
        }
    }
}

impl SignInLimiter {
    /// Whether an attempt on `account` from `peer` may go ahead; counts it
    /// against the peer either way.
    pub fn attempt(&self, account: &str, peer: Option<IpAddr>) -> bool {
        let now = Instant::now();
        let peer_ok = peer.is_none_or(|peer| self.peers.check_key(&peer).is_ok());
        peer_ok
            && self.account.allows(&account.to_owned(), now)
            && self.account_peer.allows(&(account.to_owned(), peer), now)
    }

    /// Counts a failed sign-in (a wrong password, or no such account).
    pub fn failed(&self, account: &str, peer: Option<IpAddr>) {
        let now = Instant::now();
        self.account.fail(account.to_owned(), now);
        self.account_peer.fail((account.to_owned(), peer), now);
    }

    /// A successful sign-in clears the failures from its peer.
    pub fn succeeded(&self, account: &str, peer: Option<IpAddr>) {
        self.account_peer.clear(&(account.to_owned(), peer));
    }

    /// Drops idle keys so the maps stay small.
    pub fn prune(&self) {
        self.peers.retain_recent();
        self.account.drained_at.run_pending_tasks();
        self.account_peer.drained_at.run_pending_tasks();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ADA: &str = "ada@example.com";

    fn peer(last: u8) -> Option<IpAddr> {
        Some(IpAddr::from([192, 0, 2, last]))
    }

    #[test]
    fn ten_failures_throttle_the_account_from_that_peer_only() {
        let limiter = SignInLimiter::default();
        for _ in 0..10 {
            assert!(limiter.attempt(ADA, peer(1)));
            limiter.failed(ADA, peer(1));
        }
        assert!(!limiter.attempt(ADA, peer(1)), "the eleventh try from the guessing peer waits");
        assert!(limiter.attempt(ADA, peer(2)), "the real user elsewhere is not locked out");
        assert!(limiter.attempt("grace@example.com", peer(1)), "other accounts are unaffected");
    }

    #[test]
    fn successes_do_not_count_and_clear_the_failures() {
        let limiter = SignInLimiter::default();
        for _ in 0..11 {
            assert!(limiter.attempt(ADA, peer(1)));
            limiter.succeeded(ADA, peer(1));
        }
        for _ in 0..9 {
            limiter.failed(ADA, peer(1));
        }
        limiter.succeeded(ADA, peer(1));
        for _ in 0..9 {
            assert!(limiter.attempt(ADA, peer(1)));
            limiter.failed(ADA, peer(1));
        }
        assert!(limiter.attempt(ADA, peer(1)), "9 + 9 failures with a success between: not throttled");
    }

    #[test]
    fn a_spread_attack_hits_the_account_ceiling() {
        let limiter = SignInLimiter::default();
        for attacker in 0..100_u8 {
            limiter.failed(ADA, peer(attacker));
        }
        assert!(!limiter.attempt(ADA, peer(200)), "100 failures from anywhere throttle the account");
    }

    #[test]
    fn the_budget_leaks_back() {
        let budget = FailureBudget::new(2, Duration::from_secs(10));
        let start = Instant::now();
        budget.fail("k", start);
        budget.fail("k", start);
        assert!(!budget.allows(&"k", start));
        assert!(budget.allows(&"k", start + Duration::from_secs(11)), "one failure leaked away");
        budget.clear(&"k");
        assert!(budget.allows(&"k", start));
    }
}
