//! Turns the raw YAML into a [`WorkflowDefinition`], collecting every error with its place.

use std::collections::{HashMap, HashSet, VecDeque};

use indexmap::IndexMap;
use regex::Regex;
use rust_decimal::Decimal;
use rust_decimal::prelude::FromPrimitive;
use serde_saphyr::{Location, Spanned};

use super::raw;
use super::{
    Action, Assignee, By, Check, CommentRule, DefinitionError, DurationSpec, Effect, Notify, Remind, Starter, State,
    Target, Timeout, WorkflowDefinition,
};
use crate::domain::duration::Span;
use crate::domain::expr::{ExprEngine, Names};
use crate::domain::form::{Bound, Choice, Field, FieldKind, Form};
use crate::domain::role::{Role, Scope};
use crate::domain::scoring::{Band, Group, Indicator, Rule, Scoring};

/// What a definition is checked against besides itself.
pub struct Context<'a> {
    pub engine: &'a ExprEngine,
    /// Template names found in `templates/email/` (without language and extension).
    pub templates: &'a HashSet<String>,
    /// The key the file name implies, if the file must be named after its key.
    pub expected_key: Option<&'a str>,
}

struct Collector<'a> {
    file: &'a str,
    errors: Vec<DefinitionError>,
}

impl Collector<'_> {
    fn at(&mut self, loc: Location, message: impl Into<String>) {
        self.errors.push(DefinitionError {
            file: self.file.to_string(),
            line: loc.line(),
            column: loc.column(),
            message: message.into(),
        });
    }
}

fn key_re() -> Regex {
    Regex::new("^[a-z][a-z0-9_-]*$").unwrap_or_else(|_| unreachable!("constant pattern"))
}

/// Parses and validates one definition file.
pub fn parse_definition(file: &str, source: &str, cx: &Context<'_>) -> Result<WorkflowDefinition, Vec<DefinitionError>> {
    let raw: raw::Workflow = serde_saphyr::from_str(source).map_err(|e| {
        let loc = e.location();
        let text = e.without_snippet().to_string();
        let message = text
            .split_once(": ")
            .filter(|(head, _)| head.starts_with("line ") || head.starts_with("error: line "))
            .map_or(text.clone(), |(_, rest)| rest.to_string());
        vec![DefinitionError {
            file: file.to_string(),
            line: loc.map_or(1, |l| l.line()),
            column: loc.map_or(1, |l| l.column()),
            message: strip_position(message.lines().next().unwrap_or("invalid YAML")),
        }]
    })?;
    let mut c = Collector { file, errors: Vec::new() };
    let def = build(raw, file, cx, &mut c);
    if c.errors.is_empty() {
        def.ok_or_else(Vec::new)
    } else {
        c.errors.sort_by_key(|e| (e.line, e.column));
        Err(c.errors)
    }
}

/// Drops a trailing ` at line N, column M` (the position is already in front).
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) if message[i..].contains(", column ") => message[..i].to_string(),
        _ => message.to_string(),
    }
}

