//! A workflow as Mermaid text (the SVG drawing is `crate::draw::diagram`).

use std::fmt::Write;

use super::{By, DurationSpec, WorkflowDefinition};
use crate::domain::text::Lang;

fn who(def: &WorkflowDefinition, state: &str, by: By) -> String {
    match by {
        By::Applicant => "applicant".into(),
        By::System => "system".into(),
        By::Role(r) => r.to_string(),
        By::Assignee => def
            .state(state)
            .and_then(|s| s.assignee.as_ref())
            .map_or_else(|| "assignee".into(), |a| format!("{}/{:?}", a.role, a.scope).to_lowercase()),
    }
}

fn timer(spec: &DurationSpec) -> String {
    match spec {
        DurationSpec::Fixed(s) => {
            let mut parts = Vec::new();
            if s.months > 0 {
                parts.push(format!("{}mo", s.months));
            }
            if s.working_days > 0 {
                parts.push(format!("{}wd", s.working_days));
            }
            let secs = s.fixed.num_seconds();
            if secs > 0 {
                parts.push(if secs % 86_400 == 0 { format!("{}d", secs / 86_400) } else { format!("{secs}s") });
            }
            parts.join("+")
        }
        DurationSpec::Days(e) => format!("{{{e}}}d"),
        DurationSpec::WorkingDays(e) => format!("{{{e}}}wd"),
    }
}

/// Mermaid `stateDiagram-v2` text.
pub fn mermaid(def: &WorkflowDefinition, lang: Lang) -> String {
    let mut out = String::from("stateDiagram-v2\n");
    let _ = writeln!(out, "    [*] --> {}", def.initial().name);
    for st in def.states() {
        let _ = writeln!(out, "    {} : {}", st.name, st.label(lang).replace(':', " "));
        for a in st.actions.values() {
            let mut label = format!("{} ({})", a.name, who(def, &st.name, a.by));
            if let Some(q) = a.quorum {
                let _ = write!(label, " quorum {q}");
            }
            if st.timeout.as_ref().is_some_and(|t| t.action.as_deref() == Some(a.name.as_str())) {
                let _ = write!(label, " after {}", st.timeout.as_ref().map(|t| timer(&t.after)).unwrap_or_default());
            }
            let _ = writeln!(out, "    {} --> {} : {}", st.name, a.to, label.replace(':', " "));
        }
        if st.is_final {
            let _ = writeln!(out, "    {} --> [*]", st.name);
        }
    }
    out
}
