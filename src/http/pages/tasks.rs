//! The reviewer's inbox.

use actix_web::HttpResponse;
use serde_json::json;

use super::PageUser;

/// `GET /tasks`: what the caller may act on now, oldest deadline first, overdue marked.
pub async fn tasks_page(user: PageUser) -> HttpResponse {
    let r = async {
        let items = user.v.engine.tasks(&user.actor).await?;
        user.render("pages/tasks.html", json!({"items": items}))
    }
    .await;
    user.finish(r)
}
