//! Server-rendered pages: the page environment, the browser session (cookie, CSRF token,
//! language), the security headers and the error page. Handlers live in one file per group.

mod actions;
mod admin;
mod applications;
mod cases;
mod charts;
mod enterprise;
mod enterprises;
mod finance;
mod missing;
mod paging;
mod register;
mod session;
mod tasks;

use std::collections::HashMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;

use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use actix_web::http::{StatusCode, header};
use actix_web::{FromRequest, HttpRequest, HttpResponse, HttpResponseBuilder, ResponseError, dev::Payload, web};
use minijinja::{Environment, State, UndefinedBehavior};
use serde_json::{Value, json};

use actions::{action_data, local_path};
pub use admin::{
    admin_audit_page, admin_mail_page, admin_new_user_form, admin_user_page, admin_users_page, submit_mail_retry,
    submit_new_user, submit_user,
};
pub use applications::{
    application_page, home_page, new_application_form, submit_action, submit_new_application, submit_save,
};
pub use cases::{cases_page, new_case_form, submit_new_case};
pub use charts::{dashboard_page, workflow_page, workflows_page};
pub use enterprise::{download_attachment, print_page, submit_upload};
pub use enterprises::{enterprise_page, enterprises_page};
pub use finance::finance_page;
pub use missing::{not_found_page, wants_html};
pub use register::{register_form, submit_register};
pub use session::{login_form, submit_login, submit_logout};
pub use tasks::tasks_page;

use crate::domain::access::Actor;
use crate::domain::role::Role;
use crate::domain::text::{Lang, Text};
use crate::engine::Engine;
use crate::error::{AppError, t};

/// The session cookie: the signed token itself.
pub const SESSION_COOKIE: &str = "certflow_session";
/// The language chosen with the switch.
pub const LANG_COOKIE: &str = "certflow_lang";
/// A random id tying the sign-in form's CSRF token to the browser before it has a session.
pub const PRE_COOKIE: &str = "certflow_pre";
/// Errors carried across a redirect (hex-encoded JSON), shown once.
pub const FLASH_COOKIE: &str = "certflow_flash";

/// The policy every page carries: no script at all, styles and images from here only.
pub const CSP: &str = "default-src 'self'; script-src 'none'; style-src 'self'; img-src 'self' data:; \
                       frame-ancestors 'none'; form-action 'self'";

/// The page templates (`templates/pages/*.html`, auto-escaped) and the stylesheet, read from the
/// templates folder at run time. Built once at start-up; cloning is cheap.
#[derive(Clone)]
pub struct Pages {
    env: Arc<Environment<'static>>,
    dir: PathBuf,
}

impl Pages {
    pub fn new(templates: &Path) -> Pages {
        let mut env = Environment::new();
        env.set_loader(minijinja::path_loader(templates));
        env.set_undefined_behavior(UndefinedBehavior::Chainable);
        env.add_function("tr", tr);
        env.add_filter("text", text);
        env.add_filter("when", when);
        Pages { env: Arc::new(env), dir: templates.to_path_buf() }
    }

    /// Renders `pages/<name>` with a context.
    pub fn render(&self, name: &str, ctx: &Value) -> Result<String, minijinja::Error> {
        self.env.get_template(name)?.render(minijinja::value::Serde(ctx))
    }
}

fn lang_of(state: &State) -> Lang {
    match state.lookup("lang").as_ref().and_then(|v| v.as_str()) {
        Some("en") => Lang::En,
        _ => Lang::Zh,
    }
}

/// `{{ tr("中文", "English") }}`: the UI string in the page's language.
fn tr(state: &State, zh: String, en: String) -> String {
    if lang_of(state) == Lang::En { en } else { zh }
}

/// `{{ label | text }}`: a bilingual `{zh, en}` label in the page's language.
fn text(state: &State, v: minijinja::Value) -> String {
    let key = if lang_of(state) == Lang::En { "en" } else { "zh" };
    match v.get_attr(key) {
        Ok(s) if !s.is_undefined() && !s.is_none() => s.to_string(),
        _ if v.is_undefined() || v.is_none() => String::new(),
        _ => v.to_string(),
    }
}

