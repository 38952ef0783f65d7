//! Timers of application visits: the set-based changes entering a state makes.

use sea_orm::sea_query::Expr;
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
