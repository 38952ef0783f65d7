//! Money effects: budgets reserved, spent and released in fen under a database CHECK that keeps
//! every budget from going negative, and award claims held once per enterprise by a UNIQUE
//! constraint. Each runs inside the transition's transaction: a refusal rolls the whole
//! transition back.

use chrono::{DateTime, Datelike, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, DatabaseTransaction};
use serde::Serialize;

use super::Engine;
use crate::domain::access::Actor;
use crate::domain::budget::{fen_to_yuan, yuan_to_fen};
use crate::domain::calendar::china_offset;
use crate::domain::role::Role;
use crate::error::{AppError, t};
use crate::storage::entities::application;
use crate::storage::{is_unique_violation, money as store};

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
                match store::budget(db, &b.key, *year).await? {
                    None => store::insert_budget(db, &b.key, *year, *total).await?,
                    Some(row) if row.total_fen != *total => {
                        store::set_total(db, row.id, *total).await.map_err(|e| {
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
        if !store::reserve(txn, key, year, fen).await? {
            let left = store::budget(txn, key, year).await?.map(|b| b.total_fen - b.reserved_fen - b.spent_fen);
            return Err(match left {
                None => refused(format!("{year} 年没有预算 {key}"), format!("there is no {year} budget `{key}`")),
                Some(l) => refused(
                    format!("{year} 年预算 {key} 仅剩 ¥{}，不足 ¥{}", fen_to_yuan(l), fen_to_yuan(fen)),
                    format!("the {year} budget `{key}` has only ¥{} left, not ¥{}", fen_to_yuan(l), fen_to_yuan(fen)),
                ),
            });
        }
        store::insert_entry(txn, app, key, year, fen, now).await.map_err(|e| {
            if is_unique_violation(&e) {
                refused(
                    "本申请已预留过该预算".into(),
                    format!("this application already holds a reservation of `{key}`"),
                )
            } else {
                e.into()
            }
        })
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
        let Some(entry) = store::reserved_entry(txn, &app.id, key).await? else {
            return if to == "spent" {
                Err(refused(
                    format!("本申请没有预留预算 {key}"),
                    format!("this application holds no reservation of `{key}`"),
                ))
            } else {
                Ok(())
            };
        };
        Ok(store::settle(txn, &entry, to, now).await?)
    }

    /// The `claim` effect.
    pub(super) async fn claim_award(
        &self,
        txn: &DatabaseTransaction,
        app: &application::Model,
        award: &str,
        now: DateTime<Utc>,
    ) -> Result<(), AppError> {
        store::claim(txn, app, award, now).await.map_err(|e| {
            if is_unique_violation(&e) {
                refused(
                    format!("该企业已获得过“{award}”，同一奖励只发放一次"),
                    format!("the enterprise has already received `{award}`; an award is given once"),
                )
            } else {
                e.into()
            }
        })
    }

    /// The `unclaim` effect.
    pub(super) async fn unclaim_award(
        &self,
        txn: &impl ConnectionTrait,
        app: &application::Model,
        award: &str,
    ) -> Result<(), AppError> {
        Ok(store::unclaim(txn, &app.id, award).await?)
    }

    /// `GET /api/budgets`: finance, admins and auditors.
    pub async fn budgets(&self, actor: &Actor) -> Result<Vec<BudgetView>, AppError> {
        if !(actor.has_role(Role::Finance) || actor.has_role(Role::Admin) || actor.has_role(Role::Auditor)) {
            return Err(AppError::Forbidden(t(
                "仅财务、管理员和审计员可查看预算",
                "only finance, administrators and auditors may see budgets",
            )));
        }
        Ok(store::budgets(&self.db)
            .await?
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
