//! `editable: [key, …]`: a state that lets the applicant change only some fields. Shown on
//! `workflows/lenient-supervision.yaml`, whose `rectifying` state lets the enterprise write its
//! report and upload its evidence but not touch what the inspector recorded.

use certflow::domain::role::Role;
use reqwest::multipart::{Form, Part};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::dual_test;
use crate::helpers::{Backend, Resp, TestApp, act_en, definitions_with, spawn_app_with};
use crate::pages::Browser;

/// What the inspector records when opening the case.
fn case_data() -> Value {
    json!({
        "violation_kind": "fire-safety",
        "violation_item": "疏散通道堆放杂物",
        "legal_basis": "《中华人民共和国消防法》第二十八条",
        "inspection_date": "2026-03-01",
        "harm_level": "minor",
        "facts": "检查发现二号车间疏散通道堆放纸箱，未造成后果。",
        "evidence_reference": "ZJ-XF-2026-0301-07",
    })
}

/// A case in `rectifying` for a new enterprise of Jingkou: (case id, inspector, enterprise).
async fn rectifying_case(app: &TestApp) -> (String, String, String) {
    let (ent_id, ent) = app.register_enterprise("jingkou").await;
    let inspector = app.staff(Role::Inspector, Some("jingkou")).await;
    let r = app
        .post(
            "/api/applications",
            &inspector,
            json!({"workflow": "lenient-supervision", "enterprise_id": ent_id, "data": case_data()}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let id = r.body["id"].as_str().unwrap().to_string();
    let order = json!({"comment": "清理疏散通道。", "data": {"rectification_days": 15}});
    let r = app.act(&inspector, &id, "order_rectification", order).await;
    assert_eq!(r.body["state"], "rectifying", "{:?}", r.body);
    (id, inspector, ent)
}

/// `PATCH /api/applications/{id}` asking for English messages.
async fn patch_en(app: &TestApp, token: &str, id: &str, data: Value) -> Resp {
    let path = format!("/api/applications/{id}");
    app.request(Method::PATCH, &path, Some(token), Some(json!({"data": data})), &[("Accept-Language", "en")]).await
}

async fn upload(app: &TestApp, token: &str, id: &str, field: &str) -> Resp {
    let file = Part::bytes(b"%PDF-1.4 rectified".to_vec()).file_name("photos.pdf").mime_str("application/pdf").unwrap();
    let res = app
        .client
        .post(format!("{}/api/applications/{id}/attachments", app.address))
        .bearer_auth(token)
        .header("Accept-Language", "en")
        .multipart(Form::new().part(field.to_string(), file))
        .send()
        .await
        .unwrap();
    TestApp::read(res).await
}

/// The `(field, message)` pairs of a 422.
fn field_errors(r: &Resp) -> Vec<(String, String)> {
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", r.body);
    r.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["field"].as_str().unwrap().to_string(), e["message"].as_str().unwrap().to_string()))
        .collect()
}

dual_test!(the_enterprise_rectifying_may_change_only_the_listed_fields, |app: TestApp| async move {
    // Arrange
    let (id, inspector, ent) = rectifying_case(&app).await;

    // The view tells each caller what it may change.
    let v = app.get(&format!("/api/applications/{id}"), &ent).await;
    assert_eq!(v.body["editable"], true);
    assert_eq!(v.body["editable_fields"], json!(["rectification_report", "rectification_evidence"]));
    let v = app.get(&format!("/api/applications/{id}"), &inspector).await;
    assert_eq!(v.body["editable"], false);
    assert_eq!(v.body["editable_fields"], json!([]));

    // Act + assert: the report is saved.
    let r = patch_en(&app, &ent, &id, json!({"rectification_report": "通道已清理。"})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["data"]["rectification_report"], "通道已清理。");
    let version = r.body["version"].clone();

    // Changing the inspector's facts is refused, field by field, and nothing is stored.
    let r = patch_en(
        &app,
        &ent,
        &id,
        json!({"facts": "没有违法行为。", "harm_level": "none", "rectification_report": "改过的说明"}),
    )
    .await;
    let errors = field_errors(&r);
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(errors.contains(&("facts".into(), "Facts found cannot be changed in the current state".into())));
    assert!(errors.iter().any(|(f, _)| f == "harm_level"), "{errors:?}");
    let v = app.get(&format!("/api/applications/{id}"), &ent).await;
    assert_eq!(v.body["data"]["facts"], case_data()["facts"]);
    assert_eq!(v.body["data"]["harm_level"], "minor");
    assert_eq!(v.body["data"]["rectification_report"], "通道已清理。");
    assert_eq!(v.body["version"], version);

    // The whole form posted back with the inspector's values unchanged is accepted; only the
    // report is recorded as changed.
    let mut whole = case_data();
    whole["rectification_report"] = json!("通道已清理，并建立每日巡查。");
    whole["rectification_days"] = json!("15");
    whole["education_record"] = json!("");
    let r = patch_en(&app, &ent, &id, whole).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["data"]["rectification_report"], "通道已清理，并建立每日巡查。");
    let last = r.body["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["action"], "save");
    assert_eq!(last["data"], json!({"rectification_report": "通道已清理，并建立每日巡查。"}), "{last:?}");

    // The evidence may be uploaded.
    let up = upload(&app, &ent, &id, "rectification_evidence").await;
    assert_eq!(up.status, StatusCode::CREATED, "{:?}", up.body);

    // An action's data obeys the same rule: the report, yes; the harm, no.
    let r = act_en(
        &app,
        &ent,
        &id,
        "report_rectification",
        json!({"data": {"rectification_report": "已整改。", "harm_level": "none"}}),
    )
    .await;
    assert_eq!(field_errors(&r)[0].0, "harm_level");
    let r =
        act_en(&app, &ent, &id, "report_rectification", json!({"data": {"rectification_report": "已整改。"}})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["state"], "verification");
    assert_eq!(r.body["data"]["harm_level"], "minor");
    assert_eq!(r.body["editable_fields"], json!([]), "nothing is editable in verification");
});

