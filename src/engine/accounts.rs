//! Users, enterprises and sign-in: registration with the USCC check, Argon2id passwords, JWT
//! tokens, and admin user management (signing in and its limits: `sign_in`).

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::NotSet, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
    TransactionTrait,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::Engine;
use super::view::{CertificationView, EnterpriseView};
use crate::auth::password::{check_password_policy, hash_password};
use crate::domain::access::{Actor, AppFacts};
use crate::domain::form::FieldError;
use crate::domain::role::Role;
use crate::domain::uscc::Uscc;
use crate::error::{AppError, t};
use crate::storage::accounts as store;
use crate::storage::entities::{application, certification, enterprise, user, user_role};

/// How long a token is valid.
pub const TOKEN_HOURS: i64 = 12;

/// The enterprise part of a registration; fields beyond these go into its profile.
#[derive(Debug, Clone, Deserialize)]
pub struct NewEnterprise {
    pub uscc: String,
    pub name: String,
    pub district: String,
    #[serde(flatten)]
    pub profile: Map<String, Value>,
}

/// The first user of a registering enterprise.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FirstUser {
    pub email: String,
    pub password: String,
    pub name: String,
    #[serde(default)]
    pub lang: Option<String>,
}

/// `POST /api/register`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Registration {
    pub enterprise: NewEnterprise,
    pub user: FirstUser,
}

/// A role with its jurisdiction.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleGrant {
    pub role: Role,
    #[serde(default)]
    pub jurisdiction: Option<String>,
}

/// `POST /api/users`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    pub email: String,
    pub password: String,
    pub name: String,
    #[serde(default)]
    pub roles: Vec<RoleGrant>,
    #[serde(default)]
    pub enterprise_id: Option<String>,
    #[serde(default)]
    pub lang: Option<String>,
}

/// `PATCH /api/users/{id}`: only the fields given change.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    pub name: Option<String>,
    pub password: Option<String>,
    pub roles: Option<Vec<RoleGrant>>,
    pub active: Option<bool>,
    pub lang: Option<String>,
}

/// A user as the API shows one (never the password hash).
#[derive(Debug, Clone, Serialize)]
pub struct UserView {
    pub id: String,
    pub email: String,
    pub name: String,
    pub enterprise_id: Option<String>,
    /// The enterprise's name, for users of an enterprise.
    pub enterprise_name: Option<String>,
    pub lang: String,
    pub active: bool,
    pub roles: Vec<RoleGrant>,
    pub locked_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// A successful sign-in.
#[derive(Debug, Clone, Serialize)]
pub struct LoginResult {
    pub token: String,
    pub expires_at: DateTime<Utc>,
    pub user: UserView,
}

fn field(f: &str, zh: &str, en: &str) -> FieldError {
    FieldError { field: f.into(), message: t(zh, en) }
}

fn invalid(errors: Vec<FieldError>) -> AppError {
    AppError::Unprocessable { title: t("提交的信息有误", "the submitted data are not valid"), errors }
}

pub(super) fn normalise_email(e: &str) -> String {
    e.trim().to_lowercase()
}

fn email_ok(e: &str) -> bool {
    let mut parts = e.split('@');
    matches!((parts.next(), parts.next(), parts.next()), (Some(l), Some(d), None) if !l.is_empty() && d.contains('.') && !d.starts_with('.') && !d.ends_with('.'))
        && !e.contains(char::is_whitespace)
}

fn lang_tag(l: Option<&str>) -> String {
    crate::domain::text::Lang::from_tag(l.unwrap_or("zh-CN")).tag().to_string()
}

impl Engine {
    fn check_roles(&self, roles: &[RoleGrant], enterprise_id: Option<&str>, errors: &mut Vec<FieldError>) {
        for (i, g) in roles.iter().enumerate() {
            let f = format!("roles[{i}]");
            match (g.role.needs_jurisdiction(), g.jurisdiction.as_deref()) {
                (true, None) => errors.push(field(&f, "该角色需要辖区", "this role needs a jurisdiction")),
                (true, Some(j)) if !self.defs.jurisdictions.is_staff_jurisdiction(j) => {
                    errors.push(field(&f, &format!("未知辖区 `{j}`"), &format!("unknown jurisdiction `{j}`")))
                }
                (false, Some(_)) => errors.push(field(&f, "该角色不设辖区", "this role takes no jurisdiction")),
                _ => {}
            }
            if g.role == Role::Enterprise && enterprise_id.is_none() {
                errors.push(field(&f, "企业用户必须属于一个企业", "an enterprise user needs an enterprise_id"));
            }
        }
    }

