//! Versioned definitions: an application keeps the version it started with; new applications
//! take the newest one.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{Backend, good_sample, spawn_app_with};

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_file() {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

#[tokio::test]
async fn an_application_keeps_the_version_it_started_with() {
    // Arrange: version 1 of the sample, and an application on it.
    let defs = tempfile::tempdir().unwrap();
    copy_dir(std::path::Path::new("workflows"), defs.path());
    let app = spawn_app_with(Backend::Sqlite, defs.path()).await;
    let (_, ent) = app.register_enterprise("jingkou").await;
    let old = app.create(&ent, "sample-recognition", good_sample()).await;
    assert_eq!(old["workflow_version"], 1);

    // Act: version 2 renames the district review; version 1 moves to versions/.
    let v1 = std::fs::read_to_string(defs.path().join("sample-recognition.yaml")).unwrap();
    std::fs::create_dir_all(defs.path().join("versions")).unwrap();
    std::fs::write(defs.path().join("versions/sample-recognition.v1.yaml"), &v1).unwrap();
    let v2 = v1.replace("version: 1", "version: 2").replace("district_review", "district_check");
    std::fs::write(defs.path().join("sample-recognition.yaml"), v2).unwrap();
    let db_url = format!("sqlite://{}?mode=rwc", app.dir.path().join("test.db").display());
    let settings = certflow::config::Settings {
        database_url: db_url,
        bind: "127.0.0.1:0".into(),
        workflows: defs.path().to_path_buf(),
        templates: "templates".into(),
        uploads: app.dir.path().join("uploads"),
        jwt_secret: Some("test-secret-test-secret-test-secret!".into()),
        admin: None,
        smtp_url: None,
        mail_from: "certflow@test.cn".into(),
        mail_dir: app.dir.path().join("mail"),
        mail_tries: 3,
        mail_backoff: std::time::Duration::from_secs(1),
        lease: std::time::Duration::from_secs(60),
        tick: std::time::Duration::from_secs(1),
        base_url: None,
        run_scheduler: false,
        // Many sign-ins and registrations come from one test client.
        sign_in_rate: certflow::domain::throttle::Rate { per_period: 100_000, period_secs: 60 },
        register_rate: certflow::domain::throttle::Rate { per_period: 100_000, period_secs: 60 },
        trust_forwarded: false,
        idempotency_ttl: std::time::Duration::from_secs(24 * 3600),
    };
    let restarted = certflow::startup::Application::build(settings, app.clock.clone()).await.expect("restart");
    let address = format!("http://127.0.0.1:{}", restarted.port());
    tokio::spawn(restarted.run_until_stopped());
    let client = reqwest::Client::new();
    let id = old["id"].as_str().unwrap();
    let submit = client
        .post(format!("{address}/api/applications/{id}/actions/submit"))
        .bearer_auth(&ent)
        .json(&json!({}))
        .send()
        .await
        .unwrap();

    // Assert: the old application follows version 1, a new one version 2.
    assert_eq!(submit.status(), StatusCode::OK);
    let body: serde_json::Value = submit.json().await.unwrap();
    assert_eq!(body["state"], "district_review");
    assert_eq!(body["workflow_version"], 1);
    let new = client
        .post(format!("{address}/api/applications"))
        .bearer_auth(&ent)
        .json(&json!({"workflow": "sample-recognition", "data": good_sample()}))
        .send()
        .await
        .unwrap();
    assert_eq!(new.status(), StatusCode::CREATED);
    let new: serde_json::Value = new.json().await.unwrap();
    assert_eq!(new["workflow_version"], 2);
    let new_id = new["id"].as_str().unwrap();
    let r = client
        .post(format!("{address}/api/applications/{new_id}/actions/submit"))
        .bearer_auth(&ent)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    let r: serde_json::Value = r.json().await.unwrap();
    assert_eq!(r["state"], "district_check");
}
