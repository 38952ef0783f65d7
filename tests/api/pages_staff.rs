//! The staff pages: finance's disbursement queue with the budgets, the inspector's cases (opened,
//! ordered and followed through the pages), and the enterprise directory.

use certflow::domain::role::Role;
use reqwest::StatusCode;
use serde_json::json;

use crate::dual_test;
use crate::helpers::{TestApp, good_sample};
use crate::pages::Browser;

/// Takes a sample application of an enterprise to recognition; returns the reward's id.
async fn recognised_reward(app: &TestApp, ent: &str, district: &str) -> String {
    let staff = [
        app.staff(Role::Reviewer, Some(district)).await,
        app.staff(Role::Reviewer, Some("city")).await,
        app.staff(Role::Expert, Some("province")).await,
        app.staff(Role::Expert, Some("province")).await,
    ];
    let view = app.create(ent, "sample-recognition", good_sample()).await;
    let id = view["id"].as_str().unwrap().to_string();
    assert_eq!(app.act(ent, &id, "submit", json!({})).await.status, StatusCode::OK);
    for t in &staff {
        let r = app.act(t, &id, "approve", json!({})).await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    }
    app.advance(chrono::Duration::days(10));
    assert_eq!(app.sweep().await, 1);
    let admin = app.login("admin@test.cn").await;
    let v = app.get(&format!("/api/applications/{id}"), &admin).await;
    assert_eq!(v.body["state"], "recognised");
    v.body["children"][0]["id"].as_str().unwrap().to_string()
}

// The sample reward pays out of a budget, so the finance page lists it.
dual_test!(finance_pays_a_reward_through_the_queue, |app: TestApp| async move {
    // Arrange
    let finance = app.staff(Role::Finance, None).await;
    let (_, ent) = app.register_enterprise("jingkou").await;
    let reward = recognised_reward(&app, &ent, "jingkou").await;
    // The clock moved on past the tokens' lifetime.
    let (finance, ent) = (app.fresh(&finance).await, app.fresh(&ent).await);
    let fb = Browser::signed_in(&app, &finance).await;

    // The queue shows the reward with its amount, and the year's budget.
    let html = fb.html("/finance?lang=zh-CN").await;
    assert!(html.contains("href=\"/finance\""), "the nav offers the finance page");
    assert!(html.contains(&format!("/applications/{reward}/actions/approve")), "{html}");
    assert!(html.contains("¥100,000.00"), "the amount in yuan: {html}");
    assert!(html.contains("¥1,000,000.00"), "the budget left: {html}");
    let csrf = fb.csrf().await;

    // Act: approve from the queue, back to the queue.
    let r = fb.post(&format!("/applications/{reward}/actions/approve"), &[("csrf", &csrf), ("back", "/finance")]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(Browser::location(&r), "/finance");
    let html = fb.html("/finance").await;
    assert!(html.contains("¥900,000.00"), "reserved, 900,000 left: {html}");
    assert!(html.contains("id=\"q1-pay-payment_reference\" name=\"payment_reference\""), "{html}");

    // A `back` elsewhere is not followed; without the reference the payment is refused there.
    let r =
        fb.post(&format!("/applications/{reward}/actions/pay"), &[("csrf", &csrf), ("back", "//evil.example/")]).await;
    assert_eq!(Browser::location(&r), format!("/applications/{reward}"));
    let html = fb.html(&format!("/applications/{reward}?lang=zh-CN")).await;
    assert!(html.contains("请填写付款凭证号"), "{html}");
    assert!(html.contains("id=\"a-pay-payment_reference\" name=\"payment_reference\""), "{html}");

    // Payment with its reference, from the queue.
    let r = fb
        .post(
            &format!("/applications/{reward}/actions/pay"),
            &[("csrf", &csrf), ("back", "/finance"), ("payment_reference", "ZJCZ-2026-0042")],
        )
        .await;
    assert_eq!(Browser::location(&r), "/finance");

    // Assert
    let v = app.get(&format!("/api/applications/{reward}"), &app.fresh(&finance).await).await;
    assert_eq!(v.body["state"], "paid");
    assert_eq!(v.body["data"]["payment_reference"], "ZJCZ-2026-0042");
    let html = fb.html("/finance").await;
    assert!(!html.contains(&format!("/applications/{reward}/actions/")), "paid, out of the queue");
    // Others do not see budgets: the page is refused as `GET /api/budgets` is.
    let reviewer = app.staff(Role::Reviewer, Some("jingkou")).await;
    let rb = Browser::signed_in(&app, &reviewer).await;
    assert_eq!(rb.get("/finance").await.status(), StatusCode::FORBIDDEN);
    assert!(!rb.html("/").await.contains("href=\"/finance\""), "no nav link");
    let eb = Browser::signed_in(&app, &ent).await;
    assert_eq!(eb.get("/finance").await.status(), StatusCode::FORBIDDEN);
});

dual_test!(an_inspector_opens_and_orders_a_case_through_the_pages, |app: TestApp| async move {
    // Arrange
    let (ent_id, _) = app.register_enterprise("jingkou").await;
    let (other_id, _) = app.register_enterprise("danyang").await;
    let inspector = app.staff(Role::Inspector, Some("jingkou")).await;
    let ib = Browser::signed_in(&app, &inspector).await;

    // The case form offers the enterprises of the district only, and the opening fields.
    let html = ib.html("/cases/new?lang=zh-CN").await;
    assert!(html.contains("href=\"/cases\""), "the nav offers the cases page");
    assert!(html.contains(&format!("value=\"{ent_id}\"")), "{html}");
    assert!(!html.contains(&format!("value=\"{other_id}\"")), "another district's enterprise is not offered");
    assert!(html.contains("id=\"f-violation_kind\" name=\"violation_kind\""), "{html}");
    assert!(!html.contains("name=\"rectification_days\""), "given later, with the order");
    let csrf = ib.csrf().await;
    let case = [
        ("csrf", csrf.as_str()),
        ("workflow", "lenient-supervision"),
        ("violation_kind", "fire-safety"),
        ("violation_item", "疏散通道堆放杂物"),
        ("inspection_date", "2026-03-01"),
        ("harm_level", "minor"),
        ("facts", "检查发现二号车间疏散通道堆放纸箱。"),
        ("evidence_reference", "ZJ-XF-2026-0301-07"),
    ];
    // Without CSRF: refused.
    assert_eq!(ib.post("/cases", &case[1..]).await.status(), StatusCode::FORBIDDEN);
    // Another district's enterprise: refused, the form shown again.
    let mut elsewhere = case.to_vec();
    elsewhere.push(("enterprise_id", other_id.as_str()));
    let r = ib.post("/cases", &elsewhere).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("href=\"#f-enterprise_id\""));

    // Act: open the case, then order rectification with 15 days.
    let mut here = case.to_vec();
    here.push(("enterprise_id", ent_id.as_str()));
    let r = ib.post("/cases", &here).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let page = Browser::location(&r);
    let id = page.trim_start_matches("/applications/").to_string();
    let html = ib.html(&page).await;
    assert!(html.contains("id=\"a-order_rectification-rectification_days\" name=\"rectification_days\""), "{html}");
    let order = [("csrf", csrf.as_str()), ("comment", "清理疏散通道"), ("rectification_days", "15")];
    let r = ib.post(&format!("{page}/actions/order_rectification"), &order).await;
    assert_eq!(Browser::location(&r), page);

    // Assert: the case is rectifying with its deadline, on the case page and in the list.
    let v = app.get(&format!("/api/applications/{id}"), &app.fresh(&inspector).await).await;
    assert_eq!(v.body["state"], "rectifying", "{:?}", v.body);
    assert_eq!(v.body["data"]["rectification_days"], 15, "the string is coerced to the field's type");
    let due = chrono::DateTime::parse_from_rfc3339(v.body["due_at"].as_str().unwrap()).unwrap();
    let shown =
        due.with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap()).format("%Y-%m-%d %H:%M").to_string();
    let list = ib.html("/cases").await;
    assert!(list.contains(&id) && list.contains(&shown), "{list}");
    assert!(ib.html(&page).await.contains(&shown));
    // The inspector of another district sees neither the case nor the enterprise.
    let other = app.staff(Role::Inspector, Some("danyang")).await;
    let ob = Browser::signed_in(&app, &other).await;
    assert!(!ob.html("/cases").await.contains(&id));
    assert_eq!(ob.get(&page).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(ob.get(&format!("/enterprises/{ent_id}")).await.status(), StatusCode::NOT_FOUND);
});

