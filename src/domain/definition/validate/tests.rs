//! Every error the validator can report, each from a minimal valid definition changed in one
//! place, with the exact line and column it must point at.

use std::collections::HashSet;

use super::{Context, parse_definition};
use crate::domain::definition::{Catalogue, DefinitionError, Editable, SourceFile, WorkflowDefinition};
use crate::domain::expr::ExprEngine;

/// A small workflow that uses forms, eligibility, scoring, assignees, timeouts, reminders,
/// notifications and effects, and is valid. Each test changes one thing in it.
const MINIMAL: &str = "\
key: demo
version: 1
title: {zh: 演示, en: Demo}
starts: enterprise
form:
  fields:
    - key: amount
      type: integer
      label: {zh: 金额, en: Amount}
    - key: report
      type: file
      label: {zh: 报告, en: Report}
eligibility:
  - rule: \"form.amount > 0\"
    message: {zh: 须为正, en: Must be positive}
scoring:
  pass: 10
  groups:
    - {key: size, title: {zh: 规模, en: Size}}
  indicators:
    - key: amount
      title: {zh: 金额, en: Amount}
      group: size
      value: \"form.amount\"
      points:
        - {min: 100, points: 20}
        - {points: 0}
initial: draft
states:
  draft:
    editable: true
    actions:
      submit: {to: review, by: applicant, check: [eligibility, scoring]}
  review:
    assignee: {role: reviewer, scope: district}
    timeout: {after: 10 working days, action: expire}
    remind:
      - {before: 2 days, to: assignees, template: returned}
    actions:
      approve: {to: done, notify: [{to: applicant, template: approved}]}
      expire: {to: draft, by: system}
  done:
    final: true
    on_enter:
      - grant: {certification: demo, valid_for: 3 years}
";

/// The scoring table of [`MINIMAL`], for tests that take it out.
const SCORING: &str = "\
scoring:
  pass: 10
  groups:
    - {key: size, title: {zh: 规模, en: Size}}
  indicators:
    - key: amount
      title: {zh: 金额, en: Amount}
      group: size
      value: \"form.amount\"
      points:
        - {min: 100, points: 20}
        - {points: 0}
";

fn set_of(names: &[&str]) -> HashSet<String> {
    names.iter().map(|s| (*s).to_string()).collect()
}

fn parse_as(src: &str, expected_key: Option<&str>) -> Result<WorkflowDefinition, Vec<DefinitionError>> {
    let engine = ExprEngine::new();
    let templates = set_of(&["approved", "returned"]);
    parse_definition(
        "workflows/demo.yaml",
        src,
        &Context { engine: &engine, templates: &templates, expected_key, budgets: &HashSet::new() },
    )
}

fn parse(src: &str) -> Result<WorkflowDefinition, Vec<DefinitionError>> {
    parse_as(src, Some("demo"))
}

/// [`MINIMAL`] with each `(old, new)` applied in turn; each `old` must occur exactly once.
fn with(edits: &[(&str, &str)]) -> String {
    let mut src = MINIMAL.to_string();
    for (old, new) in edits {
        assert_eq!(src.matches(old).count(), 1, "`{old}` must occur exactly once in:\n{src}");
        src = src.replacen(old, new, 1);
    }
    src
}

