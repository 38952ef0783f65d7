//! Reads the definitions folder: workflows (current ones as `<key>.yaml`, older versions under
//! `versions/`), `jurisdictions.yaml`, the holiday calendar and the list of e-mail templates.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::domain::budget::{Budget, parse_budgets};
use crate::domain::calendar::Calendar;
use crate::domain::definition::{Catalogue, DefinitionError, SourceFile};
use crate::domain::expr::ExprEngine;
use crate::domain::jurisdiction::Jurisdictions;
use crate::domain::programme::Programme;

/// Files in the definitions folder that hold data, not workflows.
const DATA_FILES: [&str; 3] = ["jurisdictions.yaml", "budgets.yaml", "programme.yaml"];

/// How close to the end of the calendar data `validate` starts warning.
const CALENDAR_WARNING_DAYS: i64 = 60;

/// Everything loaded from `workflows/` and `templates/`.
#[derive(Debug, Clone)]
pub struct Definitions {
    pub catalogue: Catalogue,
    pub jurisdictions: Jurisdictions,
    pub calendar: Calendar,
    /// Programme budgets from `budgets.yaml` (none when the file is absent).
    pub budgets: Vec<Budget>,
    /// The programme's targets, whitelist and renewals from `programme.yaml`, if present.
    pub programme: Option<Programme>,
    pub templates_dir: PathBuf,
    /// Notes that do not stop the server (e.g. calendar data running out).
    pub warnings: Vec<String>,
}

fn error(file: &Path, message: impl Into<String>) -> DefinitionError {
    DefinitionError { file: file.display().to_string(), line: 1, column: 1, message: message.into() }
}

/// Names of the e-mail templates found (`templates/email/<name>.<lang>.txt`), each in both languages.
fn template_names(templates: &Path, errors: &mut Vec<DefinitionError>) -> HashSet<String> {
    let dir = templates.join("email");
    let mut names = HashSet::new();
    let Ok(entries) = std::fs::read_dir(&dir) else {
        errors.push(error(&dir, "the e-mail templates folder is missing"));
        return names;
    };
    let files: HashSet<String> =
        entries.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().to_string()).collect();
    for f in &files {
        if let Some(name) = f.strip_suffix(".zh-CN.txt") {
            if name.starts_with('_') {
                continue;
            }
            if files.contains(&format!("{name}.en.txt")) {
                names.insert(name.to_string());
            } else {
                errors.push(error(&dir.join(f), format!("template `{name}` has no English version ({name}.en.txt)")));
            }
        }
    }
    names
}

fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> =
        std::fs::read_dir(dir).map(|rd| rd.filter_map(|e| e.ok()).map(|e| e.path()).collect()).unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"));
    files.sort();
    files
}

