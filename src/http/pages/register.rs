//! Registering an enterprise with its first user: the same engine call as `POST /api/register`,
//! errors beside the fields, and signed in on success.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError, web};
use serde_json::{Map, Value, json};

use super::Visitor;
use super::session::{check_anonymous_csrf, render_anonymous, signed_in};
use crate::engine::{FirstUser, NewEnterprise, Registration};
use crate::error::AppError;

type Form = web::Form<HashMap<String, String>>;

/// The input a field of the API's registration is typed into (the API's names, with the
/// person's `user.name` as `user_name` beside the enterprise's `name`).
fn input_of(api_field: &str) -> &str {
    match api_field {
        "enterprise.name" => "name",
        "enterprise.uscc" => "uscc",
        "enterprise.district" => "district",
        "user.name" => "user_name",
        "user.email" => "email",
        "user.password" => "password",
        other => other,
    }
}

/// The form, with what was typed (never the password) and the errors.
fn render_register(v: &Visitor, status: StatusCode, form: &HashMap<String, String>, errors: Value) -> HttpResponse {
    let districts: Vec<Value> =
        v.engine.defs.jurisdictions.districts().map(|d| json!({"id": d.id, "name": d.name})).collect();
    let values: Map<String, Value> = form
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "password" | "csrf"))
        .map(|(k, val)| (k.clone(), Value::String(val.clone())))
        .collect();
    let ctx = json!({"values": values, "districts": districts, "errors": errors});
    v.finish(render_anonymous(v, status, "pages/register.html", ctx))
}

/// `GET /register`.
pub async fn register_form(v: Visitor) -> HttpResponse {
    if let Some(token) = v.session.as_deref()
        && v.engine.authenticate(token).await.is_ok()
    {
        return v.redirect("/").finish();
    }
    render_register(&v, StatusCode::OK, &HashMap::new(), json!([]))
}

/// `POST /register`: registers, signs in and goes to the start page; refusals show on the form.
pub async fn submit_register(v: Visitor, form: Form) -> HttpResponse {
    if let Err(e) = check_anonymous_csrf(&v, &form) {
        return v.error_page(None, "", &e);
    }
    let get = |k: &str| form.get(k).cloned().unwrap_or_default();
    let reg = Registration {
        enterprise: NewEnterprise {
            uscc: get("uscc"),
            name: get("name"),
            district: get("district"),
            profile: Map::new(),
        },
        user: FirstUser {
            email: get("email"),
            password: get("password"),
            name: get("user_name"),
            lang: Some(v.lang.tag().to_string()),
        },
    };
    match v.engine.register(reg, &v.client).await {
        Ok((_, login)) => signed_in(&v, &login, "/"),
        Err(e @ (AppError::Unprocessable { .. } | AppError::Conflict(_) | AppError::TooManyRequests { .. })) => {
            let problem = e.problem(v.lang);
            let mut errors: Vec<Value> =
                problem.errors.iter().map(|f| json!({"field": input_of(&f.field), "message": f.message})).collect();
            if errors.is_empty() {
                errors.push(json!({"field": "", "message": problem.detail.unwrap_or(problem.title)}));
            }
            super::retry_after(render_register(&v, e.status_code(), &form, Value::Array(errors)), &e)
        }
        Err(e) => v.error_page(None, "", &e),
    }
}
