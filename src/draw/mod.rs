//! Drawing: a workflow's diagram and the dashboard's charts as SVG, computed from the pure
//! definitions and figures (no I/O); the pages, the API and `certflow graph` show them.

pub mod chart;
pub mod diagram;
