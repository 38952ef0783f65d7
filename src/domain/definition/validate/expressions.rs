//! Expressions, budgets, durations, notification targets and templates, checked against what
//! the definition and the project provide.

use serde_saphyr::Spanned;

use crate::domain::definition::raw;
use crate::domain::definition::{DurationSpec, Notify, Target};
use crate::domain::duration::Span;
use crate::domain::expr::Names;
use crate::domain::role::Role;
use crate::domain::scoring::Rule;

use super::{Collector, Context};

pub(super) fn check_expr(src: &Spanned<String>, cx: &Context<'_>, names: &Names, c: &mut Collector<'_>) {
    c.uses_prior |= src.value.contains("prior") || src.value.contains("applications");
    if let Err(e) = cx.engine.check(&src.value, names) {
        c.at(src.referenced, e);
    }
}

pub(super) fn check_budget(b: &Spanned<String>, cx: &Context<'_>, c: &mut Collector<'_>) {
    if !cx.budgets.contains(&b.value) {
        c.at(b.referenced, format!("unknown budget `{}` (not in workflows/budgets.yaml)", b.value));
    }
}

pub(super) fn build_rule(r: raw::Rule, cx: &Context<'_>, names: &Names, c: &mut Collector<'_>) -> Rule {
    check_expr(&r.rule, cx, names, c);
    Rule { expr: r.rule.value, message: r.message }
}

pub(super) fn build_target(t: &Spanned<String>, c: &mut Collector<'_>) -> Target {
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

pub(super) fn build_template(t: &Spanned<String>, cx: &Context<'_>, c: &mut Collector<'_>) -> String {
    if !cx.templates.contains(&t.value) {
        c.at(t.referenced, format!("unknown template `{}` (no templates/email/{}.<lang>.txt)", t.value, t.value));
    }
    t.value.clone()
}

pub(super) fn build_notify(n: raw::Notify, cx: &Context<'_>, c: &mut Collector<'_>) -> Notify {
    Notify { to: build_target(&n.to, c), template: build_template(&n.template, cx, c) }
}

pub(super) fn build_duration(
    d: Spanned<raw::Duration>,
    cx: &Context<'_>,
    names: &Names,
    c: &mut Collector<'_>,
) -> DurationSpec {
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
