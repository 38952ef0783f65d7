//! Signing in and out.

use std::collections::HashMap;

use actix_web::cookie::time::Duration as CookieDuration;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError, web};
use serde_json::json;

use super::{LANG_COOKIE, PRE_COOKIE, PageUser, SESSION_COOKIE, Visitor, check_token, cookie, removal};
use crate::domain::text::Lang;
use crate::engine::LoginResult;
use crate::error::AppError;

/// Renders a form for a visitor without a session; the `pre` cookie ties its CSRF token to
/// this browser (set here on the first visit).
pub(super) fn render_anonymous(
    v: &Visitor,
    status: StatusCode,
    name: &str,
    ctx: serde_json::Value,
) -> Result<HttpResponse, AppError> {
    let pre = v.pre.clone().unwrap_or_else(|| hex::encode(rand::random::<[u8; 16]>()));
    let csrf = v.engine.csrf_token(&pre);
    let mut res = v.render(status, name, None, &csrf, ctx)?;
    if v.pre.is_none() {
        res.add_cookie(&cookie(PRE_COOKIE, pre, v.https)).map_err(|e| AppError::Internal(e.into()))?;
    }
    Ok(res)
}

/// Refuses an anonymous form without the token of this browser's `pre` cookie (403).
pub(super) fn check_anonymous_csrf(v: &Visitor, form: &HashMap<String, String>) -> Result<(), AppError> {
    let expected = v.pre.as_deref().map(|p| v.engine.csrf_token(p)).unwrap_or_default();
    check_token(form, &expected)
}

/// Signs the browser in: the session cookie, the `pre` cookie dropped, and the user's own
/// language unless one was chosen on this very request.
pub(super) fn signed_in(v: &Visitor, login: &LoginResult, to: &str) -> HttpResponse {
    let mut b = v.redirect(to);
    b.cookie(cookie(SESSION_COOKIE, login.token.clone(), v.https)).cookie(removal(PRE_COOKIE, v.https));
    let lang = Lang::from_tag(&login.user.lang);
    if !v.lang_chosen && v.lang_cookie.as_deref() != Some(lang.tag()) {
        let mut c = cookie(LANG_COOKIE, lang.tag().to_string(), v.https);
        c.set_max_age(CookieDuration::days(365));
        b.cookie(c);
    }
    b.finish()
}

/// The sign-in form.
fn render_login(
    v: &Visitor,
    status: StatusCode,
    email: &str,
    err: Option<&AppError>,
) -> Result<HttpResponse, AppError> {
    let problem = err.map(|e| e.problem(v.lang));
    render_anonymous(v, status, "pages/login.html", json!({"email": email, "error": problem}))
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
    if let Err(e) = check_anonymous_csrf(&v, &form) {
        return v.error_page(None, "", &e);
    }
    let email = form.get("email").cloned().unwrap_or_default();
    let password = form.get("password").cloned().unwrap_or_default();
    match v.engine.login(&email, &password, &v.client).await {
        // The user's stored language wins over the browser's last one: another user may have
        // used this browser before.
        Ok(login) => signed_in(&v, &login, "/"),
        Err(e @ (AppError::Unauthorized(_) | AppError::TooManyRequests { .. } | AppError::Unprocessable { .. })) => {
            let status = e.status_code();
            super::retry_after(v.finish(render_login(&v, status, &email, Some(&e))), &e)
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
