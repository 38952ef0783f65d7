//! Finance: the disbursement queue (workflows that pay out of a budget) and the year's budgets.

use actix_web::HttpResponse;
use chrono::Datelike;
use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::PageUser;
use crate::domain::access::Actor;
use crate::domain::definition::By;
use crate::engine::Engine;

/// The category of the workflows whose applications pay money out (`category:` of a definition).
/// Whether the actor works a workflow that pays out of a budget (assignee or named role of one of its actions):
/// then the navigation offers the finance page.
pub(super) fn works_disbursements(engine: &Engine, actor: &Actor) -> bool {
    engine.defs.catalogue.latest_all().filter(|d| d.disburses()).any(|d| {
        d.states().any(|s| {
            s.actions.values().any(|a| match a.by {
                By::Assignee => s.assignee.as_ref().is_some_and(|x| actor.has_role(x.role)),
                By::Role(r) => actor.has_role(r),
                By::Applicant | By::System => false,
            })
        })
    })
}

/// An amount in yuan (exact decimal text) as `¥1,234,567.80`; text that is no number as it is.
pub(super) fn yuan(amount: &str) -> String {
    let Ok(d) = amount.trim().parse::<Decimal>() else { return amount.to_string() };
    let text = format!("{:.2}", d.round_dp(2).abs());
    let (whole, cents) = text.split_once('.').unwrap_or((&text, "00"));
    let mut grouped = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let sign = if d.is_sign_negative() && !d.is_zero() { "-" } else { "" };
    format!("{sign}¥{grouped}.{cents}")
}

/// `GET /finance`: what waits for the caller in the workflows that pay out of a budget, each with its own action
/// forms, and this year's budgets. Only those who may see budgets (as `GET /api/budgets`).
pub async fn finance_page(user: PageUser) -> HttpResponse {
    let r = async {
        let engine = &user.v.engine;
        let budgets = engine.budgets(&user.actor).await?;
        let year = engine.now().with_timezone(&crate::domain::calendar::china_offset()).year();
        let budgets: Vec<Value> = budgets
            .into_iter()
            .filter(|b| b.year == year)
            .map(|b| {
                let mut v = json!(b);
                for k in ["total", "reserved", "spent", "left"] {
                    v[format!("{k}_shown")] = json!(yuan(v[k].as_str().unwrap_or_default()));
                }
                v
            })
            .collect();
        let items: Vec<Value> = engine
            .disbursement_queue(&user.actor)
            .await?
            .into_iter()
            .map(|i| {
                let shown = i.amount.as_deref().map(yuan);
                let mut v = json!(i);
                v["amount_shown"] = json!(shown);
                v
            })
            .collect();
        user.render("pages/finance.html", json!({"nav": "finance", "items": items, "budgets": budgets, "year": year}))
    }
    .await;
    user.finish(r)
}

#[cfg(test)]
mod tests {
    use super::yuan;

    #[test]
    fn amounts_show_in_yuan_with_thousands_separators() {
        assert_eq!(yuan("300000.00"), "¥300,000.00");
        assert_eq!(yuan("1234567.8"), "¥1,234,567.80");
        assert_eq!(yuan("999"), "¥999.00");
        assert_eq!(yuan("0"), "¥0.00");
        assert_eq!(yuan("-1500.5"), "-¥1,500.50");
        assert_eq!(yuan("n/a"), "n/a");
    }
}
