//! Errors as HTTP responses: the status of each [`AppError`] and its problem+json body in the
//! request's language.

use actix_web::http::StatusCode;
use actix_web::http::header::RETRY_AFTER;
use actix_web::{HttpResponse, ResponseError};

use crate::domain::text::Lang;
use crate::error::AppError;

tokio::task_local! {
    /// The language of the request being served, for error bodies.
    pub static LANG: Lang;
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        if let AppError::Internal(e) = self {
            tracing::error!(error = ?e, "internal error");
        }
        // The request's language is set around each request in `startup`; outside one the body
        // is in Chinese, the product's first language.
        let lang = LANG.try_with(|l| *l).unwrap_or_default();
        let mut b = HttpResponse::build(self.status_code());
        if let AppError::TooManyRequests { retry_after_secs, .. } = self {
            b.insert_header((RETRY_AFTER, retry_after_secs.to_string()));
        }
        b.content_type("application/problem+json").json(self.problem(lang))
    }
}
