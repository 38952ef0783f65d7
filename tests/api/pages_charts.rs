//! The workflow catalogue and diagrams, and the programme dashboard, as a browser sees them.

use certflow::domain::role::Role;
use reqwest::StatusCode;
use serde_json::json;

use crate::dual_test;
use crate::helpers::{TestApp, good_sample, seed_certification, start_time};
use crate::pages::Browser;

/// `1500` → `1,500`, as the pages write counts.
fn grouped(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Text as the pages' templates escape it.
fn escaped(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#x27;")
        .replace('/', "&#x2f;")
}

dual_test!(the_catalogue_lists_every_workflow_with_a_diagram_link, |app: TestApp| async move {
    let (_, ent) = app.register_enterprise("jingkou").await;
    let b = Browser::signed_in(&app, &ent).await;
    let html = b.html("/workflows").await;
    let api = app.get("/api/workflows", &ent).await;
    let items = api.body["items"].as_array().unwrap();
    assert!(!items.is_empty());
    for w in items {
        let key = w["key"].as_str().unwrap();
        assert!(html.contains(&format!("href=\"/workflows/{key}\"")), "{key} not linked");
        assert!(html.contains(&escaped(w["title"]["zh"].as_str().unwrap())), "{key}: title missing");
    }
    assert!(html.contains("href=\"/workflows\" aria-current=\"page\""), "nav link marked current");
    assert!(!html.contains("href=\"/dashboard\""), "no dashboard link for an enterprise");

    // Staff see it too, with the dashboard link.
    let reviewer = app.staff(Role::Reviewer, Some("jingkou")).await;
    let s = Browser::signed_in(&app, &reviewer).await;
    let html = s.html("/workflows").await;
    assert!(html.contains("href=\"/dashboard\""));

    // Signed out: to the sign-in page.
    let anon = Browser::new(&app);
    assert_eq!(Browser::location(&anon.get("/workflows").await), "/login");
});

dual_test!(a_diagram_shows_every_state_in_the_page_language, |app: TestApp| async move {
    let (_, ent) = app.register_enterprise("jingkou").await;
    let b = Browser::signed_in(&app, &ent).await;
    let items = app.get("/api/workflows", &ent).await.body["items"].as_array().unwrap().clone();
    for w in &items {
        let key = w["key"].as_str().unwrap();
        let def = app.get(&format!("/api/workflows/{key}"), &ent).await.body;
        for lang in ["zh", "en"] {
            let html = b.html(&format!("/workflows/{key}?lang={lang}")).await;
            assert!(html.contains("<svg"), "{key}");
            assert!(html.contains("role=\"img\""), "{key}");
            assert!(!html.contains("style="), "{key}: no style attributes under the CSP");
            for st in def["states"].as_array().unwrap() {
                let title = st["title"][lang].as_str().unwrap_or_else(|| st["name"].as_str().unwrap());
                // In the table (escaped by the template)…
                assert!(html.contains(&escaped(title)), "{key}/{lang}: state {title} missing");
                for a in st["actions"].as_array().unwrap() {
                    if let Some(t) = a["title"][lang].as_str() {
                        assert!(html.contains(&escaped(t)), "{key}/{lang}: action {t} missing");
                    }
                }
            }
        }
    }
    let r = b.get("/workflows/no-such-workflow").await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(r.text().await.unwrap().contains("</html>"), "the error page");
});

dual_test!(the_dashboard_shows_the_targets_of_the_api, |app: TestApp| async move {
    let (ent_id, ent) = app.register_enterprise("jingkou").await;
    let admin = app.staff(Role::Admin, None).await;
    let plan = app.get("/api/dashboard", &admin).await.body;
    let kind = plan["targets"][0]["certification"].as_str().unwrap().to_string();
    seed_certification(&app, &ent_id, &kind, "active", start_time() + chrono::Duration::days(3 * 365)).await;
    app.create(&ent, "sample-recognition", good_sample()).await;

    let reviewer = app.staff(Role::Reviewer, Some("jingkou")).await;
    let api = app.get("/api/dashboard", &reviewer).await;
    assert_eq!(api.status, StatusCode::OK);
    let b = Browser::signed_in(&app, &reviewer).await;
    let html = b.html("/dashboard?lang=zh-CN").await;
    assert!(html.contains("href=\"/dashboard\" aria-current=\"page\""));
    assert!(html.matches("<svg").count() >= 2, "targets and applications charts");
    let targets = api.body["targets"].as_array().unwrap();
    assert_eq!(targets[0]["current"], json!(1), "the seeded certification counts");
    for t in targets {
        let (current, target) = (t["current"].as_u64().unwrap(), t["target"].as_u64().unwrap());
        assert!(html.contains(&escaped(t["title"]["zh"].as_str().unwrap())), "{t}");
        assert!(html.contains(&format!("{} / {}", grouped(current), grouped(target))), "{t}");
        let pct = format!("{:.1}%", t["percent"].as_f64().unwrap());
        assert!(html.contains(&pct), "{t}: {pct}");
    }
    // The application counts under its programme's title.
    let title =
        app.get("/api/workflows/sample-recognition", &reviewer).await.body["title"]["zh"].as_str().unwrap().to_string();
    assert!(html.contains(&escaped(&title)));

    // Finance sees every budget in yuan with separators.
    let finance = app.staff(Role::Finance, None).await;
    let budgets = app.get("/api/budgets", &finance).await.body;
    let f = Browser::signed_in(&app, &finance).await;
    let html = f.html("/dashboard?lang=en").await;
    for bu in budgets["items"].as_array().unwrap() {
        let total = bu["total"].as_str().unwrap();
        let (int, frac) = total.split_once('.').unwrap_or((total, "00"));
        let money = format!("¥{}.{frac}", grouped(int.parse().unwrap()));
        assert!(html.contains(&money), "{money} missing");
    }
});

dual_test!(enterprises_may_not_see_the_dashboard, |app: TestApp| async move {
    let (_, ent) = app.register_enterprise("jingkou").await;
    let api = app.get("/api/dashboard", &ent).await;
    let b = Browser::signed_in(&app, &ent).await;
    let r = b.get("/dashboard").await;
    assert_eq!(r.status().as_u16(), api.status.as_u16(), "the page refuses as the API does");
    assert!(r.status() == StatusCode::FORBIDDEN || r.status() == StatusCode::NOT_FOUND);
    let html = r.text().await.unwrap();
    assert!(!html.contains("<svg"));
});
