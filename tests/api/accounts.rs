//! Registration with the USCC check, sign-in and its throttle, and admin user management.

use certflow::domain::role::Role;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::dual_test;
use crate::helpers::{PASSWORD, Resp, TestApp};

/// A valid USCC (GB 32100-2015 test vector, domain/RULES.md §7).
const VALID_USCC: &str = "9144030071526726XG";

fn registration(uscc: &str, district: &str, email: &str, password: &str) -> Value {
    json!({
        "enterprise": {"uscc": uscc, "name": "镇江精密机械有限公司", "district": district, "legal_person": "张三"},
        "user": {"email": email, "password": password, "name": "张三"},
    })
}

async fn register(app: &TestApp, body: Value) -> Resp {
    app.request(Method::POST, "/api/register", None, Some(body), &[]).await
}

async fn login(app: &TestApp, email: &str, password: &str) -> Resp {
    app.request(Method::POST, "/api/auth/login", None, Some(json!({"email": email, "password": password})), &[]).await
}

fn error_fields(r: &Resp) -> Vec<String> {
    r.body["errors"]
        .as_array()
        .map_or_else(Vec::new, |a| a.iter().map(|e| e["field"].as_str().unwrap_or("").to_string()).collect())
}

fn assert_problem(r: &Resp, status: StatusCode) {
    assert_eq!(r.status, status, "{:?}", r.body);
    assert_eq!(r.content_type, "application/problem+json", "{:?}", r.body);
    assert_eq!(r.body["status"], status.as_u16(), "{:?}", r.body);
    assert!(r.body["title"].as_str().is_some_and(|t| !t.is_empty()), "{:?}", r.body);
    assert!(r.body["type"].is_string(), "{:?}", r.body);
}

dual_test!(a_registered_enterprise_is_signed_in_and_sees_itself_on_me, |app: TestApp| async move {
    // Act
    let r = register(&app, registration(VALID_USCC, "jingkou", "Boss@Firm.cn", PASSWORD)).await;

    // Assert
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let ent_id = r.body["enterprise"]["id"].as_str().unwrap().to_string();
    assert_eq!(r.body["enterprise"]["uscc"], VALID_USCC);
    assert_eq!(r.body["enterprise"]["district"], "jingkou");
    assert_eq!(r.body["enterprise"]["urban"], true);
    assert_eq!(
        r.body["enterprise"]["profile"]["legal_person"], "张三",
        "extra enterprise fields are kept as its profile"
    );
    assert!(!r.body.to_string().contains("password"), "no password or hash is ever returned: {}", r.body);
    let token = r.body["token"].as_str().unwrap();
    let me = app.get("/api/me", token).await;
    assert_eq!(me.status, StatusCode::OK, "{:?}", me.body);
    assert_eq!(me.body["email"], "boss@firm.cn", "e-mail addresses are stored lower-case");
    assert_eq!(me.body["roles"], json!([{"role": "enterprise", "jurisdiction": null}]));
    assert_eq!(me.body["enterprise_id"], ent_id.as_str());
    assert_eq!(me.body["enterprise"]["id"], ent_id.as_str());
    assert_eq!(me.body["enterprise"]["name"], "镇江精密机械有限公司");
    // The new user signs in with the address in any case.
    assert_eq!(login(&app, "BOSS@firm.cn", PASSWORD).await.status, StatusCode::OK);
});

dual_test!(a_uscc_with_a_wrong_check_character_is_refused, |app: TestApp| async move {
    let r = register(&app, registration("914403001922038217", "jingkou", "a@firm.cn", PASSWORD)).await;
    assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_fields(&r), vec!["enterprise.uscc"]);
    // The correct check character is accepted.
    let r = register(&app, registration("914403001922038216", "jingkou", "a@firm.cn", PASSWORD)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
});

dual_test!(a_lower_case_uscc_is_accepted_stored_upper_case_and_counts_as_a_duplicate, |app: TestApp| async move {
    // Act
    let r = register(&app, registration(&VALID_USCC.to_lowercase(), "runzhou", "first@firm.cn", PASSWORD)).await;

    // Assert
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(r.body["enterprise"]["uscc"], VALID_USCC);
    let me = app.get("/api/me", r.body["token"].as_str().unwrap()).await;
    assert_eq!(me.body["enterprise"]["uscc"], VALID_USCC);
    for code in [VALID_USCC.to_string(), VALID_USCC.to_lowercase()] {
        let r = register(&app, registration(&code, "runzhou", "second@firm.cn", PASSWORD)).await;
        assert_problem(&r, StatusCode::CONFLICT);
    }
});

