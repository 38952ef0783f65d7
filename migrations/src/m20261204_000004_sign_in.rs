// Sign-in throttling that holds under parallel guessing and says nothing about who exists.
//
// * `sign_in_throttle` counts failed sign-ins per key: one row for an e-mail address as typed
//   (whether or not an account has it, so an unknown address is answered like a known one) and
//   one for the address together with the client's network address. A sign-in reserves its try
//   with one conditional UPDATE (or INSERT) on the count it read, so parallel guesses cannot all
//   pass on a stale count: each try is counted before its password is checked.
// * `users.failed_logins` and `users.locked_until` are superseded by it and dropped.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum SignInThrottle {
    Table,
    Key,
    Email,
    Failures,
    BlockedUntil,
    LastFailureAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    FailedLogins,
    LockedUntil,
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
                    .table(SignInThrottle::Table)
                    .col(text(SignInThrottle::Key).primary_key())
                    .col(text(SignInThrottle::Email))
                    .col(integer(SignInThrottle::Failures))
                    .col(timestamp_with_time_zone_null(SignInThrottle::BlockedUntil))
                    .col(timestamp_with_time_zone(SignInThrottle::LastFailureAt))
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_sign_in_throttle_email")
                    .table(SignInThrottle::Table)
                    .col(SignInThrottle::Email)
                    .to_owned(),
            )
            .await?;
        manager.alter_table(Table::alter().table(Users::Table).drop_column(Users::FailedLogins).take()).await?;
        manager.alter_table(Table::alter().table(Users::Table).drop_column(Users::LockedUntil).take()).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(Table::alter().table(Users::Table).add_column(integer(Users::FailedLogins).default(0)).take())
            .await?;
        manager
            .alter_table(
                Table::alter().table(Users::Table).add_column(timestamp_with_time_zone_null(Users::LockedUntil)).take(),
            )
            .await?;
        manager.drop_table(Table::drop().table(SignInThrottle::Table).take()).await?;
        Ok(())
    }
}
