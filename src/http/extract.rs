//! Extractors: the signed-in user (bearer token), and the request's language.

use std::future::Future;
use std::pin::Pin;

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};

use crate::domain::access::Actor;
use crate::domain::text::Lang;
use crate::engine::Engine;
use crate::error::{AppError, t};

/// A signed-in user: `Authorization: Bearer <token>`.
pub struct AuthUser(pub Actor);

impl FromRequest for AuthUser {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let engine = req.app_data::<web::Data<Engine>>().cloned();
        let token = req
            .headers()
            .get(actix_web::http::header::AUTHORIZATION)
            .and_then(|h| h.to_str().ok())
            .and_then(|h| h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer ")))
            .map(|s| s.trim().to_string());
        Box::pin(async move {
            let engine = engine.ok_or_else(|| AppError::Internal(anyhow::anyhow!("engine missing")))?;
            let token = token.ok_or_else(|| {
                AppError::Unauthorized(t("请先登录", "sign in first: send Authorization: Bearer <token>"))
            })?;
            Ok(AuthUser(engine.authenticate(&token).await?))
        })
    }
}

/// The client's network address: the connection's peer, or the first hop a trusted reverse
/// proxy names in `Forwarded` / `X-Forwarded-For` (`CERTFLOW_TRUST_FORWARDED`).
pub fn client_addr(req: &HttpRequest) -> String {
    let trust = req.app_data::<web::Data<Engine>>().is_some_and(|e| e.limits.trust_forwarded);
    let forwarded = if trust { req.connection_info().realip_remote_addr().map(str::to_string) } else { None };
    forwarded.or_else(|| req.peer_addr().map(|a| a.ip().to_string())).unwrap_or_else(|| "unknown".to_string())
}

/// The client's network address as an extractor (see [`client_addr`]).
pub struct ClientAddr(pub String);

impl FromRequest for ClientAddr {
    type Error = AppError;
    type Future = std::future::Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(Ok(ClientAddr(client_addr(req))))
    }
}

/// The language a request asks for (`Accept-Language`), Chinese by default.
pub fn request_lang(req: &HttpRequest) -> Lang {
    req.headers()
        .get(actix_web::http::header::ACCEPT_LANGUAGE)
        .and_then(|h| h.to_str().ok())
        .map_or(Lang::Zh, Lang::from_tag)
}
