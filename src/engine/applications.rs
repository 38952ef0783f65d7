//! Applications: create, edit, act, view, list, and the caller's inbox.

use std::collections::HashMap;
use std::sync::Arc;

use sea_orm::sea_query::Condition;
use sea_orm::{
    ActiveValue::NotSet, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, Set, TransactionTrait,
};
use serde::Serialize;
use serde_json::{Map, Value, json};

use super::Engine;
use super::context::load_world;
use super::transition::Entry;
use super::view::{
    ActionFieldView, ActionView, ActorRef, ApplicationSummary, ApplicationView, AttachmentView, EnterpriseRef,
    HistoryView, LinkedApplication, Page,
};
use crate::domain::access::{Actor, AppFacts, Caller, may_start};
use crate::domain::decision::{self, CastVote, Outcome, Past, Request, Snapshot};
use crate::domain::definition::{Action, By, CommentRule, Starter, WorkflowDefinition};
use crate::domain::form::FieldError;
use crate::domain::role::Scope;
use crate::domain::writes::{self, Writer};
use crate::error::{AppError, t};
use crate::storage::entities::{application, attachment, enterprise, history, vote};
use crate::storage::idempotency;

/// The body of an action request.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionRequest {
    pub comment: Option<String>,
    pub data: Option<Map<String, Value>>,
}

/// How many applications stand in a state of a workflow version.
#[derive(Debug, Clone, sea_orm::FromQueryResult)]
pub struct StateCount {
    pub workflow: String,
    pub workflow_version: i32,
    pub state: String,
    pub count: i64,
}

/// Filters of `GET /api/applications`.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListFilter {
    pub workflow: Option<String>,
    pub state: Option<String>,
    pub enterprise_id: Option<String>,
    pub page: Option<u64>,
    pub per_page: Option<u64>,
    /// Workflows left out (the pages list an enterprise's cases apart from its applications).
    #[serde(skip)]
    pub exclude_workflows: Vec<String>,
}

/// An inbox line: an application and what the caller may do with it now.
#[derive(Debug, Clone, Serialize)]
pub struct TaskItem {
    pub application: ApplicationSummary,
    pub enterprise_name: String,
    pub actions: Vec<ActionView>,
    pub overdue: bool,
}

/// An action as the caller is offered it, with the form fields it asks for.
pub(super) fn action_view(def: &WorkflowDefinition, a: &Action) -> ActionView {
    let fields = a
        .fields
        .iter()
        .filter_map(|k| def.form().field(k))
        .map(|f| ActionFieldView {
            key: f.key.clone(),
            kind: f.kind.name(),
            label: f.label.clone(),
            help: f.help.clone(),
            required: f.required,
            options: match &f.kind {
                crate::domain::form::FieldKind::Choice(opts) => opts.clone(),
                _ => Vec::new(),
            },
        })
        .collect();
    ActionView {
        name: a.name.clone(),
        title: a.title.clone(),
        to: a.to.clone(),
        comment: if a.comment == CommentRule::Required { "required" } else { "optional" },
        quorum: a.quorum,
        fields,
    }
}

/// The fields whoever opened the application for the enterprise wrote (recorded with the
/// `create` entry only when that was not the enterprise itself): no `editable: true` opens them.
pub(super) fn opened_with(hist: &[history::Model]) -> Vec<String> {
    hist.first()
        .filter(|h| h.action == "create")
        .and_then(|h| h.data.as_deref())
        .and_then(|d| serde_json::from_str::<Map<String, Value>>(d).ok())
        .map(|m| m.into_iter().map(|(k, _)| k).collect())
        .unwrap_or_default()
}

/// The application row as the rules see it.
pub(super) fn rules_application(app: &application::Model) -> decision::Application {
    decision::Application {
        id: app.id.clone(),
        number: app.number.clone(),
        workflow: app.workflow.clone(),
        enterprise_id: app.enterprise_id.clone(),
        district: app.district.clone(),
        state: app.state.clone(),
        visit: app.visit,
        version: app.version,
        data: serde_json::from_str(&app.data).unwrap_or_default(),
        score: app.score.as_deref().and_then(|s| serde_json::from_str(s).ok()),
        parent: app.parent_id.clone(),
        created_at: app.created_at,
    }
}

/// The history as the rules see it.
pub(super) fn past_of(hist: &[history::Model]) -> Vec<Past<'_>> {
    hist.iter()
        .map(|h| Past { actor_id: h.actor_id.as_deref(), from: h.from_state.as_deref(), action: &h.action })
        .collect()
}

/// Votes as the rules see them.
pub(super) fn cast_of(votes: &[vote::Model]) -> Vec<CastVote<'_>> {
    votes.iter().map(|v| CastVote { actor_id: &v.actor_id, action: &v.action }).collect()
}

