//! What expressions see, and the rules an action checks before it is taken: `check:`
//! (eligibility, scoring) and `when:`.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::{Application, Refusal, t};
use crate::domain::access::Caller;
use crate::domain::calendar::china_offset;
use crate::domain::definition::{Action, Check, WorkflowDefinition};
use crate::domain::expr::{ExprEngine, Scope};

/// Who an application is, as `application.*` shows it.
#[derive(Debug, Clone, Copy)]
pub struct Identity<'a> {
    pub id: &'a str,
    pub number: &'a str,
    pub workflow: &'a str,
    pub state: &'a str,
    pub created_at: DateTime<Utc>,
    pub version: i32,
    pub parent: Option<&'a str>,
}

impl Application {
    pub fn identity(&self) -> Identity<'_> {
        Identity {
            id: &self.id,
            number: &self.number,
            workflow: &self.workflow,
            state: &self.state,
            created_at: self.created_at,
            version: self.version,
            parent: self.parent.as_deref(),
        }
    }
}

/// The names an expression of `def` sees for `data`: `form`, `score`, `enterprise`, `actor`,
/// `application` (none before the application exists) and `today` (China Standard Time).
pub fn expression_scope(
    def: &WorkflowDefinition,
    data: &Map<String, Value>,
    score: Option<Value>,
    enterprise: &Value,
    caller: Caller<'_>,
    app: Option<Identity<'_>>,
    now: DateTime<Utc>,
) -> Scope {
    let actor = match caller {
        Caller::User(a) => json!({
            "id": a.id, "name": a.name, "email": a.email,
            "roles": a.roles.iter().map(|(r, _)| r.as_str()).collect::<Vec<_>>(),
        }),
        Caller::System => json!({"id": "system", "name": "system", "email": "", "roles": ["system"]}),
    };
    let application = app.map_or(json!({"workflow": def.key(), "version": 0}), |a| {
        json!({
            "id": a.id, "number": a.number, "workflow": a.workflow, "state": a.state,
            "created_at": a.created_at.to_rfc3339(), "version": a.version, "parent": a.parent,
        })
    });
    Scope {
        form: def.form().expression_values(data),
        score,
        enterprise: enterprise.clone(),
        actor,
        application,
        today: now.with_timezone(&china_offset()).date_naive().to_string(),
    }
}

/// The action's `check:` list, then its `when:` rule, against `ctx`; `score` is the score as
/// expressions see it.
pub fn check_rules(
    expr: &ExprEngine,
    def: &WorkflowDefinition,
    action: &Action,
    ctx: &minijinja::Value,
    score: Option<&Value>,
) -> Result<(), Refusal> {
    for check in &action.checks {
        match check {
            Check::Eligibility => {
                let failed: Vec<_> = def
                    .eligibility()
                    .iter()
                    .filter(|r| !expr.eval_bool(&r.expr, ctx).unwrap_or(false))
                    .map(|r| r.message.clone())
                    .collect();
                if !failed.is_empty() {
                    return Err(Refusal::rule(t("不符合申报条件", "the eligibility rules are not met"), failed));
                }
            }
            Check::Scoring => {
                let passed = score.and_then(|s| s["passed"].as_bool()).unwrap_or(false);
                if !passed {
                    let (total, pass) = score.map_or((json!(0), json!(0)), |s| (s["total"].clone(), s["pass"].clone()));
                    return Err(Refusal::rule(
                        t("评分未达标", "the score does not qualify"),
                        vec![t(
                            &format!("得分 {total}，合格线 {pass}，或有类别未达到最低分，且不满足直通条件"),
                            &format!(
                                "score {total} against a pass line of {pass} (or a group below its minimum), and no direct qualification"
                            ),
                        )],
                    ));
                }
            }
        }
    }
    if let Some(rule) = &action.when {
        match expr.eval_bool(&rule.expr, ctx) {
            Ok(true) => {}
            Ok(false) => {
                return Err(Refusal::rule(t("条件不满足", "the condition is not met"), vec![rule.message.clone()]));
            }
            Err(e) => {
                return Err(Refusal::rule(
                    t("条件无法计算", "the condition cannot be evaluated"),
                    vec![rule.message.clone(), t(&e, &e)],
                ));
            }
        }
    }
    Ok(())
}
