#![allow(clippy::unwrap_used, clippy::expect_used, reason = "a test fails loudly on the first surprise")]
//! The shipped holiday calendar (`workflows/calendar/*.yaml`, one file per State Council notice):
//! every day of 2023-2026 checked against the `chinese-calendar` PyPI package, and working-day
//! deadlines across the holidays and make-up workdays (调休) of 2025 and 2026.
//!
//! Deadlines are counted in China Standard Time (UTC+8): a period that starts before 09:00 on a
//! working day counts that day, and a period ends at 24:00 of its last working day.

use std::path::PathBuf;
use std::process::Command;

use certflow::domain::calendar::{Calendar, Deadline};
use chrono::{DateTime, NaiveDate, Utc};

/// Set this to make a missing `chinese-calendar` package a failure instead of a skip.
const REQUIRE_ORACLE: &str = "CERTFLOW_REQUIRE_CALENDAR_ORACLE";
/// Exit statuses of `tests/calendar_oracle.py` that mean "no usable oracle on this machine".
const ORACLE_MISSING: i32 = 3;
const ORACLE_TOO_OLD: i32 = 4;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The calendar of the real definitions folder, as the server loads it.
fn calendar() -> Calendar {
    let root = root();
    match certflow::engine::load_definitions(&root.join("workflows"), &root.join("templates")) {
        Ok(defs) => defs.calendar,
        Err(errors) => panic!("the shipped definitions do not load: {errors:#?}"),
    }
}

/// An instant written with its offset, e.g. `2025-01-24T08:00:00+08:00` (China time) or `…Z`.
fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

/// A deadline inside the data (not estimated) ending at `end`.
fn within_data(end: &str) -> Deadline {
    Deadline { at: at(end), estimated: false }
}

// ---------------------------------------------------------------------------------------------
// The data against the chinese-calendar package
// ---------------------------------------------------------------------------------------------

/// Skips (or fails, when the oracle is required) for a machine without the oracle.
fn no_oracle(why: &str) {
    if std::env::var_os(REQUIRE_ORACLE).is_some() {
        panic!("{REQUIRE_ORACLE} is set but the calendar oracle cannot run: {why}");
    }
    eprintln!("skipped: pip install chinese-calendar to cross-check the calendar ({why})");
}

