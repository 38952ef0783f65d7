//! Persistence: the only module that speaks sea-orm. Entities mirror `migrations/`.

pub mod entities;
