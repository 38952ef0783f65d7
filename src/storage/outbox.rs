//! The outbox: messages queued in the transaction of the change they report, claimed by one
//! instance at a time under a lease, sent, retried with back-off, or dead-lettered.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Condition, Expr, ExprTrait, LockBehavior, LockType, Order, Query};
use sea_orm::{
    ActiveModelTrait, ActiveValue::NotSet, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};

use super::entities::outbox;

/// A message to queue.
#[derive(Debug, Clone)]
pub struct NewMessage<'a> {
    pub application_id: Option<&'a str>,
    pub recipient: &'a str,
    pub lang: &'a str,
    pub template: &'a str,
    pub subject: String,
    pub body_text: String,
    pub body_html: Option<String>,
}

/// Queues a message, due now.
pub async fn queue(conn: &impl ConnectionTrait, m: NewMessage<'_>, now: DateTime<Utc>) -> Result<(), DbErr> {
    outbox::ActiveModel {
        id: NotSet,
        application_id: Set(m.application_id.map(str::to_string)),
        recipient: Set(m.recipient.to_string()),
        lang: Set(m.lang.to_string()),
        template: Set(m.template.to_string()),
        subject: Set(m.subject),
        body_text: Set(m.body_text),
        body_html: Set(m.body_html),
        status: Set("pending".into()),
        attempts: Set(0),
        next_attempt_at: Set(now),
        last_error: Set(None),
        created_at: Set(now),
        sent_at: Set(None),
    }
    .insert(conn)
    .await?;
    Ok(())
}

/// Claims up to `batch` due messages until `lease_until`: pending ones whose time has come and
/// ones a process claimed but did not finish within its lease (it died). `FOR UPDATE SKIP
/// LOCKED` on PostgreSQL lets several instances claim side by side. A try counts when it starts.
pub async fn claim(
    conn: &impl ConnectionTrait,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    batch: u64,
) -> Result<Vec<outbox::Model>, DbErr> {
    let due = Condition::any()
        .add(Expr::col(outbox::Column::Status).eq("pending").and(Expr::col(outbox::Column::NextAttemptAt).lte(now)))
        .add(Expr::col(outbox::Column::Status).eq("sending").and(Expr::col(outbox::Column::NextAttemptAt).lte(now)));
    let sub = Query::select()
        .column(outbox::Column::Id)
        .from(outbox::Entity)
        .cond_where(due)
        .order_by(outbox::Column::Id, Order::Asc)
        .limit(batch)
        .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
        .to_owned();
    let mut claimed = outbox::Entity::update_many()
        .col_expr(outbox::Column::Status, Expr::value("sending"))
        .col_expr(outbox::Column::NextAttemptAt, Expr::value(lease_until))
        .col_expr(outbox::Column::Attempts, Expr::col(outbox::Column::Attempts).add(1))
        .filter(outbox::Column::Id.in_subquery(sub))
        .exec_with_returning(conn)
        .await?;
    claimed.sort_by_key(|m| m.id);
    Ok(claimed)
}

/// Moves a claimed message's lease from `held` to `until`: `false` when the claim is no
/// longer this one's.
pub async fn renew(
    conn: &impl ConnectionTrait,
    id: i64,
    held: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let res = outbox::Entity::update_many()
        .col_expr(outbox::Column::NextAttemptAt, Expr::value(until))
        .filter(outbox::Column::Id.eq(id))
        .filter(outbox::Column::Status.eq("sending"))
        .filter(outbox::Column::NextAttemptAt.eq(held))
        .exec(conn)
        .await?;
    Ok(res.rows_affected == 1)
}

/// What became of a try.
#[derive(Debug, Clone)]
pub enum Outcome {
    Sent {
        at: DateTime<Utc>,
    },
    /// Failed: to be tried again at `next` (status `pending`) or given up (`failed`).
    Failed {
        error: String,
        next: DateTime<Utc>,
        give_up: bool,
    },
}

/// Writes a try's outcome while the claim held until `lease` is still this one's.
pub async fn finish(
    conn: &impl ConnectionTrait,
    id: i64,
    lease: DateTime<Utc>,
    attempts: i32,
    outcome: Outcome,
) -> Result<(), DbErr> {
    let update = outbox::Entity::update_many()
        .filter(outbox::Column::Id.eq(id))
        .filter(outbox::Column::Status.eq("sending"))
        .filter(outbox::Column::NextAttemptAt.eq(lease))
        .col_expr(outbox::Column::Attempts, Expr::value(attempts));
    match outcome {
        Outcome::Sent { at } => {
            update
                .col_expr(outbox::Column::Status, Expr::value("sent"))
                .col_expr(outbox::Column::SentAt, Expr::value(at))
                .exec(conn)
                .await?;
        }
        Outcome::Failed { error, next, give_up } => {
            update
                .col_expr(outbox::Column::Status, Expr::value(if give_up { "failed" } else { "pending" }))
                .col_expr(outbox::Column::LastError, Expr::value(error))
                .col_expr(outbox::Column::NextAttemptAt, Expr::value(next))
                .exec(conn)
                .await?;
        }
    }
    Ok(())
}

/// The newest `limit` messages, of one status when given.
pub async fn list(conn: &impl ConnectionTrait, status: Option<&str>, limit: u64) -> Result<Vec<outbox::Model>, DbErr> {
    let mut q = outbox::Entity::find();
    if let Some(s) = status {
        q = q.filter(outbox::Column::Status.eq(s));
    }
    q.order_by_desc(outbox::Column::Id).limit(limit).all(conn).await
}

/// Puts a failed message back in the queue for a fresh set of tries: `false` when it is not
/// a failed message.
pub async fn retry(conn: &impl ConnectionTrait, id: i64, now: DateTime<Utc>) -> Result<bool, DbErr> {
    let res = outbox::Entity::update_many()
        .col_expr(outbox::Column::Status, Expr::value("pending"))
        .col_expr(outbox::Column::Attempts, Expr::value(0))
        .col_expr(outbox::Column::NextAttemptAt, Expr::value(now))
        .filter(outbox::Column::Id.eq(id))
        .filter(outbox::Column::Status.eq("failed"))
        .exec(conn)
        .await?;
    Ok(res.rows_affected == 1)
}

/// A message.
pub async fn find(conn: &impl ConnectionTrait, id: i64) -> Result<Option<outbox::Model>, DbErr> {
    outbox::Entity::find_by_id(id).one(conn).await
}
