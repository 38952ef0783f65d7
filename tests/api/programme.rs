//! The programme's dashboard (targets against live counts, rewards paid, budget left) and the
//! banks' whitelist with its CSV export.

use certflow::domain::role::Role;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{Backend, TestApp, definitions_with, good_sample, spawn_app_with};

async fn recognise(app: &TestApp, district: &str) -> (String, String) {
    let (ent_id, ent) = app.register_enterprise(district).await;
    let view = app.create(&ent, "sample-recognition", good_sample()).await;
    let id = view["id"].as_str().unwrap().to_string();
    assert_eq!(app.act(&ent, &id, "submit", json!({})).await.status, StatusCode::OK);
    for t in [
        app.staff(Role::Reviewer, Some(district)).await,
        app.staff(Role::Reviewer, Some("city")).await,
        app.staff(Role::Expert, Some("province")).await,
        app.staff(Role::Expert, Some("province")).await,
    ] {
        assert_eq!(app.act(&t, &id, "approve", json!({})).await.status, StatusCode::OK);
    }
    app.advance(chrono::Duration::days(10));
    assert_eq!(app.sweep().await, 1);
    (ent_id, id)
}

async fn dashboard_and_whitelist(backend: Backend) {
    // Arrange: the sample certification counts on the whitelist here.
    let defs = definitions_with(&[(
        "programme.yaml",
        "whitelist: [srdi-sme, little-giant, single-champion]",
        "whitelist: [srdi-sme, little-giant, single-champion, sample-recognition]",
    )]);
    let app = spawn_app_with(backend, defs.path()).await;
    let (ent_a, _) = recognise(&app, "jingkou").await;
    let (_, _) = recognise(&app, "danyang").await;
    let admin = app.login("admin@test.cn").await;
    let bank = app.staff(Role::Bank, None).await;
    let reviewer = app.staff(Role::Reviewer, Some("city")).await;
    let (_, ent) = app.register_enterprise("jingkou").await;

    // Act
    let d = app.get("/api/dashboard", &reviewer).await;

    // Assert: two sample recognitions of a target of ten; one urban reward reserved nothing yet.
    assert_eq!(d.status, StatusCode::OK, "{:?}", d.body);
    let sample = d.body["targets"].as_array().unwrap().iter().find(|t| t["key"] == "sample").unwrap().clone();
    assert_eq!(
        (sample["current"].clone(), sample["target"].clone(), sample["percent"].clone()),
        (json!(2), json!(10), json!(20))
    );
    let giants = d.body["targets"].as_array().unwrap().iter().find(|t| t["key"] == "little-giant").unwrap().clone();
    assert_eq!(giants["current"], 0);
    assert_eq!(d.body["rewards"]["left"], "5000000.00");
    assert_eq!(app.get("/api/dashboard", &ent).await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.get("/api/dashboard", &bank).await.status, StatusCode::FORBIDDEN);

    let w = app.get("/api/whitelist", &bank).await;
    assert_eq!(w.status, StatusCode::OK, "{:?}", w.body);
    let items = w.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert!(items.iter().any(|i| i["enterprise_id"] == ent_a.as_str()));
    let res =
        app.client.get(format!("{}/api/whitelist?format=csv", app.address)).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let csv = res.text().await.unwrap();
    let lines: Vec<&str> = csv.trim_end().split("\r\n").collect();
    assert_eq!(lines.len(), 3, "header and two enterprises: {csv}");
    assert!(lines[0].ends_with("uscc,name,district,certification,valid_until"));
    assert!(lines[1..].iter().all(|l| l.contains("\"sample-recognition\"")));
    assert_eq!(app.get("/api/whitelist", &ent).await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.get("/api/whitelist", &reviewer).await.status, StatusCode::FORBIDDEN);
    // When a certification expires, its holder leaves the whitelist.
    app.advance(chrono::Duration::days(3 * 366));
    app.engine.sweep_certifications().await.unwrap();
    let bank = app.fresh(&bank).await;
    assert_eq!(app.get("/api/whitelist", &bank).await.body["items"], json!([]));
}

#[tokio::test]
async fn the_dashboard_counts_targets_and_the_whitelist_lists_holders_sqlite() {
    dashboard_and_whitelist(Backend::Sqlite).await;
}

#[tokio::test]
#[cfg_attr(not(pg_tests), ignore = "PostgreSQL run skipped: set CERTFLOW_TEST_POSTGRES_URL to run it")]
async fn the_dashboard_counts_targets_and_the_whitelist_lists_holders_postgres() {
    dashboard_and_whitelist(Backend::Postgres).await;
}
