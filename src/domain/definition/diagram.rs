//! Drawings of a workflow: Mermaid text, and an SVG laid out in layers from the initial state.

use std::collections::HashMap;
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

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
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

/// An SVG drawing: states in layers by distance from the initial state, arrows between them.
pub fn svg(def: &WorkflowDefinition, lang: Lang) -> String {
    let mut layer: HashMap<&str, usize> = HashMap::new();
    let mut queue = std::collections::VecDeque::from([(def.initial().name.as_str(), 0usize)]);
    while let Some((s, d)) = queue.pop_front() {
        if layer.contains_key(s) {
            continue;
        }
        layer.insert(s, d);
        if let Some(st) = def.state(s) {
            for a in st.actions.values() {
                queue.push_back((a.to.as_str(), d + 1));
            }
        }
    }
    let mut rows: Vec<Vec<&str>> = Vec::new();
    for st in def.states() {
        let d = layer.get(st.name.as_str()).copied().unwrap_or(0);
        if rows.len() <= d {
            rows.resize(d + 1, Vec::new());
        }
        rows[d].push(&st.name);
    }
    let (bw, bh, gx, gy) = (180.0_f64, 54.0_f64, 40.0_f64, 90.0_f64);
    let widest = rows.iter().map(Vec::len).max().unwrap_or(1) as f64;
    let width = widest * (bw + gx) + gx;
    let height = rows.len() as f64 * (bh + gy) + gy;
    let mut pos: HashMap<&str, (f64, f64)> = HashMap::new();
    for (r, row) in rows.iter().enumerate() {
        let offset = (width - row.len() as f64 * (bw + gx) + gx) / 2.0;
        for (c, s) in row.iter().enumerate() {
            pos.insert(s, (offset + c as f64 * (bw + gx), gy / 2.0 + r as f64 * (bh + gy)));
        }
    }
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {width:.0} {height:.0}\" width=\"{width:.0}\" height=\"{height:.0}\" role=\"img\" aria-label=\"{}\" font-family=\"sans-serif\" font-size=\"12\">\n<title>{}</title>\n<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"8\" markerHeight=\"8\" orient=\"auto\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#444\"/></marker></defs>\n",
        esc(def.title().get(lang)),
        esc(def.title().get(lang))
    );
    for st in def.states() {
        let Some(&(x1, y1)) = pos.get(st.name.as_str()) else { continue };
        for a in st.actions.values() {
            let Some(&(x2, y2)) = pos.get(a.to.as_str()) else { continue };
            let (sx, sy) = (x1 + bw / 2.0, y1 + bh);
            let (ex, ey) = if y2 > y1 { (x2 + bw / 2.0, y2) } else { (x2 + bw, y2 + bh / 2.0) };
            let timed = st
                .timeout
                .as_ref()
                .filter(|t| t.action.as_deref() == Some(a.name.as_str()))
                .map(|t| format!(" ⏱ {}", timer(&t.after)))
                .unwrap_or_default();
            let dash = if a.by == By::System { " stroke-dasharray=\"4 3\"" } else { "" };
            let _ = writeln!(
                out,
                "<g class=\"transition\"><line x1=\"{sx:.0}\" y1=\"{sy:.0}\" x2=\"{ex:.0}\" y2=\"{ey:.0}\" stroke=\"#444\"{dash} marker-end=\"url(#arrow)\"/><text x=\"{:.0}\" y=\"{:.0}\" fill=\"#222\">{}</text></g>",
                (sx + ex) / 2.0 + 4.0,
                (sy + ey) / 2.0,
                esc(&format!(
                    "{} · {}{}{}",
                    a.name,
                    who(def, &st.name, a.by),
                    a.quorum.map(|q| format!(" ×{q}")).unwrap_or_default(),
                    timed
                ))
            );
        }
    }
    for st in def.states() {
        let Some(&(x, y)) = pos.get(st.name.as_str()) else { continue };
        let fill = if st.is_final {
            "#e6f4ea"
        } else if st.editable {
            "#fff8e1"
        } else {
            "#e8f0fe"
        };
        let stroke = if st.is_final { " stroke-width=\"3\"" } else { "" };
        let _ = writeln!(
            out,
            "<g class=\"state\" id=\"state-{}\"><rect x=\"{x:.0}\" y=\"{y:.0}\" width=\"{bw:.0}\" height=\"{bh:.0}\" rx=\"8\" fill=\"{fill}\" stroke=\"#333\"{stroke}/><text x=\"{:.0}\" y=\"{:.0}\" text-anchor=\"middle\" font-weight=\"bold\">{}</text><text x=\"{:.0}\" y=\"{:.0}\" text-anchor=\"middle\" fill=\"#555\">{}</text></g>",
            esc(&st.name),
            x + bw / 2.0,
            y + 22.0,
            esc(&st.label(lang)),
            x + bw / 2.0,
            y + 40.0,
            esc(&st
                .assignee
                .as_ref()
                .map_or_else(|| st.name.clone(), |a| format!("{} · {:?}", a.role, a.scope).to_lowercase()))
        );
    }
    out.push_str("</svg>\n");
    out
}
