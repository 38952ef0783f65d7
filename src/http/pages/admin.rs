//! The administrator's pages: users and their roles, the mail that could not be delivered, and
//! the audit check. Every page calls the engine method the JSON API calls, so it refuses what
//! the API refuses.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde_json::{Value, json};

use super::paging::{Paging, encode, param};
use super::{PageUser, role_label};
use crate::domain::role::Role;
use crate::domain::text::Text;
use crate::engine::{Engine, Gauges, NewUser, RoleGrant, UserPatch, UserView};
use crate::error::{AppError, t};

type Form = web::Form<HashMap<String, String>>;
type Query = web::Query<HashMap<String, String>>;

/// Lines per page in the admin lists unless `?per_page=` asks otherwise.
const PER_PAGE: u64 = 50;

/// Role rows the user form offers when editing (the current roles and one empty row), at most.
const MAX_ROLE_ROWS: usize = 20;

/// The roles a form offers: staff roles, and the enterprise role only for enterprise users.
fn role_options(enterprise_user: bool) -> Vec<Value> {
    Role::ALL
        .iter()
        .filter(|r| enterprise_user || **r != Role::Enterprise)
        .map(|r| json!({"value": r.as_str(), "label": role_label(*r), "needs_jurisdiction": r.needs_jurisdiction()}))
        .collect()
}

/// The jurisdictions loaded from the definitions: the city and province levels, then the
/// districts.
fn jurisdiction_options(engine: &Engine) -> Vec<Value> {
    let j = &engine.defs.jurisdictions;
    let mut out = vec![json!({"value": "city", "label": j.city}), json!({"value": "province", "label": j.province})];
    out.extend(j.districts().map(|d| json!({"value": d.id, "label": d.name})));
    out
}

/// A jurisdiction's name as people read it (its id when unknown).
fn jurisdiction_label(engine: &Engine, id: &str) -> Text {
    let j = &engine.defs.jurisdictions;
    match id {
        "city" => j.city.clone(),
        "province" => j.province.clone(),
        _ => j.district(id).map_or_else(|| t(id, id), |d| d.name.clone()),
    }
}

fn grants_json(engine: &Engine, roles: &[RoleGrant]) -> Vec<Value> {
    roles
        .iter()
        .map(|g| {
            json!({
                "role": g.role.as_str(), "label": role_label(g.role), "jurisdiction": g.jurisdiction,
                "jurisdiction_label": g.jurisdiction.as_deref().map(|j| jurisdiction_label(engine, j)),
            })
        })
        .collect()
}

fn require_admin(user: &PageUser) -> Result<(), AppError> {
    if user.actor.has_role(Role::Admin) {
        Ok(())
    } else {
        Err(AppError::Forbidden(t("仅管理员可操作", "only administrators may do this")))
    }
}

/// The field errors of a refusal, with the engine's field names turned into the form's.
fn field_errors(user: &PageUser, e: &AppError, rename: impl Fn(&str) -> String) -> Vec<Value> {
    let problem = e.problem(user.v.lang);
    let mut out: Vec<Value> =
        problem.errors.iter().map(|f| json!({"field": rename(&f.field), "message": f.message})).collect();
    if out.is_empty() {
        out.push(json!({"field": "", "message": problem.detail.unwrap_or(problem.title)}));
    }
    out
}

fn error(field: &str, zh: &str, en: &str, user: &PageUser) -> Value {
    json!({"field": field, "message": t(zh, en).get(user.v.lang)})
}

fn with_status(r: Result<HttpResponse, AppError>, status: StatusCode) -> Result<HttpResponse, AppError> {
    r.map(|mut res| {
        *res.status_mut() = status;
        res
    })
}

// ---------------------------------------------------------------- users

