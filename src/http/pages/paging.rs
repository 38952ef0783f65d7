//! Lists in pages: `?page=` and `?per_page=` (at most 100), and previous/next links that keep
//! the list's filters.

use std::collections::HashMap;

use serde_json::{Value, json};

use crate::engine::{Engine, ListFilter};

/// The most lines one page of a list shows.
pub const MAX_PER_PAGE: u64 = 100;

/// Which page of a list is asked for.
#[derive(Debug, Clone, Copy)]
pub struct Paging {
    pub page: u64,
    pub per_page: u64,
    /// `per_page` was given in the query (then the links carry it on).
    chosen: bool,
}

impl Paging {
    /// Reads `page` (from 1) and `per_page` (1 to 100, else `default`) from the query.
    pub fn from_query(q: &HashMap<String, String>, default: u64) -> Paging {
        let page = q.get("page").and_then(|p| p.trim().parse::<u64>().ok()).unwrap_or(1).max(1);
        let asked = q.get("per_page").and_then(|p| p.trim().parse::<u64>().ok());
        Paging { page, per_page: asked.unwrap_or(default).clamp(1, MAX_PER_PAGE), chosen: asked.is_some() }
    }

    /// The part of a whole list that this page shows.
    pub fn slice<T>(&self, items: Vec<T>) -> Vec<T> {
        let skip = usize::try_from((self.page - 1).saturating_mul(self.per_page)).unwrap_or(usize::MAX);
        let take = usize::try_from(self.per_page).unwrap_or(usize::MAX);
        items.into_iter().skip(skip).take(take).collect()
    }

    /// The template's `paging`: page, pages, total, and the previous/next links (or null),
    /// each keeping the filters in `keep` (empty values are left out).
    pub fn context(&self, path: &str, total: u64, keep: &[(&str, &str)]) -> Value {
        let pages = total.div_ceil(self.per_page).max(1);
        let link = |page: u64| {
            let mut pairs: Vec<(&str, String)> =
                keep.iter().filter(|(_, v)| !v.is_empty()).map(|(k, v)| (*k, (*v).to_string())).collect();
            if self.chosen {
                pairs.push(("per_page", self.per_page.to_string()));
            }
            pairs.push(("page", page.to_string()));
            let query: Vec<String> = pairs.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect();
            format!("{path}?{}", query.join("&"))
        };
        json!({
            "page": self.page,
            "pages": pages,
            "total": total,
            "prev": if self.page > 1 { json!(link((self.page - 1).min(pages))) } else { Value::Null },
            "next": if self.page < pages { json!(link(self.page + 1)) } else { Value::Null },
        })
    }
}

/// Percent-encodes a query component (everything but unreserved characters).
pub fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// A query value, trimmed; empty when absent.
pub fn param<'a>(q: &'a HashMap<String, String>, key: &str) -> &'a str {
    q.get(key).map_or("", |v| v.trim())
}

/// Applications per page on the start page unless `?per_page=` asks otherwise.
const APPLICATIONS_PER_PAGE: u64 = 50;

/// The filters of an applications list (`?workflow=`, `?state=`, `?page=`, `?per_page=`): what
/// to ask the engine for, and the template's `filter` with the choices the form offers, taken
/// from the definitions.
pub struct ApplicationsList {
    pub filter: ListFilter,
    pub paging: Paging,
    workflow: String,
    state: String,
    choices: Value,
}

impl ApplicationsList {
    pub fn from_query(engine: &Engine, q: &HashMap<String, String>) -> ApplicationsList {
        let paging = Paging::from_query(q, APPLICATIONS_PER_PAGE);
        let (workflow, state) = (param(q, "workflow").to_string(), param(q, "state").to_string());
        let filter = ListFilter {
            workflow: Some(workflow.clone()).filter(|w| !w.is_empty()),
            state: Some(state.clone()).filter(|s| !s.is_empty()),
            page: Some(paging.page),
            per_page: Some(paging.per_page),
            ..ListFilter::default()
        };
        let catalogue = &engine.defs.catalogue;
        let workflows: Vec<Value> =
            catalogue.latest_all().map(|d| json!({"value": d.key(), "label": d.title()})).collect();
        // The chosen workflow's steps, or every step name once.
        let mut states: Vec<Value> = Vec::new();
        for d in catalogue.latest_all().filter(|d| workflow.is_empty() || d.key() == workflow) {
            for st in d.states() {
                if !states.iter().any(|s| s["value"] == st.name.as_str()) {
                    let label = st.title.clone().unwrap_or_else(|| crate::error::t(&st.name, &st.name));
                    states.push(json!({"value": st.name, "label": label}));
                }
            }
        }
        let choices = json!({"workflows": workflows, "states": states});
        ApplicationsList { filter, paging, workflow, state, choices }
    }

    /// The template's `filter` (chosen values and choices) and `paging`.
    pub fn context(&self, path: &str, total: u64) -> (Value, Value) {
        let filter = json!({"workflow": self.workflow, "state": self.state, "choices": self.choices});
        let keep = [("workflow", self.workflow.as_str()), ("state", self.state.as_str())];
        (filter, self.paging.context(path, total, &keep))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_string(), (*v).to_string())).collect()
    }

    #[test]
    fn pages_are_counted_from_one_and_capped() {
        let p = Paging::from_query(&query(&[("page", "0"), ("per_page", "1000")]), 50);
        assert_eq!((p.page, p.per_page), (1, MAX_PER_PAGE));
        let p = Paging::from_query(&query(&[("page", "x")]), 50);
        assert_eq!((p.page, p.per_page), (1, 50));
        let p = Paging::from_query(&query(&[("page", "2"), ("per_page", "2")]), 50);
        assert_eq!(p.slice(vec![1, 2, 3, 4, 5]), vec![3, 4]);
    }

    #[test]
    fn links_keep_the_filters() {
        let p = Paging::from_query(&query(&[("page", "2"), ("per_page", "1")]), 50);
        let c = p.context("/tasks", 3, &[("workflow", "a b"), ("overdue", "")]);
        assert_eq!(c["prev"], "/tasks?workflow=a%20b&per_page=1&page=1");
        assert_eq!(c["next"], "/tasks?workflow=a%20b&per_page=1&page=3");
        assert_eq!(c["pages"], 3);
        let c = Paging::from_query(&query(&[]), 50).context("/", 0, &[]);
        assert!(c["prev"].is_null() && c["next"].is_null());
    }
}
