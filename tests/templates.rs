#![allow(clippy::unwrap_used, clippy::expect_used, reason = "a test fails loudly on the first surprise")]
//! Every e-mail template renders in both languages, with every optional value present and with
//! none of them, so a broken template fails CI instead of a notification.

use std::path::Path;

use certflow::domain::text::Lang;
use certflow::engine::{MailSettings, Mailer};
use serde_json::{Value, json};

fn mailer() -> Mailer {
    let settings = MailSettings {
        smtp_url: None,
        from: "certflow@test.cn".into(),
        dir: std::env::temp_dir(),
        max_attempts: 1,
        backoff: chrono::Duration::seconds(1),
    };
    Mailer::new(settings, Path::new("templates")).unwrap()
}

fn names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir("templates/email")
        .unwrap()
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str()?.strip_suffix(".zh-CN.txt").map(str::to_string))
        .filter(|n| !n.starts_with('_'))
        .collect();
    names.sort();
    names
}

fn full() -> Value {
    json!({
        "recipient": {"name": "王经理", "email": "wang@firm.cn"},
        "application": {"number": "20260302-ABCDEF12", "workflow_title": "示例认定流程", "state": "区级初审", "url": "http://certflow.test/applications/1"},
        "enterprise": {"name": "镇江示例精密机械有限公司", "uscc": "91321102MA1DX0001W"},
        "action": {"name": "return", "comment": "请补充研发费用明细"},
        "actor": {"name": "京口区审核员"},
        "deadline": "2026-03-16T24:00:00+08:00",
        "certification": {"kind": "sample-recognition", "valid_until": "2029-03-16T00:00:00+08:00"},
    })
}

#[test]
fn every_template_renders_in_both_languages_with_and_without_optional_values() {
    let m = mailer();
    let names = names();
    for required in [
        "task-assigned",
        "returned",
        "approved",
        "rejected",
        "deadline-reminder",
        "certification-expiring",
        "rectification-ordered",
    ] {
        assert!(names.iter().any(|n| n == required), "template {required} is missing");
    }
    let mut bare = full();
    for key in ["action", "actor", "deadline", "certification"] {
        bare[key] = Value::Null;
    }
    bare["certification"] = json!({"kind": "sample-recognition", "valid_until": null});
    for name in &names {
        for lang in [Lang::Zh, Lang::En] {
            for ctx in [full(), bare.clone()] {
                let (subject, body, _) =
                    m.render(name, lang, &ctx).unwrap_or_else(|e| panic!("{name} {lang:?}: {e:#}"));
                assert!(!subject.is_empty() && !subject.contains("{{"), "{name} {lang:?}: subject `{subject}`");
                assert!(
                    body.contains("20260302-ABCDEF12") || body.contains("sample-recognition"),
                    "{name} {lang:?}: {body}"
                );
                assert!(
                    !body.contains("{{") && !body.contains("{%") && !body.contains("none"),
                    "{name} {lang:?}: {body}"
                );
            }
        }
    }
}

#[test]
fn chinese_and_english_templates_differ() {
    let m = mailer();
    let (zh, _, _) = m.render("returned", Lang::Zh, &full()).unwrap();
    let (en, _, _) = m.render("returned", Lang::En, &full()).unwrap();
    assert_ne!(zh, en);
    assert!(en.is_ascii() || en.contains("20260302-ABCDEF12"), "{en}");
}
