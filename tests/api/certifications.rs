//! Certification lifetime: granted for three years at recognition, reminded of 90 and 30 days
//! before it runs out (each once, to every user of the enterprise), expired by the sweep, and
//! renewed with the `extend` effect of `workflows/sample-renewal.yaml`.

use std::path::Path;

use certflow::domain::role::Role;
use certflow::engine::{NewUser, RoleGrant};
use certflow::storage::entities::outbox;
use chrono::{DateTime, Duration, Utc};
use reqwest::{Method, StatusCode};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};

use crate::dual_test;
use crate::helpers::email_of;
use crate::helpers::{Backend, PASSWORD, TestApp, good_sample, spawn_app_with};

/// A definition that only asks `holds('sample-recognition')`: its submit succeeds while the
/// enterprise holds an active certification and is refused with the message otherwise.
const PROBE: &str = r#"
key: probe-holds
version: 1
title: {zh: 认定状态探针, en: Certification probe}
category: test
starts: enterprise
eligibility:
  - rule: "holds('sample-recognition')"
    message: {zh: 没有有效的示例认定, en: holds no active sample recognition}
states:
  draft:
    editable: true
    actions:
      submit: {to: done, by: applicant, check: [eligibility], title: {zh: 提交, en: Submit}}
  done:
    final: true
"#;

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// The project's definitions plus the probe, in a folder of their own.
fn definitions_with_probe() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(Path::new("workflows"), dir.path());
    std::fs::write(dir.path().join("probe-holds.yaml"), PROBE).unwrap();
    dir
}

/// `dual_test!` on the project's definitions plus the `probe-holds` workflow.
macro_rules! dual_test_with_probe {
    ($name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test]
            async fn sqlite() {
                let defs = definitions_with_probe();
                let app = spawn_app_with(Backend::Sqlite, defs.path()).await;
                ($body)(app).await;
            }

            #[tokio::test]
            #[cfg_attr(not(pg_tests), ignore = "PostgreSQL run skipped: set CERTFLOW_TEST_POSTGRES_URL to run it")]
            async fn postgres() {
                let defs = definitions_with_probe();
                let app = spawn_app_with(Backend::Postgres, defs.path()).await;
                ($body)(app).await;
            }
        }
    };
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn time(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().unwrap_or_else(|| panic!("not a time: {v:?}"))).unwrap().with_timezone(&Utc)
}

/// The enterprise's certifications as `GET /api/certifications` shows them.
async fn certifications(app: &TestApp, token: &str, query: &str) -> Vec<Value> {
    let r = app.get(&format!("/api/certifications{query}"), token).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    r.body["items"].as_array().unwrap().clone()
}

/// The expiry reminders queued so far: (recipient, body), in queue order.
async fn expiry_mail(app: &TestApp) -> Vec<(String, String)> {
    outbox::Entity::find()
        .filter(outbox::Column::Template.eq("certification-expiring"))
        .order_by_asc(outbox::Column::Id)
        .all(&app.engine.db)
        .await
        .unwrap()
        .into_iter()
        .map(|m| (m.recipient, m.body_text))
        .collect()
}

async fn sweep_certs(app: &TestApp) -> (u64, usize) {
    app.engine.sweep_certifications().await.expect("certification sweep")
}

/// A county (danyang) enterprise recognised at Tuesday 10 March 2026, 09:00.
struct Recognised {
    ent_id: String,
    ent: String,
    district: String,
    application: String,
    recognised_at: DateTime<Utc>,
}

