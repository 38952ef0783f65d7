//! Persistence: the only module that speaks sea-orm. Entities mirror `migrations/`; the query
//! modules beside them hold the statements of one aggregate each.

pub mod accounts;
pub mod applications;
pub mod certifications;
pub mod entities;
pub mod idempotency;
pub mod money;
pub mod outbox;
pub mod throttle;
pub mod timers;

/// Whether a statement failed on a UNIQUE constraint (a row that must exist once already does).
pub fn is_unique_violation(e: &sea_orm::DbErr) -> bool {
    matches!(e.sql_err(), Some(sea_orm::SqlErr::UniqueConstraintViolation(_)))
}
