//! Certification lifetime: `valid_for` sets `valid_until`; a periodic sweep expires what ran out
//! and reminds holders 90 and 30 days before (each reminder once, however many instances run
//! the sweep); a renewal extends a certification with the `extend` effect.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{DatabaseTransaction, TransactionTrait};
use serde_json::json;

use super::Engine;
use crate::domain::access::Caller;
use crate::domain::definition::Target;
use crate::domain::duration::Span;
use crate::error::AppError;
use crate::storage::certifications as store;
use crate::storage::entities::{application, certification, enterprise};

/// Reminders before a certification expires: days before, and the notice's name.
const EXPIRY_NOTICES: [(i64, &str); 2] = [(30, "expiring-30"), (90, "expiring-90")];

impl Engine {
    /// The `grant` effect: a new active certification (an active one of the same kind is
    /// superseded), valid until `until` (for ever when none).
    pub(super) async fn grant_certification(
        &self,
        txn: &DatabaseTransaction,
        ent: &enterprise::Model,
        app: &application::Model,
        kind: &str,
        until: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<(), AppError> {
        store::grant(txn, &ent.id, kind, &app.id, until, now).await?;
        Ok(())
    }

    /// The `extend` effect: the enterprise's certification of `kind` runs on by `span`
    /// from its current end (or from now if it already ran out); without one, it is granted.
    pub(super) async fn extend_certification(
        &self,
        txn: &DatabaseTransaction,
        ent: &enterprise::Model,
        app: &application::Model,
        kind: &str,
        span: Option<Span>,
        now: DateTime<Utc>,
    ) -> Result<(), AppError> {
        let current = store::latest_extendable(txn, &ent.id, kind).await?;
        let Some(cert) = current else {
            let until = span.map(|s| s.after(now, &self.defs.calendar).at);
            return self.grant_certification(txn, ent, app, kind, until, now).await;
        };
        let base = cert.valid_until.map_or(now, |v| v.max(now));
        let until = span.map(|s| s.after(base, &self.defs.calendar).at);
        // The next expiry is reminded of afresh.
        store::extend(txn, &cert.id, until).await?;
        Ok(())
    }

    /// Expires certifications past their validity and sends the expiry reminders that are due.
    /// Returns (expired, reminders sent).
    pub async fn sweep_certifications(&self) -> Result<(u64, usize), AppError> {
        let now = self.now();
        let expired = store::expire(&self.db, now).await?;
        let horizon = EXPIRY_NOTICES.iter().map(|(d, _)| *d).max().unwrap_or(0);
        let soon = store::ending(&self.db, now, now + Duration::days(horizon)).await?;
        let mut sent = 0;
        for cert in soon {
            let Some(until) = cert.valid_until else { continue };
            // The nearest threshold reached is sent; the farther ones are then moot.
            let Some(index) = EXPIRY_NOTICES.iter().position(|(days, _)| until <= now + Duration::days(*days)) else {
                continue;
            };
            // One certification that cannot be reminded of (e.g. its application is gone) must
            // not hold up the others.
            match self.remind_expiry(&cert, index, now).await {
                Ok(true) => sent += 1,
                Ok(false) => {}
                Err(e) => tracing::warn!(certification = %cert.id, error = %e, "expiry reminder failed"),
            }
        }
        Ok((expired, sent))
    }

    /// Records the notice and queues the mail, in one transaction;
    /// false if another instance got there first.
    async fn remind_expiry(
        &self,
        cert: &certification::Model,
        index: usize,
        now: DateTime<Utc>,
    ) -> Result<bool, AppError> {
        let txn = self.db.begin().await?;
        for (_, notice) in &EXPIRY_NOTICES[index..=index] {
            let inserted = store::record_notice(&txn, &cert.id, notice, now).await;
            match inserted {
                Ok(_) => {}
                Err(e) if crate::storage::is_unique_violation(&e) => {
                    txn.rollback().await?;
                    return Ok(false);
                }
                Err(e) => return Err(e.into()),
            }
        }
        let app = self.find_app(&txn, &cert.application_id).await?;
        let def = self.def_of(&app)?;
        let ent = self.find_enterprise(&txn, &cert.enterprise_id).await?;
        let context = json!({"kind": cert.kind, "valid_until": cert.valid_until.map(|v| v.with_timezone(&crate::domain::calendar::china_offset()).to_rfc3339())});
        self.queue_mail_with(
            &txn,
            &def,
            &app,
            &ent,
            &Target::Applicant,
            "certification-expiring",
            Caller::System,
            None,
            now,
            context.clone(),
        )
        .await?;
        // The first reminder of a cycle also opens the renewal the programme names, if any.
        let first_notice = index + 1 == EXPIRY_NOTICES.len();
        let renewal =
            self.defs.programme.as_ref().and_then(|p| p.renewals.iter().find(|r| r.certification == cert.kind));
        if let (true, Some(renewal)) = (first_notice, renewal) {
            let ctx = minijinja::Value::from(minijinja::value::Serde(json!({"certification": context})));
            let mut data = serde_json::Map::new();
            for (k, e) in &renewal.data {
                let v = self
                    .expr
                    .eval(e, &ctx)
                    .map_err(|m| AppError::Internal(anyhow::anyhow!("renewal data `{k}`: {m}")))?;
                data.insert(k.clone(), serde_json::to_value(&v).unwrap_or(serde_json::Value::Null));
            }
            let renewal_def = self
                .defs
                .catalogue
                .latest(&renewal.workflow)
                .cloned()
                .ok_or_else(|| AppError::Internal(anyhow::anyhow!("workflow {} vanished", renewal.workflow)))?;
            let mut world = super::context::load_world(&txn, &ent.id, now, &renewal_def).await?;
            self.create_in_txn(&txn, &renewal_def, &ent, data, Caller::System, None, &mut world, now, 1).await?;
        }
        txn.commit().await?;
        Ok(true)
    }
}
