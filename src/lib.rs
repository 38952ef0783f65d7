//! certflow: a declarative workflow and approval engine for government certification and
//! subsidy programmes.
//!
//! # Layout (reading order)
//! Imports run one way: [`http`] → [`engine`] → ([`domain`], [`storage`]); nothing back (CI
//! checks it).
//! - [`domain`]: pure rules — definitions, forms, expressions, scoring, durations, calendar,
//!   who may write which field, throttles, and [`domain::decision`], the decision of an action
//!   (snapshot + request → decision or refusal).
//! - [`draw`]: the workflow diagram and the charts as SVG, from the pure definitions.
//! - [`storage`]: every query, one module per aggregate, over the sea-orm entities.
//! - [`engine`]: use cases, each load → decide → write in one transaction (`act.rs` takes an
//!   action; `applications.rs` creates, edits, views and lists; timers, mail, money,
//!   certifications, accounts and sign-in beside them). Knows no web framework.
//! - [`error`]: the one error type and its problem document.
//! - [`http`]: the route table, thin JSON handlers, the pages, errors as responses.
//! - [`auth`], [`config`], [`scheduler`], [`startup`]: passwords and tokens, settings, the
//!   periodic sweeps, wiring; [`demo`] and [`bench`] for `serve --demo` and `certflow bench`.
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
