//! `workflows/lenient-supervision.yaml` (包容审慎监管 / 首违不罚) and `workflows/renewal.yaml`
//! (复核 of any tier, opened by the 90-day expiry reminder through `programme.yaml`).

use certflow::domain::role::Role;
use certflow::engine::Clock;
use certflow::storage::entities::{certification, outbox};
use chrono::{DateTime, Duration, Months, Utc};
use reqwest::multipart::{Form, Part};
use reqwest::{Method, StatusCode};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde_json::{Value, json};

use crate::dual_test;
use crate::helpers::act_en;
use crate::helpers::{Resp, TestApp, good_sample};

// ---------------------------------------------------------------- helpers

fn time(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().unwrap_or_else(|| panic!("not a time: {v:?}"))).unwrap().with_timezone(&Utc)
}

/// The messages of a 422 (English), joined.
fn messages(r: &Resp) -> String {
    r.body["errors"].as_array().map_or(String::new(), |e| {
        e.iter().map(|e| e["message"].as_str().unwrap_or_default()).collect::<Vec<_>>().join(" | ")
    })
}

/// What an inspector records when opening a case.
fn case_data(kind: &str, harm: &str) -> Value {
    json!({
        "violation_kind": kind,
        "violation_item": "疏散通道堆放杂物",
        "legal_basis": "《中华人民共和国消防法》第二十八条",
        "inspection_date": "2026-03-01",
        "harm_level": harm,
        "facts": "检查发现二号车间疏散通道堆放纸箱，未造成后果。",
        "evidence_reference": "ZJ-XF-2026-0301-07",
    })
}

/// An inspector opens a case for an enterprise: the response.
async fn open_case_resp(app: &TestApp, inspector: &str, ent_id: &str, kind: &str, harm: &str) -> Resp {
    app.post(
        "/api/applications",
        inspector,
        json!({"workflow": "lenient-supervision", "enterprise_id": ent_id, "data": case_data(kind, harm)}),
    )
    .await
}

/// An inspector opens a case; returns its id.
async fn open_case(app: &TestApp, inspector: &str, ent_id: &str, kind: &str, harm: &str) -> String {
    let r = open_case_resp(app, inspector, ent_id, kind, harm).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(r.body["state"], "assessment");
    r.body["id"].as_str().unwrap().to_string()
}

/// The order of a rectification period of `days`.
fn order(days: i64) -> Value {
    json!({"comment": "清理疏散通道，建立每日巡查制度。", "data": {"rectification_days": days}})
}

async fn state_of(app: &TestApp, token: &str, id: &str) -> Value {
    let r = app.get(&format!("/api/applications/{id}"), token).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    r.body
}

/// A case that went the ordinary way to a penalty decision (an earlier violation on record).
async fn penalised_case(app: &TestApp, inspector: &str, ent_id: &str, kind: &str) -> String {
    let id = open_case(app, inspector, ent_id, kind, "minor").await;
    let r = app.act(inspector, &id, "refer_to_penalty", json!({"comment": "拒不配合检查"})).await;
    assert_eq!(r.body["state"], "penalty_procedure", "{:?}", r.body);
    let r = app
        .act(inspector, &id, "record_penalty", json!({"data": {"penalty_decision_number": "镇消行罚决字〔2026〕1号"}}))
        .await;
    assert_eq!(r.body["state"], "penalised", "{:?}", r.body);
    id
}

/// Mail of `template` queued for an application.
async fn mail(app: &TestApp, app_id: &str, template: &str) -> Vec<outbox::Model> {
    outbox::Entity::find()
        .filter(outbox::Column::ApplicationId.eq(app_id))
        .filter(outbox::Column::Template.eq(template))
        .all(&app.engine.db)
        .await
        .unwrap()
}

async fn upload_evidence(app: &TestApp, token: &str, id: &str) -> Resp {
    let res = app
        .client
        .post(format!("{}/api/applications/{id}/attachments", app.address))
        .bearer_auth(token)
        .multipart(Form::new().part(
            "rectification_evidence",
            Part::bytes(b"%PDF-1.4 rectified".to_vec()).file_name("photos.pdf").mime_str("application/pdf").unwrap(),
        ))
        .send()
        .await
        .unwrap();
    TestApp::read(res).await
}

// ---------------------------------------------------------------- lenient supervision

