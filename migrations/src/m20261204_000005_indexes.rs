// Indexes that keep a transition's cost flat as an enterprise's history grows.
//
// * certifications (enterprise_id, kind, status) replaces (enterprise_id, kind): a grant
//   supersedes the active certification of its kind, and an enterprise that has held a kind many
//   times must not make that statement walk every superseded one.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Certifications {
    Table,
    EnterpriseId,
    Kind,
    Status,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop().name("idx_certifications_enterprise_id_kind").table(Certifications::Table).to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_certifications_enterprise_kind_status")
                    .table(Certifications::Table)
                    .col(Certifications::EnterpriseId)
                    .col(Certifications::Kind)
                    .col(Certifications::Status)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop().name("idx_certifications_enterprise_kind_status").table(Certifications::Table).to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_certifications_enterprise_id_kind")
                    .table(Certifications::Table)
                    .col(Certifications::EnterpriseId)
                    .col(Certifications::Kind)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }
}
