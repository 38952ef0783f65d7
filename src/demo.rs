//! Demo data for `serve --demo`: staff in every role, enterprises in urban and county
//! jurisdictions, and a few applications, so a newcomer sees a living system.

use crate::domain::access::{Actor, Caller};
use crate::domain::role::Role;
use crate::domain::uscc::Uscc;
use crate::engine::{ActionRequest, Engine, NewUser, RoleGrant};
use crate::error::AppError;
use crate::storage::entities::enterprise;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};

/// (login, name, roles, enterprise, what the account is for).
type Person<'a> = (&'a str, &'a str, Vec<RoleGrant>, Option<String>, &'a str);

/// The password of every demo account.
pub const PASSWORD: &str = "demo2026pass";

fn grant(role: Role, j: Option<&str>) -> RoleGrant {
    RoleGrant { role, jurisdiction: j.map(str::to_string) }
}

async fn ensure_enterprise(engine: &Engine, body17: &str, name: &str, district: &str) -> Result<String, AppError> {
    let uscc = Uscc::complete(body17).ok_or_else(|| AppError::Internal(anyhow::anyhow!("bad demo code {body17}")))?;
    if let Some(e) =
        enterprise::Entity::find().filter(enterprise::Column::Uscc.eq(uscc.as_str())).one(&engine.db).await?
    {
        return Ok(e.id);
    }
    let e = enterprise::ActiveModel {
        id: Set(uuid::Uuid::new_v4().to_string()),
        uscc: Set(uscc.as_str().to_string()),
        name: Set(name.to_string()),
        district: Set(district.to_string()),
        profile: Set("{}".into()),
        created_at: Set(engine.now()),
    }
    .insert(&engine.db)
    .await?;
    Ok(e.id)
}

