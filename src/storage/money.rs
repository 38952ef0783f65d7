//! Money: yearly budgets in fen under a CHECK that keeps them from going negative, each
//! application's reservation against a budget, and award claims held once per enterprise.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ActiveValue::NotSet, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    Set,
};

use super::entities::{application, award_claim, budget, budget_entry};

/// A budget of a year.
pub async fn budget(conn: &impl ConnectionTrait, key: &str, year: i32) -> Result<Option<budget::Model>, DbErr> {
    budget::Entity::find().filter(budget::Column::Key.eq(key)).filter(budget::Column::Year.eq(year)).one(conn).await
}

/// Every budget, by key and year.
pub async fn budgets(conn: &impl ConnectionTrait) -> Result<Vec<budget::Model>, DbErr> {
    budget::Entity::find().order_by_asc(budget::Column::Key).order_by_asc(budget::Column::Year).all(conn).await
}

/// A new budget.
pub async fn insert_budget(conn: &impl ConnectionTrait, key: &str, year: i32, total_fen: i64) -> Result<(), DbErr> {
    budget::ActiveModel {
        id: NotSet,
        key: Set(key.to_string()),
        year: Set(year),
        total_fen: Set(total_fen),
        reserved_fen: Set(0),
        spent_fen: Set(0),
    }
    .insert(conn)
    .await?;
    Ok(())
}

/// Sets a budget's total (the CHECK refuses one below what is reserved and spent).
pub async fn set_total(conn: &impl ConnectionTrait, id: i64, total_fen: i64) -> Result<(), DbErr> {
    budget::Entity::update_many()
        .col_expr(budget::Column::TotalFen, Expr::value(total_fen))
        .filter(budget::Column::Id.eq(id))
        .exec(conn)
        .await?;
    Ok(())
}

/// Reserves `fen` of a budget in one conditional statement: `false` when the budget does not
/// exist or has less left.
pub async fn reserve(conn: &impl ConnectionTrait, key: &str, year: i32, fen: i64) -> Result<bool, DbErr> {
    let res = budget::Entity::update_many()
        .col_expr(budget::Column::ReservedFen, Expr::col(budget::Column::ReservedFen).add(fen))
        .filter(budget::Column::Key.eq(key))
        .filter(budget::Column::Year.eq(year))
        .filter(
            Expr::col(budget::Column::ReservedFen)
                .add(Expr::col(budget::Column::SpentFen))
                .add(fen)
                .lte(Expr::col(budget::Column::TotalFen)),
        )
        .exec(conn)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Records an application's reservation (UNIQUE per application and budget).
pub async fn insert_entry(
    conn: &impl ConnectionTrait,
    app: &application::Model,
    key: &str,
    year: i32,
    fen: i64,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    budget_entry::ActiveModel {
        id: NotSet,
        budget_key: Set(key.to_string()),
        year: Set(year),
        application_id: Set(app.id.clone()),
        enterprise_id: Set(app.enterprise_id.clone()),
        amount_fen: Set(fen),
        status: Set("reserved".into()),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(conn)
    .await?;
    Ok(())
}

/// The application's open reservation of a budget.
pub async fn reserved_entry(
    conn: &impl ConnectionTrait,
    app_id: &str,
    key: &str,
) -> Result<Option<budget_entry::Model>, DbErr> {
    budget_entry::Entity::find()
        .filter(budget_entry::Column::ApplicationId.eq(app_id))
        .filter(budget_entry::Column::BudgetKey.eq(key))
        .filter(budget_entry::Column::Status.eq("reserved"))
        .one(conn)
        .await
}

/// Settles a reservation: `spent` moves it from reserved to spent, `released` gives it back.
pub async fn settle(
    conn: &impl ConnectionTrait,
    entry: &budget_entry::Model,
    to: &str,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let mut update = budget::Entity::update_many()
        .col_expr(budget::Column::ReservedFen, Expr::col(budget::Column::ReservedFen).sub(entry.amount_fen));
    if to == "spent" {
        update = update.col_expr(budget::Column::SpentFen, Expr::col(budget::Column::SpentFen).add(entry.amount_fen));
    }
    update
        .filter(budget::Column::Key.eq(&entry.budget_key))
        .filter(budget::Column::Year.eq(entry.year))
        .exec(conn)
        .await?;
    budget_entry::Entity::update_many()
        .col_expr(budget_entry::Column::Status, Expr::value(to))
        .col_expr(budget_entry::Column::UpdatedAt, Expr::value(now))
        .filter(budget_entry::Column::Id.eq(entry.id))
        .exec(conn)
        .await?;
    Ok(())
}

/// Claims an award for the application's enterprise (UNIQUE per enterprise and award).
pub async fn claim(
    conn: &impl ConnectionTrait,
    app: &application::Model,
    award: &str,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    award_claim::ActiveModel {
        id: NotSet,
        enterprise_id: Set(app.enterprise_id.clone()),
        award: Set(award.to_string()),
        application_id: Set(app.id.clone()),
        created_at: Set(now),
    }
    .insert(conn)
    .await?;
    Ok(())
}

/// Gives back the application's claim of an award.
pub async fn unclaim(conn: &impl ConnectionTrait, app_id: &str, award: &str) -> Result<(), DbErr> {
    award_claim::Entity::delete_many()
        .filter(award_claim::Column::ApplicationId.eq(app_id))
        .filter(award_claim::Column::Award.eq(award))
        .exec(conn)
        .await?;
    Ok(())
}
