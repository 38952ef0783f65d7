//! The enterprise's files and the printable application: uploads from the application page,
//! downloads with the session cookie, and a page without navigation or forms for printing.

use std::collections::HashMap;

use actix_multipart::Multipart;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, ResponseError, web};
use serde_json::json;

use super::PageUser;
use super::applications::{fields, history, render_application, score_panel};
use crate::domain::form::FieldError;
use crate::engine::Upload;
use crate::error::{AppError, t};
use crate::http::files::{disposition, next_part};

/// The parts of the upload form: its text inputs, and the file (name, content type, bytes).
struct UploadForm {
    text: HashMap<String, String>,
    file: Option<(String, String, Vec<u8>)>,
}

async fn read_upload(mut payload: Multipart) -> Result<UploadForm, AppError> {
    let mut form = UploadForm { text: HashMap::new(), file: None };
    while let Some(part) = next_part(&mut payload).await? {
        match part.filename {
            Some(f) if part.name == "file" => form.file = Some((f, part.content_type, part.bytes)),
            _ => {
                form.text.insert(part.name, String::from_utf8_lossy(&part.bytes).into_owned());
            }
        }
    }
    Ok(form)
}

/// A refusal of the upload as an error beside the file field.
fn beside(field: &str, err: &AppError, lang: crate::domain::text::Lang) -> serde_json::Value {
    let p = err.problem(lang);
    let message = p.errors.first().map(|e| e.message.clone()).or(p.detail).unwrap_or(p.title);
    json!({"field": field, "message": message})
}

/// `POST /applications/{id}/attachments`: stores the file of one file field and goes back to
/// the application; a refused file (wrong type 422, too large 413) shows beside its field.
pub async fn submit_upload(user: PageUser, id: web::Path<String>, payload: Multipart) -> HttpResponse {
    let r = async {
        let form = read_upload(payload).await?;
        user.check_csrf(&form.text)?;
        let engine = &user.v.engine;
        let field = form.text.get("field").cloned().unwrap_or_default();
        let result = match form.file {
            Some((filename, content_type, bytes)) if !(filename.is_empty() && bytes.is_empty()) => {
                let up = Upload { field: field.clone(), filename, content_type, bytes };
                engine.upload_attachment(&user.actor, &id, up).await.map(|_| ())
            }
            _ => Err(AppError::Unprocessable {
                title: t("请选择文件", "choose a file"),
                errors: vec![FieldError {
                    field: field.clone(),
                    message: t("请选择要上传的文件", "choose a file to upload"),
                }],
            }),
        };
        match result {
            Ok(()) => Ok(user.v.redirect(&format!("/applications/{id}#f-{field}")).finish()),
            Err(e @ (AppError::Unprocessable { .. } | AppError::PayloadTooLarge(_))) => {
                let (view, blockers) = engine.application_page(&user.actor, &id).await?;
                let errors = vec![beside(&field, &e, user.v.lang)];
                render_application(&user, engine, &view, blockers, &view.data, errors, e.status_code()).await
            }
            Err(e @ AppError::Conflict(_)) => Ok(user.v.redirect_with_errors(&format!("/applications/{id}"), &e)),
            Err(e) => Err(e),
        }
    }
    .await;
    user.finish(r)
}

/// `GET /attachments/{id}`: the file, to whoever may see its application (the same rule as
/// `GET /api/attachments/{id}`), always as a download.
pub async fn download_attachment(user: PageUser, id: web::Path<String>) -> HttpResponse {
    let r = async {
        let (att, path) = user.v.engine.attachment(&user.actor, &id).await?;
        let bytes = tokio::fs::read(&path).await.map_err(|e| AppError::Internal(e.into()))?;
        Ok(user
            .v
            .respond(StatusCode::OK)
            .content_type(att.content_type)
            .insert_header((header::CONTENT_DISPOSITION, disposition(&att.filename)))
            .body(bytes))
    }
    .await;
    user.finish(r)
}

/// `GET /applications/{id}/print`: the application on one page for printing: all form data,
/// the score and the history, without navigation or forms.
pub async fn print_page(user: PageUser, id: web::Path<String>) -> HttpResponse {
    let r = async {
        let engine = &user.v.engine;
        let view = engine.view_application(&user.actor, &id).await?;
        let def = engine.def_of_summary(&view.workflow, view.workflow_version).ok_or(AppError::NotFound)?;
        let ctx = json!({
            "app": view,
            "fields": fields(def, &view, &view.data),
            "score": score_panel(def, view.score.as_ref()),
            "history": history(def, &view),
            "printed_at": engine.now(),
        });
        user.render("pages/print.html", ctx)
    }
    .await;
    user.finish(r)
}
