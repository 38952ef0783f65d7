//! Turns the raw YAML into a [`WorkflowDefinition`], collecting every error with its place.

use std::collections::{HashMap, HashSet, VecDeque};

use indexmap::IndexMap;
use regex::Regex;
use serde_saphyr::Location;

use crate::domain::definition::raw;
use crate::domain::definition::{DefinitionError, Starter, State, WorkflowDefinition};
use crate::domain::expr::{ExprEngine, Kinds, Names};
use crate::domain::role::Role;

use expressions::build_rule;
use form::build_form;
use scoring::build_scoring;
use states::{StateSet, build_state};

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

mod expressions;
mod form;
mod scoring;
mod states;
#[cfg(test)]
mod tests;
