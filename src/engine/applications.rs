//! Applications: create, edit, act, view, list, and the caller's inbox.

use std::sync::Arc;

use sea_orm::sea_query::Condition;
use sea_orm::{ConnectionTrait, TransactionTrait};
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
use crate::domain::decision::{self, CastVote, Past};
use crate::domain::definition::{Action, By, CommentRule, Starter, WorkflowDefinition};
use crate::domain::form::FieldError;
use crate::domain::role::Scope;
use crate::domain::writes::{self, Writer};
use crate::error::{AppError, t};
pub use crate::storage::applications::StateCount;
use crate::storage::applications::{self as store, Filter, Seen};
use crate::storage::entities::{application, enterprise, history, vote};

/// The body of an action request.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionRequest {
    pub comment: Option<String>,
    pub data: Option<Map<String, Value>>,
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

/// A history entry as the view shows it.
fn history_view(h: history::Model) -> HistoryView {
    HistoryView {
        seq: h.seq,
        action: h.action,
        from: h.from_state,
        to: h.to_state,
        actor: Some(ActorRef { id: h.actor_id, name: h.actor_name }),
        comment: h.comment,
        data: h.data.and_then(|d| serde_json::from_str(&d).ok()),
        at: h.at,
    }
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
    writes::permitted(def.form(), writer, stored, patch)
        .map_err(|errors| AppError::Unprocessable { title: writer.refusal_title(), errors })
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
        store::find(conn, id).await?.ok_or(AppError::NotFound)
    }

    pub(super) async fn find_enterprise(
        &self,
        conn: &impl ConnectionTrait,
        id: &str,
    ) -> Result<enterprise::Model, AppError> {
        store::enterprise(conn, id).await?.ok_or(AppError::NotFound)
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
            let ok =
                store::attachment(&self.db, att_id).await?.is_some_and(|a| a.application_id == app.id && a.field == *k);
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
        Ok(store::history(conn, app_id).await?)
    }

    /// The first history entry of an application (its `create`), as a one-entry history.
    pub(super) async fn history_head(&self, app_id: &str) -> Result<Vec<history::Model>, AppError> {
        Ok(store::history_head(&self.db, app_id).await?)
    }

    pub(super) async fn votes_of(
        &self,
        conn: &impl ConnectionTrait,
        app: &application::Model,
    ) -> Result<Vec<vote::Model>, AppError> {
        Ok(store::votes(conn, &app.id, app.visit).await?)
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

    /// What the view shows beside the application: its attachments, the applications it
    /// started and the one that started it, read on `conn`.
    async fn linked(
        &self,
        conn: &impl ConnectionTrait,
        app: &application::Model,
        def: &WorkflowDefinition,
    ) -> Result<(Vec<AttachmentView>, Vec<LinkedApplication>, Option<LinkedApplication>), AppError> {
        // Only a form with a file field has attachments, and only a workflow that starts others
        // has children: the other queries are not sent.
        let has_files = def.form().fields.iter().any(|f| f.kind.name() == "file");
        let attachments = if has_files { store::attachments(conn, &app.id).await? } else { Vec::new() }
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
        let children = if def.starts_others() { store::children(conn, &app.id).await? } else { Vec::new() }
            .into_iter()
            .map(link)
            .collect();
        let parent = match &app.parent_id {
            Some(p) => store::find(conn, p).await?.map(link),
            None => None,
        };
        Ok((attachments, children, parent))
    }

    /// Builds the view from parts the caller already holds, reading the rest on `conn` (inside
    /// a change's transaction, so that it shows what the change wrote).
    #[allow(
        clippy::too_many_arguments,
        reason = "the use case's inputs are distinct values; a struct would only rename them"
    )]
    pub(super) async fn view_loaded(
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
        let (attachments, children, parent) = self.linked(conn, app, def).await?;
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
            history: hist.into_iter().map(history_view).collect(),
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

    /// Which applications `actor` sees.
    pub(super) fn seen_by(actor: &Actor) -> Seen {
        if actor.sees_everything() {
            return Seen::All;
        }
        Seen::Some {
            districts: actor.staff_districts(),
            enterprise: actor.enterprise_id.clone().filter(|_| actor.has_role(crate::domain::role::Role::Enterprise)),
        }
    }

    /// The condition on applications of what `actor` sees (none: everything).
    pub(super) fn visibility(actor: &Actor) -> Option<Condition> {
        Self::seen_by(actor).condition()
    }

    /// The applications the caller may see, counted by workflow, version and state (one query).
    pub async fn application_counts(&self, actor: &Actor) -> Result<Vec<StateCount>, AppError> {
        Ok(store::counts(&self.db, &Self::seen_by(actor)).await?)
    }

    /// `GET /api/applications`: what the caller may see, filtered and paged.
    pub async fn list_applications(&self, actor: &Actor, f: ListFilter) -> Result<Page<ApplicationSummary>, AppError> {
        let per_page = f.per_page.unwrap_or(20).clamp(1, 100);
        let page = f.page.unwrap_or(1).max(1);
        let filter = Filter {
            workflow: f.workflow,
            state: f.state,
            enterprise_id: f.enterprise_id,
            exclude_workflows: f.exclude_workflows,
        };
        let (rows, total) = store::page(&self.db, &Self::seen_by(actor), &filter, page, per_page).await?;
        let items = rows.iter().map(|a| self.summary(a)).collect();
        Ok(Page { items, total, page, per_page })
    }

    /// `GET /api/tasks`: every application where the caller may act now, oldest deadline first.
    pub async fn tasks(&self, actor: &Actor) -> Result<Vec<TaskItem>, AppError> {
        let mut states = Vec::new();
        for def in self.defs.catalogue.all() {
            for st in def.states() {
                let could = st.actions.values().any(|a| match a.by {
                    By::System => false,
                    By::Applicant => actor.enterprise_id.is_some(),
                    By::Assignee => st.assignee.as_ref().is_some_and(|s| actor.has_role(s.role)),
                    By::Role(r) => actor.has_role(r),
                });
                if could {
                    states.push((def.key().to_string(), i32::try_from(def.version()).unwrap_or(0), st.name.clone()));
                }
            }
        }
        let apps = store::open_in(&self.db, &Self::seen_by(actor), &states).await?;
        // Three queries for the whole inbox, not three per application.
        let ids: Vec<String> = apps.iter().map(|a| a.id.clone()).collect();
        let mut hist_of = store::histories(&self.db, ids.clone()).await?;
        let mut votes_of = store::votes_of_all(&self.db, ids).await?;
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
}
