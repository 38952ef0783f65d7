//! The audit log: every application's history is a hash chain; `GET /api/audit/verify` walks
//! them all and names the first entry that was edited, removed or unlinked in the database.

use certflow::domain::role::Role;
use certflow::storage::entities::history;
use reqwest::StatusCode;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

use crate::dual_test;
use crate::helpers::{TestApp, good_sample};

/// Two applications with some history: one created, submitted, returned, corrected and
/// resubmitted (5 entries), one created and withdrawn (2 entries). Returns their views.
async fn some_history(app: &TestApp) -> (Value, Value) {
    let (_, ent) = app.register_enterprise("jingkou").await;
    let district = app.staff(Role::Reviewer, Some("jingkou")).await;
    let first = app.create(&ent, "sample-recognition", good_sample()).await;
    let id = first["id"].as_str().unwrap().to_string();
    assert_eq!(app.act(&ent, &id, "submit", json!({})).await.status, StatusCode::OK);
    let r = app.act(&district, &id, "return", json!({"comment": "请补充研发费用明细"})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let r = app.patch(&format!("/api/applications/{id}"), &ent, json!({"data": {"rd_expense": "60000"}})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(app.act(&ent, &id, "submit", json!({})).await.status, StatusCode::OK);
    // A second later, so that the applications are checked in a known order.
    app.advance(chrono::Duration::seconds(1));
    let second = app.create(&ent, "sample-recognition", good_sample()).await;
    let id2 = second["id"].as_str().unwrap().to_string();
    assert_eq!(app.act(&ent, &id2, "withdraw", json!({})).await.status, StatusCode::OK);
    let first = app.get(&format!("/api/applications/{id}"), &ent).await.body;
    let second = app.get(&format!("/api/applications/{id2}"), &ent).await.body;
    assert_eq!(first["history"].as_array().unwrap().len(), 5, "{:?}", first["history"]);
    assert_eq!(second["history"].as_array().unwrap().len(), 2, "{:?}", second["history"]);
    (first, second)
}

async fn verify(app: &TestApp) -> Value {
    let admin = app.login("admin@test.cn").await;
    let r = app.get("/api/audit/verify", &admin).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    r.body
}

fn id_of(view: &Value) -> String {
    view["id"].as_str().unwrap().to_string()
}

async fn delete_entry(app: &TestApp, application_id: &str, seq: i32) {
    let res = history::Entity::delete_many()
        .filter(history::Column::ApplicationId.eq(application_id))
        .filter(history::Column::Seq.eq(seq))
        .exec(&app.engine.db)
        .await
        .expect("delete");
    assert_eq!(res.rows_affected, 1);
}

dual_test!(an_untouched_log_verifies_and_only_admins_and_auditors_may_ask, |app: TestApp| async move {
    // Arrange
    let (first, second) = some_history(&app).await;
    let total = history::Entity::find().count(&app.engine.db).await.unwrap();
    assert_eq!(total, 7, "every change wrote one entry");

    // Act
    let report = verify(&app).await;

    // Assert
    assert_eq!(report["ok"], true, "{report:?}");
    assert_eq!(report["entries"], total);
    assert_eq!(
        report["entries"].as_u64().unwrap() as usize,
        first["history"].as_array().unwrap().len() + second["history"].as_array().unwrap().len()
    );
    assert_eq!(report["applications"], 2);
    assert_eq!(report["first_bad"], Value::Null);
    // An auditor may verify; an enterprise and a reviewer may not.
    let auditor = app.staff(Role::Auditor, None).await;
    let r = app.get("/api/audit/verify", &auditor).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["ok"], true);
    let (_, ent) = app.register_enterprise("jingkou").await;
    let reviewer = app.staff(Role::Reviewer, Some("jingkou")).await;
    for token in [&ent, &reviewer] {
        let r = app.get("/api/audit/verify", token).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{:?}", r.body);
        assert!(r.content_type.starts_with("application/problem+json"), "{}", r.content_type);
    }
    let r = app.request(reqwest::Method::GET, "/api/audit/verify", None, None, &[]).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
});

dual_test!(an_edited_entry_is_found, |app: TestApp| async move {
    let (first, _) = some_history(&app).await;
    let id = id_of(&first);
    // Entry 3 is the district's return, with its comment.
    assert_eq!(first["history"][2]["action"], "return");
    assert_eq!(first["history"][2]["seq"], 3);

    // Act: someone with database access softens the reviewer's comment.
    let res = history::Entity::update_many()
        .col_expr(history::Column::Comment, Expr::value("资料齐全"))
        .filter(history::Column::ApplicationId.eq(&id))
        .filter(history::Column::Seq.eq(3))
        .exec(&app.engine.db)
        .await
        .expect("update");
    assert_eq!(res.rows_affected, 1);

    // Assert
    let report = verify(&app).await;
    assert_eq!(report["ok"], false, "{report:?}");
    let bad = &report["first_bad"];
    assert_eq!(bad["application_id"], id.as_str());
    assert_eq!(bad["number"], first["number"]);
    assert_eq!(bad["seq"], 3);
    assert!(bad["reason"].as_str().unwrap().contains("altered"), "{bad:?}");
});

dual_test!(a_removed_last_entry_is_found, |app: TestApp| async move {
    let (first, second) = some_history(&app).await;
    let id = id_of(&first);

    // Act: the final resubmission disappears.
    delete_entry(&app, &id, 5).await;

    // Assert: the chain up to 4 is intact, but the application row remembers a later head.
    let report = verify(&app).await;
    assert_eq!(report["ok"], false, "{report:?}");
    let bad = &report["first_bad"];
    assert_eq!(bad["application_id"], id.as_str());
    assert_eq!(bad["seq"], 4);
    assert!(bad["reason"].as_str().unwrap().contains("removed"), "{bad:?}");

    // The other application is not blamed.
    assert_ne!(bad["application_id"], id_of(&second).as_str());
});

dual_test!(a_removed_middle_entry_is_found, |app: TestApp| async move {
    let (first, _) = some_history(&app).await;
    let id = id_of(&first);

    // Act: the return for revision is removed, as if the application had gone straight through.
    delete_entry(&app, &id, 3).await;

    // Assert
    let report = verify(&app).await;
    assert_eq!(report["ok"], false, "{report:?}");
    let bad = &report["first_bad"];
    assert_eq!(bad["application_id"], id.as_str());
    assert_eq!(bad["seq"], 3);
    assert!(bad["reason"].as_str().unwrap().contains("missing"), "{bad:?}");
});

dual_test!(a_removed_first_entry_and_a_broken_link_are_found, |app: TestApp| async move {
    let (first, second) = some_history(&app).await;
    let id = id_of(&first);
    let id2 = id_of(&second);

    // The second application's link from entry 2 to entry 1 is rewritten.
    let res = history::Entity::update_many()
        .col_expr(history::Column::PrevHash, Expr::value("0".repeat(64)))
        .filter(history::Column::ApplicationId.eq(&id2))
        .filter(history::Column::Seq.eq(2))
        .exec(&app.engine.db)
        .await
        .expect("update");
    assert_eq!(res.rows_affected, 1);
    let report = verify(&app).await;
    assert_eq!(report["ok"], false, "{report:?}");
    assert_eq!(report["first_bad"]["application_id"], id2.as_str());
    assert_eq!(report["first_bad"]["seq"], 2);
    assert!(report["first_bad"]["reason"].as_str().unwrap().contains("link"), "{report:?}");

    // The first application's creation is removed: reported before the second application.
    delete_entry(&app, &id, 1).await;
    let report = verify(&app).await;
    assert_eq!(report["first_bad"]["application_id"], id.as_str(), "{report:?}");
    assert_eq!(report["first_bad"]["seq"], 1);
    assert!(report["first_bad"]["reason"].as_str().unwrap().contains("missing"), "{report:?}");
});
