//! The enterprise's pages: registration, the remembered language, uploads, what blocks a
//! submission, the printable application, and the certifications held on the start page.

use certflow::domain::role::Role;
use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use serde_json::json;

use crate::dual_test;
use crate::helpers::{PASSWORD, TestApp, email_of, good_sample, seed_certification, start_time};
use crate::pages::{Browser, csrf_of};

/// Fills in the registration form (with the token of the form just fetched).
async fn register(b: &Browser, name: &str, uscc: &str, email: &str) -> reqwest::Response {
    let csrf = csrf_of(&b.html("/register").await);
    let form = [
        ("csrf", csrf.as_str()),
        ("name", name),
        ("uscc", uscc),
        ("district", "jingkou"),
        ("user_name", "张三"),
        ("email", email),
        ("password", PASSWORD),
    ];
    b.post("/register", &form).await
}

/// Posts the upload form of a file field.
async fn upload(b: &Browser, id: &str, field: &str, filename: &str, mime: &str, bytes: &[u8]) -> reqwest::Response {
    let csrf = csrf_of(&b.html(&format!("/applications/{id}")).await);
    let part = Part::bytes(bytes.to_vec()).file_name(filename.to_string()).mime_str(mime).unwrap();
    let form = Form::new().text("csrf", csrf).text("field", field.to_string()).part("file", part);
    b.c.post(format!("{}/applications/{id}/attachments", b.base)).multipart(form).send().await.unwrap()
}

dual_test!(an_enterprise_registers_on_the_page_and_is_signed_in, |app: TestApp| async move {
    // Arrange
    let b = Browser::new(&app);
    let form = b.html("/register").await;
    assert!(form.contains("id=\"f-uscc\"") && form.contains("value=\"jingkou\""), "districts offered");
    assert!(b.html("/login").await.contains("href=\"/register\""), "linked from the sign-in page");

    // Act
    let r = register(&b, "镇江测试科技有限公司", &app.new_uscc(), "boss@newfirm.cn").await;

    // Assert
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(Browser::location(&r), "/");
    let home = b.html("/").await;
    assert!(home.contains("/logout") && home.contains("张三"), "signed in");
    assert!(home.contains("/applications/new"), "as the enterprise");
});

dual_test!(a_wrong_uscc_is_shown_beside_its_field_and_the_typed_values_stay, |app: TestApp| async move {
    // Arrange
    let b = Browser::new(&app);
    let good = app.new_uscc();
    let last = good.chars().last().unwrap();
    let wrong = format!("{}{}", &good[..17], if last == '0' { '1' } else { '0' });

    // Act
    let r = register(&b, "输错代码的企业", &wrong, "typo@firm.cn").await;

    // Assert
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(html.contains("href=\"#f-uscc\""), "the summary links to the field");
    assert!(html.contains("<p class=\"msg\" id=\"e-uscc\">统一社会信用代码无效"), "{html}");
    assert!(html.contains("value=\"输错代码的企业\""), "the typed name is kept");
    assert!(html.contains(&format!("value=\"{wrong}\"")), "the typed code is kept");
    assert!(!html.contains(PASSWORD), "never the password");
});

dual_test!(registration_without_the_form_token_is_refused, |app: TestApp| async move {
    let b = Browser::new(&app);
    let _ = b.html("/register").await;
    let form = [("name", "无令牌"), ("uscc", "914403001922038216"), ("district", "jingkou")];
    let r = b.post("/register", &form).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
});

dual_test!(the_language_chosen_is_remembered_across_sign_ins, |app: TestApp| async move {
    // Arrange
    let (_, ent) = app.register_enterprise("jingkou").await;
    let b = Browser::signed_in(&app, &ent).await;
    assert!(b.html("/").await.contains("<html lang=\"zh-CN\">"));

    // Act: switch to English, sign out, sign in from another browser.
    assert!(b.html("/?lang=en").await.contains("<html lang=\"en\">"));
    let csrf = b.csrf().await;
    assert_eq!(b.post("/logout", &[("csrf", &csrf)]).await.status(), StatusCode::SEE_OTHER);
    let other = Browser::new(&app);
    let r = other.sign_in(&email_of(&app, &ent).await).await;

    // Assert
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(other.html("/").await.contains("<html lang=\"en\">"));
    assert_eq!(app.get("/api/me", &ent).await.body["lang"], "en");
    // The API sets it the same way.
    let r = app.patch("/api/me", &ent, json!({"lang": "zh-CN"})).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["lang"], "zh-CN");
    let third = Browser::new(&app);
    third.sign_in(&email_of(&app, &ent).await).await;
    assert!(third.html("/").await.contains("<html lang=\"zh-CN\">"));
});

