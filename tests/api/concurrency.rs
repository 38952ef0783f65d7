//! Two people at once: optimistic versions (`If-Match`), simultaneous approvals and votes, and
//! replayed requests under an `Idempotency-Key`.

use certflow::domain::role::Role;
use certflow::storage::entities::outbox;
use reqwest::{Method, StatusCode};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

use crate::dual_test;
use crate::helpers::{Resp, TestApp, good_sample};

async fn submit_sample(app: &TestApp, ent_token: &str) -> String {
    let view = app.create(ent_token, "sample-recognition", good_sample()).await;
    let id = view["id"].as_str().unwrap().to_string();
    let r = app.act(ent_token, &id, "submit", json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    id
}

/// Sends an action with extra headers.
async fn act_with(app: &TestApp, token: &str, id: &str, action: &str, body: Value, headers: &[(&str, &str)]) -> Resp {
    app.request(Method::POST, &format!("/api/applications/{id}/actions/{action}"), Some(token), Some(body), headers)
        .await
}

/// How many history entries of `action` the application has.
fn entries(view: &Value, action: &str) -> usize {
    view["history"].as_array().unwrap().iter().filter(|h| h["action"] == action).count()
}

dual_test!(two_reviewers_approving_the_same_version_at_once_succeed_exactly_once, |app: TestApp| async move {
    // Arrange
    let (_, ent) = app.register_enterprise("jingkou").await;
    let r1 = app.staff(Role::Reviewer, Some("jingkou")).await;
    let r2 = app.staff(Role::Reviewer, Some("jingkou")).await;
    let id = submit_sample(&app, &ent).await;
    let path = format!("/api/applications/{id}");
    let before = app.get(&path, &r1).await.body;
    let version = format!("\"{}\"", before["version"]);

    // Act
    let headers = [("If-Match", version.as_str())];
    let (a, b) = tokio::join!(
        act_with(&app, &r1, &id, "approve", json!({"comment": "同意"}), &headers),
        act_with(&app, &r2, &id, "approve", json!({"comment": "同意"}), &headers),
    );

    // Assert
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::OK, StatusCode::CONFLICT], "{:?} / {:?}", a.body, b.body);
    let winner = if a.status == StatusCode::OK { &a } else { &b };
    assert_eq!(winner.body["state"], "city_review");
    let after = app.get(&path, &r1).await.body;
    assert_eq!(after["state"], "city_review");
    assert_eq!(after["version"], json!(before["version"].as_i64().unwrap() + 1), "changed once");
    assert_eq!(entries(&after, "approve"), 1);
});

dual_test!(two_experts_voting_at_once_never_lose_a_vote_silently, |app: TestApp| async move {
    // Arrange: an application at the panel.
    let (_, ent) = app.register_enterprise("jingkou").await;
    let district = app.staff(Role::Reviewer, Some("jingkou")).await;
    let city = app.staff(Role::Reviewer, Some("city")).await;
    let e1 = app.staff(Role::Expert, Some("province")).await;
    let e2 = app.staff(Role::Expert, Some("province")).await;
    let id = submit_sample(&app, &ent).await;
    for t in [&district, &city] {
        assert_eq!(app.act(t, &id, "approve", json!({})).await.status, StatusCode::OK);
    }

    // Act: both vote at the same moment; whoever is told to retry (409) does so.
    let (a, b) = tokio::join!(app.act(&e1, &id, "approve", json!({})), app.act(&e2, &id, "approve", json!({})));
    for (r, token) in [(&a, &e1), (&b, &e2)] {
        assert!(matches!(r.status, StatusCode::OK | StatusCode::CONFLICT), "{:?}", r.body);
        if r.status == StatusCode::CONFLICT {
            let retry = app.act(token, &id, "approve", json!({})).await;
            assert_eq!(
                retry.status,
                StatusCode::OK,
                "a refused vote was not recorded, so it may be cast again: {:?}",
                retry.body
            );
        }
    }

    // Assert: two votes, counted once each, and the panel has decided.
    assert!(a.status == StatusCode::OK || b.status == StatusCode::OK, "at least one vote goes through at once");
    let view = app.get(&format!("/api/applications/{id}"), &e1).await.body;
    assert_eq!(view["state"], "publicity");
    let panel_votes = view["history"].as_array().unwrap().iter().filter(|h| h["from"] == "expert_panel").count();
    assert_eq!(panel_votes, 2);
});

