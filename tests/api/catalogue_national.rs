//! The national tiers and the city's rewards: `little-giant` (专精特新“小巨人”, RULES.md §1.3),
//! `single-champion` (制造业单项冠军, RULES.md §2) and `reward-disbursement` (the ¥300,000 and
//! ¥500,000 of 镇政办发〔2023〕21号 for urban enterprises). Eligibility at its boundaries, the
//! recommendation chain with the provincial publicity, MIIT's outcome recorded by the city, the
//! certification, the reward child for urban enterprises only, and the money rules: the
//! reservation, the payment, one award per enterprise, the year's budget running out.

use certflow::domain::role::Role;
use chrono::{DateTime, Duration, Utc};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::dual_test;
use crate::helpers::seed_certification;
use crate::helpers::{Backend, Resp, TestApp, definitions_with, spawn_app_with, start_time};
use crate::helpers::{act_en, messages};

// ---------------------------------------------------------------------------------------------
// Messages as the enterprise reads them in English (the definitions' `message.en`).

const NO_SRDI: &str = "The enterprise must hold a provincial SRDI SME recognition that is still valid";
const RD_BAND_1: &str = "With last year's revenue of ¥100 million or more, R&D expense must be at least 3% of revenue in each of the last 2 years (or a direct innovation condition must be met)";
const RD_BAND_2: &str = "With last year's revenue from ¥50 million to under ¥100 million, R&D expense must be at least 6% of revenue in each of the last 2 years (or a direct innovation condition must be met)";
const RD_BAND_3: &str = "With last year's revenue under ¥50 million, the last 2 years need new equity financing of at least ¥80 million, R&D expense of at least ¥30 million and R&D staff of at least 50% of employees (or a direct innovation condition must be met)";
const RD_INSTITUTION: &str =
    "An R&D institution of its own or a joint one is required (or a direct innovation condition must be met)";
const CLASS1_IP: &str = "At least 2 Class-I IP related to the main product, applied and producing benefit, are required (or a direct innovation condition must be met)";

const SC_YEARS: &str =
    "The enterprise must have been in the field for at least 10 years at last year-end (5 for a new product)";
const SC_REVENUE: &str = "Average main-business revenue over the last 3 years must be at least ¥400 million (¥200 million for provincial-or-higher SRDI enterprises, to be verified)";
const SC_RANK: &str = "The product's market share must rank in the top 3 worldwide";
const SC_ENERGY: &str = "The product's energy use must reach the advanced value of the sector's energy-quota standard";
const SC_RD: &str = "The enterprise must have an R&D institution";
const SC_STANDARDS: &str =
    "The enterprise must have led or taken part in an international, national or industry standard";

// ---------------------------------------------------------------------------------------------
// Arrange helpers.

/// A little giant of the ≥ ¥100 million band that meets every aspect with room to spare.
fn good_little_giant() -> Value {
    json!({
        "compliance": true,
        "niche_years": 8, "revenue": "120000000", "main_revenue": "110000000", "main_growth": 12,
        "core_business_it": true, "quality_certified": true, "debt_ratio": 45,
        "market_share": 18, "own_brand": true,
        "revenue_prev": "100000000", "rd_expense": "6000000", "rd_expense_prev": "4500000",
        "employees": 320, "rd_staff": 60, "rd_institution": true, "class1_ip": 5,
        "chain_key_link": true, "product_field": "six_basics", "main_product": "高精度数控刀具",
    })
}

/// A single champion with 12 years in the field, ¥450 million and the world's second share.
fn good_single_champion() -> Value {
    json!({
        "product_name": "船用低速柴油机曲轴", "product_code": "34110201", "field_years": 12,
        "main_revenue_avg": "450000000", "global_rank": 2, "global_share": 21.5, "energy": "advanced",
        "quality": "关键性能指标达到国际同类产品领先水平", "international_revenue_share": 35,
        "rd_institution": true, "rd_intensity": 4.2, "invention_patents": 46, "standards": true,
        "performance": "主营业务收入居行业第二",
    })
}

/// `base` with some fields replaced.
fn with(base: Value, changes: &[(&str, Value)]) -> Value {
    let mut v = base;
    for (k, x) in changes {
        v[*k] = x.clone();
    }
    v
}

/// An enterprise in `district` holding a provincial SRDI recognition valid until the end of 2027.
async fn srdi_enterprise(app: &TestApp, district: &str) -> (String, String) {
    let (id, token) = app.register_enterprise(district).await;
    seed_certification(app, &id, "srdi-sme", "active", start_time() + Duration::days(660)).await;
    (id, token)
}

/// Files a new application with `data` and submits it (in English); returns the id and response.
async fn file(app: &TestApp, ent: &str, workflow: &str, data: Value) -> (String, Resp) {
    let view = app.create(ent, workflow, data).await;
    let id = view["id"].as_str().unwrap().to_string();
    let r = act_en(app, ent, &id, "submit", json!({})).await;
    (id, r)
}

/// Files and submits; asserts the submission is refused and returns its messages.
async fn refused(app: &TestApp, ent: &str, workflow: &str, data: Value) -> Vec<String> {
    messages(&file(app, ent, workflow, data).await.1)
}

