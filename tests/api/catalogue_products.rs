//! The three “首” workflows (RULES.md §3): first-set equipment (首台（套）), first-batch material
//! (首批次) and first-version software (首版次). Each goes district → city → provincial formal
//! review → expert panel (3 votes) → site check → online publicity → announcement, and grants its
//! certification for three years from the announcement. The refusals: every applicant and product
//! condition failing alone with its message, the value floors on both sides, the panel quorum.

use certflow::domain::role::Role;
use chrono::{DateTime, Duration, Utc};
use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

use crate::dual_test;
use crate::helpers::TestApp;
use crate::helpers::{act_en, messages};

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn time(v: &Value) -> DateTime<Utc> {
    at(v.as_str().unwrap_or_else(|| panic!("not a time: {v:?}")))
}

/// Uploads a small PDF for a `file` field of the application (which links it into the form).
async fn upload(app: &TestApp, token: &str, id: &str, field: &str) {
    let part = Part::bytes(b"%PDF-1.4\n% test evidence\n".to_vec())
        .file_name(format!("{field}.pdf"))
        .mime_str("application/pdf")
        .unwrap();
    let res = app
        .client
        .post(format!("{}/api/applications/{id}/attachments", app.address))
        .bearer_auth(token)
        .multipart(Form::new().part(field.to_string(), part))
        .send()
        .await
        .expect("request sent");
    let r = TestApp::read(res).await;
    assert_eq!(r.status, StatusCode::CREATED, "upload {field}: {:?}", r.body);
}

async fn ok(app: &TestApp, token: &str, id: &str, action: &str, body: Value) -> Value {
    let r = app.act(token, id, action, body).await;
    assert_eq!(r.status, StatusCode::OK, "{action}: {:?}", r.body);
    r.body
}

/// The evidence each workflow asks for as required files.
fn files_of(workflow: &str) -> &'static [&'static str] {
    match workflow {
        "first-set-equipment" => &["test_report", "novelty_report", "user_report"],
        "first-version-software" => &["test_report"],
        _ => &[],
    }
}

/// A jingkou enterprise with everyone who works a “首” application.
struct Team {
    ent_id: String,
    ent: String,
    district: String,
    city: String,
    /// The provincial reviewer of the formal review, publicity and announcement.
    province: String,
    /// Another provincial reviewer for the site check (four eyes against the formal review).
    inspector: String,
    experts: [String; 4],
}

async fn team(app: &TestApp) -> Team {
    let (ent_id, ent) = app.register_enterprise("jingkou").await;
    Team {
        ent_id,
        ent,
        district: app.staff(Role::Reviewer, Some("jingkou")).await,
        city: app.staff(Role::Reviewer, Some("city")).await,
        province: app.staff(Role::Reviewer, Some("province")).await,
        inspector: app.staff(Role::Reviewer, Some("province")).await,
        experts: [
            app.staff(Role::Expert, Some("province")).await,
            app.staff(Role::Expert, Some("province")).await,
            app.staff(Role::Expert, Some("province")).await,
            app.staff(Role::Expert, Some("province")).await,
        ],
    }
}

/// Creates a draft with `data` and uploads the workflow's required files; returns its id.
async fn draft(app: &TestApp, ent: &str, workflow: &str, data: Value) -> String {
    let view = app.create(ent, workflow, data).await;
    assert_eq!(view["state"], "draft");
    let id = view["id"].as_str().unwrap().to_string();
    for f in files_of(workflow) {
        upload(app, ent, &id, f).await;
    }
    id
}

/// Files and submits; brings the application through district, city and formal review to the panel.
async fn to_panel(app: &TestApp, t: &Team, workflow: &str, data: Value) -> String {
    let id = draft(app, &t.ent, workflow, data).await;
    assert_eq!(ok(app, &t.ent, &id, "submit", json!({})).await["state"], "district_review");
    assert_eq!(ok(app, &t.district, &id, "approve", json!({})).await["state"], "city_review");
    assert_eq!(ok(app, &t.city, &id, "recommend", json!({"comment": "推荐"})).await["state"], "formal_review");
    assert_eq!(ok(app, &t.province, &id, "approve", json!({})).await["state"], "expert_review");
    id
}

