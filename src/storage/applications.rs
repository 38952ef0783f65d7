//! The application aggregate: the row under its optimistic version, its hash-chained history,
//! the votes of a visit, its attachments and the applications it started.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Condition;
use sea_orm::{
    ActiveModelTrait, ActiveValue::NotSet, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, IntoActiveModel,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};

use super::entities::{application, attachment, enterprise, history, vote};

/// An application.
pub async fn find(conn: &impl ConnectionTrait, id: &str) -> Result<Option<application::Model>, DbErr> {
    application::Entity::find_by_id(id).one(conn).await
}

/// An application with its enterprise, in one query.
pub async fn find_with_enterprise(
    conn: &impl ConnectionTrait,
    id: &str,
) -> Result<Option<(application::Model, enterprise::Model)>, DbErr> {
    Ok(application::Entity::find_by_id(id)
        .find_also_related(enterprise::Entity)
        .one(conn)
        .await?
        .and_then(|(a, e)| Some((a, e?))))
}

/// An enterprise.
pub async fn enterprise(conn: &impl ConnectionTrait, id: &str) -> Result<Option<enterprise::Model>, DbErr> {
    enterprise::Entity::find_by_id(id).one(conn).await
}

/// Writes `app` over the row if the row is still at `old_version`: `false` when another change
/// got there first.
pub async fn update_versioned(
    conn: &impl ConnectionTrait,
    app: &application::Model,
    old_version: i32,
) -> Result<bool, DbErr> {
    let am = app.clone().into_active_model().reset_all();
    let res = application::Entity::update_many()
        .set(am)
        .filter(application::Column::Id.eq(&app.id))
        .filter(application::Column::Version.eq(old_version))
        .exec(conn)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Inserts a new application row.
pub async fn insert(conn: &impl ConnectionTrait, app: &application::Model) -> Result<(), DbErr> {
    app.clone().into_active_model().reset_all().insert(conn).await?;
    Ok(())
}

/// Appends a history entry.
pub async fn append_history(conn: &impl ConnectionTrait, entry: history::ActiveModel) -> Result<history::Model, DbErr> {
    entry.insert(conn).await
}

/// The whole history of an application, in order.
pub async fn history(conn: &impl ConnectionTrait, app_id: &str) -> Result<Vec<history::Model>, DbErr> {
    history::Entity::find()
        .filter(history::Column::ApplicationId.eq(app_id))
        .order_by_asc(history::Column::Seq)
        .all(conn)
        .await
}

/// The first history entry (its `create`), as a one-entry history.
pub async fn history_head(conn: &impl ConnectionTrait, app_id: &str) -> Result<Vec<history::Model>, DbErr> {
    history::Entity::find()
        .filter(history::Column::ApplicationId.eq(app_id))
        .filter(history::Column::Seq.eq(1))
        .all(conn)
        .await
}

/// The histories of several applications, each in order.
pub async fn histories(
    conn: &impl ConnectionTrait,
    ids: Vec<String>,
) -> Result<HashMap<String, Vec<history::Model>>, DbErr> {
    let mut out: HashMap<String, Vec<history::Model>> = HashMap::new();
    for h in history::Entity::find()
        .filter(history::Column::ApplicationId.is_in(ids))
        .order_by_asc(history::Column::Seq)
        .all(conn)
        .await?
    {
        out.entry(h.application_id.clone()).or_default().push(h);
    }
    Ok(out)
}

/// The votes cast in a visit of an application.
pub async fn votes(conn: &impl ConnectionTrait, app_id: &str, visit: i32) -> Result<Vec<vote::Model>, DbErr> {
    vote::Entity::find()
        .filter(vote::Column::ApplicationId.eq(app_id))
        .filter(vote::Column::Visit.eq(visit))
        .all(conn)
        .await
}

/// The votes of several applications (every visit).
pub async fn votes_of_all(
    conn: &impl ConnectionTrait,
    ids: Vec<String>,
) -> Result<HashMap<String, Vec<vote::Model>>, DbErr> {
    let mut out: HashMap<String, Vec<vote::Model>> = HashMap::new();
    for v in vote::Entity::find().filter(vote::Column::ApplicationId.is_in(ids)).all(conn).await? {
        out.entry(v.application_id.clone()).or_default().push(v);
    }
    Ok(out)
}

/// Records a vote; a second vote of the same actor in the visit fails on UNIQUE.
pub async fn insert_vote(
    conn: &impl ConnectionTrait,
    app: &application::Model,
    action: &str,
    actor: &str,
    at: DateTime<Utc>,
) -> Result<(), DbErr> {
    vote::Entity::insert(vote::ActiveModel {
        id: NotSet,
        application_id: Set(app.id.clone()),
        visit: Set(app.visit),
        action: Set(action.to_string()),
        actor_id: Set(actor.to_string()),
        at: Set(at),
    })
    .exec(conn)
    .await?;
    Ok(())
}

/// An application's attachments, oldest first.
pub async fn attachments(conn: &impl ConnectionTrait, app_id: &str) -> Result<Vec<attachment::Model>, DbErr> {
    attachment::Entity::find()
        .filter(attachment::Column::ApplicationId.eq(app_id))
        .order_by_asc(attachment::Column::CreatedAt)
        .all(conn)
        .await
}

/// An attachment.
pub async fn attachment(conn: &impl ConnectionTrait, id: &str) -> Result<Option<attachment::Model>, DbErr> {
    attachment::Entity::find_by_id(id).one(conn).await
}

/// The applications `app_id` started, oldest first.
pub async fn children(conn: &impl ConnectionTrait, app_id: &str) -> Result<Vec<application::Model>, DbErr> {
    application::Entity::find()
        .filter(application::Column::ParentId.eq(app_id))
        .order_by_asc(application::Column::CreatedAt)
        .all(conn)
        .await
}

/// Which applications a caller sees.
#[derive(Debug, Clone)]
pub enum Seen {
    All,
    /// Those of these districts, and those of this enterprise.
    Some {
        districts: Vec<String>,
        enterprise: Option<String>,
    },
}

impl Seen {
    /// The condition on applications, if any.
    pub fn condition(&self) -> Option<Condition> {
        match self {
            Seen::All => None,
            Seen::Some { districts, enterprise } => {
                let mut cond = Condition::any();
                if !districts.is_empty() {
                    cond = cond.add(application::Column::District.is_in(districts.clone()));
                }
                Some(cond.add(application::Column::EnterpriseId.eq(enterprise.clone().unwrap_or_default())))
            }
        }
    }
}

/// What a list of applications is narrowed to.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub workflow: Option<String>,
    pub state: Option<String>,
    pub enterprise_id: Option<String>,
    pub exclude_workflows: Vec<String>,
}

