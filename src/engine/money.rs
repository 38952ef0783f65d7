//! Money effects: budgets reserved, spent and released in fen under a database CHECK that keeps
//! every budget from going negative, and award claims held once per enterprise by a UNIQUE
//! constraint. Each runs inside the transition's transaction: a refusal rolls the whole
//! transition back.

use chrono::{DateTime, Datelike, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ActiveValue::NotSet, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction,
    EntityTrait, QueryFilter, QueryOrder, Set, SqlErr,
};
use serde::Serialize;

use super::Engine;
use crate::domain::access::Actor;
use crate::domain::budget::{fen_to_yuan, yuan_to_fen};
use crate::domain::calendar::china_offset;
use crate::domain::role::Role;
use crate::error::{AppError, t};
use crate::storage::entities::{application, award_claim, budget, budget_entry};

fn refused(zh: String, en: String) -> AppError {
    AppError::rule(t("资金规则不允许", "a money rule refuses this"), vec![t(&zh, &en)])
}

/// A budget as finance sees it, in yuan.
#[derive(Debug, Clone, Serialize)]
pub struct BudgetView {
    pub key: String,
    pub title: Option<crate::domain::text::Text>,
    pub year: i32,
    pub total: String,
    pub reserved: String,
    pub spent: String,
    pub left: String,
}

impl Engine {
    /// Brings the budgets table in line with `budgets.yaml` (new years added, totals changed);
    /// a total below what is already reserved and spent is refused by the database.
    pub async fn sync_budgets(&self, db: &DatabaseConnection) -> anyhow::Result<()> {
        for b in &self.defs.budgets {
            for (year, total) in &b.years {
                let existing = budget::Entity::find()
                    .filter(budget::Column::Key.eq(&b.key))
                    .filter(budget::Column::Year.eq(*year))
                    .one(db)
                    .await?;
                match existing {
                    None => {
                        budget::ActiveModel {
                            id: NotSet,
                            key: Set(b.key.clone()),
                            year: Set(*year),
                            total_fen: Set(*total),
                            reserved_fen: Set(0),
                            spent_fen: Set(0),
                        }
                        .insert(db)
                        .await?;
                    }
                    Some(row) if row.total_fen != *total => {
                        budget::Entity::update_many()
                            .col_expr(budget::Column::TotalFen, Expr::value(*total))
                            .filter(budget::Column::Id.eq(row.id))
                            .exec(db)
                            .await
                            .map_err(|e| {
                                anyhow::anyhow!(
                                    "budget {} {year}: the new total {} is below what is already reserved and spent ({}): {e}",
                                    b.key,
                                    fen_to_yuan(*total),
                                    fen_to_yuan(row.reserved_fen + row.spent_fen)
                                )
                            })?;
                    }
                    Some(_) => {}
                }
            }
        }
        Ok(())
    }

