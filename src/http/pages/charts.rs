//! The workflow catalogue and diagrams, and the programme dashboard with its charts.

use std::collections::BTreeMap;

use actix_web::{HttpResponse, web};
use serde_json::{Value, json};

use super::PageUser;
use crate::domain::text::Lang;
use crate::draw::chart::{self, Progress, Stack};
use crate::draw::diagram::{describe, diagram};
use crate::error::AppError;

fn tr(lang: Lang, zh: &str, en: &str) -> String {
    if lang == Lang::En { en.to_string() } else { zh.to_string() }
}

/// `GET /workflows`: the newest version of every workflow, for everyone signed in.
pub async fn workflows_page(user: PageUser) -> HttpResponse {
    let items: Vec<Value> = user
        .v
        .engine
        .defs
        .catalogue
        .latest_all()
        .map(|d| {
            json!({"key": d.key(), "title": d.title(), "description": d.description(), "category": d.category(),
                   "version": d.version(), "states": d.states().count()})
        })
        .collect();
    let r = user.render("pages/workflows.html", json!({"nav": "workflows", "catalogue": items}));
    user.finish(r)
}

/// `GET /workflows/{key}`: a workflow drawn as a diagram, and the same in a table.
pub async fn workflow_page(user: PageUser, key: web::Path<String>) -> HttpResponse {
    let r = (|| {
        let def = user.v.engine.defs.catalogue.latest(&key).cloned().ok_or(AppError::NotFound)?;
        let lang = user.v.lang;
        let drawing = diagram(&def, lang);
        user.render(
            "pages/workflow.html",
            json!({
                "nav": "workflows",
                "workflow": {"key": def.key(), "title": def.title(), "description": def.description(),
                             "category": def.category(), "version": def.version()},
                "diagram": drawing.svg,
                "states": describe(&def, lang),
            }),
        )
    })();
    user.finish(r)
}

/// A money string in yuan with thousands separators, in the page's language.
fn yuan(s: &str, lang: Lang) -> String {
    let g = chart::group_digits(s);
    if lang == Lang::En { format!("¥{g}") } else { format!("{g} 元") }
}

fn money(v: &Value) -> (f64, String) {
    let s = v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string());
    (s.parse().unwrap_or(0.0), s)
}