/// The part of `patch` that `writer` may write, or 422 naming each field it may not change.
fn permitted_patch(
    def: &WorkflowDefinition,
    writer: Writer<'_>,
    stored: &Map<String, Value>,
    patch: Map<String, Value>,
) -> Result<Map<String, Value>, AppError> {
    writes::permitted(def.form(), writer, stored, patch).map_err(|errors| AppError::Unprocessable {
        title: if writer.editable.any() {
            t("部分字段在当前环节不可修改", "some fields cannot be changed in the current state")
        } else {
            t("部分字段不能随该操作填写", "some fields cannot be set with this action")
        },
        errors,
    })
}

fn not_editable() -> AppError {
    AppError::Conflict(t("申请在当前环节不可修改", "the application cannot be edited in its current state"))
}

fn stale() -> AppError {
    AppError::Conflict(t(
        "申请已被他人修改，请刷新后重试",
        "the application was changed by someone else; reload and try again",
    ))
}

impl Engine {
    pub(super) async fn find_app(&self, conn: &impl ConnectionTrait, id: &str) -> Result<application::Model, AppError> {
        application::Entity::find_by_id(id).one(conn).await?.ok_or(AppError::NotFound)
    }

    pub(super) async fn find_enterprise(
        &self,
        conn: &impl ConnectionTrait,
        id: &str,
    ) -> Result<enterprise::Model, AppError> {
        enterprise::Entity::find_by_id(id).one(conn).await?.ok_or(AppError::NotFound)
    }

    pub(super) fn def_of(&self, app: &application::Model) -> Result<Arc<WorkflowDefinition>, AppError> {
        let version = u32::try_from(app.workflow_version).unwrap_or(0);
        self.defs.catalogue.get(&app.workflow, version).cloned().ok_or_else(|| {
            AppError::Unavailable(t(
                &format!("流程 {} 第 {version} 版未加载", app.workflow),
                &format!("version {version} of workflow {} is not loaded", app.workflow),
            ))
        })
    }

    /// Loads an application the actor may see; anything else is "not found".
    pub(super) async fn visible_app(&self, actor: &Actor, id: &str) -> Result<application::Model, AppError> {
        let app = self.find_app(&self.db, id).await?;
        if actor.may_see(AppFacts { enterprise_id: &app.enterprise_id, district: &app.district }) {
            Ok(app)
        } else {
            Err(AppError::NotFound)
        }
    }

    /// `POST /api/applications`.
    pub async fn create_application(
        &self,
        actor: &Actor,
        workflow: &str,
        enterprise_id: Option<&str>,
        data: Map<String, Value>,
    ) -> Result<ApplicationView, AppError> {
        let def = self.defs.catalogue.latest(workflow).cloned().ok_or_else(|| AppError::Unprocessable {
            title: t("流程不存在", "unknown workflow"),
            errors: vec![FieldError {
                field: "workflow".into(),
                message: t(&format!("没有流程 `{workflow}`"), &format!("there is no workflow `{workflow}`")),
            }],
        })?;
        if def.starts() == Starter::System {
            return Err(AppError::Forbidden(t("该流程只能由系统发起", "this workflow is started only by the system")));
        }
        if !may_start(actor, &def) {
            return Err(AppError::Forbidden(t("您无权发起该流程", "you may not start this workflow")));
        }
        let enterprise_id = match (def.starts(), enterprise_id, actor.enterprise_id.as_deref()) {
            (Starter::Enterprise, Some(e), Some(own)) if e != own => {
                return Err(AppError::Forbidden(t("只能为本企业申请", "you may apply only for your own enterprise")));
            }
            (Starter::Enterprise, _, Some(own)) => own.to_string(),
            (_, Some(e), _) => e.to_string(),
            _ => {
                return Err(AppError::Unprocessable {
                    title: t("缺少企业", "enterprise missing"),
                    errors: vec![FieldError {
                        field: "enterprise_id".into(),
                        message: t("请指定企业", "enterprise_id is required"),
                    }],
                });
            }
        };
        let ent = self.find_enterprise(&self.db, &enterprise_id).await.map_err(|_| AppError::Unprocessable {
            title: t("企业不存在", "unknown enterprise"),
            errors: vec![FieldError {
                field: "enterprise_id".into(), message: t("企业不存在", "no such enterprise")
            }],
        })?;
        if let Starter::Role(r) = def.starts() {
            let covers = actor.roles.iter().any(|(role, j)| {
                *role == r
                    && (!r.needs_jurisdiction()
                        || [Scope::District, Scope::City, Scope::Province]
                            .iter()
                            .any(|s| s.covers(j.as_deref(), &ent.district)))
            });
            if !covers {
                return Err(AppError::Forbidden(t(
                    "该企业不在您的辖区内",
                    "the enterprise is outside your jurisdiction",
                )));
            }
        }
        let now = self.now();
        let mut world = load_world(&self.db, &ent.id, now, &def).await?;
        let txn = self.db.begin().await?;
        let app = self.create_in_txn(&txn, &def, &ent, data, Caller::User(actor), None, &mut world, now, 0).await?;
        txn.commit().await?;
        self.view(Caller::User(actor), &app).await
    }