fn build(raw: raw::Workflow, file: &str, cx: &Context<'_>, c: &mut Collector<'_>) -> Option<WorkflowDefinition> {
    let re = key_re();
    if !re.is_match(&raw.key.value) {
        c.at(raw.key.referenced, format!("key `{}` must be lowercase letters, digits, `-` or `_`", raw.key.value));
    }
    if let Some(expected) = cx.expected_key {
        if raw.key.value != expected {
            c.at(raw.key.referenced, format!("key `{}` does not match the file name `{expected}`", raw.key.value));
        }
    }
    let version = match u32::try_from(raw.version.value) {
        Ok(v) if v >= 1 => v,
        _ => {
            c.at(raw.version.referenced, "version must be a whole number of at least 1");
            1
        }
    };
    let starts = match raw.starts.value.as_str() {
        "enterprise" | "applicant" => Starter::Enterprise,
        "system" => Starter::System,
        other => match other.parse::<Role>() {
            Ok(r) => Starter::Role(r),
            Err(e) => {
                c.at(raw.starts.referenced, format!("starts: {e}; expected enterprise, system or a role"));
                Starter::System
            }
        },
    };
    let form = build_form(raw.form, c);
    let field_names: HashSet<String> = form.fields.iter().map(|f| f.key.clone()).collect();
    let mut names = Names { form_fields: field_names, allow_score: false, ..Names::default() };
    let scoring = raw.scoring.map(|s| build_scoring(s, cx, &names, c));
    if let Some(s) = &scoring {
        names.indicators = s.indicators.iter().map(|i| i.key.clone()).collect();
        names.groups = s.groups.iter().map(|g| g.key.clone()).collect();
    }
    names.allow_score = scoring.is_some();
    let eligibility = raw.eligibility.into_iter().map(|r| build_rule(r, cx, &names, c)).collect();

    let states_loc = raw.states.referenced;
    let state_names: Vec<String> = raw.states.value.keys().cloned().collect();
    if state_names.is_empty() {
        c.at(states_loc, "a workflow needs at least one state");
        return None;
    }
    let initial = match &raw.initial {
        Some(i) if !state_names.contains(&i.value) => {
            c.at(i.referenced, format!("initial state `{}` is not defined", i.value));
            state_names[0].clone()
        }
        Some(i) => i.value.clone(),
        None => state_names[0].clone(),
    };
    let mut starts_children = Vec::new();
    let mut states = IndexMap::new();
    for (name, st) in raw.states.value {
        let state = build_state(&name, st, &state_names, cx, &names, scoring.is_some(), c, &mut starts_children);
        states.insert(name, state);
    }
    check_reachability(&initial, &states, states_loc, c);
    Some(WorkflowDefinition {
        key: raw.key.value,
        version,
        title: raw.title,
        description: raw.description,
        category: raw.category.unwrap_or_default(),
        starts,
        form,
        eligibility,
        scoring,
        initial,
        states,
        file: file.to_string(),
        starts_children,
    })
}

fn build_form(raw: Option<raw::Form>, c: &mut Collector<'_>) -> Form {
    let re = key_re();
    let mut seen = HashSet::new();
    let mut fields = Vec::new();
    for f in raw.map(|f| f.fields).unwrap_or_default() {
        let loc = f.referenced;
        let f = f.value;
        if !re.is_match(&f.key.value) {
            c.at(f.key.referenced, format!("field key `{}` must be lowercase letters, digits, `-` or `_`", f.key.value));
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
                c.at(p.referenced, format!("pattern does not compile: {e}"));
                None
            }
        });
        let min = f.min.and_then(|b| build_bound(&kind, b, c));
        let max = f.max.and_then(|b| build_bound(&kind, b, c));
        fields.push(Field { key: f.key.value, kind, label: f.label, help: f.help, required: f.required, min, max, pattern });
    }
    Form { fields }
}