dual_test!(a_file_uploaded_on_the_page_is_listed_and_a_wrong_type_is_refused, |app: TestApp| async move {
    // Arrange
    let (_, ent) = app.register_enterprise("jingkou").await;
    let id = app.create(&ent, "sample-recognition", good_sample()).await["id"].as_str().unwrap().to_string();
    let b = Browser::signed_in(&app, &ent).await;
    let page = b.html(&format!("/applications/{id}")).await;
    assert!(page.contains("enctype=\"multipart/form-data\"") && page.contains("id=\"u-evidence\""));

    // Act
    let r = upload(&b, &id, "evidence", "审计报告.pdf", "application/pdf", b"%PDF-1.4 small").await;

    // Assert
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let page = b.html(&format!("/applications/{id}")).await;
    assert!(page.contains("审计报告.pdf"), "the file is listed");
    let re = regex::Regex::new(r#"href="(/attachments/[0-9a-f-]+)""#).unwrap();
    let link = re.captures(&page).map(|c| c[1].to_string()).expect("a download link");
    let r = b.get(&link).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.bytes().await.unwrap().as_ref(), b"%PDF-1.4 small");
    // Another enterprise cannot download it.
    let (_, other) = app.register_enterprise("jingkou").await;
    assert_eq!(Browser::signed_in(&app, &other).await.get(&link).await.status(), StatusCode::NOT_FOUND);

    // A wrong type is refused beside the field.
    let r = upload(&b, &id, "evidence", "tool.exe", "application/x-msdownload", b"MZ").await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(html.contains("href=\"#f-evidence\""), "{html}");
    assert!(html.contains("<p class=\"msg\">只接受以下类型"), "{html}");
    // Without the form token nothing is stored.
    let part = Part::bytes(b"%PDF".to_vec()).file_name("x.pdf").mime_str("application/pdf").unwrap();
    let form = Form::new().text("field", "evidence").part("file", part);
    let r = b.c.post(format!("{}/applications/{id}/attachments", b.base)).multipart(form).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
});

