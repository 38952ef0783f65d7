//! Notifications end to end (SPEC §4): rendered into the outbox with the change that caused
//! them, delivered over real SMTP (an `aiosmtpd` sink), retried with exponential back-off on
//! the engine's clock while the server is down, dead-lettered after the last try and retried by
//! an administrator; without SMTP, written as `.eml` files.

use certflow::domain::role::Role;
use certflow::storage::entities::outbox;
use chrono::Duration;
use reqwest::StatusCode;
use sea_orm::{EntityTrait, QueryOrder};
use serde_json::json;

use crate::helpers::email_of;
use crate::helpers::{Backend, TestApp, good_sample, spawn_app_custom};
use crate::smtp_sink::{self, SmtpSink};

/// `settings.mail_from` in the test settings.
const MAIL_FROM: &str = "certflow@test.cn";

/// Runs `$scenario(backend)` on SQLite, and on PostgreSQL like `dual_test!` does.
macro_rules! on_both_backends {
    ($name:ident, $scenario:path) => {
        mod $name {
            use crate::helpers::Backend;

            #[tokio::test]
            async fn sqlite() {
                $scenario(Backend::Sqlite).await;
            }

            #[tokio::test]
            #[cfg_attr(not(pg_tests), ignore = "PostgreSQL run skipped: set CERTFLOW_TEST_POSTGRES_URL to run it")]
            async fn postgres() {
                $scenario(Backend::Postgres).await;
            }
        }
    };
}

/// The application with mail going to `smtp_url` (None: `.eml` files).
async fn mail_app(backend: Backend, smtp_url: Option<String>, tries: i32, backoff_secs: u64) -> TestApp {
    spawn_app_custom(backend, std::path::Path::new("workflows"), |s| {
        s.smtp_url = smtp_url;
        s.mail_tries = tries;
        s.mail_backoff = std::time::Duration::from_secs(backoff_secs);
        s.mail_from = MAIL_FROM.into();
    })
    .await
}

/// The whole outbox, in queue order.
async fn outbox_rows(app: &TestApp) -> Vec<outbox::Model> {
    outbox::Entity::find().order_by_asc(outbox::Column::Id).all(&app.engine.db).await.unwrap()
}

/// The only outbox row.
async fn only_row(app: &TestApp) -> outbox::Model {
    let rows = outbox_rows(app).await;
    assert_eq!(rows.len(), 1, "{rows:#?}");
    rows.into_iter().next().unwrap()
}

/// An enterprise in Jingkou and a Jingkou district reviewer; the enterprise submits a sample
/// recognition, which queues task-assigned for the reviewer. Returns (application view after
/// submitting, enterprise token, reviewer token).
async fn submitted(app: &TestApp) -> (serde_json::Value, String, String) {
    let (_, ent) = app.register_enterprise("jingkou").await;
    let reviewer = app.staff(Role::Reviewer, Some("jingkou")).await;
    let view = app.create(&ent, "sample-recognition", good_sample()).await;
    let id = view["id"].as_str().unwrap();
    let r = app.act(&ent, id, "submit", json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["state"], "district_review");
    (r.body, ent, reviewer)
}

async fn deliver(app: &TestApp) -> usize {
    app.engine.deliver_mail().await.expect("deliver_mail")
}

// 1. Delivered over SMTP, in the recipient's language.

on_both_backends!(mail_is_delivered_over_smtp_in_the_recipients_language, super::delivered_over_smtp);

