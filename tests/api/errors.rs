//! Every error is RFC 9457 problem+json with the right status, in the caller's language; and
//! the operational endpoints: health, readiness, metrics, and an OpenAPI document covering every
//! route of the route table.

use certflow::domain::role::Role;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::dual_test;
use crate::helpers::{Resp, TestApp, good_sample};

/// Sends raw bytes with a content type (and a bearer token when given).
async fn raw(
    app: &TestApp,
    method: Method,
    path: &str,
    token: Option<&str>,
    content_type: &str,
    body: Vec<u8>,
    headers: &[(&str, &str)],
) -> Resp {
    let mut req =
        app.client.request(method, format!("{}{}", app.address, path)).header("content-type", content_type).body(body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    TestApp::read(req.send().await.expect("request sent")).await
}

/// Asserts the status and the RFC 9457 shape: type, title, status, detail.
fn assert_problem(r: &Resp, status: StatusCode) {
    assert_eq!(r.status, status, "{:?}", r.body);
    assert_eq!(r.content_type, "application/problem+json", "{status}: {:?}", r.body);
    assert!(r.body["type"].as_str().is_some_and(|t| !t.is_empty()), "{:?}", r.body);
    assert!(r.body["title"].as_str().is_some_and(|t| !t.is_empty()), "{:?}", r.body);
    assert_eq!(r.body["status"], status.as_u16(), "{:?}", r.body);
    assert!(r.body["detail"].is_string(), "{:?}", r.body);
}

fn error_fields(r: &Resp) -> Vec<String> {
    r.body["errors"]
        .as_array()
        .map_or_else(Vec::new, |a| a.iter().map(|e| e["field"].as_str().unwrap_or("").to_string()).collect())
}

/// A draft of the sample workflow; returns its id.
async fn draft(app: &TestApp, ent: &str) -> String {
    app.create(ent, "sample-recognition", good_sample()).await["id"].as_str().unwrap().to_string()
}

dual_test!(a_malformed_json_body_is_400, |app: TestApp| async move {
    let (_, ent) = app.register_enterprise("jingkou").await;
    let id = draft(&app, &ent).await;
    let bad = b"{\"workflow\": \"sample-recognition\",".to_vec();
    let r = raw(&app, Method::POST, "/api/applications", Some(&ent), "application/json", bad.clone(), &[]).await;
    assert_problem(&r, StatusCode::BAD_REQUEST);
    let r = raw(&app, Method::POST, "/api/register", None, "application/json", b"not json at all".to_vec(), &[]).await;
    assert_problem(&r, StatusCode::BAD_REQUEST);
    let r = raw(
        &app,
        Method::PATCH,
        &format!("/api/applications/{id}"),
        Some(&ent),
        "application/json",
        b"{\"data\": {".to_vec(),
        &[],
    )
    .await;
    assert_problem(&r, StatusCode::BAD_REQUEST);
    // Nothing was created.
    assert_eq!(app.get("/api/applications", &ent).await.body["total"], 1);
});

dual_test!(a_malformed_action_body_is_refused_and_not_taken_as_an_empty_request, |app: TestApp| async move {
    // Arrange: an application waiting for the district.
    let (_, ent) = app.register_enterprise("jingkou").await;
    let district = app.staff(Role::Reviewer, Some("jingkou")).await;
    let id = draft(&app, &ent).await;
    assert_eq!(app.act(&ent, &id, "submit", json!({})).await.status, StatusCode::OK);
    let path = format!("/api/applications/{id}/actions/approve");

    // Act + Assert: broken JSON, a misspelt field and a wrongly typed comment are all refused.
    let r = raw(&app, Method::POST, &path, Some(&district), "application/json", b"{\"comment\": ".to_vec(), &[]).await;
    assert_problem(&r, StatusCode::BAD_REQUEST);
    let r = app.post(&path, &district, json!({"coment": "同意"})).await;
    assert!(r.status == StatusCode::BAD_REQUEST || r.status == StatusCode::UNPROCESSABLE_ENTITY, "{:?}", r);
    assert_eq!(r.content_type, "application/problem+json");
    let r = app.post(&path, &district, json!({"comment": 5})).await;
    assert!(r.status == StatusCode::BAD_REQUEST || r.status == StatusCode::UNPROCESSABLE_ENTITY, "{:?}", r);
    let r = app.get(&format!("/api/applications/{id}"), &district).await;
    assert_eq!(r.body["state"], "district_review", "none of the broken requests approved the application");

    // An action without any body is still fine.
    let r = app.request(Method::POST, &path, Some(&district), None, &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["state"], "city_review");
});

dual_test!(a_field_of_the_wrong_type_is_422_problem_json, |app: TestApp| async move {
    let (_, ent) = app.register_enterprise("jingkou").await;
    let r = app.post("/api/applications", &ent, json!({"workflow": 5})).await;
    assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY);
    let r = app.post("/api/applications", &ent, json!({"workflow": "sample-recognition", "data": "all of it"})).await;
    assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY);
    let r = app.post("/api/applications", &ent, json!({"workflow": "sample-recognition", "colour": "red"})).await;
    assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.get("/api/applications", &ent).await.body["total"], 0);
});

