//! Attachments for `file` fields: uploads are checked for field, size, type and state, stored
//! with their SHA-256, linked from the form, and downloadable by whoever may see the application.

use certflow::domain::role::Role;
use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::dual_test;
use crate::helpers::{Resp, TestApp, good_sample};

/// Uploads one part named `field` to an application.
async fn upload(
    app: &TestApp,
    token: &str,
    app_id: &str,
    field: &str,
    filename: &str,
    content_type: &str,
    bytes: Vec<u8>,
) -> Resp {
    let part = Part::bytes(bytes).file_name(filename.to_string()).mime_str(content_type).expect("a valid MIME type");
    let form = Form::new().part(field.to_string(), part);
    let res = app
        .client
        .post(format!("{}/api/applications/{app_id}/attachments", app.address))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .expect("request sent");
    TestApp::read(res).await
}

/// Downloads an attachment: status, content type and the raw bytes.
async fn download(app: &TestApp, token: &str, id: &str) -> (StatusCode, String, Vec<u8>) {
    let res = app
        .client
        .get(format!("{}/api/attachments/{id}", app.address))
        .bearer_auth(token)
        .send()
        .await
        .expect("request sent");
    let status = res.status();
    let ct = res.headers().get("content-type").and_then(|h| h.to_str().ok()).unwrap_or("").to_string();
    (status, ct, res.bytes().await.expect("body").to_vec())
}

