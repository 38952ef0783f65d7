//! The working-day calendar: Monday to Friday, corrected by the official holiday and
//! make-up-workday (调休) data of the years it covers.
//!
//! Times are counted in China Standard Time (UTC+8, no daylight saving). A period of N working
//! days ends at 24:00 of its Nth working day; the day the period starts counts when the period
//! starts before the working day begins (09:00), as publicity notices count their first day.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, NaiveTime, Offset, TimeZone, Utc, Weekday};

/// China Standard Time: the offset all day boundaries are computed in.
pub fn china_offset() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).unwrap_or_else(|| Utc.fix())
}

/// The hour a working day begins; a period that starts earlier counts its first day.
pub const WORKDAY_START: u32 = 9;

/// Official holidays and make-up workdays for the years the data covers.
#[derive(Debug, Clone, Default)]
pub struct Calendar {
    holidays: HashSet<NaiveDate>,
    workdays: HashSet<NaiveDate>,
    /// The years the data covers, with the notice each year comes from.
    years: BTreeMap<i32, String>,
}

/// The end of a working-day period, and whether any day of it lay outside the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    pub at: DateTime<Utc>,
    /// True when a day of the period fell outside the calendar data and was counted Monday-Friday.
    pub estimated: bool,
}

impl Calendar {
    /// A calendar with no data: every day is counted Monday-Friday (and flagged estimated).
    pub fn weekdays_only() -> Self {
        Calendar::default()
    }

    /// Adds one year's data: its official days off and its make-up workdays.
    pub fn add_year(&mut self, year: i32, notice: String, holidays: &[NaiveDate], workdays: &[NaiveDate]) {
        self.years.insert(year, notice);
        self.holidays.extend(holidays.iter().copied());
        self.workdays.extend(workdays.iter().copied());
    }

    /// Adds a year from its YAML file: `year`, `notice` (the State Council notice it follows),
    /// `holidays` and `workdays` (make-up working days), dates as YYYY-MM-DD.
    pub fn add_year_yaml(&mut self, yaml: &str) -> Result<(), String> {
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Year {
            year: i32,
            notice: String,
            #[serde(default)]
            holidays: Vec<NaiveDate>,
            #[serde(default)]
            workdays: Vec<NaiveDate>,
        }
        let y: Year = serde_saphyr::from_str(yaml).map_err(|e| e.to_string())?;
        if let Some(d) = y
            .holidays
            .iter()
            .chain(&y.workdays)
            .find(|d| d.year() != y.year && d.year() != y.year + 1 && d.year() != y.year - 1)
        {
            return Err(format!("{d} does not belong to the year {}", y.year));
        }
        self.add_year(y.year, y.notice, &y.holidays, &y.workdays);
        Ok(())
    }

    /// The last year the data covers, if any.
    pub fn last_year(&self) -> Option<i32> {
        self.years.keys().next_back().copied()
    }

    /// Whether the data covers `day`'s year.
    pub fn covers(&self, day: NaiveDate) -> bool {
        self.years.contains_key(&day.year())
    }

    /// Whether `day` is a working day.
    pub fn is_working_day(&self, day: NaiveDate) -> bool {
        if self.workdays.contains(&day) {
            return true;
        }
        if self.holidays.contains(&day) {
            return false;
        }
        !matches!(day.weekday(), Weekday::Sat | Weekday::Sun)
    }

    /// The end of a period of `n` working days that starts at `start`.
    pub fn add_working_days(&self, start: DateTime<Utc>, n: u32) -> Deadline {
        let tz = china_offset();
        let local = start.with_timezone(&tz);
        let mut day = local.date_naive();
        let starts_early = local.time() < NaiveTime::from_hms_opt(WORKDAY_START, 0, 0).unwrap_or_default();
        let mut estimated = false;
        let mut counted = 0;
        if n == 0 {
            return Deadline { at: start, estimated: false };
        }
        if !(starts_early && self.is_working_day(day)) {
            day = day.succ_opt().unwrap_or(day);
        }
        loop {
            estimated |= !self.covers(day);
            if self.is_working_day(day) {
                counted += 1;
                if counted == n {
                    break;
                }
            }
            day = day.succ_opt().unwrap_or(day);
        }
        let end = day.succ_opt().unwrap_or(day).and_time(NaiveTime::MIN);
        let at = tz
            .from_local_datetime(&end)
            .single()
            .map(|d| d.with_timezone(&Utc))
            .unwrap_or(start + Duration::days(i64::from(n)));
        Deadline { at, estimated }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn a_period_started_before_nine_counts_its_first_day() {
        // Friday 2025-12-05 08:00 CST: Fri, Mon, Tue, Wed, Thu → ends at 24:00 Thursday 11th.
        let cal = Calendar::weekdays_only();
        let d = cal.add_working_days(at("2025-12-05T08:00:00+08:00"), 5);
        assert_eq!(d.at, at("2025-12-12T00:00:00+08:00"));
        assert!(d.estimated, "no data for 2025 in this calendar");
    }

    #[test]
    fn a_period_started_during_the_day_counts_from_the_next_working_day() {
        let cal = Calendar::weekdays_only();
        let d = cal.add_working_days(at("2025-12-05T10:00:00+08:00"), 5);
        assert_eq!(d.at, at("2025-12-13T00:00:00+08:00"));
    }

    #[test]
    fn holidays_are_skipped_and_make_up_days_are_worked() {
        let mut cal = Calendar::weekdays_only();
        let date = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        cal.add_year(2025, "test notice".into(), &[date("2025-10-01"), date("2025-10-02")], &[date("2025-09-28")]);
        // Saturday 27 Sept at noon: the next working day is the make-up Sunday 28th, then Tue 30th.
        let d = cal.add_working_days(at("2025-09-27T12:00:00+08:00"), 3);
        // 28 (make-up), 29 (Mon), 30 (Tue) → ends at 24:00 on the 30th.
        assert_eq!(d.at, at("2025-10-01T00:00:00+08:00"));
        assert!(!d.estimated);
        let d = cal.add_working_days(at("2025-09-30T12:00:00+08:00"), 1);
        assert_eq!(d.at, at("2025-10-04T00:00:00+08:00"), "1 and 2 Oct are off; Friday 3rd counts");
    }
}
