//! JSON handlers: extract, one engine call, respond.

use actix_multipart::Multipart;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::extract::{AuthUser, ClientAddr};
use super::files::{bad_upload, disposition, next_part};
use crate::domain::access::Caller;
use crate::domain::role::Role;
use crate::engine::{ActionRequest, Engine, ListFilter, NewUser, Registration, Upload, UserPatch};
use crate::error::{AppError, t};

type Data = web::Data<Engine>;

pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

pub async fn readyz(engine: Data) -> Result<HttpResponse, AppError> {
    engine.db.ping().await.map_err(|_| AppError::Unavailable(t("数据库不可用", "the database is not reachable")))?;
    Ok(HttpResponse::Ok().json(json!({
        "status": "ready",
        "workflows": engine.defs.catalogue.latest_all().count(),
    })))
}

pub async fn metrics(engine: Data) -> Result<HttpResponse, AppError> {
    let body = engine.metrics_text().await?;
    Ok(HttpResponse::Ok().content_type("text/plain; version=0.0.4").body(body))
}

pub async fn register(
    engine: Data,
    client: ClientAddr,
    body: web::Json<Registration>,
) -> Result<HttpResponse, AppError> {
    let (enterprise, login) = engine.register(body.into_inner(), &client.0).await?;
    Ok(HttpResponse::Created().json(
        json!({"enterprise": enterprise, "user": login.user, "token": login.token, "expires_at": login.expires_at}),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    email: String,
    password: String,
}

pub async fn login(engine: Data, client: ClientAddr, body: web::Json<LoginBody>) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(engine.login(&body.email, &body.password, &client.0).await?))
}

pub async fn me(engine: Data, user: AuthUser) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(engine.me(&user.0).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeBody {
    lang: String,
}

/// `PATCH /api/me`: the caller's own settings (the language).
pub async fn patch_me(engine: Data, user: AuthUser, body: web::Json<MeBody>) -> Result<HttpResponse, AppError> {
    engine.set_own_lang(&user.0, &body.lang).await?;
    Ok(HttpResponse::Ok().json(engine.me(&user.0).await?))
}

pub async fn create_user(engine: Data, user: AuthUser, body: web::Json<NewUser>) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Created().json(engine.create_user(&user.0, body.into_inner()).await?))
}

pub async fn list_users(engine: Data, user: AuthUser) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(json!({"items": engine.list_users(&user.0).await?})))
}

pub async fn patch_user(
    engine: Data,
    user: AuthUser,
    id: web::Path<String>,
    body: web::Json<UserPatch>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(engine.patch_user(&user.0, &id, body.into_inner()).await?))
}

pub async fn get_enterprise(engine: Data, user: AuthUser, id: web::Path<String>) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(engine.enterprise_view(&user.0, &id).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateBody {
    workflow: String,
    #[serde(default)]
    enterprise_id: Option<String>,
    #[serde(default)]
    data: Map<String, Value>,
}

pub async fn create_application(
    engine: Data,
    user: AuthUser,
    body: web::Json<CreateBody>,
) -> Result<HttpResponse, AppError> {
    let b = body.into_inner();
    let view = engine.create_application(&user.0, &b.workflow, b.enterprise_id.as_deref(), b.data).await?;
    Ok(HttpResponse::Created().insert_header((header::ETAG, format!("\"{}\"", view.version))).json(view))
}

pub async fn list_applications(
    engine: Data,
    user: AuthUser,
    q: web::Query<ListFilter>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(engine.list_applications(&user.0, q.into_inner()).await?))
}

pub async fn get_application(engine: Data, user: AuthUser, id: web::Path<String>) -> Result<HttpResponse, AppError> {
    let view = engine.view_application(&user.0, &id).await?;
    Ok(HttpResponse::Ok().insert_header((header::ETAG, format!("\"{}\"", view.version))).json(view))
}

