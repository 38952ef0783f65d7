//! Money: a reward reserves its amount in the year's budget when approved, spends it when paid,
//! gives it back when cancelled; a budget never goes below zero; an award is given once per
//! enterprise.

use certflow::domain::role::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, definitions_with, good_sample, spawn_app_with};

/// Takes a sample application of an enterprise through to recognition; returns the reward's id.
async fn recognise(app: &TestApp, ent: &str, staff: &[String]) -> Option<String> {
    let ent = &app.fresh(ent).await;
    let view = app.create(ent, "sample-recognition", good_sample()).await;
    let id = view["id"].as_str().unwrap().to_string();
    assert_eq!(app.act(ent, &id, "submit", json!({})).await.status, StatusCode::OK);
    for t in staff {
        let r = app.act(t, &id, "approve", json!({})).await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    }
    app.advance(chrono::Duration::days(10));
    assert_eq!(app.sweep().await, 1);
    let admin = app.login("admin@test.cn").await;
    let v = app.get(&format!("/api/applications/{id}"), &admin).await;
    assert_eq!(v.body["state"], "recognised");
    v.body["children"].as_array().unwrap().first().map(|c| c["id"].as_str().unwrap().to_string())
}

async fn staff(app: &TestApp, district: &str) -> Vec<String> {
    vec![
        app.staff(Role::Reviewer, Some(district)).await,
        app.staff(Role::Reviewer, Some("city")).await,
        app.staff(Role::Expert, Some("province")).await,
        app.staff(Role::Expert, Some("province")).await,
    ]
}

async fn budget(app: &TestApp, token: &str) -> Value {
    let r = app.get("/api/budgets", token).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["key"] == "sample-rewards" && b["year"] == 2026)
        .unwrap()
        .clone()
}

crate::dual_test!(
    a_reward_reserves_when_approved_spends_when_paid_and_releases_when_cancelled,
    |app: TestApp| async move {
        // Arrange: two urban enterprises recognised, each with a reward of 100,000.00.
        let finance = app.staff(Role::Finance, None).await;
        let (_, a) = app.register_enterprise("jingkou").await;
        let (_, b) = app.register_enterprise("runzhou").await;
        let reward_a = recognise(&app, &a, &staff(&app, "jingkou").await).await.unwrap();
        let reward_b = recognise(&app, &b, &staff(&app, "runzhou").await).await.unwrap();
        let finance = app.fresh(&finance).await;
        assert_eq!(budget(&app, &finance).await["left"], "1000000.00");

        // Act and assert: approval reserves, payment spends, cancellation releases.
        assert_eq!(app.act(&finance, &reward_a, "approve", json!({})).await.status, StatusCode::OK);
        assert_eq!(app.act(&finance, &reward_b, "approve", json!({})).await.status, StatusCode::OK);
        let bud = budget(&app, &finance).await;
        assert_eq!((bud["reserved"].clone(), bud["left"].clone()), (json!("200000.00"), json!("800000.00")));
        let r = app.act(&finance, &reward_a, "pay", json!({"data": {"payment_reference": "ZJ-1"}})).await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        let r = app.act(&finance, &reward_b, "cancel", json!({"comment": "企业放弃"})).await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        let bud = budget(&app, &finance).await;
        assert_eq!(
            (bud["total"].clone(), bud["reserved"].clone(), bud["spent"].clone(), bud["left"].clone()),
            (json!("1000000.00"), json!("0.00"), json!("100000.00"), json!("900000.00"))
        );
        // Only finance, admins and auditors see budgets.
        let (_, ent) = app.register_enterprise("jingkou").await;
        assert_eq!(app.get("/api/budgets", &ent).await.status, StatusCode::FORBIDDEN);
    }
);

async fn budget_runs_out(backend: Backend) {
    let defs = definitions_with(&[("budgets.yaml", "2026: \"1000000.00\"", "2026: \"150000.00\"")]);
    let app = spawn_app_with(backend, defs.path()).await;
    let finance = app.staff(Role::Finance, None).await;
    let (_, a) = app.register_enterprise("jingkou").await;
    let (_, b) = app.register_enterprise("runzhou").await;
    let reward_a = recognise(&app, &a, &staff(&app, "jingkou").await).await.unwrap();
    let reward_b = recognise(&app, &b, &staff(&app, "runzhou").await).await.unwrap();
    let finance = app.fresh(&finance).await;
    assert_eq!(app.act(&finance, &reward_a, "approve", json!({})).await.status, StatusCode::OK);
    let r = app
        .request(
            reqwest::Method::POST,
            &format!("/api/applications/{reward_b}/actions/approve"),
            Some(&finance),
            Some(json!({})),
            &[("Accept-Language", "en")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", r.body);
    assert!(r.body["detail"].as_str().unwrap().contains("has only ¥50000.00 left"), "{:?}", r.body);
    // The refused approval changed nothing: still in finance review, budget as before.
    assert_eq!(app.get(&format!("/api/applications/{reward_b}"), &finance).await.body["state"], "finance_review");
    assert_eq!(budget(&app, &finance).await["left"], "50000.00");
    // Cancelling the first gives the money back; now the second fits.
    assert_eq!(app.act(&finance, &reward_a, "cancel", json!({"comment": "撤销"})).await.status, StatusCode::OK);
    assert_eq!(app.act(&finance, &reward_b, "approve", json!({})).await.status, StatusCode::OK);
    assert_eq!(budget(&app, &finance).await["left"], "50000.00");
}

#[tokio::test]
async fn a_budget_never_goes_below_zero_sqlite() {
    budget_runs_out(Backend::Sqlite).await;
}

#[tokio::test]
#[cfg_attr(not(pg_tests), ignore = "PostgreSQL run skipped: set CERTFLOW_TEST_POSTGRES_URL to run it")]
async fn a_budget_never_goes_below_zero_postgres() {
    budget_runs_out(Backend::Postgres).await;
}

async fn award_once(backend: Backend) {
    // Rewards for every recognition, so the same enterprise gets two reward applications.
    let defs = definitions_with(&[(
        "sample-recognition.yaml",
        "when: \"enterprise.urban and not held_ever('sample-recognition')\"",
        "when: \"enterprise.urban\"",
    )]);
    let app = spawn_app_with(backend, defs.path()).await;
    let finance = app.staff(Role::Finance, None).await;
    let (_, a) = app.register_enterprise("jingkou").await;
    let team = staff(&app, "jingkou").await;
    let first = recognise(&app, &a, &team).await.unwrap();
    let a = app.fresh(&a).await;
    let team2 = staff(&app, "jingkou").await;
    let second = recognise(&app, &a, &team2).await.unwrap();
    let finance = app.fresh(&finance).await;
    assert_eq!(app.act(&finance, &first, "approve", json!({})).await.status, StatusCode::OK);
    let r = app.act(&finance, &second, "approve", json!({})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", r.body);
    assert_eq!(budget(&app, &finance).await["reserved"], "100000.00", "the refused approval reserved nothing");
    // The database holds the rule too: a second claim row cannot exist.
    use certflow::storage::entities::award_claim;
    use sea_orm::EntityTrait;
    assert_eq!(award_claim::Entity::find().all(&app.engine.db).await.unwrap().len(), 1);
}

#[tokio::test]
async fn an_award_is_given_once_per_enterprise_sqlite() {
    award_once(Backend::Sqlite).await;
}

#[tokio::test]
#[cfg_attr(not(pg_tests), ignore = "PostgreSQL run skipped: set CERTFLOW_TEST_POSTGRES_URL to run it")]
async fn an_award_is_given_once_per_enterprise_postgres() {
    award_once(Backend::Postgres).await;
}
