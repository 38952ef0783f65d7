//! Throttling sign-ins and registrations: the pure rules, with time as an input.
//!
//! - [`Backoff`]: failed sign-ins counted per key (an e-mail address; an address with the
//!   client's network address). The first `free` tries of a key go through at once; each try
//!   after that waits twice as long as the one before, up to `cap`. A key with no failure for
//!   `forget_after` starts afresh. Nothing ever locks: the longest wait is `cap`.
//! - [`Rate`]: a token bucket per client address (so many requests per period, in bursts of at
//!   most that many).

use chrono::{DateTime, Duration, Utc};

/// The escalating wait after failed sign-ins of one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Tries that go through without a wait.
    pub free: i32,
    /// The wait after the first try beyond `free`, in seconds; doubles with each further try.
    pub first_wait_secs: i64,
    /// The longest wait, in seconds.
    pub cap_secs: i64,
    /// After this long without a failure the key starts afresh, in seconds.
    pub forget_after_secs: i64,
}

/// A key's counted failures as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failures {
    pub count: i32,
    pub blocked_until: Option<DateTime<Utc>>,
    pub last_failure_at: DateTime<Utc>,
}

/// Whether a try may go ahead now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Not before this much time has passed.
    Wait(Duration),
    /// Go ahead; the try is counted as these failures until it succeeds.
    Try(Failures),
}

impl Backoff {
    /// Failures of one client at one address: a few tries, then a wait doubling up to 15
    /// minutes.
    pub const PER_CLIENT: Backoff =
        Backoff { free: 5, first_wait_secs: 30, cap_secs: 15 * 60, forget_after_secs: 3600 };
    /// Failures at one address from anywhere: slows a guesser that spreads over many clients,
    /// but never makes the owner wait more than a minute for another try.
    pub const PER_ADDRESS: Backoff = Backoff { free: 20, first_wait_secs: 5, cap_secs: 60, forget_after_secs: 3600 };

    /// The verdict on a try at `now`, given what is stored for the key.
    pub fn attempt(&self, stored: Option<Failures>, now: DateTime<Utc>) -> Verdict {
        let current = stored.filter(|f| now - f.last_failure_at < Duration::seconds(self.forget_after_secs));
        if let Some(until) = current.and_then(|f| f.blocked_until).filter(|u| *u > now) {
            return Verdict::Wait(until - now);
        }
        let count = current.map_or(0, |f| f.count) + 1;
        let blocked_until = (count >= self.free).then(|| now + self.wait_after(count));
        Verdict::Try(Failures { count, blocked_until, last_failure_at: now })
    }

    /// The wait that the `count`-th counted try imposes on the next one.
    fn wait_after(&self, count: i32) -> Duration {
        let doublings = u32::try_from(count - self.free).unwrap_or(0).min(30);
        Duration::seconds(self.first_wait_secs.saturating_mul(1_i64 << doublings).min(self.cap_secs))
    }
}

/// So many requests per period from one client address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub per_period: u32,
    pub period_secs: u32,
}

/// A token bucket's state.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bucket {
    tokens: f64,
    at: DateTime<Utc>,
}

impl Rate {
    /// Parses `20/min`, `10/hour`, `5/s`.
    pub fn parse(s: &str) -> Result<Rate, String> {
        let bad = || format!("`{s}` is not a rate such as 20/min, 10/hour or 5/s");
        let (n, unit) = s.trim().split_once('/').ok_or_else(bad)?;
        let per_period: u32 = n.trim().parse().map_err(|_| bad())?;
        let period_secs = match unit.trim() {
            "s" | "sec" | "second" => 1,
            "m" | "min" | "minute" => 60,
            "h" | "hour" => 3600,
            "d" | "day" => 86_400,
            _ => return Err(bad()),
        };
        if per_period == 0 {
            return Err(format!("`{s}`: a rate must allow at least one request"));
        }
        Ok(Rate { per_period, period_secs })
    }