    /// The `reserve` effect.
    pub(super) async fn reserve(
        &self,
        txn: &DatabaseTransaction,
        app: &application::Model,
        key: &str,
        amount: &str,
        year: Option<i32>,
        now: DateTime<Utc>,
    ) -> Result<(), AppError> {
        let fen = yuan_to_fen(amount).map_err(|e| refused(format!("金额无效：{e}"), format!("invalid amount: {e}")))?;
        if fen == 0 {
            return Err(refused("金额须大于零".into(), "the amount must be above zero".into()));
        }
        let year = year.unwrap_or_else(|| now.with_timezone(&china_offset()).year());
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
            .exec(txn)
            .await?;
        if res.rows_affected == 0 {
            let left = budget::Entity::find()
                .filter(budget::Column::Key.eq(key))
                .filter(budget::Column::Year.eq(year))
                .one(txn)
                .await?
                .map(|b| b.total_fen - b.reserved_fen - b.spent_fen);
            return Err(match left {
                None => refused(format!("{year} 年没有预算 {key}"), format!("there is no {year} budget `{key}`")),
                Some(l) => refused(
                    format!("{year} 年预算 {key} 仅剩 ¥{}，不足 ¥{}", fen_to_yuan(l), fen_to_yuan(fen)),
                    format!("the {year} budget `{key}` has only ¥{} left, not ¥{}", fen_to_yuan(l), fen_to_yuan(fen)),
                ),
            });
        }
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
        .insert(txn)
        .await
        .map_err(|e| match e.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(_)) => refused(
                "本申请已预留过该预算".into(),
                format!("this application already holds a reservation of `{key}`"),
            ),
            _ => e.into(),
        })?;
        Ok(())
    }

    /// The `spend` effect (`to = "spent"`) and the `release` effect (`to = "released"`).
    pub(super) async fn settle(
        &self,
        txn: &DatabaseTransaction,
        app: &application::Model,
        key: &str,
        to: &str,
        now: DateTime<Utc>,
    ) -> Result<(), AppError> {
        let entry = budget_entry::Entity::find()
            .filter(budget_entry::Column::ApplicationId.eq(&app.id))
            .filter(budget_entry::Column::BudgetKey.eq(key))
            .filter(budget_entry::Column::Status.eq("reserved"))
            .one(txn)
            .await?;
        let Some(entry) = entry else {
            return if to == "spent" {
                Err(refused(
                    format!("本申请没有预留预算 {key}"),
                    format!("this application holds no reservation of `{key}`"),
                ))
            } else {
                Ok(())
            };
        };
        let mut update = budget::Entity::update_many()
            .col_expr(budget::Column::ReservedFen, Expr::col(budget::Column::ReservedFen).sub(entry.amount_fen));
        if to == "spent" {
            update =
                update.col_expr(budget::Column::SpentFen, Expr::col(budget::Column::SpentFen).add(entry.amount_fen));
        }
        update.filter(budget::Column::Key.eq(key)).filter(budget::Column::Year.eq(entry.year)).exec(txn).await?;
        budget_entry::Entity::update_many()
            .col_expr(budget_entry::Column::Status, Expr::value(to))
            .col_expr(budget_entry::Column::UpdatedAt, Expr::value(now))
            .filter(budget_entry::Column::Id.eq(entry.id))
            .exec(txn)
            .await?;
        Ok(())
    }

    /// The `claim` effect.
    pub(super) async fn claim_award(
        &self,
        txn: &DatabaseTransaction,
        app: &application::Model,
        award: &str,
        now: DateTime<Utc>,
    ) -> Result<(), AppError> {
        award_claim::ActiveModel {
            id: NotSet,
            enterprise_id: Set(app.enterprise_id.clone()),
            award: Set(award.to_string()),
            application_id: Set(app.id.clone()),
            created_at: Set(now),
        }
        .insert(txn)
        .await
        .map_err(|e| match e.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(_)) => refused(
                format!("该企业已获得过“{award}”，同一奖励只发放一次"),
                format!("the enterprise has already received `{award}`; an award is given once"),
            ),
            _ => e.into(),
        })?;
        Ok(())
    }

    /// The `unclaim` effect.
    pub(super) async fn unclaim_award(
        &self,
        txn: &impl ConnectionTrait,
        app: &application::Model,
        award: &str,
    ) -> Result<(), AppError> {
        award_claim::Entity::delete_many()
            .filter(award_claim::Column::ApplicationId.eq(&app.id))
            .filter(award_claim::Column::Award.eq(award))
            .exec(txn)
            .await?;
        Ok(())
    }

    /// `GET /api/budgets`: finance, admins and auditors.
    pub async fn budgets(&self, actor: &Actor) -> Result<Vec<BudgetView>, AppError> {
        if !(actor.has_role(Role::Finance) || actor.has_role(Role::Admin) || actor.has_role(Role::Auditor)) {
            return Err(AppError::Forbidden(t(
                "仅财务、管理员和审计员可查看预算",
                "only finance, administrators and auditors may see budgets",
            )));
        }
        let rows = budget::Entity::find()
            .order_by_asc(budget::Column::Key)
            .order_by_asc(budget::Column::Year)
            .all(&self.db)
            .await?;
        Ok(rows
            .into_iter()
            .map(|b| BudgetView {
                title: self.defs.budgets.iter().find(|d| d.key == b.key).map(|d| d.title.clone()),
                key: b.key,
                year: b.year,
                total: fen_to_yuan(b.total_fen),
                reserved: fen_to_yuan(b.reserved_fen),
                spent: fen_to_yuan(b.spent_fen),
                left: fen_to_yuan(b.total_fen - b.reserved_fen - b.spent_fen),
            })
            .collect())
    }
}
