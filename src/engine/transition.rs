//! The write path shared by every change: the application row under its optimistic version
//! check, the hash-chained history entry, timers, and the effects of entering a state
//! (certifications, child applications, notifications) — all inside the caller's transaction.

use std::future::Future;
use std::pin::Pin;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::NotSet, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter,
    Set,
};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::Engine;
use crate::domain::access::Caller;
use crate::domain::calendar::Deadline;
use crate::domain::definition::{DurationSpec, Effect, WorkflowDefinition};
use crate::domain::duration::Span;
use crate::domain::expr::World;
use crate::error::{AppError, t};
use crate::storage::applications as store;
use crate::storage::entities::{application, certification, enterprise, history, timer};

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

    /// Evaluates a duration of the definition against the application's data.
    pub(super) fn eval_duration(
        &self,
        spec: &DurationSpec,
        ctx: &minijinja::Value,
        start: DateTime<Utc>,
    ) -> Result<Deadline, AppError> {
        let span = match spec {
            DurationSpec::Fixed(s) => *s,
            DurationSpec::Days(e) | DurationSpec::WorkingDays(e) => {
                let n = self
                    .expr
                    .eval_number(e, ctx)
                    .map_err(|m| AppError::rule(t("期限无法计算", "the period cannot be computed"), vec![t(&m, &m)]))?
                    .filter(|n| *n >= 0.0 && n.fract() == 0.0)
                    .ok_or_else(|| {
                        AppError::rule(
                            t("期限无法计算", "the period cannot be computed"),
                            vec![t(
                                &format!("`{e}` 不是非负整数天数"),
                                &format!("`{e}` is not a whole, non-negative number of days"),
                            )],
                        )
                    })?;
                let n = n as u32;
                if matches!(spec, DurationSpec::Days(_)) { Span::days(i64::from(n)) } else { Span::working_days(n) }
            }
        };
        Ok(span.after(start, &self.defs.calendar))
    }

    /// Evaluates an expression to text (a number prints as a number).
    pub(super) fn eval_text(&self, expr: &str, ctx: &minijinja::Value) -> Result<String, AppError> {
        let v = self
            .expr
            .eval(expr, ctx)
            .map_err(|m| AppError::rule(t("表达式无法计算", "an expression cannot be computed"), vec![t(&m, &m)]))?;
        if v.is_none() || v.is_undefined() {
            return Err(AppError::rule(t("表达式没有值", "an expression has no value"), vec![t(expr, expr)]));
        }
        Ok(v.to_string())
    }

    /// Sets the fields of entering `state` on the row (before it is written): visit, time, deadline.
    pub(super) fn prepare_enter(
        &self,
        def: &WorkflowDefinition,
        app: &mut application::Model,
        state: &str,
        ctx: &minijinja::Value,
        resumed_due: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<(), AppError> {
        let st = def.state(state).ok_or_else(|| AppError::Internal(anyhow::anyhow!("state {state} vanished")))?;
        app.state = state.to_string();
        app.visit += 1;
        app.state_entered_at = now;
        app.is_final = st.is_final;
        app.due_at = match (&st.timeout, resumed_due) {
            (Some(_), Some(due)) => Some(due),
            (Some(to), None) => Some(self.eval_duration(&to.after, ctx, now)?.at),
            (None, _) => None,
        };
        Ok(())
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
                match effect {
                    Effect::Grant { certification: kind, valid_for } => {
                        self.grant_certification(txn, ent, app, kind, valid_for.as_ref(), &ctx, now).await?;
                        world.certifications.retain(|(k, _)| k != kind);
                        world.certifications.push((kind.clone(), true));
                    }
                    Effect::Extend { certification: kind, valid_for } => {
                        self.extend_certification(txn, ent, app, kind, valid_for.as_ref(), &ctx, now).await?;
                        world.certifications.retain(|(k, _)| k != kind);
                        world.certifications.push((kind.clone(), true));
                    }
                    Effect::Reserve { budget, amount, year } => {
                        let amount = self.eval_text(amount, &ctx)?;
                        let year = match year {
                            Some(y) => Some(self.eval_text(y, &ctx)?.parse::<i32>().map_err(|_| {
                                AppError::rule(t("预算年度无效", "invalid budget year"), vec![t(y, y)])
                            })?),
                            None => None,
                        };
                        self.reserve(txn, app, budget, &amount, year, now).await?;
                    }
                    Effect::Spend { budget } => self.settle(txn, app, budget, "spent", now).await?,
                    Effect::Release { budget } => self.settle(txn, app, budget, "released", now).await?,
                    Effect::Claim { award } => {
                        let award = self.eval_text(award, &ctx)?;
                        self.claim_award(txn, app, &award, now).await?;
                    }
                    Effect::Unclaim { award } => {
                        let award = self.eval_text(award, &ctx)?;
                        self.unclaim_award(txn, app, &award).await?;
                    }
                    Effect::Revoke { certification: kind } => {
                        certification::Entity::update_many()
                            .col_expr(certification::Column::Status, Expr::value("revoked"))
                            .col_expr(certification::Column::RevokedAt, Expr::value(now))
                            .filter(certification::Column::EnterpriseId.eq(&ent.id))
                            .filter(certification::Column::Kind.eq(kind))
                            .filter(certification::Column::Status.eq("active"))
                            .exec(txn)
                            .await?;
                        for c in world.certifications.iter_mut().filter(|(k, _)| k == kind) {
                            c.1 = false;
                        }
                    }
                    Effect::Start { workflow, when, data: exprs } => {
                        if let Some(w) = when {
                            let go = self.expr.eval_bool(w, &ctx).map_err(|m| {
                                AppError::rule(
                                    t("子申请条件无法计算", "the start condition cannot be computed"),
                                    vec![t(&m, &m)],
                                )
                            })?;
                            if !go {
                                continue;
                            }
                        }
                        if depth >= MAX_START_DEPTH {
                            return Err(AppError::Internal(anyhow::anyhow!(
                                "start effects nest deeper than {MAX_START_DEPTH}"
                            )));
                        }
                        let mut child_data = Map::new();
                        for (k, e) in exprs {
                            let v = self.expr.eval(e, &ctx).map_err(|m| {
                                AppError::rule(
                                    t("子申请数据无法计算", "the child application's data cannot be computed"),
                                    vec![t(&m, &m)],
                                )
                            })?;
                            let json = serde_json::to_value(&v).unwrap_or(Value::Null);
                            child_data.insert(k.clone(), json);
                        }
                        let child_def = self
                            .defs
                            .catalogue
                            .latest(workflow)
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
                    Effect::Notify(n) => {
                        self.queue_mail(txn, def, app, ent, &n.to, &n.template, caller, None, now).await?;
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
            self.prepare_enter(def, &mut app, &def.initial().name, &ctx, None, now)?;
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
            self.enter_timers(txn, def, &app, None, now).await?;
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
