//! The recognition tiers below the national ones: `innovative-sme` (创新型中小企业, RULES.md §1.0,
//! §1.1), `srdi-sme` (江苏省专精特新中小企业, RULES.md §1.2) and `pool-entry` (入库培育: the
//! self-assessment against every tier at once). Scores on both sides of the pass line and on the
//! band boundaries, each category minimum failing alone, the direct-qualification routes, the
//! prerequisite tier (missing, expired, running out during the review), the hard conditions, the
//! expert panel's quorum, publicity, the certifications, and the pool's per-tier lost points.

use certflow::domain::role::Role;
use chrono::{DateTime, Duration, Utc};
use reqwest::StatusCode;
use serde_json::{Map, Value, json};

use crate::dual_test;
use crate::helpers::seed_certification;
use crate::helpers::{Resp, TestApp, start_time};
use crate::helpers::{act_en, messages};

// ---------------------------------------------------------------------------------------------
// Messages as the enterprise reads them in English (the definitions' `message.en`).

const SCORE_FAILS: &str =
    "score {total} against a pass line of 60 (or a group below its minimum), and no direct qualification";
const SPOT_CHECK: &str = "Record the spot check: not selected, or checked as declared with the findings written down";
const ALREADY_INNOVATIVE: &str =
    "The enterprise is already a recognised innovative SME; apply for its renewal before it runs out";
const NO_INNOVATIVE: &str = "The enterprise must be an announced innovative SME whose recognition is still valid";
const NICHE: &str = "The enterprise must have been in its specific niche market for at least 2 years";
const RD_AMOUNT: &str = "Last year's R&D expense must be at least ¥1 million";
const RD_RATIO: &str = "Last year's R&D expense must be at least 3% of operating revenue";
const REVENUE: &str = "Last year's operating revenue must be at least ¥10 million, or new equity financing in the last 2 years at least ¥20 million";
const POOL: &str =
    "The enterprise must be in the Jiangsu quality-SME cultivation pool (new entry, or annual data update approved)";

fn score_fails(total: i64) -> String {
    SCORE_FAILS.replace("{total}", &total.to_string())
}

// ---------------------------------------------------------------------------------------------
// Data.

/// The common conditions of every tier, all declared.
fn declarations() -> Value {
    json!({"sme": true, "good_credit": true, "products_permitted": true, "no_major_violation": true})
}

/// An innovative SME scoring 90: IP 15 + R&D 6% 20 | growth 12% 15 + debt 45% 10 | strategic
/// field 10 + main business 80% 20 (groups 35 / 25 / 30).
fn good_innovative() -> Value {
    with(
        declarations(),
        &[
            ("revenue", json!("10000000")),
            ("main_revenue", json!("8000000")),
            ("rd_expense", json!("600000")),
            ("main_growth", json!(12)),
            ("debt_ratio", json!(45)),
            ("ip_level", json!("class1_own")),
            ("strategic_emerging", json!(true)),
        ],
    )
}

/// An innovative SME scoring 5 (only the "other field" points): for the direct routes.
fn weak_innovative() -> Value {
    with(
        good_innovative(),
        &[
            ("ip_level", json!("none")),
            ("rd_expense", json!("50000")),
            ("main_growth", json!(-5)),
            ("debt_ratio", json!(80)),
            ("strategic_emerging", json!(false)),
            ("main_revenue", json!("4000000")),
        ],
    )
}

/// A Jiangsu SRDI SME scoring 67: specialisation 5+8+3+3 = 19, refinement 3+5+8+5 = 21,
/// distinctiveness 2+6 = 8, innovation 8+4+3+4 = 19.
fn good_srdi() -> Value {
    with(
        declarations(),
        &[
            ("registered_in_jiangsu", json!(true)),
            ("in_provincial_pool", json!(true)),
            ("niche_years", json!(6)),
            ("revenue", json!("30000000")),
            ("main_revenue", json!("25500000")),
            ("main_growth_2y", json!(9)),
            ("product_field", json!("six_basics")),
            ("digital_level", json!("level2")),
            ("quality_system", json!(true)),
            ("own_brand", json!(true)),
            ("net_profit", json!("2400000")),
            ("debt_ratio", json!(50)),
            ("js_chain_1650", json!("future_or_advantage")),
            ("js_feature_other", json!(6)),
            ("ip_level", json!("class1_own")),
            ("rd_expense", json!("1500000")),
            ("employees", json!(100)),
            ("rd_staff", json!(15)),
            ("rd_institution_level", json!("city")),
        ],
    )
}

/// `base` with some fields replaced.
fn with(base: Value, changes: &[(&str, Value)]) -> Value {
    let mut v = base;
    for (k, x) in changes {
        v[*k] = x.clone();
    }
    v
}

// ---------------------------------------------------------------------------------------------
// Arrange and act helpers.

/// An enterprise in `district` that is a valid innovative SME until early 2028.
async fn innovative_enterprise(app: &TestApp, district: &str) -> (String, String) {
    let (id, token) = app.register_enterprise(district).await;
    seed_certification(app, &id, "innovative-sme", "active", start_time() + Duration::days(700)).await;
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

/// Files and submits; asserts it reaches the district review and returns the view.
async fn accepted(app: &TestApp, ent: &str, workflow: &str, data: Value, case: &str) -> Value {
    let (_, r) = file(app, ent, workflow, data).await;
    assert_eq!(r.status, StatusCode::OK, "{case}: {:?}", r.body);
    assert_eq!(r.body["state"], "district_review", "{case}");
    r.body
}

async fn ok(app: &TestApp, token: &str, id: &str, action: &str, body: Value) -> Value {
    let r = app.act(token, id, action, body).await;
    assert_eq!(r.status, StatusCode::OK, "{action}: {:?}", r.body);
    r.body
}

/// The indicator of a score by key.
fn indicator<'a>(view: &'a Value, key: &str) -> &'a Value {
    view["score"]["indicators"].as_array().unwrap().iter().find(|i| i["key"] == key).unwrap_or_else(|| {
        panic!("no indicator {key} in {:?}", view["score"]);
    })
}

/// (points, max, lost) of an indicator.
fn pml(view: &Value, key: &str) -> (i64, i64, i64) {
    let i = indicator(view, key);
    (i["points"].as_i64().unwrap(), i["max"].as_i64().unwrap(), i["lost"].as_i64().unwrap())
}

/// A group of a score by key: (points, max, ok).
fn group(view: &Value, key: &str) -> (i64, i64, bool) {
    let g = view["score"]["groups"].as_array().unwrap().iter().find(|g| g["key"] == key).unwrap_or_else(|| {
        panic!("no group {key} in {:?}", view["score"]);
    });
    (g["points"].as_i64().unwrap(), g["max"].as_i64().unwrap(), g["ok"].as_bool().unwrap())
}

/// The English reasons for a direct qualification.
fn direct_reasons(view: &Value) -> Vec<String> {
    view["score"]["direct_reasons"].as_array().unwrap().iter().map(|r| r["en"].as_str().unwrap().to_string()).collect()
}

