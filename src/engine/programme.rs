//! The programme's views: the dashboard (the plan's targets against live counts, rewards paid
//! and budget left, the averages the plan sets) and the banks' whitelist.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::Datelike;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::Serialize;
use serde_json::{Map, Value, json};

use super::Engine;
use super::context::is_active;
use crate::domain::access::Actor;
use crate::domain::budget::fen_to_yuan;
use crate::domain::calendar::china_offset;
use crate::domain::expr::{Scope, World};
use crate::domain::role::Role;
use crate::domain::scoring::number;
use crate::error::{AppError, t};
use crate::storage::entities::{application, budget, enterprise};

/// One line of the banks' whitelist.
#[derive(Debug, Clone, Serialize)]
pub struct WhitelistEntry {
    pub enterprise_id: String,
    pub uscc: String,
    pub name: String,
    pub district: String,
    pub certifications: Vec<WhitelistCertification>,
}

/// A certification that puts an enterprise on the whitelist.
#[derive(Debug, Clone, Serialize)]
pub struct WhitelistCertification {
    pub kind: String,
    pub valid_until: Option<chrono::DateTime<chrono::Utc>>,
}

/// A CSV cell, quoted, with a leading `'` where a spreadsheet would read a formula.
fn csv_cell(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{s}") } else { s.to_string() };
    format!("\"{}\"", s.replace('"', "\"\""))
}

impl Engine {
    fn programme(&self) -> Result<&crate::domain::programme::Programme, AppError> {
        self.defs
            .programme
            .as_ref()
            .ok_or_else(|| AppError::Unavailable(t("未配置 programme.yaml", "no programme.yaml is configured")))
    }

    /// `GET /api/dashboard`: staff only.
    pub async fn dashboard(&self, actor: &Actor) -> Result<Value, AppError> {
        let staff = actor.roles.iter().any(|(r, _)| !matches!(r, Role::Enterprise | Role::Bank));
        if !staff {
            return Err(AppError::Forbidden(t(
                "仅工作人员可查看计划看板",
                "only staff may see the programme dashboard",
            )));
        }
        let p = self.programme()?;
        let now = self.now();
        let certs = crate::storage::certifications::active(&self.db, None).await?;
        let mut holders: HashMap<&str, HashSet<&str>> = HashMap::new();
        for c in certs.iter().filter(|c| is_active(c, now)) {
            holders.entry(c.kind.as_str()).or_default().insert(c.enterprise_id.as_str());
        }
        let targets: Vec<Value> = p
            .targets
            .iter()
            .map(|tg| {
                let current = holders.get(tg.certification.as_str()).map_or(0, HashSet::len);
                let percent =
                    if tg.target == 0 { 100.0 } else { (current as f64 * 100.0 / f64::from(tg.target)).min(100.0) };
                json!({"key": tg.key, "title": tg.title, "certification": tg.certification, "target": tg.target,
                       "current": current, "percent": number((percent * 10.0).round() / 10.0)})
            })
            .collect();
        let mut averages = Vec::new();
        for a in &p.averages {
            averages.push(self.average(a).await?);
        }
        let year = now.with_timezone(&china_offset()).year();
        let rewards = match &p.reward_budget {
            Some(key) => {
                let b = budget::Entity::find()
                    .filter(budget::Column::Key.eq(key))
                    .filter(budget::Column::Year.eq(year))
                    .one(&self.db)
                    .await?;
                b.map(|b| {
                    json!({"budget": key, "year": year, "total": fen_to_yuan(b.total_fen), "paid": fen_to_yuan(b.spent_fen),
                           "reserved": fen_to_yuan(b.reserved_fen), "left": fen_to_yuan(b.total_fen - b.reserved_fen - b.spent_fen)})
                })
            }
            None => None,
        };
        Ok(json!({"title": p.title, "generated_at": now, "targets": targets, "averages": averages, "rewards": rewards}))
    }

