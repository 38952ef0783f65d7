//! The write path shared by every change: the application row under its optimistic version
//! check, the hash-chained history entry, timers, and the effects of entering a state
//! (certifications, child applications, notifications) — all inside the caller's transaction.

use std::future::Future;
use std::pin::Pin;

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ActiveValue::NotSet, ConnectionTrait, DatabaseTransaction, Set};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::Engine;
use crate::domain::access::Caller;
use crate::domain::calendar::Deadline;
use crate::domain::decision::enter::{self, Arrival, Planned};
use crate::domain::definition::{DurationSpec, WorkflowDefinition};
use crate::domain::expr::World;
use crate::error::{AppError, t};
use crate::storage::applications as store;
use crate::storage::entities::{application, enterprise, history, timer};

/// Deepest chain of `start` effects followed before the engine refuses (a definition loop).
const MAX_START_DEPTH: u32 = 8;

/// A history entry about to be written.
pub struct Entry<'a> {
    /// The entry's sequence number when the caller already knows it (it read the history under
    /// the same version check); `None` looks it up.
    pub seq: Option<i32>,
    pub action: &'a str,
    pub from: Option<&'a str>,
    pub comment: Option<&'a str>,
    pub data: Option<&'a Value>,
}

/// The hash of a history entry: every field that matters, chained to the previous hash.
#[allow(clippy::too_many_arguments)]
pub fn entry_hash(
    prev: &str,
    application_id: &str,
    seq: i32,
    action: &str,
    from: Option<&str>,
    to: &str,
    actor_id: Option<&str>,
    actor_name: &str,
    comment: Option<&str>,
    data: Option<&str>,
    at: DateTime<Utc>,
) -> String {
    let mut h = Sha256::new();
    for part in [
        prev,
        application_id,
        &seq.to_string(),
        action,
        from.unwrap_or("\u{0}"),
        to,
        actor_id.unwrap_or("\u{0}"),
        actor_name,
        comment.unwrap_or("\u{0}"),
        data.unwrap_or("\u{0}"),
        &at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
    ] {
        h.update(part.as_bytes());
        h.update([0x1f]);
    }
    hex::encode(h.finalize())
}

pub fn caller_identity(caller: Caller<'_>) -> (Option<String>, String) {
    match caller {
        Caller::User(a) => (Some(a.id.clone()), a.name.clone()),
        Caller::System => (None, "system".to_string()),
    }
}

impl Engine {
    /// Writes the application row (only if it is still at `old_version`) and its history entry.
    pub(super) async fn commit_change(
        &self,
        txn: &DatabaseTransaction,
        old_version: Option<i32>,
        app: &mut application::Model,
        entry: Entry<'_>,
        caller: Caller<'_>,
        now: DateTime<Utc>,
    ) -> Result<history::Model, AppError> {
        // One history entry per version: the entry of the change to version v + 1 is seq v + 1.
        let seq = entry.seq.unwrap_or_else(|| old_version.map_or(1, |v| v + 1));
        let prev = app.head_hash.clone();
        let (actor_id, actor_name) = caller_identity(caller);
        let data = entry.data.map(Value::to_string);
        let hash = entry_hash(
            &prev,
            &app.id,
            seq,
            entry.action,
            entry.from,
            &app.state,
            actor_id.as_deref(),
            &actor_name,
            entry.comment,
            data.as_deref(),
            now,
        );
        app.head_hash = hash.clone();
        app.updated_at = now;
        match old_version {
            Some(v) => {
                app.version = v + 1;
                if !store::update_versioned(txn, app, v).await? {
                    return Err(AppError::Conflict(t(
                        "申请已被他人修改，请刷新后重试",
                        "the application was changed by someone else; reload and try again",
                    )));
                }
            }
            None => store::insert(txn, app).await?,
        }
        let entry = history::ActiveModel {
            id: NotSet,
            application_id: Set(app.id.clone()),
            seq: Set(seq),
            action: Set(entry.action.to_string()),
            from_state: Set(entry.from.map(str::to_string)),
            to_state: Set(app.state.clone()),
            actor_id: Set(actor_id),
            actor_name: Set(actor_name),
            comment: Set(entry.comment.map(str::to_string)),
            data: Set(data),
            at: Set(now),
            prev_hash: Set(prev),
            hash: Set(hash),
        };
        Ok(store::append_history(txn, entry).await?)
    }