/// The 1-based line and column (in characters) of the `nth` (0-based) occurrence of `needle`.
fn at_nth(src: &str, needle: &str, nth: usize) -> (u64, u64) {
    let (offset, _) = src.match_indices(needle).nth(nth).unwrap_or_else(|| panic!("`{needle}` #{nth} not in:\n{src}"));
    let before = &src[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    (line as u64, column as u64)
}

/// Where `needle` first occurs in `src`.
fn at(src: &str, needle: &str) -> (u64, u64) {
    at_nth(src, needle, 0)
}

fn errors(src: &str) -> Vec<DefinitionError> {
    match parse(src) {
        Ok(_) => panic!("expected errors for:\n{src}"),
        Err(e) => e,
    }
}

fn show(errors: &[DefinitionError]) -> String {
    errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n")
}

/// Asserts that `src` has exactly one error, at `pos`, whose message contains `part`.
#[track_caller]
fn assert_only(src: &str, pos: (u64, u64), part: &str) {
    let errs = errors(src);
    assert_eq!(errs.len(), 1, "expected one error, got:\n{}", show(&errs));
    let e = &errs[0];
    assert_eq!(e.file, "workflows/demo.yaml");
    assert_eq!((e.line, e.column), pos, "place of `{}`", e.message);
    assert!(e.message.contains(part), "`{}` should contain `{part}`", e.message);
}

/// Asserts that among the errors of `src` one is at `pos` and its message contains `part`.
#[track_caller]
fn assert_has(src: &str, pos: (u64, u64), part: &str) {
    let errs = errors(src);
    assert!(
        errs.iter().any(|e| (e.line, e.column) == pos && e.message.contains(part)),
        "no error at {pos:?} containing `{part}` among:\n{}",
        show(&errs)
    );
}

// ---- the baseline ----

#[test]
fn the_minimal_definition_is_valid() {
    let def = parse(MINIMAL).unwrap_or_else(|e| panic!("{}", show(&e)));
    assert_eq!(def.key(), "demo");
    assert_eq!(def.version(), 1);
    assert_eq!(def.initial().name, "draft");
    assert_eq!(def.states().map(|s| s.name.as_str()).collect::<Vec<_>>(), ["draft", "review", "done"]);
    assert!(def.scoring().is_some());
    assert_eq!(def.eligibility().len(), 1);
    assert_eq!(def.file(), "workflows/demo.yaml");
    // The first state is the initial one when `initial` is left out.
    let def = parse(&with(&[("initial: draft\n", "")])).unwrap_or_else(|e| panic!("{}", show(&e)));
    assert_eq!(def.initial().name, "draft");
}

#[test]
fn score_may_be_used_outside_the_scoring_table_and_durations_may_be_expressions() {
    let src = with(&[
        (
            "rule: \"form.amount > 0\"",
            "rule: \"score.total > 0 and score.points.amount > 0 and score.groups.size >= 0\"",
        ),
        ("{after: 10 working days, action: expire}", "{after: {working_days: \"form.amount\"}, action: expire}"),
    ]);
    parse(&src).unwrap_or_else(|e| panic!("{}", show(&e)));
}

// ---- YAML and shape ----

#[test]
fn a_yaml_syntax_error_is_reported_where_the_parser_finds_it() {
    // The flow mapping of line 3 is not closed; the parser notices at the `:` of line 4.
    let src = with(&[("title: {zh: 演示, en: Demo}", "title: {zh: 演示, en: Demo")]);
    let errs = errors(&src);
    assert_eq!(errs.len(), 1, "{}", show(&errs));
    assert_eq!((errs[0].line, errs[0].column), (4, 7));
    assert!(errs[0].message.contains("did not find expected ',' or '}'"), "{}", errs[0].message);
    assert!(!errs[0].message.contains(" at line "), "the position is not repeated: {}", errs[0].message);
    assert!(!errs[0].message.contains('\n'), "one line: {}", errs[0].message);
}

#[test]
fn an_unknown_top_level_key_is_reported_at_the_key() {
    let src = with(&[("starts: enterprise\n", "starts: enterprise\ncolour: red\n")]);
    assert_only(&src, at(&src, "colour"), "unknown field `colour`, expected one of key, version");
    assert_eq!(at(&src, "colour"), (5, 1));
}

#[test]
fn an_unknown_key_inside_a_state_is_reported_at_the_key() {
    let src = with(&[("    editable: true\n", "    editible: true\n")]);
    assert_only(&src, at(&src, "editible"), "unknown field `editible`");
    assert_eq!(at(&src, "editible"), (31, 5));
}

#[test]
fn a_value_of_the_wrong_type_is_reported_at_the_value() {
    let src = with(&[("version: 1", "version: one")]);
    assert_only(&src, (2, 10), "invalid i64");
}

// ---- build: the header ----

#[test]
fn a_key_must_be_lowercase() {
    let src = with(&[("key: demo", "key: Demo")]);
    let errs = parse_as(&src, None).unwrap_err();
    assert_eq!(errs.len(), 1, "{}", show(&errs));
    assert_eq!((errs[0].line, errs[0].column), (1, 6));
    assert!(errs[0].message.contains("key `Demo` must be lowercase letters, digits"), "{}", errs[0].message);
}

#[test]
fn a_key_must_match_the_file_name() {
    let src = with(&[("key: demo", "key: demo-two")]);
    assert_only(&src, (1, 6), "key `demo-two` does not match the file name `demo`");
}

#[test]
fn a_version_must_be_at_least_one() {
    for bad in ["0", "-3"] {
        let src = with(&[("version: 1", &format!("version: {bad}"))]);
        assert_only(&src, (2, 10), "version must be a whole number of at least 1");
    }
}

#[test]
fn starts_must_be_enterprise_system_or_a_role() {
    let src = with(&[("starts: enterprise", "starts: mayor")]);
    assert_only(&src, (4, 9), "starts: unknown role `mayor`; expected enterprise, system or a role");
    for ok in ["system", "applicant", "reviewer"] {
        parse(&with(&[("starts: enterprise", &format!("starts: {ok}"))]))
            .unwrap_or_else(|e| panic!("{ok}: {}", show(&e)));
    }
}

#[test]
fn a_workflow_needs_a_state() {
    let cut = MINIMAL.find("states:\n").unwrap();
    let src = format!("{}states: {{}}\n", &MINIMAL[..cut]);
    assert_only(&src, at(&src, "{}"), "a workflow needs at least one state");
}

#[test]
fn the_initial_state_must_exist() {
    let src = with(&[("initial: draft", "initial: drafting")]);
    assert_only(&src, at(&src, "drafting"), "initial state `drafting` is not defined");
}

// ---- build_form ----

#[test]
fn a_field_key_must_be_lowercase() {
    let src = with(&[("- key: report", "- key: Report")]);
    assert_only(&src, at(&src, "Report\n"), "field key `Report` must be lowercase");
    assert_eq!(at(&src, "Report\n"), (10, 12));
}

#[test]
fn a_field_cannot_be_defined_twice() {
    let src = with(&[("- key: report", "- key: amount")]);
    assert_only(&src, at_nth(&src, "amount\n", 1), "field `amount` is defined twice");
}

#[test]
fn a_choice_field_needs_options() {
    let src = with(&[("      type: file\n", "      type: choice\n")]);
    // Reported at the field (its first key).
    assert_only(&src, at(&src, "key: report"), "choice field `report` needs `options`");
}

#[test]
fn a_field_type_must_be_known() {
    let src = with(&[("type: file", "type: blob")]);
    assert_only(&src, at(&src, "blob"), "unknown field type `blob`; expected text, textarea");
}

#[test]
fn a_pattern_applies_only_to_text_fields() {
    let src = with(&[("      type: integer\n", "      type: integer\n      pattern: \"^[0-9]+$\"\n")]);
    assert_only(&src, at(&src, "key: amount"), "`pattern` applies only to text fields, not to `integer`");
}

#[test]
fn a_pattern_must_compile() {
    let src = with(&[("      type: file\n", "      type: text\n      pattern: \"([a-z\"\n")]);
    assert_only(&src, at(&src, "\"([a-z\""), "pattern does not compile");
}

#[test]
fn a_date_bound_must_be_a_date() {
    let src = with(&[("      type: file\n", "      type: date\n      min: \"2020-13-01\"\n")]);
    assert_only(&src, at(&src, "\"2020-13-01\""), "`2020-13-01` is not a date (YYYY-MM-DD)");
    let src = with(&[("      type: file\n", "      type: date\n      max: 2020\n")]);
    assert_only(&src, at(&src, "2020"), "a date field's bound must be a date (YYYY-MM-DD)");
}

#[test]
fn bounds_do_not_apply_to_file_boolean_or_choice_fields() {
    let src = with(&[("      type: file\n", "      type: file\n      max: 3\n")]);
    assert_only(&src, at(&src, "3\n"), "`min`/`max` do not apply to a file field");
    let src = with(&[("      type: file\n", "      type: boolean\n      min: 1\n")]);
    assert_only(&src, at(&src, "1\n      label: {zh: 报告"), "`min`/`max` do not apply to a boolean field");
}

#[test]
fn a_number_bound_must_be_a_number() {
    let src = with(&[("      type: integer\n", "      type: integer\n      min: lots\n")]);
    assert_only(&src, at(&src, "lots"), "`lots` is not a number");
}

// ---- expressions ----

#[test]
fn an_expression_must_parse() {
    let src = with(&[("rule: \"form.amount > 0\"", "rule: \"form.amount >\"")]);
    assert_only(&src, at(&src, "\"form.amount >\""), "expression `form.amount >` does not parse");
    assert_eq!(at(&src, "\"form.amount >\""), (14, 11));
}

#[test]
fn an_expression_must_name_known_fields() {
    let src = with(&[("rule: \"form.amount > 0\"", "rule: \"form.turnover > 0\"")]);
    assert_only(&src, (14, 11), "expression `form.turnover > 0` names unknown `form.turnover`");
}

#[test]
fn an_expression_must_name_known_indicators() {
    let src = with(&[("rule: \"form.amount > 0\"", "rule: \"score.points.size > 0\"")]);
    assert_only(&src, (14, 11), "names unknown `score.points.size`");
}

#[test]
fn the_score_cannot_be_used_inside_the_scoring_table() {
    let src = with(&[("value: \"form.amount\"", "value: \"score.total\"")]);
    assert_only(&src, at(&src, "\"score.total\""), "`score` cannot be used here (in `score.total`)");
}

#[test]
fn the_score_cannot_be_used_without_a_scoring_table() {
    let src = with(&[(SCORING, ""), ("check: [eligibility, scoring]", "when: \"score.passed\"")]);
    assert_only(&src, at(&src, "\"score.passed\""), "`score` cannot be used here (in `score.passed`)");
}

// ---- build_scoring ----

#[test]
fn an_indicator_cannot_be_defined_twice() {
    let src = with(&[(
        "        - {points: 0}\n",
        "        - {points: 0}\n    - key: amount\n      title: {zh: 金额, en: Amount}\n      value: \"1\"\n      points:\n        - {points: 0}\n",
    )]);
    assert_only(&src, at_nth(&src, "key: amount", 2), "indicator `amount` is defined twice");
}

#[test]
fn an_indicator_group_must_exist() {
    let src = with(&[("group: size", "group: scale")]);
    assert_only(&src, at(&src, "scale"), "indicator `amount` names unknown group `scale`");
}

#[test]
fn an_indicator_needs_bands() {
    let src =
        with(&[("      points:\n        - {min: 100, points: 20}\n        - {points: 0}\n", "      points: []\n")]);
    // With no bands the table gives no points at all, so the pass line is out of reach too.
    let errs = errors(&src);
    assert_eq!(errs.len(), 2, "{}", show(&errs));
    assert_has(&src, at_nth(&src, "key: amount", 1), "indicator `amount` needs at least one band in `points`");
    assert_has(&src, at(&src, "10\n"), "pass line 10 is above the most points the table can give (0)");
}

#[test]
fn a_band_min_cannot_be_above_its_max() {
    let src = with(&[("- {points: 0}", "- {min: 5, max: 1, points: 0}")]);
    assert_only(&src, at(&src, "{min: 5, max: 1"), "band min 5 is above its max 1");
}

#[test]
fn the_pass_line_must_be_reachable() {
    let src = with(&[("pass: 10", "pass: 25")]);
    assert_only(&src, at(&src, "25"), "pass line 25 is above the most points the table can give (20)");
}

#[test]
fn direct_rules_are_checked_expressions() {
    let src = with(&[(
        "        - {points: 0}\n",
        "        - {points: 0}\n  direct:\n    - rule: \"form.nope\"\n      message: {zh: 直通, en: Direct}\n",
    )]);
    assert_only(&src, at(&src, "\"form.nope\""), "expression `form.nope` names unknown `form.nope`");
}

// ---- targets, templates, durations ----

#[test]
fn a_notification_target_role_must_exist() {
    let src = with(&[("to: assignees,", "to: \"role:mayor\",")]);
    assert_only(&src, at(&src, "\"role:mayor\""), "unknown role `mayor`");
}

#[test]
fn a_notification_target_must_be_known() {
    let src = with(&[("to: assignees,", "to: everyone,")]);
    assert_only(
        &src,
        at(&src, "everyone"),
        "unknown target `everyone`; expected applicant, assignees, actor or role:<name>",
    );
}

#[test]
fn a_template_must_exist() {
    let src = with(&[("template: returned", "template: reminder")]);
    assert_only(&src, at(&src, "reminder"), "unknown template `reminder` (no templates/email/reminder.<lang>.txt)");
    let src = with(&[("template: approved", "template: welcome")]);
    assert_only(&src, at(&src, "welcome"), "unknown template `welcome`");
}

#[test]
fn a_timeout_duration_must_parse() {
    let src = with(&[("after: 10 working days", "after: 10 fortnights")]);
    assert_only(&src, at(&src, "10 fortnights"), "unknown unit `fortnight` in `10 fortnights`");
}

#[test]
fn a_computed_duration_is_a_checked_expression() {
    let src =
        with(&[("{after: 10 working days, action: expire}", "{after: {days: \"form.deadline\"}, action: expire}")]);
    // Reported at the duration, which holds the expression.
    assert_only(&src, at(&src, "{days:"), "expression `form.deadline` names unknown `form.deadline`");
}

// ---- build_state: assignees ----

#[test]
fn an_assignee_must_be_a_staff_role() {
    let src = with(&[("{role: reviewer, scope: district}", "{role: enterprise, scope: district}")]);
    assert_only(&src, at(&src, "enterprise, scope"), "an assignee must be a staff role; use `by: applicant`");
}

#[test]
fn an_assignee_role_must_exist() {
    let src = with(&[("{role: reviewer, scope: district}", "{role: mayor, scope: district}")]);
    assert_only(&src, at(&src, "mayor"), "unknown role `mayor`");
}

#[test]
fn an_assignee_scope_must_exist() {
    let src = with(&[("scope: district}", "scope: county}")]);
    assert_only(&src, at(&src, "county"), "unknown scope `county`, expected one of district, city, province, any");
}

#[test]
fn separate_from_must_name_states() {
    let src = with(&[("scope: district}", "scope: district, separate_from: [draft, drafting]}")]);
    assert_only(&src, at(&src, "drafting"), "separate_from names unknown state `drafting`");
}

// ---- build_state: actions ----

#[test]
fn an_action_must_go_to_a_defined_state() {
    let src = with(&[("expire: {to: draft,", "expire: {to: archive,")]);
    assert_only(&src, at(&src, "archive"), "action `expire` goes to unknown state `archive`");
}

#[test]
fn an_action_without_by_needs_an_assignee() {
    let src = with(&[("submit: {to: review, by: applicant,", "submit: {to: review,")]);
    // Reported at the action.
    assert_only(&src, at(&src, "{to: review,"), "action `submit` has no `by` and state `draft` has no assignee");
}

#[test]
fn by_must_be_applicant_system_or_a_role() {
    let src = with(&[("by: applicant,", "by: mayor,")]);
    assert_only(&src, at(&src, "mayor"), "by: unknown role `mayor`; expected applicant, system or a role");
}

#[test]
fn comment_must_be_required_or_optional() {
    let src = with(&[("check: [eligibility, scoring]", "comment: maybe")]);
    assert_only(&src, at(&src, "maybe"), "comment must be `required` or `optional`, not `maybe`");
}

#[test]
fn a_check_must_be_known() {
    let src = with(&[("check: [eligibility, scoring]", "check: [eligibility, budget]")]);
    assert_only(&src, at(&src, "budget"), "unknown check `budget`; expected eligibility or scoring");
}

#[test]
fn a_scoring_check_needs_a_scoring_table() {
    let src = with(&[(SCORING, "")]);
    assert_only(&src, at(&src, "scoring]"), "check `scoring` needs a `scoring` table");
}

#[test]
fn a_when_expression_is_checked() {
    let src = with(&[("approve: {to: done,", "approve: {to: done, when: \"form.amount > form.limit\",")]);
    assert_only(&src, at(&src, "\"form.amount > form.limit\""), "names unknown `form.limit`");
}

#[test]
fn action_fields_must_be_fields_of_the_form() {
    let src = with(&[("approve: {to: done,", "approve: {to: done, fields: [amount, budget_line],")]);
    assert_only(&src, at(&src, "budget_line"), "action `approve` names unknown field `budget_line` in `fields`");
    let src = with(&[("approve: {to: done,", "approve: {to: done, fields: [amount, amount],")]);
    assert_only(&src, at_nth(&src, "amount]", 0), "action `approve` lists field `amount` twice");
    let def = parse(&with(&[("approve: {to: done,", "approve: {to: done, fields: [amount],")]))
        .unwrap_or_else(|e| panic!("{}", show(&e)));
    let approve = &def.state("review").map(|s| s.actions["approve"].clone()).unwrap();
    assert_eq!(approve.fields, vec!["amount".to_string()]);
}

#[test]
fn editable_may_list_fields_of_the_form() {
    let def = parse(&with(&[("    editable: true\n", "    editable: [report]\n")]))
        .unwrap_or_else(|e| panic!("{}", show(&e)));
    let draft = &def.state("draft").unwrap().editable;
    assert_eq!(*draft, Editable::Fields(vec!["report".to_string()]));
    assert!(draft.allows("report") && !draft.allows("amount") && draft.any());
    let def = parse(&with(&[("    editable: true\n", "    editable: false\n")])).unwrap();
    assert_eq!(def.state("draft").unwrap().editable, Editable::No);
    let def = parse(MINIMAL).unwrap();
    assert!(def.state("draft").unwrap().editable.allows("amount"), "`true`: every field");
    assert_eq!(def.state("review").unwrap().editable, Editable::No, "absent: none");
}

#[test]
fn editable_fields_must_be_fields_of_the_form() {
    let src = with(&[("    editable: true\n", "    editable: [report, facts]\n")]);
    assert_only(&src, at(&src, "facts]"), "`editable` of state `draft` names unknown field `facts`");
    let src = with(&[("    editable: true\n", "    editable: [report, report]\n")]);
    assert_only(&src, at(&src, "report]"), "`editable` of state `draft` lists field `report` twice");
    let src = with(&[("    editable: true\n", "    editable: []\n")]);
    assert_only(&src, at(&src, "[]"), "lists no field; write `editable: false`");
    let src = with(&[("    editable: true\n", "    editable: report\n")]);
    let (line, _) = at(&src, "editable: report");
    assert!(errors(&src).iter().any(|e| e.line == line), "a single key is not a list: {}", show(&errors(&src)));
}

#[test]
fn a_quorum_must_be_at_least_one() {
    let src = with(&[("approve: {to: done,", "approve: {to: done, quorum: 0,")]);
    assert_only(&src, at(&src, "0, notify"), "quorum must be at least 1");
}

#[test]
fn a_quorum_needs_staff_voters() {
    let src = with(&[("by: applicant,", "by: applicant, quorum: 2,")]);
    assert_only(&src, at(&src, "2, check"), "a quorum needs staff voters, not the applicant or the system");
    let src = with(&[("expire: {to: draft, by: system}", "expire: {to: draft, by: system, quorum: 2}")]);
    assert_only(&src, at(&src, "2}"), "a quorum needs staff voters");
}

// ---- build_state: timeouts, reminders ----

#[test]
fn a_timeout_must_name_an_action_of_its_state() {
    let src = with(&[("action: expire}", "action: lapse}")]);
    assert_only(&src, at(&src, "lapse"), "timeout names unknown action `lapse` of state `review`");
}

#[test]
fn a_timeout_action_must_be_by_system() {
    let src = with(&[("action: expire}", "action: approve}")]);
    assert_only(&src, at(&src, "approve}"), "timeout action `approve` must be `by: system`");
}

#[test]
fn a_final_state_cannot_time_out() {
    let src = with(&[("    final: true\n", "    final: true\n    timeout: {after: 1 day, action: lapse}\n")]);
    assert_has(&src, at(&src, "{after: 1 day"), "a final state cannot time out");
    // A final state has no actions, so the action it names cannot exist either.
    assert_has(&src, at_nth(&src, "lapse", 0), "timeout names unknown action `lapse` of state `done`");
    assert_eq!(errors(&src).len(), 2);
}

#[test]
fn reminders_need_a_timeout() {
    let src = with(&[("    timeout: {after: 10 working days, action: expire}\n", "")]);
    assert_only(&src, at(&src, "{before: 2 days"), "state `review` has reminders but no `timeout` to count back from");
}

#[test]
fn a_reminder_offset_must_be_a_duration() {
    let src = with(&[("before: 2 days", "before: soon")]);
    assert_only(&src, at(&src, "soon"), "`soon` is not a duration");
}

// ---- build_state: on_enter effects ----

#[test]
fn a_certification_kind_must_be_lowercase() {
    let src = with(&[("certification: demo,", "certification: Demo Cert,")]);
    assert_only(&src, at(&src, "Demo Cert"), "a certification kind must be lowercase letters");
}

#[test]
fn a_certification_validity_must_be_a_duration() {
    let src = with(&[("valid_for: 3 years", "valid_for: 3 eons")]);
    assert_only(&src, at(&src, "3 eons"), "unknown unit `eon` in `3 eons`");
}

#[test]
fn start_conditions_and_data_are_checked_expressions() {
    let src = with(&[(
        "      - grant: {certification: demo, valid_for: 3 years}\n",
        "      - start:\n          workflow: demo\n          when: \"form.nothing\"\n          data:\n            amount: \"form.amount +\"\n",
    )]);
    let errs = errors(&src);
    assert_eq!(errs.len(), 2, "{}", show(&errs));
    assert_has(&src, at(&src, "\"form.nothing\""), "expression `form.nothing` names unknown `form.nothing`");
    assert_has(&src, at(&src, "\"form.amount +\""), "expression `form.amount +` does not parse");
}

#[test]
fn a_notify_effect_checks_its_target_and_template() {
    let src = with(&[(
        "      - grant: {certification: demo, valid_for: 3 years}\n",
        "      - notify: {to: nobody, template: missing}\n",
    )]);
    let errs = errors(&src);
    assert_eq!(errs.len(), 2, "{}", show(&errs));
    assert_has(&src, at(&src, "nobody"), "unknown target `nobody`");
    assert_has(&src, at(&src, "missing"), "unknown template `missing`");
}

// ---- build_state: ways out ----

#[test]
fn a_final_state_cannot_have_actions() {
    let src =
        with(&[("    final: true\n", "    final: true\n    actions:\n      reopen: {to: draft, by: applicant}\n")]);
    // Reported at the state (its first key).
    assert_only(&src, at(&src, "final: true"), "final state `done` cannot have actions");
}

#[test]
fn a_state_that_is_not_final_needs_a_way_out() {
    let src = with(&[
        ("  done:\n", "  stuck:\n    assignee: {role: reviewer}\n  done:\n"),
        ("      expire: {to: draft, by: system}\n", "      expire: {to: draft, by: system}\n      park: {to: stuck}\n"),
    ]);
    assert_only(&src, at(&src, "assignee: {role: reviewer}"), "state `stuck` has no way out and is not final");
}

// ---- check_reachability ----

#[test]
fn every_state_must_be_reachable() {
    let src = with(&[("  done:\n", "  limbo:\n    final: true\n  done:\n")]);
    // Reported at the unreachable state itself.
    assert_only(
        &src,
        at(&src, "final: true\n  done:"),
        "state `limbo` cannot be reached from the initial state `draft`",
    );
}

#[test]
fn a_workflow_needs_a_final_state() {
    let src = with(&[("    final: true\n", "    actions:\n      reopen: {to: draft, by: applicant}\n")]);
    assert_only(&src, (30, 3), "the workflow has no final state");
}

// ---- all at once ----

#[test]
fn several_errors_are_all_reported_sorted_by_place() {
    let src = with(&[
        // Written bottom-up, so that sorting is what puts them in order.
        ("valid_for: 3 years", "valid_for: 3 eons"),
        ("template: returned", "template: reminder"),
        ("scope: district}", "scope: county}"),
        ("type: file", "type: blob"),
        ("version: 1", "version: 0"),
        ("key: demo", "key: demo-two"),
    ]);
    let errs = errors(&src);
    let got: Vec<(u64, u64)> = errs.iter().map(|e| (e.line, e.column)).collect();
    assert_eq!(got, vec![(1, 6), (2, 10), (11, 13), (35, 39), (38, 51), (45, 49)], "{}", show(&errs));
    let parts = [
        "does not match the file name",
        "version must be",
        "unknown field type `blob`",
        "unknown scope `county`",
        "unknown template `reminder`",
        "unknown unit `eon`",
    ];
    for (e, part) in errs.iter().zip(parts) {
        assert!(e.message.contains(part), "`{}` should contain `{part}`", e.message);
    }
    assert_eq!(errs[3].to_string(), format!("workflows/demo.yaml:35:39: {}", errs[3].message));
}

// ---- Catalogue::build: links between files ----

const CHILD: &str = "\
key: child
version: 1
title: {zh: 子流程, en: Child}
starts: system
form:
  fields:
    - key: amount
      type: integer
      label: {zh: 金额, en: Amount}
states:
  open:
    actions:
      close: {to: closed, by: system}
  closed:
    final: true
";

fn parent_starting(workflow: &str, data_key: &str) -> String {
    with(&[(
        "      - grant: {certification: demo, valid_for: 3 years}\n",
        &format!(
            "      - grant: {{certification: demo, valid_for: 3 years}}\n      - start:\n          workflow: {workflow}\n          data:\n            {data_key}: \"form.amount\"\n"
        ),
    )])
}

fn source(path: &str, contents: &str, key: &str) -> SourceFile {
    SourceFile { path: path.to_string(), contents: contents.to_string(), expected_key: Some(key.to_string()) }
}

fn catalogue(files: &[SourceFile]) -> Result<Catalogue, Vec<DefinitionError>> {
    Catalogue::build(files, &ExprEngine::new(), &set_of(&["approved", "returned"]), &HashSet::new())
}

#[test]
fn a_catalogue_links_a_start_to_its_workflow() {
    let parent = parent_starting("child", "amount");
    let cat =
        catalogue(&[source("workflows/demo.yaml", &parent, "demo"), source("workflows/child.yaml", CHILD, "child")])
            .unwrap_or_else(|e| panic!("{}", show(&e)));
    assert_eq!(cat.latest_all().count(), 2);
    assert_eq!(cat.latest("child").map(|d| d.key()), Some("child"));
    assert!(cat.get("demo", 1).is_some());
    assert!(cat.get("demo", 2).is_none());
}

#[test]
fn a_start_must_name_a_known_workflow() {
    let parent = parent_starting("orphan", "amount");
    let errs =
        catalogue(&[source("workflows/demo.yaml", &parent, "demo"), source("workflows/child.yaml", CHILD, "child")])
            .unwrap_err();
    assert_eq!(errs.len(), 1, "{}", show(&errs));
    assert_eq!(errs[0].file, "workflows/demo.yaml");
    assert_eq!((errs[0].line, errs[0].column), at(&parent, "orphan"));
    assert!(errs[0].message.contains("start names unknown workflow `orphan`"), "{}", errs[0].message);
}

#[test]
fn a_start_may_only_give_fields_the_child_has() {
    let parent = parent_starting("child", "bonus");
    let errs =
        catalogue(&[source("workflows/demo.yaml", &parent, "demo"), source("workflows/child.yaml", CHILD, "child")])
            .unwrap_err();
    assert_eq!(errs.len(), 1, "{}", show(&errs));
    assert_eq!(errs[0].file, "workflows/demo.yaml");
    // Reported at the `workflow` of the start effect.
    assert_eq!((errs[0].line, errs[0].column), at(&parent, "child\n"));
    assert!(
        errs[0].message.contains("start gives `bonus`, which workflow `child` has no field for"),
        "{}",
        errs[0].message
    );
}

#[test]
fn a_version_of_a_workflow_cannot_be_defined_in_two_files() {
    let errs = catalogue(&[
        source("workflows/demo.yaml", MINIMAL, "demo"),
        source("workflows/versions/demo.v1.yaml", MINIMAL, "demo"),
    ])
    .unwrap_err();
    assert_eq!(errs.len(), 1, "{}", show(&errs));
    assert_eq!(errs[0].file, "workflows/versions/demo.v1.yaml");
    assert_eq!((errs[0].line, errs[0].column), (1, 1));
    assert!(
        errs[0].message.contains("version 1 of `demo` is also defined in workflows/demo.yaml"),
        "{}",
        errs[0].message
    );
    // Two versions of one key are fine: the newest is the latest.
    let v2 = with(&[("version: 1", "version: 2")]);
    let cat = catalogue(&[
        source("workflows/demo.yaml", &v2, "demo"),
        source("workflows/versions/demo.v1.yaml", MINIMAL, "demo"),
    ])
    .unwrap_or_else(|e| panic!("{}", show(&e)));
    assert_eq!(cat.latest("demo").map(|d| d.version()), Some(2));
    assert_eq!(cat.all().count(), 2);
}

// ---- checks added after review ----

#[test]
fn a_field_whose_min_is_above_its_max_is_refused() {
    let src = with(&[("      type: integer\n", "      type: integer\n      min: 10\n      max: 5\n")]);
    assert_only(&src, at(&src, "key: amount\n      type: integer"), "field `amount` has a `min` above its `max`");
}

#[test]
fn a_file_field_of_zero_megabytes_is_refused() {
    let src = with(&[("      type: file\n", "      type: file\n      max_mb: 0\n")]);
    assert_only(&src, at(&src, "0\n"), "max_mb must be at least 1");
}

#[test]
fn notifying_the_assignees_of_a_state_without_assignee_is_refused() {
    let src = with(&[(
        "      approve: {to: done, notify: [{to: applicant,",
        "      approve: {to: done, notify: [{to: assignees,",
    )]);
    assert_only(&src, at(&src, "assignees, template: approved"), "`assignees` of state `done` are nobody");
}

#[test]
fn a_negative_computed_period_is_refused() {
    let src = with(&[("after: 10 working days", "after: {days: -5}")]);
    assert_only(&src, at(&src, "{days: -5}"), "a period cannot be negative");
}

#[test]
fn a_definition_knows_whether_it_asks_for_earlier_applications() {
    assert!(!parse(MINIMAL).unwrap().uses_prior());
    let src = with(&[("\"form.amount > 0\"", "\"form.amount > 0 and prior('demo') | length == 0\"")]);
    assert!(parse(&src).unwrap().uses_prior());
}
