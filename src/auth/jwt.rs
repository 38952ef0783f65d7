//! Session tokens: HS256-signed JWTs carrying the user id.
//!
//! The algorithm is pinned to HS256 on both sides, so a token whose header names another
//! algorithm (including `none`) is rejected before its signature is even looked at. Expiry is
//! checked against the `now` the caller passes in, not the system clock, so tests driven by a
//! `TestClock` see the same expiry behaviour as production (STYLE C7).

use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};

use anyhow::Context;
use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

/// The claims carried by a certflow session token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The user id (subject).
    pub sub: String,
    /// Expiry, seconds since the Unix epoch. The token is invalid from this instant on.
    pub exp: i64,
    /// Issue time, seconds since the Unix epoch.
    pub iat: i64,
    /// Session version, reserved so that "log out everywhere" can later be implemented by
    /// bumping a per-user counter; always 0 for now and not checked.
    pub sv: i64,
}

/// Why a presented token was not accepted.
///
/// Deliberately coarse: the HTTP layer answers 401 either way, and only logs the detail.
#[derive(Debug, thiserror::Error)]
pub enum JwtError {
    /// The token was genuine but its `exp` is not after `now`.
    #[error("the session has expired; please sign in again")]
    Expired,
    /// Malformed, wrongly signed, wrong algorithm, or missing required claims.
    #[error("the session token is invalid")]
    Invalid(#[source] jsonwebtoken::errors::Error),
}

/// Signing and verification keys for session tokens, derived from one shared secret.
///
/// Built once at start-up and cloned into the application state; cloning is cheap enough
/// (two small byte buffers) and keeps the type free of `Arc`s.
#[derive(Clone)]
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    /// The shared secret, for keyed hashes (CSRF tokens); never printed.
    secret: std::sync::Arc<[u8]>,
}

impl fmt::Debug for JwtKeys {
    /// Never prints the secret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtKeys").field("algorithm", &Algorithm::HS256).finish_non_exhaustive()
    }
}

