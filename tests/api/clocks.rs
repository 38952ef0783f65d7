//! Statutory clocks: a review clock that stops while the enterprise rectifies and resumes with
//! exactly what was left, a one-time extension of a deadline by the reviewer with a reason, and
//! deadlines counted over the official holidays and make-up workdays (estimated past the data).
//!
//! Every expected instant below is worked out by hand from `workflows/calendar/2026.yaml`: a
//! period of N working days ends at 24:00 China time of its Nth working day, and its first day
//! counts only when the period starts before 09:00 on a working day.

use certflow::domain::role::Role;
use certflow::engine::Clock;
use chrono::{DateTime, Duration, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::dual_test;
use crate::helpers::{TestApp, good_sample};
use crate::helpers::{email_of, outbox_recipients};

/// An instant written with its offset (China time in these tests).
fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn due_at(view: &Value) -> DateTime<Utc> {
    let s = view["due_at"].as_str().unwrap_or_else(|| panic!("no due_at in {view:?}"));
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn last_entry(view: &Value) -> Value {
    view["history"].as_array().unwrap().last().unwrap().clone()
}

fn actions_taken(view: &Value) -> Vec<String> {
    view["history"].as_array().unwrap().iter().map(|h| h["action"].as_str().unwrap().to_string()).collect()
}

/// Creates and submits a sample application; returns its id.
async fn submit_sample(app: &TestApp, ent_token: &str) -> String {
    let view = app.create(ent_token, "sample-recognition", good_sample()).await;
    let id = view["id"].as_str().unwrap().to_string();
    let r = app.act(ent_token, &id, "submit", json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["state"], "district_review");
    id
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

dual_test!(a_paused_review_clock_resumes_with_exactly_what_was_left, |app: TestApp| async move {
    // Arrange: submitted Monday 2 March 2026 at 09:00, too late to count that day: ten working
    // days are Tue 3 … Fri 6, Mon 9 … Fri 13, Mon 16, so the deadline D1 is 24:00 on the 16th.
    let (_, ent) = app.register_enterprise("jingkou").await;
    let district = app.staff(Role::Reviewer, Some("jingkou")).await;
    let elsewhere = app.staff(Role::Reviewer, Some("runzhou")).await;
    let ent_email = email_of(&app, &ent).await;
    let district_email = email_of(&app, &district).await;
    let elsewhere_email = email_of(&app, &elsewhere).await;
    let id = submit_sample(&app, &ent).await;
    let path = format!("/api/applications/{id}");
    let d1 = due_at(&app.get(&path, &ent).await.body);
    assert_eq!(d1, at("2026-03-17T00:00:00+08:00"));
    assert_eq!(d1, at("2026-03-16T16:00:00Z"));

    // Act: three days (and a few milliseconds) later the district asks for rectification.
    app.advance(Duration::days(3) + Duration::milliseconds(123));
    let rectified_at = app.clock.now();
    let district = app.fresh(&district).await;
    let refused = app.act(&district, &id, "rectify", json!({})).await;
    let r = app.act(&district, &id, "rectify", json!({"comment": "请补充财务审计报告"})).await;

    // Assert: a comment is required; the enterprise rectifies and is told so by mail; its own
    // period of 15 calendar days runs.
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", refused.body);
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["state"], "rectifying");
    assert_eq!(due_at(&r.body), rectified_at + Duration::days(15));
    assert_eq!(outbox_recipients(&app, &id, "rectification-ordered").await, vec![ent_email.clone()]);

    // Act: twenty days pass, beyond D1 and beyond the 15 days of rectification.
    app.advance(Duration::days(20) + Duration::milliseconds(456));
    let fired = app.sweep().await;

    // Assert: the paused review clock does not escalate; only the rectification deadline's two
    // notices go out, to the applicant and to the district's reviewer (not another district's).
    assert_eq!(fired, 2, "the two deadline notices of the rectification");
    assert_eq!(app.sweep().await, 0, "each notice once");
    let ent = app.fresh(&ent).await;
    let r = app.get(&path, &ent).await;
    assert_eq!(r.body["state"], "rectifying");
    assert!(!actions_taken(&r.body).contains(&"escalate".to_string()), "{:?}", actions_taken(&r.body));
    let notified = outbox_recipients(&app, &id, "deadline-reminder").await;
    assert_eq!(sorted(notified.clone()), sorted(vec![ent_email.clone(), district_email.clone()]));
    assert!(!notified.contains(&elsewhere_email));

    // Act: the enterprise resubmits.
    let resubmitted_at = app.clock.now();
    let r = app.act(&ent, &id, "resubmit", json!({})).await;

    // Assert: the review clock goes on with what was left at the rectification order, to the
    // millisecond: D1 + (20 days 456 ms the clock stood still).
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["state"], "district_review");
    let due = due_at(&r.body);
    assert_eq!(due, resubmitted_at + (d1 - rectified_at));
    assert_eq!(due, at("2026-04-06T00:00:00.456+08:00"));
    assert_eq!(due_at(&app.get(&path, &ent).await.body), due, "the view shows the resumed deadline");

    // The resumed clock's reminder comes two days before the resumed deadline.
    app.clock.set(due - Duration::days(2) - Duration::seconds(1));
    assert_eq!(app.sweep().await, 0);
    app.clock.set(due - Duration::days(2) + Duration::seconds(1));
    assert_eq!(app.sweep().await, 1, "the reminder of the resumed clock");
    let notified = outbox_recipients(&app, &id, "deadline-reminder").await;
    assert_eq!(notified.len(), 3, "{notified:?}");
    assert_eq!(notified[2], district_email);

    // Just before the resumed deadline nothing happens; just after, the system escalates.
    app.clock.set(due - Duration::seconds(1));
    assert_eq!(app.sweep().await, 0, "nothing fires before the resumed deadline");
    let ent = app.fresh(&ent).await;
    assert_eq!(app.get(&path, &ent).await.body["state"], "district_review");
    app.clock.set(due + Duration::seconds(1));
    assert_eq!(app.sweep().await, 1);
    assert_eq!(app.sweep().await, 0);
    let r = app.get(&path, &ent).await;
    assert_eq!(r.body["state"], "city_review");
    let last = last_entry(&r.body);
    assert_eq!((last["action"].as_str(), last["actor"]["name"].as_str()), (Some("escalate"), Some("system")));
    assert_eq!(
        actions_taken(&r.body),
        vec!["create", "submit", "rectify", "resubmit", "escalate"],
        "one escalation, at the resumed deadline"
    );
});

dual_test!(a_reviewer_extends_a_deadline_once_by_five_working_days_giving_a_reason, |app: TestApp| async move {
    // Arrange: D1 is 24:00 on Monday 16 March (see above).
    let (_, ent) = app.register_enterprise("jingkou").await;
    let (_, other_ent) = app.register_enterprise("jingkou").await;
    let district = app.staff(Role::Reviewer, Some("jingkou")).await;
    let elsewhere = app.staff(Role::Reviewer, Some("runzhou")).await;
    let id = submit_sample(&app, &ent).await;
    let path = format!("/api/applications/{id}");
    let extend = format!("/api/applications/{id}/extend");
    let before = app.get(&path, &ent).await.body;
    let d1 = due_at(&before);
    assert_eq!(d1, at("2026-03-17T00:00:00+08:00"));

    // Act & Assert: refused extensions change nothing.
    let r = app.post(&extend, &district, json!({})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "no reason: {:?}", r.body);
    assert!(r.body["errors"].as_array().unwrap().iter().any(|e| e["field"] == "reason"), "{:?}", r.body);
    let r = app.post(&extend, &district, json!({"reason": "   "})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "a blank reason: {:?}", r.body);
    let r = app.post(&extend, &ent, json!({"reason": "我们也想延期"})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "the applicant: {:?}", r.body);
    let r = app.post(&extend, &other_ent, json!({"reason": "与我无关"})).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "another enterprise: {:?}", r.body);
    let r = app.post(&extend, &elsewhere, json!({"reason": "不是本辖区"})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "a reviewer of another district: {:?}", r.body);
    let unchanged = app.get(&path, &ent).await.body;
    assert_eq!((unchanged["version"].clone(), due_at(&unchanged)), (before["version"].clone(), d1));

    // Act: the district's reviewer extends, with a reason.
    let reason = "企业材料较多，需现场核查";
    let r = app.post(&extend, &district, json!({"reason": reason})).await;

    // Assert: five working days after the end of Monday 16th are Tue 17 … Fri 20 and Mon 23, so
    // the deadline becomes 24:00 on Monday 23 March.
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let new_due = due_at(&r.body);
    assert_eq!(new_due, at("2026-03-24T00:00:00+08:00"));
    assert_eq!(r.body["state"], "district_review");
    let last = last_entry(&r.body);
    assert_eq!(
        (last["action"].as_str(), last["from"].as_str(), last["to"].as_str(), last["comment"].as_str()),
        (Some("extend"), Some("district_review"), Some("district_review"), Some(reason))
    );
    assert_eq!(last["actor"]["id"], app.get("/api/me", &district).await.body["id"]);
    assert_eq!(due_at(&app.get(&path, &ent).await.body), new_due, "the view shows the new deadline");

    // A second extension of the same deadline is refused.
    let r = app.post(&extend, &district, json!({"reason": "还需要更多时间"})).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{:?}", r.body);
    assert_eq!(due_at(&app.get(&path, &ent).await.body), new_due);
    let extensions = actions_taken(&app.get(&path, &ent).await.body).iter().filter(|a| *a == "extend").count();
    assert_eq!(extensions, 1);

    // Act & Assert: the old deadline passes without effect (the reminder moved with the deadline).
    app.clock.set(d1 + Duration::minutes(1));
    assert_eq!(app.sweep().await, 0, "nothing is due at the old deadline");
    let ent = app.fresh(&ent).await;
    assert_eq!(app.get(&path, &ent).await.body["state"], "district_review");
    app.clock.set(new_due - Duration::days(2) + Duration::seconds(1));
    assert_eq!(app.sweep().await, 1, "the reminder, two days before the new deadline");
    app.clock.set(new_due - Duration::seconds(1));
    assert_eq!(app.sweep().await, 0);

    // Act & Assert: the new deadline passes.
    app.clock.set(new_due + Duration::seconds(1));
    assert_eq!(app.sweep().await, 1);
    let ent = app.fresh(&ent).await;
    let r = app.get(&path, &ent).await;
    assert_eq!(r.body["state"], "city_review");
    assert_eq!(last_entry(&r.body)["action"], "escalate");
    // The city review has no deadline to extend.
    let district = app.fresh(&district).await;
    let city = app.staff(Role::Reviewer, Some("city")).await;
    let r = app.post(&extend, &city, json!({"reason": "市级也想延期"})).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{:?}", r.body);
    let r = app.post(&extend, &district, json!({"reason": "已转市级"})).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "the application has left the district's stage: {:?}", r.body);
});