/// Files and submits; asserts it reaches the city's review.
async fn accepted(app: &TestApp, ent: &str, workflow: &str, data: Value, case: &str) {
    let (_, r) = file(app, ent, workflow, data).await;
    assert_eq!(r.status, StatusCode::OK, "{case}: {:?}", r.body);
    assert_eq!(r.body["state"], "city_review", "{case}");
}

async fn ok(app: &TestApp, token: &str, id: &str, action: &str, body: Value) -> Value {
    let r = app.act(token, id, action, body).await;
    assert_eq!(r.status, StatusCode::OK, "{action}: {:?}", r.body);
    r.body
}

/// Takes a little-giant application of the enterprise from filing to MIIT's recognition
/// (publicity running out by itself); returns the application as the admin sees it.
async fn recognise_little_giant(app: &TestApp, ent: &str) -> Value {
    let ent = app.fresh(ent).await;
    let city = app.staff(Role::Reviewer, Some("city")).await;
    let province = app.staff(Role::Reviewer, Some("province")).await;
    let view = app.create(&ent, "little-giant", good_little_giant()).await;
    let id = view["id"].as_str().unwrap().to_string();
    ok(app, &ent, &id, "submit", json!({})).await;
    ok(app, &city, &id, "recommend", json!({})).await;
    let r = ok(app, &province, &id, "recommend", json!({})).await;
    assert_eq!(r["state"], "publicity");
    app.advance(Duration::days(8));
    assert_eq!(app.sweep().await, 1, "the publicity ends by itself");
    let city = app.fresh(&city).await;
    let r = ok(app, &city, &id, "record_recognised", json!({"comment": "工信部公告第六批"})).await;
    assert_eq!(r["state"], "recognised");
    let admin = app.login("admin@test.cn").await;
    app.get(&format!("/api/applications/{id}"), &admin).await.body
}

/// Takes a single-champion application from filing to MIIT's recognition.
async fn recognise_single_champion(app: &TestApp, ent: &str) -> Value {
    let ent = app.fresh(ent).await;
    let city = app.staff(Role::Reviewer, Some("city")).await;
    let province = app.staff(Role::Reviewer, Some("province")).await;
    let view = app.create(&ent, "single-champion", good_single_champion()).await;
    let id = view["id"].as_str().unwrap().to_string();
    ok(app, &ent, &id, "submit", json!({})).await;
    ok(app, &city, &id, "recommend", json!({})).await;
    let r = ok(app, &province, &id, "recommend", json!({})).await;
    assert_eq!(r["state"], "national_review");
    let r = ok(app, &city, &id, "record_recognised", json!({})).await;
    assert_eq!(r["state"], "recognised");
    let admin = app.login("admin@test.cn").await;
    app.get(&format!("/api/applications/{id}"), &admin).await.body
}

/// The reward child of a recognised application (there must be exactly one).
fn reward_of(view: &Value) -> String {
    let children = view["children"].as_array().unwrap();
    assert_eq!(children.len(), 1, "{children:?}");
    assert_eq!(children[0]["workflow"], "reward-disbursement");
    children[0]["id"].as_str().unwrap().to_string()
}

/// The enterprise's certifications of a kind.
async fn certifications(app: &TestApp, ent_id: &str, kind: &str) -> Vec<Value> {
    let admin = app.login("admin@test.cn").await;
    let r = app.get(&format!("/api/certifications?enterprise_id={ent_id}&kind={kind}"), &admin).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    r.body["items"].as_array().unwrap().clone()
}

fn time(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().unwrap()).unwrap().with_timezone(&Utc)
}

fn china(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// The 2026 line of the `sme-rewards` budget.
async fn sme_budget(app: &TestApp, token: &str) -> Value {
    let r = app.get("/api/budgets", token).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["key"] == "sme-rewards" && b["year"] == 2026)
        .expect("a 2026 sme-rewards budget")
        .clone()
}

fn money(b: &Value) -> (String, String, String, String) {
    let s = |k: &str| b[k].as_str().unwrap().to_string();
    (s("total"), s("reserved"), s("spent"), s("left"))
}

// ---------------------------------------------------------------------------------------------
// little-giant: the prerequisite tier.

