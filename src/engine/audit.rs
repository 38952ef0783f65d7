//! The audit check: every application's history must be an unbroken hash chain whose last
//! hash is the one the application row remembers.

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::Serialize;

use super::Engine;
use super::transition::entry_hash;
use crate::error::AppError;
use crate::storage::entities::{application, history};

/// A count of rows sharing two keys.
#[derive(Debug, Clone, Serialize, sea_orm::FromQueryResult)]
pub struct Tally {
    pub a: String,
    pub b: String,
    pub n: i64,
}

/// What `/metrics` reports.
#[derive(Debug, Clone)]
pub struct Gauges {
    pub applications: Vec<Tally>,
    pub timers: Vec<Tally>,
    pub mail: Vec<Tally>,
}

/// The result of `certflow audit verify` and `GET /api/audit/verify`.
#[derive(Debug, Clone, Serialize)]
pub struct AuditReport {
    pub ok: bool,
    pub entries: u64,
    pub applications: u64,
    pub first_bad: Option<BadEntry>,
}

/// The first entry found broken.
#[derive(Debug, Clone, Serialize)]
pub struct BadEntry {
    pub application_id: String,
    pub number: String,
    pub seq: i32,
    pub reason: String,
}

impl Engine {
    /// Walks every chain and reports the first break.
    pub async fn verify_audit(&self) -> Result<AuditReport, AppError> {
        let apps = application::Entity::find().order_by_asc(application::Column::CreatedAt).all(&self.db).await?;
        let mut entries = 0;
        for app in &apps {
            let hist = history::Entity::find()
                .filter(history::Column::ApplicationId.eq(&app.id))
                .order_by_asc(history::Column::Seq)
                .all(&self.db)
                .await?;
            let bad = |entries: u64, seq: i32, reason: String| AuditReport {
                ok: false,
                entries,
                applications: apps.len() as u64,
                first_bad: Some(BadEntry { application_id: app.id.clone(), number: app.number.clone(), seq, reason }),
            };
            let mut prev = String::new();
            for (i, h) in hist.iter().enumerate() {
                entries += 1;
                let expected_seq = i32::try_from(i + 1).unwrap_or(i32::MAX);
                if h.seq != expected_seq {
                    return Ok(bad(entries, expected_seq, format!("entry {expected_seq} is missing")));
                }
                if h.prev_hash != prev {
                    return Ok(bad(entries, h.seq, "the link to the previous entry is broken".into()));
                }
                let hash = entry_hash(
                    &h.prev_hash,
                    &h.application_id,
                    h.seq,
                    &h.action,
                    h.from_state.as_deref(),
                    &h.to_state,
                    h.actor_id.as_deref(),
                    &h.actor_name,
                    h.comment.as_deref(),
                    h.data.as_deref(),
                    h.at,
                );
                if hash != h.hash {
                    return Ok(bad(entries, h.seq, "the entry was altered after it was written".into()));
                }
                prev = h.hash.clone();
            }
            if app.head_hash != prev {
                let seq = hist.last().map_or(0, |h| h.seq);
                return Ok(bad(entries, seq, "entries after this one were removed".into()));
            }
        }
        Ok(AuditReport { ok: true, entries, applications: apps.len() as u64, first_bad: None })
    }
}

impl Engine {
    /// Prometheus text: applications by workflow and state, timers and mail by status.
    /// Rows counted by two keys: applications by workflow and state, timers by kind and status,
    /// mail by template and status.
    pub async fn gauges(&self) -> Result<Gauges, AppError> {
        use crate::storage::entities::{outbox, timer};
        use sea_orm::QuerySelect;
        let applications = application::Entity::find()
            .select_only()
            .column_as(application::Column::Workflow, "a")
            .column_as(application::Column::State, "b")
            .column_as(application::Column::Id.count(), "n")
            .group_by(application::Column::Workflow)
            .group_by(application::Column::State)
            .into_model::<Tally>()
            .all(&self.db)
            .await?;
        let timers = timer::Entity::find()
            .select_only()
            .column_as(timer::Column::Kind, "a")
            .column_as(timer::Column::Status, "b")
            .column_as(timer::Column::Id.count(), "n")
            .group_by(timer::Column::Kind)
            .group_by(timer::Column::Status)
            .into_model::<Tally>()
            .all(&self.db)
            .await?;
        let mail = outbox::Entity::find()
            .select_only()
            .column_as(outbox::Column::Template, "a")
            .column_as(outbox::Column::Status, "b")
            .column_as(outbox::Column::Id.count(), "n")
            .group_by(outbox::Column::Template)
            .group_by(outbox::Column::Status)
            .into_model::<Tally>()
            .all(&self.db)
            .await?;
        Ok(Gauges { applications, timers, mail })
    }

    /// `GET /metrics`: the gauges in the Prometheus text format.
    pub async fn metrics_text(&self) -> Result<String, AppError> {
        use std::fmt::Write;
        let g = self.gauges().await?;
        let mut out = String::new();
        for (name, labels, rows) in [
            ("certflow_applications", ("workflow", "state"), &g.applications),
            ("certflow_timers", ("kind", "status"), &g.timers),
            ("certflow_mail", ("template", "status"), &g.mail),
        ] {
            let _ = writeln!(out, "# TYPE {name} gauge");
            for r in rows {
                let _ = writeln!(out, "{name}{{{}=\"{}\",{}=\"{}\"}} {}", labels.0, r.a, labels.1, r.b, r.n);
            }
        }
        Ok(out)
    }
}
