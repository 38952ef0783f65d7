//! The enterprise directory for staff: the list with a filter and pages, and one enterprise
//! with its applications and certifications.

use std::collections::HashMap;

use actix_web::{HttpResponse, web};
use serde_json::{Value, json};

use super::PageUser;
use super::paging::{Paging, param};
use crate::domain::access::{Actor, AppFacts};
use crate::engine::{Engine, EnterpriseFilter};

/// Enterprises per page unless `?per_page=` asks otherwise.
const ENTERPRISES_PER_PAGE: u64 = 50;

/// The districts the filter offers: those whose enterprises the actor may see.
fn districts(engine: &Engine, actor: &Actor) -> Vec<Value> {
    let own = actor.staff_districts();
    engine
        .defs
        .jurisdictions
        .districts()
        .filter(|d| actor.sees_everything() || own.contains(&d.id))
        .map(|d| json!({"id": d.id, "name": d.name}))
        .collect()
}

/// `GET /enterprises`: the enterprises the caller may see, with name, USCC, district and the
/// number of applications; `?q=` (name or USCC), `?district=`, `?page=`.
pub async fn enterprises_page(user: PageUser, q: web::Query<HashMap<String, String>>) -> HttpResponse {
    let r = async {
        let engine = &user.v.engine;
        let paging = Paging::from_query(&q, ENTERPRISES_PER_PAGE);
        let (text, district) = (param(&q, "q"), param(&q, "district"));
        let filter = EnterpriseFilter {
            text: Some(text.to_string()),
            district: Some(district.to_string()),
            role: None,
            page: paging.page,
            per_page: paging.per_page,
        };
        let page = engine.enterprises(&user.actor, filter).await?;
        let names: HashMap<String, Value> =
            engine.defs.jurisdictions.districts().map(|d| (d.id.clone(), json!(d.name))).collect();
        let items: Vec<Value> = page
            .items
            .iter()
            .map(|e| {
                let mut v = json!(e);
                v["district_name"] = names.get(&e.district).cloned().unwrap_or(json!(e.district));
                v
            })
            .collect();
        let ctx = json!({
            "nav": "enterprises",
            "enterprises": items,
            "total": page.total,
            "filter": {"q": text, "district": district, "districts": districts(engine, &user.actor)},
            "paging": paging.context("/enterprises", page.total, &[("q", text), ("district", district)]),
        });
        user.render("pages/enterprises.html", ctx)
    }
    .await;
    user.finish(r)
}

/// `GET /enterprises/{id}`: the enterprise (as `GET /api/enterprises/{id}`: 404 outside the
/// caller's jurisdiction), the applications the caller may see, and its certifications.
pub async fn enterprise_page(user: PageUser, id: web::Path<String>) -> HttpResponse {
    let r = async {
        let engine = &user.v.engine;
        let mut view = engine.enterprise_view(&user.actor, &id).await?;
        view.applications
            .retain(|a| user.actor.may_see(AppFacts { enterprise_id: &a.enterprise_id, district: &a.district }));
        let district = engine.defs.jurisdictions.district(&view.district).map(|d| json!(d.name));
        user.render(
            "pages/enterprise_detail.html",
            json!({"nav": "enterprises", "enterprise": view, "district_name": district}),
        )
    }
    .await;
    user.finish(r)
}
