//! The expert panel (N-of-M votes, one vote per expert, reset on a new visit) and time: timeouts
//! firing exactly once, timers of a state already left, a sweep after downtime, reminders and the
//! notifications they queue and deliver.

use certflow::domain::role::Role;
use chrono::{DateTime, Duration, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::dual_test;
use crate::helpers::{TestApp, good_sample};
use crate::helpers::{email_of, outbox_recipients};

/// Creates and submits a sample application; returns its id.
async fn submit_sample(app: &TestApp, ent_token: &str) -> String {
    let view = app.create(ent_token, "sample-recognition", good_sample()).await;
    let id = view["id"].as_str().unwrap().to_string();
    let r = app.act(ent_token, &id, "submit", json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["state"], "district_review");
    id
}

/// An application of a jingkou enterprise brought to the expert panel, with three experts.
struct Panel {
    id: String,
    city: String,
    experts: [String; 3],
}

async fn at_the_panel(app: &TestApp) -> Panel {
    let (_, ent) = app.register_enterprise("jingkou").await;
    let district = app.staff(Role::Reviewer, Some("jingkou")).await;
    let city = app.staff(Role::Reviewer, Some("city")).await;
    let experts = [
        app.staff(Role::Expert, Some("province")).await,
        app.staff(Role::Expert, Some("province")).await,
        app.staff(Role::Expert, Some("province")).await,
    ];
    let id = submit_sample(app, &ent).await;
    for t in [&district, &city] {
        let r = app.act(t, &id, "approve", json!({})).await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    }
    let r = app.get(&format!("/api/applications/{id}"), &experts[0]).await;
    assert_eq!(r.body["state"], "expert_panel");
    assert_eq!(r.body["votes"], json!({"approve": 0, "reject": 0, "quorum": 2}));
    Panel { id, city, experts }
}

fn action_names(view: &Value) -> Vec<String> {
    view["actions"].as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap().to_string()).collect()
}

fn due_at(view: &Value) -> DateTime<Utc> {
    let s = view["due_at"].as_str().unwrap_or_else(|| panic!("no due_at in {view:?}"));
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn last_entry(view: &Value) -> Value {
    view["history"].as_array().unwrap().last().unwrap().clone()
}

dual_test!(
    a_two_of_three_panel_moves_on_at_the_second_approval_and_each_expert_votes_once,
    |app: TestApp| async move {
        // Arrange
        let Panel { id, experts: [e1, e2, e3], .. } = at_the_panel(&app).await;
        let path = format!("/api/applications/{id}");

        // Act: the first expert agrees.
        let r = app.act(&e1, &id, "approve", json!({})).await;

        // Assert: one vote is not enough; the expert is not offered a second vote.
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        assert_eq!(r.body["state"], "expert_panel");
        assert_eq!(r.body["votes"], json!({"approve": 1, "reject": 0, "quorum": 2}));
        assert_eq!(action_names(&r.body), Vec::<String>::new(), "the expert has voted");
        let mut others = action_names(&app.get(&path, &e2).await.body);
        others.sort();
        assert_eq!(others, vec!["approve", "reject"], "the other experts still vote");
        let r = app.act(&e1, &id, "approve", json!({})).await;
        assert_eq!(r.status, StatusCode::CONFLICT, "a second vote: {:?}", r.body);
        let r = app.act(&e1, &id, "reject", json!({"comment": "改变主意"})).await;
        assert_eq!(r.status, StatusCode::CONFLICT, "a vote the other way: {:?}", r.body);
        assert_eq!(app.get(&path, &e1).await.body["votes"], json!({"approve": 1, "reject": 0, "quorum": 2}));

        // Act: the second expert agrees.
        let r = app.act(&e2, &id, "approve", json!({})).await;

        // Assert: the quorum is reached; the third expert has nothing left to do.
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        assert_eq!(r.body["state"], "publicity");
        let r = app.get(&path, &e3).await;
        assert_eq!(action_names(&r.body), Vec::<String>::new());
        let r = app.act(&e3, &id, "approve", json!({})).await;
        assert_eq!(r.status, StatusCode::CONFLICT, "the panel is over: {:?}", r.body);
        let r = app.get(&path, &e3).await;
        assert_eq!(r.body["state"], "publicity");
        let votes: Vec<(String, String, String)> = r.body["history"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|h| h["from"] == "expert_panel")
            .map(|h| {
                (
                    h["action"].as_str().unwrap().into(),
                    h["to"].as_str().unwrap().into(),
                    h["actor"]["id"].as_str().unwrap().into(),
                )
            })
            .collect();
        let id1 = app.get("/api/me", &e1).await.body["id"].as_str().unwrap().to_string();
        let id2 = app.get("/api/me", &e2).await.body["id"].as_str().unwrap().to_string();
        assert_eq!(
            votes,
            vec![("approve".into(), "expert_panel".into(), id1), ("approve".into(), "publicity".into(), id2)],
            "one entry per vote, the second one moving the application on"
        );
    }
);

dual_test!(
    a_rejection_also_needs_two_votes_so_one_approval_and_one_rejection_decide_nothing,
    |app: TestApp| async move {
        // Arrange
        let Panel { id, experts: [e1, e2, e3], .. } = at_the_panel(&app).await;
        assert_eq!(app.act(&e1, &id, "approve", json!({})).await.status, StatusCode::OK);

        // Act: a rejection without a comment is refused and does not count; with one it counts.
        let refused = app.act(&e2, &id, "reject", json!({})).await;
        let r = app.act(&e2, &id, "reject", json!({"comment": "研发投入不足"})).await;

        // Assert
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", refused.body);
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        assert_eq!(r.body["state"], "expert_panel");
        assert_eq!(r.body["votes"], json!({"approve": 1, "reject": 1, "quorum": 2}));
        assert_eq!(r.body["final"], false);

        // Act: the third expert rejects too.
        let r = app.act(&e3, &id, "reject", json!({"comment": "同意前一位专家意见"})).await;

        // Assert
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        assert_eq!(r.body["state"], "rejected");
        assert_eq!(r.body["final"], true);
    }
);

dual_test!(panel_votes_start_again_from_zero_when_the_application_returns_to_the_panel, |app: TestApp| async move {
    // Arrange: the panel approves; an objection during publicity sends it back to the city.
    let Panel { id, city, experts: [e1, e2, e3] } = at_the_panel(&app).await;
    for t in [&e1, &e2] {
        assert_eq!(app.act(t, &id, "approve", json!({})).await.status, StatusCode::OK);
    }
    let r = app.act(&city, &id, "object", json!({"comment": "公示期间收到实名异议"})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["state"], "city_review");

    // Act
    let r = app.act(&city, &id, "approve", json!({"comment": "异议已核实不成立"})).await;

    // Assert: a new visit of the panel with no votes; the earlier voters vote again.
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["state"], "expert_panel");
    let r = app.get(&format!("/api/applications/{id}"), &e1).await;
    assert_eq!(r.body["votes"], json!({"approve": 0, "reject": 0, "quorum": 2}));
    assert!(action_names(&r.body).contains(&"approve".to_string()), "{:?}", r.body["actions"]);
    let r = app.act(&e1, &id, "approve", json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["state"], "expert_panel", "the first visit's votes no longer count");
    assert_eq!(r.body["votes"], json!({"approve": 1, "reject": 0, "quorum": 2}));
    let r = app.act(&e3, &id, "approve", json!({})).await;
    assert_eq!(r.body["state"], "publicity");
});

