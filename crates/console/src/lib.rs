//! modgate's operator console: pure views. The proxy gathers what a page
//! shows (through its one gate, so that a viewer sees only what they may
//! read) and routes the requests; this crate renders the HTML, holds the
//! styles, script and icon the pages load from the server itself, and
//! keeps the last day of traffic ([`history`]) the overview charts.

pub mod history;
pub mod html;
pub mod modules;
pub mod overview;
