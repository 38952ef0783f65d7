//! `certification_notices`: which expiry reminder went out for which certification (once each).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "certification_notices")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub certification_id: String,
    /// `expiring-90`, `expiring-30`, …
    pub notice: String,
    pub at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
