//! Table tests of the decision, without a database: each refusal, four eyes across stages, a
//! quorum reached and not, `when` with the action's data, editable fields, required fields.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::*;
use crate::domain::definition::{Context, parse_definition};
use crate::domain::role::Role;

const FLOW: &str = "\
key: flow
version: 1
title: {zh: 流程, en: Flow}
starts: enterprise
form:
  fields:
    - {key: amount, type: integer, label: {zh: 金额, en: Amount}, required: true}
    - {key: note, type: text, label: {zh: 备注, en: Note}}
    - {key: ref, type: text, label: {zh: 凭证, en: Reference}}
    - {key: report, type: file, label: {zh: 报告, en: Report}}
eligibility:
  - rule: \"form.amount > 0\"
    message: {zh: 须为正, en: Must be positive}
scoring:
  pass: 10
  indicators:
    - key: amount
      title: {zh: 金额, en: Amount}
      value: \"form.amount\"
      points:
        - {min: 100, points: 20}
        - {points: 0}
states:
  draft:
    editable: [amount, note, report]
    actions:
      submit: {to: district, by: applicant, check: [eligibility, scoring]}
  district:
    assignee: {role: reviewer, scope: district}
    actions:
      approve: {to: city}
      return: {to: draft, comment: required}
  city:
    assignee: {role: reviewer, scope: city, separate_from: [district]}
    actions:
      approve: {to: panel}
  panel:
    assignee: {role: expert, scope: any}
    actions:
      approve: {to: finance, quorum: 2}
      reject: {to: rejected, quorum: 2, comment: required}
  finance:
    assignee: {role: finance, scope: any}
    actions:
      pay:
        to: paid
        fields: [ref]
        when: \"form.ref == 'ZJ-1'\"
        message: {zh: 凭证号不符, en: Wrong reference}
  paid:
    final: true
  rejected:
    final: true
";

fn def() -> WorkflowDefinition {
    let engine = ExprEngine::new();
    let none = HashSet::new();
    let cx = Context { engine: &engine, templates: &none, expected_key: Some("flow"), budgets: &none };
    parse_definition("workflows/flow.yaml", FLOW, &cx).unwrap_or_else(|e| panic!("{e:?}"))
}

fn at() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-03-02T09:00:00+08:00").map(|d| d.with_timezone(&Utc)).unwrap_or_default()
}

fn app(state: &str, data: Value) -> Application {
    Application {
        id: "a1".into(),
        number: "N-1".into(),
        workflow: "flow".into(),
        enterprise_id: "e1".into(),
        district: "jingkou".into(),
        state: state.into(),
        visit: 3,
        version: 7,
        data: data.as_object().cloned().unwrap_or_default(),
        score: None,
        parent: None,
        created_at: at(),
    }
}

fn person(id: &str, role: Role, jurisdiction: Option<&str>, enterprise: Option<&str>) -> Actor {
    Actor {
        id: id.into(),
        name: id.into(),
        email: format!("{id}@x.cn"),
        enterprise_id: enterprise.map(str::to_string),
        roles: vec![(role, jurisdiction.map(str::to_string))],
    }
}

/// The parts of a snapshot a case changes.
struct Case<'a> {
    app: Application,
    past: Vec<Past<'a>>,
    votes: Vec<CastVote<'a>>,
    opened_with: Vec<String>,
    attachments: Vec<(String, String)>,
    caller: Caller<'a>,
}

