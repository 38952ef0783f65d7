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
