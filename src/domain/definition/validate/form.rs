//! The form: fields, their types and bounds, and which of them a state lets the applicant edit.

use std::collections::HashSet;

use regex::Regex;
use rust_decimal::Decimal;
use rust_decimal::prelude::FromPrimitive;
use serde_saphyr::Spanned;

use crate::domain::definition::Editable;
use crate::domain::definition::raw;
use crate::domain::expr::Names;
use crate::domain::form::{Bound, Choice, Field, FieldKind, Form};

use super::{Collector, key_re};

pub(super) fn build_form(raw: Option<raw::Form>, c: &mut Collector<'_>) -> Form {
    let re = key_re();
    let mut seen = HashSet::new();
    let mut fields = Vec::new();
    for f in raw.map(|f| f.fields).unwrap_or_default() {
        let loc = f.referenced;
        let f = f.value;
        if !re.is_match(&f.key.value) {
            c.at(
                f.key.referenced,
                format!("field key `{}` must be lowercase letters, digits, `-` or `_`", f.key.value),
            );
        }
        if !seen.insert(f.key.value.clone()) {
            c.at(f.key.referenced, format!("field `{}` is defined twice", f.key.value));
        }
        let kind = match f.kind.value.as_str() {
            "text" => FieldKind::Text,
            "textarea" => FieldKind::Textarea,
            "integer" => FieldKind::Integer,
            "decimal" => FieldKind::Decimal,
            "money" => FieldKind::Money,
            "percent" => FieldKind::Percent,
            "date" => FieldKind::Date,
            "boolean" => FieldKind::Boolean,
            "choice" => {
                if f.options.is_empty() {
                    c.at(loc, format!("choice field `{}` needs `options`", f.key.value));
                }
                FieldKind::Choice(f.options.into_iter().map(|o| Choice { value: o.value, label: o.label }).collect())
            }
            "file" => FieldKind::File { accept: f.accept, max_mb: f.max_mb.as_ref().map_or(10, |m| m.value) },
            other => {
                c.at(
                    f.kind.referenced,
                    format!("unknown field type `{other}`; expected text, textarea, integer, decimal, money, percent, date, boolean, choice or file"),
                );
                FieldKind::Text
            }
        };
        if f.pattern.is_some() && !matches!(kind, FieldKind::Text | FieldKind::Textarea) {
            c.at(loc, format!("`pattern` applies only to text fields, not to `{}`", kind.name()));
        }
        let pattern = f.pattern.and_then(|p| match Regex::new(&p.value) {
            Ok(r) => Some(r),
            Err(e) => {
                let detail =
                    e.to_string().lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(" ");
                c.at(p.referenced, format!("pattern does not compile: {detail}"));
                None
            }
        });
        if let Some(m) = f.max_mb.as_ref().filter(|m| m.value == 0) {
            c.at(m.referenced, "max_mb must be at least 1");
        }
        let min = f.min.and_then(|b| build_bound(&kind, b, c));
        let max = f.max.and_then(|b| build_bound(&kind, b, c));
        let inverted = match (&min, &max) {
            (Some(Bound::Number(lo)), Some(Bound::Number(hi))) => lo > hi,
            (Some(Bound::Date(lo)), Some(Bound::Date(hi))) => lo > hi,
            _ => false,
        };
        if inverted {
            c.at(loc, format!("field `{}` has a `min` above its `max`", f.key.value));
        }
        fields.push(Field {
            key: f.key.value,
            kind,
            label: f.label,
            help: f.help,
            required: f.required,
            min,
            max,
            pattern,
        });
    }
    Form { fields }
}

pub(super) fn build_bound(kind: &FieldKind, b: Spanned<raw::Bound>, c: &mut Collector<'_>) -> Option<Bound> {
    match (kind, &b.value) {
        (FieldKind::Date, raw::Bound::Text(s)) => match chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
            Ok(d) => Some(Bound::Date(d)),
            Err(_) => {
                c.at(b.referenced, format!("`{s}` is not a date (YYYY-MM-DD)"));
                None
            }
        },
        (FieldKind::Date, _) => {
            c.at(b.referenced, "a date field's bound must be a date (YYYY-MM-DD)");
            None
        }
        (FieldKind::Boolean | FieldKind::Choice(_) | FieldKind::File { .. }, _) => {
            c.at(b.referenced, format!("`min`/`max` do not apply to a {} field", kind.name()));
            None
        }
        (_, raw::Bound::Number(n)) => Decimal::from_f64(*n).map(|d| Bound::Number(d.normalize())),
        (_, raw::Bound::Text(s)) => {
            c.at(b.referenced, format!("`{s}` is not a number"));
            None
        }
    }
}

/// `editable:` of a state: a flag, or the keys of the form fields that may be changed.
pub(super) fn build_editable(
    name: &str,
    raw: Option<Spanned<raw::Editable>>,
    names: &Names,
    c: &mut Collector<'_>,
) -> Editable {
    let Some(raw) = raw else { return Editable::No };
    match raw.value {
        raw::Editable::All(true) => Editable::All,
        raw::Editable::All(false) => Editable::No,
        raw::Editable::Fields(list) => {
            if list.is_empty() {
                c.at(raw.referenced, format!("`editable` of state `{name}` lists no field; write `editable: false`"));
                return Editable::No;
            }
            let mut keys: Vec<String> = Vec::new();
            for f in list {
                if !names.form_fields.contains(&f.value) {
                    c.at(f.referenced, format!("`editable` of state `{name}` names unknown field `{}`", f.value));
                } else if keys.contains(&f.value) {
                    c.at(f.referenced, format!("`editable` of state `{name}` lists field `{}` twice", f.value));
                } else {
                    keys.push(f.value);
                }
            }
            Editable::Fields(keys)
        }
    }
}