/// Three experts agree, the site check passes: the application is in publicity.
async fn to_publicity(app: &TestApp, t: &Team, id: &str) {
    for e in &t.experts[..3] {
        ok(app, e, id, "approve", json!({})).await;
    }
    let body = json!({"comment": "现场核查情况属实", "data": {"site_check_date": "2026-03-02"}});
    assert_eq!(ok(app, &t.inspector, id, "site_check_passed", body).await["state"], "publicity");
}

/// The enterprise's certifications of `kind`.
async fn certs(app: &TestApp, token: &str, ent_id: &str, kind: &str) -> Vec<Value> {
    let r = app.get(&format!("/api/certifications?enterprise_id={ent_id}&kind={kind}"), token).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    r.body["items"].as_array().unwrap().clone()
}

/// Publicity entered on Monday 2 March 2026 09:00 ends after five working days, at the start of
/// Tuesday 10 March; the province announces the list on Monday 16 March at 10:00. Checks the
/// certification: active, granted at the announcement, valid three years from it.
async fn publicity_and_announcement(app: &TestApp, t: &Team, id: &str, kind: &str) {
    let r = app.get(&format!("/api/applications/{id}"), &t.ent).await;
    assert_eq!(r.body["state"], "publicity");
    assert_eq!(time(&r.body["due_at"]), at("2026-03-10T00:00:00+08:00"), "five working days");
    app.clock.set(at("2026-03-09T23:00:00+08:00"));
    assert_eq!(app.sweep().await, 0, "the publicity is not over on the fifth working day");
    app.clock.set(at("2026-03-10T09:00:00+08:00"));
    assert_eq!(app.sweep().await, 1, "the publicity ends by itself");
    let province = app.fresh(&t.province).await;
    let ent = app.fresh(&t.ent).await;
    let r = app.get(&format!("/api/applications/{id}"), &province).await;
    assert_eq!(r.body["state"], "announcement");
    assert!(certs(app, &ent, &t.ent_id, kind).await.is_empty(), "nothing granted before the announcement");
    let announced = at("2026-03-16T10:00:00+08:00");
    app.clock.set(announced);
    let province = app.fresh(&province).await;
    let ent = app.fresh(&ent).await;
    let v = ok(app, &province, id, "announce", json!({})).await;
    assert_eq!((v["state"].as_str(), v["final"].as_bool()), (Some("recognised"), Some(true)));
    let c = certs(app, &ent, &t.ent_id, kind).await;
    assert_eq!(c.len(), 1, "{c:?}");
    assert_eq!((c[0]["kind"].as_str(), c[0]["status"].as_str()), (Some(kind), Some("active")));
    assert_eq!(c[0]["application_id"], id);
    assert_eq!(time(&c[0]["granted_at"]), announced);
    assert_eq!(time(&c[0]["valid_until"]), at("2029-03-16T10:00:00+08:00"), "three years from the announcement");
}

// ---------------------------------------------------------------------------------------------
// 首台（套）重大装备

/// A single machine at ¥800,000 that meets every condition (registered in 2019).
fn good_equipment() -> Value {
    json!({
        "equipment_name": "大型智能压铸单元", "equipment_model": "ZJ-DC3000", "equipment_kind": "single_machine",
        "emerging_industry": false, "unit_price": "800000", "registered_on": "2019-06-18",
        "independent_legal_person": true, "operating_normally": true, "serious_dishonesty": false,
        "major_accident_3y": false, "mass_production": true, "ip_count": 3, "ip_dispute": false,
        "standard_filed": true, "licence": "not_required", "series_recognised": false,
    })
}

