//! The page for an address that does not exist.
//!
//! A browser asking for an unknown address outside `/api/` (its `Accept` header names
//! `text/html`, as every browser's navigation does) gets a page in its language with a link to
//! the start page. Everything else, and every unknown address under `/api/`, keeps the
//! problem+json answer that programs expect.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use serde_json::json;

use super::{PageError, visitor};
use crate::error::AppError;

/// Whether an unknown address should be answered with the HTML page.
pub fn wants_html(req: &HttpRequest) -> bool {
    let path = req.path();
    let api = path == "/api" || path.starts_with("/api/");
    let accepts_html = req
        .headers()
        .get_all(header::ACCEPT)
        .filter_map(|h| h.to_str().ok())
        .any(|a| a.to_ascii_lowercase().contains("text/html"));
    !api && accepts_html
}

/// The not-found page (404), showing the navigation when the browser is signed in.
pub async fn not_found_page(req: &HttpRequest) -> HttpResponse {
    let v = match visitor(req) {
        Ok(v) => v,
        Err(_) => return PageError::plain(&AppError::NotFound).error_response(),
    };
    let actor = match &v.session {
        Some(token) => v.engine.authenticate(token).await.ok(),
        None => None,
    };
    let csrf = match (&actor, &v.session) {
        (Some(_), Some(token)) => v.engine.csrf_token(token),
        _ => String::new(),
    };
    v.render(StatusCode::NOT_FOUND, "pages/not_found.html", actor.as_ref(), &csrf, json!({}))
        .unwrap_or_else(|_| PageError::plain(&AppError::NotFound).error_response())
}