dual_test!(a_little_giant_needs_a_valid_srdi_recognition, |app: TestApp| async move {
    // Arrange: an enterprise that meets every aspect but holds no SRDI recognition.
    let (ent_id, ent) = app.register_enterprise("jingkou").await;

    // Act and assert: refused for the missing tier, and for nothing else.
    assert_eq!(refused(&app, &ent, "little-giant", good_little_giant()).await, vec![NO_SRDI]);

    // An SRDI recognition that has expired does not count…
    seed_certification(&app, &ent_id, "srdi-sme", "expired", start_time() - Duration::days(1)).await;
    assert_eq!(refused(&app, &ent, "little-giant", good_little_giant()).await, vec![NO_SRDI], "expired");
    // …nor one whose end has passed but that the hourly sweep has not marked yet…
    let (late_id, late) = app.register_enterprise("runzhou").await;
    seed_certification(&app, &late_id, "srdi-sme", "active", start_time() - Duration::hours(1)).await;
    assert_eq!(refused(&app, &late, "little-giant", good_little_giant()).await, vec![NO_SRDI], "run out");
    // …nor another tier (the innovative SME is the tier below).
    seed_certification(&app, &ent_id, "innovative-sme", "active", start_time() + Duration::days(300)).await;
    assert_eq!(refused(&app, &ent, "little-giant", good_little_giant()).await, vec![NO_SRDI], "other tier");

    // A valid one does.
    seed_certification(&app, &ent_id, "srdi-sme", "active", start_time() + Duration::days(300)).await;
    accepted(&app, &ent, "little-giant", good_little_giant(), "valid SRDI").await;

    // In Chinese by default.
    let view = app.create(&late, "little-giant", good_little_giant()).await;
    let r = app.act(&late, view["id"].as_str().unwrap(), "submit", json!({})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.body["errors"][0]["message"], "须为有效期内的省级专精特新中小企业");
});

dual_test!(the_srdi_recognition_is_checked_again_when_the_city_recommends, |app: TestApp| async move {
    // Arrange: submitted while the SRDI recognition is valid; it runs out during the city's review.
    let (ent_id, ent) = app.register_enterprise("jingkou").await;
    seed_certification(&app, &ent_id, "srdi-sme", "active", start_time() + Duration::days(2)).await;
    let city = app.staff(Role::Reviewer, Some("city")).await;
    let (id, r) = file(&app, &ent, "little-giant", good_little_giant()).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);

    // Act
    app.advance(Duration::days(3));
    let city = app.fresh(&city).await;
    let r = act_en(&app, &city, &id, "recommend", json!({})).await;

    // Assert: the city cannot recommend; it may still return or reject.
    assert_eq!(messages(&r), vec![NO_SRDI]);
    let r = ok(&app, &city, &id, "reject", json!({"comment": "省级专精特新中小企业已过有效期"})).await;
    assert_eq!(r["state"], "rejected");
});

// ---------------------------------------------------------------------------------------------
// little-giant: the six aspects.

dual_test!(the_rd_rule_follows_last_years_revenue_band, |app: TestApp| async move {
    let (_, ent) = srdi_enterprise(&app, "jingkou").await;
    let g = good_little_giant;

    // Revenue of exactly ¥100 million is in the top band: 3% in each of the two years suffices.
    let top = with(
        g(),
        &[
            ("revenue", json!("100000000")),
            ("main_revenue", json!("90000000")),
            ("rd_expense", json!("3000000")),
            ("revenue_prev", json!("90000000")),
            ("rd_expense_prev", json!("2700000")),
        ],
    );
    accepted(&app, &ent, "little-giant", top.clone(), "¥100m at exactly 3% in both years").await;
    // A cent less R&D last year, or 2.99% the year before, fails.
    let r = refused(&app, &ent, "little-giant", with(top.clone(), &[("rd_expense", json!("2999999.99"))])).await;
    assert_eq!(r, vec![RD_BAND_1]);
    let r = refused(&app, &ent, "little-giant", with(top.clone(), &[("rd_expense_prev", json!("2691000"))])).await;
    assert_eq!(r, vec![RD_BAND_1], "2.99% in the year before last");

    // A cent under ¥100 million is the middle band: 3% is no longer enough, 6% is.
    let middle_top = with(
        top.clone(),
        &[("revenue", json!("99999999.99")), ("rd_expense", json!("3000000")), ("rd_expense_prev", json!("5400000"))],
    );
    let r = refused(&app, &ent, "little-giant", middle_top.clone()).await;
    assert_eq!(r, vec![RD_BAND_2]);
    accepted(
        &app,
        &ent,
        "little-giant",
        with(middle_top, &[("rd_expense", json!("6000000"))]),
        "just under ¥100m at 6%",
    )
    .await;

    // Exactly ¥50 million is the middle band too: 6% passes, a cent less fails.
    let middle = with(
        g(),
        &[
            ("revenue", json!("50000000")),
            ("main_revenue", json!("45000000")),
            ("rd_expense", json!("3000000")),
            ("revenue_prev", json!("45000000")),
            ("rd_expense_prev", json!("2700000")),
        ],
    );
    accepted(&app, &ent, "little-giant", middle.clone(), "¥50m at exactly 6% in both years").await;
    let r = refused(&app, &ent, "little-giant", with(middle.clone(), &[("rd_expense", json!("2999999.99"))])).await;
    assert_eq!(r, vec![RD_BAND_2]);
    let r = refused(&app, &ent, "little-giant", with(middle, &[("rd_expense_prev", json!("2695500"))])).await;
    assert_eq!(r, vec![RD_BAND_2], "5.99% in the year before last");

    // Under ¥50 million: equity ≥ ¥80m AND R&D over two years ≥ ¥30m AND R&D staff ≥ 50%, all
    // on their boundaries here.
    let small = with(
        g(),
        &[
            ("revenue", json!("49999999.99")),
            ("main_revenue", json!("45000000")),
            ("revenue_prev", json!("40000000")),
            ("rd_expense", json!("15000000")),
            ("rd_expense_prev", json!("15000000")),
            ("equity_financing", json!("80000000")),
            ("employees", json!(100)),
            ("rd_staff", json!(50)),
        ],
    );
    accepted(&app, &ent, "little-giant", small.clone(), "under ¥50m on every boundary").await;
    for (field, value) in [
        ("equity_financing", json!("79999999.99")),
        ("rd_expense_prev", json!("14999999.99")),
        ("rd_staff", json!(49)),
        ("equity_financing", Value::Null),
    ] {
        let r = refused(&app, &ent, "little-giant", with(small.clone(), &[(field, value.clone())])).await;
        assert_eq!(r, vec![RD_BAND_3], "{field} = {value}");
    }
    // The ratio does not help a small enterprise without the equity: R&D of 60% but no financing.
    let r = refused(
        &app,
        &ent,
        "little-giant",
        with(small, &[("equity_financing", Value::Null), ("rd_expense", json!("30000000"))]),
    )
    .await;
    assert_eq!(r, vec![RD_BAND_3]);
});

