//! What a hostile or unlucky user could do, each checked to fail: staff rewriting fields with an
//! action's data, and parallel password guessing.

use certflow::domain::role::Role;
use certflow::engine::Clock;
use certflow::storage::entities::certification;
use reqwest::StatusCode;
use sea_orm::{ActiveModelTrait, Set};
use serde_json::{Value, json};

use crate::dual_test;
use crate::helpers::{TestApp, good_sample};

/// The fields a refused (422) request names.
fn fields_named(r: &crate::helpers::Resp) -> Vec<String> {
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", r.body);
    r.body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap().to_string()).collect()
}

async fn data_of(app: &TestApp, token: &str, id: &str) -> Value {
    let r = app.get(&format!("/api/applications/{id}"), token).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    r.body["data"].clone()
}

async fn budget_left(app: &TestApp, token: &str) -> Value {
    let r = app.get("/api/budgets", token).await;
    let items = r.body["items"].as_array().unwrap();
    items.iter().find(|b| b["key"] == "sample-rewards" && b["year"] == 2026).unwrap()["left"].clone()
}

dual_test!(finance_cannot_rewrite_a_reward_amount_with_an_action, |app: TestApp| async move {
    // Arrange: a reward of 100,000.00 the system opened for an urban enterprise.
    let (ent_id, _) = app.register_enterprise("jingkou").await;
    let mut data = serde_json::Map::new();
    data.insert("amount".into(), json!("100000.00"));
    let id = app.engine.start_as_system("sample-reward", &ent_id, data).await.unwrap();
    let finance = app.staff(Role::Finance, None).await;
    let before = data_of(&app, &finance, &id).await;
    let left = budget_left(&app, &finance).await;

    // Act: approve with a new amount in the action's data.
    let r = app.act(&finance, &id, "approve", json!({"data": {"amount": "999999.99"}})).await;

    // Assert: refused naming the field; nothing changed, nothing reserved.
    assert_eq!(fields_named(&r), ["amount"]);
    assert_eq!(data_of(&app, &finance, &id).await, before);
    assert_eq!(budget_left(&app, &finance).await, left);

    // The approval itself goes through and reserves the amount the system wrote.
    let r = app.act(&finance, &id, "approve", json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(budget_left(&app, &finance).await, "900000.00");
    // Paying sets the payment reference (the action's field) and nothing else.
    let r = app.act(&finance, &id, "pay", json!({"data": {"payment_reference": "ZJ-9", "amount": "1.00"}})).await;
    assert_eq!(fields_named(&r), ["amount"]);
    let r = app.act(&finance, &id, "pay", json!({"data": {"payment_reference": "ZJ-9"}})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["data"]["payment_reference"], "ZJ-9");
    assert_eq!(r.body["data"]["amount"], before["amount"]);
});

dual_test!(a_reviewer_cannot_rewrite_the_enterprise_s_figures_while_approving, |app: TestApp| async move {
    // Arrange: a submitted sample recognition in district review.
    let (_, ent) = app.register_enterprise("runzhou").await;
    let reviewer = app.staff(Role::Reviewer, Some("runzhou")).await;
    let view = app.create(&ent, "sample-recognition", good_sample()).await;
    let id = view["id"].as_str().unwrap().to_string();
    assert_eq!(app.act(&ent, &id, "submit", json!({})).await.status, StatusCode::OK);
    let before = data_of(&app, &reviewer, &id).await;

    // Act
    let r = app
        .act(&reviewer, &id, "approve", json!({"data": {"revenue": "99000000", "staff": 5, "contact": "0511-7654321"}}))
        .await;

    // Assert: each rewritten field named; the data as the enterprise filed it.
    let mut named = fields_named(&r);
    named.sort();
    assert_eq!(named, ["contact", "revenue", "staff"]);
    assert_eq!(data_of(&app, &reviewer, &id).await, before);
    // Sending a field unchanged is no change and is not refused.
    let r = app.act(&reviewer, &id, "approve", json!({"data": {"staff": before["staff"]}})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["state"], "city_review");
});

dual_test!(the_applicant_cannot_rewrite_what_the_system_opened_its_renewal_with, |app: TestApp| async move {
    // Arrange: the expiry sweep opens a renewal of the enterprise's SRDI recognition.
    let (ent_id, ent) = app.register_enterprise("danyang").await;
    let original = app.create(&ent, "sample-recognition", good_sample()).await;
    let end = app.clock.now() + chrono::Duration::days(80);
    certification::ActiveModel {
        id: Set(uuid::Uuid::new_v4().to_string()),
        enterprise_id: Set(ent_id.clone()),
        kind: Set("srdi-sme".into()),
        application_id: Set(original["id"].as_str().unwrap().to_string()),
        status: Set("active".into()),
        granted_at: Set(end - chrono::Duration::days(3 * 365)),
        valid_until: Set(Some(end)),
        revoked_at: Set(None),
    }
    .insert(&app.engine.db)
    .await
    .unwrap();
    app.engine.sweep_certifications().await.unwrap();
    let list = app.get("/api/applications?workflow=renewal", &ent).await;
    let id = list.body["items"][0]["id"].as_str().unwrap().to_string();
    let v = app.get(&format!("/api/applications/{id}"), &ent).await.body;
    assert_eq!(v["data"]["kind"], "srdi-sme");
    // The page shows the kind read-only: it is not among the fields the enterprise may change.
    let editable: Vec<&str> = v["editable_fields"].as_array().unwrap().iter().map(|f| f.as_str().unwrap()).collect();
    assert!(!editable.contains(&"kind") && editable.contains(&"revenue"), "{editable:?}");

    // Act and assert: neither a save nor an action's data turns it into another recognition.
    let r = app.patch(&format!("/api/applications/{id}"), &ent, json!({"data": {"kind": "single-champion"}})).await;
    assert_eq!(fields_named(&r), ["kind"]);
    let r = app.act(&ent, &id, "submit", json!({"data": {"kind": "single-champion"}})).await;
    assert_eq!(fields_named(&r), ["kind"]);
    assert_eq!(data_of(&app, &ent, &id).await["kind"], "srdi-sme");
    // What the enterprise fills in itself it may change.
    let r =
        app.patch(&format!("/api/applications/{id}"), &ent, json!({"data": {"kind": "srdi-sme", "staff": 120}})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
});

// ---------------------------------------------------------------- sign-in under guessing

/// A client with its own loopback address, as a second person on another network would be.
fn client_at(ip: &str) -> reqwest::Client {
    reqwest::Client::builder().local_address(Some(ip.parse().unwrap())).build().unwrap()
}

async fn login_with(app: &TestApp, client: &reqwest::Client, email: &str, password: &str) -> crate::helpers::Resp {
    let res = client
        .post(format!("{}/api/auth/login", app.address))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap();
    let retry_after = res.headers().get("retry-after").map(|h| h.to_str().unwrap().to_string());
    let mut r = TestApp::read(res).await;
    if let Some(s) = retry_after {
        r.body["retry_after_header"] = json!(s);
    }
    r
}

/// Sends `n` wrong passwords for `email` at once; returns how many were checked (401) and how
/// many were told to wait (429, each with a `Retry-After` of at least a second).
async fn burst(app: &TestApp, email: &str, n: usize) -> (usize, usize) {
    let client = reqwest::Client::new();
    let tries = (0..n).map(|i| {
        let client = client.clone();
        async move { login_with(app, &client, email, &format!("wrong-guess-{i}")).await }
    });
    let answers = futures_util::future::join_all(tries).await;
    let mut counted = (0, 0);
    for r in answers {
        match r.status {
            StatusCode::UNAUTHORIZED => counted.0 += 1,
            StatusCode::TOO_MANY_REQUESTS => {
                let secs: u64 = r.body["retry_after_header"].as_str().unwrap().parse().unwrap();
                assert!(secs >= 1, "{:?}", r.body);
                counted.1 += 1;
            }
            other => panic!("unexpected {other}: {:?}", r.body),
        }
    }
    counted
}

dual_test!(parallel_guesses_are_counted_before_they_are_checked, |app: TestApp| async move {
    // Arrange
    let (_, _) = app.register_enterprise("jingkou").await;
    let email = "owner0@firm.cn";

    // Act: 40 wrong passwords at once.
    let (checked, waiting) = burst(&app, email, 40).await;

    // Assert: only the five free tries were checked; the right password right after the
    // burst waits too, and goes through once the wait is over.
    assert_eq!((checked, waiting), (5, 35));
    let client = reqwest::Client::new();
    let r = login_with(&app, &client, email, crate::helpers::PASSWORD).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{:?}", r.body);
    let wait: i64 = r.body["retry_after_header"].as_str().unwrap().parse().unwrap();
    assert!((1..=30).contains(&wait), "{wait}");
    app.advance(chrono::Duration::seconds(wait));
    let r = login_with(&app, &client, email, crate::helpers::PASSWORD).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
});

dual_test!(an_unknown_address_is_answered_like_a_known_one, |app: TestApp| async move {
    // Arrange: a real account and an address nobody has.
    let (_, _) = app.register_enterprise("jingkou").await;

    // Act
    let known = burst(&app, "owner0@firm.cn", 12).await;
    let unknown = burst(&app, "nobody@firm.cn", 12).await;

    // Assert: the same answers in the same numbers, with the same body.
    assert_eq!(known, (5, 7));
    assert_eq!(unknown, known);
    let client = reqwest::Client::new();
    let a = login_with(&app, &client, "owner0@firm.cn", "wrong-guess").await;
    let b = login_with(&app, &client, "nobody@firm.cn", "wrong-guess").await;
    assert_eq!(a.status, b.status);
    assert_eq!(a.body["title"], b.body["title"]);
});

dual_test!(a_stranger_s_guessing_does_not_lock_the_owner_out, |app: TestApp| async move {
    // Arrange: a stranger at one address guesses until told to wait.
    let (_, _) = app.register_enterprise("jingkou").await;
    let email = "owner0@firm.cn";
    let stranger = client_at("127.0.0.1");
    for _ in 0..5 {
        assert_eq!(login_with(&app, &stranger, email, "guess-1234").await.status, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(login_with(&app, &stranger, email, "guess-1234").await.status, StatusCode::TOO_MANY_REQUESTS);

    // Act: the owner signs in from elsewhere.
    let owner = client_at("127.0.0.2");
    let r = login_with(&app, &owner, email, crate::helpers::PASSWORD).await;

    // Assert: the owner is in; the stranger still waits.
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(login_with(&app, &stranger, email, "guess-1234").await.status, StatusCode::TOO_MANY_REQUESTS);
});

/// Registers through the API from `client`; returns the status and `Retry-After`.
async fn register_from(app: &TestApp, client: &reqwest::Client, n: u32) -> (StatusCode, Option<String>) {
    let body = json!({
        "enterprise": {"uscc": app.new_uscc(), "name": format!("限速企业{n}"), "district": "jingkou"},
        "user": {"email": format!("rate{n}@firm.cn"), "password": crate::helpers::PASSWORD, "name": "王五"},
    });
    let res = client.post(format!("{}/api/register", app.address)).json(&body).send().await.unwrap();
    (res.status(), res.headers().get("retry-after").map(|h| h.to_str().unwrap().to_string()))
}

dual_test!(
    sign_ins_and_registrations_are_limited_per_client_address,
    settings: |s: &mut certflow::config::Settings| {
        // The limits a deployment would set, low enough to reach.
        s.sign_in_rate = certflow::domain::throttle::Rate { per_period: 3, period_secs: 60 };
        s.register_rate = certflow::domain::throttle::Rate { per_period: 2, period_secs: 3600 };
    },
    |app: TestApp| async move {
        let (here, there) = (client_at("127.0.0.1"), client_at("127.0.0.2"));

        // Act and assert: registrations.
        assert_eq!(register_from(&app, &here, 1).await.0, StatusCode::CREATED);
        assert_eq!(register_from(&app, &here, 2).await.0, StatusCode::CREATED);
        let (status, retry) = register_from(&app, &here, 3).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(retry.as_deref(), Some("1800"), "a token comes back every 30 minutes");
        assert_eq!(register_from(&app, &there, 4).await.0, StatusCode::CREATED, "another address is not held up");

        // Sign-ins, right or wrong, count against the address.
        for password in [crate::helpers::PASSWORD, "wrong-password-1", crate::helpers::PASSWORD] {
            assert_ne!(login_with(&app, &here, "rate1@firm.cn", password).await.status, StatusCode::TOO_MANY_REQUESTS);
        }
        let r = login_with(&app, &here, "rate1@firm.cn", crate::helpers::PASSWORD).await;
        assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(r.body["retry_after_header"], "20");
        assert_eq!(login_with(&app, &there, "rate1@firm.cn", crate::helpers::PASSWORD).await.status, StatusCode::OK);
        app.advance(chrono::Duration::seconds(20));
        assert_eq!(login_with(&app, &here, "rate1@firm.cn", crate::helpers::PASSWORD).await.status, StatusCode::OK);
    }
);