dual_test!(an_unknown_workflow_is_422_naming_the_workflow_field, |app: TestApp| async move {
    let (_, ent) = app.register_enterprise("jingkou").await;
    let r = app.post("/api/applications", &ent, json!({"workflow": "moon-landing", "data": {}})).await;
    assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_fields(&r), vec!["workflow"]);
    assert!(r.body["errors"][0]["message"].as_str().unwrap().contains("moon-landing"), "{:?}", r.body);
});

dual_test!(an_unknown_action_is_404_and_an_action_of_another_state_is_409, |app: TestApp| async move {
    let (_, ent) = app.register_enterprise("jingkou").await;
    let district = app.staff(Role::Reviewer, Some("jingkou")).await;
    let id = draft(&app, &ent).await;
    assert_problem(&app.act(&ent, &id, "fly-to-the-moon", json!({})).await, StatusCode::NOT_FOUND);
    assert_problem(&app.act(&district, &id, "fly-to-the-moon", json!({})).await, StatusCode::NOT_FOUND);
    // `approve` exists in the workflow, but not in the draft.
    assert_problem(&app.act(&district, &id, "approve", json!({})).await, StatusCode::CONFLICT);
    assert_problem(&app.act(&ent, &id, "publish", json!({})).await, StatusCode::CONFLICT);
    // An application that does not exist.
    assert_problem(
        &app.act(&ent, "00000000-0000-0000-0000-000000000000", "submit", json!({})).await,
        StatusCode::NOT_FOUND,
    );
    assert_problem(
        &app.get("/api/applications/00000000-0000-0000-0000-000000000000", &district).await,
        StatusCode::NOT_FOUND,
    );
    let r = app.get(&format!("/api/applications/{id}"), &ent).await;
    assert_eq!(r.body["state"], "draft");
    assert_eq!(r.body["history"].as_array().unwrap().len(), 1);
});

dual_test!(an_action_that_requires_a_comment_is_refused_without_one, |app: TestApp| async move {
    // Arrange
    let (_, ent) = app.register_enterprise("jingkou").await;
    let district = app.staff(Role::Reviewer, Some("jingkou")).await;
    let id = draft(&app, &ent).await;
    assert_eq!(app.act(&ent, &id, "submit", json!({})).await.status, StatusCode::OK);

    // Act + Assert
    for body in [json!({}), json!({"comment": "   "}), json!({"comment": null})] {
        let r = app.act(&district, &id, "return", body.clone()).await;
        assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(error_fields(&r), vec!["comment"], "{body}");
    }
    assert_problem(&app.act(&district, &id, "reject", json!({})).await, StatusCode::UNPROCESSABLE_ENTITY);
    let r = app.act(&district, &id, "return", json!({"comment": "请补充材料"})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["state"], "draft");
});

dual_test!(unknown_routes_are_404_problem_json, |app: TestApp| async move {
    let (_, ent) = app.register_enterprise("jingkou").await;
    for path in ["/api/nope", "/nothing", "/api/applications/x/y/z"] {
        let r = app.request(Method::GET, path, None, None, &[]).await;
        assert_problem(&r, StatusCode::NOT_FOUND);
        let r = app.get(path, &ent).await;
        assert_problem(&r, StatusCode::NOT_FOUND);
    }
    // A method that a known path does not offer.
    let r = app.request(Method::DELETE, "/api/me", Some(&ent), None, &[]).await;
    assert!(r.status == StatusCode::NOT_FOUND || r.status == StatusCode::METHOD_NOT_ALLOWED, "{:?}", r);
    assert_eq!(r.content_type, "application/problem+json", "{:?}", r);
});

