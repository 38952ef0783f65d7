//! `timers`: scheduled timeouts and reminders.
//!
//! `kind` is `timeout` or `remind`; `status` is `pending`, `running`, `done`
//! or `cancelled`.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "timers")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(indexed)]
    pub application_id: String,
    pub visit: i32,
    pub kind: String,
    pub action: Option<String>,
    pub template: Option<String>,
    pub target: Option<String>,
    pub due_at: DateTimeUtc,
    pub status: String,
    pub locked_until: Option<DateTimeUtc>,
    pub attempts: i32,
    pub created_at: DateTimeUtc,
    /// What was left of a paused clock, in milliseconds (status `paused`).
    pub remaining_ms: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
