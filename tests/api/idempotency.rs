//! Idempotency keys: scoped to the caller, expiring, and written in the commit of the change
//! they record, so that a request cut off at any moment never leaves a key stuck.

use certflow::domain::role::Role;
use certflow::engine::{NewUser, RoleGrant};
use certflow::storage::entities::idempotency_key;
use rand::Rng;
use reqwest::{Method, StatusCode};
use sea_orm::{ActiveModelTrait, ActiveValue::NotSet, Set};
use serde_json::{Value, json};

use crate::dual_test;
use crate::helpers::{PASSWORD, Resp, TestApp, good_sample};

async fn submit_with_key(app: &TestApp, token: &str, id: &str, body: Value, key: &str) -> Resp {
    app.request(
        Method::POST,
        &format!("/api/applications/{id}/actions/submit"),
        Some(token),
        Some(body),
        &[("Idempotency-Key", key)],
    )
    .await
}

async fn submits(app: &TestApp, token: &str, id: &str) -> usize {
    let v = app.get(&format!("/api/applications/{id}"), token).await.body;
    v["history"].as_array().unwrap().iter().filter(|h| h["action"] == "submit").count()
}

async fn draft(app: &TestApp, token: &str) -> String {
    app.create(token, "sample-recognition", good_sample()).await["id"].as_str().unwrap().to_string()
}

dual_test!(a_key_belongs_to_its_caller_and_expires, |app: TestApp| async move {
    // Arrange: an enterprise with two users; the first submits under a key.
    let (ent_id, first) = app.register_enterprise("jingkou").await;
    app.engine
        .create_user_unchecked(NewUser {
            email: "second@firm.cn".into(),
            password: PASSWORD.into(),
            name: "Second".into(),
            roles: vec![RoleGrant { role: Role::Enterprise, jurisdiction: None }],
            enterprise_id: Some(ent_id),
            lang: None,
        })
        .await
        .unwrap();
    let second = app.login("second@firm.cn").await;
    let id = draft(&app, &first).await;
    let done = submit_with_key(&app, &first, &id, json!({}), "k-1").await;
    assert_eq!(done.status, StatusCode::OK, "{:?}", done.body);

    // Act and assert: another caller's same key is its own request (the submission is done:
    // 409), not the first caller's response.
    let other = submit_with_key(&app, &second, &id, json!({}), "k-1").await;
    assert_eq!(other.status, StatusCode::CONFLICT, "{:?}", other.body);
    // The first caller replays within the day…
    app.advance(chrono::Duration::hours(23));
    let first = app.fresh(&first).await;
    let replay = submit_with_key(&app, &first, &id, json!({}), "k-1").await;
    assert_eq!((replay.status, &replay.body), (StatusCode::OK, &done.body));
    // …and after it the key is forgotten: the same request is a new one.
    app.advance(chrono::Duration::hours(2));
    let first = app.fresh(&first).await;
    let late = submit_with_key(&app, &first, &id, json!({}), "k-1").await;
    assert_eq!(late.status, StatusCode::CONFLICT, "{:?}", late.body);
    assert_eq!(submits(&app, &first, &id).await, 1);
});

dual_test!(a_key_left_unfinished_by_a_dead_process_does_not_stick, |app: TestApp| async move {
    // Arrange: a claim without a response, as a process that died between claiming a key and
    // completing it left one.
    let (_, ent) = app.register_enterprise("jingkou").await;
    let me = app.get("/api/me", &ent).await.body;
    let id = draft(&app, &ent).await;
    idempotency_key::ActiveModel {
        id: NotSet,
        user_id: Set(me["id"].as_str().unwrap().to_string()),
        key: Set("k-dead".into()),
        request_hash: Set("whatever".into()),
        status: Set(0),
        body: Set(String::new()),
        created_at: Set(app.engine.now()),
    }
    .insert(&app.engine.db)
    .await
    .unwrap();

    // Act
    let r = submit_with_key(&app, &ent, &id, json!({}), "k-dead").await;

    // Assert: performed, then replayed.
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["state"], "district_review");
    let again = submit_with_key(&app, &ent, &id, json!({}), "k-dead").await;
    assert_eq!((again.status, &again.body), (StatusCode::OK, &r.body));
    assert_eq!(submits(&app, &ent, &id).await, 1);
});

dual_test!(a_client_that_hangs_up_right_after_sending_can_retry_with_its_key, |app: TestApp| async move {
    // Arrange
    let (_, ent) = app.register_enterprise("jingkou").await;
    let hasty = reqwest::Client::new();
    let mut rng = rand::rng();

    for i in 0..40 {
        let id = draft(&app, &ent).await;
        let key = format!("hang-up-{i}");
        // Act: the request goes out and the client gives up 0–10 ms later (the server drops
        // the handler wherever it was); then the client retries with the same key.
        let wait = std::time::Duration::from_micros(rng.random_range(0..10_000));
        let _ = hasty
            .post(format!("{}/api/applications/{id}/actions/submit", app.address))
            .bearer_auth(&ent)
            .header("Idempotency-Key", &key)
            .json(&json!({}))
            .timeout(wait)
            .send()
            .await;
        let retry = submit_with_key(&app, &ent, &id, json!({}), &key).await;

        // Assert: the retry is answered with the change (performed now or replayed), which
        // happened exactly once; the key never says "still being processed".
        assert_eq!(retry.status, StatusCode::OK, "try {i} after {wait:?}: {:?}", retry.body);
        assert_eq!(retry.body["state"], "district_review", "try {i}");
        assert_eq!(submits(&app, &ent, &id).await, 1, "try {i}");
    }
});
