//! Notifications: rendered from `templates/email/<name>.<lang>.txt`, written to the outbox in the
//! transaction of the change that caused them, delivered afterwards by the scheduler (SMTP
//! through lettre, or `.eml` files when no SMTP server is configured).

use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, Utc};
use lettre::message::{Mailbox, Message, MultiPart, header::ContentType};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter};
use serde_json::{Value, json};

use super::Engine;
use crate::domain::access::{Actor, Caller};
use crate::domain::definition::{Target, WorkflowDefinition};
use crate::domain::role::Role;
use crate::domain::text::Lang;
use crate::error::{AppError, t};
use crate::storage::entities::{application, enterprise, outbox, user, user_role};
use crate::storage::outbox as store;

/// Where mail goes.
#[derive(Debug, Clone)]
pub struct MailSettings {
    /// `smtp://host:port` (plain, for local relays), `smtp://host:port?tls=required` (STARTTLS)
    /// or `smtps://…`; `None` writes `.eml` files to `dir`.
    pub smtp_url: Option<String>,
    pub from: String,
    pub dir: PathBuf,
    /// Tries before a message is marked failed.
    pub max_attempts: i32,
    /// Wait after the first failed try; it doubles with every further failure.
    pub backoff: Duration,
}

/// The longest one SMTP exchange may take; keep it well below the lease.
const SMTP_TIMEOUT_SECONDS: u64 = 20;

/// Messages claimed per round.
const MAIL_BATCH: u64 = 50;

/// Renders and delivers mail.
pub struct Mailer {
    env: minijinja::Environment<'static>,
    settings: MailSettings,
    transport: Option<AsyncSmtpTransport<Tokio1Executor>>,
}

impl Mailer {
    pub fn new(settings: MailSettings, templates: &Path) -> anyhow::Result<Mailer> {
        let mut env = minijinja::Environment::new();
        env.set_loader(minijinja::path_loader(templates));
        let transport = match &settings.smtp_url {
            // A send that hangs must end well within a claim's lease (see `deliver_mail`).
            Some(url) => Some(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url)?
                    .timeout(Some(std::time::Duration::from_secs(SMTP_TIMEOUT_SECONDS)))
                    .build(),
            ),
            None => None,
        };
        Ok(Mailer { env, settings, transport })
    }

    /// Renders a template into (subject, text body, HTML body if the template has an `.html`
    /// twin). The first line of the text template is `Subject: …`.
    pub fn render(&self, name: &str, lang: Lang, ctx: &Value) -> anyhow::Result<(String, String, Option<String>)> {
        let tpl = self.env.get_template(&format!("email/{name}.{}.txt", lang.tag()))?;
        let text = tpl.render(minijinja::value::Serde(ctx))?;
        let (first, rest) = text.split_once('\n').unwrap_or((&text, ""));
        let subject = first.strip_prefix("Subject:").unwrap_or(first).trim().to_string();
        let html = match self.env.get_template(&format!("email/{name}.{}.html", lang.tag())) {
            Ok(t) => Some(t.render(minijinja::value::Serde(ctx))?),
            Err(e) if e.kind() == minijinja::ErrorKind::TemplateNotFound => None,
            Err(e) => return Err(e.into()),
        };
        Ok((subject, rest.trim_start_matches('\n').to_string(), html))
    }

    fn message(&self, row: &outbox::Model) -> anyhow::Result<Message> {
        let from: Mailbox = self.settings.from.parse()?;
        let to: Mailbox = row.recipient.parse()?;
        let domain = from.email.domain().to_string();
        // A stable Message-ID: a message sent again after a crash is recognisably the same one.
        let builder = Message::builder().from(from).to(to).subject(row.subject.clone()).message_id(Some(format!(
            "<outbox-{}-{}@{domain}>",
            row.id,
            row.created_at.timestamp()
        )));
        Ok(match &row.body_html {
            Some(html) => builder.multipart(MultiPart::alternative_plain_html(row.body_text.clone(), html.clone()))?,
            None => builder.header(ContentType::TEXT_PLAIN).body(row.body_text.clone())?,
        })
    }

    async fn send(&self, row: &outbox::Model) -> anyhow::Result<()> {
        let msg = self.message(row)?;
        match &self.transport {
            Some(t) => {
                t.send(msg).await?;
            }
            None => {
                tokio::fs::create_dir_all(&self.settings.dir).await?;
                let path = self.settings.dir.join(format!("{:08}-{}.eml", row.id, row.template));
                tokio::fs::write(path, msg.formatted()).await?;
            }
        }
        Ok(())
    }
}

