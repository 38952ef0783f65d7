//! Turns the raw YAML into a [`WorkflowDefinition`], collecting every error with its place.

use std::collections::{HashMap, HashSet, VecDeque};

use indexmap::IndexMap;
use regex::Regex;
use rust_decimal::Decimal;
use rust_decimal::prelude::FromPrimitive;
use serde_saphyr::{Location, Spanned};

use super::raw;
use super::{
    Action, Assignee, By, Check, CommentRule, DefinitionError, DurationSpec, Editable, Effect, Extension, Notify,
    Remind, Starter, State, Target, Timeout, WorkflowDefinition,
};
use crate::domain::duration::Span;
use crate::domain::expr::{ExprEngine, Kinds, Names};
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
    /// Budget keys found in `budgets.yaml`.
    pub budgets: &'a HashSet<String>,
}

struct Collector<'a> {
    file: &'a str,
    errors: Vec<DefinitionError>,
    /// Whether any expression calls `prior(…)`, which needs the enterprise's earlier applications.
    uses_prior: bool,
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
pub fn parse_definition(
    file: &str,
    source: &str,
    cx: &Context<'_>,
) -> Result<WorkflowDefinition, Vec<DefinitionError>> {
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
    let mut c = Collector { file, errors: Vec::new(), uses_prior: false };
    // Every expression is in the file, so the kinds its calls name are read from the whole of
    // it (a comment can only add kinds, never hide one).
    let def = build(raw, file, cx, &mut c).map(|mut d| {
        d.certification_kinds = Kinds::named_in(source);
        d
    });
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
    if let Some(expected) = cx.expected_key
        && raw.key.value != expected
    {
        c.at(raw.key.referenced, format!("key `{}` does not match the file name `{expected}`", raw.key.value));
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
    let state_locs: HashMap<String, Location> =
        raw.states.value.iter().map(|(k, v)| (k.clone(), v.referenced)).collect();
    let with_assignee: HashSet<String> =
        raw.states.value.iter().filter(|(_, v)| v.value.assignee.is_some()).map(|(k, _)| k.clone()).collect();
    let with_timeout: HashSet<String> =
        raw.states.value.iter().filter(|(_, v)| v.value.timeout.is_some()).map(|(k, _)| k.clone()).collect();
    let mut starts_children = Vec::new();
    let mut states = IndexMap::new();
    for (name, st) in raw.states.value {
        let set = StateSet {
            names: &state_names,
            has_scoring: scoring.is_some(),
            with_assignee: &with_assignee,
            with_timeout: &with_timeout,
        };
        let state = build_state(&name, st, &set, cx, &names, c, &mut starts_children);
        states.insert(name, state);
    }
    check_reachability(&initial, &states, &state_locs, states_loc, c);
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
        uses_prior: c.uses_prior,
        certification_kinds: Kinds::default(),
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
    c.uses_prior |= src.value.contains("prior") || src.value.contains("applications");
    if let Err(e) = cx.engine.check(&src.value, names) {
        c.at(src.referenced, e);
    }
}

fn check_budget(b: &Spanned<String>, cx: &Context<'_>, c: &mut Collector<'_>) {
    if !cx.budgets.contains(&b.value) {
        c.at(b.referenced, format!("unknown budget `{}` (not in workflows/budgets.yaml)", b.value));
    }
}

fn build_rule(r: raw::Rule, cx: &Context<'_>, names: &Names, c: &mut Collector<'_>) -> Rule {
    check_expr(&r.rule, cx, names, c);
    Rule { expr: r.rule.value, message: r.message }
}

fn build_scoring(raw: Spanned<raw::Scoring>, cx: &Context<'_>, names: &Names, c: &mut Collector<'_>) -> Scoring {
    let s = raw.value;
    let groups: Vec<Group> =
        s.groups.into_iter().map(|g| Group { key: g.value.key, title: g.value.title, min: g.value.min }).collect();
    let group_keys: HashSet<&str> = groups.iter().map(|g| g.key.as_str()).collect();
    let mut seen = HashSet::new();
    let mut indicators = Vec::new();
    for ind in s.indicators {
        let loc = ind.referenced;
        let i = ind.value;
        if !seen.insert(i.key.clone()) {
            c.at(loc, format!("indicator `{}` is defined twice", i.key));
        }
        if let Some(g) = &i.group
            && !group_keys.contains(g.value.as_str())
        {
            c.at(g.referenced, format!("indicator `{}` names unknown group `{}`", i.key, g.value));
        }
        check_expr(&i.value, cx, names, c);
        if i.points.is_empty() {
            c.at(loc, format!("indicator `{}` needs at least one band in `points`", i.key));
        }
        let bands = i
            .points
            .into_iter()
            .map(|b| {
                if let (Some(lo), Some(hi)) = (b.value.min, b.value.max)
                    && lo > hi
                {
                    c.at(b.referenced, format!("band min {lo} is above its max {hi}"));
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
        c.at(
            s.pass.referenced,
            format!("pass line {} is above the most points the table can give ({max})", s.pass.value),
        );
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
                c.at(
                    t.referenced,
                    format!("unknown target `{other}`; expected applicant, assignees, actor or role:<name>"),
                );
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
            raw::ExprOrNumber::Number(n) => {
                if n < 0 {
                    c.at(loc, format!("a period cannot be negative ({n} days)"));
                }
                n.to_string()
            }
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

/// The states of a definition as the per-state checks need them.
struct StateSet<'a> {
    names: &'a [String],
    /// Whether the definition has a scoring table (for `check: [scoring]`).
    has_scoring: bool,
    /// States that have an assignee (targets of `to: assignees`).
    with_assignee: &'a HashSet<String>,
    /// States that have a timeout (whose clock a `pauses` can stop).
    with_timeout: &'a HashSet<String>,
}

fn build_state(
    name: &str,
    st: Spanned<raw::State>,
    set: &StateSet<'_>,
    cx: &Context<'_>,
    names: &Names,
    c: &mut Collector<'_>,
    children: &mut Vec<(String, u64, u64, String, Vec<String>)>,
) -> State {
    let has_scoring = set.has_scoring;
    let loc = st.referenced;
    let st = st.value;
    let editable = build_editable(name, st.editable, names, c);
    let assignee = st.assignee.map(|a| {
        let role = match a.value.role.value.parse::<Role>() {
            Ok(Role::Enterprise) => {
                c.at(
                    a.value.role.referenced,
                    "an assignee must be a staff role; use `by: applicant` for the enterprise",
                );
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
            if !set.names.contains(&s.value) {
                c.at(s.referenced, format!("separate_from names unknown state `{}`", s.value));
            }
        }
        Assignee { role, scope, separate_from: a.value.separate_from.into_iter().map(|s| s.value).collect() }
    });
    let mut actions = IndexMap::new();
    for (aname, a) in st.actions {
        let aloc = a.referenced;
        let a = a.value;
        if !set.names.contains(&a.to.value) {
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
        for n in &a.notify {
            if n.value.to.value == "assignees" && !set.with_assignee.contains(&a.to.value) {
                c.at(
                    n.value.to.referenced,
                    format!("`assignees` of state `{}` are nobody: it has no assignee", a.to.value),
                );
            }
        }
        let notify = a.notify.into_iter().map(|n| build_notify(n.value, cx, c)).collect();
        let mut fields: Vec<String> = Vec::new();
        for f in a.fields {
            if !names.form_fields.contains(&f.value) {
                c.at(f.referenced, format!("action `{aname}` names unknown field `{}` in `fields`", f.value));
            } else if fields.contains(&f.value) {
                c.at(f.referenced, format!("action `{aname}` lists field `{}` twice in `fields`", f.value));
            } else {
                fields.push(f.value);
            }
        }
        let when = a.when.map(|w| Rule {
            expr: w.value.clone(),
            message: a.message.unwrap_or_else(|| crate::domain::text::Text {
                zh: format!("条件不满足：{}", w.value),
                en: format!("condition not met: {}", w.value),
            }),
        });
        actions.insert(
            aname.clone(),
            Action { name: aname, title: a.title, to: a.to.value, by, comment, checks, when, quorum, notify, fields },
        );
    }
    let timeout = st.timeout.map(|t| {
        let tl = t.referenced;
        let t = t.value;
        if let Some(action) = &t.action {
            match actions.get(&action.value) {
                None => c.at(
                    action.referenced,
                    format!("timeout names unknown action `{}` of state `{name}`", action.value),
                ),
                Some(a) if a.by != By::System => {
                    c.at(action.referenced, format!("timeout action `{}` must be `by: system`", action.value))
                }
                Some(_) => {}
            }
        }
        if t.action.is_none() && t.notify.is_empty() {
            c.at(tl, "a timeout needs an `action`, a `notify`, or both");
        }
        if st.is_final {
            c.at(tl, "a final state cannot time out");
        }
        for n in &t.notify {
            if n.value.to.value == "assignees" && !set.with_assignee.contains(name) {
                c.at(n.value.to.referenced, format!("`assignees` of state `{name}` are nobody: it has no assignee"));
            }
        }
        let notify = t.notify.into_iter().map(|n| build_notify(n.value, cx, c)).collect();
        let extend = t.extend.map(|e| {
            let by = match e.value.by.value.parse::<Role>() {
                Ok(Role::Enterprise) | Err(_) => {
                    c.at(
                        e.value.by.referenced,
                        format!("`{}` cannot extend a deadline; name a staff role", e.value.by.value),
                    );
                    Role::Reviewer
                }
                Ok(r) => r,
            };
            Extension { by, length: build_duration(e.value.length, cx, names, c) }
        });
        Timeout { after: build_duration(t.after, cx, names, c), action: t.action.map(|a| a.value), notify, extend }
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
            if r.value.to.value == "assignees" && !set.with_assignee.contains(name) {
                c.at(r.value.to.referenced, format!("`assignees` of state `{name}` are nobody: it has no assignee"));
            }
            Remind { before, to: build_target(&r.value.to, c), template: build_template(&r.value.template, cx, c) }
        })
        .collect();
    let mut on_enter = Vec::new();
    for e in st.on_enter {
        on_enter.push(match e.value {
            raw::Effect::Grant(g) => {
                if !key_re().is_match(&g.certification.value) {
                    c.at(
                        g.certification.referenced,
                        "a certification kind must be lowercase letters, digits, `-` or `_`",
                    );
                }
                Effect::Grant {
                    certification: g.certification.value,
                    valid_for: g.valid_for.map(|d| build_duration(d, cx, names, c)),
                }
            }
            raw::Effect::Extend(g) => Effect::Extend {
                certification: g.certification.value,
                valid_for: g.valid_for.map(|d| build_duration(d, cx, names, c)),
            },
            raw::Effect::Revoke(r) => Effect::Revoke { certification: r.certification.value },
            raw::Effect::Reserve(r) => {
                check_budget(&r.budget, cx, c);
                check_expr(&r.amount, cx, names, c);
                if let Some(y) = &r.year {
                    check_expr(y, cx, names, c);
                }
                Effect::Reserve { budget: r.budget.value, amount: r.amount.value, year: r.year.map(|y| y.value) }
            }
            raw::Effect::Spend(b) => {
                check_budget(&b.budget, cx, c);
                Effect::Spend { budget: b.budget.value }
            }
            raw::Effect::Release(b) => {
                check_budget(&b.budget, cx, c);
                Effect::Release { budget: b.budget.value }
            }
            raw::Effect::Claim(a) => {
                check_expr(&a.award, cx, names, c);
                Effect::Claim { award: a.award.value }
            }
            raw::Effect::Unclaim(a) => {
                check_expr(&a.award, cx, names, c);
                Effect::Unclaim { award: a.award.value }
            }
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
            raw::Effect::Notify(n) => {
                if n.to.value == "assignees" && !set.with_assignee.contains(name) {
                    c.at(n.to.referenced, format!("`assignees` of state `{name}` are nobody: it has no assignee"));
                }
                Effect::Notify(build_notify(n, cx, c))
            }
        });
    }
    let pauses = st.pauses.map(|p| {
        if !set.names.contains(&p.value) {
            c.at(p.referenced, format!("pauses names unknown state `{}`", p.value));
        } else if !set.with_timeout.contains(&p.value) {
            c.at(p.referenced, format!("state `{}` has no timeout whose clock could be paused", p.value));
        }
        p.value
    });
    if st.is_final && !actions.is_empty() {
        c.at(loc, format!("final state `{name}` cannot have actions"));
    }
    if !st.is_final && actions.is_empty() {
        c.at(loc, format!("state `{name}` has no way out and is not final"));
    }
    State {
        name: name.to_string(),
        title: st.title,
        editable,
        assignee,
        actions,
        timeout,
        remind,
        on_enter,
        pauses,
        is_final: st.is_final,
    }
}

/// `editable:` of a state: a flag, or the keys of the form fields that may be changed.
fn build_editable(name: &str, raw: Option<Spanned<raw::Editable>>, names: &Names, c: &mut Collector<'_>) -> Editable {
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

fn check_reachability(
    initial: &str,
    states: &IndexMap<String, State>,
    locs: &HashMap<String, Location>,
    loc: Location,
    c: &mut Collector<'_>,
) {
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
            let at = locs.get(name).copied().unwrap_or(loc);
            c.at(at, format!("state `{name}` cannot be reached from the initial state `{initial}`"));
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

#[cfg(test)]
mod tests {
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
        let (offset, _) =
            src.match_indices(needle).nth(nth).unwrap_or_else(|| panic!("`{needle}` #{nth} not in:\n{src}"));
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
        assert_only(
            &src,
            at(&src, "{before: 2 days"),
            "state `review` has reminders but no `timeout` to count back from",
        );
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
            (
                "      expire: {to: draft, by: system}\n",
                "      expire: {to: draft, by: system}\n      park: {to: stuck}\n",
            ),
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
        let cat = catalogue(&[
            source("workflows/demo.yaml", &parent, "demo"),
            source("workflows/child.yaml", CHILD, "child"),
        ])
        .unwrap_or_else(|e| panic!("{}", show(&e)));
        assert_eq!(cat.latest_all().count(), 2);
        assert_eq!(cat.latest("child").map(|d| d.key()), Some("child"));
        assert!(cat.get("demo", 1).is_some());
        assert!(cat.get("demo", 2).is_none());
    }

    #[test]
    fn a_start_must_name_a_known_workflow() {
        let parent = parent_starting("orphan", "amount");
        let errs = catalogue(&[
            source("workflows/demo.yaml", &parent, "demo"),
            source("workflows/child.yaml", CHILD, "child"),
        ])
        .unwrap_err();
        assert_eq!(errs.len(), 1, "{}", show(&errs));
        assert_eq!(errs[0].file, "workflows/demo.yaml");
        assert_eq!((errs[0].line, errs[0].column), at(&parent, "orphan"));
        assert!(errs[0].message.contains("start names unknown workflow `orphan`"), "{}", errs[0].message);
    }

    #[test]
    fn a_start_may_only_give_fields_the_child_has() {
        let parent = parent_starting("child", "bonus");
        let errs = catalogue(&[
            source("workflows/demo.yaml", &parent, "demo"),
            source("workflows/child.yaml", CHILD, "child"),
        ])
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
}
