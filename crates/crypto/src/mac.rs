//! HMAC-SHA256 for messages that leave the server signed (alert webhooks) and for short-lived
//! fingerprints under a key that is never stored.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// HMAC-SHA256 of the parts, concatenated.
#[must_use]
pub fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    // HMAC takes keys of any length: `new_from_slice` cannot fail for it.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        return [0; 32];
    };
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// The signature of a webhook body sent at `timestamp` (Unix seconds): hex HMAC-SHA256 of
/// `"{timestamp}.{body}"`, so a receiver can reject replays of old deliveries.
#[must_use]
pub fn webhook_signature(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let stamp = timestamp.to_string();
    crate::audit::hex(&hmac_sha256(secret, &[stamp.as_bytes(), b".", body]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_rfc_4231_test_case_2() {
        let mac = hmac_sha256(b"Jefe", &[b"what do ya want ", b"for nothing?"]);
        assert_eq!(
            crate::audit::hex(&mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn a_webhook_signature_covers_time_and_body() {
        let a = webhook_signature(b"secret", 1, b"{}");
        assert_eq!(a.len(), 64);
        assert_ne!(a, webhook_signature(b"secret", 2, b"{}"));
        assert_ne!(a, webhook_signature(b"secret", 1, b"{ }"));
        assert_ne!(a, webhook_signature(b"other", 1, b"{}"));
    }
}