dual_test!(review_deadlines_follow_the_official_holidays_and_make_up_workdays, |app: TestApp| async move {
    // Saturday 19 September 2026, 10:00: the make-up workday Sunday 20th is the first day; then
    // Mon 21 … Thu 24 (days 2-5); Fri 25 to Sun 27 is the Mid-Autumn holiday; Mon 28 … Wed 30
    // (days 6-8); 1-7 October is the National Day holiday; Thu 8 and Fri 9 October (days 9-10).
    app.clock.set(at("2026-09-19T10:00:00+08:00"));
    let (_, ent) = app.register_enterprise("jingkou").await;
    let _district = app.staff(Role::Reviewer, Some("jingkou")).await;
    let id = submit_sample(&app, &ent).await;
    let view = app.get(&format!("/api/applications/{id}"), &ent).await.body;
    assert_eq!(due_at(&view), at("2026-10-10T00:00:00+08:00"));
    assert_eq!(view["due_estimated"], false);

    // Tuesday 29 September, 08:00, before the working day begins: the 29th is day 1 and Wed 30th
    // day 2; 1-7 October are off; Thu 8 and Fri 9 (days 3-4); Saturday 10 October is a make-up
    // workday (day 5); Sun 11 is off; Mon 12 … Fri 16 (days 6-10): 24:00 on Friday 16 October.
    app.clock.set(at("2026-09-29T08:00:00+08:00"));
    let ent = app.fresh(&ent).await;
    let id = submit_sample(&app, &ent).await;
    let view = app.get(&format!("/api/applications/{id}"), &ent).await.body;
    assert_eq!(due_at(&view), at("2026-10-17T00:00:00+08:00"));
    assert_eq!(view["due_estimated"], false, "every day of the period is in the 2026 data");

    // Sunday 20 December 2026: Mon 21 … Thu 31 are days 1-9 (no holiday in late December);
    // 2027 has no data yet, so Friday 1 January 2027 is counted as a weekday (day 10) and the
    // deadline is flagged as an estimate.
    app.clock.set(at("2026-12-20T10:00:00+08:00"));
    let ent = app.fresh(&ent).await;
    let id = submit_sample(&app, &ent).await;
    let view = app.get(&format!("/api/applications/{id}"), &ent).await.body;
    assert_eq!(due_at(&view), at("2027-01-02T00:00:00+08:00"));
    assert_eq!(view["due_estimated"], true, "the period runs into 2027, which the calendar does not cover");
});

