//! Forms: typed fields, validation on every save and submit, and the JSON Schema the API shows.
//!
//! Stored values are JSON: `integer` as a number, `decimal`, `money` and `percent` as exact
//! decimal strings (money with two places), `date` as `YYYY-MM-DD`, `boolean` as a boolean,
//! `choice` as the option value, `file` as the attachment id.

use std::str::FromStr;

use chrono::NaiveDate;
use regex::Regex;
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::{Map, Value, json};

use super::text::{Lang, Text};

/// One option of a `choice` field.
#[derive(Debug, Clone, Serialize)]
pub struct Choice {
    pub value: String,
    pub label: Text,
}

/// The type of a field, with what only that type needs.
#[derive(Debug, Clone)]
pub enum FieldKind {
    Text,
    Textarea,
    Integer,
    Decimal,
    Money,
    Percent,
    Date,
    Boolean,
    Choice(Vec<Choice>),
    File { accept: Vec<String>, max_mb: u32 },
}

impl FieldKind {
    pub fn name(&self) -> &'static str {
        match self {
            FieldKind::Text => "text",
            FieldKind::Textarea => "textarea",
            FieldKind::Integer => "integer",
            FieldKind::Decimal => "decimal",
            FieldKind::Money => "money",
            FieldKind::Percent => "percent",
            FieldKind::Date => "date",
            FieldKind::Boolean => "boolean",
            FieldKind::Choice(_) => "choice",
            FieldKind::File { .. } => "file",
        }
    }

    fn is_numeric(&self) -> bool {
        matches!(self, FieldKind::Integer | FieldKind::Decimal | FieldKind::Money | FieldKind::Percent)
    }
}

/// A bound on a field: a number for numeric fields, a date for dates, a length for text.
#[derive(Debug, Clone)]
pub enum Bound {
    Number(Decimal),
    Date(NaiveDate),
}

/// A validated field definition.
#[derive(Debug, Clone)]
pub struct Field {
    pub key: String,
    pub kind: FieldKind,
    pub label: Text,
    pub help: Option<Text>,
    pub required: bool,
    pub min: Option<Bound>,
    pub max: Option<Bound>,
    pub pattern: Option<Regex>,
}

/// A problem with one field's value, in both languages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: Text,
}

impl FieldError {
    fn new(field: &str, zh: String, en: String) -> Self {
        FieldError { field: field.to_string(), message: Text { zh, en } }
    }
}

/// The form of a workflow: its fields in the order written.
#[derive(Debug, Clone, Default)]
pub struct Form {
    pub fields: Vec<Field>,
}

impl Form {
    pub fn field(&self, key: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.key == key)
    }

    /// Validates a partial update and returns it normalised; unknown keys and wrong types are
    /// errors, missing required fields are not (a draft may be incomplete).
    pub fn normalise(&self, patch: &Map<String, Value>) -> Result<Map<String, Value>, Vec<FieldError>> {
        let mut out = Map::new();
        let mut errors = Vec::new();
        for (key, value) in patch {
            let Some(field) = self.field(key) else {
                errors.push(FieldError::new(
                    key,
                    format!("表单中没有字段 `{key}`"),
                    format!("the form has no field `{key}`"),
                ));
                continue;
            };
            if value.is_null() || value.as_str().is_some_and(|s| s.trim().is_empty()) {
                out.insert(key.clone(), Value::Null);
                continue;
            }
            match field.normalise(value) {
                Ok(v) => {
                    out.insert(key.clone(), v);
                }
                Err(e) => errors.push(e),
            }
        }
        if errors.is_empty() { Ok(out) } else { Err(errors) }
    }

    /// The required fields that are still empty.
    pub fn missing(&self, data: &Map<String, Value>) -> Vec<FieldError> {
        self.fields
            .iter()
            .filter(|f| f.required && data.get(&f.key).is_none_or(Value::is_null))
            .map(|f| FieldError::new(&f.key, format!("请填写“{}”", f.label.zh), format!("{} is required", f.label.en)))
            .collect()
    }

    /// The data as expressions see it: every field present (`none` when empty), numbers as numbers.
    pub fn expression_values(&self, data: &Map<String, Value>) -> Value {
        let mut out = Map::new();
        for f in &self.fields {
            let v = data.get(&f.key).cloned().unwrap_or(Value::Null);
            let v = match (&f.kind, &v) {
                (k, Value::String(s)) if k.is_numeric() => s
                    .parse::<f64>()
                    .ok()
                    .and_then(serde_json::Number::from_f64)
                    .map(Value::Number)
                    .unwrap_or(Value::Null),
                _ => v,
            };
            out.insert(f.key.clone(), v);
        }
        Value::Object(out)
    }

    /// The form as a JSON Schema (draft 2020-12), labels in the chosen language.
    pub fn json_schema(&self, lang: Lang) -> Value {
        let mut props = Map::new();
        let mut required = Vec::new();
        for f in &self.fields {
            props.insert(f.key.clone(), f.schema(lang));
            if f.required {
                required.push(Value::String(f.key.clone()));
            }
        }
        json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "additionalProperties": false,
            "properties": props,
            "required": required,
        })
    }
}