dual_test!(what_blocks_the_submission_is_shown_before_submitting, |app: TestApp| async move {
    // Arrange: required fields missing, and too many employees for the eligibility rules.
    let (_, ent) = app.register_enterprise("jingkou").await;
    let mut data = good_sample();
    data.as_object_mut().unwrap().remove("contact");
    data["staff"] = json!(2000);
    let id = app.create(&ent, "sample-recognition", data).await["id"].as_str().unwrap().to_string();
    let b = Browser::signed_in(&app, &ent).await;

    // Act
    let html = b.html(&format!("/applications/{id}")).await;

    // Assert
    assert!(html.contains("class=\"blockers\""), "{html}");
    assert!(html.contains("href=\"#f-contact\">请填写“联系电话”"), "missing field named");
    assert!(html.contains("职工人数须在 1000 人以下"), "eligibility rule named");
    // Nothing changed: still a draft, and submitting is refused for the same reasons.
    let r = app.act(&ent, &id, "submit", json!({})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    // A complete, eligible application shows no blockers.
    let ok = app.create(&ent, "sample-recognition", good_sample()).await["id"].as_str().unwrap().to_string();
    assert!(!b.html(&format!("/applications/{ok}")).await.contains("class=\"blockers\""));
});

dual_test!(the_printable_page_is_for_those_who_may_see_the_application, |app: TestApp| async move {
    // Arrange
    let (_, ent) = app.register_enterprise("jingkou").await;
    let view = app.create(&ent, "sample-recognition", good_sample()).await;
    let id = view["id"].as_str().unwrap();
    let b = Browser::signed_in(&app, &ent).await;
    assert!(b.html(&format!("/applications/{id}")).await.contains(&format!("href=\"/applications/{id}/print\"")));

    // Act
    let html = b.html(&format!("/applications/{id}/print")).await;

    // Assert
    assert!(html.contains(view["number"].as_str().unwrap()));
    assert!(html.contains("0511-1234567"), "form data");
    assert!(html.contains("<strong>40</strong>"), "score");
    assert!(!html.contains("<nav") && !html.contains("<form"), "no navigation or forms");
    let (_, other) = app.register_enterprise("jingkou").await;
    let ob = Browser::signed_in(&app, &other).await;
    assert_eq!(ob.get(&format!("/applications/{id}/print")).await.status(), StatusCode::NOT_FOUND);
});

dual_test!(the_start_page_lists_the_certifications_held, |app: TestApp| async move {
    // Arrange
    let (ent_id, ent) = app.register_enterprise("jingkou").await;
    let until = start_time() + chrono::Duration::days(400);
    seed_certification(&app, &ent_id, "sample-recognition", "active", until).await;
    let (other_id, _) = app.register_enterprise("jingkou").await;
    seed_certification(&app, &other_id, "sample-renewal", "active", until).await;
    let b = Browser::signed_in(&app, &ent).await;

    // Act
    let home = b.html("/").await;

    // Assert
    let held = home.split("id=\"certifications\"").nth(1).expect("the certifications section");
    assert!(held.contains("示例认定流程"), "{held}");
    let cst = chrono::FixedOffset::east_opt(8 * 3600).unwrap();
    assert!(held.contains(&until.with_timezone(&cst).format("%Y-%m-%d").to_string()), "expiry date");
    assert!(!held.contains("示例认定复核"), "not another enterprise's");
});

dual_test!(the_panel_votes_so_far_show_who_voted_and_how_many_are_needed, |app: TestApp| async move {
    // Arrange: an application at the expert panel, one expert has agreed.
    let (_, ent) = app.register_enterprise("jingkou").await;
    let id = app.create(&ent, "sample-recognition", good_sample()).await["id"].as_str().unwrap().to_string();
    assert_eq!(app.act(&ent, &id, "submit", json!({})).await.status, StatusCode::OK);
    for reviewer in [app.staff(Role::Reviewer, Some("jingkou")).await, app.staff(Role::Reviewer, Some("city")).await] {
        assert_eq!(app.act(&reviewer, &id, "approve", json!({})).await.status, StatusCode::OK);
    }
    let expert = app.staff(Role::Expert, Some("province")).await;
    assert_eq!(app.act(&expert, &id, "approve", json!({"comment": "材料齐全"})).await.status, StatusCode::OK);
    let expert_name = app.get("/api/me", &expert).await.body["name"].as_str().unwrap().to_string();
    let b = Browser::signed_in(&app, &ent).await;

    // Act
    let html = b.html(&format!("/applications/{id}")).await;

    // Assert
    assert!(html.contains("class=\"card votes\""), "{html}");
    assert!(html.contains("同意：1 票，需 2 票"), "{html}");
    assert!(html.contains(&expert_name) && html.contains("材料齐全"), "who voted what");
});

dual_test!(a_rectification_case_shows_on_the_start_page_with_its_deadline, |app: TestApp| async move {
    // Arrange: an inspector orders a rectification of 15 days.
    let (ent_id, ent) = app.register_enterprise("jingkou").await;
    let inspector = app.staff(Role::Inspector, Some("jingkou")).await;
    let data = json!({
        "violation_kind": "fire-safety", "violation_item": "疏散通道堆放杂物", "inspection_date": "2026-03-01",
        "harm_level": "minor", "facts": "疏散通道堆放纸箱。", "evidence_reference": "ZJ-XF-2026-0301-07",
    });
    let r = app
        .post(
            "/api/applications",
            &inspector,
            json!({"workflow": "lenient-supervision", "enterprise_id": ent_id, "data": data}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let id = r.body["id"].as_str().unwrap().to_string();
    let r = app
        .act(&inspector, &id, "order_rectification", json!({"comment": "限期清理", "data": {"rectification_days": 15}}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let due = r.body["due_at"].as_str().unwrap().to_string();
    let b = Browser::signed_in(&app, &ent).await;

    // Act
    let home = b.html("/").await;

    // Assert
    let cases = home.split("id=\"cases\"").nth(1).expect("the cases section");
    let cases = cases.split("id=\"certifications\"").next().unwrap();
    assert!(cases.contains(&id), "{cases}");
    let due = chrono::DateTime::parse_from_rfc3339(&due).unwrap();
    let cst = chrono::FixedOffset::east_opt(8 * 3600).unwrap();
    assert!(cases.contains(&due.with_timezone(&cst).format("%Y-%m-%d %H:%M").to_string()), "{cases}");
});