/// `GET /admin/users`: every user with enterprise, roles and whether the account is active or
/// locked; `?q=` searches name and e-mail, `?role=` keeps holders of a role; 50 a page.
pub async fn admin_users_page(user: PageUser, q: Query) -> HttpResponse {
    let r = async {
        let engine = &user.v.engine;
        let all = engine.list_users(&user.actor).await?;
        let text = param(&q, "q").to_lowercase();
        let role = param(&q, "role");
        let matching: Vec<UserView> = all
            .into_iter()
            .filter(|u| text.is_empty() || u.name.to_lowercase().contains(&text) || u.email.contains(&text))
            .filter(|u| role.is_empty() || u.roles.iter().any(|g| g.role.as_str() == role))
            .collect();
        let paging = Paging::from_query(&q, PER_PAGE);
        let total = matching.len() as u64;
        let now = engine.now();
        let mut rows = Vec::new();
        for u in paging.slice(matching) {
            let enterprise = u.enterprise_name.clone();
            rows.push(json!({
                "id": u.id, "name": u.name, "email": u.email, "enterprise": enterprise,
                "roles": grants_json(engine, &u.roles), "active": u.active,
                "locked": u.locked_until.is_some_and(|l| l > now), "locked_until": u.locked_until,
            }));
        }
        let raw_text = param(&q, "q");
        let ctx = json!({
            "users": rows,
            "paging": paging.context("/admin/users", total, &[("q", raw_text), ("role", role)]),
            "filter": {"q": raw_text, "role": role},
            "role_options": role_options(true),
            "admin_nav": "users",
        });
        admin_page(&user, "pages/admin_users.html", ctx)
    }
    .await;
    user.finish(r)
}

/// The new-user form, with what was sent and the errors beside the fields.
fn render_new_user(user: &PageUser, form: Value, errors: Vec<Value>) -> Result<HttpResponse, AppError> {
    let engine = &user.v.engine;
    user.render(
        "pages/admin_user_new.html",
        json!({
            "form": form, "errors": errors, "role_options": role_options(false),
            "jurisdiction_options": jurisdiction_options(engine), "admin_nav": "users",
        }),
    )
}

/// `GET /admin/users/new`: the form for a staff user.
pub async fn admin_new_user_form(user: PageUser) -> HttpResponse {
    let r = require_admin(&user).and_then(|()| render_new_user(&user, json!({"lang": "zh-CN"}), Vec::new()));
    user.finish(r)
}

/// `POST /admin/users`: creates a staff user with one role (`name`, `email`, `password`,
/// `role`, `jurisdiction`, `lang`); errors show beside the fields (422, 409 for a taken e-mail).
pub async fn submit_new_user(user: PageUser, form: Form) -> HttpResponse {
    let r = async {
        user.check_csrf(&form)?;
        require_admin(&user)?;
        let get = |k: &str| form.get(k).map(|v| v.trim().to_string()).unwrap_or_default();
        let shown = json!({"name": get("name"), "email": get("email"), "role": get("role"),
                           "jurisdiction": get("jurisdiction"), "lang": get("lang")});
        let role = match get("role").parse::<Role>() {
            Ok(Role::Enterprise) => Err(error(
                "role",
                "企业用户随企业注册产生，请选择工作人员角色",
                "enterprise users come with their enterprise's registration; choose a staff role",
                &user,
            )),
            Ok(r) => Ok(r),
            Err(_) => Err(error("role", "请选择角色", "choose a role", &user)),
        };
        let role = match role {
            Ok(r) => r,
            Err(e) => return with_status(render_new_user(&user, shown, vec![e]), StatusCode::UNPROCESSABLE_ENTITY),
        };
        let jurisdiction = Some(get("jurisdiction")).filter(|j| !j.is_empty());
        let lang = Some(get("lang")).filter(|l| !l.is_empty());
        let password = form.get("password").cloned().unwrap_or_default();
        let nu = NewUser {
            email: get("email"),
            password,
            name: get("name"),
            roles: vec![RoleGrant { role, jurisdiction }],
            enterprise_id: None,
            lang,
        };
        match user.v.engine.create_user(&user.actor, nu).await {
            Ok(_) => Ok(user.v.redirect("/admin/users").finish()),
            Err(e @ AppError::Unprocessable { .. }) => {
                let errors = field_errors(&user, &e, |f| {
                    if f.starts_with("roles[") { "jurisdiction".to_string() } else { f.to_string() }
                });
                with_status(render_new_user(&user, shown, errors), StatusCode::UNPROCESSABLE_ENTITY)
            }
            Err(e @ AppError::Conflict(_)) => {
                let errors = field_errors(&user, &e, |f| f.to_string())
                    .into_iter()
                    .map(|mut v| {
                        v["field"] = json!("email");
                        v
                    })
                    .collect();
                with_status(render_new_user(&user, shown, errors), StatusCode::CONFLICT)
            }
            Err(e) => Err(e),
        }
    }
    .await;
    user.finish(r)
}

