//! Who may see and do what: enterprises see only their own, district reviewers only their
//! district, the four-eyes rule between district and city review, and applicants never approve.

use certflow::domain::role::Role;
use certflow::engine::{NewUser, RoleGrant};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::dual_test;
use crate::helpers::{PASSWORD, TestApp, good_sample};

/// Creates a sample application and submits it; returns its id (now in district review).
async fn submitted(app: &TestApp, ent: &str) -> String {
    let id = app.create(ent, "sample-recognition", good_sample()).await["id"].as_str().unwrap().to_string();
    let r = app.act(ent, &id, "submit", json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["state"], "district_review");
    id
}

/// The ids of `GET /api/applications` for a caller.
async fn listed(app: &TestApp, token: &str) -> Vec<String> {
    let r = app.get("/api/applications?per_page=100", token).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    r.body["items"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap().to_string()).collect()
}

/// The inbox of a caller: application id → the action names offered, sorted.
async fn inbox(app: &TestApp, token: &str) -> Vec<(String, Vec<String>)> {
    let r = app.get("/api/tasks", token).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            let mut names: Vec<String> =
                t["actions"].as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap().to_string()).collect();
            names.sort();
            (t["application"]["id"].as_str().unwrap().to_string(), names)
        })
        .collect()
}

fn action_names(view: &Value) -> Vec<String> {
    let mut names: Vec<String> =
        view["actions"].as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap().to_string()).collect();
    names.sort();
    names
}

/// Creates a user with several roles through the engine and signs them in.
async fn user_with(app: &TestApp, email: &str, roles: Vec<RoleGrant>, enterprise_id: Option<&str>) -> String {
    app.engine
        .create_user_unchecked(NewUser {
            email: email.into(),
            password: PASSWORD.into(),
            name: email.into(),
            roles,
            enterprise_id: enterprise_id.map(str::to_string),
            lang: None,
        })
        .await
        .expect("user created");
    app.login(email).await
}

fn grant(role: Role, jurisdiction: Option<&str>) -> RoleGrant {
    RoleGrant { role, jurisdiction: jurisdiction.map(str::to_string) }
}

dual_test!(an_enterprise_cannot_see_or_touch_another_enterprises_application, |app: TestApp| async move {
    // Arrange: two enterprises of the same district; A has a draft.
    let (a_id, a) = app.register_enterprise("jingkou").await;
    let (_, b) = app.register_enterprise("jingkou").await;
    let view = app.create(&a, "sample-recognition", good_sample()).await;
    let id = view["id"].as_str().unwrap().to_string();
    assert!(inbox(&app, &a).await.iter().any(|(i, _)| *i == id), "A's own draft waits in A's inbox");
    assert_eq!(app.get(&format!("/api/enterprises/{a_id}"), &a).await.status, StatusCode::OK);

    // Act + Assert: to B, A's application does not exist.
    let r = app.get(&format!("/api/applications/{id}"), &b).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{:?}", r.body);
    assert_eq!(r.content_type, "application/problem+json");
    let r = app.patch(&format!("/api/applications/{id}"), &b, json!({"data": {"staff": 60}})).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{:?}", r.body);
    let r = app.act(&b, &id, "submit", json!({})).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{:?}", r.body);
    let r = app.act(&b, &id, "withdraw", json!({})).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{:?}", r.body);
    assert!(!listed(&app, &b).await.contains(&id));
    let r = app.get(&format!("/api/applications?enterprise_id={a_id}"), &b).await;
    assert_eq!(r.body["items"], json!([]), "filtering by A's id shows B nothing");
    assert_eq!(r.body["total"], 0);
    assert!(inbox(&app, &b).await.is_empty());
    let r = app.get(&format!("/api/enterprises/{a_id}"), &b).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{:?}", r.body);

    // Nothing B tried changed A's application.
    let r = app.get(&format!("/api/applications/{id}"), &a).await;
    assert_eq!(r.body["state"], "draft");
    assert_eq!(r.body["data"]["staff"], 50);
    assert_eq!(r.body["version"], view["version"]);
});