dual_test!(a_replayed_action_with_the_same_idempotency_key_is_applied_once, |app: TestApp| async move {
    // Arrange
    let (_, ent) = app.register_enterprise("jingkou").await;
    let _district = app.staff(Role::Reviewer, Some("jingkou")).await;
    let view = app.create(&ent, "sample-recognition", good_sample()).await;
    let id = view["id"].as_str().unwrap().to_string();
    let path = format!("/api/applications/{id}");
    let body = json!({"comment": "请审核"});

    // Act: the same request twice (a client retrying after a lost response).
    let first = act_with(&app, &ent, &id, "submit", body.clone(), &[("Idempotency-Key", "k1")]).await;
    let replay = act_with(&app, &ent, &id, "submit", body.clone(), &[("Idempotency-Key", "k1")]).await;

    // Assert: the second gets the first answer, and nothing happened twice.
    assert_eq!(first.status, StatusCode::OK, "{:?}", first.body);
    assert_eq!(first.body["state"], "district_review");
    assert_eq!(replay.status, StatusCode::OK, "{:?}", replay.body);
    assert_eq!(replay.body, first.body);
    let now = app.get(&path, &ent).await.body;
    assert_eq!(now["version"], first.body["version"], "the replay changed nothing");
    assert_eq!(entries(&now, "submit"), 1);
    let mails = outbox::Entity::find()
        .filter(outbox::Column::ApplicationId.eq(id.as_str()))
        .filter(outbox::Column::Template.eq("task-assigned"))
        .count(&app.engine.db)
        .await
        .unwrap();
    assert_eq!(mails, 1, "the reviewer is told once");

    // Act & Assert: the same key with another body is refused.
    let other =
        act_with(&app, &ent, &id, "submit", json!({"comment": "另一条意见"}), &[("Idempotency-Key", "k1")]).await;
    assert_eq!(other.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", other.body);

    // Act & Assert: a new key is a new request, and submitting again is no longer possible.
    let again = act_with(&app, &ent, &id, "submit", body.clone(), &[("Idempotency-Key", "k2")]).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{:?}", again.body);
    let end = app.get(&path, &ent).await.body;
    assert_eq!(end["version"], first.body["version"]);
    assert_eq!(entries(&end, "submit"), 1);
});

dual_test!(the_same_idempotent_request_sent_twice_at_once_is_applied_once, |app: TestApp| async move {
    // Arrange
    let (_, ent) = app.register_enterprise("jingkou").await;
    let view = app.create(&ent, "sample-recognition", good_sample()).await;
    let id = view["id"].as_str().unwrap().to_string();
    let headers = [("Idempotency-Key", "double-click")];

    // Act
    let (a, b) = tokio::join!(
        act_with(&app, &ent, &id, "submit", json!({}), &headers),
        act_with(&app, &ent, &id, "submit", json!({}), &headers),
    );

    // Assert: one is applied; the other replays it or is told it is in progress.
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert!(
        statuses == [StatusCode::OK, StatusCode::OK] || statuses == [StatusCode::OK, StatusCode::CONFLICT],
        "{statuses:?}: {:?} / {:?}",
        a.body,
        b.body
    );
    let now = app.get(&format!("/api/applications/{id}"), &ent).await.body;
    assert_eq!(now["state"], "district_review");
    assert_eq!(entries(&now, "submit"), 1);
    assert_eq!(now["version"], json!(view["version"].as_i64().unwrap() + 1));
});

dual_test!(an_edit_with_a_stale_if_match_is_refused_and_changes_nothing, |app: TestApp| async move {
    // Arrange: two tabs open on version 1; the first saves.
    let (_, ent) = app.register_enterprise("jingkou").await;
    let view = app.create(&ent, "sample-recognition", good_sample()).await;
    let id = view["id"].as_str().unwrap().to_string();
    let path = format!("/api/applications/{id}");
    let opened = format!("\"{}\"", view["version"]);
    let saved = app
        .request(Method::PATCH, &path, Some(&ent), Some(json!({"data": {"staff": 60}})), &[("If-Match", &opened)])
        .await;
    assert_eq!(saved.status, StatusCode::OK, "{:?}", saved.body);

    // Act: the second tab saves on the version it opened.
    let stale = app
        .request(Method::PATCH, &path, Some(&ent), Some(json!({"data": {"staff": 70}})), &[("If-Match", &opened)])
        .await;

    // Assert
    assert_eq!(stale.status, StatusCode::CONFLICT, "{:?}", stale.body);
    assert!(stale.content_type.starts_with("application/problem+json"), "{}", stale.content_type);
    let now = app.get(&path, &ent).await.body;
    assert_eq!(now["data"]["staff"], 60);
    assert_eq!(now["version"], saved.body["version"]);
    assert_eq!(entries(&now, "save"), 1);
    // With the current version the edit goes through.
    let current = format!("\"{}\"", saved.body["version"]);
    let r = app
        .request(Method::PATCH, &path, Some(&ent), Some(json!({"data": {"staff": 70}})), &[("If-Match", &current)])
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["data"]["staff"], 70);
});

dual_test!(an_action_with_a_stale_if_match_is_refused_and_changes_nothing, |app: TestApp| async move {
    // Arrange: the draft is edited after it was loaded; the submit names the version loaded.
    let (_, ent) = app.register_enterprise("jingkou").await;
    let view = app.create(&ent, "sample-recognition", good_sample()).await;
    let id = view["id"].as_str().unwrap().to_string();
    let path = format!("/api/applications/{id}");
    let loaded = format!("\"{}\"", view["version"]);
    assert_eq!(app.patch(&path, &ent, json!({"data": {"staff": 60}})).await.status, StatusCode::OK);

    // Act
    let r = act_with(&app, &ent, &id, "submit", json!({}), &[("If-Match", &loaded)]).await;

    // Assert
    assert_eq!(r.status, StatusCode::CONFLICT, "{:?}", r.body);
    let now = app.get(&path, &ent).await.body;
    assert_eq!(now["state"], "draft");
    assert_eq!(entries(&now, "submit"), 0);
});