dual_test!(
    an_untouched_district_review_escalates_to_the_city_once_when_its_deadline_passes,
    |app: TestApp| async move {
        // Arrange
        let (_, ent) = app.register_enterprise("jingkou").await;
        let _district = app.staff(Role::Reviewer, Some("jingkou")).await;
        let id = submit_sample(&app, &ent).await;
        let path = format!("/api/applications/{id}");
        let view = app.get(&path, &ent).await.body;
        let due = due_at(&view);
        // Submitted Monday 2 March at 09:00: ten working days from Tuesday, to the end of 16 March.
        assert_eq!(view["due_at"], "2026-03-16T16:00:00Z");

        // Act & Assert: before the deadline the application waits (only the reminder goes out).
        assert_eq!(app.sweep().await, 0, "nothing is due on the day of submission");
        app.clock.set(due - Duration::minutes(1));
        assert_eq!(app.sweep().await, 1, "only the reminder two days before the deadline");
        let ent = app.fresh(&ent).await;
        let r = app.get(&path, &ent).await;
        assert_eq!(r.body["state"], "district_review");
        assert_eq!(r.body["version"], view["version"]);

        // Act: the deadline passes.
        app.clock.set(due + Duration::minutes(1));
        let fired = app.sweep().await;
        let again = app.sweep().await;

        // Assert
        assert_eq!(fired, 1);
        assert_eq!(again, 0, "a timeout fires exactly once");
        let ent = app.fresh(&ent).await;
        let r = app.get(&path, &ent).await;
        assert_eq!(r.body["state"], "city_review");
        let last = last_entry(&r.body);
        assert_eq!(
            (last["action"].as_str(), last["from"].as_str(), last["to"].as_str()),
            (Some("escalate"), Some("district_review"), Some("city_review"))
        );
        assert_eq!(last["actor"]["name"], "system");
        assert_eq!(last["actor"]["id"], Value::Null);
        let escalations = r.body["history"].as_array().unwrap().iter().filter(|h| h["action"] == "escalate").count();
        assert_eq!(escalations, 1);
    }
);

dual_test!(the_deadline_of_a_state_already_left_does_not_fire, |app: TestApp| async move {
    // Arrange
    let (_, ent) = app.register_enterprise("jingkou").await;
    let district = app.staff(Role::Reviewer, Some("jingkou")).await;
    let id = submit_sample(&app, &ent).await;
    let path = format!("/api/applications/{id}");
    let old_due = due_at(&app.get(&path, &ent).await.body);
    let r = app.act(&district, &id, "approve", json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["due_at"], Value::Null, "the city review has no deadline");

    // Act
    app.clock.set(old_due + Duration::days(1));
    let fired = app.sweep().await;

    // Assert
    assert_eq!(fired, 0, "neither the district's timeout nor its reminder fires");
    let ent = app.fresh(&ent).await;
    let r = app.get(&path, &ent).await;
    assert_eq!(r.body["state"], "city_review");
    assert_eq!(last_entry(&r.body)["action"], "approve");
    assert_eq!(outbox_recipients(&app, &id, "deadline-reminder").await, Vec::<String>::new());
});

