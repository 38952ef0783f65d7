//! Attachments for `file` fields: stored under `CERTFLOW_UPLOADS`, checked for size and type,
//! with their SHA-256 recorded in the database and in the history.

use std::path::PathBuf;

use sea_orm::{ActiveModelTrait, EntityTrait, Set, TransactionTrait};
use serde::Serialize;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::Engine;
use super::transition::Entry;
use crate::domain::access::{Actor, AppFacts, Caller};
use crate::domain::form::{FieldError, FieldKind};
use crate::domain::writes::Writer;
use crate::error::{AppError, t};
use crate::storage::entities::attachment;

/// A file as received.
#[derive(Debug)]
pub struct Upload {
    pub field: String,
    pub filename: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// What the client is told about a stored file.
#[derive(Debug, Clone, Serialize)]
pub struct AttachmentInfo {
    pub id: String,
    pub field: String,
    pub filename: String,
    pub content_type: String,
    pub sha256: String,
    pub size: i64,
}

/// Whether a file matches a field's `accept` list (extensions such as `.pdf`, MIME types such
/// as `application/pdf`, or `image/*`). An empty list accepts anything.
pub fn accepts(accept: &[String], filename: &str, content_type: &str) -> bool {
    if accept.is_empty() {
        return true;
    }
    let name = filename.to_ascii_lowercase();
    let ct = content_type.to_ascii_lowercase();
    accept.iter().any(|a| {
        let a = a.to_ascii_lowercase();
        if a.starts_with('.') {
            name.ends_with(&a)
        } else if let Some(prefix) = a.strip_suffix("/*") {
            ct.starts_with(&format!("{prefix}/"))
        } else {
            ct == a
        }
    })
}

fn bad_field(field: &str, zh: &str, en: &str) -> AppError {
    AppError::Unprocessable {
        title: t("附件无效", "invalid attachment"),
        errors: vec![FieldError { field: field.into(), message: t(zh, en) }],
    }
}

impl Engine {
    /// Stores an upload and points the form field at it.
    pub async fn upload_attachment(&self, actor: &Actor, app_id: &str, up: Upload) -> Result<AttachmentInfo, AppError> {
        let app = self.visible_app(actor, app_id).await?;
        if !actor.belongs_to(&app.enterprise_id) {
            return Err(AppError::Forbidden(t(
                "只有申请企业可以上传附件",
                "only the applicant may upload attachments",
            )));
        }
        let def = self.def_of(&app)?;
        let Some(editable) = def.state(&app.state).map(|s| &s.editable).filter(|e| e.any()) else {
            return Err(AppError::Conflict(t(
                "申请在当前环节不可修改",
                "the application cannot be edited in its current state",
            )));
        };
        let Some(field) = def.form().field(&up.field) else {
            return Err(bad_field(&up.field, "表单中没有该附件字段", "the form has no such file field"));
        };
        let FieldKind::File { accept, max_mb } = &field.kind else {
            return Err(bad_field(&up.field, "该字段不是附件字段", "the field is not a file field"));
        };
        let opened = super::applications::opened_with(&self.history_head(&app.id).await?);
        let writer = Writer { editable, action_fields: &[], locked: &opened };
        if !writer.may_write(&up.field) {
            return Err(bad_field(
                &up.field,
                &format!("“{}”在当前环节不可修改", field.label.zh),
                &format!("{} cannot be changed in the current state", field.label.en),
            ));
        }
        let limit = u64::from(*max_mb) * 1024 * 1024;
        if up.bytes.len() as u64 > limit {
            return Err(AppError::PayloadTooLarge(t(
                &format!("附件不得超过 {max_mb} MB"),
                &format!("the file must not exceed {max_mb} MB"),
            )));
        }
        if up.bytes.is_empty() {
            return Err(bad_field(&up.field, "附件为空", "the file is empty"));
        }
        if !accepts(accept, &up.filename, &up.content_type) {
            return Err(bad_field(
                &up.field,
                &format!("只接受以下类型：{}", accept.join("、")),
                &format!("only these types are accepted: {}", accept.join(", ")),
            ));
        }
        let sha256 = hex::encode(Sha256::digest(&up.bytes));
        let id = uuid::Uuid::new_v4().to_string();
        let dir = self.uploads.join(&app.id);
        tokio::fs::create_dir_all(&dir).await.map_err(|e| AppError::Internal(e.into()))?;
        let path = dir.join(&id);
        tokio::fs::write(&path, &up.bytes).await.map_err(|e| AppError::Internal(e.into()))?;
        let now = self.now();
        let size = i64::try_from(up.bytes.len()).unwrap_or(i64::MAX);
        let mut new = app.clone();
        let mut data: Map<String, Value> = serde_json::from_str(&app.data).unwrap_or_default();
        data.insert(up.field.clone(), Value::String(id.clone()));
        new.data = Value::Object(data).to_string();
        let txn = self.db.begin().await?;
        attachment::ActiveModel {
            id: Set(id.clone()),
            application_id: Set(app.id.clone()),
            field: Set(up.field.clone()),
            filename: Set(up.filename.clone()),
            content_type: Set(up.content_type.clone()),
            size: Set(size),
            sha256: Set(sha256.clone()),
            storage_path: Set(path.display().to_string()),
            uploaded_by: Set(actor.id.clone()),
            created_at: Set(now),
        }
        .insert(&txn)
        .await?;
        let record =
            json!({"attachment": id, "field": up.field, "filename": up.filename, "sha256": sha256, "size": size});
        let result = self
            .commit_change(
                &txn,
                Some(app.version),
                &mut new,
                Entry { seq: None, action: "upload", from: Some(&app.state), comment: None, data: Some(&record) },
                Caller::User(actor),
                now,
            )
            .await;
        let result = match result {
            Ok(_) => txn.commit().await.map_err(AppError::from),
            Err(e) => Err(e),
        };
        if let Err(e) = result {
            // Nothing points at the file: remove it so a failed upload leaves no trace.
            let _ = tokio::fs::remove_file(&path).await;
            return Err(e);
        }
        Ok(AttachmentInfo { id, field: up.field, filename: up.filename, content_type: up.content_type, sha256, size })
    }

    /// An attachment the actor may see, with where its bytes are.
    pub async fn attachment(&self, actor: &Actor, id: &str) -> Result<(attachment::Model, PathBuf), AppError> {
        let att = attachment::Entity::find_by_id(id).one(&self.db).await?.ok_or(AppError::NotFound)?;
        let app = self.find_app(&self.db, &att.application_id).await?;
        if !actor.may_see(AppFacts { enterprise_id: &app.enterprise_id, district: &app.district }) {
            return Err(AppError::NotFound);
        }
        let path = PathBuf::from(&att.storage_path);
        Ok((att, path))
    }
}

#[cfg(test)]
mod tests {
    use super::accepts;

    #[test]
    fn accept_lists_match_extensions_mime_types_and_wildcards() {
        let list = vec![".pdf".to_string(), "image/*".to_string()];
        assert!(accepts(&list, "report.PDF", "application/octet-stream"));
        assert!(accepts(&list, "photo", "image/png"));
        assert!(!accepts(&list, "virus.exe", "application/x-msdownload"));
        assert!(accepts(&[], "anything", "x/y"));
    }
}
