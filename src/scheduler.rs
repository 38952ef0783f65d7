//! The scheduler: one tokio-cron-scheduler job per period. It only triggers work; what is due
//! lives in the database, so nothing is lost when the process is down, and a restarted server
//! fires what fell due meanwhile on its first tick.

use std::time::Duration;

use tokio_cron_scheduler::{Job, JobScheduler};

use crate::engine::Engine;

/// A six-field cron expression for a period (seconds resolution).
pub fn cron_for(tick: Duration) -> String {
    let secs = tick.as_secs().max(1);
    if secs < 60 { format!("*/{secs} * * * * *") } else { format!("0 */{} * * * *", (secs / 60).min(59)) }
}

/// How often certifications are checked for expiry and expiry reminders.
const CERTIFICATION_SWEEP_EVERY: Duration = Duration::from_secs(3600);

/// Starts the jobs. Order inside a tick: timers first (they may queue mail), then certifications (hourly), then mail.
pub async fn start(engine: Engine, tick: Duration) -> anyhow::Result<JobScheduler> {
    let sched = JobScheduler::new().await?;
    let running = std::sync::Arc::new(tokio::sync::Mutex::new(()));
    let last_certification_sweep = std::sync::Arc::new(tokio::sync::Mutex::new(None::<std::time::Instant>));
    let job = Job::new_async(cron_for(tick).as_str(), move |_id, _l| {
        let engine = engine.clone();
        let running = running.clone();
        let last = last_certification_sweep.clone();
        Box::pin(async move {
            // Skip a tick while the previous one still runs.
            let Ok(_guard) = running.try_lock() else { return };
            if let Err(e) = engine.sweep_timers().await {
                tracing::error!(error = %e, "timer sweep failed");
            }
            // Certifications expire by the day: an hourly sweep (and one at start) is plenty; the
            // same hour forgets old sign-in failures and expired idempotency keys.
            let mut last = last.lock().await;
            if last.is_none_or(|t| t.elapsed() >= CERTIFICATION_SWEEP_EVERY) {
                match engine.sweep_certifications().await {
                    Ok(_) => *last = Some(std::time::Instant::now()),
                    Err(e) => tracing::error!(error = %e, "certification sweep failed"),
                }
                if let Err(e) = engine.purge_sign_in_failures().await {
                    tracing::error!(error = %e, "forgetting old sign-in failures failed");
                }
                if let Err(e) = engine.purge_idempotency_keys().await {
                    tracing::error!(error = %e, "forgetting expired idempotency keys failed");
                }
            }
            if let Err(e) = engine.deliver_mail().await {
                tracing::error!(error = %e, "mail delivery failed");
            }
        })
    })?;
    sched.add(job).await?;
    sched.start().await?;
    Ok(sched)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_become_cron_expressions() {
        assert_eq!(cron_for(Duration::from_secs(1)), "*/1 * * * * *");
        assert_eq!(cron_for(Duration::from_millis(200)), "*/1 * * * * *");
        assert_eq!(cron_for(Duration::from_secs(120)), "0 */2 * * * *");
    }
}
