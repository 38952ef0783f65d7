//! Cases: the supervision cases the caller may see, and opening a case (a workflow that staff
//! start) for an enterprise of the caller's jurisdiction.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde_json::{Map, Value, json};

use super::PageUser;
use crate::domain::access::{Actor, may_start};
use crate::domain::definition::{Starter, WorkflowDefinition};
use crate::domain::form::{Field, FieldKind};
use crate::engine::{Engine, EnterpriseFilter};
use crate::error::AppError;

/// The category of the workflows that are cases about an enterprise (`category:` of a definition).
pub(super) const CASES_CATEGORY: &str = "supervision";

/// How many cases the list shows, newest first.
const CASES_SHOWN: u64 = 200;

/// How many enterprises the case form offers at once (narrowed with `?q=`).
const ENTERPRISES_OFFERED: u64 = 100;

/// The workflows the actor may open as a case: started by a staff role the actor holds.
fn openable<'e>(engine: &'e Engine, actor: &'e Actor) -> impl Iterator<Item = &'e WorkflowDefinition> + 'e {
    engine
        .defs
        .catalogue
        .latest_all()
        .map(AsRef::as_ref)
        .filter(move |d| matches!(d.starts(), Starter::Role(_)) && may_start(actor, d))
}

/// Whether the navigation offers the cases page: the actor opens cases or works a case state.
pub(super) fn works_cases(engine: &Engine, actor: &Actor) -> bool {
    openable(engine, actor).any(|d| d.category() == CASES_CATEGORY)
        || engine
            .defs
            .catalogue
            .latest_all()
            .filter(|d| d.category() == CASES_CATEGORY)
            .any(|d| d.states().any(|s| s.assignee.as_ref().is_some_and(|a| actor.has_role(a.role))))
}

/// `GET /cases`: the cases the caller may see, with enterprise, state and deadline.
pub async fn cases_page(user: PageUser) -> HttpResponse {
    let r = async {
        let engine = &user.v.engine;
        let items = engine.in_category(&user.actor, CASES_CATEGORY, CASES_SHOWN).await?;
        let may_open = openable(engine, &user.actor).next().is_some();
        user.render("pages/cases.html", json!({"nav": "cases", "items": items, "may_open": may_open}))
    }
    .await;
    user.finish(r)
}

/// The fields recorded when a case is opened: the form's fields that no action asks for
/// (those come later with their action) and that are not uploads.
fn opening_fields(def: &WorkflowDefinition) -> Vec<&Field> {
    let later = def.action_fields();
    def.form()
        .fields
        .iter()
        .filter(|f| !later.contains(f.key.as_str()) && !matches!(f.kind, FieldKind::File { .. }))
        .collect()
}

/// The opening fields for the template, with the values sent.
fn field_inputs(def: &WorkflowDefinition, values: &Map<String, Value>) -> Vec<Value> {
    opening_fields(def)
        .into_iter()
        .map(|f| {
            let options = match &f.kind {
                FieldKind::Choice(opts) => json!(opts),
                _ => json!([]),
            };
            json!({"key": f.key, "kind": f.kind.name(), "label": f.label, "help": f.help, "required": f.required,
                   "options": options, "value": values.get(&f.key).cloned().unwrap_or(Value::Null)})
        })
        .collect()
}

/// Renders the case form for `workflow` (or the choice of workflow), with what was sent.
async fn render_new(
    user: &PageUser,
    q: &HashMap<String, String>,
    sent: &Map<String, Value>,
    errors: Vec<Value>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let engine = &user.v.engine;
    let defs: Vec<&WorkflowDefinition> = openable(engine, &user.actor).collect();
    let chosen = q.get("workflow").map(String::as_str).or_else(|| (defs.len() == 1).then(|| defs[0].key()));
    let def = chosen.and_then(|k| defs.iter().find(|d| d.key() == k)).copied();
    let workflows: Vec<Value> =
        defs.iter().map(|d| json!({"key": d.key(), "title": d.title(), "description": d.description()})).collect();
    let text = q.get("q").cloned().unwrap_or_default();
    let (enterprises, fields) = match def {
        Some(d) => {
            let role = match d.starts() {
                Starter::Role(r) => Some(r),
                _ => None,
            };
            let filter = EnterpriseFilter {
                text: Some(text.clone()),
                role,
                page: 1,
                per_page: ENTERPRISES_OFFERED,
                ..EnterpriseFilter::default()
            };
            (engine.enterprises(&user.actor, filter).await?.items, field_inputs(d, sent))
        }
        None => (Vec::new(), Vec::new()),
    };
    let ctx = json!({
        "nav": "cases",
        "workflows": workflows,
        "workflow": def.map(|d| json!({"key": d.key(), "title": d.title()})),
        "enterprises": enterprises,
        "enterprise_id": sent.get("enterprise_id").cloned().or_else(|| q.get("enterprise_id").map(|e| json!(e))),
        "q": text,
        "fields": fields,
        "values": sent,
        "errors": errors,
    });
    let mut res = user.render("pages/case_new.html", ctx)?;
    *res.status_mut() = status;
    Ok(res)
}

/// `GET /cases/new`: choose the kind of case, the enterprise (of the caller's jurisdiction),
/// and record what was found.
pub async fn new_case_form(user: PageUser, q: web::Query<HashMap<String, String>>) -> HttpResponse {
    let r = render_new(&user, &q, &Map::new(), Vec::new(), StatusCode::OK).await;
    user.finish(r)
}

/// `POST /cases`: opens the case for the chosen enterprise, as `POST /api/applications` with
/// `enterprise_id` does, and shows it; problems show beside the fields (422).
pub async fn submit_new_case(user: PageUser, form: web::Form<HashMap<String, String>>) -> HttpResponse {
    let r = async {
        user.check_csrf(&form)?;
        let engine = &user.v.engine;
        let workflow = form.get("workflow").cloned().unwrap_or_default();
        let def = openable(engine, &user.actor).find(|d| d.key() == workflow).ok_or(AppError::NotFound)?;
        let enterprise_id = form.get("enterprise_id").map(|e| e.trim().to_string()).filter(|e| !e.is_empty());
        let data: Map<String, Value> = opening_fields(def)
            .into_iter()
            .filter_map(|f| form.get(&f.key).map(|v| (f.key.clone(), v.trim().to_string())))
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| (k, Value::String(v)))
            .collect();
        match engine.create_application(&user.actor, &workflow, enterprise_id.as_deref(), data.clone()).await {
            Ok(view) => Ok(user.v.redirect(&format!("/applications/{}", view.id)).finish()),
            Err(e @ (AppError::Unprocessable { .. } | AppError::Forbidden(_))) => {
                let problem = e.problem(user.v.lang);
                let mut errors: Vec<Value> =
                    problem.errors.iter().map(|e| json!({"field": e.field, "message": e.message})).collect();
                if errors.is_empty() {
                    errors.push(json!({"field": "enterprise_id", "message": problem.detail.unwrap_or(problem.title)}));
                }
                let mut sent = data;
                sent.insert("enterprise_id".into(), json!(enterprise_id));
                let q = HashMap::from([("workflow".to_string(), workflow.clone())]);
                render_new(&user, &q, &sent, errors, StatusCode::UNPROCESSABLE_ENTITY).await
            }
            Err(e) => Err(e),
        }
    }
    .await;
    user.finish(r)
}
