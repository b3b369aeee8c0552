//! Sign-in throttling (NIST SP 800-63B §5.2.2, ASVS 6.3): failed attempts are counted per
//! account and per client network in the database, so the limits hold across every server
//! process. After a few free failures each further one doubles the wait (capped); an account
//! that reaches the lockout threshold is locked until the lockout period has passed since its
//! last failure, or an administrator unlocks it.
//!
//! The account key is a blind index of the e-mail address as typed, so an address with no
//! account is throttled exactly like one that exists: the answers and their timing do not
//! reveal which addresses are users. A throttled attempt is refused before any password hash
//! is computed, which also keeps a flood of guesses from eating the server's CPU.

use crate::{Actor, Core, CoreError};
use custodian_store::entities::auth_throttle;
use custodian_store::repo;
use std::net::IpAddr;

/// Failures an account may have before waits begin.
const ACCOUNT_FREE_FAILURES: i64 = 5;
/// Failures a network may have before waits begin (offices share one address).
const NETWORK_FREE_FAILURES: i64 = 20;
/// The longest back-off wait.
const MAX_BACKOFF_MS: i64 = 15 * 60 * 1000;

/// The throttle counters one sign-in attempt touches.
#[derive(Debug, Clone)]
pub(crate) struct ThrottleKeys {
    /// None for a passkey sign-in, which names no account until it has succeeded.
    account: Option<Vec<u8>>,
    network: Option<Vec<u8>>,
}

/// A network: an IPv4 address, or the /64 of an IPv6 address (one host's usual allocation).
pub(crate) fn network_of(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    }
}

/// Doubling back-off beyond the free failures, capped.
fn backoff_ms(failures: i64, free: i64) -> i64 {
    if failures <= free {
        return 0;
    }
    let doublings = u32::try_from((failures - free - 1).min(30)).unwrap_or(30);
    (1000i64 << doublings).min(MAX_BACKOFF_MS)
}

impl Core {
    pub(crate) fn throttle_keys(
        &self,
        email: &str,
        ip: Option<IpAddr>,
    ) -> Result<ThrottleKeys, CoreError> {
        Ok(ThrottleKeys {
            account: Some(self.account_key(email)?),
            network: self.network_key(ip)?,
        })
    }

    pub(crate) fn account_key(&self, email: &str) -> Result<Vec<u8>, CoreError> {
        self.keys()
            .lookup("auth_throttles", "account", &email.trim().to_lowercase())
    }

    fn network_key(&self, ip: Option<IpAddr>) -> Result<Option<Vec<u8>>, CoreError> {
        ip.map(|ip| {
            self.keys()
                .lookup("auth_throttles", "network", &network_of(ip))
        })
        .transpose()
    }

    /// The counter of the client's network alone (a passkey sign-in: there is no password to
    /// guess, but a flood of failed assertions from one network still waits).
    pub(crate) fn network_throttle_keys(
        &self,
        ip: Option<IpAddr>,
    ) -> Result<ThrottleKeys, CoreError> {
        Ok(ThrottleKeys {
            account: None,
            network: self.network_key(ip)?,
        })
    }

    /// When a counter lets the next attempt through (0: now).
    fn allowed_from(&self, row: &auth_throttle::Model, free: i64, lockout: bool) -> i64 {
        let settings = self.settings();
        let window = settings.login_lockout_secs * 1000;
        if self.now() - row.last_failure_at > window {
            return 0;
        }
        if lockout && row.failures >= settings.login_lockout_threshold {
            return row.last_failure_at + window;
        }
        row.last_failure_at + backoff_ms(row.failures, free)
    }