/// The user as the admin sees them (the engine's list, admins only), or 404.
async fn find_user(user: &PageUser, id: &str) -> Result<UserView, AppError> {
    let all = user.v.engine.list_users(&user.actor).await?;
    all.into_iter().find(|u| u.id == id).ok_or(AppError::NotFound)
}

/// The enterprise a user belongs to, by name, or null for staff.
fn enterprise_of(account: &UserView) -> Value {
    match &account.enterprise_id {
        Some(id) => {
            json!({"id": id, "name": account.enterprise_name.clone().unwrap_or_else(|| id.clone())})
        }
        None => Value::Null,
    }
}

/// The edit form; `rows` are the role rows to show (role, jurisdiction).
fn render_edit_user(
    user: &PageUser,
    account: &UserView,
    enterprise: Value,
    shown: Value,
    rows: &[(String, String)],
    errors: Vec<Value>,
) -> Result<HttpResponse, AppError> {
    let engine = &user.v.engine;
    let mut role_rows: Vec<Value> =
        rows.iter().enumerate().map(|(i, (r, j))| json!({"i": i, "role": r, "jurisdiction": j})).collect();
    role_rows.push(json!({"i": rows.len(), "role": "", "jurisdiction": ""}));
    let now = engine.now();
    let ctx = json!({
        "account": {
            "id": account.id, "name": account.name, "email": account.email, "enterprise": enterprise,
            "roles": grants_json(engine, &account.roles), "active": account.active,
            "locked": account.locked_until.is_some_and(|l| l > now), "locked_until": account.locked_until,
            "created_at": account.created_at,
        },
        "form": shown,
        "role_rows": role_rows,
        "errors": errors,
        "role_options": role_options(account.enterprise_id.is_some()),
        "jurisdiction_options": jurisdiction_options(engine),
        "admin_nav": "users",
    });
    admin_page(user, "pages/admin_user.html", ctx)
}

/// `GET /admin/users/{id}`: the user's roles and jurisdictions, to change; active or not.
pub async fn admin_user_page(user: PageUser, id: web::Path<String>) -> HttpResponse {
    let r = async {
        let account = find_user(&user, &id).await?;
        let rows: Vec<(String, String)> = account
            .roles
            .iter()
            .map(|g| (g.role.as_str().to_string(), g.jurisdiction.clone().unwrap_or_default()))
            .collect();
        let shown = json!({"name": account.name, "active": account.active});
        let enterprise = enterprise_of(&account);
        render_edit_user(&user, &account, enterprise, shown, &rows, Vec::new())
    }
    .await;
    user.finish(r)
}

