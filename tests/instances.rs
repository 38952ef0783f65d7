#![allow(clippy::unwrap_used, clippy::expect_used, reason = "a test fails loudly on the first surprise")]
//! Real `certflow serve` processes, killed: several instances on one PostgreSQL database (SPEC
//! §5, §6) fire every due timer exactly once and a killed instance neither loses nor doubles
//! anything (PostgreSQL only: set `CERTFLOW_TEST_POSTGRES_URL`; when it is unset at build time
//! those tests are listed as ignored); and an action cut off by SIGKILL at any moment is, on a
//! retry with its idempotency key, performed once or replayed (SQLite, and PostgreSQL when set).
//! Run them one at a time: `cargo test --test instances -- --test-threads=1`.
//!
//! The data are prepared in-process through the library (one enterprise and its users through
//! the engine, then applications and timers bulk-inserted with raw SQL); the servers are the real
//! binary, each with its own port, a 1 s tick and a 2 s lease.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use certflow::config::Settings;
use certflow::domain::role::Role;
use certflow::engine::{Engine, NewUser, Registration, RoleGrant, SystemClock};
use sea_orm::{ConnectionTrait, DatabaseBackend, Statement};
use serde_json::json;

/// Rows per multi-row INSERT.
const BATCH: usize = 500;
const TICK: &str = "1s";
const LEASE: &str = "2s";
const JWT_SECRET: &str = "instances-secret-instances-secret!!";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A fresh database on the test server, created the way `tests/api/helpers.rs` does.
async fn fresh_database() -> (String, String) {
    let server = std::env::var("CERTFLOW_TEST_POSTGRES_URL").expect("CERTFLOW_TEST_POSTGRES_URL");
    let name = format!("certflow_test_{}", uuid::Uuid::new_v4().simple());
    let admin = sea_orm::Database::connect(server.as_str()).await.expect("connect to PostgreSQL");
    admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await.expect("create test database");
    (certflow::bench::replace_db(&server, &name), name)
}

/// Drops the test database (only when the test passed: a failed one is left for a look).
async fn drop_database(name: &str) {
    let server = std::env::var("CERTFLOW_TEST_POSTGRES_URL").expect("CERTFLOW_TEST_POSTGRES_URL");
    let admin = sea_orm::Database::connect(server.as_str()).await.expect("connect to PostgreSQL");
    let _ = admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
}

/// A port nobody listens on right now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A `certflow serve` child process; killed (SIGKILL) and reaped when dropped.
struct Server {
    name: String,
    child: Child,
    log: PathBuf,
    port: u16,
}

impl Server {
    fn start(name: &str, url: &str, dir: &Path) -> Server {
        Server::start_with_lease(name, url, dir, LEASE)
    }

    fn start_with_lease(name: &str, url: &str, dir: &Path, lease: &str) -> Server {
        let port = free_port();
        let log = dir.join(format!("{name}.log"));
        let out = std::fs::File::create(&log).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_certflow"))
            .arg("serve")
            .current_dir(dir)
            .env("CERTFLOW_DATABASE_URL", url)
            .env("CERTFLOW_BIND", format!("127.0.0.1:{port}"))
            .env("CERTFLOW_TICK", TICK)
            .env("CERTFLOW_LEASE", lease)
            .env("CERTFLOW_MAIL_DIR", dir.join("mail"))
            .env("CERTFLOW_WORKFLOWS", root().join("workflows"))
            .env("CERTFLOW_TEMPLATES", root().join("templates"))
            .env("CERTFLOW_UPLOADS", dir.join("uploads"))
            .env("CERTFLOW_JWT_SECRET", JWT_SECRET)
            .env("CERTFLOW_LOG", "warn")
            .env_remove("CERTFLOW_SMTP_URL")
            .env_remove("CERTFLOW_ADMIN_EMAIL")
            .env_remove("CERTFLOW_ADMIN_PASSWORD")
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .expect("start certflow serve");
        let mut server = Server { name: name.into(), child, log, port };
        server.wait_listening(port);
        server
    }

