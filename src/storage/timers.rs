//! Timers of application visits: the set-based changes entering a state makes, and the sweep's
//! claims under a lease.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Condition, Expr, ExprTrait, LockBehavior, LockType, Order, Query};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};

use super::entities::timer;

/// Cancels every pending or paused timer of the application's visits before `visit`, in one
/// statement.
pub async fn cancel_earlier(conn: &impl ConnectionTrait, app_id: &str, visit: i32) -> Result<u64, DbErr> {
    Ok(timer::Entity::update_many()
        .col_expr(timer::Column::Status, Expr::value("cancelled"))
        .filter(timer::Column::ApplicationId.eq(app_id))
        .filter(timer::Column::Status.is_in(["pending", "paused"]))
        .filter(timer::Column::Visit.lt(visit))
        .exec(conn)
        .await?
        .rows_affected)
}

/// Claims up to `batch` due timers until `lease_until`: pending ones that fell due and running
/// ones whose claim ran out (their process died). `FOR UPDATE SKIP LOCKED` on PostgreSQL lets
/// several instances claim side by side. In due order, so a reminder precedes its deadline.
pub async fn claim(
    conn: &impl ConnectionTrait,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    batch: u64,
) -> Result<Vec<timer::Model>, DbErr> {
    let due = Condition::any()
        .add(Expr::col(timer::Column::Status).eq("pending").and(Expr::col(timer::Column::DueAt).lte(now)))
        .add(Expr::col(timer::Column::Status).eq("running").and(Expr::col(timer::Column::LockedUntil).lt(now)));
    let sub = Query::select()
        .column(timer::Column::Id)
        .from(timer::Entity)
        .cond_where(due)
        .order_by(timer::Column::DueAt, Order::Asc)
        .limit(batch)
        .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
        .to_owned();
    let mut claimed = timer::Entity::update_many()
        .col_expr(timer::Column::Status, Expr::value("running"))
        .col_expr(timer::Column::LockedUntil, Expr::value(lease_until))
        .col_expr(timer::Column::Attempts, Expr::col(timer::Column::Attempts).add(1))
        .filter(timer::Column::Id.in_subquery(sub))
        .exec_with_returning(conn)
        .await?;
    claimed.sort_by_key(|t| (t.due_at, t.id));
    Ok(claimed)
}

/// Closes a claimed timer with `status`, only while the claim is still the one that was
/// made: `false` when another process has taken it over.
pub async fn close(conn: &impl ConnectionTrait, tm: &timer::Model, status: &str) -> Result<bool, DbErr> {
    let res = timer::Entity::update_many()
        .col_expr(timer::Column::Status, Expr::value(status))
        .filter(timer::Column::Id.eq(tm.id))
        .filter(timer::Column::Status.eq("running"))
        .filter(timer::Column::LockedUntil.eq(tm.locked_until))
        .exec(conn)
        .await?;
    Ok(res.rows_affected == 1)
}