dual_test!(the_enterprise_directory_lists_the_jurisdiction_only, |app: TestApp| async move {
    // Arrange
    let (here_id, here) = app.register_enterprise("jingkou").await;
    let (there_id, _) = app.register_enterprise("danyang").await;
    app.create(&here, "sample-recognition", good_sample()).await;
    let reviewer = app.staff(Role::Reviewer, Some("jingkou")).await;
    let rb = Browser::signed_in(&app, &reviewer).await;

    // Act
    let html = rb.html("/enterprises").await;

    // Assert
    assert!(html.contains(&format!("/enterprises/{here_id}")), "{html}");
    assert!(!html.contains(&format!("/enterprises/{there_id}")));
    assert!(html.contains("<td class=\"number\">1</td>"), "one application: {html}");
    let detail = rb.html(&format!("/enterprises/{here_id}")).await;
    assert!(detail.contains("/applications/"), "{detail}");
    assert_eq!(rb.get(&format!("/enterprises/{there_id}")).await.status(), StatusCode::NOT_FOUND);
    // Filters: by district (another one gives nothing) and by text.
    assert!(!rb.html("/enterprises?district=danyang").await.contains(&format!("/enterprises/{there_id}")));
    let me = app.get(&format!("/api/enterprises/{here_id}"), &here).await;
    let uscc = me.body["uscc"].as_str().unwrap().to_lowercase();
    assert!(rb.html(&format!("/enterprises?q={uscc}")).await.contains(&format!("/enterprises/{here_id}")));
    assert!(!rb.html("/enterprises?q=zzzz-nothing").await.contains(&format!("/enterprises/{here_id}")));
    // An administrator sees all.
    let admin = app.login("admin@test.cn").await;
    let ab = Browser::signed_in(&app, &admin).await;
    let all = ab.html("/enterprises").await;
    assert!(all.contains(&format!("/enterprises/{here_id}")) && all.contains(&format!("/enterprises/{there_id}")));
});