impl Field {
    fn error(&self, zh: &str, en: &str) -> FieldError {
        FieldError::new(&self.key, format!("“{}”{}", self.label.zh, zh), format!("{} {}", self.label.en, en))
    }

    fn normalise(&self, value: &Value) -> Result<Value, FieldError> {
        match &self.kind {
            FieldKind::Text | FieldKind::Textarea => {
                let s = value.as_str().ok_or_else(|| self.error("必须是文本", "must be text"))?;
                if let Some(re) = &self.pattern
                    && !re.is_match(s)
                {
                    return Err(self.error("格式不正确", "is not in the expected format"));
                }
                let len = Decimal::from(s.chars().count());
                self.check_number_bounds(len, "字数", "length")?;
                Ok(Value::String(s.to_string()))
            }
            FieldKind::Integer => {
                let n = match value {
                    Value::Number(n) if n.is_i64() => n.as_i64().map(Decimal::from),
                    Value::String(s) => s.trim().parse::<i64>().ok().map(Decimal::from),
                    _ => None,
                }
                .ok_or_else(|| self.error("必须是整数", "must be a whole number"))?;
                self.check_number_bounds(n, "", "")?;
                Ok(json!(n.try_into().unwrap_or(0_i64)))
            }
            FieldKind::Decimal | FieldKind::Money | FieldKind::Percent => {
                let d = match value {
                    Value::Number(n) => Decimal::from_str(&n.to_string()).ok(),
                    Value::String(s) => Decimal::from_str(s.trim()).ok(),
                    _ => None,
                }
                .ok_or_else(|| self.error("必须是数字", "must be a number"))?;
                if matches!(self.kind, FieldKind::Money) && d.scale() > 2 && d.normalize().scale() > 2 {
                    return Err(self.error("最多保留两位小数", "has more than two decimal places"));
                }
                self.check_number_bounds(d, "", "")?;
                let d = if matches!(self.kind, FieldKind::Money) { d.round_dp(2) } else { d.normalize() };
                Ok(Value::String(if matches!(self.kind, FieldKind::Money) { format!("{d:.2}") } else { d.to_string() }))
            }
            FieldKind::Date => {
                let s = value.as_str().unwrap_or_default();
                let d = NaiveDate::parse_from_str(s, "%Y-%m-%d")
                    .map_err(|_| self.error("必须是日期（YYYY-MM-DD）", "must be a date (YYYY-MM-DD)"))?;
                if let Some(Bound::Date(min)) = &self.min
                    && d < *min
                {
                    return Err(self.error(&format!("不得早于 {min}"), &format!("must not be before {min}")));
                }
                if let Some(Bound::Date(max)) = &self.max
                    && d > *max
                {
                    return Err(self.error(&format!("不得晚于 {max}"), &format!("must not be after {max}")));
                }
                Ok(Value::String(d.to_string()))
            }
            FieldKind::Boolean => match value {
                Value::Bool(b) => Ok(Value::Bool(*b)),
                Value::String(s) if s == "true" || s == "on" => Ok(Value::Bool(true)),
                Value::String(s) if s == "false" || s == "off" => Ok(Value::Bool(false)),
                _ => Err(self.error("必须是“是”或“否”", "must be true or false")),
            },
            FieldKind::Choice(options) => {
                let s = value.as_str().unwrap_or_default();
                if options.iter().any(|o| o.value == s) {
                    Ok(Value::String(s.to_string()))
                } else {
                    let allowed: Vec<&str> = options.iter().map(|o| o.value.as_str()).collect();
                    Err(self.error(
                        &format!("必须是以下之一：{}", allowed.join("、")),
                        &format!("must be one of: {}", allowed.join(", ")),
                    ))
                }
            }
            FieldKind::File { .. } => value
                .as_str()
                .map(|s| Value::String(s.to_string()))
                .ok_or_else(|| self.error("必须是已上传的附件", "must be an uploaded attachment")),
        }
    }