dual_test!(first_set_equipment_is_recognised_for_three_years_from_the_announcement, |app: TestApp| async move {
    // Arrange
    let t = team(&app).await;
    let id = to_panel(&app, &t, "first-set-equipment", good_equipment()).await;

    // Act and assert: the panel needs three distinct experts.
    let v = ok(&app, &t.experts[0], &id, "approve", json!({})).await;
    assert_eq!(v["state"], "expert_review");
    assert_eq!(v["votes"], json!({"approve": 1, "reject": 0, "quorum": 3}));
    let r = app.act(&t.experts[0], &id, "approve", json!({})).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "one vote per expert: {:?}", r.body);
    let v = ok(&app, &t.experts[1], &id, "approve", json!({})).await;
    assert_eq!((v["state"].as_str(), v["votes"]["approve"].as_i64()), (Some("expert_review"), Some(2)));
    let v = ok(&app, &t.experts[2], &id, "approve", json!({})).await;
    assert_eq!(v["state"], "site_check", "the third vote decides");
    // The site check: not by the reviewer of the formal review; the date and findings are recorded.
    let r = app
        .act(
            &t.province,
            &id,
            "site_check_passed",
            json!({"comment": "属实", "data": {"site_check_date": "2026-03-02"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "four eyes: {:?}", r.body);
    let r = act_en(&app, &t.inspector, &id, "site_check_passed", json!({"comment": "现场核查情况属实"})).await;
    assert_eq!(messages(&r), vec!["Enter the date of the site check"]);
    let r =
        act_en(&app, &t.inspector, &id, "site_check_passed", json!({"data": {"site_check_date": "2026-03-02"}})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "the findings are a required comment: {:?}", r.body);
    let body = json!({"comment": "现场核查情况属实", "data": {"site_check_date": "2026-03-02"}});
    let v = ok(&app, &t.inspector, &id, "site_check_passed", body).await;
    assert_eq!(v["state"], "publicity");
    assert_eq!(v["data"]["site_check_date"], "2026-03-02");
    publicity_and_announcement(&app, &t, &id, "first-set-equipment").await;
    let ent = app.fresh(&t.ent).await;
    let v = app.get(&format!("/api/applications/{id}"), &ent).await.body;
    let actions: Vec<&str> = v["history"].as_array().unwrap().iter().map(|h| h["action"].as_str().unwrap()).collect();
    assert_eq!(
        actions,
        vec![
            "create",
            "upload",
            "upload",
            "upload",
            "submit",
            "approve",
            "recommend",
            "approve",
            "approve",
            "approve",
            "approve",
            "site_check_passed",
            "publish",
            "announce"
        ]
    );
});

dual_test!(first_set_equipment_value_floors_depend_on_the_kind_of_equipment, |app: TestApp| async move {
    // Arrange
    let (_, ent) = app.register_enterprise("dantu").await;
    let single = "A single machine must sell for at least ¥500,000 (emerging-industry products excepted)";
    let set =
        "A complete set or production line must sell for at least ¥1,000,000 (emerging-industry products excepted)";
    // (kind, price, emerging industry, the message if refused)
    let cases: [(&str, &str, bool, Option<&str>); 8] = [
        ("single_machine", "499999.99", false, Some(single)),
        ("single_machine", "500000", false, None),
        ("complete_set", "999999.99", false, Some(set)),
        ("complete_set", "800000", false, Some(set)),
        ("complete_set", "1000000", false, None),
        ("single_machine", "120000", true, None),
        ("complete_set", "300000", true, None),
        ("key_part", "50000", false, None),
    ];
    for (kind, price, emerging, refused) in cases {
        // Act: a complete application at that price.
        let mut data = good_equipment();
        data["equipment_kind"] = json!(kind);
        data["unit_price"] = json!(price);
        data["emerging_industry"] = json!(emerging);
        let id = draft(&app, &ent, "first-set-equipment", data).await;
        let r = act_en(&app, &ent, &id, "submit", json!({})).await;

        // Assert: the floor of its kind, and nothing else, decides.
        match refused {
            Some(message) => assert_eq!(messages(&r), vec![message], "{kind} at {price}"),
            None => {
                assert_eq!(r.status, StatusCode::OK, "{kind} at {price}: {:?}", r.body);
                assert_eq!(r.body["state"], "district_review");
            }
        }
    }
});

dual_test!(first_set_equipment_refuses_each_unmet_condition_with_its_message, |app: TestApp| async move {
    // Arrange: today is 2 March 2026.
    let (_, ent) = app.register_enterprise("jingkou").await;
    let view = app.create(&ent, "first-set-equipment", good_equipment()).await;
    let id = view["id"].as_str().unwrap().to_string();
    let path = format!("/api/applications/{id}");
    // Without the reports the form is incomplete.
    let r = act_en(&app, &ent, &id, "submit", json!({})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let mut fields: Vec<&str> =
        r.body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    fields.sort_unstable();
    assert_eq!(fields, vec!["novelty_report", "test_report", "user_report"]);
    for f in files_of("first-set-equipment") {
        upload(&app, &ent, &id, f).await;
    }
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"registered_on": "2025-03-03"}),
            "The applicant must have been registered in Jiangsu for at least one year",
        ),
        (json!({"independent_legal_person": false}), "The applicant must be an independent legal person"),
        (json!({"operating_normally": false}), "The applicant must be operating normally"),
        (json!({"serious_dishonesty": true}), "An applicant with a serious dishonesty record may not apply"),
        (
            json!({"major_accident_3y": true}),
            "An applicant with a major safety or environmental accident in the last 3 years may not apply",
        ),
        (
            json!({"mass_production": false}),
            "The equipment must be mass-producible and sold, with after-sales service in place",
        ),
        (
            json!({"ip_count": 0}),
            "The applicant must own invention patents or other own IP directly related to the equipment",
        ),
        (json!({"ip_dispute": true}), "The equipment must not be subject to an IP dispute"),
        (
            json!({"standard_filed": false}),
            "The equipment must be made to standards, with the enterprise standard filed",
        ),
        (
            json!({"licence": "missing"}),
            "Where a special-industry licence or CCC certification is required, it must be held",
        ),
        (
            json!({"series_recognised": true}),
            "A model of a series with a recognised model is in principle not recognised again",
        ),
    ];
    for (bad, message) in cases {
        // Act: one condition unmet, everything else as in the good application.
        let r = app.patch(&path, &ent, json!({"data": bad})).await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        let r = act_en(&app, &ent, &id, "submit", json!({})).await;
        // Assert
        assert_eq!(messages(&r), vec![message.to_string()], "{bad}");
        assert_eq!(r.body["title"], "the eligibility rules are not met");
        let r = app.patch(&path, &ent, json!({"data": good_equipment()})).await;
        assert_eq!(r.status, StatusCode::OK);
    }
    // In Chinese by default.
    app.patch(&path, &ent, json!({"data": {"licence": "missing"}})).await;
    let r = app.act(&ent, &id, "submit", json!({})).await;
    assert_eq!(r.body["errors"][0]["message"], "需要特殊行业许可证或CCC认证的，须已取得");
    // Registered exactly one year ago: allowed; the licence held: allowed.
    app.patch(&path, &ent, json!({"data": {"registered_on": "2025-03-02", "licence": "held"}})).await;
    assert_eq!(ok(&app, &ent, &id, "submit", json!({})).await["state"], "district_review");
});