/// A small "PDF" with every byte value in it, so that nothing may be lost as text.
fn pdf_bytes() -> Vec<u8> {
    let mut b = b"%PDF-1.4\n".to_vec();
    b.extend((0..=255u8).cycle().take(3000));
    b
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

async fn draft(app: &TestApp, token: &str) -> String {
    let view = app.create(token, "sample-recognition", good_sample()).await;
    view["id"].as_str().unwrap().to_string()
}

fn assert_problem(r: &Resp, status: StatusCode) {
    assert_eq!(r.status, status, "{:?}", r.body);
    assert!(r.content_type.starts_with("application/problem+json"), "{}", r.content_type);
    assert_eq!(r.body["status"], status.as_u16(), "{:?}", r.body);
}

fn error_fields(r: &Resp) -> Vec<String> {
    r.body["errors"]
        .as_array()
        .map_or_else(Vec::new, |a| a.iter().map(|e| e["field"].as_str().unwrap_or("").to_string()).collect())
}

dual_test!(an_upload_is_stored_linked_and_downloadable_by_those_who_may_see_it, |app: TestApp| async move {
    // Arrange
    let (_, ent) = app.register_enterprise("jingkou").await;
    let (_, other_ent) = app.register_enterprise("jingkou").await;
    let district = app.staff(Role::Reviewer, Some("jingkou")).await;
    let elsewhere = app.staff(Role::Reviewer, Some("danyang")).await;
    let id = draft(&app, &ent).await;
    let bytes = pdf_bytes();

    // Act
    let r = upload(&app, &ent, &id, "evidence", "audit-2025.pdf", "application/pdf", bytes.clone()).await;

    // Assert: the answer
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let att = r.body["id"].as_str().expect("an attachment id").to_string();
    assert_eq!(r.body["sha256"], sha256_hex(&bytes));
    assert_eq!(r.body["size"], bytes.len());
    assert_eq!(r.body["field"], "evidence");
    assert_eq!(r.body["filename"], "audit-2025.pdf");
    // The form points at it and the view lists it.
    let v = app.get(&format!("/api/applications/{id}"), &ent).await;
    assert_eq!(v.status, StatusCode::OK);
    assert_eq!(v.body["data"]["evidence"], att.as_str());
    let listed: Vec<Value> = v.body["attachments"].as_array().unwrap().clone();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["id"], att.as_str());
    assert_eq!(listed[0]["field"], "evidence");
    assert_eq!(listed[0]["sha256"], sha256_hex(&bytes));
    assert_eq!(listed[0]["size"], bytes.len());
    // The upload is in the history, with the hash of the file.
    let last = v.body["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["action"], "upload");
    // The owner and the district's reviewer get the same bytes back.
    for token in [&ent, &district] {
        let (status, ct, got) = download(&app, token, &att).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(ct, "application/pdf");
        assert_eq!(got, bytes, "the stored file is returned byte for byte");
    }
    // Another enterprise and a reviewer of another district may not know it exists.
    for token in [&other_ent, &elsewhere] {
        let (status, _, _) = download(&app, token, &att).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
    let (status, _, _) = download(&app, &ent, "no-such-attachment").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // The enterprise can still submit with its evidence attached.
    let r = app.act(&ent, &id, "submit", json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["data"]["evidence"], att.as_str());
});

dual_test!(an_image_replaces_the_earlier_file_of_the_field, |app: TestApp| async move {
    let (_, ent) = app.register_enterprise("jingkou").await;
    let id = draft(&app, &ent).await;
    let first = upload(&app, &ent, &id, "evidence", "report.pdf", "application/pdf", pdf_bytes()).await;
    assert_eq!(first.status, StatusCode::CREATED, "{:?}", first.body);
    // `image/*` is accepted whatever the extension.
    let png = b"\x89PNG\r\n\x1a\nnot-really-a-png".to_vec();
    let second = upload(&app, &ent, &id, "evidence", "scan", "image/png", png.clone()).await;
    assert_eq!(second.status, StatusCode::CREATED, "{:?}", second.body);
    assert_eq!(second.body["sha256"], sha256_hex(&png));
    let v = app.get(&format!("/api/applications/{id}"), &ent).await;
    assert_eq!(v.body["data"]["evidence"], second.body["id"]);
    assert_eq!(v.body["attachments"].as_array().unwrap().len(), 2, "earlier uploads stay listed");
});

dual_test!(uploads_are_refused_too_large_wrong_type_wrong_field_or_after_submission, |app: TestApp| async move {
    let (_, ent) = app.register_enterprise("jingkou").await;
    let id = draft(&app, &ent).await;

    // Over the field's 5 MB.
    let big = vec![b'x'; 5 * 1024 * 1024 + 1];
    let r = upload(&app, &ent, &id, "evidence", "big.pdf", "application/pdf", big).await;
    assert_problem(&r, StatusCode::PAYLOAD_TOO_LARGE);
    // Exactly 5 MB is still accepted.
    let r = upload(&app, &ent, &id, "evidence", "max.pdf", "application/pdf", vec![b'x'; 5 * 1024 * 1024]).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);

    // A type the field does not accept.
    let r = upload(&app, &ent, &id, "evidence", "virus.exe", "application/x-msdownload", b"MZ\x90\x00".to_vec()).await;
    assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_fields(&r), vec!["evidence"], "{:?}", r.body);

    // A field that is not a file field, and one the form does not have.
    let r = upload(&app, &ent, &id, "revenue", "report.pdf", "application/pdf", pdf_bytes()).await;
    assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_fields(&r), vec!["revenue"], "{:?}", r.body);
    let r = upload(&app, &ent, &id, "appendix", "report.pdf", "application/pdf", pdf_bytes()).await;
    assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_fields(&r), vec!["appendix"], "{:?}", r.body);

    // Only the applicant uploads; without a token nobody does.
    let district = app.staff(Role::Reviewer, Some("jingkou")).await;
    let r = upload(&app, &district, &id, "evidence", "report.pdf", "application/pdf", pdf_bytes()).await;
    assert_problem(&r, StatusCode::FORBIDDEN);
    let (_, stranger) = app.register_enterprise("jingkou").await;
    let r = upload(&app, &stranger, &id, "evidence", "report.pdf", "application/pdf", pdf_bytes()).await;
    assert_problem(&r, StatusCode::NOT_FOUND);
    let res =
        app.client
            .post(format!("{}/api/applications/{id}/attachments", app.address))
            .multipart(Form::new().part(
                "evidence",
                Part::bytes(pdf_bytes()).file_name("report.pdf").mime_str("application/pdf").unwrap(),
            ))
            .send()
            .await
            .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

    // An empty file.
    let r = upload(&app, &ent, &id, "evidence", "empty.pdf", "application/pdf", Vec::new()).await;
    assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY);

    // None of the refused uploads left a trace.
    let v = app.get(&format!("/api/applications/{id}"), &ent).await;
    assert_eq!(v.body["attachments"].as_array().unwrap().len(), 1, "{:?}", v.body["attachments"]);
    let uploads = v.body["history"].as_array().unwrap().iter().filter(|h| h["action"] == "upload").count();
    assert_eq!(uploads, 1);

    // Once submitted the application is not editable: 409.
    let r = app.act(&ent, &id, "submit", json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let r = upload(&app, &ent, &id, "evidence", "late.pdf", "application/pdf", pdf_bytes()).await;
    assert_problem(&r, StatusCode::CONFLICT);
});