/// Which jurisdictions of a role a recipient list takes.
type JurisdictionFilter = Box<dyn Fn(Option<&str>) -> bool + Send>;

fn lang_of(tag: &str) -> Lang {
    Lang::from_tag(tag)
}

impl Engine {
    /// Users a target resolves to, for an application in its current state.
    async fn recipients(
        &self,
        conn: &impl ConnectionTrait,
        def: &WorkflowDefinition,
        app: &application::Model,
        target: &Target,
        caller: Caller<'_>,
    ) -> Result<Vec<user::Model>, AppError> {
        let by_role = |role: Role, pick: JurisdictionFilter| async move {
            let grants = user_role::Entity::find().filter(user_role::Column::Role.eq(role.as_str())).all(conn).await?;
            let ids: Vec<String> =
                grants.into_iter().filter(|g| pick(g.jurisdiction.as_deref())).map(|g| g.user_id).collect();
            Ok::<_, AppError>(
                user::Entity::find()
                    .filter(user::Column::Id.is_in(ids))
                    .filter(user::Column::Active.eq(true))
                    .all(conn)
                    .await?,
            )
        };
        let district = app.district.clone();
        Ok(match target {
            Target::Applicant => {
                user::Entity::find()
                    .filter(user::Column::EnterpriseId.eq(&app.enterprise_id))
                    .filter(user::Column::Active.eq(true))
                    .all(conn)
                    .await?
            }
            Target::Actor => match caller {
                Caller::User(a) => user::Entity::find_by_id(&a.id).all(conn).await?,
                Caller::System => Vec::new(),
            },
            Target::Assignees => match def.state(&app.state).and_then(|s| s.assignee.clone()) {
                Some(a) => by_role(a.role, Box::new(move |j| a.scope.covers(j, &district))).await?,
                None => Vec::new(),
            },
            Target::Role(r) => {
                by_role(*r, Box::new(move |j| j.is_none_or(|j| j == district || j == "city" || j == "province")))
                    .await?
            }
        })
    }

