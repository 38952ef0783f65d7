//! The pure core: workflow definitions, forms, expressions, scoring, durations and calendars.
//!
//! Nothing here performs I/O, talks to the database or knows about HTTP: every function takes
//! its inputs (including the current time) as arguments, so the rules can be tested in isolation.

pub mod access;
pub mod budget;
pub mod calendar;
pub mod decision;
pub mod definition;
pub mod duration;
pub mod expr;
pub mod form;
pub mod jurisdiction;
pub mod programme;
pub mod role;
pub mod scoring;
pub mod text;
pub mod throttle;
pub mod uscc;
pub mod writes;
