//! HTTP: the route table, body limits and the error shape of every response.

mod api;
mod extract;
mod files;
mod openapi;
mod pages;
mod problem;
mod workflows;

use actix_web::{HttpRequest, HttpResponse, error::JsonPayloadError, web};

pub use extract::{AuthUser, request_lang};
pub use pages::Pages;
pub use problem::LANG;

use crate::error::{AppError, t};

/// Largest JSON body accepted.
pub const JSON_LIMIT: usize = 1024 * 1024;

/// THE route table: every route on one screen.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.app_data(web::JsonConfig::default().limit(JSON_LIMIT).error_handler(json_error))
        .app_data(
            web::PathConfig::default()
                .error_handler(|e, _| AppError::BadRequest(t("路径参数无效", &e.to_string())).into()),
        )
        .app_data(
            web::QueryConfig::default()
                .error_handler(|e, _| AppError::BadRequest(t("查询参数无效", &e.to_string())).into()),
        )
        .app_data(
            web::FormConfig::default()
                .limit(JSON_LIMIT)
                .error_handler(|e, _| AppError::BadRequest(t("表单内容无效", &e.to_string())).into()),
        )
        .route("/healthz", web::get().to(api::healthz))
        .route("/readyz", web::get().to(api::readyz))
        .route("/metrics", web::get().to(api::metrics))
        // HTML pages (cookie session, CSRF token on every form).
        .route("/", web::get().to(pages::home_page))
        .route("/login", web::get().to(pages::login_form))
        .route("/login", web::post().to(pages::submit_login))
        .route("/logout", web::post().to(pages::submit_logout))
        .route("/register", web::get().to(pages::register_form))
        .route("/register", web::post().to(pages::submit_register))
        .route("/tasks", web::get().to(pages::tasks_page))
        .route("/workflows", web::get().to(pages::workflows_page))
        .route("/workflows/{key}", web::get().to(pages::workflow_page))
        .route("/dashboard", web::get().to(pages::dashboard_page))
        .route("/applications/new", web::get().to(pages::new_application_form))
        .route("/applications", web::post().to(pages::submit_new_application))
        .route("/applications/{id}", web::get().to(pages::application_page))
        .route("/applications/{id}/save", web::post().to(pages::submit_save))
        .route("/applications/{id}/actions/{action}", web::post().to(pages::submit_action))
        .route("/applications/{id}/attachments", web::post().to(pages::submit_upload))
        .route("/applications/{id}/print", web::get().to(pages::print_page))
        .route("/attachments/{id}", web::get().to(pages::download_attachment))
        .route("/admin/users", web::get().to(pages::admin_users_page))
        .route("/admin/users", web::post().to(pages::submit_new_user))
        .route("/admin/users/new", web::get().to(pages::admin_new_user_form))
        .route("/admin/users/{id}", web::get().to(pages::admin_user_page))
        .route("/admin/users/{id}", web::post().to(pages::submit_user))
        .route("/admin/mail", web::get().to(pages::admin_mail_page))
        .route("/admin/mail/{id}/retry", web::post().to(pages::submit_mail_retry))
        .route("/admin/audit", web::get().to(pages::admin_audit_page))
        .route("/finance", web::get().to(pages::finance_page))
        .route("/cases", web::get().to(pages::cases_page))
        .route("/cases", web::post().to(pages::submit_new_case))
        .route("/cases/new", web::get().to(pages::new_case_form))
        .route("/enterprises", web::get().to(pages::enterprises_page))
        .route("/enterprises/{id}", web::get().to(pages::enterprise_page))
        .route("/static/app.css", web::get().to(pages::stylesheet))
        .service(
            web::scope("/api")
                .route("/openapi.json", web::get().to(openapi::openapi_json))
                .route("/register", web::post().to(api::register))
                .route("/auth/login", web::post().to(api::login))
                .route("/me", web::get().to(api::me))
                .route("/me", web::patch().to(api::patch_me))
                .route("/users", web::post().to(api::create_user))
                .route("/users", web::get().to(api::list_users))
                .route("/users/{id}", web::patch().to(api::patch_user))
                .route("/enterprises/{id}", web::get().to(api::get_enterprise))
                .route("/workflows", web::get().to(workflows::list_workflows))
                .route("/workflows/{key}", web::get().to(workflows::get_workflow))
                .route("/workflows/{key}/diagram", web::get().to(workflows::get_diagram))
                .route("/applications", web::post().to(api::create_application))
                .route("/applications", web::get().to(api::list_applications))
                .route("/applications/{id}", web::get().to(api::get_application))
                .route("/applications/{id}", web::patch().to(api::update_application))
                .route("/applications/{id}/actions/{action}", web::post().to(api::take_action))
                .route("/applications/{id}/attachments", web::post().to(api::upload_attachment))
                .route("/applications/{id}/extend", web::post().to(api::extend_deadline))
                .route("/attachments/{id}", web::get().to(api::get_attachment))
                .route("/tasks", web::get().to(api::list_tasks))
                .route("/certifications", web::get().to(api::list_certifications))
                .route("/budgets", web::get().to(api::list_budgets))
                .route("/dashboard", web::get().to(api::dashboard))
                .route("/whitelist", web::get().to(api::whitelist))
                .route("/audit/verify", web::get().to(api::verify_audit))
                .route("/admin/mail", web::get().to(api::list_mail))
                .route("/admin/mail/{id}/retry", web::post().to(api::retry_mail)),
        )
        .default_service(web::to(not_found));
}

/// An unknown address: a page for a browser outside `/api/` (see `pages::wants_html`), else
/// problem+json.
async fn not_found(req: HttpRequest) -> Result<HttpResponse, AppError> {
    if pages::wants_html(&req) {
        return Ok(pages::not_found_page(&req).await);
    }
    Err(AppError::NotFound)
}

fn json_error(err: JsonPayloadError, _req: &HttpRequest) -> actix_web::Error {
    let e = match &err {
        JsonPayloadError::Overflow { .. } | JsonPayloadError::OverflowKnownLength { .. } => {
            AppError::PayloadTooLarge(t("请求内容过大", &format!("the body is larger than {JSON_LIMIT} bytes")))
        }
        JsonPayloadError::ContentType => {
            AppError::BadRequest(t("请以 application/json 提交", "send the body as application/json"))
        }
        JsonPayloadError::Deserialize(d) if d.is_data() => AppError::Unprocessable {
            title: t("请求字段类型或取值错误", "a field has the wrong type or value"),
            errors: vec![crate::domain::form::FieldError {
                field: String::new(),
                message: t(&d.to_string(), &d.to_string()),
            }],
        },
        other => AppError::BadRequest(t(&format!("JSON 格式错误：{other}"), &format!("malformed JSON: {other}"))),
    };
    e.into()
}
