//! The expression language of workflow definitions.
//!
//! Expressions are MiniJinja expressions: comparisons, `and`/`or`/`not`, arithmetic, `in`,
//! literals, attribute access, filters such as `|length`, and the functions `holds(kind)`,
//! `held_ever(kind)` and `prior(workflow)`. MiniJinja was chosen because the templates already
//! use it, so officers learn one syntax; and because its evaluator is built for untrusted input:
//! no I/O, no side effects, a fuel limit against runaway loops, and a parser that can list the
//! variables an expression names, which lets `validate` reject a typo before anything runs.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use minijinja::value::Value;
use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;

/// Instructions an expression may execute before it is stopped.
const FUEL: u64 = 20_000;

/// The names an expression may use, and the fields under them.
#[derive(Debug, Clone, Default)]
pub struct Names {
    pub form_fields: HashSet<String>,
    /// Indicator keys, for `score.points.<key>`.
    pub indicators: HashSet<String>,
    /// Group keys, for `score.groups.<key>`.
    pub groups: HashSet<String>,
    /// Whether `score` may be used (not inside the scoring table itself).
    pub allow_score: bool,
}

const SCORE_ATTRS: [&str; 6] = ["total", "pass", "passed", "direct", "points", "groups"];
const ENTERPRISE_ATTRS: [&str; 7] = ["id", "name", "uscc", "district", "urban", "profile", "district_name"];
const ACTOR_ATTRS: [&str; 4] = ["id", "name", "roles", "email"];
const APPLICATION_ATTRS: [&str; 7] = ["id", "number", "workflow", "state", "created_at", "version", "parent"];
const FUNCTIONS: [&str; 5] = ["holds", "held_ever", "prior", "applications", "days_since"];
const BUILTINS: [&str; 4] = ["range", "dict", "namespace", "today"];

/// Parses and evaluates expressions; one instance is shared by the whole process.
#[derive(Clone)]
pub struct ExprEngine {
    env: Arc<Environment<'static>>,
}

impl Default for ExprEngine {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for ExprEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ExprEngine")
    }
}

impl ExprEngine {
    pub fn new() -> Self {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_fuel(Some(FUEL));
        ExprEngine { env: Arc::new(env) }
    }

    /// Checks that `src` parses and names only what `names` allows.
    pub fn check(&self, src: &str, names: &Names) -> Result<(), String> {
        let expr = self
            .env
            .compile_expression(src)
            .map_err(|e| format!("expression `{src}` does not parse: {}", describe(&e)))?;
        let mut problems: Vec<String> = Vec::new();
        let mut used: Vec<String> = expr.undeclared_variables(true).into_iter().collect();
        used.sort();
        for path in used {
            let mut parts = path.split('.');
            let root = parts.next().unwrap_or_default();
            let attr = parts.next();
            let sub = parts.next();
            let ok = match root {
                "form" => attr.is_none_or(|a| names.form_fields.contains(a)),
                "score" if names.allow_score => match (attr, sub) {
                    (Some("points"), Some(k)) => names.indicators.contains(k),
                    (Some("groups"), Some(k)) => names.groups.contains(k),
                    (Some(a), _) => SCORE_ATTRS.contains(&a),
                    (None, _) => true,
                },
                "score" => {
                    problems.push(format!("`score` cannot be used here (in `{src}`)"));
                    continue;
                }
                "enterprise" => attr.is_none_or(|a| ENTERPRISE_ATTRS.contains(&a)),
                "actor" => attr.is_none_or(|a| ACTOR_ATTRS.contains(&a)),
                "application" => attr.is_none_or(|a| APPLICATION_ATTRS.contains(&a)),
                r if FUNCTIONS.contains(&r) || BUILTINS.contains(&r) => true,
                _ => false,
            };
            if !ok {
                problems.push(format!("expression `{src}` names unknown `{path}`"));
            }
        }
        if problems.is_empty() { Ok(()) } else { Err(problems.join("; ")) }
    }

    /// Evaluates `src` against `ctx`.
    pub fn eval(&self, src: &str, ctx: &Value) -> Result<Value, String> {
        let expr = self.env.compile_expression(src).map_err(|e| describe(&e))?;
        expr.eval(ctx.clone()).map_err(|e| describe(&e))
    }

