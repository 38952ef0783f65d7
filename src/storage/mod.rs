//! Persistence: the only module that speaks sea-orm. Entities mirror `migrations/`; the query
//! modules beside them hold the statements of one aggregate each.

pub mod entities;
pub mod throttle;
