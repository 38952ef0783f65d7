//! The decision of an action: a pure function from what was read about an application (a
//! [`Snapshot`]) and what the caller asks ([`Request`]) to what is to be written ([`Decision`])
//! or why not ([`Refusal`], in both languages). Who may act (the assignee, four eyes, votes
//! already cast), the comment rule, which fields the action's data may set, required fields,
//! the score, `check:` and `when:` and the quorum are decided here, without a database.
//!
//! Entering the next state (its deadline, timers and `on_enter` effects) is written by the
//! engine from the decision's outcome.

pub mod enter;
mod rules;
#[cfg(test)]
mod tests;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use crate::domain::access::{Actor, AppFacts, Caller, may_take};
use crate::domain::definition::{Action, By, CommentRule, WorkflowDefinition};
use crate::domain::expr::{ExprEngine, World};
use crate::domain::form::{FieldError, FieldKind};
use crate::domain::scoring::Score;
use crate::domain::text::Text;
use crate::domain::writes::{self, Writer};

pub use rules::{Identity, check_rules, expression_scope};

fn t(zh: &str, en: &str) -> Text {
    Text { zh: zh.to_string(), en: en.to_string() }
}

/// An application as the rules see it.
#[derive(Debug, Clone)]
pub struct Application {
    pub id: String,
    pub number: String,
    pub workflow: String,
    pub enterprise_id: String,
    pub district: String,
    pub state: String,
    pub visit: i32,
    pub version: i32,
    pub data: Map<String, Value>,
    /// The stored score document.
    pub score: Option<Value>,
    pub parent: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl Application {
    fn facts(&self) -> AppFacts<'_> {
        AppFacts { enterprise_id: &self.enterprise_id, district: &self.district }
    }
}

/// One earlier entry of the application's history, as far as the rules need it.
#[derive(Debug, Clone, Copy)]
pub struct Past<'a> {
    pub actor_id: Option<&'a str>,
    pub from: Option<&'a str>,
    pub action: &'a str,
}

/// A vote cast in the current visit.
#[derive(Debug, Clone, Copy)]
pub struct CastVote<'a> {
    pub actor_id: &'a str,
    pub action: &'a str,
}

/// What the decision reads.
#[derive(Debug, Clone, Copy)]
pub struct Snapshot<'a> {
    pub def: &'a WorkflowDefinition,
    pub app: &'a Application,
    /// The history so far (what four eyes looks at).
    pub past: &'a [Past<'a>],
    /// The fields whoever opened the application for the enterprise wrote.
    pub opened_with: &'a [String],
    /// The votes of the current visit.
    pub votes: &'a [CastVote<'a>],
    /// The enterprise as expressions see it.
    pub enterprise: &'a Value,
    pub world: &'a World,
    /// The application's attachments: (id, field).
    pub attachments: &'a [(String, String)],
    pub caller: Caller<'a>,
    pub now: DateTime<Utc>,
}

/// What the caller asks.
#[derive(Debug, Clone, Default)]
pub struct Request {
    pub action: String,
    pub comment: Option<String>,
    pub data: Option<Map<String, Value>>,
    /// The version the caller saw (`If-Match`).
    pub if_match: Option<i32>,
}

/// Why an action is not taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    NotFound,
    Forbidden(Text),
    Conflict(Text),
    Unprocessable { title: Text, errors: Vec<FieldError> },
}

impl Refusal {
    fn rule(title: Text, messages: Vec<Text>) -> Refusal {
        Refusal::Unprocessable {
            title,
            errors: messages.into_iter().map(|m| FieldError { field: String::new(), message: m }).collect(),
        }
    }
}

/// Where the action leads.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// A vote short of its quorum: recorded, and the application stays.
    Vote { votes: u64, quorum: u32 },
    /// The application enters `to`.
    Transition { to: String },
}

/// What is to be written.
#[derive(Debug, Clone)]
pub struct Decision {
    pub action: String,
    pub comment: Option<String>,
    /// The form data after the action.
    pub data: Map<String, Value>,
    /// What the request's data changed, for the history.
    pub patch: Option<Map<String, Value>>,
    /// The new score, when the data changed and the workflow scores.
    pub score: Option<Score>,
    /// The score as expressions see it after the action.
    pub score_value: Option<Value>,
    /// Whether the caller's vote is to be recorded.
    pub vote: bool,
    pub outcome: Outcome,
}

impl Decision {
    /// The history entry's data: what the request changed, or the vote count.
    pub fn entry_data(&self) -> Option<Value> {
        match &self.outcome {
            Outcome::Vote { votes, quorum } => Some(json!({"vote": self.action, "votes": votes, "quorum": quorum})),
            Outcome::Transition { .. } => self.patch.clone().map(Value::Object),
        }
    }
}

