//! Who may write which field of an application's form: the one rule behind a save and behind the
//! data sent with an action.
//!
//! - An action's data may set only that action's `fields`.
//! - The applicant may also change what its state lets it edit (`editable: true` every field,
//!   `editable: [key, …]` only those).
//! - What another party wrote when it opened the application for the enterprise (a child's
//!   `start` data such as an award and its amount, a renewal's kind) is `locked`: `editable:
//!   true` does not open it; only a state or an action that names the field does.
//!
//! A field sent unchanged is dropped rather than refused (a browser posts the whole form); a
//! changed field that may not be written is refused with one error per field.

use serde_json::{Map, Value};

use crate::domain::definition::Editable;
use crate::domain::form::{FieldError, Form};
use crate::domain::text::Text;

/// What the writer of a patch may write.
#[derive(Debug, Clone, Copy)]
pub struct Writer<'a> {
    /// The state's `editable` when the writer is the applicant; [`Editable::No`] for anyone else.
    pub editable: &'a Editable,
    /// The `fields` of the action taken; empty for a save.
    pub action_fields: &'a [String],
    /// Fields written by whoever opened the application for the enterprise.
    pub locked: &'a [String],
}

impl Writer<'_> {
    /// The title of a refusal of what this writer may not write.
    pub fn refusal_title(&self) -> Text {
        if self.editable.any() {
            Text {
                zh: "部分字段在当前环节不可修改".into(),
                en: "some fields cannot be changed in the current state".into(),
            }
        } else {
            Text {
                zh: "部分字段不能随该操作填写".into(), en: "some fields cannot be set with this action".into()
            }
        }
    }

    /// Whether the writer may set `key`.
    pub fn may_write(&self, key: &str) -> bool {
        if self.action_fields.iter().any(|k| k == key) {
            return true;
        }
        match self.editable {
            Editable::No => false,
            Editable::All => !self.locked.iter().any(|k| k == key),
            Editable::Fields(keys) => keys.iter().any(|k| k == key),
        }
    }
}

/// The part of `patch` that `writer` may write over `stored`, or the fields it may not change.
pub fn permitted(
    form: &Form,
    writer: Writer<'_>,
    stored: &Map<String, Value>,
    patch: Map<String, Value>,
) -> Result<Map<String, Value>, Vec<FieldError>> {
    let mut kept = Map::new();
    let mut errors = Vec::new();
    for (k, v) in patch {
        if writer.may_write(&k) {
            kept.insert(k, v);
        } else if stored.get(&k).unwrap_or(&Value::Null) != &v {
            let label = form.field(&k).map_or_else(|| Text { zh: k.clone(), en: k.clone() }, |f| f.label.clone());
            let message = if writer.editable.any() {
                Text {
                    zh: format!("“{}”在当前环节不可修改", label.zh),
                    en: format!("{} cannot be changed in the current state", label.en),
                }
            } else {
                Text {
                    zh: format!("“{}”不能随该操作填写", label.zh),
                    en: format!("{} cannot be set with this action", label.en),
                }
            };
            errors.push(FieldError { field: k, message });
        }
    }
    if errors.is_empty() { Ok(kept) } else { Err(errors) }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::domain::form::{Field, FieldKind};

    fn form() -> Form {
        let field = |key: &str, zh: &str, en: &str, kind: FieldKind| Field {
            key: key.into(),
            kind,
            label: Text { zh: zh.into(), en: en.into() },
            help: None,
            required: false,
            min: None,
            max: None,
            pattern: None,
        };
        Form {
            fields: vec![
                field("amount", "金额", "Amount", FieldKind::Money),
                field("note", "备注", "Note", FieldKind::Text),
                field("kind", "类别", "Kind", FieldKind::Text),
            ],
        }
    }

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    const NONE: &[String] = &[];

    #[test]
    fn staff_set_only_the_fields_of_their_action() {
        let f = form();
        let stored = obj(json!({"amount": "100000.00", "note": "x"}));
        let fields = vec!["note".to_string()];
        let staff = Writer { editable: &Editable::No, action_fields: &fields, locked: NONE };
        // The action's own field goes through.
        let kept = permitted(&f, staff, &stored, obj(json!({"note": "y"}))).unwrap_or_default();
        assert_eq!(kept, obj(json!({"note": "y"})));
        // Any other changed field is refused, named, in both languages.
        let errors =
            permitted(&f, staff, &stored, obj(json!({"amount": "999999.99", "note": "y"}))).err().unwrap_or_default();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].field, "amount");
        assert_eq!(errors[0].message.en, "Amount cannot be set with this action");
        assert_eq!(errors[0].message.zh, "“金额”不能随该操作填写");
        // An action without fields sets nothing; an unchanged value is dropped, not refused.
        let bare = Writer { editable: &Editable::No, action_fields: NONE, locked: NONE };
        assert!(permitted(&f, bare, &stored, obj(json!({"note": "y"}))).is_err());
        assert_eq!(permitted(&f, bare, &stored, obj(json!({"amount": "100000.00"}))).ok(), Some(Map::new()));
    }

    #[test]
    fn the_applicant_edits_what_its_state_allows_but_not_what_the_opener_wrote() {
        let f = form();
        let stored = obj(json!({"kind": "srdi-sme"}));
        let locked = vec!["kind".to_string()];
        let all = Writer { editable: &Editable::All, action_fields: NONE, locked: &locked };
        assert!(permitted(&f, all, &stored, obj(json!({"note": "mine", "amount": "1"}))).is_ok());
        let errors = permitted(&f, all, &stored, obj(json!({"kind": "single-champion"}))).err().unwrap_or_default();
        assert_eq!(errors[0].field, "kind");
        assert_eq!(errors[0].message.en, "Kind cannot be changed in the current state");
        // A state or an action that names a locked field opens it.
        let listed = Editable::Fields(vec!["kind".into()]);
        let named = Writer { editable: &listed, action_fields: NONE, locked: &locked };
        assert!(permitted(&f, named, &stored, obj(json!({"kind": "single-champion"}))).is_ok());
        let by_action = Writer { editable: &Editable::All, action_fields: &locked, locked: &locked };
        assert!(permitted(&f, by_action, &stored, obj(json!({"kind": "single-champion"}))).is_ok());
        // A list allows only its fields.
        let notes = Editable::Fields(vec!["note".into()]);
        let w = Writer { editable: &notes, action_fields: NONE, locked: NONE };
        let errors = permitted(&f, w, &stored, obj(json!({"note": "n", "amount": "5"}))).err().unwrap_or_default();
        assert_eq!(errors.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(), ["amount"]);
    }
}