/// `POST /admin/users/{id}`: changes name, roles (`role_0`, `jurisdiction_0`, `role_1`, …; an
/// empty role removes the row), `active` (a checkbox) and, when given, the password; errors
/// show beside the fields (422).
pub async fn submit_user(user: PageUser, id: web::Path<String>, form: Form) -> HttpResponse {
    let r = async {
        user.check_csrf(&form)?;
        let account = find_user(&user, &id).await?;
        let enterprise = enterprise_of(&account);
        let get = |k: &str| form.get(k).map(|v| v.trim().to_string()).unwrap_or_default();
        let mut rows = Vec::new();
        let mut errors = Vec::new();
        let mut grants = Vec::new();
        // Which form row each grant came from, to put the engine's errors beside it.
        let mut row_of = Vec::new();
        for i in 0..MAX_ROLE_ROWS {
            let (role, jurisdiction) = (get(&format!("role_{i}")), get(&format!("jurisdiction_{i}")));
            if role.is_empty() {
                continue;
            }
            let row = rows.len();
            match role.parse::<Role>() {
                Ok(r) => {
                    grants.push(RoleGrant {
                        role: r,
                        jurisdiction: Some(jurisdiction.clone()).filter(|j| !j.is_empty()),
                    });
                    row_of.push(row);
                }
                Err(_) => errors.push(error(&format!("role_{row}"), "未知角色", "unknown role", &user)),
            }
            rows.push((role, jurisdiction));
        }
        let active = form.get("active").is_some();
        let shown = json!({"name": get("name"), "active": active});
        if !errors.is_empty() {
            let r = render_edit_user(&user, &account, enterprise, shown, &rows, errors);
            return with_status(r, StatusCode::UNPROCESSABLE_ENTITY);
        }
        let password = form.get("password").cloned().filter(|p| !p.is_empty());
        let patch =
            UserPatch { name: Some(get("name")), password, roles: Some(grants), active: Some(active), lang: None };
        match user.v.engine.patch_user(&user.actor, &id, patch).await {
            Ok(_) => Ok(user.v.redirect(&format!("/admin/users/{}", encode(&id))).finish()),
            Err(e @ AppError::Unprocessable { .. }) => {
                let errors = field_errors(&user, &e, |f| {
                    let k = f.strip_prefix("roles[").and_then(|s| s.strip_suffix(']')).and_then(|n| n.parse().ok());
                    match k.and_then(|k: usize| row_of.get(k)) {
                        Some(row) => format!("jurisdiction_{row}"),
                        None => f.to_string(),
                    }
                });
                let r = render_edit_user(&user, &account, enterprise, shown, &rows, errors);
                with_status(r, StatusCode::UNPROCESSABLE_ENTITY)
            }
            Err(e) => Err(e),
        }
    }
    .await;
    user.finish(r)
}

// ---------------------------------------------------------------- mail

/// The outbox statuses the filter offers; `failed` is the dead letter and the default.
const MAIL_STATUSES: [(&str, &str, &str); 5] = [
    ("failed", "发送失败", "Failed"),
    ("pending", "等待发送", "Waiting"),
    ("sending", "正在发送", "Sending"),
    ("sent", "已发送", "Sent"),
    ("all", "全部", "All"),
];

/// `GET /admin/mail`: the outbox by `?status=` (default `failed`), newest first, 50 a page;
/// each failed message with a button to send it again.
pub async fn admin_mail_page(user: PageUser, q: Query) -> HttpResponse {
    let r = async {
        let status = match param(&q, "status") {
            "" => "failed",
            s => s,
        };
        let items = user.v.engine.mail_list(&user.actor, Some(status).filter(|s| *s != "all")).await?;
        let paging = Paging::from_query(&q, PER_PAGE);
        let total = items.len() as u64;
        let statuses: Vec<Value> =
            MAIL_STATUSES.iter().map(|(v, zh, en)| json!({"value": v, "label": t(zh, en)})).collect();
        let labels: HashMap<&str, Text> = MAIL_STATUSES.iter().map(|(v, zh, en)| (*v, t(zh, en))).collect();
        let rows: Vec<Value> = paging
            .slice(items)
            .into_iter()
            .map(|m| {
                let label = labels.get(m.status.as_str()).cloned().unwrap_or_else(|| t(&m.status, &m.status));
                let mut v = json!(m);
                v["status_label"] = json!(label);
                v
            })
            .collect();
        let ctx = json!({
            "mail": rows,
            "mail_statuses": statuses,
            "filter": {"status": status},
            "paging": paging.context("/admin/mail", total, &[("status", status)]),
            "admin_nav": "mail",
        });
        admin_page(&user, "pages/admin_mail.html", ctx)
    }
    .await;
    user.finish(r)
}

