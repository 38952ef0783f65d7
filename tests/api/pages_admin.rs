//! The administrator's pages (users and roles, the mail queue, the audit check), the filters
//! and pages of the inbox and the applications list, and the page for an unknown address.

use certflow::domain::role::Role;
use certflow::storage::entities::{history, outbox};
use chrono::Duration;
use reqwest::StatusCode;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;

use crate::dual_test;
use crate::helpers::{PASSWORD, TestApp, email_of, good_sample};
use crate::pages::{Browser, csrf_of};

const BROWSER_ACCEPT: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

async fn admin_browser(app: &TestApp) -> Browser {
    let admin = app.login("admin@test.cn").await;
    Browser::signed_in(app, &admin).await
}

/// A user's id by e-mail, through the JSON API.
async fn user_id(app: &TestApp, email: &str) -> String {
    let admin = app.login("admin@test.cn").await;
    let users = app.get("/api/users", &admin).await.body;
    let u = users["items"].as_array().unwrap().iter().find(|u| u["email"] == email).expect("user listed");
    u["id"].as_str().unwrap().to_string()
}

/// Creates and submits a sample recognition; returns its id.
async fn submitted(app: &TestApp, ent: &str) -> String {
    let view = app.create(ent, "sample-recognition", good_sample()).await;
    let id = view["id"].as_str().unwrap().to_string();
    let r = app.act(ent, &id, "submit", json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    id
}

fn assert_html_page(r: &reqwest::Response) {
    let h = r.headers();
    assert!(h["content-type"].to_str().unwrap().starts_with("text/html"), "{h:?}");
    assert!(h["content-security-policy"].to_str().unwrap().contains("script-src 'none'"));
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["referrer-policy"], "same-origin");
}

dual_test!(pages_admin_creates_a_reviewer_that_the_list_shows, |app: TestApp| async move {
    // Arrange
    let b = admin_browser(&app).await;
    assert!(b.html("/").await.contains("href=\"/admin/users\""), "admins get the admin link");
    let form = b.html("/admin/users/new?lang=zh-CN").await;
    assert!(form.contains("<option value=\"runzhou\">润州区</option>"), "jurisdictions from the definitions");
    assert!(form.contains("<option value=\"city\">镇江市</option>"));
    let csrf = csrf_of(&form);

    // Act
    let fields = [
        ("csrf", csrf.as_str()),
        ("name", "王审核"),
        ("email", "Wang.Reviewer@gov.cn"),
        ("password", PASSWORD),
        ("role", "reviewer"),
        ("jurisdiction", "runzhou"),
        ("lang", "zh-CN"),
    ];
    let r = b.post("/admin/users", &fields).await;

    // Assert
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(Browser::location(&r), "/admin/users");
    let list = b.html("/admin/users").await;
    assert!(list.contains("wang.reviewer@gov.cn") && list.contains("王审核"), "{list}");
    assert!(list.contains("审核员（润州区）"), "role with its jurisdiction");
    let only = b.html("/admin/users?q=wang&role=reviewer").await;
    assert!(only.contains("wang.reviewer@gov.cn") && !only.contains("admin@test.cn"));
    assert!(!b.html("/admin/users?role=finance").await.contains("wang.reviewer@gov.cn"));
    let token = app.login("wang.reviewer@gov.cn").await;
    assert_eq!(app.get("/api/me", &token).await.body["roles"][0]["jurisdiction"], "runzhou");

    // Pages of users: one a page, the next link keeps the filter.
    let first = b.html("/admin/users?role=reviewer&per_page=1").await;
    assert!(!first.contains("rel=\"next\""), "one reviewer: one page");
    app.staff(Role::Reviewer, Some("jingkou")).await;
    let first = b.html("/admin/users?role=reviewer&per_page=1").await;
    assert!(first.contains("users?role=reviewer&amp;per_page=1&amp;page=2\" rel=\"next\""), "{first}");

    // The same form without its token is refused.
    let r = b.post("/admin/users", &fields[1..]).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
});

