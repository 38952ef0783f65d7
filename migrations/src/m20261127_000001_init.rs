// Initial schema for certflow.
//
// Why the schema looks the way it does:
//
// * One schema for SQLite and PostgreSQL. Only column types that both backends
//   (and sqlx's codecs) handle the same way are used: VARCHAR/TEXT, INTEGER,
//   BIGINT, BOOLEAN and TIMESTAMP WITH TIME ZONE (SQLite stores the latter as
//   RFC 3339 text). JSON documents (enterprise profile, application
//   data/score, history data) are stored as TEXT and (de)serialised by the
//   application. That avoids any JSON vs. JSONB vs. TEXT difference in
//   behaviour between the backends.
// * Business records (enterprises, users, applications, certifications,
//   attachments) have application-generated text ids (UUIDs), so an id is
//   known before the INSERT. The human-readable application number is a
//   separate UNIQUE column. Append-only or internal rows (history, votes,
//   timers, outbox, idempotency keys, role grants) use BIGINT auto-increment
//   keys, which also give a cheap insertion order.
// * Timestamps are always written by the application, in UTC. There are no
//   server-side `now()` defaults: the two backends produce different values
//   and formats, and the stored value must be exactly the one the application
//   used (e.g. when it goes into the history hash chain).
// * Rules that must hold under concurrency are UNIQUE constraints, so the
//   database rejects a losing writer on both backends:
//     - history (application_id, seq): two concurrent transitions cannot both
//       append the same step of an application's hash chain;
//     - votes (application_id, visit, actor_id): one vote per reviewer per
//       visit of a state (re-entering a state starts a new visit);
//     - idempotency_keys (user_id, key): a replayed request collides;
//     - users.email, enterprises.uscc, applications.number.
//   `applications.version` is a row version for optimistic locking
//   (UPDATE ... WHERE version = ?), which behaves the same on both backends.
// * Indexes follow the expected hot queries: worklists by (workflow, state),
//   an enterprise's applications, due/overdue scans by due_at, child
//   applications by parent_id, the timer and outbox pollers by
//   (status, due time), and certification look-ups by (enterprise_id, kind).
// * No FOREIGN KEY constraints. SQLite cannot add or change a foreign key
//   without rebuilding the table, and whether it enforces one at all depends
//   on a per-connection PRAGMA. Leaving them out keeps both backends the same
//   and leaves later migrations free to change relationships. The storage
//   layer writes related rows inside one transaction.
// * Status-like columns (state, status, kind, role) are plain strings. Their
//   values come from workflow definitions or are small closed sets checked in
//   Rust. Avoiding native ENUM types keeps both backends the same.
// * The migration runs in a transaction on both backends (`use_transaction`),
//   so a failure half-way on SQLite does not leave a partial schema behind.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Enterprises {
    Table,
    Id,
    Uscc,
    Name,
    District,
    Profile,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Email,
    PasswordHash,
    Name,
    EnterpriseId,
    Lang,
    FailedLogins,
    LockedUntil,
    Active,
    CreatedAt,
}

#[derive(DeriveIden)]
enum UserRoles {
    Table,
    Id,
    UserId,
    Role,
    Jurisdiction,
}

