//! Files over HTTP, for the JSON API and the pages alike: reading the parts of an upload and
//! naming a download.

use actix_multipart::Multipart;
use futures_util::StreamExt;

use crate::error::{AppError, t};

/// Largest part read before the field's own limit is checked.
const UPLOAD_LIMIT: usize = 64 * 1024 * 1024;

/// One part of a `multipart/form-data` body, read whole.
pub(super) struct Part {
    pub name: String,
    pub filename: Option<String>,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// A body that is not the multipart form expected (400).
pub(super) fn bad_upload(reason: &str) -> AppError {
    AppError::BadRequest(t("上传格式错误", reason))
}

/// The next part of `payload` (`None` after the last), refused (413) beyond `UPLOAD_LIMIT`.
pub(super) async fn next_part(payload: &mut Multipart) -> Result<Option<Part>, AppError> {
    let Some(part) = payload.next().await else { return Ok(None) };
    let mut part = part.map_err(|e| bad_upload(&e.to_string()))?;
    let name = part.name().unwrap_or_default().to_string();
    let filename = part.content_disposition().and_then(|c| c.get_filename()).map(ToString::to_string);
    let content_type = part.content_type().map_or("application/octet-stream".to_string(), ToString::to_string);
    let mut bytes = Vec::new();
    while let Some(chunk) = part.next().await {
        let chunk = chunk.map_err(|e| bad_upload(&e.to_string()))?;
        if bytes.len() + chunk.len() > UPLOAD_LIMIT {
            return Err(AppError::PayloadTooLarge(t("附件过大", "the file is too large")));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(Some(Part { name, filename, content_type, bytes }))
}

/// A `Content-Disposition` that keeps any file name safe: ASCII fallback and the UTF-8 name.
pub(super) fn disposition(filename: &str) -> String {
    let ascii: String = filename
        .chars()
        .map(|c| if c.is_ascii() && !c.is_control() && c != '"' && c != '\\' { c } else { '_' })
        .collect();
    let encoded: String = filename
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b".-_~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}
