//! certflow: a declarative workflow and approval engine for government certification and
//! subsidy programmes.
//!
//! # Layout (reading order)
//! - [`domain`]: pure rules — definitions, forms, expressions, scoring, durations, calendar.
#![recursion_limit = "256"]

pub mod auth;
pub mod bench;
pub mod config;
pub mod demo;
pub mod domain;
pub mod draw;
pub mod engine;
pub mod error;
pub mod http;
pub mod scheduler;
pub mod startup;
pub mod storage;
