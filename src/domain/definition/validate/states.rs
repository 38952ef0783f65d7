//! States: assignee, actions, timeout, reminders, effects on entering, and pauses.

use std::collections::HashSet;

use indexmap::IndexMap;
use serde_saphyr::Spanned;

use crate::domain::definition::raw;
use crate::domain::definition::{Action, Assignee, By, Check, CommentRule, Effect, Extension, Remind, State, Timeout};
use crate::domain::duration::Span;
use crate::domain::expr::Names;
use crate::domain::role::{Role, Scope};
use crate::domain::scoring::Rule;

use super::expressions::{build_duration, build_notify, build_target, build_template, check_budget, check_expr};
use super::form::build_editable;
use super::{Collector, Context, key_re};

/// The states of a definition as the per-state checks need them.
pub(super) struct StateSet<'a> {
    pub(super) names: &'a [String],
    /// Whether the definition has a scoring table (for `check: [scoring]`).
    pub(super) has_scoring: bool,
    /// States that have an assignee (targets of `to: assignees`).
    pub(super) with_assignee: &'a HashSet<String>,
    /// States that have a timeout (whose clock a `pauses` can stop).
    pub(super) with_timeout: &'a HashSet<String>,
}

/// What every part of one state is checked against.
struct Here<'a> {
    name: &'a str,
    set: &'a StateSet<'a>,
    cx: &'a Context<'a>,
    names: &'a Names,
}

/// One state, in its parts: assignee, actions, timeout, reminders, effects, pauses.
pub(super) fn build_state(
    name: &str,
    st: Spanned<raw::State>,
    set: &StateSet<'_>,
    cx: &Context<'_>,
    names: &Names,
    c: &mut Collector<'_>,
    children: &mut Vec<(String, u64, u64, String, Vec<String>)>,
) -> State {
    let loc = st.referenced;
    let st = st.value;
    let here = Here { name, set, cx, names };
    let editable = build_editable(name, st.editable, names, c);
    let assignee = st.assignee.map(|a| build_assignee(a, set, c));
    let mut actions = IndexMap::new();
    for (aname, a) in st.actions {
        let action = build_action(aname.clone(), a, &here, assignee.is_some(), c);
        actions.insert(aname, action);
    }
    let timeout = st.timeout.map(|t| build_timeout(t, &here, &actions, st.is_final, c));
    let remind = st.remind.into_iter().map(|r| build_remind(r, &here, timeout.is_some(), c)).collect();
    let on_enter = st.on_enter.into_iter().map(|e| build_effect(e.value, &here, c, children)).collect();
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

/// `assignee:` of a state.
fn build_assignee(a: Spanned<raw::Assignee>, set: &StateSet<'_>, c: &mut Collector<'_>) -> Assignee {
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
        if !set.names.contains(&s.value) {
            c.at(s.referenced, format!("separate_from names unknown state `{}`", s.value));
        }
    }
    Assignee { role, scope, separate_from: a.value.separate_from.into_iter().map(|s| s.value).collect() }
}

/// One action of state `here.name`; `has_assignee` says whether the state has one (an action
/// without `by` is the assignee's).
fn build_action(
    aname: String,
    a: Spanned<raw::Action>,
    here: &Here<'_>,
    has_assignee: bool,
    c: &mut Collector<'_>,
) -> Action {
    let (name, set, cx, names) = (here.name, here.set, here.cx, here.names);
    let has_scoring = set.has_scoring;
    let aloc = a.referenced;
    let a = a.value;
    if !set.names.contains(&a.to.value) {
        c.at(a.to.referenced, format!("action `{aname}` goes to unknown state `{}`", a.to.value));
    }
    let by = match a.by.as_ref().map(|b| (b.value.as_str(), b.referenced)) {
        None => {
            if !has_assignee {
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
    Action { name: aname, title: a.title, to: a.to.value, by, comment, checks, when, quorum, notify, fields }
}

/// `timeout:` of state `here.name`, whose actions are `actions`.
fn build_timeout(
    t: Spanned<raw::Timeout>,
    here: &Here<'_>,
    actions: &IndexMap<String, Action>,
    is_final: bool,
    c: &mut Collector<'_>,
) -> Timeout {
    let (name, set, cx, names) = (here.name, here.set, here.cx, here.names);
    let tl = t.referenced;
    let t = t.value;
    if let Some(action) = &t.action {
        match actions.get(&action.value) {
            None => {
                c.at(action.referenced, format!("timeout names unknown action `{}` of state `{name}`", action.value))
            }
            Some(a) if a.by != By::System => {
                c.at(action.referenced, format!("timeout action `{}` must be `by: system`", action.value))
            }
            Some(_) => {}
        }
    }
    if t.action.is_none() && t.notify.is_empty() {
        c.at(tl, "a timeout needs an `action`, a `notify`, or both");
    }
    if is_final {
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
}

/// One reminder of state `here.name`, counted back from its timeout.
fn build_remind(r: Spanned<raw::Remind>, here: &Here<'_>, has_timeout: bool, c: &mut Collector<'_>) -> Remind {
    let (name, set, cx) = (here.name, here.set, here.cx);
    if !has_timeout {
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
}

/// One effect of entering state `here.name`; a `start` is also noted in `children` for the
/// catalogue's cross-file checks.
fn build_effect(
    e: raw::Effect,
    here: &Here<'_>,
    c: &mut Collector<'_>,
    children: &mut Vec<(String, u64, u64, String, Vec<String>)>,
) -> Effect {
    let (name, set, cx, names) = (here.name, here.set, here.cx, here.names);
    match e {
        raw::Effect::Grant(g) => {
            if !key_re().is_match(&g.certification.value) {
                c.at(g.certification.referenced, "a certification kind must be lowercase letters, digits, `-` or `_`");
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
    }
}