    /// Renders a notification for each recipient and writes it to the outbox inside `txn`.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn queue_mail(
        &self,
        txn: &DatabaseTransaction,
        def: &WorkflowDefinition,
        app: &application::Model,
        ent: &enterprise::Model,
        target: &Target,
        template: &str,
        caller: Caller<'_>,
        action: Option<(&str, Option<&str>)>,
        now: DateTime<Utc>,
    ) -> Result<usize, AppError> {
        self.queue_mail_with(txn, def, app, ent, target, template, caller, action, now, Value::Null).await
    }

    /// [`Engine::queue_mail`] with a certification in the template context.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn queue_mail_with(
        &self,
        txn: &DatabaseTransaction,
        def: &WorkflowDefinition,
        app: &application::Model,
        ent: &enterprise::Model,
        target: &Target,
        template: &str,
        caller: Caller<'_>,
        action: Option<(&str, Option<&str>)>,
        now: DateTime<Utc>,
        certification: Value,
    ) -> Result<usize, AppError> {
        let people = self.recipients(txn, def, app, target, caller).await?;
        let state_title = def.state(&app.state).map(|s| s.label(Lang::Zh)).unwrap_or_default();
        for person in &people {
            let lang = lang_of(&person.lang);
            let ctx = json!({
                "recipient": {"name": person.name, "email": person.email},
                "application": {
                    "number": app.number, "workflow_title": def.title().get(lang), "state": def.state(&app.state).map(|s| s.label(lang)).unwrap_or(state_title.clone()),
                    "url": format!("{}/applications/{}", self.base_url, app.id),
                },
                "enterprise": {"name": ent.name, "uscc": ent.uscc},
                "action": action.map(|(name, comment)| json!({"name": name, "comment": comment})),
                "actor": match caller { Caller::User(a) => json!({"name": a.name}), Caller::System => Value::Null },
                "deadline": app.due_at.map(|d| d.with_timezone(&crate::domain::calendar::china_offset()).to_rfc3339()),
                "certification": certification.clone(),
            });
            let (subject, body, html) = self.mail.render(template, lang, &ctx).map_err(AppError::Internal)?;
            store::queue(
                txn,
                store::NewMessage {
                    application_id: Some(&app.id),
                    recipient: &person.email,
                    lang: lang.tag(),
                    template,
                    subject,
                    body_text: body,
                    body_html: html,
                },
                now,
            )
            .await?;
        }
        Ok(people.len())
    }

    /// Claims due messages: pending ones whose time has come, and ones a process claimed but
    /// did not finish within the lease (it died). `FOR UPDATE SKIP LOCKED` on PostgreSQL lets
    /// several instances claim side by side without taking the same message.
    async fn claim_mail(&self, now: DateTime<Utc>) -> Result<Vec<outbox::Model>, AppError> {
        Ok(store::claim(&self.db, now, now + self.lease, MAIL_BATCH).await?)
    }

    /// Delivers due outbox messages; a failure is retried with exponential back-off and the
    /// message is marked failed after the last try. Returns how many were sent.
    pub async fn deliver_mail(&self) -> Result<usize, AppError> {
        let mut sent = 0;
        loop {
            let now = self.now();
            let claimed = self.claim_mail(now).await?;
            if claimed.is_empty() {
                return Ok(sent);
            }
            let mut failures = 0;
            for row in claimed {
                // Renew this message's lease just before sending it, and write the outcome only
                // while the claim is still ours: a batch that overran its lease cannot send a
                // message another instance has meanwhile taken over.
                let lease = self.now() + self.lease;
                if !store::renew(&self.db, row.id, row.next_attempt_at, lease).await? {
                    continue;
                }
                let result = if row.attempts > self.mail.settings.max_attempts {
                    Err(anyhow::anyhow!("gave up after {} tries", row.attempts - 1))
                } else {
                    self.mail.send(&row).await
                };
                let attempts = row.attempts;
                let outcome = match result {
                    Ok(()) => {
                        sent += 1;
                        store::Outcome::Sent { at: self.now() }
                    }
                    Err(e) => {
                        failures += 1;
                        let backoff = self.mail.settings.backoff * (1_i32 << (attempts - 1).clamp(0, 16));
                        tracing::warn!(id = row.id, attempts, error = %e, "mail delivery failed");
                        store::Outcome::Failed {
                            error: e.to_string(),
                            next: now + backoff,
                            give_up: attempts >= self.mail.settings.max_attempts,
                        }
                    }
                };
                store::finish(&self.db, row.id, lease, attempts, outcome).await?;
            }
            if failures > 0 {
                // The server is probably down: leave the rest for the next tick.
                return Ok(sent);
            }
        }
    }

    /// Messages by status, newest first (admins: `failed` is the dead letter).
    pub async fn mail_list(&self, actor: &Actor, status: Option<&str>) -> Result<Vec<MailView>, AppError> {
        if !actor.has_role(Role::Admin) {
            return Err(AppError::Forbidden(t("仅管理员可查看邮件队列", "only administrators may see the mail queue")));
        }
        Ok(store::list(&self.db, status, 500).await?.into_iter().map(MailView::from).collect())
    }

    /// Puts a failed message back in the queue for a fresh set of tries.
    pub async fn mail_retry(&self, actor: &Actor, id: i64) -> Result<MailView, AppError> {
        if !actor.has_role(Role::Admin) {
            return Err(AppError::Forbidden(t("仅管理员可重发邮件", "only administrators may retry mail")));
        }
        let now = self.now();
        let retried = store::retry(&self.db, id, now).await?;
        let row = store::find(&self.db, id).await?.ok_or(AppError::NotFound)?;
        if !retried {
            return Err(AppError::Conflict(t("只有发送失败的邮件可以重发", "only failed messages can be retried")));
        }
        Ok(MailView::from(row))
    }
}

/// A queued message as admins see it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct MailView {
    pub id: i64,
    pub application_id: Option<String>,
    pub recipient: String,
    pub lang: String,
    pub template: String,
    pub subject: String,
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

impl From<outbox::Model> for MailView {
    fn from(m: outbox::Model) -> Self {
        MailView {
            id: m.id,
            application_id: m.application_id,
            recipient: m.recipient,
            lang: m.lang,
            template: m.template,
            subject: m.subject,
            status: m.status,
            attempts: m.attempts,
            next_attempt_at: m.next_attempt_at,
            last_error: m.last_error,
            created_at: m.created_at,
            sent_at: m.sent_at,
        }
    }
}