#[derive(DeriveIden)]
enum Applications {
    Table,
    Id,
    Number,
    Workflow,
    WorkflowVersion,
    EnterpriseId,
    District,
    State,
    IsFinal,
    Data,
    Score,
    Version,
    Visit,
    ParentId,
    CreatedBy,
    StateEnteredAt,
    DueAt,
    HeadHash,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum History {
    Table,
    Id,
    ApplicationId,
    Seq,
    Action,
    FromState,
    ToState,
    ActorId,
    ActorName,
    Comment,
    Data,
    At,
    PrevHash,
    Hash,
}

#[derive(DeriveIden)]
enum Votes {
    Table,
    Id,
    ApplicationId,
    Visit,
    Action,
    ActorId,
    At,
}

#[derive(DeriveIden)]
enum Timers {
    Table,
    Id,
    ApplicationId,
    Visit,
    Kind,
    Action,
    Template,
    Target,
    DueAt,
    Status,
    LockedUntil,
    Attempts,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Certifications {
    Table,
    Id,
    EnterpriseId,
    Kind,
    ApplicationId,
    Status,
    GrantedAt,
    ValidUntil,
    RevokedAt,
}

#[derive(DeriveIden)]
enum Attachments {
    Table,
    Id,
    ApplicationId,
    Field,
    Filename,
    ContentType,
    Size,
    Sha256,
    StoragePath,
    UploadedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum IdempotencyKeys {
    Table,
    Id,
    UserId,
    Key,
    RequestHash,
    Status,
    Body,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Outbox {
    Table,
    Id,
    ApplicationId,
    Recipient,
    Lang,
    Template,
    Subject,
    BodyText,
    BodyHtml,
    Status,
    Attempts,
    NextAttemptAt,
    LastError,
    CreatedAt,
    SentAt,
}

#[derive(DeriveIden)]
enum KvSettings {
    Table,
    Key,
    Value,
}

/// Text primary key (application-generated id).
fn text_pk<T: IntoIden>(col: T) -> ColumnDef {
    string(col).primary_key().take()
}

/// Builds a (possibly unique) index statement.
fn index<T, C>(name: &str, table: T, cols: C, unique: bool) -> IndexCreateStatement
where
    T: IntoIden + 'static,
    C: IntoIterator,
    C::Item: IntoIden + 'static,
{
    let mut idx = Index::create();
    idx.name(name).table(table);
    for col in cols {
        idx.col(col);
    }
    if unique {
        idx.unique();
    }
    idx.take()
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
                    .table(Enterprises::Table)
                    .col(text_pk(Enterprises::Id))
                    .col(string_uniq(Enterprises::Uscc))
                    .col(string(Enterprises::Name))
                    .col(string(Enterprises::District))
                    .col(text(Enterprises::Profile))
                    .col(timestamp_with_time_zone(Enterprises::CreatedAt))
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .col(text_pk(Users::Id))
                    .col(string_uniq(Users::Email))
                    .col(string(Users::PasswordHash))
                    .col(string(Users::Name))
                    .col(string_null(Users::EnterpriseId))
                    .col(string(Users::Lang).default("zh-CN"))
                    .col(integer(Users::FailedLogins).default(0))
                    .col(timestamp_with_time_zone_null(Users::LockedUntil))
                    .col(boolean(Users::Active).default(true))
                    .col(timestamp_with_time_zone(Users::CreatedAt))
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(UserRoles::Table)
                    .col(big_pk_auto(UserRoles::Id))
                    .col(string(UserRoles::UserId))
                    .col(string(UserRoles::Role))
                    .col(string_null(UserRoles::Jurisdiction))
                    .take(),
            )
            .await?;
        manager.create_index(index("idx_user_roles_user_id", UserRoles::Table, [UserRoles::UserId], false)).await?;

        manager
            .create_table(
                Table::create()
                    .table(Applications::Table)
                    .col(text_pk(Applications::Id))
                    .col(string_uniq(Applications::Number))
                    .col(string(Applications::Workflow))
                    .col(integer(Applications::WorkflowVersion))
                    .col(string(Applications::EnterpriseId))
                    .col(string(Applications::District))
                    .col(string(Applications::State))
                    .col(boolean(Applications::IsFinal))
                    .col(text(Applications::Data))
                    .col(text_null(Applications::Score))
                    .col(integer(Applications::Version))
                    .col(integer(Applications::Visit))
                    .col(string_null(Applications::ParentId))
                    .col(string_null(Applications::CreatedBy))
                    .col(timestamp_with_time_zone(Applications::StateEnteredAt))
                    .col(timestamp_with_time_zone_null(Applications::DueAt))
                    .col(string(Applications::HeadHash))
                    .col(timestamp_with_time_zone(Applications::CreatedAt))
                    .col(timestamp_with_time_zone(Applications::UpdatedAt))
                    .take(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_applications_enterprise_id",
                Applications::Table,
                [Applications::EnterpriseId],
                false,
            ))
            .await?;
        manager
            .create_index(index(
                "idx_applications_workflow_state",
                Applications::Table,
                [Applications::Workflow, Applications::State],
                false,
            ))
            .await?;
        manager
            .create_index(index("idx_applications_due_at", Applications::Table, [Applications::DueAt], false))
            .await?;
        manager
            .create_index(index("idx_applications_parent_id", Applications::Table, [Applications::ParentId], false))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(History::Table)
                    .col(big_pk_auto(History::Id))
                    .col(string(History::ApplicationId))
                    .col(integer(History::Seq))
                    .col(string(History::Action))
                    .col(string_null(History::FromState))
                    .col(string(History::ToState))
                    .col(string_null(History::ActorId))
                    .col(string(History::ActorName))
                    .col(text_null(History::Comment))
                    .col(text_null(History::Data))
                    .col(timestamp_with_time_zone(History::At))
                    .col(string(History::PrevHash))
                    .col(string(History::Hash))
                    .take(),
            )
            .await?;
        manager
            .create_index(index(
                "uq_history_application_id_seq",
                History::Table,
                [History::ApplicationId, History::Seq],
                true,
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Votes::Table)
                    .col(big_pk_auto(Votes::Id))
                    .col(string(Votes::ApplicationId))
                    .col(integer(Votes::Visit))
                    .col(string(Votes::Action))
                    .col(string(Votes::ActorId))
                    .col(timestamp_with_time_zone(Votes::At))
                    .take(),
            )
            .await?;
        manager
            .create_index(index(
                "uq_votes_application_id_visit_actor_id",
                Votes::Table,
                [Votes::ApplicationId, Votes::Visit, Votes::ActorId],
                true,
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Timers::Table)
                    .col(big_pk_auto(Timers::Id))
                    .col(string(Timers::ApplicationId))
                    .col(integer(Timers::Visit))
                    .col(string(Timers::Kind))
                    .col(string_null(Timers::Action))
                    .col(string_null(Timers::Template))
                    .col(string_null(Timers::Target))
                    .col(timestamp_with_time_zone(Timers::DueAt))
                    .col(string(Timers::Status))
                    .col(timestamp_with_time_zone_null(Timers::LockedUntil))
                    .col(integer(Timers::Attempts).default(0))
                    .col(timestamp_with_time_zone(Timers::CreatedAt))
                    .take(),
            )
            .await?;
        manager
            .create_index(index("idx_timers_status_due_at", Timers::Table, [Timers::Status, Timers::DueAt], false))
            .await?;
        manager.create_index(index("idx_timers_application_id", Timers::Table, [Timers::ApplicationId], false)).await?;

