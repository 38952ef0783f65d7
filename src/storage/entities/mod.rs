//! sea-orm entities, one module per table created by the `migration` crate.

pub mod application;
pub mod attachment;
pub mod award_claim;
pub mod budget;
pub mod budget_entry;
pub mod certification;
pub mod certification_notice;
pub mod enterprise;
pub mod history;
pub mod idempotency_key;
pub mod kv_setting;
pub mod outbox;
pub mod sign_in_throttle;
pub mod timer;
pub mod user;
pub mod user_role;
pub mod vote;
