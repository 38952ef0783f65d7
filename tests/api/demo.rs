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
    assert_eq!(app.get("/api/applications", &admin).await.body["total"], 8);
    // Finance has a reward to pay; Jingkou has a rectification case with its deadline.
    let finance = login("finance@demo.certflow.cn").await;
    assert_eq!(app.get("/api/tasks", &finance).await.body["items"].as_array().unwrap().len(), 1);
    let jingkou = login("jingkou@demo.certflow.cn").await;
    let cases = app.get("/api/applications?workflow=lenient-supervision", &jingkou).await;
    assert_eq!(cases.body["items"][0]["state"], "rectifying");
    assert!(cases.body["items"][0]["due_at"].is_string());
    // The enterprises stand at different tiers: the dashboard counts them.
    let d = app.get("/api/dashboard", &admin).await;
    let count =
        |key: &str| d.body["targets"].as_array().unwrap().iter().find(|t| t["key"] == key).unwrap()["current"].clone();
    assert_eq!(
        (count("innovative-sme"), count("srdi-sme"), count("pool")),
        (serde_json::json!(2), serde_json::json!(1), serde_json::json!(2))
    );
});

crate::dual_test!(every_demo_login_can_open_every_page_of_its_menu_in_both_languages, |app: TestApp| async move {
    // Arrange
    let logins = certflow::demo::seed(&app.engine).await.unwrap();
    let href = regex::Regex::new(r#"href="(/[^"?#]*)""#).unwrap();

    for (email, _) in &logins {
        let b = crate::pages::Browser::new(&app);
        let csrf = crate::pages::csrf_of(&b.html("/login").await);
        let r = b.post("/login", &[("csrf", &csrf), ("email", email), ("password", certflow::demo::PASSWORD)]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{email} signs in through the form");

        for (lang, own) in [("zh-CN", "退出"), ("en", "Sign out")] {
            // Act: the start page in this language, then every link of the menu.
            let home = b.html(&format!("/?lang={lang}")).await;
            assert!(home.contains(own), "{email} {lang}: the page speaks {lang}");
            let nav = &home[home.find("<nav").unwrap()..home.find("</nav>").unwrap()];
            let links: Vec<String> = href.captures_iter(nav).map(|c| c[1].replace("&#x2f;", "/")).collect();
            assert!(!links.is_empty(), "{email}: a menu");

            // Assert: each page opens (200, HTML in the chosen language) — the menu offers
            // nothing the user may not open.
            for link in &links {
                let r = b.get(link).await;
                assert_eq!(r.status(), StatusCode::OK, "{email} {lang} {link}");
                let html = r.text().await.unwrap();
                let html_lang = if lang == "en" { "<html lang=\"en\">" } else { "<html lang=\"zh-CN\">" };
                assert!(html.contains(html_lang), "{email} {lang} {link}");
            }
        }
    }
});