/// `POST /admin/mail/{id}/retry`: puts a failed message back in the queue and returns to the
/// list it was sent from (`status`); a message that is not failed is refused there (409).
pub async fn submit_mail_retry(user: PageUser, id: web::Path<String>, form: Form) -> HttpResponse {
    let r = async {
        user.check_csrf(&form)?;
        let id: i64 = id.parse().map_err(|_| AppError::NotFound)?;
        let back = match form.get("status").map(|s| s.trim()) {
            Some(s) if MAIL_STATUSES.iter().any(|(v, _, _)| *v == s) => format!("/admin/mail?status={s}"),
            _ => "/admin/mail".to_string(),
        };
        match user.v.engine.mail_retry(&user.actor, id).await {
            Ok(_) => Ok(user.v.redirect(&back).finish()),
            Err(e @ AppError::Conflict(_)) => Ok(user.v.redirect_with_errors(&back, &e)),
            Err(e) => Err(e),
        }
    }
    .await;
    user.finish(r)
}

// ---------------------------------------------------------------- audit

/// The counts beside the audit result: applications by programme and step, mail and timers by
/// status.
fn metrics_context(engine: &Engine, g: &Gauges) -> Value {
    let applications: Vec<Value> = g
        .applications
        .iter()
        .map(|r| {
            let def = engine.defs.catalogue.latest(&r.a);
            let title = def.map_or_else(|| t(&r.a, &r.a), |d| d.title().clone());
            let state =
                def.and_then(|d| d.state(&r.b)).and_then(|st| st.title.clone()).unwrap_or_else(|| t(&r.b, &r.b));
            json!({"workflow": title, "state": state, "count": r.n})
        })
        .collect();
    let pairs = |rows: &[crate::engine::Tally], key: &str| -> Vec<Value> {
        rows.iter().map(|r| json!({key: r.a, "status": r.b, "count": r.n})).collect()
    };
    json!({"applications": applications, "mail": pairs(&g.mail, "template"), "timers": pairs(&g.timers, "kind")})
}

/// `GET /admin/audit`: walks every application's hash chain (admins and auditors, as
/// `GET /api/audit/verify`) and says in plain words whether it is intact or which entry broke.
pub async fn admin_audit_page(user: PageUser) -> HttpResponse {
    let r = async {
        if !(user.actor.has_role(Role::Admin) || user.actor.has_role(Role::Auditor)) {
            return Err(AppError::Forbidden(t(
                "仅管理员和审计员可核验审计日志",
                "only administrators and auditors may verify the audit log",
            )));
        }
        let engine = &user.v.engine;
        let report = engine.verify_audit().await?;
        let reason = report.first_bad.as_ref().map(|b| {
            let r = b.reason.as_str();
            if r.contains("altered") {
                t("该记录写入后被修改过", "the entry was altered after it was written")
            } else if r.contains("missing") {
                t("该记录已缺失", "the entry is missing")
            } else if r.contains("link") {
                t("该记录与上一条记录的链接被破坏", "the link to the previous entry is broken")
            } else if r.contains("removed") {
                t("该记录之后的记录被删除", "entries after this one were removed")
            } else {
                t(r, r)
            }
        });
        let metrics = metrics_context(engine, &engine.gauges().await?);
        let ctx = json!({"audit": report, "audit_reason": reason, "metrics": metrics, "admin_nav": "audit"});
        admin_page(&user, "pages/admin_audit.html", ctx)
    }
    .await;
    user.finish(r)
}

/// Renders an admin page, marking "Admin" as the current place in the main navigation.
fn admin_page(user: &PageUser, name: &str, mut ctx: Value) -> Result<HttpResponse, AppError> {
    if let Some(obj) = ctx.as_object_mut() {
        obj.insert("nav".into(), json!("admin"));
    }
    user.render(name, ctx)
}