    pub(super) async fn user_view(&self, conn: &impl ConnectionTrait, u: user::Model) -> Result<UserView, AppError> {
        let roles = store::roles_of(conn, &u.id)
            .await?
            .into_iter()
            .filter_map(|r| Some(RoleGrant { role: r.role.parse().ok()?, jurisdiction: r.jurisdiction }))
            .collect();
        let enterprise_name = match &u.enterprise_id {
            Some(id) => crate::storage::applications::enterprise(conn, id).await?.map(|e| e.name),
            None => None,
        };
        let locked_until = self.sign_in_blocked(conn, Some(&u.email)).await?.get(&u.email).copied();
        Ok(UserView {
            id: u.id,
            email: u.email,
            name: u.name,
            enterprise_id: u.enterprise_id,
            enterprise_name,
            lang: u.lang,
            active: u.active,
            locked_until,
            roles,
            created_at: u.created_at,
        })
    }

    #[allow(
        clippy::too_many_arguments,
        reason = "the use case's inputs are distinct values; a struct would only rename them"
    )]
    async fn insert_user(
        &self,
        conn: &impl ConnectionTrait,
        email: &str,
        password_hash: String,
        name: &str,
        enterprise_id: Option<String>,
        lang: String,
        roles: &[RoleGrant],
    ) -> Result<user::Model, AppError> {
        let now = self.now();
        let u = user::ActiveModel {
            id: Set(uuid::Uuid::new_v4().to_string()),
            email: Set(email.to_string()),
            password_hash: Set(password_hash),
            name: Set(name.trim().to_string()),
            enterprise_id: Set(enterprise_id),
            lang: Set(lang),
            active: Set(true),
            created_at: Set(now),
        }
        .insert(conn)
        .await
        .map_err(|e| match e.sql_err() {
            Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => {
                AppError::Conflict(t("该邮箱已注册", "the e-mail address is already registered"))
            }
            _ => e.into(),
        })?;
        for g in roles {
            user_role::ActiveModel {
                id: NotSet,
                user_id: Set(u.id.clone()),
                role: Set(g.role.as_str().into()),
                jurisdiction: Set(g.jurisdiction.clone()),
            }
            .insert(conn)
            .await?;
        }
        Ok(u)
    }

    async fn hash(&self, password: String) -> Result<String, AppError> {
        tokio::task::spawn_blocking(move || hash_password(&password))
            .await
            .map_err(|e| AppError::Internal(e.into()))?
            .map_err(AppError::Internal)
    }

    /// `POST /api/register`: a new enterprise with its first user, signed in.
    pub async fn register(&self, reg: Registration, client: &str) -> Result<(EnterpriseView, LoginResult), AppError> {
        self.limits.take(super::Limited::Register, client, self.now())?;
        let mut errors = Vec::new();
        let uscc = match Uscc::parse(&reg.enterprise.uscc) {
            Ok(u) => Some(u),
            Err(e) => {
                errors.push(field(
                    "enterprise.uscc",
                    &format!("统一社会信用代码无效：{}", e.zh()),
                    &format!("invalid unified social credit code: {e}"),
                ));
                None
            }
        };
        if reg.enterprise.name.trim().is_empty() {
            errors.push(field("enterprise.name", "请填写企业名称", "the enterprise name is required"));
        }
        if self.defs.jurisdictions.district(&reg.enterprise.district).is_none() {
            errors.push(field("enterprise.district", "所属辖区不存在", "unknown district"));
        }
        let email = normalise_email(&reg.user.email);
        if !email_ok(&email) {
            errors.push(field("user.email", "邮箱格式不正确", "not a valid e-mail address"));
        }
        if let Err(e) = check_password_policy(&reg.user.password) {
            errors.push(field("user.password", "密码至少 8 位，且包含字母和数字", e));
        }
        if reg.user.name.trim().is_empty() {
            errors.push(field("user.name", "请填写姓名", "the name is required"));
        }
        let Some(uscc) = uscc.filter(|_| errors.is_empty()) else { return Err(invalid(errors)) };
        let password_hash = self.hash(reg.user.password.clone()).await?;
        let now = self.now();
        let txn = self.db.begin().await?;
        let ent = enterprise::ActiveModel {
            id: Set(uuid::Uuid::new_v4().to_string()),
            uscc: Set(uscc.as_str().to_string()),
            name: Set(reg.enterprise.name.trim().to_string()),
            district: Set(reg.enterprise.district.clone()),
            profile: Set(Value::Object(reg.enterprise.profile.clone()).to_string()),
            created_at: Set(now),
        }
        .insert(&txn)
        .await
        .map_err(|e| match e.sql_err() {
            Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => {
                AppError::Conflict(t("该统一社会信用代码已注册", "an enterprise with this code is already registered"))
            }
            _ => e.into(),
        })?;
        let grants = [RoleGrant { role: Role::Enterprise, jurisdiction: None }];
        let u = self
            .insert_user(
                &txn,
                &email,
                password_hash,
                &reg.user.name,
                Some(ent.id.clone()),
                lang_tag(reg.user.lang.as_deref()),
                &grants,
            )
            .await?;
        txn.commit().await?;
        let (token, expires_at) =
            self.jwt.issue(&u.id, now, Duration::hours(TOKEN_HOURS)).map_err(AppError::Internal)?;
        let view = self.user_view(&self.db, u).await?;
        let ent_view = self.enterprise_view_unchecked(&ent).await?;
        Ok((ent_view, LoginResult { token, expires_at, user: view }))
    }

    /// Turns a bearer token into an actor.
    pub async fn authenticate(&self, token: &str) -> Result<Actor, AppError> {
        let unauth =
            || AppError::Unauthorized(t("登录已失效，请重新登录", "the token is invalid or expired; sign in again"));
        let claims = self.jwt.verify(token, self.now()).map_err(|_| unauth())?;
        let u = store::user(&self.db, &claims.sub).await?.filter(|u| u.active).ok_or_else(unauth)?;
        self.actor_of(u).await
    }

    async fn actor_of(&self, u: user::Model) -> Result<Actor, AppError> {
        let view = self.user_view(&self.db, u).await?;
        Ok(Actor {
            id: view.id,
            name: view.name,
            email: view.email,
            enterprise_id: view.enterprise_id,
            roles: view.roles.into_iter().map(|g| (g.role, g.jurisdiction)).collect(),
        })
    }

    /// `GET /api/me`.
    pub async fn me(&self, actor: &Actor) -> Result<Value, AppError> {
        let u = store::user(&self.db, &actor.id).await?.ok_or(AppError::NotFound)?;
        let view = self.user_view(&self.db, u).await?;
        let ent = match &actor.enterprise_id {
            Some(e) => enterprise::Entity::find_by_id(e).one(&self.db).await?.map(|e| self.enterprise_json(&e)),
            None => None,
        };
        let mut v = serde_json::to_value(view).map_err(|e| AppError::Internal(e.into()))?;
        v["enterprise"] = ent.unwrap_or(Value::Null);
        Ok(v)
    }

    /// `PATCH /api/me`: the caller sets their own language (`zh-CN` or `en`; other tags fall back
    /// as everywhere else). Pages remember a language switch this way, so sign-in restores it.
    pub async fn set_own_lang(&self, actor: &Actor, lang: &str) -> Result<(), AppError> {
        Ok(store::set_lang(&self.db, &actor.id, &lang_tag(Some(lang))).await?)
    }

    fn require_admin(actor: &Actor) -> Result<(), AppError> {
        if actor.has_role(Role::Admin) {
            Ok(())
        } else {
            Err(AppError::Forbidden(t("仅管理员可操作", "only administrators may do this")))
        }
    }

    /// `POST /api/users` (admin).
    pub async fn create_user(&self, actor: &Actor, nu: NewUser) -> Result<UserView, AppError> {
        Self::require_admin(actor)?;
        self.create_user_unchecked(nu).await
    }

    /// Creates a user without an actor (the CLI, the bootstrap admin, demo data).
    pub async fn create_user_unchecked(&self, nu: NewUser) -> Result<UserView, AppError> {
        let mut errors = Vec::new();
        let email = normalise_email(&nu.email);
        if !email_ok(&email) {
            errors.push(field("email", "邮箱格式不正确", "not a valid e-mail address"));
        }
        if let Err(e) = check_password_policy(&nu.password) {
            errors.push(field("password", "密码至少 8 位，且包含字母和数字", e));
        }
        if nu.name.trim().is_empty() {
            errors.push(field("name", "请填写姓名", "the name is required"));
        }
        if let Some(e) = &nu.enterprise_id
            && enterprise::Entity::find_by_id(e).one(&self.db).await?.is_none()
        {
            errors.push(field("enterprise_id", "企业不存在", "no such enterprise"));
        }
        self.check_roles(&nu.roles, nu.enterprise_id.as_deref(), &mut errors);
        if !errors.is_empty() {
            return Err(invalid(errors));
        }
        let hash = self.hash(nu.password.clone()).await?;
        let txn = self.db.begin().await?;
        let u = self
            .insert_user(
                &txn,
                &email,
                hash,
                &nu.name,
                nu.enterprise_id.clone(),
                lang_tag(nu.lang.as_deref()),
                &nu.roles,
            )
            .await?;
        txn.commit().await?;
        self.user_view(&self.db, u).await
    }

    /// `GET /api/users` (admin).
    pub async fn list_users(&self, actor: &Actor) -> Result<Vec<UserView>, AppError> {
        Self::require_admin(actor)?;
        // Four queries for the whole list: users, the sign-ins that must wait, roles, enterprises' names.
        let users = store::users(&self.db).await?;
        let blocked = self.sign_in_blocked(&self.db, None).await?;
        let mut roles: HashMap<String, Vec<RoleGrant>> = HashMap::new();
        for r in store::all_roles(&self.db).await? {
            if let Ok(role) = r.role.parse() {
                roles.entry(r.user_id).or_default().push(RoleGrant { role, jurisdiction: r.jurisdiction });
            }
        }
        let names = self.enterprise_names(users.iter().filter_map(|u| u.enterprise_id.clone()).collect()).await?;
        Ok(users
            .into_iter()
            .map(|u| UserView {
                roles: roles.remove(&u.id).unwrap_or_default(),
                enterprise_name: u.enterprise_id.as_ref().and_then(|e| names.get(e).cloned()),
                id: u.id,
                locked_until: blocked.get(&u.email).copied(),
                email: u.email,
                name: u.name,
                enterprise_id: u.enterprise_id,
                lang: u.lang,
                active: u.active,
                created_at: u.created_at,
            })
            .collect())
    }

    /// `PATCH /api/users/{id}` (admin).
    pub async fn patch_user(&self, actor: &Actor, id: &str, p: UserPatch) -> Result<UserView, AppError> {
        Self::require_admin(actor)?;
        let u = store::user(&self.db, id).await?.ok_or(AppError::NotFound)?;
        let mut errors = Vec::new();
        if let Some(pw) = &p.password
            && let Err(e) = check_password_policy(pw)
        {
            errors.push(field("password", "密码至少 8 位，且包含字母和数字", e));
        }
        if let Some(r) = &p.roles {
            self.check_roles(r, u.enterprise_id.as_deref(), &mut errors);
        }
        if p.name.as_deref().is_some_and(|n| n.trim().is_empty()) {
            errors.push(field("name", "请填写姓名", "the name is required"));
        }
        // An administrator cannot lock themselves out: another administrator must do that.
        if u.id == actor.id {
            if p.active == Some(false) {
                errors.push(field("active", "不能停用自己的账号", "you cannot deactivate your own account"));
            }
            if p.roles.as_ref().is_some_and(|r| !r.iter().any(|g| g.role == Role::Admin)) {
                errors.push(field(
                    "roles",
                    "不能取消自己的管理员角色",
                    "you cannot remove your own administrator role",
                ));
            }
        }
        if !errors.is_empty() {
            return Err(invalid(errors));
        }
        let hash = match p.password.clone() {
            Some(pw) => Some(self.hash(pw).await?),
            None => None,
        };
        let txn = self.db.begin().await?;
        let mut am: user::ActiveModel = u.clone().into();
        if let Some(n) = p.name {
            am.name = Set(n.trim().to_string());
        }
        if let Some(h) = hash {
            am.password_hash = Set(h);
            // A new password starts without the failures counted against the old one.
            crate::storage::throttle::clear(&txn, &u.email).await?;
        }
        if let Some(a) = p.active {
            am.active = Set(a);
        }
        if let Some(l) = p.lang {
            am.lang = Set(lang_tag(Some(&l)));
        }
        let u = am.update(&txn).await?;
        if let Some(roles) = p.roles {
            user_role::Entity::delete_many().filter(user_role::Column::UserId.eq(&u.id)).exec(&txn).await?;
            for g in roles {
                user_role::ActiveModel {
                    id: NotSet,
                    user_id: Set(u.id.clone()),
                    role: Set(g.role.as_str().into()),
                    jurisdiction: Set(g.jurisdiction),
                }
                .insert(&txn)
                .await?;
            }
        }
        txn.commit().await?;
        self.user_view(&self.db, u).await
    }

    /// Creates the admin named by `CERTFLOW_ADMIN_EMAIL` if it does not exist yet.
    pub async fn ensure_admin(&self, email: &str, password: &str) -> Result<bool, AppError> {
        let email = normalise_email(email);
        if store::user_by_email(&self.db, &email).await?.is_some() {
            return Ok(false);
        }
        self.create_user_unchecked(NewUser {
            email,
            password: password.to_string(),
            name: "Administrator".into(),
            roles: vec![RoleGrant { role: Role::Admin, jurisdiction: None }],
            enterprise_id: None,
            lang: None,
        })
        .await?;
        Ok(true)
    }

    async fn enterprise_view_unchecked(&self, e: &enterprise::Model) -> Result<EnterpriseView, AppError> {
        let now = self.now();
        let certs = crate::storage::certifications::of_enterprise(&self.db, &e.id, None).await?;
        let apps = application::Entity::find()
            .filter(application::Column::EnterpriseId.eq(&e.id))
            .order_by_desc(application::Column::CreatedAt)
            .all(&self.db)
            .await?;
        let j = self.enterprise_json(e);
        Ok(EnterpriseView {
            id: e.id.clone(),
            uscc: e.uscc.clone(),
            name: e.name.clone(),
            district: e.district.clone(),
            urban: j["urban"].as_bool().unwrap_or(false),
            profile: j["profile"].clone(),
            certifications: certs.iter().map(|c| cert_view(c, now)).collect(),
            applications: apps.iter().map(|a| self.summary(a)).collect(),
            created_at: e.created_at,
        })
    }

    /// `GET /api/enterprises/{id}`: its users and staff who may see its district.
    pub async fn enterprise_view(&self, actor: &Actor, id: &str) -> Result<EnterpriseView, AppError> {
        let e = enterprise::Entity::find_by_id(id).one(&self.db).await?.ok_or(AppError::NotFound)?;
        if !actor.may_see(AppFacts { enterprise_id: &e.id, district: &e.district }) {
            return Err(AppError::NotFound);
        }
        self.enterprise_view_unchecked(&e).await
    }

    /// `GET /api/certifications`: enterprises see their own; staff what they may see.
    pub async fn certifications(
        &self,
        actor: &Actor,
        enterprise_id: Option<&str>,
        kind: Option<&str>,
        status: Option<&str>,
    ) -> Result<Vec<CertificationView>, AppError> {
        let now = self.now();
        let certs = crate::storage::certifications::find(&self.db, enterprise_id, kind).await?;
        let mut out = Vec::new();
        let mut districts: std::collections::HashMap<String, String> = std::collections::HashMap::new();
        for c in certs {
            if !districts.contains_key(&c.enterprise_id) {
                let d = enterprise::Entity::find_by_id(&c.enterprise_id)
                    .one(&self.db)
                    .await?
                    .map(|e| e.district)
                    .unwrap_or_default();
                districts.insert(c.enterprise_id.clone(), d);
            }
            let district = districts.get(&c.enterprise_id).cloned().unwrap_or_default();
            if !actor.may_see(AppFacts { enterprise_id: &c.enterprise_id, district: &district }) {
                continue;
            }
            let v = cert_view(&c, now);
            if status.is_none_or(|s| s == v.status) {
                out.push(v);
            }
        }
        Ok(out)
    }
}

/// The status a certification shows: `expired` once past its validity.
fn cert_view(c: &certification::Model, now: DateTime<Utc>) -> CertificationView {
    let status = if c.status == "active" && c.valid_until.is_some_and(|v| v <= now) {
        "expired".to_string()
    } else {
        c.status.clone()
    };
    CertificationView {
        id: c.id.clone(),
        enterprise_id: c.enterprise_id.clone(),
        kind: c.kind.clone(),
        application_id: c.application_id.clone(),
        status,
        granted_at: c.granted_at,
        valid_until: c.valid_until,
    }
}

#[cfg(test)]
mod tests {
    use super::email_ok;

    #[test]
    fn plausible_addresses_pass_and_others_do_not() {
        assert!(email_ok("a.b@example.com"));
        for bad in ["", "a", "a@b", "@b.com", "a@@b.com", "a b@c.com", "a@.com"] {
            assert!(!email_ok(bad), "{bad}");
        }
    }
}
