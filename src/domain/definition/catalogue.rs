//! The catalogue: every version of every workflow, checked as a whole (a `start` effect must
//! name a workflow that exists, with fields its form has).

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use super::validate::{Context, parse_definition};
use super::{DefinitionError, WorkflowDefinition};
use crate::domain::expr::ExprEngine;

/// One definition file's text, as read by the caller.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// The path shown in error messages.
    pub path: String,
    pub contents: String,
    /// The key the file name implies (`workflows/<key>.yaml`), if it must match.
    pub expected_key: Option<String>,
}

/// All loaded definitions, by key and version.
#[derive(Debug, Clone, Default)]
pub struct Catalogue {
    defs: BTreeMap<String, BTreeMap<u32, Arc<WorkflowDefinition>>>,
}

impl Catalogue {
    /// Validates every file and the links between them; returns every error found.
    pub fn build(
        files: &[SourceFile],
        engine: &ExprEngine,
        templates: &HashSet<String>,
        budgets: &HashSet<String>,
    ) -> Result<Catalogue, Vec<DefinitionError>> {
        let mut errors = Vec::new();
        let mut cat = Catalogue::default();
        for f in files {
            let cx = Context { engine, templates, expected_key: f.expected_key.as_deref(), budgets };
            match parse_definition(&f.path, &f.contents, &cx) {
                Ok(def) => {
                    let versions = cat.defs.entry(def.key().to_string()).or_default();
                    if let Some(other) = versions.get(&def.version()) {
                        errors.push(DefinitionError {
                            file: f.path.clone(),
                            line: 1,
                            column: 1,
                            message: format!(
                                "version {} of `{}` is also defined in {}",
                                def.version(),
                                def.key(),
                                other.file()
                            ),
                        });
                    } else {
                        versions.insert(def.version(), Arc::new(def));
                    }
                }
                Err(mut e) => errors.append(&mut e),
            }
        }
        for def in cat.all() {
            for (child, line, column, _state, keys) in def.child_starts() {
                let at = |message: String| DefinitionError {
                    file: def.file().to_string(),
                    line: *line,
                    column: *column,
                    message,
                };
                match cat.latest(child) {
                    None => errors.push(at(format!("start names unknown workflow `{child}`"))),
                    Some(c) => {
                        for k in keys {
                            if c.form().field(k).is_none() {
                                errors
                                    .push(at(format!("start gives `{k}`, which workflow `{child}` has no field for")));
                            }
                        }
                    }
                }
            }
        }
        if errors.is_empty() { Ok(cat) } else { Err(errors) }
    }

    /// The newest version of a workflow: the one new applications use.
    pub fn latest(&self, key: &str) -> Option<&Arc<WorkflowDefinition>> {
        self.defs.get(key).and_then(|v| v.values().next_back())
    }

    /// A given version, for applications that started on it.
    pub fn get(&self, key: &str, version: u32) -> Option<&Arc<WorkflowDefinition>> {
        self.defs.get(key).and_then(|v| v.get(&version))
    }

    /// The newest version of each workflow, by key.
    pub fn latest_all(&self) -> impl Iterator<Item = &Arc<WorkflowDefinition>> {
        self.defs.values().filter_map(|v| v.values().next_back())
    }

    /// Every version of every workflow.
    pub fn all(&self) -> impl Iterator<Item = &Arc<WorkflowDefinition>> {
        self.defs.values().flat_map(|v| v.values())
    }
}