dual_test!(a_second_rectification_stops_the_resumed_clock_again, |app: TestApp| async move {
    // Arrange: D1 is 24:00 on Monday 16 March (2026-03-16T16:00Z).
    let (_, ent) = app.register_enterprise("jingkou").await;
    let district = app.staff(Role::Reviewer, Some("jingkou")).await;
    let id = submit_sample(&app, &ent).await;
    let path = format!("/api/applications/{id}");
    let d1 = due_at(&app.get(&path, &ent).await.body);
    assert_eq!(d1, at("2026-03-16T16:00:00Z"));

    // Act: two rounds of rectification, the clock standing still for 2 and then 5 days.
    let mut stood_still = Duration::zero();
    for (after, stands) in [(Duration::days(1), Duration::days(2)), (Duration::days(1), Duration::days(5))] {
        app.advance(after);
        let district = app.fresh(&district).await;
        let r = app.act(&district, &id, "rectify", json!({"comment": "请补正"})).await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        app.advance(stands);
        stood_still += stands;
        let ent = app.fresh(&ent).await;
        let r = app.act(&ent, &id, "resubmit", json!({})).await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        assert_eq!(due_at(&r.body), d1 + stood_still);
    }

    // Assert: 24:00 on Monday 23 March; the 15-day rectification notices never fell due.
    let due = d1 + stood_still;
    assert_eq!(due, at("2026-03-24T00:00:00+08:00"));
    app.clock.set(due - Duration::seconds(1));
    assert_eq!(app.sweep().await, 1, "only the review reminder");
    app.clock.set(due + Duration::seconds(1));
    assert_eq!(app.sweep().await, 1, "the escalation");
    let ent = app.fresh(&ent).await;
    let r = app.get(&path, &ent).await;
    assert_eq!(r.body["state"], "city_review");
    assert_eq!(
        actions_taken(&r.body),
        vec!["create", "submit", "rectify", "resubmit", "rectify", "resubmit", "escalate"]
    );
    assert_eq!(
        outbox_recipients(&app, &id, "deadline-reminder").await.len(),
        1,
        "one reminder, no rectification notice"
    );
});

dual_test!(a_deadline_resumed_after_rectification_cannot_be_extended_a_second_time, |app: TestApp| async move {
    // Arrange: extended once, then rectified and resubmitted: the same review deadline resumes.
    let (_, ent) = app.register_enterprise("jingkou").await;
    let reviewer = app.staff(Role::Reviewer, Some("jingkou")).await;
    let id = submit_sample(&app, &ent).await;
    let path = format!("/api/applications/{id}/extend");
    assert_eq!(app.post(&path, &reviewer, json!({"reason": "材料较多"})).await.status, StatusCode::OK);
    let r = app.act(&reviewer, &id, "rectify", json!({"comment": "请补正"})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(app.act(&ent, &id, "resubmit", json!({})).await.status, StatusCode::OK);

    // Act
    let r = app.post(&path, &reviewer, json!({"reason": "再次延期"})).await;

    // Assert
    assert_eq!(r.status, StatusCode::CONFLICT, "{:?}", r.body);
});