async fn recognised_enterprise(app: &TestApp) -> Recognised {
    let (ent_id, ent) = app.register_enterprise("danyang").await;
    let district = app.staff(Role::Reviewer, Some("danyang")).await;
    let city = app.staff(Role::Reviewer, Some("city")).await;
    let e1 = app.staff(Role::Expert, Some("province")).await;
    let e2 = app.staff(Role::Expert, Some("province")).await;
    let view = app.create(&ent, "sample-recognition", good_sample()).await;
    let id = view["id"].as_str().unwrap().to_string();
    let r = app.act(&ent, &id, "submit", json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    for t in [&district, &city, &e1, &e2] {
        let r = app.act(t, &id, "approve", json!({})).await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    }
    let r = app.get(&format!("/api/applications/{id}"), &ent).await;
    assert_eq!(r.body["state"], "publicity");
    // Publicity from Monday 2 March 09:00: five working days Tue 3 … Fri 6 and Mon 9.
    assert_eq!(time(&r.body["due_at"]), at("2026-03-10T00:00:00+08:00"));
    let recognised_at = at("2026-03-10T09:00:00+08:00");
    app.clock.set(recognised_at);
    assert_eq!(app.sweep().await, 1, "publicity ends");
    let ent = app.fresh(&ent).await;
    let district = app.fresh(&district).await;
    let r = app.get(&format!("/api/applications/{id}"), &ent).await;
    assert_eq!(r.body["state"], "recognised");
    assert_eq!(r.body["children"], json!([]), "no reward for a county enterprise");
    Recognised { ent_id, ent, district, application: id, recognised_at }
}

/// Files and submits a renewal; returns the response of the submission and the renewal's id.
async fn submit_renewal(app: &TestApp, ent: &str, lang: &str) -> (crate::helpers::Resp, String) {
    let view =
        app.create(ent, "sample-renewal", json!({"summary": "三年来研发投入持续增长，新增发明专利 4 项。"})).await;
    assert_eq!(view["state"], "draft");
    let id = view["id"].as_str().unwrap().to_string();
    let r = app
        .request(
            Method::POST,
            &format!("/api/applications/{id}/actions/submit"),
            Some(ent),
            Some(json!({})),
            &[("Accept-Language", lang)],
        )
        .await;
    (r, id)
}

/// Renews the enterprise's recognition: renewal filed, submitted and approved by the district now.
async fn renew(app: &TestApp, ent: &str, district: &str) -> String {
    let (r, id) = submit_renewal(app, ent, "en").await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["state"], "district_review");
    let r = app.act(district, &id, "approve", json!({"comment": "同意续期"})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["state"], "renewed");
    assert_eq!(r.body["final"], true);
    id
}

