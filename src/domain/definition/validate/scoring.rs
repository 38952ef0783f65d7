//! The scoring table: groups, indicators, bands and direct qualification.

use std::collections::HashSet;

use serde_saphyr::Spanned;

use crate::domain::definition::raw;
use crate::domain::expr::Names;
use crate::domain::scoring::{Band, Group, Indicator, Scoring};

use super::expressions::{build_rule, check_expr};
use super::{Collector, Context};

pub(super) fn build_scoring(
    raw: Spanned<raw::Scoring>,
    cx: &Context<'_>,
    names: &Names,
    c: &mut Collector<'_>,
) -> Scoring {
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