dual_test!(a_duplicate_email_is_refused_and_leaves_no_enterprise_behind, |app: TestApp| async move {
    // Arrange
    let r = register(&app, registration(VALID_USCC, "jingkou", "same@firm.cn", PASSWORD)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);

    // Act: another enterprise, the same address (in other case).
    let r = register(&app, registration("91310110666007217T", "jingkou", "SAME@firm.cn", PASSWORD)).await;

    // Assert
    assert_problem(&r, StatusCode::CONFLICT);
    let r = register(&app, registration("91310110666007217T", "jingkou", "other@firm.cn", PASSWORD)).await;
    assert_eq!(r.status, StatusCode::CREATED, "the refused registration did not keep the enterprise: {:?}", r.body);
});

dual_test!(an_unknown_district_or_a_weak_password_is_refused_with_its_field, |app: TestApp| async move {
    let r = register(&app, registration(VALID_USCC, "atlantis", "a@firm.cn", PASSWORD)).await;
    assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_fields(&r), vec!["enterprise.district"]);
    for weak in ["short1", "onlyletters", "1234567890"] {
        let r = register(&app, registration(VALID_USCC, "jingkou", "a@firm.cn", weak)).await;
        assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(error_fields(&r), vec!["user.password"], "{weak}");
    }
    // Nothing was registered by the refused attempts.
    let r = register(&app, registration(VALID_USCC, "jingkou", "a@firm.cn", PASSWORD)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
});

dual_test!(a_registration_with_several_mistakes_reports_them_all_at_once, |app: TestApp| async move {
    let body = json!({
        "enterprise": {"uscc": "914403001922038210", "name": " ", "district": "atlantis"},
        "user": {"email": "not-an-address", "password": "weak", "name": ""},
    });
    let r = app.request(Method::POST, "/api/register", None, Some(body), &[("Accept-Language", "en")]).await;
    assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY);
    let mut fields = error_fields(&r);
    fields.sort();
    assert_eq!(
        fields,
        vec!["enterprise.district", "enterprise.name", "enterprise.uscc", "user.email", "user.name", "user.password"]
    );
    assert!(r.body["errors"].as_array().unwrap().iter().all(|e| e["message"].as_str().is_some_and(|m| !m.is_empty())));
});

dual_test!(a_wrong_password_is_refused_with_401, |app: TestApp| async move {
    let (_, _) = app.register_enterprise("jingkou").await;
    let r = login(&app, "owner0@firm.cn", "wrong-password-1").await;
    assert_problem(&r, StatusCode::UNAUTHORIZED);
    assert!(r.body.get("token").is_none());
    let r = login(&app, "nobody@firm.cn", PASSWORD).await;
    assert_problem(&r, StatusCode::UNAUTHORIZED);
    assert_eq!(login(&app, "owner0@firm.cn", PASSWORD).await.status, StatusCode::OK);
});

dual_test!(five_wrong_passwords_make_the_next_try_wait_and_each_further_one_longer, |app: TestApp| async move {
    // Arrange
    let (_, _) = app.register_enterprise("jingkou").await;
    let email = "owner0@firm.cn";

    // Act
    for i in 1..=5 {
        let r = login(&app, email, "wrong-password-1").await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "attempt {i}: {:?}", r.body);
    }

    // Assert: the next try waits 30 seconds, even with the right password, and says so.
    let r = login(&app, email, PASSWORD).await;
    assert_problem(&r, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.body["code"], "too_many_requests");
    app.advance(chrono::Duration::seconds(29));
    assert_eq!(login(&app, email, PASSWORD).await.status, StatusCode::TOO_MANY_REQUESTS, "still waiting at 29 s");
    // One more wrong password after the wait doubles it.
    app.advance(chrono::Duration::seconds(2));
    assert_eq!(login(&app, email, "wrong-password-1").await.status, StatusCode::UNAUTHORIZED);
    app.advance(chrono::Duration::seconds(59));
    assert_eq!(login(&app, email, PASSWORD).await.status, StatusCode::TOO_MANY_REQUESTS, "still waiting at 59 s");
    app.advance(chrono::Duration::seconds(2));
    let r = login(&app, email, PASSWORD).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert!(r.body["token"].is_string());
});