dual_test!(first_set_equipment_panel_rejects_with_three_votes_and_the_site_check_can_fail, |app: TestApp| async move {
    // Arrange
    let t = team(&app).await;
    let id = to_panel(&app, &t, "first-set-equipment", good_equipment()).await;

    // Act: two experts disagree, one agrees: nothing is decided; a rejection needs its reasons.
    let r = act_en(&app, &t.experts[0], &id, "reject", json!({})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", r.body);
    ok(&app, &t.experts[0], &id, "reject", json!({"comment": "核心部件依赖进口"})).await;
    ok(&app, &t.experts[1], &id, "reject", json!({"comment": "技术指标未达国内领先"})).await;
    let v = ok(&app, &t.experts[2], &id, "approve", json!({})).await;
    assert_eq!(v["state"], "expert_review");
    assert_eq!(v["votes"], json!({"approve": 1, "reject": 2, "quorum": 3}));
    // The fourth expert's rejection is the third: rejected, and the applicant is told.
    let v = ok(&app, &t.experts[3], &id, "reject", json!({"comment": "同意前两位专家意见"})).await;

    // Assert
    assert_eq!((v["state"].as_str(), v["final"].as_bool()), (Some("rejected"), Some(true)));
    assert!(certs(&app, &t.ent, &t.ent_id, "first-set-equipment").await.is_empty());

    // A second application passes the panel and fails the site check.
    let id = to_panel(&app, &t, "first-set-equipment", good_equipment()).await;
    for e in &t.experts[1..] {
        ok(&app, e, &id, "approve", json!({})).await;
    }
    let r = act_en(&app, &t.inspector, &id, "site_check_failed", json!({})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "the reasons are required");
    let v = ok(&app, &t.inspector, &id, "site_check_failed", json!({"comment": "现场未见量产能力"})).await;
    assert_eq!(v["state"], "rejected");
    assert!(certs(&app, &t.ent, &t.ent_id, "first-set-equipment").await.is_empty());
});

// ---------------------------------------------------------------------------------------------
// 首版次软件

fn good_software() -> Value {
    json!({
        "software_name": "镇江智造工业互联网平台", "software_version": "V1.0", "software_category": "industrial",
        "copyright_number": "2024SR0123456", "copyright_completed_on": "2023-08-15", "copyright_holder": true,
        "first_release": true, "registered_on": "2018-04-01", "serious_dishonesty": false, "major_accident_3y": false,
    })
}

dual_test!(first_version_software_survives_an_objection_and_is_recognised_for_three_years, |app: TestApp| async move {
    // Arrange
    let t = team(&app).await;
    let id = to_panel(&app, &t, "first-version-software", good_software()).await;
    to_publicity(&app, &t, &id).await;

    // Act: an objection during the publicity sends it back to the formal review, with reasons.
    let r = act_en(&app, &t.province, &id, "object", json!({})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", r.body);
    let v = ok(&app, &t.province, &id, "object", json!({"comment": "收到著作权归属异议，需核实"})).await;
    assert_eq!(v["state"], "formal_review");
    app.advance(Duration::days(14));
    assert_eq!(app.sweep().await, 0, "the publicity timer ended with the objection");
    let province = app.fresh(&t.province).await;
    // Checked: through the panel and the site check again (new votes), then a new publicity.
    ok(&app, &province, &id, "approve", json!({"comment": "异议已核实不成立"})).await;
    let inspector = app.fresh(&t.inspector).await;
    let mut experts = Vec::new();
    for e in &t.experts {
        experts.push(app.fresh(e).await);
    }
    let experts: [String; 4] = experts.try_into().unwrap();
    let t = Team { province: province.clone(), inspector, experts, ..t };
    let v = app.get(&format!("/api/applications/{id}"), &province).await.body;
    assert_eq!(v["votes"], json!({"approve": 0, "reject": 0, "quorum": 3}));
    to_publicity(&app, &t, &id).await;
    let v = app.get(&format!("/api/applications/{id}"), &province).await.body;
    let due = time(&v["due_at"]);

    // Assert: five working days from the new publicity, then the announcement and three years.
    app.clock.set(due + Duration::hours(1));
    assert_eq!(app.sweep().await, 1);
    let province = app.fresh(&province).await;
    let announced = due + Duration::hours(1);
    ok(&app, &province, &id, "announce", json!({})).await;
    let ent = app.fresh(&t.ent).await;
    let c = certs(&app, &ent, &t.ent_id, "first-version-software").await;
    assert_eq!(c.len(), 1);
    assert_eq!(time(&c[0]["granted_at"]), announced);
    assert_eq!(time(&c[0]["valid_until"]), announced + chrono::Months::new(36));
});

dual_test!(first_version_software_refuses_each_unmet_condition_with_its_message, |app: TestApp| async move {
    let (_, ent) = app.register_enterprise("xinqu").await;
    let id = draft(&app, &ent, "first-version-software", good_software()).await;
    let path = format!("/api/applications/{id}");
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"registered_on": "2023-01-01"}),
            "The applicant must have been registered in Jiangsu on or before 31 December 2022",
        ),
        (json!({"serious_dishonesty": true}), "An applicant with serious dishonesty in the last 3 years may not apply"),
        (
            json!({"major_accident_3y": true}),
            "An applicant with a major safety, environmental or quality accident in the last 3 years may not apply",
        ),
        (
            json!({"software_category": "other"}),
            "The product must be basic, support, platform, industrial, embedded, information-security, 5G or AI software, or an innovative application for a provincial cluster, government governance or public services",
        ),
        (
            json!({"copyright_completed_on": "2022-12-31"}),
            "The development-completion date of the software copyright must be on or after 1 January 2023",
        ),
        (json!({"copyright_holder": false}), "The applicant must be among the copyright holders"),
        (json!({"first_release": false}), "The product must be in its first formal release and sale"),
    ];
    for (bad, message) in cases {
        assert_eq!(app.patch(&path, &ent, json!({"data": bad})).await.status, StatusCode::OK);
        let r = act_en(&app, &ent, &id, "submit", json!({})).await;
        assert_eq!(messages(&r), vec![message.to_string()], "{bad}");
        assert_eq!(app.patch(&path, &ent, json!({"data": good_software()})).await.status, StatusCode::OK);
    }
    // The boundaries of the call's dates are inside: registered on 31 December 2022, copyright
    // completed on 1 January 2023, a public-service application.
    let data = json!({"registered_on": "2022-12-31", "copyright_completed_on": "2023-01-01",
                      "software_category": "public_service_application"});
    app.patch(&path, &ent, json!({"data": data})).await;
    assert_eq!(ok(&app, &ent, &id, "submit", json!({})).await["state"], "district_review");
});