dual_test!(an_enterprise_cannot_list_another_enterprises_certifications, |app: TestApp| async move {
    // Arrange: A is recognised and holds a certification.
    let (a_id, a) = app.register_enterprise("jingkou").await;
    let (_, b) = app.register_enterprise("jingkou").await;
    let district = app.staff(Role::Reviewer, Some("jingkou")).await;
    let city = app.staff(Role::Reviewer, Some("city")).await;
    let e1 = app.staff(Role::Expert, Some("province")).await;
    let e2 = app.staff(Role::Expert, Some("province")).await;
    let id = submitted(&app, &a).await;
    for t in [&district, &city, &e1, &e2] {
        let r = app.act(t, &id, "approve", json!({})).await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    }
    app.advance(chrono::Duration::days(10));
    assert_eq!(app.sweep().await, 1);
    let (a, b) = (app.fresh(&a).await, app.fresh(&b).await);
    let admin = app.login("admin@test.cn").await;
    let path = format!("/api/certifications?enterprise_id={a_id}");
    let r = app.get(&path, &a).await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 1, "{:?}", r.body);
    let r = app.get(&path, &admin).await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 1, "{:?}", r.body);

    // Act
    let filtered = app.get(&path, &b).await;
    let all = app.get("/api/certifications", &b).await;

    // Assert
    assert_eq!(filtered.status, StatusCode::OK);
    assert_eq!(filtered.body["items"], json!([]));
    assert_eq!(all.body["items"], json!([]));
});