dual_test!(a_file_field_may_only_name_an_attachment_of_its_own_application, |app: TestApp| async move {
    let (_, ent) = app.register_enterprise("jingkou").await;
    let first = draft(&app, &ent).await;
    let second = draft(&app, &ent).await;
    let theirs = upload(&app, &ent, &second, "evidence", "second.pdf", "application/pdf", pdf_bytes()).await;
    assert_eq!(theirs.status, StatusCode::CREATED, "{:?}", theirs.body);
    let theirs = theirs.body["id"].as_str().unwrap().to_string();
    let mine = upload(&app, &ent, &first, "evidence", "first.pdf", "application/pdf", pdf_bytes()).await;
    assert_eq!(mine.status, StatusCode::CREATED, "{:?}", mine.body);
    let mine = mine.body["id"].as_str().unwrap().to_string();

    // Another application's attachment, even of the same enterprise.
    let r = app.patch(&format!("/api/applications/{first}"), &ent, json!({"data": {"evidence": theirs}})).await;
    assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_fields(&r), vec!["evidence"], "{:?}", r.body);
    // An id that is no attachment at all.
    let r = app.patch(&format!("/api/applications/{first}"), &ent, json!({"data": {"evidence": "made-up"}})).await;
    assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY);
    let v = app.get(&format!("/api/applications/{first}"), &ent).await;
    assert_eq!(v.body["data"]["evidence"], mine.as_str(), "the refused patches changed nothing");

    // Its own attachment is fine.
    let r = app.patch(&format!("/api/applications/{first}"), &ent, json!({"data": {"evidence": mine}})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    // And so is an action's data naming one: the same check applies.
    let r = app.act(&ent, &first, "submit", json!({"data": {"evidence": theirs}})).await;
    assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY);
});

dual_test!(a_chinese_file_name_survives_the_round_trip, |app: TestApp| async move {
    let (_, ent) = app.register_enterprise("jingkou").await;
    let id = draft(&app, &ent).await;
    let r = upload(&app, &ent, &id, "evidence", "2025年度审计报告.pdf", "application/pdf", pdf_bytes()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(r.body["filename"], "2025年度审计报告.pdf");
    let att = r.body["id"].as_str().unwrap().to_string();
    let res = app
        .client
        .get(format!("{}/api/attachments/{att}", app.address))
        .bearer_auth(&ent)
        .send()
        .await
        .expect("request sent");
    assert_eq!(res.status(), StatusCode::OK);
    let cd = res
        .headers()
        .get("content-disposition")
        .map(|h| String::from_utf8_lossy(h.as_bytes()).to_string())
        .unwrap_or_default();
    assert!(cd.starts_with("attachment"), "{cd}");
    assert_eq!(res.bytes().await.unwrap().to_vec(), pdf_bytes());
});