// ---------------------------------------------------------------------------------------------
// 首批次新材料

fn good_material() -> Value {
    json!({
        "material_name": "高性能碳纤维复合材料", "material_grade": "ZT-700S", "in_catalogue": true,
        "catalogue_entry": "2024版 第35项 高强中模碳纤维", "batch_production": true, "first_market_entry": true,
        "market_track_record": false, "independent_legal_person": true, "serious_dishonesty": false,
        "major_accident_3y": false,
    })
}

dual_test!(first_batch_material_is_recognised_for_three_years_from_the_announcement, |app: TestApp| async move {
    // Arrange
    let t = team(&app).await;
    let id = to_panel(&app, &t, "first-batch-material", good_material()).await;

    // Act: the panel (two votes are not enough), the site check, the publicity, the announcement.
    ok(&app, &t.experts[0], &id, "approve", json!({})).await;
    let v = ok(&app, &t.experts[1], &id, "approve", json!({})).await;
    assert_eq!((v["state"].as_str(), v["votes"]["approve"].as_i64()), (Some("expert_review"), Some(2)));
    let v = ok(&app, &t.experts[3], &id, "approve", json!({})).await;
    assert_eq!(v["state"], "site_check");
    let body = json!({"comment": "批量生产线运行正常", "data": {"site_check_date": "2026-03-02"}});
    ok(&app, &t.inspector, &id, "site_check_passed", body).await;

    // Assert
    publicity_and_announcement(&app, &t, &id, "first-batch-material").await;
    // The other kinds are not granted by it.
    let ent = app.fresh(&t.ent).await;
    assert!(certs(&app, &ent, &t.ent_id, "first-set-equipment").await.is_empty());
});