    /// Evaluates `src` as a condition; a failing evaluation is reported, not taken as false.
    pub fn eval_bool(&self, src: &str, ctx: &Value) -> Result<bool, String> {
        Ok(self.eval(src, ctx)?.is_true())
    }

    /// Evaluates `src` to a number (booleans count as 1 and 0).
    pub fn eval_number(&self, src: &str, ctx: &Value) -> Result<Option<f64>, String> {
        let v = self.eval(src, ctx)?;
        Ok(value_to_f64(&v))
    }
}

/// Converts a MiniJinja value into a number where it is one.
pub fn value_to_f64(v: &Value) -> Option<f64> {
    use minijinja::value::ValueKind;
    match v.kind() {
        ValueKind::Number => f64::try_from(v.clone()).ok(),
        ValueKind::Bool => Some(if v.is_true() { 1.0 } else { 0.0 }),
        ValueKind::String => v.as_str().and_then(|s| s.trim().parse().ok()),
        _ => None,
    }
}

fn describe(e: &minijinja::Error) -> String {
    let mut msg = e.kind().to_string();
    if let Some(detail) = e.detail() {
        msg.push_str(": ");
        msg.push_str(detail);
    }
    msg
}

/// Facts about an enterprise that the functions `holds`, `held_ever` and `prior` answer from.
#[derive(Debug, Clone, Default)]
pub struct World {
    /// The enterprise's certifications of the kinds in `kinds` (or granted since), each with
    /// whether it is active now.
    pub certifications: Vec<(String, bool)>,
    /// The kinds whose certifications were loaded into `certifications`.
    pub kinds: Kinds,
    /// The enterprise's applications (loaded only when a definition asks): `prior` shows the
    /// finished ones, `applications` all of them but the one being evaluated.
    pub prior: Vec<PriorApplication>,
    /// Whether `prior` was loaded (it is only when a definition calls `prior(…)`).
    pub prior_loaded: bool,
}

/// The certification kinds a definition's expressions can ask about (`holds`, `held_ever`):
/// those named as literals, or every kind when some call names its kind by an expression.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Kinds {
    pub all: bool,
    pub named: std::collections::BTreeSet<String>,
}

impl Kinds {
    /// Every kind.
    pub fn every() -> Kinds {
        Kinds { all: true, named: Default::default() }
    }

    /// The kinds the calls in `text` (a definition's source, comments included) ask about.
    pub fn named_in(text: &str) -> Kinds {
        let mut kinds = Kinds::default();
        for f in ["holds", "held_ever"] {
            let call = format!("{f}(");
            let mut rest = text;
            while let Some(i) = rest.find(&call) {
                let before = rest[..i].chars().next_back();
                let after = &rest[i + call.len()..];
                rest = after;
                if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                    continue;
                }
                match literal_argument(after) {
                    Some(kind) => {
                        kinds.named.insert(kind.to_string());
                    }
                    None => kinds.all = true,
                }
            }
        }
        kinds
    }

    /// Both sets together.
    pub fn union(&self, other: &Kinds) -> Kinds {
        Kinds { all: self.all || other.all, named: self.named.union(&other.named).cloned().collect() }
    }

    /// Whether `self` covers everything `need` asks about.
    pub fn covers(&self, need: &Kinds) -> bool {
        self.all || (!need.all && need.named.is_subset(&self.named))
    }

    pub fn is_empty(&self) -> bool {
        !self.all && self.named.is_empty()
    }
}

/// `'kind')` or `"kind")` at the start of `s` (after spaces): the kind.
fn literal_argument(s: &str) -> Option<&str> {
    let s = s.trim_start();
    let quote = s.chars().next().filter(|c| *c == '\'' || *c == '"')?;
    let body = &s[1..];
    let end = body.find(quote)?;
    body[end + 1..].trim_start().starts_with(')').then(|| &body[..end])
}