dual_test!(a_direct_condition_replaces_the_general_innovation_conditions, |app: TestApp| async move {
    let (_, ent) = srdi_enterprise(&app, "jingkou").await;
    // R&D of 1%, no R&D institution, one Class-I patent: all three general conditions fail.
    let weak = with(
        good_little_giant(),
        &[("rd_expense", json!("1200000")), ("rd_institution", json!(false)), ("class1_ip", json!(1))],
    );
    assert_eq!(refused(&app, &ent, "little-giant", weak.clone()).await, vec![RD_BAND_1, RD_INSTITUTION, CLASS1_IP]);
    // Either direct condition qualifies.
    accepted(&app, &ent, "little-giant", with(weak.clone(), &[("national_award_top3", json!(true))]), "national award")
        .await;
    accepted(&app, &ent, "little-giant", with(weak.clone(), &[("maker_china_top50", json!(true))]), "创客中国 top 50")
        .await;
    // A direct condition does not excuse the other aspects.
    let r = refused(
        &app,
        &ent,
        "little-giant",
        with(weak, &[("maker_china_top50", json!(true)), ("market_share", json!(9.99))]),
    )
    .await;
    assert_eq!(r, vec!["The main product's share of the national niche market must be at least 10%"]);
});

dual_test!(each_aspect_fails_alone_and_passes_on_its_boundary, |app: TestApp| async move {
    let (_, ent) = srdi_enterprise(&app, "runzhou").await;
    let g = good_little_giant;

    // Every threshold met exactly: 3 years, 70% main business, 5% growth, 70% debt, 10% share.
    let edge = with(
        g(),
        &[
            ("niche_years", json!(3)),
            ("main_revenue", json!("84000000")),
            ("main_growth", json!(5)),
            ("debt_ratio", json!(70)),
            ("market_share", json!(10)),
            ("class1_ip", json!(2)),
        ],
    );
    accepted(&app, &ent, "little-giant", edge.clone(), "every aspect on its boundary").await;

    for (field, value, message) in [
        (
            "compliance",
            json!(false),
            "The enterprise must declare the basic conditions (an SME, not listed as abnormal or seriously dishonest, no major accident or violation in the last 3 years)",
        ),
        (
            "niche_years",
            json!(2),
            "The enterprise must have been in its niche market for at least 3 years at last year-end",
        ),
        (
            "main_revenue",
            json!("83999999.99"),
            "Main-business revenue must be at least 70% of last year's operating revenue",
        ),
        ("main_growth", json!(4.99), "Average main-business revenue growth over the last 2 years must be at least 5%"),
        ("core_business_it", json!(false), "At least one core business must run on an information system"),
        (
            "quality_certified",
            json!(false),
            "A management-system certification or a developed-country product certification is required",
        ),
        ("debt_ratio", json!(70.01), "The asset-liability ratio at last year-end must not exceed 70%"),
        ("market_share", json!(9.99), "The main product's share of the national niche market must be at least 10%"),
        ("own_brand", json!(false), "The enterprise must own a competitive brand of its own"),
        ("rd_institution", json!(false), RD_INSTITUTION),
        ("class1_ip", json!(1), CLASS1_IP),
        (
            "chain_key_link",
            json!(false),
            "The enterprise must be at a key link of an industrial chain, filling gaps or strengthening it",
        ),
        (
            "product_field",
            json!("other"),
            "The main product should belong to the industrial \"six basics\", a key sector of the manufacturing-power strategy, or a network-power area",
        ),
    ] {
        let r = refused(&app, &ent, "little-giant", with(edge.clone(), &[(field, value.clone())])).await;
        assert_eq!(r, vec![message.to_string()], "{field} = {value}");
    }

    // An incomplete form names its missing fields before any rule.
    let view = app.create(&ent, "little-giant", json!({"revenue": "120000000"})).await;
    let r = act_en(&app, &ent, view["id"].as_str().unwrap(), "submit", json!({})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<&str> = r.body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert!(fields.contains(&"rd_expense_prev") && fields.contains(&"product_field"), "{fields:?}");
});

// ---------------------------------------------------------------------------------------------
// little-giant: the recommendation chain, publicity, MIIT, certification and reward.

dual_test!(an_urban_little_giant_is_recognised_and_gets_a_reward_of_300000, |app: TestApp| async move {
    // Arrange
    let (ent_id, ent) = srdi_enterprise(&app, "jingkou").await;
    let city = app.staff(Role::Reviewer, Some("city")).await;
    let province = app.staff(Role::Reviewer, Some("province")).await;
    let district = app.staff(Role::Reviewer, Some("jingkou")).await;
    let finance = app.staff(Role::Finance, None).await;
    let (id, r) = file(&app, &ent, "little-giant", good_little_giant()).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["state"], "city_review");

    // Act: the city returns it once, the enterprise corrects it, the city recommends.
    let tasks = app.get("/api/tasks", &city).await;
    assert!(tasks.body["items"].as_array().unwrap().iter().any(|t| t["application"]["id"] == id.as_str()));
    assert_eq!(app.act(&district, &id, "recommend", json!({})).await.status, StatusCode::FORBIDDEN, "a city task");
    assert_eq!(
        app.act(&city, &id, "return", json!({})).await.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "needs a reason"
    );
    ok(&app, &city, &id, "return", json!({"comment": "请补充Ⅰ类知识产权应用证明"})).await;
    ok(&app, &ent, &id, "submit", json!({})).await;
    ok(&app, &city, &id, "recommend", json!({"comment": "同意推荐"})).await;
    assert_eq!(app.act(&city, &id, "recommend", json!({})).await.status, StatusCode::FORBIDDEN, "now the province's");
    let r = ok(&app, &province, &id, "recommend", json!({})).await;
    assert_eq!(r["state"], "publicity");

    // An objection during the publicity sends it back to the province for checking.
    assert_eq!(app.act(&province, &id, "object", json!({})).await.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = ok(&app, &province, &id, "object", json!({"comment": "实名异议：市场占有率数据存疑"})).await;
    assert_eq!(r["state"], "province_review");
    let r = ok(&app, &province, &id, "recommend", json!({"comment": "经核查异议不成立"})).await;
    assert_eq!(r["state"], "publicity");
    // Published from Monday 2 March 09:00: five working days end on Monday 9 March at 24:00.
    assert_eq!(time(&r["due_at"]), china("2026-03-10T00:00:00+08:00"));
    let r = app.act(&ent, &id, "publish", json!({})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "only the system publishes");
    app.advance(Duration::days(7));
    assert_eq!(app.sweep().await, 0, "Monday 9 March is still in the publicity");
    app.advance(Duration::days(1));
    assert_eq!(app.sweep().await, 1);

    // MIIT recognises it; a city reviewer records the outcome.
    let city = app.fresh(&city).await;
    let r = ok(&app, &city, &id, "record_recognised", json!({"comment": "工信部第六批专精特新“小巨人”企业名单"})).await;

    // Assert
    assert_eq!((r["state"].as_str(), r["final"].as_bool()), (Some("recognised"), Some(true)));
    let actions: Vec<&str> = r["history"].as_array().unwrap().iter().map(|h| h["action"].as_str().unwrap()).collect();
    assert_eq!(
        actions,
        vec![
            "create",
            "submit",
            "return",
            "submit",
            "recommend",
            "recommend",
            "object",
            "recommend",
            "publish",
            "record_recognised"
        ]
    );
    let certs = certifications(&app, &ent_id, "little-giant").await;
    assert_eq!(certs.len(), 1, "{certs:?}");
    assert_eq!(certs[0]["status"], "active");
    assert_eq!(time(&certs[0]["granted_at"]), china("2026-03-10T09:00:00+08:00"));
    assert_eq!(time(&certs[0]["valid_until"]), china("2029-03-10T09:00:00+08:00"), "three years");
    // The urban enterprise's reward waits for finance: ¥300,000 for a little giant.
    let reward = reward_of(&r);
    let finance = app.fresh(&finance).await;
    let c = app.get(&format!("/api/applications/{reward}"), &finance).await.body;
    assert_eq!((c["state"].as_str(), c["final"].as_bool()), (Some("finance_review"), Some(false)));
    assert_eq!(c["data"]["award"], "little-giant");
    assert_eq!(c["data"]["amount"], "300000.00");
    assert_eq!(c["parent"]["id"], id.as_str());
    let tasks = app.get("/api/tasks", &finance).await;
    assert!(tasks.body["items"].as_array().unwrap().iter().any(|t| t["application"]["id"] == reward.as_str()));
    // The enterprise sees its reward too.
    let ent = app.fresh(&ent).await;
    assert_eq!(app.get(&format!("/api/applications/{reward}"), &ent).await.status, StatusCode::OK);
});

dual_test!(a_county_little_giant_is_recognised_without_a_reward, |app: TestApp| async move {
    let (ent_id, ent) = srdi_enterprise(&app, "danyang").await;
    let view = recognise_little_giant(&app, &ent).await;
    assert_eq!(view["state"], "recognised");
    assert_eq!(view["children"], json!([]), "丹阳 is not 市区: the city does not fund its reward");
    let certs = certifications(&app, &ent_id, "little-giant").await;
    assert_eq!((certs.len(), certs[0]["status"].as_str()), (1, Some("active")));
});

dual_test!(not_recommended_or_not_recognised_grants_nothing, |app: TestApp| async move {
    // Arrange
    let (ent_id, ent) = srdi_enterprise(&app, "jingkou").await;
    let city = app.staff(Role::Reviewer, Some("city")).await;
    let province = app.staff(Role::Reviewer, Some("province")).await;

    // The province does not recommend one application…
    let (first, _) = file(&app, &ent, "little-giant", good_little_giant()).await;
    ok(&app, &city, &first, "recommend", json!({})).await;
    assert_eq!(app.act(&province, &first, "reject", json!({})).await.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = ok(&app, &province, &first, "reject", json!({"comment": "超出推荐名额"})).await;
    assert_eq!(r["state"], "rejected");

    // …and MIIT does not recognise the next one: the city records it, with the reason.
    let (second, _) = file(&app, &ent, "little-giant", good_little_giant()).await;
    ok(&app, &city, &second, "recommend", json!({})).await;
    ok(&app, &province, &second, "recommend", json!({})).await;
    app.advance(Duration::days(8));
    assert_eq!(app.sweep().await, 1);
    let city = app.fresh(&city).await;
    let province = app.fresh(&province).await;
    assert_eq!(
        app.act(&province, &second, "record_not_recognised", json!({"comment": "x"})).await.status,
        StatusCode::FORBIDDEN,
        "MIIT's outcome is recorded by the city"
    );
    let r = act_en(&app, &city, &second, "record_not_recognised", json!({})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "a reason is required: {:?}", r.body);
    let r = ok(&app, &city, &second, "record_not_recognised", json!({"comment": "未列入工信部公告名单"})).await;

    // Assert
    assert_eq!((r["state"].as_str(), r["final"].as_bool()), (Some("not_recognised"), Some(true)));
    assert_eq!(r["children"], json!([]));
    assert!(certifications(&app, &ent_id, "little-giant").await.is_empty());
});

// ---------------------------------------------------------------------------------------------
// single-champion

dual_test!(single_champion_criteria_at_their_boundaries, |app: TestApp| async move {
    let (ent_id, ent) = app.register_enterprise("dantu").await;
    let g = good_single_champion;

    // On the boundaries: 10 years, ¥400 million, third in the world.
    let edge =
        with(g(), &[("field_years", json!(10)), ("main_revenue_avg", json!("400000000")), ("global_rank", json!(3))]);
    accepted(&app, &ent, "single-champion", edge.clone(), "10 years, ¥400m, top 3").await;
    accepted(&app, &ent, "single-champion", with(edge.clone(), &[("energy", json!("no_standard"))]), "no quota").await;
    for (changes, message) in [
        (vec![("field_years", json!(9))], SC_YEARS),
        (vec![("field_years", json!(4)), ("new_product", json!(true))], SC_YEARS),
        (vec![("main_revenue_avg", json!("399999999.99"))], SC_REVENUE),
        (vec![("main_revenue_avg", json!("200000000"))], SC_REVENUE),
        (vec![("global_rank", json!(4))], SC_RANK),
        (vec![("energy", json!("below_advanced"))], SC_ENERGY),
        (vec![("rd_institution", json!(false))], SC_RD),
        (vec![("standards", json!(false))], SC_STANDARDS),
    ] {
        let r = refused(&app, &ent, "single-champion", with(edge.clone(), &changes)).await;
        assert_eq!(r, vec![message.to_string()], "{changes:?}");
    }
    // A new product needs 5 years, not 10.
    accepted(
        &app,
        &ent,
        "single-champion",
        with(edge.clone(), &[("field_years", json!(5)), ("new_product", json!(true))]),
        "new product, 5 years",
    )
    .await;
    // An SRDI enterprise: the lowered threshold of ¥200 million (data to be verified).
    seed_certification(&app, &ent_id, "srdi-sme", "active", start_time() + Duration::days(300)).await;
    accepted(
        &app,
        &ent,
        "single-champion",
        with(edge.clone(), &[("main_revenue_avg", json!("200000000"))]),
        "SRDI ¥200m",
    )
    .await;
    let r = refused(&app, &ent, "single-champion", with(edge, &[("main_revenue_avg", json!("199999999.99"))])).await;
    assert_eq!(r, vec![SC_REVENUE]);
    // The product code, when given, is an 8- or 10-digit catalogue code.
    let view = app.create(&ent, "single-champion", good_single_champion()).await;
    let r = app
        .patch(
            &format!("/api/applications/{}", view["id"].as_str().unwrap()),
            &ent,
            json!({"data": {"product_code": "3411020"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", r.body);
    assert_eq!(r.body["errors"][0]["field"], "product_code");
});

dual_test!(an_urban_single_champion_is_recognised_and_gets_a_reward_of_500000, |app: TestApp| async move {
    // Arrange
    let (ent_id, ent) = app.register_enterprise("xinqu").await;
    let city = app.staff(Role::Reviewer, Some("city")).await;
    let province = app.staff(Role::Reviewer, Some("province")).await;
    let finance = app.staff(Role::Finance, None).await;
    let (id, r) = file(&app, &ent, "single-champion", good_single_champion()).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);

    // Act: the city recommends, the province returns it for checking, then recommends to MIIT.
    ok(&app, &city, &id, "recommend", json!({})).await;
    assert_eq!(app.act(&city, &id, "recommend", json!({})).await.status, StatusCode::FORBIDDEN, "now the province's");
    let r = ok(&app, &province, &id, "return", json!({"comment": "请核实全球市场占有率来源"})).await;
    assert_eq!(r["state"], "city_review");
    ok(&app, &city, &id, "recommend", json!({"comment": "已补充第三方市场报告"})).await;
    let r = ok(&app, &province, &id, "recommend", json!({})).await;
    assert_eq!(r["state"], "national_review");
    assert_eq!(app.act(&province, &id, "record_recognised", json!({})).await.status, StatusCode::FORBIDDEN);
    let r = ok(&app, &city, &id, "record_recognised", json!({})).await;

    // Assert
    assert_eq!((r["state"].as_str(), r["final"].as_bool()), (Some("recognised"), Some(true)));
    let certs = certifications(&app, &ent_id, "single-champion").await;
    assert_eq!(certs.len(), 1);
    assert_eq!(certs[0]["status"], "active");
    assert_eq!(time(&certs[0]["valid_until"]), china("2029-03-02T09:00:00+08:00"), "three years");
    let reward = reward_of(&r);
    let c = app.get(&format!("/api/applications/{reward}"), &finance).await.body;
    assert_eq!(c["state"], "finance_review");
    assert_eq!(
        (c["data"]["award"].as_str(), c["data"]["amount"].as_str()),
        (Some("single-champion"), Some("500000.00"))
    );
});

dual_test!(a_county_single_champion_is_recognised_without_a_reward, |app: TestApp| async move {
    let (ent_id, ent) = app.register_enterprise("danyang").await;
    let view = recognise_single_champion(&app, &ent).await;
    assert_eq!(view["state"], "recognised");
    assert_eq!(view["children"], json!([]));
    assert_eq!(certifications(&app, &ent_id, "single-champion").await.len(), 1);
});

// ---------------------------------------------------------------------------------------------
// reward-disbursement

dual_test!(a_reward_is_reserved_on_approval_and_spent_when_paid, |app: TestApp| async move {
    // Arrange: a single champion of 润州 with its ¥500,000 reward.
    let finance = app.staff(Role::Finance, None).await;
    let (_, ent) = app.register_enterprise("runzhou").await;
    let reward = reward_of(&recognise_single_champion(&app, &ent).await);
    assert_eq!(
        money(&sme_budget(&app, &finance).await),
        ("5000000.00".into(), "0.00".into(), "0.00".into(), "5000000.00".into())
    );

    // Act and assert: the enterprise cannot approve its own reward; finance approves.
    assert_eq!(app.act(&ent, &reward, "approve", json!({})).await.status, StatusCode::FORBIDDEN);
    let r = ok(&app, &finance, &reward, "approve", json!({"comment": "资料齐全"})).await;
    assert_eq!(r["state"], "approved");
    assert_eq!(
        money(&sme_budget(&app, &finance).await),
        ("5000000.00".into(), "500000.00".into(), "0.00".into(), "4500000.00".into()),
        "the approval reserves the reward in the 2026 budget"
    );
    // No payment without its reference.
    let r = act_en(&app, &finance, &reward, "pay", json!({})).await;
    assert_eq!(messages(&r), vec!["Enter the payment reference"]);
    let r = ok(&app, &finance, &reward, "pay", json!({"data": {"payment_reference": "ZJCZ-2026-0042"}})).await;
    assert_eq!((r["state"].as_str(), r["final"].as_bool()), (Some("paid"), Some(true)));
    assert_eq!(r["data"]["payment_reference"], "ZJCZ-2026-0042");
    assert_eq!(
        money(&sme_budget(&app, &finance).await),
        ("5000000.00".into(), "0.00".into(), "500000.00".into(), "4500000.00".into()),
        "the payment spends the reservation"
    );
    // The enterprise sees that it was paid, but not the budgets.
    let ent = app.fresh(&ent).await;
    assert_eq!(app.get(&format!("/api/applications/{reward}"), &ent).await.body["state"], "paid");
    assert_eq!(app.get("/api/budgets", &ent).await.status, StatusCode::FORBIDDEN);
});

dual_test!(an_award_is_paid_once_per_enterprise, |app: TestApp| async move {
    // Arrange: an urban enterprise recognised as a little giant twice (say after its title ran
    // out), so two little-giant rewards exist; and once as a single champion.
    let finance = app.staff(Role::Finance, None).await;
    let (_, ent) = srdi_enterprise(&app, "gaoxin").await;
    let first = reward_of(&recognise_little_giant(&app, &ent).await);
    let second = reward_of(&recognise_little_giant(&app, &ent).await);
    let champion = reward_of(&recognise_single_champion(&app, &ent).await);
    let finance = app.fresh(&finance).await;

    // Act: finance approves the first; the second of the same award is refused.
    ok(&app, &finance, &first, "approve", json!({})).await;
    let r = act_en(&app, &finance, &second, "approve", json!({})).await;

    // Assert: refused, and the refusal changed nothing.
    assert_eq!(messages(&r), vec!["the enterprise has already received `little-giant`; an award is given once"]);
    assert_eq!(app.get(&format!("/api/applications/{second}"), &finance).await.body["state"], "finance_review");
    assert_eq!(sme_budget(&app, &finance).await["reserved"], "300000.00");
    // Finance cancels the duplicate, with a reason.
    let r = ok(&app, &finance, &second, "cancel", json!({"comment": "已于首次认定时发放"})).await;
    assert_eq!(r["state"], "cancelled");
    // Another award for the same enterprise is its own: the single champion's reward goes through.
    ok(&app, &finance, &champion, "approve", json!({})).await;
    assert_eq!(sme_budget(&app, &finance).await["reserved"], "800000.00");
    use certflow::storage::entities::award_claim;
    use sea_orm::EntityTrait;
    let mut awards: Vec<String> =
        award_claim::Entity::find().all(&app.engine.db).await.unwrap().into_iter().map(|c| c.award).collect();
    awards.sort();
    assert_eq!(awards, vec!["little-giant", "single-champion"]);
});

async fn budget_runs_out(backend: Backend) {
    // Arrange: a 2026 fund of ¥600,000; a single champion (¥500,000) and a little giant (¥300,000).
    let defs = definitions_with(&[("budgets.yaml", "2026: \"5000000.00\"", "2026: \"600000.00\"")]);
    let app = spawn_app_with(backend, defs.path()).await;
    let finance = app.staff(Role::Finance, None).await;
    let (_, champion_ent) = app.register_enterprise("jingkou").await;
    let (_, giant_ent) = srdi_enterprise(&app, "dantu").await;
    let champion = reward_of(&recognise_single_champion(&app, &champion_ent).await);
    let giant = reward_of(&recognise_little_giant(&app, &giant_ent).await);
    let finance = app.fresh(&finance).await;
    ok(&app, &finance, &champion, "approve", json!({})).await;
    assert_eq!(sme_budget(&app, &finance).await["left"], "100000.00");

    // Act: the little giant's reward does not fit.
    let r = act_en(&app, &finance, &giant, "approve", json!({})).await;

    // Assert: refused with what is left; nothing changed.
    assert_eq!(messages(&r), vec!["the 2026 budget `sme-rewards` has only ¥100000.00 left, not ¥300000.00"]);
    assert_eq!(app.get(&format!("/api/applications/{giant}"), &finance).await.body["state"], "finance_review");
    assert_eq!(
        money(&sme_budget(&app, &finance).await),
        ("600000.00".into(), "500000.00".into(), "0.00".into(), "100000.00".into())
    );
    // Cancelling the approved champion reward gives its money and its claim back…
    assert_eq!(act_en(&app, &finance, &champion, "cancel", json!({})).await.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = ok(&app, &finance, &champion, "cancel", json!({"comment": "企业迁出市区"})).await;
    assert_eq!(r["state"], "cancelled");
    assert_eq!(sme_budget(&app, &finance).await["left"], "600000.00");
    use certflow::storage::entities::award_claim;
    use sea_orm::EntityTrait;
    assert!(award_claim::Entity::find().all(&app.engine.db).await.unwrap().is_empty());
    // …and now the little giant's fits.
    ok(&app, &finance, &giant, "approve", json!({})).await;
    assert_eq!(
        money(&sme_budget(&app, &finance).await),
        ("600000.00".into(), "300000.00".into(), "0.00".into(), "300000.00".into())
    );
}

#[tokio::test]
async fn the_reward_budget_runs_out_and_fits_again_after_a_cancellation_sqlite() {
    budget_runs_out(Backend::Sqlite).await;
}

#[tokio::test]
#[cfg_attr(not(pg_tests), ignore = "PostgreSQL run skipped: set CERTFLOW_TEST_POSTGRES_URL to run it")]
async fn the_reward_budget_runs_out_and_fits_again_after_a_cancellation_postgres() {
    budget_runs_out(Backend::Postgres).await;
}

dual_test!(only_the_system_starts_a_reward, |app: TestApp| async move {
    let (ent_id, ent) = app.register_enterprise("jingkou").await;
    let finance = app.staff(Role::Finance, None).await;
    let body = json!({"workflow": "reward-disbursement", "data": {"award": "little-giant", "amount": "300000.00"}});
    let r = app
        .request(Method::POST, "/api/applications", Some(&ent), Some(body.clone()), &[("Accept-Language", "en")])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{:?}", r.body);
    assert_eq!(r.body["detail"], "this workflow is started only by the system");
    let mut body = body;
    body["enterprise_id"] = json!(ent_id);
    assert_eq!(app.post("/api/applications", &finance, body).await.status, StatusCode::FORBIDDEN, "nor finance");
    let admin = app.login("admin@test.cn").await;
    let r = app.get(&format!("/api/applications?workflow=reward-disbursement&enterprise_id={ent_id}"), &admin).await;
    assert_eq!(r.body["total"], 0);
});
