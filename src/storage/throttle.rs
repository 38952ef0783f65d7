//! The sign-in throttle's rows: read a key, reserve a try on the count that was read, clear an
//! address's keys.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set};

use super::entities::sign_in_throttle as row;
use crate::domain::throttle::Failures;

/// What is stored for `key`.
pub async fn get(conn: &impl ConnectionTrait, key: &str) -> Result<Option<Failures>, DbErr> {
    Ok(row::Entity::find_by_id(key).one(conn).await?.map(|r| Failures {
        count: r.failures,
        blocked_until: r.blocked_until,
        last_failure_at: r.last_failure_at,
    }))
}

/// Stores `new` for `key` only if the row still holds `read` (what the caller decided on):
/// `false` when another try got there first.
pub async fn reserve(
    conn: &impl ConnectionTrait,
    key: &str,
    email: &str,
    read: Option<Failures>,
    new: Failures,
) -> Result<bool, DbErr> {
    let Some(read) = read else {
        let inserted = row::Entity::insert(row::ActiveModel {
            key: Set(key.to_string()),
            email: Set(email.to_string()),
            failures: Set(new.count),
            blocked_until: Set(new.blocked_until),
            last_failure_at: Set(new.last_failure_at),
        })
        .on_conflict(OnConflict::column(row::Column::Key).do_nothing().to_owned())
        .exec_without_returning(conn)
        .await?;
        return Ok(inserted == 1);
    };
    let res = row::Entity::update_many()
        .col_expr(row::Column::Failures, new.count.into())
        .col_expr(row::Column::BlockedUntil, new.blocked_until.into())
        .col_expr(row::Column::LastFailureAt, new.last_failure_at.into())
        .filter(row::Column::Key.eq(key))
        .filter(row::Column::Failures.eq(read.count))
        .filter(row::Column::LastFailureAt.eq(read.last_failure_at))
        .exec(conn)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Forgets one key (a client that signed in).
pub async fn clear_key(conn: &impl ConnectionTrait, key: &str) -> Result<(), DbErr> {
    row::Entity::delete_by_id(key).exec(conn).await?;
    Ok(())
}

/// Takes back one counted try of `key` (it turned out to be the right password).
pub async fn refund(conn: &impl ConnectionTrait, key: &str) -> Result<(), DbErr> {
    row::Entity::update_many()
        .col_expr(row::Column::Failures, Expr::col(row::Column::Failures).sub(1))
        .filter(row::Column::Key.eq(key))
        .filter(row::Column::Failures.gt(0))
        .exec(conn)
        .await?;
    Ok(())
}

/// Forgets every key of `email` (a new password).
pub async fn clear(conn: &impl ConnectionTrait, email: &str) -> Result<(), DbErr> {
    row::Entity::delete_many().filter(row::Column::Email.eq(email)).exec(conn).await?;
    Ok(())
}

/// The keys that must wait now, with their address and until when: of `email`, or of all.
pub async fn blocked(
    conn: &impl ConnectionTrait,
    email: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Vec<(String, DateTime<Utc>)>, DbErr> {
    let mut q = row::Entity::find().filter(row::Column::BlockedUntil.gt(now));
    if let Some(e) = email {
        q = q.filter(row::Column::Email.eq(e));
    }
    Ok(q.all(conn).await?.into_iter().filter_map(|r| r.blocked_until.map(|u| (r.email, u))).collect())
}

/// Deletes the rows of keys that have been quiet since `before`.
pub async fn purge(conn: &impl ConnectionTrait, before: DateTime<Utc>) -> Result<u64, DbErr> {
    Ok(row::Entity::delete_many().filter(row::Column::LastFailureAt.lt(before)).exec(conn).await?.rows_affected)
}