impl<'a> Case<'a> {
    fn new(state: &str, data: Value, caller: Caller<'a>) -> Case<'a> {
        Case {
            app: app(state, data),
            past: Vec::new(),
            votes: Vec::new(),
            opened_with: Vec::new(),
            attachments: Vec::new(),
            caller,
        }
    }

    fn decide(&self, action: &str, comment: Option<&str>, data: Option<Value>) -> Result<Decision, Refusal> {
        let d = def();
        let enterprise = json!({"id": "e1", "district": "jingkou", "urban": true});
        let world = World::default();
        let snap = Snapshot {
            def: &d,
            app: &self.app,
            past: &self.past,
            opened_with: &self.opened_with,
            votes: &self.votes,
            enterprise: &enterprise,
            world: &world,
            attachments: &self.attachments,
            caller: self.caller,
            now: at(),
        };
        let req = Request {
            action: action.into(),
            comment: comment.map(str::to_string),
            data: data.and_then(|v| v.as_object().cloned()),
            if_match: None,
        };
        decide(&ExprEngine::new(), &snap, &req)
    }
}

fn field_errors(r: Result<Decision, Refusal>) -> Vec<String> {
    match r {
        Err(Refusal::Unprocessable { errors, .. }) => errors.into_iter().map(|e| e.field).collect(),
        other => panic!("expected 422, got {other:?}"),
    }
}

fn english(r: Result<Decision, Refusal>) -> String {
    match r {
        Err(Refusal::Forbidden(m) | Refusal::Conflict(m)) => m.en,
        Err(Refusal::Unprocessable { title, errors }) => {
            format!("{}: {}", title.en, errors.iter().map(|e| e.message.en.clone()).collect::<Vec<_>>().join("; "))
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn to(d: Result<Decision, Refusal>) -> Outcome {
    d.unwrap_or_else(|e| panic!("refused: {e:?}")).outcome
}

#[test]
fn unknown_actions_actions_of_other_states_and_stale_versions_are_refused() {
    let owner = person("o", Role::Enterprise, None, Some("e1"));
    let case = Case::new("draft", json!({"amount": 120}), Caller::User(&owner));
    assert_eq!(case.decide("fly", None, None).err(), Some(Refusal::NotFound));
    assert_eq!(english(case.decide("approve", None, None)), "the action is not available in the current state");
    let d = def();
    let enterprise = json!({});
    let world = World::default();
    let snap = Snapshot {
        def: &d,
        app: &case.app,
        past: &[],
        opened_with: &[],
        votes: &[],
        enterprise: &enterprise,
        world: &world,
        attachments: &[],
        caller: case.caller,
        now: at(),
    };
    let stale = Request { action: "submit".into(), if_match: Some(6), ..Request::default() };
    assert!(matches!(decide(&ExprEngine::new(), &snap, &stale), Err(Refusal::Conflict(_))));
}

#[test]
fn who_may_act_each_refusal_in_its_words() {
    let other_district = person("r2", Role::Reviewer, Some("runzhou"), None);
    let own_user_as_reviewer = person("o", Role::Enterprise, None, Some("e1"));
    let system = Case::new("district", json!({"amount": 120}), Caller::System);
    assert_eq!(english(system.decide("approve", None, None)), "the system may not take this action");
    let case = Case::new("district", json!({"amount": 120}), Caller::User(&other_district));
    assert_eq!(english(case.decide("approve", None, None)), "you may not take this action");
    let case = Case::new("district", json!({"amount": 120}), Caller::User(&own_user_as_reviewer));
    assert_eq!(english(case.decide("approve", None, None)), "you may not take this action");
    // A comment is required to return, and blank is none.
    let reviewer = person("r1", Role::Reviewer, Some("jingkou"), None);
    let case = Case::new("district", json!({"amount": 120}), Caller::User(&reviewer));
    assert_eq!(field_errors(case.decide("return", Some("  "), None)), ["comment"]);
    assert_eq!(to(case.decide("return", Some("补正材料"), None)), Outcome::Transition { to: "draft".into() });
}

#[test]
fn four_eyes_holds_across_stages() {
    // A reviewer with both a district and a city role approved in the district stage.
    let mut both = person("r1", Role::Reviewer, Some("jingkou"), None);
    both.roles.push((Role::Reviewer, Some("city".into())));
    let mut case = Case::new("city", json!({"amount": 120}), Caller::User(&both));
    assert_eq!(to(case.decide("approve", None, None)), Outcome::Transition { to: "panel".into() });
    case.past.push(Past { actor_id: Some("r1"), from: Some("district"), action: "approve" });
    assert!(english(case.decide("approve", None, None)).contains("four-eyes"));
    // Someone else's approval in the district does not bar them.
    case.past[0].actor_id = Some("r9");
    assert!(case.decide("approve", None, None).is_ok());
    let d = def();
    let open = available(&d, "city", case.app.facts(), &case.past, &case.votes, Caller::User(&both));
    assert!(open.iter().any(|a| a.name == "approve"));
}

#[test]
fn a_quorum_is_reached_by_the_last_vote_and_a_voter_votes_once() {
    let e1 = person("x1", Role::Expert, Some("province"), None);
    let e2 = person("x2", Role::Expert, Some("province"), None);
    let mut case = Case::new("panel", json!({"amount": 120}), Caller::User(&e1));
    let first = case.decide("approve", None, None).unwrap_or_else(|e| panic!("{e:?}"));
    assert!(first.vote);
    assert_eq!(first.outcome, Outcome::Vote { votes: 1, quorum: 2 });
    assert_eq!(first.entry_data(), Some(json!({"vote": "approve", "votes": 1, "quorum": 2})));
    case.votes.push(CastVote { actor_id: "x1", action: "approve" });
    assert_eq!(english(case.decide("approve", None, None)), "you have already voted in this state");
    // A vote for another outcome does not count toward this one.
    case.caller = Caller::User(&e2);
    assert_eq!(to(case.decide("reject", Some("不足"), None)), Outcome::Vote { votes: 1, quorum: 2 });
    assert_eq!(to(case.decide("approve", None, None)), Outcome::Transition { to: "finance".into() });
}

#[test]
fn when_sees_the_action_s_data_and_the_data_sets_only_the_action_s_fields() {
    let finance = person("f", Role::Finance, None, None);
    let case = Case::new("finance", json!({"amount": 120}), Caller::User(&finance));
    assert_eq!(english(case.decide("pay", None, None)), "the condition is not met: Wrong reference");
    assert_eq!(
        english(case.decide("pay", None, Some(json!({"ref": "ZJ-2"})))),
        "the condition is not met: Wrong reference"
    );
    let paid = case.decide("pay", None, Some(json!({"ref": "ZJ-1"}))).unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(paid.data["ref"], "ZJ-1");
    assert_eq!(paid.entry_data(), Some(json!({"ref": "ZJ-1"})));
    assert_eq!(field_errors(case.decide("pay", None, Some(json!({"ref": "ZJ-1", "amount": 9999})))), ["amount"]);
}

#[test]
fn the_applicant_writes_what_its_state_lists_with_its_uploads_only() {
    let owner = person("o", Role::Enterprise, None, Some("e1"));
    let mut case = Case::new("draft", json!({"amount": 120}), Caller::User(&owner));
    // `ref` is not in the draft's list.
    assert_eq!(field_errors(case.decide("submit", None, Some(json!({"ref": "x"})))), ["ref"]);
    // A file field names an upload of this application, of that field.
    assert_eq!(field_errors(case.decide("submit", None, Some(json!({"report": "att-1"})))), ["report"]);
    case.attachments.push(("att-1".into(), "report".into()));
    assert!(case.decide("submit", None, Some(json!({"report": "att-1"}))).is_ok());
    // What the opener wrote stays locked only under `editable: true`; a list that names it opens it.
    case.opened_with.push("amount".into());
    assert!(case.decide("submit", None, Some(json!({"amount": 150}))).is_ok());
}

#[test]
fn required_fields_checks_and_the_new_score() {
    let owner = person("o", Role::Enterprise, None, Some("e1"));
    let case = Case::new("draft", json!({}), Caller::User(&owner));
    assert_eq!(field_errors(case.decide("submit", None, None)), ["amount"]);
    let low = case.decide("submit", None, Some(json!({"amount": 50})));
    assert!(english(low).starts_with("the score does not qualify"), "a score of 0 against 10");
    let neg = case.decide("submit", None, Some(json!({"amount": -5})));
    assert!(english(neg).contains("Must be positive"));
    let ok = case.decide("submit", None, Some(json!({"amount": 150}))).unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(ok.outcome, Outcome::Transition { to: "district".into() });
    let score = ok.score_value.unwrap_or(Value::Null);
    assert_eq!((score["total"].clone(), score["passed"].clone()), (json!(20), json!(true)));
    assert_eq!(ok.data, json!({"amount": 150}).as_object().cloned().unwrap_or_else(Map::new));
}

// ---------------------------------------------------------------- entering a state

const CLOCKS: &str = "\
key: clocks
version: 1
title: {zh: 时钟, en: Clocks}
starts: enterprise
form:
  fields:
    - {key: days, type: integer, label: {zh: 天数, en: Days}}
    - {key: amount, type: money, label: {zh: 金额, en: Amount}}
states:
  draft:
    editable: true
    actions:
      submit: {to: review, by: applicant}
  review:
    assignee: {role: reviewer, scope: district}
    timeout: {after: 10 working days, action: lapse, notify: [{to: assignees, template: overdue}]}
    remind: [{before: 2 days, to: assignees, template: reminder}]
    actions:
      ask: {to: fixing}
      approve: {to: done}
      lapse: {to: lapsed, by: system}
  fixing:
    pauses: review
    timeout: {after: {days: \"form.days\"}, action: lapse}
    actions:
      back: {to: review, by: applicant}
      lapse: {to: lapsed, by: system}
  done:
    final: true
    on_enter:
      - start: {workflow: clocks, when: \"not holds('clock-cert')\", data: {amount: \"form.amount\"}}
      - grant: {certification: clock-cert, valid_for: 3 years}
      - reserve: {budget: pot, amount: \"form.amount\"}
      - claim: {award: \"'clock-award'\"}
  lapsed:
    final: true
";

fn clocks() -> WorkflowDefinition {
    let engine = ExprEngine::new();
    let templates: HashSet<String> = ["overdue", "reminder"].iter().map(|s| s.to_string()).collect();
    let budgets: HashSet<String> = ["pot".to_string()].into_iter().collect();
    let cx = Context { engine: &engine, templates: &templates, expected_key: Some("clocks"), budgets: &budgets };
    parse_definition("workflows/clocks.yaml", CLOCKS, &cx).unwrap_or_else(|e| panic!("{e:?}"))
}

fn ctx_of(def: &WorkflowDefinition, data: Value, world: &World) -> minijinja::Value {
    let data = data.as_object().cloned().unwrap_or_default();
    expression_scope(def, &data, None, &json!({}), Caller::System, None, at()).to_value(world)
}

#[test]
fn entering_a_state_sets_its_deadline_timers_and_what_becomes_of_earlier_ones() {
    use super::enter::{Earlier, arrive};
    let (d, cal, e) = (clocks(), crate::domain::calendar::Calendar::default(), ExprEngine::new());
    let env = enter::Env { expr: &e, calendar: &cal };
    let ctx = ctx_of(&d, json!({"days": 5}), &World::default());
    // Review: 10 working days from Monday 2 March (no holiday data: Monday to Friday), to the
    // end of Monday 16 March.
    let review = arrive(env, &d, Some("draft"), "review", &ctx, None, at()).unwrap_or_else(|e| panic!("{e:?}"));
    let due = review.due_at.unwrap_or_default();
    assert_eq!(due.to_rfc3339(), "2026-03-16T16:00:00+00:00");
    assert_eq!(review.earlier, Earlier::Cancel);
    let kinds: Vec<(&str, Option<&str>, DateTime<Utc>)> =
        review.timers.iter().map(|t| (t.kind, t.target.as_deref(), t.due)).collect();
    assert_eq!(
        kinds,
        [
            ("timeout", None, due),
            ("notify", Some("assignees"), due),
            ("remind", Some("assignees"), due - chrono::Duration::days(2)),
        ]
    );
    // Asking for a fix pauses the review clock; the fix has its own, from the data.
    let fixing = arrive(env, &d, Some("review"), "fixing", &ctx, None, at()).unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!((fixing.earlier, fixing.timers.len()), (Earlier::Pause, 1));
    assert_eq!(fixing.due_at, Some(at() + chrono::Duration::days(5)));
    // Back in review the clock runs on with what was left; no new timers are set.
    let left = at() + chrono::Duration::days(7);
    let back = arrive(env, &d, Some("fixing"), "review", &ctx, Some(left), at()).unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!((back.earlier, back.due_at, back.timers.is_empty()), (Earlier::Resume, Some(left), true));
    // A final state has no clock.
    let done = arrive(env, &d, Some("review"), "done", &ctx, None, at()).unwrap_or_else(|e| panic!("{e:?}"));
    assert!(done.is_final && done.due_at.is_none() && done.timers.is_empty());
    // A period the data cannot give is refused.
    let bad = ctx_of(&d, json!({}), &World::default());
    assert!(arrive(env, &d, Some("review"), "fixing", &bad, None, at()).is_err());
}

#[test]
fn effects_are_evaluated_in_order_against_the_world_the_ones_before_left() {
    use super::enter::{Planned, plan};
    let (d, cal, e) = (clocks(), crate::domain::calendar::Calendar::default(), ExprEngine::new());
    let env = enter::Env { expr: &e, calendar: &cal };
    let effects = &d.state("done").map(|s| s.on_enter.clone()).unwrap_or_default();
    // The engine's loop: each effect sees the world as the effects before it left it.
    let mut world = World::default();
    let mut planned = Vec::new();
    for effect in effects {
        let ctx = ctx_of(&d, json!({"amount": "300000.00"}), &world);
        if let Some(p) = plan(env, effect, &ctx, at()).unwrap_or_else(|e| panic!("{e:?}")) {
            if let Planned::Grant { kind, .. } = &p {
                world.certifications.push((kind.clone(), true));
            }
            planned.push(p);
        }
    }
    let mut data = Map::new();
    data.insert("amount".into(), json!(300000.0));
    assert_eq!(planned[0], Planned::Start { workflow: "clocks".into(), data });
    assert!(matches!(&planned[1], Planned::Grant { kind, valid_until: Some(_) } if kind == "clock-cert"));
    // Money passes through expressions as a number: 300000.0 (the budget parses it to fen).
    assert_eq!(planned[2], Planned::Reserve { budget: "pot".into(), amount: "300000.0".into(), year: None });
    assert_eq!(planned[3], Planned::Claim { award: "clock-award".into() });
    // Run again once the certification is held: the start's `when` is false, so it is left out.
    let ctx = ctx_of(&d, json!({"amount": "1"}), &world);
    assert_eq!(plan(env, &effects[0], &ctx, at()).unwrap_or_else(|e| panic!("{e:?}")), None);
}
