//! `history`: append-only, hash-chained transition log of an application.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "history")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique_key = "application_seq")]
    pub application_id: String,
    #[sea_orm(unique_key = "application_seq")]
    pub seq: i32,
    pub action: String,
    pub from_state: Option<String>,
    pub to_state: String,
    pub actor_id: Option<String>,
    pub actor_name: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub comment: Option<String>,
    /// JSON stored as text.
    #[sea_orm(column_type = "Text", nullable)]
    pub data: Option<String>,
    pub at: DateTimeUtc,
    pub prev_hash: String,
    pub hash: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
