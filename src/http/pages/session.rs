//! Signing in and out.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError, web};
use serde_json::json;

use super::{LANG_COOKIE, PRE_COOKIE, PageUser, SESSION_COOKIE, Visitor, check_token, cookie, removal};
use crate::domain::text::Lang;
use crate::error::AppError;

/// The sign-in form; `pre` ties its CSRF token to this browser.
fn render_login(
    v: &Visitor,
    status: StatusCode,
    email: &str,
    err: Option<&AppError>,
) -> Result<HttpResponse, AppError> {
    let pre = v.pre.clone().unwrap_or_else(|| hex::encode(rand::random::<[u8; 16]>()));
    let csrf = v.engine.csrf_token(&pre);
    let problem = err.map(|e| e.problem(v.lang));
    let mut res = v.render(status, "pages/login.html", None, &csrf, json!({"email": email, "error": problem}))?;
    if v.pre.is_none() {
        res.add_cookie(&cookie(PRE_COOKIE, pre, v.https)).map_err(|e| AppError::Internal(e.into()))?;
    }
    Ok(res)
}

/// `GET /login`.
pub async fn login_form(v: Visitor) -> HttpResponse {
    if v.session.is_some() && v.engine.authenticate(v.session.as_deref().unwrap_or_default()).await.is_ok() {
        return v.redirect("/").finish();
    }
    v.finish(render_login(&v, StatusCode::OK, "", None))
}

/// `POST /login`: signs in and sets the session cookie.
pub async fn submit_login(v: Visitor, form: web::Form<HashMap<String, String>>) -> HttpResponse {
    let expected = v.pre.as_deref().map(|p| v.engine.csrf_token(p)).unwrap_or_default();
    if let Err(e) = check_token(&form, &expected) {
        return v.error_page(None, "", &e);
    }
    let email = form.get("email").cloned().unwrap_or_default();
    let password = form.get("password").cloned().unwrap_or_default();
    match v.engine.login(&email, &password).await {
        Ok(login) => {
            let mut b = v.redirect("/");
            b.cookie(cookie(SESSION_COOKIE, login.token, v.https)).cookie(removal(PRE_COOKIE, v.https));
            if !v.lang_chosen && v.lang_cookie.is_none() {
                let lang = Lang::from_tag(&login.user.lang);
                b.cookie(cookie(LANG_COOKIE, lang.tag().to_string(), v.https));
            }
            b.finish()
        }
        Err(e @ (AppError::Unauthorized(_) | AppError::Locked(_) | AppError::Unprocessable { .. })) => {
            let status = e.status_code();
            v.finish(render_login(&v, status, &email, Some(&e)))
        }
        Err(e) => v.error_page(None, "", &e),
    }
}

/// `POST /logout`: clears the session cookie.
pub async fn submit_logout(user: PageUser, form: web::Form<HashMap<String, String>>) -> HttpResponse {
    if let Err(e) = user.check_csrf(&form) {
        return user.finish(Err(e));
    }
    let mut b = user.v.redirect("/login");
    b.cookie(removal(SESSION_COOKIE, user.v.https));
    b.finish()
}