async fn an_upload_into_a_field_not_listed_is_refused(backend: Backend) {
    // Arrange: a variant where the evidence may not be uploaded while rectifying.
    let defs = definitions_with(&[(
        "lenient-supervision.yaml",
        "editable: [rectification_report, rectification_evidence]",
        "editable: [rectification_report]",
    )]);
    let app = spawn_app_with(backend, defs.path()).await;
    let (id, _, ent) = rectifying_case(&app).await;

    // Act
    let r = upload(&app, &ent, &id, "rectification_evidence").await;

    // Assert
    assert_eq!(
        field_errors(&r),
        vec![(
            "rectification_evidence".into(),
            "Evidence of the rectification cannot be changed in the current state".into()
        )]
    );
    let v = app.get(&format!("/api/applications/{id}"), &ent).await;
    assert!(v.body["attachments"].as_array().unwrap().is_empty(), "{:?}", v.body["attachments"]);
    assert!(v.body["data"]["rectification_evidence"].is_null());
}

#[tokio::test]
async fn an_upload_into_a_field_not_listed_is_refused_sqlite() {
    an_upload_into_a_field_not_listed_is_refused(Backend::Sqlite).await;
}

#[tokio::test]
#[cfg_attr(not(pg_tests), ignore = "PostgreSQL run skipped: set CERTFLOW_TEST_POSTGRES_URL to run it")]
async fn an_upload_into_a_field_not_listed_is_refused_postgres() {
    an_upload_into_a_field_not_listed_is_refused(Backend::Postgres).await;
}

dual_test!(the_case_page_shows_the_inspectors_fields_read_only_while_rectifying, |app: TestApp| async move {
    // Arrange
    let (id, _, ent) = rectifying_case(&app).await;
    let eb = Browser::signed_in(&app, &ent).await;
    let page = format!("/applications/{id}");

    // Act
    let html = eb.html(&format!("{page}?lang=zh-CN")).await;

    // Assert: the facts are text, the report an input (of the report's action), the evidence an
    // upload; nothing else can be typed in, so there is no draft to save.
    assert!(
        html.contains("<p id=\"f-facts\" class=\"readonly\">检查发现二号车间疏散通道堆放纸箱，未造成后果。</p>"),
        "{html}"
    );
    assert!(html.contains("<p id=\"f-harm_level\" class=\"readonly\">危害后果轻微</p>"), "{html}");
    assert!(!html.contains("name=\"facts\""), "{html}");
    assert!(!html.contains("name=\"violation_kind\""), "{html}");
    assert!(
        html.contains("id=\"a-report_rectification-rectification_report\" name=\"rectification_report\""),
        "{html}"
    );
    assert!(html.contains("id=\"u-rectification_evidence\""), "{html}");
    assert!(!html.contains(&format!("action=\"{page}/save\"")), "{html}");

    // A forged save of the facts changes nothing.
    let csrf = crate::pages::csrf_of(&html);
    let r = eb.post(&format!("{page}/save"), &[("csrf", csrf.as_str()), ("facts", "没有违法行为。")]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let v = app.get(&format!("/api/applications/{id}"), &ent).await;
    assert_eq!(v.body["data"]["facts"], case_data()["facts"]);
});

async fn a_listed_field_is_an_input_of_the_draft_form(backend: Backend) {
    // Arrange: a variant where the enterprise may also correct the provision cited.
    let defs = definitions_with(&[(
        "lenient-supervision.yaml",
        "editable: [rectification_report, rectification_evidence]",
        "editable: [rectification_report, rectification_evidence, legal_basis]",
    )]);
    let app = spawn_app_with(backend, defs.path()).await;
    let (id, _, ent) = rectifying_case(&app).await;
    let eb = Browser::signed_in(&app, &ent).await;
    let page = format!("/applications/{id}");

    // Act
    let html = eb.html(&page).await;

    // Assert: the draft form has that one input; the facts stay text.
    assert!(html.contains(&format!("action=\"{page}/save\"")), "{html}");
    assert!(html.contains("id=\"f-legal_basis\" name=\"legal_basis\""), "{html}");
    assert!(html.contains("<p id=\"f-facts\" class=\"readonly\">"), "{html}");
    assert!(!html.contains("name=\"facts\""), "{html}");
    let csrf = crate::pages::csrf_of(&html);
    let form = [("csrf", csrf.as_str()), ("legal_basis", "《消防法》第二十八条第一款"), ("facts", "没有违法行为。")];
    let r = eb.post(&format!("{page}/save"), &form).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let v = app.get(&format!("/api/applications/{id}"), &ent).await;
    assert_eq!(v.body["data"]["legal_basis"], "《消防法》第二十八条第一款");
    assert_eq!(v.body["data"]["facts"], case_data()["facts"], "only the editable field is sent");
}

#[tokio::test]
async fn a_listed_field_is_an_input_of_the_draft_form_sqlite() {
    a_listed_field_is_an_input_of_the_draft_form(Backend::Sqlite).await;
}

#[tokio::test]
#[cfg_attr(not(pg_tests), ignore = "PostgreSQL run skipped: set CERTFLOW_TEST_POSTGRES_URL to run it")]
async fn a_listed_field_is_an_input_of_the_draft_form_postgres() {
    a_listed_field_is_an_input_of_the_draft_form(Backend::Postgres).await;
}