dual_test_with_probe!(
    a_certification_is_reminded_90_and_30_days_before_it_runs_out_and_then_expires,
    |app: TestApp| async move {
        // Arrange: recognised on 10 March 2026 at 09:00 China time, valid for three years.
        let Recognised { ent_id, ent, application, recognised_at, .. } = recognised_enterprise(&app).await;
        let valid_until = at("2029-03-10T09:00:00+08:00");
        app.engine
            .create_user_unchecked(NewUser {
                email: "colleague@firm.cn".into(),
                password: PASSWORD.into(),
                name: "同事".into(),
                roles: vec![RoleGrant { role: Role::Enterprise, jurisdiction: None }],
                enterprise_id: Some(ent_id.clone()),
                lang: Some("en".into()),
            })
            .await
            .expect("second user of the enterprise");
        let users = {
            let mut u = vec![email_of(&app, &ent).await, "colleague@firm.cn".to_string()];
            u.sort();
            u
        };

        // Assert: the certification is active, shown to the enterprise.
        let certs = certifications(&app, &ent, "").await;
        assert_eq!(certs.len(), 1, "{certs:?}");
        let c = &certs[0];
        assert_eq!(
            (c["kind"].as_str(), c["status"].as_str(), c["enterprise_id"].as_str(), c["application_id"].as_str()),
            (Some("sample-recognition"), Some("active"), Some(ent_id.as_str()), Some(application.as_str()))
        );
        assert_eq!(time(&c["granted_at"]), recognised_at);
        assert_eq!(time(&c["valid_until"]), valid_until);
        let filtered =
            certifications(&app, &ent, &format!("?enterprise_id={ent_id}&kind=sample-recognition&status=active")).await;
        assert_eq!(filtered.len(), 1);
        // holds() is true: the probe's eligibility passes.
        let probe = app.create(&ent, "probe-holds", json!({})).await;
        let r = app.act(&ent, probe["id"].as_str().unwrap(), "submit", json!({})).await;
        assert_eq!(r.status, StatusCode::OK, "holds('sample-recognition') while active: {:?}", r.body);

        // Act & Assert: 100 days before the end, nothing yet.
        app.clock.set(valid_until - Duration::days(100));
        assert_eq!(sweep_certs(&app).await, (0, 0));
        assert_eq!(expiry_mail(&app).await, vec![]);

        // 89 days before: the 90-day reminder, to each user of the enterprise, naming the end.
        app.clock.set(valid_until - Duration::days(89));
        assert_eq!(sweep_certs(&app).await, (0, 1));
        let mail = expiry_mail(&app).await;
        let mut to: Vec<String> = mail.iter().map(|(r, _)| r.clone()).collect();
        to.sort();
        assert_eq!(to, users);
        for (_, body) in &mail {
            assert!(body.contains("2029-03-10"), "the reminder names the end of validity:\n{body}");
        }
        assert_eq!(sweep_certs(&app).await, (0, 0), "the 90-day reminder is sent once");
        app.clock.set(valid_until - Duration::days(31));
        assert_eq!(sweep_certs(&app).await, (0, 0), "nothing between the two reminders");
        assert_eq!(expiry_mail(&app).await.len(), 2);

        // 29 days before: the 30-day reminder, once.
        app.clock.set(valid_until - Duration::days(29));
        assert_eq!(sweep_certs(&app).await, (0, 1), "the 30-day reminder");
        assert_eq!(sweep_certs(&app).await, (0, 0), "the 30-day reminder is sent once");
        let mail = expiry_mail(&app).await;
        assert_eq!(mail.len(), 4, "two reminders to two users: {:?}", mail.iter().map(|m| &m.0).collect::<Vec<_>>());
        let mut to: Vec<String> = mail[2..].iter().map(|(r, _)| r.clone()).collect();
        to.sort();
        assert_eq!(to, users);

        // A second before the end it is still active.
        app.clock.set(valid_until - Duration::seconds(1));
        assert_eq!(sweep_certs(&app).await, (0, 0));
        let ent = app.fresh(&ent).await;
        assert_eq!(certifications(&app, &ent, "").await[0]["status"], "active");

        // Act: the end passes.
        app.clock.set(valid_until + Duration::seconds(1));
        let swept = sweep_certs(&app).await;

        // Assert: expired, once; shown so; holds() is now false.
        assert_eq!(swept, (1, 0));
        assert_eq!(sweep_certs(&app).await, (0, 0));
        let ent = app.fresh(&ent).await;
        let certs = certifications(&app, &ent, "").await;
        assert_eq!(certs.len(), 1);
        assert_eq!(certs[0]["status"], "expired");
        assert_eq!(time(&certs[0]["valid_until"]), valid_until);
        assert_eq!(certifications(&app, &ent, "?status=active").await, Vec::<Value>::new());
        assert_eq!(certifications(&app, &ent, "?status=expired").await.len(), 1);
        assert_eq!(expiry_mail(&app).await.len(), 4, "no reminder after the end");
        let probe = app.create(&ent, "probe-holds", json!({})).await;
        let r = app
            .request(
                Method::POST,
                &format!("/api/applications/{}/actions/submit", probe["id"].as_str().unwrap()),
                Some(&ent),
                Some(json!({})),
                &[("Accept-Language", "en")],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", r.body);
        assert!(
            r.body["detail"].as_str().unwrap_or_default().contains("holds no active sample recognition"),
            "holds('sample-recognition') after expiry: {:?}",
            r.body
        );
    }
);

dual_test!(
    a_renewal_before_expiry_runs_on_three_years_from_the_old_end_and_the_reminders_start_again,
    |app: TestApp| async move {
        // Arrange: the recognition runs to 10 March 2029, 09:00; its 90-day reminder went out.
        let Recognised { ent, district, .. } = recognised_enterprise(&app).await;
        let valid_until = at("2029-03-10T09:00:00+08:00");
        let owner = email_of(&app, &ent).await;
        app.clock.set(valid_until - Duration::days(89));
        assert_eq!(sweep_certs(&app).await, (0, 1));

        // Act: 60 days before the end the enterprise renews and the district approves.
        app.clock.set(valid_until - Duration::days(60));
        let ent = app.fresh(&ent).await;
        let district = app.fresh(&district).await;
        let renewal = renew(&app, &ent, &district).await;

        // Assert: the same certification, active, three years on from its old end.
        let certs = certifications(&app, &ent, "").await;
        assert_eq!(certs.len(), 1, "{certs:?}");
        assert_eq!(certs[0]["status"], "active");
        let new_end = at("2032-03-10T09:00:00+08:00");
        assert_eq!(time(&certs[0]["valid_until"]), new_end);
        let approved: Vec<String> = outbox::Entity::find()
            .filter(outbox::Column::ApplicationId.eq(&renewal))
            .filter(outbox::Column::Template.eq("approved"))
            .all(&app.engine.db)
            .await
            .unwrap()
            .into_iter()
            .map(|m| m.recipient)
            .collect();
        assert_eq!(approved, vec![owner.clone()]);

        // The old end passes without effect; the 30-day reminder of the old end never comes.
        app.clock.set(valid_until - Duration::days(29));
        assert_eq!(sweep_certs(&app).await, (0, 0));
        app.clock.set(valid_until + Duration::seconds(1));
        assert_eq!(sweep_certs(&app).await, (0, 0));
        let ent = app.fresh(&ent).await;
        assert_eq!(certifications(&app, &ent, "").await[0]["status"], "active");
        assert_eq!(expiry_mail(&app).await.len(), 1);

        // The reminders were reset: 90 and 30 days before the new end they come again.
        app.clock.set(new_end - Duration::days(100));
        assert_eq!(sweep_certs(&app).await, (0, 0));
        app.clock.set(new_end - Duration::days(89));
        assert_eq!(sweep_certs(&app).await, (0, 1), "the 90-day reminder of the new end");
        assert_eq!(sweep_certs(&app).await, (0, 0));
        app.clock.set(new_end - Duration::days(29));
        assert_eq!(sweep_certs(&app).await, (0, 1), "the 30-day reminder of the new end");
        let mail = expiry_mail(&app).await;
        assert_eq!(mail.len(), 3);
        assert!(mail[1].1.contains("2032-03-10") && mail[2].1.contains("2032-03-10"), "{mail:?}");
        app.clock.set(new_end + Duration::seconds(1));
        assert_eq!(sweep_certs(&app).await, (1, 0), "it expires at the new end");
    }
);

dual_test!(a_renewal_after_expiry_runs_three_years_from_the_renewal, |app: TestApp| async move {
    // Arrange: the recognition ran out on 10 March 2029.
    let Recognised { ent, district, .. } = recognised_enterprise(&app).await;
    let valid_until = at("2029-03-10T09:00:00+08:00");
    app.clock.set(valid_until + Duration::days(10));
    assert_eq!(sweep_certs(&app).await, (1, 0));
    let ent = app.fresh(&ent).await;
    let district = app.fresh(&district).await;
    assert_eq!(certifications(&app, &ent, "").await[0]["status"], "expired");

    // Act: the enterprise that held it may still renew (held_ever); the district approves at
    // 11:00 on 20 March 2029.
    app.advance(Duration::hours(2));
    let renewed_at = at("2029-03-20T11:00:00+08:00");
    renew(&app, &ent, &district).await;

    // Assert: active again, for three years from the renewal.
    let certs = certifications(&app, &ent, "").await;
    assert_eq!(certs.len(), 1, "{certs:?}");
    assert_eq!(certs[0]["status"], "active");
    assert_eq!(time(&certs[0]["valid_until"]), renewed_at + chrono::Months::new(36));
    assert_eq!(time(&certs[0]["valid_until"]), at("2032-03-20T11:00:00+08:00"));
    assert_eq!(sweep_certs(&app).await, (0, 0), "nothing to expire or remind of now");
});

dual_test!(an_enterprise_that_never_held_the_recognition_cannot_renew_it, |app: TestApp| async move {
    // Arrange
    let (ent_id, ent) = app.register_enterprise("jingkou").await;

    // Act
    let (en, id) = submit_renewal(&app, &ent, "en").await;
    let r = app
        .request(
            Method::POST,
            &format!("/api/applications/{id}/actions/submit"),
            Some(&ent),
            Some(json!({})),
            &[("Accept-Language", "zh-CN")],
        )
        .await;

    // Assert: refused with the eligibility message in either language; still a draft.
    assert_eq!(en.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", en.body);
    assert!(
        en.body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("Only an enterprise that has held the sample recognition may apply for its renewal"),
        "{:?}",
        en.body
    );
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", r.body);
    assert!(
        r.body["detail"].as_str().unwrap_or_default().contains("仅曾获得示例认定的企业可以申请复核"),
        "{:?}",
        r.body
    );
    let view = app.get(&format!("/api/applications/{id}"), &ent).await.body;
    assert_eq!(view["state"], "draft");
    assert_eq!(certifications(&app, &ent, &format!("?enterprise_id={ent_id}")).await, Vec::<Value>::new());
});
