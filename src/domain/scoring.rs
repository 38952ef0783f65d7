//! Scoring tables: indicators with point bands, group minimums, a pass line and the direct
//! qualification rules (直通条件). The score shows for each indicator the points earned, the
//! maximum and the points lost (扣分项), so an enterprise sees where it falls short.

use serde::{Serialize, Serializer};
use serde_json::{Map, Value, json};

use super::expr::{ExprEngine, value_to_f64};
use super::text::Text;

/// One band of an indicator: it applies when the value lies within `min..=max`. Bands are
/// tried in the order written and the first that applies wins, so a value on a boundary scores
/// the band written first (write the higher band first).
#[derive(Debug, Clone, Serialize)]
pub struct Band {
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub points: f64,
    pub label: Option<Text>,
}

impl Band {
    fn applies(&self, v: f64) -> bool {
        self.min.is_none_or(|m| v >= m) && self.max.is_none_or(|m| v <= m)
    }
}

/// A scored indicator.
#[derive(Debug, Clone)]
pub struct Indicator {
    pub key: String,
    pub title: Text,
    pub group: Option<String>,
    pub value: String,
    pub bands: Vec<Band>,
    /// What the enterprise could do to earn more, shown beside lost points.
    pub hint: Option<Text>,
}

impl Indicator {
    pub fn max(&self) -> f64 {
        self.bands.iter().map(|b| b.points).fold(0.0, f64::max)
    }

    /// Points for a value: the first band that applies, or 0.
    pub fn points_for(&self, v: f64) -> f64 {
        self.bands.iter().find(|b| b.applies(v)).map_or(0.0, |b| b.points)
    }
}

/// A group of indicators (a category) with an optional minimum.
#[derive(Debug, Clone)]
pub struct Group {
    pub key: String,
    pub title: Text,
    pub min: Option<f64>,
}

/// A rule: an expression that must hold, and what to say when it does not (or, for direct
/// qualification, why it qualifies).
#[derive(Debug, Clone)]
pub struct Rule {
    pub expr: String,
    pub message: Text,
}

/// A validated scoring table.
#[derive(Debug, Clone)]
pub struct Scoring {
    pub pass: f64,
    pub groups: Vec<Group>,
    pub indicators: Vec<Indicator>,
    pub direct: Vec<Rule>,
}

fn num<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    number(*v).serialize(s)
}

fn opt_num<S: Serializer>(v: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
    v.map(number).serialize(s)
}

/// A number as JSON: whole numbers without a fraction, others rounded to 4 places.
pub fn number(v: f64) -> Value {
    if v.fract() == 0.0 && v.abs() < 1e15 { json!(v as i64) } else { json!((v * 10_000.0).round() / 10_000.0) }
}

/// An indicator's result.
#[derive(Debug, Clone, Serialize)]
pub struct IndicatorScore {
    pub key: String,
    pub title: Text,
    pub group: Option<String>,
    #[serde(serialize_with = "opt_num")]
    pub value: Option<f64>,
    #[serde(serialize_with = "num")]
    pub points: f64,
    #[serde(serialize_with = "num")]
    pub max: f64,
    #[serde(serialize_with = "num")]
    pub lost: f64,
    /// The next band up, if the indicator lost points: what it would take to earn more.
    pub next: Option<NextBand>,
    pub hint: Option<Text>,
    /// Why the value could not be computed (missing data), if it could not.
    pub error: Option<String>,
}

/// The band above the one reached.
#[derive(Debug, Clone, Serialize)]
pub struct NextBand {
    #[serde(serialize_with = "opt_num")]
    pub min: Option<f64>,
    #[serde(serialize_with = "opt_num")]
    pub max: Option<f64>,
    #[serde(serialize_with = "num")]
    pub points: f64,
}

