//! What every action form shares: the form fields an action asks for (`fields:` of the
//! definition), sent as the action's data, and the page to go back to afterwards.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::PageUser;
use crate::error::AppError;

/// The data an action form sends: the values of the fields the action asks for, as strings
/// (the engine coerces them to the fields' types, as for a form save). Empty inputs are left
/// out, so that an action never clears a stored value. `None` when the action asks for nothing.
pub(super) async fn action_data(
    user: &PageUser,
    id: &str,
    action: &str,
    form: &HashMap<String, String>,
) -> Result<Option<Map<String, Value>>, AppError> {
    let fields = user.v.engine.action_fields(&user.actor, id, action).await?;
    let data: Map<String, Value> = fields
        .into_iter()
        .filter(|(_, kind)| kind != "file")
        .filter_map(|(key, _)| form.get(&key).map(|v| (key, v.trim().to_string())))
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (k, Value::String(v)))
        .collect();
    Ok(if data.is_empty() { None } else { Some(data) })
}

/// A `back` address a form may name: a path of this site (one leading `/`, no scheme, no host,
/// no backslash or control character), so that a form cannot send the browser elsewhere.
pub(super) fn local_path(back: Option<&String>) -> Option<&str> {
    let b = back?.as_str();
    let ok = b.starts_with('/')
        && !b.starts_with("//")
        && !b.contains('\\')
        && !b.chars().any(|c| c.is_control() || c.is_whitespace());
    ok.then_some(b)
}

#[cfg(test)]
mod tests {
    use super::local_path;

    #[test]
    fn only_local_paths_are_followed_back() {
        let ok = |s: &str| local_path(Some(&s.to_string())).is_some();
        assert!(ok("/finance"));
        assert!(ok("/cases?page=2"));
        for bad in ["//evil.example", "https://evil.example/", "/\\evil.example", "finance", "", "/a b", "/a\nb"] {
            assert!(!ok(bad), "{bad}");
        }
        assert!(local_path(None).is_none());
    }
}