    /// Starts a system-started workflow for an enterprise outside any effect (seeding data that
    /// an effect would have started, e.g. for a demonstration). Returns the application's id.
    pub async fn start_as_system(
        &self,
        workflow: &str,
        enterprise_id: &str,
        data: Map<String, Value>,
    ) -> Result<String, AppError> {
        let def = self.defs.catalogue.latest(workflow).cloned().ok_or(AppError::NotFound)?;
        let ent = self.find_enterprise(&self.db, enterprise_id).await?;
        let now = self.now();
        let mut world = load_world(&self.db, &ent.id, now, &def).await?;
        let txn = self.db.begin().await?;
        let app = self.create_in_txn(&txn, &def, &ent, data, Caller::System, None, &mut world, now, 0).await?;
        txn.commit().await?;
        Ok(app.id)
    }

    /// `PATCH /api/applications/{id}`: merges data into the form in an editable state.
    pub async fn update_application(
        &self,
        actor: &Actor,
        id: &str,
        patch: Map<String, Value>,
        if_match: Option<i32>,
    ) -> Result<ApplicationView, AppError> {
        let app = self.visible_app(actor, id).await?;
        let def = self.def_of(&app)?;
        let state = def.state(&app.state).ok_or(AppError::NotFound)?;
        if !actor.belongs_to(&app.enterprise_id) {
            return Err(AppError::Forbidden(t(
                "只有申请企业可以修改申请",
                "only the applicant may edit the application",
            )));
        }
        if !state.editable.any() {
            return Err(not_editable());
        }
        if if_match.is_some_and(|v| v != app.version) {
            return Err(stale());
        }
        let patch = def.form().normalise(&patch).map_err(|errors| AppError::Unprocessable {
            title: t("表单数据无效", "the form data are not valid"),
            errors,
        })?;
        let mut data: Map<String, Value> = serde_json::from_str(&app.data).unwrap_or_default();
        let opened = opened_with(&self.history_head(&app.id).await?);
        let writer = Writer { editable: &state.editable, action_fields: &[], locked: &opened };
        let patch = permitted_patch(&def, writer, &data, patch)?;
        self.check_attachments(&app, &def, &patch).await?;
        let now = self.now();
        let ent = self.find_enterprise(&self.db, &app.enterprise_id).await?;
        let world = load_world(&self.db, &ent.id, now, &def).await?;
        data.extend(patch.clone());
        let mut new = app.clone();
        let score = self.compute_score(&def, &data, &ent, &world, Caller::User(actor), Some(&app), now);
        new.data = Value::Object(data).to_string();
        new.score = score.as_ref().and_then(|s| serde_json::to_string(s).ok());
        let txn = self.db.begin().await?;
        let patch_value = Value::Object(patch);
        self.commit_change(
            &txn,
            Some(app.version),
            &mut new,
            Entry { seq: None, action: "save", from: Some(&app.state), comment: None, data: Some(&patch_value) },
            Caller::User(actor),
            now,
        )
        .await?;
        txn.commit().await?;
        self.view(Caller::User(actor), &new).await
    }

    /// Checks that file fields name attachments of this application.
    async fn check_attachments(
        &self,
        app: &application::Model,
        def: &WorkflowDefinition,
        patch: &Map<String, Value>,
    ) -> Result<(), AppError> {
        for (k, v) in patch {
            let is_file =
                def.form().field(k).is_some_and(|f| matches!(f.kind, crate::domain::form::FieldKind::File { .. }));
            let Some(att_id) = v.as_str().filter(|_| is_file) else { continue };
            let ok = attachment::Entity::find_by_id(att_id)
                .one(&self.db)
                .await?
                .is_some_and(|a| a.application_id == app.id && a.field == *k);
            if !ok {
                return Err(AppError::Unprocessable {
                    title: t("附件无效", "invalid attachment"),
                    errors: vec![FieldError {
                        field: k.clone(),
                        message: t("附件不属于本申请", "the attachment does not belong to this application"),
                    }],
                });
            }
        }
        Ok(())
    }