    /// The average of an expression over the latest application of each enterprise that ended
    /// in one of the average's states.
    async fn average(&self, a: &crate::domain::programme::Average) -> Result<Value, AppError> {
        let apps = application::Entity::find()
            .filter(application::Column::Workflow.eq(&a.workflow))
            .filter(application::Column::State.is_in(a.states.clone()))
            .order_by_desc(application::Column::UpdatedAt)
            .all(&self.db)
            .await?;
        let mut latest: BTreeMap<&str, &application::Model> = BTreeMap::new();
        for app in &apps {
            latest.entry(app.enterprise_id.as_str()).or_insert(app);
        }
        let mut values = Vec::new();
        for app in latest.values() {
            let Ok(def) = self.def_of(app) else { continue };
            let data: Map<String, Value> = serde_json::from_str(&app.data).unwrap_or_default();
            let scope = Scope { form: def.form().expression_values(&data), ..Scope::default() };
            if let Ok(Some(v)) = self.expr.eval_number(&a.value, &scope.to_value(&World::default()))
                && v.is_finite()
            {
                values.push(v);
            }
        }
        let avg = if values.is_empty() { None } else { Some(values.iter().sum::<f64>() / values.len() as f64) };
        Ok(json!({
            "key": a.key, "title": a.title, "workflow": a.workflow, "target": number(a.target), "unit": a.unit,
            "value": avg.map(|v| number((v * 100.0).round() / 100.0)), "enterprises": values.len(),
            "met": avg.is_some_and(|v| v >= a.target),
        }))
    }

    /// `GET /api/whitelist`: enterprises holding an active certification of a whitelisted kind
    /// (banks, admins, auditors).
    pub async fn whitelist(&self, actor: &Actor) -> Result<Vec<WhitelistEntry>, AppError> {
        if !(actor.has_role(Role::Bank) || actor.has_role(Role::Admin) || actor.has_role(Role::Auditor)) {
            return Err(AppError::Forbidden(t(
                "仅合作银行、管理员和审计员可查看白名单",
                "only banks, administrators and auditors may see the whitelist",
            )));
        }
        let p = self.programme()?;
        let now = self.now();
        let certs = crate::storage::certifications::active(&self.db, Some(p.whitelist.clone())).await?;
        let mut by_ent: BTreeMap<String, Vec<WhitelistCertification>> = BTreeMap::new();
        for c in certs.into_iter().filter(|c| is_active(c, now)) {
            by_ent
                .entry(c.enterprise_id.clone())
                .or_default()
                .push(WhitelistCertification { kind: c.kind, valid_until: c.valid_until });
        }
        let ents = enterprise::Entity::find()
            .filter(enterprise::Column::Id.is_in(by_ent.keys().cloned().collect::<Vec<_>>()))
            .all(&self.db)
            .await?;
        let mut out: Vec<WhitelistEntry> = ents
            .into_iter()
            .map(|e| WhitelistEntry {
                certifications: by_ent.remove(&e.id).unwrap_or_default(),
                enterprise_id: e.id,
                uscc: e.uscc,
                name: e.name,
                district: e.district,
            })
            .collect();
        out.sort_by(|a, b| a.uscc.cmp(&b.uscc));
        Ok(out)
    }

    /// The whitelist as CSV (UTF-8 with a byte-order mark, so spreadsheets read the Chinese names).
    pub async fn whitelist_csv(&self, actor: &Actor) -> Result<String, AppError> {
        let rows = self.whitelist(actor).await?;
        let mut out = String::from("\u{feff}uscc,name,district,certification,valid_until\r\n");
        for r in rows {
            for c in &r.certifications {
                let until = c
                    .valid_until
                    .map(|v| v.with_timezone(&china_offset()).date_naive().to_string())
                    .unwrap_or_default();
                out.push_str(
                    &[csv_cell(&r.uscc), csv_cell(&r.name), csv_cell(&r.district), csv_cell(&c.kind), csv_cell(&until)]
                        .join(","),
                );
                out.push_str("\r\n");
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::csv_cell;

    #[test]
    fn csv_cells_are_quoted_and_formulas_defused() {
        assert_eq!(csv_cell("镇江\"示例\""), "\"镇江\"\"示例\"\"\"");
        assert_eq!(csv_cell("=HYPERLINK(1)"), "\"'=HYPERLINK(1)\"");
        assert_eq!(csv_cell("91321102MA1DX0001W"), "\"91321102MA1DX0001W\"");
    }
}
