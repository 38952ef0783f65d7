//! The main path of a workflow: draft, submit, return for revision, resubmit, approvals, the
//! panel, publicity ending by itself, the certification and the reward child application.

use certflow::domain::role::Role;
use reqwest::StatusCode;
use serde_json::json;

use crate::dual_test;
use crate::helpers::{TestApp, good_sample};

async fn submit_sample(app: &TestApp, ent_token: &str) -> String {
    let view = app.create(ent_token, "sample-recognition", good_sample()).await;
    let id = view["id"].as_str().unwrap().to_string();
    let r = app.act(ent_token, &id, "submit", json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["state"], "district_review");
    id
}

dual_test!(a_returned_application_is_corrected_resubmitted_and_recognised, |app: TestApp| async move {
    // Arrange
    let (ent_id, ent) = app.register_enterprise("jingkou").await;
    let district = app.staff(Role::Reviewer, Some("jingkou")).await;
    let city = app.staff(Role::Reviewer, Some("city")).await;
    let expert1 = app.staff(Role::Expert, Some("province")).await;
    let expert2 = app.staff(Role::Expert, Some("province")).await;
    let finance = app.staff(Role::Finance, None).await;
    let id = submit_sample(&app, &ent).await;

    // Act: the district returns it; the enterprise edits and resubmits.
    let r = app.act(&district, &id, "return", json!({"comment": "请补充研发费用明细"})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["state"], "draft");
    let r = app.patch(&format!("/api/applications/{id}"), &ent, json!({"data": {"rd_expense": "60000"}})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["score"]["total"], 45, "R&D of 6% earns 20 points");
    let rd =
        r.body["score"]["indicators"].as_array().unwrap().iter().find(|i| i["key"] == "rd_intensity").unwrap().clone();
    assert_eq!((rd["points"].clone(), rd["max"].clone(), rd["lost"].clone()), (json!(20), json!(20), json!(0)));
    let r = app.act(&ent, &id, "submit", json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    for (token, action) in [(&district, "approve"), (&city, "approve"), (&expert1, "approve"), (&expert2, "approve")] {
        let r = app.act(token, &id, action, json!({})).await;
        assert_eq!(r.status, StatusCode::OK, "{action}: {:?}", r.body);
    }
    let r = app.get(&format!("/api/applications/{id}"), &ent).await;
    assert_eq!(r.body["state"], "publicity");
    assert!(r.body["due_at"].is_string());
    // Publicity lasts five working days, then the system publishes.
    app.advance(chrono::Duration::days(6));
    assert_eq!(app.sweep().await, 0, "six calendar days from Monday are only five working days incl. the weekend");
    app.advance(chrono::Duration::days(2));
    assert_eq!(app.sweep().await, 1);
    let ent = app.fresh(&ent).await;
    let finance = app.fresh(&finance).await;

    // Assert
    let r = app.get(&format!("/api/applications/{id}"), &ent).await;
    assert_eq!(r.body["state"], "recognised");
    assert_eq!(r.body["final"], true);
    let actions: Vec<&str> =
        r.body["history"].as_array().unwrap().iter().map(|h| h["action"].as_str().unwrap()).collect();
    assert_eq!(
        actions,
        vec!["create", "submit", "return", "save", "submit", "approve", "approve", "approve", "approve", "publish"]
    );
    let last = r.body["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["actor"]["name"], "system");
    let certs = app.get(&format!("/api/certifications?enterprise_id={ent_id}"), &ent).await;
    let certs = certs.body["items"].as_array().unwrap().clone();
    assert_eq!(certs.len(), 1);
    assert_eq!(certs[0]["kind"], "sample-recognition");
    assert_eq!(certs[0]["status"], "active");
    // Urban enterprise recognised for the first time: a reward for finance to pay.
    let children = r.body["children"].as_array().unwrap().clone();
    assert_eq!(children.len(), 1);
    assert_eq!(children[0]["workflow"], "sample-reward");
    let child = children[0]["id"].as_str().unwrap();
    let c = app.get(&format!("/api/applications/{child}"), &finance).await;
    assert_eq!(c.body["data"]["amount"], "100000.00");
    assert_eq!(c.body["parent"]["id"], id.as_str());
    let tasks = app.get("/api/tasks", &finance).await;
    assert!(tasks.body["items"].as_array().unwrap().iter().any(|t| t["application"]["id"] == child));
    let r = app.act(&finance, child, "approve", json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let r = app.act(&finance, child, "pay", json!({})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "a payment needs its reference");
    let r = app.act(&finance, child, "pay", json!({"data": {"payment_reference": "ZJ-2026-0001"}})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["state"], "paid");
    assert_eq!(r.body["data"]["payment_reference"], "ZJ-2026-0001");
});

dual_test!(a_county_enterprise_is_recognised_without_a_reward, |app: TestApp| async move {
    let (_, ent) = app.register_enterprise("danyang").await;
    let district = app.staff(Role::Reviewer, Some("danyang")).await;
    let city = app.staff(Role::Reviewer, Some("city")).await;
    let e1 = app.staff(Role::Expert, Some("province")).await;
    let e2 = app.staff(Role::Expert, Some("province")).await;
    let id = submit_sample(&app, &ent).await;
    for t in [&district, &city, &e1, &e2] {
        assert_eq!(app.act(t, &id, "approve", json!({})).await.status, StatusCode::OK);
    }
    app.advance(chrono::Duration::days(10));
    assert_eq!(app.sweep().await, 1);
    let ent = app.fresh(&ent).await;
    let r = app.get(&format!("/api/applications/{id}"), &ent).await;
    assert_eq!(r.body["state"], "recognised");
    assert_eq!(r.body["children"], json!([]), "the reward is only for urban districts");
});

dual_test!(submitting_checks_the_form_eligibility_and_score, |app: TestApp| async move {
    let (_, ent) = app.register_enterprise("jingkou").await;
    // Incomplete form: the required fields are listed.
    let view = app.create(&ent, "sample-recognition", json!({"revenue": "1000"})).await;
    let id = view["id"].as_str().unwrap();
    let r = app.act(&ent, id, "submit", json!({})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<&str> = r.body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert!(fields.contains(&"staff") && fields.contains(&"contact"), "{fields:?}");
    // Not an SME: eligibility fails with its message.
    let mut data = good_sample();
    data["staff"] = json!(5000);
    let r = app.patch(&format!("/api/applications/{id}"), &ent, json!({"data": data})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let r = app
        .request(
            reqwest::Method::POST,
            &format!("/api/applications/{id}/actions/submit"),
            Some(&ent),
            Some(json!({})),
            &[("Accept-Language", "en")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body["detail"].as_str().unwrap().contains("fewer than 1000 employees"), "{:?}", r.body);
    // Score below the pass line and no direct route: refused; the high-tech route qualifies.
    let r = app.patch(&format!("/api/applications/{id}"), &ent, json!({"data": {"staff": 50, "growth": -3}})).await;
    assert_eq!(r.body["score"]["passed"], false);
    assert_eq!(app.act(&ent, id, "submit", json!({})).await.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = app.patch(&format!("/api/applications/{id}"), &ent, json!({"data": {"high_tech": true}})).await;
    assert_eq!(r.body["score"]["direct"], true);
    assert_eq!(app.act(&ent, id, "submit", json!({})).await.status, StatusCode::OK);
    // Once submitted, the form is no longer editable.
    let r = app.patch(&format!("/api/applications/{id}"), &ent, json!({"data": {"staff": 51}})).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
});
