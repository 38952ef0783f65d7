//! `budget_entries`: an application's reservation against a budget (reserved → spent | released).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "budget_entries")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub budget_key: String,
    pub year: i32,
    pub application_id: String,
    pub enterprise_id: String,
    pub amount_fen: i64,
    pub status: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
