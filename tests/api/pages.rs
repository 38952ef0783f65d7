//! The web pages through HTTP with a browser-like client: cookie session, CSRF tokens,
//! security headers, authorization as in the API, and the enterprise/reviewer path.

use certflow::domain::role::Role;
use reqwest::StatusCode;
use reqwest::redirect::Policy;
use serde_json::json;

use crate::dual_test;
use crate::helpers::{PASSWORD, TestApp, good_sample};

/// A browser: keeps cookies, does not follow redirects (the tests check the 303s).
pub(crate) struct Browser {
    pub(crate) c: reqwest::Client,
    pub(crate) base: String,
}

pub(crate) fn csrf_of(html: &str) -> String {
    let re = regex::Regex::new(r#"name="csrf" value="([0-9a-f]+)""#).unwrap();
    re.captures(html).map(|c| c[1].to_string()).unwrap_or_default()
}

impl Browser {
    pub(crate) fn new(app: &TestApp) -> Browser {
        let c = reqwest::Client::builder().cookie_store(true).redirect(Policy::none()).build().unwrap();
        Browser { c, base: app.address.clone() }
    }

    pub(crate) async fn get(&self, path: &str) -> reqwest::Response {
        self.c.get(format!("{}{path}", self.base)).send().await.unwrap()
    }

    pub(crate) async fn html(&self, path: &str) -> String {
        let r = self.get(path).await;
        assert_eq!(r.status(), StatusCode::OK, "GET {path}");
        r.text().await.unwrap()
    }

    pub(crate) async fn post(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.c.post(format!("{}{path}", self.base)).form(form).send().await.unwrap()
    }

    /// Signs in through the form; returns the response of `POST /login`.
    pub(crate) async fn sign_in(&self, email: &str) -> reqwest::Response {
        let csrf = csrf_of(&self.html("/login").await);
        self.post("/login", &[("csrf", &csrf), ("email", email), ("password", PASSWORD)]).await
    }

    /// Signs in, expecting success.
    pub(crate) async fn signed_in(app: &TestApp, token: &str) -> Browser {
        let me = app.get("/api/me", token).await;
        let b = Browser::new(app);
        let r = b.sign_in(me.body["email"].as_str().unwrap()).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        b
    }

    /// The CSRF token of the signed-in session (from any page with a form).
    pub(crate) async fn csrf(&self) -> String {
        csrf_of(&self.html("/").await)
    }

    pub(crate) fn location(r: &reqwest::Response) -> String {
        r.headers().get("location").and_then(|h| h.to_str().ok()).unwrap_or_default().to_string()
    }
}

dual_test!(sign_in_sets_a_safe_cookie_and_pages_need_a_session, |app: TestApp| async move {
    let anon = Browser::new(&app);
    let r = anon.get("/").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(Browser::location(&r), "/login");
    let r = anon.get("/tasks").await;
    assert_eq!(Browser::location(&r), "/login");

    let (_, ent) = app.register_enterprise("jingkou").await;
    let email = app.get("/api/me", &ent).await.body["email"].as_str().unwrap().to_string();
    let b = Browser::new(&app);
    let r = b.sign_in(&email).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(Browser::location(&r), "/");
    let cookie = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|h| h.to_str().unwrap().to_string())
        .find(|c| c.starts_with("certflow_session="))
        .expect("session cookie");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(cookie.contains("Path=/"), "{cookie}");
    assert!(!cookie.contains("Secure"), "plain HTTP: {cookie}");
    let home = b.html("/").await;
    assert!(home.contains("/logout"));

    // Behind an HTTPS proxy the cookie is Secure.
    let csrf = csrf_of(&anon.html("/login").await);
    let r = anon
        .c
        .post(format!("{}/login", app.address))
        .header("X-Forwarded-Proto", "https")
        .form(&[("csrf", csrf.as_str()), ("email", email.as_str()), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    let secure = r.headers().get_all("set-cookie").iter().any(|h| {
        let c = h.to_str().unwrap();
        c.starts_with("certflow_session=") && c.contains("Secure")
    });
    assert!(secure);

    // A wrong password shows the form again with the error.
    let bad = Browser::new(&app);
    let csrf = csrf_of(&bad.html("/login").await);
    let r = bad.post("/login", &[("csrf", &csrf), ("email", &email), ("password", "wrong-password-1")]).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.text().await.unwrap().contains("邮箱或密码错误"));

    // Sign-out clears the session.
    let csrf = b.csrf().await;
    let r = b.post("/logout", &[("csrf", &csrf)]).await;
    assert_eq!(Browser::location(&r), "/login");
    assert_eq!(b.get("/").await.status(), StatusCode::SEE_OTHER);
});

dual_test!(forms_need_the_csrf_token_and_pages_carry_security_headers, |app: TestApp| async move {
    let (_, ent) = app.register_enterprise("jingkou").await;
    let b = Browser::signed_in(&app, &ent).await;
    let r = b.post("/applications", &[("workflow", "sample-recognition")]).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let r = b.post("/applications", &[("csrf", "00ff"), ("workflow", "sample-recognition")]).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = b.post("/logout", &[]).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // Sign-in form without its token.
    let anon = Browser::new(&app);
    let r = anon.post("/login", &[("email", "x@y.cn"), ("password", PASSWORD)]).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    for path in ["/", "/login", "/tasks", "/applications/new", "/static/app.css"] {
        let r = b.get(path).await;
        let h = r.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("script-src 'none'") && csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert_eq!(h["referrer-policy"], "same-origin", "{path}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
    }
    let r = anon.get("/").await;
    assert_eq!(r.headers()["x-frame-options"], "DENY");
    // The JSON API is unchanged.
    let r = app.get("/api/me", &ent).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.content_type.starts_with("application/json"));
});

dual_test!(pages_refuse_what_the_api_refuses, |app: TestApp| async move {
    let (_, a) = app.register_enterprise("jingkou").await;
    let (_, other) = app.register_enterprise("jingkou").await;
    let view = app.create(&a, "sample-recognition", good_sample()).await;
    let id = view["id"].as_str().unwrap();
    app.act(&a, id, "submit", json!({})).await;

    let b = Browser::signed_in(&app, &other).await;
    let r = b.get(&format!("/applications/{id}")).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(r.text().await.unwrap().contains("<html"));
    let csrf = b.csrf().await;
    let r = b.post(&format!("/applications/{id}/actions/withdraw"), &[("csrf", &csrf)]).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    let elsewhere = app.staff(Role::Reviewer, Some("danyang")).await;
    let rb = Browser::signed_in(&app, &elsewhere).await;
    let inbox = rb.html("/tasks").await;
    assert!(!inbox.contains(id));
    assert_eq!(rb.get(&format!("/applications/{id}")).await.status(), StatusCode::NOT_FOUND);

    let here = app.staff(Role::Reviewer, Some("jingkou")).await;
    let hb = Browser::signed_in(&app, &here).await;
    assert!(hb.html("/tasks").await.contains(id));
});

dual_test!(an_enterprise_applies_and_a_reviewer_returns_it, |app: TestApp| async move {
    let (_, ent) = app.register_enterprise("jingkou").await;
    let b = Browser::signed_in(&app, &ent).await;

    // The catalogue offers the sample; starting it opens the application page.
    let catalogue = b.html("/applications/new").await;
    assert!(catalogue.contains("value=\"sample-recognition\""));
    let csrf = b.csrf().await;
    let r = b.post("/applications", &[("csrf", &csrf), ("workflow", "sample-recognition")]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let page = Browser::location(&r);
    let id = page.trim_start_matches("/applications/").to_string();
    let html = b.html(&page).await;
    assert!(html.contains("上年度营业收入（元）"), "Chinese labels first");
    assert!(html.contains(&format!("/applications/{id}/save")));

    // A wrong value shows beside its field with a summary at the top.
    let r = b.post(&format!("{page}/save"), &[("csrf", &csrf), ("staff", "many")]).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(html.contains("href=\"#f-staff\""), "{html}");
    assert!(html.contains("value=\"many\""));
    assert!(html.contains("草稿未保存"), "the summary says nothing was saved");

    // Saving the form recomputes the score, with the points lost.
    let form = [
        ("csrf", csrf.as_str()),
        ("revenue", "1000000"),
        ("rd_expense", "40000"),
        ("growth", "12"),
        ("staff", "50"),
        ("founded", "2015-03-01"),
        ("sector", "strategic"),
        ("high_tech", ""),
        ("contact", "0511-1234567"),
        ("summary", "<script>alert(1)</script>"),
    ];
    let r = b.post(&format!("{page}/save"), &form).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let html = b.html(&page).await;
    assert!(html.contains("<strong>40</strong>"), "total 40");
    assert!(html.contains("class=\"lost\""), "points lost are marked");
    assert!(html.contains("加大研发投入"), "hint shown beside lost points");
    // R&D is 4 % of revenue: 15 of 20 points, 5 lost, and 5 % would earn 20.
    assert!(html.contains("<td>15</td><td>20</td><td>5</td>"), "{html}");
    assert!(html.contains("达到 5 可得 20 分"), "what would earn more");
    // The sector earns its full 10 and loses nothing.
    assert!(html.contains("<td>10</td><td>10</td><td>0</td>"));
    assert!(!html.contains("<script>alert"), "form data is escaped");
    assert!(html.contains("&lt;script&gt;"));

    // The list shows it with its state and next step.
    let home = b.html("/").await;
    assert!(home.contains(&id) && home.contains("企业填报") && home.contains("提交"));

    // Submit.
    let r = b.post(&format!("{page}/actions/submit"), &[("csrf", &csrf)]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(Browser::location(&r), page);
    let html = b.html(&page).await;
    assert!(html.contains("区级初审"));
    assert!(!html.contains("/save\""), "no longer editable");

    // The district reviewer sees it in the inbox, and returns it with a comment.
    let reviewer = app.staff(Role::Reviewer, Some("jingkou")).await;
    let rb = Browser::signed_in(&app, &reviewer).await;
    // Staff are created with English as their language.
    let inbox = rb.html("/tasks?lang=zh-CN").await;
    assert!(inbox.contains(&id));
    let rcsrf = rb.csrf().await;
    let html = rb.html(&page).await;
    assert!(html.contains("textarea id=\"c-return\" name=\"comment\" rows=\"2\" required"));
    // Without the required comment: back to the page with the error shown once.
    let r = rb.post(&format!("{page}/actions/return"), &[("csrf", &rcsrf), ("comment", "")]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let html = rb.html(&page).await;
    assert!(html.contains("class=\"errors\""), "{html}");
    assert!(!rb.html(&page).await.contains("class=\"errors\""), "the flash shows once");
    let r = rb.post(&format!("{page}/actions/return"), &[("csrf", &rcsrf), ("comment", "请补充研发费用明细")]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let html = rb.html(&page).await;
    assert!(html.contains("请补充研发费用明细"));
    assert!(html.contains("退回修改"));

    // The enterprise sees the comment in the history, and the page in English on request.
    let html = b.html(&page).await;
    assert!(html.contains("请补充研发费用明细"));
    let r = b.get(&format!("{page}?lang=en")).await;
    assert!(r.headers().get_all("set-cookie").iter().any(|c| c.to_str().unwrap().starts_with("certflow_lang=en")));
    let html = r.text().await.unwrap();
    assert!(
        html.contains("Last year's operating revenue (yuan)") || html.contains("Last year&#x27;s operating revenue")
    );
    assert!(html.contains("Return for revision"));
    // Remembered by the cookie.
    assert!(b.html("/").await.contains("Applications"));
});

/// Every page template renders with a sample context: no template error reaches a user.
#[test]
fn every_page_template_renders() {
    let pages = certflow::http::Pages::new(std::path::Path::new("templates"));
    let text = json!({"zh": "中文", "en": "English"});
    let summary = json!({"id": "a1", "number": "N-1", "workflow_title": text, "state": "draft", "state_title": text,
        "due_at": "2026-03-02T01:00:00Z", "next": [text]});
    let fields: Vec<serde_json::Value> =
        ["text", "textarea", "integer", "decimal", "money", "percent", "date", "boolean", "choice", "file"]
            .iter()
            .map(|k| {
                json!({"key": k, "kind": k, "label": text, "help": text, "required": true, "value": "1",
                       "options": [{"value": "1", "label": text}], "file": null, "editable": true})
            })
            .collect();
    let ctx = json!({
        "lang": "en", "html_lang": "en", "csrf": "abc",
        "flash": [{"field": "staff", "message": "bad"}],
        "user": {"name": "U", "email": "u@x.cn", "enterprise": true, "staff": true, "admin": true},
        "email": "u@x.cn", "error": {"title": "T", "detail": "D", "errors": [{"field": "f", "message": "m"}]},
        "applications": [summary], "total": 1,
        "items": [{"application": summary, "enterprise_name": "E", "overdue": true,
                   "actions": [{"name": "approve", "title": text, "comment": "optional", "fields": fields}],
                   "award": text, "amount_shown": "¥1.00", "waiting_since": "2026-03-02T01:00:00Z", "data": {"text": "v"}}],
        "workflows": [{"key": "k", "title": text, "description": text}],
        "app": {"id": "a1", "number": "N-1", "workflow_title": text, "state": "draft", "state_title": text,
                "editable": true, "version": 1, "enterprise": {"name": "E"}, "due_at": "2026-03-02T01:00:00Z",
                "actions": [{"name": "return", "title": text, "comment": "required", "fields": fields}],
                "data": {"text": "v", "boolean": true}},
        "fields": fields,
        "score": {"total": 40, "pass": 40, "passed": true,
                  "indicators": [{"title": text, "points": 15, "max": 20, "lost": 5, "hint": text}]},
        "history": [{"at": "2026-03-02T01:00:00Z", "action_title": text, "to_title": text,
                     "actor": {"name": "R"}, "comment": "c"}],
        "errors": [{"field": "staff", "message": "bad"}],
    });
    // More keys in a second object: one `json!` this large reaches the macro recursion limit.
    let more = json!({
        "paging": {"page": 2, "pages": 3, "total": 120, "prev": "/?page=1", "next": "/?page=3"},
        "filter": {"workflow": "k", "state": "draft", "overdue": true, "q": "x", "role": "reviewer", "status": "failed",
                   "choices": {"workflows": [{"value": "k", "label": text}], "states": [{"value": "draft", "label": text}]}},
        "task_workflows": [{"key": "k", "title": text}],
        "admin_nav": "users",
        "users": [{"id": "u1", "name": "N", "email": "n@x.cn", "enterprise": "E", "active": true, "locked": true,
                   "locked_until": "2026-03-02T01:00:00Z",
                   "roles": [{"role": "reviewer", "label": text, "jurisdiction": "jingkou", "jurisdiction_label": text}]}],
        "role_options": [{"value": "reviewer", "label": text, "needs_jurisdiction": true}],
        "jurisdiction_options": [{"value": "jingkou", "label": text}],
        "form": {"name": "N", "email": "n@x.cn", "role": "reviewer", "jurisdiction": "jingkou", "lang": "en", "active": true},
        "account": {"id": "u1", "name": "N", "email": "n@x.cn", "enterprise": {"id": "e1", "name": "E"}, "active": false,
                    "locked": false, "created_at": "2026-03-02T01:00:00Z", "roles": []},
        "role_rows": [{"i": 0, "role": "reviewer", "jurisdiction": "jingkou"}, {"i": 1, "role": "", "jurisdiction": ""}],
        "mail": [{"id": 1, "application_id": "a1", "recipient": "r@x.cn", "subject": "S", "status": "failed",
                  "status_label": text, "attempts": 3, "last_error": "refused", "created_at": "2026-03-02T01:00:00Z",
                  "next_attempt_at": "2026-03-02T01:00:00Z", "sent_at": null}],
        "mail_statuses": [{"value": "failed", "label": text}],
        "audit": {"ok": false, "entries": 7, "applications": 2,
                  "first_bad": {"application_id": "a1", "number": "N-1", "seq": 3, "reason": "altered"}},
        "audit_reason": text,
        "nav": "workflows",
        "catalogue": [{"key": "k", "title": text, "description": text, "category": "c", "version": 1, "states": 3}],
        "workflow": {"key": "k", "title": text, "description": text, "category": "c", "version": 2},
        "diagram": "<svg role=\"img\"><title>T</title></svg>",
        "states": [{"name": "draft", "title": "T", "assignee": "A", "initial": true, "final": false, "editable": true,
                    "timer": "5 days", "actions": [{"name": "submit", "title": "S", "to": "done", "to_title": "D",
                    "who": "W", "quorum": 3, "after": "5 days", "back": true}]},
                   {"name": "done", "title": "D", "assignee": null, "initial": false, "final": true, "editable": false,
                    "timer": null, "actions": []}],
        "dashboard": {"title": text, "generated_at": "2026-03-02T01:00:00Z",
                      "averages": [{"title": text, "value": 1.5, "target": 2, "unit": "%", "enterprises": 3, "met": false}]},
        "targets": [{"title": text, "current": "1,200", "target": "1,000", "percent": "100.0", "met": true}],
        "targets_svg": "<svg role=\"img\"></svg>",
        "by_workflow": [{"key": "k", "title": "T", "drafting": "1", "review": "2", "closed": "3", "total": "6",
                         "states": [{"title": "S", "count": "1"}]}],
        "applications_svg": "<svg role=\"img\"></svg>",
        "budgets": [{"label": "B 2026", "total": "¥1.00", "spent": "¥0.00", "reserved": "¥0.00", "left": "¥1.00"}],
        "budgets_svg": "<svg role=\"img\"></svg>",
        "metrics": {"applications": [{"workflow": text, "state": text, "count": "2"}],
                    "mail": [{"template": "t", "status": "sent", "count": "1"}],
                    "timers": [{"kind": "deadline", "status": "pending", "count": "1"}]},
    });
    // The staff pages' keys (finance, cases, the enterprise directory).
    let staff_pages = json!({
        "enterprises": [{"id": "e1", "name": "E", "uscc": "914403001922038216", "district": "jingkou",
                         "district_name": text, "applications": 2}],
        "enterprise": {"id": "e1", "name": "E", "uscc": "914403001922038216", "district": "jingkou", "urban": true,
                       "created_at": "2026-03-02T01:00:00Z", "applications": [summary],
                       "certifications": [{"kind": "k", "status": "active", "granted_at": "2026-03-02T01:00:00Z",
                                           "valid_until": null}]},
        "district_name": text, "may_open": true, "year": 2026, "q": "x", "enterprise_id": "e1",
    });
    // The enterprise pages' keys (registration, uploads, blockers, votes, home, print).
    let enterprise_pages = json!({
        "values": {"name": "E", "uscc": "914403001922038216", "district": "jingkou"},
        "districts": [{"id": "jingkou", "name": text}],
        "blockers": [{"action": "submit", "title": text, "reasons": [{"field": "staff", "message": "m"}, {"field": "", "message": "r"}]}],
        "votes": {"tallies": [{"title": text, "count": 1, "needed": 2}],
                  "voters": [{"name": "X", "vote": text, "at": "2026-03-02T01:00:00Z", "comment": "c"}]},
        "certifications": [{"title": text, "status": "active", "granted_at": "2026-03-02T01:00:00Z",
                            "valid_until": "2029-03-02T01:00:00Z"}],
        "cases": [summary],
        "printed_at": "2026-03-02T01:00:00Z",
    });
    let mut ctx = ctx;
    for (k, v) in more
        .as_object()
        .unwrap()
        .iter()
        .chain(staff_pages.as_object().unwrap())
        .chain(enterprise_pages.as_object().unwrap())
    {
        ctx[k] = v.clone();
    }
    let mut n = 0;
    for e in std::fs::read_dir("templates/pages").unwrap() {
        let name = format!("pages/{}", e.unwrap().file_name().to_string_lossy());
        let html = pages.render(&name, &ctx).unwrap_or_else(|e| panic!("{name}: {e:#}"));
        assert!(html.contains("</html>"), "{name}");
        let mut zh = ctx.clone();
        zh["lang"] = json!("zh");
        zh["user"] = json!(null);
        pages.render(&name, &zh).unwrap_or_else(|e| panic!("{name} (zh, signed out): {e:#}"));
        n += 1;
    }
    assert!(n >= 7);
}
