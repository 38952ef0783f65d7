//! Entering a state, decided: the visit's deadline and timers, what becomes of the timers of
//! earlier visits (a `pauses` state stops the clock it pauses; going back resumes it), and what
//! each `on_enter` effect means once its expressions are evaluated. The engine writes these in
//! the change's transaction, effect by effect in the order written, so that an effect sees the
//! world as the effects before it left it (a `start` before a `grant` does not see the grant).

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::{Refusal, t};
use crate::domain::calendar::Calendar;
use crate::domain::definition::{DurationSpec, Effect, Target, WorkflowDefinition};
use crate::domain::duration::Span;
use crate::domain::expr::ExprEngine;

/// What evaluating a definition needs besides itself: expressions and the calendar.
#[derive(Debug, Clone, Copy)]
pub struct Env<'a> {
    pub expr: &'a ExprEngine,
    pub calendar: &'a Calendar,
}

/// What happens to the pending and paused timers of earlier visits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Earlier {
    /// They are cancelled.
    Cancel,
    /// The state pauses the one left: its pending timers stop with what was left of them.
    Pause,
    /// Back in a paused state: its paused timers run on from what was left.
    Resume,
}

/// A timer of the new visit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTimer {
    /// `timeout`, `notify` or `remind`.
    pub kind: &'static str,
    pub action: Option<String>,
    pub template: Option<String>,
    /// The recipients of a notice (`applicant`, `assignees`, `actor`, `role:<role>`).
    pub target: Option<String>,
    pub due: DateTime<Utc>,
}

/// Entering `state`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arrival {
    pub state: String,
    pub is_final: bool,
    pub due_at: Option<DateTime<Utc>>,
    pub earlier: Earlier,
    pub timers: Vec<NewTimer>,
}

/// The target of a notice as stored with its timer.
pub fn target_name(t: &Target) -> String {
    match t {
        Target::Applicant => "applicant".into(),
        Target::Assignees => "assignees".into(),
        Target::Actor => "actor".into(),
        Target::Role(r) => format!("role:{r}"),
    }
}

/// Evaluates a duration of the definition: a fixed span, or a number of (working) days that an
/// expression gives.
pub fn span_of(expr: &ExprEngine, spec: &DurationSpec, ctx: &minijinja::Value) -> Result<Span, Refusal> {
    match spec {
        DurationSpec::Fixed(s) => Ok(*s),
        DurationSpec::Days(e) | DurationSpec::WorkingDays(e) => {
            let title = || t("期限无法计算", "the period cannot be computed");
            let n = expr
                .eval_number(e, ctx)
                .map_err(|m| Refusal::rule(title(), vec![t(&m, &m)]))?
                .filter(|n| *n >= 0.0 && n.fract() == 0.0 && *n <= f64::from(u32::MAX))
                .ok_or_else(|| {
                    Refusal::rule(
                        title(),
                        vec![t(
                            &format!("`{e}` 不是非负整数天数"),
                            &format!("`{e}` is not a whole, non-negative number of days"),
                        )],
                    )
                })? as u32;
            Ok(if matches!(spec, DurationSpec::Days(_)) { Span::days(i64::from(n)) } else { Span::working_days(n) })
        }
    }
}