/// Changes a draft's data; asserts 200 and returns the view with the new score.
async fn patch(app: &TestApp, token: &str, id: &str, data: Value) -> Value {
    let r = app.patch(&format!("/api/applications/{id}"), token, json!({"data": data})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    r.body
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

/// Only the fields of `data` that the workflow's form has.
async fn for_form(app: &TestApp, token: &str, workflow: &str, data: &Value) -> Value {
    let r = app.get(&format!("/api/workflows/{workflow}"), token).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let schema = if r.body["form"]["properties"].is_object() { &r.body["form"] } else { &r.body["form"]["schema"] };
    let props = schema["properties"].as_object().unwrap_or_else(|| panic!("no form schema in {:?}", r.body));
    let kept: Map<String, Value> = data
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| props.contains_key(*k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Value::Object(kept)
}

/// Takes an innovative-sme application from filing to the publicity; returns its id.
async fn innovative_to_publicity(app: &TestApp, ent: &str, district: &str) -> String {
    let district_reviewer = app.staff(Role::Reviewer, Some(district)).await;
    let city = app.staff(Role::Reviewer, Some("city")).await;
    let (id, r) = file(app, ent, "innovative-sme", good_innovative()).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    ok(app, &district_reviewer, &id, "approve", json!({})).await;
    let v = ok(app, &city, &id, "approve", json!({"data": {"spot_check": "not_selected"}})).await;
    assert_eq!(v["state"], "publicity");
    id
}

/// Takes an srdi-sme application from filing to the expert panel; returns its id.
async fn srdi_to_panel(app: &TestApp, ent: &str, district: &str) -> String {
    let district_reviewer = app.staff(Role::Reviewer, Some(district)).await;
    let city = app.staff(Role::Reviewer, Some("city")).await;
    let province = app.staff(Role::Reviewer, Some("province")).await;
    let (id, r) = file(app, ent, "srdi-sme", good_srdi()).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    ok(app, &district_reviewer, &id, "approve", json!({})).await;
    ok(app, &city, &id, "recommend", json!({})).await;
    let v = ok(app, &province, &id, "pass", json!({})).await;
    assert_eq!(v["state"], "expert_panel");
    id
}

// =============================================================================================
// innovative-sme: the scoring table.

dual_test!(innovative_sme_scores_each_indicator_on_its_band_boundaries, |app: TestApp| async move {
    // Arrange: a draft scoring 90.
    let (_, ent) = app.register_enterprise("jingkou").await;
    let view = app.create(&ent, "innovative-sme", good_innovative()).await;
    let id = view["id"].as_str().unwrap().to_string();
    assert_eq!((view["score"]["total"].as_i64(), view["score"]["passed"].as_bool()), (Some(90), Some(true)));
    assert_eq!(group(&view, "innovation"), (35, 40, true));
    assert_eq!(group(&view, "growth"), (25, 30, true));
    assert_eq!(group(&view, "specialisation"), (30, 30, true));

    // R&D intensity on ¥10,000,000 of revenue: exactly 5% scores 20, a cent less 15, and so on
    // down the bands (a boundary belongs to the higher band).
    for (rd, points) in [
        ("500000", 20),
        ("499999.99", 15),
        ("300000", 15),
        ("299999.99", 10),
        ("200000", 10),
        ("199999.99", 5),
        ("100000", 5),
        ("99999.99", 0),
    ] {
        let v = patch(&app, &ent, &id, json!({"rd_expense": rd})).await;
        assert_eq!(indicator(&v, "rd_ratio")["points"], points, "R&D {rd}");
    }
    // What the enterprise sees for an indicator that lost points: the next band and a hint.
    let v = patch(&app, &ent, &id, json!({"rd_expense": "499999.99"})).await;
    let rd = indicator(&v, "rd_ratio");
    assert_eq!(pml(&v, "rd_ratio"), (15, 20, 5));
    assert_eq!((rd["next"]["min"].as_i64(), rd["next"]["points"].as_i64()), (Some(5), Some(20)));
    assert_eq!(rd["hint"]["en"], "Invest more in R&D");
    assert_eq!(v["score"]["total"], 85);

    // Asset-liability ratio, lower is better: exactly 55% scores 10, above it 5, exactly 75% 5.
    for (debt, points) in [(json!(55), 10), (json!("55.01"), 5), (json!(75), 5), (json!("75.01"), 0), (json!(0), 10)] {
        let v = patch(&app, &ent, &id, json!({"debt_ratio": debt})).await;
        assert_eq!(indicator(&v, "debt_ratio")["points"], points, "debt {debt}");
    }
    // Main-business growth: 15% → 20, 10% → 15, 5% → 10, 0% → 5, below 0 → 0.
    for (growth, points) in
        [(json!(15), 20), (json!("14.99"), 15), (json!(10), 15), (json!(5), 10), (json!(0), 5), (json!("-0.01"), 0)]
    {
        let v = patch(&app, &ent, &id, json!({"main_growth": growth})).await;
        assert_eq!(indicator(&v, "main_growth")["points"], points, "growth {growth}");
    }
    // Main business as a share of revenue: 70% → 20, 60% → 15, 55% → 10, 50% → 5, below → 0.
    for (main, points) in
        [("7000000", 20), ("6999999.99", 15), ("6000000", 15), ("5500000", 10), ("5000000", 5), ("4999999.99", 0)]
    {
        let v = patch(&app, &ent, &id, json!({"main_revenue": main})).await;
        assert_eq!(indicator(&v, "main_share")["points"], points, "main revenue {main}");
    }
    // IP classes A-E and the field of the main product.
    for (level, points) in [("class1_high_value", 20), ("class1_own", 15), ("class1", 10), ("class2", 5), ("none", 0)] {
        let v = patch(&app, &ent, &id, json!({"ip_level": level})).await;
        assert_eq!(indicator(&v, "ip")["points"], points, "IP {level}");
    }
    let v = patch(&app, &ent, &id, json!({"strategic_emerging": false})).await;
    assert_eq!(pml(&v, "field"), (5, 10, 5));
});

dual_test!(innovative_sme_passes_at_exactly_60_and_fails_below, |app: TestApp| async move {
    let (_, ent) = app.register_enterprise("runzhou").await;
    // 60 exactly, every category on its minimum: IP none 0 + R&D 5% 20 = 20 | growth 10% 15 +
    // debt 60% 5 = 20 | strategic 10 + main business 55% 10 = 20.
    let sixty = with(
        good_innovative(),
        &[
            ("ip_level", json!("none")),
            ("rd_expense", json!("500000")),
            ("main_growth", json!(10)),
            ("debt_ratio", json!(60)),
            ("main_revenue", json!("5500000")),
        ],
    );
    let v = accepted(&app, &ent, "innovative-sme", sixty.clone(), "60 points").await;
    assert_eq!((v["score"]["total"].as_i64(), v["score"]["passed"].as_bool()), (Some(60), Some(true)));
    assert_eq!(v["score"]["direct"], false);
    assert_eq!(
        [group(&v, "innovation"), group(&v, "growth"), group(&v, "specialisation")],
        [(20, 40, true), (20, 30, true), (20, 30, true)]
    );

    // A cent less main business: 54.9999…% scores 5, the total 55 — refused, and the view shows why.
    let fifty_five = with(sixty, &[("main_revenue", json!("5499999.99"))]);
    let (id, r) = file(&app, &ent, "innovative-sme", fifty_five).await;
    assert_eq!(messages(&r), vec![score_fails(55)]);
    assert_eq!(r.body["title"], "the score does not qualify");
    let v = app.get(&format!("/api/applications/{id}"), &ent).await.body;
    assert_eq!(v["state"], "draft");
    assert_eq!((v["score"]["total"].as_i64(), v["score"]["passed"].as_bool()), (Some(55), Some(false)));
    assert_eq!(group(&v, "specialisation"), (15, 30, true), "still on its minimum");
    assert_eq!(pml(&v, "main_share"), (5, 20, 15));
});

dual_test!(each_innovative_category_minimum_fails_alone_while_the_total_passes, |app: TestApp| async move {
    let (_, ent) = app.register_enterprise("dantu").await;
    let cases = [
        // 创新能力 15 < 20: IP class II 5 + R&D 2.5% 10; growth 20% 20 + debt 40% 10; 30.
        (
            "innovation",
            with(
                good_innovative(),
                &[
                    ("ip_level", json!("class2")),
                    ("rd_expense", json!("250000")),
                    ("main_growth", json!(20)),
                    ("debt_ratio", json!(40)),
                ],
            ),
            75,
            15,
        ),
        // 成长性 10 < 15: growth 7% 10 + debt 80% 0; innovation 20 + 20; 30.
        (
            "growth",
            with(
                good_innovative(),
                &[("ip_level", json!("class1_high_value")), ("main_growth", json!(7)), ("debt_ratio", json!(80))],
            ),
            80,
            10,
        ),
        // 专业化 10 < 15: other field 5 + main business 52% 5; innovation 40; growth 20 + 10.
        (
            "specialisation",
            with(
                good_innovative(),
                &[
                    ("ip_level", json!("class1_high_value")),
                    ("main_growth", json!(20)),
                    ("strategic_emerging", json!(false)),
                    ("main_revenue", json!("5200000")),
                ],
            ),
            80,
            10,
        ),
    ];
    for (failing, data, total, points) in cases {
        // Act
        let (id, r) = file(&app, &ent, "innovative-sme", data).await;

        // Assert: refused though the total passes; only the failing category is marked.
        assert_eq!(messages(&r), vec![score_fails(total)], "{failing}");
        let v = app.get(&format!("/api/applications/{id}"), &ent).await.body;
        assert_eq!(v["score"]["total"], total, "{failing}");
        assert_eq!(v["score"]["passed"], false, "{failing}");
        for g in ["innovation", "growth", "specialisation"] {
            let (p, _, ok) = group(&v, g);
            assert_eq!(ok, g != failing, "{failing}: group {g}");
            if g == failing {
                assert_eq!(p, points, "{failing}");
            }
        }
        let minimum = v["score"]["groups"].as_array().unwrap().iter().find(|g| g["key"] == failing).unwrap()["min"]
            .as_i64()
            .unwrap();
        assert_eq!(minimum, if failing == "innovation" { 20 } else { 15 });
    }
});

dual_test!(each_direct_route_qualifies_an_innovative_sme_whatever_its_points, |app: TestApp| async move {
    let (_, ent) = app.register_enterprise("xinqu").await;
    // Without a direct route, 5 points are refused.
    assert_eq!(refused(&app, &ent, "innovative-sme", weak_innovative()).await, vec![score_fails(5)]);

    for (field, value, reason) in [
        ("st_award", json!("national"), "A national or provincial science and technology award in the last 3 years"),
        ("st_award", json!("provincial"), "A national or provincial science and technology award in the last 3 years"),
        (
            "honour",
            json!("high_tech"),
            "A valid honour as a high-tech enterprise, national technology-innovation demonstration enterprise, IP advantage or IP demonstration enterprise",
        ),
        (
            "honour",
            json!("ip_demo"),
            "A valid honour as a high-tech enterprise, national technology-innovation demonstration enterprise, IP advantage or IP demonstration enterprise",
        ),
        (
            "rd_institution_level",
            json!("provincial"),
            "An accredited R&D institution at provincial or ministerial level or above",
        ),
        (
            "rd_institution_level",
            json!("national"),
            "An accredited R&D institution at provincial or ministerial level or above",
        ),
        (
            "equity_financing_3y",
            json!("5000000"),
            "New equity financing of ¥5 million or more in the last 3 years (paid in by qualified institutional investors)",
        ),
    ] {
        // Act
        let v = accepted(&app, &ent, "innovative-sme", with(weak_innovative(), &[(field, value.clone())]), field).await;

        // Assert
        assert_eq!((v["score"]["total"].as_i64(), v["score"]["passed"].as_bool()), (Some(5), Some(true)), "{field}");
        assert_eq!(v["score"]["direct"], true, "{field} {value}");
        assert_eq!(direct_reasons(&v), vec![reason.to_string()], "{field} {value}");
    }

    // Near misses: a city-level institution, a cent under ¥5 million, no award.
    for (field, value) in [
        ("rd_institution_level", json!("city")),
        ("equity_financing_3y", json!("4999999.99")),
        ("st_award", json!("none")),
        ("honour", json!("none")),
    ] {
        let r = refused(&app, &ent, "innovative-sme", with(weak_innovative(), &[(field, value.clone())])).await;
        assert_eq!(r, vec![score_fails(5)], "{field} {value}");
    }
});

dual_test!(innovative_sme_common_conditions_are_checked, |app: TestApp| async move {
    let (_, ent) = app.register_enterprise("jurong").await;
    for (field, message) in [
        (
            "sme",
            "The enterprise must be an independent legal person registered in mainland China and an SME under the SME classification rules",
        ),
        (
            "good_credit",
            "An enterprise on the list of abnormal operations or of seriously dishonest entities cannot apply",
        ),
        (
            "products_permitted",
            "The products and services must not be in a prohibited, restricted or eliminated category",
        ),
        (
            "no_major_violation",
            "An enterprise with a major safety, quality or pollution accident, tax evasion or another violation in the last 3 years cannot apply",
        ),
    ] {
        let r = refused(&app, &ent, "innovative-sme", with(good_innovative(), &[(field, json!(false))])).await;
        assert_eq!(r, vec![message], "{field}");
    }
    // In Chinese by default.
    let view = app.create(&ent, "innovative-sme", with(good_innovative(), &[("good_credit", json!(false))])).await;
    let r = app.act(&ent, view["id"].as_str().unwrap(), "submit", json!({})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.body["errors"][0]["message"], "被列入经营异常名录或严重失信主体名单的企业不能申报");
});

// =============================================================================================
// innovative-sme: the procedure.

dual_test!(innovative_sme_goes_from_filing_to_recognised_with_a_spot_check, |app: TestApp| async move {
    // Arrange
    let (ent_id, ent) = app.register_enterprise("jingkou").await;
    let district = app.staff(Role::Reviewer, Some("jingkou")).await;
    let other_district = app.staff(Role::Reviewer, Some("danyang")).await;
    let city = app.staff(Role::Reviewer, Some("city")).await;
    let (id, r) = file(&app, &ent, "innovative-sme", good_innovative()).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["state"], "district_review");

    // The district returns it for revision; the enterprise corrects and submits again.
    assert_eq!(app.act(&other_district, &id, "approve", json!({})).await.status, StatusCode::FORBIDDEN);
    let r = act_en(&app, &district, &id, "return", json!({})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "a return needs a comment: {:?}", r.body);
    let v = ok(&app, &district, &id, "return", json!({"comment": "请补充研发费用专项审计报告"})).await;
    assert_eq!(v["state"], "draft");
    let v = app.get(&format!("/api/applications/{id}"), &ent).await.body;
    assert_eq!(v["editable"], true, "the enterprise may edit it again");
    let v = patch(&app, &ent, &id, json!({"rd_expense": "650000"})).await;
    assert_eq!(v["score"]["total"], 90);
    ok(&app, &ent, &id, "submit", json!({})).await;
    let v = ok(&app, &district, &id, "approve", json!({"comment": "材料齐全"})).await;
    assert_eq!(v["state"], "city_review");

    // The city must record the spot check before approving.
    let r = act_en(&app, &city, &id, "approve", json!({})).await;
    assert_eq!(messages(&r), vec![SPOT_CHECK]);
    let r = act_en(&app, &city, &id, "approve", json!({"data": {"spot_check": "passed"}})).await;
    assert_eq!(messages(&r), vec![SPOT_CHECK], "checked without findings");
    let r = act_en(
        &app,
        &city,
        &id,
        "approve",
        json!({"data": {"spot_check": "failed", "spot_check_findings": "研发人员与申报不符"}}),
    )
    .await;
    assert_eq!(messages(&r), vec![SPOT_CHECK], "a failed spot check cannot be approved");
    let findings = "2026-03-02 实地抽查：研发中心、生产线与申报材料一致";
    let v = ok(
        &app,
        &city,
        &id,
        "approve",
        json!({"comment": "同意公示", "data": {"spot_check": "passed", "spot_check_findings": findings}}),
    )
    .await;
    assert_eq!(v["state"], "publicity");
    assert_eq!(
        (v["data"]["spot_check"].as_str(), v["data"]["spot_check_findings"].as_str()),
        (Some("passed"), Some(findings))
    );
    // 5 working days from Monday 2 March 2026, 09:00 (a period starting at 09:00 or later does not
    // count its first day): Tuesday 3 to Monday 9 March, ending at 24:00.
    let due = time(&v["due_at"]);
    assert_eq!(due, china("2026-03-10T00:00:00+08:00"));

    // Act: the publicity runs out by itself.
    app.advance(Duration::days(7) + Duration::hours(14));
    assert_eq!(app.sweep().await, 0, "still in publicity on Monday 9 March, 23:00");
    app.advance(Duration::hours(1));
    assert_eq!(app.sweep().await, 1, "the publicity ends by itself at midnight");

    // Assert: recognised, the certification valid for 3 years from the end of the publicity.
    let ent = app.fresh(&ent).await;
    let v = app.get(&format!("/api/applications/{id}"), &ent).await.body;
    assert_eq!((v["state"].as_str(), v["final"].as_bool()), (Some("recognised"), Some(true)));
    let certs = certifications(&app, &ent_id, "innovative-sme").await;
    assert_eq!(certs.len(), 1, "{certs:?}");
    assert_eq!(certs[0]["status"], "active");
    assert_eq!(certs[0]["application_id"], id.as_str());
    let granted = time(&certs[0]["granted_at"]);
    assert!(granted >= due, "granted {granted} at the end of the publicity {due}");
    let until = time(&certs[0]["valid_until"]);
    assert!(until - granted >= Duration::days(1095) && until - granted <= Duration::days(1097), "{granted} → {until}");

    // A recognised enterprise renews; it does not apply again.
    assert_eq!(refused(&app, &ent, "innovative-sme", good_innovative()).await, vec![ALREADY_INNOVATIVE]);
});

dual_test!(innovative_sme_objection_and_rejections, |app: TestApp| async move {
    let (ent_id, ent) = app.register_enterprise("runzhou").await;
    let city = app.staff(Role::Reviewer, Some("city")).await;
    let district = app.staff(Role::Reviewer, Some("runzhou")).await;

    // An objection during the publicity sends the application back to the city for checking…
    let id = innovative_to_publicity(&app, &ent, "runzhou").await;
    let r = act_en(&app, &city, &id, "object", json!({})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "an objection needs a comment");
    assert_eq!(app.act(&ent, &id, "publish", json!({})).await.status, StatusCode::FORBIDDEN, "the system publishes");
    let v = ok(&app, &city, &id, "object", json!({"comment": "收到实名异议：知识产权权属存在争议"})).await;
    assert_eq!(v["state"], "city_review");
    // …the timer is cancelled…
    app.advance(Duration::days(10));
    assert_eq!(app.sweep().await, 0);
    // …and the city rejects after the check, recording a failed spot check.
    let city = app.fresh(&city).await;
    let r = act_en(&app, &city, &id, "reject", json!({})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "a rejection needs a comment");
    let v = ok(
        &app,
        &city,
        &id,
        "reject",
        json!({"comment": "异议属实", "data": {"spot_check": "failed", "spot_check_findings": "核心专利权属争议未决"}}),
    )
    .await;
    assert_eq!((v["state"].as_str(), v["final"].as_bool()), (Some("rejected"), Some(true)));
    assert!(certifications(&app, &ent_id, "innovative-sme").await.is_empty());

    // The district may reject too.
    let ent = app.fresh(&ent).await;
    let district = app.fresh(&district).await;
    let (id, r) = file(&app, &ent, "innovative-sme", good_innovative()).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let v = ok(&app, &district, &id, "reject", json!({"comment": "不符合中小企业划型标准"})).await;
    assert_eq!(v["state"], "rejected");
    // And the enterprise may withdraw a draft.
    let view = app.create(&ent, "innovative-sme", good_innovative()).await;
    let v = ok(&app, &ent, view["id"].as_str().unwrap(), "withdraw", json!({})).await;
    assert_eq!(v["state"], "withdrawn");
});

// =============================================================================================
// srdi-sme: the prerequisite tier and the hard conditions.

dual_test!(srdi_sme_needs_a_valid_innovative_sme_recognition, |app: TestApp| async move {
    // Arrange: an enterprise that meets everything but is not an innovative SME.
    let (ent_id, ent) = app.register_enterprise("jingkou").await;

    // Act and assert: refused for the missing tier, and for nothing else.
    assert_eq!(refused(&app, &ent, "srdi-sme", good_srdi()).await, vec![NO_INNOVATIVE]);

    // An innovative-SME recognition marked expired does not count…
    seed_certification(&app, &ent_id, "innovative-sme", "expired", start_time() - Duration::days(1)).await;
    assert_eq!(refused(&app, &ent, "srdi-sme", good_srdi()).await, vec![NO_INNOVATIVE], "expired");
    // …nor one whose end has passed that the sweep has not marked yet…
    let (late_id, late) = app.register_enterprise("runzhou").await;
    seed_certification(&app, &late_id, "innovative-sme", "active", start_time() - Duration::hours(1)).await;
    assert_eq!(refused(&app, &late, "srdi-sme", good_srdi()).await, vec![NO_INNOVATIVE], "run out");
    // …nor the pool entry (the tier below).
    seed_certification(&app, &ent_id, "pool-entry", "active", start_time() + Duration::days(300)).await;
    assert_eq!(refused(&app, &ent, "srdi-sme", good_srdi()).await, vec![NO_INNOVATIVE], "pool only");

    // A valid one does.
    seed_certification(&app, &ent_id, "innovative-sme", "active", start_time() + Duration::days(300)).await;
    let v = accepted(&app, &ent, "srdi-sme", good_srdi(), "valid innovative SME").await;
    assert_eq!(v["score"]["total"], 67);

    // In Chinese by default.
    let view = app.create(&late, "srdi-sme", good_srdi()).await;
    let r = app.act(&late, view["id"].as_str().unwrap(), "submit", json!({})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.body["errors"][0]["message"], "须为已公告且在有效期内的创新型中小企业");
});

dual_test!(the_innovative_recognition_is_checked_again_when_the_city_recommends, |app: TestApp| async move {
    // Arrange: submitted while the innovative-SME recognition is valid; it runs out during the review.
    let (ent_id, ent) = app.register_enterprise("dantu").await;
    seed_certification(&app, &ent_id, "innovative-sme", "active", start_time() + Duration::days(2)).await;
    let district = app.staff(Role::Reviewer, Some("dantu")).await;
    let city = app.staff(Role::Reviewer, Some("city")).await;
    let (id, r) = file(&app, &ent, "srdi-sme", good_srdi()).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    ok(&app, &district, &id, "approve", json!({})).await;

    // Act
    app.advance(Duration::days(3));
    let city = app.fresh(&city).await;
    let r = act_en(&app, &city, &id, "recommend", json!({})).await;

    // Assert: the city cannot recommend; it may still reject.
    assert_eq!(messages(&r), vec![NO_INNOVATIVE]);
    let v = ok(&app, &city, &id, "reject", json!({"comment": "创新型中小企业已过有效期"})).await;
    assert_eq!(v["state"], "rejected");
});

dual_test!(each_srdi_hard_condition_fails_alone_and_passes_on_its_boundary, |app: TestApp| async move {
    let (_, ent) = innovative_enterprise(&app, "runzhou").await;

    // (1) 2 years in the niche passes, 1 does not.
    accepted(&app, &ent, "srdi-sme", with(good_srdi(), &[("niche_years", json!(2))]), "2 years").await;
    assert_eq!(refused(&app, &ent, "srdi-sme", with(good_srdi(), &[("niche_years", json!(1))])).await, vec![NICHE]);

    // (2) R&D of ¥1 million exactly passes; a cent less fails (3.33% of ¥30m is enough).
    let v = accepted(&app, &ent, "srdi-sme", with(good_srdi(), &[("rd_expense", json!("1000000"))]), "¥1m").await;
    assert_eq!(pml(&v, "rd"), (2, 10, 8), "¥1m and 3.33% both score 2");
    assert_eq!(
        refused(&app, &ent, "srdi-sme", with(good_srdi(), &[("rd_expense", json!("999999.99"))])).await,
        vec![RD_AMOUNT]
    );
    // (2) and 3% of revenue: ¥1.5m of ¥50m exactly passes, a cent less fails.
    let fifty = with(
        good_srdi(),
        &[("revenue", json!("50000000")), ("main_revenue", json!("42500000")), ("net_profit", json!("4000000"))],
    );
    let v = accepted(&app, &ent, "srdi-sme", fifty.clone(), "3% exactly").await;
    assert_eq!(v["score"]["total"], 65);
    assert_eq!(
        refused(&app, &ent, "srdi-sme", with(fifty, &[("rd_expense", json!("1499999.99"))])).await,
        vec![RD_RATIO]
    );

    // (3) revenue of ¥10 million, or ¥20 million of equity financing in 2 years.
    let small = with(
        good_srdi(),
        &[
            ("revenue", json!("9999999.99")),
            ("main_revenue", json!("8500000")),
            ("net_profit", json!("800000")),
            ("rd_expense", json!("1000000")),
        ],
    );
    assert_eq!(refused(&app, &ent, "srdi-sme", small.clone()).await, vec![REVENUE]);
    assert_eq!(
        refused(&app, &ent, "srdi-sme", with(small.clone(), &[("equity_financing_2y", json!("19999999.99"))])).await,
        vec![REVENUE]
    );
    accepted(&app, &ent, "srdi-sme", with(small.clone(), &[("equity_financing_2y", json!("20000000"))]), "equity")
        .await;
    accepted(&app, &ent, "srdi-sme", with(small, &[("revenue", json!("10000000"))]), "¥10m exactly").await;

    // The Jiangsu prerequisites: registered in Jiangsu; in the provincial pool, or in the city's.
    assert_eq!(
        refused(&app, &ent, "srdi-sme", with(good_srdi(), &[("registered_in_jiangsu", json!(false))])).await,
        vec!["The enterprise must be registered in Jiangsu"]
    );
    assert_eq!(
        refused(&app, &ent, "srdi-sme", with(good_srdi(), &[("in_provincial_pool", json!(false))])).await,
        vec![POOL]
    );
    let (pool_id, pool_ent) = innovative_enterprise(&app, "gaoxin").await;
    seed_certification(&app, &pool_id, "pool-entry", "active", start_time() + Duration::days(200)).await;
    accepted(&app, &pool_ent, "srdi-sme", with(good_srdi(), &[("in_provincial_pool", json!(false))]), "city pool")
        .await;
});

dual_test!(srdi_sme_scores_the_13_indicators_and_passes_at_60, |app: TestApp| async move {
    let (_, ent) = innovative_enterprise(&app, "jingkou").await;

    // The 67 of the good data, indicator by indicator.
    let v = accepted(&app, &ent, "srdi-sme", good_srdi(), "67").await;
    assert_eq!(v["score"]["indicators"].as_array().unwrap().len(), 14, "13 indicators, the 9th in two parts");
    for (key, points, max) in [
        ("main_share", 5, 5),
        ("main_growth", 8, 10),
        ("niche_years", 3, 5),
        ("product_field", 3, 5),
        ("digital_level", 3, 5),
        ("quality", 5, 5),
        ("net_margin", 8, 10),
        ("debt_ratio", 5, 5),
        ("js_chain_1650", 2, 3),
        ("js_feature_other", 6, 12),
        ("ip", 8, 10),
        ("rd", 4, 10),
        ("rd_staff", 3, 5),
        ("rd_institution", 4, 10),
    ] {
        assert_eq!(pml(&v, key), (points, max, max - points), "{key}");
    }
    assert_eq!(
        [group(&v, "specialisation"), group(&v, "refinement"), group(&v, "featured"), group(&v, "innovation")],
        [(19, 25, true), (21, 25, true), (8, 15, true), (19, 35, true)]
    );
    assert_eq!(v["score"]["max"], 100);

    // Boundaries: debt 50% → 5, 60% → 3, 70% → 1, above → 0; one quality item → 3, none → 0;
    // the better of the amount and ratio R&D tests (¥5m → 10; 10% of revenue → 10).
    let id = app.create(&ent, "srdi-sme", good_srdi()).await["id"].as_str().unwrap().to_string();
    for (debt, points) in [(json!(50), 5), (json!("50.01"), 3), (json!(60), 3), (json!(70), 1), (json!("70.01"), 0)] {
        let v = patch(&app, &ent, &id, json!({"debt_ratio": debt})).await;
        assert_eq!(indicator(&v, "debt_ratio")["points"], points, "debt {debt}");
    }
    let v = patch(&app, &ent, &id, json!({"own_brand": false})).await;
    assert_eq!(indicator(&v, "quality")["points"], 3);
    let v = patch(&app, &ent, &id, json!({"quality_system": false})).await;
    assert_eq!(indicator(&v, "quality")["points"], 0);
    // On ¥30m of revenue: ¥5m → 10 by amount; ¥3m is 10% → 10 by ratio (6 by amount); a cent
    // less is 9.99% → 8; ¥1.8m is 6% → 6 (2 by amount); ¥1.2m is 4% → 4; ¥1m is 3.33% → 2.
    for (rd, points) in
        [("5000000", 10), ("3000000", 10), ("2999999.99", 8), ("1800000", 6), ("1200000", 4), ("1000000", 2)]
    {
        let v = patch(&app, &ent, &id, json!({"rd_expense": rd})).await;
        assert_eq!(indicator(&v, "rd")["points"], points, "R&D {rd}");
    }
    // On ¥100m of revenue ¥5m is only 5%, but the amount test gives 10.
    let v = patch(&app, &ent, &id, json!({"revenue": "100000000", "rd_expense": "5000000"})).await;
    assert_eq!(indicator(&v, "rd")["points"], 10);
    for (years, points) in [(10, 5), (30, 5), (9, 4), (2, 1), (1, 0)] {
        let v = patch(&app, &ent, &id, json!({"niche_years": years})).await;
        assert_eq!(indicator(&v, "niche_years")["points"], points, "{years} years");
    }

    // The pass line: 59 (nothing for distinctiveness) is refused, 60 passes.
    let fifty_nine = with(good_srdi(), &[("js_chain_1650", json!("none")), ("js_feature_other", json!(0))]);
    assert_eq!(refused(&app, &ent, "srdi-sme", fifty_nine.clone()).await, vec![score_fails(59)]);
    let v = accepted(&app, &ent, "srdi-sme", with(fifty_nine.clone(), &[("js_feature_other", json!(1))]), "60").await;
    assert_eq!((v["score"]["total"].as_i64(), v["score"]["direct"].as_bool()), (Some(60), Some(false)));

    // Each direct condition carries 59 points; its near miss does not.
    for (changes, reason) in [
        (
            vec![("st_award_ranked", json!("provincial_top3"))],
            "A provincial science and technology award in the last 3 years ranked in the top 3, or a national one ranked in the top 5",
        ),
        (
            vec![("st_award_ranked", json!("national_top5"))],
            "A provincial science and technology award in the last 3 years ranked in the top 3, or a national one ranked in the top 5",
        ),
        (
            vec![("rd_expense", json!("1500000")), ("rd_expense_prev", json!("18500000"))],
            "Average R&D expense over the last 2 years of ¥10 million or more",
        ),
        (
            vec![("equity_financing_2y", json!("60000000"))],
            "New equity financing of ¥60 million or more in the last 2 years (paid in by qualified institutional investors)",
        ),
        (
            vec![("maker_china_500", json!(true))],
            "In the national top 500 (enterprise group) of the \"Maker in China\" competition in the last 3 years",
        ),
    ] {
        let v = accepted(&app, &ent, "srdi-sme", with(fifty_nine.clone(), &changes), reason).await;
        assert_eq!(v["score"]["direct"], true, "{changes:?}");
        assert_eq!(direct_reasons(&v), vec![reason.to_string()]);
    }
    for changes in [
        vec![("st_award_ranked", json!("other"))],
        vec![("rd_expense", json!("1500000")), ("rd_expense_prev", json!("18499999.99"))],
        vec![("equity_financing_2y", json!("59999999.99"))],
        vec![("maker_china_500", json!(false))],
    ] {
        assert_eq!(
            refused(&app, &ent, "srdi-sme", with(fifty_nine.clone(), &changes)).await,
            vec![score_fails(59)],
            "{changes:?}"
        );
    }
});

// =============================================================================================
// srdi-sme: the procedure.

dual_test!(srdi_sme_expert_panel_needs_three_votes_then_publicity_recognises, |app: TestApp| async move {
    // Arrange
    let (ent_id, ent) = innovative_enterprise(&app, "jingkou").await;
    let id = srdi_to_panel(&app, &ent, "jingkou").await;
    let mut experts = Vec::new();
    for _ in 0..5 {
        experts.push(app.staff(Role::Expert, Some("province")).await);
    }
    let city_expert = app.staff(Role::Expert, Some("city")).await;

    // Act and assert: two votes are not enough; nobody votes twice; a city expert is not on the panel.
    let v = ok(&app, &experts[0], &id, "approve", json!({})).await;
    assert_eq!(v["state"], "expert_panel");
    let r = app.act(&experts[0], &id, "approve", json!({})).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{:?}", r.body);
    assert_eq!(app.act(&city_expert, &id, "approve", json!({})).await.status, StatusCode::FORBIDDEN);
    let v = ok(&app, &experts[1], &id, "reject", json!({"comment": "研发投入偏低"})).await;
    assert_eq!(v["state"], "expert_panel");
    let v = ok(&app, &experts[2], &id, "approve", json!({})).await;
    assert_eq!(v["state"], "expert_panel");
    assert_eq!(v["votes"], json!({"approve": 2, "reject": 1, "quorum": 3}));
    let v = ok(&app, &experts[3], &id, "approve", json!({"comment": "同意"})).await;
    assert_eq!(v["state"], "publicity", "the third agreeing expert");
    let due = time(&v["due_at"]);
    assert_eq!(due, china("2026-03-10T00:00:00+08:00"), "5 working days");

    // The publicity: 5 working days from Monday 2 March 2026.
    app.advance(Duration::days(7) + Duration::hours(14));
    assert_eq!(app.sweep().await, 0, "Monday 9 March, 23:00");
    app.advance(Duration::hours(1));
    assert_eq!(app.sweep().await, 1);

    let ent = app.fresh(&ent).await;
    let v = app.get(&format!("/api/applications/{id}"), &ent).await.body;
    assert_eq!((v["state"].as_str(), v["final"].as_bool()), (Some("recognised"), Some(true)));
    let certs = certifications(&app, &ent_id, "srdi-sme").await;
    assert_eq!(certs.len(), 1, "{certs:?}");
    assert_eq!(certs[0]["status"], "active");
    let granted = time(&certs[0]["granted_at"]);
    assert!(granted >= due);
    let until = time(&certs[0]["valid_until"]);
    assert!(until - granted >= Duration::days(1095) && until - granted <= Duration::days(1097), "{granted} → {until}");
    assert!(until > china("2029-03-01T00:00:00+08:00") && until < china("2029-03-20T00:00:00+08:00"), "{until}");
    // The dashboard counts it.
    let city = app.staff(Role::Reviewer, Some("city")).await;
    let d = app.get("/api/dashboard", &city).await;
    let t = d.body["targets"].as_array().unwrap().iter().find(|t| t["key"] == "srdi-sme").unwrap().clone();
    assert_eq!((t["current"].clone(), t["target"].clone()), (json!(1), json!(300)));
});

dual_test!(srdi_sme_panel_rejects_with_three_votes_and_objections_go_back, |app: TestApp| async move {
    let (ent_id, ent) = innovative_enterprise(&app, "danyang").await;
    let province = app.staff(Role::Reviewer, Some("province")).await;
    let mut experts = Vec::new();
    for _ in 0..5 {
        experts.push(app.staff(Role::Expert, Some("province")).await);
    }

    // Three experts disagree: rejected (each disagreement needs a comment).
    let id = srdi_to_panel(&app, &ent, "danyang").await;
    assert_eq!(app.act(&experts[0], &id, "reject", json!({})).await.status, StatusCode::UNPROCESSABLE_ENTITY);
    ok(&app, &experts[0], &id, "reject", json!({"comment": "细分市场地位不突出"})).await;
    ok(&app, &experts[1], &id, "approve", json!({})).await;
    ok(&app, &experts[2], &id, "reject", json!({"comment": "特色化不足"})).await;
    ok(&app, &experts[3], &id, "approve", json!({})).await;
    let v = ok(&app, &experts[4], &id, "reject", json!({"comment": "同意否决"})).await;
    assert_eq!((v["state"].as_str(), v["final"].as_bool()), (Some("rejected"), Some(true)));

    // Another application reaches the publicity; an objection sends it back to the formal review,
    // and its votes start again.
    let ent = app.fresh(&ent).await;
    let id = srdi_to_panel(&app, &ent, "danyang").await;
    for e in &experts[..3] {
        ok(&app, e, &id, "approve", json!({})).await;
    }
    let r = act_en(&app, &province, &id, "object", json!({})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "an objection needs a comment");
    let v = ok(&app, &province, &id, "object", json!({"comment": "实名举报：研发费用归集不实"})).await;
    assert_eq!(v["state"], "province_review");
    app.advance(Duration::days(10));
    assert_eq!(app.sweep().await, 0, "the publicity timer is gone");
    let province = app.fresh(&province).await;
    let v = ok(&app, &province, &id, "pass", json!({"comment": "核查后无问题"})).await;
    assert_eq!(v["state"], "expert_panel");
    assert_eq!(v["votes"], json!({"approve": 0, "reject": 0, "quorum": 3}));
    assert!(certifications(&app, &ent_id, "srdi-sme").await.is_empty());
});

dual_test!(an_innovative_sme_recognised_here_can_apply_for_srdi_until_it_expires, |app: TestApp| async move {
    // Arrange: the innovative-SME recognition comes from the innovative-sme workflow itself.
    let (_, ent) = app.register_enterprise("xinqu").await;
    innovative_to_publicity(&app, &ent, "xinqu").await;
    app.advance(Duration::days(8));
    assert_eq!(app.sweep().await, 1);
    let ent = app.fresh(&ent).await;

    // Act and assert: the SRDI application is accepted while it is valid…
    accepted(&app, &ent, "srdi-sme", good_srdi(), "recognised here").await;

    // …and refused once it has run out, three years on.
    app.advance(Duration::days(3 * 366));
    let ent = app.fresh(&ent).await;
    assert_eq!(refused(&app, &ent, "srdi-sme", good_srdi()).await, vec![NO_INNOVATIVE]);
});

// =============================================================================================
// pool-entry: the self-assessment against every tier.

/// Data for the pool that is also valid for innovative-sme and srdi-sme (each keeps its fields).
fn pool_data() -> Value {
    let mut data = good_srdi();
    for srdi_only in ["registered_in_jiangsu", "in_provincial_pool"] {
        data.as_object_mut().unwrap().remove(srdi_only);
    }
    with(
        data,
        &[
            ("main_growth", json!(12)),
            ("strategic_emerging", json!(true)),
            ("revenue_prev", json!("27000000")),
            ("rd_expense_prev", json!("1000000")),
            ("market_share", json!(6)),
            ("class1_ip", json!(3)),
        ],
    )
}

dual_test!(the_pool_shows_each_tier_with_its_points_and_lost_points, |app: TestApp| async move {
    // Arrange
    let (_, ent) = app.register_enterprise("jingkou").await;

    // Act
    let pool_form = for_form(&app, &ent, "pool-entry", &pool_data()).await;
    assert_eq!(
        pool_form.as_object().unwrap().len(),
        pool_data().as_object().unwrap().len(),
        "every field is in the pool's form"
    );
    let view = app.create(&ent, "pool-entry", pool_data()).await;

    // Assert: one group per tier, in order, with the points it has and its pass line.
    let groups: Vec<&str> =
        view["score"]["groups"].as_array().unwrap().iter().map(|g| g["key"].as_str().unwrap()).collect();
    assert_eq!(groups, ["innovative-sme", "srdi-sme", "little-giant"]);
    // Innovative SME: IP 15, R&D 5% of ¥30m 20, growth 12% 15, debt 50% 10, strategic 10, main 85% 20.
    assert_eq!(group(&view, "innovative-sme"), (90, 100, true));
    assert_eq!(group(&view, "srdi-sme"), (67, 100, true));
    // Little giant: niche 6 ✓, main 85% ✓, growth 9% ✓, debt 50% ✓, share 6% ✗, R&D < ¥50m
    // without equity ✗, 3 Class-I IP ✓.
    assert_eq!(group(&view, "little-giant"), (5, 7, false));
    assert_eq!(view["score"]["passed"], false, "not every tier is reached");

    // The lost points (扣分项), per tier and indicator.
    assert_eq!(pml(&view, "inno_ip"), (15, 20, 5));
    assert_eq!(pml(&view, "inno_rd_ratio"), (20, 20, 0));
    assert_eq!(pml(&view, "srdi_rd"), (4, 10, 6));
    assert_eq!(pml(&view, "srdi_rd_institution"), (4, 10, 6));
    assert_eq!(pml(&view, "srdi_js_feature_other"), (6, 12, 6));
    assert_eq!(pml(&view, "lg_market_share"), (0, 1, 1));
    assert_eq!(pml(&view, "lg_rd_intensity"), (0, 1, 1));
    assert_eq!(pml(&view, "lg_niche_years"), (1, 1, 0));
    let share = indicator(&view, "lg_market_share");
    assert_eq!((share["value"].as_i64(), share["next"]["min"].as_i64()), (Some(6), Some(10)), "what it takes");
    let lost: i64 = view["score"]["indicators"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["group"] == "srdi-sme")
        .map(|i| i["lost"].as_i64().unwrap())
        .sum();
    assert_eq!(lost, 33, "100 − 67");

    // Editing the draft moves the tiers: 10% market share meets that little-giant condition.
    let id = view["id"].as_str().unwrap();
    let v = patch(&app, &ent, id, json!({"market_share": 10})).await;
    assert_eq!(group(&v, "little-giant"), (6, 7, false));
});

dual_test!(the_pool_scores_each_tier_as_the_tiers_own_workflow_does, |app: TestApp| async move {
    // The pool's tables are copies of innovative-sme.yaml and srdi-sme.yaml: the same data must
    // score the same, indicator by indicator, in several variations.
    let (_, ent) = app.register_enterprise("runzhou").await;
    let variations = [
        pool_data(),
        with(pool_data(), &[("rd_expense", json!("900000")), ("debt_ratio", json!(55)), ("main_growth", json!(-3))]),
        with(
            pool_data(),
            &[
                ("ip_level", json!("class2")),
                ("main_revenue", json!("16500000")),
                ("net_profit", json!("-500000")),
                ("digital_level", json!("level3")),
                ("rd_institution_level", json!("national")),
                ("js_chain_1650", json!("excellent")),
                ("js_feature_other", json!(12)),
                ("strategic_emerging", json!(false)),
            ],
        ),
    ];
    for data in variations {
        let pool = app.create(&ent, "pool-entry", data.clone()).await;
        for (workflow, prefix) in [("innovative-sme", "inno_"), ("srdi-sme", "srdi_")] {
            let tier_data = with(
                for_form(&app, &ent, workflow, &data).await,
                &[("registered_in_jiangsu", json!(true)), ("in_provincial_pool", json!(true))],
            );
            let tier_data = for_form(&app, &ent, workflow, &tier_data).await;
            let tier = app.create(&ent, workflow, tier_data).await;
            let tier_indicators = tier["score"]["indicators"].as_array().unwrap();
            for i in tier_indicators {
                let key = format!("{prefix}{}", i["key"].as_str().unwrap());
                let p = indicator(&pool, &key);
                assert_eq!((&p["points"], &p["max"]), (&i["points"], &i["max"]), "{key}");
                assert_eq!(p["group"], workflow);
            }
            let in_pool =
                pool["score"]["indicators"].as_array().unwrap().iter().filter(|i| i["group"] == workflow).count();
            assert_eq!(in_pool, tier_indicators.len(), "{workflow}: the same indicators");
            assert_eq!(group(&pool, workflow).0, tier["score"]["total"].as_i64().unwrap(), "{workflow} total");
        }
    }
});

dual_test!(the_district_confirms_a_pool_entry_and_the_dashboard_counts_it, |app: TestApp| async move {
    // Arrange
    let (ent_id, ent) = app.register_enterprise("yangzhong").await;
    let district = app.staff(Role::Reviewer, Some("yangzhong")).await;
    let elsewhere = app.staff(Role::Reviewer, Some("jingkou")).await;
    let city = app.staff(Role::Reviewer, Some("city")).await;

    // The common conditions are checked; the points are not (a weak enterprise may enter the pool).
    let r = refused(&app, &ent, "pool-entry", with(pool_data(), &[("no_major_violation", json!(false))])).await;
    assert_eq!(
        r,
        vec![
            "An enterprise with a major safety, quality or pollution accident, tax evasion or another violation in the last 3 years cannot enter the pool"
        ]
    );
    let weak = with(pool_data(), &[("ip_level", json!("none")), ("rd_expense", json!("0")), ("debt_ratio", json!(90))]);
    let (id, r) = file(&app, &ent, "pool-entry", weak).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["state"], "district_review");
    assert!(!group(&r.body, "innovative-sme").2);

    // Only the enterprise's own district confirms; a return needs a comment.
    assert_eq!(app.act(&elsewhere, &id, "confirm", json!({})).await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.act(&city, &id, "confirm", json!({})).await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.act(&district, &id, "return", json!({})).await.status, StatusCode::UNPROCESSABLE_ENTITY);
    ok(&app, &district, &id, "return", json!({"comment": "请补充上年度研发人员数据"})).await;
    patch(&app, &ent, &id, json!({"rd_staff": 18})).await;
    ok(&app, &ent, &id, "submit", json!({})).await;

    // Act
    let v = ok(&app, &district, &id, "confirm", json!({"comment": "确认入库"})).await;

    // Assert: in the pool for a year, counted against the target of 1500.
    assert_eq!((v["state"].as_str(), v["final"].as_bool()), (Some("in_pool"), Some(true)));
    let certs = certifications(&app, &ent_id, "pool-entry").await;
    assert_eq!(certs.len(), 1, "{certs:?}");
    let until = time(&certs[0]["valid_until"]);
    assert!(until - time(&certs[0]["granted_at"]) >= Duration::days(365), "{until}");
    assert!(until < start_time() + Duration::days(367), "{until}");
    let d = app.get("/api/dashboard", &city).await;
    assert_eq!(d.status, StatusCode::OK, "{:?}", d.body);
    let t = d.body["targets"].as_array().unwrap().iter().find(|t| t["key"] == "pool").unwrap().clone();
    assert_eq!((t["current"].clone(), t["target"].clone()), (json!(1), json!(1500)));

    // The district may also turn an entry down.
    let ent = app.fresh(&ent).await;
    let (id, _) = file(&app, &ent, "pool-entry", pool_data()).await;
    let v = ok(&app, &district, &id, "reject", json!({"comment": "非本辖区企业"})).await;
    assert_eq!(v["state"], "rejected");
});
