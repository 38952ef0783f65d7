//! The enterprise's list, the catalogue, and the application page (form, score, history,
//! actions).

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde_json::{Map, Value, json};

use super::PageUser;
use super::paging::ApplicationsList;
use crate::domain::access::{Caller, may_start};
use crate::domain::definition::{By, WorkflowDefinition};
use crate::domain::form::FieldKind;
use crate::engine::{ActionRequest, ApplicationSummary, ApplicationView, Blocker, Engine};
use crate::error::{AppError, t};

type Form = web::Form<HashMap<String, String>>;

/// What the enterprise does next in a state: its own actions, or waiting for review.
fn next_step(def: Option<&WorkflowDefinition>, state: &str, is_final: bool) -> Value {
    if is_final {
        return Value::Null;
    }
    let Some(st) = def.and_then(|d| d.state(state)) else { return Value::Null };
    let own: Vec<Value> = st
        .actions
        .values()
        .filter(|a| a.by == By::Applicant)
        .map(|a| json!(a.title.clone().unwrap_or_else(|| t(&a.name, &a.name))))
        .collect();
    if own.is_empty() { json!([t("等待审核", "Awaiting review")]) } else { Value::Array(own) }
}

/// The category of workflows that are cases opened about an enterprise (rectification orders),
/// not applications it files: the start page lists them apart, with their deadlines.
const CASES_CATEGORY: &str = "supervision";

/// A line of an applications list: the summary and the next step.
fn row(engine: &Engine, a: &ApplicationSummary) -> Value {
    let mut row = json!(a);
    row["next"] = next_step(engine.def_of_summary(&a.workflow, a.workflow_version), &a.state, a.is_final);
    row
}

/// `GET /`: the caller's applications with state, deadline and next step; for an enterprise
/// also the certifications it holds and the rectification cases about it.
pub async fn home_page(user: PageUser, q: web::Query<HashMap<String, String>>) -> HttpResponse {
    let r = async {
        let engine = &user.v.engine;
        let list = ApplicationsList::from_query(engine, &q);
        let enterprise = user.actor.enterprise_id.clone();
        let mut filter = list.filter.clone();
        // An enterprise's cases (opened by inspectors) are listed apart from what it applied for.
        let cases: Vec<Value> = if enterprise.is_some() {
            filter.exclude_workflows = engine.workflows_in_category(CASES_CATEGORY);
            engine
                .in_category(&user.actor, CASES_CATEGORY, 100)
                .await?
                .into_iter()
                .map(|c| row(engine, &c.application))
                .collect()
        } else {
            Vec::new()
        };
        let page = engine.list_applications(&user.actor, filter).await?;
        let rows: Vec<Value> = page.items.iter().map(|a| row(engine, a)).collect();
        let certifications: Vec<Value> = match &enterprise {
            Some(e) => engine
                .certifications(&user.actor, Some(e), None, None)
                .await?
                .into_iter()
                .map(|c| {
                    let title = engine.defs.catalogue.latest(&c.kind).map(|d| d.title().clone());
                    let mut v = json!(c);
                    v["title"] = json!(title.unwrap_or_else(|| t(&c.kind, &c.kind)));
                    v
                })
                .collect(),
            None => Vec::new(),
        };
        let (filter, paging) = list.context("/", page.total);
        let ctx = json!({"nav": "home", "applications": rows, "total": page.total, "certifications": certifications,
                         "cases": cases, "filter": filter, "paging": paging});
        user.render("pages/home.html", ctx)
    }
    .await;
    user.finish(r)
}

/// `GET /applications/new`: the workflows the caller may start.
pub async fn new_application_form(user: PageUser) -> HttpResponse {
    let workflows: Vec<Value> = user
        .v
        .engine
        .defs
        .catalogue
        .latest_all()
        .filter(|d| may_start(&user.actor, d))
        .map(|d| json!({"key": d.key(), "title": d.title(), "description": d.description(), "category": d.category()}))
        .collect();
    let r = user.render("pages/new.html", json!({"nav": "new", "workflows": workflows}));
    user.finish(r)
}

/// `POST /applications`: starts an application and shows it.
pub async fn submit_new_application(user: PageUser, form: Form) -> HttpResponse {
    let r = async {
        user.check_csrf(&form)?;
        let workflow = form.get("workflow").map(String::as_str).unwrap_or_default();
        let view = user.v.engine.create_application(&user.actor, workflow, None, Map::new()).await?;
        Ok(user.v.redirect(&format!("/applications/{}", view.id)).finish())
    }
    .await;
    user.finish(r)
}