/// Entering `to` from `from` (none at creation) at `now`. `resumed_due` is the deadline a
/// paused clock had left, when `from` pauses `to`.
pub fn arrive(
    env: Env<'_>,
    def: &WorkflowDefinition,
    from: Option<&str>,
    to: &str,
    ctx: &minijinja::Value,
    resumed_due: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<Arrival, Refusal> {
    let st = def.state(to).ok_or(Refusal::NotFound)?;
    let pausing = from.is_some() && st.pauses.as_deref() == from;
    let resuming = from.and_then(|f| def.state(f)).is_some_and(|f| f.pauses.as_deref() == Some(to));
    let due_at = match (&st.timeout, resumed_due) {
        (Some(_), Some(due)) if resuming => Some(due),
        (Some(timeout), _) => Some(span_of(env.expr, &timeout.after, ctx)?.after(now, env.calendar).at),
        (None, _) => None,
    };
    let earlier = if pausing {
        Earlier::Pause
    } else if resuming {
        Earlier::Resume
    } else {
        Earlier::Cancel
    };
    let mut timers = Vec::new();
    // A resumed clock's timers come back; they are not set again.
    if let (Some(timeout), Some(due), false) = (&st.timeout, due_at, resuming) {
        if let Some(action) = &timeout.action {
            timers.push(NewTimer { kind: "timeout", action: Some(action.clone()), template: None, target: None, due });
        }
        for n in &timeout.notify {
            timers.push(NewTimer {
                kind: "notify",
                action: None,
                template: Some(n.template.clone()),
                target: Some(target_name(&n.to)),
                due,
            });
        }
        for r in &st.remind {
            timers.push(NewTimer {
                kind: "remind",
                action: None,
                template: Some(r.template.clone()),
                target: Some(target_name(&r.to)),
                due: r.before.before(due).max(now),
            });
        }
    }
    Ok(Arrival { state: to.to_string(), is_final: st.is_final, due_at, earlier, timers })
}

/// An `on_enter` effect with its expressions evaluated.
#[derive(Debug, Clone, PartialEq)]
pub enum Planned {
    /// A new certification, valid until then (for ever when none).
    Grant {
        kind: String,
        valid_until: Option<DateTime<Utc>>,
    },
    /// The certification runs on by the span from its current end (or is granted).
    Extend {
        kind: String,
        span: Option<Span>,
    },
    Revoke {
        kind: String,
    },
    Reserve {
        budget: String,
        amount: String,
        year: Option<i32>,
    },
    Spend {
        budget: String,
    },
    Release {
        budget: String,
    },
    Claim {
        award: String,
    },
    Unclaim {
        award: String,
    },
    /// A child application of `workflow` with this data.
    Start {
        workflow: String,
        data: Map<String, Value>,
    },
    Notify {
        to: Target,
        template: String,
    },
}

/// What `effect` means against `ctx` (the world as the effects before it left it); `None` for a
/// `start` whose `when` is false.
pub fn plan(
    env: Env<'_>,
    effect: &Effect,
    ctx: &minijinja::Value,
    now: DateTime<Utc>,
) -> Result<Option<Planned>, Refusal> {
    let (expr, calendar) = (env.expr, env.calendar);
    let text = |src: &str| -> Result<String, Refusal> {
        let v = expr
            .eval(src, ctx)
            .map_err(|m| Refusal::rule(t("表达式无法计算", "an expression cannot be computed"), vec![t(&m, &m)]))?;
        if v.is_none() || v.is_undefined() {
            return Err(Refusal::rule(t("表达式没有值", "an expression has no value"), vec![t(src, src)]));
        }
        Ok(v.to_string())
    };
    Ok(Some(match effect {
        Effect::Grant { certification, valid_for } => Planned::Grant {
            kind: certification.clone(),
            valid_until: match valid_for {
                Some(d) => Some(span_of(expr, d, ctx)?.after(now, calendar).at),
                None => None,
            },
        },
        Effect::Extend { certification, valid_for } => Planned::Extend {
            kind: certification.clone(),
            span: valid_for.as_ref().map(|d| span_of(expr, d, ctx)).transpose()?,
        },
        Effect::Revoke { certification } => Planned::Revoke { kind: certification.clone() },
        Effect::Reserve { budget, amount, year } => Planned::Reserve {
            budget: budget.clone(),
            amount: text(amount)?,
            year: match year {
                Some(y) => Some(
                    text(y)?
                        .parse::<i32>()
                        .map_err(|_| Refusal::rule(t("预算年度无效", "invalid budget year"), vec![t(y, y)]))?,
                ),
                None => None,
            },
        },
        Effect::Spend { budget } => Planned::Spend { budget: budget.clone() },
        Effect::Release { budget } => Planned::Release { budget: budget.clone() },
        Effect::Claim { award } => Planned::Claim { award: text(award)? },
        Effect::Unclaim { award } => Planned::Unclaim { award: text(award)? },
        Effect::Start { workflow, when, data } => {
            if let Some(w) = when {
                let go = expr.eval_bool(w, ctx).map_err(|m| {
                    Refusal::rule(t("子申请条件无法计算", "the start condition cannot be computed"), vec![t(&m, &m)])
                })?;
                if !go {
                    return Ok(None);
                }
            }
            let mut child = Map::new();
            for (k, e) in data {
                let v = expr.eval(e, ctx).map_err(|m| {
                    Refusal::rule(
                        t("子申请数据无法计算", "the child application's data cannot be computed"),
                        vec![t(&m, &m)],
                    )
                })?;
                child.insert(k.clone(), serde_json::to_value(&v).unwrap_or(Value::Null));
            }
            Planned::Start { workflow: workflow.clone(), data: child }
        }
        Effect::Notify(n) => Planned::Notify { to: n.to.clone(), template: n.template.clone() },
    }))
}