#[test]
fn the_calendar_data_agrees_with_the_chinese_calendar_package_every_day() {
    let out = match Command::new("python3").arg(root().join("tests/calendar_oracle.py")).current_dir(root()).output() {
        Ok(out) => out,
        Err(e) => return no_oracle(&format!("python3 cannot be run: {e}")),
    };
    let stderr = String::from_utf8_lossy(&out.stderr);
    match out.status.code() {
        Some(0) => {}
        Some(ORACLE_MISSING | ORACLE_TOO_OLD) => return no_oracle(stderr.trim()),
        _ => panic!("tests/calendar_oracle.py failed ({}): {stderr}", out.status),
    }
    let cal = calendar();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let mut compared = 0;
    let mut mismatches = Vec::new();
    for line in stdout.lines() {
        let (day, working) = line.split_once(' ').unwrap_or_else(|| panic!("bad oracle line {line:?}"));
        let day = date(day);
        let oracle = match working {
            "1" => true,
            "0" => false,
            other => panic!("bad oracle value {other:?} in {line:?}"),
        };
        let ours = cal.is_working_day(day);
        if ours != oracle {
            let says = |w: bool| if w { "working day" } else { "day off" };
            mismatches.push(format!(
                "{day} ({}): ours {}, chinese-calendar {}",
                day.format("%a"),
                says(ours),
                says(oracle)
            ));
        }
        compared += 1;
    }
    // 2023-01-01 ..= 2026-12-31.
    assert_eq!(compared, 365 * 4 + 1, "the oracle must print every day of 2023-2026");
    assert!(mismatches.is_empty(), "{} of {compared} days disagree:\n{}", mismatches.len(), mismatches.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// Deadlines through the holidays
// ---------------------------------------------------------------------------------------------

#[test]
fn the_jiangsu_publicity_period_from_friday_the_5th_ends_at_midnight_on_thursday_the_11th() {
    // "2025-12-05 至 12-11" = 5 working days: Fri 5, Mon 8, Tue 9, Wed 10, Thu 11.
    // 00:30 UTC is 08:30 in China: before 09:00, so Friday counts.
    let cal = calendar();
    assert_eq!(cal.add_working_days(at("2025-12-05T00:30:00Z"), 5), within_data("2025-12-11T16:00:00Z"));
    // 01:30 UTC is 09:30 in China: Friday no longer counts, the period ends a day later.
    assert_eq!(cal.add_working_days(at("2025-12-05T01:30:00Z"), 5), within_data("2025-12-12T16:00:00Z"));
}

#[test]
fn a_period_started_during_the_2025_spring_festival_counts_from_the_first_day_back() {
    let cal = calendar();
    // Thursday 30 Jan 2025 is inside 春节 (28 Jan – 4 Feb). Then: Wed 5, Thu 6, Fri 7 Feb,
    // Sat 8 Feb (make-up workday), Mon 10 Feb → ends at 24:00 on Monday 10 Feb.
    let end = within_data("2025-02-11T00:00:00+08:00");
    assert_eq!(cal.add_working_days(at("2025-01-30T10:00:00+08:00"), 5), end);
    // Before 09:00 on a day off changes nothing: the day off is not counted.
    assert_eq!(cal.add_working_days(at("2025-01-30T08:00:00+08:00"), 5), end);
    assert_eq!(end.at, at("2025-02-10T16:00:00Z"));
}

#[test]
fn a_period_across_the_2025_spring_festival_counts_both_make_up_workdays() {
    let cal = calendar();
    // Friday 24 Jan 2025 before 09:00: Fri 24 (1), Sun 26 make-up (2), Mon 27 (3),
    // 28 Jan – 4 Feb off, Wed 5 (4), Thu 6 (5) → ends at 24:00 on Thursday 6 Feb.
    assert_eq!(cal.add_working_days(at("2025-01-24T08:00:00+08:00"), 5), within_data("2025-02-06T16:00:00Z"));
    // Seven days reach the second make-up day, Saturday 8 Feb: Fri 7 (6), Sat 8 (7).
    assert_eq!(cal.add_working_days(at("2025-01-24T08:00:00+08:00"), 7), within_data("2025-02-08T16:00:00Z"));
}

#[test]
fn a_period_across_the_2025_national_day_and_mid_autumn_holiday_works_the_28th_and_the_11th() {
    let cal = calendar();
    // Friday 26 Sept 2025 at 15:00: Sun 28 make-up (1), Mon 29 (2), Tue 30 (3), 1–8 Oct off,
    // Thu 9 (4), Fri 10 (5), Sat 11 make-up (6) → ends at 24:00 on Saturday 11 Oct.
    assert_eq!(cal.add_working_days(at("2025-09-26T15:00:00+08:00"), 6), within_data("2025-10-11T16:00:00Z"));
    assert_eq!(cal.add_working_days(at("2025-09-26T15:00:00+08:00"), 5), within_data("2025-10-10T16:00:00Z"));
    // Started at noon on the make-up Saturday 11 Oct: that day does not count, Mon 13 is the first.
    assert_eq!(cal.add_working_days(at("2025-10-11T12:00:00+08:00"), 1), within_data("2025-10-13T16:00:00Z"));
}

#[test]
fn a_period_across_the_2026_spring_festival_works_saturday_the_14th_and_saturday_the_28th() {
    let cal = calendar();
    // Friday 13 Feb 2026 at 10:00: Sat 14 make-up (1), 15–23 Feb off (9 days), Tue 24 (2),
    // Wed 25 (3), Thu 26 (4), Fri 27 (5), Sat 28 make-up (6) → ends at 24:00 on Saturday 28 Feb.
    assert_eq!(cal.add_working_days(at("2026-02-13T10:00:00+08:00"), 6), within_data("2026-02-28T16:00:00Z"));
    // Started before 09:00 on Monday 16 Feb (a day off): Tue 24 is the first working day.
    assert_eq!(cal.add_working_days(at("2026-02-16T08:00:00+08:00"), 1), within_data("2026-02-24T16:00:00Z"));
}

#[test]
fn a_period_across_the_2026_mid_autumn_and_national_day_holidays_works_the_20th_and_the_10th() {
    let cal = calendar();
    // Saturday 19 Sept 2026 at 10:00: Sun 20 make-up (1), Mon 21 – Thu 24 (2–5) → ends at 24:00
    // on Thursday 24 Sept, just before 中秋节 (25–27 Sept).
    assert_eq!(cal.add_working_days(at("2026-09-19T10:00:00+08:00"), 5), within_data("2026-09-24T16:00:00Z"));
    // Six days skip 中秋节: Mon 28 Sept is the sixth.
    assert_eq!(cal.add_working_days(at("2026-09-19T10:00:00+08:00"), 6), within_data("2026-09-28T16:00:00Z"));
    // Tuesday 29 Sept before 09:00: Tue 29 (1), Wed 30 (2), 1–7 Oct off, Thu 8 (3), Fri 9 (4),
    // Sat 10 make-up (5) → ends at 24:00 on Saturday 10 Oct.
    assert_eq!(cal.add_working_days(at("2026-09-29T08:00:00+08:00"), 5), within_data("2026-10-10T16:00:00Z"));
}

#[test]
fn a_period_started_on_a_public_holiday_does_not_count_that_day_even_before_nine() {
    let cal = calendar();
    // Thursday 1 May 2025 (劳动节, off 1–5 May) at 08:00: Tue 6 (1) … Fri 9 (4), Mon 12 (5).
    assert_eq!(cal.add_working_days(at("2025-05-01T08:00:00+08:00"), 5), within_data("2025-05-12T16:00:00Z"));
    // Counted Monday-Friday it would have ended on Wednesday 7 May.
    let plain = Calendar::weekdays_only().add_working_days(at("2025-05-01T08:00:00+08:00"), 5);
    assert_eq!(plain.at, at("2025-05-07T16:00:00Z"));
}

#[test]
fn a_period_started_on_a_make_up_sunday_before_nine_counts_that_sunday() {
    let cal = calendar();
    // Sunday 27 Apr 2025 is a make-up workday for 劳动节: Sun 27 (1), Mon 28 (2), Tue 29 (3),
    // Wed 30 (4), 1–5 May off, Tue 6 (5) → ends at 24:00 on Tuesday 6 May.
    assert_eq!(cal.add_working_days(at("2025-04-27T08:00:00+08:00"), 5), within_data("2025-05-06T16:00:00Z"));
}

#[test]
fn a_period_across_new_year_2026_skips_the_holiday_and_works_sunday_the_4th() {
    let cal = calendar();
    // Monday 29 Dec 2025 before 09:00: Mon 29 (1), Tue 30 (2), Wed 31 (3), 1–3 Jan 2026 off,
    // Sun 4 Jan make-up (4), Mon 5 Jan (5) → ends at 24:00 on Monday 5 Jan 2026.
    assert_eq!(cal.add_working_days(at("2025-12-29T08:00:00+08:00"), 5), within_data("2026-01-05T16:00:00Z"));
    // A day starting late on Wednesday 31 Dec: the next working day is the make-up Sunday.
    assert_eq!(cal.add_working_days(at("2025-12-31T15:00:00+08:00"), 1), within_data("2026-01-04T16:00:00Z"));
}

#[test]
fn the_2024_new_years_eve_is_a_working_day_because_the_notice_only_encourages_leave() {
    // 国办发明电〔2023〕7号: 春节 10–17 Feb 2024; staff are only *encouraged* to rest on 除夕 (Fri 9 Feb).
    let cal = calendar();
    assert!(cal.is_working_day(date("2024-02-09")));
    assert!(!cal.is_working_day(date("2024-02-16")), "Friday 16 Feb 2024 is inside 春节");
    assert!(cal.is_working_day(date("2024-02-18")), "Sunday 18 Feb 2024 is a make-up workday");
}

// ---------------------------------------------------------------------------------------------
// Past the data
// ---------------------------------------------------------------------------------------------

#[test]
fn a_deadline_past_the_data_is_estimated() {
    let cal = calendar();
    // Monday 28 Dec 2026 before 09:00: Mon 28 – Thu 31 (1–4), then Friday 1 Jan 2027, which the
    // data does not cover, is counted Monday-Friday as the fifth (it will surely be 元旦).
    assert_eq!(
        cal.add_working_days(at("2026-12-28T08:00:00+08:00"), 5),
        Deadline { at: at("2027-01-01T16:00:00Z"), estimated: true }
    );
    // Counted Monday-Friday across the 2027 weekend: Fri 1, Mon 4, Tue 5 Jan 2027.
    assert_eq!(
        cal.add_working_days(at("2026-12-31T12:00:00+08:00"), 3),
        Deadline { at: at("2027-01-05T16:00:00Z"), estimated: true }
    );
    // A period whose last working day is 31 Dec 2026 ends at 2027-01-01 00:00 local, but every
    // day it counted is in the data: not estimated.
    assert_eq!(cal.add_working_days(at("2026-12-25T08:00:00+08:00"), 5), within_data("2026-12-31T16:00:00Z"));
}

// ---------------------------------------------------------------------------------------------
// The files themselves
// ---------------------------------------------------------------------------------------------

#[test]
fn the_data_files_name_their_notice() {
    let cal = calendar();
    for year in 2023..=2026 {
        assert!(cal.covers(date(&format!("{year}-06-30"))), "no calendar data for {year}");
        let path = root().join(format!("workflows/calendar/{year}.yaml"));
        let text = std::fs::read_to_string(&path).unwrap();
        let first = text.lines().next().unwrap_or_default();
        assert!(
            first.starts_with(&format!("# 国务院办公厅关于{year}年部分节假日安排的通知（国办发明电〔"))
                && first.contains("号"),
            "{} must open with the notice's title and number, not {first:?}",
            path.display()
        );
        let notice = text.lines().find_map(|l| l.strip_prefix("notice: ")).unwrap_or_default();
        assert!(
            notice.starts_with("https://www.gov.cn/") || notice.starts_with("http://www.gov.cn/"),
            "{} must cite the notice on gov.cn, not {notice:?}",
            path.display()
        );
        assert!(text.contains(&format!("year: {year}\n")), "{} must be the data of {year}", path.display());
    }
    assert!(!cal.covers(date("2022-06-30")), "2022 is not in the data");
    assert!(!cal.covers(date("2027-01-01")), "2027 is not in the data yet");
    assert_eq!(cal.last_year(), Some(2026));
}