dual_test!(a_reviewer_of_another_district_can_neither_see_nor_act_on_the_application, |app: TestApp| async move {
    // Arrange
    let (_, ent) = app.register_enterprise("jingkou").await;
    let jingkou = app.staff(Role::Reviewer, Some("jingkou")).await;
    let runzhou = app.staff(Role::Reviewer, Some("runzhou")).await;
    let city = app.staff(Role::Reviewer, Some("city")).await;
    let id = submitted(&app, &ent).await;

    // Act + Assert: the runzhou reviewer.
    let r = app.act(&runzhou, &id, "approve", json!({})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{:?}", r.body);
    assert_eq!(r.content_type, "application/problem+json");
    let r = app.act(&runzhou, &id, "reject", json!({"comment": "不符合"})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{:?}", r.body);
    assert_eq!(app.get(&format!("/api/applications/{id}"), &runzhou).await.status, StatusCode::NOT_FOUND);
    assert!(inbox(&app, &runzhou).await.is_empty());
    assert!(!listed(&app, &runzhou).await.contains(&id));

    // The jingkou reviewer has it in the inbox with its four decisions, and in the list.
    let tasks = inbox(&app, &jingkou).await;
    assert_eq!(
        tasks,
        vec![(id.clone(), vec!["approve".to_string(), "rectify".into(), "reject".into(), "return".into()])]
    );
    assert!(listed(&app, &jingkou).await.contains(&id));
    let r = app.get(&format!("/api/applications/{id}"), &jingkou).await;
    assert_eq!(action_names(&r.body), vec!["approve", "rectify", "reject", "return"]);

    // The city reviewer sees it but has nothing to do yet: district review is district-scoped.
    assert!(listed(&app, &city).await.contains(&id));
    assert!(!inbox(&app, &city).await.iter().any(|(i, _)| *i == id));
    let r = app.get(&format!("/api/applications/{id}"), &city).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["actions"], json!([]));
    assert_eq!(app.act(&city, &id, "approve", json!({})).await.status, StatusCode::FORBIDDEN);

    // None of the refused attempts moved the application.
    let r = app.get(&format!("/api/applications/{id}"), &jingkou).await;
    assert_eq!(r.body["state"], "district_review");
    assert_eq!(r.body["history"].as_array().unwrap().len(), 2, "create and submit only");
});

dual_test!(a_reviewer_who_approved_at_district_level_cannot_also_approve_at_city_level, |app: TestApp| async move {
    // Arrange: one person holds reviewer roles in jingkou and at city level.
    let (_, ent) = app.register_enterprise("jingkou").await;
    let both = user_with(
        &app,
        "both@gov.cn",
        vec![grant(Role::Reviewer, Some("jingkou")), grant(Role::Reviewer, Some("city"))],
        None,
    )
    .await;
    let other_city = app.staff(Role::Reviewer, Some("city")).await;
    let id = submitted(&app, &ent).await;
    let r = app.get(&format!("/api/applications/{id}"), &both).await;
    assert_eq!(action_names(&r.body), vec!["approve", "rectify", "reject", "return"]);

    // Act: they approve at district level.
    let r = app.act(&both, &id, "approve", json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["state"], "city_review");

    // Assert: at city level they may do nothing; another city reviewer may.
    assert_eq!(r.body["actions"], json!([]), "the view returned to them offers nothing");
    let r = app.get(&format!("/api/applications/{id}"), &both).await;
    assert_eq!(r.body["actions"], json!([]));
    assert!(!inbox(&app, &both).await.iter().any(|(i, _)| *i == id));
    for (action, body) in
        [("approve", json!({})), ("reject", json!({"comment": "自己驳回"})), ("return", json!({"comment": "自己退回"}))]
    {
        let r = app.act(&both, &id, action, body).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{action}: {:?}", r.body);
    }
    let r = app.get(&format!("/api/applications/{id}"), &other_city).await;
    assert_eq!(action_names(&r.body), vec!["approve", "reject", "return"]);
    assert!(inbox(&app, &other_city).await.iter().any(|(i, _)| *i == id));
    let r = app.act(&other_city, &id, "approve", json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["state"], "expert_panel");
});

dual_test!(the_applicants_own_users_can_never_approve_its_application, |app: TestApp| async move {
    // Arrange: the owner, and a colleague who also holds a jingkou reviewer role.
    let (ent_id, owner) = app.register_enterprise("jingkou").await;
    let colleague = user_with(
        &app,
        "colleague@firm.cn",
        vec![grant(Role::Enterprise, None), grant(Role::Reviewer, Some("jingkou"))],
        Some(&ent_id),
    )
    .await;
    let id = submitted(&app, &owner).await;

    // Act + Assert
    for token in [&owner, &colleague] {
        let r = app.act(token, &id, "approve", json!({})).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{:?}", r.body);
        assert_eq!(r.content_type, "application/problem+json");
        let r = app.get(&format!("/api/applications/{id}"), token).await;
        assert_eq!(r.status, StatusCode::OK, "they still see their own application");
        assert_eq!(r.body["actions"], json!([]));
        assert!(!inbox(&app, token).await.iter().any(|(i, _)| *i == id));
    }
    let r = app.get(&format!("/api/applications/{id}"), &owner).await;
    assert_eq!(r.body["state"], "district_review");
});

dual_test!(admins_and_auditors_list_every_application_and_an_enterprise_only_its_own, |app: TestApp| async move {
    // Arrange: applications of two enterprises in different districts.
    let (_, a) = app.register_enterprise("jingkou").await;
    let (_, b) = app.register_enterprise("danyang").await;
    let a1 = app.create(&a, "sample-recognition", good_sample()).await["id"].as_str().unwrap().to_string();
    let a2 = submitted(&app, &a).await;
    let b1 = submitted(&app, &b).await;
    let admin = app.login("admin@test.cn").await;
    let auditor = app.staff(Role::Auditor, None).await;
    let mut everything = vec![a1.clone(), a2.clone(), b1.clone()];
    everything.sort();

    // Act + Assert
    for token in [&admin, &auditor] {
        let mut ids = listed(&app, token).await;
        ids.sort();
        assert_eq!(ids, everything);
        assert_eq!(app.get(&format!("/api/applications/{b1}"), token).await.status, StatusCode::OK);
    }
    let mut ids = listed(&app, &a).await;
    ids.sort();
    let mut own = vec![a1, a2];
    own.sort();
    assert_eq!(ids, own);
    assert_eq!(app.get("/api/applications", &a).await.body["total"], 2);
    assert_eq!(listed(&app, &b).await, vec![b1.clone()]);
    // The auditor reads but never acts.
    let r = app.act(&auditor, &b1, "approve", json!({})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{:?}", r.body);
});