dual_test!(pages_admin_users_are_for_admins_only, |app: TestApp| async move {
    let reviewer = app.staff(Role::Reviewer, Some("jingkou")).await;
    let rb = Browser::signed_in(&app, &reviewer).await;
    assert!(!rb.html("/").await.contains("href=\"/admin/users\""), "no admin link for others");
    for path in ["/admin/users", "/admin/users/new", "/admin/mail", "/admin/audit"] {
        let r = rb.get(path).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{path}");
        assert_html_page(&r);
    }
    let csrf = rb.csrf().await;
    let r = rb
        .post(
            "/admin/users",
            &[("csrf", &csrf), ("name", "X"), ("email", "x@gov.cn"), ("password", PASSWORD), ("role", "admin")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let admin_id = user_id(&app, "admin@test.cn").await;
    let r = rb.post(&format!("/admin/users/{admin_id}"), &[("csrf", &csrf), ("name", "X")]).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let (_, ent) = app.register_enterprise("jingkou").await;
    let eb = Browser::signed_in(&app, &ent).await;
    assert_eq!(eb.get("/admin/users").await.status(), StatusCode::FORBIDDEN);
    // Signed out: sign in first.
    let anon = Browser::new(&app);
    assert_eq!(Browser::location(&anon.get("/admin/users").await), "/login");
    // An admin asking for a user who does not exist gets the not-found page.
    let b = admin_browser(&app).await;
    assert_eq!(b.get("/admin/users/00000000-0000-0000-0000-000000000000").await.status(), StatusCode::NOT_FOUND);
});

dual_test!(pages_admin_user_errors_show_beside_the_fields, |app: TestApp| async move {
    let b = admin_browser(&app).await;
    let csrf = csrf_of(&b.html("/admin/users/new?lang=zh-CN").await);

    // A bad e-mail address.
    let r = b
        .post(
            "/admin/users",
            &[
                ("csrf", &csrf),
                ("name", "李四"),
                ("email", "not-an-address"),
                ("password", PASSWORD),
                ("role", "reviewer"),
                ("jurisdiction", "jingkou"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(html.contains("href=\"#f-email\""), "{html}");
    assert!(html.contains("<p class=\"msg\">邮箱格式不正确</p>"), "beside the field: {html}");
    assert!(html.contains("value=\"李四\""), "what was typed is kept");

    // A reviewer without a jurisdiction.
    let r = b
        .post(
            "/admin/users",
            &[("csrf", &csrf), ("name", "李四"), ("email", "li@gov.cn"), ("password", PASSWORD), ("role", "reviewer")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(html.contains("href=\"#f-jurisdiction\""), "{html}");
    assert!(html.contains("该角色需要辖区"));

    // No role at all.
    let r = b.post("/admin/users", &[("csrf", &csrf), ("name", "李四"), ("email", "li@gov.cn")]).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("href=\"#f-role\""));

    // An address already taken.
    let r = b
        .post(
            "/admin/users",
            &[("csrf", &csrf), ("name", "A"), ("email", "admin@test.cn"), ("password", PASSWORD), ("role", "auditor")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert!(r.text().await.unwrap().contains("href=\"#f-email\""));
    let users = app.get("/api/users", &app.login("admin@test.cn").await).await.body;
    assert_eq!(users["items"].as_array().unwrap().len(), 1, "nothing was created");
});

dual_test!(pages_admin_changes_roles_and_deactivates_a_user, |app: TestApp| async move {
    let reviewer = app.staff(Role::Reviewer, Some("jingkou")).await;
    let email = email_of(&app, &reviewer).await;
    let id = user_id(&app, &email).await;
    let b = admin_browser(&app).await;
    let page = b.html(&format!("/admin/users/{id}?lang=zh-CN")).await;
    assert!(page.contains(&email));
    assert!(page.contains("<option value=\"jingkou\" selected>京口区</option>"), "{page}");
    let csrf = csrf_of(&page);
    let path = format!("/admin/users/{id}");

    // An expert needs a jurisdiction too: the error is beside that row's jurisdiction.
    let r = b
        .post(
            &path,
            &[
                ("csrf", &csrf),
                ("name", "R"),
                ("active", "1"),
                ("role_0", "reviewer"),
                ("jurisdiction_0", "jingkou"),
                ("role_1", "expert"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(html.contains("href=\"#f-jurisdiction_1\""), "{html}");

    // Move to the city level and add the inspector role.
    let r = b
        .post(
            &path,
            &[
                ("csrf", &csrf),
                ("name", "R"),
                ("active", "1"),
                ("role_0", "reviewer"),
                ("jurisdiction_0", "city"),
                ("role_1", "inspector"),
                ("jurisdiction_1", "dantu"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let me = app.get("/api/me", &app.fresh(&reviewer).await).await.body;
    assert_eq!(
        me["roles"],
        json!([{"role": "reviewer", "jurisdiction": "city"}, {"role": "inspector", "jurisdiction": "dantu"}])
    );

    // Deactivate: the box unticked.
    let r = b.post(&path, &[("csrf", &csrf), ("name", "R"), ("role_0", "reviewer"), ("jurisdiction_0", "city")]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(b.html(&format!("/admin/users?q={email}&lang=zh-CN")).await.contains("已停用"));
    let r = app
        .request(
            reqwest::Method::POST,
            "/api/auth/login",
            None,
            Some(json!({"email": email, "password": PASSWORD})),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "a deactivated user cannot sign in");
});

dual_test!(pages_admin_mail_lists_a_dead_letter_and_retries_it, |app: TestApp| async move {
    // Arrange: a file stands where the mail folder should be, so every delivery fails.
    let blocker = app.dir.path().join("mail");
    std::fs::write(&blocker, "not a folder").unwrap();
    let (_, ent) = app.register_enterprise("jingkou").await;
    let reviewer = app.staff(Role::Reviewer, Some("jingkou")).await;
    let reviewer_email = email_of(&app, &reviewer).await;
    submitted(&app, &ent).await;
    // Three tries (the test setting), with back-off in between: then the message is dead.
    for _ in 0..3 {
        app.engine.deliver_mail().await.unwrap();
        app.advance(Duration::seconds(10));
    }
    let row = outbox::Entity::find()
        .filter(outbox::Column::Recipient.eq(&reviewer_email))
        .one(&app.engine.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((row.status.as_str(), row.attempts), ("failed", 3));

    // Act: the admin sees it (failed is the default) and sends it again.
    let b = admin_browser(&app).await;
    let html = b.html("/admin/mail?lang=zh-CN").await;
    assert!(html.contains(&reviewer_email) && html.contains(&row.subject), "{html}");
    assert!(html.contains("发送失败"));
    let retry = format!("/admin/mail/{}/retry", row.id);
    assert!(html.contains(&format!("action=\"{retry}\"")));
    let csrf = csrf_of(&html);
    let r = b.post(&retry, &[("csrf", &csrf), ("status", "failed")]).await;

    // Assert: back in the queue with fresh tries.
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(Browser::location(&r), "/admin/mail?status=failed");
    let row = outbox::Entity::find_by_id(row.id).one(&app.engine.db).await.unwrap().unwrap();
    assert_eq!((row.status.as_str(), row.attempts), ("pending", 0));
    assert!(!b.html("/admin/mail").await.contains(&format!("action=\"{retry}\"")));
    assert!(b.html("/admin/mail?status=pending").await.contains(&reviewer_email));
    // A second retry is refused, shown once on the list.
    let r = b.post(&retry, &[("csrf", &csrf), ("status", "failed")]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(b.html("/admin/mail").await.contains("只有发送失败的邮件可以重发"));
    // Once the folder can be written, it goes out.
    std::fs::remove_file(&blocker).unwrap();
    assert!(app.engine.deliver_mail().await.unwrap() >= 1);
    assert!(b.html("/admin/mail?status=sent").await.contains(&reviewer_email));

    // Others may not retry.
    let rb = Browser::signed_in(&app, &app.fresh(&reviewer).await).await;
    let rcsrf = rb.csrf().await;
    assert_eq!(rb.post(&retry, &[("csrf", &rcsrf)]).await.status(), StatusCode::FORBIDDEN);
});

dual_test!(pages_admin_audit_says_intact_and_names_a_broken_entry, |app: TestApp| async move {
    // Arrange: created, submitted, returned with a comment (3 entries).
    let (_, ent) = app.register_enterprise("jingkou").await;
    let reviewer = app.staff(Role::Reviewer, Some("jingkou")).await;
    let id = submitted(&app, &ent).await;
    let r = app.act(&reviewer, &id, "return", json!({"comment": "请补充研发费用明细"})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let number = r.body["number"].as_str().unwrap().to_string();
    let b = admin_browser(&app).await;
    let html = b.html("/admin/audit?lang=en").await;
    assert!(html.contains("The log is intact"), "{html}");
    assert!(html.contains("Checked 3 history entries of 1 applications"), "{html}");
    assert!(html.contains("aria-current=\"page\""), "the admin menu marks the page");

    // Act: someone with database access softens the comment.
    history::Entity::update_many()
        .col_expr(history::Column::Comment, Expr::value("资料齐全"))
        .filter(history::Column::ApplicationId.eq(&id))
        .filter(history::Column::Seq.eq(3))
        .exec(&app.engine.db)
        .await
        .unwrap();

    // Assert
    let html = b.html("/admin/audit").await;
    assert!(html.contains("The log was tampered with"), "{html}");
    assert!(html.contains(&format!("<a href=\"/applications/{id}\">{number}</a>")), "{html}");
    assert!(html.contains("history entry 3") && html.contains("the entry was altered after it was written"));
    let zh = b.html("/admin/audit?lang=zh-CN").await;
    assert!(zh.contains("第 3 条办理记录") && zh.contains("该记录写入后被修改过"), "{zh}");

    // An auditor may check too, and is offered the page in the menu.
    let auditor = app.staff(Role::Auditor, None).await;
    let ab = Browser::signed_in(&app, &auditor).await;
    assert!(ab.html("/").await.contains("href=\"/admin/audit\""));
    assert!(ab.html("/admin/audit").await.contains("tampered"));
    assert_eq!(ab.get("/admin/mail").await.status(), StatusCode::FORBIDDEN);
});

dual_test!(pages_admin_inbox_filters_overdue_and_pages, |app: TestApp| async move {
    // Arrange: one application past its deadline, then two fresh ones and a draft.
    let (_, ent) = app.register_enterprise("jingkou").await;
    let late = submitted(&app, &ent).await;
    app.advance(Duration::days(30));
    let ent = app.fresh(&ent).await;
    let second = submitted(&app, &ent).await;
    app.advance(Duration::hours(1));
    let third = submitted(&app, &ent).await;
    let draft = app.create(&ent, "sample-recognition", good_sample()).await["id"].as_str().unwrap().to_string();
    let reviewer = app.staff(Role::Reviewer, Some("jingkou")).await;
    let b = Browser::signed_in(&app, &reviewer).await;

    // Everything, oldest deadline first.
    let all = b.html("/tasks?lang=en").await;
    assert!(all.contains("3 in all"), "{all}");
    let (p1, p2, p3) = (all.find(&late).unwrap(), all.find(&second).unwrap(), all.find(&third).unwrap());
    assert!(p1 < p2 && p2 < p3);

    // Overdue only.
    let overdue = b.html("/tasks?overdue=1").await;
    assert!(overdue.contains(&late) && !overdue.contains(&second) && !overdue.contains(&third));
    assert!(overdue.contains("1 in all") && overdue.contains("checked"));

    // By workflow.
    assert!(b.html("/tasks?workflow=sample-recognition").await.contains("3 in all"));
    let none = b.html("/tasks?workflow=no-such-workflow").await;
    assert!(none.contains("Nothing matches the filters."));

    // One a page: the next link keeps the filter; the last page has no next.
    let first = b.html("/tasks?workflow=sample-recognition&per_page=1").await;
    assert!(first.contains(&late) && !first.contains(&second));
    assert!(first.contains("tasks?workflow=sample-recognition&amp;per_page=1&amp;page=2\" rel=\"next\""), "{first}");
    assert!(!first.contains("rel=\"prev\""));
    let middle = b.html("/tasks?workflow=sample-recognition&per_page=1&page=2").await;
    assert!(middle.contains(&second) && middle.contains("rel=\"prev\"") && middle.contains("rel=\"next\""));
    let last = b.html("/tasks?workflow=sample-recognition&per_page=1&page=3").await;
    assert!(last.contains(&third) && !last.contains("rel=\"next\""));
    assert!(!b.html("/tasks?overdue=1&per_page=1").await.contains("rel=\"next\""));

    // The enterprise's list: by state, and one a page.
    let eb = Browser::signed_in(&app, &ent).await;
    let drafts = eb.html("/?state=draft&lang=en").await;
    assert!(drafts.contains(&draft) && !drafts.contains(&late), "{drafts}");
    let review = eb.html("/?workflow=sample-recognition&state=district_review").await;
    assert!(review.contains(&late) && review.contains(&third) && !review.contains(&draft));
    let paged = eb.html("/?state=district_review&per_page=1").await;
    assert!(paged.contains("?state=district_review&amp;per_page=1&amp;page=2\" rel=\"next\""), "{paged}");
    assert!(eb.html("/?state=no-such-state").await.contains("No application matches the filters."));
});

dual_test!(pages_admin_unknown_page_is_an_html_404_and_the_api_stays_json, |app: TestApp| async move {
    let anon = Browser::new(&app);
    let r = anon.c.get(format!("{}/no/such/page", app.address)).header("Accept", BROWSER_ACCEPT).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_html_page(&r);
    let html = r.text().await.unwrap();
    assert!(html.contains("页面不存在") && html.contains("href=\"/\""), "{html}");

    // In the browser's language.
    let r = anon
        .c
        .get(format!("{}/no/such/page", app.address))
        .header("Accept", BROWSER_ACCEPT)
        .header("Accept-Language", "en-GB,en;q=0.9")
        .send()
        .await
        .unwrap();
    assert!(r.text().await.unwrap().contains("Page not found"));

    // Signed in, the page keeps the menu.
    let (_, ent) = app.register_enterprise("jingkou").await;
    let b = Browser::signed_in(&app, &ent).await;
    let r = b.c.get(format!("{}/nope", app.address)).header("Accept", BROWSER_ACCEPT).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(r.text().await.unwrap().contains("/logout"));

    // The API, and clients that do not ask for HTML, keep problem+json.
    for (path, accept) in [("/api/nope", BROWSER_ACCEPT), ("/nope", "application/json"), ("/nope", "*/*")] {
        let r = anon.c.get(format!("{}{path}", app.address)).header("Accept", accept).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
        assert_eq!(r.headers()["content-type"], "application/problem+json", "{path} {accept}");
    }
});
