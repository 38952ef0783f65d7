#![allow(clippy::unwrap_used, clippy::expect_used, reason = "a test fails loudly on the first surprise")]
//! Integration tests through HTTP, each on a fresh database: SQLite always, PostgreSQL when
//! `CERTFLOW_TEST_POSTGRES_URL` is set (otherwise those runs are listed as ignored).

mod helpers;

mod access;
mod accounts;
mod attachments;
mod audit;
mod browser;
mod catalogue_green_design;
mod catalogue_national;
mod catalogue_products;
mod catalogue_supervision;
mod catalogue_tiers;
mod certifications;
mod clocks;
mod concurrency;
mod demo;
mod editable;
mod errors;
mod hardening;
mod idempotency;
mod lifecycle;
mod mail;
mod money;
mod pages;
mod pages_admin;
mod pages_charts;
mod pages_enterprise;
mod pages_staff;
mod panel_and_timers;
mod programme;
mod smtp_sink;
mod versions;