/// `GET /dashboard`: the plan's targets, applications by workflow and the budgets (staff).
pub async fn dashboard_page(user: PageUser) -> HttpResponse {
    let r = async {
        let engine = &user.v.engine;
        let lang = user.v.lang;
        let d = engine.dashboard(&user.actor).await?;

        // Targets.
        let targets: Vec<Value> = d["targets"].as_array().cloned().unwrap_or_default();
        let rows: Vec<Progress> = targets
            .iter()
            .map(|t| Progress {
                label: t["title"][if lang == Lang::En { "en" } else { "zh" }].as_str().unwrap_or_default().to_string(),
                current: t["current"].as_u64().unwrap_or(0),
                target: t["target"].as_u64().unwrap_or(0),
            })
            .collect();
        let target_rows: Vec<Value> = targets
            .iter()
            .zip(&rows)
            .map(|(t, p)| {
                json!({"title": t["title"], "current": chart::count(p.current), "target": chart::count(p.target),
                       "percent": format!("{:.1}", chart::percent(p.current, p.target)), "met": p.current >= p.target})
            })
            .collect();
        let targets_svg = (!rows.is_empty()).then(|| {
            chart::progress(
                "chart-targets",
                &tr(lang, "计划目标完成情况", "Progress towards the plan's targets"),
                &tr(
                    lang,
                    "每类认定的现有企业数与计划目标之比，数字见下表。",
                    "Enterprises holding each kind of certification against the plan's target; the numbers are in the table below.",
                ),
                &rows,
                &tr(lang, "已完成", "met"),
            )
        });

        // Applications by workflow: in drafting, under review, closed.
        let mut by_workflow: BTreeMap<String, [u64; 3]> = BTreeMap::new();
        let mut by_state: BTreeMap<(String, String), (u64, String)> = BTreeMap::new();
        for c in engine.application_counts(&user.actor).await? {
            let n = u64::try_from(c.count).unwrap_or(0);
            let def = engine.def_of_summary(&c.workflow, c.workflow_version);
            let state = def.and_then(|d| d.state(&c.state));
            let slot = match state {
                Some(s) if s.is_final => 2,
                Some(s) if s.editable.any() => 0,
                _ => 1,
            };
            by_workflow.entry(c.workflow.clone()).or_default()[slot] += n;
            let title = state.and_then(|s| s.title.as_ref()).map_or_else(|| c.state.clone(), |t| t.get(lang).to_string());
            by_state.entry((c.workflow.clone(), c.state.clone())).or_insert((0, title)).0 += n;
        }
        let title_of = |key: &str| {
            engine.defs.catalogue.latest(key).map_or_else(|| key.to_string(), |d| d.title().get(lang).to_string())
        };
        let series =
            vec![tr(lang, "企业填报中", "With the applicant"), tr(lang, "审核中", "Under review"), tr(lang, "已办结", "Closed")];
        let stacks: Vec<Stack> = by_workflow
            .iter()
            .map(|(k, v)| Stack {
                label: title_of(k),
                values: v.iter().map(|n| *n as f64).collect(),
                texts: v.iter().map(|n| chart::count(*n)).collect(),
                total: chart::count(v.iter().sum()),
            })
            .collect();
        let apps_svg = (!stacks.is_empty()).then(|| {
            chart::stacked(
                "chart-applications",
                &tr(lang, "各项目申请数量", "Applications by programme"),
                &tr(
                    lang,
                    "每个项目的申请数，按企业填报中、审核中、已办结分段，数字见下表。",
                    "Applications of each programme, split into with the applicant, under review and closed; the numbers are in the table below.",
                ),
                &series,
                &stacks,
                &|v| chart::count(v as u64),
                false,
            )
        });
        let app_rows: Vec<Value> = by_workflow
            .iter()
            .map(|(k, v)| {
                let states: Vec<Value> = by_state
                    .iter()
                    .filter(|((w, _), _)| w == k)
                    .map(|(_, (n, title))| json!({"title": title, "count": chart::count(*n)}))
                    .collect();
                json!({"key": k, "title": title_of(k), "drafting": chart::count(v[0]), "review": chart::count(v[1]),
                       "closed": chart::count(v[2]), "total": chart::count(v.iter().sum()), "states": states})
            })
            .collect();

        // Budgets: every budget for those who may see them, else the reward fund of the dashboard.
        let budget_rows: Vec<Value> = match engine.budgets(&user.actor).await {
            Ok(list) => list
                .iter()
                .map(|b| {
                    let title = b.title.as_ref().map_or_else(|| b.key.clone(), |t| t.get(lang).to_string());
                    json!({"label": format!("{title} {}", b.year), "total": b.total, "spent": b.spent,
                           "reserved": b.reserved, "left": b.left})
                })
                .collect(),
            Err(AppError::Forbidden(_)) => d["rewards"]
                .as_object()
                .map(|r| {
                    let title = engine
                        .defs
                        .budgets
                        .iter()
                        .find(|b| Some(b.key.as_str()) == r.get("budget").and_then(Value::as_str))
                        .map_or_else(|| r["budget"].to_string(), |b| b.title.get(lang).to_string());
                    vec![json!({"label": format!("{title} {}", r["year"]), "total": r["total"], "spent": r["paid"],
                                "reserved": r["reserved"], "left": r["left"]})]
                })
                .unwrap_or_default(),
            Err(e) => return Err(e),
        };
        let budget_stacks: Vec<Stack> = budget_rows
            .iter()
            .map(|b| {
                let parts = [money(&b["spent"]), money(&b["reserved"]), money(&b["left"])];
                Stack {
                    label: b["label"].as_str().unwrap_or_default().to_string(),
                    values: parts.iter().map(|p| p.0).collect(),
                    texts: parts.iter().map(|p| chart::group_digits(&p.1)).collect(),
                    total: yuan(&money(&b["total"]).1, lang),
                }
            })
            .collect();
        let budgets_svg = (!budget_stacks.is_empty()).then(|| {
            chart::stacked(
                "chart-budgets",
                &tr(lang, "资金使用情况（元）", "Use of budgets (yuan)"),
                &tr(
                    lang,
                    "每项资金的已支付、已预留和剩余金额，金额见下表。",
                    "Paid, reserved and remaining amount of each budget; the amounts are in the table below.",
                ),
                &[tr(lang, "已支付", "Paid"), tr(lang, "已预留", "Reserved"), tr(lang, "剩余", "Left")],
                &budget_stacks,
                &|v| chart::group_digits(&format!("{v:.0}")),
                true,
            )
        });
        let budget_table: Vec<Value> = budget_rows
            .iter()
            .map(|b| {
                json!({"label": b["label"], "total": yuan(&money(&b["total"]).1, lang),
                       "spent": yuan(&money(&b["spent"]).1, lang), "reserved": yuan(&money(&b["reserved"]).1, lang),
                       "left": yuan(&money(&b["left"]).1, lang)})
            })
            .collect();

        user.render(
            "pages/dashboard.html",
            json!({
                "nav": "dashboard",
                "dashboard": {"title": d["title"], "generated_at": d["generated_at"], "averages": d["averages"]},
                "targets": target_rows, "targets_svg": targets_svg,
                "by_workflow": app_rows, "applications_svg": apps_svg,
                "budgets": budget_table, "budgets_svg": budgets_svg,
            }),
        )
    }
    .await;
    user.finish(r)
}
