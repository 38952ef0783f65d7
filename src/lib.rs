//! certflow: a declarative workflow and approval engine for government certification and
//! subsidy programmes.
//!
//! # Layout (reading order)
//! - [`domain`]: pure rules — definitions, forms, expressions, scoring, durations, calendar.
pub mod auth;
pub mod domain;
pub mod engine;
pub mod error;
pub mod storage;
