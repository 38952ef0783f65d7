//! `applications`: one workflow instance each.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "applications")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    #[sea_orm(unique)]
    pub number: String,
    pub workflow: String,
    pub workflow_version: i32,
    pub enterprise_id: String,
    pub district: String,
    pub state: String,
    pub is_final: bool,
    /// JSON stored as text.
    #[sea_orm(column_type = "Text")]
    pub data: String,
    /// JSON stored as text.
    #[sea_orm(column_type = "Text", nullable)]
    pub score: Option<String>,
    /// Row version for optimistic locking.
    pub version: i32,
    /// Number of times a state has been entered.
    pub visit: i32,
    pub parent_id: Option<String>,
    pub created_by: Option<String>,
    pub state_entered_at: DateTimeUtc,
    pub due_at: Option<DateTimeUtc>,
    pub head_hash: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::enterprise::Entity",
        from = "Column::EnterpriseId",
        to = "super::enterprise::Column::Id"
    )]
    Enterprise,
}

impl Related<super::enterprise::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Enterprise.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
