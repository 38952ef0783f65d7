// Money: yearly budgets, the reservations rewards make against them, and award claims.
//
// * Amounts are integer fen (分) in BIGINT columns: exact on both backends (sea-orm would keep a
//   DECIMAL as a float on SQLite).
// * `budgets` carries a CHECK that reserved plus spent never exceeds the total, so no code path
//   and no race can drive a budget negative: a reservation is one conditional UPDATE, and the
//   database refuses what would break the rule.
// * `budget_entries` records each application's reservation (reserved → spent, or released on
//   cancellation); UNIQUE (application_id, budget_key) keeps one per application and budget.
// * `award_claims` makes "at most once per enterprise and award" a constraint: UNIQUE
//   (enterprise_id, award). A cancelled reward gives its claim back by deleting the row.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Budgets {
    Table,
    Id,
    Key,
    Year,
    TotalFen,
    ReservedFen,
    SpentFen,
}

#[derive(DeriveIden)]
enum BudgetEntries {
    Table,
    Id,
    BudgetKey,
    Year,
    ApplicationId,
    EnterpriseId,
    AmountFen,
    Status,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum AwardClaims {
    Table,
    Id,
    EnterpriseId,
    Award,
    ApplicationId,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Budgets::Table)
                    .col(big_pk_auto(Budgets::Id))
                    .col(string(Budgets::Key))
                    .col(integer(Budgets::Year))
                    .col(big_integer(Budgets::TotalFen))
                    .col(big_integer(Budgets::ReservedFen).default(0))
                    .col(big_integer(Budgets::SpentFen).default(0))
                    .check(
                        Expr::col(Budgets::ReservedFen).gte(0).and(Expr::col(Budgets::SpentFen).gte(0)).and(
                            Expr::col(Budgets::ReservedFen)
                                .add(Expr::col(Budgets::SpentFen))
                                .lte(Expr::col(Budgets::TotalFen)),
                        ),
                    )
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_budgets_key_year")
                    .table(Budgets::Table)
                    .col(Budgets::Key)
                    .col(Budgets::Year)
                    .unique()
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(BudgetEntries::Table)
                    .col(big_pk_auto(BudgetEntries::Id))
                    .col(string(BudgetEntries::BudgetKey))
                    .col(integer(BudgetEntries::Year))
                    .col(string(BudgetEntries::ApplicationId))
                    .col(string(BudgetEntries::EnterpriseId))
                    .col(big_integer(BudgetEntries::AmountFen))
                    .col(string(BudgetEntries::Status))
                    .col(timestamp_with_time_zone(BudgetEntries::CreatedAt))
                    .col(timestamp_with_time_zone(BudgetEntries::UpdatedAt))
                    .check(Expr::col(BudgetEntries::AmountFen).gt(0))
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_budget_entries_application_id_budget_key")
                    .table(BudgetEntries::Table)
                    .col(BudgetEntries::ApplicationId)
                    .col(BudgetEntries::BudgetKey)
                    .unique()
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AwardClaims::Table)
                    .col(big_pk_auto(AwardClaims::Id))
                    .col(string(AwardClaims::EnterpriseId))
                    .col(string(AwardClaims::Award))
                    .col(string(AwardClaims::ApplicationId))
                    .col(timestamp_with_time_zone(AwardClaims::CreatedAt))
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_award_claims_enterprise_id_award")
                    .table(AwardClaims::Table)
                    .col(AwardClaims::EnterpriseId)
                    .col(AwardClaims::Award)
                    .unique()
                    .take(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(AwardClaims::Table).take()).await?;
        manager.drop_table(Table::drop().table(BudgetEntries::Table).take()).await?;
        manager.drop_table(Table::drop().table(Budgets::Table).take()).await?;
        Ok(())
    }
}