/// A group's result.
#[derive(Debug, Clone, Serialize)]
pub struct GroupScore {
    pub key: String,
    pub title: Text,
    #[serde(serialize_with = "num")]
    pub points: f64,
    #[serde(serialize_with = "num")]
    pub max: f64,
    #[serde(serialize_with = "opt_num")]
    pub min: Option<f64>,
    pub ok: bool,
}

/// The whole score, recomputed on every save.
#[derive(Debug, Clone, Serialize)]
pub struct Score {
    #[serde(serialize_with = "num")]
    pub total: f64,
    #[serde(serialize_with = "num")]
    pub pass: f64,
    #[serde(serialize_with = "num")]
    pub max: f64,
    /// Qualifies: enough points and every group minimum met, or a direct rule holds.
    pub passed: bool,
    /// A direct qualification rule holds.
    pub direct: bool,
    pub direct_reasons: Vec<Text>,
    pub groups: Vec<GroupScore>,
    pub indicators: Vec<IndicatorScore>,
}

impl Score {
    /// The score as expressions see it: `score.total`, `score.points.<indicator>`, `score.groups.<group>`.
    pub fn expression_value(&self) -> Value {
        let points: Map<String, Value> = self.indicators.iter().map(|i| (i.key.clone(), number(i.points))).collect();
        let groups: Map<String, Value> = self.groups.iter().map(|g| (g.key.clone(), number(g.points))).collect();
        json!({
            "total": number(self.total), "pass": number(self.pass), "passed": self.passed,
            "direct": self.direct, "points": points, "groups": groups,
        })
    }
}

impl Scoring {
    /// Computes the score; `ctx` is the expression context without `score`.
    pub fn compute(&self, engine: &ExprEngine, ctx: &minijinja::Value) -> Score {
        let indicators: Vec<IndicatorScore> =
            self.indicators.iter().map(|ind| score_indicator(ind, engine, ctx)).collect();
        let groups: Vec<GroupScore> = self
            .groups
            .iter()
            .map(|g| {
                let members = indicators.iter().filter(|i| i.group.as_deref() == Some(g.key.as_str()));
                let (points, max) = members.fold((0.0, 0.0), |(p, m), i| (p + i.points, m + i.max));
                GroupScore {
                    key: g.key.clone(),
                    title: g.title.clone(),
                    points,
                    max,
                    min: g.min,
                    ok: g.min.is_none_or(|m| points >= m),
                }
            })
            .collect();
        let total: f64 = indicators.iter().map(|i| i.points).sum();
        let max: f64 = indicators.iter().map(|i| i.max).sum();
        let direct_reasons: Vec<Text> = self
            .direct
            .iter()
            .filter(|r| engine.eval_bool(&r.expr, ctx).unwrap_or(false))
            .map(|r| r.message.clone())
            .collect();
        let direct = !direct_reasons.is_empty();
        let by_points = total >= self.pass && groups.iter().all(|g| g.ok);
        Score { total, pass: self.pass, max, passed: by_points || direct, direct, direct_reasons, groups, indicators }
    }
}