    /// Refuses the attempt while the account or the network must wait.
    pub(crate) async fn check_throttle(&self, keys: &ThrottleKeys) -> Result<(), CoreError> {
        let conn = self.store().conn();
        let mut allowed_from = 0;
        if let Some(key) = &keys.account
            && let Some(row) = repo::auth_throttles::get(conn, key).await?
        {
            allowed_from = allowed_from.max(self.allowed_from(&row, ACCOUNT_FREE_FAILURES, true));
        }
        if let Some(key) = &keys.network
            && let Some(row) = repo::auth_throttles::get(conn, key).await?
        {
            allowed_from = allowed_from.max(self.allowed_from(&row, NETWORK_FREE_FAILURES, false));
        }
        let wait_ms = allowed_from - self.now();
        if wait_ms > 0 {
            // Answer late (a timer, no CPU): a guessing tool that waits for each answer is
            // slowed to a trickle instead of being refused thousands of times a second.
            let delay = self.settings().login_throttled_delay_ms.min(wait_ms);
            if delay > 0 {
                tokio::time::sleep(std::time::Duration::from_millis(delay.unsigned_abs())).await;
            }
            return Err(CoreError::Throttled {
                retry_after_secs: (wait_ms + 999) / 1000,
            });
        }
        Ok(())
    }

    pub(crate) async fn record_failure(
        &self,
        keys: &ThrottleKeys,
        count_network: bool,
    ) -> Result<(), CoreError> {
        let now = self.now();
        let restart_before = now - self.settings().login_lockout_secs * 1000;
        let writer = self.store().writer();
        if let Some(key) = &keys.account {
            repo::auth_throttles::add_failure(writer, key, now, restart_before).await?;
        }
        if count_network && let Some(key) = &keys.network {
            repo::auth_throttles::add_failure(writer, key, now, restart_before).await?;
        }
        Ok(())
    }

    /// A successful sign-in clears the account's counter; the network's keeps counting down on
    /// its own, so one valid account cannot be used to reset a network's guesses elsewhere.
    /// Returns how many failures the account had counted (a success after many is reported).
    pub(crate) async fn clear_account_throttle(
        &self,
        keys: &ThrottleKeys,
    ) -> Result<i64, CoreError> {
        let Some(key) = &keys.account else {
            return Ok(0);
        };
        let failures = repo::auth_throttles::get(self.store().conn(), key)
            .await?
            .filter(|row| {
                self.now() - row.last_failure_at <= self.settings().login_lockout_secs * 1000
            })
            .map_or(0, |row| row.failures);
        repo::auth_throttles::clear(self.store().writer(), key).await?;
        Ok(failures)
    }

    /// Lifts a lockout or back-off on a user's account (administrators).
    pub async fn unlock_user(
        &self,
        actor: &Actor,
        user_id: custodian_domain::UserId,
    ) -> Result<bool, CoreError> {
        self.require(actor, crate::authz::SystemAction::ManageUsers)
            .await?;
        let user = self.user_row(user_id).await?;
        let email = self.user_email(&user).await?;
        Ok(repo::auth_throttles::clear(self.store().writer(), &self.account_key(&email)?).await?)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn backoff_doubles_after_the_free_failures_and_is_capped() {
        assert_eq!(backoff_ms(5, 5), 0);
        assert_eq!(backoff_ms(6, 5), 1000);
        assert_eq!(backoff_ms(7, 5), 2000);
        assert_eq!(backoff_ms(10, 5), 16_000);
        assert_eq!(backoff_ms(30, 5), MAX_BACKOFF_MS);
        assert_eq!(backoff_ms(1000, 5), MAX_BACKOFF_MS);
    }

    #[test]
    fn networks_are_addresses_or_ipv6_slash_64() {
        assert_eq!(network_of("203.0.113.9".parse().unwrap()), "203.0.113.9");
        let v6: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let same: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        assert_eq!(network_of(v6), network_of(same));
        assert_eq!(network_of(v6), "2001:db8:1:2::/64");
        let mapped: IpAddr = "::ffff:198.51.100.7".parse().unwrap();
        assert_eq!(network_of(mapped), "198.51.100.7");
    }
}