dual_test!(a_first_minor_offence_rectified_in_time_closes_without_penalty, |app: TestApp| async move {
    // Arrange
    let (ent_id, ent) = app.register_enterprise("jingkou").await;
    let inspector = app.staff(Role::Inspector, Some("jingkou")).await;
    let id = open_case(&app, &inspector, &ent_id, "fire-safety", "minor").await;
    let opened = app.clock.now();

    // The order needs the period as data.
    let r = act_en(&app, &inspector, &id, "order_rectification", json!({"comment": "清理通道"})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(messages(&r).contains("Enter the rectification period"), "{:?}", r.body);
    // A period outside the form's bounds is refused by the form.
    let r = app.act(&inspector, &id, "order_rectification", order(0)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", r.body);

    // Act: a 15-day order
    let r = app.act(&inspector, &id, "order_rectification", order(15)).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["state"], "rectifying");
    assert_eq!(r.body["data"]["rectification_days"], 15);
    let due = time(&r.body["due_at"]);
    assert_eq!(due, opened + Duration::days(15));
    let ordered = mail(&app, &id, "rectification-ordered").await;
    assert_eq!(ordered.len(), 1, "the enterprise is told of the order");
    assert!(ordered[0].recipient.starts_with("owner"), "{}", ordered[0].recipient);

    // Five days on the enterprise reports, with its evidence; the report text is required.
    app.advance(Duration::days(5));
    let ent = app.fresh(&ent).await;
    let inspector = app.fresh(&inspector).await;
    let up = upload_evidence(&app, &ent, &id).await;
    assert_eq!(up.status, StatusCode::CREATED, "{:?}", up.body);
    let r = act_en(&app, &ent, &id, "report_rectification", json!({})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(messages(&r).contains("Describe the rectification"), "{:?}", r.body);
    let r = app
        .act(&ent, &id, "report_rectification", json!({"data": {"rectification_report": "通道已清理，制度已建立。"}}))
        .await;
    assert_eq!(r.body["state"], "verification", "{:?}", r.body);
    assert_eq!(r.body["data"]["rectification_evidence"], up.body["id"]);

    // The inspector finds it incomplete after two days: the period resumes with the 10 days left.
    app.advance(Duration::days(2));
    let ent = app.fresh(&ent).await;
    let inspector = app.fresh(&inspector).await;
    let r = app.act(&inspector, &id, "return_rectification", json!({"comment": "巡查记录未提供"})).await;
    assert_eq!(r.body["state"], "rectifying", "{:?}", r.body);
    assert_eq!(time(&r.body["due_at"]), due + Duration::days(2), "the clock stopped during verification");
    let r =
        app.act(&ent, &id, "report_rectification", json!({"data": {"rectification_report": "已补充巡查记录。"}})).await;
    assert_eq!(r.body["state"], "verification", "{:?}", r.body);

    // Closing without penalty needs the education on record.
    let r = act_en(&app, &inspector, &id, "confirm_rectified", json!({})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(messages(&r).contains("Record the education"), "{:?}", r.body);
    let r = app
        .act(
            &inspector,
            &id,
            "confirm_rectified",
            json!({"data": {"education_record": "约谈负责人，讲解消防法相关规定。"}}),
        )
        .await;

    // Assert
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["state"], "closed_no_penalty");
    assert_eq!(r.body["final"], true);
    assert_eq!(r.body["data"]["education_record"], "约谈负责人，讲解消防法相关规定。");
    assert_eq!(mail(&app, &id, "approved").await.len(), 1);
    // Nothing left to time out.
    app.advance(Duration::days(30));
    assert_eq!(app.sweep().await, 0);
    let ent = app.fresh(&ent).await;
    assert_eq!(state_of(&app, &ent, &id).await["state"], "closed_no_penalty");
});

dual_test!(the_deadline_passing_sends_the_case_to_the_penalty_procedure, |app: TestApp| async move {
    // Arrange: a first minor offence with 7 days to rectify.
    let (ent_id, ent) = app.register_enterprise("dantu").await;
    let inspector = app.staff(Role::Inspector, Some("dantu")).await;
    let id = open_case(&app, &inspector, &ent_id, "work-safety", "none").await;
    let r = app.act(&inspector, &id, "order_rectification", order(7)).await;
    assert_eq!(r.body["state"], "rectifying", "{:?}", r.body);

    // Act: three days before the end the enterprise is reminded; a minute before the end
    // nothing happens; then the period passes.
    app.advance(Duration::days(4));
    assert_eq!(app.sweep().await, 1);
    assert_eq!(mail(&app, &id, "deadline-reminder").await.len(), 1);
    app.advance(Duration::days(3) - Duration::minutes(1));
    assert_eq!(app.sweep().await, 0);
    app.advance(Duration::minutes(2));
    assert_eq!(app.sweep().await, 1);

    // Assert: the ordinary procedure, with the inspector told; the enterprise can no longer report.
    let inspector = app.fresh(&inspector).await;
    let ent = app.fresh(&ent).await;
    let v = state_of(&app, &inspector, &id).await;
    assert_eq!(v["state"], "penalty_procedure");
    assert_eq!(v["history"].as_array().unwrap().last().unwrap()["action"], "lapse");
    assert_eq!(mail(&app, &id, "task-assigned").await.len(), 1);
    let r = app.act(&ent, &id, "report_rectification", json!({"data": {"rectification_report": "迟到的报告"}})).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{:?}", r.body);
    // The procedure's outcome is recorded with the decision number.
    let r = act_en(&app, &inspector, &id, "record_penalty", json!({})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(messages(&r).contains("number of the penalty decision"), "{:?}", r.body);
    let r = app
        .act(&inspector, &id, "record_penalty", json!({"data": {"penalty_decision_number": "丹应急罚〔2026〕12号"}}))
        .await;
    assert_eq!(r.body["state"], "penalised", "{:?}", r.body);
    assert_eq!(r.body["final"], true);
});

dual_test!(a_repeat_offence_or_more_than_minor_harm_is_refused_the_lenient_route, |app: TestApp| async move {
    // Arrange: a fire-safety penalty 100 days ago.
    let (ent_id, _ent) = app.register_enterprise("runzhou").await;
    let inspector = app.staff(Role::Inspector, Some("runzhou")).await;
    penalised_case(&app, &inspector, &ent_id, "fire-safety").await;
    app.advance(Duration::days(100));
    let inspector = app.fresh(&inspector).await;

    // Act: a new fire-safety violation with minor harm.
    let id = open_case(&app, &inspector, &ent_id, "fire-safety", "minor").await;
    let r = act_en(&app, &inspector, &id, "order_rectification", order(15)).await;

    // Assert: refused with the reason, and the case goes to the ordinary procedure.
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let m = messages(&r);
    assert!(m.contains("same kind within the last 365 days"), "{m}");
    assert!(!m.contains("more than minor"), "{m}");
    let r = app.act(&inspector, &id, "refer_to_penalty", json!({"comment": "一年内再次违法"})).await;
    assert_eq!(r.body["state"], "penalty_procedure", "{:?}", r.body);

    // A first offence of another kind but with more than minor harm is refused too.
    let id = open_case(&app, &inspector, &ent_id, "environment", "serious").await;
    let r = act_en(&app, &inspector, &id, "order_rectification", order(15)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let m = messages(&r);
    assert!(m.contains("The harm is more than minor"), "{m}");
    assert!(!m.contains("same kind"), "{m}");
    // The Chinese message by default.
    let r = app.act(&inspector, &id, "order_rectification", order(15)).await;
    assert!(messages(&r).contains("危害后果并非轻微"), "{:?}", r.body);
    let r = app.act(&inspector, &id, "refer_to_penalty", json!({"comment": "造成污染"})).await;
    assert_eq!(r.body["state"], "penalty_procedure");
});

dual_test!(a_case_of_another_kind_or_beyond_the_look_back_is_still_a_first_offence, |app: TestApp| async move {
    // Arrange: a fire-safety penalty today.
    let (ent_id, _ent) = app.register_enterprise("xinqu").await;
    let inspector = app.staff(Role::Inspector, Some("xinqu")).await;
    penalised_case(&app, &inspector, &ent_id, "fire-safety").await;

    // Another kind the same day is a first offence.
    let id = open_case(&app, &inspector, &ent_id, "environment", "minor").await;
    let r = app.act(&inspector, &id, "order_rectification", order(15)).await;
    assert_eq!(r.body["state"], "rectifying", "{:?}", r.body);

    // Exactly 365 days later a fire-safety case is still within the look-back…
    app.advance(Duration::days(365));
    let inspector = app.fresh(&inspector).await;
    let id = open_case(&app, &inspector, &ent_id, "fire-safety", "minor").await;
    let r = act_en(&app, &inspector, &id, "order_rectification", order(15)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", r.body);
    assert!(messages(&r).contains("same kind within the last 365 days"));
    // (that case is dismissed: a dismissed case does not count as an earlier violation)
    let r = app.act(&inspector, &id, "dismiss", json!({"comment": "经复查，杂物系临时卸货"})).await;
    assert_eq!(r.body["state"], "dismissed", "{:?}", r.body);

    // … and the day after, beyond it: a first offence again.
    app.advance(Duration::days(1));
    let inspector = app.fresh(&inspector).await;
    let id = open_case(&app, &inspector, &ent_id, "fire-safety", "minor").await;
    let r = app.act(&inspector, &id, "order_rectification", order(15)).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["state"], "rectifying");
});

dual_test!(only_an_inspector_of_the_enterprises_district_opens_and_works_a_case, |app: TestApp| async move {
    // Arrange
    let (ent_id, ent) = app.register_enterprise("jingkou").await;
    let own = app.staff(Role::Inspector, Some("jingkou")).await;
    let other = app.staff(Role::Inspector, Some("runzhou")).await;
    let reviewer = app.staff(Role::Reviewer, Some("jingkou")).await;

    // Act / Assert: another district's inspector, a reviewer and the enterprise cannot open one.
    let r = app
        .request(
            Method::POST,
            "/api/applications",
            Some(&other),
            Some(json!({"workflow": "lenient-supervision", "enterprise_id": ent_id, "data": case_data("fire-safety", "minor")})),
            &[("Accept-Language", "en")],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{:?}", r.body);
    assert!(r.body["detail"].as_str().unwrap().contains("outside your jurisdiction"), "{:?}", r.body);
    assert_eq!(open_case_resp(&app, &reviewer, &ent_id, "fire-safety", "minor").await.status, StatusCode::FORBIDDEN);
    let r = app
        .post(
            "/api/applications",
            &ent,
            json!({"workflow": "lenient-supervision", "data": case_data("fire-safety", "minor")}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{:?}", r.body);

    // The district's inspector opens it; the other district's inspector cannot act on it.
    let id = open_case(&app, &own, &ent_id, "fire-safety", "minor").await;
    assert_eq!(app.act(&other, &id, "order_rectification", order(15)).await.status, StatusCode::FORBIDDEN);
    // The enterprise cannot take the inspector's decision.
    assert_eq!(app.act(&ent, &id, "order_rectification", order(15)).await.status, StatusCode::FORBIDDEN);
    // The case is in the district inspector's inbox.
    let tasks = app.get("/api/tasks", &own).await;
    assert!(tasks.body.to_string().contains(&id), "{:?}", tasks.body);
});

dual_test!(the_enterprise_sees_its_own_case_but_not_anothers, |app: TestApp| async move {
    // Arrange
    let (a_id, a) = app.register_enterprise("gaoxin").await;
    let (_b_id, b) = app.register_enterprise("gaoxin").await;
    let inspector = app.staff(Role::Inspector, Some("gaoxin")).await;
    let id = open_case(&app, &inspector, &a_id, "market", "minor").await;

    // Act
    let own = app.get(&format!("/api/applications/{id}"), &a).await;
    let others = app.get(&format!("/api/applications/{id}"), &b).await;
    let own_list = app.get("/api/applications?workflow=lenient-supervision", &a).await;
    let other_list = app.get("/api/applications?workflow=lenient-supervision", &b).await;

    // Assert
    assert_eq!(own.status, StatusCode::OK);
    assert_eq!(own.body["data"]["facts"], case_data("market", "minor")["facts"]);
    assert_eq!(others.status, StatusCode::NOT_FOUND);
    assert_eq!(own_list.body["total"], 1, "{:?}", own_list.body);
    assert_eq!(own_list.body["items"][0]["id"], id.as_str());
    assert_eq!(other_list.body["total"], 0, "{:?}", other_list.body);
});

// ---------------------------------------------------------------- renewal

/// Inserts a certification the enterprise got from another workflow (Arrange only).
async fn insert_cert(app: &TestApp, ent_id: &str, kind: &str, until: DateTime<Utc>, application_id: &str) {
    let now = app.clock.now();
    certification::ActiveModel {
        id: Set(uuid::Uuid::new_v4().to_string()),
        enterprise_id: Set(ent_id.to_string()),
        kind: Set(kind.to_string()),
        application_id: Set(application_id.to_string()),
        status: Set(if until > now { "active" } else { "expired" }.to_string()),
        granted_at: Set(until.checked_sub_months(Months::new(36)).unwrap()),
        valid_until: Set(Some(until)),
        revoked_at: Set(None),
    }
    .insert(&app.engine.db)
    .await
    .unwrap();
}

fn renewal_data(kind: &str) -> Value {
    json!({
        "kind": kind, "revenue": "52000000", "rd_expense": "2600000", "staff": 180,
        "annual_update_done": true, "summary": "认定期内新增发明专利 6 项，主营业务收入年均增长 12%。",
    })
}

async fn certs_of(app: &TestApp, token: &str, ent_id: &str, kind: &str) -> Vec<Value> {
    let r = app.get(&format!("/api/certifications?enterprise_id={ent_id}&kind={kind}"), token).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    r.body["items"].as_array().unwrap().clone()
}

/// Submits, approves in the district and returns the id (now in city review).
async fn to_city_review(app: &TestApp, ent: &str, district: &str, kind: &str) -> String {
    let view = app.create(ent, "renewal", renewal_data(kind)).await;
    let id = view["id"].as_str().unwrap().to_string();
    let r = app.act(ent, &id, "submit", json!({})).await;
    assert_eq!(r.body["state"], "district_review", "{:?}", r.body);
    let r = app.act(district, &id, "approve", json!({})).await;
    assert_eq!(r.body["state"], "city_review", "{:?}", r.body);
    id
}

dual_test!(an_srdi_holder_renews_for_three_years_from_the_old_end, |app: TestApp| async move {
    // Arrange: an SRDI SME whose recognition ends in 60 days; a design centre ending in 30.
    let (ent_id, ent) = app.register_enterprise("jurong").await;
    let district = app.staff(Role::Reviewer, Some("jurong")).await;
    let city = app.staff(Role::Reviewer, Some("city")).await;
    let old_end = app.clock.now() + Duration::days(60);
    insert_cert(&app, &ent_id, "srdi-sme", old_end, "imported").await;
    let design_end = app.clock.now() + Duration::days(30);
    insert_cert(&app, &ent_id, "design-center", design_end, "imported").await;

    // Act
    let id = to_city_review(&app, &ent, &district, "srdi-sme").await;
    // The approval for another kind is refused with its message.
    let r = act_en(&app, &city, &id, "renew_little_giant", json!({})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(messages(&r).contains("for another kind of recognition"), "{:?}", r.body);
    // The district reviewer cannot also decide at the city stage (four eyes).
    let r = app.act(&district, &id, "renew_srdi_sme", json!({})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = app.act(&city, &id, "renew_srdi_sme", json!({})).await;

    // Assert: 3 years on from the old end, still one certification; the applicant is told.
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["state"], "renewed_srdi_sme");
    assert_eq!(r.body["final"], true);
    let certs = certs_of(&app, &ent, &ent_id, "srdi-sme").await;
    assert_eq!(certs.len(), 1, "{certs:?}");
    assert_eq!(certs[0]["status"], "active");
    assert_eq!(time(&certs[0]["valid_until"]), old_end.checked_add_months(Months::new(36)).unwrap());
    assert_eq!(mail(&app, &id, "approved").await.len(), 1);

    // A design centre renews for 4 years (national centres, 93号).
    let id = to_city_review(&app, &ent, &district, "design-center").await;
    let r = app.act(&city, &id, "renew_design_center", json!({})).await;
    assert_eq!(r.body["state"], "renewed_design_center", "{:?}", r.body);
    let certs = certs_of(&app, &ent, &ent_id, "design-center").await;
    assert_eq!(time(&certs[0]["valid_until"]), design_end.checked_add_months(Months::new(48)).unwrap());
    // The SRDI certification was not touched by it.
    let certs = certs_of(&app, &ent, &ent_id, "srdi-sme").await;
    assert_eq!(time(&certs[0]["valid_until"]), old_end.checked_add_months(Months::new(36)).unwrap());
});

dual_test!(a_renewal_of_a_kind_never_held_or_without_the_annual_update_is_refused, |app: TestApp| async move {
    // Arrange: an SRDI SME (no little-giant title); an expired innovative-SME recognition.
    let (ent_id, ent) = app.register_enterprise("yangzhong").await;
    let district = app.staff(Role::Reviewer, Some("yangzhong")).await;
    let city = app.staff(Role::Reviewer, Some("city")).await;
    insert_cert(&app, &ent_id, "srdi-sme", app.clock.now() + Duration::days(80), "imported").await;
    insert_cert(&app, &ent_id, "innovative-sme", app.clock.now() - Duration::days(10), "imported").await;

    // Act / Assert: never held → refused with the message.
    let view = app.create(&ent, "renewal", renewal_data("little-giant")).await;
    let id = view["id"].as_str().unwrap();
    let r = act_en(&app, &ent, id, "submit", json!({})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let m = messages(&r);
    assert!(m.contains("never held this recognition"), "{m}");
    assert!(!m.contains("annual data update"), "{m}");
    let r = app.act(&ent, id, "submit", json!({})).await;
    assert!(messages(&r).contains("未曾获得该项认定"), "{:?}", r.body);

    // No annual data update → refused with that message.
    let mut data = renewal_data("srdi-sme");
    data["annual_update_done"] = json!(false);
    let view = app.create(&ent, "renewal", data).await;
    let id = view["id"].as_str().unwrap();
    let r = act_en(&app, &ent, id, "submit", json!({})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(messages(&r).contains("annual data update"), "{:?}", r.body);
    // Once declared, it goes; a second renewal of the same kind cannot be under review beside it.
    let r = app.patch(&format!("/api/applications/{id}"), &ent, json!({"data": {"annual_update_done": true}})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(app.act(&ent, id, "submit", json!({})).await.body["state"], "district_review");
    let second = app.create(&ent, "renewal", renewal_data("srdi-sme")).await;
    let r = act_en(&app, &ent, second["id"].as_str().unwrap(), "submit", json!({})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(messages(&r).contains("already under review"), "{:?}", r.body);

    // An expired recognition can still be renewed: it runs on from the day of approval.
    let id = to_city_review(&app, &ent, &district, "innovative-sme").await;
    let r = app.act(&city, &id, "renew_innovative_sme", json!({})).await;
    assert_eq!(r.body["state"], "renewed_innovative_sme", "{:?}", r.body);
    let certs = certs_of(&app, &ent, &ent_id, "innovative-sme").await;
    assert_eq!(certs[0]["status"], "active");
    assert_eq!(time(&certs[0]["valid_until"]), app.clock.now().checked_add_months(Months::new(36)).unwrap());
});

dual_test!(the_90_day_expiry_reminder_opens_a_renewal_for_the_enterprise, |app: TestApp| async move {
    // Arrange: an SRDI recognition ending in 80 days. The expiry mail names the recognition's
    // application, so the certification points at a real one of the enterprise.
    let (ent_id, ent) = app.register_enterprise("danyang").await;
    let original = app.create(&ent, "sample-recognition", good_sample()).await;
    let end = app.clock.now() + Duration::days(80);
    insert_cert(&app, &ent_id, "srdi-sme", end, original["id"].as_str().unwrap()).await;
    // A certification of a kind with no renewal in programme.yaml is only reminded of.
    insert_cert(&app, &ent_id, "first-set-equipment", end, original["id"].as_str().unwrap()).await;

    // Act
    let (expired, sent) = app.engine.sweep_certifications().await.unwrap();

    // Assert: one renewal, for SRDI, in the enterprise's drafts.
    assert_eq!((expired, sent), (0, 2));
    let list = app.get("/api/applications?workflow=renewal", &ent).await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(list.body["total"], 1, "{:?}", list.body);
    let item = &list.body["items"][0];
    assert_eq!(item["workflow"], "renewal");
    assert_eq!(item["enterprise_id"], ent_id.as_str());
    let id = item["id"].as_str().unwrap().to_string();
    let v = state_of(&app, &ent, &id).await;
    assert_eq!(v["state"], "draft");
    assert_eq!(v["data"]["kind"], "srdi-sme");
    assert_eq!(v["editable"], true);

    // The 30-day reminder does not open another one.
    app.advance(Duration::days(55));
    assert_eq!(app.engine.sweep_certifications().await.unwrap(), (0, 2));
    let ent = app.fresh(&ent).await;
    assert_eq!(app.get("/api/applications?workflow=renewal", &ent).await.body["total"], 1);

    // The enterprise completes the opened renewal and submits it.
    let r = app.patch(&format!("/api/applications/{id}"), &ent, json!({"data": renewal_data("srdi-sme")})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let r = app.act(&ent, &id, "submit", json!({})).await;
    assert_eq!(r.body["state"], "district_review", "{:?}", r.body);
});