        manager
            .create_table(
                Table::create()
                    .table(Certifications::Table)
                    .col(text_pk(Certifications::Id))
                    .col(string(Certifications::EnterpriseId))
                    .col(string(Certifications::Kind))
                    .col(string(Certifications::ApplicationId))
                    .col(string(Certifications::Status))
                    .col(timestamp_with_time_zone(Certifications::GrantedAt))
                    .col(timestamp_with_time_zone_null(Certifications::ValidUntil))
                    .col(timestamp_with_time_zone_null(Certifications::RevokedAt))
                    .take(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_certifications_enterprise_id_kind",
                Certifications::Table,
                [Certifications::EnterpriseId, Certifications::Kind],
                false,
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Attachments::Table)
                    .col(text_pk(Attachments::Id))
                    .col(string(Attachments::ApplicationId))
                    .col(string(Attachments::Field))
                    .col(string(Attachments::Filename))
                    .col(string(Attachments::ContentType))
                    .col(big_integer(Attachments::Size))
                    .col(string(Attachments::Sha256))
                    .col(string(Attachments::StoragePath))
                    .col(string(Attachments::UploadedBy))
                    .col(timestamp_with_time_zone(Attachments::CreatedAt))
                    .take(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_attachments_application_id",
                Attachments::Table,
                [Attachments::ApplicationId],
                false,
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(IdempotencyKeys::Table)
                    .col(big_pk_auto(IdempotencyKeys::Id))
                    .col(string(IdempotencyKeys::UserId))
                    .col(string(IdempotencyKeys::Key))
                    .col(string(IdempotencyKeys::RequestHash))
                    .col(integer(IdempotencyKeys::Status))
                    .col(text(IdempotencyKeys::Body))
                    .col(timestamp_with_time_zone(IdempotencyKeys::CreatedAt))
                    .take(),
            )
            .await?;
        manager
            .create_index(index(
                "uq_idempotency_keys_user_id_key",
                IdempotencyKeys::Table,
                [IdempotencyKeys::UserId, IdempotencyKeys::Key],
                true,
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Outbox::Table)
                    .col(big_pk_auto(Outbox::Id))
                    .col(string_null(Outbox::ApplicationId))
                    .col(string(Outbox::Recipient))
                    .col(string(Outbox::Lang))
                    .col(string(Outbox::Template))
                    .col(string(Outbox::Subject))
                    .col(text(Outbox::BodyText))
                    .col(text_null(Outbox::BodyHtml))
                    .col(string(Outbox::Status))
                    .col(integer(Outbox::Attempts).default(0))
                    .col(timestamp_with_time_zone(Outbox::NextAttemptAt))
                    .col(text_null(Outbox::LastError))
                    .col(timestamp_with_time_zone(Outbox::CreatedAt))
                    .col(timestamp_with_time_zone_null(Outbox::SentAt))
                    .take(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_outbox_status_next_attempt_at",
                Outbox::Table,
                [Outbox::Status, Outbox::NextAttemptAt],
                false,
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(KvSettings::Table)
                    .col(string(KvSettings::Key).primary_key())
                    .col(text(KvSettings::Value))
                    .take(),
            )
            .await?;

        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Indexes are dropped together with their tables on both backends.
        let tables: [DynIden; 12] = [
            KvSettings::Table.into_iden(),
            Outbox::Table.into_iden(),
            IdempotencyKeys::Table.into_iden(),
            Attachments::Table.into_iden(),
            Certifications::Table.into_iden(),
            Timers::Table.into_iden(),
            Votes::Table.into_iden(),
            History::Table.into_iden(),
            Applications::Table.into_iden(),
            UserRoles::Table.into_iden(),
            Users::Table.into_iden(),
            Enterprises::Table.into_iden(),
        ];
        for table in tables {
            manager.drop_table(Table::drop().table(table).take()).await?;
        }
        Ok(())
    }
}
