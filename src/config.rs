//! Settings: read once from `CERTFLOW_*` variables (and flags), passed by value.

use std::path::PathBuf;

use crate::domain::throttle::Rate;

/// Everything the server needs to start.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `sqlite://certflow.db?mode=rwc` (the embedded default) or `postgres://…`.
    pub database_url: String,
    /// Listen address; port 0 picks a free port (tests).
    pub bind: String,
    /// The definitions folder (`workflows/`).
    pub workflows: PathBuf,
    /// The templates folder (`templates/`).
    pub templates: PathBuf,
    /// Where attachments are stored.
    pub uploads: PathBuf,
    /// Token signing secret; generated once and kept in the database when unset.
    pub jwt_secret: Option<String>,
    /// Admin created at start if missing.
    pub admin: Option<(String, String)>,
    /// SMTP server, e.g. `smtp://127.0.0.1:2525`; unset writes `.eml` files to `mail_dir`.
    pub smtp_url: Option<String>,
    pub mail_from: String,
    pub mail_dir: PathBuf,
    /// Tries before a message is dead-lettered (marked failed for an admin to retry).
    pub mail_tries: i32,
    /// Wait after the first failed delivery; doubles with each further failure.
    pub mail_backoff: std::time::Duration,
    /// How long a claimed timer or message stays with the instance that claimed it.
    pub lease: std::time::Duration,
    /// Period of the timer sweep and the mail delivery.
    pub tick: std::time::Duration,
    /// The address people reach the server at, for links in mail.
    pub base_url: Option<String>,
    /// Whether the scheduler runs (tests drive the sweep by hand).
    pub run_scheduler: bool,
    /// Sign-in requests per client address (`CERTFLOW_SIGN_IN_RATE`, default `20/min`).
    pub sign_in_rate: Rate,
    /// Registrations per client address (`CERTFLOW_REGISTER_RATE`, default `10/hour`).
    pub register_rate: Rate,
    /// Take the client address from `Forwarded` / `X-Forwarded-For`: only behind a reverse
    /// proxy that sets them (`CERTFLOW_TRUST_FORWARDED=1`).
    pub trust_forwarded: bool,
    /// How long an idempotency key keeps its response (`CERTFLOW_IDEMPOTENCY_TTL`, default 24h).
    pub idempotency_ttl: std::time::Duration,
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// Parses `1s`, `500ms`, `2m`, `24h` or a plain number of seconds.
pub fn parse_tick(s: &str) -> Result<std::time::Duration, String> {
    let s = s.trim();
    let (num, unit) = s.find(|c: char| !c.is_ascii_digit()).map_or((s, "s"), |i| s.split_at(i));
    let n: u64 = num.parse().map_err(|_| format!("`{s}` is not a period such as 1s, 500ms or 2m"))?;
    let d = match unit {
        "ms" => std::time::Duration::from_millis(n),
        "s" | "" => std::time::Duration::from_secs(n),
        "m" => std::time::Duration::from_secs(n * 60),
        "h" => std::time::Duration::from_secs(n * 3600),
        _ => return Err(format!("`{s}` is not a period such as 1s, 500ms, 2m or 24h")),
    };
    if d.is_zero() {
        return Err("the period must be longer than zero".into());
    }
    Ok(d)
}

impl Settings {
    /// Reads the environment, with the defaults of SPEC §6.
    pub fn from_env() -> Result<Settings, String> {
        let admin = match (var("CERTFLOW_ADMIN_EMAIL"), var("CERTFLOW_ADMIN_PASSWORD")) {
            (Some(e), Some(p)) => Some((e, p)),
            (None, None) => None,
            _ => return Err("set both CERTFLOW_ADMIN_EMAIL and CERTFLOW_ADMIN_PASSWORD, or neither".into()),
        };
        Ok(Settings {
            database_url: var("CERTFLOW_DATABASE_URL").unwrap_or_else(|| "sqlite://certflow.db?mode=rwc".into()),
            bind: var("CERTFLOW_BIND").unwrap_or_else(|| "127.0.0.1:8080".into()),
            workflows: var("CERTFLOW_WORKFLOWS").unwrap_or_else(|| "workflows".into()).into(),
            templates: var("CERTFLOW_TEMPLATES").unwrap_or_else(|| "templates".into()).into(),
            uploads: var("CERTFLOW_UPLOADS").unwrap_or_else(|| "data/uploads".into()).into(),
            jwt_secret: var("CERTFLOW_JWT_SECRET"),
            admin,
            smtp_url: var("CERTFLOW_SMTP_URL"),
            mail_from: var("CERTFLOW_MAIL_FROM").unwrap_or_else(|| "certflow@localhost".into()),
            mail_dir: var("CERTFLOW_MAIL_DIR").unwrap_or_else(|| "data/mail".into()).into(),
            mail_tries: var("CERTFLOW_MAIL_TRIES")
                .map(|v| v.parse::<i32>().map_err(|_| format!("CERTFLOW_MAIL_TRIES `{v}` is not a number")))
                .transpose()?
                .unwrap_or(5)
                .max(1),
            mail_backoff: parse_tick(&var("CERTFLOW_MAIL_BACKOFF").unwrap_or_else(|| "30s".into()))?,
            lease: parse_tick(&var("CERTFLOW_LEASE").unwrap_or_else(|| "60s".into()))?,
            tick: parse_tick(&var("CERTFLOW_TICK").unwrap_or_else(|| "1s".into()))?,
            base_url: var("CERTFLOW_BASE_URL"),
            run_scheduler: true,
            sign_in_rate: Rate::parse(&var("CERTFLOW_SIGN_IN_RATE").unwrap_or_else(|| "20/min".into()))
                .map_err(|e| format!("CERTFLOW_SIGN_IN_RATE: {e}"))?,
            register_rate: Rate::parse(&var("CERTFLOW_REGISTER_RATE").unwrap_or_else(|| "10/hour".into()))
                .map_err(|e| format!("CERTFLOW_REGISTER_RATE: {e}"))?,
            trust_forwarded: var("CERTFLOW_TRUST_FORWARDED")
                .is_some_and(|v| matches!(v.as_str(), "1" | "true" | "yes")),
            idempotency_ttl: parse_tick(&var("CERTFLOW_IDEMPOTENCY_TTL").unwrap_or_else(|| "24h".into()))
                .map_err(|e| format!("CERTFLOW_IDEMPOTENCY_TTL: {e}"))?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::parse_tick;

    #[test]
    fn ticks_parse_with_units() {
        assert_eq!(parse_tick("1s").unwrap().as_secs(), 1);
        assert_eq!(parse_tick("250ms").unwrap().as_millis(), 250);
        assert_eq!(parse_tick("2m").unwrap().as_secs(), 120);
        assert_eq!(parse_tick("5").unwrap().as_secs(), 5);
        assert_eq!(parse_tick("24h").unwrap().as_secs(), 86_400);
        assert!(parse_tick("0s").is_err());
        assert!(parse_tick("soon").is_err());
    }
}
