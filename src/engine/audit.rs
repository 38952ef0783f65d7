//! The audit check: every application's history must be an unbroken hash chain whose last
//! hash is the one the application row remembers.

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::Serialize;

use super::Engine;
use super::transition::entry_hash;
use crate::error::AppError;
use crate::storage::entities::{application, history};

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
    pub async fn metrics_text(&self) -> Result<String, AppError> {
        use sea_orm::{FromQueryResult, QuerySelect};
        use std::fmt::Write;
        #[derive(FromQueryResult)]
        struct Row {
            a: String,
            b: String,
            n: i64,
        }
        let mut out = String::new();
        let apps = application::Entity::find()
            .select_only()
            .column_as(application::Column::Workflow, "a")
            .column_as(application::Column::State, "b")
            .column_as(application::Column::Id.count(), "n")
            .group_by(application::Column::Workflow)
            .group_by(application::Column::State)
            .into_model::<Row>()
            .all(&self.db)
            .await?;
        out.push_str("# TYPE certflow_applications gauge\n");
        for r in apps {
            let _ = writeln!(out, "certflow_applications{{workflow=\"{}\",state=\"{}\"}} {}", r.a, r.b, r.n);
        }
        use crate::storage::entities::{outbox, timer};
        let timers = timer::Entity::find()
            .select_only()
            .column_as(timer::Column::Kind, "a")
            .column_as(timer::Column::Status, "b")
            .column_as(timer::Column::Id.count(), "n")
            .group_by(timer::Column::Kind)
            .group_by(timer::Column::Status)
            .into_model::<Row>()
            .all(&self.db)
            .await?;
        out.push_str("# TYPE certflow_timers gauge\n");
        for r in timers {
            let _ = writeln!(out, "certflow_timers{{kind=\"{}\",status=\"{}\"}} {}", r.a, r.b, r.n);
        }
        let mail = outbox::Entity::find()
            .select_only()
            .column_as(outbox::Column::Template, "a")
            .column_as(outbox::Column::Status, "b")
            .column_as(outbox::Column::Id.count(), "n")
            .group_by(outbox::Column::Template)
            .group_by(outbox::Column::Status)
            .into_model::<Row>()
            .all(&self.db)
            .await?;
        out.push_str("# TYPE certflow_mail gauge\n");
        for r in mail {
            let _ = writeln!(out, "certflow_mail{{template=\"{}\",status=\"{}\"}} {}", r.a, r.b, r.n);
        }
        Ok(out)
    }
}
