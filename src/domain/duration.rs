//! Durations of the workflow language: `30 seconds`, `15 days`, `10 working days`, `3 years`,
//! ISO 8601 (`P15D`, `PT30S`, `P1Y2M`), or a number of days computed from the form.

use chrono::{DateTime, Duration, Months, Utc};

use super::calendar::{Calendar, Deadline};

/// A fixed duration parsed from the definition. Computed durations (`{days: <expr>}`) are
/// evaluated by the engine and then become a `Span` too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    pub months: u32,
    pub fixed: Duration,
    pub working_days: u32,
}

impl Span {
    pub fn days(n: i64) -> Span {
        Span { fixed: Duration::days(n), ..Span::default() }
    }

    pub fn working_days(n: u32) -> Span {
        Span { working_days: n, ..Span::default() }
    }

    /// Parses the textual forms; the message says what was expected.
    pub fn parse(input: &str) -> Result<Span, String> {
        let s = input.trim();
        if s.starts_with('P') {
            return parse_iso(s);
        }
        let words: Vec<&str> = s.split_whitespace().collect();
        let (count, unit) = match words.as_slice() {
            [n, unit] => (*n, unit.to_string()),
            [n, "working", unit] | [n, "work", unit] => (*n, format!("working {unit}")),
            _ => {
                return Err(format!(
                    "`{s}` is not a duration; write e.g. `15 days`, `10 working days`, `3 years` or `P15D`"
                ));
            }
        };
        let n: u32 = count.parse().map_err(|_| format!("`{count}` in `{s}` is not a whole non-negative number"))?;
        let unit = unit.trim_end_matches('s');
        let span = match unit {
            "second" => Span { fixed: Duration::seconds(n.into()), ..Span::default() },
            "minute" => Span { fixed: Duration::minutes(n.into()), ..Span::default() },
            "hour" => Span { fixed: Duration::hours(n.into()), ..Span::default() },
            "day" => Span::days(n.into()),
            "week" => Span { fixed: Duration::weeks(n.into()), ..Span::default() },
            "working day" | "workday" | "working workday" => Span::working_days(n),
            "month" => Span { months: n, ..Span::default() },
            "year" => Span { months: n.saturating_mul(12), ..Span::default() },
            other => {
                return Err(format!(
                    "unknown unit `{other}` in `{s}`; use seconds, minutes, hours, days, weeks, working days, months or years"
                ));
            }
        };
        Ok(span)
    }

    /// The instant this span after `start` ends; working days follow the calendar.
    pub fn after(&self, start: DateTime<Utc>, calendar: &Calendar) -> Deadline {
        let mut at = start;
        if self.months > 0 {
            at = at.checked_add_months(Months::new(self.months)).unwrap_or(at);
        }
        at += self.fixed;
        if self.working_days > 0 {
            return calendar.add_working_days(at, self.working_days);
        }
        Deadline { at, estimated: false }
    }

    /// The instant this span before `end` begins (for reminders); working days count back
    /// as plain days, which is conservative (the reminder comes no later than meant).
    pub fn before(&self, end: DateTime<Utc>) -> DateTime<Utc> {
        let mut at = end - self.fixed - Duration::days(i64::from(self.working_days));
        if self.months > 0 {
            at = at.checked_sub_months(Months::new(self.months)).unwrap_or(at);
        }
        at
    }
}

fn parse_iso(s: &str) -> Result<Span, String> {
    let bad = || format!("`{s}` is not an ISO 8601 duration such as P15D or PT30S");
    let body = s.strip_prefix('P').ok_or_else(bad)?;
    let (date_part, time_part) = match body.split_once('T') {
        Some((d, t)) => (d, Some(t)),
        None => (body, None),
    };
    let mut span = Span::default();
    let mut any = false;
    let mut take = |part: &str, time: bool, span: &mut Span| -> Result<(), String> {
        let mut num = String::new();
        for c in part.chars() {
            if c.is_ascii_digit() {
                num.push(c);
                continue;
            }
            let n: i64 = num.parse().map_err(|_| bad())?;
            num.clear();
            any = true;
            match (time, c) {
                (false, 'Y') => span.months += u32::try_from(n * 12).map_err(|_| bad())?,
                (false, 'M') => span.months += u32::try_from(n).map_err(|_| bad())?,
                (false, 'W') => span.fixed += Duration::weeks(n),
                (false, 'D') => span.fixed += Duration::days(n),
                (true, 'H') => span.fixed += Duration::hours(n),
                (true, 'M') => span.fixed += Duration::minutes(n),
                (true, 'S') => span.fixed += Duration::seconds(n),
                _ => return Err(bad()),
            }
        }
        if num.is_empty() { Ok(()) } else { Err(bad()) }
    };
    take(date_part, false, &mut span)?;
    if let Some(t) = time_part {
        take(t, true, &mut span)?;
    }
    if !any {
        return Err(bad());
    }
    Ok(span)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn words_and_iso_forms_parse_to_the_same_span() {
        assert_eq!(Span::parse("30 seconds").unwrap(), Span::parse("PT30S").unwrap());
        assert_eq!(Span::parse("15 days").unwrap(), Span::parse("P15D").unwrap());
        assert_eq!(Span::parse("3 years").unwrap(), Span::parse("P3Y").unwrap());
        assert_eq!(Span::parse("1 day").unwrap(), Span::days(1));
        assert_eq!(Span::parse("10 working days").unwrap(), Span::working_days(10));
        let mixed = Span::parse("P1Y2M10DT2H30M").unwrap();
        assert_eq!(mixed.months, 14);
        assert_eq!(mixed.fixed, Duration::days(10) + Duration::hours(2) + Duration::minutes(30));
    }

    #[test]
    fn nonsense_is_refused_with_a_hint() {
        for bad in ["fifteen days", "15 fortnights", "P", "P15", "PT5D", "15", "-3 days"] {
            assert!(Span::parse(bad).is_err(), "{bad} should not parse");
        }
    }

    #[test]
    fn years_follow_the_calendar_month_arithmetic() {
        let cal = Calendar::weekdays_only();
        let end = Span::parse("3 years").unwrap().after(at("2024-02-29T00:00:00Z"), &cal);
        assert_eq!(end.at, at("2027-02-28T00:00:00Z"));
        assert_eq!(Span::parse("PT30S").unwrap().before(at("2024-01-01T00:00:30Z")), at("2024-01-01T00:00:00Z"));
    }
}