dual_test!(first_batch_material_refuses_each_unmet_condition_and_may_be_left_off_the_list, |app: TestApp| async move {
    let t = team(&app).await;
    let id = draft(&app, &t.ent, "first-batch-material", good_material()).await;
    let path = format!("/api/applications/{id}");
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"in_catalogue": false}),
            "The material must be listed in the first-batch application catalogue of key new materials",
        ),
        (json!({"batch_production": false}), "The material must be industrialised in batches"),
        (json!({"first_market_entry": false}), "The material must be entering the market for the first time"),
        (json!({"market_track_record": true}), "A material with a market track record is not a first batch"),
        (json!({"independent_legal_person": false}), "The applicant must be an independent legal person"),
        (json!({"serious_dishonesty": true}), "An applicant with a serious dishonesty record may not apply"),
        (
            json!({"major_accident_3y": true}),
            "An applicant with a major safety, environmental or quality accident in the last 3 years may not apply",
        ),
    ];
    for (bad, message) in cases {
        assert_eq!(app.patch(&path, &t.ent, json!({"data": bad})).await.status, StatusCode::OK);
        let r = act_en(&app, &t.ent, &id, "submit", json!({})).await;
        assert_eq!(messages(&r), vec![message.to_string()], "{bad}");
        assert_eq!(app.patch(&path, &t.ent, json!({"data": good_material()})).await.status, StatusCode::OK);
    }
    // Complete: it goes all the way to the announcement, where the province leaves it off the list.
    let id = to_panel(&app, &t, "first-batch-material", good_material()).await;
    to_publicity(&app, &t, &id).await;
    app.advance(Duration::days(9));
    assert_eq!(app.sweep().await, 1);
    let province = app.fresh(&t.province).await;
    let r = act_en(&app, &province, &id, "not_listed", json!({})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "the reason is required");
    let v = ok(&app, &province, &id, "not_listed", json!({"comment": "名额所限，未列入本批次名单"})).await;
    assert_eq!(v["state"], "rejected");
    let ent = app.fresh(&t.ent).await;
    assert!(certs(&app, &ent, &t.ent_id, "first-batch-material").await.is_empty());
});