/// Another application of the enterprise, as `prior(workflow)` (finished ones, withdrawn ones
/// excepted) and `applications(workflow)` (all, open ones too) show it.
#[derive(Debug, Clone, Serialize)]
pub struct PriorApplication {
    pub id: String,
    pub workflow: String,
    pub number: String,
    pub state: String,
    #[serde(rename = "final")]
    pub is_final: bool,
    pub data: serde_json::Value,
    /// RFC 3339; for a finished application, when it finished.
    pub created_at: String,
    pub finished_at: String,
}

/// The values an expression sees. Built by the engine for each evaluation.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    pub form: serde_json::Value,
    pub score: Option<serde_json::Value>,
    pub enterprise: serde_json::Value,
    pub actor: serde_json::Value,
    pub application: serde_json::Value,
    pub today: String,
}

impl Scope {
    /// Builds the MiniJinja context, with the world's functions bound to this enterprise.
    pub fn to_value(&self, world: &World) -> Value {
        let mut map: BTreeMap<&str, Value> = BTreeMap::new();
        map.insert("form", Value::from(minijinja::value::Serde(&self.form)));
        if let Some(score) = &self.score {
            map.insert("score", Value::from(minijinja::value::Serde(score)));
        }
        map.insert("enterprise", Value::from(minijinja::value::Serde(&self.enterprise)));
        map.insert("actor", Value::from(minijinja::value::Serde(&self.actor)));
        map.insert("application", Value::from(minijinja::value::Serde(&self.application)));
        map.insert("today", Value::from(self.today.clone()));
        let active: Arc<Vec<(String, bool)>> = Arc::new(world.certifications.clone());
        let ever = active.clone();
        map.insert("holds", Value::from_function(move |kind: String| active.iter().any(|(k, a)| *a && *k == kind)));
        map.insert("held_ever", Value::from_function(move |kind: String| ever.iter().any(|(k, _)| *k == kind)));
        let all = Arc::new(world.prior.clone());
        let finished = all.clone();
        map.insert(
            "prior",
            Value::from_function(move |workflow: String| {
                let found: Vec<&PriorApplication> = finished
                    .iter()
                    .filter(|p| p.workflow == workflow && p.is_final && p.state != "withdrawn")
                    .collect();
                Value::from(minijinja::value::Serde(&found))
            }),
        );
        let current = self.application.get("id").and_then(|v| v.as_str()).unwrap_or_default().to_string();
        map.insert(
            "applications",
            Value::from_function(move |workflow: String| {
                let found: Vec<&PriorApplication> =
                    all.iter().filter(|p| p.workflow == workflow && p.id != current).collect();
                Value::from(minijinja::value::Serde(&found))
            }),
        );
        let today = chrono::NaiveDate::parse_from_str(&self.today, "%Y-%m-%d").ok();
        map.insert(
            "days_since",
            Value::from_function(move |date: String| -> Result<i64, minijinja::Error> {
                let day = date.get(..10).and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
                match (day, today) {
                    (Some(d), Some(t)) => Ok((t - d).num_days()),
                    _ => Err(minijinja::Error::new(
                        minijinja::ErrorKind::InvalidOperation,
                        format!("days_since: `{date}` is not a date (YYYY-MM-DD…)"),
                    )),
                }
            }),
        );
        Value::from(map)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn names() -> Names {
        Names {
            form_fields: ["revenue", "rd_expense", "sector"].iter().map(|s| s.to_string()).collect(),
            indicators: ["rd"].iter().map(|s| s.to_string()).collect(),
            groups: HashSet::new(),
            allow_score: true,
        }
    }

    fn scope() -> Scope {
        Scope {
            form: json!({"revenue": 2000.0, "rd_expense": 120.5, "sector": "strategic"}),
            score: Some(json!({"total": 72, "pass": 60, "passed": true, "points": {"rd": 15}})),
            enterprise: json!({"district": "jingkou", "urban": true}),
            ..Scope::default()
        }
    }

    #[test]
    fn the_kinds_a_definition_asks_about_are_read_from_its_calls() {
        let k = Kinds::named_in("when: \"holds('srdi-sme') or held_ever( \"little-giant\" )\" # upholds(x)");
        assert_eq!(k.named.iter().map(String::as_str).collect::<Vec<_>>(), ["little-giant", "srdi-sme"]);
        assert!(!k.all);
        assert!(Kinds::named_in("rule: holds(form.kind)").all);
        assert!(Kinds::named_in("form.revenue > 0").is_empty());
        assert!(k.covers(&Kinds::named_in("holds('srdi-sme')")));
        assert!(!k.covers(&Kinds::named_in("holds('green-factory')")));
        assert!(!k.covers(&Kinds::every()));
        assert!(Kinds::every().covers(&k));
    }

    #[test]
    fn comparisons_logic_arithmetic_and_membership_evaluate() {
        let e = ExprEngine::new();
        let world = World::default();
        let ctx = scope().to_value(&world);
        assert!(e.eval_bool("form.revenue >= 1000 and form.rd_expense / form.revenue * 100 > 6", &ctx).unwrap());
        assert!(e.eval_bool("form.sector in ['strategic', 'six-basics']", &ctx).unwrap());
        assert!(e.eval_bool("not (score.total < score.pass) and enterprise.urban", &ctx).unwrap());
        assert_eq!(e.eval_number("score.points.rd * 2", &ctx).unwrap(), Some(30.0));
    }

    #[test]
    fn the_world_functions_answer_for_the_enterprise() {
        let e = ExprEngine::new();
        let world = World {
            certifications: vec![("innovative-sme".into(), true), ("srdi-sme".into(), false)],
            kinds: Kinds::every(),
            prior: vec![
                PriorApplication {
                    id: "a1".into(),
                    workflow: "reward".into(),
                    number: "1".into(),
                    state: "paid".into(),
                    is_final: true,
                    data: json!({}),
                    created_at: "2025-12-01T00:00:00Z".into(),
                    finished_at: "2026-01-01T00:00:00Z".into(),
                },
                PriorApplication {
                    id: "a2".into(),
                    workflow: "reward".into(),
                    number: "2".into(),
                    state: "finance_review".into(),
                    is_final: false,
                    data: json!({}),
                    created_at: "2026-02-01T00:00:00Z".into(),
                    finished_at: String::new(),
                },
            ],
            prior_loaded: true,
        };
        let ctx = scope().to_value(&world);
        assert!(e.eval_bool("holds('innovative-sme')", &ctx).unwrap());
        assert!(!e.eval_bool("holds('srdi-sme')", &ctx).unwrap());
        assert!(e.eval_bool("held_ever('srdi-sme')", &ctx).unwrap());
        assert!(e.eval_bool("prior('reward') | length == 1", &ctx).unwrap());
        assert!(e.eval_bool("prior('other') | length == 0", &ctx).unwrap());
        assert!(e.eval_bool("applications('reward') | length == 2", &ctx).unwrap());
        let scoped = Scope { today: "2026-03-01".into(), ..scope() }.to_value(&world);
        assert_eq!(e.eval_number("days_since('2026-01-01')", &scoped).unwrap(), Some(59.0));
        assert!(e.eval_bool("applications('reward') | selectattr('final') | list | length == 1", &scoped).unwrap());
        assert!(e.eval("days_since('soon')", &scoped).is_err());
    }

    #[test]
    fn unknown_names_and_syntax_errors_are_caught_before_running() {
        let e = ExprEngine::new();
        assert!(e.check("form.revenue > 1 and holds('x')", &names()).is_ok());
        let err = e.check("form.revenu > 1", &names()).unwrap_err();
        assert!(err.contains("form.revenu"), "{err}");
        assert!(e.check("score.points.nope > 1", &names()).unwrap_err().contains("score.points.nope"));
        assert!(e.check("import_os()", &names()).is_err());
        assert!(e.check("form.revenue >", &names()).unwrap_err().contains("does not parse"));
        let no_score = Names { allow_score: false, ..names() };
        assert!(e.check("score.total > 1", &no_score).unwrap_err().contains("cannot be used"));
    }

    #[test]
    fn a_runaway_expression_runs_out_of_fuel() {
        let e = ExprEngine::new();
        let ctx = scope().to_value(&World::default());
        assert!(e.eval("range(100000) | list | length", &ctx).is_err());
    }
}
