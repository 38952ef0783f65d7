//! Green factory (绿色工厂, RULES.md §4) and industrial design centre (工业设计中心, RULES.md §5).
//! Green factory: the negative list and the basic requirements refuse alone, each mandatory part
//! refuses alone, optional requirements earn points against a pass line, and city, provincial and
//! national levels take their own paths and grant `green-factory` with no end date. Design centre:
//! provincial and national conditions hold only for their level; a national centre is recognised
//! for four years, a provincial one with no end date.

use certflow::domain::role::Role;
use chrono::{DateTime, Duration, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::dual_test;
use crate::helpers::{TestApp, start_time};
use crate::helpers::{act_en, messages};

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn time(v: &Value) -> DateTime<Utc> {
    at(v.as_str().unwrap_or_else(|| panic!("not a time: {v:?}")))
}

async fn ok(app: &TestApp, token: &str, id: &str, action: &str, body: Value) -> Value {
    let r = app.act(token, id, action, body).await;
    assert_eq!(r.status, StatusCode::OK, "{action}: {:?}", r.body);
    r.body
}

/// `base` with some fields replaced.
fn with(base: Value, changes: Value) -> Value {
    let mut v = base;
    for (k, x) in changes.as_object().unwrap() {
        v[k] = x.clone();
    }
    v
}

/// The enterprise's certifications of `kind` (every status), newest last as the API lists them.
async fn certs(app: &TestApp, token: &str, ent_id: &str, kind: &str) -> Vec<Value> {
    let r = app.get(&format!("/api/certifications?enterprise_id={ent_id}&kind={kind}"), token).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    r.body["items"].as_array().unwrap().clone()
}

/// The one active certification of `kind`.
async fn active(app: &TestApp, token: &str, ent_id: &str, kind: &str) -> Value {
    let all = certs(app, token, ent_id, kind).await;
    let act: Vec<&Value> = all.iter().filter(|c| c["status"] == "active").collect();
    assert_eq!(act.len(), 1, "{kind}: {all:?}");
    act[0].clone()
}

/// Inserts a certification the enterprise got before this system (or elsewhere).
async fn seed(app: &TestApp, ent_id: &str, kind: &str, status: &str, valid_until: Option<DateTime<Utc>>) {
    use certflow::storage::entities::certification;
    use sea_orm::{ActiveModelTrait, Set};
    certification::ActiveModel {
        id: Set(uuid::Uuid::new_v4().to_string()),
        enterprise_id: Set(ent_id.to_string()),
        kind: Set(kind.to_string()),
        application_id: Set(format!("seeded-{}", uuid::Uuid::new_v4())),
        status: Set(status.to_string()),
        granted_at: Set(start_time() - Duration::days(400)),
        valid_until: Set(valid_until),
        revoked_at: Set(if status == "revoked" { Some(start_time() - Duration::days(30)) } else { None }),
    }
    .insert(&app.engine.db)
    .await
    .expect("certification seeded");
}

/// A draft of `workflow` with `data`; returns its id.
async fn draft(app: &TestApp, ent: &str, workflow: &str, data: Value) -> String {
    let view = app.create(ent, workflow, data).await;
    assert_eq!(view["state"], "draft");
    view["id"].as_str().unwrap().to_string()
}

/// Patches one bad value into a draft, submits (refused with exactly `message`), puts it back.
async fn refused_alone(app: &TestApp, ent: &str, id: &str, bad: Value, good: &Value, message: &str) {
    let path = format!("/api/applications/{id}");
    let r = app.patch(&path, ent, json!({"data": bad})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let r = act_en(app, ent, id, "submit", json!({})).await;
    assert_eq!(messages(&r), vec![message.to_string()], "{bad}");
    let r = app.patch(&path, ent, json!({"data": good})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
}

/// The staff of a jingkou application.
struct Staff {
    district: String,
    city: String,
    province: String,
    experts: [String; 3],
}

async fn staff(app: &TestApp) -> Staff {
    Staff {
        district: app.staff(Role::Reviewer, Some("jingkou")).await,
        city: app.staff(Role::Reviewer, Some("city")).await,
        province: app.staff(Role::Reviewer, Some("province")).await,
        experts: [
            app.staff(Role::Expert, Some("province")).await,
            app.staff(Role::Expert, Some("province")).await,
            app.staff(Role::Expert, Some("province")).await,
        ],
    }
}

/// Ends a publicity entered at the start time (Monday 2 March 2026, 09:00): five working days.
async fn end_publicity(app: &TestApp, token: &str, id: &str) {
    let v = app.get(&format!("/api/applications/{id}"), token).await.body;
    assert_eq!(time(&v["due_at"]), at("2026-03-10T00:00:00+08:00"), "five working days");
    app.clock.set(at("2026-03-10T09:00:00+08:00"));
    assert_eq!(app.sweep().await, 1, "the publicity ends by itself");
}

// ---------------------------------------------------------------------------------------------
// 绿色工厂

/// A factory meeting every requirement, with 80% of every part's optional requirements: 80 points.
fn good_factory(level: &str) -> Value {
    json!({
        "level": level,
        "deregistered_or_stopped": false, "accident_or_tax_3y": false, "removed_from_list": false,
        "inspection_problems": false, "energy_rectification_pending": false, "dishonest_debtor": false,
        "lawful_compliance": true, "stakeholder_commitments": true, "management_responsibility": true,
        "emission_permit": true,
        "infrastructure_mandatory": true, "infrastructure_optional": 80,
        "management_mandatory": true, "management_optional": 80,
        "energy_resources_mandatory": true, "energy_resources_optional": 80,
        "product_mandatory": true, "product_optional": 80,
        "emissions_mandatory": true, "emissions_optional": 80,
        "performance_mandatory": true, "performance_optional": 80,
    })
}

fn indicator(view: &Value, key: &str) -> (Value, Value, Value) {
    let i = view["score"]["indicators"].as_array().unwrap().iter().find(|i| i["key"] == key).unwrap().clone();
    (i["points"].clone(), i["max"].clone(), i["lost"].clone())
}

dual_test!(a_city_level_green_factory_is_recognised_with_no_end_date_and_counted, |app: TestApp| async move {
    // Arrange
    let (ent_id, ent) = app.register_enterprise("jingkou").await;
    let s = staff(&app).await;
    let id = draft(&app, &ent, "green-factory", good_factory("city")).await;

    // Act
    let v = ok(&app, &ent, &id, "submit", json!({})).await;
    assert_eq!(v["state"], "district_review");
    assert_eq!((v["score"]["total"].clone(), v["score"]["pass"].clone()), (json!(80), json!(60)));
    ok(&app, &s.district, &id, "approve", json!({})).await;
    // A city-level application is not recommended to the province.
    let r = act_en(&app, &s.city, &id, "recommend", json!({})).await;
    assert_eq!(
        messages(&r),
        vec!["A city-level application is evaluated by the city, not recommended to the province"]
    );
    assert_eq!(ok(&app, &s.city, &id, "approve", json!({})).await["state"], "city_panel");
    // The panel: two experts are not enough, the third decides.
    ok(&app, &s.experts[0], &id, "approve", json!({})).await;
    let v = ok(&app, &s.experts[1], &id, "approve", json!({})).await;
    assert_eq!(v["state"], "city_panel");
    assert_eq!(v["votes"], json!({"approve": 2, "reject": 0, "quorum": 3}));
    assert_eq!(ok(&app, &s.experts[2], &id, "approve", json!({})).await["state"], "city_publicity");
    end_publicity(&app, &ent, &id).await;

    // Assert: recognised at city level: `green-factory` and its level marker, no end date.
    let ent = app.fresh(&ent).await;
    let v = app.get(&format!("/api/applications/{id}"), &ent).await.body;
    assert_eq!((v["state"].as_str(), v["final"].as_bool()), (Some("recognised_city"), Some(true)));
    for kind in ["green-factory", "green-factory-city"] {
        let c = active(&app, &ent, &ent_id, kind).await;
        assert_eq!(c["valid_until"], Value::Null, "{kind}: no validity period in RULES §4");
        assert_eq!(c["application_id"], id.as_str());
    }
    assert!(certs(&app, &ent, &ent_id, "green-factory-provincial").await.is_empty());
    // The programme counts green factories of city level or higher.
    let city = app.fresh(&s.city).await;
    let d = app.get("/api/dashboard", &city).await;
    assert_eq!(d.status, StatusCode::OK, "{:?}", d.body);
    let g = d.body["targets"].as_array().unwrap().iter().find(|t| t["key"] == "green-factory").unwrap().clone();
    assert_eq!((g["current"].clone(), g["target"].clone()), (json!(1), json!(50)));
});

dual_test!(a_green_factory_score_is_judged_on_each_side_of_the_pass_line, |app: TestApp| async move {
    // Arrange: 60% of every part's optional requirements: exactly the pass line of 60.
    let (_, ent) = app.register_enterprise("dantu").await;
    let sixty = json!({
        "infrastructure_optional": 60, "management_optional": 60, "energy_resources_optional": 60,
        "product_optional": 60, "emissions_optional": 60, "performance_optional": 60,
    });
    let id = draft(&app, &ent, "green-factory", with(good_factory("city"), sixty)).await;
    let path = format!("/api/applications/{id}");
    let v = app.get(&path, &ent).await.body;
    assert_eq!((v["score"]["total"].clone(), v["score"]["passed"].clone()), (json!(60), json!(true)));
    assert_eq!(indicator(&v, "management"), (json!(9), json!(15), json!(6)));
    assert_eq!(indicator(&v, "performance"), (json!(18), json!(30), json!(12)));

    // Act: products at 59.9% fall to the 50% band: 59 points, below the line.
    let r = app.patch(&path, &ent, json!({"data": {"product_optional": "59.9"}})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!((r.body["score"]["total"].clone(), r.body["score"]["passed"].clone()), (json!(59), json!(false)));
    assert_eq!(indicator(&r.body, "product"), (json!(5), json!(10), json!(5)));
    let r = act_en(&app, &ent, &id, "submit", json!({})).await;

    // Assert
    assert_eq!(r.body["title"], "the score does not qualify");
    assert_eq!(
        messages(&r),
        vec!["score 59 against a pass line of 60 (or a group below its minimum), and no direct qualification"]
    );
    // Management at 75% earns 10.5 (the 70% band), making up for the product's lost point.
    let r = app.patch(&path, &ent, json!({"data": {"management_optional": 75}})).await;
    assert_eq!(r.body["score"]["total"], json!(60.5));
    assert_eq!(indicator(&r.body, "management"), (json!(10.5), json!(15), json!(4.5)));
    assert_eq!(ok(&app, &ent, &id, "submit", json!({})).await["state"], "district_review");
});

dual_test!(
    green_factory_negative_list_basic_requirements_and_mandatory_parts_refuse_alone,
    |app: TestApp| async move {
        let (_, ent) = app.register_enterprise("runzhou").await;
        let good = good_factory("province");
        let id = draft(&app, &ent, "green-factory", good.clone()).await;
        let cases: Vec<(Value, &str)> = vec![
            // 负面清单
            (
                json!({"deregistered_or_stopped": true}),
                "Negative list: a deregistered enterprise, one stopped for 12 months or more, or one on the list of abnormal operations may not apply",
            ),
            (
                json!({"accident_or_tax_3y": true}),
                "Negative list: an enterprise with a safety, quality or environmental accident, or tax evasion, in the last 3 years may not apply",
            ),
            (
                json!({"removed_from_list": true}),
                "Negative list: an enterprise previously moved out of the green-manufacturing list may not apply",
            ),
            (
                json!({"inspection_problems": true}),
                "Negative list: an enterprise with serious problems found in State Council or ministry inspections may not apply",
            ),
            (
                json!({"energy_rectification_pending": true}),
                "Negative list: an enterprise on the energy-saving inspection rectification list that has not rectified may not apply",
            ),
            (json!({"dishonest_debtor": true}), "Negative list: a dishonest judgment debtor may not apply"),
            // 基本要求: veto
            (
                json!({"lawful_compliance": false}),
                "Basic requirement (veto): the factory must be established lawfully and comply with laws, regulations, policies and standards",
            ),
            (
                json!({"stakeholder_commitments": false}),
                "Basic requirement (veto): the commitments made to stakeholders must be met",
            ),
            (
                json!({"management_responsibility": false}),
                "Basic requirement (veto): top-management responsibility, a dedicated organisation, plans, targets and training are required",
            ),
            (
                json!({"emission_permit": false}),
                "Basic requirement (veto): the factory must hold the emission permit the law requires",
            ),
            // 必选要求 of each first-level indicator
            (json!({"infrastructure_mandatory": false}), "Every mandatory infrastructure requirement must be met"),
            (json!({"management_mandatory": false}), "Every mandatory management-system requirement must be met"),
            (
                json!({"energy_resources_mandatory": false}),
                "Every mandatory energy and resource input requirement must be met",
            ),
            (json!({"product_mandatory": false}), "Every mandatory product requirement must be met"),
            (json!({"emissions_mandatory": false}), "Every mandatory environmental-emission requirement must be met"),
            (json!({"performance_mandatory": false}), "Every mandatory performance requirement must be met"),
        ];
        for (bad, message) in cases {
            refused_alone(&app, &ent, &id, bad, &good, message).await;
        }
        // A veto item is not outweighed by points: full marks everywhere, no emission permit.
        let full = json!({
            "emission_permit": false, "infrastructure_optional": 100, "management_optional": 100,
            "energy_resources_optional": 100, "product_optional": 100, "emissions_optional": 100,
            "performance_optional": 100,
        });
        let r = app.patch(&format!("/api/applications/{id}"), &ent, json!({"data": full})).await;
        assert_eq!(r.body["score"]["total"], 100);
        let r = act_en(&app, &ent, &id, "submit", json!({})).await;
        assert_eq!(
            messages(&r),
            vec!["Basic requirement (veto): the factory must hold the emission permit the law requires"]
        );
        // In Chinese by default.
        let r = app.act(&ent, &id, "submit", json!({})).await;
        assert_eq!(r.body["errors"][0]["message"], "基本要求（一票否决）：须依法取得排污许可证");
    }
);

dual_test!(a_factory_moved_out_of_the_list_is_known_from_its_revoked_certification, |app: TestApp| async move {
    // Arrange: a green factory whose certification was revoked (moved out of the list).
    let (ent_id, ent) = app.register_enterprise("jurong").await;
    seed(&app, &ent_id, "green-factory", "revoked", None).await;
    let id = draft(&app, &ent, "green-factory", good_factory("city")).await;

    // Act: it declares nothing, but the records show it.
    let r = act_en(&app, &ent, &id, "submit", json!({})).await;

    // Assert
    assert_eq!(
        messages(&r),
        vec!["Negative list: an enterprise previously moved out of the green-manufacturing list may not apply"]
    );
    // An enterprise still on the list (city level) may apply for the provincial level.
    let (other_id, other) = app.register_enterprise("jurong").await;
    seed(&app, &other_id, "green-factory", "active", None).await;
    seed(&app, &other_id, "green-factory-city", "active", None).await;
    let id = draft(&app, &other, "green-factory", good_factory("province")).await;
    assert_eq!(ok(&app, &other, &id, "submit", json!({})).await["state"], "district_review");
});

dual_test!(a_provincial_green_factory_goes_through_the_province_panel_and_publicity, |app: TestApp| async move {
    // Arrange: a city-level green factory applies for the provincial level.
    let (ent_id, ent) = app.register_enterprise("jingkou").await;
    seed(&app, &ent_id, "green-factory", "active", None).await;
    seed(&app, &ent_id, "green-factory-city", "active", None).await;
    let s = staff(&app).await;
    let id = draft(&app, &ent, "green-factory", good_factory("province")).await;
    ok(&app, &ent, &id, "submit", json!({})).await;
    ok(&app, &s.district, &id, "approve", json!({})).await;

    // Act: the city recommends it (its own approval is for city-level ones), the province takes it
    // to its panel (not to MIIT), three experts agree.
    let r = act_en(&app, &s.city, &id, "approve", json!({})).await;
    assert_eq!(messages(&r), vec!["Provincial and national applications are recommended to the province"]);
    assert_eq!(ok(&app, &s.city, &id, "recommend", json!({})).await["state"], "province_review");
    let r = act_en(&app, &s.province, &id, "recommend", json!({})).await;
    assert_eq!(messages(&r), vec!["Only national applications are recommended to MIIT, by 31 July of each year"]);
    assert_eq!(ok(&app, &s.province, &id, "approve", json!({})).await["state"], "province_panel");
    for e in &s.experts {
        ok(&app, e, &id, "approve", json!({})).await;
    }
    end_publicity(&app, &ent, &id).await;

    // Assert: provincial marker granted; `green-factory` replaced by this application's.
    let ent = app.fresh(&ent).await;
    let v = app.get(&format!("/api/applications/{id}"), &ent).await.body;
    assert_eq!(v["state"], "recognised_provincial");
    let c = active(&app, &ent, &ent_id, "green-factory").await;
    assert_eq!((c["application_id"].as_str(), c["valid_until"].clone()), (Some(id.as_str()), Value::Null));
    assert_eq!(certs(&app, &ent, &ent_id, "green-factory").await.len(), 2, "the city-level one is superseded");
    assert_eq!(active(&app, &ent, &ent_id, "green-factory-provincial").await["application_id"], id.as_str());
    assert_eq!(active(&app, &ent, &ent_id, "green-factory-city").await["valid_until"], Value::Null);
});

dual_test!(
    a_national_green_factory_needs_the_provincial_list_and_a_recommendation_by_31_july,
    |app: TestApp| async move {
        // Arrange
        let (ent_id, ent) = app.register_enterprise("jingkou").await;
        let s = staff(&app).await;
        let id = draft(&app, &ent, "green-factory", good_factory("national")).await;
        // Not on the provincial list: refused.
        let r = act_en(&app, &ent, &id, "submit", json!({})).await;
        assert_eq!(
            messages(&r),
            vec!["A national application requires the factory to be on the provincial green-factory list"]
        );
        // A city-level green factory is not enough either.
        seed(&app, &ent_id, "green-factory", "active", None).await;
        seed(&app, &ent_id, "green-factory-city", "active", None).await;
        let r = act_en(&app, &ent, &id, "submit", json!({})).await;
        assert_eq!(
            messages(&r),
            vec!["A national application requires the factory to be on the provincial green-factory list"]
        );
        seed(&app, &ent_id, "green-factory-provincial", "active", None).await;
        assert_eq!(ok(&app, &ent, &id, "submit", json!({})).await["state"], "district_review");
        ok(&app, &s.district, &id, "approve", json!({})).await;
        ok(&app, &s.city, &id, "recommend", json!({})).await;
        let r = act_en(&app, &s.province, &id, "approve", json!({})).await;
        assert_eq!(messages(&r), vec!["A national application is recommended to MIIT"]);

        // Act: on 3 August the year's recommendations are closed; it waits for next year's round.
        app.clock.set(at("2026-08-03T10:00:00+08:00"));
        let province = app.fresh(&s.province).await;
        let r = act_en(&app, &province, &id, "recommend", json!({})).await;
        assert_eq!(messages(&r), vec!["Only national applications are recommended to MIIT, by 31 July of each year"]);
        app.clock.set(at("2027-07-31T10:00:00+08:00"));
        let province = app.fresh(&province).await;
        assert_eq!(ok(&app, &province, &id, "recommend", json!({})).await["state"], "national_review");
        // MIIT decides; a city reviewer records it.
        let city = app.fresh(&s.city).await;
        let r = app.act(&province, &id, "record_recognised", json!({})).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "the city records MIIT's outcome: {:?}", r.body);
        let v =
            ok(&app, &city, &id, "record_recognised", json!({"comment": "工信部公告第N批国家级绿色工厂名单"})).await;

        // Assert
        assert_eq!(v["state"], "recognised_national");
        let ent = app.fresh(&ent).await;
        let c = active(&app, &ent, &ent_id, "green-factory").await;
        assert_eq!((c["application_id"].as_str(), c["valid_until"].clone()), (Some(id.as_str()), Value::Null));
        assert_eq!(time(&c["granted_at"]), at("2027-07-31T10:00:00+08:00"));
        active(&app, &ent, &ent_id, "green-factory-national").await;
        active(&app, &ent, &ent_id, "green-factory-provincial").await;
    }
);

// ---------------------------------------------------------------------------------------------
// 工业设计中心

/// A provincial application of an enterprise design centre founded in 2020, with 30 designers.
fn provincial_center() -> Value {
    json!({
        "level": "provincial", "center_name": "镇江智造工业设计中心", "center_type": "enterprise_center",
        "center_founded": "2020-05-01", "design_team": 30, "qualified_share": 40,
        "independent_legal_person": true, "serious_dishonesty": false, "last_major_incident": null,
        "lawful_tax": true, "leading_designer": true, "design_facilities": true, "municipal_center": true,
    })
}

/// A national application of an enterprise design centre that meets every gate.
fn national_center() -> Value {
    json!({
        "level": "national", "center_name": "镇江智造工业设计中心", "center_type": "enterprise_center",
        "center_founded": "2019-05-01", "design_team": 60, "qualified_share": 65,
        "independent_legal_person": true, "serious_dishonesty": false, "last_major_incident": null,
        "fixed_premises": true, "independent_unit": true, "ip_last_3y": 50, "ip_total": 80,
        "reapplication_barred": false,
    })
}

/// A national application of an industrial design enterprise that meets every gate.
fn national_design_firm() -> Value {
    with(
        national_center(),
        json!({"center_type": "design_enterprise", "design_team": 75, "ip_last_3y": null, "ip_total": null,
               "independent_unit": null, "design_revenue_avg": "30000000", "total_revenue_avg": "45000000"}),
    )
}

dual_test!(a_provincial_design_centre_is_recognised_with_no_end_date, |app: TestApp| async move {
    // Arrange
    let (ent_id, ent) = app.register_enterprise("jingkou").await;
    let s = staff(&app).await;
    let id = draft(&app, &ent, "design-center", provincial_center()).await;

    // Act: district, city recommendation, the province takes it to its panel, publicity.
    ok(&app, &ent, &id, "submit", json!({})).await;
    ok(&app, &s.district, &id, "approve", json!({})).await;
    assert_eq!(ok(&app, &s.city, &id, "recommend", json!({})).await["state"], "province_review");
    let r = act_en(&app, &s.province, &id, "recommend", json!({})).await;
    assert_eq!(messages(&r), vec!["A provincial application is evaluated by the province, not recommended to MIIT"]);
    assert_eq!(ok(&app, &s.province, &id, "approve", json!({})).await["state"], "province_panel");
    ok(&app, &s.experts[0], &id, "approve", json!({})).await;
    let v = ok(&app, &s.experts[1], &id, "approve", json!({})).await;
    assert_eq!((v["state"].as_str(), v["votes"]["quorum"].as_i64()), (Some("province_panel"), Some(3)));
    assert_eq!(ok(&app, &s.experts[2], &id, "approve", json!({})).await["state"], "province_publicity");
    end_publicity(&app, &ent, &id).await;

    // Assert
    let ent = app.fresh(&ent).await;
    let v = app.get(&format!("/api/applications/{id}"), &ent).await.body;
    assert_eq!(v["state"], "recognised_provincial");
    for kind in ["design-center", "design-center-provincial"] {
        let c = active(&app, &ent, &ent_id, kind).await;
        assert_eq!(c["valid_until"], Value::Null, "{kind}: no validity period in RULES §5.2");
    }
    assert!(certs(&app, &ent, &ent_id, "design-center-national").await.is_empty());
    let city = app.fresh(&s.city).await;
    let d = app.get("/api/dashboard", &city).await;
    let t = d.body["targets"].as_array().unwrap().iter().find(|t| t["key"] == "design-center").unwrap().clone();
    assert_eq!(t["current"], 1);
});

dual_test!(provincial_design_centre_conditions_refuse_alone, |app: TestApp| async move {
    // Arrange: today is 2 March 2026.
    let (_, ent) = app.register_enterprise("gaoxin").await;
    let good = provincial_center();
    let id = draft(&app, &ent, "design-center", good.clone()).await;
    let within_two_years =
        "Provincial: no major safety or quality accident or violation in the 2 years before the application";
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"independent_legal_person": false}),
            "The applicant must be registered in Jiangsu, an independent legal person with clear property rights",
        ),
        (json!({"serious_dishonesty": true}), "A seriously dishonest entity may not apply"),
        (json!({"lawful_tax": false}), "Provincial: the applicant must operate lawfully and pay its taxes"),
        (json!({"last_major_incident": "2024-03-02"}), within_two_years),
        (json!({"last_major_incident": "2025-11-20"}), within_two_years),
        (
            json!({"leading_designer": false}),
            "Provincial: a leading industrial designer and a stable design team are required",
        ),
        (
            json!({"design_facilities": false}),
            "Provincial: a long-term design investment mechanism and research, prototyping and analysis facilities are required",
        ),
        (json!({"municipal_center": false}), "Provincial: the candidate must be a municipal industrial design centre"),
    ];
    for (bad, message) in cases {
        refused_alone(&app, &ent, &id, bad, &good, message).await;
    }
    // The national gates do not apply to a provincial application: 30 designers, no patents, a
    // centre founded last year, no provincial recognition; an incident just over two years ago.
    let r = app
        .patch(
            &format!("/api/applications/{id}"),
            &ent,
            json!({"data": {"center_founded": "2025-06-01", "last_major_incident": "2024-03-01"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(ok(&app, &ent, &id, "submit", json!({})).await["state"], "district_review");
});

dual_test!(national_design_centre_hard_conditions_refuse_alone, |app: TestApp| async move {
    // Arrange: a provincial design centre (recognised before this system).
    let (ent_id, ent) = app.register_enterprise("jingkou").await;
    let id = draft(&app, &ent, "design-center", national_center()).await;
    let provincial = "National: the centre must already be a provincial industrial design centre";
    let r = act_en(&app, &ent, &id, "submit", json!({})).await;
    assert_eq!(messages(&r), vec![provincial]);
    seed(&app, &ent_id, "design-center-provincial", "revoked", None).await;
    let r = act_en(&app, &ent, &id, "submit", json!({})).await;
    assert_eq!(messages(&r), vec![provincial], "a removed provincial centre does not count");
    seed(&app, &ent_id, "design-center", "active", None).await;
    seed(&app, &ent_id, "design-center-provincial", "active", None).await;

    // Act and assert: an enterprise design centre, each gate failing alone.
    let good = national_center();
    let cases: Vec<(Value, &str)> = vec![
        (json!({"design_team": 49}), "National: an enterprise design centre needs at least 50 full-time designers"),
        (
            json!({"qualified_share": "49.9"}),
            "National: at least 50% of the team must hold a bachelor's degree or above in industrial design or a design title",
        ),
        (
            json!({"ip_last_3y": 44, "ip_total": 99}),
            "National: granted patents and copyrights must average at least 15 a year over the last 3 years, or reach 100 in total",
        ),
        (
            json!({"center_founded": "2023-03-03"}),
            "National: the design centre must have been operating for at least 3 years",
        ),
        (
            json!({"fixed_premises": false}),
            "National: fixed premises, management systems and dedicated staff are required",
        ),
        (
            json!({"independent_unit": false}),
            "National: an enterprise design centre must be a dedicated branch or internal department run independently",
        ),
        (
            json!({"last_major_incident": "2023-03-02"}),
            "National: no major environmental, quality or safety accident in the last 3 years",
        ),
        (json!({"reapplication_barred": true}), "National: a revoked centre may not reapply while its bar runs"),
        (json!({"serious_dishonesty": true}), "A seriously dishonest entity may not apply"),
    ];
    for (bad, message) in cases {
        refused_alone(&app, &ent, &id, bad, &good, message).await;
    }
    // An industrial design enterprise has its own gates.
    let firm = national_design_firm();
    let r = app.patch(&format!("/api/applications/{id}"), &ent, json!({"data": firm})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let cases: Vec<(Value, &str)> = vec![
        (json!({"design_team": 69}), "National: an industrial design enterprise needs at least 70 full-time designers"),
        (
            json!({"design_revenue_avg": "19999999.99", "total_revenue_avg": "30000000"}),
            "National: an industrial design enterprise needs an average design-service revenue of at least ¥20,000,000 over the last 3 years",
        ),
        (
            json!({"total_revenue_avg": "60000000.02"}),
            "National: design services must bring at least 50% of an industrial design enterprise's revenue",
        ),
    ];
    for (bad, message) in cases {
        refused_alone(&app, &ent, &id, bad, &firm, message).await;
    }
    // On the lines: 70 designers, ¥20,000,000 exactly half of its revenue, 50% qualified, the
    // centre three years old today.
    let edge = json!({"design_team": 70, "design_revenue_avg": "20000000", "total_revenue_avg": "40000000",
                      "qualified_share": 50, "center_founded": "2023-03-02", "last_major_incident": "2023-03-01"});
    app.patch(&format!("/api/applications/{id}"), &ent, json!({"data": edge})).await;
    assert_eq!(ok(&app, &ent, &id, "submit", json!({})).await["state"], "district_review");
    // An enterprise centre on the lines: 50 designers and 45 patents in three years, or 100 in all.
    for ip in [json!({"ip_last_3y": 45, "ip_total": 45}), json!({"ip_last_3y": 10, "ip_total": 100})] {
        let data = with(with(national_center(), json!({"design_team": 50})), ip.clone());
        let other = draft(&app, &ent, "design-center", data).await;
        assert_eq!(ok(&app, &ent, &other, "submit", json!({})).await["state"], "district_review", "{ip}");
    }
});

dual_test!(a_national_design_centre_is_recognised_for_four_years, |app: TestApp| async move {
    // Arrange: a provincial design centre.
    let (ent_id, ent) = app.register_enterprise("jingkou").await;
    seed(&app, &ent_id, "design-center", "active", None).await;
    seed(&app, &ent_id, "design-center-provincial", "active", None).await;
    let s = staff(&app).await;
    let id = draft(&app, &ent, "design-center", national_center()).await;
    ok(&app, &ent, &id, "submit", json!({})).await;
    ok(&app, &s.district, &id, "approve", json!({})).await;
    ok(&app, &s.city, &id, "recommend", json!({})).await;
    let r = act_en(&app, &s.province, &id, "approve", json!({})).await;
    assert_eq!(messages(&r), vec!["A national application is recommended to MIIT"]);
    assert_eq!(ok(&app, &s.province, &id, "recommend", json!({})).await["state"], "national_review");

    // Act: MIIT recognises it in November; the city records it.
    let recorded = at("2026-11-16T15:00:00+08:00");
    app.clock.set(recorded);
    let city = app.fresh(&s.city).await;
    let v = ok(&app, &city, &id, "record_recognised", json!({})).await;

    // Assert: four years from the recognition; the provincial marker stays.
    assert_eq!(v["state"], "recognised_national");
    let ent = app.fresh(&ent).await;
    for kind in ["design-center", "design-center-national"] {
        let c = active(&app, &ent, &ent_id, kind).await;
        assert_eq!(c["application_id"], id.as_str());
        assert_eq!(time(&c["granted_at"]), recorded);
        assert_eq!(time(&c["valid_until"]), at("2030-11-16T15:00:00+08:00"), "{kind}: four years");
    }
    assert_eq!(active(&app, &ent, &ent_id, "design-center-provincial").await["valid_until"], Value::Null);
    let all = certs(&app, &ent, &ent_id, "design-center").await;
    assert!(all.iter().any(|c| c["status"] == "superseded"), "the provincial-era one is replaced: {all:?}");

    // A second enterprise is not recognised by MIIT: the city records why.
    let (other_id, other) = app.register_enterprise("jingkou").await;
    seed(&app, &other_id, "design-center-provincial", "active", None).await;
    let other_id_app = draft(&app, &other, "design-center", national_center()).await;
    ok(&app, &other, &other_id_app, "submit", json!({})).await;
    let district = app.fresh(&s.district).await;
    let province = app.fresh(&s.province).await;
    ok(&app, &district, &other_id_app, "approve", json!({})).await;
    ok(&app, &city, &other_id_app, "recommend", json!({})).await;
    ok(&app, &province, &other_id_app, "recommend", json!({})).await;
    let r = act_en(&app, &city, &other_id_app, "record_not_recognised", json!({})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "the reason is required: {:?}", r.body);
    let v = ok(&app, &city, &other_id_app, "record_not_recognised", json!({"comment": "未列入工信部认定名单"})).await;
    assert_eq!(v["state"], "rejected");
    assert!(certs(&app, &other, &other_id, "design-center-national").await.is_empty());
});