    /// Takes one token from `bucket` (a full one when `None`) at `now`: the new state, or how
    /// long until a token is there.
    pub fn take(&self, bucket: Option<Bucket>, now: DateTime<Utc>) -> Result<Bucket, Duration> {
        let capacity = f64::from(self.per_period);
        let per_sec = capacity / f64::from(self.period_secs);
        let tokens = bucket.map_or(capacity, |b| {
            let elapsed = (now - b.at).num_milliseconds().max(0) as f64 / 1000.0;
            (b.tokens + elapsed * per_sec).min(capacity)
        });
        if tokens >= 1.0 {
            Ok(Bucket { tokens: tokens - 1.0, at: now })
        } else {
            let ms = ((1.0 - tokens) / per_sec * 1000.0).ceil() as i64;
            Err(Duration::milliseconds(ms.max(1)))
        }
    }

    /// Whether a bucket last used at `at` is full again at `now` (and can be forgotten).
    pub fn refilled(&self, bucket: &Bucket, now: DateTime<Utc>) -> bool {
        now - bucket.at >= Duration::seconds(i64::from(self.period_secs))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t0() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-03-02T09:00:00+08:00").map(|d| d.with_timezone(&Utc)).unwrap_or_default()
    }

    fn run(b: Backoff, stored: Option<Failures>, now: DateTime<Utc>) -> (Option<Failures>, Option<Duration>) {
        match b.attempt(stored, now) {
            Verdict::Try(f) => (Some(f), None),
            Verdict::Wait(d) => (stored, Some(d)),
        }
    }

    #[test]
    fn free_tries_then_a_doubling_wait_up_to_the_cap() {
        let b = Backoff::PER_CLIENT;
        let now = t0();
        let mut stored = None;
        for i in 1..=4 {
            let (s, wait) = run(b, stored, now);
            assert_eq!(wait, None, "try {i}");
            assert_eq!(s.map(|f| (f.count, f.blocked_until)), Some((i, None)));
            stored = s;
        }
        // The fifth try goes ahead and makes the next wait 30 s.
        let (s, wait) = run(b, stored, now);
        assert_eq!((wait, s.and_then(|f| f.blocked_until)), (None, Some(now + Duration::seconds(30))));
        stored = s;
        assert_eq!(run(b, stored, now + Duration::seconds(10)).1, Some(Duration::seconds(20)));
        // Then 60 s, 120 s, … and never more than 15 minutes.
        let mut at = now + Duration::seconds(30);
        let mut waits = Vec::new();
        for _ in 0..8 {
            let (s, wait) = run(b, stored, at);
            assert_eq!(wait, None);
            let until = s.and_then(|f| f.blocked_until).unwrap_or(at);
            waits.push((until - at).num_seconds());
            at = until;
            stored = s;
        }
        assert_eq!(waits, [60, 120, 240, 480, 900, 900, 900, 900]);
    }

    #[test]
    fn a_quiet_hour_forgets_the_failures() {
        let b = Backoff::PER_CLIENT;
        let stored =
            Some(Failures { count: 9, blocked_until: Some(t0() + Duration::minutes(15)), last_failure_at: t0() });
        assert_eq!(run(b, stored, t0() + Duration::minutes(14)).1, Some(Duration::minutes(1)));
        let (s, wait) = run(b, stored, t0() + Duration::minutes(61));
        assert_eq!((wait, s.map(|f| f.count)), (None, Some(1)));
    }

    #[test]
    fn the_address_wide_wait_never_passes_a_minute() {
        let b = Backoff::PER_ADDRESS;
        let stored = Some(Failures { count: 500, blocked_until: None, last_failure_at: t0() });
        let (s, _) = run(b, stored, t0());
        assert_eq!(s.and_then(|f| f.blocked_until), Some(t0() + Duration::seconds(60)));
    }

    #[test]
    fn a_bucket_gives_its_burst_then_one_token_per_share_of_the_period() {
        let r = Rate::parse("3/min").unwrap_or(Rate { per_period: 0, period_secs: 0 });
        assert_eq!(r, Rate { per_period: 3, period_secs: 60 });
        let now = t0();
        let mut b = None;
        for _ in 0..3 {
            b = r.take(b, now).ok();
            assert!(b.is_some());
        }
        assert_eq!(r.take(b, now).err(), Some(Duration::seconds(20)));
        assert!(r.take(b, now + Duration::seconds(20)).is_ok());
        for bad in ["3", "0/min", "x/min", "3/week"] {
            assert!(Rate::parse(bad).is_err(), "{bad}");
        }
    }
}