dual_test!(a_json_body_over_one_mebibyte_is_413, |app: TestApp| async move {
    let (_, ent) = app.register_enterprise("jingkou").await;
    let id = draft(&app, &ent).await;
    let big = "字".repeat(400 * 1024); // 1.2 MB of UTF-8
    let r = app
        .post("/api/applications", &ent, json!({"workflow": "sample-recognition", "data": {"summary": big.clone()}}))
        .await;
    assert_problem(&r, StatusCode::PAYLOAD_TOO_LARGE);
    let r = app.patch(&format!("/api/applications/{id}"), &ent, json!({"data": {"summary": big.clone()}})).await;
    assert_problem(&r, StatusCode::PAYLOAD_TOO_LARGE);
    let r = app.act(&ent, &id, "submit", json!({"data": {"summary": big}})).await;
    assert_problem(&r, StatusCode::PAYLOAD_TOO_LARGE);
    let r = app.get(&format!("/api/applications/{id}"), &ent).await;
    assert_eq!(r.body["state"], "draft");
    assert_eq!(app.get("/api/applications", &ent).await.body["total"], 1);
});

dual_test!(errors_follow_accept_language_and_default_to_chinese, |app: TestApp| async move {
    let (_, ent) = app.register_enterprise("jingkou").await;
    let missing = "/api/applications/00000000-0000-0000-0000-000000000000";
    let zh = app.get(missing, &ent).await;
    let en = app.request(Method::GET, missing, Some(&ent), None, &[("Accept-Language", "en")]).await;
    let en_us = app.request(Method::GET, missing, Some(&ent), None, &[("Accept-Language", "en-US,en;q=0.9")]).await;
    let zh_cn = app.request(Method::GET, missing, Some(&ent), None, &[("Accept-Language", "zh-CN")]).await;
    assert_problem(&zh, StatusCode::NOT_FOUND);
    assert_eq!(zh.body["title"], "未找到");
    assert_eq!(zh_cn.body["title"], "未找到");
    assert_eq!(en.body["title"], "Not found");
    assert_eq!(en_us.body["title"], "Not found");
    assert_ne!(zh.body["detail"], en.body["detail"]);
    // A 422 from the engine, with its field messages.
    let body = json!({"workflow": "moon-landing"});
    let zh = app.post("/api/applications", &ent, body.clone()).await;
    let en = app.request(Method::POST, "/api/applications", Some(&ent), Some(body), &[("Accept-Language", "en")]).await;
    assert_eq!(zh.body["title"], "流程不存在");
    assert_eq!(en.body["title"], "unknown workflow");
    assert!(en.body["errors"][0]["message"].as_str().unwrap().starts_with("there is no workflow"), "{:?}", en.body);
    // An error raised before the handler runs (no token; broken JSON).
    let zh = app.request(Method::GET, "/api/me", None, None, &[]).await;
    let en = app.request(Method::GET, "/api/me", None, None, &[("Accept-Language", "en")]).await;
    assert_problem(&zh, StatusCode::UNAUTHORIZED);
    assert_eq!(zh.body["title"], "需要登录");
    assert_eq!(en.body["title"], "Unauthorized");
    let en = raw(
        &app,
        Method::POST,
        "/api/applications",
        Some(&ent),
        "application/json",
        b"{".to_vec(),
        &[("Accept-Language", "en")],
    )
    .await;
    assert_eq!(en.body["title"], "Bad request", "{:?}", en.body);
});

dual_test!(form_data_of_the_wrong_type_or_an_unknown_field_is_422_naming_the_field, |app: TestApp| async move {
    // Arrange
    let (_, ent) = app.register_enterprise("jingkou").await;
    let id = draft(&app, &ent).await;
    let path = format!("/api/applications/{id}");

    // Act + Assert
    let r = app.patch(&path, &ent, json!({"data": {"staff": "many"}})).await;
    assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_fields(&r), vec!["staff"]);
    let r = app.patch(&path, &ent, json!({"data": {"favourite_colour": "red"}})).await;
    assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_fields(&r), vec!["favourite_colour"]);
    let r = app.patch(&path, &ent, json!({"data": {"staff": 12.5, "sector": "mining", "founded": "yesterday"}})).await;
    assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY);
    let mut fields = error_fields(&r);
    fields.sort();
    assert_eq!(fields, vec!["founded", "sector", "staff"]);
    // The same checks apply when the application is created.
    let r =
        app.post("/api/applications", &ent, json!({"workflow": "sample-recognition", "data": {"staff": "many"}})).await;
    assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_fields(&r), vec!["staff"]);
    // The refused patches changed nothing.
    let r = app.get(&path, &ent).await;
    assert_eq!(r.body["data"]["staff"], 50);
    assert_eq!(r.body["history"].as_array().unwrap().len(), 1);
});

