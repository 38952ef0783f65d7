//! The one error type of the application and its RFC 9457 problem document. It knows no web
//! framework: `http::problem` turns it into a response.

use serde::Serialize;

use crate::domain::form::FieldError;
use crate::domain::text::{Lang, Text};

/// Everything that can go wrong in a request, with a stable status and code.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{}", .0.en)]
    BadRequest(Text),
    #[error("authentication required: {}", .0.en)]
    Unauthorized(Text),
    #[error("{}", .0.en)]
    Forbidden(Text),
    #[error("not found")]
    NotFound,
    #[error("{}", .0.en)]
    Conflict(Text),
    #[error("payload too large")]
    PayloadTooLarge(Text),
    #[error("{}", .title.en)]
    Unprocessable { title: Text, errors: Vec<FieldError> },
    /// 429 with `Retry-After`.
    #[error("{}", .message.en)]
    TooManyRequests { message: Text, retry_after_secs: u64 },
    #[error("{}", .0.en)]
    Unavailable(Text),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// Builds a [`Text`] from two string slices.
pub fn t(zh: &str, en: &str) -> Text {
    Text { zh: zh.to_string(), en: en.to_string() }
}

impl From<sea_orm::DbErr> for AppError {
    fn from(e: sea_orm::DbErr) -> Self {
        AppError::Internal(anyhow::Error::new(e))
    }
}

impl From<crate::domain::decision::Refusal> for AppError {
    fn from(r: crate::domain::decision::Refusal) -> Self {
        use crate::domain::decision::Refusal;
        match r {
            Refusal::NotFound => AppError::NotFound,
            Refusal::Forbidden(m) => AppError::Forbidden(m),
            Refusal::Conflict(m) => AppError::Conflict(m),
            Refusal::Unprocessable { title, errors } => AppError::Unprocessable { title, errors },
        }
    }
}

impl AppError {
    pub fn code(&self) -> &'static str {
        match self {
            AppError::BadRequest(_) => "bad_request",
            AppError::Unauthorized(_) => "unauthorized",
            AppError::Forbidden(_) => "forbidden",
            AppError::NotFound => "not_found",
            AppError::Conflict(_) => "conflict",
            AppError::PayloadTooLarge(_) => "payload_too_large",
            AppError::Unprocessable { .. } => "unprocessable",
            AppError::TooManyRequests { .. } => "too_many_requests",
            AppError::Unavailable(_) => "unavailable",
            AppError::Internal(_) => "internal",
        }
    }

    /// Shorthand for a 422 with one message and no field.
    pub fn rule(title: Text, messages: Vec<Text>) -> AppError {
        AppError::Unprocessable {
            title,
            errors: messages.into_iter().map(|m| FieldError { field: String::new(), message: m }).collect(),
        }
    }

    /// The HTTP status this error answers with.
    pub fn status(&self) -> u16 {
        match self {
            AppError::BadRequest(_) => 400,
            AppError::Unauthorized(_) => 401,
            AppError::Forbidden(_) => 403,
            AppError::NotFound => 404,
            AppError::Conflict(_) => 409,
            AppError::PayloadTooLarge(_) => 413,
            AppError::Unprocessable { .. } => 422,
            AppError::TooManyRequests { .. } => 429,
            AppError::Internal(_) => 500,
            AppError::Unavailable(_) => 503,
        }
    }

    fn title(&self) -> Text {
        match self {
            AppError::BadRequest(_) => t("请求无效", "Bad request"),
            AppError::Unauthorized(_) => t("需要登录", "Unauthorized"),
            AppError::Forbidden(_) => t("无权操作", "Forbidden"),
            AppError::NotFound => t("未找到", "Not found"),
            AppError::Conflict(_) => t("冲突", "Conflict"),
            AppError::PayloadTooLarge(_) => t("内容过大", "Payload too large"),
            AppError::Unprocessable { title, .. } => title.clone(),
            AppError::TooManyRequests { .. } => t("请求过于频繁", "Too many requests"),
            AppError::Unavailable(_) => t("服务暂不可用", "Service unavailable"),
            AppError::Internal(_) => t("服务器内部错误", "Internal server error"),
        }
    }

    fn detail(&self) -> Option<Text> {
        match self {
            AppError::BadRequest(d)
            | AppError::Unauthorized(d)
            | AppError::Forbidden(d)
            | AppError::Conflict(d)
            | AppError::PayloadTooLarge(d)
            | AppError::Unavailable(d) => Some(d.clone()),
            AppError::TooManyRequests { message, .. } => Some(message.clone()),
            AppError::NotFound => {
                Some(t("请求的资源不存在或您无权查看", "The resource does not exist or you may not see it"))
            }
            AppError::Unprocessable { .. } => None,
            AppError::Internal(_) => Some(t("请稍后再试", "Please try again later")),
        }
    }

    /// The problem document in a language.
    pub fn problem(&self, lang: Lang) -> Problem {
        let errors = match self {
            AppError::Unprocessable { errors, .. } => errors
                .iter()
                .map(|e| ProblemField { field: e.field.clone(), message: e.message.get(lang).to_string() })
                .collect(),
            _ => Vec::new(),
        };
        let detail = self.detail().map(|d| d.get(lang).to_string()).or_else(|| {
            let msgs: Vec<&str> = errors.iter().map(|e| e.message.as_str()).collect();
            Some(msgs.join("; "))
        });
        Problem {
            kind: format!("/problems/{}", self.code()),
            title: self.title().get(lang).to_string(),
            status: self.status(),
            detail,
            code: self.code(),
            errors,
        }
    }
}

/// RFC 9457 problem details, with the fields at fault.
#[derive(Debug, Serialize)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: Option<String>,
    pub code: &'static str,
    pub errors: Vec<ProblemField>,
}

/// One field at fault.
#[derive(Debug, Serialize)]
pub struct ProblemField {
    pub field: String,
    pub message: String,
}