/// Seeds the demo accounts (idempotently) and returns (login, what it is). A script read top to
/// bottom (who exists, in which roles and districts); its length is the cast's.
pub async fn seed(engine: &Engine) -> Result<Vec<(String, String)>, AppError> {
    let jingkou = ensure_enterprise(engine, "91321102MA1DX0001", "镇江示例精密机械有限公司", "jingkou").await?;
    let runzhou = ensure_enterprise(engine, "91321111MA1DX0002", "镇江示例新材料科技有限公司", "runzhou").await?;
    let danyang = ensure_enterprise(engine, "91321181MA1DX0003", "丹阳示例光学有限公司", "danyang").await?;
    let people: Vec<Person> = vec![
        ("admin@demo.certflow.cn", "管理员", vec![grant(Role::Admin, None)], None, "admin"),
        ("auditor@demo.certflow.cn", "审计员", vec![grant(Role::Auditor, None)], None, "auditor"),
        (
            "reviewer.jingkou@demo.certflow.cn",
            "京口区审核员",
            vec![grant(Role::Reviewer, Some("jingkou"))],
            None,
            "reviewer, Jingkou district",
        ),
        (
            "reviewer.runzhou@demo.certflow.cn",
            "润州区审核员",
            vec![grant(Role::Reviewer, Some("runzhou"))],
            None,
            "reviewer, Runzhou district",
        ),
        (
            "reviewer.danyang@demo.certflow.cn",
            "丹阳市审核员",
            vec![grant(Role::Reviewer, Some("danyang"))],
            None,
            "reviewer, Danyang",
        ),
        (
            "reviewer.city@demo.certflow.cn",
            "市工信局审核员",
            vec![grant(Role::Reviewer, Some("city"))],
            None,
            "reviewer, city level",
        ),
        (
            "reviewer.province@demo.certflow.cn",
            "省工信厅审核员",
            vec![grant(Role::Reviewer, Some("province"))],
            None,
            "reviewer, province level",
        ),
        ("expert1@demo.certflow.cn", "专家一", vec![grant(Role::Expert, Some("province"))], None, "expert"),
        ("expert2@demo.certflow.cn", "专家二", vec![grant(Role::Expert, Some("province"))], None, "expert"),
        ("expert3@demo.certflow.cn", "专家三", vec![grant(Role::Expert, Some("province"))], None, "expert"),
        ("finance@demo.certflow.cn", "财务处", vec![grant(Role::Finance, None)], None, "finance"),
        (
            "inspector.jingkou@demo.certflow.cn",
            "京口区执法员",
            vec![grant(Role::Inspector, Some("jingkou"))],
            None,
            "inspector, Jingkou",
        ),
        ("bank@demo.certflow.cn", "合作银行", vec![grant(Role::Bank, None)], None, "bank"),
        (
            "jingkou@demo.certflow.cn",
            "示例精密机械",
            vec![grant(Role::Enterprise, None)],
            Some(jingkou),
            "enterprise in Jingkou (urban)",
        ),
        (
            "runzhou@demo.certflow.cn",
            "示例新材料",
            vec![grant(Role::Enterprise, None)],
            Some(runzhou),
            "enterprise in Runzhou (urban)",
        ),
        (
            "danyang@demo.certflow.cn",
            "示例光学",
            vec![grant(Role::Enterprise, None)],
            Some(danyang),
            "enterprise in Danyang (county)",
        ),
    ];
    let mut logins = Vec::new();
    let mut actors: std::collections::HashMap<&str, Actor> = std::collections::HashMap::new();
    for (email, name, roles, enterprise_id, what) in people {
        let exists = crate::storage::entities::user::Entity::find()
            .filter(crate::storage::entities::user::Column::Email.eq(email))
            .one(&engine.db)
            .await?
            .is_some();
        if !exists {
            let u = engine
                .create_user_unchecked(NewUser {
                    email: email.into(),
                    password: PASSWORD.into(),
                    name: name.into(),
                    roles,
                    enterprise_id,
                    lang: None,
                })
                .await?;
            actors.insert(
                email,
                Actor {
                    id: u.id,
                    name: u.name,
                    email: u.email,
                    enterprise_id: u.enterprise_id,
                    roles: u.roles.into_iter().map(|g| (g.role, g.jurisdiction)).collect(),
                },
            );
        }
        logins.push((email.to_string(), what.to_string()));
    }
    // A fresh database gets a few applications too; an existing one is left as it is.
    if actors.len() == logins.len() {
        seed_applications(engine, &actors).await?;
    }
    Ok(logins)
}

/// A few applications in different states, so the inboxes and lists are not empty.
async fn seed_applications(engine: &Engine, actors: &std::collections::HashMap<&str, Actor>) -> Result<(), AppError> {
    let who =
        |email: &str| actors.get(email).ok_or_else(|| AppError::Internal(anyhow::anyhow!("demo user {email} missing")));
    let data = |revenue: &str, rd: &str, growth: i64| {
        serde_json::json!({
            "revenue": revenue, "rd_expense": rd, "growth": growth, "staff": 120, "founded": "2012-05-18",
            "sector": "strategic", "contact": "0511-8888 6666", "summary": "示例企业简介",
        })
        .as_object()
        .cloned()
        .unwrap_or_default()
    };
    // Jingkou: a draft the enterprise is still filling in.
    let jingkou = who("jingkou@demo.certflow.cn")?;
    engine.create_application(jingkou, "sample-recognition", None, data("25000000", "900000", 8)).await?;
    // Runzhou: submitted, waiting for its district reviewer.
    let runzhou = who("runzhou@demo.certflow.cn")?;
    let app = engine.create_application(runzhou, "sample-recognition", None, data("48000000", "2600000", 16)).await?;
    engine.take_action(Caller::User(runzhou), &app.id, "submit", ActionRequest::default(), None).await?;
    // Danyang: approved by its district, waiting for the city.
    let danyang = who("danyang@demo.certflow.cn")?;
    let app = engine.create_application(danyang, "sample-recognition", None, data("36000000", "1500000", 11)).await?;
    engine.take_action(Caller::User(danyang), &app.id, "submit", ActionRequest::default(), None).await?;
    let reviewer = who("reviewer.danyang@demo.certflow.cn")?;
    let approve = ActionRequest { comment: Some("材料齐全，同意上报".into()), data: None };
    engine.take_action(Caller::User(reviewer), &app.id, "approve", approve, None).await?;
    seed_tiers(engine, actors).await
}