    /// The actions `caller` may take on `app` now, with the dynamic rules applied.
    pub(super) fn available<'d>(
        &self,
        caller: Caller<'_>,
        def: &'d WorkflowDefinition,
        app: &application::Model,
        hist: &[history::Model],
        votes: &[vote::Model],
    ) -> Vec<&'d Action> {
        let facts = AppFacts { enterprise_id: &app.enterprise_id, district: &app.district };
        let cast: Vec<CastVote<'_>> = votes
            .iter()
            .filter(|v| v.visit == app.visit)
            .map(|v| CastVote { actor_id: &v.actor_id, action: &v.action })
            .collect();
        decision::available(def, &app.state, facts, &past_of(hist), &cast, caller)
    }

    pub(super) async fn history_of(
        &self,
        conn: &impl ConnectionTrait,
        app_id: &str,
    ) -> Result<Vec<history::Model>, AppError> {
        Ok(history::Entity::find()
            .filter(history::Column::ApplicationId.eq(app_id))
            .order_by_asc(history::Column::Seq)
            .all(conn)
            .await?)
    }

    /// The first history entry of an application (its `create`), as a one-entry history.
    pub(super) async fn history_head(&self, app_id: &str) -> Result<Vec<history::Model>, AppError> {
        Ok(history::Entity::find()
            .filter(history::Column::ApplicationId.eq(app_id))
            .filter(history::Column::Seq.eq(1))
            .all(&self.db)
            .await?)
    }

    pub(super) async fn votes_of(
        &self,
        conn: &impl ConnectionTrait,
        app: &application::Model,
    ) -> Result<Vec<vote::Model>, AppError> {
        Ok(vote::Entity::find()
            .filter(vote::Column::ApplicationId.eq(&app.id))
            .filter(vote::Column::Visit.eq(app.visit))
            .all(conn)
            .await?)
    }

    /// `POST /api/applications/{id}/actions/{action}` for a user, or a timeout for the system.
    pub async fn take_action(
        &self,
        caller: Caller<'_>,
        id: &str,
        action_name: &str,
        req: ActionRequest,
        if_match: Option<i32>,
    ) -> Result<ApplicationView, AppError> {
        self.act(caller, id, action_name, req, if_match, None).await
    }

    /// Takes an action; under an idempotency key the response is stored in the same commit.
    ///
    /// Panel votes without `If-Match` are retried when another vote landed in between: voters
    /// do not race each other, they only add up.
    async fn act(
        &self,
        caller: Caller<'_>,
        id: &str,
        action_name: &str,
        req: ActionRequest,
        if_match: Option<i32>,
        idem: Option<&Idempotent<'_>>,
    ) -> Result<ApplicationView, AppError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.take_action_once_attempt(caller, id, action_name, req.clone(), if_match, idem).await {
                Err(AppError::Conflict(m)) if if_match.is_none() && attempt < 4 => {
                    let app = self.find_app(&self.db, id).await?;
                    let is_vote = self
                        .def_of(&app)
                        .ok()
                        .and_then(|d| {
                            d.state(&app.state).and_then(|s| s.actions.get(action_name)).map(|a| a.quorum.is_some())
                        })
                        .unwrap_or(false);
                    if !is_vote {
                        return Err(AppError::Conflict(m));
                    }
                }
                other => return other,
            }
        }
    }

    /// The view of a change, stored under the request's idempotency key in the change's own
    /// transaction.
    async fn respond(
        &self,
        txn: &DatabaseTransaction,
        idem: Option<&Idempotent<'_>>,
        view: &ApplicationView,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), AppError> {
        let Some(k) = idem else { return Ok(()) };
        let body = serde_json::to_string(view).map_err(|e| AppError::Internal(e.into()))?;
        idempotency::store(txn, k.user, k.key, k.request_hash, &body, now, now - self.idempotency_ttl).await.map_err(
            |e| {
                if crate::storage::is_unique_violation(&e) {
                    AppError::Conflict(t("相同请求正在处理中", "the same request is still being processed"))
                } else {
                    e.into()
                }
            },
        )
    }

    /// One try of an action: load what the decision needs, decide (pure), write the decision
    /// and what entering its state brings in one transaction.
    async fn take_action_once_attempt(
        &self,
        caller: Caller<'_>,
        id: &str,
        action_name: &str,
        req: ActionRequest,
        if_match: Option<i32>,
        idem: Option<&Idempotent<'_>>,
    ) -> Result<ApplicationView, AppError> {
        // Load.
        let app = match caller {
            // Staff learn that they may not act (403); an enterprise's users never learn that
            // another enterprise's application exists (404).
            Caller::User(actor) if !actor.has_role(crate::domain::role::Role::Enterprise) => {
                let app = self.find_app(&self.db, id).await?;
                if !actor.may_see(AppFacts { enterprise_id: &app.enterprise_id, district: &app.district }) {
                    return Err(AppError::Forbidden(t(
                        "该申请不在您的辖区内",
                        "the application is outside your jurisdiction",
                    )));
                }
                app
            }
            Caller::User(actor) => self.visible_app(actor, id).await?,
            Caller::System => self.find_app(&self.db, id).await?,
        };
        let def = self.def_of(&app)?;
        let hist = self.history_of(&self.db, &app.id).await?;
        let votes = self.votes_of(&self.db, &app).await?;
        let ent = self.find_enterprise(&self.db, &app.enterprise_id).await?;
        let now = self.now();
        let mut world = load_world(&self.db, &ent.id, now, &def).await?;
        let attachments = match &req.data {
            Some(d) if d.keys().any(|k| def.form().field(k).is_some_and(|f| f.kind.name() == "file")) => {
                self.attachment_fields(&app.id).await?
            }
            _ => Vec::new(),
        };

        // Decide.
        let rules_app = rules_application(&app);
        let past = past_of(&hist);
        let cast = cast_of(&votes);
        let opened = opened_with(&hist);
        let enterprise = self.enterprise_json(&ent);
        let snap = Snapshot {
            def: &def,
            app: &rules_app,
            past: &past,
            opened_with: &opened,
            votes: &cast,
            enterprise: &enterprise,
            world: &world,
            attachments: &attachments,
            caller,
            now,
        };
        let request = Request { action: action_name.to_string(), comment: req.comment, data: req.data, if_match };
        let decision = decision::decide(&self.expr, &snap, &request)?;

        // Write.
        let mut new = app.clone();
        new.data = Value::Object(decision.data.clone()).to_string();
        if let Some(s) = &decision.score {
            new.score = serde_json::to_string(s).ok();
        }
        let entry_data = decision.entry_data();
        let comment = decision.comment.as_deref();
        let action = def.state(&app.state).and_then(|s| s.actions.get(action_name)).ok_or(AppError::NotFound)?;
        let txn = self.db.begin().await?;
        if let (true, Caller::User(actor)) = (decision.vote, caller) {
            self.record_vote(&txn, &app, &action.name, &actor.id, now).await?;
        }
        // The history's sequence follows the row's version: every change writes one of each.
        let seq = Some(app.version + 1);
        let to = match &decision.outcome {
            Outcome::Vote { .. } => {
                let entry = self
                    .commit_change(
                        &txn,
                        Some(app.version),
                        &mut new,
                        Entry { seq, action: &action.name, from: Some(&app.state), comment, data: entry_data.as_ref() },
                        caller,
                        now,
                    )
                    .await?;
                let mut hist = hist;
                hist.push(entry);
                let votes = self.votes_of(&txn, &new).await?;
                let view = self.view_loaded(&txn, caller, &new, &def, &ent, hist, votes).await?;
                self.respond(&txn, idem, &view, now).await?;
                txn.commit().await?;
                return Ok(view);
            }
            Outcome::Transition { to } => to.clone(),
        };
        let new_ctx = self
            .scope(&def, &decision.data, decision.score_value.clone(), &ent, caller, Some(&new), now)
            .to_value(&world);
        let resumed = self.resumed_due(&txn, &def, &app, &to, now).await?;
        self.prepare_enter(&def, &mut new, &to, &new_ctx, resumed, now)?;
        let entry = self
            .commit_change(
                &txn,
                Some(app.version),
                &mut new,
                Entry { seq, action: &action.name, from: Some(&app.state), comment, data: entry_data.as_ref() },
                caller,
                now,
            )
            .await?;
        self.enter_timers(&txn, &def, &new, Some(&app.state), now).await?;
        self.after_enter(&txn, &def, &new, &ent, &mut world, caller, now, 0).await?;
        for n in &action.notify {
            self.queue_mail(&txn, &def, &new, &ent, &n.to, &n.template, caller, Some((&action.name, comment)), now)
                .await?;
        }
        let mut hist = hist;
        hist.push(entry);
        // A transition starts a new visit: no votes yet.
        let view = self.view_loaded(&txn, caller, &new, &def, &ent, hist, Vec::new()).await?;
        self.respond(&txn, idem, &view, now).await?;
        txn.commit().await?;
        Ok(view)
    }

    /// Records `actor`'s vote in the application's current visit (once: UNIQUE).
    async fn record_vote(
        &self,
        txn: &DatabaseTransaction,
        app: &application::Model,
        action: &str,
        actor: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), AppError> {
        vote::Entity::insert(vote::ActiveModel {
            id: NotSet,
            application_id: Set(app.id.clone()),
            visit: Set(app.visit),
            action: Set(action.to_string()),
            actor_id: Set(actor.to_string()),
            at: Set(now),
        })
        .exec(txn)
        .await
        .map_err(|e| {
            if crate::storage::is_unique_violation(&e) {
                AppError::Conflict(t("您已在本环节投票", "you have already voted in this state"))
            } else {
                e.into()
            }
        })?;
        Ok(())
    }

    /// The application's attachments as (id, field).
    async fn attachment_fields(&self, app_id: &str) -> Result<Vec<(String, String)>, AppError> {
        Ok(attachment::Entity::find()
            .filter(attachment::Column::ApplicationId.eq(app_id))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|a| (a.id, a.field))
            .collect())
    }

    /// `GET /api/applications/{id}`.
    pub async fn view_application(&self, actor: &Actor, id: &str) -> Result<ApplicationView, AppError> {
        let app = self.visible_app(actor, id).await?;
        self.view(Caller::User(actor), &app).await
    }

    pub(super) fn summary(&self, app: &application::Model) -> ApplicationSummary {
        let def = self.def_of(app).ok();
        ApplicationSummary {
            id: app.id.clone(),
            number: app.number.clone(),
            workflow: app.workflow.clone(),
            workflow_version: app.workflow_version,
            workflow_title: def.as_ref().map(|d| d.title().clone()),
            enterprise_id: app.enterprise_id.clone(),
            district: app.district.clone(),
            state: app.state.clone(),
            state_title: def.as_ref().and_then(|d| d.state(&app.state)).and_then(|s| s.title.clone()),
            is_final: app.is_final,
            version: app.version,
            due_at: app.due_at,
            created_at: app.created_at,
            updated_at: app.updated_at,
        }
    }

    /// Builds the full view for a caller.
    pub(super) async fn view(&self, caller: Caller<'_>, app: &application::Model) -> Result<ApplicationView, AppError> {
        let def = self.def_of(app)?;
        let ent = self.find_enterprise(&self.db, &app.enterprise_id).await?;
        let hist = self.history_of(&self.db, &app.id).await?;
        let votes = self.votes_of(&self.db, app).await?;
        self.view_loaded(&self.db, caller, app, &def, &ent, hist, votes).await
    }

    /// Builds the view from parts the caller already holds, reading the rest on `conn` (inside
    /// a change's transaction, so that it shows what the change wrote).
    #[allow(
        clippy::too_many_arguments,
        reason = "the use case's inputs are distinct values; a struct would only rename them"
    )]
    async fn view_loaded(
        &self,
        conn: &impl ConnectionTrait,
        caller: Caller<'_>,
        app: &application::Model,
        def: &WorkflowDefinition,
        ent: &enterprise::Model,
        hist: Vec<history::Model>,
        votes: Vec<vote::Model>,
    ) -> Result<ApplicationView, AppError> {
        let actions: Vec<ActionView> =
            self.available(caller, def, app, &hist, &votes).into_iter().map(|a| action_view(def, a)).collect();
        let state = def.state(&app.state);
        let votes_view = state.and_then(|s| {
            let q = s.actions.values().filter_map(|a| a.quorum).max()?;
            let mut m = Map::new();
            for a in s.actions.values().filter(|a| a.quorum.is_some()) {
                m.insert(a.name.clone(), json!(votes.iter().filter(|v| v.action == a.name).count()));
            }
            m.insert("quorum".into(), json!(q));
            Some(Value::Object(m))
        });
        let attachments = attachment::Entity::find()
            .filter(attachment::Column::ApplicationId.eq(&app.id))
            .order_by_asc(attachment::Column::CreatedAt)
            .all(conn)
            .await?
            .into_iter()
            .map(|a| AttachmentView {
                id: a.id,
                field: a.field,
                filename: a.filename,
                content_type: a.content_type,
                size: a.size,
                sha256: a.sha256,
                created_at: a.created_at,
            })
            .collect();
        let link = |a: application::Model| LinkedApplication {
            id: a.id,
            number: a.number,
            workflow: a.workflow,
            state: a.state,
            is_final: a.is_final,
        };
        let children = application::Entity::find()
            .filter(application::Column::ParentId.eq(&app.id))
            .order_by_asc(application::Column::CreatedAt)
            .all(conn)
            .await?
            .into_iter()
            .map(link)
            .collect();
        let parent = match &app.parent_id {
            Some(p) => application::Entity::find_by_id(p).one(conn).await?.map(link),
            None => None,
        };
        let editable = match caller {
            Caller::User(a) => a.belongs_to(&app.enterprise_id) && state.is_some_and(|s| s.editable.any()),
            Caller::System => false,
        };
        let editable_fields: Vec<String> = match state.filter(|_| editable) {
            Some(s) => {
                let opened = opened_with(&hist);
                let writer = Writer { editable: &s.editable, action_fields: &[], locked: &opened };
                def.form().fields.iter().filter(|f| writer.may_write(&f.key)).map(|f| f.key.clone()).collect()
            }
            None => Vec::new(),
        };
        Ok(ApplicationView {
            id: app.id.clone(),
            number: app.number.clone(),
            workflow: app.workflow.clone(),
            workflow_version: app.workflow_version,
            workflow_title: def.title().clone(),
            enterprise: EnterpriseRef {
                id: ent.id.clone(),
                name: ent.name.clone(),
                uscc: ent.uscc.clone(),
                district: ent.district.clone(),
            },
            state: app.state.clone(),
            state_title: state.and_then(|s| s.title.clone()),
            is_final: app.is_final,
            version: app.version,
            editable,
            editable_fields,
            data: serde_json::from_str(&app.data).unwrap_or(json!({})),
            score: app.score.as_deref().and_then(|s| serde_json::from_str(s).ok()),
            actions,
            votes: votes_view,
            due_at: app.due_at,
            due_estimated: self.due_estimated(def, app),
            history: hist
                .into_iter()
                .map(|h| HistoryView {
                    seq: h.seq,
                    action: h.action,
                    from: h.from_state,
                    to: h.to_state,
                    actor: Some(ActorRef { id: h.actor_id, name: h.actor_name }),
                    comment: h.comment,
                    data: h.data.and_then(|d| serde_json::from_str(&d).ok()),
                    at: h.at,
                })
                .collect(),
            attachments,
            children,
            parent,
            created_at: app.created_at,
            updated_at: app.updated_at,
        })
    }

    /// Whether the deadline counts working days on dates the calendar data does not cover.
    fn due_estimated(&self, def: &WorkflowDefinition, app: &application::Model) -> bool {
        use crate::domain::definition::DurationSpec;
        let Some(due) = app.due_at else { return false };
        let counts_working_days =
            def.state(&app.state).and_then(|s| s.timeout.as_ref()).is_some_and(|t| match &t.after {
                DurationSpec::Fixed(span) => span.working_days > 0,
                DurationSpec::WorkingDays(_) => true,
                DurationSpec::Days(_) => false,
            });
        let cst = crate::domain::calendar::china_offset();
        let cal = &self.defs.calendar;
        counts_working_days
            && !(cal.covers(app.state_entered_at.with_timezone(&cst).date_naive())
                && cal.covers(due.with_timezone(&cst).date_naive()))
    }

    pub(super) fn visibility(actor: &Actor) -> Option<Condition> {
        if actor.sees_everything() {
            return None;
        }
        let mut cond = Condition::any();
        let districts = actor.staff_districts();
        if !districts.is_empty() {
            cond = cond.add(application::Column::District.is_in(districts));
        }
        cond = cond.add(
            application::Column::EnterpriseId.eq(actor
                .enterprise_id
                .clone()
                .filter(|_| actor.has_role(crate::domain::role::Role::Enterprise))
                .unwrap_or_default()),
        );
        Some(cond)
    }

    /// The applications the caller may see, counted by workflow, version and state (one query).
    pub async fn application_counts(&self, actor: &Actor) -> Result<Vec<StateCount>, AppError> {
        use sea_orm::QuerySelect;
        let mut q = application::Entity::find()
            .select_only()
            .column(application::Column::Workflow)
            .column(application::Column::WorkflowVersion)
            .column(application::Column::State)
            .column_as(application::Column::Id.count(), "count");
        if let Some(c) = Self::visibility(actor) {
            q = q.filter(c);
        }
        Ok(q.group_by(application::Column::Workflow)
            .group_by(application::Column::WorkflowVersion)
            .group_by(application::Column::State)
            .into_model::<StateCount>()
            .all(&self.db)
            .await?)
    }

    /// `GET /api/applications`: what the caller may see, filtered and paged.
    pub async fn list_applications(&self, actor: &Actor, f: ListFilter) -> Result<Page<ApplicationSummary>, AppError> {
        let per_page = f.per_page.unwrap_or(20).clamp(1, 100);
        let page = f.page.unwrap_or(1).max(1);
        let mut q = application::Entity::find();
        if let Some(c) = Self::visibility(actor) {
            q = q.filter(c);
        }
        if let Some(w) = &f.workflow {
            q = q.filter(application::Column::Workflow.eq(w));
        }
        if let Some(s) = &f.state {
            q = q.filter(application::Column::State.eq(s));
        }
        if let Some(e) = &f.enterprise_id {
            q = q.filter(application::Column::EnterpriseId.eq(e));
        }
        if !f.exclude_workflows.is_empty() {
            q = q.filter(application::Column::Workflow.is_not_in(f.exclude_workflows));
        }
        let paginator = q
            .order_by_desc(application::Column::CreatedAt)
            .order_by_asc(application::Column::Id)
            .paginate(&self.db, per_page);
        let total = paginator.num_items().await?;
        let items = paginator.fetch_page(page - 1).await?.iter().map(|a| self.summary(a)).collect();
        Ok(Page { items, total, page, per_page })
    }

    /// `GET /api/tasks`: every application where the caller may act now, oldest deadline first.
    pub async fn tasks(&self, actor: &Actor) -> Result<Vec<TaskItem>, AppError> {
        let mut states = Condition::any();
        let mut any = false;
        for def in self.defs.catalogue.all() {
            for st in def.states() {
                let could = st.actions.values().any(|a| match a.by {
                    By::System => false,
                    By::Applicant => actor.enterprise_id.is_some(),
                    By::Assignee => st.assignee.as_ref().is_some_and(|s| actor.has_role(s.role)),
                    By::Role(r) => actor.has_role(r),
                });
                if could {
                    any = true;
                    states = states.add(
                        Condition::all()
                            .add(application::Column::Workflow.eq(def.key()))
                            .add(application::Column::WorkflowVersion.eq(i32::try_from(def.version()).unwrap_or(0)))
                            .add(application::Column::State.eq(st.name.clone())),
                    );
                }
            }
        }
        if !any {
            return Ok(Vec::new());
        }
        let mut q = application::Entity::find().filter(application::Column::IsFinal.eq(false)).filter(states);
        if let Some(c) = Self::visibility(actor) {
            q = q.filter(c);
        }
        let apps = q.order_by_asc(application::Column::CreatedAt).all(&self.db).await?;
        // Three queries for the whole inbox, not three per application.
        let ids: Vec<String> = apps.iter().map(|a| a.id.clone()).collect();
        let mut hist_of: HashMap<String, Vec<history::Model>> = HashMap::new();
        for h in history::Entity::find()
            .filter(history::Column::ApplicationId.is_in(ids.clone()))
            .order_by_asc(history::Column::Seq)
            .all(&self.db)
            .await?
        {
            hist_of.entry(h.application_id.clone()).or_default().push(h);
        }
        let mut votes_of: HashMap<String, Vec<vote::Model>> = HashMap::new();
        for v in vote::Entity::find().filter(vote::Column::ApplicationId.is_in(ids)).all(&self.db).await? {
            votes_of.entry(v.application_id.clone()).or_default().push(v);
        }
        let names = self.enterprise_names(apps.iter().map(|a| a.enterprise_id.clone()).collect()).await?;
        let now = self.now();
        let mut items = Vec::new();
        for app in apps {
            let Ok(def) = self.def_of(&app) else { continue };
            let hist = hist_of.remove(&app.id).unwrap_or_default();
            let votes: Vec<vote::Model> =
                votes_of.remove(&app.id).unwrap_or_default().into_iter().filter(|v| v.visit == app.visit).collect();
            let actions: Vec<ActionView> = self
                .available(Caller::User(actor), &def, &app, &hist, &votes)
                .into_iter()
                .map(|a| action_view(&def, a))
                .collect();
            if actions.is_empty() {
                continue;
            }
            let ent_name = names.get(&app.enterprise_id).cloned().unwrap_or_default();
            items.push(TaskItem {
                overdue: app.due_at.is_some_and(|d| d < now),
                application: self.summary(&app),
                enterprise_name: ent_name,
                actions,
            });
        }
        items.sort_by_key(|i| (i.application.due_at.is_none(), i.application.due_at, i.application.created_at));
        Ok(items)
    }

    /// Runs an action under an `Idempotency-Key`: a repeat with the same key and body returns the
    /// first response and changes nothing; the same key with another body is refused (422). The
    /// key and its response are written in the action's own commit, so a request cut off at any
    /// moment leaves either both or neither; keys expire after `idempotency_ttl`.
    #[allow(
        clippy::too_many_arguments,
        reason = "the use case's inputs are distinct values; a struct would only rename them"
    )]
    pub async fn take_action_once(
        &self,
        actor: &Actor,
        id: &str,
        action: &str,
        req: ActionRequest,
        if_match: Option<i32>,
        key: &str,
        request_hash: &str,
    ) -> Result<Value, AppError> {
        let fresh_since = self.now() - self.idempotency_ttl;
        let replay = |stored: idempotency::Stored| -> Result<Value, AppError> {
            if stored.request_hash != request_hash {
                return Err(AppError::Unprocessable {
                    title: t("幂等键已用于另一请求", "the Idempotency-Key was used for another request"),
                    errors: vec![FieldError {
                        field: "Idempotency-Key".into(),
                        message: t("请为不同请求使用不同的键", "use a new key for a different request"),
                    }],
                });
            }
            serde_json::from_str(&stored.body).map_err(|e| AppError::Internal(e.into()))
        };
        if let Some(stored) = idempotency::find(&self.db, &actor.id, key, fresh_since).await? {
            return replay(stored);
        }
        let idem = Idempotent { user: &actor.id, key, request_hash };
        match self.act(Caller::User(actor), id, action, req, if_match, Some(&idem)).await {
            Ok(view) => serde_json::to_value(&view).map_err(|e| AppError::Internal(e.into())),
            // Another request with the key may have committed first (the refusal is then
            // about the change it made): answer as it was answered.
            Err(e) => match idempotency::find(&self.db, &actor.id, key, fresh_since).await? {
                Some(stored) => replay(stored),
                None => Err(e),
            },
        }
    }

    /// Forgets the idempotency keys older than `idempotency_ttl` (the scheduler calls it).
    pub async fn purge_idempotency_keys(&self) -> Result<u64, AppError> {
        Ok(idempotency::purge(&self.db, self.now() - self.idempotency_ttl).await?)
    }
}

/// A request made under an idempotency key, scoped to the caller.
pub(super) struct Idempotent<'a> {
    pub user: &'a str,
    pub key: &'a str,
    pub request_hash: &'a str,
}
