//! `spawn_app`: the real application on a fresh database, a settable clock, typed helpers.

use std::sync::Arc;

use certflow::config::Settings;
use certflow::domain::role::Role;
use certflow::engine::{Engine, NewUser, RoleGrant, TestClock};
use certflow::startup::Application;
use chrono::{DateTime, Utc};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// Runs a test body on SQLite and on PostgreSQL: `dual_test!(name, |app| async move { … })`, or
/// with some settings changed: `dual_test!(name, settings: |s| { … }, |app| async move { … })`.
#[macro_export]
macro_rules! dual_test {
    ($name:ident, $body:expr) => {
        $crate::dual_test!($name, settings: |_: &mut certflow::config::Settings| {}, $body);
    };
    ($name:ident, settings: $adjust:expr, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test]
            async fn sqlite() {
                let workflows = std::path::Path::new("workflows");
                let app = $crate::helpers::spawn_app_custom($crate::helpers::Backend::Sqlite, workflows, $adjust).await;
                ($body)(app).await;
            }

            #[tokio::test]
            #[cfg_attr(not(pg_tests), ignore = "PostgreSQL run skipped: set CERTFLOW_TEST_POSTGRES_URL to run it")]
            async fn postgres() {
                let workflows = std::path::Path::new("workflows");
                let app = $crate::helpers::spawn_app_custom($crate::helpers::Backend::Postgres, workflows, $adjust).await;
                ($body)(app).await;
            }
        }
    };
}

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The password of every user the helpers create.
pub const PASSWORD: &str = "test2026pass";

/// A running application and what a test needs to drive it.
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub engine: Engine,
    pub clock: Arc<TestClock>,
    #[allow(dead_code)]
    pub dir: tempfile::TempDir,
    counter: std::sync::atomic::AtomicU32,
    /// Who each token was issued to, so a test can sign in again after moving the clock.
    emails: std::sync::Mutex<std::collections::HashMap<String, String>>,
}

/// A response: status and JSON body (or the text as a JSON string when it is not JSON).
#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub body: Value,
    #[allow(dead_code)]
    pub content_type: String,
}

/// Monday 2 March 2026, 09:00 in Zhenjiang.
pub fn start_time() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-03-02T09:00:00+08:00").unwrap().with_timezone(&Utc)
}

async fn database_url(backend: Backend, dir: &std::path::Path) -> String {
    match backend {
        Backend::Sqlite => format!("sqlite://{}?mode=rwc", dir.join("test.db").display()),
        Backend::Postgres => {
            use sea_orm::ConnectionTrait;
            let server = std::env::var("CERTFLOW_TEST_POSTGRES_URL").expect("CERTFLOW_TEST_POSTGRES_URL");
            let name = format!("certflow_test_{}", uuid::Uuid::new_v4().simple());
            let admin = sea_orm::Database::connect(server.as_str()).await.expect("connect to PostgreSQL");
            admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await.expect("create test database");
            certflow::bench::replace_db(&server, &name)
        }
    }
}

/// The application on a fresh database with the templates and another definitions folder.
pub async fn spawn_app_with(backend: Backend, workflows: &std::path::Path) -> TestApp {
    spawn_app_custom(backend, workflows, |_| {}).await
}