    /// Waits until the server accepts connections (it has connected, migrated and scheduled).
    fn wait_listening(&mut self, port: u16) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("{} exited early ({status}):\n{}", self.name, self.log_text());
            }
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return;
            }
            assert!(Instant::now() < deadline, "{} did not start listening:\n{}", self.name, self.log_text());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// SIGKILL on unix: no shutdown code runs, whatever the process held stays claimed.
    fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// How many error lines the process logged (timer or mail failures).
    fn errors(&self) -> usize {
        self.log_text().lines().filter(|l| l.contains("ERROR")).count()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An engine on the test database (no scheduler), for preparing data and reading results.
async fn engine(url: &str, dir: &Path) -> Engine {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let settings = Settings {
        database_url: url.to_string(),
        bind: "127.0.0.1:0".into(),
        workflows: root().join("workflows"),
        templates: root().join("templates"),
        uploads: dir.join("uploads"),
        jwt_secret: Some(JWT_SECRET.into()),
        admin: None,
        smtp_url: None,
        mail_from: "certflow@test.cn".into(),
        mail_dir: dir.join("mail"),
        mail_tries: 3,
        mail_backoff: Duration::from_secs(1),
        lease: Duration::from_secs(2),
        tick: Duration::from_secs(1),
        base_url: None,
        run_scheduler: false,
        // Many sign-ins and registrations come from one test client.
        sign_in_rate: certflow::domain::throttle::Rate { per_period: 100_000, period_secs: 60 },
        register_rate: certflow::domain::throttle::Rate { per_period: 100_000, period_secs: 60 },
        trust_forwarded: false,
        idempotency_ttl: std::time::Duration::from_secs(24 * 3600),
    };
    certflow::startup::build_engine(&settings, Arc::new(SystemClock)).await.expect("engine builds")
}

async fn count(db: &impl ConnectionTrait, sql: &str) -> i64 {
    let row = db
        .query_one_raw(Statement::from_string(DatabaseBackend::Postgres, sql.to_string()))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .expect("a row");
    row.try_get_by_index::<i64>(0).unwrap()
}

/// Timers by status, for messages.
async fn timer_statuses(db: &impl ConnectionTrait) -> String {
    let rows = db
        .query_all_raw(Statement::from_string(
            DatabaseBackend::Postgres,
            "SELECT status, count(*) FROM timers GROUP BY status ORDER BY status".to_string(),
        ))
        .await
        .unwrap();
    rows.iter()
        .map(|r| format!("{}={}", r.try_get_by_index::<String>(0).unwrap(), r.try_get_by_index::<i64>(1).unwrap()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// One enterprise in Jingkou (registered through the engine, with its first user) and the
/// district and city reviewers. Returns the enterprise id and its district.
async fn enterprise(engine: &Engine) -> (String, String) {
    let uscc = certflow::domain::uscc::Uscc::complete("91321102MA1CX0017").expect("a valid code");
    let reg: Registration = serde_json::from_value(json!({
        "enterprise": {"uscc": uscc.as_str(), "name": "多实例测试有限公司", "district": "jingkou"},
        "user": {"email": "owner@inst.test.cn", "password": "inst2026pass", "name": "Owner"}
    }))
    .unwrap();
    let (ent, _) = engine.register(reg, "127.0.0.1").await.expect("register the enterprise");
    for (email, j) in [("district@inst.test.cn", "jingkou"), ("city@inst.test.cn", "city")] {
        engine
            .create_user_unchecked(NewUser {
                email: email.into(),
                password: "inst2026pass".into(),
                name: email.into(),
                roles: vec![RoleGrant { role: Role::Reviewer, jurisdiction: Some(j.into()) }],
                enterprise_id: None,
                lang: None,
            })
            .await
            .expect("create a reviewer");
    }
    (ent.id, "jingkou".into())
}

/// `n` applications of sample-recognition v1 in district_review (visit 1, version 1), each with
/// a pending timeout timer (`escalate`) that fell due a minute ago. Raw SQL, `BATCH` rows per
/// INSERT. Returns the application ids.
async fn seed_due_timers(engine: &Engine, n: usize) -> Vec<String> {
    seed_due(engine, n, "'timeout', 'escalate', NULL, NULL").await
}

/// Like [`seed_due_timers`] with other timers: `timer` is the SQL of (kind, action, template,
/// target).
async fn seed_due(engine: &Engine, n: usize, timer: &str) -> Vec<String> {
    let (ent_id, district) = enterprise(engine).await;
    let db = &engine.db;
    let ids: Vec<String> = (0..n).map(|_| uuid::Uuid::new_v4().to_string()).collect();
    for (b, chunk) in ids.chunks(BATCH).enumerate() {
        let apps: Vec<String> = chunk
            .iter()
            .enumerate()
            .map(|(i, id)| {
                format!(
                    "('{id}', 'INST-{:06}', 'sample-recognition', 1, '{ent_id}', '{district}', 'district_review', \
                     false, '{{}}', NULL, 1, 1, NULL, NULL, now(), now() + interval '10 days', '', now(), now())",
                    b * BATCH + i + 1
                )
            })
            .collect();
        db.execute_unprepared(&format!(
            "INSERT INTO applications (id, number, workflow, workflow_version, enterprise_id, district, state, \
             is_final, data, score, version, visit, parent_id, created_by, state_entered_at, due_at, head_hash, \
             created_at, updated_at) VALUES {}",
            apps.join(", ")
        ))
        .await
        .unwrap();
        let timers: Vec<String> = chunk
            .iter()
            .map(|id| format!("('{id}', 1, {timer}, 'pending', now() - interval '1 minute', 0, now())"))
            .collect();
        db.execute_unprepared(&format!(
            "INSERT INTO timers (application_id, visit, kind, action, template, target, status, due_at, attempts, \
             created_at) VALUES {}",
            timers.join(", ")
        ))
        .await
        .unwrap();
    }
    ids
}

/// `n` pending messages (template task-assigned), due a minute ago, to `u<i>@test.cn`.
async fn seed_mail(engine: &Engine, n: usize) {
    let db = &engine.db;
    for start in (0..n).step_by(BATCH) {
        let rows: Vec<String> = (start..(start + BATCH).min(n))
            .map(|i| {
                format!(
                    "(NULL, 'u{i}@test.cn', 'zh-CN', 'task-assigned', '待办 {i}', '您有一项新的待办（{i}）。', NULL, \
                     'pending', 0, now() - interval '1 minute', NULL, now(), NULL)"
                )
            })
            .collect();
        db.execute_unprepared(&format!(
            "INSERT INTO outbox (application_id, recipient, lang, template, subject, body_text, body_html, status, \
             attempts, next_attempt_at, last_error, created_at, sent_at) VALUES {}",
            rows.join(", ")
        ))
        .await
        .unwrap();
    }
}

const OPEN_TIMERS: &str = "SELECT count(*) FROM timers WHERE status IN ('pending', 'running')";
const DONE_TIMERS: &str = "SELECT count(*) FROM timers WHERE status NOT IN ('pending', 'running')";
const ESCALATIONS: &str = "SELECT count(*) FROM history WHERE action = 'escalate'";
const DOUBLE_ESCALATIONS: &str = "SELECT count(*) FROM (SELECT application_id FROM history WHERE action = 'escalate' \
                                  GROUP BY application_id HAVING count(*) > 1) x";
const SENT: &str = "SELECT count(*) FROM outbox WHERE status = 'sent'";

/// Polls `sql` every `every` until `done` holds for its value; panics after `limit`.
async fn wait_for(
    db: &impl ConnectionTrait,
    sql: &str,
    limit: Duration,
    every: Duration,
    what: &str,
    done: impl Fn(i64) -> bool,
) -> i64 {
    let deadline = Instant::now() + limit;
    loop {
        let v = count(db, sql).await;
        if done(v) {
            return v;
        }
        assert!(Instant::now() < deadline, "{what}: still {v} after {limit:?} (timers: {})", timer_statuses(db).await);
        tokio::time::sleep(every).await;
    }
}

#[tokio::test]
#[cfg_attr(not(pg_tests), ignore = "PostgreSQL only: set CERTFLOW_TEST_POSTGRES_URL to run it")]
async fn two_instances_fire_ten_thousand_due_timers_exactly_once() {
    const N: i64 = 10_000;
    let dir = tempfile::tempdir().unwrap();
    let (url, name) = fresh_database().await;
    let engine = engine(&url, dir.path()).await;
    let t = Instant::now();
    seed_due_timers(&engine, N as usize).await;
    println!("seeded {N} applications and due timers in {:.1} s", t.elapsed().as_secs_f64());
    let db = &engine.db;
    assert_eq!(count(db, OPEN_TIMERS).await, N);

    let start = Instant::now();
    let a = Server::start("a", &url, dir.path());
    let b = Server::start("b", &url, dir.path());
    let up = start.elapsed();
    wait_for(db, OPEN_TIMERS, Duration::from_secs(180), Duration::from_millis(500), "timers open", |v| v == 0).await;
    let took = start.elapsed();

    println!(
        "two instances fired {N} timers in {:.1} s ({:.0} timers/s; both servers up after {:.1} s); timers: {}; \
         errors logged: a={} b={}",
        took.as_secs_f64(),
        N as f64 / took.as_secs_f64(),
        up.as_secs_f64(),
        timer_statuses(db).await,
        a.errors(),
        b.errors(),
    );
    assert_eq!(count(db, ESCALATIONS).await, N, "one escalation per application");
    assert_eq!(count(db, DOUBLE_ESCALATIONS).await, 0, "no application escalated twice");
    assert_eq!(count(db, "SELECT count(*) FROM applications WHERE state = 'city_review'").await, N);
    assert_eq!(count(db, "SELECT count(*) FROM applications WHERE state <> 'city_review'").await, 0);
    assert_eq!(count(db, "SELECT count(*) FROM applications WHERE visit <> 2").await, 0, "one transition each");
    drop((a, b));
    db.clone().close().await.ok();
    drop(engine);
    drop_database(&name).await;
}

/// Kills an instance (SIGKILL) while it sweeps timers, and its successor while it delivers mail;
/// a third instance finishes. Nothing is lost and nothing happens twice:
///
/// * A timer the dead process claimed stays `running` until its lease (2 s) ends, then another
///   process claims it again. If the dead process had already committed the escalation, the
///   application's visit has moved on and the re-fired timer is stale (closed without effect);
///   if not, its transaction rolled back with the process and the escalation happens now, once.
///   The escalation and the application's version bump are one transaction, so there is no
///   in-between.
/// * Mail is never lost: an outbox row stays until it is marked `sent`, and only after the send
///   returned. The claim (`UPDATE … SET status = 'sending', next_attempt_at = now + lease …
///   RETURNING`) commits on its own, so a process killed at any point leaves a row either still
///   `pending` or `sending` with a lease that runs out, and the claim query takes `sending` rows
///   whose lease has passed as well as due `pending` ones. It can be sent twice: a process killed
///   after the send but before it recorded `sent` leaves the row `sending`, and the next claimant
///   sends it again. At the SMTP boundary delivery is therefore at-least-once (the stable
///   Message-ID `<outbox-<id>-<created>@…>` lets a mail server or client recognise the repeat).
///   Without SMTP a message is written to `<outbox id, 8 digits>-<template>.eml`: a name that
///   depends on the row only, so a re-send writes the same file again (also replacing one the
///   killed process left half-written), and the folder holds exactly one file per outbox row
///   however often a row was sent; the file count is exact, not at-least.
#[tokio::test]
#[cfg_attr(not(pg_tests), ignore = "PostgreSQL only: set CERTFLOW_TEST_POSTGRES_URL to run it")]
async fn a_killed_instance_loses_and_doubles_nothing() {
    const N: i64 = 2_000;
    const MAIL: i64 = 2_000;
    let dir = tempfile::tempdir().unwrap();
    let (url, name) = fresh_database().await;
    let engine = engine(&url, dir.path()).await;
    seed_due_timers(&engine, N as usize).await;
    seed_mail(&engine, MAIL as usize).await;
    let db = &engine.db;
    let start = Instant::now();

    // 1. Killed mid-sweep: some timers done, not all.
    let a = Server::start("a", &url, dir.path());
    let fast = Duration::from_millis(50);
    let done_at_kill = wait_for(db, DONE_TIMERS, Duration::from_secs(60), fast, "timers done", |v| v >= 20).await;
    a.kill();
    let done_after_kill = count(db, DONE_TIMERS).await;
    let held = count(db, "SELECT count(*) FROM timers WHERE status = 'running'").await;
    println!(
        "killed a after {:.1} s with {done_after_kill} of {N} timers closed and {held} still claimed by it",
        start.elapsed().as_secs_f64()
    );
    assert!(done_after_kill < N, "a finished every timer before it was killed ({done_at_kill} when seen)");

    // 2. Killed mid-delivery: the timers are done (the tick sweeps timers before mail).
    let b = Server::start("b", &url, dir.path());
    wait_for(db, OPEN_TIMERS, Duration::from_secs(150), Duration::from_millis(200), "timers open", |v| v == 0).await;
    let sent_at_kill = wait_for(db, SENT, Duration::from_secs(60), fast, "mail sent", |v| v >= 1).await;
    b.kill();
    let sent_after_kill = count(db, SENT).await;
    let sending = count(db, "SELECT count(*) FROM outbox WHERE status = 'sending'").await;
    println!(
        "killed b after {:.1} s with {sent_after_kill} of {MAIL} messages sent and {sending} claimed by it \
         (c sends those again once the lease ends)",
        start.elapsed().as_secs_f64()
    );
    assert!(sent_after_kill < MAIL, "b sent every message before it was killed ({sent_at_kill} when seen)");

    // 3. A new instance takes over what b held once the lease has run out, and finishes.
    let c = Server::start("c", &url, dir.path());
    wait_for(db, SENT, Duration::from_secs(120), Duration::from_millis(200), "mail sent", |v| v == MAIL).await;
    println!(
        "all {N} timers and {MAIL} messages done {:.1} s after the first start; timers: {}; errors logged: c={}",
        start.elapsed().as_secs_f64(),
        timer_statuses(db).await,
        c.errors()
    );

    assert_eq!(count(db, ESCALATIONS).await, N, "one escalation per application");
    assert_eq!(count(db, DOUBLE_ESCALATIONS).await, 0, "no application escalated twice");
    assert_eq!(count(db, "SELECT count(*) FROM applications WHERE state = 'city_review'").await, N);
    assert_eq!(count(db, SENT).await, MAIL);
    assert_eq!(count(db, "SELECT count(*) FROM outbox").await, MAIL, "no message queued twice");

    let ids = db
        .query_all_raw(Statement::from_string(
            DatabaseBackend::Postgres,
            "SELECT id, template FROM outbox ORDER BY id".to_string(),
        ))
        .await
        .unwrap();
    let expected: std::collections::BTreeSet<String> = ids
        .iter()
        .map(|r| {
            format!("{:08}-{}.eml", r.try_get_by_index::<i64>(0).unwrap(), r.try_get_by_index::<String>(1).unwrap())
        })
        .collect();
    let files: std::collections::BTreeSet<String> = std::fs::read_dir(dir.path().join("mail"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|f| f.ends_with(".eml"))
        .collect();
    assert_eq!(files.len(), MAIL as usize, "one .eml file per message");
    assert_eq!(files, expected, "the files are exactly the outbox ids");
    for f in &files {
        let text = std::fs::read_to_string(dir.path().join("mail").join(f)).unwrap();
        assert!(text.contains("Message-ID: <outbox-"), "{f} is a whole message");
    }
    drop(c);
    db.clone().close().await.ok();
    drop(engine);
    drop_database(&name).await;
}

/// A reminder must go out once even when an instance is slower than its lease: here the lease is
/// 100 ms, far shorter than a batch of 200 reminders takes, so the other instance claims timers
/// the first still holds. A reminder does not move the application (its visit and version stay),
/// so only the timer row can tell the second firing that the first happened: the engine closes
/// it in the transaction that queues the mail, fenced on the claim (`status = 'running' AND
/// locked_until = <this claim's lease>`), and rolls back when the claim is no longer its own.
/// (Before that fence, 227 to 703 reminders in a run were queued twice.)
#[tokio::test]
#[cfg_attr(not(pg_tests), ignore = "PostgreSQL only: set CERTFLOW_TEST_POSTGRES_URL to run it")]
async fn two_instances_send_each_reminder_once_even_past_the_lease() {
    const N: i64 = 2_000;
    let dir = tempfile::tempdir().unwrap();
    let (url, name) = fresh_database().await;
    let engine = engine(&url, dir.path()).await;
    seed_due(&engine, N as usize, "'remind', NULL, 'deadline-reminder', 'assignees'").await;
    let db = &engine.db;
    let start = Instant::now();
    let a = Server::start_with_lease("a", &url, dir.path(), "100ms");
    let b = Server::start_with_lease("b", &url, dir.path(), "100ms");
    wait_for(db, OPEN_TIMERS, Duration::from_secs(180), Duration::from_millis(500), "timers open", |v| v == 0).await;
    println!(
        "two instances fired {N} reminders in {:.1} s; timers: {}; errors logged: a={} b={}",
        start.elapsed().as_secs_f64(),
        timer_statuses(db).await,
        a.errors(),
        b.errors()
    );
    let doubles = count(
        db,
        "SELECT count(*) FROM (SELECT application_id FROM outbox GROUP BY application_id HAVING count(*) > 1) x",
    )
    .await;
    assert_eq!(count(db, "SELECT count(*) FROM outbox").await, N, "one reminder per application ({doubles} doubled)");
    drop((a, b));
    db.clone().close().await.ok();
    drop(engine);
    drop_database(&name).await;
}

/// Sends `submit` on `id` under `key` to `server`.
async fn submit_under_key(
    client: &reqwest::Client,
    server: &Server,
    token: &str,
    id: &str,
    key: &str,
) -> reqwest::Result<(u16, serde_json::Value)> {
    let res = client
        .post(server.url(&format!("/api/applications/{id}/actions/submit")))
        .bearer_auth(token)
        .header("Idempotency-Key", key)
        .json(&json!({}))
        .send()
        .await?;
    let status = res.status().as_u16();
    Ok((status, res.json().await.unwrap_or_default()))
}

/// 50 times: an enterprise submits a draft under an idempotency key and the server is killed
/// (SIGKILL) 0–15 ms later, before, during or after the action's commit; a new server starts and
/// the client retries with the same key. The retry must get the submitted application (performed
/// now, or the stored response), the submission must be in the history exactly once, and the key
/// must never answer "still being processed".
async fn killed_actions_are_performed_once_or_replayed(url: &str, dir: &Path) {
    use rand::Rng;
    const TRIES: usize = 50;
    let engine = engine(url, dir).await;
    enterprise(&engine).await;
    let client = reqwest::Client::new();
    let mut server = Server::start("crash-0", url, dir);
    let login = client
        .post(server.url("/api/auth/login"))
        .json(&json!({"email": "owner@inst.test.cn", "password": "inst2026pass"}))
        .send()
        .await
        .unwrap();
    let token = login.json::<serde_json::Value>().await.unwrap()["token"].as_str().unwrap().to_string();
    let mut drafts = Vec::new();
    for _ in 0..TRIES {
        let data = json!({"workflow": "sample-recognition", "data": {
            "revenue": "1000000", "rd_expense": "40000", "growth": 12, "staff": 50,
            "founded": "2015-03-01", "sector": "strategic", "contact": "0511-1234567"}});
        let r = client.post(server.url("/api/applications")).bearer_auth(&token).json(&data).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 201);
        drafts.push(r.json::<serde_json::Value>().await.unwrap()["id"].as_str().unwrap().to_string());
    }
    let mut rng = rand::rng();
    let (mut answered_before_kill, mut cut_off) = (0, 0);
    for (i, id) in drafts.iter().enumerate() {
        let key = format!("crash-{i}");
        let wait = Duration::from_micros(rng.random_range(0..15_000));
        let sent = {
            let (client, token, id, key, url) =
                (client.clone(), token.clone(), id.clone(), key.clone(), server.url(""));
            tokio::spawn(async move {
                client
                    .post(format!("{url}/api/applications/{id}/actions/submit"))
                    .bearer_auth(token)
                    .header("Idempotency-Key", key)
                    .json(&json!({}))
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
            })
        };
        tokio::time::sleep(wait).await;
        server.kill();
        match sent.await.unwrap() {
            Ok(200) => answered_before_kill += 1,
            Ok(other) => panic!("try {i}: the first request got {other}"),
            Err(_) => cut_off += 1,
        }
        server = Server::start(&format!("crash-{}", i + 1), url, dir);
        let (status, view) = submit_under_key(&client, &server, &token, id, &key).await.unwrap();
        assert_eq!(status, 200, "try {i} after {wait:?}: {view}");
        assert_eq!(view["state"], "district_review", "try {i}");
        let r = client.get(server.url(&format!("/api/applications/{id}"))).bearer_auth(&token).send().await.unwrap();
        let now: serde_json::Value = r.json().await.unwrap();
        let submits = now["history"].as_array().unwrap().iter().filter(|h| h["action"] == "submit").count();
        assert_eq!(submits, 1, "try {i} after {wait:?}");
    }
    println!(
        "{TRIES} kills: {answered_before_kill} answered before the kill, {cut_off} cut off; every retry 200, once"
    );
    drop(server);
    engine.db.clone().close().await.ok();
}

#[tokio::test]
async fn a_killed_action_is_performed_once_or_replayed_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("crash.db").display());
    killed_actions_are_performed_once_or_replayed(&url, dir.path()).await;
}

#[tokio::test]
#[cfg_attr(not(pg_tests), ignore = "PostgreSQL run skipped: set CERTFLOW_TEST_POSTGRES_URL to run it")]
async fn a_killed_action_is_performed_once_or_replayed_on_postgres() {
    let dir = tempfile::tempdir().unwrap();
    let (url, name) = fresh_database().await;
    killed_actions_are_performed_once_or_replayed(&url, dir.path()).await;
    drop_database(&name).await;
}
