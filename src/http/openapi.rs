//! `GET /api/openapi.json`: an OpenAPI 3.1 description of the API, built from one table.

use actix_web::HttpResponse;
use serde_json::{Map, Value, json};

/// One operation: method, path, summary, who may call it, request schema, success status and schema.
struct Op {
    method: &'static str,
    path: &'static str,
    summary: &'static str,
    auth: bool,
    body: Option<Value>,
    ok: u16,
    response: Value,
    params: &'static [(&'static str, &'static str)],
}

fn r(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

/// Every operation of the API, as a table. Long on purpose: one entry per route, in the order
/// of the route table, so that the two can be read side by side.
fn ops() -> Vec<Op> {
    let obj = json!({"type": "object"});
    let list = |item: Value| json!({"type": "object", "properties": {"items": {"type": "array", "items": item}}});
    vec![
        Op {
            method: "get",
            path: "/healthz",
            summary: "Liveness",
            auth: false,
            body: None,
            ok: 200,
            response: obj.clone(),
            params: &[],
        },
        Op {
            method: "get",
            path: "/readyz",
            summary: "Readiness: database reachable, definitions loaded",
            auth: false,
            body: None,
            ok: 200,
            response: obj.clone(),
            params: &[],
        },
        Op {
            method: "get",
            path: "/metrics",
            summary: "Prometheus metrics",
            auth: false,
            body: None,
            ok: 200,
            response: json!({"type": "string"}),
            params: &[],
        },
        Op {
            method: "post",
            path: "/api/register",
            summary: "Register an enterprise and its first user",
            auth: false,
            body: Some(r("Registration")),
            ok: 201,
            response: obj.clone(),
            params: &[],
        },
        Op {
            method: "post",
            path: "/api/auth/login",
            summary: "Sign in; repeated failures make further tries wait (429 with Retry-After)",
            auth: false,
            body: Some(r("Login")),
            ok: 200,
            response: r("LoginResult"),
            params: &[],
        },
        Op {
            method: "get",
            path: "/api/me",
            summary: "The caller, roles and enterprise",
            auth: true,
            body: None,
            ok: 200,
            response: r("User"),
            params: &[],
        },
        Op {
            method: "patch",
            path: "/api/me",
            summary: "Set the caller's own language (zh-CN or en)",
            auth: true,
            body: Some(
                json!({"type": "object", "required": ["lang"], "properties": {"lang": {"type": "string", "enum": ["zh-CN", "en"]}}}),
            ),
            ok: 200,
            response: r("User"),
            params: &[],
        },
        Op {
            method: "post",
            path: "/api/users",
            summary: "Create a user (admin)",
            auth: true,
            body: Some(r("NewUser")),
            ok: 201,
            response: r("User"),
            params: &[],
        },
        Op {
            method: "get",
            path: "/api/users",
            summary: "List users (admin)",
            auth: true,
            body: None,
            ok: 200,
            response: list(r("User")),
            params: &[],
        },
        Op {
            method: "patch",
            path: "/api/users/{id}",
            summary: "Change a user (admin)",
            auth: true,
            body: Some(r("UserPatch")),
            ok: 200,
            response: r("User"),
            params: &[("id", "path")],
        },
        Op {
            method: "get",
            path: "/api/enterprises/{id}",
            summary: "An enterprise with its certifications and applications",
            auth: true,
            body: None,
            ok: 200,
            response: obj.clone(),
            params: &[("id", "path")],
        },
        Op {
            method: "get",
            path: "/api/workflows",
            summary: "The workflow catalogue",
            auth: true,
            body: None,
            ok: 200,
            response: list(obj.clone()),
            params: &[],
        },
        Op {
            method: "get",
            path: "/api/workflows/{key}",
            summary: "A definition; the form as JSON Schema",
            auth: true,
            body: None,
            ok: 200,
            response: obj.clone(),
            params: &[("key", "path")],
        },
        Op {
            method: "get",
            path: "/api/workflows/{key}/diagram",
            summary: "The workflow drawn as SVG, or Mermaid text with ?format=mermaid",
            auth: true,
            body: None,
            ok: 200,
            response: json!({"type": "string"}),
            params: &[("key", "path"), ("format", "query")],
        },
        Op {
            method: "post",
            path: "/api/applications",
            summary: "Start an application",
            auth: true,
            body: Some(r("NewApplication")),
            ok: 201,
            response: r("Application"),
            params: &[],
        },
        Op {
            method: "get",
            path: "/api/applications",
            summary: "Applications the caller may see, filtered and paged",
            auth: true,
            body: None,
            ok: 200,
            response: obj.clone(),
            params: &[
                ("workflow", "query"),
                ("state", "query"),
                ("enterprise_id", "query"),
                ("page", "query"),
                ("per_page", "query"),
            ],
        },
        Op {
            method: "get",
            path: "/api/applications/{id}",
            summary: "The application view, with the actions the caller may take",
            auth: true,
            body: None,
            ok: 200,
            response: r("Application"),
            params: &[("id", "path")],
        },
        Op {
            method: "patch",
            path: "/api/applications/{id}",
            summary: "Edit the form in an editable state; the score is recomputed",
            auth: true,
            body: Some(json!({"type": "object", "required": ["data"], "properties": {"data": obj}})),
            ok: 200,
            response: r("Application"),
            params: &[("id", "path"), ("If-Match", "header")],
        },
        Op {
            method: "post",
            path: "/api/applications/{id}/actions/{action}",
            summary: "Take an action (Idempotency-Key and If-Match honoured)",
            auth: true,
            body: Some(r("ActionRequest")),
            ok: 200,
            response: r("Application"),
            params: &[("id", "path"), ("action", "path"), ("If-Match", "header"), ("Idempotency-Key", "header")],
        },
        Op {
            method: "post",
            path: "/api/applications/{id}/attachments",
            summary: "Upload a file for a form file field (multipart, part named after the field)",
            auth: true,
            body: Some(json!({"type": "object"})),
            ok: 201,
            response: r("Attachment"),
            params: &[("id", "path")],
        },
        Op {
            method: "get",
            path: "/api/attachments/{id}",
            summary: "Download an attachment",
            auth: true,
            body: None,
            ok: 200,
            response: json!({"type": "string", "format": "binary"}),
            params: &[("id", "path")],
        },
        Op {
            method: "get",
            path: "/api/tasks",
            summary: "The caller's inbox, oldest deadline first",
            auth: true,
            body: None,
            ok: 200,
            response: list(obj.clone()),
            params: &[],
        },
        Op {
            method: "get",
            path: "/api/certifications",
            summary: "Certifications (enterprises: their own)",
            auth: true,
            body: None,
            ok: 200,
            response: list(obj.clone()),
            params: &[("enterprise_id", "query"), ("kind", "query"), ("status", "query")],
        },
        Op {
            method: "get",
            path: "/api/audit/verify",
            summary: "Verify the hash-chained history (admin, auditor)",
            auth: true,
            body: None,
            ok: 200,
            response: r("AuditReport"),
            params: &[],
        },
        Op {
            method: "post",
            path: "/api/applications/{id}/extend",
            summary: "Extend the current deadline once (the role the definition names), with a reason",
            auth: true,
            body: Some(json!({"type": "object", "required": ["reason"], "properties": {"reason": {"type": "string"}}})),
            ok: 200,
            response: r("Application"),
            params: &[("id", "path"), ("If-Match", "header")],
        },
        Op {
            method: "get",
            path: "/api/admin/mail",
            summary: "The mail queue by status (admin); `failed` is the dead letter",
            auth: true,
            body: None,
            ok: 200,
            response: list(r("Mail")),
            params: &[("status", "query")],
        },
        Op {
            method: "post",
            path: "/api/admin/mail/{id}/retry",
            summary: "Queue a failed message again (admin)",
            auth: true,
            body: None,
            ok: 200,
            response: r("Mail"),
            params: &[("id", "path")],
        },
        Op {
            method: "get",
            path: "/api/budgets",
            summary: "Budgets per year: total, reserved, spent and left, in yuan (finance, admin, auditor)",
            auth: true,
            body: None,
            ok: 200,
            response: list(
                json!({"type": "object", "properties": {"key": {"type": "string"}, "year": {"type": "integer"}, "total": {"type": "string"}, "reserved": {"type": "string"}, "spent": {"type": "string"}, "left": {"type": "string"}}}),
            ),
            params: &[],
        },
        Op {
            method: "get",
            path: "/api/dashboard",
            summary: "The programme's targets against live counts, rewards paid, budget left, and the plan's averages (staff)",
            auth: true,
            body: None,
            ok: 200,
            response: obj.clone(),
            params: &[],
        },
        Op {
            method: "get",
            path: "/api/whitelist",
            summary: "Enterprises holding an active whitelisted certification (banks, admin, auditor); ?format=csv",
            auth: true,
            body: None,
            ok: 200,
            response: list(obj.clone()),
            params: &[("format", "query")],
        },
        Op {
            method: "get",
            path: "/api/openapi.json",
            summary: "This document",
            auth: false,
            body: None,
            ok: 200,
            response: obj,
            params: &[],
        },
    ]
}

fn schemas() -> Value {
    let s = |t: &str| json!({"type": t});
    json!({
        "Problem": {"type": "object", "properties": {"type": s("string"), "title": s("string"), "status": s("integer"), "detail": s("string"), "code": s("string"),
            "errors": {"type": "array", "items": {"type": "object", "properties": {"field": s("string"), "message": s("string")}}}}},
        "Registration": {"type": "object", "required": ["enterprise", "user"], "properties": {
            "enterprise": {"type": "object", "required": ["uscc", "name", "district"], "properties": {"uscc": s("string"), "name": s("string"), "district": s("string")}, "additionalProperties": true},
            "user": {"type": "object", "required": ["email", "password", "name"], "properties": {"email": s("string"), "password": s("string"), "name": s("string"), "lang": s("string")}}}},
        "Login": {"type": "object", "required": ["email", "password"], "properties": {"email": s("string"), "password": s("string")}},
        "LoginResult": {"type": "object", "properties": {"token": s("string"), "expires_at": {"type": "string", "format": "date-time"}, "user": {"$ref": "#/components/schemas/User"}}},
        "RoleGrant": {"type": "object", "required": ["role"], "properties": {"role": {"type": "string", "enum": ["enterprise", "reviewer", "expert", "finance", "inspector", "admin", "auditor", "bank"]}, "jurisdiction": s("string")}},
        "User": {"type": "object", "properties": {"id": s("string"), "email": s("string"), "name": s("string"), "enterprise_id": s("string"), "lang": s("string"), "active": s("boolean"), "roles": {"type": "array", "items": {"$ref": "#/components/schemas/RoleGrant"}}}},
        "NewUser": {"type": "object", "required": ["email", "password", "name"], "properties": {"email": s("string"), "password": s("string"), "name": s("string"), "enterprise_id": s("string"), "lang": s("string"), "roles": {"type": "array", "items": {"$ref": "#/components/schemas/RoleGrant"}}}},
        "UserPatch": {"type": "object", "properties": {"name": s("string"), "password": s("string"), "active": s("boolean"), "lang": s("string"), "roles": {"type": "array", "items": {"$ref": "#/components/schemas/RoleGrant"}}}},
        "NewApplication": {"type": "object", "required": ["workflow"], "properties": {"workflow": s("string"), "enterprise_id": s("string"), "data": s("object")}},
        "ActionRequest": {"type": "object", "properties": {"comment": s("string"), "data": s("object")}},
        "Attachment": {"type": "object", "properties": {"id": s("string"), "field": s("string"), "filename": s("string"), "content_type": s("string"), "sha256": s("string"), "size": s("integer")}},
        "Mail": {"type": "object", "properties": {"id": s("integer"), "recipient": s("string"), "template": s("string"), "subject": s("string"), "status": {"type": "string", "enum": ["pending", "sending", "sent", "failed"]}, "attempts": s("integer"), "last_error": s("string")}},
        "Mail": {"type": "object", "properties": {"id": s("integer"), "recipient": s("string"), "template": s("string"), "subject": s("string"), "status": {"type": "string", "enum": ["pending", "sending", "sent", "failed"]}, "attempts": s("integer"), "last_error": s("string")}},
        "AuditReport": {"type": "object", "properties": {"ok": s("boolean"), "entries": s("integer"), "applications": s("integer"), "first_bad": s("object")}},
        "Application": {"type": "object", "properties": {
            "id": s("string"), "number": s("string"), "workflow": s("string"), "workflow_version": s("integer"),
            "enterprise": s("object"), "state": s("string"), "final": s("boolean"), "version": s("integer"), "data": s("object"),
            "editable": s("boolean"), "editable_fields": {"type": "array", "items": s("string")},
            "score": {"type": ["object", "null"], "properties": {"total": s("number"), "pass": s("number"), "passed": s("boolean"), "direct": s("boolean"),
                "indicators": {"type": "array", "items": {"type": "object", "properties": {"key": s("string"), "value": s("number"), "points": s("number"), "max": s("number"), "lost": s("number")}}}}},
            "actions": {"type": "array", "items": {"type": "object", "properties": {"name": s("string"), "to": s("string"), "comment": s("string"),
                "fields": {"type": "array", "items": {"type": "object", "properties": {"key": s("string"), "kind": s("string"), "label": s("object"), "required": s("boolean"), "options": s("array")}}}}}},
            "votes": s("object"), "due_at": {"type": ["string", "null"], "format": "date-time"},
            "history": {"type": "array", "items": {"type": "object", "properties": {"seq": s("integer"), "action": s("string"), "from": s("string"), "to": s("string"), "actor": s("object"), "comment": s("string"), "at": {"type": "string", "format": "date-time"}}}},
            "children": s("array"), "parent": s("object"), "created_at": {"type": "string", "format": "date-time"}, "updated_at": {"type": "string", "format": "date-time"}}},
    })
}

/// The whole document.
pub fn document() -> Value {
    let mut paths: Map<String, Value> = Map::new();
    for op in ops() {
        let mut o = json!({
            "summary": op.summary,
            "operationId": format!("{}_{}", op.method, op.path.trim_start_matches('/').replace(['/', '{', '}', '.'], "_")),
            "responses": {
                op.ok.to_string(): {"description": "success", "content": {"application/json": {"schema": op.response}}},
                "default": {"description": "problem", "content": {"application/problem+json": {"schema": r("Problem")}}},
            },
        });
        let params: Vec<Value> = op
            .params
            .iter()
            .map(|(name, at)| json!({"name": name, "in": at, "required": *at == "path", "schema": {"type": "string"}}))
            .collect();
        if !params.is_empty() {
            o["parameters"] = Value::Array(params);
        }
        if let Some(b) = op.body {
            o["requestBody"] = json!({"required": true, "content": {"application/json": {"schema": b}}});
        }
        if op.auth {
            o["security"] = json!([{"bearer": []}]);
        }
        paths.entry(op.path.to_string()).or_insert_with(|| json!({}))[op.method] = o;
    }
    json!({
        "openapi": "3.1.0",
        "info": {"title": "certflow", "version": env!("CARGO_PKG_VERSION"), "description": "Workflow and approval engine for government certification and subsidy programmes"},
        "paths": paths,
        "components": {"schemas": schemas(), "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}},
    })
}

pub async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok().json(document())
}