/// The application on a fresh database with the project's templates, letting the test change
/// any setting (SMTP, mail tries, lease, limits…).
pub async fn spawn_app_custom(
    backend: Backend,
    workflows: &std::path::Path,
    adjust: impl FnOnce(&mut Settings),
) -> TestApp {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().expect("temp dir");
    let settings = Settings {
        database_url: database_url(backend, dir.path()).await,
        bind: "127.0.0.1:0".into(),
        workflows: workflows.to_path_buf(),
        templates: "templates".into(),
        uploads: dir.path().join("uploads"),
        jwt_secret: Some("test-secret-test-secret-test-secret!".into()),
        admin: Some(("admin@test.cn".into(), PASSWORD.into())),
        smtp_url: None,
        mail_from: "certflow@test.cn".into(),
        mail_dir: dir.path().join("mail"),
        mail_tries: 3,
        mail_backoff: std::time::Duration::from_secs(1),
        lease: std::time::Duration::from_secs(60),
        tick: std::time::Duration::from_secs(1),
        base_url: Some("http://certflow.test".into()),
        run_scheduler: false,
        // Many sign-ins and registrations come from one test client.
        sign_in_rate: certflow::domain::throttle::Rate { per_period: 100_000, period_secs: 60 },
        register_rate: certflow::domain::throttle::Rate { per_period: 100_000, period_secs: 60 },
        trust_forwarded: false,
        idempotency_ttl: std::time::Duration::from_secs(24 * 3600),
    };
    let mut settings = settings;
    adjust(&mut settings);
    let clock = Arc::new(TestClock::new(start_time()));
    let app = Application::build(settings, clock.clone()).await.expect("application builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    let engine = app.engine.clone();
    tokio::spawn(app.run_until_stopped());
    TestApp {
        address,
        client: reqwest::Client::new(),
        engine,
        clock,
        dir,
        counter: std::sync::atomic::AtomicU32::new(0),
        emails: Default::default(),
    }
}

impl TestApp {
    /// Sends a request with an optional bearer token, JSON body and extra headers.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Resp {
        let mut req = self.client.request(method, format!("{}{}", self.address, path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.expect("request sent");
        Self::read(res).await
    }

    pub async fn read(res: reqwest::Response) -> Resp {
        let status = res.status();
        let content_type = res.headers().get("content-type").and_then(|h| h.to_str().ok()).unwrap_or("").to_string();
        let text = res.text().await.unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Resp { status, body, content_type }
    }

    pub async fn get(&self, path: &str, token: &str) -> Resp {
        self.request(Method::GET, path, Some(token), None, &[]).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Resp {
        self.request(Method::POST, path, Some(token), Some(body), &[]).await
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> Resp {
        self.request(Method::PATCH, path, Some(token), Some(body), &[]).await
    }

    /// Signs in and returns the token.
    pub async fn login(&self, email: &str) -> String {
        let r = self
            .request(Method::POST, "/api/auth/login", None, Some(json!({"email": email, "password": PASSWORD})), &[])
            .await;
        assert_eq!(r.status, StatusCode::OK, "login {email}: {:?}", r.body);
        let token = r.body["token"].as_str().unwrap().to_string();
        self.emails.lock().unwrap().insert(token.clone(), email.to_string());
        token
    }

    fn unique(&self) -> u32 {
        self.counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
    }

    /// A valid USCC not used before in this app.
    pub fn new_uscc(&self) -> String {
        let n = self.unique();
        certflow::domain::uscc::Uscc::complete(&format!("91321102MA{:07}", 1_000_000 + n)).unwrap().as_str().to_string()
    }

    /// Registers an enterprise in `district` through the API; returns (enterprise id, token).
    pub async fn register_enterprise(&self, district: &str) -> (String, String) {
        let n = self.unique();
        let r = self
            .request(
                Method::POST,
                "/api/register",
                None,
                Some(json!({
                    "enterprise": {"uscc": self.new_uscc(), "name": format!("测试企业{n}"), "district": district},
                    "user": {"email": format!("owner{n}@firm.cn"), "password": PASSWORD, "name": format!("Owner {n}")},
                })),
                &[],
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        let token = r.body["token"].as_str().unwrap().to_string();
        self.emails.lock().unwrap().insert(token.clone(), format!("owner{n}@firm.cn"));
        (r.body["enterprise"]["id"].as_str().unwrap().to_string(), token)
    }

    /// Creates a staff user with one role and signs in; returns the token.
    pub async fn staff(&self, role: Role, jurisdiction: Option<&str>) -> String {
        let n = self.unique();
        let email = format!("{role}{n}@gov.cn");
        self.engine
            .create_user_unchecked(NewUser {
                email: email.clone(),
                password: PASSWORD.into(),
                name: format!("{role} {n}"),
                roles: vec![RoleGrant { role, jurisdiction: jurisdiction.map(str::to_string) }],
                enterprise_id: None,
                lang: Some("en".into()),
            })
            .await
            .expect("user created");
        self.login(&email).await
    }

    /// Signs the owner of `token` in again (tokens expire when the clock moves on).
    pub async fn fresh(&self, token: &str) -> String {
        let email = self.emails.lock().unwrap().get(token).cloned().expect("a token from login or register");
        self.login(&email).await
    }

    /// Runs the timer sweep as the scheduler would.
    pub async fn sweep(&self) -> usize {
        self.engine.sweep_timers().await.expect("sweep")
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: chrono::Duration) {
        self.clock.advance(by);
    }

    /// Creates an application; asserts 201 and returns the view.
    pub async fn create(&self, token: &str, workflow: &str, data: Value) -> Value {
        let r = self.post("/api/applications", token, json!({"workflow": workflow, "data": data})).await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        r.body
    }

    /// Takes an action; returns the response.
    pub async fn act(&self, token: &str, id: &str, action: &str, body: Value) -> Resp {
        self.post(&format!("/api/applications/{id}/actions/{action}"), token, body).await
    }
}

/// Data for `sample-recognition` that passes its checks (score 40 of 50, pass 40).
pub fn good_sample() -> Value {
    json!({
        "revenue": "1000000", "rd_expense": "40000", "growth": 12, "staff": 50,
        "founded": "2015-03-01", "sector": "strategic", "contact": "0511-1234567",
    })
}

/// A copy of the project's definitions with some text replaced.
pub fn definitions_with(edits: &[(&str, &str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for e in std::fs::read_dir("workflows").unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_file() {
            std::fs::copy(e.path(), dir.path().join(e.file_name())).unwrap();
        }
    }
    std::fs::create_dir_all(dir.path().join("calendar")).unwrap();
    for e in std::fs::read_dir("workflows/calendar").unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), dir.path().join("calendar").join(e.file_name())).unwrap();
    }
    for (file, from, to) in edits {
        let p = dir.path().join(file);
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(text.contains(from), "{file} has no `{from}`");
        std::fs::write(&p, text.replace(from, to)).unwrap();
    }
    dir
}

/// Takes an action asking for English messages.
pub async fn act_en(app: &TestApp, token: &str, id: &str, action: &str, body: Value) -> Resp {
    app.request(
        Method::POST,
        &format!("/api/applications/{id}/actions/{action}"),
        Some(token),
        Some(body),
        &[("Accept-Language", "en")],
    )
    .await
}

/// The messages of a refused (422) request.
pub fn messages(r: &Resp) -> Vec<String> {
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", r.body);
    r.body["errors"].as_array().unwrap().iter().map(|e| e["message"].as_str().unwrap().to_string()).collect()
}

/// The signed-in user's e-mail address.
pub async fn email_of(app: &TestApp, token: &str) -> String {
    let r = app.get("/api/me", token).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    r.body["email"].as_str().unwrap().to_string()
}

/// The recipients of the outbox messages of `template` about application `id`, in queue order.
pub async fn outbox_recipients(app: &TestApp, id: &str, template: &str) -> Vec<String> {
    use certflow::storage::entities::outbox;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
    outbox::Entity::find()
        .filter(outbox::Column::ApplicationId.eq(id))
        .filter(outbox::Column::Template.eq(template))
        .order_by_asc(outbox::Column::Id)
        .all(&app.engine.db)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.recipient)
        .collect()
}

/// Inserts a certification of another tier directly (the Arrange step of catalogue tests).
pub async fn seed_certification(app: &TestApp, ent_id: &str, kind: &str, status: &str, valid_until: DateTime<Utc>) {
    use certflow::storage::entities::certification;
    use sea_orm::{ActiveModelTrait, Set};
    certification::ActiveModel {
        id: Set(uuid::Uuid::new_v4().to_string()),
        enterprise_id: Set(ent_id.to_string()),
        kind: Set(kind.to_string()),
        application_id: Set(format!("seeded-{}", uuid::Uuid::new_v4())),
        status: Set(status.to_string()),
        granted_at: Set(valid_until - chrono::Duration::days(3 * 365)),
        valid_until: Set(Some(valid_until)),
        revoked_at: Set(None),
    }
    .insert(&app.engine.db)
    .await
    .expect("certification seeded");
}