    fn check_number_bounds(&self, n: Decimal, zh_what: &str, en_what: &str) -> Result<(), FieldError> {
        let en_what = if en_what.is_empty() { String::new() } else { format!("{en_what} ") };
        if let Some(Bound::Number(min)) = &self.min
            && n < *min
        {
            return Err(self.error(&format!("{zh_what}不得小于 {min}"), &format!("{en_what}must be at least {min}")));
        }
        if let Some(Bound::Number(max)) = &self.max
            && n > *max
        {
            return Err(self.error(&format!("{zh_what}不得大于 {max}"), &format!("{en_what}must be at most {max}")));
        }
        Ok(())
    }

    fn schema(&self, lang: Lang) -> Value {
        let mut s = match &self.kind {
            FieldKind::Text | FieldKind::Textarea => json!({"type": "string"}),
            FieldKind::Integer => json!({"type": "integer"}),
            FieldKind::Decimal | FieldKind::Percent => json!({"type": ["string", "number"], "format": "decimal"}),
            FieldKind::Money => {
                json!({"type": ["string", "number"], "format": "money", "description": "yuan, two decimals"})
            }
            FieldKind::Date => json!({"type": "string", "format": "date"}),
            FieldKind::Boolean => json!({"type": "boolean"}),
            FieldKind::Choice(options) => {
                json!({"type": "string", "enum": options.iter().map(|o| o.value.clone()).collect::<Vec<_>>()})
            }
            FieldKind::File { accept, max_mb } => {
                json!({"type": "string", "format": "attachment-id", "x-accept": accept, "x-max-mb": max_mb})
            }
        };
        let obj = s.as_object_mut();
        if let Some(obj) = obj {
            obj.insert("title".into(), Value::String(self.label.get(lang).to_string()));
            obj.insert("x-field-type".into(), Value::String(self.kind.name().into()));
            let bound = |b: &Bound| match b {
                Bound::Number(d) => json!(d.to_string().parse::<f64>().unwrap_or_default()),
                Bound::Date(d) => json!(d.to_string()),
            };
            let (min_key, max_key) = match self.kind {
                FieldKind::Text | FieldKind::Textarea => ("minLength", "maxLength"),
                FieldKind::Date => ("formatMinimum", "formatMaximum"),
                _ => ("minimum", "maximum"),
            };
            if let Some(b) = &self.min {
                obj.insert(min_key.into(), bound(b));
            }
            if let Some(b) = &self.max {
                obj.insert(max_key.into(), bound(b));
            }
            if let Some(re) = &self.pattern {
                obj.insert("pattern".into(), Value::String(re.as_str().to_string()));
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(key: &str, kind: FieldKind, min: Option<Bound>, max: Option<Bound>) -> Field {
        Field {
            key: key.into(),
            kind,
            label: Text { zh: key.into(), en: key.into() },
            help: None,
            required: true,
            min,
            max,
            pattern: None,
        }
    }

    fn form() -> Form {
        Form {
            fields: vec![
                field("revenue", FieldKind::Money, Some(Bound::Number(Decimal::ZERO)), None),
                field(
                    "staff",
                    FieldKind::Integer,
                    Some(Bound::Number(Decimal::ONE)),
                    Some(Bound::Number(Decimal::from(1000))),
                ),
                field("high_tech", FieldKind::Boolean, None, None),
                field("since", FieldKind::Date, None, None),
            ],
        }
    }

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn money_is_kept_exact_with_two_places() {
        let out = form().normalise(&obj(json!({"revenue": "12345678.9"}))).unwrap();
        assert_eq!(out["revenue"], json!("12345678.90"));
        let out = form().normalise(&obj(json!({"revenue": 0.1}))).unwrap();
        assert_eq!(out["revenue"], json!("0.10"));
        assert!(form().normalise(&obj(json!({"revenue": "1.234"}))).is_err());
    }

    #[test]
    fn wrong_types_bounds_and_unknown_fields_are_all_reported() {
        let errs = form()
            .normalise(&obj(
                json!({"revenue": "lots", "staff": 0, "high_tech": "maybe", "colour": "red", "since": "2025-13-01"}),
            ))
            .unwrap_err();
        let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, vec!["revenue", "staff", "high_tech", "colour", "since"]);
        assert!(errs[1].message.en.contains("at least 1"), "{:?}", errs[1]);
    }

    #[test]
    fn missing_lists_required_fields_and_expressions_see_numbers() {
        let f = form();
        let data = obj(json!({"revenue": "10.50", "staff": 3}));
        let missing: Vec<String> = f.missing(&data).into_iter().map(|e| e.field).collect();
        assert_eq!(missing, vec!["high_tech", "since"]);
        let v = f.expression_values(&data);
        assert_eq!(v["revenue"], json!(10.5));
        assert_eq!(v["high_tech"], Value::Null);
    }
}
