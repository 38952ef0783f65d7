//! Accounts: users (e-mail stored lowercase, UNIQUE) and the roles they hold.

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder};

use super::entities::{user, user_role};

/// A user.
pub async fn user(conn: &impl ConnectionTrait, id: &str) -> Result<Option<user::Model>, DbErr> {
    user::Entity::find_by_id(id).one(conn).await
}

/// The user with an e-mail address (stored lowercase).
pub async fn user_by_email(conn: &impl ConnectionTrait, email: &str) -> Result<Option<user::Model>, DbErr> {
    user::Entity::find().filter(user::Column::Email.eq(email)).one(conn).await
}

/// Every user, by e-mail address.
pub async fn users(conn: &impl ConnectionTrait) -> Result<Vec<user::Model>, DbErr> {
    user::Entity::find().order_by_asc(user::Column::Email).all(conn).await
}

/// The roles a user holds, in the order granted.
pub async fn roles_of(conn: &impl ConnectionTrait, user_id: &str) -> Result<Vec<user_role::Model>, DbErr> {
    user_role::Entity::find()
        .filter(user_role::Column::UserId.eq(user_id))
        .order_by_asc(user_role::Column::Id)
        .all(conn)
        .await
}

/// Every role grant, in the order granted.
pub async fn all_roles(conn: &impl ConnectionTrait) -> Result<Vec<user_role::Model>, DbErr> {
    user_role::Entity::find().order_by_asc(user_role::Column::Id).all(conn).await
}

/// Sets a user's language.
pub async fn set_lang(conn: &impl ConnectionTrait, user_id: &str, lang: &str) -> Result<(), DbErr> {
    user::Entity::update_many()
        .col_expr(user::Column::Lang, Expr::value(lang))
        .filter(user::Column::Id.eq(user_id))
        .exec(conn)
        .await?;
    Ok(())
}
