//! The enterprises a staff member may see, and the work queue of a category of workflows with
//! what each item is about (the award and the amount of a reward).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Condition, Expr, Func};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::Serialize;
use serde_json::{Map, Value, json};

use super::Engine;
use super::applications::TaskItem;
use super::view::{ApplicationSummary, Page};
use crate::domain::access::Actor;
use crate::domain::definition::{Effect, WorkflowDefinition};
use crate::domain::form::FieldKind;
use crate::domain::role::Role;
use crate::error::{AppError, t};
use crate::storage::entities::{application, enterprise};

/// Which enterprises to list.
#[derive(Debug, Clone, Default)]
pub struct EnterpriseFilter {
    /// Part of the name or of the USCC.
    pub text: Option<String>,
    pub district: Option<String>,
    /// Only the districts where the actor holds this role (the role a workflow is started by).
    pub role: Option<Role>,
    pub page: u64,
    pub per_page: u64,
}

/// A line of the enterprise list.
#[derive(Debug, Clone, Serialize)]
pub struct EnterpriseLine {
    pub id: String,
    pub name: String,
    pub uscc: String,
    pub district: String,
    /// The applications of the enterprise the viewer may see.
    pub applications: i64,
}

/// A line of a work queue: the inbox line, the application's data, when it entered its state,
/// and what it is about.
#[derive(Debug, Clone, Serialize)]
pub struct QueueItem {
    #[serde(flatten)]
    pub task: TaskItem,
    pub data: Value,
    pub waiting_since: DateTime<Utc>,
    /// What the application's `claim` effect claims (the award), as a label where it is a choice.
    pub award: Value,
    /// The amount the application's `reserve` effect reserves, in yuan (exact decimal text).
    pub amount: Option<String>,
}

/// An application of a list with its enterprise's name.
#[derive(Debug, Clone, Serialize)]
pub struct CaseLine {
    pub application: ApplicationSummary,
    pub enterprise_name: String,
}

