//! `serve --demo` seeds logins that work and a living set of applications.

use reqwest::StatusCode;

use crate::helpers::TestApp;

crate::dual_test!(the_demo_logins_work_and_their_inboxes_are_not_empty, |app: TestApp| async move {
    // Act
    let logins = certflow::demo::seed(&app.engine).await.unwrap();
    let again = certflow::demo::seed(&app.engine).await.unwrap();

    // Assert: every printed login signs in with the printed password; seeding twice adds nothing.
    assert_eq!(logins, again);
    for (email, _) in &logins {
        let r = app
            .request(
                reqwest::Method::POST,
                "/api/auth/login",
                None,
                Some(serde_json::json!({"email": email, "password": certflow::demo::PASSWORD})),
                &[],
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{email}");
    }
    let login = |email: &str| {
        let email = email.to_string();
        let app = &app;
        async move {
            let r = app
                .request(
                    reqwest::Method::POST,
                    "/api/auth/login",
                    None,
                    Some(serde_json::json!({"email": email, "password": certflow::demo::PASSWORD})),
                    &[],
                )
                .await;
            r.body["token"].as_str().unwrap().to_string()
        }
    };
    let runzhou_reviewer = login("reviewer.runzhou@demo.certflow.cn").await;
    assert_eq!(app.get("/api/tasks", &runzhou_reviewer).await.body["items"].as_array().unwrap().len(), 1);
    let city = login("reviewer.city@demo.certflow.cn").await;
    assert_eq!(app.get("/api/tasks", &city).await.body["items"].as_array().unwrap().len(), 1);
    let admin = login("admin@demo.certflow.cn").await;
    assert_eq!(app.get("/api/applications", &admin).await.body["total"], 6);
    // The enterprises stand at different tiers: the dashboard counts them.
    let d = app.get("/api/dashboard", &admin).await;
    let count =
        |key: &str| d.body["targets"].as_array().unwrap().iter().find(|t| t["key"] == key).unwrap()["current"].clone();
    assert_eq!(
        (count("innovative-sme"), count("srdi-sme"), count("pool")),
        (serde_json::json!(2), serde_json::json!(1), serde_json::json!(2))
    );
});
