//! The timer sweep: claims due timers (leases, and `FOR UPDATE SKIP LOCKED` on PostgreSQL) and
//! fires each exactly once: a timeout takes its action as the system, a reminder queues mail.
//! A timer whose state visit has ended is stale and is closed without effect, which also makes
//! a re-fire after a crash harmless.

use sea_orm::TransactionTrait;

use super::Engine;
use super::applications::ActionRequest;
use crate::domain::access::Caller;
use crate::domain::definition::Target;
use crate::error::AppError;
use crate::storage::entities::timer;
use crate::storage::timers as store;

/// Timers claimed per round.
const BATCH: u64 = 200;

impl Engine {
    async fn claim_timers(&self) -> Result<Vec<timer::Model>, AppError> {
        let now = self.now();
        Ok(store::claim(&self.db, now, now + self.lease, BATCH).await?)
    }

    /// Closes a timer this process claimed, only while the claim is still its own: a process
    /// that overran its lease must not overwrite what the process that took over decided.
    async fn close_timer(&self, tm: &timer::Model, status: &str) -> Result<(), AppError> {
        store::close(&self.db, tm, status).await?;
        Ok(())
    }

    /// Fires every due timer; returns how many fired with effect.
    pub async fn sweep_timers(&self) -> Result<usize, AppError> {
        let mut fired = 0;
        loop {
            let claimed = self.claim_timers().await?;
            if claimed.is_empty() {
                return Ok(fired);
            }
            for tm in claimed {
                match self.fire(&tm).await {
                    Ok(true) => {
                        fired += 1;
                        self.close_timer(&tm, "done").await?;
                    }
                    Ok(false) => self.close_timer(&tm, "stale").await?,
                    Err(AppError::Conflict(_)) => {
                        // Someone changed the application meanwhile; try again next round.
                        self.close_timer(&tm, "pending").await?;
                    }
                    Err(e) => {
                        tracing::error!(timer = tm.id, error = %e, "timer failed");
                        self.close_timer(&tm, "failed").await?;
                    }
                }
            }
        }
    }

    async fn fire(&self, tm: &timer::Model) -> Result<bool, AppError> {
        let app = match self.find_app(&self.db, &tm.application_id).await {
            Ok(a) => a,
            Err(AppError::NotFound) => return Ok(false),
            Err(e) => return Err(e),
        };
        if app.visit != tm.visit || app.is_final {
            return Ok(false);
        }
        match tm.kind.as_str() {
            "timeout" => {
                let action = tm.action.clone().unwrap_or_default();
                self.take_action(Caller::System, &app.id, &action, ActionRequest::default(), Some(app.version)).await?;
                Ok(true)
            }
            // A reminder found only after its deadline passed (the server was down) has nothing
            // left to remind of: the timeout decides now.
            "remind" if app.due_at.is_some_and(|d| d <= self.now()) => Ok(false),
            "remind" | "notify" => {
                let def = self.def_of(&app)?;
                let ent = self.find_enterprise(&self.db, &app.enterprise_id).await?;
                let target = match tm.target.as_deref().unwrap_or("assignees") {
                    "applicant" => Target::Applicant,
                    "actor" => Target::Actor,
                    other => {
                        other.strip_prefix("role:").and_then(|r| r.parse().ok()).map_or(Target::Assignees, Target::Role)
                    }
                };
                let txn = self.db.begin().await?;
                let now = self.now();
                self.queue_mail(
                    &txn,
                    &def,
                    &app,
                    &ent,
                    &target,
                    tm.template.as_deref().unwrap_or("deadline-reminder"),
                    Caller::System,
                    None,
                    now,
                )
                .await?;
                // Closed in the same transaction as the mail it queued, and only while the claim
                // is still this process's: a crash or an overrun lease cannot send it twice.
                if !store::close(&txn, tm, "done").await? {
                    txn.rollback().await?;
                    return Ok(false);
                }
                txn.commit().await?;
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}
