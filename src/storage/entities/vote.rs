//! `votes`: one vote per actor per visit of a state.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "votes")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique_key = "application_visit_actor")]
    pub application_id: String,
    #[sea_orm(unique_key = "application_visit_actor")]
    pub visit: i32,
    pub action: String,
    #[sea_orm(unique_key = "application_visit_actor")]
    pub actor_id: String,
    pub at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