/// The actions `caller` may take now on an application in `state`: those its roles allow, less
/// those that four eyes forbids (it acted in a state the assignee must be separate from) and
/// votes it already cast.
pub fn available<'d>(
    def: &'d WorkflowDefinition,
    state: &str,
    facts: AppFacts<'_>,
    past: &[Past<'_>],
    votes: &[CastVote<'_>],
    caller: Caller<'_>,
) -> Vec<&'d Action> {
    let Some(state) = def.state(state) else { return Vec::new() };
    state
        .actions
        .values()
        .filter(|a| may_take(caller, state, a, facts))
        .filter(|a| match caller {
            Caller::System => true,
            Caller::User(actor) => {
                let voted_already = a.quorum.is_some() && voted(actor, votes);
                !separated(state, a, actor, past) && !voted_already
            }
        })
        .collect()
}

fn separated(state: &crate::domain::definition::State, a: &Action, actor: &Actor, past: &[Past<'_>]) -> bool {
    state.assignee.as_ref().is_some_and(|asg| {
        a.by != By::Applicant
            && past.iter().any(|h| {
                h.actor_id == Some(actor.id.as_str())
                    && h.from.is_some_and(|f| asg.separate_from.iter().any(|s| s == f))
                    && h.action != "save"
            })
    })
}

fn voted(actor: &Actor, votes: &[CastVote<'_>]) -> bool {
    votes.iter().any(|v| v.actor_id == actor.id)
}

/// One of the caller's actions that would be refused now, with every reason.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Blocker {
    pub action: String,
    pub title: Option<Text>,
    /// The reasons; `field` names the form field when a reason is about one.
    pub reasons: Vec<FieldError>,
}

/// A dry run of the caller's actions on the data as stored: for each it may take now, what would
/// refuse it (missing required fields, each `check:` and the `when:` rule, all of them, not only
/// the first), evaluated as taking it would. Actions that would go through are left out.
pub fn blockers(expr: &ExprEngine, snap: &Snapshot<'_>) -> Vec<Blocker> {
    let (def, app) = (snap.def, snap.app);
    let Some(state) = def.state(&app.state) else { return Vec::new() };
    let actions = available(def, &app.state, app.facts(), snap.past, snap.votes, snap.caller);
    if actions.is_empty() {
        return Vec::new();
    }
    let score = app.score.as_ref().map(score_view);
    let scope =
        expression_scope(def, &app.data, score.clone(), snap.enterprise, snap.caller, Some(app.identity()), snap.now);
    let ctx = scope.to_value(snap.world);
    let mut out = Vec::new();
    for a in actions {
        let mut reasons = Vec::new();
        if state.editable.any() && def.state(&a.to).is_some_and(|t| !t.is_final) {
            reasons.extend(def.form().missing(&app.data));
        }
        let parts = a
            .checks
            .iter()
            .map(|c| Action { checks: vec![*c], when: None, ..a.clone() })
            .chain(a.when.as_ref().map(|w| Action { checks: Vec::new(), when: Some(w.clone()), ..a.clone() }));
        for part in parts {
            if let Err(Refusal::Unprocessable { errors, .. }) = check_rules(expr, def, &part, &ctx, score.as_ref()) {
                reasons.extend(errors);
            }
        }
        if !reasons.is_empty() {
            out.push(Blocker { action: a.name.clone(), title: a.title.clone(), reasons });
        }
    }
    out
}

/// Decides `req` on the application of `snap`.
pub fn decide(expr: &ExprEngine, snap: &Snapshot<'_>, req: &Request) -> Result<Decision, Refusal> {
    let (def, app) = (snap.def, snap.app);
    let state = def.state(&app.state).ok_or(Refusal::NotFound)?;
    let Some(action) = state.actions.get(&req.action) else {
        return Err(if def.states().any(|s| s.actions.contains_key(&req.action)) {
            Refusal::Conflict(t("当前环节不能执行该操作", "the action is not available in the current state"))
        } else {
            Refusal::NotFound
        });
    };
    if req.if_match.is_some_and(|v| v != app.version) {
        return Err(stale());
    }
    if !available(def, &app.state, app.facts(), snap.past, snap.votes, snap.caller)
        .iter()
        .any(|a| a.name == action.name)
    {
        return Err(why_refused(snap, action));
    }
    let comment = req.comment.as_deref().map(str::trim).filter(|c| !c.is_empty()).map(str::to_string);
    if action.comment == CommentRule::Required && comment.is_none() {
        return Err(Refusal::Unprocessable {
            title: t("需要填写意见", "a comment is required"),
            errors: vec![FieldError {
                field: "comment".into(), message: t("请填写意见", "please give a comment")
            }],
        });
    }
    let patch = match &req.data {
        Some(p) => Some(permitted_patch(snap, action, p)?),
        None => None,
    };
    let mut data = app.data.clone();
    if let Some(p) = &patch {
        data.extend(p.clone());
    }
    let target = def.state(&action.to).ok_or(Refusal::NotFound)?;
    if state.editable.any() && !target.is_final {
        let missing = def.form().missing(&data);
        if !missing.is_empty() {
            return Err(Refusal::Unprocessable {
                title: t("表单尚未填写完整", "the form is incomplete"),
                errors: missing,
            });
        }
    }
    let score = match (&patch, def.scoring()) {
        (Some(_), Some(scoring)) => {
            let scope =
                expression_scope(def, &data, None, snap.enterprise, snap.caller, Some(app.identity()), snap.now);
            Some(scoring.compute(expr, &scope.to_value(snap.world)))
        }
        _ => None,
    };
    let score_value = score.as_ref().map(Score::expression_value).or_else(|| app.score.as_ref().map(score_view));
    let scope =
        expression_scope(def, &data, score_value.clone(), snap.enterprise, snap.caller, Some(app.identity()), snap.now);
    check_rules(expr, def, action, &scope.to_value(snap.world), score_value.as_ref())?;
    let vote = action.quorum.is_some() && matches!(snap.caller, Caller::User(_));
    let outcome = match action.quorum {
        Some(q) if vote => {
            let cast = snap.votes.iter().filter(|v| v.action == action.name).count() as u64 + 1;
            if cast < u64::from(q) {
                Outcome::Vote { votes: cast, quorum: q }
            } else {
                Outcome::Transition { to: action.to.clone() }
            }
        }
        _ => Outcome::Transition { to: action.to.clone() },
    };
    Ok(Decision { action: action.name.clone(), comment, data, patch, score, score_value, vote, outcome })
}

/// The score as expressions see it, from the stored score document.
pub fn score_view(stored: &Value) -> Value {
    let pick = |list: &str| -> Map<String, Value> {
        stored[list]
            .as_array()
            .map(|a| a.iter().filter_map(|i| Some((i["key"].as_str()?.to_string(), i["points"].clone()))).collect())
            .unwrap_or_default()
    };
    json!({
        "total": stored["total"], "pass": stored["pass"], "passed": stored["passed"], "direct": stored["direct"],
        "points": pick("indicators"), "groups": pick("groups"),
    })
}

fn stale() -> Refusal {
    Refusal::Conflict(t(
        "申请已被他人修改，请刷新后重试",
        "the application was changed by someone else; reload and try again",
    ))
}

/// The data of the request that the caller may write: the action's own fields, and for the
/// applicant what its state lets it edit; file fields must name this application's uploads.
fn permitted_patch(
    snap: &Snapshot<'_>,
    action: &Action,
    data: &Map<String, Value>,
) -> Result<Map<String, Value>, Refusal> {
    let (def, app) = (snap.def, snap.app);
    let state = def.state(&app.state).ok_or(Refusal::NotFound)?;
    let patch =
        def.form().normalise(data).map_err(|errors| Refusal::Unprocessable {
            title: t("表单数据无效", "the form data are not valid"),
            errors,
        })?;
    let applicant = matches!(snap.caller, Caller::User(a) if a.belongs_to(&app.enterprise_id));
    let no = crate::domain::definition::Editable::No;
    let writer = Writer {
        editable: if applicant { &state.editable } else { &no },
        action_fields: &action.fields,
        locked: snap.opened_with,
    };
    let patch = writes::permitted(def.form(), writer, &app.data, patch)
        .map_err(|errors| Refusal::Unprocessable { title: writer.refusal_title(), errors })?;
    for (k, v) in &patch {
        let is_file = def.form().field(k).is_some_and(|f| matches!(f.kind, FieldKind::File { .. }));
        let Some(id) = v.as_str().filter(|_| is_file) else { continue };
        if !snap.attachments.iter().any(|(a, field)| a == id && field == k) {
            return Err(Refusal::Unprocessable {
                title: t("附件无效", "invalid attachment"),
                errors: vec![FieldError {
                    field: k.clone(),
                    message: t("附件不属于本申请", "the attachment does not belong to this application"),
                }],
            });
        }
    }
    Ok(patch)
}

/// Why an action the caller may not take now is refused.
fn why_refused(snap: &Snapshot<'_>, action: &Action) -> Refusal {
    let Caller::User(actor) = snap.caller else {
        return Refusal::Forbidden(t("系统不能执行该操作", "the system may not take this action"));
    };
    let Some(state) = snap.def.state(&snap.app.state) else { return Refusal::NotFound };
    if !may_take(snap.caller, state, action, snap.app.facts()) {
        return Refusal::Forbidden(t("您无权执行该操作", "you may not take this action"));
    }
    if action.quorum.is_some() && voted(actor, snap.votes) {
        return Refusal::Conflict(t("您已在本环节投票", "you have already voted in this state"));
    }
    Refusal::Forbidden(t(
        "您已在前序环节办理过本申请，按回避规则不能在本环节办理",
        "you acted on this application in an earlier stage; the four-eyes rule lets someone else act here",
    ))
}
