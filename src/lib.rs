//! turnstile: licensing decisions as Cedar policies over SQLite slices.
pub mod policy;
pub mod time;
pub mod store;
pub mod ledger;
pub mod slice;
pub mod decide;
pub mod notice;
pub mod config;
pub mod http;
pub mod import;
pub mod server;
pub mod scenario;
pub mod cli;