async fn delivered_over_smtp(backend: Backend) {
    if !smtp_sink::available() {
        return;
    }
    // Arrange
    let sink = SmtpSink::start().await;
    let app = mail_app(backend, Some(sink.url()), 3, 30).await;
    let (view, ent, reviewer) = submitted(&app).await;
    let id = view["id"].as_str().unwrap().to_string();
    let number = view["number"].as_str().unwrap().to_string();
    let ent_name = view["enterprise"]["name"].as_str().unwrap().to_string();
    let url = format!("http://certflow.test/applications/{id}");
    let reviewer_email = email_of(&app, &reviewer).await;
    let owner_email = email_of(&app, &ent).await;
    let queued = only_row(&app).await;
    assert_eq!((queued.status.as_str(), queued.recipient.as_str()), ("pending", reviewer_email.as_str()));
    assert!(sink.messages().is_empty(), "nothing is sent before the scheduler delivers");

    // Act: the scheduler's delivery round.
    assert_eq!(deliver(&app).await, 1);

    // Assert: the reviewer (lang en) got the English task-assigned mail.
    let mails = sink.messages();
    assert_eq!(mails.len(), 1, "{mails:#?}");
    let m = &mails[0];
    assert_eq!(m.to, reviewer_email, "{}", m.raw);
    assert_eq!(m.from, MAIL_FROM, "{}", m.raw);
    assert_eq!(m.subject, format!("[certflow] Task assigned: Sample recognition ({number})"), "{}", m.raw);
    assert!(m.body.contains(&ent_name), "enterprise name in the body: {}", m.body);
    assert!(m.body.contains(&format!("Open the application: {url}")), "application URL in the body: {}", m.body);
    assert!(m.body.contains(&format!("(no. {number})")), "{}", m.body);
    assert_eq!(m.outbox_id(), Some(queued.id), "Message-ID names the outbox row: {}", m.message_id);
    assert!(m.content_language.as_deref().is_none_or(|l| l == "en"), "{:?}", m.content_language);
    let row = only_row(&app).await;
    assert_eq!((row.status.as_str(), row.attempts), ("sent", 1));
    assert_eq!(row.sent_at, Some(app.engine.now()));

    // Act: the reviewer returns it for revision with a comment.
    let comment = "请补充研发费用明细";
    let r = app.act(&reviewer, &id, "return", json!({"comment": comment})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(deliver(&app).await, 1);

    // Assert: the enterprise owner (registered, so zh-CN) got the Chinese `returned` mail.
    let mails = sink.messages();
    assert_eq!(mails.len(), 2, "{mails:#?}");
    let m = &mails[1];
    assert_eq!(m.to, owner_email, "{}", m.raw);
    assert_eq!(m.from, MAIL_FROM, "{}", m.raw);
    assert_eq!(m.subject, format!("【退回补正】您的“示例认定流程”申请（{number}）需补充材料"), "{}", m.raw);
    assert!(m.body.contains(&format!("审核意见：{comment}")), "the reviewer's comment: {}", m.body);
    assert!(m.body.contains(&format!("贵单位（{ent_name}）")), "{}", m.body);
    assert!(m.body.contains(&url), "{}", m.body);
    assert!(m.content_language.as_deref().is_none_or(|l| l == "zh-CN"), "{:?}", m.content_language);
    assert!(m.raw.contains("=?utf-8?b?"), "a non-ASCII subject travels RFC 2047-encoded: {}", m.raw);
    let rows = outbox_rows(&app).await;
    let summary: Vec<(&str, &str, &str, i32)> =
        rows.iter().map(|r| (r.template.as_str(), r.lang.as_str(), r.status.as_str(), r.attempts)).collect();
    assert_eq!(summary, vec![("task-assigned", "en", "sent", 1), ("returned", "zh-CN", "sent", 1)]);
    assert_eq!(deliver(&app).await, 0, "nothing left to send");
    assert_eq!(sink.messages().len(), 2, "no duplicates");
}

// 2. The SMTP server is down for a while.

#[tokio::test]
async fn mail_waits_out_the_back_off_while_smtp_is_down_and_is_sent_once_it_is_up() {
    if !smtp_sink::available() {
        return;
    }
    // Arrange: nothing listens on the port yet; back-off 30 s.
    let port = smtp_sink::free_port();
    let app = mail_app(Backend::Sqlite, Some(format!("smtp://127.0.0.1:{port}")), 3, 30).await;
    let _ = submitted(&app).await;
    let t0 = app.engine.now();

    // Act + Assert: the first try fails; the message goes back to the queue for 30 s.
    assert_eq!(deliver(&app).await, 0);
    let row = only_row(&app).await;
    assert_eq!((row.status.as_str(), row.attempts), ("pending", 1), "{row:#?}");
    assert!(row.last_error.as_deref().is_some_and(|e| !e.is_empty()), "{row:#?}");
    assert_eq!(row.next_attempt_at, t0 + Duration::seconds(30), "back-off × 2^0 on the engine clock");
    assert_eq!(row.sent_at, None);

    // The server comes up, but the back-off is not over: no try yet.
    let sink = SmtpSink::start_on(port).await;
    assert_eq!(deliver(&app).await, 0);
    app.advance(Duration::seconds(29));
    assert_eq!(deliver(&app).await, 0, "29 s of a 30 s back-off");
    assert!(sink.messages().is_empty());
    let row = only_row(&app).await;
    assert_eq!((row.status.as_str(), row.attempts), ("pending", 1), "untouched while waiting: {row:#?}");

    // Past the back-off: delivered exactly once.
    app.advance(Duration::seconds(2));
    assert_eq!(deliver(&app).await, 1);
    assert_eq!(sink.messages().len(), 1);
    let row = only_row(&app).await;
    assert_eq!((row.status.as_str(), row.attempts), ("sent", 2), "{row:#?}");
    assert_eq!(row.sent_at, Some(app.engine.now()));
    assert_eq!(deliver(&app).await, 0);
    app.advance(Duration::minutes(10));
    assert_eq!(deliver(&app).await, 0);
    assert_eq!(sink.messages().len(), 1, "no duplicate");
}

// 3. Dead letter and the administrator's retry.

on_both_backends!(mail_is_dead_lettered_after_the_last_try_and_an_admin_retries_it, super::dead_letter);

async fn dead_letter(backend: Backend) {
    if !smtp_sink::available() {
        return;
    }
    // Arrange: three tries, back-off 1 s, nothing listening.
    let port = smtp_sink::free_port();
    let app = mail_app(backend, Some(format!("smtp://127.0.0.1:{port}")), 3, 1).await;
    let (_, _, reviewer) = submitted(&app).await;
    let reviewer_email = email_of(&app, &reviewer).await;

    // Act: three rounds; the back-off doubles (1 s, then 2 s).
    assert_eq!(deliver(&app).await, 0);
    let row = only_row(&app).await;
    assert_eq!((row.status.as_str(), row.attempts), ("pending", 1));
    assert_eq!(row.next_attempt_at, app.engine.now() + Duration::seconds(1));
    app.advance(Duration::seconds(1));
    assert_eq!(deliver(&app).await, 0);
    let row = only_row(&app).await;
    assert_eq!((row.status.as_str(), row.attempts), ("pending", 2));
    assert_eq!(row.next_attempt_at, app.engine.now() + Duration::seconds(2), "1 s × 2^1");
    app.advance(Duration::seconds(1));
    assert_eq!(deliver(&app).await, 0);
    assert_eq!(only_row(&app).await.attempts, 2, "not due yet after 1 s of 2 s");
    app.advance(Duration::seconds(1));
    assert_eq!(deliver(&app).await, 0);

    // Assert: failed after the third try, and left alone from then on.
    let row = only_row(&app).await;
    assert_eq!((row.status.as_str(), row.attempts), ("failed", 3), "{row:#?}");
    let error = row.last_error.clone().unwrap_or_default();
    assert!(!error.is_empty(), "{row:#?}");
    app.advance(Duration::hours(1));
    assert_eq!(deliver(&app).await, 0);
    assert_eq!(only_row(&app).await.attempts, 3, "a failed message is not tried again by itself");

    // The dead letter as the admin sees it.
    let admin = app.login("admin@test.cn").await;
    let r = app.get("/api/admin/mail?status=failed", &admin).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let items = r.body["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 1, "{items:#?}");
    assert_eq!(items[0]["id"], row.id);
    assert_eq!(items[0]["status"], "failed");
    assert_eq!(items[0]["attempts"], 3);
    assert_eq!(items[0]["last_error"], error.as_str());
    assert_eq!(items[0]["recipient"], reviewer_email.as_str());
    assert_eq!(items[0]["template"], "task-assigned");
    let r = app.get("/api/admin/mail?status=sent", &admin).await;
    assert_eq!(r.body["items"], json!([]));

    // Only admins see the queue or retry.
    let reviewer = app.fresh(&reviewer).await;
    let r = app.get("/api/admin/mail?status=failed", &reviewer).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{:?}", r.body);
    let r = app.post(&format!("/api/admin/mail/{}/retry", row.id), &reviewer, json!({})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{:?}", r.body);
    assert_eq!(only_row(&app).await.status, "failed");

    // The admin puts it back in the queue, once.
    let r = app.post(&format!("/api/admin/mail/{}/retry", row.id), &admin, json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["id"], row.id);
    assert_eq!(r.body["status"], "pending");
    assert_eq!(r.body["attempts"], 0, "a fresh set of tries");
    let r = app.post(&format!("/api/admin/mail/{}/retry", row.id), &admin, json!({})).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "only failed messages can be retried: {:?}", r.body);
    let r = app.post(&format!("/api/admin/mail/{}/retry", row.id + 1000), &admin, json!({})).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{:?}", r.body);

    // The server is back: delivered once.
    let sink = SmtpSink::start_on(port).await;
    assert_eq!(deliver(&app).await, 1);
    let mails = sink.messages();
    assert_eq!(mails.len(), 1, "{mails:#?}");
    assert_eq!(mails[0].to, reviewer_email);
    assert_eq!(mails[0].subject, row.subject);
    let row = only_row(&app).await;
    assert_eq!((row.status.as_str(), row.attempts), ("sent", 1), "{row:#?}");
    assert_eq!(deliver(&app).await, 0);
    assert_eq!(sink.messages().len(), 1, "no duplicate");
    let r = app.get("/api/admin/mail?status=failed", &admin).await;
    assert_eq!(r.body["items"], json!([]));
    let r = app.get("/api/admin/mail?status=sent", &admin).await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 1, "{:?}", r.body);
}

// 4. Without SMTP: `.eml` files.

#[tokio::test]
async fn without_smtp_mail_is_written_as_eml_files() {
    // Arrange
    let app = mail_app(Backend::Sqlite, None, 3, 30).await;
    let (view, _, reviewer) = submitted(&app).await;
    let id = view["id"].as_str().unwrap();
    let r = app.act(&reviewer, id, "return", json!({"comment": "请补充研发费用明细"})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let mail_dir = app.dir.path().join("mail");

    // Act
    assert_eq!(deliver(&app).await, 2);

    // Assert: one file per sent row, each with its row's subject and recipient.
    let rows = outbox_rows(&app).await;
    assert!(rows.iter().all(|r| r.status == "sent"), "{rows:#?}");
    let files: Vec<_> = std::fs::read_dir(&mail_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    assert_eq!(files.len(), rows.len(), "{files:?}");
    let mails = smtp_sink::read_messages(&mail_dir);
    assert_eq!(mails.len(), rows.len());
    for (mail, row) in mails.iter().zip(&rows) {
        assert_eq!(mail.outbox_id(), Some(row.id), "{}", mail.raw);
        assert_eq!(mail.subject, row.subject, "{}", mail.raw);
        assert_eq!(mail.to, row.recipient);
        assert_eq!(mail.from, MAIL_FROM);
        assert_eq!(mail.body.trim_end(), row.body_text.trim_end());
    }
    assert!(mails[1].subject.starts_with("【退回补正】"), "{:?}", mails[1].subject);
    assert_eq!(deliver(&app).await, 0);
    assert_eq!(std::fs::read_dir(&mail_dir).unwrap().count(), 2, "nothing written twice");
}

// 5. A restarted SMTP server: no stale pooled connection swallows the next message.

#[tokio::test]
async fn mail_reaches_an_smtp_server_that_restarted_between_rounds() {
    if !smtp_sink::available() {
        return;
    }
    let sink = SmtpSink::start().await;
    let port = sink.port;
    let app = mail_app(Backend::Sqlite, Some(sink.url()), 3, 30).await;
    let (view, _, reviewer) = submitted(&app).await;
    assert_eq!(deliver(&app).await, 1);
    drop(sink);
    let sink = SmtpSink::start_on(port).await;
    let r = app.act(&reviewer, view["id"].as_str().unwrap(), "return", json!({"comment": "请补充研发费用明细"})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(deliver(&app).await, 1);
    let mails = sink.messages();
    assert_eq!(mails.len(), 1, "{mails:#?}");
    assert!(mails[0].subject.starts_with("【退回补正】"), "{:?}", mails[0].subject);
    let rows = outbox_rows(&app).await;
    assert!(rows.iter().all(|r| r.status == "sent" && r.attempts == 1), "{rows:#?}");
}