dual_test!(health_readiness_and_metrics_answer, |app: TestApp| async move {
    // Arrange: one application, so that the metrics have something to count.
    let (_, ent) = app.register_enterprise("jingkou").await;
    draft(&app, &ent).await;

    // Act + Assert
    let r = app.request(Method::GET, "/healthz", None, None, &[]).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["status"], "ok");
    let r = app.request(Method::GET, "/readyz", None, None, &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let catalogue = app.get("/api/workflows", &ent).await.body["items"].as_array().unwrap().len();
    assert!(catalogue >= 2, "the sample workflows are loaded");
    assert_eq!(r.body["workflows"], catalogue, "{:?}", r.body);
    let r = app.request(Method::GET, "/metrics", None, None, &[]).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.content_type.starts_with("text/plain"), "{}", r.content_type);
    let text = r.body.as_str().expect("metrics are text");
    assert!(text.contains("# TYPE certflow_applications gauge"), "{text}");
    assert!(text.contains("certflow_applications{workflow=\"sample-recognition\",state=\"draft\"} 1"), "{text}");
});

/// Every `(method, full path)` of the route table in `src/http/mod.rs`, read from its source:
/// `.route("…", web::method()…)` calls, prefixed by the `web::scope("…")` they are chained on.
fn route_table() -> Vec<(String, String)> {
    let src = std::fs::read_to_string("src/http/mod.rs").expect("src/http/mod.rs");
    // Line comments may hold parentheses; drop them.
    let code: String = src.lines().map(|l| l.split("//").next().unwrap_or("")).collect::<Vec<_>>().join("\n");
    let bytes = code.as_bytes();
    let mut routes = Vec::new();
    let mut scopes: Vec<(String, i32)> = Vec::new();
    let mut depth = 0i32;
    let mut i = 0;
    let string_at = |start: usize| -> (String, usize) {
        let end = code[start..].find('"').map(|e| start + e).expect("closing quote");
        (code[start..end].to_string(), end + 1)
    };
    while i < bytes.len() {
        let rest = &code[i..];
        if rest.starts_with("web::scope(\"") {
            let (prefix, next) = string_at(i + "web::scope(\"".len());
            scopes.push((prefix, depth));
            depth += 1; // the scope call's own parenthesis
            i = next;
            continue;
        }
        if rest.starts_with(".route(\"") {
            let (path, next) = string_at(i + ".route(\"".len());
            let after = &code[next..];
            let method = ["get", "post", "patch", "put", "delete"]
                .into_iter()
                .filter_map(|m| after.find(&format!("web::{m}()")).map(|p| (p, m)))
                .min()
                .map(|(_, m)| m.to_string())
                .expect("a method for the route");
            let prefix: String = scopes.iter().map(|(p, _)| p.as_str()).collect();
            // HTML pages are not part of the JSON API and its document.
            let page = after.find(".to(").is_some_and(|p| after[p + ".to(".len()..].starts_with("pages::"));
            if !page {
                routes.push((method, format!("{prefix}{path}")));
            }
            depth += 1;
            i = next;
            continue;
        }
        match bytes[i] {
            b'"' => {
                let (_, next) = string_at(i + 1);
                i = next;
                continue;
            }
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                while scopes.last().is_some_and(|(_, d)| depth < *d) {
                    scopes.pop();
                }
            }
            _ => {}
        }
        i += 1;
    }
    routes
}

dual_test!(the_openapi_document_describes_every_route_of_the_route_table, |app: TestApp| async move {
    // Arrange
    let routes = route_table();
    assert!(routes.len() >= 20, "the route table was read: {routes:?}");
    assert!(routes.contains(&("get".into(), "/healthz".into())), "{routes:?}");
    assert!(routes.contains(&("post".into(), "/api/applications/{id}/actions/{action}".into())), "{routes:?}");

    // Act
    let r = app.request(Method::GET, "/api/openapi.json", None, None, &[]).await;

    // Assert
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["openapi"], "3.1.0");
    let paths = r.body["paths"].as_object().expect("paths");
    let missing: Vec<String> = routes
        .iter()
        .filter(|(method, path)| paths.get(path).and_then(|p| p.get(method)).is_none())
        .map(|(m, p)| format!("{} {p}", m.to_uppercase()))
        .collect();
    assert!(missing.is_empty(), "routes missing from the OpenAPI document: {missing:?}");
    // And it describes nothing that is not served.
    let served: Vec<String> = routes.iter().map(|(_, p)| p.clone()).collect();
    let extra: Vec<&String> = paths.keys().filter(|p| !served.contains(p)).collect();
    assert!(extra.is_empty(), "documented but not routed: {extra:?}");
    let problem: &Value = &r.body["components"]["schemas"]["Problem"]["properties"];
    for key in ["type", "title", "status", "detail", "errors"] {
        assert!(problem.get(key).is_some(), "the Problem schema has {key}");
    }
});