impl Engine {
    /// The enterprises `actor` may see: administrators, auditors, finance and city- or
    /// province-level staff all of them, district staff those of their districts; enterprise
    /// users are refused (they have their own enterprise's page).
    pub async fn enterprises(&self, actor: &Actor, f: EnterpriseFilter) -> Result<Page<EnterpriseLine>, AppError> {
        if actor.roles.iter().all(|(r, _)| *r == Role::Enterprise) {
            return Err(AppError::Forbidden(t("仅工作人员可查看企业名录", "only staff may list enterprises")));
        }
        let mut q = enterprise::Entity::find();
        if let Some(c) = Self::districts_of(actor, f.role) {
            q = q.filter(c);
        }
        if let Some(text) = f.text.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            q = q.filter(
                Condition::any()
                    .add(enterprise::Column::Name.contains(text))
                    .add(enterprise::Column::Uscc.contains(text.to_uppercase())),
            );
        }
        if let Some(d) = f.district.as_deref().filter(|d| !d.is_empty()) {
            q = q.filter(enterprise::Column::District.eq(d));
        }
        let per_page = f.per_page.clamp(1, 100);
        let page = f.page.max(1);
        let paginator =
            q.order_by_asc(enterprise::Column::Name).order_by_asc(enterprise::Column::Id).paginate(&self.db, per_page);
        let total = paginator.num_items().await?;
        let rows = paginator.fetch_page(page - 1).await?;
        let ids: Vec<String> = rows.iter().map(|e| e.id.clone()).collect();
        let mut counts = application::Entity::find()
            .select_only()
            .column(application::Column::EnterpriseId)
            .column_as(Expr::from(Func::count(Expr::col(application::Column::Id))), "n")
            .filter(application::Column::EnterpriseId.is_in(ids));
        if let Some(c) = Self::visibility(actor) {
            counts = counts.filter(c);
        }
        let counts: HashMap<String, i64> = counts
            .group_by(application::Column::EnterpriseId)
            .into_tuple::<(String, i64)>()
            .all(&self.db)
            .await?
            .into_iter()
            .collect();
        let items = rows
            .into_iter()
            .map(|e| EnterpriseLine {
                applications: counts.get(&e.id).copied().unwrap_or(0),
                id: e.id,
                name: e.name,
                uscc: e.uscc,
                district: e.district,
            })
            .collect();
        Ok(Page { items, total, page, per_page })
    }

    /// The districts condition for an actor's enterprise list (`None`: all of them).
    fn districts_of(actor: &Actor, role: Option<Role>) -> Option<Condition> {
        let held: Vec<&(Role, Option<String>)> =
            actor.roles.iter().filter(|(r, _)| role.is_none_or(|x| x == *r)).collect();
        let everywhere = match role {
            None => actor.sees_everything(),
            Some(r) => {
                held.iter().any(|(_, j)| !r.needs_jurisdiction() || matches!(j.as_deref(), Some("city" | "province")))
            }
        };
        if everywhere {
            return None;
        }
        let districts: Vec<String> =
            held.iter().filter(|(r, _)| r.needs_jurisdiction()).filter_map(|(_, j)| j.clone()).collect();
        Some(Condition::all().add(enterprise::Column::District.is_in(districts)))
    }

    /// The caller's inbox restricted to the workflows that pay out of a budget, with each
    /// application's data, the time it entered its state, and the award and amount its effects name.
    pub async fn disbursement_queue(&self, actor: &Actor) -> Result<Vec<QueueItem>, AppError> {
        let tasks: Vec<TaskItem> = self
            .tasks(actor)
            .await?
            .into_iter()
            .filter(|i| {
                self.def_of_summary(&i.application.workflow, i.application.workflow_version)
                    .is_some_and(|d| d.disburses())
            })
            .collect();
        let ids: Vec<String> = tasks.iter().map(|i| i.application.id.clone()).collect();
        let apps: HashMap<String, application::Model> = application::Entity::find()
            .filter(application::Column::Id.is_in(ids))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|a| (a.id.clone(), a))
            .collect();
        let mut out = Vec::new();
        for task in tasks {
            let Some(app) = apps.get(&task.application.id) else { continue };
            let Some(def) = self.def_of_summary(&app.workflow, app.workflow_version) else { continue };
            let data: Map<String, Value> = serde_json::from_str(&app.data).unwrap_or_default();
            let (award, amount) = self.award_and_amount(def, &data);
            out.push(QueueItem { task, data: Value::Object(data), waiting_since: app.state_entered_at, award, amount });
        }
        Ok(out)
    }

    /// The keys of the workflows of `category` (as their newest versions name it).
    pub fn workflows_in_category(&self, category: &str) -> Vec<String> {
        self.defs.catalogue.latest_all().filter(|d| d.category() == category).map(|d| d.key().to_string()).collect()
    }

    /// The applications of workflows of `category` that `actor` may see (newest first, at most
    /// `limit`), each with its enterprise's name.
    pub async fn in_category(&self, actor: &Actor, category: &str, limit: u64) -> Result<Vec<CaseLine>, AppError> {
        let keys = self.workflows_in_category(category);
        let mut q = application::Entity::find().filter(application::Column::Workflow.is_in(keys));
        if let Some(c) = Self::visibility(actor) {
            q = q.filter(c);
        }
        let apps = q
            .order_by_desc(application::Column::CreatedAt)
            .order_by_asc(application::Column::Id)
            .limit(limit)
            .all(&self.db)
            .await?;
        let names = self.enterprise_names(apps.iter().map(|a| a.enterprise_id.clone()).collect()).await?;
        Ok(apps
            .iter()
            .map(|a| CaseLine {
                application: self.summary(a),
                enterprise_name: names.get(&a.enterprise_id).cloned().unwrap_or_default(),
            })
            .collect())
    }

    /// The names of the enterprises `ids`, by id, in one query.
    pub(super) async fn enterprise_names(&self, ids: Vec<String>) -> Result<HashMap<String, String>, AppError> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let found = enterprise::Entity::find().filter(enterprise::Column::Id.is_in(ids)).all(&self.db).await?;
        Ok(found.into_iter().map(|e| (e.id, e.name)).collect())
    }

    /// The definition an application summary was started under (`None` if it is not loaded).
    pub fn def_of_summary(&self, workflow: &str, version: i32) -> Option<&WorkflowDefinition> {
        self.defs.catalogue.get(workflow, u32::try_from(version).unwrap_or(0)).map(AsRef::as_ref)
    }

    /// The award of the definition's first `claim` effect and the amount of its first `reserve`.
    fn award_and_amount(&self, def: &WorkflowDefinition, data: &Map<String, Value>) -> (Value, Option<String>) {
        let effects = || def.states().flat_map(|s| s.on_enter.iter());
        let award = effects()
            .find_map(|e| match e {
                Effect::Claim { award } => Some(self.shown(def, data, award)),
                _ => None,
            })
            .unwrap_or(Value::Null);
        let amount = effects()
            .find_map(|e| match e {
                Effect::Reserve { amount, .. } => Some(self.shown(def, data, amount)),
                _ => None,
            })
            .and_then(|v| match v {
                Value::String(s) => Some(s),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            });
        (award, amount)
    }

    /// The value of an effect's expression for an application: a form field's stored value (a
    /// choice shown by its label `{zh, en}`), or the expression evaluated over the form.
    fn shown(&self, def: &WorkflowDefinition, data: &Map<String, Value>, expr: &str) -> Value {
        if let Some(field) = expr.trim().strip_prefix("form.").and_then(|k| def.form().field(k)) {
            let v = data.get(&field.key).cloned().unwrap_or(Value::Null);
            if let (FieldKind::Choice(opts), Some(s)) = (&field.kind, v.as_str()) {
                return opts.iter().find(|o| o.value == s).map_or(v.clone(), |o| json!(o.label));
            }
            return v;
        }
        let ctx = minijinja::Value::from(minijinja::value::Serde(json!({"form": data})));
        self.expr.eval(expr, &ctx).ok().and_then(|v| serde_json::to_value(&v).ok()).unwrap_or(Value::Null)
    }
}
