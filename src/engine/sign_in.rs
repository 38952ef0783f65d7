//! Signing in and the limits around it: a rate per client address for sign-ins and
//! registrations, and failed sign-ins counted per e-mail address (and per address and client)
//! before the password is checked, so that parallel guesses cannot outrun the count. An unknown
//! address costs a password check like a known one and is answered the same way.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use chrono::{DateTime, Duration, Utc};
use sea_orm::ConnectionTrait;

use super::Engine;
use super::accounts::{LoginResult, TOKEN_HOURS, normalise_email};
use crate::auth::password::{hash_password, verify_password};
use crate::domain::throttle::{Backoff, Bucket, Rate, Verdict};
use crate::error::{AppError, t};
use crate::storage::throttle;

/// Buckets kept before the full ones are forgotten.
const MAX_BUCKETS: usize = 10_000;

/// What a rate limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Limited {
    SignIn,
    Register,
}

/// The limits on sign-ins and registrations, and the buckets of the client addresses seen.
#[derive(Debug)]
pub struct Limits {
    pub sign_in: Rate,
    pub register: Rate,
    /// Whether the client address is taken from `Forwarded` / `X-Forwarded-For` (behind a
    /// reverse proxy that sets them) rather than from the connection.
    pub trust_forwarded: bool,
    buckets: Mutex<HashMap<(Limited, String), Bucket>>,
    /// A hash to check unknown addresses' passwords against, so they cost the same time.
    decoy: OnceLock<String>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits::new(Rate { per_period: 20, period_secs: 60 }, Rate { per_period: 10, period_secs: 3600 }, false)
    }
}

impl Limits {
    pub fn new(sign_in: Rate, register: Rate, trust_forwarded: bool) -> Limits {
        Limits { sign_in, register, trust_forwarded, buckets: Mutex::default(), decoy: OnceLock::new() }
    }

    /// Takes one request of `what` from `client`'s bucket, or says how long to wait.
    pub fn take(&self, what: Limited, client: &str, now: DateTime<Utc>) -> Result<(), AppError> {
        let rate = match what {
            Limited::SignIn => self.sign_in,
            Limited::Register => self.register,
        };
        let mut buckets = self.buckets.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if buckets.len() >= MAX_BUCKETS {
            let (sign_in, register) = (self.sign_in, self.register);
            buckets.retain(|(w, _), b| {
                let r = if *w == Limited::SignIn { sign_in } else { register };
                !r.refilled(b, now)
            });
        }
        let key = (what, client.to_string());
        match rate.take(buckets.get(&key).copied(), now) {
            Ok(b) => {
                buckets.insert(key, b);
                Ok(())
            }
            Err(wait) => Err(too_many(wait)),
        }
    }
}

/// 429 with the time to wait.
fn too_many(wait: Duration) -> AppError {
    let secs = u64::try_from((wait.num_milliseconds() + 999) / 1000).unwrap_or(1).max(1);
    AppError::TooManyRequests {
        message: t(
            &format!("尝试过于频繁，请 {secs} 秒后再试"),
            &format!("too many attempts; try again in {secs} seconds"),
        ),
        retry_after_secs: secs,
    }
}

impl Engine {
    /// `POST /api/auth/login` from `client` (its network address).
    pub async fn login(&self, email: &str, password: &str, client: &str) -> Result<LoginResult, AppError> {
        let now = self.now();
        self.limits.take(Limited::SignIn, client, now)?;
        let email = normalise_email(email);
        // Each try is counted before the password is checked; a success clears the count.
        let (client_key, address_key) = (format!("client:{email}|{client}"), format!("address:{email}"));
        self.count_try(&client_key, &email, Backoff::PER_CLIENT, now).await?;
        self.count_try(&address_key, &email, Backoff::PER_ADDRESS, now).await?;
        let found = crate::storage::accounts::user_by_email(&self.db, &email).await?;
        let phc = match &found {
            Some(u) => u.password_hash.clone(),
            None => self.decoy_hash().await?,
        };
        let pw = password.to_string();
        let ok = tokio::task::spawn_blocking(move || verify_password(&pw, &phc)).await.unwrap_or(false);
        let Some(u) = found.filter(|u| ok && u.active) else {
            return Err(AppError::Unauthorized(t("邮箱或密码错误", "wrong e-mail or password")));
        };
        // This client starts afresh; what others failed at this address still counts.
        throttle::clear_key(&self.db, &client_key).await?;
        throttle::refund(&self.db, &address_key).await?;
        let (token, expires_at) =
            self.jwt.issue(&u.id, now, Duration::hours(TOKEN_HOURS)).map_err(AppError::Internal)?;
        Ok(LoginResult { token, expires_at, user: self.user_view(&self.db, u).await? })
    }

    /// Counts a try of `key` if its backoff lets it go ahead now: one conditional write on the
    /// count that was read, so two parallel tries cannot both pass on the same count.
    async fn count_try(&self, key: &str, email: &str, backoff: Backoff, now: DateTime<Utc>) -> Result<(), AppError> {
        for _ in 0..16 {
            let read = throttle::get(&self.db, key).await?;
            match backoff.attempt(read, now) {
                Verdict::Wait(wait) => return Err(too_many(wait)),
                Verdict::Try(new) => {
                    if throttle::reserve(&self.db, key, email, read, new).await? {
                        return Ok(());
                    }
                }
            }
        }
        // Sixteen other tries won the race in between: this one waits like a throttled one.
        Err(too_many(Duration::seconds(1)))
    }

    /// A valid hash of a random password, made once.
    async fn decoy_hash(&self) -> Result<String, AppError> {
        if let Some(h) = self.limits.decoy.get() {
            return Ok(h.clone());
        }
        let secret = uuid::Uuid::new_v4().to_string();
        let h = tokio::task::spawn_blocking(move || hash_password(&secret))
            .await
            .map_err(|e| AppError::Internal(e.into()))?
            .map_err(AppError::Internal)?;
        Ok(self.limits.decoy.get_or_init(|| h).clone())
    }

    /// Forgets the sign-in failures that have been quiet for a day (the scheduler calls it).
    pub async fn purge_sign_in_failures(&self) -> Result<u64, AppError> {
        Ok(throttle::purge(&self.db, self.now() - Duration::days(1)).await?)
    }

    /// Until when each address (`email`, or every one) must wait before its next sign-in.
    pub(super) async fn sign_in_blocked(
        &self,
        conn: &impl ConnectionTrait,
        email: Option<&str>,
    ) -> Result<HashMap<String, DateTime<Utc>>, AppError> {
        let mut out: HashMap<String, DateTime<Utc>> = HashMap::new();
        for (email, until) in throttle::blocked(conn, email, self.now()).await? {
            let e = out.entry(email).or_insert(until);
            *e = (*e).max(until);
        }
        Ok(out)
    }
}
