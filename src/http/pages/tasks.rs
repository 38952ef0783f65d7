//! The reviewer's inbox.

use std::collections::HashMap;

use actix_web::{HttpResponse, web};
use serde_json::{Value, json};

use super::PageUser;
use super::paging::{Paging, param};

/// Inbox lines per page unless `?per_page=` asks otherwise.
const PER_PAGE: u64 = 50;

/// `GET /tasks`: what the caller may act on now, oldest deadline first, overdue marked;
/// filtered by `?workflow=` and `?overdue=1`, one page at a time (`?page=`, `?per_page=`).
pub async fn tasks_page(user: PageUser, q: web::Query<HashMap<String, String>>) -> HttpResponse {
    let r = async {
        let items = user.v.engine.tasks(&user.actor).await?;
        let workflow = param(&q, "workflow");
        let overdue = !param(&q, "overdue").is_empty();
        // The workflows the caller has work in, for the filter (titles from the definitions).
        let mut workflows: Vec<Value> = Vec::new();
        for i in &items {
            let key = i.application.workflow.as_str();
            if !workflows.iter().any(|w| w["key"] == key) {
                workflows.push(json!({"key": key, "title": i.application.workflow_title}));
            }
        }
        let matching: Vec<_> = items
            .into_iter()
            .filter(|i| workflow.is_empty() || i.application.workflow == workflow)
            .filter(|i| !overdue || i.overdue)
            .collect();
        let paging = Paging::from_query(&q, PER_PAGE);
        let total = matching.len() as u64;
        let overdue_flag = if overdue { "1" } else { "" };
        let ctx = json!({
            "nav": "tasks",
            "items": paging.slice(matching),
            "paging": paging.context("/tasks", total, &[("workflow", workflow), ("overdue", overdue_flag)]),
            "filter": {"workflow": workflow, "overdue": overdue},
            "task_workflows": workflows,
        });
        user.render("pages/tasks.html", ctx)
    }
    .await;
    user.finish(r)
}