/// Loads and validates the whole folder; returns every error found in any file.
pub fn load_definitions(workflows: &Path, templates: &Path) -> Result<Definitions, Vec<DefinitionError>> {
    let mut errors = Vec::new();
    let names = template_names(templates, &mut errors);
    let jpath = workflows.join("jurisdictions.yaml");
    let jurisdictions = match std::fs::read_to_string(&jpath) {
        Ok(s) => Jurisdictions::parse(&s).map_err(|e| errors.push(error(&jpath, e))).ok(),
        Err(e) => {
            errors.push(error(&jpath, format!("cannot read: {e}")));
            None
        }
    };
    let mut sources = Vec::new();
    for p in yaml_files(workflows) {
        if p.file_name().is_some_and(|n| DATA_FILES.iter().any(|d| n == *d)) {
            continue;
        }
        let stem = p.file_stem().map(|s| s.to_string_lossy().to_string());
        match std::fs::read_to_string(&p) {
            Ok(contents) => sources.push(SourceFile { path: p.display().to_string(), contents, expected_key: stem }),
            Err(e) => errors.push(error(&p, format!("cannot read: {e}"))),
        }
    }
    for p in yaml_files(&workflows.join("versions")) {
        // Older versions are named `<key>.v<N>.yaml`.
        let stem = p.file_stem().map(|s| s.to_string_lossy().to_string()).unwrap_or_default();
        let key = stem.rsplit_once(".v").map(|(k, _)| k.to_string());
        if key.is_none() {
            errors.push(error(&p, "an older version must be named <key>.v<N>.yaml"));
        }
        match std::fs::read_to_string(&p) {
            Ok(contents) => sources.push(SourceFile { path: p.display().to_string(), contents, expected_key: key }),
            Err(e) => errors.push(error(&p, format!("cannot read: {e}"))),
        }
    }
    let bpath = workflows.join("budgets.yaml");
    let budgets = match std::fs::read_to_string(&bpath) {
        Ok(text) => parse_budgets(&text).unwrap_or_else(|e| {
            errors.push(error(&bpath, e));
            Vec::new()
        }),
        Err(_) => Vec::new(),
    };
    let budget_keys: HashSet<String> = budgets.iter().map(|b| b.key.clone()).collect();
    let ppath = workflows.join("programme.yaml");
    let programme = match std::fs::read_to_string(&ppath) {
        Ok(text) => Programme::parse(&text).map_err(|e| errors.push(error(&ppath, e))).ok(),
        Err(_) => None,
    };
    let engine = ExprEngine::new();
    let catalogue = match Catalogue::build(&sources, &engine, &names, &budget_keys) {
        Ok(c) => Some(c),
        Err(mut e) => {
            errors.append(&mut e);
            None
        }
    };
    let mut calendar = Calendar::weekdays_only();
    for p in yaml_files(&workflows.join("calendar")) {
        match std::fs::read_to_string(&p).map_err(|e| e.to_string()).and_then(|s| calendar.add_year_yaml(&s)) {
            Ok(()) => {}
            Err(e) => errors.push(error(&p, e)),
        }
    }
    let mut warnings = Vec::new();
    let today = chrono::Utc::now().with_timezone(&crate::domain::calendar::china_offset()).date_naive();
    match calendar.last_year() {
        None => warnings.push(
            "no holiday calendar data in workflows/calendar/: working days are counted Monday-Friday".to_string(),
        ),
        Some(y) => {
            let end = chrono::NaiveDate::from_ymd_opt(y, 12, 31).unwrap_or(today);
            if (end - today).num_days() <= CALENDAR_WARNING_DAYS {
                warnings.push(format!(
                    "the holiday calendar data ends on {end}: add workflows/calendar/{}.yaml from the State Council notice; until then later working days are counted Monday-Friday and deadlines are marked estimated",
                    y + 1
                ));
            }
        }
    }
    match (catalogue, jurisdictions) {
        (Some(catalogue), Some(jurisdictions)) if errors.is_empty() => {
            if let Some(p) = &programme {
                check_programme(p, &catalogue, &budget_keys, &ppath, &mut errors);
            }
            if !errors.is_empty() {
                return Err(errors);
            }
            Ok(Definitions {
                catalogue,
                jurisdictions,
                calendar,
                budgets,
                programme,
                templates_dir: templates.to_path_buf(),
                warnings,
            })
        }
        _ => Err(errors),
    }
}

/// The programme file must name workflows, states and budgets that exist, with expressions that parse.
fn check_programme(
    p: &Programme,
    cat: &Catalogue,
    budgets: &HashSet<String>,
    path: &Path,
    errors: &mut Vec<DefinitionError>,
) {
    let engine = ExprEngine::new();
    if let Some(b) = &p.reward_budget
        && !budgets.contains(b)
    {
        errors.push(error(path, format!("reward_budget `{b}` is not in budgets.yaml")));
    }
    for a in &p.averages {
        match cat.latest(&a.workflow) {
            None => errors.push(error(path, format!("average `{}` names unknown workflow `{}`", a.key, a.workflow))),
            Some(def) => {
                for s in &a.states {
                    if def.state(s).is_none() {
                        errors.push(error(
                            path,
                            format!("average `{}`: workflow `{}` has no state `{s}`", a.key, a.workflow),
                        ));
                    }
                }
                let names = crate::domain::expr::Names {
                    form_fields: def.form().fields.iter().map(|f| f.key.clone()).collect(),
                    ..Default::default()
                };
                if let Err(e) = engine.check(&a.value, &names) {
                    errors.push(error(path, format!("average `{}`: {e}", a.key)));
                }
            }
        }
    }
    for r in &p.renewals {
        match cat.latest(&r.workflow) {
            None => errors
                .push(error(path, format!("renewal of `{}` names unknown workflow `{}`", r.certification, r.workflow))),
            Some(def) => {
                for k in r.data.keys() {
                    if def.form().field(k).is_none() {
                        errors.push(error(
                            path,
                            format!("renewal of `{}`: workflow `{}` has no field `{k}`", r.certification, r.workflow),
                        ));
                    }
                }
            }
        }
    }
}