/// `{{ at | when }}`: an RFC 3339 time as `YYYY-MM-DD HH:MM` in China Standard Time.
fn when(v: minijinja::Value) -> String {
    let s = v.as_str().unwrap_or_default();
    chrono::DateTime::parse_from_rfc3339(s).map_or_else(
        |_| s.to_string(),
        |d| {
            d.with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap_or(*d.offset()))
                .format("%Y-%m-%d %H:%M")
                .to_string()
        },
    )
}

/// Adds the security headers every page response carries.
fn secure(b: &mut HttpResponseBuilder) -> &mut HttpResponseBuilder {
    b.insert_header((header::CONTENT_SECURITY_POLICY, CSP))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        .insert_header((header::REFERRER_POLICY, "same-origin"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
}

/// A cookie the way every page cookie is made: HttpOnly, SameSite=Lax, Path=/, Secure over HTTPS.
fn cookie(name: &'static str, value: String, secure_conn: bool) -> Cookie<'static> {
    Cookie::build(name, value).path("/").http_only(true).same_site(SameSite::Lax).secure(secure_conn).finish()
}

fn removal(name: &'static str, secure_conn: bool) -> Cookie<'static> {
    let mut c = cookie(name, String::new(), secure_conn);
    c.make_removal();
    c
}

/// What every page request knows before any sign-in: language, scheme, the flash and the engine.
pub struct Visitor {
    pub engine: web::Data<Engine>,
    pub pages: web::Data<Pages>,
    pub lang: Lang,
    /// The language was chosen on this request (`?lang=`): remember it in a cookie.
    lang_chosen: bool,
    /// The request came over HTTPS (directly or through a proxy saying so).
    pub https: bool,
    session: Option<String>,
    pre: Option<String>,
    /// The client's network address (for the limits on sign-in and registration).
    pub client: String,
    lang_cookie: Option<String>,
    flash: Vec<Value>,
}

fn visitor(req: &HttpRequest) -> Result<Visitor, AppError> {
    let missing = || AppError::Internal(anyhow::anyhow!("the page environment is not registered"));
    let engine = req.app_data::<web::Data<Engine>>().cloned().ok_or_else(missing)?;
    let pages = req.app_data::<web::Data<Pages>>().cloned().ok_or_else(missing)?;
    let chosen = web::Query::<HashMap<String, String>>::from_query(req.query_string())
        .ok()
        .and_then(|q| q.get("lang").map(|l| Lang::from_tag(l)));
    let lang = chosen
        .or_else(|| req.cookie(LANG_COOKIE).map(|c| Lang::from_tag(c.value())))
        .unwrap_or_else(|| super::request_lang(req));
    let flash = req
        .cookie(FLASH_COOKIE)
        .and_then(|c| hex::decode(c.value()).ok())
        .and_then(|b| serde_json::from_slice::<Vec<Value>>(&b).ok())
        .unwrap_or_default();
    Ok(Visitor {
        engine,
        pages,
        lang,
        lang_chosen: chosen.is_some(),
        https: req.connection_info().scheme() == "https",
        session: req.cookie(SESSION_COOKIE).map(|c| c.value().to_string()).filter(|s| !s.is_empty()),
        lang_cookie: req.cookie(LANG_COOKIE).map(|c| c.value().to_string()),
        pre: req.cookie(PRE_COOKIE).map(|c| c.value().to_string()).filter(|s| !s.is_empty()),
        client: super::extract::client_addr(req),
        flash,
    })
}

impl FromRequest for Visitor {
    type Error = PageError;
    type Future = std::future::Ready<Result<Self, PageError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(visitor(req).map_err(|e| PageError::plain(&e)))
    }
}

impl Visitor {
    /// The context every template sees.
    fn base(&self, user: Option<&Actor>, csrf: &str) -> Value {
        json!({
            "lang": self.lang.tag().split('-').next().unwrap_or("zh"),
            "html_lang": self.lang.tag(),
            "csrf": csrf,
            "flash": self.flash,
            "user": user.map(|a| json!({
                "name": a.name, "email": a.email,
                "enterprise": a.enterprise_id.is_some(),
                "staff": a.roles.iter().any(|(r, _)| *r != Role::Enterprise),
                "admin": a.has_role(Role::Admin), "auditor": a.has_role(Role::Auditor),
                "programme": a.roles.iter().any(|(r, _)| !matches!(r, Role::Enterprise | Role::Bank)),
                "finance": finance::works_disbursements(&self.engine, a), "cases": cases::works_cases(&self.engine, a),
            })),
        })
    }

    /// A response with the security headers and the cookies this request must set.
    fn respond(&self, status: StatusCode) -> HttpResponseBuilder {
        let mut b = HttpResponse::build(status);
        secure(&mut b);
        if self.lang_chosen {
            let mut c = cookie(LANG_COOKIE, self.lang.tag().to_string(), self.https);
            c.set_max_age(CookieDuration::days(365));
            b.cookie(c);
        }
        if !self.flash.is_empty() {
            b.cookie(removal(FLASH_COOKIE, self.https));
        }
        b
    }

    /// Renders a page with the base context merged under `ctx`.
    fn render(
        &self,
        status: StatusCode,
        name: &str,
        user: Option<&Actor>,
        csrf: &str,
        ctx: Value,
    ) -> Result<HttpResponse, AppError> {
        let mut all = self.base(user, csrf);
        if let (Some(all), Value::Object(extra)) = (all.as_object_mut(), ctx) {
            all.extend(extra);
        }
        let html = self
            .pages
            .render(name, &all)
            .map_err(|e| AppError::Internal(anyhow::Error::new(e).context(format!("rendering {name}"))))?;
        Ok(self.respond(status).content_type("text/html; charset=utf-8").body(html))
    }

    /// `303 See Other` to a local path.
    fn redirect(&self, to: &str) -> HttpResponseBuilder {
        let mut b = self.respond(StatusCode::SEE_OTHER);
        b.insert_header((header::LOCATION, to.to_string()));
        b
    }

    /// A redirect that shows these errors once on the next page.
    fn redirect_with_errors(&self, to: &str, err: &AppError) -> HttpResponse {
        let problem = err.problem(self.lang);
        let mut items: Vec<Value> =
            problem.errors.iter().map(|e| json!({"field": e.field, "message": e.message})).collect();
        if items.is_empty() {
            items.push(json!({"field": "", "message": problem.detail.unwrap_or(problem.title)}));
        }
        let value = hex::encode(serde_json::to_vec(&items).unwrap_or_default());
        let mut b = self.redirect(to);
        b.cookie(cookie(FLASH_COOKIE, value, self.https));
        b.finish()
    }

    /// The error page for a failure (sign-in again for an expired session).
    fn error_page(&self, user: Option<&Actor>, csrf: &str, err: &AppError) -> HttpResponse {
        if matches!(err, AppError::Unauthorized(_)) {
            let mut b = self.redirect("/login");
            b.cookie(removal(SESSION_COOKIE, self.https));
            return b.finish();
        }
        if let AppError::Internal(e) = err {
            tracing::error!(error = ?e, "internal error on a page");
        }
        let problem = err.problem(self.lang);
        let ctx = json!({"error": problem});
        self.render(err.status_code(), "pages/error.html", user, csrf, ctx)
            .unwrap_or_else(|_| PageError::plain(err).error_response())
    }

    /// Ends an anonymous page: the response, or the error page.
    fn finish(&self, r: Result<HttpResponse, AppError>) -> HttpResponse {
        r.unwrap_or_else(|e| self.error_page(None, "", &e))
    }
}

/// A signed-in browser: the visitor, the actor and the session's CSRF token.
pub struct PageUser {
    pub v: Visitor,
    pub actor: Actor,
    pub csrf: String,
}

impl FromRequest for PageUser {
    type Error = PageError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, PageError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let v = visitor(req);
        Box::pin(async move {
            let v = v.map_err(|e| PageError::plain(&e))?;
            let Some(token) = v.session.clone() else { return Err(v.error_page(None, "", &unauth()).into()) };
            match v.engine.authenticate(&token).await {
                Ok(actor) => {
                    // A language switch is remembered on the user, so the next sign-in keeps it.
                    if v.lang_chosen
                        && let Err(e) = v.engine.set_own_lang(&actor, v.lang.tag()).await
                    {
                        tracing::warn!(error = ?e, "could not store the language choice");
                    }
                    let csrf = v.engine.csrf_token(&token);
                    Ok(PageUser { v, actor, csrf })
                }
                Err(e) => Err(v.error_page(None, "", &e).into()),
            }
        })
    }
}

fn unauth() -> AppError {
    AppError::Unauthorized(t("请先登录", "sign in first"))
}

impl PageUser {
    pub fn render(&self, name: &str, ctx: Value) -> Result<HttpResponse, AppError> {
        self.v.render(StatusCode::OK, name, Some(&self.actor), &self.csrf, ctx)
    }

    /// Refuses a form without this session's CSRF token (403).
    pub fn check_csrf(&self, form: &HashMap<String, String>) -> Result<(), AppError> {
        check_token(form, &self.csrf)
    }

    /// Ends a page: the response, or the error page.
    pub fn finish(&self, r: Result<HttpResponse, AppError>) -> HttpResponse {
        r.unwrap_or_else(|e| self.v.error_page(Some(&self.actor), &self.csrf, &e))
    }
}

/// A page refused for too many tries says when to try again, as the API does.
fn retry_after(mut resp: HttpResponse, e: &AppError) -> HttpResponse {
    if let AppError::TooManyRequests { retry_after_secs, .. } = e
        && let Ok(v) = actix_web::http::header::HeaderValue::from_str(&retry_after_secs.to_string())
    {
        resp.headers_mut().insert(actix_web::http::header::RETRY_AFTER, v);
    }
    resp
}

fn check_token(form: &HashMap<String, String>, expected: &str) -> Result<(), AppError> {
    let sent = form.get("csrf").map(String::as_bytes).unwrap_or_default();
    // Constant-time comparison: the token is a secret of the session.
    let same =
        sent.len() == expected.len() && sent.iter().zip(expected.as_bytes()).fold(0u8, |a, (x, y)| a | (x ^ y)) == 0;
    if same && !expected.is_empty() {
        Ok(())
    } else {
        Err(AppError::Forbidden(t(
            "表单已过期或来源无效，请返回刷新后重试",
            "the form has expired or did not come from this site; go back, reload and try again",
        )))
    }
}

/// A page failure already turned into its response (error page or redirect to sign-in).
pub struct PageError {
    status: StatusCode,
    headers: header::HeaderMap,
    body: actix_web::web::Bytes,
}

impl From<HttpResponse> for PageError {
    fn from(res: HttpResponse) -> PageError {
        let status = res.status();
        let headers = res.headers().clone();
        let body = actix_web::body::MessageBody::try_into_bytes(res.into_body()).unwrap_or_default();
        PageError { status, headers, body }
    }
}

impl PageError {
    /// A bare error, for when the page environment itself is missing.
    fn plain(err: &AppError) -> PageError {
        let mut b = HttpResponse::build(err.status_code());
        secure(&mut b);
        b.content_type("text/plain; charset=utf-8").body(err.problem(Lang::Zh).title).into()
    }
}

impl std::fmt::Debug for PageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PageError({})", self.status)
    }
}

impl std::fmt::Display for PageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "page error {}", self.status)
    }
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut b = HttpResponse::build(self.status);
        for (k, v) in &self.headers {
            b.append_header((k.clone(), v.clone()));
        }
        b.body(self.body.clone())
    }
}

/// `GET /static/app.css`: the stylesheet, read from the templates folder.
pub async fn stylesheet(pages: web::Data<Pages>) -> HttpResponse {
    let mut b = HttpResponse::Ok();
    secure(&mut b);
    match tokio::fs::read_to_string(pages.dir.join("static/app.css")).await {
        Ok(css) => b.content_type("text/css; charset=utf-8").body(css),
        Err(_) => HttpResponse::NotFound().finish(),
    }
}

/// A role's name as people read it.
pub(super) fn role_label(r: Role) -> Text {
    let (zh, en) = r.names();
    t(zh, en)
}
