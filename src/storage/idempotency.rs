//! Idempotency keys: a caller's key with the hash of its request and the response it got,
//! written in the same transaction as the change the response reports, so that a key is either
//! absent (nothing was committed: a retry performs the action) or complete (a retry replays).

use chrono::{DateTime, Utc};
use sea_orm::sea_query::ExprTrait;
use sea_orm::{
    ActiveModelTrait, ActiveValue::NotSet, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set,
};

use super::entities::idempotency_key as row;

/// A stored response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub request_hash: String,
    pub body: String,
}

/// The response stored for `user`'s `key`, if it was stored after `fresh_since`.
pub async fn find(
    conn: &impl ConnectionTrait,
    user: &str,
    key: &str,
    fresh_since: DateTime<Utc>,
) -> Result<Option<Stored>, DbErr> {
    let found = row::Entity::find()
        .filter(row::Column::UserId.eq(user))
        .filter(row::Column::Key.eq(key))
        .filter(row::Column::CreatedAt.gt(fresh_since))
        // Rows of status 0 were claims of an earlier release that never completed.
        .filter(row::Column::Status.ne(0))
        .one(conn)
        .await?;
    Ok(found.map(|r| Stored { request_hash: r.request_hash, body: r.body }))
}

/// Stores the response inside the caller's transaction. An expired or unfinished row of the
/// same key gives way; a fresh one makes the insert fail with a unique violation (another
/// request with the key committed first).
pub async fn store(
    conn: &impl ConnectionTrait,
    user: &str,
    key: &str,
    request_hash: &str,
    body: &str,
    now: DateTime<Utc>,
    fresh_since: DateTime<Utc>,
) -> Result<(), DbErr> {
    row::Entity::delete_many()
        .filter(row::Column::UserId.eq(user))
        .filter(row::Column::Key.eq(key))
        .filter(row::Column::CreatedAt.lte(fresh_since).or(row::Column::Status.eq(0)))
        .exec(conn)
        .await?;
    row::ActiveModel {
        id: NotSet,
        user_id: Set(user.to_string()),
        key: Set(key.to_string()),
        request_hash: Set(request_hash.to_string()),
        status: Set(200),
        body: Set(body.to_string()),
        created_at: Set(now),
    }
    .insert(conn)
    .await?;
    Ok(())
}

/// Deletes the keys stored before `before`.
pub async fn purge(conn: &impl ConnectionTrait, before: DateTime<Utc>) -> Result<u64, DbErr> {
    Ok(row::Entity::delete_many().filter(row::Column::CreatedAt.lte(before)).exec(conn).await?.rows_affected)
}
