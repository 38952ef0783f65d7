//! Notifications: rendered from `templates/email/<name>.<lang>.txt`, written to the outbox in the
//! transaction of the change that caused them, delivered afterwards by the scheduler (SMTP
//! through lettre, or `.eml` files when no SMTP server is configured).

use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, Utc};
use lettre::message::{Mailbox, Message, header::ContentType};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::NotSet, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use serde_json::{Value, json};

use super::Engine;
use crate::domain::access::Caller;
use crate::domain::definition::{Target, WorkflowDefinition};
use crate::domain::role::Role;
use crate::domain::text::Lang;
use crate::error::AppError;
use crate::storage::entities::{application, enterprise, outbox, user, user_role};

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
}

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
            Some(url) => Some(AsyncSmtpTransport::<Tokio1Executor>::from_url(url)?.build()),
            None => None,
        };
        Ok(Mailer { env, settings, transport })
    }

    /// Renders a template into (subject, body). The first line of a template is `Subject: …`.
    pub fn render(&self, name: &str, lang: Lang, ctx: &Value) -> anyhow::Result<(String, String)> {
        let tpl = self.env.get_template(&format!("email/{name}.{}.txt", lang.tag()))?;
        let text = tpl.render(minijinja::value::Serde(ctx))?;
        let (first, rest) = text.split_once('\n').unwrap_or((&text, ""));
        let subject = first.strip_prefix("Subject:").unwrap_or(first).trim().to_string();
        Ok((subject, rest.trim_start_matches('\n').to_string()))
    }

    fn message(&self, row: &outbox::Model) -> anyhow::Result<Message> {
        let from: Mailbox = self.settings.from.parse()?;
        let to: Mailbox = row.recipient.parse()?;
        Ok(Message::builder()
            .from(from)
            .to(to)
            .subject(row.subject.clone())
            .header(ContentType::TEXT_PLAIN)
            .body(row.body_text.clone())?)
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
                "certification": Value::Null,
            });
            let (subject, body) = self.mail.render(template, lang, &ctx).map_err(AppError::Internal)?;
            outbox::ActiveModel {
                id: NotSet,
                application_id: Set(Some(app.id.clone())),
                recipient: Set(person.email.clone()),
                lang: Set(lang.tag().to_string()),
                template: Set(template.to_string()),
                subject: Set(subject),
                body_text: Set(body),
                body_html: Set(None),
                status: Set("pending".into()),
                attempts: Set(0),
                next_attempt_at: Set(now),
                last_error: Set(None),
                created_at: Set(now),
                sent_at: Set(None),
            }
            .insert(txn)
            .await?;
        }
        Ok(people.len())
    }

    /// Delivers due outbox messages; a failure is retried with exponential back-off and the
    /// message is marked failed after the last try. Returns how many were sent.
    pub async fn deliver_mail(&self) -> Result<usize, AppError> {
        let now = self.now();
        let due = outbox::Entity::find()
            .filter(outbox::Column::Status.eq("pending"))
            .filter(outbox::Column::NextAttemptAt.lte(now))
            .order_by_asc(outbox::Column::Id)
            .limit(100)
            .all(&self.db)
            .await?;
        let mut sent = 0;
        for row in due {
            let result = self.mail.send(&row).await;
            let update = outbox::Entity::update_many()
                .filter(outbox::Column::Id.eq(row.id))
                .filter(outbox::Column::Status.eq("pending"));
            match result {
                Ok(()) => {
                    update
                        .col_expr(outbox::Column::Status, Expr::value("sent"))
                        .col_expr(outbox::Column::SentAt, Expr::value(now))
                        .col_expr(outbox::Column::Attempts, Expr::value(row.attempts + 1))
                        .exec(&self.db)
                        .await?;
                    sent += 1;
                }
                Err(e) => {
                    let attempts = row.attempts + 1;
                    let failed = attempts >= self.mail.settings.max_attempts;
                    let backoff = Duration::seconds(30 * (1_i64 << attempts.clamp(0, 10)));
                    tracing::warn!(id = row.id, attempts, error = %e, "mail delivery failed");
                    update
                        .col_expr(outbox::Column::Status, Expr::value(if failed { "failed" } else { "pending" }))
                        .col_expr(outbox::Column::Attempts, Expr::value(attempts))
                        .col_expr(outbox::Column::LastError, Expr::value(e.to_string()))
                        .col_expr(outbox::Column::NextAttemptAt, Expr::value(now + backoff))
                        .exec(&self.db)
                        .await?;
                }
            }
        }
        Ok(sent)
    }
}