fn score_indicator(ind: &Indicator, engine: &ExprEngine, ctx: &minijinja::Value) -> IndicatorScore {
    let max = ind.max();
    let (value, error) = match engine.eval(&ind.value, ctx) {
        Ok(v) if v.is_none() || v.is_undefined() => (None, Some("no value yet".to_string())),
        Ok(v) => match value_to_f64(&v) {
            Some(n) if n.is_finite() => (Some(n), None),
            _ => (None, Some(format!("`{v}` is not a number"))),
        },
        Err(e) => (None, Some(e)),
    };
    let points = value.map_or(0.0, |v| ind.points_for(v));
    let next = ind
        .bands
        .iter()
        .filter(|b| b.points > points)
        .min_by(|a, b| a.points.total_cmp(&b.points))
        .map(|b| NextBand { min: b.min, max: b.max, points: b.points });
    IndicatorScore {
        key: ind.key.clone(),
        title: ind.title.clone(),
        group: ind.group.clone(),
        value,
        points,
        max,
        lost: max - points,
        next,
        hint: if points < max { ind.hint.clone() } else { None },
        error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::expr::{Scope, World};

    fn t(s: &str) -> Text {
        Text { zh: s.into(), en: s.into() }
    }

    fn band(min: Option<f64>, max: Option<f64>, points: f64) -> Band {
        Band { min, max, points, label: None }
    }

    fn scoring() -> Scoring {
        Scoring {
            pass: 30.0,
            groups: vec![Group { key: "innovation".into(), title: t("innovation"), min: Some(15.0) }],
            indicators: vec![
                Indicator {
                    key: "rd".into(),
                    title: t("R&D intensity"),
                    group: Some("innovation".into()),
                    value: "form.rd".into(),
                    bands: vec![
                        band(Some(5.0), None, 20.0),
                        band(Some(3.0), None, 15.0),
                        band(Some(2.0), None, 10.0),
                        band(None, None, 0.0),
                    ],
                    hint: Some(t("raise R&D")),
                },
                Indicator {
                    key: "debt".into(),
                    title: t("debt ratio"),
                    group: None,
                    value: "form.debt".into(),
                    bands: vec![band(None, Some(55.0), 10.0), band(None, Some(75.0), 5.0), band(None, None, 0.0)],
                    hint: None,
                },
            ],
            direct: vec![Rule { expr: "form.high_tech".into(), message: t("high-tech enterprise") }],
        }
    }

    fn score(form: Value) -> Score {
        let ctx = Scope { form, ..Scope::default() }.to_value(&World::default());
        scoring().compute(&ExprEngine::new(), &ctx)
    }

    #[test]
    fn a_value_on_a_boundary_scores_the_higher_band() {
        let s = score(json!({"rd": 3.0, "debt": 55.0, "high_tech": false}));
        assert_eq!(s.indicators[0].points, 15.0);
        assert_eq!(s.indicators[1].points, 10.0);
        let s = score(json!({"rd": 2.999, "debt": 55.01, "high_tech": false}));
        assert_eq!(s.indicators[0].points, 10.0);
        assert_eq!(s.indicators[1].points, 5.0);
    }

    #[test]
    fn lost_points_and_the_next_band_are_shown() {
        let s = score(json!({"rd": 2.5, "debt": 80, "high_tech": false}));
        let rd = &s.indicators[0];
        assert_eq!((rd.points, rd.max, rd.lost), (10.0, 20.0, 10.0));
        assert_eq!(rd.next.as_ref().unwrap().points, 15.0);
        assert_eq!(rd.hint.as_ref().unwrap().en, "raise R&D");
        assert_eq!(s.total, 10.0);
        assert!(!s.passed);
    }

    #[test]
    fn a_group_minimum_fails_a_score_above_the_pass_line() {
        let s = score(json!({"rd": 2.0, "debt": 10, "high_tech": false}));
        assert_eq!(s.total, 20.0);
        let s2 = Scoring { pass: 20.0, ..scoring() }.compute(
            &ExprEngine::new(),
            &Scope { form: json!({"rd": 2.0, "debt": 10, "high_tech": false}), ..Scope::default() }
                .to_value(&World::default()),
        );
        assert_eq!(s2.total, 20.0);
        assert!(!s2.groups[0].ok, "innovation has 10 < 15");
        assert!(!s2.passed);
        assert!(!s.passed);
    }

    #[test]
    fn a_direct_rule_qualifies_whatever_the_points() {
        let s = score(json!({"rd": 0, "debt": 90, "high_tech": true}));
        assert_eq!(s.total, 0.0);
        assert!(s.direct && s.passed);
        assert_eq!(s.direct_reasons[0].en, "high-tech enterprise");
    }

    #[test]
    fn missing_data_scores_zero_and_says_why() {
        let s = score(json!({"rd": null, "debt": null, "high_tech": null}));
        assert_eq!(s.indicators[0].points, 0.0);
        assert!(s.indicators[0].error.is_some());
    }
}