impl JwtKeys {
    /// Creates HS256 keys from a shared secret.
    ///
    /// The secret should be at least 32 random bytes; configuration is responsible for
    /// enforcing that, this constructor accepts any length.
    pub fn new(secret: &[u8]) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_required_spec_claims(&["exp", "sub"]);
        validation.leeway = 0;
        // jsonwebtoken would compare `exp` with the system clock; we compare it with the
        // caller's `now` in `verify` instead. `exp` stays in `required_spec_claims`.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            secret: secret.into(),
        }
    }

    /// HMAC-SHA256 of `msg` under the shared secret, as hex.
    pub fn mac(&self, msg: &[u8]) -> String {
        use hmac::{Hmac, Mac};
        // HMAC takes a key of any length, so this cannot fail; an empty string would only ever
        // fail verification, never pass it.
        match Hmac::<sha2::Sha256>::new_from_slice(&self.secret) {
            Ok(mut m) => {
                m.update(msg);
                hex::encode(m.finalize().into_bytes())
            }
            Err(_) => String::new(),
        }
    }

    /// Issues a token for `user_id`, valid from `now` for `ttl`.
    ///
    /// Returns the token and its expiry (whole seconds, exactly what is in `exp`), so a cookie's
    /// `Max-Age`/`Expires` can match the token.
    pub fn issue(&self, user_id: &str, now: DateTime<Utc>, ttl: Duration) -> anyhow::Result<(String, DateTime<Utc>)> {
        anyhow::ensure!(ttl > Duration::zero(), "token lifetime must be positive");
        let exp = now.checked_add_signed(ttl).context("token expiry is out of range")?.timestamp();
        let expires_at = DateTime::from_timestamp(exp, 0).context("token expiry is out of range")?;
        let claims = Claims { sub: user_id.to_owned(), exp, iat: now.timestamp(), sv: 0 };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .context("signing session token")?;
        Ok((token, expires_at))
    }

    /// Verifies the signature, algorithm and required claims, then checks expiry against `now`.
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<Claims, JwtError> {
        let data =
            jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation).map_err(JwtError::Invalid)?;
        // RFC 7519 §4.1.4: the token must not be accepted on or after `exp`.
        if now.timestamp() >= data.claims.exp {
            return Err(JwtError::Expired);
        }
        Ok(data.claims)
    }

    /// Signs and verifies a throw-away token.
    ///
    /// jsonwebtoken 11 picks its crypto backend from crate features and *panics* on first use
    /// if that choice is ambiguous (e.g. another dependency enables `rust_crypto` as well as our
    /// `aws_lc_rs`). Calling this at start-up turns that into an error before the server listens.
    pub fn self_test(&self) -> anyhow::Result<()> {
        // A fixed instant: the check must not depend on the wall clock.
        let now = DateTime::from_timestamp(1_700_000_000, 0).context("fixed self-test instant")?;
        let round_trip = catch_unwind(AssertUnwindSafe(|| {
            let (token, _) = self.issue("self-test", now, Duration::minutes(1))?;
            self.verify(&token, now).context("verifying a freshly signed token")
        }))
        .map_err(|_| anyhow::anyhow!("the JWT crypto backend panicked (check jsonwebtoken features)"))?
        .context("JWT self-test failed")?;
        anyhow::ensure!(round_trip.sub == "self-test", "JWT self-test returned wrong claims");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"test-secret-test-secret-test-secret!";

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(seconds, 0).unwrap_or_default()
    }

    fn issue(keys: &JwtKeys, user: &str, now: DateTime<Utc>) -> String {
        keys.issue(user, now, Duration::hours(8))
            .map(|(token, _)| token)
            .unwrap_or_else(|e| panic!("issue failed: {e:#}"))
    }

    #[test]
    fn a_token_round_trips_with_its_claims() {
        // Arrange
        let keys = JwtKeys::new(SECRET);
        let now = at(1_750_000_000);
        // Act
        let (token, expires_at) = keys.issue("user-42", now, Duration::hours(8)).unwrap_or_else(|e| panic!("{e:#}"));
        let claims = keys.verify(&token, now + Duration::hours(1));
        // Assert
        assert_eq!(expires_at, now + Duration::hours(8));
        assert_eq!(
            claims.ok(),
            Some(Claims { sub: "user-42".into(), exp: 1_750_000_000 + 8 * 3600, iat: 1_750_000_000, sv: 0 })
        );
    }

    #[test]
    fn a_token_is_rejected_from_its_expiry_instant_on() {
        let keys = JwtKeys::new(SECRET);
        let now = at(1_750_000_000);
        let token = issue(&keys, "user-42", now);

        let last_valid = now + Duration::hours(8) - Duration::seconds(1);
        assert!(keys.verify(&token, last_valid).is_ok());
        assert!(matches!(keys.verify(&token, now + Duration::hours(8)), Err(JwtError::Expired)));
        assert!(matches!(keys.verify(&token, now + Duration::days(30)), Err(JwtError::Expired)));
    }

    #[test]
    fn expiry_follows_the_given_clock_not_the_system_clock() {
        // Issued and checked in 2001: long expired by the wall clock, valid by the test clock.
        let keys = JwtKeys::new(SECRET);
        let now = at(1_000_000_000);
        let token = issue(&keys, "user-42", now);
        assert!(keys.verify(&token, now).is_ok());
    }

    #[test]
    fn a_tampered_token_is_rejected() {
        // Swap the payload of Alice's token into Bob's: the signature no longer matches.
        let keys = JwtKeys::new(SECRET);
        let now = at(1_750_000_000);
        let alice = issue(&keys, "alice", now);
        let mallory = issue(&keys, "mallory", now);
        let alice_parts: Vec<&str> = alice.split('.').collect();
        let mallory_parts: Vec<&str> = mallory.split('.').collect();
        let forged = format!("{}.{}.{}", mallory_parts[0], alice_parts[1], mallory_parts[2]);

        assert!(matches!(keys.verify(&forged, now), Err(JwtError::Invalid(_))));
        assert!(matches!(keys.verify("not.a.jwt", now), Err(JwtError::Invalid(_))));
        assert!(matches!(keys.verify("", now), Err(JwtError::Invalid(_))));
    }

    #[test]
    fn a_token_signed_with_another_secret_is_rejected() {
        let now = at(1_750_000_000);
        let other = JwtKeys::new(b"some-other-secret-some-other-secret!");
        let token = issue(&other, "user-42", now);
        assert!(matches!(JwtKeys::new(SECRET).verify(&token, now), Err(JwtError::Invalid(_))));
    }

    #[test]
    fn an_unsigned_alg_none_token_is_rejected() {
        // {"alg":"none","typ":"JWT"} . {"sub":"attacker","exp":4102444800,"iat":1700000000,"sv":0} .
        let token = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.\
                     eyJzdWIiOiJhdHRhY2tlciIsImV4cCI6NDEwMjQ0NDgwMCwiaWF0IjoxNzAwMDAwMDAwLCJzdiI6MH0.";
        let result = JwtKeys::new(SECRET).verify(token, at(1_750_000_000));
        assert!(matches!(result, Err(JwtError::Invalid(_))));
    }

    #[test]
    fn a_token_using_another_hmac_algorithm_with_the_same_secret_is_rejected() {
        let now = at(1_750_000_000);
        let claims = Claims { sub: "user-42".into(), exp: now.timestamp() + 3600, iat: now.timestamp(), sv: 0 };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS512), &claims, &EncodingKey::from_secret(SECRET))
            .unwrap_or_default();
        assert!(!token.is_empty());
        assert!(matches!(JwtKeys::new(SECRET).verify(&token, now), Err(JwtError::Invalid(_))));
    }

    #[test]
    fn a_non_positive_lifetime_is_refused_at_issue() {
        let keys = JwtKeys::new(SECRET);
        assert!(keys.issue("user-42", at(1_750_000_000), Duration::zero()).is_err());
    }

    #[test]
    fn the_self_test_passes_with_the_configured_backend() {
        assert!(JwtKeys::new(SECRET).self_test().is_ok());
    }

    #[test]
    fn debug_output_does_not_contain_the_secret() {
        let rendered = format!("{:?}", JwtKeys::new(SECRET));
        assert!(!rendered.contains("test-secret"), "{rendered}");
    }
}