/// The enterprises stand at different tiers of the programme, with applications for the next one.
async fn seed_tiers(engine: &Engine, actors: &std::collections::HashMap<&str, Actor>) -> Result<(), AppError> {
    use crate::storage::entities::certification;
    let now = engine.now();
    let years = |n: i64| chrono::Duration::days(365 * n);
    let who =
        |email: &str| actors.get(email).ok_or_else(|| AppError::Internal(anyhow::anyhow!("demo user {email} missing")));
    // Recognitions granted before the system was in use: (enterprise user, tier, granted, valid until).
    let held = [
        (
            "jingkou@demo.certflow.cn",
            "pool-entry",
            now - years(1) + chrono::Duration::days(60),
            now + chrono::Duration::days(60),
        ),
        ("jingkou@demo.certflow.cn", "innovative-sme", now - years(1), now + years(2)),
        ("runzhou@demo.certflow.cn", "innovative-sme", now - years(2), now + years(1)),
        ("runzhou@demo.certflow.cn", "srdi-sme", now - years(1), now + years(2)),
        ("danyang@demo.certflow.cn", "pool-entry", now - chrono::Duration::days(30), now + chrono::Duration::days(335)),
    ];
    for (email, kind, granted, until) in held {
        let ent = who(email)?.enterprise_id.clone().unwrap_or_default();
        certification::ActiveModel {
            id: Set(uuid::Uuid::new_v4().to_string()),
            enterprise_id: Set(ent),
            kind: Set(kind.to_string()),
            application_id: Set(String::new()),
            status: Set("active".into()),
            granted_at: Set(granted),
            valid_until: Set(Some(until)),
            revoked_at: Set(None),
        }
        .insert(&engine.db)
        .await?;
    }
    // Each is preparing the next tier: drafts they can open and complete.
    let none = serde_json::Map::new;
    engine.create_application(who("jingkou@demo.certflow.cn")?, "srdi-sme", None, none()).await?;
    engine.create_application(who("runzhou@demo.certflow.cn")?, "little-giant", None, none()).await?;
    engine.create_application(who("danyang@demo.certflow.cn")?, "innovative-sme", None, none()).await?;
    // Runzhou's reward for an earlier recognition waits for finance.
    let runzhou = who("runzhou@demo.certflow.cn")?.enterprise_id.clone().unwrap_or_default();
    let reward = serde_json::json!({"amount": "100000.00"}).as_object().cloned().unwrap_or_default();
    engine.start_as_system("sample-reward", &runzhou, reward).await?;
    // Jingkou's inspector found a first, minor violation and ordered a rectification.
    let inspector = who("inspector.jingkou@demo.certflow.cn")?;
    let jingkou = who("jingkou@demo.certflow.cn")?.enterprise_id.clone();
    let case = serde_json::json!({
        "violation_kind": "fire-safety", "violation_item": "疏散通道堆放杂物",
        "inspection_date": (now - chrono::Duration::days(2)).format("%Y-%m-%d").to_string(),
        "harm_level": "minor", "facts": "检查发现二号车间疏散通道堆放包装材料，未造成后果。",
        "evidence_reference": "京执〔2026〕第 017 号",
    });
    let case = case.as_object().cloned().unwrap_or_default();
    let opened = engine.create_application(inspector, "lenient-supervision", jingkou.as_deref(), case).await?;
    let order = ActionRequest {
        comment: Some("清理疏散通道，建立每日巡查制度".into()),
        data: serde_json::json!({"rectification_days": 15}).as_object().cloned(),
    };
    engine.take_action(Caller::User(inspector), &opened.id, "order_rectification", order, None).await?;
    Ok(())
}