/// A stored value as an input shows it.
fn input_value(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// The form's fields with their current values, ready for the template. A file field shows the
/// attachment its value names (the latest upload), with a link to download it; `editable` tells
/// whether the visitor may change the field now.
pub(super) fn fields(def: &WorkflowDefinition, view: &ApplicationView, data: &Value) -> Vec<Value> {
    let by_action = def.action_fields();
    def.form()
        .fields
        .iter()
        .map(|f| {
            let (options, accept) = match &f.kind {
                FieldKind::Choice(opts) => (json!(opts), String::new()),
                FieldKind::File { accept, .. } => (json!([]), accept.join(",")),
                _ => (json!([]), String::new()),
            };
            let current = view.data.get(&f.key).and_then(Value::as_str);
            let att = current.and_then(|c| view.attachments.iter().find(|a| a.id == c && a.field == f.key));
            json!({
                "key": f.key, "kind": f.kind.name(), "label": f.label, "help": f.help,
                "required": f.required, "value": input_value(data.get(&f.key)), "options": options,
                "file": att.map(|a| a.filename.clone()), "file_id": att.map(|a| a.id.clone()), "accept": accept,
                "by_action": by_action.contains(f.key.as_str()),
                "editable": view.editable_fields.contains(&f.key),
            })
        })
        .collect()
}

/// The score panel: the stored score (total, pass line, groups, and per indicator the points
/// earned and lost with the next band up), when the workflow scores.
pub(super) fn score_panel(def: &WorkflowDefinition, score: Option<&Value>) -> Value {
    match (def.scoring(), score) {
        (Some(_), Some(score)) => score.clone(),
        _ => Value::Null,
    }
}

/// Labels for the history: the state and action titles of the definition.
pub(super) fn history(def: &WorkflowDefinition, view: &ApplicationView) -> Vec<Value> {
    view.history
        .iter()
        .map(|h| {
            // What the engine itself records has no title in the definition.
            let own = match (h.from.as_deref(), h.action.as_str()) {
                (None, _) => Some(t("创建", "Created")),
                (_, "save") => Some(t("保存", "Saved")),
                (_, "upload") => Some(t("上传附件", "Attachment uploaded")),
                _ => None,
            };
            let action = h
                .from
                .as_deref()
                .and_then(|f| def.state(f))
                .and_then(|s| s.actions.get(&h.action))
                .and_then(|a| a.title.clone())
                .or(own)
                .unwrap_or_else(|| t(&h.action, &h.action));
            let to = def.state(&h.to).and_then(|s| s.title.clone()).unwrap_or_else(|| t(&h.to, &h.to));
            let mut v = json!(h);
            v["action_title"] = json!(action);
            v["to_title"] = json!(to);
            match &h.actor {
                Some(a) if a.id.is_none() => v["actor"] = json!({"name": t("系统", "System")}),
                Some(a) => v["actor"] = json!({"name": t(&a.name, &a.name)}),
                None => {}
            }
            if let (None, Some(parent)) = (h.from.as_deref(), &view.parent) {
                // The engine notes the parent by id; the page names it by its number.
                v["comment"] = Value::Null;
                v["started_by"] = json!({"id": parent.id, "number": parent.number});
            }
            v
        })
        .collect()
}

/// The panel's votes in the current state: the tally per voting action against the quorum,
/// and who voted what (the vote entries of the history since the application entered it).
fn votes_panel(def: &WorkflowDefinition, view: &ApplicationView) -> Value {
    let Some(state) = def.state(&view.state) else { return Value::Null };
    let voting: Vec<_> = state.actions.values().filter(|a| a.quorum.is_some()).collect();
    if voting.is_empty() || view.is_final {
        return Value::Null;
    }
    let title = |a: &crate::domain::definition::Action| a.title.clone().unwrap_or_else(|| t(&a.name, &a.name));
    let entered = view.history.iter().rposition(|h| h.to == view.state && h.from.as_deref() != Some(&view.state));
    let voters: Vec<Value> = view
        .history
        .iter()
        .skip(entered.map_or(0, |i| i + 1))
        .filter(|h| h.from.as_deref() == Some(&view.state))
        .filter_map(|h| {
            let a = voting.iter().find(|a| a.name == h.action)?;
            Some(json!({"name": h.actor.as_ref().map(|a| a.name.clone()), "vote": title(a), "at": h.at,
                        "comment": h.comment}))
        })
        .collect();
    let tallies: Vec<Value> = voting
        .iter()
        .map(|a| {
            let count = view.votes.as_ref().and_then(|v| v[&a.name].as_u64()).unwrap_or(0);
            json!({"title": title(a), "count": count, "needed": a.quorum})
        })
        .collect();
    json!({"tallies": tallies, "voters": voters})
}

/// What would refuse the caller's actions now, as plain messages per action.
fn blockers_panel(user: &PageUser, view: &ApplicationView, blockers: Vec<Blocker>) -> Value {
    if view.is_final || view.actions.is_empty() {
        return json!([]);
    }
    let lang = user.v.lang;
    let list: Vec<Value> = blockers
        .into_iter()
        .map(|b| {
            let reasons: Vec<Value> =
                b.reasons.iter().map(|r| json!({"field": r.field, "message": r.message.get(lang)})).collect();
            json!({"action": b.action, "title": b.title.unwrap_or_else(|| t(&b.action, &b.action)), "reasons": reasons})
        })
        .collect();
    Value::Array(list)
}

/// Renders the application page, with `data` in the form (the stored data, or what was sent).
/// Who acts next in the application's state (for a viewer who has nothing to do in it).
fn waiting_for(def: &WorkflowDefinition, view: &ApplicationView) -> Value {
    let Some(state) = def.state(&view.state).filter(|_| !view.is_final) else { return Value::Null };
    if state.actions.values().any(|a| a.by == By::Applicant) {
        return json!(t("申请企业", "the applicant"));
    }
    state.assignee.as_ref().map_or(Value::Null, |a| json!(super::role_label(a.role)))
}

pub(super) async fn render_application(
    user: &PageUser,
    engine: &Engine,
    view: &ApplicationView,
    blockers: Vec<Blocker>,
    data: &Value,
    errors: Vec<Value>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let def = engine.def_of_summary(&view.workflow, view.workflow_version).ok_or(AppError::NotFound)?;
    let ctx = json!({
        "app": view,
        // The form shows what was sent, not what is stored: say that nothing was saved.
        "unsaved": data != &view.data,
        "fields": fields(def, view, data),
        "score": score_panel(def, view.score.as_ref()),
        "history": history(def, view),
        "errors": errors,
        "blockers": blockers_panel(user, view, blockers),
        "votes": votes_panel(def, view),
        "waiting_for": waiting_for(def, view),
    });
    let mut res = user.render("pages/application.html", ctx)?;
    *res.status_mut() = status;
    Ok(res)
}

/// `GET /applications/{id}`.
pub async fn application_page(user: PageUser, id: web::Path<String>) -> HttpResponse {
    let r = async {
        let engine = &user.v.engine;
        let (view, blockers) = engine.application_page(&user.actor, &id).await?;
        render_application(&user, engine, &view, blockers, &view.data, Vec::new(), StatusCode::OK).await
    }
    .await;
    user.finish(r)
}

/// `POST /applications/{id}/save`: saves the draft (the fields the state lets the applicant
/// change; any others posted are ignored); errors show beside the fields (422).
pub async fn submit_save(user: PageUser, id: web::Path<String>, form: Form) -> HttpResponse {
    let r = async {
        user.check_csrf(&form)?;
        let engine = &user.v.engine;
        let (view, blockers) = engine.application_page(&user.actor, &id).await?;
        let def = engine.def_of_summary(&view.workflow, view.workflow_version).ok_or(AppError::NotFound)?;
        let by_action = def.action_fields();
        let data: Map<String, Value> = def
            .form()
            .fields
            .iter()
            .filter(|f| !matches!(f.kind, FieldKind::File { .. }) && !by_action.contains(f.key.as_str()))
            .filter(|f| view.editable_fields.contains(&f.key))
            .filter_map(|f| form.get(&f.key).map(|v| (f.key.clone(), Value::String(v.clone()))))
            .collect();
        let version = form.get("version").and_then(|v| v.parse().ok());
        match engine.update_application(&user.actor, &id, data.clone(), version).await {
            Ok(_) => Ok(user.v.redirect(&format!("/applications/{id}")).finish()),
            Err(e @ AppError::Unprocessable { .. }) => {
                let problem = e.problem(user.v.lang);
                let errors = problem.errors.iter().map(|e| json!({"field": e.field, "message": e.message})).collect();
                let mut shown = view.data.clone();
                if let Some(obj) = shown.as_object_mut() {
                    obj.extend(data);
                }
                render_application(&user, engine, &view, blockers, &shown, errors, StatusCode::UNPROCESSABLE_ENTITY)
                    .await
            }
            Err(e @ AppError::Conflict(_)) => Ok(user.v.redirect_with_errors(&format!("/applications/{id}"), &e)),
            Err(e) => Err(e),
        }
    }
    .await;
    user.finish(r)
}

/// `POST /applications/{id}/actions/{action}`: takes an action and goes back to the page;
/// refusals (422, 409) are shown there once.
pub async fn submit_action(user: PageUser, path: web::Path<(String, String)>, form: Form) -> HttpResponse {
    let (id, action) = path.into_inner();
    let r = async {
        user.check_csrf(&form)?;
        let comment = form.get("comment").map(|c| c.trim().to_string()).filter(|c| !c.is_empty());
        let data = super::action_data(&user, &id, &action, &form).await?;
        let req = ActionRequest { comment, data };
        let back = super::local_path(form.get("back")).map_or_else(|| format!("/applications/{id}"), String::from);
        match user.v.engine.take_action(Caller::User(&user.actor), &id, &action, req, None).await {
            Ok(_) => Ok(user.v.redirect(&back).finish()),
            Err(e @ (AppError::Unprocessable { .. } | AppError::Conflict(_))) => {
                Ok(user.v.redirect_with_errors(&back, &e))
            }
            Err(e) => Err(e),
        }
    }
    .await;
    user.finish(r)
}