dual_test!(a_successful_sign_in_resets_the_count_of_failures, |app: TestApp| async move {
    let (_, _) = app.register_enterprise("jingkou").await;
    let email = "owner0@firm.cn";
    for _ in 0..4 {
        assert_eq!(login(&app, email, "wrong-password-1").await.status, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(login(&app, email, PASSWORD).await.status, StatusCode::OK);
    for _ in 0..4 {
        assert_eq!(login(&app, email, "wrong-password-1").await.status, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(login(&app, email, PASSWORD).await.status, StatusCode::OK, "four failures after a success do not lock");
});

dual_test!(an_admin_creates_lists_changes_and_deactivates_a_reviewer, |app: TestApp| async move {
    // Arrange
    let admin = app.login("admin@test.cn").await;

    // Act: create a jingkou reviewer.
    let r = app
        .post(
            "/api/users",
            &admin,
            json!({"email": "li@gov.cn", "password": PASSWORD, "name": "李审核", "roles": [{"role": "reviewer", "jurisdiction": "jingkou"}]}),
        )
        .await;

    // Assert
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let user_id = r.body["id"].as_str().unwrap().to_string();
    assert_eq!(r.body["roles"], json!([{"role": "reviewer", "jurisdiction": "jingkou"}]));
    assert_eq!(r.body["active"], true);
    let reviewer = app.login("li@gov.cn").await;
    let me = app.get("/api/me", &reviewer).await;
    assert_eq!(me.body["roles"], json!([{"role": "reviewer", "jurisdiction": "jingkou"}]));
    assert_eq!(me.body["enterprise"], Value::Null);

    // The list shows both users and never a password hash.
    let list = app.get("/api/users", &admin).await;
    assert_eq!(list.status, StatusCode::OK, "{:?}", list.body);
    let emails: Vec<&str> =
        list.body["items"].as_array().unwrap().iter().map(|u| u["email"].as_str().unwrap()).collect();
    assert_eq!(emails, vec!["admin@test.cn", "li@gov.cn"]);
    let text = list.body.to_string();
    assert!(!text.contains("password") && !text.contains("$argon2"), "{text}");

    // Roles change.
    let r = app
        .patch(
            &format!("/api/users/{user_id}"),
            &admin,
            json!({"roles": [{"role": "reviewer", "jurisdiction": "city"}, {"role": "auditor"}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(
        r.body["roles"],
        json!([{"role": "reviewer", "jurisdiction": "city"}, {"role": "auditor", "jurisdiction": null}])
    );
    let me = app.get("/api/me", &reviewer).await;
    assert_eq!(
        me.body["roles"],
        json!([{"role": "reviewer", "jurisdiction": "city"}, {"role": "auditor", "jurisdiction": null}])
    );

    // Deactivated: no sign-in, and the token already issued stops working.
    let r = app.patch(&format!("/api/users/{user_id}"), &admin, json!({"active": false})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["active"], false);
    let r = login(&app, "li@gov.cn", PASSWORD).await;
    assert_problem(&r, StatusCode::UNAUTHORIZED);
    let r = app.get("/api/me", &reviewer).await;
    assert_problem(&r, StatusCode::UNAUTHORIZED);
    // Reactivated, they sign in again.
    let r = app.patch(&format!("/api/users/{user_id}"), &admin, json!({"active": true})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(login(&app, "li@gov.cn", PASSWORD).await.status, StatusCode::OK);
});

dual_test!(an_admin_cannot_lock_themselves_out, |app: TestApp| async move {
    let admin = app.login("admin@test.cn").await;
    let me = app.get("/api/me", &admin).await.body["id"].as_str().unwrap().to_string();

    let r = app.patch(&format!("/api/users/{me}"), &admin, json!({"active": false})).await;
    assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.body["errors"][0]["field"], "active");
    let r = app.patch(&format!("/api/users/{me}"), &admin, json!({"roles": [{"role": "auditor"}]})).await;
    assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.body["errors"][0]["field"], "roles");

    // Nothing changed: still an active administrator.
    let users = app.get("/api/users", &admin).await;
    let mine = users.body["items"].as_array().unwrap().iter().find(|u| u["id"] == me.as_str()).unwrap().clone();
    assert_eq!((mine["active"].clone(), mine["roles"][0]["role"].clone()), (json!(true), json!("admin")));
    // Their own name they may change.
    let r = app.patch(&format!("/api/users/{me}"), &admin, json!({"name": "系统管理员"})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
});

dual_test!(a_staff_role_needs_a_jurisdiction_and_other_roles_take_none, |app: TestApp| async move {
    let admin = app.login("admin@test.cn").await;
    let cases = [
        json!([{"role": "reviewer"}]),
        json!([{"role": "reviewer", "jurisdiction": "atlantis"}]),
        json!([{"role": "finance", "jurisdiction": "city"}]),
        json!([{"role": "enterprise"}]),
    ];
    for roles in cases {
        let r = app
            .post(
                "/api/users",
                &admin,
                json!({"email": "x@gov.cn", "password": PASSWORD, "name": "X", "roles": roles.clone()}),
            )
            .await;
        assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(error_fields(&r), vec!["roles[0]"], "{roles}");
    }
    // Nothing was created by the refused requests.
    let r = app
        .post(
            "/api/users",
            &admin,
            json!({"email": "x@gov.cn", "password": PASSWORD, "name": "X", "roles": [{"role": "finance"}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let r = app
        .post("/api/users", &admin, json!({"email": "X@gov.cn", "password": PASSWORD, "name": "X2", "roles": []}))
        .await;
    assert_problem(&r, StatusCode::CONFLICT);
    // PATCH checks roles the same way.
    let id = app.get("/api/users", &admin).await.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == "x@gov.cn")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = app.patch(&format!("/api/users/{id}"), &admin, json!({"roles": [{"role": "inspector"}]})).await;
    assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_fields(&r), vec!["roles[0]"]);
});

dual_test!(only_admins_manage_users, |app: TestApp| async move {
    let (_, ent) = app.register_enterprise("jingkou").await;
    let reviewer = app.staff(Role::Reviewer, Some("city")).await;
    let auditor = app.staff(Role::Auditor, None).await;
    let new_user =
        json!({"email": "sneaky@gov.cn", "password": PASSWORD, "name": "Sneaky", "roles": [{"role": "admin"}]});
    for token in [&ent, &reviewer, &auditor] {
        let r = app.post("/api/users", token, new_user.clone()).await;
        assert_problem(&r, StatusCode::FORBIDDEN);
        let r = app.get("/api/users", token).await;
        assert_problem(&r, StatusCode::FORBIDDEN);
    }
    let me = app.get("/api/me", &reviewer).await;
    let my_id = me.body["id"].as_str().unwrap();
    let r = app.patch(&format!("/api/users/{my_id}"), &reviewer, json!({"roles": [{"role": "admin"}]})).await;
    assert_problem(&r, StatusCode::FORBIDDEN);
    assert_eq!(
        app.get("/api/me", &reviewer).await.body["roles"],
        json!([{"role": "reviewer", "jurisdiction": "city"}])
    );
    assert_problem(&login(&app, "sneaky@gov.cn", PASSWORD).await, StatusCode::UNAUTHORIZED);
});

dual_test!(user_management_without_a_token_is_401_problem_json, |app: TestApp| async move {
    let body = json!({"email": "anon@gov.cn", "password": PASSWORD, "name": "Anon", "roles": []});
    let r = app.request(Method::POST, "/api/users", None, Some(body), &[]).await;
    assert_problem(&r, StatusCode::UNAUTHORIZED);
    let r = app.request(Method::GET, "/api/users", None, None, &[]).await;
    assert_problem(&r, StatusCode::UNAUTHORIZED);
    let r = app.request(Method::GET, "/api/me", Some("not-a-token"), None, &[]).await;
    assert_problem(&r, StatusCode::UNAUTHORIZED);
});
