//! `certifications`: granted certifications; `status` is `active`, `revoked`
//! or `expired`.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "certifications")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub enterprise_id: String,
    pub kind: String,
    pub application_id: String,
    pub status: String,
    pub granted_at: DateTimeUtc,
    pub valid_until: Option<DateTimeUtc>,
    pub revoked_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