    /// Expressions and the calendar, as the pure rules take them.
    pub(super) fn rules(&self) -> enter::Env<'_> {
        enter::Env { expr: &self.expr, calendar: &self.defs.calendar }
    }

    /// Evaluates a duration of the definition against the application's data, from `start`.
    pub(super) fn eval_duration(
        &self,
        spec: &DurationSpec,
        ctx: &minijinja::Value,
        start: DateTime<Utc>,
    ) -> Result<Deadline, AppError> {
        Ok(enter::span_of(&self.expr, spec, ctx)?.after(start, &self.defs.calendar))
    }

    /// Decides entering `state` from `from` and sets it on the row (before it is written): state,
    /// visit, time, deadline. The arrival's timers are written by [`Engine::enter_timers`].
    #[allow(
        clippy::too_many_arguments,
        reason = "the use case's inputs are distinct values; a struct would only rename them"
    )]
    pub(super) fn prepare_enter(
        &self,
        def: &WorkflowDefinition,
        app: &mut application::Model,
        from: Option<&str>,
        state: &str,
        ctx: &minijinja::Value,
        resumed_due: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<Arrival, AppError> {
        let arrival = enter::arrive(self.rules(), def, from, state, ctx, resumed_due, now)?;
        app.state = arrival.state.clone();
        app.visit += 1;
        app.state_entered_at = now;
        app.is_final = arrival.is_final;
        app.due_at = arrival.due_at;
        Ok(arrival)
    }

    /// After the row is written (and its timers set): runs the state's `on_enter` effects in order.
    #[allow(
        clippy::too_many_arguments,
        reason = "the use case's inputs are distinct values; a struct would only rename them"
    )]
    pub(super) fn after_enter<'a>(
        &'a self,
        txn: &'a DatabaseTransaction,
        def: &'a WorkflowDefinition,
        app: &'a application::Model,
        ent: &'a enterprise::Model,
        world: &'a mut World,
        caller: Caller<'a>,
        now: DateTime<Utc>,
        depth: u32,
    ) -> Pin<Box<dyn Future<Output = Result<(), AppError>> + Send + 'a>> {
        Box::pin(async move {
            let st = def.state(&app.state).ok_or_else(|| AppError::Internal(anyhow::anyhow!("state vanished")))?;
            let data: Map<String, Value> = serde_json::from_str(&app.data).unwrap_or_default();
            let score = super::context::stored_score_value(app.score.as_deref());
            for effect in &st.on_enter {
                let ctx = self.scope(def, &data, score.clone(), ent, caller, Some(app), now).to_value(world);
                let Some(planned) = enter::plan(self.rules(), effect, &ctx, now)? else { continue };
                match planned {
                    Planned::Grant { kind, valid_until } => {
                        self.grant_certification(txn, ent, app, &kind, valid_until, now).await?;
                        world.certifications.retain(|(k, _)| *k != kind);
                        world.certifications.push((kind, true));
                    }
                    Planned::Extend { kind, span } => {
                        self.extend_certification(txn, ent, app, &kind, span, now).await?;
                        world.certifications.retain(|(k, _)| *k != kind);
                        world.certifications.push((kind, true));
                    }
                    Planned::Reserve { budget, amount, year } => {
                        self.reserve(txn, app, &budget, &amount, year, now).await?;
                    }
                    Planned::Spend { budget } => self.settle(txn, app, &budget, "spent", now).await?,
                    Planned::Release { budget } => self.settle(txn, app, &budget, "released", now).await?,
                    Planned::Claim { award } => self.claim_award(txn, app, &award, now).await?,
                    Planned::Unclaim { award } => self.unclaim_award(txn, app, &award).await?,
                    Planned::Revoke { kind } => {
                        crate::storage::certifications::revoke(txn, &ent.id, &kind, now).await?;
                        for c in world.certifications.iter_mut().filter(|(k, _)| *k == kind) {
                            c.1 = false;
                        }
                    }
                    Planned::Start { workflow, data: child_data } => {
                        if depth >= MAX_START_DEPTH {
                            return Err(AppError::Internal(anyhow::anyhow!(
                                "start effects nest deeper than {MAX_START_DEPTH}"
                            )));
                        }
                        let child_def = self
                            .defs
                            .catalogue
                            .latest(&workflow)
                            .cloned()
                            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("workflow {workflow} vanished")))?;
                        self.create_in_txn(
                            txn,
                            &child_def,
                            ent,
                            child_data,
                            Caller::System,
                            Some(&app.id),
                            world,
                            now,
                            depth + 1,
                        )
                        .await?;
                    }
                    Planned::Notify { to, template } => {
                        self.queue_mail(txn, def, app, ent, &to, &template, caller, None, now).await?;
                    }
                }
            }
            Ok(())
        })
    }

    /// Creates an application in its initial state inside `txn` (used for new applications and
    /// for children started by `start` effects).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn create_in_txn<'a>(
        &'a self,
        txn: &'a DatabaseTransaction,
        def: &'a WorkflowDefinition,
        ent: &'a enterprise::Model,
        data: Map<String, Value>,
        caller: Caller<'a>,
        parent: Option<&'a str>,
        world: &'a mut World,
        now: DateTime<Utc>,
        depth: u32,
    ) -> Pin<Box<dyn Future<Output = Result<application::Model, AppError>> + Send + 'a>> {
        Box::pin(async move {
            let data = def.form().normalise(&data).map_err(|errors| AppError::Unprocessable {
                title: t("表单数据无效", "the form data are not valid"),
                errors,
            })?;
            let id = uuid::Uuid::new_v4();
            let number = format!(
                "{}-{}",
                now.with_timezone(&crate::domain::calendar::china_offset()).format("%Y%m%d"),
                &id.simple().to_string()[..8].to_ascii_uppercase()
            );
            let mut app = application::Model {
                id: id.to_string(),
                number,
                workflow: def.key().to_string(),
                workflow_version: i32::try_from(def.version()).unwrap_or(i32::MAX),
                enterprise_id: ent.id.clone(),
                district: ent.district.clone(),
                state: String::new(),
                is_final: false,
                data: String::new(),
                score: None,
                version: 1,
                visit: 0,
                parent_id: parent.map(str::to_string),
                created_by: caller_identity(caller).0,
                state_entered_at: now,
                due_at: None,
                head_hash: String::new(),
                created_at: now,
                updated_at: now,
            };
            super::context::complete_world(txn, &ent.id, now, def, world).await?;
            let score = self.compute_score(def, &data, ent, world, caller, Some(&app), now);
            app.data = Value::Object(data.clone()).to_string();
            app.score = score.as_ref().and_then(|s| serde_json::to_string(s).ok());
            let ctx = self
                .scope(
                    def,
                    &data,
                    score.as_ref().map(crate::domain::scoring::Score::expression_value),
                    ent,
                    caller,
                    Some(&app),
                    now,
                )
                .to_value(world);
            let arrival = self.prepare_enter(def, &mut app, None, &def.initial().name, &ctx, None, now)?;
            let comment = parent.map(|p| format!("started by application {p}"));
            // What another party opened the application with is recorded: the applicant's
            // `editable: true` does not open those fields (see `domain::writes`).
            let opened_by_other = match caller {
                Caller::System => true,
                Caller::User(actor) => !actor.belongs_to(&ent.id),
            };
            let opened = (opened_by_other && !data.is_empty()).then(|| Value::Object(data.clone()));
            self.commit_change(
                txn,
                None,
                &mut app,
                Entry {
                    seq: Some(1),
                    action: "create",
                    from: None,
                    comment: comment.as_deref(),
                    data: opened.as_ref(),
                },
                caller,
                now,
            )
            .await?;
            self.enter_timers(txn, &app, &arrival, now).await?;
            self.after_enter(txn, def, &app, ent, world, caller, now, depth).await?;
            Ok(app)
        })
    }
}

#[allow(clippy::too_many_arguments)]
pub(super) async fn insert_timer(
    txn: &impl ConnectionTrait,
    app: &application::Model,
    kind: &str,
    action: Option<&str>,
    template: Option<&str>,
    target: Option<&str>,
    due: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    timer::ActiveModel {
        id: NotSet,
        application_id: Set(app.id.clone()),
        visit: Set(app.visit),
        kind: Set(kind.into()),
        action: Set(action.map(str::to_string)),
        template: Set(template.map(str::to_string)),
        target: Set(target.map(str::to_string)),
        due_at: Set(due),
        status: Set("pending".into()),
        locked_until: Set(None),
        attempts: Set(0),
        created_at: Set(now),
        remaining_ms: Set(None),
    }
    .insert(txn)
    .await?;
    Ok(())
}
