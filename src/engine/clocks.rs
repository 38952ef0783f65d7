//! Statutory clocks: the timers of a state visit (deadline actions, deadline notices,
//! reminders), a clock that stops while another state is occupied and resumes with what was
//! left, and a one-time extension of a deadline by an authorised role.

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, TransactionTrait};
use serde_json::{Map, Value, json};

use super::Engine;
use super::context::{load_world, stored_score_value};
use super::transition::{Entry, insert_timer};
use super::view::ApplicationView;
use crate::domain::access::{Actor, AppFacts, Caller};
use crate::domain::decision::enter::{Arrival, Earlier};
use crate::domain::definition::WorkflowDefinition;
use crate::domain::role::Scope;
use crate::error::{AppError, t};
use crate::storage::entities::{application, history, timer};

impl Engine {
    /// When a state that `pauses` another is left back to it, the deadline the resumed clock
    /// had left (the application row needs it before it is written).
    pub(super) async fn resumed_due(
        &self,
        conn: &impl ConnectionTrait,
        def: &WorkflowDefinition,
        app: &application::Model,
        target: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, AppError> {
        let pausing_here = def.state(&app.state).and_then(|s| s.pauses.as_deref()) == Some(target);
        if !pausing_here {
            return Ok(None);
        }
        let paused = timer::Entity::find()
            .filter(timer::Column::ApplicationId.eq(&app.id))
            .filter(timer::Column::Status.eq("paused"))
            .filter(timer::Column::Kind.is_in(["timeout", "notify"]))
            .all(conn)
            .await?;
        Ok(paused.iter().filter_map(|t| t.remaining_ms).map(|ms| now + Duration::milliseconds(ms)).min())
    }

    /// Writes the timers of the visit `app` just began (its row is written): what becomes of
    /// the timers of earlier visits, then the new visit's own.
    pub(super) async fn enter_timers(
        &self,
        txn: &DatabaseTransaction,
        app: &application::Model,
        arrival: &Arrival,
        now: DateTime<Utc>,
    ) -> Result<(), AppError> {
        let earlier = match arrival.earlier {
            // A new application has no earlier visit.
            _ if app.visit <= 1 => Vec::new(),
            // The usual case, one statement: nothing of earlier visits runs on.
            Earlier::Cancel => {
                crate::storage::timers::cancel_earlier(txn, &app.id, app.visit).await?;
                Vec::new()
            }
            Earlier::Pause | Earlier::Resume => {
                timer::Entity::find()
                    .filter(timer::Column::ApplicationId.eq(&app.id))
                    .filter(timer::Column::Status.is_in(["pending", "paused"]))
                    .filter(timer::Column::Visit.lt(app.visit))
                    .all(txn)
                    .await?
            }
        };
        for tm in earlier {
            let update = timer::Entity::update_many().filter(timer::Column::Id.eq(tm.id));
            match (arrival.earlier, tm.status.as_str()) {
                (Earlier::Pause, "pending") => {
                    let left = (tm.due_at - now).num_milliseconds().max(0);
                    update
                        .col_expr(timer::Column::Status, Expr::value("paused"))
                        .col_expr(timer::Column::RemainingMs, Expr::value(left))
                        .exec(txn)
                        .await?;
                }
                // A clock paused before stays paused while another pauses.
                (Earlier::Pause, _) => {}
                (Earlier::Resume, "paused") => {
                    let due = now + Duration::milliseconds(tm.remaining_ms.unwrap_or(0));
                    update
                        .col_expr(timer::Column::Status, Expr::value("pending"))
                        .col_expr(timer::Column::Visit, Expr::value(app.visit))
                        .col_expr(timer::Column::DueAt, Expr::value(due))
                        .col_expr(timer::Column::RemainingMs, Expr::value(Option::<i64>::None))
                        .exec(txn)
                        .await?;
                }
                _ => {
                    update.col_expr(timer::Column::Status, Expr::value("cancelled")).exec(txn).await?;
                }
            }
        }
        for t in &arrival.timers {
            insert_timer(txn, app, t.kind, t.action.as_deref(), t.template.as_deref(), t.target.as_deref(), t.due, now)
                .await?;
        }
        Ok(())
    }

    /// `POST /api/applications/{id}/extend`: an authorised role extends the current deadline
    /// once per state visit, giving a reason that goes into the history.
    pub async fn extend_deadline(
        &self,
        actor: &Actor,
        id: &str,
        reason: Option<&str>,
        if_match: Option<i32>,
    ) -> Result<ApplicationView, AppError> {
        let app = self.find_app(&self.db, id).await?;
        let facts = AppFacts { enterprise_id: &app.enterprise_id, district: &app.district };
        if !actor.may_see(facts) {
            return Err(if actor.has_role(crate::domain::role::Role::Enterprise) {
                AppError::NotFound
            } else {
                AppError::Forbidden(t("该申请不在您的辖区内", "the application is outside your jurisdiction"))
            });
        }
        let def = self.def_of(&app)?;
        let st = def.state(&app.state).ok_or(AppError::NotFound)?;
        let (Some(ext), Some(old_due)) = (st.timeout.as_ref().and_then(|t| t.extend.as_ref()), app.due_at) else {
            return Err(AppError::Conflict(t(
                "当前环节的期限不能延长",
                "the deadline of the current state cannot be extended",
            )));
        };
        let scope = st.assignee.as_ref().map_or(Scope::Any, |a| a.scope);
        if actor.belongs_to(&app.enterprise_id) || !actor.holds_in_scope(ext.by, scope, &app.district) {
            return Err(AppError::Forbidden(t("您无权延长该期限", "you may not extend this deadline")));
        }
        let reason = reason.map(str::trim).filter(|r| !r.is_empty()).ok_or_else(|| AppError::Unprocessable {
            title: t("需要说明延期理由", "a reason is required"),
            errors: vec![crate::domain::form::FieldError {
                field: "reason".into(),
                message: t("请填写延期理由", "give the reason for the extension"),
            }],
        })?;
        if if_match.is_some_and(|v| v != app.version) {
            return Err(AppError::Conflict(t(
                "申请已被他人修改，请刷新后重试",
                "the application was changed by someone else; reload and try again",
            )));
        }
        let hist: Vec<history::Model> =
            history::Entity::find().filter(history::Column::ApplicationId.eq(&app.id)).all(&self.db).await?;
        let mut sorted = hist;
        sorted.sort_by_key(|h| h.seq);
        // The deadline began when the state was entered; a clock paused and resumed (rectifying
        // and back) is the same deadline, so the search goes back past such round trips.
        let pauses_here = |s: Option<&str>| {
            s.and_then(|s| def.state(s)).and_then(|st| st.pauses.as_deref()) == Some(app.state.as_str())
        };
        let mut end = sorted.len();
        let deadline_start = loop {
            let start =
                sorted[..end].iter().rposition(|h| h.from_state.as_deref() != Some(h.to_state.as_str())).unwrap_or(0);
            let entry = &sorted[start];
            let resumed = entry.to_state == app.state && pauses_here(entry.from_state.as_deref());
            let paused_segment = entry.to_state != app.state && pauses_here(Some(entry.to_state.as_str()));
            if start > 0 && (resumed || paused_segment) {
                end = start;
                continue;
            }
            break start;
        };
        if sorted[deadline_start..].iter().any(|h| h.action == "extend") {
            return Err(AppError::Conflict(t("该期限已延长过一次", "this deadline has already been extended once")));
        }
        let now = self.now();
        let ent = self.find_enterprise(&self.db, &app.enterprise_id).await?;
        let world = load_world(&self.db, &ent.id, now, &def).await?;
        let data: Map<String, Value> = serde_json::from_str(&app.data).unwrap_or_default();
        let ctx = self
            .scope(&def, &data, stored_score_value(app.score.as_deref()), &ent, Caller::User(actor), Some(&app), now)
            .to_value(&world);
        let new_due = self.eval_duration(&ext.length, &ctx, old_due)?.at;
        let delta = new_due - old_due;
        let mut new = app.clone();
        new.due_at = Some(new_due);
        let record = json!({"due_at_before": old_due, "due_at": new_due});
        let txn = self.db.begin().await?;
        let pending = timer::Entity::find()
            .filter(timer::Column::ApplicationId.eq(&app.id))
            .filter(timer::Column::Visit.eq(app.visit))
            .filter(timer::Column::Status.eq("pending"))
            .all(&txn)
            .await?;
        for tm in pending {
            timer::Entity::update_many()
                .col_expr(timer::Column::DueAt, Expr::value(tm.due_at + delta))
                .filter(timer::Column::Id.eq(tm.id))
                .exec(&txn)
                .await?;
        }
        let seq = sorted.last().map(|h| h.seq + 1);
        self.commit_change(
            &txn,
            Some(app.version),
            &mut new,
            Entry { seq, action: "extend", from: Some(&app.state), comment: Some(reason), data: Some(&record) },
            Caller::User(actor),
            now,
        )
        .await?;
        txn.commit().await?;
        self.view(Caller::User(actor), &new).await
    }
}