/// The version an `If-Match` header names (`"4"`, `4` or `W/"4"`).
fn if_match(req: &HttpRequest) -> Result<Option<i32>, AppError> {
    let Some(h) = req.headers().get(header::IF_MATCH) else { return Ok(None) };
    let s = h.to_str().unwrap_or_default().trim().trim_start_matches("W/").trim_matches('"');
    if s == "*" {
        return Ok(None);
    }
    s.parse()
        .map(Some)
        .map_err(|_| AppError::BadRequest(t("If-Match 应为申请版本号", "If-Match must be the application's version")))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateBody {
    data: Map<String, Value>,
}

pub async fn update_application(
    engine: Data,
    user: AuthUser,
    req: HttpRequest,
    id: web::Path<String>,
    body: web::Json<UpdateBody>,
) -> Result<HttpResponse, AppError> {
    let view = engine.update_application(&user.0, &id, body.into_inner().data, if_match(&req)?).await?;
    Ok(HttpResponse::Ok().insert_header((header::ETAG, format!("\"{}\"", view.version))).json(view))
}

pub async fn take_action(
    engine: Data,
    user: AuthUser,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: Result<web::Json<ActionRequest>, actix_web::Error>,
) -> Result<HttpResponse, actix_web::Error> {
    let (id, action) = path.into_inner();
    // No body at all is an empty request; a body that does not parse is refused (400/413/422).
    let sent_body = req.headers().get(header::CONTENT_LENGTH).is_some_and(|l| l.as_bytes() != b"0")
        || req.headers().contains_key(header::TRANSFER_ENCODING);
    let body = match body {
        Ok(b) => b.into_inner(),
        Err(e) if sent_body => return Err(e),
        Err(_) => ActionRequest::default(),
    };
    let version = if_match(&req)?;
    let key =
        req.headers().get("Idempotency-Key").and_then(|h| h.to_str().ok()).map(str::trim).filter(|k| !k.is_empty());
    if let Some(key) = key {
        let fingerprint =
            json!({"id": id, "action": action, "comment": body.comment, "data": body.data, "if_match": version});
        let hash = hex::encode(Sha256::digest(fingerprint.to_string().as_bytes()));
        let view = engine.take_action_once(&user.0, &id, &action, body, version, key, &hash).await?;
        return Ok(HttpResponse::Ok().insert_header((header::ETAG, format!("\"{}\"", view["version"]))).json(view));
    }
    let view = engine.take_action(Caller::User(&user.0), &id, &action, body, version).await?;
    Ok(HttpResponse::Ok().insert_header((header::ETAG, format!("\"{}\"", view.version))).json(view))
}

pub async fn upload_attachment(
    engine: Data,
    user: AuthUser,
    id: web::Path<String>,
    mut payload: Multipart,
) -> Result<HttpResponse, AppError> {
    let Some(part) = next_part(&mut payload).await? else {
        return Err(bad_upload("send one file as multipart/form-data, named after the form field"));
    };
    let filename = part.filename.unwrap_or_else(|| "upload".to_string());
    let upload = Upload { field: part.name, filename, content_type: part.content_type, bytes: part.bytes };
    let info = engine.upload_attachment(&user.0, &id, upload).await?;
    Ok(HttpResponse::Created().json(info))
}

pub async fn get_attachment(engine: Data, user: AuthUser, id: web::Path<String>) -> Result<HttpResponse, AppError> {
    let (att, path) = engine.attachment(&user.0, &id).await?;
    let bytes = tokio::fs::read(&path).await.map_err(|e| AppError::Internal(e.into()))?;
    Ok(HttpResponse::Ok()
        .content_type(att.content_type)
        .insert_header((header::CONTENT_DISPOSITION, disposition(&att.filename)))
        .insert_header(("X-Content-SHA256", att.sha256))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .body(bytes))
}

pub async fn list_tasks(engine: Data, user: AuthUser) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(json!({"items": engine.tasks(&user.0).await?})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertQuery {
    enterprise_id: Option<String>,
    kind: Option<String>,
    status: Option<String>,
}

pub async fn list_certifications(
    engine: Data,
    user: AuthUser,
    q: web::Query<CertQuery>,
) -> Result<HttpResponse, AppError> {
    let q = q.into_inner();
    let items =
        engine.certifications(&user.0, q.enterprise_id.as_deref(), q.kind.as_deref(), q.status.as_deref()).await?;
    Ok(HttpResponse::Ok().json(json!({"items": items})))
}

pub async fn verify_audit(engine: Data, user: AuthUser) -> Result<HttpResponse, AppError> {
    if !(user.0.has_role(Role::Admin) || user.0.has_role(Role::Auditor)) {
        return Err(AppError::Forbidden(t(
            "仅管理员和审计员可核验审计日志",
            "only administrators and auditors may verify the audit log",
        )));
    }
    Ok(HttpResponse::Ok().json(engine.verify_audit().await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailQuery {
    status: Option<String>,
}

pub async fn list_mail(engine: Data, user: AuthUser, q: web::Query<MailQuery>) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(json!({"items": engine.mail_list(&user.0, q.status.as_deref()).await?})))
}

pub async fn retry_mail(engine: Data, user: AuthUser, id: web::Path<i64>) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(engine.mail_retry(&user.0, id.into_inner()).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtendBody {
    reason: Option<String>,
}

pub async fn extend_deadline(
    engine: Data,
    user: AuthUser,
    req: HttpRequest,
    id: web::Path<String>,
    body: web::Json<ExtendBody>,
) -> Result<HttpResponse, AppError> {
    let view = engine.extend_deadline(&user.0, &id, body.reason.as_deref(), if_match(&req)?).await?;
    Ok(HttpResponse::Ok().insert_header((header::ETAG, format!("\"{}\"", view.version))).json(view))
}

pub async fn list_budgets(engine: Data, user: AuthUser) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(json!({"items": engine.budgets(&user.0).await?})))
}

pub async fn dashboard(engine: Data, user: AuthUser) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(engine.dashboard(&user.0).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WhitelistQuery {
    format: Option<String>,
}

pub async fn whitelist(engine: Data, user: AuthUser, q: web::Query<WhitelistQuery>) -> Result<HttpResponse, AppError> {
    match q.format.as_deref() {
        Some("csv") => Ok(HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .insert_header((header::CONTENT_DISPOSITION, "attachment; filename=\"whitelist.csv\""))
            .body(engine.whitelist_csv(&user.0).await?)),
        None | Some("json") => Ok(HttpResponse::Ok().json(json!({"items": engine.whitelist(&user.0).await?}))),
        Some(other) => {
            Err(AppError::BadRequest(t("不支持的格式", &format!("unknown format `{other}`; use json or csv"))))
        }
    }
}