fn build_bound(kind: &FieldKind, b: Spanned<raw::Bound>, c: &mut Collector<'_>) -> Option<Bound> {
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

fn check_expr(src: &Spanned<String>, cx: &Context<'_>, names: &Names, c: &mut Collector<'_>) {
    if let Err(e) = cx.engine.check(&src.value, names) {
        c.at(src.referenced, e);
    }
}

fn build_rule(r: raw::Rule, cx: &Context<'_>, names: &Names, c: &mut Collector<'_>) -> Rule {
    check_expr(&r.rule, cx, names, c);
    Rule { expr: r.rule.value, message: r.message }
}

fn build_scoring(raw: Spanned<raw::Scoring>, cx: &Context<'_>, names: &Names, c: &mut Collector<'_>) -> Scoring {
    let s = raw.value;
    let groups: Vec<Group> = s.groups.into_iter().map(|g| Group { key: g.value.key, title: g.value.title, min: g.value.min }).collect();
    let group_keys: HashSet<&str> = groups.iter().map(|g| g.key.as_str()).collect();
    let mut seen = HashSet::new();
    let mut indicators = Vec::new();
    for ind in s.indicators {
        let loc = ind.referenced;
        let i = ind.value;
        if !seen.insert(i.key.clone()) {
            c.at(loc, format!("indicator `{}` is defined twice", i.key));
        }
        if let Some(g) = &i.group {
            if !group_keys.contains(g.value.as_str()) {
                c.at(g.referenced, format!("indicator `{}` names unknown group `{}`", i.key, g.value));
            }
        }
        check_expr(&i.value, cx, names, c);
        if i.points.is_empty() {
            c.at(loc, format!("indicator `{}` needs at least one band in `points`", i.key));
        }
        let bands = i
            .points
            .into_iter()
            .map(|b| {
                if let (Some(lo), Some(hi)) = (b.value.min, b.value.max) {
                    if lo > hi {
                        c.at(b.referenced, format!("band min {lo} is above its max {hi}"));
                    }
                }
                Band { min: b.value.min, max: b.value.max, points: b.value.points, label: b.value.label }
            })
            .collect();
        indicators.push(Indicator {
            key: i.key,
            title: i.title,
            group: i.group.map(|g| g.value),
            value: i.value.value,
            bands,
            hint: i.hint,
        });
    }
    let max: f64 = indicators.iter().map(Indicator::max).sum();
    if s.pass.value > max {
        c.at(s.pass.referenced, format!("pass line {} is above the most points the table can give ({max})", s.pass.value));
    }
    let direct = s.direct.into_iter().map(|r| build_rule(r, cx, names, c)).collect();
    Scoring { pass: s.pass.value, groups, indicators, direct }
}

fn build_target(t: &Spanned<String>, c: &mut Collector<'_>) -> Target {
    match t.value.as_str() {
        "applicant" => Target::Applicant,
        "assignees" => Target::Assignees,
        "actor" => Target::Actor,
        other => match other.strip_prefix("role:").map(str::parse::<Role>) {
            Some(Ok(r)) => Target::Role(r),
            Some(Err(e)) => {
                c.at(t.referenced, e);
                Target::Applicant
            }
            None => {
                c.at(t.referenced, format!("unknown target `{other}`; expected applicant, assignees, actor or role:<name>"));
                Target::Applicant
            }
        },
    }
}

fn build_template(t: &Spanned<String>, cx: &Context<'_>, c: &mut Collector<'_>) -> String {
    if !cx.templates.contains(&t.value) {
        c.at(t.referenced, format!("unknown template `{}` (no templates/email/{}.<lang>.txt)", t.value, t.value));
    }
    t.value.clone()
}

fn build_notify(n: raw::Notify, cx: &Context<'_>, c: &mut Collector<'_>) -> Notify {
    Notify { to: build_target(&n.to, c), template: build_template(&n.template, cx, c) }
}

fn build_duration(d: Spanned<raw::Duration>, cx: &Context<'_>, names: &Names, c: &mut Collector<'_>) -> DurationSpec {
    let loc = d.referenced;
    let mut expr = |e: raw::ExprOrNumber| -> String {
        match e {
            raw::ExprOrNumber::Number(n) => n.to_string(),
            raw::ExprOrNumber::Expr(s) => {
                check_expr(&Spanned { value: s.clone(), referenced: loc, defined: loc }, cx, names, c);
                s
            }
        }
    };
    match d.value {
        raw::Duration::Text(s) => match Span::parse(&s) {
            Ok(span) => DurationSpec::Fixed(span),
            Err(e) => {
                c.at(loc, e);
                DurationSpec::Fixed(Span::default())
            }
        },
        raw::Duration::Days { days } => DurationSpec::Days(expr(days)),
        raw::Duration::WorkingDays { working_days } => DurationSpec::WorkingDays(expr(working_days)),
    }
}

#[allow(clippy::too_many_arguments)]
fn build_state(
    name: &str,
    st: Spanned<raw::State>,
    state_names: &[String],
    cx: &Context<'_>,
    names: &Names,
    has_scoring: bool,
    c: &mut Collector<'_>,
    children: &mut Vec<(String, u64, u64, String, Vec<String>)>,
) -> State {
    let loc = st.referenced;
    let st = st.value;
    let assignee = st.assignee.map(|a| {
        let role = match a.value.role.value.parse::<Role>() {
            Ok(Role::Enterprise) => {
                c.at(a.value.role.referenced, "an assignee must be a staff role; use `by: applicant` for the enterprise");
                Role::Reviewer
            }
            Ok(r) => r,
            Err(e) => {
                c.at(a.value.role.referenced, e);
                Role::Reviewer
            }
        };
        let scope = match a.value.scope.as_ref().map(|s| (s.value.parse::<Scope>(), s.referenced)) {
            None => Scope::Any,
            Some((Ok(s), _)) => s,
            Some((Err(e), l)) => {
                c.at(l, e);
                Scope::Any
            }
        };
        for s in &a.value.separate_from {
            if !state_names.contains(&s.value) {
                c.at(s.referenced, format!("separate_from names unknown state `{}`", s.value));
            }
        }
        Assignee { role, scope, separate_from: a.value.separate_from.into_iter().map(|s| s.value).collect() }
    });
    let mut actions = IndexMap::new();
    for (aname, a) in st.actions {
        let aloc = a.referenced;
        let a = a.value;
        if !state_names.contains(&a.to.value) {
            c.at(a.to.referenced, format!("action `{aname}` goes to unknown state `{}`", a.to.value));
        }
        let by = match a.by.as_ref().map(|b| (b.value.as_str(), b.referenced)) {
            None => {
                if assignee.is_none() {
                    c.at(aloc, format!("action `{aname}` has no `by` and state `{name}` has no assignee"));
                }
                By::Assignee
            }
            Some(("applicant", _)) => By::Applicant,
            Some(("system", _)) => By::System,
            Some(("assignee" | "assignees", _)) => By::Assignee,
            Some((other, l)) => match other.parse::<Role>() {
                Ok(r) => By::Role(r),
                Err(e) => {
                    c.at(l, format!("by: {e}; expected applicant, system or a role"));
                    By::System
                }
            },
        };
        let comment = match a.comment.as_ref().map(|s| (s.value.as_str(), s.referenced)) {
            None | Some(("optional", _)) => CommentRule::Optional,
            Some(("required", _)) => CommentRule::Required,
            Some((other, l)) => {
                c.at(l, format!("comment must be `required` or `optional`, not `{other}`"));
                CommentRule::Optional
            }
        };
        let mut checks = Vec::new();
        for ch in &a.check {
            match ch.value.as_str() {
                "eligibility" => checks.push(Check::Eligibility),
                "scoring" if has_scoring => checks.push(Check::Scoring),
                "scoring" => c.at(ch.referenced, "check `scoring` needs a `scoring` table"),
                other => c.at(ch.referenced, format!("unknown check `{other}`; expected eligibility or scoring")),
            }
        }
        if let Some(w) = &a.when {
            check_expr(w, cx, names, c);
        }
        let quorum = a.quorum.map(|q| {
            if q.value == 0 {
                c.at(q.referenced, "quorum must be at least 1");
            }
            if matches!(by, By::System | By::Applicant) {
                c.at(q.referenced, "a quorum needs staff voters, not the applicant or the system");
            }
            q.value
        });
        let notify = a.notify.into_iter().map(|n| build_notify(n.value, cx, c)).collect();
        let when = a.when.map(|w| Rule {
            expr: w.value.clone(),
            message: a.message.unwrap_or_else(|| crate::domain::text::Text {
                zh: format!("条件不满足：{}", w.value),
                en: format!("condition not met: {}", w.value),
            }),
        });
        actions.insert(aname.clone(), Action { name: aname, title: a.title, to: a.to.value, by, comment, checks, when, quorum, notify });
    }
    let timeout = st.timeout.map(|t| {
        let tl = t.referenced;
        let t = t.value;
        match actions.get(&t.action.value) {
            None => c.at(t.action.referenced, format!("timeout names unknown action `{}` of state `{name}`", t.action.value)),
            Some(a) if a.by != By::System => {
                c.at(t.action.referenced, format!("timeout action `{}` must be `by: system`", t.action.value))
            }
            Some(_) => {}
        }
        if st.is_final {
            c.at(tl, "a final state cannot time out");
        }
        Timeout { after: build_duration(t.after, cx, names, c), action: t.action.value }
    });
    let remind = st
        .remind
        .into_iter()
        .map(|r| {
            if timeout.is_none() {
                c.at(r.referenced, format!("state `{name}` has reminders but no `timeout` to count back from"));
            }
            let before = Span::parse(&r.value.before.value).unwrap_or_else(|e| {
                c.at(r.value.before.referenced, e);
                Span::default()
            });
            Remind { before, to: build_target(&r.value.to, c), template: build_template(&r.value.template, cx, c) }
        })
        .collect();
    let mut on_enter = Vec::new();
    for e in st.on_enter {
        on_enter.push(match e.value {
            raw::Effect::Grant(g) => {
                if !key_re().is_match(&g.certification.value) {
                    c.at(g.certification.referenced, "a certification kind must be lowercase letters, digits, `-` or `_`");
                }
                Effect::Grant { certification: g.certification.value, valid_for: g.valid_for.map(|d| build_duration(d, cx, names, c)) }
            }
            raw::Effect::Revoke(r) => Effect::Revoke { certification: r.certification.value },
            raw::Effect::Start(s) => {
                if let Some(w) = &s.when {
                    check_expr(w, cx, names, c);
                }
                for v in s.data.values() {
                    check_expr(v, cx, names, c);
                }
                children.push((
                    s.workflow.value.clone(),
                    s.workflow.referenced.line(),
                    s.workflow.referenced.column(),
                    name.to_string(),
                    s.data.keys().cloned().collect(),
                ));
                Effect::Start {
                    workflow: s.workflow.value,
                    when: s.when.map(|w| w.value),
                    data: s.data.into_iter().map(|(k, v)| (k, v.value)).collect(),
                }
            }
            raw::Effect::Notify(n) => Effect::Notify(build_notify(n, cx, c)),
        });
    }
    if st.is_final && !actions.is_empty() {
        c.at(loc, format!("final state `{name}` cannot have actions"));
    }
    if !st.is_final && actions.is_empty() {
        c.at(loc, format!("state `{name}` has no way out and is not final"));
    }
    State {
        name: name.to_string(),
        title: st.title,
        editable: st.editable,
        assignee,
        actions,
        timeout,
        remind,
        on_enter,
        is_final: st.is_final,
    }
}

fn check_reachability(initial: &str, states: &IndexMap<String, State>, loc: Location, c: &mut Collector<'_>) {
    let mut seen: HashMap<&str, ()> = HashMap::new();
    let mut queue = VecDeque::from([initial]);
    while let Some(s) = queue.pop_front() {
        if seen.insert(s, ()).is_some() {
            continue;
        }
        if let Some(st) = states.get(s) {
            queue.extend(st.actions.values().map(|a| a.to.as_str()));
        }
    }
    for name in states.keys() {
        if !seen.contains_key(name.as_str()) {
            c.at(loc, format!("state `{name}` cannot be reached from the initial state `{initial}`"));
        }
    }
    if !states.values().any(|s| s.is_final) {
        c.at(loc, "the workflow has no final state");
    }
}

impl WorkflowDefinition {
    /// The `start` effects: (child workflow, line, column, state, data keys).
    pub(super) fn child_starts(&self) -> &[(String, u64, u64, String, Vec<String>)] {
        &self.starts_children
    }
}