fn condition(seen: &Seen, f: &Filter) -> Condition {
    let mut cond = Condition::all();
    if let Some(c) = seen.condition() {
        cond = cond.add(c);
    }
    if let Some(w) = &f.workflow {
        cond = cond.add(application::Column::Workflow.eq(w));
    }
    if let Some(s) = &f.state {
        cond = cond.add(application::Column::State.eq(s));
    }
    if let Some(e) = &f.enterprise_id {
        cond = cond.add(application::Column::EnterpriseId.eq(e));
    }
    if !f.exclude_workflows.is_empty() {
        cond = cond.add(application::Column::Workflow.is_not_in(f.exclude_workflows.clone()));
    }
    cond
}

/// A page of the applications `seen` and `filter` allow, newest first, and how many there are.
pub async fn page(
    conn: &impl ConnectionTrait,
    seen: &Seen,
    filter: &Filter,
    page: u64,
    per_page: u64,
) -> Result<(Vec<application::Model>, u64), DbErr> {
    let paginator = application::Entity::find()
        .filter(condition(seen, filter))
        .order_by_desc(application::Column::CreatedAt)
        .order_by_asc(application::Column::Id)
        .paginate(conn, per_page);
    let total = paginator.num_items().await?;
    Ok((paginator.fetch_page(page.saturating_sub(1)).await?, total))
}

/// Every open application `seen` allows in one of `states` (workflow, version, state), oldest
/// first.
pub async fn open_in(
    conn: &impl ConnectionTrait,
    seen: &Seen,
    states: &[(String, i32, String)],
) -> Result<Vec<application::Model>, DbErr> {
    if states.is_empty() {
        return Ok(Vec::new());
    }
    let mut any = Condition::any();
    for (w, v, st) in states {
        any = any.add(
            Condition::all()
                .add(application::Column::Workflow.eq(w))
                .add(application::Column::WorkflowVersion.eq(*v))
                .add(application::Column::State.eq(st)),
        );
    }
    let mut q = application::Entity::find().filter(application::Column::IsFinal.eq(false)).filter(any);
    if let Some(c) = seen.condition() {
        q = q.filter(c);
    }
    q.order_by_asc(application::Column::CreatedAt).all(conn).await
}

/// How many applications stand in a state of a workflow version.
#[derive(Debug, Clone, sea_orm::FromQueryResult)]
pub struct StateCount {
    pub workflow: String,
    pub workflow_version: i32,
    pub state: String,
    pub count: i64,
}

/// The applications `seen` allows, counted by workflow, version and state (one query).
pub async fn counts(conn: &impl ConnectionTrait, seen: &Seen) -> Result<Vec<StateCount>, DbErr> {
    let mut q = application::Entity::find();
    if let Some(c) = seen.condition() {
        q = q.filter(c);
    }
    q.select_only()
        .column(application::Column::Workflow)
        .column(application::Column::WorkflowVersion)
        .column(application::Column::State)
        .column_as(application::Column::Id.count(), "count")
        .group_by(application::Column::Workflow)
        .group_by(application::Column::WorkflowVersion)
        .group_by(application::Column::State)
        .into_model::<StateCount>()
        .all(conn)
        .await
}
