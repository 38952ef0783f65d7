//! Certifications: granted, superseded, extended, revoked and expired, with the expiry notices
//! sent for each (UNIQUE per certification and notice, so a reminder goes out once).

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::NotSet, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    Set,
};

use super::entities::{certification, certification_notice};

/// The certifications of an enterprise (all kinds when `kinds` is `None`).
pub async fn of_enterprise(
    conn: &impl ConnectionTrait,
    enterprise_id: &str,
    kinds: Option<Vec<String>>,
) -> Result<Vec<certification::Model>, DbErr> {
    let mut q = certification::Entity::find().filter(certification::Column::EnterpriseId.eq(enterprise_id));
    if let Some(k) = kinds {
        q = q.filter(certification::Column::Kind.is_in(k));
    }
    q.order_by_asc(certification::Column::GrantedAt).all(conn).await
}

/// Certifications by enterprise and kind, either optional, oldest first.
pub async fn find(
    conn: &impl ConnectionTrait,
    enterprise_id: Option<&str>,
    kind: Option<&str>,
) -> Result<Vec<certification::Model>, DbErr> {
    let mut q = certification::Entity::find();
    if let Some(e) = enterprise_id {
        q = q.filter(certification::Column::EnterpriseId.eq(e));
    }
    if let Some(k) = kind {
        q = q.filter(certification::Column::Kind.eq(k));
    }
    q.order_by_asc(certification::Column::GrantedAt).all(conn).await
}

/// Every certification marked active, of `kinds` when given.
pub async fn active(
    conn: &impl ConnectionTrait,
    kinds: Option<Vec<String>>,
) -> Result<Vec<certification::Model>, DbErr> {
    let mut q = certification::Entity::find().filter(certification::Column::Status.eq("active"));
    if let Some(k) = kinds {
        q = q.filter(certification::Column::Kind.is_in(k));
    }
    q.all(conn).await
}

/// A new active certification; the active one of the same kind, if any, is superseded.
pub async fn grant(
    conn: &impl ConnectionTrait,
    enterprise_id: &str,
    kind: &str,
    application_id: &str,
    until: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    certification::Entity::update_many()
        .col_expr(certification::Column::Status, Expr::value("superseded"))
        .filter(certification::Column::EnterpriseId.eq(enterprise_id))
        .filter(certification::Column::Kind.eq(kind))
        .filter(certification::Column::Status.eq("active"))
        .exec(conn)
        .await?;
    certification::ActiveModel {
        id: Set(uuid::Uuid::new_v4().to_string()),
        enterprise_id: Set(enterprise_id.to_string()),
        kind: Set(kind.to_string()),
        application_id: Set(application_id.to_string()),
        status: Set("active".into()),
        granted_at: Set(now),
        valid_until: Set(until),
        revoked_at: Set(None),
    }
    .insert(conn)
    .await?;
    Ok(())
}

/// The latest certification of a kind that is active or ran out (what an extension extends).
pub async fn latest_extendable(
    conn: &impl ConnectionTrait,
    enterprise_id: &str,
    kind: &str,
) -> Result<Option<certification::Model>, DbErr> {
    certification::Entity::find()
        .filter(certification::Column::EnterpriseId.eq(enterprise_id))
        .filter(certification::Column::Kind.eq(kind))
        .filter(certification::Column::Status.is_in(["active", "expired"]))
        .order_by_desc(certification::Column::GrantedAt)
        .one(conn)
        .await
}

/// Makes a certification active until `until`, its expiry to be reminded of afresh.
pub async fn extend(conn: &impl ConnectionTrait, id: &str, until: Option<DateTime<Utc>>) -> Result<(), DbErr> {
    certification::Entity::update_many()
        .col_expr(certification::Column::Status, Expr::value("active"))
        .col_expr(certification::Column::ValidUntil, Expr::value(until))
        .filter(certification::Column::Id.eq(id))
        .exec(conn)
        .await?;
    certification_notice::Entity::delete_many()
        .filter(certification_notice::Column::CertificationId.eq(id))
        .exec(conn)
        .await?;
    Ok(())
}

/// Revokes the enterprise's active certifications of a kind.
pub async fn revoke(
    conn: &impl ConnectionTrait,
    enterprise_id: &str,
    kind: &str,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    certification::Entity::update_many()
        .col_expr(certification::Column::Status, Expr::value("revoked"))
        .col_expr(certification::Column::RevokedAt, Expr::value(now))
        .filter(certification::Column::EnterpriseId.eq(enterprise_id))
        .filter(certification::Column::Kind.eq(kind))
        .filter(certification::Column::Status.eq("active"))
        .exec(conn)
        .await?;
    Ok(())
}

/// Marks as expired every active certification whose validity ended by `now`.
pub async fn expire(conn: &impl ConnectionTrait, now: DateTime<Utc>) -> Result<u64, DbErr> {
    Ok(certification::Entity::update_many()
        .col_expr(certification::Column::Status, Expr::value("expired"))
        .filter(certification::Column::Status.eq("active"))
        .filter(certification::Column::ValidUntil.lte(now))
        .exec(conn)
        .await?
        .rows_affected)
}

/// Active certifications that end after `now` and by `until`.
pub async fn ending(
    conn: &impl ConnectionTrait,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<Vec<certification::Model>, DbErr> {
    certification::Entity::find()
        .filter(certification::Column::Status.eq("active"))
        .filter(certification::Column::ValidUntil.gt(now))
        .filter(certification::Column::ValidUntil.lte(until))
        .all(conn)
        .await
}

/// Records that `notice` was sent for a certification; fails on UNIQUE when it already was.
pub async fn record_notice(
    conn: &impl ConnectionTrait,
    id: &str,
    notice: &str,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    certification_notice::ActiveModel {
        id: NotSet,
        certification_id: Set(id.to_string()),
        notice: Set(notice.to_string()),
        at: Set(now),
    }
    .insert(conn)
    .await?;
    Ok(())
}