dual_test!(a_sweep_after_downtime_fires_every_deadline_that_fell_due_meanwhile, |app: TestApp| async move {
    // Arrange: two applications waiting in district review, submitted a day apart.
    let (_, ent_a) = app.register_enterprise("jingkou").await;
    let (_, ent_b) = app.register_enterprise("runzhou").await;
    let _reviewer_a = app.staff(Role::Reviewer, Some("jingkou")).await;
    let _reviewer_b = app.staff(Role::Reviewer, Some("runzhou")).await;
    let id_a = submit_sample(&app, &ent_a).await;
    app.advance(Duration::days(1));
    let ent_b = app.fresh(&ent_b).await;
    let id_b = submit_sample(&app, &ent_b).await;

    // Act: the server was down for a month.
    app.advance(Duration::days(30));
    let fired = app.sweep().await;

    // Assert
    assert_eq!(fired, 2, "both timeouts; reminders for deadlines already passed are dropped");
    assert_eq!(app.sweep().await, 0);
    for (id, ent) in [(&id_a, &ent_a), (&id_b, &ent_b)] {
        let ent = app.fresh(ent).await;
        let r = app.get(&format!("/api/applications/{id}"), &ent).await;
        assert_eq!(r.body["state"], "city_review", "{id}");
        let last = last_entry(&r.body);
        assert_eq!(last["action"], "escalate");
        assert_eq!(last["actor"]["name"], "system");
        assert_eq!(
            outbox_recipients(&app, id, "deadline-reminder").await,
            Vec::<String>::new(),
            "no reminder after the deadline"
        );
    }
});

dual_test!(the_district_reviewers_are_reminded_two_days_before_the_deadline_by_mail, |app: TestApp| async move {
    // Arrange
    let (_, ent) = app.register_enterprise("jingkou").await;
    let district = app.staff(Role::Reviewer, Some("jingkou")).await;
    let elsewhere = app.staff(Role::Reviewer, Some("runzhou")).await;
    let _city = app.staff(Role::Reviewer, Some("city")).await;
    let district_email = email_of(&app, &district).await;
    let elsewhere_email = email_of(&app, &elsewhere).await;
    let id = submit_sample(&app, &ent).await;
    let view = app.get(&format!("/api/applications/{id}"), &ent).await.body;
    let number = view["number"].as_str().unwrap().to_string();
    let due = due_at(&view);

    // Act & Assert: just over two days before the deadline, no reminder yet.
    app.clock.set(due - Duration::days(2) - Duration::minutes(1));
    assert_eq!(app.sweep().await, 0);
    assert_eq!(outbox_recipients(&app, &id, "deadline-reminder").await, Vec::<String>::new());

    // Act: within two days of the deadline.
    app.clock.set(due - Duration::days(2) + Duration::minutes(1));
    let fired = app.sweep().await;

    // Assert: one reminder, to the district's reviewer only, and it is delivered.
    assert_eq!(fired, 1);
    assert_eq!(outbox_recipients(&app, &id, "deadline-reminder").await, vec![district_email.clone()]);
    assert_eq!(app.sweep().await, 0, "the reminder is sent once");
    let sent = app.engine.deliver_mail().await.expect("mail delivered");
    assert!(sent >= 1, "sent {sent}");
    let mail_dir = app.dir.path().join("mail");
    let reminders: Vec<String> = std::fs::read_dir(&mail_dir)
        .expect("mail folder")
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with("-deadline-reminder.eml"))
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    assert_eq!(reminders.len(), 1, "one reminder file in {mail_dir:?}");
    assert!(reminders[0].contains(&number), "the reminder names application {number}:\n{}", reminders[0]);
    assert!(reminders[0].contains(&district_email), "addressed to {district_email}:\n{}", reminders[0]);
    assert!(!reminders[0].contains(&elsewhere_email));
});

dual_test!(submitting_notifies_the_reviewers_of_the_applicants_district_only, |app: TestApp| async move {
    // Arrange
    let (_, ent) = app.register_enterprise("jingkou").await;
    let district = app.staff(Role::Reviewer, Some("jingkou")).await;
    let elsewhere = app.staff(Role::Reviewer, Some("runzhou")).await;
    let _city = app.staff(Role::Reviewer, Some("city")).await;
    let district_email = email_of(&app, &district).await;
    let elsewhere_email = email_of(&app, &elsewhere).await;

    // Act
    let id = submit_sample(&app, &ent).await;

    // Assert
    let to = outbox_recipients(&app, &id, "task-assigned").await;
    assert_eq!(to, vec![district_email], "not {elsewhere_email}, nor the city");
});
