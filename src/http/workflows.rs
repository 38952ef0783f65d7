//! Workflow definitions as the API shows them: JSON (the form as JSON Schema) and diagrams.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};

use super::extract::{AuthUser, request_lang};
use crate::domain::definition::diagram;
use crate::domain::definition::{By, Check, CommentRule, Effect, Starter, WorkflowDefinition};
use crate::domain::text::Lang;
use crate::engine::Engine;
use crate::error::AppError;

fn starter(s: Starter) -> String {
    match s {
        Starter::Enterprise => "enterprise".into(),
        Starter::System => "system".into(),
        Starter::Role(r) => r.to_string(),
    }
}

fn by(b: By) -> String {
    match b {
        By::Assignee => "assignee".into(),
        By::Applicant => "applicant".into(),
        By::System => "system".into(),
        By::Role(r) => r.to_string(),
    }
}

/// The JSON shape of a definition.
pub fn definition_json(def: &WorkflowDefinition, lang: Lang) -> Value {
    let states: Vec<Value> = def
        .states()
        .map(|s| {
            json!({
                "name": s.name, "title": s.title, "editable": s.editable.to_json(), "final": s.is_final,
                "assignee": s.assignee.as_ref().map(|a| json!({"role": a.role, "scope": a.scope, "separate_from": a.separate_from})),
                "actions": s.actions.values().map(|a| json!({
                    "name": a.name, "title": a.title, "to": a.to, "by": by(a.by),
                    "comment": if a.comment == CommentRule::Required { "required" } else { "optional" },
                    "check": a.checks.iter().map(|c| if *c == Check::Eligibility { "eligibility" } else { "scoring" }).collect::<Vec<_>>(),
                    "when": a.when.as_ref().map(|w| w.expr.clone()), "quorum": a.quorum,
                })).collect::<Vec<_>>(),
                "timeout": s.timeout.as_ref().map(|t| json!({
                    "action": t.action,
                    "notify": t.notify.iter().map(|n| n.template.clone()).collect::<Vec<_>>(),
                    "extend": t.extend.as_ref().map(|e| json!({"by": e.by})),
                })),
                "pauses": s.pauses,
                "on_enter": s.on_enter.iter().map(|e| match e {
                    Effect::Grant { certification, .. } => json!({"grant": certification}),
                    Effect::Extend { certification, .. } => json!({"extend": certification}),
                    Effect::Revoke { certification } => json!({"revoke": certification}),
                    Effect::Reserve { budget, amount, .. } => json!({"reserve": {"budget": budget, "amount": amount}}),
                    Effect::Spend { budget } => json!({"spend": budget}),
                    Effect::Release { budget } => json!({"release": budget}),
                    Effect::Claim { award } => json!({"claim": award}),
                    Effect::Unclaim { award } => json!({"unclaim": award}),
                    Effect::Start { workflow, .. } => json!({"start": workflow}),
                    Effect::Notify(n) => json!({"notify": n.template}),
                }).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({
        "key": def.key(), "version": def.version(), "title": def.title(), "description": def.description(),
        "category": def.category(), "starts": starter(def.starts()), "initial": def.initial().name,
        "form": def.form().json_schema(lang),
        "eligibility": def.eligibility().iter().map(|r| json!({"rule": r.expr, "message": r.message})).collect::<Vec<_>>(),
        "scoring": def.scoring().map(|s| json!({
            "pass": s.pass,
            "groups": s.groups.iter().map(|g| json!({"key": g.key, "title": g.title, "min": g.min})).collect::<Vec<_>>(),
            "indicators": s.indicators.iter().map(|i| json!({"key": i.key, "title": i.title, "group": i.group, "max": i.max(), "bands": i.bands})).collect::<Vec<_>>(),
            "direct": s.direct.iter().map(|r| json!({"rule": r.expr, "message": r.message})).collect::<Vec<_>>(),
        })),
        "states": states,
    })
}

fn find(engine: &Engine, key: &str) -> Result<std::sync::Arc<WorkflowDefinition>, AppError> {
    engine.defs.catalogue.latest(key).cloned().ok_or(AppError::NotFound)
}

pub async fn list_workflows(engine: web::Data<Engine>, _user: AuthUser, req: HttpRequest) -> HttpResponse {
    let lang = request_lang(&req);
    let items: Vec<Value> = engine
        .defs
        .catalogue
        .latest_all()
        .map(|d| json!({"key": d.key(), "version": d.version(), "title": d.title(), "category": d.category(), "starts": starter(d.starts()), "title_text": d.title().get(lang)}))
        .collect();
    HttpResponse::Ok().json(json!({"items": items}))
}

pub async fn get_workflow(
    engine: web::Data<Engine>,
    _user: AuthUser,
    req: HttpRequest,
    key: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let def = find(&engine, &key)?;
    Ok(HttpResponse::Ok().json(definition_json(&def, request_lang(&req))))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiagramQuery {
    format: Option<String>,
}

pub async fn get_diagram(
    engine: web::Data<Engine>,
    _user: AuthUser,
    req: HttpRequest,
    key: web::Path<String>,
    q: web::Query<DiagramQuery>,
) -> Result<HttpResponse, AppError> {
    let def = find(&engine, &key)?;
    let lang = request_lang(&req);
    Ok(match q.format.as_deref() {
        Some("mermaid") => {
            HttpResponse::Ok().content_type("text/plain; charset=utf-8").body(diagram::mermaid(&def, lang))
        }
        _ => HttpResponse::Ok().content_type("image/svg+xml").body(crate::draw::diagram::diagram(&def, lang).svg),
    })
}
