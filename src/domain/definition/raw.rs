//! The YAML as written: serde DTOs that reject unknown keys and remember where each node was,
//! so that semantic errors can point at `file:line:column`.

use indexmap::IndexMap;
use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::domain::text::Text;

pub type S<T> = Spanned<T>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Workflow {
    pub key: S<String>,
    pub version: S<i64>,
    pub title: Text,
    #[serde(default)]
    pub description: Option<Text>,
    #[serde(default)]
    pub category: Option<String>,
    pub starts: S<String>,
    #[serde(default)]
    pub form: Option<Form>,
    #[serde(default)]
    pub eligibility: Vec<Rule>,
    #[serde(default)]
    pub scoring: Option<S<Scoring>>,
    #[serde(default)]
    pub initial: Option<S<String>>,
    pub states: S<IndexMap<String, S<State>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Form {
    pub fields: Vec<S<Field>>,
}

/// A bound is a number, or a date for date fields.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Bound {
    Number(f64),
    Text(String),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Field {
    pub key: S<String>,
    #[serde(rename = "type")]
    pub kind: S<String>,
    pub label: Text,
    #[serde(default)]
    pub help: Option<Text>,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub min: Option<S<Bound>>,
    #[serde(default)]
    pub max: Option<S<Bound>>,
    #[serde(default)]
    pub pattern: Option<S<String>>,
    #[serde(default)]
    pub options: Vec<Choice>,
    #[serde(default)]
    pub accept: Vec<String>,
    #[serde(default)]
    pub max_mb: Option<S<u32>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Choice {
    pub value: String,
    pub label: Text,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub rule: S<String>,
    pub message: Text,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scoring {
    pub pass: S<f64>,
    #[serde(default)]
    pub groups: Vec<S<Group>>,
    pub indicators: Vec<S<Indicator>>,
    #[serde(default)]
    pub direct: Vec<Rule>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Group {
    pub key: String,
    pub title: Text,
    #[serde(default)]
    pub min: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Indicator {
    pub key: String,
    pub title: Text,
    #[serde(default)]
    pub group: Option<S<String>>,
    pub value: S<String>,
    pub points: Vec<S<Band>>,
    #[serde(default)]
    pub hint: Option<Text>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Band {
    #[serde(default)]
    pub min: Option<f64>,
    #[serde(default)]
    pub max: Option<f64>,
    pub points: f64,
    #[serde(default)]
    pub label: Option<Text>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct State {
    #[serde(default)]
    pub title: Option<Text>,
    #[serde(default)]
    pub editable: Option<S<Editable>>,
    #[serde(default)]
    pub assignee: Option<S<Assignee>>,
    #[serde(default)]
    pub actions: IndexMap<String, S<Action>>,
    #[serde(default)]
    pub timeout: Option<S<Timeout>>,
    #[serde(default)]
    pub remind: Vec<S<Remind>>,
    #[serde(default)]
    pub on_enter: Vec<S<Effect>>,
    /// A state whose clock stops while this one is occupied and resumes when the application
    /// goes back to it (the review clock while the applicant rectifies).
    #[serde(default)]
    pub pauses: Option<S<String>>,
    #[serde(default, rename = "final")]
    pub is_final: bool,
}

/// `editable: true | false` (every field or none) or `editable: [key, …]` (only these fields).
/// Read by hand rather than `untagged`, so that each key keeps its place for error messages.
#[derive(Debug)]
pub enum Editable {
    All(bool),
    Fields(Vec<S<String>>),
}

impl<'de> Deserialize<'de> for Editable {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Editable;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("true, false or a list of field keys")
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Editable, E> {
                Ok(Editable::All(v))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Editable, A::Error> {
                let mut keys = Vec::new();
                while let Some(k) = seq.next_element()? {
                    keys.push(k);
                }
                Ok(Editable::Fields(keys))
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Assignee {
    pub role: S<String>,
    #[serde(default)]
    pub scope: Option<S<String>>,
    #[serde(default)]
    pub separate_from: Vec<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Action {
    pub to: S<String>,
    #[serde(default)]
    pub title: Option<Text>,
    #[serde(default)]
    pub by: Option<S<String>>,
    #[serde(default)]
    pub comment: Option<S<String>>,
    #[serde(default)]
    pub check: Vec<S<String>>,
    #[serde(default)]
    pub when: Option<S<String>>,
    /// What to tell the actor when `when` does not hold.
    #[serde(default)]
    pub message: Option<Text>,
    #[serde(default)]
    pub quorum: Option<S<u32>>,
    #[serde(default)]
    pub notify: Vec<S<Notify>>,
    /// The form fields the actor supplies with this action (action data).
    #[serde(default)]
    pub fields: Vec<S<String>>,
}

/// A duration: text (`15 days`, `P15D`) or a number of days computed from the form.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Duration {
    Text(String),
    Days { days: ExprOrNumber },
    WorkingDays { working_days: ExprOrNumber },
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum ExprOrNumber {
    Number(i64),
    Expr(String),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Timeout {
    pub after: S<Duration>,
    /// The action the system takes at the deadline.
    #[serde(default)]
    pub action: Option<S<String>>,
    /// Notifications sent at the deadline.
    #[serde(default)]
    pub notify: Vec<S<Notify>>,
    /// Who may extend the deadline once, and by how much.
    #[serde(default)]
    pub extend: Option<S<Extend>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Extend {
    pub by: S<String>,
    #[serde(rename = "for")]
    pub length: S<Duration>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Remind {
    pub before: S<String>,
    pub to: S<String>,
    pub template: S<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Notify {
    pub to: S<String>,
    pub template: S<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum Effect {
    Grant(Grant),
    Extend(Grant),
    Revoke(Revoke),
    Reserve(Reserve),
    Spend(BudgetRef),
    Release(BudgetRef),
    Claim(Award),
    Unclaim(Award),
    Start(Start),
    Notify(Notify),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grant {
    pub certification: S<String>,
    #[serde(default)]
    pub valid_for: Option<S<Duration>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Revoke {
    pub certification: S<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Start {
    pub workflow: S<String>,
    #[serde(default)]
    pub when: Option<S<String>>,
    #[serde(default)]
    pub data: IndexMap<String, S<String>>,
}

/// Reserves an amount of a budget for this application.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reserve {
    pub budget: S<String>,
    pub amount: S<String>,
    #[serde(default)]
    pub year: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BudgetRef {
    pub budget: S<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Award {
    pub award: S<String>,
}
