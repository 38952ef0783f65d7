// Time and notifications.
//
// * `certification_notices` remembers which expiry reminder (90 or 30 days before) was sent for
//   which certification. The UNIQUE (certification_id, notice) pair is what makes a reminder go
//   out once, however many server instances run the daily job at the same moment: the losing
//   insert fails and its transaction (with its outbox rows) rolls back.
// * `timers.remaining_ms` holds what was left of a paused statutory clock (a review clock stops
//   while the applicant rectifies); a paused timer has status `paused` and is not due.
// * An index on certifications (status, valid_until) keeps the expiry sweep from reading every
//   certification ever granted.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum CertificationNotices {
    Table,
    Id,
    CertificationId,
    Notice,
    At,
}

#[derive(DeriveIden)]
enum Timers {
    Table,
    RemainingMs,
}

#[derive(DeriveIden)]
enum Certifications {
    Table,
    Status,
    ValidUntil,
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
                    .table(CertificationNotices::Table)
                    .col(big_pk_auto(CertificationNotices::Id))
                    .col(string(CertificationNotices::CertificationId))
                    .col(string(CertificationNotices::Notice))
                    .col(timestamp_with_time_zone(CertificationNotices::At))
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_certification_notices_certification_id_notice")
                    .table(CertificationNotices::Table)
                    .col(CertificationNotices::CertificationId)
                    .col(CertificationNotices::Notice)
                    .unique()
                    .take(),
            )
            .await?;
        manager
            .alter_table(Table::alter().table(Timers::Table).add_column(big_integer_null(Timers::RemainingMs)).take())
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_certifications_status_valid_until")
                    .table(Certifications::Table)
                    .col(Certifications::Status)
                    .col(Certifications::ValidUntil)
                    .take(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop().name("idx_certifications_status_valid_until").table(Certifications::Table).to_owned(),
            )
            .await?;
        manager.alter_table(Table::alter().table(Timers::Table).drop_column(Timers::RemainingMs).take()).await?;
        manager.drop_table(Table::drop().table(CertificationNotices::Table).take()).await?;
        Ok(())
    }
}
